/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * File opens: open, openat, openat2. Arguments are kept at enter; the path is read
 * at exit, once the result is known (syscall tracepoints are stable ABI).
 */
#ifndef WITNESS_FILE_BPF_H
#define WITNESS_FILE_BPF_H

#include "../include/event.h"

#define WITNESS_AT_FDCWD ((__u64)-100)

/* Mirrors the user-space struct open_how of openat2(2). */
struct witness_open_how {
    __u64 flags;
    __u64 mode;
    __u64 resolve;
};

static __always_inline int file__begin(__u16 syscall, __u64 dirfd, __u64 path, __u64 flags, __u64 mode)
{
    __u64 subjects = subject__current();
    if (subjects)
        pending__begin(syscall, subjects, dirfd, path, flags, mode);
    return 0;
}

static __always_inline int file__end_open(long ret)
{
    __u64 id = bpf_get_current_pid_tgid();
    struct witness_pending *pending = bpf_map_lookup_elem(&witness_pending_syscalls, &id);
    if (!pending)
        return 0;
    struct witness_open_event *event = scratch__get();
    if (event) {
        event__fill_header(&event->header, WITNESS_EVENT_OPEN, pending->syscall, pending->subjects);
        event->header.result = ret;
        event->dirfd = (__s32)pending->args[0];
        event->open_flags = (__u32)pending->args[2];
        event->mode = (__u32)pending->args[3];
        __u32 len = event__read_user_path(&event->header, event->path, (void *)pending->args[1]);
        __u32 dir_len = 0;
        if (len > 0 && event->path[0] != '/')
            dir_len = path__write_base(&event->header, event->path + len, event->dirfd);
        event->path_len = len;
        event->dir_len = dir_len;
        event->reserved = 0;
        event__submit(event, sizeof(*event) + len + dir_len, pending->subjects);
    }
    bpf_map_delete_elem(&witness_pending_syscalls, &id);
    return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int witness_enter_open(struct trace_event_raw_sys_enter *ctx)
{
    return file__begin(WITNESS_SYS_OPEN, WITNESS_AT_FDCWD, ctx->args[0], ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int witness_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
    return file__begin(WITNESS_SYS_OPENAT, ctx->args[0], ctx->args[1], ctx->args[2], ctx->args[3]);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int witness_enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
    struct witness_open_how how = {};
    /* An unreadable open_how still yields the event, with flags and mode 0. */
    bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]);
    return file__begin(WITNESS_SYS_OPENAT2, ctx->args[0], ctx->args[1], how.flags, how.mode);
}

SEC("tracepoint/syscalls/sys_exit_open")
int witness_exit_open(struct trace_event_raw_sys_exit *ctx)
{
    return file__end_open(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int witness_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
    return file__end_open(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int witness_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
    return file__end_open(ctx->ret);
}

#endif /* WITNESS_FILE_BPF_H */
