/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The FIFO every request/response parser keeps of requests awaiting their
 * response: a ring of fixed-size entries that costs no allocation while one
 * request at a time waits (the common case: the owner's inline entry is the
 * ring) and doubles (1 -> 4 -> 8 ... -> max) only for pipelining clients.
 */
#ifndef ZT_PROTO_RING_H
#define ZT_PROTO_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zt_ring {
	void *heap;      /* cap entries, once more than one waits */
	uint32_t head;   /* index of the oldest entry in heap */
	uint32_t count;
	uint32_t cap;    /* 1 while the owner's inline entry is the ring */
};

/* An empty ring (also what zt_ring_free leaves). */
void zt_ring_reset(struct zt_ring *r);
void zt_ring_free(struct zt_ring *r);

/* The i-th oldest entry; `one` is the owner's inline entry. */
static inline void *zt_ring_at(const struct zt_ring *r, void *one, size_t size, uint32_t i)
{
	if (!r->heap)
		return one;
	return (char *)r->heap + ((r->head + i) & (r->cap - 1)) * size;
}

/* Drops the oldest entry (the ring must not be empty). */
void zt_ring_pop(struct zt_ring *r);

/* Doubles the ring for one more entry; false at `max` entries (a power of
 * two) or out of memory. */
bool zt_ring_grow(struct zt_ring *r, void *one, size_t size, uint32_t max);

/*
 * A zeroed entry at the tail. When the ring is full and cannot grow, the
 * oldest is dropped first and *dropped set (the caller counts it).
 */
void *zt_ring_push(struct zt_ring *r, void *one, size_t size, uint32_t max, bool *dropped);

#endif
