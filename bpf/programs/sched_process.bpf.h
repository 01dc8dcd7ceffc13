/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Process lifecycle programs: a successful exec, fork and clone, and exit.
 *
 * The scheduler's tracepoints are BTF tracepoints (tp_btf): their arguments are the
 * kernel's own objects (the child task, the binprm), and linking or unlinking one
 * costs microseconds, not a perf event each. Failed execs and clones never reach
 * them: the sys_exit program reports those (handlers/process.bpf.h).
 */
#ifndef WITNESS_SCHED_PROCESS_BPF_H
#define WITNESS_SCHED_PROCESS_BPF_H

#include "../handlers/process.bpf.h"
#include "cgroup_attach.bpf.h"

SEC("tp_btf/sched_process_exec")
int witness_process_exec(unsigned long long *ctx)
{
    struct linux_binprm *bprm = (struct linux_binprm *)ctx[2];
    __u64 subjects = subject__current();
    if (!subjects)
        return 0;

    /* Which exec this was, from the syscall number in the saved registers (an x86
     * loader may have rewritten it to execve's: see the header's flags below). */
    struct witness_call call;
    call__read_current(&call, subjects);
    __u16 syscall = shape__handler(call.shape) == WITNESS_HANDLER_EXEC ? shape__syscall(call.shape) : WITNESS_SYS_EXECVE;

    struct witness_exec_event *event = scratch__get();
    if (!event)
        return 0;
    /* No gate flag: by now the ELF loader has set the new image's personality (its
     * TS_COMPAT, and orig_ax), which says how the program runs, not how exec was
     * called. For the same reason a successful execveat may read as execve. */
    event__fill_header(&event->header, WITNESS_EVENT_EXEC, syscall, subjects);

    __u32 filename_len = 0;
    long n = bpf_probe_read_kernel_str(event->data, WITNESS_PATH_MAX + 1, BPF_CORE_READ(bprm, filename));
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
    /* The file the kernel runs, named by the kernel: a symlink, `..` or /dev/fd/N
     * names the file itself. A script runs its interpreter: then the script's path
     * stays the executable's, as the name it was run by. */
    __u32 exe_len = 0;
    /* Which file runs: the program itself, or a script's interpreter. */
    fd__identity(BPF_CORE_READ(bprm, file), &event->exe_dev, &event->exe_ino);
    event->exe_ctime = fd__change_time(BPF_CORE_READ(bprm, file));
    if (BPF_CORE_READ(bprm, interp) != BPF_CORE_READ(bprm, filename))
        event->header.flags |= WITNESS_FLAG_EXE_SCRIPT;
    if (BPF_CORE_READ(bprm, interp) == BPF_CORE_READ(bprm, filename) && filename_len <= WITNESS_PATH_MAX
        && args_len <= WITNESS_ARGS_MAX && dir_len <= WITNESS_PATH_MAX) {
        struct file *file = BPF_CORE_READ(bprm, file);
        exe_len = path__write_of(&event->header, event->data + filename_len + args_len + dir_len, file);
        struct inode *inode = BPF_CORE_READ(file, f_inode);
        /* A file run after its last name was removed (fexecve of an unlinked drop). */
        if (BPF_CORE_READ(inode, __i_nlink) == 0)
            event->header.flags |= WITNESS_FLAG_EXE_DELETED;
        if (process__in_upper_layer(inode))
            event->header.flags |= WITNESS_FLAG_EXE_UPPER;
    }
    process__identity(event);
    event->filename_len = filename_len;
    event->args_len = args_len;
    event->dir_len = dir_len;
    event->exe_len = exe_len;
    /* Where the new program's standard streams go: a shell whose input is a TCP
     * socket is a remote shell, however the descriptors were put there. */
    event->stdio = fd__stdio_type(0) | fd__stdio_type(1) << 8 | fd__stdio_type(2) << 16;
    __u32 env_len = 0;
    if (filename_len <= WITNESS_PATH_MAX && args_len <= WITNESS_ARGS_MAX && dir_len <= WITNESS_PATH_MAX
        && exe_len <= WITNESS_PATH_MAX)
        env_len = process__read_env(event, filename_len + args_len + dir_len + exe_len);
    event->env_len = env_len;
    event__submit(event, sizeof(*event) + filename_len + args_len + dir_len + exe_len + env_len, subjects);
    return 0;
}


/* A subject's new process, as to its cgroup: its verdict cache starts as its
 * parent's, so that a move before it first runs still knows what it was (the move
 * would otherwise find no cache and not follow it out); and a child made straight
 * into a cgroup outside the parent's subjects (clone3 CLONE_INTO_CGROUP) has left
 * them at birth: returns those windows (the caller follows the child for them),
 * which hear of the escape. */
static __always_inline __u64 process__place_child(struct task_struct *parent, struct task_struct *child,
                                                  __u32 child_tgid)
{
    struct witness_control *ctl = control__get();
    if (!ctl || !ctl->has_cgroup_subjects)
        return 0;
    __u64 had = subject__cgroup_bits(ctl); /* the parent is current */
    struct cgroup *from = BPF_CORE_READ(parent, cgroups, dfl_cgrp);
    struct cgroup *into = BPF_CORE_READ(child, cgroups, dfl_cgrp);
    if (!from || !into)
        return 0;
    __u64 inside = into == from ? had : cgroup__subject_bits(into);
    struct witness_task_verdict *verdict =
        bpf_task_storage_get(&witness_task_verdicts, child, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (verdict) {
        verdict->generation = ctl->cgroup_generation;
        verdict->cgroup_id = BPF_CORE_READ(into, kn, id);
        verdict->subjects = inside;
    }
    __u64 left = had & ~inside;
    if (left) {
        ctl->has_pid_subjects = 1;
        cgroup__left(into, child_tgid, left);
    }
    return left;
}

SEC("tp_btf/sched_process_fork")
int witness_process_fork(unsigned long long *ctx)
{
    struct task_struct *parent = (struct task_struct *)ctx[0];
    struct task_struct *child = (struct task_struct *)ctx[1];
    __u32 child_pid = child->pid;
    __u32 child_tgid = child->tgid;

    __u64 subjects = subject__current(); /* the parent is current */
    if (!subjects) {
        /* An outsider's child made straight into a subject cgroup (clone3 with
         * CLONE_INTO_CGROUP) enters the subject with what it inherited. */
        struct witness_control *ctl = control__get();
        if (ctl && ctl->has_cgroup_subjects && child_pid == child_tgid) {
            struct cgroup *into = BPF_CORE_READ(child, cgroups, dfl_cgrp);
            if (into && into != BPF_CORE_READ(parent, cgroups, dfl_cgrp)) {
                __u64 bits = cgroup__subject_bits(into);
                if (bits)
                    cgroup__entered(into, child_tgid, bits);
            }
        }
        return 0;
    }

    struct witness_call call;
    call__read_current(&call, subjects);
    /* What was asked (clone's register, clone3's struct), with what the kernel made. */
    __u64 flags = process__clone_flags(&call) | process__new_namespaces(parent, child);
    /* Threads are not events (scoping and the process table go by thread group),
     * unless the thread was given a namespace of its own. */
    if (child_pid != child_tgid && !(flags & WITNESS_CLONE_NAMESPACES))
        return 0;

    /* A PID-tree subject follows the child. */
    __u32 parent_tgid = bpf_get_current_pid_tgid() >> 32;
    __u64 *tree = bpf_map_lookup_elem(&witness_subject_pids, &parent_tgid);
    __u64 followed = tree ? *tree : 0;
    if (child_pid == child_tgid)
        followed |= process__place_child(parent, child, child_tgid);
    if (followed && child_pid == child_tgid) {
        if (bpf_map_update_elem(&witness_subject_pids, &child_tgid, &followed, BPF_ANY))
            drops__count(WITNESS_DROP_SUBJECT_FULL, followed);
    }

    struct witness_fork_event *event = scratch__get();
    if (!event)
        return 0;
    __u16 syscall = shape__handler(call.shape) == WITNESS_HANDLER_CLONE ? shape__syscall(call.shape) : WITNESS_SYS_CLONE;
    event__fill_header(&event->header, WITNESS_EVENT_FORK, syscall, subjects);
    event->header.result = child_tgid;
    event->header.flags |= call.gate;
    event->child_pid = child_tgid;
    event->child_tid = child_pid;
    event->clone_flags = flags;
    event__submit(event, sizeof(*event), subjects);
    return 0;
}

SEC("tp_btf/sched_process_exit")
int witness_process_exit(unsigned long long *ctx)
{
    struct task_struct *task = (struct task_struct *)ctx[0]; /* current */
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    __u32 tgid = pid_tgid >> 32;
    __u64 subjects = subject__current();

    /* exit and exit_group never return, so sys_exit never counts them: count here. */
    if (subjects) {
        struct witness_call call;
        call__read_current(&call, subjects);
        if (shape__handler(call.shape) == WITNESS_HANDLER_EXIT)
            profile__count(subjects, call.table, call.nr);
    }

    /* The last thread out: the live count of the group has just reached zero. */
    if (BPF_CORE_READ(task, signal, live.counter) != 0)
        return 0;
    bpf_map_delete_elem(&witness_subject_pids, &tgid);
    if (!subjects)
        return 0;

    struct witness_event_header *event = scratch__get();
    if (!event)
        return 0;
    event__fill_header(event, WITNESS_EVENT_EXIT, WITNESS_SYS_EXIT, subjects);
    event->result = BPF_CORE_READ(task, exit_code);
    event__submit(event, sizeof(*event), subjects);
    return 0;
}

#endif /* WITNESS_SCHED_PROCESS_BPF_H */
