#define _GNU_SOURCE
#include "CBPF.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

_Static_assert(sizeof(struct witness_event_header) == 80, "event header layout seen by the agent");

struct bpf_object *cbpf_object_open(const void *data, size_t size, const char *name, const char *btf_path)
{
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name, .btf_custom_path = btf_path);
    /* libbpf 1.x returns NULL and sets errno on failure. */
    return bpf_object__open_mem(data, size, &opts);
}

static int cbpf_log_level = 0;
static char cbpf_last[512];

static int cbpf_print(enum libbpf_print_level level, const char *format, va_list args)
{
    if (level == LIBBPF_WARN) {
        va_list copy;
        va_copy(copy, args);
        vsnprintf(cbpf_last, sizeof(cbpf_last), format, copy);
        va_end(copy);
        size_t len = strlen(cbpf_last);
        while (len > 0 && (cbpf_last[len - 1] == '\n' || cbpf_last[len - 1] == ' '))
            cbpf_last[--len] = '\0';
    }
    if ((level == LIBBPF_WARN && cbpf_log_level >= 1) || cbpf_log_level >= 2)
        return vfprintf(stderr, format, args);
    return 0;
}

void cbpf_set_log_level(int level)
{
    cbpf_log_level = level;
    libbpf_set_print(cbpf_print);
}

const char *cbpf_last_message(void)
{
    return cbpf_last;
}

int cbpf_pidfd_open(int pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int cbpf_epoll_add(int epfd, int fd, uint64_t token)
{
    struct epoll_event event = { .events = EPOLLIN, .data.u64 = token };
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}

int cbpf_epoll_wait(int epfd, uint64_t *tokens, int max_tokens, int timeout_ms)
{
    struct epoll_event events[16];
    if (max_tokens > 16)
        max_tokens = 16;
    int n = epoll_wait(epfd, events, max_tokens, timeout_ms);
    for (int i = 0; i < n; i++)
        tokens[i] = events[i].data.u64;
    return n;
}

void cbpf_store_seq_cst(volatile uint32_t *target, uint32_t value)
{
    __atomic_store_n(target, value, __ATOMIC_SEQ_CST);
}

static void cbpf_termination_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
}

int cbpf_signalfd_for_termination(void)
{
    sigset_t set;
    cbpf_termination_set(&set);
    /* An ignored signal is discarded before any signalfd sees it, and a shell starts
     * background jobs with SIGINT ignored: take INT and TERM back. HUP stays as it
     * is, so that nohup keeps its meaning. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int cbpf_signalfd_read(int fd)
{
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof(info));
    return n == (ssize_t)sizeof(info) ? (int)info.ssi_signo : -1;
}

void cbpf_reset_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigprocmask(SIG_SETMASK, &set, NULL);
    signal(SIGPIPE, SIG_DFL);
}

int cbpf_spawn_gated(const char *path, char *const argv[], int *gate_fd, int *error_fd)
{
    int gate[2], status[2];
    if (pipe2(gate, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(status, O_CLOEXEC) != 0) {
        close(gate[0]);
        close(gate[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        close(gate[0]);
        close(gate[1]);
        close(status[0]);
        close(status[1]);
        errno = saved;
        return -1;
    }
    if (pid == 0) {
        /* Child: async-signal-safe calls only. */
        char byte;
        close(gate[1]);
        close(status[0]);
        while (read(gate[0], &byte, 1) < 0 && errno == EINTR)
            ;
        close(gate[0]);
        cbpf_reset_signals();
        execv(path, argv);
        int err = errno;
        ssize_t ignored = write(status[1], &err, sizeof(err));
        (void)ignored;
        _exit(127);
    }
    close(gate[0]);
    close(status[1]);
    *gate_fd = gate[1];
    *error_fd = status[0];
    return pid;
}

static void *cbpf_destroy_link_thread(void *link)
{
    bpf_link__destroy(link);
    return NULL;
}

void cbpf_destroy_links(struct bpf_link **links, int count)
{
    pthread_t threads[256];
    int started[256] = { 0 };
    for (int i = 0; i < count; i++) {
        if (i < 256 && pthread_create(&threads[i], NULL, cbpf_destroy_link_thread, links[i]) == 0)
            started[i] = 1;
        else
            bpf_link__destroy(links[i]);
    }
    for (int i = 0; i < count && i < 256; i++) {
        if (started[i])
            pthread_join(threads[i], NULL);
    }
}

long long cbpf_ringbuf_unconsumed(int map_fd)
{
    long page = sysconf(_SC_PAGESIZE);
    /* Page 0 holds the consumer position, page 1 the producer position. */
    void *consumer = mmap(NULL, page, PROT_READ, MAP_SHARED, map_fd, 0);
    if (consumer == MAP_FAILED)
        return -1;
    void *producer = mmap(NULL, page, PROT_READ, MAP_SHARED, map_fd, page);
    if (producer == MAP_FAILED) {
        munmap(consumer, page);
        return -1;
    }
    unsigned long cons = __atomic_load_n((unsigned long *)consumer, __ATOMIC_ACQUIRE);
    unsigned long prod = __atomic_load_n((unsigned long *)producer, __ATOMIC_ACQUIRE);
    munmap(producer, page);
    munmap(consumer, page);
    return (long long)(prod - cons);
}

int cbpf_btf_find_types(const char *btf_path, const char *const *names, int count, int kind, int *found)
{
    struct btf *btf = btf_path ? btf__parse(btf_path, NULL) : btf__load_vmlinux_btf();
    if (!btf)
        return -1;
    for (int i = 0; i < count; i++)
        found[i] = btf__find_by_name_kind(btf, names[i], kind) >= 0;
    btf__free(btf);
    return 0;
}

int cbpf_cgroup_path(int mount_fd, uint64_t id, char *path, int size)
{
    union {
        struct file_handle handle;
        char bytes[sizeof(struct file_handle) + sizeof(uint64_t)];
        uint64_t align;
    } storage;
    storage.handle.handle_bytes = sizeof(uint64_t);
    storage.handle.handle_type = 0xfe; /* FILEID_KERNFS */
    memcpy(storage.handle.f_handle, &id, sizeof(id));
    int fd = open_by_handle_at(mount_fd, &storage.handle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, size - 1);
    int saved = errno;
    close(fd);
    if (n < 0) {
        errno = saved;
        return -1;
    }
    path[n] = 0;
    return (int)n;
}

/* ---- zlib streams (recordings) ---- */

#include <zlib.h>

struct cbpf_zstream {
    z_stream z;
    int inflate;
};

struct cbpf_zstream *cbpf_zstream_new(int inflate, int level)
{
    struct cbpf_zstream *stream = calloc(1, sizeof(*stream));
    if (!stream)
        return NULL;
    stream->inflate = inflate;
    int status = inflate ? inflateInit(&stream->z) : deflateInit(&stream->z, level);
    if (status != Z_OK) {
        free(stream);
        return NULL;
    }
    return stream;
}

int cbpf_zstream_run(struct cbpf_zstream *stream, const void *in, size_t in_len, size_t *consumed, void *out,
                     size_t out_cap, size_t *produced, int finish)
{
    /* zlib counts in uInt: feed at most 1 GiB a call. */
    if (in_len > (1u << 30))
        in_len = 1u << 30;
    if (out_cap > (1u << 30))
        out_cap = 1u << 30;
    stream->z.next_in = (Bytef *)in;
    stream->z.avail_in = (uInt)in_len;
    stream->z.next_out = out;
    stream->z.avail_out = (uInt)out_cap;
    int status = stream->inflate ? inflate(&stream->z, Z_NO_FLUSH) : deflate(&stream->z, finish ? Z_FINISH : Z_NO_FLUSH);
    *consumed = in_len - stream->z.avail_in;
    *produced = out_cap - stream->z.avail_out;
    return status;
}

uint64_t cbpf_zstream_total_in(const struct cbpf_zstream *stream)
{
    return stream->z.total_in;
}

void cbpf_zstream_free(struct cbpf_zstream *stream)
{
    if (!stream)
        return;
    if (stream->inflate)
        inflateEnd(&stream->z);
    else
        deflateEnd(&stream->z);
    free(stream);
}

/* One mapping of /proc/self/smaps being read: dropped when its Anonymous line says
 * none of its pages was ever written. */
static int cbpf_drop_if_clean(unsigned long start, unsigned long end, int eligible, long anonymous_kib, long swap_kib)
{
    /* A page written once (relocated data) is anonymous while resident and counted
     * as swap once swapped out: either way the file no longer holds its content. */
    if (!eligible || anonymous_kib != 0 || swap_kib != 0)
        return 0;
    return madvise((void *)start, end - start, MADV_DONTNEED) == 0;
}

int cbpf_drop_file_mappings(void)
{
    FILE *smaps = fopen("/proc/self/smaps", "re");
    if (!smaps)
        return -1;
    char line[4096 + 128];
    int dropped = 0;
    unsigned long start = 0, end = 0;
    int eligible = 0;
    long anonymous = -1, swap = -1;
    while (fgets(line, sizeof(line), smaps)) {
        unsigned long lo, hi;
        char perms[8];
        int path_at = 0;
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &path_at) >= 3 && strchr(line, '-') < strchr(line, ' ')) {
            dropped += cbpf_drop_if_clean(start, end, eligible, anonymous, swap);
            start = lo;
            end = hi;
            anonymous = -1;
            swap = -1;
            /* Private read-only mappings of files: the program's and libraries' code and
             * constants. Not the heap, stacks, BPF maps (the ring), anything writable or
             * shared, or memory that merely has a name. */
            const char *path = path_at ? line + path_at : "";
            eligible = path[0] == '/' && perms[1] != 'w' && perms[3] == 'p' && strncmp(path, "/memfd:", 7) != 0
                && strncmp(path, "/dev/", 5) != 0 && strncmp(path, "/SYSV", 5) != 0 && !strstr(path, " (deleted)");
            continue;
        }
        long kib;
        if (sscanf(line, "Anonymous: %ld kB", &kib) == 1)
            anonymous = kib;
        else if (sscanf(line, "Swap: %ld kB", &kib) == 1)
            swap = kib;
    }
    dropped += cbpf_drop_if_clean(start, end, eligible, anonymous, swap);
    fclose(smaps);
    return dropped;
}
