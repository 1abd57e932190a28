// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "conn.h"
#include "tracer.h"

struct zt_tracer {
	struct zt_tracer_opts opts;
	struct zt_conn_table *conns;
	struct zt_cgroup_names *names;
	struct zt_tracer_stats st;
	struct zt_span span; /* reused: no allocation per span */
};

struct emit_ctx {
	struct zt_tracer *tr;
	struct zt_conn *conn;
};

static void emit_http1(void *ctx, const struct http1_txn *t)
{
	struct emit_ctx *e = ctx;
	struct zt_tracer *tr = e->tr;
	struct zt_span *s = &tr->span;

	if (!zt_span_from_http1(s, e->conn, t, tr->opts.mono_to_unix))
		tr->st.traceparent_bad++;
	s->cgroup = "?";
	s->container = "?";
	if (tr->names)
		zt_cgroup_names_get(tr->names, s->cgroup_id, &s->cgroup, &s->container);
	tr->st.spans++;
	if (tr->opts.on_span)
		tr->opts.on_span(tr->opts.ctx, s);
}

/* A connection leaves the table: what it still owes is settled first. */
static void conn_release(void *ctx, struct zt_conn *c, uint64_t ts, bool closed)
{
	struct zt_tracer *tr = ctx;
	struct emit_ctx e = { tr, c };

	if (closed && c->tls_raw && !c->tls) {
		tr->st.tls_opaque++;
		c->tls_raw = false;
	}
	if (!c->proto)
		return;
	if (closed)
		http1_conn_close(c->proto, ts, emit_http1, &e, &tr->st.http1);
	http1_conn_free(c->proto);
	free(c->proto);
	c->proto = NULL;
}

static void conn_evict(void *ctx, struct zt_conn *c)
{
	struct zt_tracer *tr = ctx;

	tr->st.conn_evicted++;
	conn_release(tr, c, c->last_ns, true);
}

static void conn_exit(void *ctx, struct zt_conn *c)
{
	struct zt_tracer *tr = ctx;

	tr->st.open_at_exit++;
	conn_release(tr, c, 0, false);
}

struct zt_tracer *zt_tracer_new(const struct zt_tracer_opts *opts)
{
	struct zt_tracer *tr = calloc(1, sizeof(*tr));

	if (!tr)
		return NULL;
	tr->opts = *opts;
	tr->conns = zt_conn_table_new(opts->max_conns ? opts->max_conns : 65536);
	if (opts->cgroup_root)
		tr->names = zt_cgroup_names_new(opts->cgroup_root);
	if (!tr->conns || (opts->cgroup_root && !tr->names)) {
		zt_tracer_free(tr);
		return NULL;
	}
	return tr;
}

void zt_tracer_free(struct zt_tracer *tr)
{
	if (!tr)
		return;
	zt_conn_table_free(tr->conns, conn_exit, tr);
	zt_cgroup_names_free(tr->names);
	free(tr);
}

static struct zt_conn *conn_get(struct zt_tracer *tr, uint64_t id, uint64_t ts)
{
	bool created;
	struct zt_conn *c = zt_conn_table_get(tr->conns, id, ts, &created, conn_evict, tr);

	if (!c) {
		tr->st.alloc_fail++;
		return NULL;
	}
	return c;
}

static void on_conn(struct zt_tracer *tr, const struct zt_conn_event *e)
{
	struct zt_conn *c = conn_get(tr, e->hdr.conn_id, e->hdr.ts_ns);

	if (!c)
		return;
	memcpy(c->saddr, e->saddr, sizeof(c->saddr));
	memcpy(c->daddr, e->daddr, sizeof(c->daddr));
	c->sport = e->sport;
	c->dport = e->dport;
	c->family = e->family;
	c->netns = e->netns;
	c->role = e->role;
	c->cgroup_id = e->cgroup_id;
	c->known = true;
}

/* A TLS record header: content type 20-23, version 3.x. No HTTP/1 message
 * starts with these bytes. */
static bool looks_like_tls(const struct zt_data_event *e)
{
	const uint8_t *p = (const uint8_t *)(e + 1);

	return e->cap >= 3 && p[0] >= 0x14 && p[0] <= 0x17 && p[1] == 3 && p[2] <= 4;
}

/*
 * Which bytes of a connection the parser gets: on a TLS connection, the
 * library's plaintext only. The socket's own bytes (the handshake, before
 * the first library call ties the socket to its SSL object) are ciphertext.
 * Returns false for a record to skip.
 */
static bool tls_route(struct zt_tracer *tr, struct zt_conn *c, const struct zt_data_event *e)
{
	if (e->flags & ZT_DF_TLS) {
		if (!c->tls) {
			/* Plaintext offsets start afresh; whatever the
			 * parser saw of the socket was not plaintext. */
			c->tls = true;
			c->tls_raw = false;
			c->off_known = 0;
			tr->st.tls_conns++;
			conn_release(tr, c, 0, false);
		}
		return true;
	}
	if (c->tls || c->tls_raw)
		return false;
	if (!c->proto && looks_like_tls(e)) {
		c->tls_raw = true;
		return false;
	}
	return true;
}

static void on_data(struct zt_tracer *tr, const struct zt_data_event *e, size_t size)
{
	struct zt_conn *c;
	struct emit_ctx ectx;
	enum http1_dir dir;
	int ret = 0;

	if (sizeof(*e) + e->cap > size || e->cap > e->len || e->dir > ZT_DIR_OUT) {
		tr->st.bad_records++;
		return;
	}
	c = zt_conn_table_lookup(tr->conns, e->hdr.conn_id);
	if (c) {
		zt_conn_table_touch(tr->conns, c, e->hdr.ts_ns);
	} else {
		/* Its conn record was evicted: keep going without a tuple. */
		tr->st.conn_untracked++;
		c = conn_get(tr, e->hdr.conn_id, e->hdr.ts_ns);
		if (!c)
			return;
	}
	if (c->ignored || !tls_route(tr, c, e))
		return;
	c->pid = e->pid;
	c->tid = e->tid;
	c->cgroup_id = e->cgroup_id;
	memcpy(c->comm, e->comm, sizeof(c->comm));
	c->comm[sizeof(c->comm) - 1] = '\0';
	if (!c->proto) {
		c->proto = malloc(http1_conn_size());
		if (!c->proto) {
			tr->st.alloc_fail++;
			return;
		}
		http1_conn_init(c->proto);
	}
	ectx.tr = tr;
	ectx.conn = c;
	dir = e->dir == ZT_DIR_IN ? HTTP1_IN : HTTP1_OUT;
	/* Records lost in the ring leave a hole in the stream: to the parser
	 * that is bytes it could not see, exactly like an uncaptured tail. */
	if ((c->off_known & (1u << e->dir)) && e->offset > c->next_off[e->dir]) {
		uint64_t gap = e->offset - c->next_off[e->dir];

		tr->st.gaps++;
		tr->st.gap_bytes += gap;
		while (gap && ret != -EPROTO) {
			uint32_t n = gap > UINT32_MAX ? UINT32_MAX : (uint32_t)gap;

			ret = http1_conn_feed(c->proto, dir, e->hdr.ts_ns, NULL, 0, n, NULL, 0, emit_http1,
					      &ectx, &tr->st.http1);
			gap -= n;
		}
	}
	c->next_off[e->dir] = e->offset + e->len;
	c->off_known |= 1u << e->dir;
	if (ret != -EPROTO)
		ret = http1_conn_feed(c->proto, dir, e->hdr.ts_ns, (const uint8_t *)(e + 1),
				      e->cap, e->len, e->tail, e->tail_len, emit_http1, &ectx, &tr->st.http1);
	if (ret == -EPROTO) {
		tr->st.not_http++;
		c->ignored = true;
		conn_release(tr, c, 0, false);
	}
}

static void on_close(struct zt_tracer *tr, const struct zt_close_event *e)
{
	struct zt_conn *c = zt_conn_table_lookup(tr->conns, e->hdr.conn_id);

	if (!c)
		return;
	conn_release(tr, c, e->hdr.ts_ns, true);
	zt_conn_table_remove(tr->conns, c);
}

int zt_tracer_on_record(struct zt_tracer *tr, const void *data, size_t size)
{
	const struct zt_event_hdr *h = data;

	if (size < sizeof(*h) || h->type == 0 || h->type >= ZT_EV_TYPES) {
		tr->st.bad_records++;
		return 0;
	}
	tr->st.records[h->type]++;
	switch (h->type) {
	case ZT_EV_CONN:
		if (size < sizeof(struct zt_conn_event))
			break;
		on_conn(tr, data);
		return 0;
	case ZT_EV_DATA:
		if (size < sizeof(struct zt_data_event))
			break;
		on_data(tr, data, size);
		return 0;
	case ZT_EV_CLOSE:
		on_close(tr, data);
		return 0;
	case ZT_EV_EXEC:
		if (size < sizeof(struct zt_exec_event))
			break;
		if (tr->opts.on_exec) {
			const struct zt_exec_event *x = data;

			tr->opts.on_exec(tr->opts.exec_ctx, x->pid, x->forked);
		}
		return 0;
	}
	tr->st.bad_records++;
	return 0;
}

const struct zt_tracer_stats *zt_tracer_stats(const struct zt_tracer *tr)
{
	return &tr->st;
}

void zt_tracer_tick(struct zt_tracer *tr)
{
	if (tr->names)
		zt_cgroup_names_prune(tr->names);
}

uint32_t zt_tracer_cgroup_names(const struct zt_tracer *tr)
{
	return zt_cgroup_names_count(tr->names);
}

uint32_t zt_tracer_conns(const struct zt_tracer *tr)
{
	return zt_conn_table_count(tr->conns);
}
