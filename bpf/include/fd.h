/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Descriptors of the current task: the open file behind a number, the socket behind a file. */
#ifndef WITNESS_FD_H
#define WITNESS_FD_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "kernel_types.h"

#define WITNESS_S_IFMT 00170000
#define WITNESS_S_IFSOCK 0140000

/* The file open as `fd` in the current task, or 0. The task is the kernel's own
 * (a BTF pointer): its fields are plain loads, only the array slot is a helper read.
 * A global function (a number in, a number out): verified once per program. */
__noinline __u64 fd__file_address(int fd)
{
    struct task_struct *task = bpf_get_current_task_btf();
    struct files_struct *files = task->files;
    if (!files)
        return 0;
    struct fdtable *fdt = files->fdt;
    if (!fdt || fd < 0 || (unsigned int)fd >= fdt->max_fds)
        return 0;
    struct file **fds = fdt->fd;
    struct file *file = 0;
    if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]))
        return 0;
    return (__u64)file;
}

static __always_inline struct file *fd__file(int fd)
{
    return (struct file *)fd__file_address(fd);
}

/* Which file `file` is, whatever its name: device and inode. A rename, a link or a
 * symlink gives another name, never another identity. */
static __always_inline void fd__identity(struct file *file, __u32 *dev, __u64 *ino)
{
    *dev = 0;
    *ino = 0;
    if (!file)
        return;
    struct inode *inode = BPF_CORE_READ(file, f_inode);
    *dev = BPF_CORE_READ(inode, i_sb, s_dev);
    *ino = BPF_CORE_READ(inode, i_ino);
}

/* When `file`'s inode last changed (content, owner, mode, links), in ns since the
 * epoch; 0 on kernels before 6.11, whose inode keeps it another way. */
static __always_inline __u64 fd__change_time(struct file *file)
{
    if (!file)
        return 0;
    struct inode *inode = BPF_CORE_READ(file, f_inode);
    if (!bpf_core_field_exists(inode->i_ctime_sec))
        return 0;
    __s64 sec = BPF_CORE_READ(inode, i_ctime_sec);
    /* The top bits of the nanoseconds flag a queried ctime (multigrain timestamps). */
    __u32 nsec = BPF_CORE_READ(inode, i_ctime_nsec) & 0x3fffffff;
    return (__u64)sec * 1000000000ULL + nsec;
}

/* The socket behind `file`, or 0 when it is not a socket. */
static __always_inline struct sock *fd__socket(struct file *file)
{
    if (!file)
        return 0;
    unsigned short mode = BPF_CORE_READ(file, f_inode, i_mode);
    if ((mode & WITNESS_S_IFMT) != WITNESS_S_IFSOCK)
        return 0;
    struct socket *sock = BPF_CORE_READ(file, private_data);
    return BPF_CORE_READ(sock, sk);
}

#define WITNESS_PIPEFS_MAGIC 0x50495045

/* What descriptor `fd` of the current task is (enum witness_stdio_type). */
static __always_inline __u32 fd__stdio_type(int fd)
{
    struct file *file = fd__file(fd);
    if (!file)
        return WITNESS_STDIO_NONE;
    unsigned short mode = BPF_CORE_READ(file, f_inode, i_mode) & WITNESS_S_IFMT;
    switch (mode) {
    case 0100000: /* S_IFREG */
    case 0020000: /* S_IFCHR */
    case 0060000: /* S_IFBLK */
        return WITNESS_STDIO_FILE;
    case 0040000: /* S_IFDIR */
        return WITNESS_STDIO_DIRECTORY;
    case 0010000: /* S_IFIFO: an anonymous pipe lives on pipefs, a named FIFO (mkfifo) anywhere else */
        if (BPF_CORE_READ(file, f_inode, i_sb, s_magic) != WITNESS_PIPEFS_MAGIC)
            return WITNESS_STDIO_PIPE | WITNESS_STDIO_NAMED_FIFO;
        return WITNESS_STDIO_PIPE;
    case WITNESS_S_IFSOCK: {
        unsigned short family = BPF_CORE_READ(fd__socket(file), __sk_common.skc_family);
        return family == 2 ? WITNESS_STDIO_IPV4 : family == 10 ? WITNESS_STDIO_IPV6 : family == 1 ? WITNESS_STDIO_UNIX
                                                                                                    : WITNESS_STDIO_SOCKET;
    }
    default:
        return WITNESS_STDIO_NONE;
    }
}

#endif /* WITNESS_FD_H */
