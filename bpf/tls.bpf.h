/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * TLS state shared by the library probes (tls.bpf.c) and the socket hooks
 * (io.bpf.c).
 *
 * A TLS library call is tied to its TCP socket by the socket the same thread
 * touches during the call: SSL_read/SSL_write record the call per thread,
 * the socket hook that fires inside it binds the SSL object to that socket
 * and marks the socket as TLS, so its ciphertext is counted but never sent
 * to userspace as if it were plaintext. From then on plaintext goes out
 * under the socket's connection id, with the tuple, cgroup and role of the
 * TCP connection.
 */
#ifndef ZT_TLS_BPF_H
#define ZT_TLS_BPF_H

#include "emit.bpf.h"

/* One TLS library call in progress on a thread. */
struct zt_tls_op {
	__u64 ssl;     /* the SSL object */
	__u64 buf;     /* the caller's plaintext buffer */
	__u64 exlen;   /* SSL_read_ex: where the library stores the length read */
	__u64 cgid;    /* the caller's cgroup, judged traced at entry */
	__u32 num;     /* bytes asked for (read) or handed over (write) */
	__u8 dir;      /* enum zt_dir */
	__u8 emitted;  /* write: the plaintext went out already */
	__u8 pad[2];
};

/*
 * The call in progress on each thread (ssl 0: none). key: the task; value:
 * struct zt_tls_op. Bound: one per thread that ever called the library,
 * freed with the thread. A read's op ends at its return; a write's (no
 * return probe) is overwritten by the thread's next call or found stale by
 * the next socket it touches. Task storage, not a hash keyed by thread id:
 * the lookup on every socket event of a traced thread is a pointer away.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct zt_tls_op);
} zt_tls_ops SEC(".maps") __weak;

/*
 * The same, keyed by pid_tgid, where uprobe programs cannot use task
 * storage (before 6.2): chosen at load (zt_tls_ops_in_hash). Bound: 16384
 * threads, LRU.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct zt_tls_op);
} zt_tls_ops_hash SEC(".maps") __weak;

const volatile bool zt_tls_ops_in_hash __weak = false;
/* The OpenSSL probes are loaded: without them no thread is ever inside a
 * TLS call, and the socket hooks skip the lookup. */
const volatile bool zt_tls_on __weak = false;

/*
 * Set by the first traced call into the library, never cleared: until then
 * no op can exist, and the socket hooks of a host whose traced processes
 * map libssl but never call it (plaintext HTTP) skip the lookup. The op's
 * own thread sets it before its op and reads it after, so it never misses
 * its own.
 */
volatile __u32 zt_tls_seen __weak = 0;

/* The current thread's slot (ssl 0: no call), made when `create`. `task`:
 * the current task from zt_current_task(), or NULL. */
static __always_inline struct zt_tls_op *zt_tls_op_slot(bool create, struct task_struct *task)
{
	struct zt_tls_op *op, none = {};
	__u64 id;

	if (create && !zt_tls_seen)
		zt_tls_seen = 1;

	if (!zt_tls_ops_in_hash)
		return bpf_task_storage_get(&zt_tls_ops, task ? task : bpf_get_current_task_btf(),
					    NULL, create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	id = bpf_get_current_pid_tgid();
	op = bpf_map_lookup_elem(&zt_tls_ops_hash, &id);
	if (op || !create)
		return op;
	bpf_map_update_elem(&zt_tls_ops_hash, &id, &none, BPF_ANY);
	return bpf_map_lookup_elem(&zt_tls_ops_hash, &id);
}

/* The current thread's call in progress, or NULL. `task`: as for
 * zt_tls_op_slot. */
static __always_inline struct zt_tls_op *zt_tls_op_current(struct task_struct *task)
{
	struct zt_tls_op *op;

	if (!zt_tls_on || !zt_tls_seen)
		return NULL;
	op = zt_tls_op_slot(false, task);
	return op && op->ssl ? op : NULL;
}

struct zt_tls_key {
	__u64 ssl;
	__u32 tgid; /* SSL pointers are per address space */
	__u32 pad;
};

/* An SSL object tied to its socket. */
struct zt_tls_conn {
	__u64 conn_id;    /* the socket's cookie */
	__u64 bytes[2];   /* plaintext stream offsets, by enum zt_dir */
	__u64 cipher_out; /* the socket's sent bytes, as of the last send in a call */
	__u64 wr_buf;     /* the last write emitted ... */
	__u64 wr_need;    /* ... and the ciphertext offset its completion reaches */
	__u32 wr_num;
	__u32 pad;
};

/*
 * Bound SSL objects. key: struct zt_tls_key; value: struct zt_tls_conn.
 * Bound: 65536, deleted at SSL_free; LRU for objects whose free was missed.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct zt_tls_key);
	__type(value, struct zt_tls_conn);
} zt_tls_conns SEC(".maps") __weak;

/*
 * TLS records carry at least 21 bytes beyond their plaintext (5 header +
 * 16 tag), one record per 16 KiB at most: a write whose socket has not
 * moved this far past where the write began was cut short (EAGAIN), and the
 * caller must retry it with the same buffer and length.
 */
static __always_inline __u64 zt_tls_write_end(__u64 cipher_at, __u32 num)
{
	return cipher_at + num + 21 * ((num + 16383) >> 14);
}

/* Plaintext out under the socket's connection. `atomic`: the caller can be
 * preempted (a uprobe, or a socket hook where those are: zt_scratch_claim). */
static __always_inline void zt_tls_emit(struct zt_tls_conn *tc, __u64 buf, __u32 len, __u8 dir,
					__u64 cgid, __u64 pid_tgid, bool atomic)
{
	struct zt_ubuf ub = { .base = buf };
	struct zt_emit m = {
		.conn_id = tc->conn_id,
		.cgroup_id = cgid,
		.ts = bpf_ktime_get_ns(),
		.pid_tgid = pid_tgid,
		.len = len,
		.dir = dir,
		.flags = ZT_DF_TLS,
	};

	m.offset = tc->bytes[dir & 1];
	tc->bytes[dir & 1] += len;
	zt_emit_data(&m, buf ? &ub : NULL, atomic, NULL);
}

/* A write call's plaintext, unless it is the retry of one already sent. */
static __always_inline void zt_tls_write(struct zt_tls_conn *tc, struct zt_tls_op *op,
					 __u64 cipher_at, __u64 cgid, __u64 pid_tgid, bool atomic)
{
	op->emitted = 1;
	if (tc->wr_buf == op->buf && tc->wr_num == op->num && cipher_at < tc->wr_need)
		return;
	tc->wr_buf = op->buf;
	tc->wr_num = op->num;
	tc->wr_need = zt_tls_write_end(cipher_at, op->num);
	zt_tls_emit(tc, op->buf, op->num, ZT_DIR_OUT, cgid, pid_tgid, atomic);
}

/*
 * Called from the socket hooks when the current thread is inside a TLS call
 * (`op`). Binds the call's SSL object to `sk` on first sight and emits a
 * pending write. Returns true when the socket's own bytes are ciphertext
 * (not to be sent), false when the op was stale: the call had returned and
 * this socket is not its.
 */
static __always_inline bool zt_tls_on_io(struct zt_tls_op *op, struct zt_sock *st, __u8 dir,
					 int ret, __u64 cgid, __u64 pid_tgid)
{
	struct zt_tls_key key = { .ssl = op->ssl, .tgid = pid_tgid >> 32 };
	struct zt_tls_conn *tc = bpf_map_lookup_elem(&zt_tls_conns, &key);
	__u64 sent_before = st->bytes[ZT_DIR_OUT] - (dir == ZT_DIR_OUT && ret > 0 ? ret : 0);

	if (tc && tc->conn_id != st->conn_id) {
		op->ssl = 0;
		return false;
	}
	if (!tc) {
		struct zt_tls_conn fresh = { .conn_id = st->conn_id, .cipher_out = sent_before };

		bpf_map_update_elem(&zt_tls_conns, &key, &fresh, BPF_ANY);
		tc = bpf_map_lookup_elem(&zt_tls_conns, &key);
		if (!tc)
			return true;
		st->tls = 1;
	}
	if (op->dir == ZT_DIR_OUT && !op->emitted)
		zt_tls_write(tc, op, sent_before, cgid, pid_tgid, zt_preemptible);
	tc->cipher_out = st->bytes[ZT_DIR_OUT];
	return true;
}

#endif
