/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The Witness kernel object: one compilation unit, so every program shares the
 * maps of include/maps.h. See README.md beside this file for the layers.
 *
 * Attached programs (programs/), each linked by the agent (WitnessProbe):
 *   witness_sys_exit           tp_btf/sys_exit              every syscall of a subject, dispatched to handlers/
 *   witness_process_exec       tp_btf/sched_process_exec    a successful exec
 *   witness_process_fork       tp_btf/sched_process_fork    fork and clone: process trees, new namespaces
 *   witness_process_exit       tp_btf/sched_process_exit    exit
 *   witness_io_uring_submit    tp_btf/io_uring_submit_req   operations submitted to a ring
 *   witness_io_uring_complete  tp_btf/io_uring_complete     an open through a ring, named by its file
 *   witness_cgroup_mkdir       tp_btf/cgroup_mkdir          an armed window's cgroup made a subject as it is created
 *   witness_cgroup_attach      tp_btf/cgroup_attach_task    a process moved into a subject from outside
 */
#include "include/kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "programs/sys_exit.bpf.h"
#include "programs/cgroup_attach.bpf.h"
#include "programs/sched_process.bpf.h"
#include "programs/io_uring.bpf.h"
#include "programs/cgroup_mkdir.bpf.h"

/* GPL-compatible: bpf_probe_read_* and the ring buffer helpers require it. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";
