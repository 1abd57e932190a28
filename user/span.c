// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "outbuf.h"
#include "span.h"
#include "ztrace.h"

/* xoshiro256**: ids need to be unique, not secret; no syscall per span. */
static uint64_t rng[4];

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void zt_ids_seed(uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		rng[i] = splitmix(&seed);
}

static uint64_t next64(void)
{
	uint64_t r = rotl(rng[1] * 5, 7) * 9, t = rng[1] << 17;

	rng[2] ^= rng[0];
	rng[3] ^= rng[1];
	rng[1] ^= rng[2];
	rng[0] ^= rng[3];
	rng[2] ^= t;
	rng[3] = rotl(rng[3], 45);
	return r;
}

void zt_ids_fill(uint8_t *buf, int n)
{
	bool zero = true;

	/* An all-zero state would yield only zeros: seed on first use. */
	if (!(rng[0] | rng[1] | rng[2] | rng[3])) {
		uint64_t seed = 0;

		if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
			seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
		zt_ids_seed(seed);
	}

	/* W3C: an all-zero id is invalid, so never produce one. */
	while (zero) {
		for (int i = 0; i < n; i += 8) {
			uint64_t r = next64();
			int m = n - i < 8 ? n - i : 8;

			memcpy(buf + i, &r, m);
			/* Whole words by value; a part word (no id has one)
			 * by its bytes. */
			if (m == 8)
				zero &= r == 0;
			else
				for (int k = 0; k < m; k++)
					zero &= buf[i + k] == 0;
		}
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool parse_hex(const char *s, uint8_t *out, int n)
{
	bool nonzero = false;

	for (int i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
		nonzero |= out[i] != 0;
	}
	return nonzero;
}

bool zt_traceparent_parse(const char *s, uint8_t trace_id[16], uint8_t parent_id[8])
{
	uint8_t ver, flags;
	size_t len = strlen(s);

	if (len < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-')
		return false;
	if (hexval(s[0]) < 0 || hexval(s[1]) < 0 || hexval(s[53]) < 0 || hexval(s[54]) < 0)
		return false;
	ver = (uint8_t)(hexval(s[0]) << 4 | hexval(s[1]));
	if (ver == 0xff || (ver == 0 && len != 55) || (ver != 0 && len > 55 && s[55] != '-'))
		return false;
	flags = (uint8_t)(hexval(s[53]) << 4 | hexval(s[54]));
	(void)flags;
	return parse_hex(s + 3, trace_id, 16) && parse_hex(s + 36, parent_id, 8);
}

/* out = pre ip post ":" port, cut to size: twice per span, so no printf. */
static void addr_join(char *out, int size, const char *pre, const char *ip, const char *post,
		      uint16_t port)
{
	char tmp[INET6_ADDRSTRLEN + 16], digits[6], *d = zt_u64_digits(digits + sizeof(digits), port);
	size_t n = 0, k;

	for (const char *part[] = { pre, ip, post, ":" }, **p = part; p < part + 4; p++) {
		k = strlen(*p);
		memcpy(tmp + n, *p, k);
		n += k;
	}
	memcpy(tmp + n, d, digits + sizeof(digits) - d);
	n += digits + sizeof(digits) - d;
	if (size <= 0)
		return;
	if (n > (size_t)size - 1)
		n = size - 1;
	memcpy(out, tmp, n);
	out[n] = '\0';
}

/* glibc's inet_ntop formats IPv4 with sprintf: by hand here. Returns the
 * end of the dotted quad (its NUL). */
static char *ipv4_format(const uint8_t a[4], char *out)
{
	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];

		if (v >= 100)
			*out++ = (char)('0' + v / 100);
		if (v >= 10)
			*out++ = (char)('0' + v / 10 % 10);
		*out++ = (char)('0' + v % 10);
		*out++ = i < 3 ? '.' : '\0';
	}
	return out - 1;
}

/* "a.b.c.d:port" straight into out, which has room for the longest. */
static void ipv4_port_format(const uint8_t a[4], uint16_t port, char *out)
{
	char digits[6], *d = zt_u64_digits(digits + sizeof(digits), port);
	char *p = ipv4_format(a, out);

	*p++ = ':';
	while (d < digits + sizeof(digits))
		*p++ = *d++;
	*p = '\0';
}

void zt_addr_format(uint16_t family, const uint8_t addr[16], uint16_t port, char *out, int size)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char ip[INET6_ADDRSTRLEN] = "?";

	/* Twice a span: the common case skips the joining and its copies. */
	if (size >= (int)sizeof("255.255.255.255:65535") &&
	    (family == AF_INET || (family == AF_INET6 && !memcmp(addr, v4mapped, 12)))) {
		ipv4_port_format(family == AF_INET ? addr : addr + 12, port, out);
	} else if (family == AF_INET) {
		ipv4_format(addr, ip);
		addr_join(out, size, "", ip, "", port);
	} else if (family == AF_INET6 && !memcmp(addr, v4mapped, 12)) {
		ipv4_format(addr + 12, ip);
		addr_join(out, size, "", ip, "", port);
	} else if (family == AF_INET6) {
		inet_ntop(AF_INET6, addr, ip, sizeof(ip));
		addr_join(out, size, "[", ip, "]", port);
	} else {
		snprintf(out, size, "?");
	}
}

bool zt_span_from_txn(struct zt_span *s, const struct zt_conn *c, const struct zt_txn *t,
			int64_t mono_to_unix)
{
	uint64_t start = t->req_first_ns;
	uint64_t end = t->resp_last_ns;
	bool tp_ok = true;

	if (!end) /* no response: the span ends with the request */
		end = t->req_last_ns;
	memset(s, 0, sizeof(*s));
	s->start_ns = start + mono_to_unix;
	s->duration_ns = end > start ? end - start : 0;
	s->kind = t->server ? ZT_SPAN_SERVER : ZT_SPAN_CLIENT;
	s->protocol = t->protocol ? t->protocol : "?";
	memcpy(s->method, t->method, sizeof(s->method));
	memcpy(s->target, t->target, sizeof(s->target));
	memcpy(s->error, t->error, sizeof(s->error));
	s->method[sizeof(s->method) - 1] = '\0';
	s->target[sizeof(s->target) - 1] = '\0';
	s->error[sizeof(s->error) - 1] = '\0';
	s->status = t->status;
	s->failed = t->failed;
	s->stream = t->stream;
	s->cgroup_id = c->cgroup_id;
	s->pid = c->pid;
	s->tid = c->tid;
	memcpy(s->comm, c->comm, sizeof(s->comm));
	if (c->known) {
		zt_addr_format(c->family, c->saddr, c->sport, s->local, sizeof(s->local));
		zt_addr_format(c->family, c->daddr, c->dport, s->peer, sizeof(s->peer));
	} else {
		strcpy(s->local, "?");
		strcpy(s->peer, "?");
	}
	s->bytes_in = t->server ? t->req_bytes : t->resp_bytes;
	s->bytes_out = t->server ? t->resp_bytes : t->req_bytes;
	s->flags = t->flags;
	s->tls = c->tls;
	zt_ids_fill(s->span_id, sizeof(s->span_id));
	/* A span continues the trace its request names: the caller's, for a
	 * server; for a client, the one its process was asked to carry on
	 * (the linker keeps or drops that parent, trace/link.h). */
	if (t->traceparent[0]) {
		tp_ok = zt_traceparent_parse(t->traceparent, s->trace_id, s->parent_span_id);
		s->has_parent = tp_ok;
	}
	if (!s->has_parent)
		zt_ids_fill(s->trace_id, sizeof(s->trace_id));
	return tp_ok;
}
