// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Span assembly: records as the BPF side writes them, in; spans, out. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "flags.h"
#include "output/output.h"
#include "tracer.h"

#define MAX_SPANS 16

static struct zt_span spans[MAX_SPANS];
static int nspans;

static void on_span(void *ctx, struct zt_span *s)
{
	(void)ctx;
	if (nspans < MAX_SPANS)
		spans[nspans] = *s;
	nspans++;
}

static struct zt_tracer *new_tracer(uint32_t max_conns)
{
	struct zt_tracer_opts o = { .max_conns = max_conns, .mono_to_unix = 1000000000000ULL,
				    .on_span = on_span };

	nspans = 0;
	memset(spans, 0, sizeof(spans));
	return zt_tracer_new(&o);
}

static void conn_rec(struct zt_tracer *tr, uint64_t id, int family, const char *local,
		     uint16_t lport, const char *peer, uint16_t pport, uint8_t role)
{
	struct zt_conn_event e = { .hdr = { .ts_ns = 1, .conn_id = id, .type = ZT_EV_CONN } };

	e.family = family;
	inet_pton(family, local, e.saddr);
	inet_pton(family, peer, e.daddr);
	e.sport = lport;
	e.dport = pport;
	e.role = role;
	e.cgroup_id = 77;
	CHECK_EQ_INT(zt_tracer_on_record(tr, &e, sizeof(e)), 0);
}

static uint64_t offsets[2];
static uint8_t rec_flags; /* ZT_DF_* of the data records made next */
/* The scheduler and TCP figures of the data records made next (ZT_DF_SCHED,
 * ZT_DF_TCPINFO in rec_flags). */
static struct {
	uint64_t cpu, runq;
	uint32_t srtt, retrans, tid;
} rec_sched;

static void data_rec_at(struct zt_tracer *tr, uint64_t id, uint64_t ts, uint8_t dir,
			const char *bytes, uint32_t len, uint64_t offset);

/* The thread name data records carry. */
static const char *rec_comm = "nginx";

static void data_rec(struct zt_tracer *tr, uint64_t id, uint64_t ts, uint8_t dir, const char *bytes,
		     uint32_t len)
{
	uint32_t n = len ? len : strlen(bytes);

	data_rec_at(tr, id, ts, dir, bytes, len, offsets[dir]);
	offsets[dir] += n;
}

static void data_rec_at(struct zt_tracer *tr, uint64_t id, uint64_t ts, uint8_t dir,
			const char *bytes, uint32_t len, uint64_t offset)
{
	uint32_t cap = strlen(bytes);
	size_t size = sizeof(struct zt_data_event) + cap;
	struct zt_data_event *e = calloc(1, size);

	e->hdr.type = ZT_EV_DATA;
	e->hdr.ts_ns = ts;
	e->hdr.conn_id = id;
	e->cgroup_id = 42;
	e->offset = offset;
	e->pid = 100;
	e->tid = rec_sched.tid ? rec_sched.tid : 101;
	e->cpu_ns = rec_sched.cpu;
	e->runq_ns = rec_sched.runq;
	e->srtt_us = rec_sched.srtt;
	e->retrans = rec_sched.retrans;
	e->len = len ? len : cap;
	e->cap = cap;
	e->dir = dir;
	e->flags = rec_flags;
	strcpy(e->comm, rec_comm);
	memcpy(e + 1, bytes, cap);
	zt_tracer_on_record(tr, e, size);
	free(e);
}

static void close_rec(struct zt_tracer *tr, uint64_t id, uint64_t ts)
{
	struct zt_close_event e = { .hdr = { .ts_ns = ts, .conn_id = id, .type = ZT_EV_CLOSE } };

	zt_tracer_on_record(tr, &e, sizeof(e));
}

static void test_server_span(void)
{
	struct zt_tracer *tr = new_tracer(16);

	conn_rec(tr, 5, AF_INET, "10.0.0.2", 80, "10.0.0.3", 40000, ZT_ROLE_SERVER);
	data_rec(tr, 5, 1000, ZT_DIR_IN, "GET /a?b=1 HTTP/1.1\r\nHost: x\r\nAuthorization: secret\r\n\r\n", 0);
	data_rec(tr, 5, 5000, ZT_DIR_OUT, "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabc", 0);
	CHECK_EQ_INT(nspans, 1);
	CHECK_EQ_INT(spans[0].kind, ZT_SPAN_SERVER);
	CHECK_EQ_STR(spans[0].method, "GET");
	CHECK_EQ_STR(spans[0].target, "/a?b=1");
	CHECK_EQ_INT(spans[0].status, 404);
	CHECK_EQ_INT(spans[0].duration_ns, 4000);
	CHECK_EQ_INT(spans[0].start_ns, 1000000000000ULL + 1000);
	CHECK_EQ_STR(spans[0].local, "10.0.0.2:80");
	CHECK_EQ_STR(spans[0].peer, "10.0.0.3:40000");
	CHECK_EQ_INT(spans[0].cgroup_id, 42);
	CHECK_EQ_INT(spans[0].pid, 100);
	CHECK_EQ_STR(spans[0].comm, "nginx");
	CHECK(!spans[0].has_parent);
	CHECK_EQ_INT(zt_tracer_stats(tr)->spans, 1);

	/* The JSON line carries the public fields and never the secret. */
	struct zt_outbuf o;
	char line[2048];
	int pipefd[2];

	CHECK(pipe(pipefd) == 0);
	zt_outbuf_init(&o, pipefd[1], 4096);
	zt_json_span(&o, &spans[0]);
	zt_outbuf_flush(&o);
	ssize_t n = read(pipefd[0], line, sizeof(line) - 1);
	line[n > 0 ? n : 0] = '\0';
	CHECK(strstr(line, "\"kind\":\"server\"") != NULL);
	CHECK(strstr(line, "\"status\":404") != NULL);
	CHECK(strstr(line, "\"peer\":\"10.0.0.3:40000\"") != NULL);
	CHECK(strstr(line, "\"parent_span_id\":\"\"") != NULL);
	CHECK(strstr(line, "\"flags\":[]") != NULL);
	CHECK(strstr(line, "secret") == NULL);
	CHECK(line[strlen(line) - 1] == '\n');
	zt_outbuf_free(&o);
	close(pipefd[0]);
	close(pipefd[1]);
	zt_tracer_free(tr);
}

static void test_client_span_ipv6_and_traceparent(void)
{
	struct zt_tracer *tr = new_tracer(16);

	conn_rec(tr, 9, AF_INET6, "fd00::2", 50000, "fd00::1", 8080, ZT_ROLE_CLIENT);
	data_rec(tr, 9, 10, ZT_DIR_OUT,
		 "GET / HTTP/1.1\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n", 0);
	data_rec(tr, 9, 30, ZT_DIR_IN, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0);
	CHECK_EQ_INT(nspans, 1);
	CHECK_EQ_INT(spans[0].kind, ZT_SPAN_CLIENT);
	CHECK_EQ_STR(spans[0].peer, "[fd00::1]:8080");
	CHECK_EQ_INT(spans[0].bytes_out > 0, 1);
	/* A client span its process sent without serving a request keeps the
	 * trace and parent its request names (trace/link.h). */
	CHECK(spans[0].has_parent);
	CHECK_EQ_INT(spans[0].trace_id[0], 0x0a);
	CHECK_EQ_INT(spans[0].parent_span_id[7], 0x31);
	zt_tracer_free(tr);

	tr = new_tracer(16);
	conn_rec(tr, 9, AF_INET6, "::ffff:10.1.2.3", 80, "::ffff:10.1.2.4", 1234, ZT_ROLE_SERVER);
	data_rec(tr, 9, 10, ZT_DIR_IN,
		 "GET / HTTP/1.1\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n", 0);
	data_rec(tr, 9, 30, ZT_DIR_OUT, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0);
	CHECK_EQ_INT(nspans, 1);
	CHECK(spans[0].has_parent);
	CHECK_EQ_INT(spans[0].trace_id[0], 0x0a);
	CHECK_EQ_INT(spans[0].trace_id[15], 0x9c);
	CHECK_EQ_INT(spans[0].parent_span_id[7], 0x31);
	CHECK_EQ_STR(spans[0].local, "10.1.2.3:80");
	/* Malformed: upper-case hex is not W3C: ignored and counted. */
	data_rec(tr, 9, 40, ZT_DIR_IN,
		 "GET / HTTP/1.1\r\ntraceparent: 00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01\r\n\r\n", 0);
	data_rec(tr, 9, 50, ZT_DIR_OUT, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0);
	CHECK_EQ_INT(nspans, 2);
	CHECK(!spans[1].has_parent);
	CHECK_EQ_INT(zt_tracer_stats(tr)->traceparent_bad, 1);
	zt_tracer_free(tr);
}

/* Bytes no parser recognises, message after message: detection gives up
 * (counted) and later bytes, even HTTP's, are not parsed. */
static void test_unrecognised_ignored(void)
{
	struct zt_tracer *tr = new_tracer(16);
	uint64_t ts = 1;

	conn_rec(tr, 3, AF_INET, "127.0.0.1", 7777, "127.0.0.1", 5000, ZT_ROLE_SERVER);
	for (int i = 0; i < 4; i++) {
		data_rec(tr, 3, ts++, ZT_DIR_IN, "\x7f\x01 not a protocol", 0);
		data_rec(tr, 3, ts++, ZT_DIR_OUT, "\x7f\x02 nor this", 0);
	}
	CHECK_EQ_INT(zt_tracer_stats(tr)->unrecognised, 1);
	data_rec(tr, 3, ts++, ZT_DIR_IN, "GET / HTTP/1.1\r\n\r\n", 0);
	data_rec(tr, 3, ts++, ZT_DIR_OUT, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0);
	CHECK_EQ_INT(nspans, 0);
	CHECK_EQ_INT(zt_tracer_stats(tr)->unrecognised, 1);
	close_rec(tr, 3, 4);
	CHECK_EQ_INT(zt_tracer_conns(tr), 0);
	zt_tracer_free(tr);
}

/* A parser that finds its connection is not its protocol hands it back,
 * and detection looks at the next message. Here
 * the first bytes look like a Redis command, the reply is not RESP, and
 * the connection goes on in HTTP/1. */
static void test_misdetection_recovers(void)
{
	struct zt_tracer *tr = new_tracer(16);

	conn_rec(tr, 4, AF_INET, "10.0.0.2", 7777, "10.0.0.3", 5000, ZT_ROLE_SERVER);
	data_rec(tr, 4, 1, ZT_DIR_IN, "*1\r\n$4\r\nPING\r\n", 0);
	data_rec(tr, 4, 2, ZT_DIR_OUT, "\x7f\x01 not a reply", 0);
	CHECK_EQ_INT(zt_tracer_stats(tr)->proto[ZT_PROTO_REDIS].conns, 1);
	data_rec(tr, 4, 3, ZT_DIR_IN, "GET /after HTTP/1.1\r\nHost: a\r\n\r\n", 0);
	data_rec(tr, 4, 4, ZT_DIR_OUT, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0);
	CHECK_EQ_INT(zt_tracer_stats(tr)->proto[ZT_PROTO_HTTP1].conns, 1);
	CHECK_EQ_INT(zt_tracer_stats(tr)->unrecognised, 0);
	CHECK(nspans >= 1);
	CHECK_EQ_STR(spans[nspans - 1].protocol, "http");
	CHECK_EQ_STR(spans[nspans - 1].target, "/after");
	CHECK_EQ_INT(spans[nspans - 1].status, 200);
	/* The "PING" was never Redis: no span for it, the refutation counted. */
	CHECK_EQ_INT(nspans, 1);
	CHECK_EQ_INT(zt_tracer_stats(tr)->proto[ZT_PROTO_REDIS].malformed, 1);
	close_rec(tr, 4, 5);
	CHECK_EQ_INT(zt_tracer_conns(tr), 0);
	zt_tracer_free(tr);
}

static void test_close_and_eviction(void)
{
	struct zt_tracer *tr = new_tracer(16);

	/* A request still waiting when the connection closes is reported. */
	conn_rec(tr, 1, AF_INET, "10.0.0.2", 80, "10.0.0.3", 1, ZT_ROLE_SERVER);
	data_rec(tr, 1, 10, ZT_DIR_IN, "GET /slow HTTP/1.1\r\n\r\n", 0);
	close_rec(tr, 1, 20);
	CHECK_EQ_INT(nspans, 1);
	CHECK_EQ_INT(spans[0].status, 0);
	CHECK(spans[0].flags & ZT_F_NO_RESPONSE);
	CHECK_EQ_INT(zt_tracer_conns(tr), 0);

	/* Beyond the bound the least recently used connection goes, counted. */
	for (uint64_t id = 100; id < 100 + 40; id++) {
		conn_rec(tr, id, AF_INET, "10.0.0.2", 80, "10.0.0.3", (uint16_t)id, ZT_ROLE_SERVER);
		data_rec(tr, id, id, ZT_DIR_IN, "GET / HTTP/1.1\r\n\r\n", 0);
	}
	CHECK_EQ_INT(zt_tracer_conns(tr), 16);
	CHECK_EQ_INT(zt_tracer_stats(tr)->conn_evicted, 24);
	/* Evicted connections' open requests still come out, flagged. */
	CHECK_EQ_INT(nspans, 1 + 24);
	zt_tracer_free(tr);
	/* ... and the ones open at exit are counted, not invented. */
}

/* A lost record is a hole in the stream: the body it held is skipped by
 * length, so the next exchange still pairs right. */
static void test_gap(void)
{
	struct zt_tracer *tr = new_tracer(16);
	const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";

	offsets[0] = offsets[1] = 0;
	conn_rec(tr, 4, AF_INET, "10.0.0.2", 80, "10.0.0.3", 1, ZT_ROLE_SERVER);
	data_rec(tr, 4, 10, ZT_DIR_IN, "GET /1 HTTP/1.1\r\n\r\n", 0);
	data_rec(tr, 4, 20, ZT_DIR_OUT, resp, 0);
	offsets[ZT_DIR_OUT] += 10; /* the body's record was lost */
	data_rec(tr, 4, 30, ZT_DIR_IN, "GET /2 HTTP/1.1\r\n\r\n", 0);
	data_rec(tr, 4, 40, ZT_DIR_OUT, resp, strlen(resp) + 10);
	CHECK_EQ_INT(nspans, 2);
	CHECK_EQ_STR(spans[1].target, "/2");
	CHECK_EQ_INT(spans[1].status, 200);
	CHECK_EQ_INT(zt_tracer_stats(tr)->gaps, 1);
	CHECK_EQ_INT(zt_tracer_stats(tr)->gap_bytes, 10);
	zt_tracer_free(tr);
}

static void test_bad_records(void)
{
	struct zt_tracer *tr = new_tracer(16);
	struct zt_data_event e = { .hdr = { .type = ZT_EV_DATA, .conn_id = 1 }, .len = 5, .cap = 100 };
	uint8_t junk[3] = { 1, 2, 3 };
	struct zt_event_hdr h = { .type = 99 };

	zt_tracer_on_record(tr, &e, sizeof(e)); /* cap beyond the record */
	zt_tracer_on_record(tr, junk, sizeof(junk));
	zt_tracer_on_record(tr, &h, sizeof(h));
	CHECK_EQ_INT(zt_tracer_stats(tr)->bad_records, 3);
	CHECK_EQ_INT(nspans, 0);
	zt_tracer_free(tr);
}

static void test_ids_and_traceparent(void)
{
	uint8_t a[16], b[16], t[16], p[8];

	zt_ids_seed(1);
	zt_ids_fill(a, 16);
	zt_ids_fill(b, 16);
	CHECK(memcmp(a, b, 16) != 0);
	CHECK(zt_traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", t, p));
	CHECK(!zt_traceparent_parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01", t, p));
	CHECK(!zt_traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", t, p));
	CHECK(!zt_traceparent_parse("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", t, p));
	CHECK(!zt_traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", t, p));
	CHECK(!zt_traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", t, p));
	CHECK(zt_traceparent_parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what", t, p));
	CHECK(!zt_traceparent_parse("", t, p));
}

static void test_json_escaping(void)
{
	struct zt_outbuf o;
	int pipefd[2];
	char buf[256];

	CHECK(pipe(pipefd) == 0);
	zt_outbuf_init(&o, pipefd[1], 64);
	zt_json_string(&o, "a\"b\\c\n\x01\xff\xc3\xa9/");
	zt_outbuf_flush(&o);
	ssize_t n = read(pipefd[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	CHECK_EQ_STR(buf, "\"a\\\"b\\\\c\\u000a\\u0001\\ufffd\xc3\xa9/\"");
	zt_outbuf_free(&o);
	close(pipefd[0]);
	close(pipefd[1]);
}

/*
 * A TLS connection: the handshake's ciphertext comes first from the socket,
 * then plaintext from the library (flagged, with offsets of its own), and
 * ciphertext that slipped through is never parsed.
 */
static void test_tls_plaintext(void)
{
	struct zt_tracer *tr = new_tracer(16);
	const struct zt_tracer_stats *st = zt_tracer_stats(tr);

	conn_rec(tr, 9, AF_INET, "10.0.0.2", 443, "10.0.0.3", 40000, ZT_ROLE_SERVER);
	rec_flags = 0;
	offsets[0] = offsets[1] = 0;
	data_rec(tr, 9, 100, ZT_DIR_IN, "\x16\x03\x01\x02\x05\x01\x02GET / HTTP/1.1\r\n\r\n", 0);
	data_rec(tr, 9, 200, ZT_DIR_OUT, "\x16\x03\x03\x01\x7a\x02", 0);
	CHECK_EQ_INT(nspans, 0);
	rec_flags = ZT_DF_TLS;
	offsets[0] = offsets[1] = 0;
	data_rec(tr, 9, 1000, ZT_DIR_IN, "GET /s HTTP/1.1\r\nHost: x\r\n\r\n", 0);
	rec_flags = 0;
	data_rec_at(tr, 9, 1500, ZT_DIR_IN, "\x17\x03\x03\x00\x30HTTP/1.1 200 OK\r\n\r\n", 0, 900);
	rec_flags = ZT_DF_TLS;
	data_rec(tr, 9, 3000, ZT_DIR_OUT, "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", 0);
	CHECK_EQ_INT(nspans, 1);
	CHECK(spans[0].tls);
	CHECK_EQ_STR(spans[0].target, "/s");
	CHECK_EQ_INT(spans[0].status, 201);
	CHECK_EQ_INT(spans[0].duration_ns, 2000);
	CHECK_EQ_STR(spans[0].local, "10.0.0.2:443");
	CHECK_EQ_INT(st->gaps, 0);
	CHECK_EQ_INT(st->tls_conns, 1);
	close_rec(tr, 9, 4000);
	CHECK_EQ_INT(st->tls_opaque, 0);
	CHECK_EQ_INT(st->unrecognised, 0);
	rec_flags = 0;
	zt_tracer_free(tr);
}

/* TLS that no probe decrypts: counted as opaque at close, no span, not
 * mistaken for a protocol error. */
static void test_tls_opaque(void)
{
	struct zt_tracer *tr = new_tracer(16);
	const struct zt_tracer_stats *st = zt_tracer_stats(tr);

	conn_rec(tr, 3, AF_INET, "10.0.0.2", 443, "10.0.0.3", 40001, ZT_ROLE_SERVER);
	offsets[0] = offsets[1] = 0;
	data_rec(tr, 3, 100, ZT_DIR_IN, "\x16\x03\x01\x02\x05", 0);
	data_rec(tr, 3, 200, ZT_DIR_OUT, "\x16\x03\x03\x01\x7a", 0);
	data_rec(tr, 3, 300, ZT_DIR_IN, "GET / HTTP/1.1\r\n\r\n", 0);
	data_rec(tr, 3, 400, ZT_DIR_OUT, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0);
	close_rec(tr, 3, 500);
	CHECK_EQ_INT(nspans, 0);
	CHECK_EQ_INT(st->tls_opaque, 1);
	CHECK_EQ_INT(st->tls_conns, 0);
	CHECK_EQ_INT(st->unrecognised, 0);
	zt_tracer_free(tr);
}

/* Exec records reach the callback that looks for TLS libraries. */
static uint32_t exec_pid;

static bool exec_forked;

static void on_exec(void *ctx, uint32_t pid, bool forked)
{
	CHECK(ctx == &exec_pid);
	exec_pid = pid;
	exec_forked = forked;
}

static void test_exec_record(void)
{
	struct zt_tracer_opts o = { .max_conns = 16, .on_span = on_span, .on_exec = on_exec,
				    .exec_ctx = &exec_pid };
	struct zt_tracer *tr = zt_tracer_new(&o);
	struct zt_exec_event e = { .hdr = { .ts_ns = 77, .type = ZT_EV_EXEC }, .pid = 4242 };

	zt_tracer_on_record(tr, &e, sizeof(e));
	CHECK_EQ_INT(exec_pid, 4242);
	CHECK(!exec_forked);
	e.forked = 1;
	zt_tracer_on_record(tr, &e, sizeof(e));
	CHECK(exec_forked);
	/* Short: counted as bad, no callback. */
	exec_pid = 0;
	zt_tracer_on_record(tr, &e, sizeof(e) - 8);
	CHECK_EQ_INT(exec_pid, 0);
	CHECK_EQ_INT(zt_tracer_stats(tr)->bad_records, 1);
	zt_tracer_free(tr);
}

/* Records stamped with their thread's counters: the server span says where
 * its time went; a client request made on the serving thread counts as its
 * downstream time; accept_wait and the client's phases come from the
 * handshake records. */
static void test_breakdown(void)
{
	struct zt_tracer *tr = new_tracer(16);
	struct zt_conn_event ce = { .hdr = { .ts_ns = 500, .conn_id = 8, .type = ZT_EV_CONN } };
	const uint64_t ms = 1000000;

	ce.family = AF_INET;
	ce.role = ZT_ROLE_SERVER;
	ce.origin = ZT_ORIGIN_HANDSHAKE;
	ce.sport = 80;
	ce.dport = 40000;
	zt_tracer_on_record(tr, &ce, sizeof(ce));
	ce.hdr.conn_id = 9;
	ce.role = ZT_ROLE_CLIENT;
	ce.sport = 41000;
	ce.dport = 6379;
	ce.daddr[0] = 10;
	ce.connect_ns = 3 * ms;
	zt_tracer_on_record(tr, &ce, sizeof(ce));
	offsets[0] = offsets[1] = 0;
	rec_flags = ZT_DF_SCHED | ZT_DF_TCPINFO;
	rec_sched.tid = 101;
	rec_sched.cpu = 10 * ms;
	rec_sched.runq = 1 * ms;
	rec_sched.srtt = 250;
	rec_sched.retrans = 2;
	/* The request at 100 ms, read 2 ms after the handshake... */
	data_rec(tr, 8, 100 * ms, ZT_DIR_IN, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n", 0);
	/* ... a 200 ms redis call on the same thread ... */
	rec_sched.cpu = 12 * ms;
	uint64_t save[2] = { offsets[0], offsets[1] };

	offsets[0] = offsets[1] = 0;
	data_rec(tr, 9, 110 * ms, ZT_DIR_OUT, "*1\r\n$4\r\nPING\r\n", 0);
	rec_sched.cpu = 13 * ms;
	rec_sched.runq = 5 * ms;
	data_rec(tr, 9, 310 * ms, ZT_DIR_IN, "+PONG\r\n", 0);
	offsets[0] = save[0];
	offsets[1] = save[1];
	/* ... and the answer at 400 ms: 30 cpu, 50 runq in all. */
	rec_sched.cpu = 40 * ms;
	rec_sched.runq = 51 * ms;
	rec_sched.retrans = 5;
	data_rec(tr, 8, 400 * ms, ZT_DIR_OUT, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0);
	rec_flags = 0;
	memset(&rec_sched, 0, sizeof(rec_sched));
	zt_tracer_flush(tr);
	CHECK_EQ_INT(nspans, 2);
	for (int i = 0; i < nspans && i < MAX_SPANS; i++) {
		const struct zt_span *s = &spans[i];

		if (s->kind == ZT_SPAN_SERVER) {
			CHECK(s->bd.has);
			CHECK_EQ_INT(s->bd.sched, ZT_BD_SCHED_OK);
			CHECK_EQ_INT(s->bd.cpu_ns, 30 * ms);
			CHECK_EQ_INT(s->bd.runq_ns, 50 * ms);
			CHECK_EQ_INT(s->bd.deps_ns, 200 * ms);
			CHECK_EQ_INT(s->bd.io_ns, 20 * ms);
			CHECK_EQ_INT(s->bd.retrans, 3);
			CHECK_EQ_INT(s->bd.srtt_us, 250);
			CHECK_EQ_STR(s->cause, "deps");
			CHECK(s->has_accept_wait);
			CHECK_EQ_INT(s->accept_wait_ns, 100 * ms - 500);
		} else {
			CHECK_EQ_STR(s->protocol, "redis");
			CHECK(s->phases.has && s->phases.has_connect);
			CHECK_EQ_INT(s->phases.connect_ns, 3 * ms);
			CHECK_EQ_INT(s->phases.ttfb_ns, 200 * ms);
			CHECK(!s->bd.has);
		}
	}
	zt_tracer_free(tr);
}

/* With defer_close, a close read before the connection's last data record
 * (the peer's RST processed inside the send that carried the response)
 * waits for the end of the drain: the response still makes the span. */
static void test_close_before_last_data(void)
{
	struct zt_tracer_opts o = { .max_conns = 16, .mono_to_unix = 1000000000000ULL,
				    .on_span = on_span, .defer_close = true };
	struct zt_tracer *tr;

	nspans = 0;
	memset(spans, 0, sizeof(spans));
	tr = zt_tracer_new(&o);
	offsets[0] = offsets[1] = 0;
	conn_rec(tr, 12, AF_INET, "10.0.0.2", 80, "10.0.0.3", 40012, ZT_ROLE_SERVER);
	data_rec(tr, 12, 1000, ZT_DIR_IN, "GET /last HTTP/1.1\r\n\r\n", 0);
	close_rec(tr, 12, 2500);
	data_rec(tr, 12, 2000, ZT_DIR_OUT, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0);
	zt_tracer_poll(tr);
	zt_tracer_flush(tr);
	CHECK_EQ_INT(nspans, 1);
	CHECK_EQ_INT(spans[0].status, 200);
	CHECK_EQ_INT(spans[0].flags & ZT_F_NO_RESPONSE, 0);
	CHECK_EQ_INT(zt_tracer_conns(tr), 0);
	/* A later close settles; one past the bound settles the ones before. */
	for (uint64_t id = 100; id < 100 + 1030; id++) {
		conn_rec(tr, id, AF_INET, "10.0.0.2", 80, "10.0.0.3", (uint16_t)id, ZT_ROLE_SERVER);
		close_rec(tr, id, 3000);
	}
	CHECK(zt_tracer_conns(tr) <= 16);
	zt_tracer_poll(tr);
	CHECK_EQ_INT(zt_tracer_conns(tr), 0);
	zt_tracer_free(tr);
}

/* A message without its bytes before the protocol is known cannot be
 * parsed: counted, and the next one with bytes picks the parser. */
static void test_no_bytes_before_detection(void)
{
	struct zt_tracer *tr = new_tracer(16);

	offsets[0] = offsets[1] = 0;
	conn_rec(tr, 11, AF_INET, "10.0.0.2", 80, "10.0.0.3", 40011, ZT_ROLE_SERVER);
	rec_flags = ZT_DF_READ_FAIL;
	data_rec(tr, 11, 1000, ZT_DIR_IN, "", 30);
	rec_flags = 0;
	CHECK_EQ_INT(zt_tracer_stats(tr)->unparsed_no_bytes, 1);
	data_rec(tr, 11, 2000, ZT_DIR_IN, "GET / HTTP/1.1\r\n\r\n", 0);
	data_rec(tr, 11, 3000, ZT_DIR_OUT, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0);
	CHECK_EQ_INT(nspans, 1);
	CHECK_EQ_INT(zt_tracer_stats(tr)->unparsed_no_bytes, 1);
	zt_tracer_free(tr);
}

/* A record that says its thread is the socket's previous one carries no
 * name: the connection keeps the one it had. */
static void test_same_comm(void)
{
	struct zt_tracer *tr = new_tracer(16);

	nspans = 0;
	offsets[0] = offsets[1] = 0;
	conn_rec(tr, 9, AF_INET, "10.0.0.2", 80, "10.0.0.3", 40009, ZT_ROLE_SERVER);
	data_rec(tr, 9, 1000, ZT_DIR_IN, "GET / HTTP/1.1\r\n\r\n", 0);
	rec_flags = ZT_DF_SAME_COMM;
	rec_comm = "stale-scratch";
	data_rec(tr, 9, 2000, ZT_DIR_OUT, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0);
	data_rec(tr, 9, 3000, ZT_DIR_IN, "GET /2 HTTP/1.1\r\n\r\n", 0);
	/* Another thread answers: its name comes along. */
	rec_flags = 0;
	rec_comm = "worker-2";
	data_rec(tr, 9, 4000, ZT_DIR_OUT, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0);
	CHECK_EQ_INT(nspans, 2);
	CHECK_EQ_STR(spans[0].comm, "nginx");
	CHECK_EQ_STR(spans[1].comm, "worker-2");
	rec_comm = "nginx";
	zt_tracer_free(tr);
}

int main(void)
{
	test_server_span();
	test_client_span_ipv6_and_traceparent();
	test_unrecognised_ignored();
	test_misdetection_recovers();
	test_close_and_eviction();
	test_gap();
	test_bad_records();
	test_ids_and_traceparent();
	test_json_escaping();
	test_tls_plaintext();
	test_tls_opaque();
	test_exec_record();
	test_breakdown();
	test_same_comm();
	test_no_bytes_before_detection();
	test_close_before_last_data();
	return TEST_SUMMARY("test_tracer");
}
