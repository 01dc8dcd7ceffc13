/*
 * Loads bench/floor.bpf.o, links its programs, says "attached" on stderr and waits
 * for SIGINT or SIGTERM; then unlinks. The floor column of bench/run.
 *
 *   floor OBJECT
 */
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int signal)
{
    (void)signal;
    stop = 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: floor OBJECT\n");
        return 2;
    }
    struct bpf_object *object = bpf_object__open_file(argv[1], NULL);
    if (!object || bpf_object__load(object)) {
        fprintf(stderr, "floor: cannot load %s\n", argv[1]);
        return 1;
    }
    struct bpf_program *program;
    struct bpf_link *links[8];
    int count = 0;
    bpf_object__for_each_program(program, object) {
        if (count < 8 && !(links[count] = bpf_program__attach(program))) {
            fprintf(stderr, "floor: cannot attach %s\n", bpf_program__name(program));
            return 1;
        }
        count++;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    fprintf(stderr, "floor: attached %d programs\n", count);
    while (!stop)
        pause();
    for (int i = 0; i < count; i++)
        bpf_link__destroy(links[i]);
    bpf_object__close(object);
    return 0;
}
