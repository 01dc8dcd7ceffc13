/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The generic handler: syscalls whose record is their arguments (ptrace, module
 * loads, mount, unshare, setns, chmod, unlink, rename, link, the setuid family, bpf,
 * io_uring_setup, ...). The agent's shapes map says which arguments are paths, so a
 * new syscall is a row in the agent's table, not a program. Also mprotect and mmap
 * (executable mappings).
 */
#ifndef WITNESS_SYSCALL_BPF_H
#define WITNESS_SYSCALL_BPF_H

#include "../include/event.h"

#define WITNESS_PR_SET_NAME 15
#define WITNESS_PROT_EXEC 0x4
#define WITNESS_MAP_ANONYMOUS 0x20

/* Reads the path that shape bytes (`path_arg`, `dir_arg`) describe into `out`. */
static __always_inline __u32 syscall__path(struct witness_syscall_event *event, struct witness_call *call,
                                           __u32 path_arg, __u32 dir_arg, char *out, __u32 truncated_flag)
{
    if (path_arg >= 6)
        return 0;
    if (dir_arg == WITNESS_ARG_PRCTL_NAME) {
        if (call->args[0] != WITNESS_PR_SET_NAME)
            return 0; /* prctl's second argument is a name only for PR_SET_NAME */
        /* The name the task gets: the kernel keeps 15 bytes, whatever was passed. */
        long n = bpf_probe_read_user_str(out, WITNESS_COMM_LEN, (void *)call__arg(call, path_arg));
        return n > 0 ? n - 1 : 0;
    }
    if (dir_arg == WITNESS_ARG_FD) /* a descriptor: its file's path, from the kernel's own object */
        return path__write_file(&event->header, out, (int)call__arg(call, path_arg));
    __u32 flags_before = event->header.flags;
    __u32 len = event__read_path(&event->header, out, (void *)call__arg(call, path_arg), call->kernel_strings);
    if ((event->header.flags & WITNESS_FLAG_PATH_TRUNCATED) && !(flags_before & WITNESS_FLAG_PATH_TRUNCATED)
        && truncated_flag != WITNESS_FLAG_PATH_TRUNCATED) {
        event->header.flags &= ~WITNESS_FLAG_PATH_TRUNCATED;
        event->header.flags |= truncated_flag;
    }
    return len;
}

/* The directory a relative path read at `path` is relative to. */
static __always_inline __u32 syscall__dir(struct witness_syscall_event *event, struct witness_call *call,
                                          __u32 dir_arg, const char *path, __u32 path_len, char *out)
{
    if (path_len == 0 || path[0] == '/' || dir_arg == WITNESS_ARG_NONE || dir_arg == WITNESS_ARG_FD)
        return 0;
    if (dir_arg != WITNESS_ARG_CWD && dir_arg >= 6)
        return 0;
    return path__write_base(&event->header, out, call__dirfd(call, dir_arg));
}

/* Every handler is a global function (a `witness_call` pointer in, checked for
 * NULL as global functions must): the verifier checks each once per program, not
 * once per caller and path — one inlined dispatcher took over a second to verify. */
__noinline int syscall__generic(struct witness_call *call)
{
    if (!call)
        return 0;
    struct witness_syscall_event *event = scratch__get();
    if (!event)
        return 0;
    __u64 shape = call->shape;
    __u16 syscall = shape__syscall(shape);
    event__fill_call_header(&event->header, WITNESS_EVENT_SYSCALL, syscall, call);
    for (int i = 0; i < 6; i++)
        event->args[i] = call__signed_arg(call, i);
    event->fd_family = 0;
    event->fd_protocol = 0;
    event->file_dev = 0;
    event->file_ino = 0;

    __u32 path_len =
        syscall__path(event, call, shape__byte(shape, 2), shape__byte(shape, 3), event->data, WITNESS_FLAG_PATH_TRUNCATED);
    if (path_len > WITNESS_PATH_MAX)
        return 0;
    __u32 path2_len = syscall__path(event, call, shape__byte(shape, 4), shape__byte(shape, 5), event->data + path_len,
                                    WITNESS_FLAG_PATH2_TRUNCATED);
    if (path2_len > WITNESS_PATH_MAX)
        return 0;
    __u32 dir_len = syscall__dir(event, call, shape__byte(shape, 3), event->data, path_len,
                                 event->data + path_len + path2_len);
    if (dir_len > WITNESS_PATH_MAX)
        return 0;
    __u32 dir2_len = syscall__dir(event, call, shape__byte(shape, 5), event->data + path_len, path2_len,
                                  event->data + path_len + path2_len + dir_len);
    if (dir2_len > WITNESS_PATH_MAX)
        return 0;
    event->path_len = path_len;
    event->path2_len = path2_len;
    event->dir_len = dir_len;
    event->dir2_len = dir2_len;

    __u32 fd_arg = shape__byte(shape, 6);
    if (fd_arg < 6) {
        struct file *file = fd__file((int)call__arg(call, fd_arg));
        fd__identity(file, &event->file_dev, &event->file_ino);
        struct sock *sk = fd__socket(file);
        if (sk) {
            event->fd_family = BPF_CORE_READ(sk, __sk_common.skc_family);
            event->fd_protocol = BPF_CORE_READ(sk, sk_protocol);
        }
    }
    event__submit(event, sizeof(*event) + path_len + path2_len + dir_len + dir2_len, call->subjects);
    return 0;
}

/* bpf_find_vma's callback: the file of the mapping that holds the address, read as
 * a plain address (the helpers below take numbers, not the verifier's pointers). */
static long syscall__vma_file(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
    bpf_probe_read_kernel(data, sizeof(__u64), &vma->vm_file);
    return 0;
}

/* mprotect(addr, len, prot) that made a file's mapping executable (a library mapped
 * readable first, then made code): a generic record naming the mapped file, as an
 * executable mmap of it would have been. Anonymous memory is not reported. */
__noinline int syscall__mprotect(struct witness_call *call)
{
    if (!call || call->ret != 0 || !(call->args[2] & WITNESS_PROT_EXEC))
        return 0;
    __u64 address = 0;
    bpf_find_vma(bpf_get_current_task_btf(), call->args[0], syscall__vma_file, &address, 0);
    struct file *file = (struct file *)address;
    if (!file)
        return 0;
    struct witness_syscall_event *event = scratch__get();
    if (!event)
        return 0;
    event__fill_call_header(&event->header, WITNESS_EVENT_SYSCALL, shape__syscall(call->shape), call);
    for (int i = 0; i < 6; i++)
        event->args[i] = call__signed_arg(call, i);
    event->fd_family = 0;
    event->fd_protocol = 0;
    fd__identity(file, &event->file_dev, &event->file_ino);
    __u32 len = path__write_of(&event->header, event->data, file);
    event->path_len = len;
    event->path2_len = 0;
    event->dir_len = 0;
    event->dir2_len = 0;
    event__submit(event, sizeof(*event) + len, call->subjects);
    return 0;
}

#endif /* WITNESS_SYSCALL_BPF_H */
