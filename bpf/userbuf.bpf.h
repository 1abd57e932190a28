/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where the bytes of the current socket message sit in user memory.
 *
 * Socket-level hooks see a struct sock and a length, not the user's buffer.
 * The syscall that led here still has its arguments in the task's saved
 * registers, so the buffer is found from the syscall number and its second
 * argument (the buffer, iovec or msghdr of every call we decode). Messages
 * that did not come from a user buffer (sendfile, splice, io_uring, kernel
 * sockets) yield NULL: counted as bytes, not captured.
 */
#ifndef ZT_USERBUF_BPF_H
#define ZT_USERBUF_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#if defined(__TARGET_ARCH_x86)
enum {
	ZT_NR_read = 0, ZT_NR_write = 1, ZT_NR_readv = 19, ZT_NR_writev = 20,
	ZT_NR_sendto = 44, ZT_NR_recvfrom = 45, ZT_NR_sendmsg = 46, ZT_NR_recvmsg = 47,
	ZT_NR_recvmmsg = 299, ZT_NR_sendmmsg = 307,
};
#define ZT_REGS_NR(r) ((r)->orig_ax)
#define ZT_REGS_ARG2(r) ((r)->si)
#define ZT_REGS_ARG3(r) ((r)->dx)
#define ZT_REGS_ARG5(r) ((r)->r8)
#endif

/* The current syscall's number and the arguments we decode: the buffer,
 * iovec, msghdr or mmsghdr vector (2nd), its size or count (3rd), and
 * sendto's destination address (5th). */
struct zt_sysargs {
	__u64 nr, arg2, arg3, arg5;
};

struct zt_iovec {
	__u64 base;
	__u64 len;
};

/* iovecs read per probe, and how many batches a message's tail is looked
 * for in: nginx writes up to 64 iovecs at a time. Longer vectors get no
 * tail; userspace then learns the end from the peer's next message. */
#define ZT_IOV_BATCH 8
#define ZT_IOV_BATCHES 8

/* Where a message's bytes are: one run at base, or an iovec array whose
 * first batch is read once, for the prefix and (often) the tail alike. */
struct zt_ubuf {
	__u64 base;        /* contiguous buffer, when iov == 0 */
	__u64 size;        /* its size, 0 when not known: a datagram received with
			    * MSG_TRUNC is longer than the buffer it landed in */
	__u64 iov, iovcnt; /* else the user's iovec array */
	__u64 nv;          /* iovecs in v: the batch starting at index vat */
	__u64 vat;
	struct zt_iovec v[ZT_IOV_BATCH];
};

/* Reads the batch of iovecs starting at index `at` into u->v. */
static __always_inline bool zt_iov_batch(struct zt_ubuf *u, __u64 at)
{
	__u64 n;

	if (at >= u->iovcnt)
		return false;
	n = u->iovcnt - at < ZT_IOV_BATCH ? u->iovcnt - at : ZT_IOV_BATCH;
	/* 1..ZT_IOV_BATCH already; said again in a form older verifiers (6.1)
	 * keep hold of when the compiler reloads n from a spilled copy of
	 * the count, and which it cannot fold away. */
	asm volatile("" : "+r"(n));
	n = ((n - 1) & (ZT_IOV_BATCH - 1)) + 1;
	if (bpf_probe_read_user(u->v, n * sizeof(u->v[0]),
				(void *)(u->iov + at * sizeof(u->v[0]))))
		return false;
	u->nv = n;
	u->vat = at;
	return true;
}

/*
 * Kernels before 5.15 have no bpf_task_pt_regs(): there (zt_regs_from_stack,
 * set at load) the saved registers are found where x86-64 keeps them, at
 * the top of the task's kernel stack (task_pt_regs(): stack + THREAD_SIZE,
 * 16 KiB without KASAN, minus one struct pt_regs), and read with probes.
 */
const volatile bool zt_regs_from_stack __weak = false;
#define ZT_THREAD_SIZE 16384

/* Reads the current syscall's arguments; false when they cannot be had.
 * `task`: the current task from zt_current_task(), or NULL. */
static __always_inline bool zt_sysargs(struct zt_sysargs *a, struct task_struct *task)
{
#ifdef ZT_REGS_NR
	if (zt_regs_from_stack) {
		struct task_struct *t = (struct task_struct *)bpf_get_current_task();
		void *stack = BPF_CORE_READ(t, stack);
		struct pt_regs *r;

		if (!stack)
			return false;
		r = (struct pt_regs *)(stack + ZT_THREAD_SIZE - bpf_core_type_size(struct pt_regs));
		a->nr = BPF_CORE_READ(r, orig_ax);
		a->arg2 = BPF_CORE_READ(r, si);
		a->arg3 = BPF_CORE_READ(r, dx);
		a->arg5 = BPF_CORE_READ(r, r8);
		return true;
	}
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task ? task :
								 bpf_get_current_task_btf());

	if (!regs)
		return false;
	a->nr = ZT_REGS_NR(regs);
	a->arg2 = ZT_REGS_ARG2(regs);
	a->arg3 = ZT_REGS_ARG3(regs);
	a->arg5 = ZT_REGS_ARG5(regs);
	return true;
#else
	return false;
#endif
}

static __always_inline bool zt_sys_is_mmsg(const struct zt_sysargs *a)
{
#ifdef ZT_REGS_NR
	return a->nr == ZT_NR_sendmmsg || a->nr == ZT_NR_recvmmsg;
#else
	return false;
#endif
}

/*
 * Finds the current message's user buffer; false when there is none.
 * `msg`: the user msghdr of this message, for the msghdr calls (sendmsg,
 * recvmsg: their 2nd argument; sendmmsg, recvmmsg: the entry the caller
 * found for this datagram, 0 when it could not tell which).
 */
static __always_inline bool zt_user_buf(struct zt_ubuf *u, const struct zt_sysargs *a, __u64 msg)
{
#ifdef ZT_REGS_NR
	_Static_assert(__builtin_offsetof(struct user_msghdr, msg_iovlen) ==
			       __builtin_offsetof(struct user_msghdr, msg_iov) + 8 &&
		       __builtin_offsetof(struct zt_ubuf, iovcnt) ==
			       __builtin_offsetof(struct zt_ubuf, iov) + 8,
		       "msg_iov and msg_iovlen are read at once");
	switch (a->nr) {
	case ZT_NR_read:
	case ZT_NR_write:
	case ZT_NR_sendto:
	case ZT_NR_recvfrom:
		u->base = a->arg2;
		u->size = a->arg3;
		return a->arg2 != 0;
	case ZT_NR_readv:
	case ZT_NR_writev:
		u->iov = a->arg2;
		u->iovcnt = a->arg3;
		break;
	case ZT_NR_sendmsg:
	case ZT_NR_recvmsg:
	case ZT_NR_sendmmsg:
	case ZT_NR_recvmmsg:
		/* msg_iov and msg_iovlen in one read (a helper call costs
		 * more than the bytes): adjacent in both structs. */
		if (!msg ||
		    bpf_probe_read_user(&u->iov, 16,
					(void *)(msg + __builtin_offsetof(struct user_msghdr, msg_iov))))
			return false;
		break;
	default:
		return false;
	}
	return u->iov && zt_iov_batch(u, 0);
#else
	return false;
#endif
}

/* Bytes the first batch of iovecs holds, or -1 when the vector is longer. */
static __always_inline __s64 zt_ubuf_batch_bytes(const struct zt_ubuf *u)
{
	__u64 sum = 0;

	if (!u->iov || u->iovcnt > ZT_IOV_BATCH)
		return -1;
	for (int i = 0; i < ZT_IOV_BATCH; i++) {
		if (i >= u->nv)
			break;
		sum += u->v[i].len;
	}
	return sum;
}

/*
 * Copies the first `want` bytes of the message into dst (sized
 * 2 * ZT_CAPTURE_MAX, so every offset and length below is provably in
 * bounds), across up to ZT_IOV_BATCHES batches of iovecs: nginx puts a
 * response's header, chunk-size line and body start in iovecs of their
 * own, and grpc-core gives every HPACK string one (22 for a request's
 * HEADERS frame). Leaves batch 0 in u->v, as the tail and the mmsg check
 * expect. Returns the bytes copied, or -1 when user memory could not be read.
 */
static __always_inline int zt_user_gather(struct zt_ubuf *u, __u32 want, __u8 *dst)
{
	__u32 off = 0, k;
	int ret = 0;

	if (!u->iov && u->size && want > u->size)
		want = u->size;
	want &= ZT_CAPTURE_MAX * 2 - 1;
	if (!u->iov) {
		if (bpf_probe_read_user(dst, want, (void *)u->base))
			return -1;
		return want;
	}
	for (int b = 0; b < ZT_IOV_BATCHES; b++) {
		if (b && (off >= want || u->nv < ZT_IOV_BATCH ||
			  !zt_iov_batch(u, (__u64)b * ZT_IOV_BATCH)))
			break;
		for (int i = 0; i < ZT_IOV_BATCH; i++) {
			if (i >= u->nv || off >= want)
				break;
			k = u->v[i].len < want - off ? u->v[i].len : want - off;
			k &= ZT_CAPTURE_MAX - 1;
			off &= ZT_CAPTURE_MAX - 1;
			if (k && bpf_probe_read_user(dst + off, k, (void *)u->v[i].base)) {
				ret = off ? 0 : -1;
				goto out;
			}
			off += k;
		}
	}
out:
	if (u->vat)
		zt_iov_batch(u, 0);
	return ret < 0 ? ret : (int)off;
}

/*
 * The last bytes of a message of `len` bytes into out: the end of a chunked
 * body ("\r\n0\r\n\r\n") lies there, past any prefix we capture. Up to
 * ZT_TAIL_LEN, fewer when the message ends in a shorter iovec (nginx sends
 * that end as an iovec of its own). The iovecs are summed up to `len` (a
 * short write ends before the vector does). Returns the bytes read.
 */
static __always_inline __u8 zt_user_tail(struct zt_ubuf *u, __u64 len, __u8 *out)
{
	__u64 end = 0, cum = 0, sz = ZT_TAIL_LEN;

	if (len < ZT_TAIL_LEN || (!u->iov && u->size && len > u->size))
		return 0;
	if (!u->iov)
		end = u->base + len;
	/* Batch 0 is in u->v already (zt_user_buf). */
	for (int b = 0; b < ZT_IOV_BATCHES && !end; b++) {
		if (b && !zt_iov_batch(u, b * ZT_IOV_BATCH))
			return 0;
		for (int i = 0; i < ZT_IOV_BATCH; i++) {
			if (i >= u->nv)
				break;
			cum += u->v[i].len;
			if (cum >= len) {
				/* The message ends inside this iovec. */
				end = u->v[i].base + u->v[i].len - (cum - len);
				if (end - u->v[i].base < sz)
					sz = end - u->v[i].base;
				break;
			}
		}
		if (!end && u->nv < ZT_IOV_BATCH)
			return 0; /* the vector ended first (len beyond it: no tail) */
	}
	if (!end || !sz || sz > ZT_TAIL_LEN)
		return 0;
	/* Already 1..8; a mask older verifiers (6.1) can follow. */
	sz &= 2 * ZT_TAIL_LEN - 1;
	if (bpf_probe_read_user(out, sz, (void *)(end - sz)))
		return 0;
	return sz;
}

#endif
