/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The syscall in progress, read from the registers it saved on entry: its number,
 * the table it was made through, and its six arguments. One place for the calling
 * conventions, so every program reads a syscall the same way at sys_exit, at
 * sched_process_fork and at sched_process_exec.
 *
 * On x86-64 a 64-bit process can still enter the kernel through the 32-bit gate
 * (int $0x80): that syscall uses the ia32 table (open is 5, not 2) and the ia32
 * argument registers. The per-syscall tracepoints skip such calls; the raw one
 * does not, and TS_COMPAT tells them apart while the syscall runs.
 */
#ifndef WITNESS_SYSCALL_ARGS_H
#define WITNESS_SYSCALL_ARGS_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "maps.h"

/* A subject's syscall at exit: what every handler needs. */
struct witness_call {
    __u64 args[6];   /* as the registers held them; ia32 values zero-extended */
    __s64 ret;
    __u64 shape;     /* this syscall's entry of witness_syscall_shapes */
    __u64 subjects;
    __u32 nr;        /* number in its table; WITNESS_SYSCALL_SLOTS - 1 for anything beyond */
    __u32 table;     /* enum witness_syscall_table */
    __u32 gate;      /* WITNESS_FLAG_COMPAT, _X32, _IO_URING or 0: copied to the record's flags */
    __u32 kernel_strings; /* path arguments point to kernel memory (io_uring's copies) */
    __u32 name_result;    /* a successful open: name the new descriptor's file */
    __u32 reserved;
};

#if defined(__TARGET_ARCH_x86)
#define WITNESS_TS_COMPAT 0x0002
#define WITNESS_X32_SYSCALL_BIT 0x40000000UL

static __always_inline void call__read_registers(struct witness_call *call, struct pt_regs *regs)
{
    unsigned long nr = regs->orig_ax;
    struct task_struct *task = bpf_get_current_task_btf();
    __u32 status = 0;
    if (bpf_core_field_exists(task->thread_info.status))
        status = task->thread_info.status;
    if (status & WITNESS_TS_COMPAT) {
        call->table = WITNESS_TABLE_COMPAT;
        call->gate = WITNESS_FLAG_COMPAT;
        call->args[0] = (__u32)regs->bx;
        call->args[1] = (__u32)regs->cx;
        call->args[2] = (__u32)regs->dx;
        call->args[3] = (__u32)regs->si;
        call->args[4] = (__u32)regs->di;
        call->args[5] = (__u32)regs->bp;
        nr = (__u32)nr;
    } else {
        call->table = WITNESS_TABLE_NATIVE;
        call->gate = 0;
        if (nr != (unsigned long)-1 && (nr & WITNESS_X32_SYSCALL_BIT)) {
            /* x32 shares the native numbers below 512 */
            call->gate = WITNESS_FLAG_X32;
            nr &= ~WITNESS_X32_SYSCALL_BIT;
        }
        call->args[0] = regs->di;
        call->args[1] = regs->si;
        call->args[2] = regs->dx;
        call->args[3] = regs->r10;
        call->args[4] = regs->r8;
        call->args[5] = regs->r9;
    }
    call->nr = nr < WITNESS_SYSCALL_SLOTS ? nr : WITNESS_SYSCALL_SLOTS - 1;
}
#elif defined(__TARGET_ARCH_arm64)
static __always_inline void call__read_registers(struct witness_call *call, struct pt_regs *regs)
{
    /* x0 holds the return value by now; the kernel keeps the first argument in orig_x0. */
    unsigned int nr = regs->syscallno;
    call->table = WITNESS_TABLE_NATIVE;
    call->gate = 0;
    call->args[0] = regs->orig_x0;
    call->args[1] = regs->regs[1];
    call->args[2] = regs->regs[2];
    call->args[3] = regs->regs[3];
    call->args[4] = regs->regs[4];
    call->args[5] = regs->regs[5];
    call->nr = nr < WITNESS_SYSCALL_SLOTS ? nr : WITNESS_SYSCALL_SLOTS - 1;
}
#endif

/* Fills `call` from `regs` and looks up how the syscall is reported. */
static __always_inline void call__read(struct witness_call *call, struct pt_regs *regs, __u64 subjects)
{
    call__read_registers(call, regs);
    call->subjects = subjects;
    call->kernel_strings = 0;
    call->name_result = 1;
    call->reserved = 0;
    __u32 key = call->table * WITNESS_SYSCALL_SLOTS + call->nr;
    __u64 *shape = bpf_map_lookup_elem(&witness_syscall_shapes, &key);
    call->shape = shape ? *shape : 0;
}

/* The syscall in progress in the current task, for programs that are not at sys_exit. */
static __always_inline void call__read_current(struct witness_call *call, __u64 subjects)
{
    struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
    call__read(call, regs, subjects);
    call->ret = 0;
}

static __always_inline __u32 shape__byte(__u64 shape, int index)
{
    return (shape >> (8 * index)) & 0xFF;
}

static __always_inline __u32 shape__handler(__u64 shape)
{
    return shape__byte(shape, 7);
}

static __always_inline __u16 shape__syscall(__u64 shape)
{
    return shape & 0xFFFF;
}

/* Argument `index`; a switch keeps every access in bounds for the verifier. */
static __always_inline __u64 call__arg(const struct witness_call *call, __u32 index)
{
    switch (index) {
    case 0: return call->args[0];
    case 1: return call->args[1];
    case 2: return call->args[2];
    case 3: return call->args[3];
    case 4: return call->args[4];
    case 5: return call->args[5];
    default: return 0;
    }
}

/* The directory descriptor a shape byte names: an argument, or AT_FDCWD. */
static __always_inline int call__dirfd(const struct witness_call *call, __u32 dir_arg)
{
    return dir_arg == WITNESS_ARG_CWD ? -100 /* AT_FDCWD */ : (int)call__arg(call, dir_arg);
}

/* Argument `index` as the number the caller passed: an ia32 int is sign-extended. */
static __always_inline __s64 call__signed_arg(const struct witness_call *call, __u32 index)
{
    __u64 value = call__arg(call, index);
    return call->table == WITNESS_TABLE_COMPAT ? (__s64)(__s32)value : (__s64)value;
}

#endif /* WITNESS_SYSCALL_ARGS_H */
