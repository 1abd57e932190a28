// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The linker with made-up spans: the orders in which a proxied request's
 * spans really finish (the innermost server first, the outer client last),
 * the reasons a span has no parent, the waits and the bound.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "trace/link.h"
#include "tracer.h"

#define MS 1000000ULL

static struct zt_span out[64];
static int nout, ntraces, last_trace_n, last_trace_parent[8];
static char last_trace_first[16];

static void on_span(void *ctx, struct zt_span *s)
{
	(void)ctx;
	if (nout < 64)
		out[nout++] = *s;
}

static void on_trace(void *ctx, const struct zt_trace_out *t)
{
	(void)ctx;
	ntraces++;
	last_trace_n = t->n;
	for (int i = 0; i < t->n && i < 8; i++)
		last_trace_parent[i] = t->parent[i];
	snprintf(last_trace_first, sizeof(last_trace_first), "%s", t->spans[0]->container);
}

static struct zt_linker *new_linker(uint32_t max_held)
{
	struct zt_link_opts o = {
		.wait_ns = 100 * MS, .max_held = max_held, .on_span = on_span, .on_trace = on_trace,
	};

	nout = ntraces = 0;
	return zt_linker_new(&o);
}

static void tuple(struct zt_link_tuple *t, const char *cip, int cport, const char *sip, int sport,
		  bool server, uint32_t netns)
{
	uint8_t c[16] = { 0 }, s[16] = { 0 };

	inet_pton(AF_INET, cip, c);
	inet_pton(AF_INET, sip, s);
	if (server)
		zt_link_tuple_make(t, AF_INET, s, sport, c, cport, true, netns);
	else
		zt_link_tuple_make(t, AF_INET, c, cport, s, sport, false, netns);
}

static struct zt_span span(const char *container, enum zt_span_kind kind, uint64_t start_ms,
			   uint64_t end_ms, uint8_t id)
{
	struct zt_span s = { 0 };

	s.start_ns = start_ms * MS;
	s.duration_ns = (end_ms - start_ms) * MS;
	s.kind = kind;
	s.container = container;
	s.protocol = "http";
	memset(s.span_id, id, sizeof(s.span_id));
	memset(s.trace_id, id, sizeof(s.trace_id));
	return s;
}

static const struct zt_span *find(const char *container, enum zt_span_kind kind)
{
	for (int i = 0; i < nout; i++)
		if (!strcmp(out[i].container, container) && out[i].kind == kind)
			return &out[i];
	return NULL;
}

static bool parent_is(const struct zt_span *child, const struct zt_span *parent)
{
	return child && parent && child->has_parent &&
	       !memcmp(child->parent_span_id, parent->span_id, 8) &&
	       !memcmp(child->trace_id, parent->trace_id, 16);
}

/* ping -> lb -> pong, the spans in the order they finish. */
struct chain {
	struct zt_span c1, s2, c2, s3;
	struct zt_link_info i1, i2, i3, i4;
};

static void make_chain(struct chain *ch, uint64_t t0, uint64_t seq)
{
	ch->c1 = span("ping", ZT_SPAN_CLIENT, t0, t0 + 480, 1);
	ch->s2 = span("lb", ZT_SPAN_SERVER, t0 + 1, t0 + 479, 2);
	ch->c2 = span("lb", ZT_SPAN_CLIENT, t0 + 5, t0 + 470, 3);
	ch->s3 = span("pong", ZT_SPAN_SERVER, t0 + 6, t0 + 469, 4);
	/* ping 10.0.0.2:40000 -> lb 10.0.0.3:80 (conn 11 / 12);
	 * lb 10.0.0.3:50000 -> pong 10.0.0.4:80 (conn 13 / 14). */
	ch->i1 = (struct zt_link_info){ .conn_id = 11, .seq = seq, .has_tuple = true, .ord = seq,
					.peer_traced = true, .local = ZT_LOCAL_ROOT };
	tuple(&ch->i1.tuple, "10.0.0.2", 40000, "10.0.0.3", 80, false, 100);
	ch->i2 = (struct zt_link_info){ .conn_id = 12, .seq = seq, .has_tuple = true, .ord = seq,
					.peer_traced = true };
	tuple(&ch->i2.tuple, "10.0.0.2", 40000, "10.0.0.3", 80, true, 200);
	ch->i3 = (struct zt_link_info){ .conn_id = 13, .seq = seq, .has_tuple = true, .ord = seq,
					.peer_traced = true, .local = ZT_LOCAL_PARENT,
					.parent_conn = 12, .parent_seq = seq };
	tuple(&ch->i3.tuple, "10.0.0.3", 50000, "10.0.0.4", 80, false, 200);
	ch->i4 = (struct zt_link_info){ .conn_id = 14, .seq = seq, .has_tuple = true, .ord = seq,
					.peer_traced = true };
	tuple(&ch->i4.tuple, "10.0.0.3", 50000, "10.0.0.4", 80, true, 300);
}

static void check_chain(void)
{
	const struct zt_span *c1 = find("ping", ZT_SPAN_CLIENT), *s2 = find("lb", ZT_SPAN_SERVER),
			     *c2 = find("lb", ZT_SPAN_CLIENT), *s3 = find("pong", ZT_SPAN_SERVER);

	CHECK_EQ_INT(nout, 4);
	CHECK(c1 && !c1->has_parent && c1->no_parent && !strcmp(c1->no_parent, "root"));
	CHECK(parent_is(s2, c1));
	CHECK(parent_is(c2, s2));
	CHECK(parent_is(s3, c2));
	CHECK_EQ_INT(ntraces, 1);
	CHECK_EQ_INT(last_trace_n, 4);
	CHECK_EQ_STR(last_trace_first, "ping");
	CHECK_EQ_INT(last_trace_parent[0], -1);
	CHECK_EQ_INT(last_trace_parent[1], 0);
	CHECK_EQ_INT(last_trace_parent[2], 1);
	CHECK_EQ_INT(last_trace_parent[3], 2);
}

static void test_proxy_chain(void)
{
	struct zt_linker *lk = new_linker(0);
	struct chain ch;

	make_chain(&ch, 1000, 0);
	zt_linker_add(lk, &ch.s3, &ch.i4, 1);
	zt_linker_add(lk, &ch.c2, &ch.i3, 2);
	zt_linker_add(lk, &ch.s2, &ch.i2, 3);
	/* Nothing goes out before the root is in. */
	CHECK_EQ_INT(nout, 0);
	CHECK_EQ_INT(zt_linker_stats(lk)->held, 3);
	zt_linker_add(lk, &ch.c1, &ch.i1, 4);
	check_chain();
	CHECK_EQ_INT(zt_linker_stats(lk)->linked_peer, 2);
	CHECK_EQ_INT(zt_linker_stats(lk)->linked_local, 1);
	CHECK_EQ_INT(zt_linker_stats(lk)->held, 0);

	/* The next request on the same connections: order 1 pairs with 1. */
	make_chain(&ch, 2000, 1);
	zt_linker_add(lk, &ch.s3, &ch.i4, 5);
	zt_linker_add(lk, &ch.c2, &ch.i3, 6);
	zt_linker_add(lk, &ch.s2, &ch.i2, 7);
	nout = ntraces = 0;
	zt_linker_add(lk, &ch.c1, &ch.i1, 8);
	check_chain();
	zt_linker_free(lk);
}

/* A receiver's span may be reported before its sender's: the client waits
 * for the server span it knows will come. */
static void test_client_first(void)
{
	struct zt_linker *lk = new_linker(0);
	struct chain ch;

	make_chain(&ch, 1000, 0);
	zt_linker_add(lk, &ch.s3, &ch.i4, 1);
	zt_linker_add(lk, &ch.c2, &ch.i3, 2);
	zt_linker_add(lk, &ch.c1, &ch.i1, 3);
	CHECK_EQ_INT(nout, 0);
	zt_linker_add(lk, &ch.s2, &ch.i2, 4);
	check_chain();
	zt_linker_free(lk);
}

/* With a traceparent on the root's request, the whole trace has its id. */
static void test_traceparent(void)
{
	struct zt_linker *lk = new_linker(0);
	struct chain ch;

	make_chain(&ch, 1000, 0);
	memset(ch.c1.trace_id, 0xab, 16);
	memset(ch.c1.parent_span_id, 0xcd, 8);
	ch.c1.has_parent = true;
	/* haproxy forwards the header: the spans below carry it too. */
	memset(ch.s2.trace_id, 0xab, 16);
	memset(ch.s2.parent_span_id, 0xcd, 8);
	ch.s2.has_parent = true;
	zt_linker_add(lk, &ch.s3, &ch.i4, 1);
	zt_linker_add(lk, &ch.c2, &ch.i3, 2);
	zt_linker_add(lk, &ch.s2, &ch.i2, 3);
	zt_linker_add(lk, &ch.c1, &ch.i1, 4);
	CHECK_EQ_INT(nout, 4);
	for (int i = 0; i < nout; i++)
		CHECK(out[i].trace_id[0] == 0xab && out[i].trace_id[15] == 0xab);
	const struct zt_span *c1 = find("ping", ZT_SPAN_CLIENT), *s2 = find("lb", ZT_SPAN_SERVER);

	CHECK(c1 && c1->has_parent && c1->parent_span_id[0] == 0xcd && !c1->no_parent);
	CHECK(parent_is(s2, c1));
	CHECK_EQ_INT(zt_linker_stats(lk)->roots, 0);
	zt_linker_free(lk);
}

static void test_reasons(void)
{
	struct zt_linker *lk = new_linker(0);
	struct zt_span s = span("pong", ZT_SPAN_SERVER, 10, 20, 1);
	struct zt_link_info li = { .conn_id = 1, .has_tuple = true };

	/* A server whose client is not traced here: out at once. */
	tuple(&li.tuple, "10.0.0.1", 1234, "10.0.0.4", 80, true, 1);
	zt_linker_add(lk, &s, &li, 1);
	CHECK_EQ_INT(nout, 1);
	CHECK_EQ_STR(out[0].no_parent, "no_peer");

	const uint8_t reasons[] = { ZT_LOCAL_AMBIGUOUS, ZT_LOCAL_THREAD_POOL, ZT_LOCAL_ROOT };
	const char *names[] = { "ambiguous", "thread_pool", "root" };

	for (int i = 0; i < 3; i++) {
		struct zt_span c = span("lb", ZT_SPAN_CLIENT, 10, 20, (uint8_t)(2 + i));
		struct zt_link_info ci = { .conn_id = 2 + i, .local = reasons[i] };

		nout = 0;
		zt_linker_add(lk, &c, &ci, 1);
		CHECK_EQ_INT(nout, 1);
		CHECK_EQ_STR(out[0].no_parent, names[i]);
		CHECK(!out[0].has_parent);
	}
	/* A client with a header but no certain cause keeps the trace id and
	 * drops a parent it may skip over. */
	struct zt_span c = span("lb", ZT_SPAN_CLIENT, 10, 20, 9);

	memset(c.trace_id, 0xab, 16);
	c.has_parent = true;
	struct zt_link_info ci = { .conn_id = 9, .local = ZT_LOCAL_AMBIGUOUS };

	nout = 0;
	zt_linker_add(lk, &c, &ci, 1);
	CHECK(nout == 1 && !out[0].has_parent && out[0].trace_id[3] == 0xab);
	CHECK_EQ_INT(zt_linker_stats(lk)->ambiguous, 2);
	CHECK_EQ_INT(zt_linker_stats(lk)->no_peer, 1);
	zt_linker_free(lk);
}

/* Peer spans whose times are far apart are not paired. */
static void test_mismatch(void)
{
	struct zt_linker *lk = new_linker(0);
	struct chain ch;

	make_chain(&ch, 1000, 0);
	ch.s2 = span("lb", ZT_SPAN_SERVER, 5000, 5100, 2);
	zt_linker_add(lk, &ch.s2, &ch.i2, 1);
	ch.i1.has_tuple = true;
	zt_linker_add(lk, &ch.c1, &ch.i1, 2);
	CHECK_EQ_INT(nout, 2);
	CHECK_EQ_INT(ntraces, 2);
	const struct zt_span *s2 = find("lb", ZT_SPAN_SERVER);

	CHECK(s2 && !s2->has_parent && s2->no_parent && !strcmp(s2->no_parent, "mismatch"));
	CHECK_EQ_INT(zt_linker_stats(lk)->mismatch, 1);
	zt_linker_free(lk);
}

/* A wait ends after wait_ns: the span goes out without what it waited for. */
static void test_expiry(void)
{
	struct zt_linker *lk = new_linker(0);
	struct chain ch;

	make_chain(&ch, 1000, 0);
	zt_linker_add(lk, &ch.s3, &ch.i4, 1 * MS);
	zt_linker_expire(lk, 50 * MS);
	CHECK_EQ_INT(nout, 0);
	zt_linker_expire(lk, 101 * MS);
	CHECK_EQ_INT(nout, 1);
	CHECK_EQ_STR(out[0].no_parent, "expired");
	CHECK_EQ_INT(zt_linker_stats(lk)->expired, 1);
	/* A client waiting for its thread's server span, which never comes. */
	nout = 0;
	zt_linker_add(lk, &ch.c2, &ch.i3, 200 * MS);
	CHECK_EQ_INT(nout, 0);
	/* A handler may work on after its last call: 4 x longer. */
	zt_linker_expire(lk, 500 * MS);
	CHECK_EQ_INT(nout, 0);
	zt_linker_expire(lk, 600 * MS);
	CHECK_EQ_INT(nout, 1);
	CHECK_EQ_STR(out[0].no_parent, "expired");
	CHECK_EQ_INT(zt_linker_stats(lk)->held, 0);
	zt_linker_free(lk);
}

/* max_held: the oldest stops waiting and goes out, counted; flush at the end. */
static void test_bound(void)
{
	struct zt_linker *lk = new_linker(4);
	struct zt_span s = span("pong", ZT_SPAN_SERVER, 10, 20, 1);

	for (int i = 0; i < 10; i++) {
		struct zt_link_info li = { .conn_id = 100 + i, .has_tuple = true, .peer_traced = true };

		tuple(&li.tuple, "10.0.0.1", 1000 + i, "10.0.0.4", 80, true, 1);
		zt_linker_add(lk, &s, &li, 1);
	}
	CHECK_EQ_INT(zt_linker_stats(lk)->held, 4);
	CHECK_EQ_INT(zt_linker_stats(lk)->held_overflow, 6);
	CHECK_EQ_INT(nout, 6);
	zt_linker_flush(lk);
	CHECK_EQ_INT(nout, 10);
	CHECK_EQ_INT(zt_linker_stats(lk)->held, 0);
	CHECK_EQ_INT(zt_linker_stats(lk)->held_max, 4);
	zt_linker_free(lk);
}

static void test_tuples_and_conns(void)
{
	struct zt_linker *lk = new_linker(0);
	struct zt_link_tuple a, b, c;
	uint8_t lo[16] = { 127, 0, 0, 1 }, x[16] = { 0 };

	/* The two ends of a connection give one key across namespaces... */
	tuple(&a, "10.0.0.2", 40000, "10.0.0.3", 80, false, 100);
	tuple(&b, "10.0.0.2", 40000, "10.0.0.3", 80, true, 200);
	CHECK(!memcmp(&a, &b, sizeof(a)));
	/* ...an IPv4-mapped IPv6 socket the same as an IPv4 one... */
	x[10] = x[11] = 0xff;
	inet_pton(AF_INET, "10.0.0.2", x + 12);
	uint8_t y[16] = { [10] = 0xff, [11] = 0xff };

	inet_pton(AF_INET, "10.0.0.3", y + 12);
	zt_link_tuple_make(&c, AF_INET6, x, 40000, y, 80, false, 5);
	CHECK(!memcmp(&a, &c, sizeof(a)));
	/* ...but loopback only within one. */
	zt_link_tuple_make(&a, AF_INET, lo, 40000, lo, 80, false, 100);
	zt_link_tuple_make(&b, AF_INET, lo, 80, lo, 40000, true, 100);
	zt_link_tuple_make(&c, AF_INET, lo, 80, lo, 40000, true, 200);
	CHECK(!memcmp(&a, &b, sizeof(a)));
	CHECK(memcmp(&a, &c, sizeof(a)));

	zt_linker_conn_add(lk, &a, false);
	zt_linker_conn_add(lk, &a, false);
	CHECK(zt_linker_conn_traced(lk, &a, false));
	CHECK(!zt_linker_conn_traced(lk, &a, true));
	zt_linker_conn_del(lk, &a, false);
	CHECK(zt_linker_conn_traced(lk, &a, false));
	zt_linker_conn_del(lk, &a, false);
	CHECK(!zt_linker_conn_traced(lk, &a, false));
	zt_linker_conn_del(lk, &a, false); /* once too often: harmless */
	zt_linker_free(lk);
}

static void test_open_requests(void)
{
	struct zt_linker *lk = new_linker(0);
	uint64_t conn = 0;

	CHECK_EQ_INT(zt_linker_local(lk, 10, 11, &conn), ZT_LOCAL_ROOT);
	zt_linker_srv_open(lk, 10, 11, 500);
	CHECK_EQ_INT(zt_linker_local(lk, 10, 11, &conn), ZT_LOCAL_PARENT);
	CHECK_EQ_INT(conn, 500);
	CHECK_EQ_INT(zt_linker_local(lk, 10, 12, &conn), ZT_LOCAL_THREAD_POOL);
	CHECK_EQ_INT(zt_linker_local(lk, 20, 11, &conn), ZT_LOCAL_ROOT);
	/* An event loop: two open on the thread. */
	zt_linker_srv_open(lk, 10, 11, 501);
	CHECK_EQ_INT(zt_linker_local(lk, 10, 11, &conn), ZT_LOCAL_AMBIGUOUS);
	/* The first answered: the second is the one open. */
	zt_linker_srv_close(lk, 10, 11, 500);
	conn = 0;
	CHECK_EQ_INT(zt_linker_local(lk, 10, 11, &conn), ZT_LOCAL_PARENT);
	CHECK_EQ_INT(conn, 501);
	zt_linker_srv_close(lk, 10, 11, 501);
	CHECK_EQ_INT(zt_linker_local(lk, 10, 11, &conn), ZT_LOCAL_ROOT);
	zt_linker_srv_close(lk, 10, 11, 501); /* unbalanced: ignored */
	CHECK_EQ_INT(zt_linker_local(lk, 10, 11, &conn), ZT_LOCAL_ROOT);
	/* Counters come back from the spares (more of them than are kept)
	 * as new ones: nothing of their last use left. */
	for (int round = 0; round < 2; round++) {
		for (uint32_t t = 1; t <= 600; t++)
			zt_linker_srv_open(lk, 30 + t % 3, t, 1000 + t + round);
		for (uint32_t t = 1; t <= 600; t++) {
			conn = 0;
			CHECK_EQ_INT(zt_linker_local(lk, 30 + t % 3, t, &conn), ZT_LOCAL_PARENT);
			CHECK_EQ_INT(conn, 1000 + t + round);
		}
		for (uint32_t t = 1; t <= 600; t++)
			zt_linker_srv_close(lk, 30 + t % 3, t, 1000 + t + round);
		for (uint32_t t = 1; t <= 600; t += 97)
			CHECK_EQ_INT(zt_linker_local(lk, 30 + t % 3, t, &conn), ZT_LOCAL_ROOT);
	}
	zt_linker_free(lk);
}

/* ---- through the tracer: records of both ends, as the kernel sends them ---- */

static void rec_conn(struct zt_tracer *tr, uint64_t id, const char *local, uint16_t lport,
		     const char *peer, uint16_t pport, uint8_t role)
{
	struct zt_conn_event e = { .hdr = { .ts_ns = 1, .conn_id = id, .type = ZT_EV_CONN } };

	e.family = AF_INET;
	inet_pton(AF_INET, local, e.saddr);
	inet_pton(AF_INET, peer, e.daddr);
	e.sport = lport;
	e.dport = pport;
	e.role = role;
	e.origin = ZT_ORIGIN_HANDSHAKE;
	e.netns = 4026531840u + (uint32_t)id; /* every end in its own namespace */
	zt_tracer_on_record(tr, &e, sizeof(e));
}

static uint64_t offs[8][2];

static void rec_data(struct zt_tracer *tr, uint64_t id, uint64_t ts, uint8_t dir, uint32_t pid,
		     uint32_t tid, const char *bytes)
{
	uint32_t n = strlen(bytes);
	struct zt_data_event *e = calloc(1, sizeof(*e) + n);

	e->hdr.type = ZT_EV_DATA;
	e->hdr.ts_ns = ts * MS;
	e->hdr.conn_id = id;
	e->offset = offs[id][dir];
	offs[id][dir] += n;
	e->pid = pid;
	e->tid = tid;
	e->len = e->cap = n;
	e->dir = dir;
	memcpy(e + 1, bytes, n);
	zt_tracer_on_record(tr, e, sizeof(*e) + n);
	free(e);
}

static const char REQ[] = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
static const char RESP[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

static void tr_on_span(void *ctx, struct zt_span *s)
{
	(void)ctx;
	if (nout < 64)
		out[nout++] = *s;
}

/* ping (pid 1) -> lb (pid 2, one thread) -> pong (pid 3); conn ids 1-4. */
static void proxied_request(struct zt_tracer *tr, uint64_t t)
{
	rec_data(tr, 1, t + 0, ZT_DIR_OUT, 1, 1, REQ);
	rec_data(tr, 2, t + 1, ZT_DIR_IN, 2, 2, REQ);
	rec_data(tr, 3, t + 2, ZT_DIR_OUT, 2, 2, REQ);
	rec_data(tr, 4, t + 3, ZT_DIR_IN, 3, 3, REQ);
	rec_data(tr, 4, t + 4, ZT_DIR_OUT, 3, 3, RESP);
	rec_data(tr, 3, t + 5, ZT_DIR_IN, 2, 2, RESP);
	rec_data(tr, 2, t + 6, ZT_DIR_OUT, 2, 2, RESP);
	rec_data(tr, 1, t + 7, ZT_DIR_IN, 1, 1, RESP);
}

static void test_tracer_chain(void)
{
	struct zt_tracer_opts o = { .on_span = tr_on_span };
	struct zt_tracer *tr = zt_tracer_new(&o);

	memset(offs, 0, sizeof(offs));
	rec_conn(tr, 1, "10.0.0.2", 40000, "10.0.0.3", 80, ZT_ROLE_CLIENT);
	rec_conn(tr, 2, "10.0.0.3", 80, "10.0.0.2", 40000, ZT_ROLE_SERVER);
	rec_conn(tr, 3, "10.0.0.3", 50000, "10.0.0.4", 80, ZT_ROLE_CLIENT);
	rec_conn(tr, 4, "10.0.0.4", 80, "10.0.0.3", 50000, ZT_ROLE_SERVER);
	for (int round = 0; round < 2; round++) {
		nout = 0;
		proxied_request(tr, 100 + 100 * round);
		CHECK_EQ_INT(nout, 4);
		for (int i = 0; i < nout; i++)
			out[i].container = out[i].kind == ZT_SPAN_CLIENT ?
				(out[i].pid == 1 ? "ping" : "lb") : (out[i].pid == 2 ? "lb" : "pong");
		ntraces = 1;
		last_trace_n = 4;
		strcpy(last_trace_first, "ping");
		memcpy(last_trace_parent, (int[]){ -1, 0, 1, 2 }, sizeof(int) * 4);
		check_chain();
	}
	CHECK_EQ_INT(zt_tracer_link_stats(tr)->linked_peer, 4);
	CHECK_EQ_INT(zt_tracer_link_stats(tr)->linked_local, 2);

	/* Two requests open on lb's thread when its call leaves: no parent. */
	rec_conn(tr, 5, "10.0.0.5", 40000, "10.0.0.3", 80, ZT_ROLE_CLIENT);
	rec_conn(tr, 6, "10.0.0.3", 80, "10.0.0.5", 40000, ZT_ROLE_SERVER);
	nout = 0;
	rec_data(tr, 5, 300, ZT_DIR_OUT, 5, 5, REQ);
	rec_data(tr, 6, 301, ZT_DIR_IN, 2, 2, REQ);
	proxied_request(tr, 302);
	rec_data(tr, 6, 310, ZT_DIR_OUT, 2, 2, RESP);
	rec_data(tr, 5, 311, ZT_DIR_IN, 5, 5, RESP);
	CHECK_EQ_INT(nout, 6);
	CHECK_EQ_INT(zt_tracer_link_stats(tr)->ambiguous, 1);
	int amb = 0;

	for (int i = 0; i < nout; i++)
		amb += out[i].no_parent && !strcmp(out[i].no_parent, "ambiguous") && out[i].pid == 2;
	CHECK_EQ_INT(amb, 1);
	zt_tracer_free(tr);
}

int main(void)
{
	test_tracer_chain();
	test_proxy_chain();
	test_client_first();
	test_traceparent();
	test_reasons();
	test_mismatch();
	test_expiry();
	test_bound();
	test_tuples_and_conns();
	test_open_requests();
	return TEST_SUMMARY("test_link");
}
