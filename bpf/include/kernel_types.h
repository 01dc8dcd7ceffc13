/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The few kernel types the programs read, declared with only the fields used and
 * marked for CO-RE relocation: libbpf rewrites each field offset against the
 * running kernel's BTF (/sys/kernel/btf/vmlinux) at load, so one object runs on
 * every kernel that has these fields under these names. Anonymous unions and
 * structs in the real layout need no mirroring: relocation matches by name.
 */
#ifndef WITNESS_KERNEL_TYPES_H
#define WITNESS_KERNEL_TYPES_H

#include <linux/types.h>
#include <linux/bpf.h>

#define WITNESS_CORE __attribute__((preserve_access_index))

/*
 * The registers a syscall saved on entry. Syscall programs attach to the raw
 * sys_exit tracepoint, whose arguments are (regs, ret): the syscall number and its
 * arguments are read from here (see include/syscall_args.h).
 */
#if defined(__TARGET_ARCH_x86)
struct pt_regs {
    unsigned long bp;
    unsigned long bx;
    unsigned long r10;
    unsigned long r9;
    unsigned long r8;
    unsigned long ax;
    unsigned long cx;
    unsigned long dx;
    unsigned long si;
    unsigned long di;
    unsigned long orig_ax;
} WITNESS_CORE;
#elif defined(__TARGET_ARCH_arm64)
struct pt_regs {
    __u64 regs[31];
    __u64 orig_x0;
    __s32 syscallno;
} WITNESS_CORE;
#else
#error "Witness reads syscall registers on x86-64 and arm64 only"
#endif

/* x86: TS_COMPAT in status marks a 32-bit syscall (int $0x80, sysenter) in progress. */
struct thread_info {
    __u32 status;
} WITNESS_CORE;

/* io_uring: a submitted request and the per-operation data at its start (cmd). */
struct io_cqe {
    __u64 user_data;
    __s32 res;
    int fd;
} WITNESS_CORE;

struct io_cmd_data {
    struct file *file;
    __u8 data[56];
} WITNESS_CORE;

struct io_kiocb {
    struct io_cmd_data cmd;
    __u8 opcode;
    struct io_cqe cqe;
} WITNESS_CORE;

/* The kernel's copy of a path given to a syscall or an io_uring operation. */
struct filename {
    const char *name;
} WITNESS_CORE;

struct open_how {
    __u64 flags;
    __u64 mode;
} WITNESS_CORE;

struct io_open {
    int dfd;
    __u32 file_slot; /* 0: a descriptor in the table; else a fixed (direct) slot */
    struct filename *filename;
    struct open_how how;
} WITNESS_CORE;

struct sockaddr;

struct io_connect {
    struct sockaddr *addr;
    int addr_len;
} WITNESS_CORE;

struct io_rename {
    int old_dfd;
    int new_dfd;
    struct filename *oldpath;
    struct filename *newpath;
    int flags;
} WITNESS_CORE;

struct io_unlink {
    int dfd;
    int flags;
    struct filename *filename;
} WITNESS_CORE;

/* linkat and symlinkat */
struct io_link {
    int old_dfd;
    int new_dfd;
    struct filename *oldpath;
    struct filename *newpath;
    int flags;
} WITNESS_CORE;

struct linux_binprm {
    struct file *file;
    const char *filename;
    const char *interp; /* the filename, unless a script or binfmt_misc handler took over */
} WITNESS_CORE;

struct mm_struct {
    unsigned long arg_start;
    unsigned long arg_end;
    unsigned long env_start;
    unsigned long env_end;
    struct file *exe_file;
} WITNESS_CORE;

/* kernel_cap_t: a struct of one u64 since 6.3, of two u32 before; 8 bytes either way. */
struct witness_kernel_cap {
    __u64 val;
};

struct user_namespace;

struct cred {
    struct witness_kernel_cap cap_inheritable;
    struct witness_kernel_cap cap_permitted;
    struct witness_kernel_cap cap_effective;
    struct user_namespace *user_ns;
} WITNESS_CORE;

/* A task's namespaces: compared between parent and child, they say which new ones
 * a clone made, whatever the caller's memory says. */
struct nsproxy {
    void *uts_ns;
    void *ipc_ns;
    void *mnt_ns;
    void *pid_ns_for_children;
    void *net_ns;
    void *time_ns_for_children;
    void *cgroup_ns;
} WITNESS_CORE;

struct tty_driver {
    int major;
    int minor_start;
} WITNESS_CORE;

struct tty_struct {
    struct tty_driver *driver;
    int index;
} WITNESS_CORE;

typedef struct {
    int counter;
} atomic_t;

struct pid;

/* pids: the group's pids by type (PIDTYPE_PID, _TGID, _PGID, _SID). */
struct signal_struct {
    atomic_t live;
    struct tty_struct *tty;
    struct pid *pids[4];
} WITNESS_CORE;

typedef struct {
    __u32 val;
} kuid_t;

struct qstr {
    union {
        struct {
            __u32 hash;
            __u32 len;
        };
        __u64 hash_len;
    };
    const unsigned char *name;
} WITNESS_CORE;

struct dentry {
    struct dentry *d_parent;
    struct qstr d_name;
} WITNESS_CORE;

struct vfsmount {
    struct dentry *mnt_root;
} WITNESS_CORE;

/* The kernel's wrapper around a vfsmount: where it is mounted, on what. */
struct mount {
    struct mount *mnt_parent;
    struct dentry *mnt_mountpoint;
    struct vfsmount mnt;
} WITNESS_CORE;

struct path {
    struct vfsmount *mnt;
    struct dentry *dentry;
} WITNESS_CORE;

struct fs_struct {
    struct path root;
    struct path pwd;
} WITNESS_CORE;

struct super_block {
    unsigned int s_dev;
    unsigned long s_magic;
} WITNESS_CORE;

struct inode {
    unsigned short i_mode;
    unsigned long i_ino;
    struct super_block *i_sb;
    unsigned int __i_nlink; /* in an anonymous union with i_nlink: CO-RE finds it by name */
    long long i_ctime_sec;  /* 6.11 and later; checked with bpf_core_field_exists */
    unsigned int i_ctime_nsec;
} WITNESS_CORE;

/* overlayfs's inode around the VFS one: a file with an upper dentry was written in
 * the container's own layer (copied up or created there), not shipped in the image. */
struct ovl_inode {
    struct inode vfs_inode;
    struct dentry *__upperdentry;
} WITNESS_CORE;

struct file {
    struct path f_path;
    struct inode *f_inode;
    void *private_data;
    unsigned int f_mode; /* fmode_t: FMODE_CREATED when the open made the file */
} WITNESS_CORE;

/* A mapping of the task's memory; vm_file is the file mapped, NULL for anonymous memory. */
struct vm_area_struct {
    struct file *vm_file;
} WITNESS_CORE;

struct fdtable {
    unsigned int max_fds;
    struct file **fd;
} WITNESS_CORE;

struct files_struct {
    struct fdtable *fdt;
} WITNESS_CORE;

struct in6_addr {
    union {
        __u8 u6_addr8[16];
    } in6_u;
} WITNESS_CORE;

struct sock_common {
    __u32 skc_daddr;        /* remote IPv4 address, network order */
    __u16 skc_dport;        /* remote port, network order */
    struct in6_addr skc_v6_daddr;
    unsigned short skc_family;
    __u16 skc_num;          /* local port, host order */
    __u32 skc_rcv_saddr;    /* local IPv4 address */
    struct in6_addr skc_v6_rcv_saddr;
} WITNESS_CORE;

struct sock {
    struct sock_common __sk_common;
    __u16 sk_protocol; /* a plain field since 5.6 */
    __u16 sk_type;     /* SOCK_STREAM, SOCK_DGRAM, ... */
} WITNESS_CORE;

struct socket {
    struct sock *sk;
} WITNESS_CORE;

/* A unix socket's bound address: `len` bytes of struct sockaddr_un follow `len`
 * (read at len's relocated offset + 4: the flexible array's type is not declared). */
struct unix_address {
    int len;
} WITNESS_CORE;

struct unix_sock {
    struct sock sk;
    struct unix_address *addr;
    struct sock *peer; /* the other end of a connected socket */
} WITNESS_CORE;

struct pid_namespace;

/* A pid as each PID namespace from the root down to the task's own sees it. Both
 * members are declared: CO-RE relocates field offsets, not the array stride, so
 * the size must be the kernel's (unchanged since 2.6.26). */
/* cgroup_mkdir's cgroup: its hierarchy (0 is the unified one) and its directory
 * (kn->id is the cgroup id bpf_get_current_cgroup_id returns; kn->name its last
 * path component). */
struct cgroup_root {
    int hierarchy_id;
} WITNESS_CORE;

struct kernfs_node {
    __u64 id;
    const char *name;
} WITNESS_CORE;

struct cgroup {
    struct kernfs_node *kn;
    struct cgroup_root *root;
    int level;
    struct cgroup *ancestors[];
} WITNESS_CORE;

struct css_set {
    struct cgroup *dfl_cgrp;
} WITNESS_CORE;

struct upid {
    int nr;
    struct pid_namespace *ns;
} WITNESS_CORE;

struct pid {
    unsigned int level;
    struct upid numbers[1];
} WITNESS_CORE;

struct task_struct {
    struct thread_info thread_info;
    int pid;
    int tgid;
    struct pid *thread_pid;
    int exit_code;
    kuid_t loginuid;
    const struct cred *cred;
    struct nsproxy *nsproxy;
    struct signal_struct *signal;
    struct task_struct *real_parent;
    struct mm_struct *mm;
    struct files_struct *files;
    struct fs_struct *fs;
    struct css_set *cgroups;
} WITNESS_CORE;

#endif /* WITNESS_KERNEL_TYPES_H */
