/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Linking spans into traces on one host, exactly, without touching the wire.
 *
 * Across processes: a client span and a server span are the two ends of one
 * TCP connection (mirrored tuples; loopback addresses only within one network
 * namespace) and of the same request on it (the transaction's order on the
 * connection, or the HTTP/2 stream id). The server span's parent is the
 * client span. Both timings must nest (the client sent before the server
 * received and received after the server answered), or no link is made.
 *
 * Inside a process: the tracer says, for each client span, which server
 * request was open on the sending thread when its request left (exactly one:
 * certain; several: ambiguous; none on that thread but some in the process:
 * a thread pool; none at all: the trace starts here). A certain one becomes
 * the parent, if the timings nest.
 *
 * Spans are held until their links are settled: a server span finishes
 * before its client span, and a proxy's server span after its client span,
 * so a trace comes out whole when its root is in. Bounds: a span waits at
 * most `wait_ns` for what it waits for (then it goes out without it:
 * counted as expired), and at most `max_held` spans are held (beyond, the
 * oldest stops waiting: counted as held_overflow). A client span waits
 * 4 x wait_ns for its server request (see ZT_LINK_WAIT_NS).
 *
 * A span without a parent says why (struct zt_span.no_parent):
 *   "root"        a client span sent while its process served no request:
 *                 the trace starts here
 *   "ambiguous"   several server requests were open on the sending thread
 *                 (an event loop serving many): which one caused it is not
 *                 certain, so none is picked
 *   "thread_pool" no server request open on the sending thread, some on
 *                 other threads of the process: a hand-off ztrace cannot see
 *   "no_peer"     a server span whose client end is not traced on this host
 *   "expired"     what it waited for (its peer or its server request) did not
 *                 come within the bound
 *   "mismatch"    a peer or a server request was found but the timings do not
 *                 nest (a connection whose start ztrace missed counts
 *                 requests from another origin): no link is guessed
 * A span with a valid W3C traceparent and no link here keeps the header's
 * trace id and parent and says nothing.
 */
#ifndef ZT_TRACE_LINK_H
#define ZT_TRACE_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "../span.h"

/* Waits end early in the common case (a trace goes out as soon as it is
 * whole); they run out only when a span never comes (a parser that could
 * not read one end, a connection evicted), so they can be generous. A
 * client span waits for the server request it was sent under 4 x longer:
 * a handler may work on after its last call. */
#define ZT_LINK_WAIT_NS (2000ULL * 1000000ULL) /* default wait_ns */
#define ZT_LINK_MAX_HELD 8192                 /* default max_held */

/* The two ends of a TCP connection, from the client's side: the same key
 * on both ends. Addresses are IPv6 (IPv4 v4-mapped). */
struct zt_link_tuple {
	uint8_t caddr[16], saddr[16];
	uint16_t cport, sport;
	uint32_t netns; /* 0 unless an address is loopback */
};

enum zt_link_local {
	ZT_LOCAL_NONE = 0,    /* not a client span, or nothing known */
	ZT_LOCAL_PARENT,      /* exactly one server request open: parent_conn/seq */
	ZT_LOCAL_ROOT,
	ZT_LOCAL_AMBIGUOUS,
	ZT_LOCAL_THREAD_POOL,
};

/* What the tracer knows of a span beyond struct zt_span. */
struct zt_link_info {
	uint64_t conn_id, seq;      /* its connection, its order on it */
	bool has_tuple;             /* TCP, role known from the handshake */
	struct zt_link_tuple tuple;
	uint64_t ord;               /* seq, or the HTTP/2 stream id | 1 << 63 */
	bool peer_traced;           /* the other end is a traced connection */
	uint8_t local;              /* enum zt_link_local (client spans) */
	uint64_t parent_conn, parent_seq;
};

struct zt_link_stats {
	uint64_t linked_peer;   /* server spans whose parent is their client span */
	uint64_t linked_local;  /* client spans whose parent is a server span of their thread */
	uint64_t roots, no_peer, ambiguous, thread_pool, mismatch;
	uint64_t expired;       /* waits that ran out */
	uint64_t held_overflow; /* max_held reached: the oldest stopped waiting */
	uint64_t traces;        /* traces emitted */
	uint64_t held;          /* spans held now */
	uint64_t held_max;      /* the most held at once */
};

/* A finished trace: its spans in depth-first order, parent[i] the index of
 * span i's parent (-1 for the root, index 0). Valid during the callback. */
struct zt_trace_out {
	int n;
	struct zt_span **spans;
	const int *parent;
};

struct zt_link_opts {
	uint64_t wait_ns;    /* 0: ZT_LINK_WAIT_NS */
	uint32_t max_held;   /* 0: ZT_LINK_MAX_HELD */
	void (*on_span)(void *ctx, struct zt_span *s);
	void (*on_trace)(void *ctx, const struct zt_trace_out *t); /* may be NULL */
	void *ctx;
};

struct zt_linker;

struct zt_linker *zt_linker_new(const struct zt_link_opts *o);
/* Emits everything still held (as it stands), then frees. */
void zt_linker_free(struct zt_linker *lk);
/* A finished span (copied). `now_ns` is monotonic, as the records' times. */
void zt_linker_add(struct zt_linker *lk, const struct zt_span *s, const struct zt_link_info *li,
		   uint64_t now_ns);
/* Ends the waits older than wait_ns; emits the traces that are then whole. */
void zt_linker_expire(struct zt_linker *lk, uint64_t now_ns);
/* Emits everything held now. */
void zt_linker_flush(struct zt_linker *lk);
const struct zt_link_stats *zt_linker_stats(const struct zt_linker *lk);

/* Traced connections, by tuple and side: tells a span whether its peer's
 * span can come. Counted, so two sockets with one tuple (a reused port
 * while the old one lingers) are both held. */
void zt_linker_conn_add(struct zt_linker *lk, const struct zt_link_tuple *t, bool server);
void zt_linker_conn_del(struct zt_linker *lk, const struct zt_link_tuple *t, bool server);
bool zt_linker_conn_traced(const struct zt_linker *lk, const struct zt_link_tuple *t, bool server);

/*
 * Server requests open (arrived, not answered) per thread, fed by the tracer
 * as requests arrive and answers leave; zt_linker_local says what was open
 * on a thread when one of its client requests left (*conn: the one server
 * connection, for ZT_LOCAL_PARENT). Entries live while a count is non-zero.
 */
void zt_linker_srv_open(struct zt_linker *lk, uint32_t pid, uint32_t tid, uint64_t conn);
void zt_linker_srv_close(struct zt_linker *lk, uint32_t pid, uint32_t tid, uint64_t conn);
enum zt_link_local zt_linker_local(const struct zt_linker *lk, uint32_t pid, uint32_t tid,
				   uint64_t *conn);

/* The key of a connection from one end's addresses (local, peer) and role. */
void zt_link_tuple_make(struct zt_link_tuple *t, uint16_t family, const uint8_t local[16],
			uint16_t lport, const uint8_t peer[16], uint16_t pport, bool server,
			uint32_t netns);

#endif
