// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>

#include "breakdown.h"
#include "ztrace.h"

void zt_ivset_add(struct zt_ivset *s, uint64_t lo, uint64_t hi)
{
	int i = 0, j;

	if (hi <= lo)
		return;
	if (s->n < 0 || s->n > ZT_IVSET_MAX)
		s->n = 0;
	/* First interval ending at or after lo; it and those after that
	 * start at or before hi overlap [lo, hi] and merge into it. */
	while (i < s->n && s->hi[i] < lo)
		i++;
	j = i;
	while (j < s->n && s->lo[j] <= hi) {
		if (s->lo[j] < lo)
			lo = s->lo[j];
		if (s->hi[j] > hi)
			hi = s->hi[j];
		j++;
	}
	if (j > i) {
		/* [i, j) become one, at i. */
		s->lo[i] = lo;
		s->hi[i] = hi;
		memmove(&s->lo[i + 1], &s->lo[j], (s->n - j) * sizeof(s->lo[0]));
		memmove(&s->hi[i + 1], &s->hi[j], (s->n - j) * sizeof(s->hi[0]));
		s->n -= j - i - 1;
		return;
	}
	if (s->n == ZT_IVSET_MAX) {
		/* Full: join the nearest neighbour, the gap counted as covered. */
		s->joined++;
		if (i == s->n || (i > 0 && lo - s->hi[i - 1] <= s->lo[i] - hi)) {
			if (hi > s->hi[i - 1])
				s->hi[i - 1] = hi;
		} else if (lo < s->lo[i]) {
			s->lo[i] = lo;
		}
		return;
	}
	memmove(&s->lo[i + 1], &s->lo[i], (s->n - i) * sizeof(s->lo[0]));
	memmove(&s->hi[i + 1], &s->hi[i], (s->n - i) * sizeof(s->hi[0]));
	s->lo[i] = lo;
	s->hi[i] = hi;
	s->n++;
}

uint64_t zt_ivset_covered(const struct zt_ivset *s, uint64_t lo, uint64_t hi)
{
	uint64_t sum = 0;

	for (int i = 0; i < s->n && i < ZT_IVSET_MAX; i++) {
		uint64_t a = s->lo[i] > lo ? s->lo[i] : lo, b = s->hi[i] < hi ? s->hi[i] : hi;

		if (b > a)
			sum += b - a;
	}
	return sum;
}

/* Both records of the same thread, with scheduler counters that only grow:
 * anything else (a hostile or reordered record) is no measurement. */
static bool sched_pair(const struct zt_stamp *a, const struct zt_stamp *b)
{
	return a->ts && b->ts && (a->flags & ZT_DF_SCHED) && (b->flags & ZT_DF_SCHED) &&
	       a->tid == b->tid && b->ts >= a->ts && b->cpu_ns >= a->cpu_ns &&
	       b->runq_ns >= a->runq_ns;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Time blocked within [a, b] (the window the bytes took to move): the
 * window less the thread's cpu and run-queue time in it, when known. */
static uint64_t window_blocked(uint64_t first_ns, uint64_t last_ns, const struct zt_stamp *a,
			       const struct zt_stamp *b)
{
	uint64_t w = last_ns > first_ns ? last_ns - first_ns : 0, busy;

	if (!w || !sched_pair(a, b))
		return w;
	busy = (b->cpu_ns - a->cpu_ns) + (b->runq_ns - a->runq_ns);
	return busy < w ? w - busy : 0;
}

void zt_breakdown_compute(const struct zt_bd_input *in, uint64_t dur_ns, struct zt_span_bd *out)
{
	const struct zt_stamp *first = &in->req_first, *last = &in->resp_last;
	uint64_t rest = dur_ns, net;

	memset(out, 0, sizeof(*out));
	out->has = true;
	if (sched_pair(first, last)) {
		out->sched = ZT_BD_SCHED_OK;
		out->cpu_ns = min_u64(last->cpu_ns - first->cpu_ns, rest);
		rest -= out->cpu_ns;
		out->runq_ns = min_u64(last->runq_ns - first->runq_ns, rest);
		rest -= out->runq_ns;
	} else if (first->ts && last->ts && (first->flags & last->flags & ZT_DF_SCHED) &&
		   first->tid != last->tid) {
		out->sched = ZT_BD_SCHED_HANDOFF;
	} else {
		out->sched = ZT_BD_SCHED_NONE;
	}
	out->deps_ns = min_u64(in->deps_ns, rest);
	rest -= out->deps_ns;
	out->recv_ns = in->req_last_ns > in->req_first_ns ? in->req_last_ns - in->req_first_ns : 0;
	out->send_ns = in->resp_last_ns > in->resp_first_ns ? in->resp_last_ns - in->resp_first_ns : 0;
	net = window_blocked(in->req_first_ns, in->req_last_ns, &in->req_first, &in->req_last) +
	      window_blocked(in->resp_first_ns, in->resp_last_ns, &in->resp_first, &in->resp_last);
	out->net_ns = min_u64(net, rest);
	rest -= out->net_ns;
	out->io_ns = rest;
	if (last->ts && (last->flags & ZT_DF_TCPINFO)) {
		out->has_net = true;
		out->srtt_us = last->srtt_us;
		if (first->ts && (first->flags & ZT_DF_TCPINFO) && last->retrans >= first->retrans)
			out->retrans = last->retrans - first->retrans;
	}
}

const char *zt_breakdown_cause(const struct zt_span_bd *b)
{
	static const char *const names[] = { "cpu", "runq", "deps", "net", "io" };
	uint64_t v[5];
	int best = -1;

	if (!b->has)
		return NULL;
	v[0] = b->cpu_ns;
	v[1] = b->runq_ns;
	v[2] = b->deps_ns;
	v[3] = b->net_ns;
	v[4] = b->io_ns;
	for (int i = 0; i < 5; i++)
		if (v[i] && (best < 0 || v[i] > v[best]))
			best = i;
	/* Without scheduler figures the rest mixes cpu, runq and io: no word
	 * for it. */
	if (best < 0 || (best == 4 && b->sched != ZT_BD_SCHED_OK))
		return NULL;
	return names[best];
}

void zt_phases_compute(uint64_t req_last_ns, uint64_t resp_first_ns, uint64_t resp_last_ns,
		       uint64_t connect_ns, struct zt_phases *out)
{
	memset(out, 0, sizeof(*out));
	if (!resp_first_ns || !resp_last_ns)
		return;
	out->has = true;
	out->has_connect = connect_ns != 0;
	out->connect_ns = connect_ns;
	out->ttfb_ns = resp_first_ns > req_last_ns ? resp_first_ns - req_last_ns : 0;
	out->download_ns = resp_last_ns > resp_first_ns ? resp_last_ns - resp_first_ns : 0;
}
