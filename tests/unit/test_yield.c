// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The drain's yield policy (user/yield.h). */
#include "check.h"
#include "yield.h"

/* One drain of n records: the yields it makes. */
static int drain(struct zt_yield *y, int n)
{
	int yields = 0;

	zt_yield_drain(y);
	for (int i = 0; i < n; i++)
		yields += zt_yield_record(y);
	return yields;
}

static void test_small_drains_yield(void)
{
	struct zt_yield y = { 0 };

	/* Every 64 records, carried across drains. */
	CHECK_EQ_INT(drain(&y, 200), 3); /* at 64, 128, 192 */
	CHECK_EQ_INT(drain(&y, 200), 3); /* 8 left over: at 56, 120, 184 */
	CHECK_EQ_INT(drain(&y, 40), 0);  /* 16 + 40 < 64 */
	CHECK_EQ_INT(drain(&y, 0), 0);
	CHECK_EQ_INT(drain(&y, 8), 1);
}

/* A drain that grows into a backlog stops yielding at the bound: the CI
 * failure was a drain that began small and yielded every 64 records until
 * the ring was full. */
static void test_long_drain_stops_yielding(void)
{
	struct zt_yield y = { 0 };

	CHECK_EQ_INT(drain(&y, 100000), ZT_YIELD_MAX_BATCH / ZT_YIELD_RECORDS);
}

/* After a backlog the next drain keeps up first; one small drain later,
 * yielding resumes. */
static void test_after_a_backlog(void)
{
	struct zt_yield y = { 0 };

	drain(&y, ZT_YIELD_MAX_BATCH + 1);
	CHECK_EQ_INT(drain(&y, 300), 0);
	CHECK(drain(&y, 300) > 0);
	drain(&y, ZT_YIELD_MAX_BATCH);
	CHECK(drain(&y, 300) > 0); /* the bound itself is not a backlog */
}

int main(void)
{
	test_small_drains_yield();
	test_long_drain_stops_yielding();
	test_after_a_backlog();
	return TEST_SUMMARY("test_yield");
}
