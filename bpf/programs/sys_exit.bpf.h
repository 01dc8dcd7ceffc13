/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every syscall of every process passes one program: the raw sys_exit tracepoint
 * (tp_btf), linked only while someone is witnessed. It asks first, and only, whether
 * the task is a subject; for a subject it counts the syscall in the profile and, when
 * the agent's shapes map says the syscall is reported, dispatches to its handler.
 *
 * Exit only, one hook: a syscall costs a non-subject one subject check, not two, and
 * nothing needs carrying from enter to exit (no in-flight table to fill up). The
 * arguments are in the registers saved at entry; the result is known. A syscall the
 * kernel refused (ENOSYS, EPERM, a seccomp errno) still exits here: attempts are
 * events. The price, shared with Falco's modern probe: strings are read from the
 * caller's memory at exit, not at entry.
 *
 * Handlers are global functions (handlers/), verified once, not per caller.
 */
#ifndef WITNESS_SYS_EXIT_BPF_H
#define WITNESS_SYS_EXIT_BPF_H

#include "../handlers/file.bpf.h"
#include "../handlers/network.bpf.h"
#include "../handlers/process.bpf.h"
#include "../handlers/syscall.bpf.h"

#if defined(__TARGET_ARCH_x86)
#define WITNESS_IA32_OLD_MMAP 90 /* mmap(struct mmap_arg_struct *): its arguments in memory */
#endif

SEC("tp_btf/sys_exit")
int witness_sys_exit(unsigned long long *ctx)
{
    __u64 subjects = subject__current();
    if (!subjects)
        return 0;
    struct witness_call call;
    call__read(&call, (struct pt_regs *)ctx[0], subjects);
    call.ret = (long)ctx[1];
    profile__count(subjects, call.table, call.nr);

    switch (shape__handler(call.shape)) {
    case WITNESS_HANDLER_GENERIC:
        syscall__generic(&call);
        break;
    case WITNESS_HANDLER_OPEN:
        file__open(&call);
        break;
    case WITNESS_HANDLER_CONNECT:
        network__connect_call(&call);
        break;
    case WITNESS_HANDLER_EXEC:
        process__exec_failed(&call);
        break;
    case WITNESS_HANDLER_CLONE:
        process__clone_failed(&call);
        break;
    case WITNESS_HANDLER_FASTOPEN:
        network__fastopen(&call);
        break;
    case WITNESS_HANDLER_SOCKETCALL:
        network__socketcall(&call);
        break;
    case WITNESS_HANDLER_MMAP:
#if defined(__TARGET_ARCH_x86)
        if (call.table == WITNESS_TABLE_COMPAT && call.nr == WITNESS_IA32_OLD_MMAP) {
            __u32 words[6] = {};
            bpf_probe_read_user(words, sizeof(words), (void *)call.args[0]);
            for (int i = 0; i < 6; i++)
                call.args[i] = words[i];
        }
#endif
        /* Only code: an executable mapping of a file (a library, ld.so's target). */
        if ((call.args[2] & WITNESS_PROT_EXEC) && !(call.args[3] & WITNESS_MAP_ANONYMOUS) && (int)call.args[4] >= 0)
            syscall__generic(&call);
        break;
    case WITNESS_HANDLER_MPROTECT:
        syscall__mprotect(&call);
        break;
    case WITNESS_HANDLER_LISTEN:
        network__listen(&call);
        break;
    default:
        break;
    }
    return 0;
}

#endif /* WITNESS_SYS_EXIT_BPF_H */
