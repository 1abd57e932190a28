/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What we read from a struct sock, and the per-socket state kept for it. */
#ifndef ZT_SOCK_BPF_H
#define ZT_SOCK_BPF_H

#include "maps.bpf.h"
#include <bpf/bpf_core_read.h>

#define ZT_AF_INET 2
#define ZT_AF_INET6 10
#define ZT_IPPROTO_TCP 6

static __always_inline bool zt_sock_is_tcp(const struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	if (family != ZT_AF_INET && family != ZT_AF_INET6)
		return false;
	return BPF_CORE_READ(sk, sk_protocol) == ZT_IPPROTO_TCP;
}

/* The cgroup2 id the socket was created in (accepted sockets inherit the
 * listener's). */
static __always_inline __u64 zt_sock_cgroup_id(const struct sock *sk)
{
	return BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
}

static __always_inline void zt_sock_tuple(const struct sock *sk, struct zt_conn_event *e)
{
	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->dport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	e->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	/* Sized reads: BPF_CORE_READ_INTO on a byte array would copy one byte. */
	if (e->family == ZT_AF_INET) {
		bpf_core_read(e->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(e->daddr, 4, &sk->__sk_common.skc_daddr);
	} else {
		bpf_core_read(e->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(e->daddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
}

/*
 * Tell userspace about a socket, once. Until the record is in the ring the
 * state stays unannounced (conn_id 0) and the next event tries again, so a
 * full ring delays a connection's tuple but never loses it for good.
 */
static __always_inline bool zt_sock_announce(struct sock *sk, struct zt_sock *st, __u64 ts,
					     __u64 cgid, __u8 origin)
{
	struct zt_conn_event *e;

	if (st->conn_id)
		return true;
	e = bpf_ringbuf_reserve(&zt_events, sizeof(*e), 0);
	if (!e) {
		zt_count(ZT_CNT_RB_FULL_CONN);
		return false;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->hdr.type = ZT_EV_CONN;
	e->hdr.ts_ns = ts;
	e->hdr.conn_id = bpf_get_socket_cookie(sk);
	e->cgroup_id = cgid;
	e->role = st->role;
	e->origin = origin;
	zt_sock_tuple(sk, e);
	st->conn_id = e->hdr.conn_id;
	st->cgroup_id = cgid;
	bpf_ringbuf_submit(e, zt_rb_flags());
	zt_count(ZT_CNT_EV_CONN);
	return true;
}

#endif
