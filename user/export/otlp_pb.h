/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * OTLP trace encoding: spans -> one ExportTraceServiceRequest, as protobuf
 * (opentelemetry/proto/collector/trace/v1) or as OTLP/HTTP JSON (ids as hex,
 * enums as numbers, 64-bit integers as strings). Pure: no I/O, no
 * allocation; the caller's buffer is the only output.
 *
 * One ResourceSpans per resource (service.name, container.id, host.name,
 * process.pid, process.executable.name, and the container's owner where
 * known: ztrace.owner.team, vcs.repository.url.full, ztrace.owner.pager),
 * one ScopeSpans ("ztrace") in each.
 *
 * Bounds: a span encodes to at most ZT_OTLP_SPAN_WORST bytes in either form
 * (its resource included), so a buffer of n * ZT_OTLP_SPAN_WORST always
 * holds n spans; a smaller buffer fails with -ENOSPC, never a partial body.
 * While encoding, the buffer needs up to ZT_OTLP_SLACK bytes more than the
 * final size (lengths of nested messages are reserved, then given back).
 */
#ifndef ZT_OTLP_PB_H
#define ZT_OTLP_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../span.h"

#define ZT_OTLP_SPAN_WORST 12288
#define ZT_OTLP_SLACK 64 /* 6 nested levels x 5 reserved bytes, rounded up */
#define ZT_OTLP_BATCH_MAX 512    /* spans per request */
#define ZT_OTLP_NAME_MAX 128     /* span name, cut on a UTF-8 boundary */
#define ZT_OTLP_ATTRS_MAX 40
#define ZT_OTLP_SCOPE_NAME "ztrace"
#define ZT_OTLP_SCOPE_VERSION "0.1"

/* OTLP enums (trace.proto). */
enum { ZT_OTLP_KIND_SERVER = 2, ZT_OTLP_KIND_CLIENT = 3 };
enum { ZT_OTLP_STATUS_UNSET = 0, ZT_OTLP_STATUS_ERROR = 2 };

enum zt_otlp_vtype { ZT_OTLP_STR, ZT_OTLP_INT, ZT_OTLP_BOOL };

struct zt_otlp_attr {
	const char *key;
	enum zt_otlp_vtype type;
	const char *s;
	int64_t i; /* ints; bools as 0/1 */
};

/* What a span becomes before either encoding: name, kind, status, attributes. */
struct zt_otlp_fields {
	char name[ZT_OTLP_NAME_MAX];
	int kind, status_code;
	const char *status_msg;
	struct zt_otlp_attr attrs[ZT_OTLP_ATTRS_MAX];
	int nattrs;
	/* storage the attributes point into */
	char path[ZT_TXN_TARGET_MAX], query[ZT_TXN_TARGET_MAX];
	char rpc_service[ZT_TXN_TARGET_MAX], rpc_method[ZT_TXN_TARGET_MAX];
	char local_ip[ZT_ADDR_STR_MAX], peer_ip[ZT_ADDR_STR_MAX];
	char query_text[ZT_TXN_OP_MAX + ZT_TXN_TARGET_MAX];
	char status_str[ZT_TXN_ERROR_MAX], msg[48], flags[256];
};

struct zt_otlp_resource {
	char service[128];
	char container_id[65]; /* "" when the cgroup path carries none */
	const char *host;
	uint32_t pid;
	char exe[16];
	/* The span's owner's (owners.h), NULL when unknown: they live until
	 * the owners are freed, after the exporter stopped. */
	const char *team, *source, *pager;
};

void zt_otlp_span_fields(const struct zt_span *s, struct zt_otlp_fields *f);
void zt_otlp_span_resource(const struct zt_span *s, const char *host, struct zt_otlp_resource *r);

/* A 64-hex-digit run in a cgroup path's last components (docker-<id>.scope,
 * /docker/<id>, cri-containerd-<id>.scope, libpod-<id>): true and `out`. */
bool zt_otlp_container_id(const char *cgroup, char out[65]);

/* The endpoint for a user's URL: "http://" when there is no scheme,
 * "/v1/traces" when there is no path (or only "/"). */
void zt_otlp_endpoint(const char *url, char *out, size_t outsz);

struct zt_otlp_buf {
	uint8_t *p;
	size_t len, cap;
	bool overflow;
};

/* Protobuf primitives, exposed for the unit test. */
void zt_pb_varint(struct zt_otlp_buf *b, uint64_t v);
void zt_pb_tag(struct zt_otlp_buf *b, uint32_t field, int wire);
size_t zt_pb_begin(struct zt_otlp_buf *b, uint32_t field); /* a length-delimited field */
void zt_pb_end(struct zt_otlp_buf *b, size_t mark);

/*
 * Encodes spans[0..n) as one request into b (b->len = 0 first). Returns 0,
 * -ENOSPC when the buffer was too small (b->len is then meaningless), or
 * -E2BIG for more than ZT_OTLP_BATCH_MAX spans.
 */
int zt_otlp_encode(struct zt_otlp_buf *b, const struct zt_span *const *spans, int n,
		   const char *host, bool json);

#endif
