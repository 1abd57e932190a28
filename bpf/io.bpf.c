// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Socket data: one record per send or receive on a traced TCP socket, with
 * a bounded prefix of its bytes. The logic lives once in zt_handle_io; each
 * hook flavour is a two-line wrapper, and userspace keeps only the flavour
 * the running kernel supports best (user/hooks.c).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "filter.bpf.h"
#include "sock.bpf.h"
#include "tls.bpf.h"

#define ZT_MSG_PEEK 2

static __always_inline int zt_handle_io(struct sock *sk, int ret, int flags, __u8 dir)
{
	struct zt_ubuf ub = {};
	struct zt_tls_op *op;
	struct zt_sock *st;
	__u64 cgid, ts, pid_tgid, offset = 0;

	if (dir == ZT_DIR_IN && (flags & ZT_MSG_PEEK))
		return 0;
	if (!zt_sock_is_tcp(sk) || !zt_current_cgroup_traced(&cgid))
		return 0;

	pid_tgid = bpf_get_current_pid_tgid();
	if ((pid_tgid >> 32) == zt_self_tgid)
		return 0;
	/* Inside a TLS call even a failed send (EAGAIN) ties the SSL object
	 * to its socket; otherwise failures carry nothing. */
	op = zt_tls_op_current();
	if (ret <= 0 && !op)
		return 0;

	st = zt_sock_state(sk, true);
	if (!st) {
		zt_count(ZT_CNT_SK_STORAGE_FAIL);
		return 0;
	}
	/* A failure on a socket already tied to its SSL object says nothing. */
	if (ret <= 0 && st->tls)
		return 0;
	ts = bpf_ktime_get_ns();
	/* The offset advances whether or not the record gets out. */
	if (ret > 0) {
		offset = st->bytes[dir & 1];
		st->bytes[dir & 1] = offset + ret;
	}
	if (!zt_sock_announce(sk, st, ts, cgid, ZT_ORIGIN_FIRST_IO)) {
		/* Without its connection the record means nothing: the ring is
		 * full anyway, count it with the data records it would join. */
		if (ret > 0)
			zt_count(ZT_CNT_RB_FULL_DATA);
		return 0;
	}
	if (op && zt_tls_on_io(op, st, dir, ret, cgid, pid_tgid))
		return 0;
	if (ret <= 0 || st->tls)
		return 0;

	struct zt_emit m = {
		.conn_id = st->conn_id,
		.cgroup_id = cgid,
		.offset = offset,
		.ts = ts,
		.pid_tgid = pid_tgid,
		.len = ret,
		.dir = dir,
	};
	zt_emit_data(&m, zt_user_buf(&ub) ? &ub : NULL);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(zt_tp_btf_send, struct sock *sk, int ret, int flags)
{
	return zt_handle_io(sk, ret, flags, ZT_DIR_OUT);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(zt_tp_btf_recv, struct sock *sk, int ret, int flags)
{
	return zt_handle_io(sk, ret, flags, ZT_DIR_IN);
}

/*
 * Kernels without those tracepoints (before 6.3): TCP's own sendmsg and
 * recvmsg, at exit, where the byte count is known. sendfile and splice do
 * not pass here on those kernels (tcp_sendpage): their bytes leave a gap
 * that userspace counts.
 */
SEC("fexit/tcp_sendmsg")
int BPF_PROG(zt_fexit_send, struct sock *sk, struct msghdr *msg, size_t size, int ret)
{
	return zt_handle_io(sk, ret, 0, ZT_DIR_OUT);
}

/* 7.x: tcp_recvmsg(sk, msg, len, flags). */
SEC("fexit/tcp_recvmsg")
int BPF_PROG(zt_fexit_recv4, struct sock *sk, struct msghdr *msg, size_t len, int flags, int ret)
{
	return zt_handle_io(sk, ret, flags, ZT_DIR_IN);
}

/* 5.19 to 6.x: tcp_recvmsg(sk, msg, len, flags, addr_len). */
SEC("fexit/tcp_recvmsg")
int BPF_PROG(zt_fexit_recv, struct sock *sk, struct msghdr *msg, size_t len, int flags,
	     int *addr_len, int ret)
{
	return zt_handle_io(sk, ret, flags, ZT_DIR_IN);
}

/* Before 5.19: tcp_recvmsg(sk, msg, len, nonblock, flags, addr_len). */
SEC("fexit/tcp_recvmsg")
int BPF_PROG(zt_fexit_recv_nb, struct sock *sk, struct msghdr *msg, size_t len, int nonblock,
	     int flags, int *addr_len, int ret)
{
	return zt_handle_io(sk, ret, flags, ZT_DIR_IN);
}

/*
 * kprobe hooks (where neither fentry nor the tracepoints work): the socket
 * and flags at entry, the byte count at return. A call whose return probe
 * never fired (kretprobes can miss under load) is found when the thread's
 * next call comes, and counted.
 */
struct zt_io_call {
	__u64 sk;
	__s32 flags;
	__u8 dir;
	__u8 pad[3];
};

/*
 * Calls in progress. key: pid_tgid (u64); value: struct zt_io_call. Bound:
 * 16384 threads, LRU; an entry goes at its return.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct zt_io_call);
} zt_io_calls SEC(".maps");

static __always_inline int zt_io_enter(struct sock *sk, int flags, __u8 dir)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct zt_io_call c = { .sk = (__u64)sk, .flags = flags, .dir = dir };

	if (bpf_map_update_elem(&zt_io_calls, &id, &c, BPF_NOEXIST)) {
		zt_count(ZT_CNT_RETPROBE_MISSED);
		bpf_map_update_elem(&zt_io_calls, &id, &c, BPF_ANY);
	}
	return 0;
}

static __always_inline int zt_io_return(int ret, __u8 dir)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct zt_io_call *c = bpf_map_lookup_elem(&zt_io_calls, &id);
	struct zt_io_call call;

	if (!c || c->dir != dir)
		return 0;
	call = *c;
	bpf_map_delete_elem(&zt_io_calls, &id);
	return zt_handle_io((struct sock *)call.sk, ret, call.flags, dir);
}

SEC("kprobe/tcp_sendmsg")
int BPF_KPROBE(zt_kp_send, struct sock *sk)
{
	return zt_io_enter(sk, 0, ZT_DIR_OUT);
}

SEC("kretprobe/tcp_sendmsg")
int BPF_KRETPROBE(zt_krp_send, int ret)
{
	return zt_io_return(ret, ZT_DIR_OUT);
}

/* flags is the fourth parameter from 5.19 on, the fifth before. */
SEC("kprobe/tcp_recvmsg")
int BPF_KPROBE(zt_kp_recv, struct sock *sk, struct msghdr *msg, size_t len, int flags)
{
	return zt_io_enter(sk, flags, ZT_DIR_IN);
}

SEC("kprobe/tcp_recvmsg")
int BPF_KPROBE(zt_kp_recv_nb, struct sock *sk, struct msghdr *msg, size_t len, int nonblock,
	       int flags)
{
	return zt_io_enter(sk, flags, ZT_DIR_IN);
}

SEC("kretprobe/tcp_recvmsg")
int BPF_KRETPROBE(zt_krp_recv, int ret)
{
	return zt_io_return(ret, ZT_DIR_IN);
}
