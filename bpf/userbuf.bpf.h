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
#include <bpf/bpf_helpers.h>

#if defined(__TARGET_ARCH_x86)
enum {
	ZT_NR_read = 0, ZT_NR_write = 1, ZT_NR_readv = 19, ZT_NR_writev = 20,
	ZT_NR_sendto = 44, ZT_NR_recvfrom = 45, ZT_NR_sendmsg = 46, ZT_NR_recvmsg = 47,
};
#define ZT_REGS_NR(r) ((r)->orig_ax)
#define ZT_REGS_ARG2(r) ((r)->si)
#endif

struct zt_iovec {
	__u64 base;
	__u64 len;
};

/* Returns the user address of the first contiguous run of the message and
 * its length in *avail, or 0 when there is no user buffer to read. */
static __always_inline __u64 zt_user_buf(__u64 *avail)
{
#ifdef ZT_REGS_NR
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	struct zt_iovec iov = {};
	__u64 arg2, msg_iov = 0;

	if (!regs)
		return 0;
	arg2 = ZT_REGS_ARG2(regs);
	switch (ZT_REGS_NR(regs)) {
	case ZT_NR_read:
	case ZT_NR_write:
	case ZT_NR_sendto:
	case ZT_NR_recvfrom:
		*avail = ~0ULL; /* bounded by the syscall's return value */
		return arg2;
	case ZT_NR_readv:
	case ZT_NR_writev:
		msg_iov = arg2;
		break;
	case ZT_NR_sendmsg:
	case ZT_NR_recvmsg:
		if (bpf_probe_read_user(&msg_iov, sizeof(msg_iov),
					(void *)(arg2 + __builtin_offsetof(struct user_msghdr, msg_iov))))
			return 0;
		break;
	default:
		return 0;
	}
	if (!msg_iov || bpf_probe_read_user(&iov, sizeof(iov), (void *)msg_iov))
		return 0;
	*avail = iov.len;
	return iov.base;
#else
	return 0;
#endif
}

#endif
