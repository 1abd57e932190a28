/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * OTLP/HTTP export: spans go to a bounded queue the tracing loop never
 * waits on; a sender thread posts them in batches with libcurl.
 *
 * Bounds and policy:
 * - queue: `queue_max` spans (default 8192), preallocated; a span submitted
 *   while it is full is dropped and counted (dropped_queue_full). A batch
 *   being sent is out of the queue, so up to queue_max + batch_max spans
 *   wait while the collector is away.
 * - batch: up to `batch_max` spans (default 512), posted when full or when
 *   its oldest span waited `flush_ms` (default 1000).
 * - retries: 429, 502, 503, 504 and connection errors are retried for as
 *   long as ztrace runs, with exponential backoff from 100 ms to 5 s (a
 *   Retry-After in seconds is honoured up to 30 s); any other status not 2xx
 *   drops the batch (dropped_rejected).
 * - exit: zt_otlp_stop() sends what is queued until its deadline; what is
 *   left then is dropped_at_exit.
 * sent + dropped_* == spans submitted, once stopped.
 */
#ifndef ZT_OTLP_H
#define ZT_OTLP_H

#include <stdbool.h>
#include <stdint.h>

#include "../span.h"

struct zt_otlp_opts {
	const char *url;     /* "host:port" gets http:// and /v1/traces */
	bool json;           /* OTLP/HTTP JSON instead of protobuf */
	uint32_t queue_max;  /* 0: 8192 */
	uint32_t batch_max;  /* 0: 512 */
	int flush_ms;        /* 0: 1000 */
};

struct zt_otlp_stats {
	uint64_t submitted, sent, batches, retries;
	uint64_t dropped_queue_full, dropped_rejected, dropped_at_exit;
};

struct zt_otlp;

/* Starts the sender thread. NULL with a message in err on failure. */
struct zt_otlp *zt_otlp_new(const struct zt_otlp_opts *o, char *err, size_t errsz);
/* Copies the span into the queue; never blocks on the network. */
void zt_otlp_submit(struct zt_otlp *x, const struct zt_span *s);
/* Sends what is queued for at most deadline_ms, then stops the thread. */
void zt_otlp_stop(struct zt_otlp *x, int deadline_ms);
void zt_otlp_get_stats(struct zt_otlp *x, struct zt_otlp_stats *st);
void zt_otlp_free(struct zt_otlp *x);

#endif
