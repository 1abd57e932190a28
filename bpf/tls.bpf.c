// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * OpenSSL (libssl 1.1 and 3.x, or a binary linking it statically): the
 * plaintext as the application hands it over, no keys needed. Userspace
 * attaches these to every libssl file the traced processes map
 * (user/tls_attach.c); the probes fire for every process mapping that file,
 * so the cgroup filter comes first.
 *
 * Writes need no return probe: the buffer is complete at entry, and the
 * socket the call writes to is learnt from the socket hook that fires
 * inside it (tls.bpf.h). Reads do: the plaintext exists only when the call
 * returns. (BPF_KPROBE is the uprobe argument macro too: libbpf 1.1 has no
 * BPF_UPROBE.)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "filter.bpf.h"
#include "tls.bpf.h"

/*
 * The current task as a BTF pointer where the calls in progress are in task
 * storage (6.2+), which needs it anyway: one helper call then answers the
 * filter, the thread and the storage, the rest plain loads (three calls
 * otherwise, at ~20-40 ns each on the bench machine, on every probe hit of
 * every process mapping the library). Else NULL, and the helpers answer.
 */
static __always_inline struct task_struct *zt_tls_task(void)
{
	return zt_tls_ops_in_hash ? NULL : zt_current_task(true);
}

static __always_inline bool zt_tls_traced(struct task_struct *task, __u64 *cgid, __u64 *pid_tgid)
{
	if (!zt_current_task_cgroup_traced(task, cgid, zt_uprobe_preemptible))
		return false;
	*pid_tgid = zt_current_pid_tgid(task);
	return (*pid_tgid >> 32) != zt_self_tgid;
}

static __always_inline int zt_tls_write_entry(void *ssl, const void *buf, __u64 num)
{
	struct task_struct *task = zt_tls_task();
	struct zt_tls_key key = { .ssl = (__u64)ssl };
	struct zt_tls_conn *tc;
	struct zt_tls_op *op;
	__u64 cgid, pid_tgid;

	if (!ssl || !buf || !num || num > 0x7fffffff || !zt_tls_traced(task, &cgid, &pid_tgid))
		return 0;
	op = zt_tls_op_slot(true, task);
	if (!op)
		return 0;
	*op = (struct zt_tls_op){ .ssl = (__u64)ssl, .buf = (__u64)buf, .cgid = cgid,
				  .num = num, .dir = ZT_DIR_OUT };
	key.tgid = pid_tgid >> 32;
	/* Bound already: out now, the socket hook has nothing to add. */
	tc = bpf_map_lookup_elem(&zt_tls_conns, &key);
	if (tc)
		zt_tls_write(tc, op, tc->cipher_out, cgid, pid_tgid, zt_uprobe_preemptible);
	return 0;
}

static __always_inline int zt_tls_read_entry(void *ssl, void *buf, __u64 num, void *exlen)
{
	struct task_struct *task = zt_tls_task();
	struct zt_tls_op *op;
	__u64 cgid, pid_tgid;

	if (!ssl || !buf || !zt_tls_traced(task, &cgid, &pid_tgid))
		return 0;
	op = zt_tls_op_slot(true, task);
	if (!op)
		return 0;
	/* The thread's last read never saw its return: its data is lost. */
	if (op->ssl && op->dir == ZT_DIR_IN)
		zt_count(ZT_CNT_RETPROBE_MISSED);
	*op = (struct zt_tls_op){ .ssl = (__u64)ssl, .buf = (__u64)buf, .exlen = (__u64)exlen,
				  .cgid = cgid, .num = num > 0x7fffffff ? 0x7fffffff : num,
				  .dir = ZT_DIR_IN };
	return 0;
}

/* `ret`: SSL_read's byte count, or with `ex` a success flag (SSL_read_ex's
 * 1/0, ssl_read_internal's >0/<=0) with the count stored at op->exlen. */
static __always_inline int zt_tls_read_return(long ret, bool ex)
{
	struct task_struct *task = zt_tls_task();
	__u64 pid_tgid = zt_current_pid_tgid(task), cgid, n = 0;
	struct zt_tls_op *op = zt_tls_op_current(task);
	struct zt_tls_key key = {};
	struct zt_tls_conn *tc;
	__u64 buf;

	if (!op || op->dir != ZT_DIR_IN)
		return 0;
	key.ssl = op->ssl;
	key.tgid = pid_tgid >> 32;
	buf = op->buf;
	cgid = op->cgid;
	if (!ex)
		n = ret > 0 ? ret : 0;
	else if (ret > 0 && bpf_probe_read_user(&n, sizeof(n), (void *)op->exlen))
		n = 0;
	if (n > op->num)
		n = op->num;
	op->ssl = 0;
	if (!n)
		return 0;
	tc = bpf_map_lookup_elem(&zt_tls_conns, &key);
	if (!tc) {
		zt_count(ZT_CNT_TLS_UNBOUND);
		return 0;
	}
	zt_tls_emit(tc, buf, n, ZT_DIR_IN, cgid, pid_tgid, zt_uprobe_preemptible);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(zt_ssl_write, void *ssl, const void *buf, int num)
{
	return zt_tls_write_entry(ssl, buf, num > 0 ? num : 0);
}

SEC("uprobe")
int BPF_KPROBE(zt_ssl_write_ex, void *ssl, const void *buf, __u64 num)
{
	return zt_tls_write_entry(ssl, buf, num);
}

SEC("uprobe")
int BPF_KPROBE(zt_ssl_read, void *ssl, void *buf, int num)
{
	return zt_tls_read_entry(ssl, buf, num > 0 ? num : 0, NULL);
}

SEC("uprobe")
int BPF_KPROBE(zt_ssl_read_ex, void *ssl, void *buf, __u64 num, __u64 *readbytes)
{
	return zt_tls_read_entry(ssl, buf, num, readbytes);
}

SEC("uretprobe")
int BPF_KRETPROBE(zt_ssl_read_ret, int ret)
{
	return zt_tls_read_return(ret, false);
}

SEC("uretprobe")
int BPF_KRETPROBE(zt_ssl_read_ex_ret, int ret)
{
	return zt_tls_read_return(ret, true);
}

/* The object's address may be reused by the next connection. */
SEC("uprobe")
int BPF_KPROBE(zt_ssl_free, void *ssl)
{
	struct zt_tls_key key = { .ssl = (__u64)ssl, .tgid = bpf_get_current_pid_tgid() >> 32 };

	if (ssl)
		bpf_map_delete_elem(&zt_tls_conns, &key);
	return 0;
}
