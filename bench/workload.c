/*
 * Benchmark workloads for Witness: each runs a fixed number of operations and
 * prints "ops=N ns_per_op=X" (and the operation's event type), so the driver
 * knows exactly how many events a witness should report.
 *
 *   workload open N      open+close of an existing file
 *   workload connect N   connect to a loopback listener and close
 *   workload exec N      fork+exec of /bin/true, waited for
 *   workload mixed N     an "ordinary service": reads, a connect per 10, an exec per 200
 *   workload paced N HZ  opens of a sensitive file at HZ per second (latency runs)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void open_once(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd >= 0)
        close(fd);
}

/* A child that accepts and closes connections until killed. */
static int start_listener(struct sockaddr_in *address, pid_t *child)
{
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(address, 0, sizeof(*address));
    address->sin_family = AF_INET;
    address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(*address);
    if (bind(listener, (struct sockaddr *)address, length) || listen(listener, 4096) ||
        getsockname(listener, (struct sockaddr *)address, &length))
        return -1;
    *child = fork();
    if (*child == 0) {
        for (;;) {
            int connection = accept(listener, NULL, NULL);
            if (connection >= 0)
                close(connection);
        }
    }
    close(listener);
    return 0;
}

static void connect_once(const struct sockaddr_in *address)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    connect(fd, (const struct sockaddr *)address, sizeof(*address));
    close(fd);
}

static void exec_once(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: workload open|connect|exec|mixed|paced N [HZ]\n");
        return 2;
    }
    const char *mode = argv[1];
    long count = atol(argv[2]);
    struct sockaddr_in address;
    pid_t listener = 0;
    if (!strcmp(mode, "connect") || !strcmp(mode, "mixed")) {
        if (start_listener(&address, &listener)) {
            perror("listener");
            return 1;
        }
    }
    long long start = now_ns();
    if (!strcmp(mode, "open")) {
        for (long i = 0; i < count; i++)
            open_once("/etc/hostname");
    } else if (!strcmp(mode, "connect")) {
        for (long i = 0; i < count; i++)
            connect_once(&address);
    } else if (!strcmp(mode, "exec")) {
        for (long i = 0; i < count; i++)
            exec_once();
    } else if (!strcmp(mode, "mixed")) {
        char buffer[4096];
        for (long i = 0; i < count; i++) {
            int fd = open("/etc/os-release", O_RDONLY);
            if (fd >= 0) {
                while (read(fd, buffer, sizeof(buffer)) > 0) {
                }
                close(fd);
            }
            if (i % 10 == 0)
                connect_once(&address);
            if (i % 200 == 0)
                exec_once();
        }
    } else if (!strcmp(mode, "paced")) {
        long hz = argc > 3 ? atol(argv[3]) : 100;
        struct timespec pause = { 0, hz > 0 ? 1000000000L / hz : 0 };
        for (long i = 0; i < count; i++) {
            open_once("/etc/shadow");
            if (hz > 0)
                nanosleep(&pause, NULL);
        }
    } else {
        fprintf(stderr, "unknown workload %s\n", mode);
        return 2;
    }
    long long elapsed = now_ns() - start;
    if (listener > 0) {
        kill(listener, SIGKILL);
        waitpid(listener, NULL, 0);
    }
    printf("ops=%ld ns_per_op=%.1f\n", count, (double)elapsed / (double)count);
    return 0;
}
