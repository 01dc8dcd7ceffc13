/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Building and sending records: a record is assembled in a per-CPU scratch buffer
 * (strings make it variable in size) and copied into the ring buffer in one go.
 */
#ifndef WITNESS_EVENT_BUILDER_H
#define WITNESS_EVENT_BUILDER_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "subject.h"
#include "path.h"
#include "syscall_args.h"

static __always_inline void *scratch__get(void)
{
    __u32 zero = 0;
    return bpf_map_lookup_elem(&witness_scratch_map, &zero);
}

static __always_inline void event__fill_header(struct witness_event_header *header, __u16 kind,
                                               __u16 syscall, __u64 subjects)
{
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    __u64 uid_gid = bpf_get_current_uid_gid();
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();

    header->kind = kind;
    header->syscall = syscall;
    header->size = 0;
    header->timestamp_ns = bpf_ktime_get_boot_ns();
    header->subjects = subjects;
    header->cgroup_id = bpf_get_current_cgroup_id();
    header->result = 0;
    header->pid = pid_tgid >> 32;
    header->tid = (__u32)pid_tgid;
    header->ppid = BPF_CORE_READ(task, real_parent, tgid);
    header->uid = (__u32)uid_gid;
    header->gid = uid_gid >> 32;
    header->flags = 0;
    bpf_get_current_comm(header->comm, sizeof(header->comm));
}

/* The header of a record reporting the syscall (or io_uring operation) in `call`. */
static __always_inline void event__fill_call_header(struct witness_event_header *header, __u16 kind, __u16 syscall,
                                                    const struct witness_call *call)
{
    event__fill_header(header, kind, syscall, call->subjects);
    header->result = call->ret;
    header->flags |= call->gate;
}

/*
 * Copy a finished record into the ring buffer and wake the consumer when it needs it.
 *
 * A lazy consumer drains on its own short timer, so records go without a wake-up
 * until the watermark: wake-ups are batched, and the workload's CPU is not spent
 * waking the agent once per event. A consumer about to sleep indefinitely says so
 * (ASLEEP) and then drains once more; after our commit a full barrier orders the
 * read of that state, so either its last drain saw this record or we see it asleep
 * and send a wake record. Nothing is left behind unseen.
 */
static __always_inline void event__submit(void *record, __u64 size, __u64 subjects)
{
    struct witness_control *ctl = control__get();
    barrier_var(size);
    if (!ctl || size > WITNESS_EVENT_MAX)
        return;
    ((struct witness_event_header *)record)->size = size;

    __u64 wake = BPF_RB_NO_WAKEUP;
    if (bpf_ringbuf_query(&witness_events, BPF_RB_AVAIL_DATA) + size >= ctl->wake_watermark)
        wake = BPF_RB_FORCE_WAKEUP;
    if (bpf_ringbuf_output(&witness_events, record, size, wake)) {
        drops__count(WITNESS_DROP_RINGBUF_FULL, subjects);
        return;
    }

    __u32 zero = 0;
    __u64 *emitted = bpf_map_lookup_elem(&witness_emitted, &zero);
    if (emitted)
        __sync_fetch_and_add(emitted, 1); /* locked: the full barrier described above */
    if (*(volatile __u32 *)&ctl->consumer_state == WITNESS_CONSUMER_ASLEEP) {
        struct witness_wake_record wake_record = { .kind = WITNESS_EVENT_WAKE, .size = sizeof(wake_record) };
        bpf_ringbuf_output(&witness_events, &wake_record, sizeof(wake_record), BPF_RB_FORCE_WAKEUP);
    }
}

/* Read a NUL-terminated string of at most WITNESS_PATH_MAX bytes from user memory, or
 * from kernel memory when `in_kernel`; returns its length, flagging truncation or an
 * unreadable address on the record. */
static __always_inline __u32 event__read_path(struct witness_event_header *header, char *dst, const void *src,
                                              int in_kernel)
{
    long n = in_kernel ? bpf_probe_read_kernel_str(dst, WITNESS_PATH_MAX + 1, src)
                       : bpf_probe_read_user_str(dst, WITNESS_PATH_MAX + 1, src);
    if (n <= 0) {
        header->flags |= WITNESS_FLAG_PATH_UNREADABLE;
        return 0;
    }
    if (n > WITNESS_PATH_MAX) {
        header->flags |= WITNESS_FLAG_PATH_TRUNCATED;
        return WITNESS_PATH_MAX;
    }
    return n - 1;
}

static __always_inline __u32 event__read_user_path(struct witness_event_header *header, char *dst,
                                                   const void *src)
{
    return event__read_path(header, dst, src, 0);
}

#endif /* WITNESS_EVENT_BUILDER_H */
