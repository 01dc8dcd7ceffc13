/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * io_uring: operations a process submits to a ring never pass through a syscall of
 * their own, so a subject could open, connect, rename and link through the ring
 * with syscall tracing blind to it. The io_uring_submit_req tracepoint sees each
 * request as it is issued, in the submitter's context (or its SQPOLL thread, which
 * shares its files, memory and cgroup), after the kernel has copied its paths. The
 * operations that have a syscall twin become the twin's event, with the gate
 * io_uring and the result -EINPROGRESS. An open that completes into a descriptor is
 * reported again at completion (io_uring_complete), named by the kernel's own file
 * like a successful open(2): a symlink submitted to the ring is the file it opens.
 */
#ifndef WITNESS_IO_URING_BPF_H
#define WITNESS_IO_URING_BPF_H

#include "../handlers/file.bpf.h"
#include "../handlers/network.bpf.h"
#include "../handlers/syscall.bpf.h"

/* The kernel's copy of a path. */
static __always_inline __u64 io_uring__name(struct filename *name)
{
    return (__u64)BPF_CORE_READ(name, name);
}

SEC("tp_btf/io_uring_submit_req")
int witness_io_uring_submit(unsigned long long *ctx)
{
    struct io_kiocb *req = (struct io_kiocb *)ctx[0];
    __u64 subjects = subject__current();
    if (!subjects)
        return 0;
    __u32 opcode = BPF_CORE_READ(req, opcode);
    __u64 *shape = bpf_map_lookup_elem(&witness_io_uring_ops, &opcode);
    if (!shape || !*shape)
        return 0;

    struct witness_call call = {
        .ret = -WITNESS_EINPROGRESS,
        .shape = *shape,
        .subjects = subjects,
        .table = WITNESS_TABLE_NATIVE,
        .gate = WITNESS_FLAG_IO_URING,
        .kernel_strings = 1,
    };
    void *op = &req->cmd;
    switch (opcode) {
    case WITNESS_IORING_OP_OPENAT:
    case WITNESS_IORING_OP_OPENAT2: {
        struct io_open *open = op;
        call.args[0] = (__s64)BPF_CORE_READ(open, dfd);
        call.args[1] = io_uring__name(BPF_CORE_READ(open, filename));
        call.args[2] = BPF_CORE_READ(open, how.flags);
        call.args[3] = BPF_CORE_READ(open, how.mode);
        file__open(&call);
        break;
    }
    case WITNESS_IORING_OP_CONNECT: {
        struct io_connect *connect = op;
        call.args[0] = (__s64)BPF_CORE_READ(req, cqe.fd);
        call.args[1] = (__u64)BPF_CORE_READ(connect, addr);
        call.args[2] = (__u32)BPF_CORE_READ(connect, addr_len);
        network__connect_call(&call);
        break;
    }
    case WITNESS_IORING_OP_RENAMEAT: {
        struct io_rename *rename = op;
        call.args[0] = (__s64)BPF_CORE_READ(rename, old_dfd);
        call.args[1] = io_uring__name(BPF_CORE_READ(rename, oldpath));
        call.args[2] = (__s64)BPF_CORE_READ(rename, new_dfd);
        call.args[3] = io_uring__name(BPF_CORE_READ(rename, newpath));
        call.args[4] = BPF_CORE_READ(rename, flags);
        syscall__generic(&call);
        break;
    }
    case WITNESS_IORING_OP_UNLINKAT: {
        struct io_unlink *unlink = op;
        call.args[0] = (__s64)BPF_CORE_READ(unlink, dfd);
        call.args[1] = io_uring__name(BPF_CORE_READ(unlink, filename));
        call.args[2] = BPF_CORE_READ(unlink, flags);
        syscall__generic(&call);
        break;
    }
    case WITNESS_IORING_OP_SYMLINKAT: {
        struct io_link *link = op;
        call.args[0] = io_uring__name(BPF_CORE_READ(link, oldpath));
        call.args[1] = (__s64)BPF_CORE_READ(link, new_dfd);
        call.args[2] = io_uring__name(BPF_CORE_READ(link, newpath));
        syscall__generic(&call);
        break;
    }
    case WITNESS_IORING_OP_LINKAT: {
        struct io_link *link = op;
        call.args[0] = (__s64)BPF_CORE_READ(link, old_dfd);
        call.args[1] = io_uring__name(BPF_CORE_READ(link, oldpath));
        call.args[2] = (__s64)BPF_CORE_READ(link, new_dfd);
        call.args[3] = io_uring__name(BPF_CORE_READ(link, newpath));
        call.args[4] = BPF_CORE_READ(link, flags);
        syscall__generic(&call);
        break;
    }
    default:
        break;
    }
    return 0;
}

SEC("tp_btf/io_uring_complete")
int witness_io_uring_complete(unsigned long long *ctx)
{
    struct io_kiocb *req = (struct io_kiocb *)ctx[1];
    __u64 subjects = subject__current(); /* the submitter, its io worker or its SQPOLL thread */
    if (!subjects)
        return 0;
    __u32 opcode = BPF_CORE_READ(req, opcode);
    if (opcode != WITNESS_IORING_OP_OPENAT && opcode != WITNESS_IORING_OP_OPENAT2)
        return 0;
    __s32 res = BPF_CORE_READ(req, cqe.res);
    struct io_open *open = (void *)&req->cmd;
    /* A failed open has no file; a direct slot is not in the descriptor table. */
    if (res < 0 || BPF_CORE_READ(open, file_slot) != 0)
        return 0;
    __u64 *shape = bpf_map_lookup_elem(&witness_io_uring_ops, &opcode);
    if (!shape || !*shape)
        return 0;
    struct witness_call call = {
        .ret = res,
        .shape = *shape,
        .subjects = subjects,
        .table = WITNESS_TABLE_NATIVE,
        .gate = WITNESS_FLAG_IO_URING,
        .kernel_strings = 1,
        .name_result = 1,
    };
    /* The kernel's copy of the path is freed by now: the file's own name stands. */
    call.args[0] = (__s64)BPF_CORE_READ(open, dfd);
    call.args[2] = BPF_CORE_READ(open, how.flags);
    call.args[3] = BPF_CORE_READ(open, how.mode);
    file__open(&call);
    return 0;
}

#endif /* WITNESS_IO_URING_BPF_H */
