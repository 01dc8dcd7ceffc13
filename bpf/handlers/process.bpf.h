/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Process handlers: what an exec record holds (argv, environment, identity, the
 * directory of a relative name), failed execs and clones (reported by the sys_exit
 * program: they never reach the scheduler's tracepoints), and the namespaces a
 * child got. The successful ones are programs/sched_process.bpf.h.
 */
#ifndef WITNESS_PROCESS_BPF_H
#define WITNESS_PROCESS_BPF_H

#include "../include/event.h"

/* A range of the new image's memory (argv or the environment), at most `max` bytes
 * at `offset` in the record: the bytes the kernel itself copied there. */
static __always_inline __u32 process__read_mm_range(struct witness_exec_event *event, __u32 offset, unsigned long start,
                                                    unsigned long end, __u32 max, __u32 truncated, __u32 unreadable)
{
    unsigned long len = end > start ? end - start : 0;
    if (len > max) {
        len = max;
        event->header.flags |= truncated;
    }
    if (offset > 3 * WITNESS_PATH_MAX + WITNESS_ARGS_MAX)
        return 0;
    if (bpf_probe_read_user(event->data + offset, len, (void *)start)) {
        event->header.flags |= unreadable;
        return 0;
    }
    return len;
}

/* argv of the new image. */
static __always_inline __u32 process__read_args(struct witness_exec_event *event, __u32 offset)
{
    struct mm_struct *mm = BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), mm);
    if (offset > WITNESS_PATH_MAX)
        return 0;
    return process__read_mm_range(event, offset, BPF_CORE_READ(mm, arg_start), BPF_CORE_READ(mm, arg_end),
                                  WITNESS_ARGS_MAX, WITNESS_FLAG_ARGS_TRUNCATED, WITNESS_FLAG_ARGS_UNREADABLE);
}

/* The environment of the new image, after the other strings (proc.env: GLIBC_TUNABLES,
 * LD_PRELOAD, a proxy). */
static __always_inline __u32 process__read_env(struct witness_exec_event *event, __u32 offset)
{
    struct mm_struct *mm = BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), mm);
    return process__read_mm_range(event, offset, BPF_CORE_READ(mm, env_start), BPF_CORE_READ(mm, env_end),
                                  WITNESS_ENV_MAX, WITNESS_FLAG_ENV_TRUNCATED, 0);
}

/* State of reading a failed exec's argument array, shared with the bpf_loop callback. */
struct process__argv_walk {
    struct witness_exec_event *event;
    const char *const *argv;
    __u32 offset; /* where the arguments start in event->data */
    __u32 used;
};

/* Copies argv[index] (with its NUL) after the previous ones. 1 stops the loop. */
static long process__argv_step(__u32 index, void *context)
{
    struct process__argv_walk *walk = context;
    struct witness_exec_event *event = walk->event;
    const char *arg = 0;
    if (!event || bpf_probe_read_user(&arg, sizeof(arg), &walk->argv[index & (WITNESS_FAILED_EXEC_ARGS - 1)]) || !arg)
        return 1;
    __u32 used = walk->used;
    __u32 offset = walk->offset;
    if (used >= WITNESS_ARGS_MAX || offset > WITNESS_PATH_MAX) {
        event->header.flags |= WITNESS_FLAG_ARGS_TRUNCATED;
        return 1;
    }
    long n = bpf_probe_read_user_str(event->data + offset + used, WITNESS_ARGS_MAX - used, arg);
    if (n <= 0) {
        event->header.flags |= WITNESS_FLAG_ARGS_UNREADABLE;
        return 1;
    }
    walk->used = used + n; /* keeps the NUL: arguments stay separated */
    if (index == WITNESS_FAILED_EXEC_ARGS - 1)
        event->header.flags |= WITNESS_FLAG_ARGS_TRUNCATED;
    return 0;
}

/* argv of a failed exec, from the caller's argument array (the kernel copied nothing). */
static __always_inline __u32 process__read_argv_array(struct witness_exec_event *event, __u32 offset,
                                                      const char *const *argv)
{
    struct process__argv_walk walk = { .event = event, .argv = argv, .offset = offset, .used = 0 };
    bpf_loop(WITNESS_FAILED_EXEC_ARGS, process__argv_step, &walk, 0);
    return walk.used > WITNESS_ARGS_MAX ? WITNESS_ARGS_MAX : walk.used;
}

/* Who runs the new image: login uid, terminal, effective capabilities, its pid in
 * its own PID namespace, and whether the executable is a memfd (an exec that never
 * touched a file system). */
static __always_inline void process__identity(struct witness_exec_event *event)
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    event->loginuid = bpf_core_field_exists(task->loginuid) ? BPF_CORE_READ(task, loginuid.val) : (__u32)-1;
    event->tty = 0;
    struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
    if (tty) {
        __u32 major = BPF_CORE_READ(tty, driver, major);
        __u32 minor = BPF_CORE_READ(tty, driver, minor_start) + BPF_CORE_READ(tty, index);
        event->tty = (major << 8) | (minor & 0xff) | ((minor & ~0xffu) << 12);
    }
    event->cap_effective = 0;
    event->cap_permitted = 0;
    event->cap_inheritable = 0;
    const struct cred *cred = BPF_CORE_READ(task, cred);
    bpf_core_read(&event->cap_effective, sizeof(event->cap_effective), &cred->cap_effective);
    bpf_core_read(&event->cap_permitted, sizeof(event->cap_permitted), &cred->cap_permitted);
    bpf_core_read(&event->cap_inheritable, sizeof(event->cap_inheritable), &cred->cap_inheritable);
    /* After a successful exec the caller leads its thread group, so its thread pid is
     * the process's (user space reads vpid only from successful execs). */
    struct pid *pid = BPF_CORE_READ(task, thread_pid);
    unsigned int level = BPF_CORE_READ(pid, level);
    event->vpid = BPF_CORE_READ(pid, numbers[level].nr);
    /* Session (host numbering, as Falco's proc.sid) and process group in the task's
     * own namespace (proc.vpgid), as they are at exec. */
    struct pid *session = BPF_CORE_READ(task, signal, pids[3]);
    struct pid *group = BPF_CORE_READ(task, signal, pids[2]);
    event->sid = session ? BPF_CORE_READ(session, numbers[0].nr) : 0;
    event->vpgid = group && BPF_CORE_READ(group, level) >= level ? BPF_CORE_READ(group, numbers[level].nr) : 0;
    char name[6] = {};
    const unsigned char *exe_name = BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_name.name);
    if (exe_name && bpf_probe_read_kernel(name, sizeof(name), exe_name) == 0 && name[0] == 'm' && name[1] == 'e'
        && name[2] == 'm' && name[3] == 'f' && name[4] == 'd' && name[5] == ':')
        event->header.flags |= WITNESS_FLAG_EXE_MEMFD;
}

#define WITNESS_OVERLAYFS_MAGIC 0x794c7630UL

/* Whether `inode` is an overlayfs file with an upper dentry: written in the
 * container's own layer, not shipped in its image (Falco's proc.is_exe_upper_layer).
 * A kernel whose BTF lacks overlayfs (built as a module) answers no. */
static __always_inline int process__in_upper_layer(struct inode *inode)
{
    if (!bpf_core_type_exists(struct ovl_inode) || BPF_CORE_READ(inode, i_sb, s_magic) != WITNESS_OVERLAYFS_MAGIC)
        return 0;
    struct ovl_inode *overlay = (void *)inode - bpf_core_field_offset(struct ovl_inode, vfs_inode);
    return BPF_CORE_READ(overlay, __upperdentry) != NULL;
}

/* The directory of a relative exec filename, after filename and args. */
static __always_inline __u32 process__write_dir(struct witness_exec_event *event, __u32 filename_len, __u32 args_len,
                                                int dirfd)
{
    if (filename_len == 0 || event->data[0] == '/' || filename_len > WITNESS_PATH_MAX || args_len > WITNESS_ARGS_MAX)
        return 0;
    return path__write_base(&event->header, event->data + filename_len + args_len, dirfd);
}

/* A failed exec, at sys_exit: the caller's memory still holds what it asked for.
 * A global function, like every handler (see programs/syscall.bpf.h). */
__noinline int process__exec_failed(struct witness_call *call)
{
    if (!call)
        return 0;
    if (call->ret >= 0)
        return 0; /* a successful one was reported by sched_process_exec */
    struct witness_exec_event *event = scratch__get();
    if (!event)
        return 0;
    __u64 shape = call->shape;
    event__fill_call_header(&event->header, WITNESS_EVENT_EXEC, shape__syscall(shape), call);
    int dirfd = call__dirfd(call, shape__byte(shape, 3));
    __u32 filename_len =
        event__read_user_path(&event->header, event->data, (void *)call__arg(call, shape__byte(shape, 2)));
    __u32 args_len = 0;
    if (call->table == WITNESS_TABLE_NATIVE) /* an ia32 argv is an array of 32-bit pointers */
        args_len = process__read_argv_array(event, filename_len, (const char *const *)call__arg(call, shape__byte(shape, 4)));
    __u32 dir_len = process__write_dir(event, filename_len, args_len, dirfd);
    process__identity(event);
    event->filename_len = filename_len;
    event->args_len = args_len;
    event->dir_len = dir_len;
    event->exe_len = 0;
    event->exe_dev = 0;
    event->exe_ino = 0;
    event->exe_ctime = 0;
    event->stdio = 0;
    event->env_len = 0;
    event__submit(event, sizeof(*event) + filename_len + args_len + dir_len, call->subjects);
    return 0;
}

/* Every CLONE_NEW* flag: a new namespace for the child (bit 31, CLONE_IO, is not one). */
#define WITNESS_CLONE_NAMESPACES 0x7E020080ULL

/* The CLONE_* flags of the clone-family syscall in `call` (0 for fork, vfork). */
static __always_inline __u64 process__clone_flags(struct witness_call *call)
{
    if (shape__handler(call->shape) != WITNESS_HANDLER_CLONE)
        return 0;
    __u32 where = shape__byte(call->shape, 2);
    if (where == WITNESS_ARG_CLONE_ARGS) {
        __u64 flags = 0; /* struct clone_args starts with its flags */
        bpf_probe_read_user(&flags, sizeof(flags), (void *)call->args[0]);
        return flags;
    }
    return where < 6 ? (__u32)call__arg(call, where) : 0;
}

/* A failed clone, fork or vfork, at sys_exit: an attempt, with the flags asked for. */
__noinline int process__clone_failed(struct witness_call *call)
{
    if (!call)
        return 0;
    if (call->ret >= 0)
        return 0; /* a new task: sched_process_fork reported it */
    struct witness_fork_event *event = scratch__get();
    if (!event)
        return 0;
    event__fill_call_header(&event->header, WITNESS_EVENT_FORK, shape__syscall(call->shape), call);
    event->child_pid = 0;
    event->child_tid = 0;
    event->clone_flags = process__clone_flags(call);
    event__submit(event, sizeof(*event), call->subjects);
    return 0;
}

/* The namespaces `child` got that `parent` does not have, as CLONE_NEW* flags: the
 * kernel's account, which a sibling thread rewriting clone3's argument struct in
 * the caller's memory cannot change. */
static __always_inline __u64 process__new_namespaces(struct task_struct *parent, struct task_struct *child)
{
    struct nsproxy *mine = BPF_CORE_READ(parent, nsproxy);
    struct nsproxy *its = BPF_CORE_READ(child, nsproxy);
    __u64 flags = 0;
    if (!mine || !its)
        return 0;
    if (BPF_CORE_READ(mine, mnt_ns) != BPF_CORE_READ(its, mnt_ns))
        flags |= 0x00020000; /* CLONE_NEWNS */
    if (BPF_CORE_READ(mine, uts_ns) != BPF_CORE_READ(its, uts_ns))
        flags |= 0x04000000; /* CLONE_NEWUTS */
    if (BPF_CORE_READ(mine, ipc_ns) != BPF_CORE_READ(its, ipc_ns))
        flags |= 0x08000000; /* CLONE_NEWIPC */
    if (BPF_CORE_READ(mine, net_ns) != BPF_CORE_READ(its, net_ns))
        flags |= 0x40000000; /* CLONE_NEWNET */
    if (BPF_CORE_READ(mine, cgroup_ns) != BPF_CORE_READ(its, cgroup_ns))
        flags |= 0x02000000; /* CLONE_NEWCGROUP */
    if (BPF_CORE_READ(mine, pid_ns_for_children) != BPF_CORE_READ(its, pid_ns_for_children))
        flags |= 0x20000000; /* CLONE_NEWPID */
    if (bpf_core_field_exists(mine->time_ns_for_children)
        && BPF_CORE_READ(mine, time_ns_for_children) != BPF_CORE_READ(its, time_ns_for_children))
        flags |= 0x00000080; /* CLONE_NEWTIME */
    /* Through non-const pointers: the task's cred pointer is const. */
    struct cred *parent_cred = (struct cred *)BPF_CORE_READ(parent, cred);
    struct cred *child_cred = (struct cred *)BPF_CORE_READ(child, cred);
    if (BPF_CORE_READ(parent_cred, user_ns) != BPF_CORE_READ(child_cred, user_ns))
        flags |= 0x10000000; /* CLONE_NEWUSER */
    return flags;
}

#endif /* WITNESS_PROCESS_BPF_H */
