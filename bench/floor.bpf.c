/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The floor of the mechanism Witness uses: an empty program on the raw sys_exit
 * tracepoint. Whatever a linked tp_btf program costs every syscall, this costs too;
 * bench/run reports Witness's overhead beside it.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tp_btf/sys_exit")
int floor_sys_exit(unsigned long long *ctx)
{
    return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
