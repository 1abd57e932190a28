/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What we read from a struct sock, and the per-socket state kept for it. */
#ifndef ZT_SOCK_BPF_H
#define ZT_SOCK_BPF_H

#include "maps.bpf.h"
#include <bpf/bpf_core_read.h>

#define ZT_AF_INET 2
#define ZT_AF_INET6 10
#define ZT_IPPROTO_TCP 6
#define ZT_IPPROTO_UDP 17

/* IPPROTO_TCP or IPPROTO_UDP for the IPv4/IPv6 sockets we trace, else 0. */
static __always_inline __u8 zt_sock_ipproto_btf(const struct sock *sk, bool btf)
{
	__u16 family = ZT_BTF_READ(btf, sk, __sk_common.skc_family);
	__u16 proto;

	if (family != ZT_AF_INET && family != ZT_AF_INET6)
		return 0;
	proto = ZT_BTF_READ(btf, sk, sk_protocol);
	return proto == ZT_IPPROTO_TCP || proto == ZT_IPPROTO_UDP ? proto : 0;
}

static __always_inline __u8 zt_sock_ipproto(const struct sock *sk)
{
	return zt_sock_ipproto_btf(sk, false);
}

static __always_inline bool zt_sock_is_tcp(const struct sock *sk)
{
	return zt_sock_ipproto(sk) == ZT_IPPROTO_TCP;
}

/* A UDP datagram's destination, from the sender's own sockaddr. */
struct zt_peer {
	__u8 addr[16];
	__u16 port; /* host order */
	__u16 family;
} __attribute__((aligned(8))); /* compared as two u64 */

/* Reads a user sockaddr (sendto's, msg_name); false when there is none. */
static __always_inline bool zt_peer_read(__u64 uaddr, struct zt_peer *p)
{
	struct {
		__u16 family;
		__u16 port;
		__u8 v4[4];
	} h;

	if (!uaddr || bpf_probe_read_user(&h, sizeof(h), (void *)uaddr))
		return false;
	p->family = h.family;
	p->port = __builtin_bswap16(h.port);
	if (h.family == ZT_AF_INET) {
		__builtin_memset(p->addr, 0, sizeof(p->addr));
		__builtin_memcpy(p->addr, h.v4, 4);
		return true;
	}
	/* sockaddr_in6: flowinfo, then the address. */
	return h.family == ZT_AF_INET6 && !bpf_probe_read_user(p->addr, 16, (void *)(uaddr + 8));
}

/* The cgroup2 id the socket was created in (accepted sockets inherit the
 * listener's). */
static __always_inline __u64 zt_sock_cgroup_id(const struct sock *sk)
{
	return BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
}

static __always_inline void zt_sock_tuple(const struct sock *sk, struct zt_conn_event *e,
					  const struct zt_peer *peer)
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
	if (peer) {
		/* An AF_INET6 socket may send to an AF_INET address: the
		 * local address is then left out rather than mixed. */
		if (peer->family != e->family)
			__builtin_memset(e->saddr, 0, sizeof(e->saddr));
		e->family = peer->family;
		e->dport = peer->port;
		__builtin_memcpy(e->daddr, peer->addr, 16);
	}
}

/*
 * Where per-socket state lives. Socket storage (freed with the socket) and
 * socket cookies are not available to kprobe programs: with kprobe hooks
 * (zt_sock_in_hash, set at load) the state lives in a hash keyed by the
 * socket's address, dropped at TCP_CLOSE, and connection ids are made here.
 * The flag is a load-time constant: the verifier never walks the branch a
 * program type may not take.
 */
const volatile bool zt_sock_in_hash __weak = false;

/*
 * key: struct sock address (u64); value: struct zt_sock. Bound: 65536, LRU
 * (a socket freed without passing TCP_CLOSE, say one that never connected,
 * ages out); reset at each handshake, so a reused address starts afresh.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct zt_sock);
} zt_socks_hash SEC(".maps") __weak;

static __always_inline struct zt_sock *zt_sock_state(struct sock *sk, bool create)
{
	if (zt_sock_in_hash) {
		__u64 key = (__u64)sk;
		struct zt_sock *st = bpf_map_lookup_elem(&zt_socks_hash, &key);
		struct zt_sock fresh = {};

		if (st || !create)
			return st;
		bpf_map_update_elem(&zt_socks_hash, &key, &fresh, BPF_NOEXIST);
		return bpf_map_lookup_elem(&zt_socks_hash, &key);
	}
	return bpf_sk_storage_get(&zt_socks, sk, NULL, create ? BPF_SK_STORAGE_GET_F_CREATE : 0);
}

/* A handshake: whatever an earlier socket at this address left is gone. */
static __always_inline struct zt_sock *zt_sock_state_fresh(struct sock *sk)
{
	if (zt_sock_in_hash) {
		__u64 key = (__u64)sk;
		struct zt_sock fresh = {};

		bpf_map_update_elem(&zt_socks_hash, &key, &fresh, BPF_ANY);
	}
	return zt_sock_state(sk, true);
}

static __always_inline void zt_sock_state_drop(struct sock *sk)
{
	__u64 key = (__u64)sk;

	if (zt_sock_in_hash)
		bpf_map_delete_elem(&zt_socks_hash, &key);
}

/* Unique for the boot: the socket cookie, or (kprobe hooks) a timestamp
 * with the CPU in its low bits. */
static __always_inline __u64 zt_sock_id(struct sock *sk)
{
	if (zt_sock_in_hash)
		return (bpf_ktime_get_ns() << 8) | (bpf_get_smp_processor_id() & 0xff) | 1;
	return bpf_get_socket_cookie(sk);
}

/* A conn record for the socket: its first, or (UDP, `peer` not NULL) one
 * carrying a new destination under the same id. */
static __always_inline bool zt_sock_emit_conn(struct sock *sk, struct zt_sock *st, __u64 ts,
					      __u64 cgid, __u8 origin, __u8 ipproto,
					      const struct zt_peer *peer)
{
	struct zt_conn_event *e;

	e = bpf_ringbuf_reserve(&zt_events, sizeof(*e), 0);
	if (!e) {
		zt_count(ZT_CNT_RB_FULL_CONN);
		return false;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->hdr.type = ZT_EV_CONN;
	e->hdr.ts_ns = ts;
	e->hdr.conn_id = st->conn_id ? st->conn_id : zt_sock_id(sk);
	e->cgroup_id = cgid;
	e->role = st->role;
	e->origin = origin;
	e->ipproto = ipproto;
	/* Set by the handshake (conn.bpf.c): the connect phase. */
	e->connect_ns = st->role == ZT_ROLE_CLIENT ? st->syn_ns : 0;
	zt_sock_tuple(sk, e, peer);
	st->conn_id = e->hdr.conn_id;
	st->cgroup_id = cgid;
	if (peer) {
		__builtin_memcpy(st->peer, peer->addr, 16);
		st->peer_port = peer->port;
		st->peer_family = peer->family;
	}
	bpf_ringbuf_submit(e, zt_rb_flags());
	zt_count(ZT_CNT_EV_CONN);
	return true;
}

/*
 * Tell userspace about a socket, once. Until the record is in the ring the
 * state stays unannounced (conn_id 0) and the next event tries again, so a
 * full ring delays a connection's tuple but never loses it for good.
 */
static __always_inline bool zt_sock_announce(struct sock *sk, struct zt_sock *st, __u64 ts,
					     __u64 cgid, __u8 origin)
{
	if (st->conn_id)
		return true;
	return zt_sock_emit_conn(sk, st, ts, cgid, origin, ZT_IPPROTO_TCP, NULL);
}

#endif
