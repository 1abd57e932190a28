// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Open addressing with linear probing over a power-of-two index twice the
 * capacity, deletion by backward shift (no tombstones to pile up under
 * churn), and an intrusive LRU list for eviction. Records are allocated once
 * per connection, never per event.
 */
#include <stdlib.h>
#include <string.h>

#include "conn.h"

struct zt_conn_table {
	struct zt_conn **slots;
	uint32_t mask;  /* index size - 1 */
	uint32_t cap;   /* connections at most */
	uint32_t count;
	struct zt_conn *lru_head, *lru_tail;
};

static uint32_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (uint32_t)x;
}

struct zt_conn_table *zt_conn_table_new(uint32_t cap)
{
	struct zt_conn_table *t = calloc(1, sizeof(*t));
	uint32_t size = 16;

	if (!t)
		return NULL;
	if (cap < 1)
		cap = 1;
	while (size < cap * 2)
		size <<= 1;
	t->slots = calloc(size, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return NULL;
	}
	t->mask = size - 1;
	t->cap = cap;
	return t;
}

static void lru_unlink(struct zt_conn_table *t, struct zt_conn *c)
{
	if (c->lru_prev)
		c->lru_prev->lru_next = c->lru_next;
	else
		t->lru_head = c->lru_next;
	if (c->lru_next)
		c->lru_next->lru_prev = c->lru_prev;
	else
		t->lru_tail = c->lru_prev;
	c->lru_prev = c->lru_next = NULL;
}

static void lru_push_head(struct zt_conn_table *t, struct zt_conn *c)
{
	c->lru_prev = NULL;
	c->lru_next = t->lru_head;
	if (t->lru_head)
		t->lru_head->lru_prev = c;
	t->lru_head = c;
	if (!t->lru_tail)
		t->lru_tail = c;
}

static uint32_t find_slot(const struct zt_conn_table *t, uint64_t id)
{
	uint32_t i = hash64(id) & t->mask;

	while (t->slots[i] && t->slots[i]->id != id)
		i = (i + 1) & t->mask;
	return i;
}

struct zt_conn *zt_conn_table_lookup(struct zt_conn_table *t, uint64_t id)
{
	return t->slots[find_slot(t, id)];
}

void zt_conn_table_remove(struct zt_conn_table *t, struct zt_conn *c)
{
	uint32_t i = find_slot(t, c->id), j = i;

	if (t->slots[i] != c)
		return;
	lru_unlink(t, c);
	t->slots[i] = NULL;
	/* Backward-shift: move later members of the probe run into the hole. */
	for (;;) {
		j = (j + 1) & t->mask;
		if (!t->slots[j])
			break;
		uint32_t home = hash64(t->slots[j]->id) & t->mask;
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->slots[i] = t->slots[j];
			t->slots[j] = NULL;
			i = j;
		}
	}
	t->count--;
	free(c);
}

struct zt_conn *zt_conn_table_get(struct zt_conn_table *t, uint64_t id, uint64_t now_ns,
				  bool *created, void (*evict)(void *ctx, struct zt_conn *c),
				  void *ctx)
{
	uint32_t i = find_slot(t, id);
	struct zt_conn *c = t->slots[i];

	*created = false;
	if (c) {
		zt_conn_table_touch(t, c, now_ns);
		return c;
	}
	if (t->count >= t->cap && t->lru_tail) {
		struct zt_conn *old = t->lru_tail;

		if (evict)
			evict(ctx, old);
		zt_conn_table_remove(t, old);
		i = find_slot(t, id);
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->id = id;
	c->last_ns = now_ns;
	t->slots[i] = c;
	t->count++;
	lru_push_head(t, c);
	*created = true;
	return c;
}

void zt_conn_table_touch(struct zt_conn_table *t, struct zt_conn *c, uint64_t now_ns)
{
	c->last_ns = now_ns;
	if (t->lru_head != c) {
		lru_unlink(t, c);
		lru_push_head(t, c);
	}
}

uint32_t zt_conn_table_expire(struct zt_conn_table *t, uint64_t cutoff_ns,
			       bool (*expire)(void *ctx, struct zt_conn *c), void *ctx)
{
	struct zt_conn *c = t->lru_tail, *prev;
	uint32_t n = 0;

	/* Oldest first; the first one used since the cutoff ends the walk. */
	for (; c && c->last_ns < cutoff_ns; c = prev) {
		prev = c->lru_prev;
		if (expire(ctx, c)) {
			zt_conn_table_remove(t, c);
			n++;
		}
	}
	return n;
}

uint32_t zt_conn_table_count(const struct zt_conn_table *t)
{
	return t->count;
}

void zt_conn_table_free(struct zt_conn_table *t, void (*release)(void *ctx, struct zt_conn *c),
			void *ctx)
{
	if (!t)
		return;
	while (t->lru_head) {
		struct zt_conn *c = t->lru_head;

		if (release)
			release(ctx, c);
		zt_conn_table_remove(t, c);
	}
	free(t->slots);
	free(t);
}

void zt_conn_table_each(struct zt_conn_table *t, bool (*fn)(void *ctx, struct zt_conn *c),
			void *ctx)
{
	for (struct zt_conn *c = t->lru_head; c; c = c->lru_next)
		if (!fn(ctx, c))
			return;
}
