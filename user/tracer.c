// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cgroup.h"
#include "conn.h"
#include "tracer.h"

/*
 * Captured messages a connection may show before detection gives up on it
 * (a capture that began inside a long body needs a few to reach a message
 * start), and parsers that may give up on it before it is ignored.
 */
#define DETECT_TRIES 8
#define PARSER_QUITS_MAX 2
/* A UDP socket has no close to wait for: idle ZT_UDP_IDLE_NS, its parser
 * settles what it holds (queries never answered come out as timed out) and
 * the socket is forgotten; the kernel side announces it again if it comes
 * back. */

#define CLOSING_MAX 1024

struct zt_tracer {
	struct zt_tracer_opts opts;
	struct zt_conn_table *conns;
	struct zt_cgroup_names *names;
	struct zt_tracer_stats st;
	struct zt_span span; /* reused: no allocation per span */
	struct zt_linker *link;
	uint64_t now_ns; /* the latest record's time: when a span was made */
	/* Closes read in this drain, settled at its end (defer_close). */
	struct {
		uint64_t conn_id, ts;
	} closing[CLOSING_MAX];
	uint32_t nclosing;
};

struct emit_ctx {
	struct zt_tracer *tr;
	struct zt_conn *conn;
};

static void settle_closes(struct zt_tracer *tr);

/* A connection acts as a server (track_requests' rule). */
static bool conn_server(const struct zt_conn *c)
{
	return c->role == ZT_ROLE_SERVER || (c->role == ZT_ROLE_UNKNOWN && c->seen_server);
}

/* The stamp of the connection's record at `ts`, if it is one of the four. */
static const struct zt_stamp *stamp_at(const struct zt_stamp *s, uint64_t ts)
{
	return ts && s->ts == ts ? s : NULL;
}

static void stamp_copy(struct zt_stamp *dst, const struct zt_stamp *src)
{
	if (src)
		*dst = *src;
	else
		memset(dst, 0, sizeof(*dst));
}

/* Where the span's time went, and its network and connection phases. */
static void span_timing(const struct zt_conn *c, const struct zt_txn *t, struct zt_span *s,
			uint64_t seq)
{
	if (!t->server) {
		zt_phases_compute(t->req_last_ns, t->resp_first_ns, t->resp_last_ns,
				  seq == 0 ? c->connect_ns : 0, &s->phases);
		/* The handshake as the socket saw it: ClientHello out to the
		 * last TLS record before the first plaintext (the library's
		 * own work between them included). */
		if (s->phases.has && seq == 0 && c->tls && c->tls_hs_first_ns) {
			s->phases.has_tls = true;
			s->phases.tls_ns = c->tls_hs_last_ns - c->tls_hs_first_ns;
		}
		if (s->phases.has) {
			const struct zt_stamp *a = stamp_at(&c->st_req_first, t->req_first_ns),
					      *b = stamp_at(&c->st_resp_last, t->resp_last_ns);
			uint64_t wire = s->phases.connect_ns + s->phases.tls_ns +
					s->phases.download_ns;

			if (b && (b->flags & ZT_DF_TCPINFO)) {
				s->bd.has_net = true;
				s->bd.srtt_us = b->srtt_us;
				if (a && (a->flags & ZT_DF_TCPINFO) && b->retrans >= a->retrans)
					s->bd.retrans = b->retrans - a->retrans;
			}
			/* Waiting for the first byte is the server's time. */
			s->cause = wire > s->phases.ttfb_ns ? "net" : "deps";
		}
		return;
	}
	if (seq == 0 && c->est_ns && c->first_io_ns >= c->est_ns) {
		s->has_accept_wait = true;
		s->accept_wait_ns = c->first_io_ns - c->est_ns;
	}
	if (!t->resp_last_ns)
		return;
	struct zt_bd_input in = {
		.req_first_ns = t->req_first_ns,
		.req_last_ns = t->req_last_ns,
		.resp_first_ns = t->resp_first_ns,
		.resp_last_ns = t->resp_last_ns,
	};

	stamp_copy(&in.req_first, stamp_at(&c->st_req_first, t->req_first_ns));
	stamp_copy(&in.req_last, stamp_at(&c->st_req_last, t->req_last_ns));
	stamp_copy(&in.resp_first, stamp_at(&c->st_resp_first, t->resp_first_ns));
	stamp_copy(&in.resp_last, stamp_at(&c->st_resp_last, t->resp_last_ns));
	if (c->deps_seq == seq + 1)
		in.deps_ns = zt_ivset_covered(&c->deps, t->req_first_ns, t->resp_last_ns);
	zt_breakdown_compute(&in, s->duration_ns, &s->bd);
	s->cause = zt_breakdown_cause(&s->bd);
}

/* A client request made for a server request (ZT_LOCAL_PARENT): its time
 * counts as that request's downstream time. */
static void deps_note(struct zt_tracer *tr, const struct zt_conn *c, const struct zt_txn *t)
{
	struct zt_conn *p = zt_conn_table_lookup(tr->conns, c->cli_parent_conn);
	uint64_t end = t->resp_last_ns ? t->resp_last_ns : t->req_last_ns;

	if (!p)
		return;
	/* deps_seq is the request's seq + 1: 0 marks none yet. */
	if (p->deps_seq != c->cli_parent_seq + 1) {
		memset(&p->deps, 0, sizeof(p->deps));
		p->deps_seq = c->cli_parent_seq + 1;
	}
	zt_ivset_add(&p->deps, t->req_first_ns, end);
}

static void emit_txn(void *ctx, const struct zt_txn *t)
{
	struct emit_ctx *e = ctx;
	struct zt_tracer *tr = e->tr;
	struct zt_conn *c = e->conn;
	struct zt_span *s = &tr->span;
	struct zt_link_info li = { .conn_id = c->id, .seq = c->txn_seq++ };

	tr->st.proto[c->proto_id].txns++;
	c->seen_server |= t->server;
	if (!zt_span_from_txn(s, c, t, tr->opts.mono_to_unix))
		tr->st.traceparent_bad++;
	s->cgroup = "?";
	s->container = "?";
	if (tr->names)
		zt_cgroup_names_get(tr->names, s->cgroup_id, &s->cgroup, &s->container);
	s->owner = tr->opts.owners ? zt_owners_lookup(tr->opts.owners, s->container, s->cgroup)
				   : NULL;
	tr->st.spans++;
	/* The other end of a TCP connection counts its requests from the
	 * same start only when both were seen from the handshake. */
	if (c->in_link_set && (c->role == ZT_ROLE_SERVER) == t->server) {
		li.has_tuple = true;
		zt_link_tuple_make(&li.tuple, c->family, c->saddr, c->sport, c->daddr, c->dport,
				   t->server, c->netns);
		li.ord = t->stream ? (uint64_t)t->stream | 1ULL << 63 : li.seq;
		li.peer_traced = zt_linker_conn_traced(tr->link, &li.tuple, !t->server);
	}
	if (!t->server) {
		li.local = c->cli_local;
		li.parent_conn = c->cli_parent_conn;
		li.parent_seq = c->cli_parent_seq;
		if (c->cli_local == ZT_LOCAL_PARENT)
			deps_note(tr, c, t);
	}
	span_timing(c, t, s, li.seq);
	zt_linker_add(tr->link, s, &li, tr->now_ns);
}

static void srv_close(struct zt_tracer *tr, struct zt_conn *c)
{
	c->srv_open = false;
	for (int i = 0; i < c->open_weight; i++)
		zt_linker_srv_close(tr->link, c->open_pid, c->open_tid, c->id);
}

/*
 * "GET /path?query HTTP/1.1" -> "GET", "/path": what a request in flight
 * shows before its parser has finished it. The query is dropped (it may
 * carry a token); anything that does not look like a request line leaves
 * both empty.
 */
static void open_request_line(struct zt_conn *c, const struct zt_data_event *e)
{
	const char *p = (const char *)(e + 1);
	uint32_t n = e->cap, i = 0, t;

	c->open_method[0] = c->open_target[0] = '\0';
	if (c->proto_id != ZT_PROTO_HTTP1)
		return;
	while (i < n && i < sizeof(c->open_method) - 1 && p[i] >= 'A' && p[i] <= 'Z')
		i++;
	if (!i || i >= n || p[i] != ' ')
		return;
	for (t = i + 1; t < n && t - i - 1 < sizeof(c->open_target) - 1 && p[t] > 0x20 &&
	     p[t] < 0x7f && p[t] != '?' && p[t] != '#'; t++)
		;
	if (t == i + 1)
		return;
	memcpy(c->open_method, p, i);
	c->open_method[i] = '\0';
	memcpy(c->open_target, p + i + 1, t - i - 1);
	c->open_target[t - i - 1] = '\0';
}

/* Which server request, if any, a client request is the consequence of:
 * the requests open on the sending thread when it leaves (link.h). */
static void track_requests(struct zt_tracer *tr, struct zt_conn *c, const struct zt_data_event *e)
{
	/* A connection whose handshake was missed is a server's once a
	 * server transaction came out of it. */
	bool server = conn_server(c);

	if (server && c->ipproto != IPPROTO_UDP) {
		if (e->dir == ZT_DIR_IN && !c->srv_open) {
			c->srv_open = true;
			c->open_ns = e->hdr.ts_ns;
			open_request_line(c, e);
			c->open_pid = e->pid;
			c->open_tid = e->tid;
			c->open_seq = c->txn_seq;
			/* HTTP/2 streams interleave on one connection: which
			 * request is open is never certain, so it counts twice. */
			c->open_weight = c->proto_id == ZT_PROTO_HTTP2 ? 2 : 1;
			for (int i = 0; i < c->open_weight; i++)
				zt_linker_srv_open(tr->link, e->pid, e->tid, c->id);
		} else if (e->dir == ZT_DIR_OUT && c->srv_open) {
			srv_close(tr, c);
		}
		return;
	}
	if (e->dir == ZT_DIR_IN) {
		c->cli_busy = false;
	} else if (!c->cli_busy) {
		uint64_t pc = 0;
		struct zt_conn *p;

		c->cli_busy = true;
		c->open_ns = e->hdr.ts_ns;
		open_request_line(c, e);
		c->cli_local = zt_linker_local(tr->link, e->pid, e->tid, &pc);
		if (c->cli_local == ZT_LOCAL_PARENT) {
			p = zt_conn_table_lookup(tr->conns, pc);
			if (p && p->srv_open) {
				c->cli_parent_conn = pc;
				c->cli_parent_seq = p->open_seq;
			} else {
				c->cli_local = ZT_LOCAL_ROOT;
			}
		}
	}
}

/* The record's stamp, as the first or last of the request or response it
 * belongs to (a request runs from the first record in its direction after
 * a response's, for either role). */
static void stamp_record(struct zt_conn *c, const struct zt_data_event *e)
{
	struct zt_stamp st = {
		.ts = e->hdr.ts_ns,
		.cpu_ns = e->cpu_ns,
		.runq_ns = e->runq_ns,
		.tid = e->tid,
		.srtt_us = e->srtt_us,
		.retrans = e->retrans,
		.flags = e->flags & (ZT_DF_SCHED | ZT_DF_TCPINFO),
	};
	uint8_t req_dir = conn_server(c) ? ZT_DIR_IN : ZT_DIR_OUT;

	if (e->dir == req_dir) {
		if (c->st_in_resp || !c->st_req_first.ts) {
			c->st_req_first = st;
			c->st_in_resp = false;
		}
		c->st_req_last = st;
	} else {
		if (!c->st_in_resp) {
			c->st_resp_first = st;
			c->st_in_resp = true;
		}
		c->st_resp_last = st;
	}
}

static void link_tuple(const struct zt_conn *c, struct zt_link_tuple *t)
{
	zt_link_tuple_make(t, c->family, c->saddr, c->sport, c->daddr, c->dport,
			   c->role == ZT_ROLE_SERVER, c->netns);
}

/* Its spans will not come (not parsed, or ciphertext only): its peer
 * need not wait for them. */
static void link_unset(struct zt_tracer *tr, struct zt_conn *c)
{
	struct zt_link_tuple t;

	if (c->in_link_set) {
		link_tuple(c, &t);
		zt_linker_conn_del(tr->link, &t, c->role == ZT_ROLE_SERVER);
		c->in_link_set = false;
	}
}

/* A connection leaves the table: the linker forgets it. */
static void conn_forget(struct zt_tracer *tr, struct zt_conn *c)
{
	if (c->srv_open)
		srv_close(tr, c);
	link_unset(tr, c);
}

static void *proto_stats(struct zt_tracer *tr, enum zt_proto_id id)
{
	return id == ZT_PROTO_HTTP1 ? (void *)&tr->st.http1 : (void *)&tr->st.proto[id];
}

/* A connection leaves the table: what it still owes is settled first. */
static void conn_release(void *ctx, struct zt_conn *c, uint64_t ts, bool closed)
{
	struct zt_tracer *tr = ctx;
	struct emit_ctx e = { tr, c };
	const struct zt_proto_ops *ops;

	if (closed && c->tls_raw && !c->tls) {
		tr->st.tls_opaque++;
		c->tls_raw = false;
	}
	if (!c->proto)
		return;
	ops = zt_proto_get(c->proto_id);
	if (closed)
		ops->close(c->proto, ts, emit_txn, &e, proto_stats(tr, c->proto_id));
	ops->free(c->proto);
	free(c->proto);
	c->proto = NULL;
	c->proto_id = ZT_PROTO_NONE;
}

static void conn_evict(void *ctx, struct zt_conn *c)
{
	struct zt_tracer *tr = ctx;

	tr->st.conn_evicted++;
	conn_release(tr, c, c->last_ns, true);
	conn_forget(tr, c);
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
	struct zt_link_opts lo = {
		.wait_ns = opts->link_wait_ns,
		.max_held = opts->link_max_held,
		.on_span = opts->on_span,
		.on_trace = opts->on_trace,
		.ctx = opts->ctx,
	};

	tr->opts = *opts;
	tr->conns = zt_conn_table_new(opts->max_conns ? opts->max_conns : 65536);
	if (opts->cgroup_root)
		tr->names = zt_cgroup_names_new(opts->cgroup_root);
	tr->link = zt_linker_new(&lo);
	if (!tr->conns || !tr->link || (opts->cgroup_root && !tr->names)) {
		zt_tracer_free(tr);
		return NULL;
	}
	return tr;
}

void zt_tracer_free(struct zt_tracer *tr)
{
	if (!tr)
		return;
	if (tr->conns) {
		settle_closes(tr);
		zt_conn_table_free(tr->conns, conn_exit, tr);
	}
	zt_linker_free(tr->link);
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

/*
 * The connection's cgroup, named now: a span is named when it ends, and a
 * short-lived container can be gone by then (its name stays cached until
 * the next prune, every few seconds).
 */
static void cgroup_seen(struct zt_tracer *tr, struct zt_conn *c, uint64_t cgroup_id)
{
	if (c->cgroup_id != cgroup_id && tr->names)
		zt_cgroup_names_get(tr->names, cgroup_id, NULL, NULL);
	c->cgroup_id = cgroup_id;
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
	c->ipproto = e->ipproto ? e->ipproto : IPPROTO_TCP;
	if (e->origin == ZT_ORIGIN_HANDSHAKE && c->ipproto == IPPROTO_TCP) {
		if (c->role == ZT_ROLE_SERVER && !c->est_ns)
			c->est_ns = e->hdr.ts_ns;
		else if (c->role == ZT_ROLE_CLIENT)
			c->connect_ns = e->connect_ns;
	}
	cgroup_seen(tr, c, e->cgroup_id);
	c->known = true;
	/* Only a connection seen from its handshake has a known role and
	 * counts its requests from the start, as its other end does. */
	if (c->ipproto == IPPROTO_TCP && c->role != ZT_ROLE_UNKNOWN &&
	    e->origin == ZT_ORIGIN_HANDSHAKE && !c->in_link_set) {
		struct zt_link_tuple t;

		link_tuple(c, &t);
		zt_linker_conn_add(tr->link, &t, c->role == ZT_ROLE_SERVER);
		c->in_link_set = true;
	}
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
	if (c->tls_raw && !c->tls)
		c->tls_hs_last_ns = e->hdr.ts_ns;
	if (c->tls || c->tls_raw)
		return false;
	/* TLS runs over TCP; a DNS ID may begin with the same bytes. */
	if (!c->proto && c->ipproto != IPPROTO_UDP && looks_like_tls(e)) {
		c->tls_raw = true;
		c->tls_hs_first_ns = c->tls_hs_last_ns = e->hdr.ts_ns;
		return false;
	}
	return true;
}

/*
 * Picks the connection's parser from its first captured message. Returns
 * false while none fits (the message is skipped; after DETECT_TRIES such
 * messages the connection is ignored).
 */
static bool proto_pick(struct zt_tracer *tr, struct zt_conn *c, const struct zt_data_event *e)
{
	struct zt_proto_hint h = {
		.role = c->role,
		.ipproto = c->ipproto ? c->ipproto : IPPROTO_TCP,
		.lport = c->known ? c->sport : 0,
		.rport = c->known ? c->dport : 0,
	};
	enum zt_proto_id id;
	const struct zt_proto_ops *ops;

	if (!e->cap) {
		tr->st.unparsed_no_bytes++;
		return false;
	}
	id = zt_proto_detect((const uint8_t *)(e + 1), e->cap, e->len, e->dir, &h);
	if (id == ZT_PROTO_NONE) {
		if (++c->detect_misses >= DETECT_TRIES) {
			tr->st.unrecognised++;
			c->ignored = true;
			link_unset(tr, c);
		}
		return false;
	}
	ops = zt_proto_get(id);
	c->proto = calloc(1, ops->state_size);
	if (!c->proto) {
		tr->st.alloc_fail++;
		return false;
	}
	ops->init(c->proto, &h);
	c->proto_id = id;
	tr->st.proto[id].conns++;
	return true;
}

static void on_data(struct zt_tracer *tr, const struct zt_data_event *e, size_t size)
{
	struct zt_conn *c;
	struct emit_ctx ectx;
	const struct zt_proto_ops *ops;
	void *pst;
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
	if (!c->first_io_ns)
		c->first_io_ns = e->hdr.ts_ns;
	cgroup_seen(tr, c, e->cgroup_id);
	if (!(e->flags & ZT_DF_SAME_COMM)) {
		memcpy(c->comm, e->comm, sizeof(c->comm));
		c->comm[sizeof(c->comm) - 1] = '\0';
	}
	if (!c->proto && !proto_pick(tr, c, e)) {
		/* Nothing parses this stream yet: where it stands is all
		 * a parser picked later needs. */
		c->next_off[e->dir] = e->offset + e->len;
		c->off_known |= 1u << e->dir;
		return;
	}
	track_requests(tr, c, e);
	stamp_record(c, e);
	ops = zt_proto_get(c->proto_id);
	pst = proto_stats(tr, c->proto_id);
	ectx.tr = tr;
	ectx.conn = c;
	/* Records lost in the ring leave a hole in the stream: to the parser
	 * that is bytes it could not see, exactly like an uncaptured tail. */
	if ((c->off_known & (1u << e->dir)) && e->offset > c->next_off[e->dir]) {
		uint64_t gap = e->offset - c->next_off[e->dir];

		tr->st.gaps++;
		tr->st.gap_bytes += gap;
		while (gap && ret != -EPROTO) {
			uint32_t n = gap > UINT32_MAX ? UINT32_MAX : (uint32_t)gap;

			ret = ops->feed(c->proto, e->dir, e->hdr.ts_ns, NULL, 0, n, NULL, 0, emit_txn,
					&ectx, pst);
			gap -= n;
		}
	}
	c->next_off[e->dir] = e->offset + e->len;
	c->off_known |= 1u << e->dir;
	if (ret != -EPROTO)
		ret = ops->feed(c->proto, e->dir, e->hdr.ts_ns, (const uint8_t *)(e + 1), e->cap,
				e->len, e->tail, e->tail_len, emit_txn, &ectx, pst);
	if (ret == -EPROTO) {
		/* The parser gave up: what it holds is settled, and the
		 * connection gets another look from detection, a bounded
		 * number of times. */
		conn_release(tr, c, e->hdr.ts_ns, true);
		if (++c->parser_quits >= PARSER_QUITS_MAX) {
			tr->st.unrecognised++;
			c->ignored = true;
			link_unset(tr, c);
		}
	}
}

static void conn_close(struct zt_tracer *tr, uint64_t conn_id, uint64_t ts)
{
	struct zt_conn *c = zt_conn_table_lookup(tr->conns, conn_id);

	if (!c)
		return;
	conn_release(tr, c, ts, true);
	conn_forget(tr, c);
	zt_conn_table_remove(tr->conns, c);
}

static void settle_closes(struct zt_tracer *tr)
{
	for (uint32_t i = 0; i < tr->nclosing; i++)
		conn_close(tr, tr->closing[i].conn_id, tr->closing[i].ts);
	tr->nclosing = 0;
}

static void on_close(struct zt_tracer *tr, const struct zt_close_event *e)
{
	if (!tr->opts.defer_close) {
		conn_close(tr, e->hdr.conn_id, e->hdr.ts_ns);
		return;
	}
	if (tr->nclosing == CLOSING_MAX)
		settle_closes(tr);
	tr->closing[tr->nclosing].conn_id = e->hdr.conn_id;
	tr->closing[tr->nclosing].ts = e->hdr.ts_ns;
	tr->nclosing++;
}

int zt_tracer_on_record(struct zt_tracer *tr, const void *data, size_t size)
{
	const struct zt_event_hdr *h = data;

	if (size < sizeof(*h) || h->type == 0 || h->type >= ZT_EV_TYPES) {
		tr->st.bad_records++;
		return 0;
	}
	tr->st.records[h->type]++;
	if (h->ts_ns > tr->now_ns)
		tr->now_ns = h->ts_ns;
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
	case ZT_EV_CGROUP:
		if (size < sizeof(struct zt_cgroup_event))
			break;
		if (tr->names) {
			const struct zt_cgroup_event *g = data;
			char path[ZT_CGROUP_EV_PATH];

			/* Terminated here: the record is untrusted input. */
			memcpy(path, g->path, sizeof(path));
			path[sizeof(path) - 1] = '\0';
			zt_cgroup_names_learn(tr->names, g->cgroup_id, path);
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

static bool udp_idle(void *ctx, struct zt_conn *c)
{
	struct zt_tracer *tr = ctx;

	if (c->ipproto != IPPROTO_UDP)
		return false;
	tr->st.udp_expired++;
	conn_release(tr, c, c->last_ns, true);
	conn_forget(tr, c);
	return true;
}

void zt_tracer_expire_udp(struct zt_tracer *tr, uint64_t now_ns)
{
	if (now_ns > ZT_UDP_IDLE_NS)
		zt_conn_table_expire(tr->conns, now_ns - ZT_UDP_IDLE_NS, udp_idle, tr);
}

void zt_tracer_tick(struct zt_tracer *tr)
{
	struct timespec ts;

	if (tr->names)
		zt_cgroup_names_prune(tr->names);
	/* The kernel's timestamps are CLOCK_MONOTONIC too. */
	if (!clock_gettime(CLOCK_MONOTONIC, &ts))
		zt_tracer_expire_udp(tr, (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec);
}

uint32_t zt_tracer_cgroup_names(const struct zt_tracer *tr)
{
	return zt_cgroup_names_count(tr->names);
}

uint32_t zt_tracer_conns(const struct zt_tracer *tr)
{
	return zt_conn_table_count(tr->conns);
}

static uint64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void zt_tracer_poll(struct zt_tracer *tr)
{
	settle_closes(tr);
	zt_linker_expire(tr->link, mono_now());
}

void zt_tracer_flush(struct zt_tracer *tr)
{
	settle_closes(tr);
	zt_linker_flush(tr->link);
}

const struct zt_link_stats *zt_tracer_link_stats(const struct zt_tracer *tr)
{
	return zt_linker_stats(tr->link);
}

struct open_walk {
	struct zt_tracer *tr;
	void (*fn)(void *ctx, const struct zt_open_request *r);
	void *ctx;
	uint32_t max, n;
};

static bool open_visit(void *ctx, struct zt_conn *c)
{
	struct open_walk *w = ctx;
	bool server = c->role == ZT_ROLE_SERVER || (c->role == ZT_ROLE_UNKNOWN && c->seen_server);
	struct zt_open_request r = { "?", "?", "?", "", "", "", c->open_ns, !server };

	/* A UDP socket has no request to wait on that a reader could tell
	 * from an idle one. */
	if (c->ignored || c->ipproto == IPPROTO_UDP || !(server ? c->srv_open : c->cli_busy))
		return true;
	if (w->n++ >= w->max)
		return true;
	if (w->tr->names)
		zt_cgroup_names_get(w->tr->names, c->cgroup_id, &r.cgroup, &r.container);
	r.protocol = c->proto_id != ZT_PROTO_NONE ? zt_proto_get(c->proto_id)->name : "?";
	r.method = c->open_method;
	r.target = c->open_target;
	if (c->known)
		zt_addr_format(c->family, c->daddr, c->dport, r.peer, sizeof(r.peer));
	else
		strcpy(r.peer, "?");
	w->fn(w->ctx, &r);
	return true;
}

uint32_t zt_tracer_open_requests(struct zt_tracer *tr,
				 void (*fn)(void *ctx, const struct zt_open_request *r), void *ctx,
				 uint32_t max)
{
	struct open_walk w = { tr, fn, ctx, max, 0 };

	zt_conn_table_each(tr->conns, open_visit, &w);
	return w.n;
}
