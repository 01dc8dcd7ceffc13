/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A process that enters a subject from outside brings what it already holds —
 * descriptors, connections, a running image — that no live event of the window
 * showed. The agent judges it as found when it enters: a write to a subject
 * cgroup's cgroup.procs or cgroup.threads (cgroup_attach_task, after the move),
 * or a child an outsider made straight into a subject cgroup with
 * clone3(CLONE_INTO_CGROUP) (checked by the fork program). An ENTER record names
 * the process; the agent skips those it already knows as the window's.
 */
#ifndef WITNESS_CGROUP_ATTACH_BPF_H
#define WITNESS_CGROUP_ATTACH_BPF_H

#include "../include/event.h"

/* The subject bits of cgroup `cgrp` (unified hierarchy): the union over it and its
 * ancestors, as subject__cgroup_bits_of computes for the current task. */
static __always_inline __u64 cgroup__subject_bits(struct cgroup *cgrp)
{
    int level = BPF_CORE_READ(cgrp, level);
    __u64 bits = 0;
    for (int i = 0; i < WITNESS_MAX_CGROUP_DEPTH; i++) {
        if (i > level)
            break;
        struct cgroup *ancestor = 0;
        if (bpf_core_read(&ancestor, sizeof(ancestor), &cgrp->ancestors[i]) || !ancestor)
            break;
        __u64 id = BPF_CORE_READ(ancestor, kn, id);
        __u64 *found = bpf_map_lookup_elem(&witness_subject_cgroups, &id);
        if (found)
            bits |= *found;
    }
    return bits;
}

/* Sends an ENTER record: process `tgid` is now in subject cgroup `cgrp`, put there
 * by the current task (the writer of cgroup.procs, or the parent of a clone3 into
 * it) — flagged when that task is itself a subject of any window. */
static __always_inline void cgroup__entered(struct cgroup *cgrp, __u32 tgid, __u64 bits)
{
    struct witness_event_header header;
    event__fill_header(&header, WITNESS_EVENT_ENTER, WITNESS_SYS_NONE, bits);
    /* A subject of any window: what it moves in is its doing, whichever window sees it. */
    if (subject__current())
        header.flags |= WITNESS_FLAG_BY_SUBJECT;
    header.cgroup_id = BPF_CORE_READ(cgrp, kn, id);
    header.result = tgid;
    event__submit(&header, sizeof(header), bits);
}

/* Sends an ESCAPE record: process `tgid` left the cgroup subjects `left` for `cgrp`. */
static __always_inline void cgroup__left(struct cgroup *cgrp, __u32 tgid, __u64 left)
{
    struct witness_event_header header;
    event__fill_header(&header, WITNESS_EVENT_ESCAPE, WITNESS_SYS_NONE, left);
    header.cgroup_id = BPF_CORE_READ(cgrp, kn, id);
    header.result = tgid;
    event__submit(&header, sizeof(header), left);
}

SEC("tp_btf/cgroup_attach_task")
int witness_cgroup_attach(unsigned long long *ctx)
{
    struct cgroup *dst = (struct cgroup *)ctx[0];
    struct task_struct *task = (struct task_struct *)ctx[2];
    struct witness_control *ctl = control__get();
    if (!ctl || !ctl->has_cgroup_subjects || BPF_CORE_READ(dst, root, hierarchy_id) != 0)
        return 0;
    __u64 bits = cgroup__subject_bits(dst);
    __u32 tgid = BPF_CORE_READ(task, tgid);
    if (bits)
        cgroup__entered(dst, tgid, bits);

    /* The windows it left: the subjects of the cgroup it was in, less those of the
     * cgroup it went to. Its verdict cache names that cgroup; its bits are trusted
     * only for the current subject set (a slot closed and reused since would follow
     * it into a window it never belonged to), else the cgroup's own verdict or
     * entry is asked. */
    struct witness_task_verdict *was = bpf_task_storage_get(&witness_task_verdicts, task, 0, 0);
    __u64 had = 0;
    if (was) {
        __u64 generation = ctl->cgroup_generation;
        __u64 from = was->cgroup_id;
        struct witness_cgroup_verdict *verdict = bpf_map_lookup_elem(&witness_cgroup_verdicts, &from);
        __u64 *direct = bpf_map_lookup_elem(&witness_subject_cgroups, &from);
        if (was->generation == generation)
            had = was->subjects;
        else if (verdict && verdict->generation == generation)
            had = verdict->subjects;
        else if (direct)
            had = *direct;
    }
    __u64 left = had & ~bits;
    if (left) {
        __u64 followed = left;
        __u64 *tree = bpf_map_lookup_elem(&witness_subject_pids, &tgid);
        if (tree)
            followed |= *tree;
        if (bpf_map_update_elem(&witness_subject_pids, &tgid, &followed, BPF_ANY))
            drops__count(WITNESS_DROP_SUBJECT_FULL, left);
        else
            ctl->has_pid_subjects = 1;
        cgroup__left(dst, tgid, left);
    }
    return 0;
}

#endif /* WITNESS_CGROUP_ATTACH_BPF_H */
