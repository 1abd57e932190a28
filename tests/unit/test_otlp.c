// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The OTLP encoder: protobuf primitives against bytes worked out by hand
 * from the encoding rules, whole requests walked field by field with a
 * reader written here from the wire format (not from the encoder), the JSON
 * form, the semantic-convention attributes per protocol, and the bounds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "export/otlp_pb.h"
#include "flags.h"

/* ---- a protobuf reader for the test ---- */

struct field {
	uint32_t num;
	int wire;
	uint64_t v;          /* varint or fixed64 */
	const uint8_t *p;    /* length-delimited */
	size_t len;
};

static bool rd_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* The next field of a message, or false at its end (or on malformed bytes,
 * which CHECK reports). */
static bool next_field(const uint8_t **p, const uint8_t *end, struct field *f)
{
	uint64_t tag;

	if (*p >= end)
		return false;
	if (!rd_varint(p, end, &tag))
		goto bad;
	f->num = (uint32_t)(tag >> 3);
	f->wire = (int)(tag & 7);
	if (f->wire == 0) {
		if (!rd_varint(p, end, &f->v))
			goto bad;
	} else if (f->wire == 1) {
		if (end - *p < 8)
			goto bad;
		f->v = 0;
		for (int i = 7; i >= 0; i--)
			f->v = f->v << 8 | (*p)[i];
		*p += 8;
	} else if (f->wire == 2) {
		if (!rd_varint(p, end, &f->v) || f->v > (uint64_t)(end - *p))
			goto bad;
		f->p = *p;
		f->len = f->v;
		*p += f->len;
	} else {
		goto bad;
	}
	return true;
bad:
	CHECK(!"malformed protobuf");
	return false;
}

/* The n-th (0-based) occurrence of field `num` in a message. */
static bool get(const uint8_t *p, size_t len, uint32_t num, int n, struct field *out)
{
	const uint8_t *end = p + len;
	struct field f;

	while (next_field(&p, end, &f))
		if (f.num == num && n-- == 0) {
			*out = f;
			return true;
		}
	return false;
}

static int count_fields(const uint8_t *p, size_t len, uint32_t num)
{
	const uint8_t *end = p + len;
	struct field f;
	int n = 0;

	while (next_field(&p, end, &f))
		n += f.num == num;
	return n;
}

static bool str_is(const struct field *f, const char *s)
{
	return f->wire == 2 && f->len == strlen(s) && !memcmp(f->p, s, f->len);
}

/* An attribute's AnyValue by key in a list of KeyValue fields `num`. */
static bool attr(const uint8_t *p, size_t len, uint32_t num, const char *key, struct field *val)
{
	struct field kv, k, v;

	for (int i = 0; get(p, len, num, i, &kv); i++) {
		if (!get(kv.p, kv.len, 1, 0, &k) || !str_is(&k, key))
			continue;
		if (!get(kv.p, kv.len, 2, 0, &v) || !get(v.p, v.len, 0, 0, val)) {
			/* AnyValue's first field: there is exactly one */
			const uint8_t *q = v.p;

			return next_field(&q, v.p + v.len, val);
		}
	}
	return false;
}

static bool attr_str(const uint8_t *p, size_t len, const char *key, const char *want)
{
	struct field v;

	return attr(p, len, 9, key, &v) && v.num == 1 && str_is(&v, want);
}

static bool attr_int(const uint8_t *p, size_t len, const char *key, int64_t want)
{
	struct field v;

	return attr(p, len, 9, key, &v) && v.num == 3 && v.wire == 0 && (int64_t)v.v == want;
}

static bool has_attr(const uint8_t *p, size_t len, const char *key)
{
	struct field v;

	return attr(p, len, 9, key, &v);
}

/* ---- primitives ---- */

static uint8_t mem[1 << 20];

static struct zt_otlp_buf buf_of(size_t cap)
{
	return (struct zt_otlp_buf){ .p = mem, .cap = cap };
}

static void test_varint(void)
{
	static const struct { uint64_t v; const char *bytes; size_t n; } cases[] = {
		{ 0, "\x00", 1 },
		{ 1, "\x01", 1 },
		{ 127, "\x7f", 1 },
		{ 128, "\x80\x01", 2 },
		{ 300, "\xac\x02", 2 },
		{ 16383, "\xff\x7f", 2 },
		{ 16384, "\x80\x80\x01", 3 },
		{ 0xffffffffull, "\xff\xff\xff\xff\x0f", 5 },
		/* a negative int64 is its two's complement: ten bytes */
		{ (uint64_t)-1, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10 },
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct zt_otlp_buf b = buf_of(sizeof(mem));

		zt_pb_varint(&b, cases[i].v);
		CHECK_EQ_INT(b.len, cases[i].n);
		CHECK(!memcmp(mem, cases[i].bytes, cases[i].n));
	}
	/* tag: field 15, wire 2 -> (15 << 3) | 2 = 122 = 0x7a; field 16 -> 0x82 0x01 */
	struct zt_otlp_buf b = buf_of(sizeof(mem));

	zt_pb_tag(&b, 15, 2);
	zt_pb_tag(&b, 16, 5);
	CHECK_EQ_INT(b.len, 3);
	CHECK(!memcmp(mem, "\x7a\x85\x01", 3));
}

/* A nested message's length prefix takes 1, 2 or 3 bytes and the body
 * moves down to meet it. */
static void test_nested_lengths(void)
{
	static const size_t lens[] = { 0, 1, 127, 128, 16383, 16384, 70000 };

	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct zt_otlp_buf b = buf_of(sizeof(mem));
		static uint8_t body[70000];
		size_t m, pre = lens[i] < 128 ? 1 : lens[i] < 16384 ? 2 : 3;
		struct field f;
		const uint8_t *p = mem;

		for (size_t j = 0; j < lens[i]; j++)
			body[j] = (uint8_t)(j * 7 + i);
		m = zt_pb_begin(&b, 3);
		memcpy(mem + b.len, body, lens[i]);
		b.len += lens[i];
		zt_pb_end(&b, m);
		CHECK(!b.overflow);
		CHECK_EQ_INT(b.len, 1 + pre + lens[i]);
		CHECK_EQ_INT(mem[0], 0x1a);
		CHECK(next_field(&p, mem + b.len, &f));
		CHECK_EQ_INT(f.len, lens[i]);
		CHECK(!memcmp(f.p, body, lens[i]));
	}
	/* two levels: {1: {2: "ab"}} = 0a 04 12 02 61 62 */
	struct zt_otlp_buf b = buf_of(sizeof(mem));
	size_t outer = zt_pb_begin(&b, 1), inner = zt_pb_begin(&b, 2);

	memcpy(mem + b.len, "ab", 2);
	b.len += 2;
	zt_pb_end(&b, inner);
	zt_pb_end(&b, outer);
	CHECK_EQ_INT(b.len, 6);
	CHECK(!memcmp(mem, "\x0a\x04\x12\x02\x61\x62", 6));
}

/* ---- spans ---- */

static void base_span(struct zt_span *s)
{
	memset(s, 0, sizeof(*s));
	s->start_ns = 1700000000123456789ull;
	s->duration_ns = 412000;
	s->kind = ZT_SPAN_SERVER;
	s->protocol = "http";
	strcpy(s->method, "GET");
	strcpy(s->target, "/index.html?x=1");
	s->status = 200;
	s->cgroup_id = 4242;
	s->cgroup = "system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope";
	s->container = "0123456789ab";
	s->pid = 77;
	s->tid = 78;
	strcpy(s->comm, "nginx");
	strcpy(s->local, "10.231.0.2:80");
	strcpy(s->peer, "10.231.0.3:51234");
	s->bytes_in = 100;
	s->bytes_out = 2000;
	for (int i = 0; i < 16; i++)
		s->trace_id[i] = (uint8_t)(i + 1);
	for (int i = 0; i < 8; i++)
		s->span_id[i] = (uint8_t)(0xa0 + i), s->parent_span_id[i] = (uint8_t)(0xb0 + i);
	s->has_parent = true;
}

/* The request's one span: resource and span fields walked out of it. */
struct walked {
	struct field rs, res, ss, scope, span;
};

static bool walk(const uint8_t *p, size_t len, int rs_i, int span_i, struct walked *w)
{
	return get(p, len, 1, rs_i, &w->rs) && get(w->rs.p, w->rs.len, 1, 0, &w->res) &&
	       get(w->rs.p, w->rs.len, 2, 0, &w->ss) && get(w->ss.p, w->ss.len, 1, 0, &w->scope) &&
	       get(w->ss.p, w->ss.len, 2, span_i, &w->span);
}

static void test_http_span_protobuf(void)
{
	struct zt_span s;
	const struct zt_span *sp = &s;
	struct zt_otlp_buf b = buf_of(sizeof(mem));
	struct walked w;
	struct field f, v;

	base_span(&s);
	CHECK_EQ_INT(zt_otlp_encode(&b, &sp, 1, "myhost", false), 0);
	CHECK_EQ_INT(count_fields(mem, b.len, 1), 1);
	CHECK(walk(mem, b.len, 0, 0, &w));

	/* resource */
	CHECK(attr(w.res.p, w.res.len, 1, "service.name", &v) && str_is(&v, "0123456789ab"));
	CHECK(attr(w.res.p, w.res.len, 1, "container.id", &v) &&
	      str_is(&v, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	CHECK(attr(w.res.p, w.res.len, 1, "host.name", &v) && str_is(&v, "myhost"));
	CHECK(attr(w.res.p, w.res.len, 1, "process.pid", &v) && v.num == 3 && v.v == 77);
	CHECK(attr(w.res.p, w.res.len, 1, "process.executable.name", &v) && str_is(&v, "nginx"));
	CHECK(get(w.scope.p, w.scope.len, 1, 0, &f) && str_is(&f, "ztrace"));

	/* ids, exactly: 0a 10 <16>, 12 08 <8>, 22 08 <8> */
	const uint8_t *sp0 = w.span.p;

	CHECK(!memcmp(sp0, "\x0a\x10", 2) && !memcmp(sp0 + 2, s.trace_id, 16));
	CHECK(!memcmp(sp0 + 18, "\x12\x08", 2) && !memcmp(sp0 + 20, s.span_id, 8));
	CHECK(!memcmp(sp0 + 28, "\x22\x08", 2) && !memcmp(sp0 + 30, s.parent_span_id, 8));
	/* name "GET /index.html": 2a 0f ... */
	CHECK(!memcmp(sp0 + 38, "\x2a\x0fGET /index.html", 17));
	/* kind SERVER: 30 02; start: 39 + 8 bytes little-endian */
	CHECK(!memcmp(sp0 + 55, "\x30\x02\x39", 3));
	CHECK(get(w.span.p, w.span.len, 7, 0, &f) && f.wire == 1 && f.v == s.start_ns);
	CHECK(get(w.span.p, w.span.len, 8, 0, &f) && f.wire == 1 && f.v == s.start_ns + 412000);
	/* status UNSET: an empty message, 7a 00, the span's last field */
	CHECK(!memcmp(w.span.p + w.span.len - 2, "\x7a\x00", 2));

	CHECK(attr_str(w.span.p, w.span.len, "http.request.method", "GET"));
	CHECK(attr_str(w.span.p, w.span.len, "url.path", "/index.html"));
	CHECK(attr_str(w.span.p, w.span.len, "url.query", "x=1"));
	CHECK(attr_str(w.span.p, w.span.len, "url.scheme", "http"));
	CHECK(attr_int(w.span.p, w.span.len, "http.response.status_code", 200));
	CHECK(attr_str(w.span.p, w.span.len, "network.protocol.name", "http"));
	CHECK(attr_str(w.span.p, w.span.len, "network.protocol.version", "1.1"));
	CHECK(attr_str(w.span.p, w.span.len, "network.transport", "tcp"));
	CHECK(attr_str(w.span.p, w.span.len, "server.address", "10.231.0.2"));
	CHECK(attr_int(w.span.p, w.span.len, "server.port", 80));
	CHECK(attr_str(w.span.p, w.span.len, "client.address", "10.231.0.3"));
	CHECK(attr_int(w.span.p, w.span.len, "client.port", 51234));
	CHECK(attr_str(w.span.p, w.span.len, "network.peer.address", "10.231.0.3"));
	CHECK(attr_int(w.span.p, w.span.len, "network.peer.port", 51234));
	CHECK(attr_int(w.span.p, w.span.len, "thread.id", 78));
	CHECK(attr_int(w.span.p, w.span.len, "ztrace.bytes_in", 100));
	CHECK(attr_int(w.span.p, w.span.len, "ztrace.bytes_out", 2000));
	CHECK(attr_int(w.span.p, w.span.len, "ztrace.cgroup_id", 4242));
	CHECK(attr(w.span.p, w.span.len, 9, "ztrace.tls", &v) && v.num == 2 && v.v == 0);
	CHECK(!has_attr(w.span.p, w.span.len, "ztrace.flags"));
	CHECK(!has_attr(w.span.p, w.span.len, "error.type"));

	/* the whole attribute "http.request.method" = "GET", byte for byte:
	 * 4a 1c | 0a 13 "http.request.method" | 12 05 | 0a 03 "GET" */
	static const char kv[] = "\x4a\x1c\x0a\x13http.request.method\x12\x05\x0a\x03GET";

	CHECK(memmem(w.span.p, w.span.len, kv, sizeof(kv) - 1) != NULL);
}

static void test_client_failed_no_parent(void)
{
	struct zt_span s;
	const struct zt_span *sp = &s;
	struct zt_otlp_buf b = buf_of(sizeof(mem));
	struct walked w;
	struct field f, st;

	base_span(&s);
	s.kind = ZT_SPAN_CLIENT;
	s.has_parent = false;
	s.status = 503;
	s.failed = true;
	s.tls = true;
	s.flags = ZT_F_TRUNCATED | ZT_F_PIPELINED;
	strcpy(s.local, "[fd00::3]:40000");
	strcpy(s.peer, "[fd00::2]:443");
	CHECK_EQ_INT(zt_otlp_encode(&b, &sp, 1, "h", false), 0);
	CHECK(walk(mem, b.len, 0, 0, &w));
	CHECK(!get(w.span.p, w.span.len, 4, 0, &f));
	CHECK(get(w.span.p, w.span.len, 6, 0, &f) && f.v == 3);
	/* status: message "http 503" and code ERROR: 7a 0c | 12 08 "http 503" | 18 02 */
	CHECK(get(w.span.p, w.span.len, 15, 0, &st));
	CHECK_EQ_INT(st.len, 12);
	CHECK(!memcmp(st.p, "\x12\x08http 503\x18\x02", 12));
	CHECK(attr_str(w.span.p, w.span.len, "error.type", "503"));
	CHECK(attr_str(w.span.p, w.span.len, "server.address", "fd00::2"));
	CHECK(attr_int(w.span.p, w.span.len, "server.port", 443));
	CHECK(attr_str(w.span.p, w.span.len, "client.address", "fd00::3"));
	CHECK(attr_int(w.span.p, w.span.len, "client.port", 40000));
	CHECK(attr_str(w.span.p, w.span.len, "url.scheme", "https"));
	CHECK(attr_str(w.span.p, w.span.len, "ztrace.flags", "truncated,pipelined"));
	struct field v;

	CHECK(attr(w.span.p, w.span.len, 9, "ztrace.tls", &v) && v.num == 2 && v.v == 1);
}

static const struct zt_otlp_attr *find_attr(const struct zt_otlp_fields *f, const char *key)
{
	for (int i = 0; i < f->nattrs; i++)
		if (!strcmp(f->attrs[i].key, key))
			return &f->attrs[i];
	return NULL;
}

static void test_protocols(void)
{
	struct zt_span s;
	struct zt_otlp_fields f;
	const struct zt_otlp_attr *a;

#define ATTR(k) (a = find_attr(&f, (k)))

	base_span(&s);
	s.protocol = "grpc";
	strcpy(s.method, "POST");
	strcpy(s.target, "/helloworld.Greeter/SayHello");
	s.status = 5;
	s.failed = true;
	strcpy(s.error, "NOT_FOUND");
	s.stream = 3;
	zt_otlp_span_fields(&s, &f);
	CHECK_EQ_STR(f.name, "helloworld.Greeter/SayHello");
	CHECK(ATTR("rpc.system") && !strcmp(a->s, "grpc"));
	CHECK(ATTR("rpc.service") && !strcmp(a->s, "helloworld.Greeter"));
	CHECK(ATTR("rpc.method") && !strcmp(a->s, "SayHello"));
	CHECK(ATTR("rpc.grpc.status_code") && a->i == 5);
	CHECK(ATTR("ztrace.stream") && a->i == 3);
	CHECK(ATTR("error.type") && !strcmp(a->s, "NOT_FOUND"));
	CHECK_EQ_STR(f.status_msg, "NOT_FOUND");
	CHECK_EQ_INT(f.status_code, ZT_OTLP_STATUS_ERROR);
	CHECK(!ATTR("http.request.method"));

	base_span(&s);
	s.protocol = "postgresql";
	strcpy(s.method, "SELECT");
	strcpy(s.target, "SELECT a FROM t WHERE id = ?");
	s.failed = true;
	strcpy(s.error, "42P01");
	zt_otlp_span_fields(&s, &f);
	CHECK_EQ_STR(f.name, "SELECT SELECT a FROM t WHERE id = ?");
	CHECK(ATTR("db.system") && !strcmp(a->s, "postgresql"));
	CHECK(ATTR("db.operation.name") && !strcmp(a->s, "SELECT"));
	CHECK(ATTR("db.query.text") && !strcmp(a->s, "SELECT a FROM t WHERE id = ?"));
	CHECK(ATTR("db.response.status_code") && !strcmp(a->s, "42P01"));
	CHECK(!ATTR("url.path"));

	base_span(&s);
	s.protocol = "mysql";
	strcpy(s.method, "INSERT");
	strcpy(s.target, "INSERT INTO t VALUES (?)");
	s.status = 1146;
	s.failed = true;
	strcpy(s.error, "42S02");
	zt_otlp_span_fields(&s, &f);
	CHECK(ATTR("db.system") && !strcmp(a->s, "mysql"));
	CHECK(ATTR("db.response.status_code") && !strcmp(a->s, "1146"));

	base_span(&s);
	s.protocol = "redis";
	strcpy(s.method, "CLIENT");
	strcpy(s.target, "SETNAME");
	zt_otlp_span_fields(&s, &f);
	CHECK_EQ_STR(f.name, "CLIENT SETNAME");
	CHECK(ATTR("db.system") && !strcmp(a->s, "redis"));
	CHECK(ATTR("db.query.text") && !strcmp(a->s, "CLIENT SETNAME"));
	CHECK(!ATTR("db.response.status_code"));
	CHECK_EQ_INT(f.status_code, ZT_OTLP_STATUS_UNSET);

	base_span(&s);
	s.protocol = "dns";
	s.kind = ZT_SPAN_CLIENT;
	strcpy(s.method, "AAAA");
	strcpy(s.target, "nope.example.test");
	s.status = 3;
	s.failed = true;
	strcpy(s.error, "NXDOMAIN");
	strcpy(s.peer, "10.0.0.1:53");
	zt_otlp_span_fields(&s, &f);
	CHECK_EQ_STR(f.name, "AAAA nope.example.test");
	CHECK_EQ_INT(f.kind, ZT_OTLP_KIND_CLIENT);
	CHECK(ATTR("dns.question.name") && !strcmp(a->s, "nope.example.test"));
	CHECK(ATTR("ztrace.dns.rcode") && a->i == 3);
	CHECK(ATTR("network.transport") && !strcmp(a->s, "udp"));
	CHECK(ATTR("server.port") && a->i == 53);

	base_span(&s);
	s.protocol = "http2";
	s.method[0] = s.target[0] = 0;
	s.flags = ZT_F_HDRS_UNKNOWN;
	s.status = 0;
	zt_otlp_span_fields(&s, &f);
	CHECK_EQ_STR(f.name, "HTTP");
	CHECK(!ATTR("http.request.method") && !ATTR("url.path") && !ATTR("http.response.status_code"));
	CHECK(ATTR("network.protocol.version") && !strcmp(a->s, "2"));
#undef ATTR
}

/* The name is cut whole characters short of its bound. */
static void test_name_cut(void)
{
	struct zt_span s;
	struct zt_otlp_fields f;
	size_t n;

	base_span(&s);
	s.protocol = "postgresql";
	strcpy(s.method, "SELECT");
	memset(s.target, 0, sizeof(s.target));
	for (int i = 0; i + 2 < (int)sizeof(s.target) - 1; i += 2)
		memcpy(s.target + i, "\xc3\xa9", 2); /* é */
	zt_otlp_span_fields(&s, &f);
	n = strlen(f.name);
	CHECK(n < ZT_OTLP_NAME_MAX);
	CHECK(n >= ZT_OTLP_NAME_MAX - 2);
	CHECK(!memcmp(f.name, "SELECT \xc3\xa9", 9));
	CHECK(((n - 7) % 2) == 0); /* no half é at the end */
}

static void test_container_id(void)
{
	char id[65];
	const char *h = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char path[300];

	snprintf(path, sizeof(path), "system.slice/docker-%s.scope", h);
	CHECK(zt_otlp_container_id(path, id) && !strcmp(id, h));
	snprintf(path, sizeof(path), "docker/%s", h);
	CHECK(zt_otlp_container_id(path, id) && !strcmp(id, h));
	snprintf(path, sizeof(path), "kubepods/pod1/cri-containerd-%s.scope", h);
	CHECK(zt_otlp_container_id(path, id) && !strcmp(id, h));
	/* 65 hex digits is not an id, nor 63 */
	snprintf(path, sizeof(path), "x/%sa", h);
	CHECK(!zt_otlp_container_id(path, id) && !*id);
	snprintf(path, sizeof(path), "x/%s", h + 1);
	CHECK(!zt_otlp_container_id(path, id));
	CHECK(!zt_otlp_container_id("ztrace-test/pong", id));
	/* the innermost of two */
	snprintf(path, sizeof(path), "docker/%s/inner-%.*s0000", h, 60, h + 4);
	CHECK(zt_otlp_container_id(path, id) && !strncmp(id, h + 4, 60) && !strcmp(id + 60, "0000"));
	CHECK(!zt_otlp_container_id("", id));
	CHECK(!zt_otlp_container_id(NULL, id));
}

static void test_endpoint(void)
{
	char out[256];

	zt_otlp_endpoint("localhost:4318", out, sizeof(out));
	CHECK_EQ_STR(out, "http://localhost:4318/v1/traces");
	zt_otlp_endpoint("http://c:4318", out, sizeof(out));
	CHECK_EQ_STR(out, "http://c:4318/v1/traces");
	zt_otlp_endpoint("https://c:4318/", out, sizeof(out));
	CHECK_EQ_STR(out, "https://c:4318/v1/traces");
	zt_otlp_endpoint("http://c:4318/custom/path", out, sizeof(out));
	CHECK_EQ_STR(out, "http://c:4318/custom/path");
	zt_otlp_endpoint("10.0.0.1:4318/otlp", out, sizeof(out));
	CHECK_EQ_STR(out, "http://10.0.0.1:4318/otlp");
}

/* Spans of two resources, interleaved: one ResourceSpans each, spans in
 * arrival order inside. */
static void test_grouping(void)
{
	struct zt_span s[4];
	const struct zt_span *sp[4];
	struct zt_otlp_buf b = buf_of(sizeof(mem));
	struct walked w;
	struct field f, v;

	for (int i = 0; i < 4; i++) {
		base_span(&s[i]);
		s[i].span_id[7] = (uint8_t)i;
		sp[i] = &s[i];
	}
	s[1].pid = s[3].pid = 88;
	s[1].container = s[3].container = "?";
	s[1].cgroup = s[3].cgroup = "?";
	strcpy(s[1].comm, "curl");
	strcpy(s[3].comm, "curl");
	CHECK_EQ_INT(zt_otlp_encode(&b, sp, 4, "h", false), 0);
	CHECK_EQ_INT(count_fields(mem, b.len, 1), 2);
	CHECK(walk(mem, b.len, 0, 1, &w));
	CHECK(get(w.span.p, w.span.len, 2, 0, &f) && f.p[7] == 2);
	CHECK(walk(mem, b.len, 1, 0, &w));
	CHECK(get(w.span.p, w.span.len, 2, 0, &f) && f.p[7] == 1);
	CHECK_EQ_INT(count_fields(w.ss.p, w.ss.len, 2), 2);
	/* an unknown cgroup: the process name stands in, no container.id */
	CHECK(attr(w.res.p, w.res.len, 1, "service.name", &v) && str_is(&v, "curl"));
	CHECK(!attr(w.res.p, w.res.len, 1, "container.id", &v));
	CHECK(attr(w.res.p, w.res.len, 1, "process.pid", &v) && v.v == 88);

	/* a batch too big for one request */
	static struct zt_span many[ZT_OTLP_BATCH_MAX + 1];
	static const struct zt_span *mp[ZT_OTLP_BATCH_MAX + 1];

	for (int i = 0; i <= ZT_OTLP_BATCH_MAX; i++) {
		base_span(&many[i]);
		many[i].pid = (uint32_t)(i % 7);
		mp[i] = &many[i];
	}
	CHECK_EQ_INT(zt_otlp_encode(&b, mp, ZT_OTLP_BATCH_MAX + 1, "h", false), -E2BIG);
	CHECK_EQ_INT(zt_otlp_encode(&b, mp, ZT_OTLP_BATCH_MAX, "h", false), 0);
	CHECK_EQ_INT(count_fields(mem, b.len, 1), 7);

	/* nothing: an empty request */
	CHECK_EQ_INT(zt_otlp_encode(&b, sp, 0, "h", false), 0);
	CHECK_EQ_INT(b.len, 0);
}

/* The owner goes on the resource: spans of one process with different
 * owners are different resources; unknown fields are left out. */
static void test_owner_resource(void)
{
	static const struct zt_owner full = { "team-pong", "https://git.example.test/pong.git",
					      "pong-oncall@example.test" };
	static const struct zt_owner pager_only = { NULL, NULL, "#ops" };
	struct zt_span s[3];
	const struct zt_span *sp[3] = { &s[0], &s[1], &s[2] };
	struct zt_otlp_buf b = buf_of(sizeof(mem));
	struct walked w;
	struct field v;
	char *j;

	for (int i = 0; i < 3; i++)
		base_span(&s[i]);
	s[0].owner = &full;
	s[1].owner = &pager_only;
	s[2].owner = NULL;
	CHECK_EQ_INT(zt_otlp_encode(&b, sp, 3, "h", false), 0);
	CHECK_EQ_INT(count_fields(mem, b.len, 1), 3);
	CHECK(walk(mem, b.len, 0, 0, &w));
	CHECK(attr(w.res.p, w.res.len, 1, "ztrace.owner.team", &v) && str_is(&v, "team-pong"));
	CHECK(attr(w.res.p, w.res.len, 1, "vcs.repository.url.full", &v) &&
	      str_is(&v, "https://git.example.test/pong.git"));
	CHECK(attr(w.res.p, w.res.len, 1, "ztrace.owner.pager", &v) &&
	      str_is(&v, "pong-oncall@example.test"));
	CHECK(attr(w.res.p, w.res.len, 1, "service.name", &v) && str_is(&v, "0123456789ab"));
	CHECK(walk(mem, b.len, 1, 0, &w));
	CHECK(attr(w.res.p, w.res.len, 1, "ztrace.owner.pager", &v) && str_is(&v, "#ops"));
	CHECK(!attr(w.res.p, w.res.len, 1, "ztrace.owner.team", &v));
	CHECK(!attr(w.res.p, w.res.len, 1, "vcs.repository.url.full", &v));
	CHECK(walk(mem, b.len, 2, 0, &w));
	CHECK(!attr(w.res.p, w.res.len, 1, "ztrace.owner.pager", &v));
	CHECK(!attr(w.res.p, w.res.len, 1, "ztrace.owner.team", &v));

	/* the same owner by value from two answers: one resource */
	{
		static const struct zt_owner copy = { "team-pong", "https://git.example.test/pong.git",
						      "pong-oncall@example.test" };

		s[1].owner = &copy;
		CHECK_EQ_INT(zt_otlp_encode(&b, sp, 2, "h", false), 0);
		CHECK_EQ_INT(count_fields(mem, b.len, 1), 1);
	}

	s[1].owner = &pager_only;
	CHECK_EQ_INT(zt_otlp_encode(&b, sp, 3, "h", true), 0);
	mem[b.len] = 0;
	j = (char *)mem;
	CHECK(strstr(j, "{\"key\":\"process.executable.name\",\"value\":{\"stringValue\":\"nginx\"}},"
			"{\"key\":\"ztrace.owner.team\",\"value\":{\"stringValue\":\"team-pong\"}},"
			"{\"key\":\"vcs.repository.url.full\",\"value\":{\"stringValue\":"
			"\"https://git.example.test/pong.git\"}},"
			"{\"key\":\"ztrace.owner.pager\",\"value\":{\"stringValue\":"
			"\"pong-oncall@example.test\"}}]}"));
	CHECK(strstr(j, "{\"key\":\"process.executable.name\",\"value\":{\"stringValue\":\"nginx\"}},"
			"{\"key\":\"ztrace.owner.pager\",\"value\":{\"stringValue\":\"#ops\"}}]}"));
	CHECK(strstr(j, "{\"key\":\"process.executable.name\",\"value\":{\"stringValue\":\"nginx\"}}]}"));
}

static void test_json(void)
{
	struct zt_span s[2];
	const struct zt_span *sp[2] = { &s[0], &s[1] };
	struct zt_otlp_buf b = buf_of(sizeof(mem));
	char *j;

	base_span(&s[0]);
	base_span(&s[1]);
	s[1].has_parent = false;
	s[1].failed = true;
	s[1].status = 500;
	strcpy(s[1].target, "/a\"b\\c\x01\xff\xc3\xa9");
	CHECK_EQ_INT(zt_otlp_encode(&b, sp, 2, "myhost", true), 0);
	mem[b.len] = 0;
	j = (char *)mem;
	CHECK(!strncmp(j, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
		       "\"value\":{\"stringValue\":\"0123456789ab\"}}", 96));
	CHECK(strstr(j, "{\"key\":\"process.pid\",\"value\":{\"intValue\":\"77\"}}"));
	CHECK(strstr(j, "\"scopeSpans\":[{\"scope\":{\"name\":\"ztrace\",\"version\":\"0.1\"},\"spans\":[{"
			"\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"a0a1a2a3a4a5a6a7\","
			"\"parentSpanId\":\"b0b1b2b3b4b5b6b7\",\"name\":\"GET /index.html\",\"kind\":2,"
			"\"startTimeUnixNano\":\"1700000000123456789\","
			"\"endTimeUnixNano\":\"1700000000123868789\",\"attributes\":["));
	CHECK(strstr(j, "{\"key\":\"http.response.status_code\",\"value\":{\"intValue\":\"200\"}}"));
	CHECK(strstr(j, "{\"key\":\"ztrace.tls\",\"value\":{\"boolValue\":false}}"));
	CHECK(strstr(j, "\"status\":{\"code\":0}}"));
	/* the second span: no parent, an error, a path that needs escaping */
	CHECK(strstr(j, ",{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":"
			"\"a0a1a2a3a4a5a6a7\",\"name\":\"GET /a\\\"b\\\\c\\u0001\\ufffd\xc3\xa9\""));
	CHECK(strstr(j, "\"status\":{\"message\":\"http 500\",\"code\":2}}]}]}]}"));
	CHECK_EQ_INT(j[b.len - 1], '}');
	/* one resource: both spans under it */
	CHECK(!strstr(j + 10, "resourceSpans"));
}

/* The worst span: every string at its bound, all of it bytes that JSON
 * escapes six-fold. n spans fit n * ZT_OTLP_SPAN_WORST; the final size
 * plus ZT_OTLP_SLACK (nested lengths reserved, then given back) is enough;
 * less than the final size is -ENOSPC, never a write past the buffer (ASan
 * watches). */
static void test_worst_and_overflow(void)
{
	static struct zt_span s[8];
	const struct zt_span *sp[8];
	static char cg[512];
	uint8_t *heap;
	size_t need;

	/* An owner's values: at their bound, every byte one JSON escapes
	 * (control bytes never reach them: zt_owner_value). */
	static char ov[ZT_OWNER_VALUE_MAX + 1];
	static struct zt_owner worst_owner = { ov, ov, ov };

	memset(ov, '"', ZT_OWNER_VALUE_MAX);
	memset(cg, 1, sizeof(cg) - 1);
	for (int i = 0; i < 8; i++) {
		base_span(&s[i]);
		s[i].protocol = i & 1 ? "postgresql" : "http";
		memset(s[i].method, 1, sizeof(s[i].method) - 1);
		memset(s[i].target, 1, sizeof(s[i].target) - 1);
		memset(s[i].error, 1, sizeof(s[i].error) - 1);
		memset(s[i].comm, 1, sizeof(s[i].comm) - 1);
		s[i].method[sizeof(s[i].method) - 1] = s[i].target[sizeof(s[i].target) - 1] = 0;
		s[i].failed = true;
		s[i].flags = ~0u;
		s[i].pid = (uint32_t)i; /* a resource each */
		s[i].cgroup = cg;
		s[i].container = cg;
		s[i].owner = &worst_owner;
		sp[i] = &s[i];
	}
	for (int json = 0; json < 2; json++) {
		struct zt_otlp_buf b = buf_of(sizeof(mem));

		CHECK_EQ_INT(zt_otlp_encode(&b, sp, 8, "h", json), 0);
		need = b.len;
		CHECK(need <= 8 * ZT_OTLP_SPAN_WORST);
		printf("worst: 8 spans, %s: %zu bytes\n", json ? "json" : "protobuf", need);
		heap = malloc(need + ZT_OTLP_SLACK);
		b = (struct zt_otlp_buf){ .p = heap, .cap = need + ZT_OTLP_SLACK };
		CHECK_EQ_INT(zt_otlp_encode(&b, sp, 8, "h", json), 0);
		CHECK_EQ_INT(b.len, need);
		free(heap);
		for (size_t cap = need - 1; cap + 64 > need && cap > 0; cap--) {
			heap = malloc(cap);
			b = (struct zt_otlp_buf){ .p = heap, .cap = cap };
			CHECK_EQ_INT(zt_otlp_encode(&b, sp, 8, "h", json), -ENOSPC);
			free(heap);
		}
		heap = malloc(1);
		b = (struct zt_otlp_buf){ .p = heap, .cap = 0 };
		CHECK_EQ_INT(zt_otlp_encode(&b, sp, 8, "h", json), -ENOSPC);
		free(heap);
	}
}

int main(void)
{
	test_varint();
	test_nested_lengths();
	test_http_span_protobuf();
	test_client_failed_no_parent();
	test_protocols();
	test_name_cut();
	test_container_id();
	test_endpoint();
	test_grouping();
	test_owner_resource();
	test_json();
	test_worst_and_overflow();
	return TEST_SUMMARY("test_otlp");
}
