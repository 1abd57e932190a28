// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The connection table under churn: lookups stay right after many removals
 * (backward-shift deletion) and the bound holds. */
#include <stdlib.h>

#include "check.h"
#include "conn.h"

static int evicted;

static void on_evict(void *ctx, struct zt_conn *c)
{
	(void)ctx;
	(void)c;
	evicted++;
}

int main(void)
{
	struct zt_conn_table *t = zt_conn_table_new(1000);
	bool created;
	int misses = 0;

	for (uint64_t round = 0; round < 50; round++) {
		for (uint64_t i = 1; i <= 1000; i++) {
			struct zt_conn *c = zt_conn_table_get(t, round * 100000 + i, i, &created,
							      on_evict, NULL);
			if (!c || !created)
				misses++;
		}
		for (uint64_t i = 1; i <= 1000; i++) {
			struct zt_conn *c = zt_conn_table_lookup(t, round * 100000 + i);

			if (!c || c->id != round * 100000 + i)
				misses++;
			else if (i % 2)
				zt_conn_table_remove(t, c);
		}
		/* Survivors still found after the holes were made. */
		for (uint64_t i = 2; i <= 1000; i += 2)
			if (!zt_conn_table_lookup(t, round * 100000 + i))
				misses++;
		for (uint64_t i = 2; i <= 1000; i += 2)
			zt_conn_table_remove(t, zt_conn_table_lookup(t, round * 100000 + i));
	}
	CHECK_EQ_INT(misses, 0);
	CHECK_EQ_INT(zt_conn_table_count(t), 0);
	CHECK_EQ_INT(evicted, 0);

	/* Over the bound: the least recently touched goes first. */
	for (uint64_t i = 1; i <= 1000; i++)
		zt_conn_table_get(t, i, i, &created, on_evict, NULL);
	zt_conn_table_touch(t, zt_conn_table_lookup(t, 1), 5000);
	zt_conn_table_get(t, 5001, 5001, &created, on_evict, NULL);
	CHECK_EQ_INT(evicted, 1);
	CHECK(zt_conn_table_lookup(t, 1) != NULL);
	CHECK(zt_conn_table_lookup(t, 2) == NULL);
	CHECK_EQ_INT(zt_conn_table_count(t), 1000);
	zt_conn_table_free(t, NULL, NULL);
	return TEST_SUMMARY("test_conn");
}
