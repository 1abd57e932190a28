// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Socket data: one record per send or receive on a traced TCP socket, and
 * one per datagram on a traced UDP socket, with a bounded prefix of its
 * bytes. The logic lives once in zt_handle_io; each hook flavour is a
 * two-line wrapper, and userspace keeps only the flavour the running kernel
 * supports best (user/hooks.c).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "filter.bpf.h"
#include "sock.bpf.h"
#include "tls.bpf.h"
#include "twin.bpf.h"

#define ZT_MSG_PEEK 2

/*
 * sendmmsg and recvmmsg move several datagrams in one call; the socket hooks
 * fire once per datagram and do not say which entry of the user's vector it
 * is. Each thread's call in progress: its vector and the entry the next
 * datagram uses. The kernel walks the vector in order and stops at the
 * first failure, which the hooks see too (ret < 0), so a call that ends
 * early leaves no stale position behind, except when it ends without
 * reaching the socket (a fault reading the next msghdr, recvmmsg's timeout)
 * or on a TCP socket (whose failures return before this is looked at):
 * then a later call on the same vector starts one entry off, which the
 * length checks in zt_mmsg_checked mostly catch.
 * key: pid_tgid (u64); value: struct zt_mmsg_pos. Bound: 4096 threads, LRU;
 * an entry goes when its call reaches the end of its vector.
 */
struct zt_mmsg_pos {
	__u64 vec;
	__u32 next;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct zt_mmsg_pos);
} zt_mmsg SEC(".maps");

/* The user msghdr of this datagram of a sendmmsg/recvmmsg call, 0 if none. */
static __always_inline __u64 zt_mmsg_entry(const struct zt_sysargs *a, __u64 pid_tgid, int ret)
{
	struct zt_mmsg_pos *pos = bpf_map_lookup_elem(&zt_mmsg, &pid_tgid);
	__u64 vlen = a->arg3 & 0xffffffff, idx = 0;

	if (!vlen)
		return 0;
	if (pos && pos->vec == a->arg2 && pos->next < vlen)
		idx = pos->next;
	if (ret < 0 || idx + 1 >= vlen) {
		if (pos)
			bpf_map_delete_elem(&zt_mmsg, &pid_tgid);
	} else {
		struct zt_mmsg_pos np = { .vec = a->arg2, .next = idx + 1 };

		bpf_map_update_elem(&zt_mmsg, &pid_tgid, &np, BPF_ANY);
	}
	return a->arg2 + idx * bpf_core_type_size(struct mmsghdr);
}

/*
 * Does the entry found for a multi-datagram call hold this datagram? A sent
 * datagram fills its iovecs exactly; a received one fits in them (unless
 * MSG_TRUNC says more). A single-entry call needs no check. When unsure,
 * no bytes: a record of the wrong datagram would be worse than none.
 */
static __always_inline bool zt_mmsg_checked(const struct zt_sysargs *a, const struct zt_ubuf *u,
					    int ret)
{
	__s64 room;

	if (!zt_sys_is_mmsg(a) || (a->arg3 & 0xffffffff) <= 1)
		return true;
	room = zt_ubuf_batch_bytes(u);
	if (room < 0)
		return false;
#ifdef ZT_REGS_NR
	if (a->nr == ZT_NR_sendmmsg)
		return room == ret;
#endif
	return room >= ret;
}

/*
 * A UDP socket without connect() names its peer per datagram: the
 * destination of a send is read from the caller's sockaddr, and a new one
 * goes out as a conn record (same id) before the datagram's own record.
 * A receive's source lies beyond the hooks' reach (the kernel writes it to
 * the user after they ran): received datagrams carry whatever peer was
 * announced last.
 */
static __always_inline bool zt_udp_peer(struct sock *sk, const struct zt_sysargs *a, __u64 msg,
					struct zt_peer *p)
{
	__u64 name = 0;

	if (BPF_CORE_READ(sk, __sk_common.skc_dport))
		return false; /* connected: the socket says */
#ifdef ZT_REGS_NR
	if (a->nr == ZT_NR_sendto)
		name = a->arg5;
	else if (msg && bpf_probe_read_user(&name, sizeof(name),
					     (void *)(msg + __builtin_offsetof(struct user_msghdr,
									       msg_name))))
		name = 0;
#endif
	return zt_peer_read(name, p);
}

/*
 * With socket state in a hash (kprobe hooks, old kernels) a UDP socket's
 * entry outlives it (no close to drop it at) and a new socket at the same
 * address would inherit it: its ports and peer tell them apart.
 */
static __always_inline void zt_udp_reused(struct sock *sk, struct zt_sock *st)
{
	__u32 daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	__u64 key = (__u64)BPF_CORE_READ(sk, __sk_common.skc_num) << 48 |
		    (__u64)BPF_CORE_READ(sk, __sk_common.skc_dport) << 32 | daddr;

	if (st->conn_id && st->udp_key != key)
		__builtin_memset(st, 0, sizeof(*st));
	st->udp_key = key;
}

static __always_inline bool zt_peer_changed(const struct zt_sock *st, const struct zt_peer *p)
{
	const __u64 *a = (const __u64 *)st->peer, *b = (const __u64 *)p->addr;

	return st->peer_port != p->port || st->peer_family != p->family || a[0] != b[0] ||
	       a[1] != b[1];
}

/*
 * What the handler keeps while it runs: too much for the 512-byte BPF stack
 * next to the TLS path's. key: slot (0..ZT_SCRATCH_SLOTS-1); value: one per
 * CPU and slot (a program runs to its end on its CPU; see zt_cpu_busy).
 */
struct zt_io_scratch {
	struct zt_sysargs a;
	struct zt_ubuf ub;
	struct zt_peer peer;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ZT_SCRATCH_SLOTS);
	__type(key, __u32);
	__type(value, struct zt_io_scratch);
} zt_io_scratch SEC(".maps");

/* The record of a traced message, with slot `slot` of this CPU's
 * zt_io_scratch claimed. */
static __always_inline void zt_io_record(struct sock *sk, int ret, __u8 dir, bool btf,
					 struct task_struct *task, __u8 ipproto, __u64 cgid,
					 __u64 pid_tgid, struct zt_tls_op *op, __u32 slot)
{
	struct zt_io_scratch *x;
	struct zt_sock *st;
	__u64 ts, offset = 0, msg = 0;
	bool have_args, have_buf, have_peer = false;

	x = bpf_map_lookup_elem(&zt_io_scratch, &slot);
	if (!x)
		return;
	/* What zt_user_buf relies on being zero; the rest is written first. */
	x->ub.base = x->ub.size = x->ub.iov = x->ub.iovcnt = x->ub.nv = 0;
	have_args = zt_sysargs(&x->a, task);
	/* Before the UDP failures return: a failed datagram ends its call. */
	if (have_args && zt_sys_is_mmsg(&x->a))
		msg = zt_mmsg_entry(&x->a, pid_tgid, ret);
#ifdef ZT_REGS_NR
	else if (have_args && (x->a.nr == ZT_NR_sendmsg || x->a.nr == ZT_NR_recvmsg))
		msg = x->a.arg2;
#endif
	/* No TLS library speaks over UDP; a failed datagram says nothing. */
	if (ipproto == ZT_IPPROTO_UDP && ret <= 0)
		return;

	st = zt_sock_state(sk, true);
	if (!st) {
		zt_count(ZT_CNT_SK_STORAGE_FAIL);
		return;
	}
	if (ipproto == ZT_IPPROTO_UDP && zt_sock_in_hash)
		zt_udp_reused(sk, st);
	/* A failure on a socket already tied to its SSL object says nothing. */
	if (ret <= 0 && st->tls)
		return;
	ts = bpf_ktime_get_ns();
	/* The offset advances whether or not the record gets out. */
	if (ret > 0) {
		offset = st->bytes[dir & 1];
		st->bytes[dir & 1] = offset + ret;
	}
	if (ipproto == ZT_IPPROTO_UDP) {
		/* Back after userspace may have forgotten it: announced again,
		 * with the peer it had. */
		bool stale = ts - st->udp_last_ns > ZT_UDP_IDLE_NS / 2;

		st->udp_last_ns = ts;
		if (dir == ZT_DIR_OUT && have_args)
			have_peer = zt_udp_peer(sk, &x->a, msg, &x->peer);
		if (!have_peer && stale && st->peer_family) {
			__builtin_memcpy(x->peer.addr, st->peer, 16);
			x->peer.port = st->peer_port;
			x->peer.family = st->peer_family;
			have_peer = true;
		}
		if ((!st->conn_id || stale || (have_peer && zt_peer_changed(st, &x->peer))) &&
		    !zt_sock_emit_conn(sk, st, ts, cgid, ZT_ORIGIN_FIRST_IO, ZT_IPPROTO_UDP,
				       have_peer ? &x->peer : NULL) &&
		    !st->conn_id) {
			zt_count(ZT_CNT_RB_FULL_DATA);
			return;
		}
	} else if (!zt_sock_announce(sk, st, ts, cgid, ZT_ORIGIN_FIRST_IO)) {
		/* Without its connection the record means nothing: the ring is
		 * full anyway, count it with the data records it would join. */
		if (ret > 0)
			zt_count(ZT_CNT_RB_FULL_DATA);
		return;
	}
	if (op && zt_tls_on_io(op, st, dir, ret, cgid, pid_tgid))
		return;
	if (ret <= 0 || st->tls)
		return;

	have_buf = have_args && zt_user_buf(&x->ub, &x->a, msg) && zt_mmsg_checked(&x->a, &x->ub, ret);
	struct zt_emit m = {
		.conn_id = st->conn_id,
		.cgroup_id = cgid,
		.offset = offset,
		.ts = ts,
		.pid_tgid = pid_tgid,
		.len = ret,
		.dir = dir,
	};
	/* The thread's name went out with this socket's last record: a thread
	 * renaming itself meanwhile shows under its old name on this socket
	 * until another thread uses it. */
	if (st->comm_tid == (__u32)pid_tgid)
		m.flags |= ZT_DF_SAME_COMM;
	/* Where the network stands for this connection, as the request or
	 * its response moves. */
	if (ipproto == ZT_IPPROTO_TCP && btf) {
		/* One helper call makes the socket a tcp_sock the verifier
		 * lets us load from. */
		struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);

		if (tp) {
			m.srtt_us = tp->srtt_us >> 3;
			m.retrans = tp->total_retrans;
			m.flags |= ZT_DF_TCPINFO;
		}
	} else if (ipproto == ZT_IPPROTO_TCP) {
		struct tcp_sock *tp = (struct tcp_sock *)sk;

		m.srtt_us = BPF_CORE_READ(tp, srtt_us) >> 3;
		m.retrans = BPF_CORE_READ(tp, total_retrans);
		m.flags |= ZT_DF_TCPINFO;
	}
	if (zt_emit_data(&m, have_buf ? &x->ub : NULL, zt_preemptible, task))
		st->comm_tid = (__u32)pid_tgid;
}

/* `btf`: sk is a BTF-typed argument (tp_btf, fentry/fexit), read with plain
 * loads (ZT_BTF_READ). Returns 1 once the message is a traced thread's,
 * whatever became of it (the twins' token, bpf/twin.bpf.h), else 0. */
static __always_inline int zt_handle_io(struct sock *sk, int ret, int flags, __u8 dir, bool btf)
{
	struct task_struct *task;
	struct zt_tls_op *op;
	__u64 cgid, pid_tgid;
	__u32 *busy, slot;
	__u8 ipproto;

	if (dir == ZT_DIR_IN && (flags & ZT_MSG_PEEK))
		return 0;
	ipproto = zt_sock_ipproto_btf(sk, btf);
	if (!ipproto)
		return 0;
	task = zt_current_task(btf);
	if (!zt_current_task_cgroup_traced(task, &cgid, zt_preemptible))
		return 0;

	pid_tgid = zt_current_pid_tgid(task);
	if ((pid_tgid >> 32) == zt_self_tgid)
		return 0;
	/* TCP: a failure (EAGAIN, the common one) returns before anything
	 * else is read. */
	op = NULL;
	if (ipproto == ZT_IPPROTO_TCP) {
		/* Inside a TLS call even a failed send (EAGAIN) ties the SSL
		 * object to its socket; otherwise failures carry nothing. */
		op = zt_tls_op_current(task);
		if (ret <= 0 && !op)
			return 1;
	}
	/* From here on a slot of this CPU's scratch is ours, or the record
	 * is lost and counted (see zt_cpu_busy). */
	busy = zt_scratch_claim(ZT_SCRATCH_IO, &slot, zt_preemptible);
	if (!busy) {
		struct zt_sock *st = zt_sock_state(sk, false);

		zt_count(ZT_CNT_CPU_BUSY);
		/* The stream offset moves on all the same: userspace sees
		 * the hole where the lost message was. */
		if (st && ret > 0)
			st->bytes[dir & 1] += ret;
		return 1;
	}
	zt_io_record(sk, ret, dir, btf, task, ipproto, cgid, pid_tgid, op, slot);
	zt_scratch_release(busy, zt_preemptible);
	return 1;
}

ZT_TWINS_TP("tp_btf/sock_send_length", zt_tp_btf_send, ZT_RUN_SEND,
	    zt_handle_io(sk, ret, flags, ZT_DIR_OUT, true), struct sock *sk, int ret, int flags)

ZT_TWINS_TP("tp_btf/sock_recv_length", zt_tp_btf_recv, ZT_RUN_RECV,
	    zt_handle_io(sk, ret, flags, ZT_DIR_IN, true), struct sock *sk, int ret, int flags)

/*
 * Kernels without those tracepoints (before 6.3): TCP's own sendmsg and
 * recvmsg, at exit, where the byte count is known. sendfile and splice do
 * not pass here on those kernels (tcp_sendpage): their bytes leave a gap
 * that userspace counts.
 */
ZT_TWINS_TRAMP("fexit/tcp_sendmsg", zt_fexit_send, ZT_RUN_SEND,
	       zt_handle_io(sk, ret, 0, ZT_DIR_OUT, true),
	       struct sock *sk, struct msghdr *msg, size_t size, int ret)

/* 7.x: tcp_recvmsg(sk, msg, len, flags). */
ZT_TWINS_TRAMP("fexit/tcp_recvmsg", zt_fexit_recv4, ZT_RUN_RECV,
	       zt_handle_io(sk, ret, flags, ZT_DIR_IN, true),
	       struct sock *sk, struct msghdr *msg, size_t len, int flags, int ret)

/* 5.19 to 6.x: tcp_recvmsg(sk, msg, len, flags, addr_len). */
ZT_TWINS_TRAMP("fexit/tcp_recvmsg", zt_fexit_recv, ZT_RUN_RECV,
	       zt_handle_io(sk, ret, flags, ZT_DIR_IN, true),
	       struct sock *sk, struct msghdr *msg, size_t len, int flags, int *addr_len, int ret)

/* Before 5.19: tcp_recvmsg(sk, msg, len, nonblock, flags, addr_len). */
ZT_TWINS_TRAMP("fexit/tcp_recvmsg", zt_fexit_recv_nb, ZT_RUN_RECV,
	       zt_handle_io(sk, ret, flags, ZT_DIR_IN, true),
	       struct sock *sk, struct msghdr *msg, size_t len, int nonblock, int flags,
	       int *addr_len, int ret)

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
	/* No twins on kprobes: what the handler says is not wanted here,
	 * and a kprobe program returns 0. */
	zt_handle_io((struct sock *)call.sk, ret, call.flags, dir, false);
	return 0;
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

/*
 * UDP where the socket tracepoints are missing (before 6.3): the protocol's
 * own sendmsg and recvmsg, as for TCP above. udpv6_sendmsg hands datagrams
 * to v4-mapped addresses on to udp_sendmsg: the IPv4 hooks leave IPv6
 * sockets to the IPv6 ones, so each datagram is seen once.
 */
static __always_inline bool zt_sock_is_v6(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_family) == ZT_AF_INET6;
}

ZT_TWINS_TRAMP("fexit/udp_sendmsg", zt_fexit_udp_send, ZT_RUN_UDP_SEND,
	       zt_sock_is_v6(sk) ? 0 : zt_handle_io(sk, ret, 0, ZT_DIR_OUT, true),
	       struct sock *sk, struct msghdr *msg, size_t len, int ret)

ZT_TWINS_TRAMP("fexit/udpv6_sendmsg", zt_fexit_udp6_send, ZT_RUN_UDP6_SEND,
	       zt_handle_io(sk, ret, 0, ZT_DIR_OUT, true),
	       struct sock *sk, struct msghdr *msg, size_t len, int ret)

/* 7.x: udp_recvmsg(sk, msg, len, flags). */
ZT_TWINS_TRAMP("fexit/udp_recvmsg", zt_fexit_udp_recv4, ZT_RUN_UDP_RECV,
	       zt_handle_io(sk, ret, flags, ZT_DIR_IN, true),
	       struct sock *sk, struct msghdr *msg, size_t len, int flags, int ret)

ZT_TWINS_TRAMP("fexit/udpv6_recvmsg", zt_fexit_udp6_recv4, ZT_RUN_UDP6_RECV,
	       zt_handle_io(sk, ret, flags, ZT_DIR_IN, true),
	       struct sock *sk, struct msghdr *msg, size_t len, int flags, int ret)

/* 5.19 to 6.x: udp_recvmsg(sk, msg, len, flags, addr_len). */
ZT_TWINS_TRAMP("fexit/udp_recvmsg", zt_fexit_udp_recv, ZT_RUN_UDP_RECV,
	       zt_handle_io(sk, ret, flags, ZT_DIR_IN, true),
	       struct sock *sk, struct msghdr *msg, size_t len, int flags, int *addr_len, int ret)

ZT_TWINS_TRAMP("fexit/udpv6_recvmsg", zt_fexit_udp6_recv, ZT_RUN_UDP6_RECV,
	       zt_handle_io(sk, ret, flags, ZT_DIR_IN, true),
	       struct sock *sk, struct msghdr *msg, size_t len, int flags, int *addr_len, int ret)

/* Before 5.19: udp_recvmsg(sk, msg, len, noblock, flags, addr_len). */
ZT_TWINS_TRAMP("fexit/udp_recvmsg", zt_fexit_udp_recv_nb, ZT_RUN_UDP_RECV,
	       zt_handle_io(sk, ret, flags, ZT_DIR_IN, true),
	       struct sock *sk, struct msghdr *msg, size_t len, int nonblock, int flags,
	       int *addr_len, int ret)

ZT_TWINS_TRAMP("fexit/udpv6_recvmsg", zt_fexit_udp6_recv_nb, ZT_RUN_UDP6_RECV,
	       zt_handle_io(sk, ret, flags, ZT_DIR_IN, true),
	       struct sock *sk, struct msghdr *msg, size_t len, int nonblock, int flags,
	       int *addr_len, int ret)

SEC("kprobe/udp_sendmsg")
int BPF_KPROBE(zt_kp_udp_send, struct sock *sk)
{
	return zt_sock_is_v6(sk) ? 0 : zt_io_enter(sk, 0, ZT_DIR_OUT);
}

SEC("kretprobe/udp_sendmsg")
int BPF_KRETPROBE(zt_krp_udp_send, int ret)
{
	return zt_io_return(ret, ZT_DIR_OUT);
}

SEC("kprobe/udpv6_sendmsg")
int BPF_KPROBE(zt_kp_udp6_send, struct sock *sk)
{
	return zt_io_enter(sk, 0, ZT_DIR_OUT);
}

SEC("kretprobe/udpv6_sendmsg")
int BPF_KRETPROBE(zt_krp_udp6_send, int ret)
{
	return zt_io_return(ret, ZT_DIR_OUT);
}

/* flags is the fourth parameter from 5.19 on, the fifth before. */
SEC("kprobe/udp_recvmsg")
int BPF_KPROBE(zt_kp_udp_recv, struct sock *sk, struct msghdr *msg, size_t len, int flags)
{
	return zt_io_enter(sk, flags, ZT_DIR_IN);
}

SEC("kprobe/udp_recvmsg")
int BPF_KPROBE(zt_kp_udp_recv_nb, struct sock *sk, struct msghdr *msg, size_t len, int nonblock,
	       int flags)
{
	return zt_io_enter(sk, flags, ZT_DIR_IN);
}

SEC("kretprobe/udp_recvmsg")
int BPF_KRETPROBE(zt_krp_udp_recv, int ret)
{
	return zt_io_return(ret, ZT_DIR_IN);
}

SEC("kprobe/udpv6_recvmsg")
int BPF_KPROBE(zt_kp_udp6_recv, struct sock *sk, struct msghdr *msg, size_t len, int flags)
{
	return zt_io_enter(sk, flags, ZT_DIR_IN);
}

SEC("kprobe/udpv6_recvmsg")
int BPF_KPROBE(zt_kp_udp6_recv_nb, struct sock *sk, struct msghdr *msg, size_t len, int nonblock,
	       int flags)
{
	return zt_io_enter(sk, flags, ZT_DIR_IN);
}

SEC("kretprobe/udpv6_recvmsg")
int BPF_KRETPROBE(zt_krp_udp6_recv, int ret)
{
	return zt_io_return(ret, ZT_DIR_IN);
}
