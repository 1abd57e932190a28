// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree.h"

static uint64_t t_start(const struct zt_tree *tr, int i)
{
	return tr->t->spans[i]->start_ns;
}

static uint64_t t_end(const struct zt_tree *tr, int i)
{
	return tr->t->spans[i]->start_ns + tr->t->spans[i]->duration_ns;
}

struct iv {
	uint64_t a, b;
};

static int iv_cmp(const void *x, const void *y)
{
	const struct iv *p = x, *q = y;

	return p->a < q->a ? -1 : p->a > q->a;
}

/* Duration minus the union of the children's intervals, clipped to it. */
static uint64_t self_time(const struct zt_tree *tr, int i, struct iv *tmp)
{
	uint64_t s = t_start(tr, i), e = t_end(tr, i), covered = 0, cur = s;
	int k = 0;

	for (int j = i + 1; j < tr->t->n; j++) {
		if (tr->t->parent[j] != i)
			continue;
		tmp[k].a = t_start(tr, j) < s ? s : t_start(tr, j);
		tmp[k].b = t_end(tr, j) > e ? e : t_end(tr, j);
		if (tmp[k].b > tmp[k].a)
			k++;
	}
	qsort(tmp, k, sizeof(*tmp), iv_cmp);
	for (int j = 0; j < k; j++) {
		uint64_t a = tmp[j].a > cur ? tmp[j].a : cur;

		if (tmp[j].b > a) {
			covered += tmp[j].b - a;
			cur = tmp[j].b;
		}
	}
	return e - s - covered;
}

/* Span i's share of the path within [from, until]: a child's times are
 * clipped to its parent's, so the shares sum to the root's duration. */
static void cp_walk(struct zt_tree *tr, int i, uint64_t from, uint64_t until)
{
	uint64_t s = t_start(tr, i) > from ? t_start(tr, i) : from;
	uint64_t cur = t_end(tr, i) < until ? t_end(tr, i) : until;

	tr->on_cp[i] = true;
	tr->cp[tr->ncp++] = i;
	while (cur > s) {
		int best = -1;
		uint64_t best_end = 0;

		/* The child that ended last among those begun before cur. */
		for (int j = i + 1; j < tr->t->n; j++) {
			uint64_t e;

			if (tr->t->parent[j] != i || t_start(tr, j) >= cur || tr->on_cp[j])
				continue;
			e = t_end(tr, j) < cur ? t_end(tr, j) : cur;
			if (best < 0 || e > best_end)
				best = j, best_end = e;
		}
		if (best < 0) {
			tr->cp_ns[i] += cur - s;
			break;
		}
		tr->cp_ns[i] += cur - best_end;
		cp_walk(tr, best, s, best_end);
		cur = t_start(tr, best) > s ? t_start(tr, best) : s;
	}
}

int zt_tree_analyse(struct zt_tree *tr, const struct zt_trace_out *t)
{
	int n = t->n;
	struct iv *tmp;

	memset(tr, 0, sizeof(*tr));
	tr->t = t;
	if (n <= 0)
		return 0;
	tr->self_ns = calloc(n, sizeof(*tr->self_ns));
	tr->cp_ns = calloc(n, sizeof(*tr->cp_ns));
	tr->depth = calloc(n, sizeof(*tr->depth));
	tr->on_cp = calloc(n, sizeof(*tr->on_cp));
	tr->cp = calloc(n, sizeof(*tr->cp));
	tr->by = calloc(n, sizeof(*tr->by));
	tmp = calloc(n, sizeof(*tmp));
	if (!tr->self_ns || !tr->cp_ns || !tr->depth || !tr->on_cp || !tr->cp || !tr->by || !tmp) {
		free(tmp);
		zt_tree_free(tr);
		return -ENOMEM;
	}
	tr->duration_ns = t->spans[0]->duration_ns;
	for (int i = 0; i < n; i++) {
		/* Parents come before their children (depth first). */
		tr->depth[i] = t->parent[i] >= 0 && t->parent[i] < i ? tr->depth[t->parent[i]] + 1 : 0;
		tr->self_ns[i] = self_time(tr, i, tmp);
	}
	free(tmp);
	cp_walk(tr, 0, t_start(tr, 0), t_end(tr, 0));
	for (int k = 0; k < tr->ncp; k++) {
		int i = tr->cp[k], b;
		const char *c = t->spans[i]->container ? t->spans[i]->container : "?";

		for (b = 0; b < tr->nby && strcmp(tr->by[b].container, c); b++)
			;
		if (b == tr->nby) {
			tr->by[tr->nby].owner = t->spans[i]->owner;
			tr->by[tr->nby++].container = c;
		}
		tr->by[b].ns += tr->cp_ns[i];
	}
	return 0;
}

void zt_tree_free(struct zt_tree *tr)
{
	free(tr->self_ns);
	free(tr->cp_ns);
	free(tr->depth);
	free(tr->on_cp);
	free(tr->cp);
	free(tr->by);
	memset(tr, 0, sizeof(*tr));
}

int zt_tree_ms(uint64_t ns, char *buf, int size)
{
	double ms = ns / 1e6;

	if (ms >= 10 || ns == 0)
		return snprintf(buf, size, "%.0f", ms);
	return snprintf(buf, size, ms >= 1 ? "%.1f" : "%.2f", ms);
}

int zt_tree_verdict(const struct zt_tree *tr, char *buf, int size)
{
	char ms[32], total[32];
	const char *page;
	int off, top = -1;

	zt_tree_ms(tr->duration_ns, total, sizeof(total));
	for (int b = 0; b < tr->nby; b++)
		if (top < 0 || tr->by[b].ns > tr->by[top].ns)
			top = b;
	/* Whom to call about the slowest segment, when someone is known. */
	if (top >= 0 && (page = zt_owner_page_target(tr->by[top].owner))) {
		zt_tree_ms(tr->by[top].ns, ms, sizeof(ms));
		off = snprintf(buf, size, "page %s: %s ms of %s ms in %s", page, ms, total,
			       tr->by[top].container);
		return off >= size ? size - 1 : off;
	}
	off = snprintf(buf, size, "%s ms:", total);
	for (int b = 0; b < tr->nby && off < size; b++) {
		zt_tree_ms(tr->by[b].ns, ms, sizeof(ms));
		off += snprintf(buf + off, size - off, "%s %s ms in %s", b ? "," : "", ms,
				tr->by[b].container);
	}
	if (off >= size)
		off = size - 1;
	return off;
}
