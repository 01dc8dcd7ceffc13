/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Witness from birth: a window can be armed for a cgroup that does not exist yet (a
 * pod or container about to start). The cgroup_mkdir tracepoint fires under
 * cgroup_mutex before the new directory is active, so no task can be in it yet:
 * neither a write to its cgroup.procs nor clone3(CLONE_INTO_CGROUP) can come
 * first. When the new cgroup's name or path is armed, its id gets the armed
 * windows' subject bits here, and an ACTIVATE record tells the agent when.
 */
#ifndef WITNESS_CGROUP_MKDIR_BPF_H
#define WITNESS_CGROUP_MKDIR_BPF_H

#include "../include/event.h"

/* The subject bits armed for `name` (a kernel string), 0 for none. */
static __always_inline __u64 armed__lookup(struct witness_armed_name *key, const char *name)
{
    __builtin_memset(key, 0, sizeof(*key));
    if (bpf_probe_read_kernel_str(key->name, sizeof(key->name), name) <= 0)
        return 0;
    __u64 *bits = bpf_map_lookup_elem(&witness_armed_cgroups, key);
    return bits ? *bits : 0;
}

SEC("tp_btf/cgroup_mkdir")
int witness_cgroup_mkdir(unsigned long long *ctx)
{
    struct cgroup *cgrp = (struct cgroup *)ctx[0];
    const char *path = (const char *)ctx[1];
    /* Only the unified (v2) hierarchy: a hybrid host's v1 hierarchies number their
     * cgroups in spaces of their own. */
    if (BPF_CORE_READ(cgrp, root, hierarchy_id) != 0)
        return 0;
    __u32 zero = 0;
    struct witness_armed_name *key = bpf_map_lookup_elem(&witness_armed_scratch, &zero);
    if (!key)
        return 0;
    __u64 bits = armed__lookup(key, BPF_CORE_READ(cgrp, kn, name));
    bits |= armed__lookup(key, path);
    if (!bits)
        return 0;

    __u64 id = BPF_CORE_READ(cgrp, kn, id);
    __u64 current = 0;
    __u64 *existing = bpf_map_lookup_elem(&witness_subject_cgroups, &id);
    if (existing)
        current = *existing;
    current |= bits;
    if (bpf_map_update_elem(&witness_subject_cgroups, &id, &current, BPF_ANY) != 0) {
        drops__count(WITNESS_DROP_SUBJECT_FULL, bits);
        return 0;
    }
    struct witness_control *ctl = control__get();
    if (ctl)
        ctl->has_cgroup_subjects = 1;

    struct witness_event_header header;
    event__fill_header(&header, WITNESS_EVENT_ACTIVATE, WITNESS_SYS_NONE, bits);
    header.cgroup_id = id;
    event__submit(&header, sizeof(header), bits);
    return 0;
}

#endif /* WITNESS_CGROUP_MKDIR_BPF_H */
