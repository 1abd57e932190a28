// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The linker under libFuzzer: any sequence of spans, connections, open
 * requests and clock ticks, including ones no kernel would report (a span
 * pairing with itself, a process calling itself, times that do not nest).
 * The input is a sequence of 8-byte operations:
 *
 *   byte 0   op: 0-3 add a span, 4 expire, 5 connection add/del, 6 server
 *            request open/close, 7 flush
 *   byte 1   kind (bit 0), has_tuple (bit 1), peer_traced (bit 2), header
 *            (bit 3), local (bits 4-6)
 *   byte 2   connection id (0-7), byte 3 order (0-3) and parent order
 *   byte 4   tuple (0-3: few, so ends meet), byte 5 parent connection
 *   byte 6-7 start and length (ms)
 *
 * Invariants: every span added comes out exactly once (after a flush), a
 * child's trace id is its root's, nothing held after the flush; no hang
 * (cycles), no leak, no sanitizer report; bounded by max_held = 6.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trace/link.h"

static uint64_t added, emitted;

static void on_span(void *ctx, struct zt_span *s)
{
	(void)ctx;
	emitted++;
	if (s->has_parent && s->no_parent && strcmp(s->no_parent, "mismatch"))
		abort();
}

static void on_trace(void *ctx, const struct zt_trace_out *t)
{
	(void)ctx;
	if (t->n < 1 || t->parent[0] != -1)
		abort();
	for (int i = 1; i < t->n; i++)
		if (t->parent[i] < 0 || t->parent[i] >= i ||
		    memcmp(t->spans[i]->trace_id, t->spans[0]->trace_id, 16) ||
		    memcmp(t->spans[i]->parent_span_id, t->spans[t->parent[i]]->span_id, 8))
			abort();
}

static void make_tuple(struct zt_link_tuple *t, uint8_t which, bool server)
{
	uint8_t a[16] = { 10, 0, 0, (uint8_t)(2 + (which & 1)) }, b[16] = { 127, 0, 0, 1 };

	if (which & 2)
		zt_link_tuple_make(t, 2, server ? b : a, server ? 80 : 4000, server ? a : b,
				   server ? 4000 : 80, server, 7);
	else
		zt_link_tuple_make(t, 2, server ? b + 0 : a, server ? 80 : 5000, server ? a : b,
				   server ? 5000 : 80, server, which);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zt_link_opts o = { .wait_ns = 50, .max_held = 6, .on_span = on_span, .on_trace = on_trace };
	struct zt_linker *lk = zt_linker_new(&o);
	uint64_t now = 0, id = 0;

	if (!lk)
		return 0;
	added = emitted = 0;
	for (size_t i = 0; i + 8 <= size; i += 8) {
		const uint8_t *p = data + i;
		struct zt_link_tuple t;

		now += p[6] & 15;
		switch (p[0] & 7) {
		case 0: case 1: case 2: case 3: {
			struct zt_span s = { 0 };
			struct zt_link_info li = { 0 };

			s.kind = (p[1] & 1) ? ZT_SPAN_CLIENT : ZT_SPAN_SERVER;
			s.protocol = "http";
			s.container = "c";
			s.start_ns = (uint64_t)p[6] * 1000000;
			s.duration_ns = (uint64_t)p[7] * 1000000;
			id++;
			memcpy(s.span_id, &id, 8);
			memcpy(s.trace_id, &id, 8);
			s.has_parent = p[1] & 8;
			li.conn_id = p[2] & 7;
			li.seq = p[3] & 3;
			li.has_tuple = p[1] & 2;
			li.peer_traced = p[1] & 4;
			li.local = (p[1] >> 4) % 5;
			li.parent_conn = p[5] & 7;
			li.parent_seq = (p[3] >> 2) & 3;
			if (li.has_tuple) {
				make_tuple(&li.tuple, p[4] & 3, s.kind == ZT_SPAN_SERVER);
				li.ord = li.seq;
			}
			zt_linker_add(lk, &s, &li, now);
			added++;
			break;
		}
		case 4:
			zt_linker_expire(lk, now);
			break;
		case 5:
			make_tuple(&t, p[4] & 3, p[1] & 1);
			if (p[1] & 2)
				zt_linker_conn_add(lk, &t, p[1] & 1);
			else
				zt_linker_conn_del(lk, &t, p[1] & 1);
			break;
		case 6:
			if (p[1] & 1)
				zt_linker_srv_open(lk, p[2] & 3, p[3] & 3, p[5] & 7);
			else
				zt_linker_srv_close(lk, p[2] & 3, p[3] & 3, p[5] & 7);
			{
				uint64_t c;

				zt_linker_local(lk, p[2] & 3, p[3] & 3, &c);
			}
			break;
		default:
			zt_linker_flush(lk);
			break;
		}
		if (zt_linker_stats(lk)->held > 6)
			abort();
	}
	zt_linker_flush(lk);
	if (emitted != added || zt_linker_stats(lk)->held)
		abort();
	zt_linker_free(lk);
	return 0;
}
