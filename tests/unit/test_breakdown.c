// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The breakdown's arithmetic: interval unions, differences of the
 * scheduler counters, clamping, the cause word, client phases. */
#include <string.h>

#include "breakdown.h"
#include "check.h"
#include "ztrace.h"

#define MS 1000000ULL

static struct zt_stamp st(uint64_t ts_ms, uint32_t tid, uint64_t cpu_ms, uint64_t runq_ms)
{
	struct zt_stamp s = {
		.ts = ts_ms * MS, .tid = tid, .cpu_ns = cpu_ms * MS, .runq_ns = runq_ms * MS,
		.flags = ZT_DF_SCHED,
	};
	return s;
}

static void test_ivset(void)
{
	struct zt_ivset s;

	memset(&s, 0, sizeof(s));
	zt_ivset_add(&s, 10, 20);
	zt_ivset_add(&s, 30, 40);
	CHECK_EQ_INT(s.n, 2);
	CHECK_EQ_INT(zt_ivset_covered(&s, 0, 100), 20);
	/* Overlapping both: one interval. */
	zt_ivset_add(&s, 15, 35);
	CHECK_EQ_INT(s.n, 1);
	CHECK_EQ_INT(zt_ivset_covered(&s, 0, 100), 30);
	/* Clipped to the window. */
	CHECK_EQ_INT(zt_ivset_covered(&s, 12, 38), 26);
	/* Empty and reversed intervals add nothing. */
	zt_ivset_add(&s, 50, 50);
	zt_ivset_add(&s, 60, 55);
	CHECK_EQ_INT(s.n, 1);
	/* Before the first, touching: merged. */
	zt_ivset_add(&s, 5, 10);
	CHECK_EQ_INT(s.n, 1);
	CHECK_EQ_INT(s.lo[0], 5);
	/* Parallel calls: the union, not the sum. */
	memset(&s, 0, sizeof(s));
	zt_ivset_add(&s, 0, 300);
	zt_ivset_add(&s, 100, 250);
	CHECK_EQ_INT(zt_ivset_covered(&s, 0, 1000), 300);
}

static void test_ivset_full(void)
{
	struct zt_ivset s;

	memset(&s, 0, sizeof(s));
	for (int i = 0; i < ZT_IVSET_MAX; i++)
		zt_ivset_add(&s, i * 100, i * 100 + 10);
	CHECK_EQ_INT(s.n, ZT_IVSET_MAX);
	CHECK_EQ_INT(zt_ivset_covered(&s, 0, 10000), 10 * ZT_IVSET_MAX);
	/* One more joins its nearest neighbour (the one before, 5 away):
	 * the gap counts as covered, counted in joined. */
	zt_ivset_add(&s, 115, 120);
	CHECK_EQ_INT(s.n, ZT_IVSET_MAX);
	CHECK_EQ_INT(s.joined, 1);
	CHECK_EQ_INT(zt_ivset_covered(&s, 100, 200), 20);
	/* Past the last. */
	zt_ivset_add(&s, 2000, 2010);
	CHECK_EQ_INT(s.joined, 2);
	CHECK_EQ_INT(s.hi[ZT_IVSET_MAX - 1], 2010);
	/* Before the first. */
	zt_ivset_add(&s, 0, 0);
	CHECK_EQ_INT(s.joined, 2);
	/* A corrupt count is reset, never read past the arrays. */
	s.n = 99;
	zt_ivset_add(&s, 1, 2);
	CHECK_EQ_INT(s.n, 1);
}

/* 400 ms, one thread: 40 cpu, 350 runq, the rest io. */
static void test_runq(void)
{
	struct zt_bd_input in = {
		.req_first_ns = 1000 * MS, .req_last_ns = 1000 * MS,
		.resp_first_ns = 1400 * MS, .resp_last_ns = 1400 * MS,
		.req_first = st(1000, 7, 100, 20), .req_last = st(1000, 7, 100, 20),
		.resp_first = st(1400, 7, 140, 370), .resp_last = st(1400, 7, 140, 370),
	};
	struct zt_span_bd b;

	zt_breakdown_compute(&in, 400 * MS, &b);
	CHECK(b.has);
	CHECK_EQ_INT(b.sched, ZT_BD_SCHED_OK);
	CHECK_EQ_INT(b.cpu_ns, 40 * MS);
	CHECK_EQ_INT(b.runq_ns, 350 * MS);
	CHECK_EQ_INT(b.deps_ns, 0);
	CHECK_EQ_INT(b.net_ns, 0);
	CHECK_EQ_INT(b.io_ns, 10 * MS);
	CHECK_EQ_STR(zt_breakdown_cause(&b), "runq");
}

/* 320 ms: 300 downstream, 5 cpu; the response took 10 ms to leave, 1 of
 * them on a CPU. */
static void test_deps_and_net(void)
{
	struct zt_bd_input in = {
		.req_first_ns = 0, .req_last_ns = 0,
		.resp_first_ns = 310 * MS, .resp_last_ns = 320 * MS,
		.req_first = st(0, 7, 0, 0), .req_last = st(0, 7, 0, 0),
		.resp_first = st(310, 7, 4, 0), .resp_last = st(320, 7, 5, 0),
		.deps_ns = 300 * MS,
	};
	struct zt_span_bd b;

	in.req_first.ts = in.req_last.ts = 1; /* a record at time ~0 */
	zt_breakdown_compute(&in, 320 * MS, &b);
	CHECK_EQ_INT(b.cpu_ns, 5 * MS);
	CHECK_EQ_INT(b.deps_ns, 300 * MS);
	CHECK_EQ_INT(b.net_ns, 9 * MS);
	CHECK_EQ_INT(b.io_ns, 6 * MS);
	CHECK_EQ_INT(b.send_ns, 10 * MS);
	CHECK_EQ_STR(zt_breakdown_cause(&b), "deps");
}

/* Another thread answered: cpu and runq are not known, never guessed. */
static void test_handoff(void)
{
	struct zt_bd_input in = {
		.req_first_ns = 0, .req_last_ns = 0,
		.resp_first_ns = 100 * MS, .resp_last_ns = 100 * MS,
		.req_first = st(1, 7, 0, 0), .resp_last = st(100, 8, 50, 0),
		.deps_ns = 20 * MS,
	};
	struct zt_span_bd b;

	zt_breakdown_compute(&in, 100 * MS, &b);
	CHECK_EQ_INT(b.sched, ZT_BD_SCHED_HANDOFF);
	CHECK_EQ_INT(b.cpu_ns, 0);
	CHECK_EQ_INT(b.runq_ns, 0);
	CHECK_EQ_INT(b.deps_ns, 20 * MS);
	CHECK_EQ_INT(b.io_ns, 80 * MS);
	/* The unknown rest dominates: no word. */
	CHECK(zt_breakdown_cause(&b) == NULL);
	/* No counters at all (--no-sched). */
	in.req_first.flags = in.resp_last.flags = 0;
	zt_breakdown_compute(&in, 100 * MS, &b);
	CHECK_EQ_INT(b.sched, ZT_BD_SCHED_NONE);
	in.deps_ns = 90 * MS;
	zt_breakdown_compute(&in, 100 * MS, &b);
	CHECK_EQ_STR(zt_breakdown_cause(&b), "deps");
}

/* Hostile counters: going backwards, or more than the span lasted. The
 * parts never exceed the duration, none is negative. */
static void test_hostile(void)
{
	struct zt_bd_input in = {
		.req_first_ns = 0, .req_last_ns = 0, .resp_first_ns = 10 * MS, .resp_last_ns = 10 * MS,
		.req_first = st(1, 7, 500, 500), .resp_last = st(10, 7, 100, 100),
		.deps_ns = 1000 * MS,
	};
	struct zt_span_bd b;

	zt_breakdown_compute(&in, 10 * MS, &b);
	CHECK_EQ_INT(b.sched, ZT_BD_SCHED_NONE);
	CHECK_EQ_INT(b.deps_ns, 10 * MS);
	CHECK_EQ_INT(b.io_ns, 0);
	in.req_first = st(1, 7, 0, 0);
	in.resp_last = st(10, 7, 8, UINT64_MAX / MS);
	in.deps_ns = 0;
	zt_breakdown_compute(&in, 10 * MS, &b);
	CHECK_EQ_INT(b.cpu_ns, 8 * MS);
	CHECK_EQ_INT(b.runq_ns, 2 * MS);
	CHECK_EQ_INT(b.cpu_ns + b.runq_ns + b.deps_ns + b.net_ns + b.io_ns, 10 * MS);
	/* Retransmits only as a difference that grew. */
	in.req_first.flags |= ZT_DF_TCPINFO;
	in.resp_last.flags |= ZT_DF_TCPINFO;
	in.req_first.retrans = 9;
	in.resp_last.retrans = 4;
	in.resp_last.srtt_us = 7000;
	zt_breakdown_compute(&in, 10 * MS, &b);
	CHECK(b.has_net);
	CHECK_EQ_INT(b.srtt_us, 7000);
	CHECK_EQ_INT(b.retrans, 0);
	in.req_first.retrans = 1;
	zt_breakdown_compute(&in, 10 * MS, &b);
	CHECK_EQ_INT(b.retrans, 3);
}

static void test_phases(void)
{
	struct zt_phases p;

	zt_phases_compute(100 * MS, 130 * MS, 200 * MS, 2 * MS, &p);
	CHECK(p.has && p.has_connect);
	CHECK_EQ_INT(p.connect_ns, 2 * MS);
	CHECK_EQ_INT(p.ttfb_ns, 30 * MS);
	CHECK_EQ_INT(p.download_ns, 70 * MS);
	zt_phases_compute(100 * MS, 130 * MS, 200 * MS, 0, &p);
	CHECK(p.has && !p.has_connect);
	/* No response: no phases. */
	zt_phases_compute(100 * MS, 0, 0, 0, &p);
	CHECK(!p.has);
	/* Out of order: zero, not a wrapped number. */
	zt_phases_compute(200 * MS, 100 * MS, 50 * MS, 0, &p);
	CHECK_EQ_INT(p.ttfb_ns, 0);
	CHECK_EQ_INT(p.download_ns, 0);
}

int main(void)
{
	test_ivset();
	test_ivset_full();
	test_runq();
	test_deps_and_net();
	test_handoff();
	test_hostile();
	test_phases();
	return TEST_SUMMARY("test_breakdown");
}
