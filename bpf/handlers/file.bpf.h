/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * File opens: open, openat, openat2 and creat, from either syscall table. Called by
 * the sys_exit program once the result is known; the path is read from the
 * caller's memory then, the directory of a relative one resolved in the kernel.
 */
#ifndef WITNESS_FILE_BPF_H
#define WITNESS_FILE_BPF_H

#include "../include/event.h"

#define WITNESS_O_CREAT_WRONLY_TRUNC (01000 | 0100 | 01)
#define WITNESS_FMODE_CREATED (1U << 20)

/* Mirrors the user-space struct open_how of openat2(2). */
struct witness_open_how {
    __u64 flags;
    __u64 mode;
    __u64 resolve;
};

/* A global function, like every handler (see programs/syscall.bpf.h). */
__noinline int file__open(struct witness_call *call)
{
    if (!call)
        return 0;
    struct witness_open_event *event = scratch__get();
    if (!event)
        return 0;
    __u64 shape = call->shape;
    event__fill_call_header(&event->header, WITNESS_EVENT_OPEN, shape__syscall(shape), call);

    event->dirfd = call__dirfd(call, shape__byte(shape, 3));
    __u32 flags_arg = shape__byte(shape, 4);
    if (flags_arg == WITNESS_ARG_OPEN_HOW) {
        struct witness_open_how how = {};
        /* An unreadable open_how still yields the event, with flags and mode 0. */
        bpf_probe_read_user(&how, sizeof(how), (void *)call->args[2]);
        event->open_flags = how.flags;
        event->mode = how.mode;
    } else {
        event->open_flags = flags_arg == WITNESS_ARG_CREAT_FLAGS ? WITNESS_O_CREAT_WRONLY_TRUNC
                                                                 : (__u32)call__arg(call, flags_arg);
        event->mode = (__u32)call__arg(call, shape__byte(shape, 5));
    }
    __u64 source = call__arg(call, shape__byte(shape, 2));
    __u32 len = source ? event__read_path(&event->header, event->path, (void *)source, call->kernel_strings) : 0;
    if (len > WITNESS_PATH_MAX)
        return 0;
    /* What was opened, named by the kernel's own file: another spelling of the path
     * (`//`, `..`, a symlink, /proc/self/root, a chroot) names the same file. Then
     * the directory of a relative path is not needed (the record has none). */
    __u32 resolved_len = 0;
    event->reserved = 0;
    fd__identity(0, &event->file_dev, &event->file_ino);
    if (call->ret >= 0 && call->name_result) {
        resolved_len = path__write_file(&event->header, event->path + len, (int)call->ret);
        struct file *file = fd__file((int)call->ret);
        fd__identity(file, &event->file_dev, &event->file_ino);
        /* Created, or an existing file opened (perhaps truncated): O_CREAT says only
         * that it may be made. Stable since 4.19 (FMODE_CREATED, bit 20). */
        if (file && (BPF_CORE_READ(file, f_mode) & WITNESS_FMODE_CREATED))
            event->header.flags |= WITNESS_FLAG_CREATED;
    }
    __u32 dir_len = 0;
    if (resolved_len == 0 && len > 0 && event->path[0] != '/')
        dir_len = path__write_base(&event->header, event->path + len, event->dirfd);
    event->path_len = len;
    event->dir_len = dir_len;
    event->resolved_len = resolved_len;
    event__submit(event, sizeof(*event) + len + dir_len + resolved_len, call->subjects);
    return 0;
}

#endif /* WITNESS_FILE_BPF_H */
