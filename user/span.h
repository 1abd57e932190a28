/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A span record: one request as ztrace saw it, ready for any exporter. */
#ifndef ZT_SPAN_H
#define ZT_SPAN_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "owners.h"
#include "proto/txn.h"

#define ZT_ADDR_STR_MAX 64 /* "[ipv6]:port" */

enum zt_span_kind { ZT_SPAN_SERVER = 0, ZT_SPAN_CLIENT = 1 };

struct zt_span {
	uint64_t start_ns;    /* unix ns */
	uint64_t duration_ns;
	enum zt_span_kind kind;
	const char *protocol; /* struct zt_txn's */
	char method[ZT_TXN_OP_MAX];
	char target[ZT_TXN_TARGET_MAX];
	char error[ZT_TXN_ERROR_MAX];
	int status;
	bool failed;
	uint32_t stream;       /* HTTP/2 stream id, 0 elsewhere */
	uint64_t cgroup_id;
	const char *cgroup;    /* path under the cgroup2 root */
	const char *container; /* short name */
	/* Who owns the container (owners.h); NULL when ztrace looks for no
	 * owners, never freed while ztrace runs. */
	const struct zt_owner *owner;
	uint32_t pid, tid;
	char comm[16];
	char local[ZT_ADDR_STR_MAX], peer[ZT_ADDR_STR_MAX];
	uint64_t bytes_in, bytes_out;
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_span_id[8];
	bool has_parent;
	/* Why a span has no parent (trace/link.h lists the values); NULL when
	 * it has one, or when linking is not done. */
	const char *no_parent;
	bool tls;              /* the plaintext came from a TLS library */
	uint32_t flags;        /* ZT_F_* */
};

/* Random ids: a fast generator seeded once from the kernel's entropy. */
void zt_ids_seed(uint64_t seed);
void zt_ids_fill(uint8_t *buf, int n);

/*
 * W3C traceparent "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>",
 * parsed strictly: lower-case hex, version 00 exactly 55 chars (a future
 * version may be longer), all-zero ids rejected. Returns true on success.
 */
bool zt_traceparent_parse(const char *s, uint8_t trace_id[16], uint8_t parent_id[8]);

/* "ip:port" or "[ipv6]:port"; v4-mapped IPv6 shown as IPv4. */
void zt_addr_format(uint16_t family, const uint8_t addr[16], uint16_t port, char *out, int size);

/*
 * Fill `s` from a transaction on connection `c`. `mono_to_unix` is
 * added to kernel monotonic timestamps. Cgroup names are left for the caller.
 * Returns false when the traceparent was present but malformed (the span
 * then gets fresh ids; the caller counts it).
 */
bool zt_span_from_txn(struct zt_span *s, const struct zt_conn *c, const struct zt_txn *t,
			int64_t mono_to_unix);

#endif
