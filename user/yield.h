/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * When the drain gives its CPU away. A drain runs on a CPU an application
 * may want, and the scheduler seldom preempts it when the application wakes
 * there: a request arriving then waits for the whole batch (at 10k
 * requests/s, ~200 records every 10 ms, +60 to +90 us at p99 here). Every
 * ZT_YIELD_RECORDS records (~30 us of work) the drain lets whatever is
 * runnable on its CPU go first; sched_yield() returns at once when nothing
 * is. Measured at 10k requests/s: the p99 added fell to within the noise of
 * the untraced rounds (polling more often instead cut it as far, but cost
 * ~20% more CPU per span in wakeups).
 *
 * Not in a backlog, where ztrace keeps up first: not in a drain after one
 * of more than ZT_YIELD_MAX_BATCH records (at saturation every yield let
 * nginx and wrk run sooner, in smaller batches, +1-2 us of their CPU per
 * request for no throughput), and not past that many records within a
 * drain: one that began small under load and yielded on, each yield a wait
 * behind the applications while the ring filled, never ended until the
 * ring was full (test_wrk dropped a ring's worth of records).
 */
#ifndef ZT_YIELD_H
#define ZT_YIELD_H

#include <stdbool.h>

#define ZT_YIELD_RECORDS 64
#define ZT_YIELD_MAX_BATCH 512

struct zt_yield {
	unsigned records; /* in this drain */
	unsigned since;   /* since the last yield */
	bool on;          /* this drain may yield */
};

/* A drain begins. */
static inline void zt_yield_drain(struct zt_yield *y)
{
	y->on = y->records <= ZT_YIELD_MAX_BATCH;
	y->records = 0;
}

/* A record was read: should the drain yield now? */
static inline bool zt_yield_record(struct zt_yield *y)
{
	y->records++;
	if (!y->on || y->records > ZT_YIELD_MAX_BATCH || ++y->since < ZT_YIELD_RECORDS)
		return false;
	y->since = 0;
	return true;
}

#endif
