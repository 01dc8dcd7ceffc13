/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Outbound connections, however they are asked for: connect(2) on any socket
 * family, a TCP fast open (sendto/sendmsg with MSG_FASTOPEN connects without
 * connect), and ia32 socketcall(2). Each becomes a connect record, so the rules
 * see one kind of event; a listen becomes one too, with only its local end. Called by the sys_exit program: the address is read from
 * the caller's memory then, the local end from the socket.
 */
#ifndef WITNESS_NETWORK_BPF_H
#define WITNESS_NETWORK_BPF_H

#include "../include/event.h"

#define WITNESS_AF_UNIX 1
#define WITNESS_AF_INET 2
#define WITNESS_AF_INET6 10
#define WITNESS_EINPROGRESS 115
#define WITNESS_MSG_FASTOPEN 0x20000000
#define WITNESS_SOCK_DGRAM 2
#define WITNESS_SOCK_RAW 3
#define WITNESS_SYS_SOCKETCALL_CONNECT 3
#define WITNESS_SYS_SOCKETCALL_LISTEN 4
#define WITNESS_SYS_SOCKETCALL_SENDTO 11
#define WITNESS_SYS_SOCKETCALL_SENDMSG 16
#define WITNESS_SYS_SOCKETCALL_SENDMMSG 20

/* A connect record of `syscall` on descriptor `fd`, its addresses still empty. */
static __always_inline struct witness_connect_event *network__new_record(struct witness_call *call, __u16 syscall, int fd)
{
    struct witness_connect_event *event = scratch__get();
    if (!event)
        return 0;
    event__fill_call_header(&event->header, WITNESS_EVENT_CONNECT, syscall, call);
    event->fd = fd;
    event->addr_len = 0;
    event->local_port = 0;
    event->protocol = 0;
    event->local_family = 0;
    event->reserved2 = 0;
    __builtin_memset(event->local_addr, 0, sizeof(event->local_addr));
    __builtin_memset(event->addr, 0, sizeof(event->addr));
    return event;
}

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
    event->local_family = family;
    event->protocol = BPF_CORE_READ(sk, sk_protocol);
    event->header.flags |= WITNESS_FLAG_LOCAL_ADDR;
}

/* The name unix socket `sk` was bound to (a path, or an abstract name: a NUL,
 * then bytes), as a sockaddr_un in `addr`. */
static __always_inline void network__unix_bound_name(struct witness_connect_event *event, struct sock *sk)
{
    struct unix_address *address = BPF_CORE_READ((struct unix_sock *)sk, addr);
    if (!address)
        return;
    int len = BPF_CORE_READ(address, len);
    if (len <= 0)
        return;
    if (len > WITNESS_SOCKADDR_MAX - 1) { /* a sockaddr_un is at most 110 bytes */
        len = WITNESS_SOCKADDR_MAX - 1;
        event->header.flags |= WITNESS_FLAG_ADDR_TRUNCATED;
    }
    void *name = (void *)address + bpf_core_field_offset(struct unix_address, len) + sizeof(int);
    if (bpf_probe_read_kernel(event->addr, len & (WITNESS_SOCKADDR_MAX - 1), name) == 0)
        event->addr_len = len;
}

/* A unix socket's own bound name: where a listener listens. */
static __always_inline void network__unix_name(struct witness_connect_event *event, int fd)
{
    struct sock *sk = fd__socket(fd__file(fd));
    if (!sk || BPF_CORE_READ(sk, __sk_common.skc_family) != WITNESS_AF_UNIX)
        return;
    network__unix_bound_name(event, sk);
}

/* The remote end as the kernel's socket holds it, over what the caller's memory
 * said: once the kernel has copied an address, a sibling thread can rewrite the
 * caller's buffer before sys_exit reads it. IPv4, IPv6 and connected unix sockets. */
static __always_inline void network__remote_end(struct witness_connect_event *event, int fd)
{
    struct sock *sk = fd__socket(fd__file(fd));
    if (!sk)
        return;
    unsigned short family = BPF_CORE_READ(sk, __sk_common.skc_family);
    __u16 port = BPF_CORE_READ(sk, __sk_common.skc_dport);
    if (family == WITNESS_AF_INET) {
        __u32 addr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
        if (!addr && !port)
            return;
        __builtin_memset(event->addr, 0, 16);
        *(__u16 *)&event->addr[0] = WITNESS_AF_INET;
        __builtin_memcpy(&event->addr[2], &port, 2);
        __builtin_memcpy(&event->addr[4], &addr, 4);
        event->addr_len = 16;
    } else if (family == WITNESS_AF_INET6) {
        __u64 daddr[2] = {};
        bpf_core_read(daddr, 16, &sk->__sk_common.skc_v6_daddr); /* 16 bytes, not sizeof(__u8) */
        if (!daddr[0] && !daddr[1] && !port) /* not connected: the caller's address is all there is */
            return;
        __builtin_memset(event->addr, 0, 28);
        *(__u16 *)&event->addr[0] = WITNESS_AF_INET6;
        __builtin_memcpy(&event->addr[2], &port, 2);
        __builtin_memcpy(&event->addr[8], daddr, 16);
        event->addr_len = 28;
    } else if (family == WITNESS_AF_UNIX) {
        /* The listener's own name, whatever path reached it: a symlink to the socket,
         * a hard link, a bind mount, /var/run for /run. A stream peer is the
         * server's embryo socket, which shares the listener's address. */
        struct sock *peer = BPF_CORE_READ((struct unix_sock *)sk, peer);
        if (!peer || !BPF_CORE_READ((struct unix_sock *)peer, addr))
            return;
        __builtin_memset(event->addr, 0, sizeof(event->addr));
        event->addr_len = 0;
        event->header.flags &= ~(WITNESS_FLAG_ADDR_TRUNCATED | WITNESS_FLAG_ADDR_UNREADABLE);
        network__unix_bound_name(event, peer);
        return;
    } else {
        return;
    }
    event->header.flags &= ~(WITNESS_FLAG_ADDR_TRUNCATED | WITNESS_FLAG_ADDR_UNREADABLE);
}

/* One connect record: descriptor `fd` asked to reach the sockaddr at `addr`. */
static __always_inline void network__connect(struct witness_call *call, int fd, __u64 addr, __u64 len, __u32 how)
{
    struct witness_connect_event *event = network__new_record(call, WITNESS_SYS_CONNECT, fd);
    if (!event)
        return;
    event->header.flags |= how;
    if (len > WITNESS_SOCKADDR_MAX) {
        len = WITNESS_SOCKADDR_MAX;
        event->header.flags |= WITNESS_FLAG_ADDR_TRUNCATED;
    }
    if (bpf_probe_read_user(event->addr, len, (void *)addr)) {
        event->header.flags |= WITNESS_FLAG_ADDR_UNREADABLE;
        len = 0;
    }
    event->addr_len = len;
    /* A fast open that sent data returns the bytes sent, not 0. */
    if (call->ret >= 0 || call->ret == -WITNESS_EINPROGRESS) {
        network__local_end(event, fd);
        /* io_uring: submitted, not yet connected. A datagram sent with an address
         * goes there, whatever the socket is connected to: its address stays. */
        if (!call->kernel_strings && !((how & WITNESS_FLAG_DATAGRAM) && len > 0))
            network__remote_end(event, fd);
    } else {
        /* A refused attempt still names its transport: tcp to a closed port is tcp. */
        struct sock *sk = fd__socket(fd__file(fd));
        if (sk)
            event->protocol = BPF_CORE_READ(sk, sk_protocol);
    }
    event__submit(event, sizeof(*event), call->subjects);
}

__noinline int network__connect_call(struct witness_call *call)
{
    if (!call)
        return 0;
    network__connect(call, (int)call->args[0], call->args[1], (__u32)call->args[2], 0);
    return 0;
}

/* A socket put to listening: a connect record without a remote end, the local
 * address and port from the socket. Only a listen that succeeded is a listener. */
static __always_inline void network__listen_on(struct witness_call *call, int fd)
{
    if (call->ret != 0)
        return;
    struct witness_connect_event *event = network__new_record(call, WITNESS_SYS_LISTEN, fd);
    if (!event)
        return;
    network__local_end(event, fd);
    network__unix_name(event, fd);
    event__submit(event, sizeof(*event), call->subjects);
}

__noinline int network__listen(struct witness_call *call)
{
    if (!call)
        return 0;
    network__listen_on(call, (int)call->args[0]);
    return 0;
}

/* The destination named in a user msghdr (the first of sendmmsg's vector starts
 * with one too): msg_name and msg_namelen, in the layout of the caller's table. */
static __always_inline void network__msghdr_name(void *msg, int compat, __u64 *addr, __u64 *len)
{
    if (compat) {
        __u32 name = 0, namelen = 0; /* struct compat_msghdr: msg_name, msg_namelen */
        bpf_probe_read_user(&name, sizeof(name), msg);
        bpf_probe_read_user(&namelen, sizeof(namelen), msg + 4);
        *addr = name;
        *len = namelen;
    } else {
        __u32 namelen = 0;
        bpf_probe_read_user(addr, sizeof(*addr), msg);
        bpf_probe_read_user(&namelen, sizeof(namelen), msg + 8);
        *len = namelen;
    }
}

/* A send with a destination address: with MSG_FASTOPEN a TCP connection opened
 * without connect(2); on a datagram socket the first datagram to that address
 * (later ones to it from the same socket are not reported again). */
static __always_inline void network__send_to(struct witness_call *call, int fd, __u64 addr, __u64 len, __u64 flags,
                                             __u32 how)
{
    if (!addr)
        return; /* a connected socket's send: its connect was the event */
    if (flags & WITNESS_MSG_FASTOPEN) {
        network__connect(call, fd, addr, len, how | WITNESS_FLAG_FASTOPEN);
        return;
    }
    struct file *file = fd__file(fd);
    struct sock *sk = fd__socket(file);
    /* Datagrams, and raw sockets' packets (ICMP, hand-made IP: CAP_NET_RAW, which
     * container runtimes grant by default). */
    __u16 type = sk ? BPF_CORE_READ(sk, sk_type) : 0;
    if (type != WITNESS_SOCK_DGRAM && type != WITNESS_SOCK_RAW)
        return;
    struct witness_datagram_peer peer = {};
    peer.socket = BPF_CORE_READ(file, f_inode, i_ino);
    peer.subjects = call->subjects;
    __u32 kept = len > WITNESS_PEER_ADDR ? WITNESS_PEER_ADDR : (__u32)len;
    if (kept == 0 || bpf_probe_read_user(peer.address, kept, (void *)addr))
        return;
    /* The same destination is the same key whatever the caller left in the padding:
     * sockaddr_in's sin_zero, sockaddr_in6's flow info and scope id. */
    __u16 family = *(__u16 *)peer.address;
    if (family == WITNESS_AF_INET) {
        __builtin_memset(&peer.address[8], 0, WITNESS_PEER_ADDR - 8);
    } else if (family == WITNESS_AF_INET6) {
        __builtin_memset(&peer.address[4], 0, 4);
        __builtin_memset(&peer.address[24], 0, WITNESS_PEER_ADDR - 24);
    }
    __u8 seen = 1;
    if (bpf_map_update_elem(&witness_datagram_peers, &peer, &seen, BPF_NOEXIST) != 0)
        return; /* reported already (or the map refused: then as if reported) */
    network__connect(call, fd, addr, len, how | WITNESS_FLAG_DATAGRAM);
}

/* sendto(fd, buf, len, flags, addr, addrlen), sendmsg(fd, msg, flags) or
 * sendmmsg(fd, vec, vlen, flags) with an address. */
__noinline int network__fastopen(struct witness_call *call)
{
    if (!call)
        return 0;
    __u64 shape = call->shape;
    __u64 addr = 0, len = 0;
    if (shape__byte(shape, 2) == WITNESS_ARG_MSGHDR) {
        network__msghdr_name((void *)call->args[1], call->table == WITNESS_TABLE_COMPAT, &addr, &len);
    } else {
        addr = call__arg(call, shape__byte(shape, 2));
        len = (__u32)call__arg(call, shape__byte(shape, 4));
    }
    network__send_to(call, (int)call->args[0], addr, len, call__arg(call, shape__byte(shape, 3)), 0);
    return 0;
}

/* ia32 socketcall(call, args): the arguments are an array of 32-bit words. A fast
 * open may come as SENDTO, SENDMSG or SENDMMSG. */
__noinline int network__socketcall(struct witness_call *call)
{
    if (!call)
        return 0;
    __u32 words[6] = {};
    if (bpf_probe_read_user(words, sizeof(words), (void *)call->args[1]))
        return 0;
    __u64 op = call->args[0], addr = 0, len = 0;
    if (op == WITNESS_SYS_SOCKETCALL_LISTEN) {
        network__listen_on(call, (int)words[0]);
        return 0;
    }
    if (op == WITNESS_SYS_SOCKETCALL_CONNECT) {
        network__connect(call, (int)words[0], words[1], words[2], WITNESS_FLAG_SOCKETCALL);
        return 0;
    }
    __u64 flags = 0;
    if (op == WITNESS_SYS_SOCKETCALL_SENDTO) {
        addr = words[4];
        len = words[5];
        flags = words[3];
    } else if (op == WITNESS_SYS_SOCKETCALL_SENDMSG || op == WITNESS_SYS_SOCKETCALL_SENDMMSG) {
        network__msghdr_name((void *)(__u64)words[1], 1, &addr, &len);
        flags = op == WITNESS_SYS_SOCKETCALL_SENDMSG ? words[2] : words[3];
    }
    network__send_to(call, (int)words[0], addr, len, flags, WITNESS_FLAG_SOCKETCALL);
    return 0;
}

#endif /* WITNESS_NETWORK_BPF_H */
