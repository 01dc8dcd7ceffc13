/*
 * CBPF: the C side of Witness. libbpf for the object, its maps and ring buffer;
 * the event layout shared with the kernel programs; and small shims for what Swift
 * cannot call directly (variadic syscall(2), packed epoll_event, option macros,
 * C11 atomics). Every symbol of ours is prefixed cbpf_.
 */
#ifndef CBPF_H
#define CBPF_H

#include <stddef.h>
#include <stdint.h>
#include <malloc.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "../../../bpf/witness_event.h"

/* Opens a BPF object from memory; btf_path (or NULL for the running kernel's) is
 * the BTF that CO-RE relocations are resolved against. NULL with errno on failure. */
struct bpf_object *cbpf_object_open(const void *data, size_t size, const char *name, const char *btf_path);

/* Routes libbpf's messages: 0 none, 1 warnings, 2 everything (debug). To stderr. */
void cbpf_set_log_level(int level);

/* The last message libbpf printed at warning level (the verifier's complaint, ...). */
const char *cbpf_last_message(void);

/* pidfd_open(2): a descriptor that becomes readable when the process exits. */
int cbpf_pidfd_open(int pid);

/* epoll with a 64-bit token per descriptor, hiding the packed struct epoll_event. */
int cbpf_epoll_add(int epfd, int fd, uint64_t token);
int cbpf_epoll_wait(int epfd, uint64_t *tokens, int max_tokens, int timeout_ms);

/* Stores a value with a full memory barrier after it (sequentially consistent). */
void cbpf_store_seq_cst(volatile uint32_t *target, uint32_t value);

/* Blocks SIGINT/SIGTERM/SIGHUP in the calling thread (and threads it starts)
 * and returns a signalfd that reads them, or -1 with errno. */
int cbpf_signalfd_for_termination(void);

/* Reads one signal number from a signalfd, or -1. */
int cbpf_signalfd_read(int fd);

/* Restores the default signal mask and dispositions, in a child before exec. */
void cbpf_reset_signals(void);

/*
 * Starts the program at `path` with `argv` as a child that waits, before exec, until the
 * caller writes one byte to *gate_fd (or closes it): the caller registers the child
 * as a subject first, so its exec is witnessed. *error_fd becomes readable with the
 * child's errno if exec fails, or reaches end of file when exec succeeds.
 * Returns the child's pid, or -1 with errno.
 */
int cbpf_spawn_gated(const char *path, char *const argv[], int *gate_fd, int *error_fd);

/* Destroys `count` links at once, one thread each: detaching a tracepoint waits for
 * an RCU grace period, and waiting for them in parallel makes shutdown take one
 * or two grace periods instead of one per link. */
void cbpf_destroy_links(struct bpf_link **links, int count);

/* Bytes written to ring buffer map `map_fd` and not yet consumed (mapped read-only
 * for the moment of the read); -1 on error. */
long long cbpf_ringbuf_unconsumed(int map_fd);

/* The path (relative to the cgroup2 mount `mount_fd`) of cgroup `id`, found with
 * open_by_handle_at: the cgroup id is its kernfs file handle. Returns the length
 * written to `path` (NUL-terminated), or -1 (errno set) when it is gone. */
int cbpf_cgroup_path(int mount_fd, uint64_t id, char *path, int size);

/* Which of `count` types named `names` of kind `kind` (BTF_KIND_*) the kernel BTF at
 * `btf_path` (NULL: the running kernel's) has: found[i] is 1 or 0. Parses the BTF
 * once (tens of milliseconds). Returns 0, or -1 when it is unreadable. */
int cbpf_btf_find_types(const char *btf_path, const char *const *names, int count, int kind, int *found);

/* Drops this process's page-table entries for its clean, read-only, private file
 * mappings (its program's and libraries' code and constants): what start-up touched
 * once and idling never touches again. Nothing is lost: such a page was never
 * written (smaps: no anonymous or swapped page in the mapping, so relocated data
 * is left alone), and one used again comes back from the page cache on first touch
 * — the page cache itself keeps it. The ranges are read from smaps and advised
 * right after: a library's mapping is not replaced meanwhile, as the agent unloads
 * no library while it runs. Returns how many mappings it dropped, or -1. */
int cbpf_drop_file_mappings(void);

/*
 * zlib streams for recordings: a deflater or an inflater behind an opaque pointer,
 * so that no z_stream layout crosses into Swift.
 *
 * cbpf_zstream_run feeds `in` (in_len bytes) and writes at most out_cap bytes to
 * `out`; *consumed and *produced say how many of each it took. `finish` (deflate
 * only) ends the stream. Returns zlib's status: 0 (Z_OK), 1 (Z_STREAM_END), -5
 * (Z_BUF_ERROR: no progress possible, e.g. input ended mid-stream), or another
 * negative error (-3 Z_DATA_ERROR: corrupt input).
 */
struct cbpf_zstream;
struct cbpf_zstream *cbpf_zstream_new(int inflate, int level);
int cbpf_zstream_run(struct cbpf_zstream *stream, const void *in, size_t in_len, size_t *consumed, void *out,
                     size_t out_cap, size_t *produced, int finish);
/* Bytes of input the stream has taken in all, for error offsets. */
uint64_t cbpf_zstream_total_in(const struct cbpf_zstream *stream);
void cbpf_zstream_free(struct cbpf_zstream *stream);

#endif /* CBPF_H */
