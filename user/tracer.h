/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Records in, spans out: the userspace half of ztrace, with no BPF in it so
 * tests and fuzzers can drive it with records they make up. The ring buffer
 * consumer passes every record to zt_tracer_on_record.
 */
#ifndef ZT_TRACER_H
#define ZT_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/http1.h"
#include "proto/proto.h"
#include "span.h"
#include "trace/link.h"
#include "ztrace.h"

struct zt_tracer_stats {
	uint64_t records[ZT_EV_TYPES]; /* by enum zt_event_type */
	uint64_t spans;
	uint64_t bad_records;      /* malformed or unknown records: a bug, counted */
	uint64_t conn_evicted;     /* connection table full: oldest dropped */
	uint64_t conn_untracked;   /* data for a connection whose record never came */
	uint64_t gaps;             /* holes in a connection's byte stream (lost records) */
	uint64_t gap_bytes;
	uint64_t unrecognised;     /* connections no parser recognised: ignored */
	uint64_t unparsed_no_bytes; /* messages without captured bytes (sendfile, splice,
				     * io_uring, an unreadable buffer) on a connection whose
				     * protocol was not known yet: they could not be parsed */
	uint64_t traceparent_bad;  /* malformed traceparent headers ignored */
	uint64_t alloc_fail;       /* out of memory: the record was dropped */
	uint64_t open_at_exit;     /* connections still open when ztrace stopped */
	uint64_t tls_conns;        /* connections whose plaintext came from a TLS library */
	uint64_t tls_opaque;       /* TLS connections closed with no plaintext seen (a TLS
				    * stack ztrace does not probe): counted, not parsed */
	uint64_t udp_expired;      /* UDP sockets settled and forgotten after being idle */
	struct http1_stats http1;
	struct zt_proto_stats proto[ZT_PROTO_MAX]; /* by enum zt_proto_id; for HTTP/1
						     * only conns and txns */
};

struct zt_tracer_opts {
	uint32_t max_conns;       /* connection table bound */
	int64_t mono_to_unix;     /* add to kernel timestamps for unix ns */
	const char *cgroup_root;  /* cgroup2 mount, for names; NULL: no names */
	struct zt_owners *owners; /* each span's owner (may be NULL: none) */
	void (*on_span)(void *ctx, struct zt_span *s);
	/* Each finished trace, after its spans (may be NULL). */
	void (*on_trace)(void *ctx, const struct zt_trace_out *t);
	uint64_t link_wait_ns;    /* 0: ZT_LINK_WAIT_NS */
	uint32_t link_max_held;   /* 0: ZT_LINK_MAX_HELD */
	/* A traced process exec'd or was forked (may be NULL): a chance to find
	 * its TLS library. */
	void (*on_exec)(void *exec_ctx, uint32_t pid, bool forked);
	/* A close record is settled at the end of the drain (zt_tracer_poll),
	 * not when it is read: a connection's last data record can follow its
	 * close in the ring (the peer's RST to a response, processed inside
	 * the send, closes the socket before the send's own record is made). */
	bool defer_close;
	void *ctx;
	void *exec_ctx;
};

struct zt_tracer;

struct zt_tracer *zt_tracer_new(const struct zt_tracer_opts *opts);
/* Frees everything; connections still open are counted in open_at_exit. */
void zt_tracer_free(struct zt_tracer *tr);
/* One ring buffer record. Returns 0; malformed records are counted. */
int zt_tracer_on_record(struct zt_tracer *tr, const void *data, size_t size);
const struct zt_tracer_stats *zt_tracer_stats(const struct zt_tracer *tr);
/* Connections in the table now. */
uint32_t zt_tracer_conns(const struct zt_tracer *tr);
/* Cgroup names cached now. */
uint32_t zt_tracer_cgroup_names(const struct zt_tracer *tr);
/* Housekeeping, every few seconds: forgets cgroups that are gone, expires
 * idle UDP sockets (zt_tracer_expire_udp with the current time). */
void zt_tracer_tick(struct zt_tracer *tr);
/* UDP sockets without a datagram for 30 s before `now_ns` (CLOCK_MONOTONIC,
 * as the records' timestamps) are settled by their parser and removed. */
void zt_tracer_expire_udp(struct zt_tracer *tr, uint64_t now_ns);
/* After every drain: closes read in it are settled (defer_close), and
 * spans whose links waited long enough go out. */
void zt_tracer_poll(struct zt_tracer *tr);
/* Spans held for linking go out now, as they stand (at exit). */
void zt_tracer_flush(struct zt_tracer *tr);
const struct zt_link_stats *zt_tracer_link_stats(const struct zt_tracer *tr);

/* A request in flight now. */
struct zt_open_request {
	const char *container, *cgroup, *protocol;
	const char *method, *target; /* HTTP/1's request line, "" otherwise */
	char peer[ZT_ADDR_STR_MAX];
	uint64_t start_ns;           /* kernel monotonic */
	bool client;                 /* we sent it and wait for the answer */
};
/* Calls fn on the requests in flight over TCP, served (arrived, not
 * answered) or made (sent, no answer yet), most recently active connection
 * first, `max` at most; returns how many are open. Costs a walk of the
 * connection table. */
uint32_t zt_tracer_open_requests(struct zt_tracer *tr,
				 void (*fn)(void *ctx, const struct zt_open_request *r), void *ctx,
				 uint32_t max);

#endif
