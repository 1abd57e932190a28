/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The connection table: what userspace knows of each traced socket, keyed by
 * its socket cookie. Bounded: when full, the connection idle the longest is
 * evicted (and counted), so a flood of connections costs a count, not memory.
 */
#ifndef ZT_CONN_H
#define ZT_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "breakdown.h"

struct zt_conn {
	uint64_t id;        /* socket cookie; 0 marks a free slot */
	uint64_t cgroup_id;
	uint64_t last_ns;   /* last event, for eviction */
	uint8_t saddr[16], daddr[16];
	uint32_t netns;
	uint16_t sport, dport, family;
	uint8_t role;       /* enum zt_role */
	uint8_t ipproto;    /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t proto_id;   /* enum zt_proto_id of `proto`; NONE until detected */
	uint8_t detect_misses; /* captured messages no parser recognised */
	uint8_t parser_quits;  /* parsers that gave up on this connection */
	bool known;         /* tuple known (a conn record arrived) */
	bool ignored;       /* no protocol we parse: events are dropped here */
	bool tls;           /* plaintext from a TLS library arrives: socket bytes are ciphertext */
	bool tls_raw;       /* TLS records on the socket, no plaintext (yet): not parsed */
	uint64_t next_off[2]; /* by enum zt_dir: where the next record should start */
	uint8_t off_known;    /* bit per direction: next_off is meaningful */
	uint32_t pid, tid;  /* of the latest event */
	char comm[16];
	/* Linking (trace/link.h): the order of its next transaction, and what
	 * the request in flight was caused by. */
	uint64_t txn_seq;
	bool in_link_set;   /* its tuple is in the linker's connection set */
	bool srv_open;      /* server: a request arrived, its answer has not left */
	bool cli_busy;      /* client: a request left, its answer has not come */
	bool seen_server;   /* a server transaction came out of it (role unknown) */
	uint8_t open_weight; /* server: 2 for HTTP/2, whose streams share it: never certain */
	uint8_t cli_local;  /* enum zt_link_local of the request in flight */
	uint32_t open_pid, open_tid; /* server: where the open request was counted */
	uint64_t open_seq;  /* server: txn_seq when the open request arrived */
	/* The request in flight (srv_open, or cli_busy on TCP): when its first
	 * bytes came or left (kernel monotonic) and its HTTP/1 request line
	 * (query dropped), for the live views' requests in flight. */
	uint64_t open_ns;
	char open_method[16];
	char open_target[64];
	uint64_t cli_parent_conn, cli_parent_seq;
	/* The time breakdown (breakdown.h): the records at the current
	 * request's first and last bytes and its response's, matched to the
	 * transaction by time; the downstream calls made for the request
	 * counted as open_seq (deps_seq says which). */
	struct zt_stamp st_req_first, st_req_last, st_resp_first, st_resp_last;
	bool st_in_resp;     /* the latest record was the response's */
	uint64_t deps_seq;
	struct zt_ivset deps;
	uint64_t est_ns;     /* server seen from its handshake: ESTABLISHED */
	uint64_t first_io_ns; /* its first traced read or write */
	uint64_t connect_ns; /* client seen from its handshake: SYN to ESTABLISHED */
	/* The socket's TLS records before the library's first plaintext: the
	 * handshake, first to last (0: none seen). */
	uint64_t tls_hs_first_ns, tls_hs_last_ns;
	struct zt_conn *lru_prev, *lru_next; /* most recent at the head */
	void *proto;        /* parser state (zt_proto_get(proto_id)), owned by the tracer */
};

struct zt_conn_table;

/* `cap` connections at most (rounded up to a power of two for the index). */
struct zt_conn_table *zt_conn_table_new(uint32_t cap);
/* Calls `release` on every connection still held, then frees the table. */
void zt_conn_table_free(struct zt_conn_table *t, void (*release)(void *ctx, struct zt_conn *c),
			void *ctx);

struct zt_conn *zt_conn_table_lookup(struct zt_conn_table *t, uint64_t id);
/*
 * Returns the connection for `id`, creating it (zeroed, id set) when absent.
 * When the table is full the least recently used connection is first passed
 * to `evict` and removed. *created says which happened.
 */
struct zt_conn *zt_conn_table_get(struct zt_conn_table *t, uint64_t id, uint64_t now_ns,
				  bool *created, void (*evict)(void *ctx, struct zt_conn *c),
				  void *ctx);
/* Marks `c` as just used. */
void zt_conn_table_touch(struct zt_conn_table *t, struct zt_conn *c, uint64_t now_ns);
void zt_conn_table_remove(struct zt_conn_table *t, struct zt_conn *c);
uint32_t zt_conn_table_count(const struct zt_conn_table *t);
/* Calls fn on every connection, most recently used first, until it returns
 * false. */
void zt_conn_table_each(struct zt_conn_table *t, bool (*fn)(void *ctx, struct zt_conn *c),
			void *ctx);
/*
 * Walks the connections idle since before `cutoff_ns`, least recently used
 * first; each one `expire` returns true for is removed (after `expire` has
 * settled it). Costs one step per idle connection, and stops at the first
 * connection used since. Returns how many were removed.
 */
uint32_t zt_conn_table_expire(struct zt_conn_table *t, uint64_t cutoff_ns,
			       bool (*expire)(void *ctx, struct zt_conn *c), void *ctx);

#endif
