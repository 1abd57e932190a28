// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>

#include "ring.h"

void zt_ring_reset(struct zt_ring *r)
{
	r->heap = NULL;
	r->head = r->count = 0;
	r->cap = 1;
}

void zt_ring_free(struct zt_ring *r)
{
	free(r->heap);
	zt_ring_reset(r);
}

void zt_ring_pop(struct zt_ring *r)
{
	r->head = (r->head + 1) & (r->cap - 1);
	r->count--;
}

bool zt_ring_grow(struct zt_ring *r, void *one, size_t size, uint32_t max)
{
	uint32_t cap = r->cap == 1 ? 4 : r->cap * 2u;
	char *q;

	if (cap > max)
		return false;
	q = malloc(cap * size);
	if (!q)
		return false;
	for (uint32_t i = 0; i < r->count; i++)
		memcpy(q + i * size, zt_ring_at(r, one, size, i), size);
	free(r->heap);
	r->heap = q;
	r->head = 0;
	r->cap = cap;
	return true;
}

void *zt_ring_push(struct zt_ring *r, void *one, size_t size, uint32_t max, bool *dropped)
{
	void *e;

	*dropped = false;
	if (r->count == r->cap && !zt_ring_grow(r, one, size, max)) {
		zt_ring_pop(r);
		*dropped = true;
	}
	e = zt_ring_at(r, one, size, r->count++);
	memset(e, 0, size);
	return e;
}
