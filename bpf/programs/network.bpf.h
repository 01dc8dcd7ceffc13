/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Outbound connections: connect(2) on any socket family. The address is copied at
 * enter, as the kernel copies it, so a thread rewriting the buffer afterwards does
 * not change what is reported; the local end is read from the socket at exit.
 */
#ifndef WITNESS_NETWORK_BPF_H
#define WITNESS_NETWORK_BPF_H

#include "../include/event.h"

#define WITNESS_AF_INET 2
#define WITNESS_AF_INET6 10
#define WITNESS_EINPROGRESS 115

/* The local address and port of socket `fd` of the current task, when it is an
 * IPv4 or IPv6 socket. */
static __always_inline void network__local_end(struct witness_connect_event *event, int fd)
{
    struct sock *sk = fd__socket(fd__file(fd));
    if (!sk)
        return;
    unsigned short family = BPF_CORE_READ(sk, __sk_common.skc_family);
    if (family == WITNESS_AF_INET) {
        __u32 addr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
        __builtin_memcpy(event->local_addr, &addr, sizeof(addr));
    } else if (family == WITNESS_AF_INET6) {
        BPF_CORE_READ_INTO(&event->local_addr, sk, __sk_common.skc_v6_rcv_saddr);
    } else {
        return;
    }
    event->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
    event->protocol = BPF_CORE_READ(sk, sk_protocol);
    event->header.flags |= WITNESS_FLAG_LOCAL_ADDR;
}

SEC("tracepoint/syscalls/sys_enter_connect")
int witness_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
    __u64 subjects = subject__current();
    if (!subjects)
        return 0;
    struct witness_pending *pending = pending__begin(WITNESS_SYS_CONNECT, subjects, ctx->args[0], 0, 0, 0);
    if (!pending)
        return 0;
    __u64 len = ctx->args[2];
    if (len > WITNESS_SOCKADDR_MAX) {
        len = WITNESS_SOCKADDR_MAX;
        pending->flags |= WITNESS_FLAG_ADDR_TRUNCATED;
    }
    if (bpf_probe_read_user(pending->addr, len, (void *)ctx->args[1])) {
        pending->flags |= WITNESS_FLAG_ADDR_UNREADABLE;
        len = 0;
    }
    pending->addr_len = len;
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int witness_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    struct witness_pending *pending = bpf_map_lookup_elem(&witness_pending_syscalls, &id);
    if (!pending)
        return 0;
    struct witness_connect_event *event = scratch__get();
    if (event) {
        event__fill_header(&event->header, WITNESS_EVENT_CONNECT, WITNESS_SYS_CONNECT, pending->subjects);
        event->header.result = ctx->ret;
        event->header.flags |= pending->flags;
        event->fd = (__s32)pending->args[0];
        event->addr_len = pending->addr_len;
        event->local_port = 0;
        event->protocol = 0;
        event->reserved2 = 0;
        __builtin_memset(event->local_addr, 0, sizeof(event->local_addr));
        __builtin_memcpy(event->addr, pending->addr, sizeof(event->addr));
        if (ctx->ret == 0 || ctx->ret == -WITNESS_EINPROGRESS)
            network__local_end(event, event->fd);
        event__submit(event, sizeof(*event), pending->subjects);
    }
    bpf_map_delete_elem(&witness_pending_syscalls, &id);
    return 0;
}

#endif /* WITNESS_NETWORK_BPF_H */
