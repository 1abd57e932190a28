// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * OTLP encoding, both forms. Field numbers are those of
 * opentelemetry-proto v1 (trace.proto, resource.proto, common.proto,
 * trace_service.proto); the e2e test decodes our bytes with the project's own
 * generated decoder, so a wrong number cannot pass unnoticed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../flags.h"
#include "../utf8.h"
#include "otlp_pb.h"

enum { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2 };

/* A length prefix reserved before a nested message is known: 5 varint
 * bytes hold any length below 2^35, far above our buffers. */
#define LEN_RESERVE 5

static bool room(struct zt_otlp_buf *b, size_t n)
{
	if (b->overflow || b->cap - b->len < n) {
		b->overflow = true;
		return false;
	}
	return true;
}

static void put(struct zt_otlp_buf *b, const void *p, size_t n)
{
	if (!room(b, n))
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static int varint_to(uint8_t *out, uint64_t v)
{
	int n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

void zt_pb_varint(struct zt_otlp_buf *b, uint64_t v)
{
	uint8_t tmp[10];

	put(b, tmp, varint_to(tmp, v));
}

void zt_pb_tag(struct zt_otlp_buf *b, uint32_t field, int wire)
{
	zt_pb_varint(b, (uint64_t)field << 3 | (uint32_t)wire);
}

size_t zt_pb_begin(struct zt_otlp_buf *b, uint32_t field)
{
	zt_pb_tag(b, field, WIRE_LEN);
	if (room(b, LEN_RESERVE))
		b->len += LEN_RESERVE;
	return b->len;
}

/* The body was written after the reserve: its length goes in front and
 * the body moves down over what the length did not use. */
void zt_pb_end(struct zt_otlp_buf *b, size_t mark)
{
	uint8_t tmp[10];
	size_t body;
	int n;

	if (b->overflow)
		return;
	body = b->len - mark;
	n = varint_to(tmp, body);
	memcpy(b->p + mark - LEN_RESERVE, tmp, n);
	memmove(b->p + mark - LEN_RESERVE + n, b->p + mark, body);
	b->len -= LEN_RESERVE - n;
}

static void pb_bytes(struct zt_otlp_buf *b, uint32_t field, const void *p, size_t n)
{
	zt_pb_tag(b, field, WIRE_LEN);
	zt_pb_varint(b, n);
	put(b, p, n);
}

static void pb_str(struct zt_otlp_buf *b, uint32_t field, const char *s)
{
	pb_bytes(b, field, s, strlen(s));
}

static void pb_fixed64(struct zt_otlp_buf *b, uint32_t field, uint64_t v)
{
	uint8_t le[8];

	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	zt_pb_tag(b, field, WIRE_I64);
	put(b, le, 8);
}

static void pb_uint(struct zt_otlp_buf *b, uint32_t field, uint64_t v)
{
	zt_pb_tag(b, field, WIRE_VARINT);
	zt_pb_varint(b, v);
}

/* ---- what a span says, in semantic-convention terms ---- */

static void cut_utf8(char *s, size_t max)
{
	size_t n = strlen(s);

	if (n < max)
		return;
	n = max - 1;
	/* s[n] is where the cut falls: back off to a character's first byte. */
	while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	s[n] = 0;
}

/* "ip:port" / "[v6]:port" -> ip, port; port -1 when there is none. */
static int split_addr(const char *a, char *ip, size_t ipsz)
{
	const char *colon = strrchr(a, ':');
	const char *start = a, *end = colon;
	char *e;
	long port;

	if (!colon) {
		snprintf(ip, ipsz, "%s", a);
		return -1;
	}
	if (*a == '[' && colon > a && colon[-1] == ']')
		start = a + 1, end = colon - 1;
	snprintf(ip, ipsz, "%.*s", (int)(end - start), start);
	port = strtol(colon + 1, &e, 10);
	return *e || e == colon + 1 || port < 0 || port > 65535 ? -1 : (int)port;
}

/* "a b" as the span name, cut whole characters short of ZT_OTLP_NAME_MAX. */
static void set_name(struct zt_otlp_fields *f, const char *a, const char *b)
{
	char tmp[ZT_TXN_OP_MAX + ZT_TXN_TARGET_MAX + 8];

	snprintf(tmp, sizeof(tmp), "%s%s%s", a, *a && *b ? " " : "", b);
	cut_utf8(tmp, sizeof(f->name));
	memcpy(f->name, tmp, strlen(tmp) + 1);
}

static void add(struct zt_otlp_fields *f, const char *key, enum zt_otlp_vtype t, const char *s,
		int64_t i)
{
	if (f->nattrs < ZT_OTLP_ATTRS_MAX)
		f->attrs[f->nattrs++] = (struct zt_otlp_attr){ key, t, s, i };
}

static void add_str(struct zt_otlp_fields *f, const char *key, const char *s)
{
	if (s && *s)
		add(f, key, ZT_OTLP_STR, s, 0);
}

static void add_int(struct zt_otlp_fields *f, const char *key, int64_t v)
{
	add(f, key, ZT_OTLP_INT, NULL, v);
}

static void add_addrs(struct zt_otlp_fields *f, const struct zt_span *s)
{
	int lport = split_addr(s->local, f->local_ip, sizeof(f->local_ip));
	int pport = split_addr(s->peer, f->peer_ip, sizeof(f->peer_ip));
	bool server = s->kind == ZT_SPAN_SERVER;
	const char *sip = server ? f->local_ip : f->peer_ip, *cip = server ? f->peer_ip : f->local_ip;
	int sport = server ? lport : pport, cport = server ? pport : lport;

	add_str(f, "server.address", sip);
	if (sport >= 0)
		add_int(f, "server.port", sport);
	add_str(f, "client.address", cip);
	if (cport >= 0)
		add_int(f, "client.port", cport);
	add_str(f, "network.peer.address", f->peer_ip);
	if (pport >= 0)
		add_int(f, "network.peer.port", pport);
	add_str(f, "network.local.address", f->local_ip);
	if (lport >= 0)
		add_int(f, "network.local.port", lport);
}

static void http_fields(struct zt_otlp_fields *f, const struct zt_span *s)
{
	const char *q = strchr(s->target, '?');
	size_t plen = q ? (size_t)(q - s->target) : strlen(s->target);

	snprintf(f->path, sizeof(f->path), "%.*s", (int)plen, s->target);
	snprintf(f->query, sizeof(f->query), "%s", q ? q + 1 : "");
	set_name(f, *s->method ? s->method : "HTTP", f->path);
	add_str(f, "http.request.method", s->method);
	add_str(f, "url.path", f->path);
	add_str(f, "url.query", f->query);
	add_str(f, "url.scheme", s->tls ? "https" : "http");
	if (s->status > 0)
		add_int(f, "http.response.status_code", s->status);
	add_str(f, "network.protocol.name", "http");
	add_str(f, "network.protocol.version", strcmp(s->protocol, "http2") ? "1.1" : "2");
}

/* "/pkg.Service/Method" -> rpc.service, rpc.method. */
static void grpc_fields(struct zt_otlp_fields *f, const struct zt_span *s)
{
	const char *t = s->target + (*s->target == '/');
	const char *slash = strchr(t, '/');

	if (slash) {
		snprintf(f->rpc_service, sizeof(f->rpc_service), "%.*s", (int)(slash - t), t);
		snprintf(f->rpc_method, sizeof(f->rpc_method), "%s", slash + 1);
	}
	set_name(f, *t ? t : "grpc", "");
	add_str(f, "rpc.system", "grpc");
	add_str(f, "rpc.service", f->rpc_service);
	add_str(f, "rpc.method", f->rpc_method);
	if (!(s->flags & ZT_F_NO_RESPONSE))
		add_int(f, "rpc.grpc.status_code", s->status);
	add_str(f, "network.protocol.name", "http");
	add_str(f, "network.protocol.version", "2");
}

static void db_fields(struct zt_otlp_fields *f, const struct zt_span *s)
{
	bool redis = !strcmp(s->protocol, "redis");

	add_str(f, "db.system", s->protocol);
	add_str(f, "db.operation.name", s->method);
	/* Redis: the command and its subcommand; SQL: the statement with every
	 * literal already replaced by '?'. Neither carries a value. */
	if (redis)
		snprintf(f->query_text, sizeof(f->query_text), "%s%s%s", s->method,
			 *s->target ? " " : "", s->target);
	else
		snprintf(f->query_text, sizeof(f->query_text), "%s", s->target);
	add_str(f, "db.query.text", f->query_text);
	if (s->failed) {
		/* The database's own code: SQLSTATE, MySQL's error number,
		 * Redis's error prefix. */
		if (!strcmp(s->protocol, "mysql") && s->status)
			snprintf(f->status_str, sizeof(f->status_str), "%d", s->status);
		else
			snprintf(f->status_str, sizeof(f->status_str), "%s", s->error);
		add_str(f, "db.response.status_code", f->status_str);
	}
}

static void dns_fields(struct zt_otlp_fields *f, const struct zt_span *s)
{
	add_str(f, "dns.question.name", s->target);
	add_str(f, "ztrace.dns.question.type", s->method);
	if (!(s->flags & (ZT_F_NO_RESPONSE | ZT_F_TIMEOUT)))
		add_int(f, "ztrace.dns.rcode", s->status);
}

void zt_otlp_span_fields(const struct zt_span *s, struct zt_otlp_fields *f)
{
	const char *p = s->protocol ? s->protocol : "";
	bool http = !strcmp(p, "http") || !strcmp(p, "http2");

	f->nattrs = 0;
	f->name[0] = f->path[0] = f->query[0] = f->rpc_service[0] = f->rpc_method[0] = 0;
	f->query_text[0] = f->status_str[0] = f->msg[0] = 0;
	f->kind = s->kind == ZT_SPAN_SERVER ? ZT_OTLP_KIND_SERVER : ZT_OTLP_KIND_CLIENT;
	f->status_code = s->failed ? ZT_OTLP_STATUS_ERROR : ZT_OTLP_STATUS_UNSET;
	f->status_msg = "";

	if (http)
		http_fields(f, s);
	else if (!strcmp(p, "grpc"))
		grpc_fields(f, s);
	else if (!strcmp(p, "redis") || !strcmp(p, "postgresql") || !strcmp(p, "mysql"))
		db_fields(f, s);
	else if (!strcmp(p, "dns"))
		dns_fields(f, s);
	if (!*f->name)
		set_name(f, *s->method ? s->method : p, s->target);
	if (s->failed) {
		if (*s->error)
			snprintf(f->msg, sizeof(f->msg), "%s", s->error);
		else
			snprintf(f->msg, sizeof(f->msg), "%s %d", p, s->status);
		f->status_msg = f->msg;
		add_str(f, "error.type", *s->error ? s->error : f->msg + strlen(p) + 1);
	}
	add_str(f, "network.transport", !strcmp(p, "dns") ? "udp" : "tcp");
	add_addrs(f, s);
	add_int(f, "thread.id", s->tid);
	add_str(f, "ztrace.protocol", p);
	if (s->stream)
		add_int(f, "ztrace.stream", s->stream);
	add(f, "ztrace.tls", ZT_OTLP_BOOL, NULL, s->tls);
	add_int(f, "ztrace.bytes_in", (int64_t)s->bytes_in);
	add_int(f, "ztrace.bytes_out", (int64_t)s->bytes_out);
	add_str(f, "ztrace.cgroup", s->cgroup);
	add_int(f, "ztrace.cgroup_id", (int64_t)s->cgroup_id);
	if (s->flags) {
		zt_flags_format(s->flags, f->flags, sizeof(f->flags));
		add_str(f, "ztrace.flags", f->flags);
	}
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool zt_otlp_container_id(const char *cgroup, char out[65])
{
	const char *found = NULL;

	out[0] = 0;
	if (!cgroup)
		return false;
	/* One pass over runs of hex digits; the last run of exactly 64 is the
	 * innermost container, should one be nested in another's cgroup. */
	for (const char *p = cgroup; *p;) {
		const char *run = p;

		while (is_hex(*p))
			p++;
		if (p - run == 64)
			found = run;
		if (p == run)
			p++;
	}
	if (!found)
		return false;
	memcpy(out, found, 64);
	out[64] = 0;
	return true;
}

void zt_otlp_span_resource(const struct zt_span *s, const char *host, struct zt_otlp_resource *r)
{
	const char *c = s->container;

	/* "?" is an unknown cgroup: the process name says more than that. */
	if (!c || !*c || !strcmp(c, "?"))
		c = *s->comm ? s->comm : "unknown";
	snprintf(r->service, sizeof(r->service), "%s", c);
	zt_otlp_container_id(s->cgroup, r->container_id);
	r->host = host ? host : "";
	r->pid = s->pid;
	snprintf(r->exe, sizeof(r->exe), "%s", s->comm);
	r->team = s->owner ? s->owner->team : NULL;
	r->source = s->owner ? s->owner->source : NULL;
	r->pager = s->owner ? s->owner->pager : NULL;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool same_resource(const struct zt_otlp_resource *a, const struct zt_otlp_resource *b)
{
	return a->pid == b->pid && !strcmp(a->service, b->service) &&
	       !strcmp(a->container_id, b->container_id) && !strcmp(a->exe, b->exe) &&
	       same_str(a->team, b->team) && same_str(a->source, b->source) &&
	       same_str(a->pager, b->pager);
}

static void resource_attrs(const struct zt_otlp_resource *r, struct zt_otlp_fields *f)
{
	f->nattrs = 0;
	add_str(f, "service.name", r->service);
	add_str(f, "container.id", r->container_id);
	add_str(f, "host.name", r->host);
	add_int(f, "process.pid", r->pid);
	add_str(f, "process.executable.name", r->exe);
	/* Semantic conventions have no owner; the source is a repository. */
	if (r->team)
		add_str(f, "ztrace.owner.team", r->team);
	if (r->source)
		add_str(f, "vcs.repository.url.full", r->source);
	if (r->pager)
		add_str(f, "ztrace.owner.pager", r->pager);
}

/* ---- protobuf ---- */

static void pb_attrs(struct zt_otlp_buf *b, uint32_t field, const struct zt_otlp_fields *f)
{
	for (int i = 0; i < f->nattrs; i++) {
		const struct zt_otlp_attr *a = &f->attrs[i];
		size_t kv = zt_pb_begin(b, field), v;

		pb_str(b, 1, a->key);               /* KeyValue.key */
		v = zt_pb_begin(b, 2);              /* KeyValue.value: AnyValue */
		if (a->type == ZT_OTLP_STR)
			pb_str(b, 1, a->s);         /* string_value */
		else if (a->type == ZT_OTLP_BOOL)
			pb_uint(b, 2, a->i != 0);   /* bool_value */
		else
			pb_uint(b, 3, (uint64_t)a->i); /* int_value */
		zt_pb_end(b, v);
		zt_pb_end(b, kv);
	}
}

static void pb_span(struct zt_otlp_buf *b, const struct zt_span *s, struct zt_otlp_fields *f)
{
	size_t m = zt_pb_begin(b, 2), st; /* ScopeSpans.spans */

	zt_otlp_span_fields(s, f);
	pb_bytes(b, 1, s->trace_id, 16);
	pb_bytes(b, 2, s->span_id, 8);
	if (s->has_parent)
		pb_bytes(b, 4, s->parent_span_id, 8);
	pb_str(b, 5, f->name);
	pb_uint(b, 6, f->kind);
	pb_fixed64(b, 7, s->start_ns);
	pb_fixed64(b, 8, s->start_ns + s->duration_ns);
	pb_attrs(b, 9, f);
	st = zt_pb_begin(b, 15); /* Status */
	if (*f->status_msg)
		pb_str(b, 2, f->status_msg);
	if (f->status_code)
		pb_uint(b, 3, f->status_code);
	zt_pb_end(b, st);
	zt_pb_end(b, m);
}

/* ---- JSON ---- */

static void jput(struct zt_otlp_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static __attribute__((format(printf, 2, 3))) void jprintf(struct zt_otlp_buf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	put(b, tmp, n < (int)sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Valid UTF-8 passes; control bytes are escaped; invalid bytes become U+FFFD. */
static void jstr(struct zt_otlp_buf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	put(b, "\"", 1);
	while (*s) {
		const unsigned char *run = s;
		int n;

		while (*s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\')
			s++;
		put(b, run, s - run);
		if (!*s)
			break;
		if (*s == '"' || *s == '\\') {
			char esc[2] = { '\\', (char)*s++ };

			put(b, esc, 2);
		} else if (*s < 0x20) {
			jprintf(b, "\\u%04x", *s++);
		} else if ((n = zt_utf8_len(s))) {
			put(b, s, n);
			s += n;
		} else {
			jput(b, "\\ufffd");
			s++;
		}
	}
	put(b, "\"", 1);
}

static void jhex(struct zt_otlp_buf *b, const uint8_t *p, int n)
{
	static const char hex[] = "0123456789abcdef";
	char out[2 * 16 + 2];

	out[0] = '"';
	for (int i = 0; i < n; i++) {
		out[1 + 2 * i] = hex[p[i] >> 4];
		out[2 + 2 * i] = hex[p[i] & 15];
	}
	out[1 + 2 * n] = '"';
	put(b, out, 2 * n + 2);
}

static void json_attrs(struct zt_otlp_buf *b, const struct zt_otlp_fields *f)
{
	jput(b, "\"attributes\":[");
	for (int i = 0; i < f->nattrs; i++) {
		const struct zt_otlp_attr *a = &f->attrs[i];

		jput(b, i ? ",{\"key\":" : "{\"key\":");
		jstr(b, a->key);
		if (a->type == ZT_OTLP_STR) {
			jput(b, ",\"value\":{\"stringValue\":");
			jstr(b, a->s);
			jput(b, "}}");
		} else if (a->type == ZT_OTLP_BOOL) {
			jput(b, a->i ? ",\"value\":{\"boolValue\":true}}" : ",\"value\":{\"boolValue\":false}}");
		} else {
			jprintf(b, ",\"value\":{\"intValue\":\"%" PRId64 "\"}}", a->i);
		}
	}
	jput(b, "]");
}

static void json_span(struct zt_otlp_buf *b, const struct zt_span *s, struct zt_otlp_fields *f,
		      bool first)
{
	zt_otlp_span_fields(s, f);
	jput(b, first ? "{\"traceId\":" : ",{\"traceId\":");
	jhex(b, s->trace_id, 16);
	jput(b, ",\"spanId\":");
	jhex(b, s->span_id, 8);
	if (s->has_parent) {
		jput(b, ",\"parentSpanId\":");
		jhex(b, s->parent_span_id, 8);
	}
	jput(b, ",\"name\":");
	jstr(b, f->name);
	jprintf(b, ",\"kind\":%d,\"startTimeUnixNano\":\"%" PRIu64 "\",\"endTimeUnixNano\":\"%" PRIu64
		"\",", f->kind, s->start_ns, s->start_ns + s->duration_ns);
	json_attrs(b, f);
	jput(b, ",\"status\":{");
	if (*f->status_msg) {
		jput(b, "\"message\":");
		jstr(b, f->status_msg);
		jput(b, ",");
	}
	jprintf(b, "\"code\":%d}}", f->status_code);
}

void zt_otlp_endpoint(const char *url, char *out, size_t outsz)
{
	bool scheme = strstr(url, "://") != NULL;
	const char *hostpart = scheme ? strstr(url, "://") + 3 : url;
	const char *slash = strchr(hostpart, '/');
	bool nopath = !slash || !slash[1];

	snprintf(out, outsz, "%s%.*s%s", scheme ? "" : "http://",
		 (int)(slash && nopath ? (size_t)(slash - url) : strlen(url)), url,
		 nopath ? "/v1/traces" : "");
}

/* ---- the request ---- */

int zt_otlp_encode(struct zt_otlp_buf *b, const struct zt_span *const *spans, int n,
		   const char *host, bool json)
{
	/* Big: off the caller's stack, and the encoder is single-threaded per
	 * caller (one sender thread; tests). */
	static __thread struct zt_otlp_fields f;
	static __thread struct zt_otlp_resource res_of[ZT_OTLP_BATCH_MAX];
	uint64_t done[ZT_OTLP_BATCH_MAX / 64];
	bool first_rs = true;

	b->len = 0;
	b->overflow = false;
	if (n < 0 || n > ZT_OTLP_BATCH_MAX)
		return -E2BIG;
	memset(done, 0, sizeof(done));
	/* Each span's resource once: grouping compares them pairwise. */
	for (int i = 0; i < n; i++)
		zt_otlp_span_resource(spans[i], host, &res_of[i]);
	if (json)
		jput(b, "{\"resourceSpans\":[");
	for (int i = 0; i < n; i++) {
		size_t rs = 0, res, ss = 0, sc;
		bool first_span = true;

		if (done[i / 64] >> (i % 64) & 1)
			continue;
		resource_attrs(&res_of[i], &f);
		if (json) {
			jput(b, first_rs ? "{\"resource\":{" : ",{\"resource\":{");
			json_attrs(b, &f);
			jput(b, "},\"scopeSpans\":[{\"scope\":{\"name\":\"" ZT_OTLP_SCOPE_NAME
				"\",\"version\":\"" ZT_OTLP_SCOPE_VERSION "\"},\"spans\":[");
		} else {
			rs = zt_pb_begin(b, 1);  /* ExportTraceServiceRequest.resource_spans */
			res = zt_pb_begin(b, 1); /* ResourceSpans.resource */
			pb_attrs(b, 1, &f);
			zt_pb_end(b, res);
			ss = zt_pb_begin(b, 2);  /* ResourceSpans.scope_spans */
			sc = zt_pb_begin(b, 1);  /* ScopeSpans.scope */
			pb_str(b, 1, ZT_OTLP_SCOPE_NAME);
			pb_str(b, 2, ZT_OTLP_SCOPE_VERSION);
			zt_pb_end(b, sc);
		}
		first_rs = false;
		for (int j = i; j < n; j++) {
			if (done[j / 64] >> (j % 64) & 1)
				continue;
			if (j != i && !same_resource(&res_of[i], &res_of[j]))
				continue;
			done[j / 64] |= 1ull << (j % 64);
			if (json)
				json_span(b, spans[j], &f, first_span);
			else
				pb_span(b, spans[j], &f);
			first_span = false;
		}
		if (json) {
			jput(b, "]}]}");
		} else {
			zt_pb_end(b, ss);
			zt_pb_end(b, rs);
		}
	}
	if (json)
		jput(b, "]}");
	return b->overflow ? -ENOSPC : 0;
}
