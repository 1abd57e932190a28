/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --listen: /tracez, /servicez, /trace?id=, /metrics, served by libmicrohttpd
 * from its own thread. The tracing thread never waits for it: it updates its
 * own aggregate (agg.h) and publishes a copy when a page asked for one or a
 * second passed, under a mutex it only try-locks (a reader copying the
 * published block makes it publish on the next poll instead). The server's
 * thread copies the published block out under the same mutex and formats
 * pages from its copy, with no lock held.
 *
 * Bounds: ZL_LISTEN_CONNS connections at once (ZL_LISTEN_PER_IP per
 * client address), ZL_LISTEN_REQ_MEM bytes of request line and headers
 * (beyond: 414 or 431 from the library), ZL_LISTEN_TIMEOUT_S idle seconds,
 * only GET and HEAD (405), no request header is ever read or echoed.
 */
#ifndef ZT_LIVE_SERVER_H
#define ZT_LIVE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../owners.h"
#include "../trace/tree.h"
#include "../tracer.h"
#include "agg.h"

#define ZL_LISTEN_CONNS 32
#define ZL_LISTEN_PER_IP 16
#define ZL_LISTEN_REQ_MEM 16384
#define ZL_LISTEN_TIMEOUT_S 10

struct zt_live_opts {
	const char *listen;        /* ADDR:PORT, :PORT or PORT (127.0.0.1) */
	struct zt_owners *owners;  /* may be NULL: owners unknown */
	const char *hooks;         /* the hook modes, for ztrace_info */
	int ringbuf_fd;            /* the events ring buffer (-1: fill unknown) */
	uint32_t ringbuf_size;
};

struct zt_live;

/* Starts serving. NULL with a message in err (a bad address, a port in use). */
struct zt_live *zt_live_new(const struct zt_live_opts *o, char *err, size_t errlen);
/* Stops the server's thread, then frees. */
void zt_live_free(struct zt_live *l);
/* Tracing thread: a finished trace. */
void zt_live_trace(struct zt_live *l, const struct zt_trace_out *t);
/* Tracing thread, after each drain: publishes when asked or due, with the
 * requests open now and the drop counters. */
void zt_live_poll(struct zt_live *l, struct zt_tracer *tr, const struct zl_drop *drops,
		  int ndrops);
/* The address served, "127.0.0.1:9464". */
const char *zt_live_addr(const struct zt_live *l);
/* Whether that is a loopback address (else anyone who reaches it reads the
 * pages: the user asked for it explicitly). */
bool zt_live_loopback(const struct zt_live *l);

#endif
