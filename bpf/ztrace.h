/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel/user ABI: every record the BPF side writes to the ring buffer,
 * and the counters it keeps. Included by both sides; sizes are checked on
 * both with _Static_assert so a layout drift fails the build, not a trace.
 *
 * Rules: fixed-width types, largest first, explicit padding, every record
 * starts with struct zt_event_hdr so the consumer dispatches on `type`.
 */
#ifndef ZT_ABI_H
#define ZT_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Payload capture: a prefix of each socket message, at most this many bytes.
 * --capture-bytes picks a value up to it (default ZT_CAPTURE_DEFAULT). */
#define ZT_CAPTURE_MAX 4096
#define ZT_CAPTURE_DEFAULT 512
/* Bytes kept of the end of a message that was not captured whole. */
#define ZT_TAIL_LEN 8

/* Deepest cgroup nesting the in-kernel ancestor walk looks at. */
#define ZT_CGROUP_MAX_DEPTH 16
/* UDP sockets have no close: userspace forgets one idle this long, and the
 * kernel side announces a UDP socket again (conn record, same id) when it
 * comes back after half that. */
#define ZT_UDP_IDLE_NS (30ULL * 1000000000ULL)

/* Cgroups a user can select (each selection includes its subtree). */
#define ZT_MAX_TRACED_CGROUPS 1024

enum zt_event_type {
	ZT_EV_CONN = 1,  /* a traced socket seen for the first time; again for a
			  * UDP socket without connect() each time the peer of
			  * its sends changes (same conn_id, the new daddr/dport) */
	ZT_EV_DATA = 2,  /* one send or receive on a traced socket */
	ZT_EV_CLOSE = 3, /* a traced socket reached TCP_CLOSE (TCP only: userspace
			  * expires idle UDP sockets) */
	ZT_EV_EXEC = 4,  /* a traced process exec'd or was forked: userspace looks
			  * for TLS libraries */
	ZT_EV_CGROUP = 5, /* a cgroup2 directory was made: its name, in case it is
			   * gone before userspace reads its other records */
	ZT_EV_TYPES,
};

enum zt_dir {
	ZT_DIR_IN = 0,  /* received by the socket's owner */
	ZT_DIR_OUT = 1, /* sent by the socket's owner */
};

enum zt_role {
	ZT_ROLE_UNKNOWN = 0, /* connection predates ztrace or its handshake was missed */
	ZT_ROLE_CLIENT = 1,  /* active open: SYN_SENT -> ESTABLISHED */
	ZT_ROLE_SERVER = 2,  /* passive open: SYN_RECV -> ESTABLISHED */
};

enum zt_conn_origin {
	ZT_ORIGIN_HANDSHAKE = 1, /* seen at the ESTABLISHED transition */
	ZT_ORIGIN_FIRST_IO = 2,  /* seen at its first traced send or receive */
};

/* zt_data_event.flags */
#define ZT_DF_NO_PAYLOAD 0x1 /* bytes did not come from a user buffer (sendfile, splice, io_uring) */
#define ZT_DF_READ_FAIL  0x2 /* the user buffer could not be read */
#define ZT_DF_TLS        0x4 /* plaintext handed to or by a TLS library; offsets count
			      * plaintext bytes, not the socket's */
#define ZT_DF_SCHED      0x8 /* cpu_ns and runq_ns hold the thread's counters */
#define ZT_DF_TCPINFO    0x10 /* srtt_us and retrans hold the TCP socket's */
#define ZT_DF_SAME_COMM  0x20 /* comm not read: this socket's previous record came from
                               * the same thread and carried its name */

/*
 * Counters, one per-CPU slot each, summed by userspace. Every record the BPF
 * side could not deliver lands in exactly one of these.
 */
enum zt_counter {
	ZT_CNT_RB_FULL_CONN = 0,  /* ring buffer full: conn record lost */
	ZT_CNT_RB_FULL_DATA,      /* ring buffer full: data record lost */
	ZT_CNT_RB_FULL_CLOSE,     /* ring buffer full: close record lost */
	ZT_CNT_SK_STORAGE_FAIL,   /* per-socket state could not be created */
	ZT_CNT_READ_USER_FAIL,    /* payload unreadable (record still sent, flagged) */
	ZT_CNT_EV_CONN,           /* records written, for ring buffer accounting */
	ZT_CNT_EV_DATA,           /* unused: data records are counted as they are read */
	ZT_CNT_EV_CLOSE,
	ZT_CNT_RB_FULL_EXEC,      /* ring buffer full: exec record lost (a late library scan) */
	ZT_CNT_EV_EXEC,
	ZT_CNT_TLS_UNBOUND,       /* TLS plaintext whose socket was never seen: dropped */
	ZT_CNT_RETPROBE_MISSED,   /* a call whose return probe never fired (kretprobe
				   * maxactive, a uretprobe's stack of returns): its record
				   * is lost */
	ZT_CNT_RB_FULL_CGROUP,    /* ring buffer full: cgroup record lost (a short-lived
				   * container may show as "?") */
	ZT_CNT_EV_CGROUP,
	ZT_CNT_CPU_BUSY,          /* programs of ours preempted on its CPU (kernels with
				   * preemptible BPF programs, PREEMPT_LAZY/FULL) held every
				   * slot of this CPU's scratch space: the record is lost */
	ZT_CNT_RESCUED,           /* messages a twin program took up where the kernel
				   * skipped the primary (bpf/twin.bpf.h): not lost */
	ZT_CNT_MAX,
};

struct zt_event_hdr {
	__u64 ts_ns;   /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 conn_id; /* socket cookie: unique per socket for the boot */
	__u16 type;    /* enum zt_event_type */
	__u16 pad[3];
};

struct zt_conn_event {
	struct zt_event_hdr hdr;
	__u64 cgroup_id; /* cgroup2 id the socket is attributed to */
	__u8 saddr[16];  /* local address: IPv4 in the first 4 bytes, or IPv6 */
	__u8 daddr[16];  /* peer address. UDP without connect(): the destination
			  * of its latest send (sendto's address, msg_name), 0
			  * while it has only received (a receive's source is
			  * not in reach of the hooks) */
	__u32 netns;     /* network namespace inode: tuples are per namespace */
	__u16 sport;     /* local port, host order */
	__u16 dport;     /* peer port, host order */
	__u16 family;    /* AF_INET or AF_INET6 */
	__u8 role;       /* enum zt_role */
	__u8 origin;     /* enum zt_conn_origin */
	__u8 ipproto;    /* IPPROTO_UDP for UDP sockets; 0 or IPPROTO_TCP: TCP */
	__u8 pad[3];
	/* Client seen from its handshake: SYN_SENT to ESTABLISHED, ns (the
	 * connect phase); 0 when the SYN was not seen. */
	__u64 connect_ns;
};

struct zt_data_event {
	struct zt_event_hdr hdr;
	__u64 cgroup_id; /* cgroup2 id of the task doing the I/O */
	__u64 offset;    /* bytes this socket moved in this direction before this
			  * message: a jump tells userspace records were lost */
	__u32 pid;       /* tgid */
	__u32 tid;
	__u32 len;       /* bytes the syscall moved */
	__u32 cap;       /* bytes of that message captured in data[] (<= len) */
	__u8 dir;        /* enum zt_dir */
	__u8 flags;      /* ZT_DF_* */
	__u8 tail_len;   /* 0..ZT_TAIL_LEN: when len > cap, tail[] holds
			  * the message's last bytes (where a chunked body ends) */
	__u8 pad;
	__u32 pad2;
	__u8 tail[ZT_TAIL_LEN];
	char comm[16];
	/* ZT_DF_SCHED: the doing thread's cumulative time on a CPU and waiting
	 * in a run queue (runnable, not running), ns, since its accounting
	 * began (its first traced I/O): userspace takes differences between
	 * two records of the same thread. */
	__u64 cpu_ns;
	__u64 runq_ns;
	/* ZT_DF_TCPINFO: the TCP socket's smoothed RTT (us) and its
	 * retransmitted segments so far, read as the record was made. */
	__u32 srtt_us;
	__u32 retrans;
	/* followed by `cap` payload bytes */
};

struct zt_close_event {
	struct zt_event_hdr hdr;
};

struct zt_exec_event {
	struct zt_event_hdr hdr; /* conn_id 0 */
	__u64 cgroup_id;
	__u32 pid;               /* tgid that exec'd, or the new process */
	__u8 forked;             /* 1: a fork (its maps are its parent's), 0: an exec */
	__u8 pad[3];
};

/* Paths longer than this are cut (userspace then names the cgroup by a
 * walk, if it still exists). */
#define ZT_CGROUP_EV_PATH 256

struct zt_cgroup_event {
	struct zt_event_hdr hdr;  /* conn_id 0 */
	__u64 cgroup_id;
	char path[ZT_CGROUP_EV_PATH]; /* from the cgroup2 root: "/a/b", NUL-terminated */
};

/* Per-socket state kept by the kernel side (BPF_MAP_TYPE_SK_STORAGE). */
struct zt_sock {
	__u64 conn_id;   /* 0 until the conn record went out */
	__u64 cgroup_id;
	__u64 bytes[2];  /* by enum zt_dir: stream offsets, counted even when a
			  * record is lost */
	__u64 udp_last_ns; /* UDP: the latest datagram (see ZT_UDP_IDLE_NS) */
	__u64 udp_key;     /* UDP, state in a hash: the socket's ports and peer when
			    * announced; another socket at a freed one's address
			    * differs and starts afresh */
	/* UDP without connect(): the destination of its latest send, as last
	 * announced (a conn record goes out again when it changes). */
	__u8 peer[16];
	__u16 peer_port;
	__u16 peer_family;
	__u8 role;
	__u8 tls;        /* a TLS library's plaintext is tied to this socket: its
			  * own bytes are ciphertext, counted but not sent */
	__u8 pad[2];
	__u64 syn_ns;    /* client: when SYN_SENT was entered; from ESTABLISHED on,
			  * the connect phase's length (zt_conn_event.connect_ns) */
	__u32 comm_tid;  /* the thread whose name the last record out carried */
	__u32 pad2;
};

#define ZT_ABI_ASSERT(x) _Static_assert(x, #x)
ZT_ABI_ASSERT(sizeof(struct zt_event_hdr) == 24);
ZT_ABI_ASSERT(sizeof(struct zt_conn_event) == 24 + 8 + 32 + 16 + 8);
ZT_ABI_ASSERT(sizeof(struct zt_data_event) == 24 + 8 + 8 + 16 + 8 + 8 + 16 + 24);
ZT_ABI_ASSERT(sizeof(struct zt_close_event) == 24);
ZT_ABI_ASSERT(sizeof(struct zt_exec_event) == 40);
ZT_ABI_ASSERT(sizeof(struct zt_sock) == 88);
ZT_ABI_ASSERT(sizeof(struct zt_cgroup_event) == 24 + 8 + ZT_CGROUP_EV_PATH);

#endif
