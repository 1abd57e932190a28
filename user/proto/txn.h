/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One request and its response, as any protocol parser reports it: the
 * common currency between user/proto/ and the span assembly. Every parser
 * fills the same fields, so exporters need not know which protocol spoke.
 */
#ifndef ZT_PROTO_TXN_H
#define ZT_PROTO_TXN_H

#include <stdbool.h>
#include <stdint.h>

#define ZT_TXN_OP_MAX 32          /* "GEORADIUSBYMEMBER_RO" fits */
#define ZT_TXN_TARGET_MAX 256     /* path, statement or name; longer is cut, ZT_F_TARGET_CUT */
#define ZT_TXN_TRACEPARENT_MAX 56 /* W3C traceparent, 55 chars + NUL */
#define ZT_TXN_ERROR_MAX 32       /* "UNIMPLEMENTED", "NXDOMAIN", an SQLSTATE */

struct zt_txn {
	/* Static string: "http", "http2", "grpc", "redis", "postgresql",
	 * "mysql", "dns". */
	const char *protocol;
	/* The operation: HTTP method, Redis command, SQL verb, DNS query type. */
	char method[ZT_TXN_OP_MAX];
	/* What it was applied to: HTTP path and query, gRPC /pkg.Service/Method,
	 * SQL statement with literals as '?', DNS query name. Never keys or values. */
	char target[ZT_TXN_TARGET_MAX];
	char traceparent[ZT_TXN_TRACEPARENT_MAX]; /* "" when absent; raw, not validated */
	/* The protocol's own error: gRPC status name, Redis error prefix ("ERR",
	 * "WRONGTYPE"), SQLSTATE, MySQL error number, DNS RCODE name. "" when none. */
	char error[ZT_TXN_ERROR_MAX];
	/* HTTP and HTTP/2: the response status; gRPC: grpc-status; MySQL: the
	 * error number; DNS: the RCODE; 0 otherwise. */
	int status;
	bool failed;         /* the protocol says the request failed (5xx, error reply...) */
	bool server;         /* request was received (we are the server) */
	uint8_t version;     /* HTTP/1: minor version x10 + 10; HTTP/2: 20; else 0 */
	uint32_t stream;     /* HTTP/2 stream id; 0 elsewhere */
	uint64_t req_first_ns, req_last_ns;   /* first and last byte of the request */
	uint64_t resp_first_ns, resp_last_ns; /* first and last byte of the final response */
	uint64_t req_bytes, resp_bytes;       /* whole messages */
	uint32_t flags;      /* ZT_F_* data-quality marks */
};

typedef void (*zt_txn_emit_fn)(void *ctx, const struct zt_txn *txn);

/*
 * Drop and quality counters every protocol after HTTP/1 keeps, summed over
 * connections by the caller (tracer stats, the exit summary).
 */
struct zt_proto_stats {
	uint64_t conns;             /* connections detected as this protocol */
	uint64_t txns;              /* transactions emitted */
	uint64_t unanswered;        /* requests still waiting at close */
	uint64_t orphan_responses;  /* responses with no request to pair with */
	uint64_t resyncs;           /* framing lost, found again */
	uint64_t overflow;          /* a bound was hit (pending requests, streams,
				     * buffered bytes): the oldest was dropped */
	uint64_t malformed;         /* bytes that broke the protocol: connection dropped */
	uint64_t midstream;         /* capture began inside the connection */
};

#endif
