/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A finished trace as a tree: each span's self time (its duration minus the
 * union of its children's, clipped to it), the critical path, and the time
 * on it by container ("480 ms: 30 ms in ping, 10 ms in lb, 440 ms in pong").
 *
 * The critical path is walked back from the root's end: at each step the
 * child that ended last before the point reached holds the path from its end
 * (the parent's own time fills the gaps), then the walk goes on from that
 * child's start. Each span's share of the path (cp_ns) sums to the root's
 * duration. Arrays are sized by the trace (bounded by the linker's
 * max_held); nothing else is allocated.
 */
#ifndef ZT_TRACE_TREE_H
#define ZT_TRACE_TREE_H

#include <stdbool.h>
#include <stdint.h>

#include "../owners.h"
#include "link.h"

struct zt_tree_share {
	const char *container;
	const struct zt_owner *owner; /* of its first span on the path; NULL: unknown */
	uint64_t ns;
};

struct zt_tree {
	const struct zt_trace_out *t;
	uint64_t duration_ns;       /* the root's */
	uint64_t *self_ns;          /* by span */
	uint64_t *cp_ns;            /* by span: its share of the critical path */
	int *depth;                 /* by span: 0 for the root */
	bool *on_cp;                /* by span */
	int *cp;                    /* span indexes on the path, in walk order */
	int ncp;
	struct zt_tree_share *by;   /* containers on the path, first seen first */
	int nby;
};

/* Returns 0, or -ENOMEM. */
int zt_tree_analyse(struct zt_tree *tr, const struct zt_trace_out *t);
void zt_tree_free(struct zt_tree *tr);
/* "480 ms: 30 ms in ping, 10 ms in lb, 440 ms in pong", or when the
 * container with the largest share has an owner with a pager or a team,
 * "page team-pong: 440 ms of 480 ms in pong"; returns the length. */
int zt_tree_verdict(const struct zt_tree *tr, char *buf, int size);
/* Milliseconds, as many digits as matter: "480", "12.5", "0.31". */
int zt_tree_ms(uint64_t ns, char *buf, int size);

#endif
