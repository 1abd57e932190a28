// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The OTLP encoder under libFuzzer. Span strings come from the wire (paths,
 * statements, names) and from the system (cgroup paths, comm), so any bytes
 * may reach it. The input is a sequence of spans, each:
 *
 *   byte 0     bits 0-2: protocol, bit 3: kind, bit 4: failed, bit 5: tls,
 *              bit 6: has_parent
 *   byte 1-4   status (little endian), flags from bytes 5-8
 *   then NUL-separated strings: method, target, error, comm, local, peer,
 *   cgroup, container, each cut to its field's size
 *
 * Both forms are encoded into a buffer of n * ZT_OTLP_SPAN_WORST (they must
 * fit: the bound is a promise), the protobuf is walked to its end as the wire
 * format allows, the JSON's brackets must balance outside strings and its
 * bytes must be valid UTF-8; then again into a buffer one byte short, which
 * must fail with -ENOSPC without writing past it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export/otlp_pb.h"

#define MAX_SPANS 8

static const char *protos[] = { "http", "http2", "grpc", "redis", "postgresql", "mysql", "dns", "x" };

static const uint8_t *take_str(const uint8_t *p, const uint8_t *end, char *out, size_t size)
{
	const uint8_t *nul = memchr(p, 0, end - p);
	size_t n = (nul ? nul : end) - p;

	if (n > size - 1)
		n = size - 1;
	memcpy(out, p, n);
	out[n] = 0;
	return nul ? nul + 1 : end;
}

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
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

/* Walks a message; LEN fields of the numbers that hold messages in OTLP's
 * trace subset are walked into (strings and bytes are not). */
static void walk(const uint8_t *p, const uint8_t *end, int depth)
{
	if (depth > 8)
		abort();
	while (p < end) {
		uint64_t tag, v;

		if (!varint(&p, end, &tag) || (tag >> 3) == 0)
			abort();
		switch (tag & 7) {
		case 0:
			if (!varint(&p, end, &v))
				abort();
			break;
		case 1:
			if (end - p < 8)
				abort();
			p += 8;
			break;
		case 2:
			if (!varint(&p, end, &v) || v > (uint64_t)(end - p))
				abort();
			/* resource_spans, resource, scope_spans, scope, spans,
			 * attributes, KeyValue.value, status: messages; a
			 * string may look like one by chance, so only the
			 * framing of the outer levels is asserted. */
			if (depth < 2)
				walk(p, p + v, depth + 1);
			p += v;
			break;
		default:
			abort();
		}
	}
}

static int utf8_len(const uint8_t *s, const uint8_t *end)
{
	int n;

	if (s[0] < 0x80)
		return 1;
	n = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (!n || end - s < n)
		return 0;
	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

static void check_json(const uint8_t *p, size_t len)
{
	const uint8_t *end = p + len;
	int depth = 0;
	bool in_str = false;

	while (p < end) {
		int n = utf8_len(p, end);

		if (!n)
			abort();
		if (in_str) {
			if (*p < 0x20)
				abort();
			if (*p == '\\')
				p++;
			else if (*p == '"')
				in_str = false;
		} else if (*p == '"') {
			in_str = true;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if (*p == '}' || *p == ']') {
			if (--depth < 0)
				abort();
		}
		p += n;
	}
	if (depth || in_str)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct zt_span s[MAX_SPANS];
	static char cgroup[MAX_SPANS][256], container[MAX_SPANS][64];
	const struct zt_span *sp[MAX_SPANS];
	const uint8_t *p = data, *end = data + size;
	int n = 0;

	while (n < MAX_SPANS && end - p >= 9) {
		struct zt_span *x = &s[n];

		memset(x, 0, sizeof(*x));
		x->protocol = protos[p[0] & 7];
		x->kind = p[0] & 8 ? ZT_SPAN_CLIENT : ZT_SPAN_SERVER;
		x->failed = p[0] & 16;
		x->tls = p[0] & 32;
		x->has_parent = p[0] & 64;
		memcpy(&x->status, p + 1, 4);
		memcpy(&x->flags, p + 5, 4);
		x->start_ns = (uint64_t)p[1] << 56 | p[2];
		x->duration_ns = p[3];
		x->pid = p[4];
		x->bytes_in = (uint64_t)-1;
		p += 9;
		p = take_str(p, end, x->method, sizeof(x->method));
		p = take_str(p, end, x->target, sizeof(x->target));
		p = take_str(p, end, x->error, sizeof(x->error));
		p = take_str(p, end, x->comm, sizeof(x->comm));
		p = take_str(p, end, x->local, sizeof(x->local));
		p = take_str(p, end, x->peer, sizeof(x->peer));
		p = take_str(p, end, cgroup[n], sizeof(cgroup[n]));
		p = take_str(p, end, container[n], sizeof(container[n]));
		x->cgroup = cgroup[n];
		x->container = container[n];
		sp[n] = x;
		n++;
	}
	for (int json = 0; json < 2; json++) {
		size_t cap = (size_t)(n ? n : 1) * ZT_OTLP_SPAN_WORST, need;
		struct zt_otlp_buf b = { .p = malloc(cap), .cap = cap };

		if (zt_otlp_encode(&b, sp, n, "host", json))
			abort();
		need = b.len;
		if (json)
			check_json(b.p, b.len);
		else
			walk(b.p, b.p + b.len, 0);
		free(b.p);
		if (!need)
			continue;
		b = (struct zt_otlp_buf){ .p = malloc(need - 1), .cap = need - 1 };
		if (zt_otlp_encode(&b, sp, n, "host", json) != -ENOSPC)
			abort();
		free(b.p);
	}
	return 0;
}
