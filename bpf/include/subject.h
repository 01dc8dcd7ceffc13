/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Scoping in the kernel: which subjects, if any, the current task belongs to.
 * Everything else returns 0 here and costs one array lookup plus at most two
 * hash lookups, before any string is read or any record is built.
 */
#ifndef WITNESS_SUBJECT_H
#define WITNESS_SUBJECT_H

#include <bpf/bpf_helpers.h>
#include "maps.h"

/* Deeper cgroup trees than this are not searched for subject ancestors. */
#define WITNESS_MAX_CGROUP_DEPTH 32

static __always_inline struct witness_control *control__get(void)
{
    __u32 zero = 0;
    return bpf_map_lookup_elem(&witness_control_map, &zero);
}

/* Global functions (here and below): their loops over the subject bits are verified
 * once per program, not once per inlined caller. */
__noinline int drops__count(__u32 reason, __u64 subjects)
{
    __u64 *total = bpf_map_lookup_elem(&witness_drops, &reason);
    if (total)
        __sync_fetch_and_add(total, 1);
    /* Shifting the bits out ends the loop at the highest subject: slots are handed
     * out lowest first, so one subject costs one turn. */
    for (__u32 slot = 0; slot < WITNESS_MAX_SUBJECTS && subjects; slot++, subjects >>= 1) {
        if (!(subjects & 1))
            continue;
        __u32 key = slot;
        __u64 *count = bpf_map_lookup_elem(&witness_subject_drops, &key);
        if (count)
            __sync_fetch_and_add(count, 1);
    }
    return 0;
}

/* Counts one syscall (table, number) in the profile of every subject in `subjects`. */
__noinline int profile__count(__u64 subjects, __u32 table, __u32 nr)
{
    if (nr >= WITNESS_SYSCALL_SLOTS)
        nr = WITNESS_SYSCALL_SLOTS - 1; /* beyond every table today: one "other" counter */
    __u32 base = (table & 1) * WITNESS_SYSCALL_SLOTS + nr;
    for (__u32 slot = 0; slot < WITNESS_MAX_SUBJECTS && subjects; slot++, subjects >>= 1) {
        if (!(subjects & 1))
            continue;
        __u32 key = slot * (WITNESS_SYSCALL_TABLES * WITNESS_SYSCALL_SLOTS) + base;
        __u64 *count = bpf_map_lookup_elem(&witness_syscall_counts, &key);
        if (count)
            __sync_fetch_and_add(count, 1);
    }
    return 0;
}

/* Subjects of the current cgroup: the union over it and its ancestors, cached per
 * cgroup id for one generation of the subject set. A cgroup created after a window
 * opened is found on its first event, because its ancestors are walked then. */
static __always_inline __u64 subject__cgroup_bits_of(__u64 cgroup_id, __u64 generation)
{
    struct witness_cgroup_verdict *cached = bpf_map_lookup_elem(&witness_cgroup_verdicts, &cgroup_id);
    if (cached && cached->generation == generation)
        return cached->subjects;

    struct witness_cgroup_verdict verdict = { .generation = generation, .subjects = 0 };
    for (int level = 0; level < WITNESS_MAX_CGROUP_DEPTH; level++) {
        __u64 ancestor = bpf_get_current_ancestor_cgroup_id(level);
        if (!ancestor)
            break;
        __u64 *bits = bpf_map_lookup_elem(&witness_subject_cgroups, &ancestor);
        if (bits)
            verdict.subjects |= *bits;
        if (ancestor == cgroup_id)
            break;
    }
    bpf_map_update_elem(&witness_cgroup_verdicts, &cgroup_id, &verdict, BPF_ANY);
    return verdict.subjects;
}

/* The same, asked first of the task's own cache: a task in the same cgroup under the
 * same subject set has the same verdict as at its last syscall. */
static __always_inline __u64 subject__cgroup_bits(struct witness_control *ctl)
{
    __u64 cgroup_id = bpf_get_current_cgroup_id();
    __u64 generation = ctl->cgroup_generation;
    struct task_struct *task = bpf_get_current_task_btf();
    struct witness_task_verdict *mine = bpf_task_storage_get(&witness_task_verdicts, task, 0, 0);
    if (mine && mine->generation == generation && mine->cgroup_id == cgroup_id)
        return mine->subjects;
    __u64 subjects = subject__cgroup_bits_of(cgroup_id, generation);
    if (!mine)
        mine = bpf_task_storage_get(&witness_task_verdicts, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (mine) {
        mine->generation = generation;
        mine->cgroup_id = cgroup_id;
        mine->subjects = subjects;
    }
    return subjects;
}

/* Subject bits of the current task, 0 when it is nobody's subject. */
static __always_inline __u64 subject__current(void)
{
    struct witness_control *ctl = control__get();
    if (!ctl)
        return 0;
    __u64 bits = 0;
    if (ctl->has_pid_subjects) {
        __u32 tgid = bpf_get_current_pid_tgid() >> 32;
        __u64 *tree = bpf_map_lookup_elem(&witness_subject_pids, &tgid);
        if (tree)
            bits |= *tree;
    }
    if (ctl->has_cgroup_subjects)
        bits |= subject__cgroup_bits(ctl);
    return bits;
}

#endif /* WITNESS_SUBJECT_H */
