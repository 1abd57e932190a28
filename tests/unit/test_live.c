// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The live views: the aggregate (buckets, operations, the series cap,
 * samples, edges and their locality), the pages (escaping), the routes and
 * --listen's addresses; and the tracer's requests in flight. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "live/agg.h"
#include "live/render.h"
#include "live/route.h"
#include "tracer.h"

#define US 1000ULL
#define MS 1000000ULL
#define SEC 1000000000ULL
#define T0 (1800000000ULL * SEC) /* unix ns */

static struct zl_agg agg; /* large: static */

static struct zt_span sp[4];
static struct zt_span *ptrs[4];

static void set(int i, const char *container, enum zt_span_kind kind, const char *target,
		int status, uint64_t start_ns, uint64_t dur_ns, const char *local, const char *peer)
{
	memset(&sp[i], 0, sizeof(sp[i]));
	sp[i].container = container;
	sp[i].cgroup = container;
	sp[i].kind = kind;
	sp[i].protocol = "http";
	strcpy(sp[i].method, "GET");
	snprintf(sp[i].target, sizeof(sp[i].target), "%s", target);
	sp[i].status = status;
	sp[i].failed = status >= 500;
	sp[i].start_ns = start_ns;
	sp[i].duration_ns = dur_ns;
	snprintf(sp[i].local, sizeof(sp[i].local), "%s", local);
	snprintf(sp[i].peer, sizeof(sp[i].peer), "%s", peer);
	memset(sp[i].trace_id, 0x10 + (int)(start_ns / MS % 200), 16);
	ptrs[i] = &sp[i];
}

/* One trace of n spans (parents as given) through the aggregate. */
static void feed(int n, const int *parent)
{
	struct zt_trace_out t = { n, ptrs, parent };

	zl_agg_trace(&agg, &t, NULL, NULL);
}

static const struct zt_owner team_pong = { "team-pong", "javascript:alert(1)", "pong@example.org" };
static const struct zt_owner nobody = { NULL, NULL, NULL };

static const struct zt_owner *owners(void *ctx, const char *container, const char *cgroup)
{
	(void)ctx;
	(void)cgroup;
	return !strcmp(container, "pong") ? &team_pong : &nobody;
}

static void test_bucket(void)
{
	CHECK_EQ_INT(zl_bucket(0), 0);
	CHECK_EQ_INT(zl_bucket(9999), 0);
	CHECK_EQ_INT(zl_bucket(10 * US), 1);
	CHECK_EQ_INT(zl_bucket(100 * US - 1), 1);
	CHECK_EQ_INT(zl_bucket(100 * US), 2);
	CHECK_EQ_INT(zl_bucket(1 * MS), 3);
	CHECK_EQ_INT(zl_bucket(10 * MS), 4);
	CHECK_EQ_INT(zl_bucket(100 * MS), 5);
	CHECK_EQ_INT(zl_bucket(1 * SEC), 6);
	CHECK_EQ_INT(zl_bucket(10 * SEC), 7);
	CHECK_EQ_INT(zl_bucket(100 * SEC - 1), 7);
	CHECK_EQ_INT(zl_bucket(100 * SEC), 8);
	CHECK_EQ_INT(zl_bucket(UINT64_MAX), 8);
}

static void op(const char *protocol, const char *method, const char *target, const char *want)
{
	char out[ZL_OP_MAX];

	zl_operation(protocol, method, target, out, sizeof(out));
	CHECK_EQ_STR(out, want);
}

static void test_operation(void)
{
	op("http", "GET", "/items/123?token=abc", "GET /items/{id}");
	op("http", "GET", "/", "GET /");
	op("http", "GET", "", "GET");
	op("http", "DELETE", "/u/9f8e7d6c5b4a/x#frag", "DELETE /u/{id}/x");
	op("http", "GET", "/o/123e4567-e89b-12d3-a456-426614174000", "GET /o/{id}");
	op("http2", "GET", "/v1/users/42/", "GET /v1/users/{id}/");
	/* Words stay, even hex-looking ones without a digit. */
	op("http", "GET", "/deadbeef/feed/cafe", "GET /deadbeef/feed/cafe");
	op("http", "GET", "/a/0123456789abcdefghijklmno", "GET /a/{id}");
	op("http", "GET", "/a/b\x01\x7f\xc3\xa9", "GET /a/b????");
	op("grpc", "POST", "/pkg.Svc/Get", "POST /pkg.Svc/Get");
	op("postgresql", "SELECT", "SELECT * FROM t WHERE id = $1", "SELECT SELECT * FROM t WHERE id = $1");
	op("redis", "GET", "", "GET");

	char small[8];

	zl_operation("http", "GET", "/abcdefgh", small, sizeof(small));
	CHECK_EQ_STR(small, "GET /ab");
}

static void test_status_class(void)
{
	struct zt_span s = { .protocol = "http", .status = 204 };

	CHECK_EQ_STR(zl_status_class(&s), "2xx");
	s.status = 404;
	CHECK_EQ_STR(zl_status_class(&s), "4xx");
	s.status = 503;
	s.failed = true;
	CHECK_EQ_STR(zl_status_class(&s), "5xx");
	s.status = 0;
	CHECK_EQ_STR(zl_status_class(&s), "error");
	s.protocol = "grpc";
	s.status = 14;
	CHECK_EQ_STR(zl_status_class(&s), "error");
	s.failed = false;
	s.status = 0;
	CHECK_EQ_STR(zl_status_class(&s), "ok");
	s.protocol = "redis";
	CHECK_EQ_STR(zl_status_class(&s), "ok");
}

/* ping -> pong: two spans linked; one series, cell and sample each, an
 * edge on this host, a rendered tree; then pong's 500s. */
static void test_trace_aggregate(void)
{
	static const int parent[] = { -1, 0 };
	struct zl_buf b = { 0 };

	zl_agg_init(&agg, T0);
	set(0, "ping", ZT_SPAN_CLIENT, "/items/7", 200, T0 + 1 * SEC, 3 * MS, "10.1.0.3:40000",
	    "10.1.0.2:80");
	set(1, "pong", ZT_SPAN_SERVER, "/items/7", 200, T0 + 1 * SEC + 100 * US, 2 * MS,
	    "10.1.0.2:80", "10.1.0.3:40000");
	{
		struct zt_trace_out t = { 2, ptrs, parent };

		zl_agg_trace(&agg, &t, owners, NULL);
	}
	CHECK_EQ_INT(agg.spans, 2);
	CHECK_EQ_INT(agg.traces, 1);
	CHECK_EQ_INT(agg.nseries, 2);
	CHECK_EQ_INT(agg.ncells, 2);
	CHECK_EQ_STR(agg.series[0].container, "ping");
	CHECK_EQ_STR(agg.series[0].op, "GET /items/{id}");
	CHECK_EQ_STR(agg.series[0].status_class, "2xx");
	CHECK_EQ_INT(agg.series[0].buckets[3], 1);
	CHECK_EQ_INT(agg.cells[1].buckets[3], 1);
	CHECK(agg.cells[1].samples[3][0].used);
	CHECK_EQ_INT(agg.cells[1].samples[3][0].duration_ns, 2 * MS);
	CHECK_EQ_INT(agg.ncontainers, 2);
	CHECK_EQ_STR(zl_agg_container(&agg, "pong")->team, "team-pong");
	CHECK_EQ_STR(zl_agg_container(&agg, "ping")->team, "");
	CHECK_EQ_INT(agg.nedges, 1);
	CHECK_EQ_STR(agg.edges[0].caller, "ping");
	CHECK_EQ_STR(agg.edges[0].callee, "pong");
	CHECK_EQ_INT(agg.edges[0].locality, ZL_LOC_OTHER_NETNS);
	CHECK_EQ_INT(agg.edges[0].count, 1);
	CHECK_EQ_INT(agg.trees_rendered, 1);
	const struct zl_tree *z = zl_agg_tree(&agg, sp[0].trace_id);

	CHECK(z != NULL);
	if (z) {
		CHECK(strncmp(z->text, "critical path 3.0 ms: 1.0 ms in ping, 2.0 ms in pong\n", 53) == 0);
		CHECK(strstr(z->text, "\n*   pong server http GET /items/7  2.0 ms") != NULL);
	}

	/* Three 500s from pong, one a second apart: three error samples
	 * offered, two kept (the latest). */
	for (int i = 0; i < 3; i++) {
		set(0, "ping", ZT_SPAN_CLIENT, "/boom", 500, T0 + (2 + i) * SEC, 50 * MS,
		    "10.1.0.3:40001", "10.1.0.2:80");
		set(1, "pong", ZT_SPAN_SERVER, "/boom", 500, T0 + (2 + i) * SEC + MS, 40 * MS,
		    "10.1.0.2:80", "10.1.0.3:40001");
		feed(2, parent);
	}
	CHECK_EQ_INT(agg.nseries, 4);
	CHECK_EQ_INT(agg.series[3].errors, 3);
	CHECK_EQ_STR(agg.series[3].status_class, "5xx");
	CHECK_EQ_INT(agg.cells[3].errors, 3);
	CHECK_EQ_INT(agg.cells[3].samples[ZL_BUCKETS][0].start_ns, T0 + 4 * SEC + MS);
	CHECK_EQ_INT(agg.cells[3].samples[ZL_BUCKETS][1].start_ns, T0 + 3 * SEC + MS);
	CHECK_EQ_INT(agg.edges[0].count, 4);
	CHECK_EQ_INT(agg.edges[0].errors, 3);

	/* Within a second of the last one: counted, not sampled. */
	uint64_t taken = agg.samples_taken, trees = agg.trees_rendered;

	set(0, "ping", ZT_SPAN_CLIENT, "/boom", 500, T0 + 4 * SEC + 500 * MS, 50 * MS,
	    "10.1.0.3:40001", "10.1.0.2:80");
	set(1, "pong", ZT_SPAN_SERVER, "/boom", 500, T0 + 4 * SEC + 501 * MS, 40 * MS,
	    "10.1.0.2:80", "10.1.0.3:40001");
	feed(2, parent);
	CHECK_EQ_INT(agg.samples_taken, taken);
	CHECK_EQ_INT(agg.trees_rendered, trees);
	CHECK_EQ_INT(agg.cells[3].errors, 4);

	/* The pages: counts, the owner (its javascript: source not a link),
	 * the edge with its error rate. */
	agg.now_unix_ns = T0 + 5 * SEC;
	zl_render_tracez(&b, &agg);
	CHECK(!b.oom);
	CHECK(strstr(b.p, "team-pong (page pong@example.org) javascript:alert(1)</td>") != NULL);
	CHECK(strstr(b.p, "href=\"javascript") == NULL);
	CHECK(strstr(b.p, "<td class=\"err\"><a href=\"#c3b9\">4</a></td>") != NULL);
	zl_buf_free(&b);
	zl_render_servicez(&b, &agg);
	CHECK(strstr(b.p, "<td class=\"l\">this host, other netns</td><td>1.00</td>"
			  "<td class=\"err\">80.0%</td>") != NULL);
	zl_buf_free(&b);
	CHECK(zl_render_trace(&b, &agg, sp[0].trace_id) == false); /* not sampled */
	zl_buf_free(&b);
}

/* Edges to and from what is not traced: the peer's address, and where it is. */
static void test_edges_locality(void)
{
	static const int root[] = { -1 };
	uint8_t host[4] = { 192, 168, 7, 1 };
	uint64_t n, err, p99;

	zl_agg_init(&agg, T0);
	zl_agg_add_host_addr(&agg, host, 4);
	/* A traced local address, seen once: 10.1.0.9 lives here. */
	set(0, "db", ZT_SPAN_SERVER, "/", 200, T0, MS, "10.1.0.9:5432", "10.1.0.3:50000");
	feed(1, root);
	set(0, "app", ZT_SPAN_CLIENT, "/", 200, T0, MS, "10.1.0.3:41000", "192.0.2.7:443");
	feed(1, root);
	set(0, "app", ZT_SPAN_CLIENT, "/", 200, T0, MS, "10.1.0.3:41001", "192.168.7.1:8080");
	feed(1, root);
	set(0, "app", ZT_SPAN_CLIENT, "/", 200, T0, MS, "127.0.0.1:41002", "127.0.0.1:6379");
	feed(1, root);
	set(0, "app", ZT_SPAN_CLIENT, "/", 200, T0, MS, "[fd00::3]:41003", "[fd00::9]:80");
	feed(1, root);
	set(0, "app", ZT_SPAN_CLIENT, "/", 200, T0, MS, "10.1.0.3:41004", "10.1.0.9:5432");
	feed(1, root);
	CHECK_EQ_INT(agg.nedges, 6);
	/* db's server span: its caller is an address (port dropped). */
	CHECK_EQ_STR(agg.edges[0].caller, "10.1.0.3");
	CHECK_EQ_STR(agg.edges[0].callee, "db");
	CHECK_EQ_STR(agg.edges[1].callee, "192.0.2.7:443");
	CHECK_EQ_INT(agg.edges[1].locality, ZL_LOC_OFF_HOST);
	CHECK(!agg.edges[1].callee_traced);
	CHECK_EQ_INT(agg.edges[2].locality, ZL_LOC_HOST);
	CHECK_EQ_INT(agg.edges[3].locality, ZL_LOC_SAME_NETNS);
	CHECK_EQ_INT(agg.edges[4].locality, ZL_LOC_OFF_HOST);
	CHECK_EQ_INT(agg.edges[5].locality, ZL_LOC_OTHER_NETNS);

	/* p99 over the minute: 99 at 1 ms, one at 1 s. */
	zl_agg_init(&agg, T0);
	for (int i = 0; i < 100; i++) {
		set(0, "app", ZT_SPAN_CLIENT, "/", 200, T0 + i * 100 * MS, i == 50 ? SEC : MS,
		    "10.1.0.3:1", "192.0.2.7:443");
		feed(1, root);
	}
	zl_edge_window(&agg.edges[0], T0 + 20 * SEC, &n, &err, &p99);
	CHECK_EQ_INT(n, 100);
	CHECK_EQ_INT(err, 0);
	CHECK(p99 >= MS && p99 < 1415 * US);
	/* A minute on, the windows are stale. */
	zl_edge_window(&agg.edges[0], T0 + 80 * SEC, &n, &err, &p99);
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(p99, 0);
	CHECK_EQ_INT(agg.edges[0].count, 100);
}

/* More operations than the bounds: series, cells and edges overflow into
 * one row each, counted, and /metrics says so. */
static void test_caps(void)
{
	static const int root[] = { -1 };
	struct zl_buf b = { 0 };
	struct zl_proc p = { 1.5, 1 << 20, 0.25 };
	char target[32];
	int n = ZL_SERIES_MAX + 88;

	zl_agg_init(&agg, T0);
	for (int i = 0; i < n; i++) {
		/* Letters only, so that nothing folds. */
		snprintf(target, sizeof(target), "/op%c%c%c", 'a' + i % 26, 'a' + i / 26 % 26,
			 'a' + i / 676);
		set(0, "app", ZT_SPAN_CLIENT, target, 200, T0, MS, "10.1.0.3:1", "192.0.2.7:443");
		snprintf(sp[0].peer, sizeof(sp[0].peer), "192.0.2.%d:%d", i % 250, 1000 + i);
		feed(1, root);
	}
	CHECK_EQ_INT(agg.nseries, ZL_SERIES_MAX);
	CHECK_EQ_INT(agg.series_overflow, 88);
	CHECK_EQ_INT(agg.series[ZL_SERIES_MAX].count, 88);
	CHECK_EQ_INT(agg.ncells, ZL_CELLS_MAX);
	CHECK_EQ_INT(agg.cells_overflow, n - ZL_CELLS_MAX);
	CHECK_EQ_INT(agg.cells[ZL_CELLS_MAX].count, n - ZL_CELLS_MAX);
	CHECK_EQ_INT(agg.nedges, ZL_EDGES_MAX);
	CHECK_EQ_INT(agg.edges_overflow, n - ZL_EDGES_MAX);
	CHECK_EQ_INT(agg.spans, n);

	zl_render_metrics(&b, &agg, &p);
	CHECK(!b.oom);
	CHECK(strstr(b.p, "\nztrace_requests_total{container=\"_overflow\",operation=\"_overflow\","
			  "protocol=\"_overflow\",status_class=\"_overflow\",kind=\"_overflow\"} 88\n") != NULL);
	CHECK(strstr(b.p, "\nztrace_series_overflow_total 88\n") != NULL);
	CHECK(strstr(b.p, "\nztrace_spans_total 600\n") != NULL);
	CHECK(strstr(b.p, "\nztrace_ringbuf_fill_ratio 0.250000\n") != NULL);
	CHECK(strstr(b.p, "\nprocess_resident_memory_bytes 1048576\n") != NULL);
	zl_buf_free(&b);
	zl_render_tracez(&b, &agg);
	CHECK(!b.oom);
	zl_buf_free(&b);
}

/* What comes from the wire is escaped where it lands. */
static void test_escaping(void)
{
	static const int root[] = { -1 };
	struct zl_buf b = { 0 };
	struct zl_proc p = { 0, 0, -1 };

	zl_agg_init(&agg, T0);
	set(0, "we\"ird", ZT_SPAN_SERVER, "/<script>alert(1)</script>/a\"b\\c", 200, T0, MS,
	    "10.1.0.2:80", "10.1.0.3:1");
	feed(1, root);
	zl_render_metrics(&b, &agg, &p);
	CHECK(strstr(b.p, "ztrace_requests_total{container=\"we\\\"ird\",operation=\"GET /<script>"
			  "alert(1)</script>/a\\\"b\\\\c\"") != NULL);
	CHECK(strstr(b.p, "ztrace_ringbuf_fill_ratio") == NULL); /* unknown: not shown */
	zl_buf_free(&b);
	zl_render_tracez(&b, &agg);
	CHECK(strstr(b.p, "<script>") == NULL);
	CHECK(strstr(b.p, "&lt;script&gt;alert(1)&lt;/script&gt;/a&quot;b\\c") != NULL);
	CHECK(strstr(b.p, "we&quot;ird") != NULL);
	zl_buf_free(&b);
	CHECK(zl_render_trace(&b, &agg, sp[0].trace_id));
	CHECK(strstr(b.p, "<script>") == NULL);
	zl_buf_free(&b);
}

static void route(const char *method, const char *url, const char *id, int want,
		  enum zl_page want_page)
{
	enum zl_page page;
	uint8_t tid[16];

	CHECK_EQ_INT(zl_route(method, url, id, &page, tid), want);
	CHECK_EQ_INT(page, want_page);
}

static void test_route(void)
{
	enum zl_page page;
	uint8_t tid[16];

	route("GET", "/tracez", NULL, 200, ZL_PAGE_TRACEZ);
	route("HEAD", "/metrics", NULL, 200, ZL_PAGE_METRICS);
	route("GET", "/servicez", "x", 200, ZL_PAGE_SERVICEZ);
	route("GET", "/", NULL, 200, ZL_PAGE_INDEX);
	route("POST", "/tracez", NULL, 405, ZL_PAGE_NONE);
	route("get", "/tracez", NULL, 405, ZL_PAGE_NONE);
	route("GET", "/tracez/", NULL, 404, ZL_PAGE_NONE);
	route("GET", "/../tracez", NULL, 404, ZL_PAGE_NONE);
	route("GET", "/trace", NULL, 400, ZL_PAGE_NONE);
	route("GET", "/trace", "0123456789abcdef0123456789ABCDEF", 400, ZL_PAGE_NONE);
	route("GET", "/trace", "0123456789abcdef0123456789abcde", 400, ZL_PAGE_NONE);
	route("GET", "/trace", "0123456789abcdef0123456789abcdef0", 400, ZL_PAGE_NONE);
	route(NULL, "/", NULL, 400, ZL_PAGE_NONE);
	CHECK_EQ_INT(zl_route("GET", "/trace", "00ff0123456789abcdef0123456789ab", &page, tid), 200);
	CHECK_EQ_INT(page, ZL_PAGE_TRACE);
	CHECK_EQ_INT(tid[0], 0x00);
	CHECK_EQ_INT(tid[1], 0xff);
	CHECK_EQ_INT(tid[15], 0xab);
}

static void listen_ok(const char *s, int family, const char *ip, int port, bool loopback)
{
	struct sockaddr_storage ss;
	socklen_t len;
	bool lo = !loopback;
	char got[64] = "";

	CHECK_EQ_INT(zl_listen_parse(s, &ss, &len, &lo), 0);
	CHECK_EQ_INT(ss.ss_family, family);
	CHECK_EQ_INT(lo, loopback);
	if (family == AF_INET) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &v4->sin_addr, got, sizeof(got));
		CHECK_EQ_INT(ntohs(v4->sin_port), port);
		CHECK_EQ_INT(len, sizeof(*v4));
	} else {
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &v6->sin6_addr, got, sizeof(got));
		CHECK_EQ_INT(ntohs(v6->sin6_port), port);
	}
	CHECK_EQ_STR(got, ip);
}

static void test_listen_parse(void)
{
	static const char *const bad[] = {
		"", ":", "0", ":0", "65536", "127.0.0.1", "127.0.0.1:", "127.0.0.1:x", "localhost:80",
		"::1:80", "[::1]", "[::1]80", "[nope]:80", "1.2.3.4:80x", " 80", "80 ", "-1", NULL,
	};
	struct sockaddr_storage ss;
	socklen_t len;
	bool lo;

	listen_ok("9464", AF_INET, "127.0.0.1", 9464, true);
	listen_ok(":9464", AF_INET, "127.0.0.1", 9464, true);
	listen_ok("127.0.0.2:1", AF_INET, "127.0.0.2", 1, true);
	listen_ok("0.0.0.0:65535", AF_INET, "0.0.0.0", 65535, false);
	listen_ok("10.0.0.1:80", AF_INET, "10.0.0.1", 80, false);
	listen_ok("[::1]:9464", AF_INET6, "::1", 9464, true);
	listen_ok("[::]:9464", AF_INET6, "::", 9464, false);
	for (int i = 0; bad[i]; i++) {
		int ret = zl_listen_parse(bad[i], &ss, &len, &lo);

		if (ret != -22)
			fprintf(stderr, "accepted --listen '%s'\n", bad[i]);
		CHECK_EQ_INT(ret, -22);
	}
}

/* The tracer's requests in flight: what arrived and was not answered, with
 * its request line (query dropped), until the answer leaves. */
static int nopen;
static struct zt_open_request open_seen;
static char open_method[16], open_target[64];

static void on_open(void *ctx, const struct zt_open_request *r)
{
	(void)ctx;
	nopen++;
	open_seen = *r;
	snprintf(open_method, sizeof(open_method), "%s", r->method);
	snprintf(open_target, sizeof(open_target), "%s", r->target);
}

static void on_span(void *ctx, struct zt_span *s)
{
	(void)ctx;
	(void)s;
}

static void data(struct zt_tracer *tr, uint64_t id, uint64_t ts, uint8_t dir, uint64_t off,
		 const char *bytes)
{
	uint32_t cap = strlen(bytes);
	size_t size = sizeof(struct zt_data_event) + cap;
	struct zt_data_event *e = calloc(1, size);

	e->hdr.type = ZT_EV_DATA;
	e->hdr.ts_ns = ts;
	e->hdr.conn_id = id;
	e->cgroup_id = 42;
	e->offset = off;
	e->pid = 100;
	e->tid = 101;
	e->len = e->cap = cap;
	e->dir = dir;
	memcpy(e + 1, bytes, cap);
	zt_tracer_on_record(tr, e, size);
	free(e);
}

static void test_open_requests(void)
{
	struct zt_tracer_opts o = { .max_conns = 16, .on_span = on_span };
	struct zt_tracer *tr = zt_tracer_new(&o);
	struct zt_conn_event c = { .hdr = { .ts_ns = 1, .conn_id = 9, .type = ZT_EV_CONN } };
	const char *req = "GET /hang?token=secret HTTP/1.1\r\nHost: x\r\nAuthorization: b\r\n\r\n";

	c.family = AF_INET;
	inet_pton(AF_INET, "10.0.0.2", c.saddr);
	inet_pton(AF_INET, "10.0.0.3", c.daddr);
	c.sport = 80;
	c.dport = 40000;
	c.role = ZT_ROLE_SERVER;
	c.cgroup_id = 42;
	zt_tracer_on_record(tr, &c, sizeof(c));
	CHECK_EQ_INT(zt_tracer_open_requests(tr, on_open, NULL, 8), 0);
	data(tr, 9, 5000, ZT_DIR_IN, 0, req);
	nopen = 0;
	CHECK_EQ_INT(zt_tracer_open_requests(tr, on_open, NULL, 8), 1);
	CHECK_EQ_INT(nopen, 1);
	CHECK_EQ_STR(open_method, "GET");
	CHECK_EQ_STR(open_target, "/hang");
	CHECK_EQ_STR(open_seen.protocol, "http");
	CHECK_EQ_STR(open_seen.peer, "10.0.0.3:40000");
	CHECK_EQ_INT(open_seen.start_ns, 5000);
	/* max 0: counted, not listed. */
	nopen = 0;
	CHECK_EQ_INT(zt_tracer_open_requests(tr, on_open, NULL, 0), 1);
	CHECK_EQ_INT(nopen, 0);
	CHECK(!open_seen.client);
	data(tr, 9, 9000, ZT_DIR_OUT, 0, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	CHECK_EQ_INT(zt_tracer_open_requests(tr, on_open, NULL, 8), 0);

	/* A request we made, waiting for its answer. */
	c.hdr.conn_id = 10;
	c.role = ZT_ROLE_CLIENT;
	c.sport = 40001;
	c.dport = 5000;
	zt_tracer_on_record(tr, &c, sizeof(c));
	data(tr, 10, 12000, ZT_DIR_OUT, 0, "POST /api/v1/orders/77?sig=abc HTTP/1.1\r\nHost: y\r\n"
					   "Content-Length: 0\r\n\r\n");
	nopen = 0;
	CHECK_EQ_INT(zt_tracer_open_requests(tr, on_open, NULL, 8), 1);
	CHECK(open_seen.client);
	CHECK_EQ_STR(open_method, "POST");
	CHECK_EQ_STR(open_target, "/api/v1/orders/77");
	CHECK_EQ_STR(open_seen.peer, "10.0.0.3:5000");
	CHECK_EQ_INT(open_seen.start_ns, 12000);
	data(tr, 10, 15000, ZT_DIR_IN, 0, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
	CHECK_EQ_INT(zt_tracer_open_requests(tr, on_open, NULL, 8), 0);
	zt_tracer_free(tr);
}

int main(void)
{
	test_bucket();
	test_operation();
	test_status_class();
	test_trace_aggregate();
	test_edges_locality();
	test_caps();
	test_escaping();
	test_route();
	test_listen_parse();
	test_open_requests();
	return TEST_SUMMARY("test_live");
}
