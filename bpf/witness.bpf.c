/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The Witness kernel object: one compilation unit, so every program shares the
 * maps of include/maps.h. Programs by hook family live in programs/; the sys_exit
 * program (programs/syscall.bpf.h) includes the handlers it dispatches to, and the
 * io_uring program reuses them.
 */
#include "include/kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "programs/syscall.bpf.h"
#include "programs/io_uring.bpf.h"

/* GPL-compatible: bpf_probe_read_* and the ring buffer helpers require it. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";
