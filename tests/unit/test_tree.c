// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Self times, the critical path and the verdict of made-up traces. */
#include <string.h>

#include "check.h"
#include "output/output.h"
#include "trace/tree.h"

#define MS 1000000ULL

static struct zt_span sp[8];
static struct zt_span *ptrs[8];

static void set(int i, const char *container, enum zt_span_kind kind, uint64_t start_ms,
		uint64_t end_ms)
{
	memset(&sp[i], 0, sizeof(sp[i]));
	sp[i].container = container;
	sp[i].kind = kind;
	sp[i].protocol = "http";
	strcpy(sp[i].method, "GET");
	strcpy(sp[i].target, "/");
	sp[i].status = 200;
	sp[i].start_ns = start_ms * MS;
	sp[i].duration_ns = (end_ms - start_ms) * MS;
	memset(sp[i].span_id, i + 1, 8);
	ptrs[i] = &sp[i];
}

/* ping -> lb -> lb -> pong: the verdict the issue asks for. */
static void test_chain(void)
{
	static const int parent[] = { -1, 0, 1, 2 };
	struct zt_trace_out t = { 4, ptrs, parent };
	struct zt_tree tr;
	char v[256];

	set(0, "ping", ZT_SPAN_CLIENT, 1000, 1480);
	set(1, "haproxy", ZT_SPAN_SERVER, 1010, 1470);
	set(2, "haproxy", ZT_SPAN_CLIENT, 1015, 1455);
	set(3, "pong", ZT_SPAN_SERVER, 1015, 1455);
	CHECK_EQ_INT(zt_tree_analyse(&tr, &t), 0);
	CHECK_EQ_INT(tr.ncp, 4);
	for (int i = 0; i < 4; i++) {
		CHECK(tr.on_cp[i]);
		CHECK_EQ_INT(tr.depth[i], i);
	}
	CHECK_EQ_INT(tr.self_ns[0], 20 * MS);
	CHECK_EQ_INT(tr.self_ns[1], 20 * MS);
	CHECK_EQ_INT(tr.self_ns[2], 0);
	CHECK_EQ_INT(tr.self_ns[3], 440 * MS);
	zt_tree_verdict(&tr, v, sizeof(v));
	CHECK_EQ_STR(v, "480 ms: 20 ms in ping, 20 ms in haproxy, 440 ms in pong");

	struct zt_outbuf o;

	zt_outbuf_init(&o, -1, 4096);
	zt_json_trace(&o, &tr);
	zt_outbuf_put(&o, "", 1);
	CHECK(strstr(o.buf, "\"type\":\"trace\"") != NULL);
	CHECK(strstr(o.buf, "\"by_container\":{\"ping\":20000000,\"haproxy\":20000000,\"pong\":440000000}") != NULL);
	CHECK(strstr(o.buf, "\"critical_path\":[\"0101010101010101\",\"0202020202020202\","
			    "\"0303030303030303\",\"0404040404040404\"]") != NULL);
	o.len = 0;
	zt_text_trace(&o, &tr);
	zt_outbuf_put(&o, "", 1);
	CHECK(strstr(o.buf, "480 ms: 20 ms in ping, 20 ms in haproxy, 440 ms in pong\n") != NULL);
	CHECK(strstr(o.buf, "\n*       pong") != NULL);
	zt_outbuf_free(&o);
	zt_tree_free(&tr);
}

/* The owner of the container that took the most names whom to page: its
 * pager, else its team; without either, the verdict by container. */
static void test_owner_verdict(void)
{
	static const int parent[] = { -1, 0, 1, 2 };
	static const struct zt_owner pong_owner = { "team-pong", "https://git.example.test/pong",
						    "pong-oncall" };
	static const struct zt_owner team_only = { "team-pong", NULL, NULL };
	static const struct zt_owner source_only = { NULL, "https://git.example.test/pong", NULL };
	static const struct zt_owner ping_owner = { "team-ping", NULL, "ping-oncall" };
	struct zt_trace_out t = { 4, ptrs, parent };
	struct zt_tree tr;
	char v[256];

	set(0, "ping", ZT_SPAN_CLIENT, 1000, 1480);
	set(1, "haproxy", ZT_SPAN_SERVER, 1010, 1470);
	set(2, "haproxy", ZT_SPAN_CLIENT, 1015, 1455);
	set(3, "pong", ZT_SPAN_SERVER, 1015, 1455);
	sp[0].owner = &ping_owner;
	sp[3].owner = &pong_owner;
	CHECK_EQ_INT(zt_tree_analyse(&tr, &t), 0);
	zt_tree_verdict(&tr, v, sizeof(v));
	CHECK_EQ_STR(v, "page pong-oncall: 440 ms of 480 ms in pong");
	zt_tree_free(&tr);

	sp[3].owner = &team_only;
	CHECK_EQ_INT(zt_tree_analyse(&tr, &t), 0);
	zt_tree_verdict(&tr, v, sizeof(v));
	CHECK_EQ_STR(v, "page team-pong: 440 ms of 480 ms in pong");
	/* cut to the buffer, NUL-terminated */
	CHECK_EQ_INT(zt_tree_verdict(&tr, v, 10), 9);
	CHECK_EQ_STR(v, "page team");
	zt_tree_free(&tr);

	/* a source alone names nobody to page; ping's owner is not the slowest */
	sp[3].owner = &source_only;
	CHECK_EQ_INT(zt_tree_analyse(&tr, &t), 0);
	zt_tree_verdict(&tr, v, sizeof(v));
	CHECK_EQ_STR(v, "480 ms: 20 ms in ping, 20 ms in haproxy, 440 ms in pong");
	zt_tree_free(&tr);
}

/* Sequential calls: both on the path; overlapping ones: the one that ended
 * last holds it, the other only until that one began; a call that ended
 * early under a long one is off the path. */
static void test_sequential_and_overlapping(void)
{
	static const int parent[] = { -1, 0, 0, 0 };
	struct zt_trace_out t = { 3, ptrs, parent };
	struct zt_tree tr;
	char v[256];

	set(0, "app", ZT_SPAN_SERVER, 0, 100);
	set(1, "db", ZT_SPAN_CLIENT, 10, 40);
	set(2, "cache", ZT_SPAN_CLIENT, 50, 90);
	CHECK_EQ_INT(zt_tree_analyse(&tr, &t), 0);
	CHECK_EQ_INT(tr.self_ns[0], 30 * MS);
	CHECK_EQ_INT(tr.cp_ns[0], 30 * MS);
	CHECK_EQ_INT(tr.cp_ns[1], 30 * MS);
	CHECK_EQ_INT(tr.cp_ns[2], 40 * MS);
	CHECK_EQ_INT(tr.ncp, 3);
	CHECK_EQ_INT(tr.cp[1], 2); /* walked back from the end */
	zt_tree_verdict(&tr, v, sizeof(v));
	CHECK_EQ_STR(v, "100 ms: 30 ms in app, 40 ms in cache, 30 ms in db");
	zt_tree_free(&tr);

	set(1, "a", ZT_SPAN_CLIENT, 10, 60);
	set(2, "b", ZT_SPAN_CLIENT, 20, 90);
	CHECK_EQ_INT(zt_tree_analyse(&tr, &t), 0);
	CHECK_EQ_INT(tr.self_ns[0], 20 * MS); /* 0-10 and 90-100 */
	CHECK_EQ_INT(tr.cp_ns[2], 70 * MS);
	CHECK_EQ_INT(tr.cp_ns[1], 10 * MS);
	CHECK_EQ_INT(tr.cp_ns[0], 20 * MS);
	zt_tree_free(&tr);

	t.n = 4;
	set(1, "a", ZT_SPAN_CLIENT, 10, 90);
	set(2, "b", ZT_SPAN_CLIENT, 20, 30);
	set(3, "c", ZT_SPAN_CLIENT, 40, 50);
	CHECK_EQ_INT(zt_tree_analyse(&tr, &t), 0);
	CHECK(tr.on_cp[1] && !tr.on_cp[2] && !tr.on_cp[3]);
	CHECK_EQ_INT(tr.self_ns[0], 20 * MS);
	zt_tree_free(&tr);
}

/* A child reported to end after its parent (the two ends' clocks are read
 * on different CPUs) is clipped: shares still sum to the root's duration. */
static void test_clipped(void)
{
	static const int parent[] = { -1, 0 };
	struct zt_trace_out t = { 2, ptrs, parent };
	struct zt_tree tr;
	uint64_t sum = 0;

	set(0, "lb", ZT_SPAN_CLIENT, 100, 200);
	set(1, "pong", ZT_SPAN_SERVER, 99, 201);
	CHECK_EQ_INT(zt_tree_analyse(&tr, &t), 0);
	CHECK_EQ_INT(tr.self_ns[0], 0);
	for (int b = 0; b < tr.nby; b++)
		sum += tr.by[b].ns;
	CHECK_EQ_INT(sum, tr.duration_ns);
	zt_tree_free(&tr);

	/* One span: all its own. */
	t.n = 1;
	CHECK_EQ_INT(zt_tree_analyse(&tr, &t), 0);
	CHECK_EQ_INT(tr.ncp, 1);
	CHECK_EQ_INT(tr.self_ns[0], 100 * MS);
	zt_tree_free(&tr);
}

static void test_ms(void)
{
	char b[32];

	zt_tree_ms(480 * MS + 400000, b, sizeof(b));
	CHECK_EQ_STR(b, "480");
	zt_tree_ms(2 * MS + 500000, b, sizeof(b));
	CHECK_EQ_STR(b, "2.5");
	zt_tree_ms(310000, b, sizeof(b));
	CHECK_EQ_STR(b, "0.31");
	zt_tree_ms(0, b, sizeof(b));
	CHECK_EQ_STR(b, "0");
}

int main(void)
{
	test_chain();
	test_owner_verdict();
	test_sequential_and_overlapping();
	test_clipped();
	test_ms();
	return TEST_SUMMARY("test_tree");
}
