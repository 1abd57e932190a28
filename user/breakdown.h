/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where a request's time went, from what the kernel stamped on its records:
 * each data record carries the doing thread's cumulative on-CPU and
 * run-queue time (ZT_DF_SCHED) and its TCP socket's RTT and retransmits
 * (ZT_DF_TCPINFO). Differences between the records at the request's first
 * byte and the response's last give cpu and runq; child client spans give
 * the time waited on downstream calls; the receive and send windows give
 * the network's; the rest is io (other I/O, locks, sleeps). Pure arithmetic,
 * no BPF: unit-tested in tests/unit/test_breakdown.c.
 */
#ifndef ZT_BREAKDOWN_H
#define ZT_BREAKDOWN_H

#include <stdbool.h>
#include <stdint.h>

/* What one data record said about its thread and socket. */
struct zt_stamp {
	uint64_t ts;      /* record time, CLOCK_MONOTONIC ns; 0: none */
	uint64_t cpu_ns;  /* cumulative, ZT_DF_SCHED */
	uint64_t runq_ns;
	uint32_t tid;
	uint32_t srtt_us; /* ZT_DF_TCPINFO */
	uint32_t retrans;
	uint8_t flags;    /* ZT_DF_SCHED | ZT_DF_TCPINFO of the record */
	uint8_t pad[3];
};

/*
 * A union of intervals (the downstream calls of one request), bounded:
 * ZT_IVSET_MAX disjoint intervals; one more joins its nearest neighbour
 * (the gap between them counts as covered) and is counted in `joined`.
 */
#define ZT_IVSET_MAX 8

struct zt_ivset {
	uint64_t lo[ZT_IVSET_MAX], hi[ZT_IVSET_MAX]; /* sorted, disjoint */
	int n;
	uint32_t joined;
};

void zt_ivset_add(struct zt_ivset *s, uint64_t lo, uint64_t hi);
/* Length of the union within [lo, hi]. */
uint64_t zt_ivset_covered(const struct zt_ivset *s, uint64_t lo, uint64_t hi);

/* The request's four records (matched by time to the transaction's
 * first/last request and response bytes; ts 0 where none matched). */
struct zt_bd_input {
	uint64_t req_first_ns, req_last_ns, resp_first_ns, resp_last_ns; /* the txn's */
	struct zt_stamp req_first, req_last, resp_first, resp_last;
	uint64_t deps_ns; /* downstream calls' union within the span */
};

enum zt_bd_sched {
	ZT_BD_SCHED_OK = 0,     /* cpu/runq known */
	ZT_BD_SCHED_NONE,       /* no scheduler counters (--no-sched, a record missed) */
	ZT_BD_SCHED_HANDOFF,    /* another thread sent the response: cpu/runq unknown */
};

struct zt_span_bd {
	bool has;            /* computed (server spans with a response) */
	enum zt_bd_sched sched;
	uint64_t cpu_ns, runq_ns, deps_ns, net_ns, io_ns; /* io: the rest; with
							   * sched != OK it holds
							   * cpu + runq + io */
	bool has_net;        /* srtt/retrans from the socket */
	uint32_t srtt_us;    /* at the response's last byte */
	uint32_t retrans;    /* retransmits between first and last record */
	uint64_t recv_ns;    /* the request's bytes: first to last */
	uint64_t send_ns;    /* the response's: first to last send */
};

/* Fills `out` for a span lasting `dur_ns`. */
void zt_breakdown_compute(const struct zt_bd_input *in, uint64_t dur_ns, struct zt_span_bd *out);

/* The dominant cause in a word: "cpu", "runq", "net", "deps", "io", or NULL
 * when nothing is known (no breakdown, or the unknown rest dominates). */
const char *zt_breakdown_cause(const struct zt_span_bd *b);

/* Client phases (devtools' names): connect (SYN to ESTABLISHED, first
 * request on a connection seen from its handshake), TLS (the handshake's
 * records, first request on the connection), time to first response
 * byte after the request's last, download (first to last response byte). */
struct zt_phases {
	bool has;
	bool has_connect;
	bool has_tls;   /* first request on a TLS connection whose handshake the
			 * socket hooks saw (set by the tracer) */
	uint64_t connect_ns, tls_ns, ttfb_ns, download_ns;
};

void zt_phases_compute(uint64_t req_last_ns, uint64_t resp_first_ns, uint64_t resp_last_ns,
		       uint64_t connect_ns, struct zt_phases *out);

#endif
