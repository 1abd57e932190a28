// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Connection lifecycle: the handshake tells us who opened the connection
 * (connect or accept), TCP_CLOSE tells userspace to settle what is left.
 * These run in softirq as often as in the owner's task, so the socket's own
 * cgroup decides, never the current task's.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "filter.bpf.h"
#include "twin.bpf.h"
#include "sock.bpf.h"

#define ZT_TCP_ESTABLISHED 1
#define ZT_TCP_SYN_SENT 2
#define ZT_TCP_SYN_RECV 3
#define ZT_TCP_CLOSE 7

/* A traced client's SYN: when it left, for the connect phase. */
static __always_inline void zt_on_syn_sent(struct sock *sk)
{
	struct zt_sock *st;

	if (zt_v1_ssid >= 0 || !zt_cgroup_id_traced(zt_sock_cgroup_id(sk)))
		return;
	st = zt_sock_state_fresh(sk);
	if (st)
		st->syn_ns = bpf_ktime_get_ns();
}

static __always_inline void zt_on_established(struct sock *sk, int oldstate)
{
	struct zt_sock *st;
	__u64 cgid = zt_sock_cgroup_id(sk), syn_ns = 0, now;

	/* Pure v1: a socket carries no v1 cgroup to judge by here. Its role is
	 * kept for every socket; the first traced send or receive, in the
	 * owner's task, announces it. */
	if (zt_v1_ssid >= 0) {
		st = zt_sock_state_fresh(sk);
		if (st)
			st->role = oldstate == ZT_TCP_SYN_SENT ? ZT_ROLE_CLIENT : ZT_ROLE_SERVER;
		else
			zt_count(ZT_CNT_SK_STORAGE_FAIL);
		return;
	}
	if (!zt_cgroup_id_traced(cgid))
		return;
	/* The SYN's time survives the fresh start a handshake makes. */
	if (oldstate == ZT_TCP_SYN_SENT) {
		st = zt_sock_state(sk, false);
		if (st)
			syn_ns = st->syn_ns;
	}
	st = zt_sock_state_fresh(sk);
	if (!st) {
		zt_count(ZT_CNT_SK_STORAGE_FAIL);
		return;
	}
	st->role = oldstate == ZT_TCP_SYN_SENT ? ZT_ROLE_CLIENT : ZT_ROLE_SERVER;
	now = bpf_ktime_get_ns();
	st->syn_ns = syn_ns && now > syn_ns ? now - syn_ns : 0; /* now the phase's length */
	zt_sock_announce(sk, st, now, cgid, ZT_ORIGIN_HANDSHAKE);
}

static __always_inline void zt_on_close(struct sock *sk)
{
	struct zt_close_event *e;
	struct zt_sock *st = zt_sock_state(sk, false);

	if (!st || !st->conn_id) {
		zt_sock_state_drop(sk);
		return;
	}
	e = bpf_ringbuf_reserve(&zt_events, sizeof(*e), 0);
	if (!e) {
		zt_count(ZT_CNT_RB_FULL_CLOSE);
		zt_sock_state_drop(sk);
		return;
	}
	e->hdr.type = ZT_EV_CLOSE;
	e->hdr.ts_ns = bpf_ktime_get_ns();
	e->hdr.conn_id = st->conn_id;
	__builtin_memset(e->hdr.pad, 0, sizeof(e->hdr.pad));
	/* Not announced twice: a socket can pass through TCP_CLOSE once. */
	st->conn_id = 0;
	bpf_ringbuf_submit(e, zt_rb_flags());
	zt_count(ZT_CNT_EV_CLOSE);
	zt_sock_state_drop(sk);
}

static __always_inline int zt_handle_state(struct sock *sk, int oldstate, int newstate)
{
	if (!zt_sock_is_tcp(sk))
		return 0;
	if (newstate == ZT_TCP_ESTABLISHED &&
	    (oldstate == ZT_TCP_SYN_SENT || oldstate == ZT_TCP_SYN_RECV))
		zt_on_established(sk, oldstate);
	else if (newstate == ZT_TCP_CLOSE)
		zt_on_close(sk);
	else if (newstate == ZT_TCP_SYN_SENT)
		zt_on_syn_sent(sk);
	return 0;
}

/* kprobe hooks: the same function, at entry. */
SEC("kprobe/tcp_set_state")
int BPF_KPROBE(zt_kp_state, struct sock *sk, int state)
{
	return zt_handle_state(sk, BPF_CORE_READ(sk, __sk_common.skc_state), state);
}

ZT_TWINS_TP("tp_btf/inet_sock_set_state", zt_tp_btf_state, ZT_RUN_STATE,
	    zt_handle_state(sk, oldstate, newstate), struct sock *sk, int oldstate, int newstate)

/* Where tp_btf is not wanted (--hooks fentry): the function that fires
 * the tracepoint. At entry the socket still holds its old state. */
ZT_TWINS_TRAMP("fentry/tcp_set_state", zt_fentry_state, ZT_RUN_STATE,
	       zt_handle_state(sk, BPF_CORE_READ(sk, __sk_common.skc_state), state),
	       struct sock *sk, int state)
