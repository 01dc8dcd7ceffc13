/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Every map of the Witness programs, in one place. */
#ifndef WITNESS_MAPS_H
#define WITNESS_MAPS_H

#include "../witness_event.h"

/* Records to the agent. Sized by the agent before load (--ring-buffer). */
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 8 * 1024 * 1024);
} witness_events SEC(".maps");

/* Agent-written settings read by every program; mmapped by the agent. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct witness_control);
} witness_control_map SEC(".maps");

/* Subject cgroups: cgroup v2 id -> subject bits. Descendants match through the verdict cache. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u64);
    __type(value, __u64);
} witness_subject_cgroups SEC(".maps");

/* Armed windows: the name or path of a cgroup not created yet -> subject bits. The
 * cgroup_mkdir program makes the cgroup a subject the moment it is created. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 512);
    __type(key, struct witness_armed_name);
    __type(value, __u64);
} witness_armed_cgroups SEC(".maps");

/* Where the cgroup_mkdir program builds a key (too large for the stack twice). */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct witness_armed_name);
} witness_armed_scratch SEC(".maps");

/* Per cgroup seen: which subjects it belongs to, valid for one generation of the subject set. */
struct witness_cgroup_verdict {
    __u64 generation;
    __u64 subjects;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, struct witness_cgroup_verdict);
} witness_cgroup_verdicts SEC(".maps");

/* Datagram sockets and the destinations a subject already sent to: a sendto with an
 * address is a connection attempt the first time a socket sends to that address,
 * reported once, not per datagram. LRU: a flood of destinations forgets the oldest
 * (which are then reported again, never missed). */
struct witness_datagram_peer {
    __u64 socket;                      /* the socket's inode number: unique while it lives, never an address reused */
    __u64 subjects;                    /* the windows that saw it: a new window reports its first send again */
    __u8 address[WITNESS_PEER_ADDR];   /* family, port and address as sent; padding and flow info zeroed */
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, struct witness_datagram_peer);
    __type(value, __u8);
} witness_datagram_peers SEC(".maps");

/* Per task: its verdict, valid while its cgroup and the generation are the same.
 * Task-local, so the check every syscall of every task makes touches only the
 * task's own memory: no hash of a shared table, no cache line written by all CPUs. */
struct witness_task_verdict {
    __u64 generation;
    __u64 cgroup_id;
    __u64 subjects;
};

struct {
    __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, struct witness_task_verdict);
} witness_task_verdicts SEC(".maps");

/* PID-tree subjects: tgid -> subject bits. Children are added at fork, removed at exit. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536);
    __type(key, __u32);
    __type(value, __u64);
} witness_subject_pids SEC(".maps");

/* How each syscall is reported (layout in witness_event.h), filled by the agent
 * before the programs are linked: table * WITNESS_SYSCALL_SLOTS + number -> shape. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, WITNESS_SYSCALL_TABLES * WITNESS_SYSCALL_SLOTS);
    __type(key, __u32);
    __type(value, __u64);
} witness_syscall_shapes SEC(".maps");

/* io_uring operations reported as their syscall twin: opcode -> the twin's shape. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, WITNESS_IO_URING_OPS);
    __type(key, __u32);
    __type(value, __u64);
} witness_io_uring_ops SEC(".maps");

/* The subjects' syscall profile: every syscall a subject made, reported or not,
 * counted by (slot, table, number). Mmapped by the agent, which reads a slot at
 * window close and zeroes it before the slot is used again. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, WITNESS_PROFILE_ENTRIES);
    __type(key, __u32);
    __type(value, __u64);
} witness_syscall_counts SEC(".maps");

/* Where a record is built before it is copied into the ring buffer. */
struct witness_scratch {
    __u8 bytes[WITNESS_EVENT_MAX];
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct witness_scratch);
} witness_scratch_map SEC(".maps");

/* Where a directory path is assembled, last component first (see path.h). */
struct witness_path_scratch {
    char bytes[2 * WITNESS_PATH_MAX];
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct witness_path_scratch);
} witness_path_scratch_map SEC(".maps");

/* Records written, per CPU. Its locked increment also orders each commit before the
 * read of the consumer's state (see event__submit). */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} witness_emitted SEC(".maps");

/* Losses, per CPU: by reason (witness_drop_reason) ... */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, WITNESS_DROP_REASONS);
    __type(key, __u32);
    __type(value, __u64);
} witness_drops SEC(".maps");

/* ... and by subject slot, so a window knows whether it lost anything of its own. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, WITNESS_MAX_SUBJECTS);
    __type(key, __u32);
    __type(value, __u64);
} witness_subject_drops SEC(".maps");

#endif /* WITNESS_MAPS_H */
