/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Process lifecycle: exec (successful and failed), fork, exit.
 *
 * sched_process_exec/exit are stable tracepoints (since 3.4/2.6.32); their field
 * layouts are read through CO-RE types. Fork is a raw tracepoint because only its
 * raw form hands us the child task, and with it whether a new process or a new
 * thread was made.
 */
#ifndef WITNESS_PROCESS_BPF_H
#define WITNESS_PROCESS_BPF_H

#include "../include/event.h"

/* argv of the new image, from its mm: the bytes the kernel itself copied. */
static __always_inline __u32 process__read_args(struct witness_exec_event *event, __u32 offset)
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    unsigned long start = BPF_CORE_READ(task, mm, arg_start);
    unsigned long end = BPF_CORE_READ(task, mm, arg_end);
    unsigned long len = end > start ? end - start : 0;
    if (len > WITNESS_ARGS_MAX) {
        len = WITNESS_ARGS_MAX;
        event->header.flags |= WITNESS_FLAG_ARGS_TRUNCATED;
    }
    if (offset > WITNESS_PATH_MAX)
        return 0;
    if (bpf_probe_read_user(event->data + offset, len, (void *)start)) {
        event->header.flags |= WITNESS_FLAG_ARGS_UNREADABLE;
        return 0;
    }
    return len;
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
    const struct cred *cred = BPF_CORE_READ(task, cred);
    bpf_core_read(&event->cap_effective, sizeof(event->cap_effective), &cred->cap_effective);
    /* After a successful exec the caller leads its thread group, so its thread pid is
     * the process's (user space reads vpid only from successful execs). */
    struct pid *pid = BPF_CORE_READ(task, thread_pid);
    unsigned int level = BPF_CORE_READ(pid, level);
    event->vpid = BPF_CORE_READ(pid, numbers[level].nr);
    char name[6] = {};
    const unsigned char *exe_name = BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_name.name);
    if (exe_name && bpf_probe_read_kernel(name, sizeof(name), exe_name) == 0 && name[0] == 'm' && name[1] == 'e'
        && name[2] == 'm' && name[3] == 'f' && name[4] == 'd' && name[5] == ':')
        event->header.flags |= WITNESS_FLAG_EXE_MEMFD;
}

/* The directory of a relative exec filename, after filename and args. */
static __always_inline __u32 process__write_dir(struct witness_exec_event *event, __u32 filename_len, __u32 args_len,
                                                int dirfd)
{
    if (filename_len == 0 || event->data[0] == '/' || filename_len > WITNESS_PATH_MAX || args_len > WITNESS_ARGS_MAX)
        return 0;
    return path__write_base(&event->header, event->data + filename_len + args_len, dirfd);
}

static __always_inline int process__stash_exec(__u16 syscall, __u64 dirfd, __u64 filename, __u64 argv)
{
    __u64 subjects = subject__current();
    if (subjects)
        pending__begin(syscall, subjects, dirfd, filename, argv, 0);
    return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int witness_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
    return process__stash_exec(WITNESS_SYS_EXECVE, (__u64)-100 /* AT_FDCWD */, ctx->args[0], ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int witness_enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
    return process__stash_exec(WITNESS_SYS_EXECVEAT, ctx->args[0], ctx->args[1], ctx->args[2]);
}

/* Reached only when exec failed: a successful one was reported, and its pending entry
 * removed, by sched_process_exec. */
static __always_inline int process__exec_failed(long ret)
{
    __u64 id = bpf_get_current_pid_tgid();
    struct witness_pending *pending = bpf_map_lookup_elem(&witness_pending_syscalls, &id);
    if (!pending)
        return 0;
    struct witness_exec_event *event = scratch__get();
    if (event && ret < 0) {
        event__fill_header(&event->header, WITNESS_EVENT_EXEC, pending->syscall, pending->subjects);
        event->header.result = ret;
        __u32 filename_len = event__read_user_path(&event->header, event->data, (void *)pending->args[1]);
        __u32 args_len = process__read_argv_array(event, filename_len, (const char *const *)pending->args[2]);
        __u32 dir_len = process__write_dir(event, filename_len, args_len, (int)pending->args[0]);
        process__identity(event);
        event->filename_len = filename_len;
        event->args_len = args_len;
        event->dir_len = dir_len;
        event__submit(event, sizeof(*event) + filename_len + args_len + dir_len, pending->subjects);
    }
    bpf_map_delete_elem(&witness_pending_syscalls, &id);
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int witness_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
    return process__exec_failed(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int witness_exit_execveat(struct trace_event_raw_sys_exit *ctx)
{
    return process__exec_failed(ctx->ret);
}

SEC("tracepoint/sched/sched_process_exec")
int witness_process_exec(struct trace_event_raw_sched_process_exec *ctx)
{
    __u64 subjects = subject__current();
    if (!subjects)
        return 0;

    /* The pending entry of the calling thread (its id before exec made it the leader)
     * says which syscall this was; it is done with now. */
    __u16 syscall = WITNESS_SYS_EXECVE;
    __u64 pending_id = (bpf_get_current_pid_tgid() & 0xFFFFFFFF00000000ULL) | (__u32)ctx->old_pid;
    struct witness_pending *pending = bpf_map_lookup_elem(&witness_pending_syscalls, &pending_id);
    if (pending) {
        syscall = pending->syscall;
        bpf_map_delete_elem(&witness_pending_syscalls, &pending_id);
    }

    struct witness_exec_event *event = scratch__get();
    if (!event)
        return 0;
    event__fill_header(&event->header, WITNESS_EVENT_EXEC, syscall, subjects);

    __u32 filename_len = 0;
    unsigned short filename_offset = ctx->__data_loc_filename & 0xFFFF;
    long n = bpf_probe_read_kernel_str(event->data, WITNESS_PATH_MAX + 1, (void *)ctx + filename_offset);
    if (n > WITNESS_PATH_MAX) {
        event->header.flags |= WITNESS_FLAG_PATH_TRUNCATED;
        filename_len = WITNESS_PATH_MAX;
    } else if (n > 0) {
        filename_len = n - 1;
    }
    __u32 args_len = process__read_args(event, filename_len);
    /* The working directory, always (it is proc.cwd); exec does not change it. */
    __u32 dir_len = 0;
    if (filename_len <= WITNESS_PATH_MAX && args_len <= WITNESS_ARGS_MAX)
        dir_len = path__write_base(&event->header, event->data + filename_len + args_len, -100);
    process__identity(event);
    event->filename_len = filename_len;
    event->args_len = args_len;
    event->dir_len = dir_len;
    event__submit(event, sizeof(*event) + filename_len + args_len + dir_len, subjects);
    return 0;
}

SEC("raw_tracepoint/sched_process_fork")
int witness_process_fork(struct bpf_raw_tracepoint_args *ctx)
{
    struct task_struct *child = (struct task_struct *)ctx->args[1];
    __u32 child_pid = BPF_CORE_READ(child, pid);
    __u32 child_tgid = BPF_CORE_READ(child, tgid);
    if (child_pid != child_tgid)
        return 0; /* a thread: scoping and the process table go by thread group */

    __u64 subjects = subject__current(); /* the parent is current */
    if (!subjects)
        return 0;

    /* A PID-tree subject follows the child. */
    __u32 parent_tgid = bpf_get_current_pid_tgid() >> 32;
    __u64 *tree = bpf_map_lookup_elem(&witness_subject_pids, &parent_tgid);
    if (tree) {
        __u64 bits = *tree;
        if (bpf_map_update_elem(&witness_subject_pids, &child_tgid, &bits, BPF_ANY))
            drops__count(WITNESS_DROP_SUBJECT_FULL, bits);
    }

    struct witness_fork_event *event = scratch__get();
    if (!event)
        return 0;
    event__fill_header(&event->header, WITNESS_EVENT_FORK, WITNESS_SYS_CLONE, subjects);
    event->header.result = child_tgid;
    event->child_pid = child_tgid;
    event->reserved = 0;
    event__submit(event, sizeof(*event), subjects);
    return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int witness_process_exit(struct trace_event_raw_sched_process_exit *ctx)
{
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    __u32 tgid = pid_tgid >> 32;
    /* A thread killed inside a syscall never reaches its exit tracepoint. */
    bpf_map_delete_elem(&witness_pending_syscalls, &pid_tgid);

    int group_dead;
    if (bpf_core_field_exists(ctx->group_dead))
        group_dead = BPF_CORE_READ(ctx, group_dead);
    else
        group_dead = (__u32)pid_tgid == tgid;
    if (!group_dead)
        return 0;

    __u64 subjects = subject__current();
    bpf_map_delete_elem(&witness_subject_pids, &tgid);
    if (!subjects)
        return 0;

    struct witness_event_header *event = scratch__get();
    if (!event)
        return 0;
    event__fill_header(event, WITNESS_EVENT_EXIT, WITNESS_SYS_EXIT, subjects);
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    event->result = BPF_CORE_READ(task, exit_code);
    event__submit(event, sizeof(*event), subjects);
    return 0;
}

#endif /* WITNESS_PROCESS_BPF_H */
