// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The span formatters write fields by hand (no printf on the per-span path):
 * the text line is checked against the printf format it replaced, the JSON
 * object read back with json-c field by field, over random spans with
 * extreme values, hostile strings and every optional part.
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "output/output.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void rnd_str(char *dst, size_t size, bool printable)
{
	static const char pick[] = "abcXYZ09/._-:[]\"\\ \t\x01\x7f\xc3\xa9\xff";
	size_t n = rnd() % size;

	for (size_t i = 0; i < n; i++)
		dst[i] = printable ? (char)(0x20 + rnd() % 95) : pick[rnd() % (sizeof(pick) - 1)];
	dst[n] = '\0';
}

static uint64_t rnd_u64(void)
{
	switch (rnd() % 4) {
	case 0: return 0;
	case 1: return UINT64_MAX;
	case 2: return rnd() % 100000;
	default: return rnd();
	}
}

static char cont[32], cgroup[64], proto[16], cause[16];

static void rnd_span(struct zt_span *s, bool printable)
{
	memset(s, 0, sizeof(*s));
	s->start_ns = rnd_u64() % 4000000000000000000ULL;
	s->duration_ns = rnd() % 3 ? rnd() % 5000000000ULL : rnd_u64() % 4000000000000000000ULL;
	s->kind = rnd() % 2 ? ZT_SPAN_SERVER : ZT_SPAN_CLIENT;
	rnd_str(proto, sizeof(proto), printable);
	s->protocol = proto;
	rnd_str(s->method, 12, printable);
	rnd_str(s->target, 60, printable);
	rnd_str(s->error, sizeof(s->error), printable);
	s->status = rnd() % 5 ? (int)(rnd() % 600) : (int)rnd();
	s->failed = rnd() % 2;
	s->stream = rnd() % 2 ? (uint32_t)rnd() : 0;
	s->cgroup_id = rnd_u64();
	rnd_str(cgroup, sizeof(cgroup), printable);
	s->cgroup = rnd() % 4 ? cgroup : NULL;
	rnd_str(cont, sizeof(cont), printable);
	s->container = rnd() % 4 ? cont : NULL;
	s->pid = (uint32_t)rnd();
	s->tid = (uint32_t)rnd();
	rnd_str(s->comm, sizeof(s->comm), printable);
	rnd_str(s->local, 30, true);
	rnd_str(s->peer, 30, true);
	s->bytes_in = rnd_u64();
	s->bytes_out = rnd_u64();
	for (int i = 0; i < 16; i++)
		s->trace_id[i] = (uint8_t)rnd();
	for (int i = 0; i < 8; i++)
		s->span_id[i] = (uint8_t)rnd(), s->parent_span_id[i] = (uint8_t)rnd();
	s->has_parent = rnd() % 2;
	s->no_parent = rnd() % 2 ? "no_peer" : NULL;
	s->tls = rnd() % 2;
	s->flags = rnd() % 3 ? 0 : (uint32_t)rnd();
	rnd_str(cause, sizeof(cause), printable);
	s->cause = rnd() % 2 ? cause : NULL;
	s->bd.has = rnd() % 2;
	s->bd.sched = (enum zt_bd_sched)(rnd() % 3);
	s->bd.cpu_ns = rnd_u64(), s->bd.runq_ns = rnd_u64(), s->bd.deps_ns = rnd_u64();
	s->bd.net_ns = rnd_u64(), s->bd.io_ns = rnd_u64();
	s->bd.has_net = rnd() % 2;
	s->bd.srtt_us = (uint32_t)rnd(), s->bd.retrans = (uint32_t)rnd();
	s->bd.recv_ns = rnd_u64(), s->bd.send_ns = rnd_u64();
	s->has_accept_wait = rnd() % 2;
	s->accept_wait_ns = rnd_u64();
	s->phases.has = rnd() % 2;
	s->phases.has_connect = rnd() % 2;
	s->phases.has_tls = rnd() % 2;
	s->phases.connect_ns = rnd_u64(), s->phases.tls_ns = rnd_u64();
	s->phases.ttfb_ns = rnd_u64(), s->phases.download_ns = rnd_u64();
}

static struct zt_outbuf out;

static const char *take(void)
{
	static char line[1 << 16];
	size_t n = out.len < sizeof(line) - 1 ? out.len : sizeof(line) - 1;

	memcpy(line, out.buf, n);
	line[n] = '\0';
	out.len = 0;
	return line;
}

/* The text line as printf made it before (user/output/text.c's format),
 * for spans whose flags column is empty. */
static void text_oracle(const struct zt_span *s, char *buf, size_t size)
{
	char ts[40], target[ZT_TXN_TARGET_MAX];
	size_t tl = strlen(s->target);

	/* A long target keeps its tail (as zt_text_span does before printing). */
	if (tl > 24)
		snprintf(target, sizeof(target), "~%s", s->target + tl - 23);
	else
		snprintf(target, sizeof(target), "%s", s->target);
	zt_format_iso8601(s->start_ns + s->duration_ns, ts, sizeof(ts));
	snprintf(buf, size, "%-12.12s %-14.14s %-6s %9.3f %3d %-7.7s %-24s %-21s %s\n", ts + 11,
		 s->container ? s->container : "?", s->kind == ZT_SPAN_SERVER ? "server" : "client",
		 s->duration_ns / 1e6, s->status, s->method, target, s->peer, "");
}

static void test_text_matches_printf(void)
{
	struct zt_span s;
	char want[1024];
	int bad = 0;

	for (int i = 0; i < 20000; i++) {
		rnd_span(&s, true);
		/* Only what leaves the flags column empty; durations off the
		 * half microsecond, where printf's binary rounding may differ. */
		s.protocol = "http";
		s.tls = false;
		s.error[0] = '\0';
		s.cause = NULL;
		s.flags = 0;
		if (s.duration_ns % 1000 == 500 || s.duration_ns > (1ULL << 50))
			s.duration_ns = rnd() % 100000000000ULL / 1000 * 1000 + 123;
		zt_text_span(&out, &s);
		text_oracle(&s, want, sizeof(want));
		if (strcmp(take(), want) && bad++ < 5) {
			zt_text_span(&out, &s);
			CHECK_EQ_STR(take(), want);
		}
	}
	CHECK_EQ_INT(bad, 0);
}

static void test_text_fixed(void)
{
	struct zt_span s;

	memset(&s, 0, sizeof(s));
	s.start_ns = 1795918398000000000ULL;
	s.duration_ns = 1234500; /* rounds up: 1.235 */
	s.protocol = "redis";
	strcpy(s.method, "GETRANGE_LONG");
	strcpy(s.target, "/a/very/long/target/with/ids/0123456789");
	s.status = -1;
	s.container = "a-container-name-too-long";
	s.kind = ZT_SPAN_CLIENT;
	strcpy(s.peer, "[fd00:231::2]:53");
	s.tls = true;
	strcpy(s.error, "ERR");
	s.cause = "net";
	zt_text_span(&out, &s);
	CHECK_EQ_STR(take(), "02:13:18.001 a-container-na client     1.235  -1 GETRANG "
			     "~get/with/ids/0123456789 [fd00:231::2]:53      "
			     "redis,tls,err=ERR,cause=net\n");
	/* Nothing for the flags column: it is empty. */
	s.protocol = "http";
	s.tls = false;
	s.error[0] = '\0';
	s.cause = NULL;
	zt_text_span(&out, &s);
	CHECK_EQ_STR(take(), "02:13:18.001 a-container-na client     1.235  -1 GETRANG "
			     "~get/with/ids/0123456789 [fd00:231::2]:53      \n");
	s.duration_ns = 0;
	s.status = 200;
	s.container = NULL;
	zt_text_span(&out, &s);
	CHECK(strstr(take(), " ?              client     0.000 200 ") != NULL);
	s.duration_ns = 999999999999999ULL;
	zt_text_span(&out, &s);
	CHECK(strstr(take(), " 1000000000.000 200 ") != NULL);
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static uint64_t ju64(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_uint64(v) : 0xdead;
}

static bool jhas(json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

/* What zt_json_string makes of a C string, decoded: itself when it is valid
 * UTF-8 without control characters (the spans below keep to that). */
static void test_json_reads_back(void)
{
	struct zt_span s;
	int bad = 0;

	for (int i = 0; i < 20000; i++) {
		json_object *o, *b, *n, *p;
		const char *line;

		rnd_span(&s, i % 2);
		zt_json_span(&out, &s);
		line = take();
		o = json_tokener_parse(line);
		if (!o) {
			if (bad++ < 5)
				fprintf(stderr, "not JSON: %s", line);
			continue;
		}
		bool ok = line[strlen(line) - 1] == '\n' && strchr(line, '\n') == line + strlen(line) - 1;

		ok &= ju64(o, "start_ns") == s.start_ns && ju64(o, "duration_ns") == s.duration_ns;
		ok &= !strcmp(jstr(o, "kind"), s.kind == ZT_SPAN_SERVER ? "server" : "client");
		if (i % 2) { /* printable ASCII: the strings come back as they were */
			ok &= !strcmp(jstr(o, "protocol"), s.protocol);
			ok &= !strcmp(jstr(o, "method"), s.method);
			ok &= !strcmp(jstr(o, "target"), s.target);
			ok &= !strcmp(jstr(o, "error"), s.error);
			ok &= !strcmp(jstr(o, "comm"), s.comm);
			ok &= !strcmp(jstr(o, "container"), s.container ? s.container : "");
			ok &= !strcmp(jstr(o, "cgroup"), s.cgroup ? s.cgroup : "");
			ok &= !s.cause || !strcmp(jstr(o, "cause"), s.cause);
		}
		ok &= !strcmp(jstr(o, "local"), s.local) && !strcmp(jstr(o, "peer"), s.peer);
		ok &= json_object_get_int64(json_object_object_get(o, "status")) == s.status;
		ok &= json_object_get_boolean(json_object_object_get(o, "failed")) == s.failed;
		ok &= json_object_get_boolean(json_object_object_get(o, "tls")) == s.tls;
		ok &= s.stream ? ju64(o, "stream") == s.stream : !jhas(o, "stream");
		ok &= ju64(o, "cgroup_id") == s.cgroup_id;
		ok &= ju64(o, "pid") == s.pid && ju64(o, "tid") == s.tid;
		ok &= ju64(o, "bytes_in") == s.bytes_in && ju64(o, "bytes_out") == s.bytes_out;
		ok &= strlen(jstr(o, "trace_id")) == 32 && strlen(jstr(o, "span_id")) == 16;
		ok &= strlen(jstr(o, "parent_span_id")) == (s.has_parent ? 16u : 0u);
		ok &= (s.no_parent && !s.has_parent) == jhas(o, "no_parent");
		ok &= json_object_is_type(json_object_object_get(o, "flags"), json_type_array);
		ok &= jhas(o, "breakdown") == s.bd.has;
		if (s.bd.has && json_object_object_get_ex(o, "breakdown", &b)) {
			bool sk = s.bd.sched == ZT_BD_SCHED_OK;

			ok &= ju64(b, "deps_ns") == s.bd.deps_ns && ju64(b, "net_ns") == s.bd.net_ns;
			ok &= sk ? ju64(b, "cpu_ns") == s.bd.cpu_ns && ju64(b, "runq_ns") == s.bd.runq_ns &&
					   ju64(b, "io_ns") == s.bd.io_ns
				 : ju64(b, "rest_ns") == s.bd.io_ns && !jhas(b, "cpu_ns");
			ok &= !strcmp(jstr(b, "sched"), sk ? "ok" : s.bd.sched == ZT_BD_SCHED_NONE ?
								     "none" : "handoff");
		}
		ok &= jhas(o, "net") == (s.bd.has || s.bd.has_net);
		if (json_object_object_get_ex(o, "net", &n)) {
			ok &= !s.bd.has_net || (ju64(n, "srtt_us") == s.bd.srtt_us &&
						ju64(n, "retrans") == s.bd.retrans);
			ok &= !s.bd.has || (ju64(n, "recv_ns") == s.bd.recv_ns &&
					    ju64(n, "send_ns") == s.bd.send_ns);
		}
		ok &= s.has_accept_wait ? ju64(o, "accept_wait_ns") == s.accept_wait_ns
					: !jhas(o, "accept_wait_ns");
		ok &= jhas(o, "phases") == s.phases.has;
		if (json_object_object_get_ex(o, "phases", &p)) {
			ok &= jhas(p, "connect_ns") == s.phases.has_connect &&
			      jhas(p, "tls_ns") == s.phases.has_tls;
			ok &= !s.phases.has_connect || ju64(p, "connect_ns") == s.phases.connect_ns;
			ok &= !s.phases.has_tls || ju64(p, "tls_ns") == s.phases.tls_ns;
			ok &= ju64(p, "ttfb_ns") == s.phases.ttfb_ns &&
			      ju64(p, "download_ns") == s.phases.download_ns;
		}
		if (!ok && bad++ < 5)
			fprintf(stderr, "read back differs: %s", line);
		json_object_put(o);
	}
	CHECK_EQ_INT(bad, 0);
}

static void test_json_fixed(void)
{
	struct zt_span s;

	memset(&s, 0, sizeof(s));
	s.start_ns = 1795918398594421127ULL;
	s.duration_ns = 135864;
	s.protocol = "http";
	strcpy(s.method, "GET");
	strcpy(s.target, "/a\"b");
	s.status = 200;
	s.cgroup_id = 177922;
	s.cgroup = "ztrace-test/pong";
	s.container = "pong";
	s.pid = s.tid = 5784;
	strcpy(s.comm, "nginx");
	strcpy(s.local, "10.231.0.2:8080");
	strcpy(s.peer, "10.231.0.3:59364");
	s.bytes_in = 41;
	s.bytes_out = 252;
	s.no_parent = "no_peer";
	s.cause = "cpu";
	s.bd.has = s.bd.has_net = true;
	s.bd.cpu_ns = 135864;
	s.bd.srtt_us = 16;
	s.has_accept_wait = true;
	s.accept_wait_ns = 926711;
	zt_json_span(&out, &s);
	CHECK_EQ_STR(take(),
		     "{\"ts\":\"2026-11-29T02:13:18.594556Z\",\"start_ns\":1795918398594421127,"
		     "\"duration_ns\":135864,\"kind\":\"server\",\"protocol\":\"http\",\"method\":\"GET\","
		     "\"target\":\"/a\\\"b\",\"status\":200,\"failed\":false,\"error\":\"\",\"tls\":false,"
		     "\"cgroup_id\":177922,\"cgroup\":\"ztrace-test/pong\",\"container\":\"pong\","
		     "\"pid\":5784,\"tid\":5784,\"comm\":\"nginx\",\"local\":\"10.231.0.2:8080\","
		     "\"peer\":\"10.231.0.3:59364\",\"bytes_in\":41,\"bytes_out\":252,"
		     "\"trace_id\":\"00000000000000000000000000000000\",\"span_id\":\"0000000000000000\","
		     "\"parent_span_id\":\"\",\"no_parent\":\"no_peer\",\"flags\":[],\"cause\":\"cpu\","
		     "\"breakdown\":{\"cpu_ns\":135864,\"runq_ns\":0,\"deps_ns\":0,\"net_ns\":0,"
		     "\"io_ns\":0,\"sched\":\"ok\"},\"net\":{\"srtt_us\":16,\"retrans\":0,\"recv_ns\":0,"
		     "\"send_ns\":0},\"accept_wait_ns\":926711}\n");
}

static void test_addr_format(void)
{
	uint8_t a[16] = { 10, 231, 0, 2 }, m[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
						      255, 0, 100, 9 };
	uint8_t v6[16] = { 0xfd, 0, 2, 0x31 };
	char buf[64];

	v6[15] = 2;
	zt_addr_format(2, a, 8080, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "10.231.0.2:8080");
	zt_addr_format(10, m, 0, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "255.0.100.9:0");
	zt_addr_format(10, v6, 65535, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "[fd00:231::2]:65535");
	zt_addr_format(2, a, 8080, buf, 6);
	CHECK_EQ_STR(buf, "10.23");
	zt_addr_format(1, a, 1, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "?");
	/* The longest IPv4 form, in a buffer just its size (written in
	 * place) and one byte shorter (cut). */
	uint8_t ones[16] = { 255, 255, 255, 255 };

	zt_addr_format(2, ones, 65535, buf, sizeof("255.255.255.255:65535"));
	CHECK_EQ_STR(buf, "255.255.255.255:65535");
	zt_addr_format(2, ones, 65535, buf, sizeof("255.255.255.255:65535") - 1);
	CHECK_EQ_STR(buf, "255.255.255.255:6553");
	for (int i = 0; i < 256; i++) {
		char want[32];

		a[0] = (uint8_t)i, a[3] = (uint8_t)(255 - i);
		zt_addr_format(2, a, (uint16_t)(i * 257), buf, sizeof(buf));
		snprintf(want, sizeof(want), "%d.231.0.%d:%d", i, 255 - i, i * 257);
		CHECK_EQ_STR(buf, want);
	}
}

/* Digit counts at every power of ten and either side of it. */
static void test_u64_len(void)
{
	char want[32];

	CHECK_EQ_INT((int)zt_u64_len(0), 1);
	CHECK_EQ_INT((int)zt_u64_len(UINT64_MAX), 20);
	for (uint64_t p = 1, i = 0; i < 20; i++, p *= 10)
		for (uint64_t v = p - 1; v <= p + 1; v++) {
			if (v == (uint64_t)-1)
				continue;
			CHECK_EQ_INT((int)zt_u64_len(v), snprintf(want, sizeof(want), "%" PRIu64, v));
		}
}

/*
 * Through buffers too small for a field, even for a byte of one (every fast
 * path that writes in place declined, or cut short where the room ends, a
 * flush between pieces), a span comes out byte for byte as through a
 * buffer larger than it.
 */
static void test_json_small_buffers(void)
{
	static char want[1 << 16], got[1 << 16];
	int fd = memfd_create("json", 0), bad = 0;
	struct zt_span s;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	for (int i = 0; i < 3000; i++) {
		struct zt_outbuf small;
		size_t cap = 1 + rnd() % 48;
		ssize_t n;

		rnd_span(&s, i % 2);
		if (i % 5 == 0)
			memset(s.target, i % 10 ? 'a' : '\\', sizeof(s.target) - 1);
		zt_json_span(&out, &s);
		snprintf(want, sizeof(want), "%s", take());
		if (zt_outbuf_init(&small, fd, cap))
			break;
		zt_json_span(&small, &s);
		zt_outbuf_flush(&small);
		zt_outbuf_free(&small);
		n = pread(fd, got, sizeof(got) - 1, 0);
		got[n > 0 ? n : 0] = '\0';
		if (ftruncate(fd, 0) || lseek(fd, 0, SEEK_SET))
			break;
		if (strcmp(got, want) && bad++ < 3)
			fprintf(stderr, "cap %zu:\n  want %s  got  %s\n", cap, want, got);
	}
	CHECK_EQ_INT(bad, 0);
	close(fd);
}

int main(void)
{
	/* A buffer larger than any span: take() reads it before any flush. */
	if (zt_outbuf_init(&out, -1, 1 << 16))
		return 1;
	test_text_fixed();
	test_text_matches_printf();
	test_json_fixed();
	test_json_reads_back();
	test_json_small_buffers();
	test_addr_format();
	test_u64_len();
	zt_outbuf_free(&out);
	return TEST_SUMMARY("test_output");
}
