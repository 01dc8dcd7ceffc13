/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every other witnessed syscall (ptrace, module loads, mount, unshare, setns, chmod,
 * unlink, rename, link, symlink, memfd_create, the setuid family, dup2/dup3, ...)
 * goes through this one pair of programs. The agent attaches them to each
 * syscall's enter and exit tracepoints with a cookie describing its arguments
 * (layout in witness_event.h), so the verifier checks them once, not per syscall,
 * and a new syscall is a line in the agent's table.
 */
#ifndef WITNESS_SYSCALL_BPF_H
#define WITNESS_SYSCALL_BPF_H

#include "../include/event.h"

static __always_inline __u32 cookie__byte(__u64 cookie, int index)
{
    return (cookie >> (8 * index)) & 0xFF;
}

/* Argument `index` of a pending syscall; a switch keeps every access in bounds. */
static __always_inline __u64 pending__arg(const struct witness_pending *pending, __u32 index)
{
    switch (index) {
    case 0: return pending->args[0];
    case 1: return pending->args[1];
    case 2: return pending->args[2];
    case 3: return pending->args[3];
    case 4: return pending->args[4];
    case 5: return pending->args[5];
    default: return 0;
    }
}

SEC("tracepoint")
int witness_enter_syscall(struct trace_event_raw_sys_enter *ctx)
{
    __u64 subjects = subject__current();
    if (!subjects)
        return 0;
    __u64 cookie = bpf_get_attach_cookie(ctx);
    __u64 id = bpf_get_current_pid_tgid();
    struct witness_pending pending = {
        .subjects = subjects,
        .cookie = cookie,
        .syscall = cookie & 0xFFFF,
    };
    /* Not a direct context access: the kernel refuses to attach a program whose
     * context reads reach past the record, and a syscall with fewer than six
     * arguments has a shorter one. The slots past its arguments are ignored. */
    bpf_probe_read_kernel(pending.args, sizeof(pending.args), &ctx->args[0]);
    if (bpf_map_update_elem(&witness_pending_syscalls, &id, &pending, BPF_ANY))
        drops__count(WITNESS_DROP_PENDING_FULL, subjects);
    return 0;
}

/* Reads the path in argument `path_arg` to `out`; 0 when there is none. */
static __always_inline __u32 syscall__path(struct witness_syscall_event *event, struct witness_pending *pending,
                                           __u32 path_arg, char *out, __u32 truncated_flag)
{
    if (path_arg >= 6)
        return 0;
    __u32 flags_before = event->header.flags;
    __u32 len = event__read_user_path(&event->header, out, (void *)pending__arg(pending, path_arg));
    if ((event->header.flags & WITNESS_FLAG_PATH_TRUNCATED) && !(flags_before & WITNESS_FLAG_PATH_TRUNCATED)
        && truncated_flag != WITNESS_FLAG_PATH_TRUNCATED) {
        event->header.flags &= ~WITNESS_FLAG_PATH_TRUNCATED;
        event->header.flags |= truncated_flag;
    }
    return len;
}

/* The directory a relative path read at `path` is relative to. */
static __always_inline __u32 syscall__dir(struct witness_syscall_event *event, struct witness_pending *pending,
                                          __u32 dir_arg, const char *path, __u32 path_len, char *out)
{
    if (path_len == 0 || path[0] == '/' || dir_arg == WITNESS_ARG_NONE)
        return 0;
    if (dir_arg != WITNESS_ARG_CWD && dir_arg >= 6)
        return 0;
    int dirfd = dir_arg == WITNESS_ARG_CWD ? -100 : (int)pending__arg(pending, dir_arg);
    return path__write_base(&event->header, out, dirfd);
}

SEC("tracepoint")
int witness_exit_syscall(struct trace_event_raw_sys_exit *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    struct witness_pending *pending = bpf_map_lookup_elem(&witness_pending_syscalls, &id);
    if (!pending)
        return 0;
    __u64 cookie = pending->cookie;
    struct witness_syscall_event *event = scratch__get();
    if (!cookie || !event)
        goto done;

    event__fill_header(&event->header, WITNESS_EVENT_SYSCALL, cookie & 0xFFFF, pending->subjects);
    event->header.result = ctx->ret;
    for (int i = 0; i < 6; i++)
        event->args[i] = pending->args[i];
    event->fd_family = 0;
    event->fd_protocol = 0;
    event->reserved = 0;

    __u32 path_len = syscall__path(event, pending, cookie__byte(cookie, 2), event->data, WITNESS_FLAG_PATH_TRUNCATED);
    if (path_len > WITNESS_PATH_MAX)
        goto done;
    __u32 path2_len =
        syscall__path(event, pending, cookie__byte(cookie, 4), event->data + path_len, WITNESS_FLAG_PATH2_TRUNCATED);
    if (path2_len > WITNESS_PATH_MAX)
        goto done;
    __u32 dir_len = syscall__dir(event, pending, cookie__byte(cookie, 3), event->data, path_len,
                                 event->data + path_len + path2_len);
    if (dir_len > WITNESS_PATH_MAX)
        goto done;
    __u32 dir2_len = syscall__dir(event, pending, cookie__byte(cookie, 5), event->data + path_len, path2_len,
                                  event->data + path_len + path2_len + dir_len);
    if (dir2_len > WITNESS_PATH_MAX)
        goto done;
    event->path_len = path_len;
    event->path2_len = path2_len;
    event->dir_len = dir_len;
    event->dir2_len = dir2_len;

    __u32 fd_arg = cookie__byte(cookie, 6);
    if (fd_arg < 6) {
        struct sock *sk = fd__socket(fd__file((int)pending__arg(pending, fd_arg)));
        if (sk) {
            event->fd_family = BPF_CORE_READ(sk, __sk_common.skc_family);
            event->fd_protocol = BPF_CORE_READ(sk, sk_protocol);
        }
    }
    event__submit(event, sizeof(*event) + path_len + path2_len + dir_len + dir2_len, pending->subjects);
done:
    bpf_map_delete_elem(&witness_pending_syscalls, &id);
    return 0;
}

#endif /* WITNESS_SYSCALL_BPF_H */
