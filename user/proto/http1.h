/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * HTTP/1.x, both directions of one TCP connection, fed one socket message
 * (one send or receive) at a time.
 *
 * The kernel hands us a bounded prefix of each message: `cap` captured bytes
 * of a message that was `len` bytes long. Bodies are followed by length
 * (Content-Length, chunk sizes) so that the next message is found even when
 * the captured prefix was cut; where the framing itself was not captured the
 * parser resynchronises at the next message start and says so in the
 * transaction's flags, rather than guessing.
 *
 * Memory per connection is bounded (see HTTP1_* limits below) and the common
 * path (a request or response whose header fits in one captured read)
 * allocates nothing.
 */
#ifndef ZT_PROTO_HTTP1_H
#define ZT_PROTO_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../flags.h"
#include "txn.h"

/* Bounds. A demanding user's headers fit; a hostile peer's do not grow us. */
#define HTTP1_METHOD_MAX 16       /* "PROPPATCH" and friends fit */
#define HTTP1_TARGET_MAX ZT_TXN_TARGET_MAX /* path and query; longer is cut, ZT_F_TARGET_CUT */
#define HTTP1_HEADER_MAX 16384    /* a header block larger than this is abandoned */
#define HTTP1_PIPELINE_MAX 32     /* requests awaiting their response; oldest dropped */

enum http1_dir {
	HTTP1_IN = 0,  /* bytes this socket received */
	HTTP1_OUT = 1, /* bytes this socket sent */
};


/* Per-connection drop/quality counters, summed by the caller. */
struct http1_stats {
	uint64_t pipeline_overflow; /* request dropped: HTTP1_PIPELINE_MAX awaiting */
	uint64_t header_too_big;    /* header block over HTTP1_HEADER_MAX */
	uint64_t resyncs;           /* lost framing, found the next message again */
	uint64_t orphan_responses;  /* response with no request to pair with */
	uint64_t requests_unseen;   /* response to a request hidden in unframed
				     * bytes: emitted, method and target empty */
	uint64_t unanswered;        /* requests still open at close */
};

/* Opaque-ish: callers allocate it inline in their connection record. */
struct http1_conn;

size_t http1_conn_size(void);
void http1_conn_init(struct http1_conn *c);
/* Frees what init/feed allocated (split-header buffers, pipeline queue). */
void http1_conn_free(struct http1_conn *c);

/*
 * Feed one message. `data` holds the first `cap` bytes of a `len`-byte
 * message (cap <= len); `tail`, when not NULL, its last `tail_len` bytes
 * (how a chunked body's end is seen past a cut). `ts_ns` is when the send or
 * receive completed.
 * Finished transactions are passed to `emit` before this returns.
 * Returns 0, or -EPROTO once the connection is judged not to be HTTP/1
 * (the caller should stop feeding it; further calls also return -EPROTO).
 */
int http1_conn_feed(struct http1_conn *c, enum http1_dir dir, uint64_t ts_ns,
		    const uint8_t *data, uint32_t cap, uint32_t len,
		    const uint8_t *tail, uint32_t tail_len,
		    zt_txn_emit_fn emit, void *ctx, struct http1_stats *st);

/*
 * The connection closed at `ts_ns`: a response delimited by close completes;
 * requests still waiting are emitted with status 0 and ZT_F_NO_RESPONSE.
 */
void http1_conn_close(struct http1_conn *c, uint64_t ts_ns,
		      zt_txn_emit_fn emit, void *ctx, struct http1_stats *st);

/* True when the first bytes of a stream look like an HTTP/1 request or response. */
bool http1_detect(const uint8_t *data, uint32_t cap);

#endif
