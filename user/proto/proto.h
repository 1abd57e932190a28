/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The protocol parsers behind one interface, and the detection that picks
 * one per connection from its first captured bytes (the ports only break
 * ties). Each parser lives in its own file (user/proto/<name>.c) and exports
 * one `const struct zt_proto_ops`; this table is the only list of them.
 */
#ifndef ZT_PROTO_PROTO_H
#define ZT_PROTO_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "txn.h"
#include "ztrace.h"

enum zt_proto_id {
	ZT_PROTO_NONE = 0,
	ZT_PROTO_HTTP1,
	ZT_PROTO_HTTP2,  /* and gRPC, which is HTTP/2 with its own content type */
	ZT_PROTO_REDIS,
	ZT_PROTO_PGSQL,
	ZT_PROTO_MYSQL,
	ZT_PROTO_DNS,
	ZT_PROTO_MAX,
};

/* What a parser knows of its connection before the first byte. */
struct zt_proto_hint {
	uint8_t role;    /* enum zt_role: who opened the connection, when known */
	uint8_t ipproto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t lport;  /* local and remote port, host order; 0 when unknown */
	uint16_t rport;
};

/* How sure a detector is. Bytes decide; a well-known port only breaks ties. */
enum zt_detect {
	ZT_DETECT_NO = 0,    /* these bytes are not a start of this protocol */
	ZT_DETECT_MAYBE = 1, /* they could be (e.g. a short message that fits) */
	ZT_DETECT_PORT = 2,  /* they could be, and a port is this protocol's */
	ZT_DETECT_YES = 3,   /* the bytes alone say so (a preface, a magic number) */
};

/*
 * One parser. `state` is `state_size` bytes owned by the caller (the
 * connection). Stats point at a struct zt_proto_stats (struct http1_stats
 * for HTTP/1) shared by all connections of the protocol.
 */
struct zt_proto_ops {
	const char *name;
	size_t state_size;
	void (*init)(void *state, const struct zt_proto_hint *h);
	/* Frees what init and feed allocated; `state` itself is the caller's. */
	void (*free)(void *state);
	/*
	 * One message (a send or receive; a datagram on UDP): its first `cap`
	 * bytes of `len` (data NULL and cap 0 for bytes lost in the ring),
	 * `tail` its last `tail_len` bytes when cut. Finished transactions go
	 * to `emit` before this returns. Returns 0, or -EPROTO once the
	 * connection is judged not to speak this protocol (the caller stops
	 * feeding it and may detect again).
	 */
	int (*feed)(void *state, enum zt_dir dir, uint64_t ts_ns, const uint8_t *data,
		    uint32_t cap, uint32_t len, const uint8_t *tail, uint32_t tail_len,
		    zt_txn_emit_fn emit, void *ctx, void *stats);
	/* The connection closed (or left the table) at `ts_ns`: requests still
	 * open are emitted, marked ZT_F_NO_RESPONSE. */
	void (*close)(void *state, uint64_t ts_ns, zt_txn_emit_fn emit, void *ctx, void *stats);
	/* The first captured message of a connection (or the first after a
	 * parser gave up): enum zt_detect. */
	int (*detect)(const uint8_t *data, uint32_t cap, uint32_t len, enum zt_dir dir,
		      const struct zt_proto_hint *h);
};

extern const struct zt_proto_ops zt_proto_http1;
extern const struct zt_proto_ops zt_proto_http2;
extern const struct zt_proto_ops zt_proto_redis;
extern const struct zt_proto_ops zt_proto_pgsql;
extern const struct zt_proto_ops zt_proto_mysql;
extern const struct zt_proto_ops zt_proto_dns;

/* The parser for an id (NULL for ZT_PROTO_NONE or out of range). */
const struct zt_proto_ops *zt_proto_get(enum zt_proto_id id);

/*
 * The best parser for a connection's first captured message, or
 * ZT_PROTO_NONE. On a tie the earlier id wins.
 */
enum zt_proto_id zt_proto_detect(const uint8_t *data, uint32_t cap, uint32_t len, enum zt_dir dir,
				 const struct zt_proto_hint *h);

/* True when either port is `port`. */
static inline bool zt_proto_port_is(const struct zt_proto_hint *h, uint16_t port)
{
	return h->lport == port || h->rport == port;
}

#endif
