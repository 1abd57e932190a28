// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The tracer under libFuzzer: whatever a ring buffer could hold, in any
 * order. The input is a sequence of records, each a 4-byte head and a body:
 *
 *   byte 0   kind: 0 conn, 1 data, 2 close, 3 exec, 4 raw bytes as a record
 *   byte 1   bits 0-2 connection id (0-7: few, so records meet on the same
 *            ones); bits 3-7 the scheduler and TCP figures of a data
 *            record (thread, counters that may run backwards or wrap) and
 *            a conn record's origin and connect phase
 *   byte 2   data: bit 0 direction, bits 1-3 ZT_DF_* flags, bits 4-7
 *            uncaptured bytes after the capture (x 97)
 *   byte 3   body length (cut to what is left)
 *
 * so TLS plaintext, ciphertext, gaps, closes and evictions (the table holds
 * 4) interleave. No crash, leak or sanitizer report; spans stay well-formed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tracer.h"

static void on_span(void *ctx, struct zt_span *s)
{
	(void)ctx;
	if (!memchr(s->method, '\0', sizeof(s->method)) || !memchr(s->target, '\0', sizeof(s->target)) ||
	    !memchr(s->error, '\0', sizeof(s->error)) || !s->protocol)
		abort();
	if (s->kind != ZT_SPAN_SERVER && s->kind != ZT_SPAN_CLIENT)
		abort();
	/* Names are read where the span goes out: ASan sees a freed one. */
	if (!s->cgroup || !s->container || strlen(s->cgroup) + strlen(s->container) == 0)
		abort();
	/* Whatever the counters said, the parts add up to the span. */
	if (s->bd.has && s->bd.cpu_ns + s->bd.runq_ns + s->bd.deps_ns + s->bd.net_ns + s->bd.io_ns !=
			      s->duration_ns)
		abort();
}

static void on_exec(void *ctx, uint32_t pid, bool forked)
{
	(void)ctx;
	(void)pid;
	(void)forked;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A cgroup root that does not exist: names come only from cgroup
	 * records, and the others' ids stay "?". */
	struct zt_tracer_opts o = { .max_conns = 4, .on_span = on_span, .on_exec = on_exec,
				    .cgroup_root = "/nonexistent/ztrace-fuzz" };
	struct zt_tracer *tr = zt_tracer_new(&o);
	uint64_t ts = 1, off[8][2] = { { 0 } };
	uint8_t rec[sizeof(struct zt_data_event) + 256];

	if (!tr)
		return 0;
	while (size >= 4) {
		uint8_t kind = data[0] % 6, id = data[1] & 7, bits = data[2], hi = data[1] >> 3;
		size_t n = data[3];

		data += 4;
		size -= 4;
		if (n > size)
			n = size;
		ts += 1000;
		memset(rec, 0, sizeof(rec));
		struct zt_event_hdr *h = (struct zt_event_hdr *)rec;

		h->ts_ns = ts;
		h->conn_id = id + 1;
		switch (kind) {
		case 0: {
			struct zt_conn_event *e = (struct zt_conn_event *)rec;

			h->type = ZT_EV_CONN;
			e->family = (bits & 1) ? 10 : 2;
			e->role = bits % 3;
			e->origin = hi & 3;
			e->connect_ns = (uint64_t)hi << 60 | ts;
			memcpy(e->saddr, data, n < 16 ? n : 16);
			zt_tracer_on_record(tr, rec, sizeof(*e));
			break;
		}
		case 1: {
			struct zt_data_event *e = (struct zt_data_event *)rec;
			uint8_t dir = bits & 1;

			h->type = ZT_EV_DATA;
			e->dir = dir;
			e->flags = (bits >> 1) & 7;
			e->cap = n;
			e->len = n + (bits >> 4) * 97;
			/* Counters that grow with time, or (hi & 8) jump about. */
			e->flags |= (hi & 3) << 3;
			e->tid = hi & 4 ? 2 : 1;
			e->cpu_ns = hi & 8 ? (uint64_t)hi << 59 : ts / 3;
			e->runq_ns = hi & 16 ? ~0ULL - ts : ts / 5;
			e->srtt_us = hi * 1000;
			e->retrans = hi & 16 ? 0xffffffffu - hi : hi;
			e->offset = off[id][dir];
			off[id][dir] += e->len;
			memcpy(e + 1, data, n);
			zt_tracer_on_record(tr, rec, sizeof(*e) + n);
			break;
		}
		case 2:
			h->type = ZT_EV_CLOSE;
			zt_tracer_on_record(tr, rec, sizeof(struct zt_close_event));
			off[id][0] = off[id][1] = 0;
			break;
		case 3:
			h->type = ZT_EV_EXEC;
			zt_tracer_on_record(tr, rec, sizeof(struct zt_exec_event));
			break;
		case 4: {
			struct zt_cgroup_event *e = (struct zt_cgroup_event *)rec;

			/* Unterminated paths too: the tracer must not trust the NUL. */
			h->type = ZT_EV_CGROUP;
			h->conn_id = 0;
			e->cgroup_id = bits;
			memcpy(e->path, data, n < sizeof(e->path) ? n : sizeof(e->path));
			zt_tracer_on_record(tr, rec, sizeof(*e));
			break;
		}
		default:
			memcpy(rec, data, n);
			zt_tracer_on_record(tr, rec, n);
			break;
		}
		data += n;
		size -= n;
	}
	zt_tracer_free(tr);
	return 0;
}
