// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * PostgreSQL protocol v3 (see pgsql.h).
 *
 * Each direction is cut into messages by their headers (a type byte and a
 * big-endian int32 length that counts itself; the frontend's first message
 * has no type byte). A message body the parser wants (Query, Parse, Bind,
 * Execute, Close, ErrorResponse) is read in place when one feed captured it
 * whole, else gathered into a buffer allocated for it and freed after it
 * (bounded by PG_KEEP_MAX); every other body is only counted past.
 *
 * Pairing follows the server's order: it answers messages in the order
 * they came. Spans wait in a FIFO; a Sync is remembered as a count on the
 * entry sent before it (or, with none queued, in syncs_head), so that a
 * ReadyForQuery is matched with its Sync without an entry of its own.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../flags.h"
#include "pgsql.h"
#include "ring.h"
#include "sql.h"

#define PG_CODE_SSL 80877103u
#define PG_CODE_GSSENC 80877104u
#define PG_CODE_CANCEL 80877102u

_Static_assert((PG_PENDING_MAX & (PG_PENDING_MAX - 1)) == 0,
	       "the pending ring grows by doubling up to PG_PENDING_MAX");

enum phase {
	PH_OPEN,      /* messages being parsed */
	PH_ENCRYPTED, /* TLS or GSS after the server said yes: bytes ignored */
	PH_NOT_PG,    /* feed returns -EPROTO */
};

enum dstate {
	D_HDR,	/* at (or inside) a message header */
	D_BODY, /* inside a body, `remain` bytes to go */
	D_SKIP, /* framing lost: waiting for a feed that starts with messages */
};

enum kind { K_QUERY, K_EXEC };

/* One direction's framing. */
struct pg_dir {
	uint8_t *buf; /* a wanted body split over feeds; on demand */
	uint32_t blen;
	uint32_t remain;   /* body bytes to come */
	uint32_t mlen;	   /* the message's length field */
	uint64_t first_ns; /* when its first byte came */
	uint8_t hdr[5];
	uint8_t hlen;
	uint8_t type;	 /* 0: an untyped startup-phase message */
	uint8_t state;	 /* enum dstate */
	bool untyped;	 /* the next message has no type byte (frontend startup) */
	bool await_byte; /* the next byte is the answer to SSL/GSSENCRequest */
	bool keep;	 /* the body is wanted */
	bool cut;	 /* part of the body was not captured (or not kept) */
	bool fresh;	 /* nothing fed yet */
};

/* A span waiting for its completion. */
struct pg_entry {
	struct zt_txn t;
	uint16_t syncs; /* Syncs sent after it, before the next entry */
	uint8_t kind;	/* enum kind */
};

/* A prepared statement or a portal, as its spans will show it. */
struct pg_stmt {
	uint64_t key; /* hash of its name */
	uint32_t flags;
	bool used;
	char method[ZT_TXN_OP_MAX];
	char target[ZT_TXN_TARGET_MAX];
};

struct pg_conn {
	struct pg_dir d[2];	/* by enum zt_dir */
	struct zt_ring q;          /* waiting for a response: q1, then a heap ring */
	struct pg_entry q1;	/* the ring while q.cap == 1 */
	struct pg_stmt unnamed_stmt, unnamed_portal;
	struct pg_stmt *stmts;	 /* PG_STMT_MAX, on the first named statement */
	struct pg_stmt *portals; /* PG_PORTAL_MAX, on the first named portal */
	uint64_t group_first_ns; /* first byte of the Parse/Bind group in progress */
	uint64_t group_bytes;
	struct pg_stmt *group_stmt; /* what its last Parse or Bind named (stable slots) */
	uint32_t syncs_head;	    /* Syncs owed a ReadyForQuery, older than every entry */
	uint32_t ghosts;	    /* Executes dropped on overflow, still to complete */
	uint8_t stmt_next, portal_next;
	uint8_t front; /* enum zt_dir of the frontend, 0xff unknown */
	uint8_t role;  /* enum zt_role, from the hint */
	uint8_t phase; /* enum phase */
	bool group_open;
	bool startup_z; /* the ReadyForQuery ending the startup is due */
	bool in_error;	/* the server is skipping to the next Sync */
	bool good;	/* a well-formed message was seen */
	bool midstream; /* mark the next span ZT_F_MIDSTREAM */
};

struct run {
	struct pg_conn *c;
	zt_txn_emit_fn emit;
	void *ctx;
	struct zt_proto_stats *st;
	uint64_t ts;
};

/* The feed being walked: data[0..cap) known, data[cap..len) only counted;
 * tail, when not NULL, the last tail_len bytes of data[0..len). */
struct feed {
	const uint8_t *data;
	uint32_t cap, len, off;
	const uint8_t *tail;
	uint32_t tail_len;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool front_type(uint8_t t)
{
	return t && strchr("BCDEFHPQSXcdfp", t);
}

static bool back_type(uint8_t t)
{
	return t && strchr("123ACDEGHIKNRSTVWZcdnstv", t);
}

static bool is_front(const struct pg_conn *c, const struct pg_dir *s)
{
	return c->front < 2 && s == &c->d[c->front];
}

/* ---- the pending FIFO -------------------------------------------------- */

static struct pg_entry *q_at(struct pg_conn *c, uint32_t i)
{
	return zt_ring_at(&c->q, &c->q1, sizeof(c->q1), i);
}

static struct pg_entry *q_head(struct pg_conn *c)
{
	return c->q.count ? q_at(c, 0) : NULL;
}

static struct pg_entry *q_tail(struct pg_conn *c)
{
	return c->q.count ? q_at(c, c->q.count - 1) : NULL;
}

static void q_pop(struct pg_conn *c)
{
	c->syncs_head += q_at(c, 0)->syncs;
	zt_ring_pop(&c->q);
}

/*
 * A new span at the tail. When full, the oldest is dropped: its completion
 * is still to come and must not complete the next one, so an Execute
 * becomes a ghost that the next completion consumes, a Query's
 * ReadyForQuery is owed like a Sync's. (Approximate: ghosts and Syncs lose
 * their relative order.)
 */
static struct pg_entry *q_push(struct run *r, enum kind kind)
{
	struct pg_conn *c = r->c;
	struct pg_entry *e;

	if (c->q.count == c->q.cap && !zt_ring_grow(&c->q, &c->q1, sizeof(c->q1), PG_PENDING_MAX)) {
		e = q_at(c, 0);
		if (e->kind == K_EXEC)
			c->ghosts++;
		else
			c->syncs_head++;
		q_pop(c);
		r->st->overflow++;
	}
	e = q_at(c, c->q.count++);
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->t.protocol = "postgresql";
	e->t.server = c->front == ZT_DIR_IN;
	return e;
}

static void emit_head(struct run *r)
{
	struct pg_entry *e = q_at(r->c, 0);

	if (r->c->midstream) {
		e->t.flags |= ZT_F_MIDSTREAM;
		r->c->midstream = false;
	}
	if (r->emit)
		r->emit(r->ctx, &e->t);
	q_pop(r->c);
}

/* The entry the server is answering now: none while a Sync older than
 * every entry (or a dropped Execute) is still owed its answer. */
static struct pg_entry *awaiting(struct pg_conn *c)
{
	return c->syncs_head || c->ghosts ? NULL : q_head(c);
}

/* ---- statements and portals -------------------------------------------- */

/* FNV-1a: names are compared by hash, never kept. */
static uint64_t name_key(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static struct pg_stmt *table_find(struct pg_stmt *t, uint32_t n, uint64_t key)
{
	for (uint32_t i = 0; t && i < n; i++)
		if (t[i].used && t[i].key == key)
			return &t[i];
	return NULL;
}

/* A slot for `key` in a table of n: its own, else the oldest. */
static struct pg_stmt *table_slot(struct run *r, struct pg_stmt **t, uint8_t *next, uint32_t n,
				  uint64_t key)
{
	struct pg_stmt *s;

	if (!*t) {
		*t = calloc(n, sizeof(**t));
		if (!*t)
			return NULL;
	}
	s = table_find(*t, n, key);
	if (s)
		return s;
	s = &(*t)[*next];
	*next = (uint8_t)((*next + 1) % n);
	if (s->used)
		r->st->overflow++;
	return s;
}

static struct pg_stmt *stmt_find(struct pg_conn *c, const uint8_t *name, size_t n)
{
	if (!n)
		return c->unnamed_stmt.used ? &c->unnamed_stmt : NULL;
	return table_find(c->stmts, PG_STMT_MAX, name_key(name, n));
}

static struct pg_stmt *stmt_slot(struct run *r, const uint8_t *name, size_t n)
{
	if (!n)
		return &r->c->unnamed_stmt;
	return table_slot(r, &r->c->stmts, &r->c->stmt_next, PG_STMT_MAX, name_key(name, n));
}

static struct pg_stmt *portal_find(struct pg_conn *c, const uint8_t *name, size_t n)
{
	if (!n)
		return c->unnamed_portal.used ? &c->unnamed_portal : NULL;
	return table_find(c->portals, PG_PORTAL_MAX, name_key(name, n));
}

static struct pg_stmt *portal_slot(struct run *r, const uint8_t *name, size_t n)
{
	if (!n)
		return &r->c->unnamed_portal;
	return table_slot(r, &r->c->portals, &r->c->portal_next, PG_PORTAL_MAX, name_key(name, n));
}

/* A statement's text as spans show it. `cut`: the capture kept only part. */
static void describe(struct pg_stmt *s, const uint8_t *text, size_t n, bool cut)
{
	bool tcut;

	zt_sql_verb((const char *)text, n, s->method, sizeof(s->method));
	zt_sql_normalize((const char *)text, n, s->target, sizeof(s->target), &tcut);
	s->flags = (tcut ? ZT_F_TARGET_CUT : 0) | (cut ? ZT_F_TRUNCATED : 0);
}

/* A NUL-terminated string at p[0..n): its length, and whether it ended. */
static size_t cstr(const uint8_t *p, size_t n, bool *ended)
{
	const uint8_t *z = n ? memchr(p, '\0', n) : NULL;

	*ended = z != NULL;
	return z ? (size_t)(z - p) : n;
}

/* ---- frontend messages ------------------------------------------------- */

/* A message that belongs to the group in progress, or else to the newest
 * span (a Sync, a Flush, COPY data after a Query). */
static void front_bytes(struct run *r, const struct pg_dir *s, bool group)
{
	struct pg_conn *c = r->c;
	struct pg_entry *e = q_tail(c);
	uint64_t n = (uint64_t)s->mlen + 1;

	if (group && !c->group_open) {
		c->group_open = true;
		c->group_first_ns = s->first_ns;
		c->group_bytes = 0;
		c->group_stmt = NULL;
	}
	if (c->group_open) {
		c->group_bytes += n;
	} else if (e) {
		e->t.req_bytes += n;
		e->t.req_last_ns = r->ts;
	}
}

/*
 * A new request while the backend's framing is lost: a client waits for the
 * ReadyForQuery of a Query, or of a Sync, before it goes on (unless it
 * pipelines, which it cannot do with Query), so what was owed was answered
 * in the bytes lost. Settled now, or those answers would be paired with
 * later requests.
 */
static void answers_lost(struct run *r)
{
	struct pg_conn *c = r->c;
	uint32_t owed = 0;

	if (c->d[!c->front].state != D_SKIP)
		return;
	/* The entries up to the last one whose Sync went out. */
	for (uint32_t i = 0; i < c->q.count; i++)
		if (q_at(c, i)->kind == K_QUERY || q_at(c, i)->syncs)
			owed = i + 1;
	while (owed--) {
		q_at(c, 0)->t.flags |= ZT_F_RESYNC;
		emit_head(r);
	}
	c->syncs_head = 0;
	c->ghosts = 0;
	c->in_error = false;
}

/* A span for a Query or an Execute; the group leading to it is its start. */
static struct pg_entry *span_start(struct run *r, const struct pg_dir *s, enum kind kind)
{
	struct pg_conn *c = r->c;
	struct pg_entry *e;

	answers_lost(r);
	front_bytes(r, s, true);
	e = q_push(r, kind);
	e->t.req_first_ns = c->group_first_ns;
	e->t.req_last_ns = r->ts;
	e->t.req_bytes = c->group_bytes;
	c->group_open = false;
	return e;
}

static void on_query(struct run *r, const struct pg_dir *s, const uint8_t *b, uint32_t n)
{
	struct pg_conn *c = r->c;
	struct pg_entry *e;
	struct pg_stmt tmp;
	bool ended;
	size_t tl = cstr(b, n, &ended);

	c->group_open = false; /* a Parse without Execute before it ran nothing */
	describe(&tmp, b, tl, s->cut);
	e = span_start(r, s, K_QUERY);
	memcpy(e->t.method, tmp.method, sizeof(e->t.method));
	memcpy(e->t.target, tmp.target, sizeof(e->t.target));
	e->t.flags |= tmp.flags;
}

/* Parse: statement name, text, parameter types. */
static void on_parse(struct run *r, const struct pg_dir *s, const uint8_t *b, uint32_t n)
{
	bool ended;
	size_t nl = cstr(b, n, &ended), tl;
	struct pg_stmt *st;

	front_bytes(r, s, true);
	if (!ended) /* the name itself was cut: nothing to file it under */
		return;
	st = stmt_slot(r, b, nl);
	if (!st)
		return;
	tl = cstr(b + nl + 1, n - nl - 1, &ended);
	st->key = name_key(b, nl);
	st->used = true;
	describe(st, b + nl + 1, tl, !ended && s->cut);
	r->c->group_stmt = st;
}

/* Bind: portal name, statement name, parameters (never read). */
static void on_bind(struct run *r, const struct pg_dir *s, const uint8_t *b, uint32_t n)
{
	struct pg_conn *c = r->c;
	bool ended, ended2 = false;
	size_t pl = cstr(b, n, &ended), sl;
	const struct pg_stmt *st;
	struct pg_stmt *p;

	front_bytes(r, s, true);
	/* A portal name cut by the capture: most likely the unnamed one,
	 * which must not keep naming the statement bound before. */
	sl = ended ? cstr(b + pl + 1, n - pl - 1, &ended2) : 0;
	p = portal_slot(r, b, ended ? pl : 0);
	if (!p)
		return;
	st = ended && ended2 ? stmt_find(c, b + pl + 1, sl) : NULL;
	if (st && st != p)
		*p = *st;
	else if (!st)
		memset(p, 0, sizeof(*p));
	p->key = name_key(b, ended ? pl : 0);
	p->used = true;
	if (!st) /* prepared before the capture began, dropped, or cut */
		p->flags = ZT_F_REQ_UNSEEN | (ended && ended2 ? 0 : ZT_F_TRUNCATED);
	c->group_stmt = p;
}

static void on_execute(struct run *r, const struct pg_dir *s, const uint8_t *b, uint32_t n)
{
	bool ended;
	size_t pl = cstr(b, n, &ended);
	const struct pg_stmt *p = ended ? portal_find(r->c, b, pl) : NULL;
	struct pg_entry *e = span_start(r, s, K_EXEC);

	if (!p) {
		e->t.flags |= ZT_F_REQ_UNSEEN | (ended ? 0 : ZT_F_TRUNCATED);
		return;
	}
	memcpy(e->t.method, p->method, sizeof(e->t.method));
	memcpy(e->t.target, p->target, sizeof(e->t.target));
	e->t.flags |= p->flags;
}

/* A Sync, or a FunctionCall: a ReadyForQuery will answer it. */
static void on_sync(struct run *r, const struct pg_dir *s)
{
	struct pg_conn *c = r->c;
	struct pg_entry *e;

	/* A group with no Execute (a prepare) is no span. */
	c->group_open = false;
	front_bytes(r, s, false);
	e = q_tail(c);
	if (e && e->syncs < UINT16_MAX)
		e->syncs++;
	else if (!e)
		c->syncs_head++;
}

/* Close: 'S' statement or 'P' portal, and its name. */
static void on_close_msg(struct run *r, const struct pg_dir *s, const uint8_t *b, uint32_t n)
{
	struct pg_stmt *st = NULL;
	bool ended;
	size_t nl;

	front_bytes(r, s, true);
	if (n < 1)
		return;
	nl = cstr(b + 1, n - 1, &ended);
	if (!ended)
		return;
	if (b[0] == 'S')
		st = stmt_find(r->c, b + 1, nl);
	else if (b[0] == 'P')
		st = portal_find(r->c, b + 1, nl);
	if (st)
		st->used = false;
}

static void on_startup(struct run *r, struct pg_dir *s, const uint8_t *b, uint32_t n)
{
	struct pg_conn *c = r->c;
	uint32_t code;

	if (n < 4) { /* the code was not captured: cannot tell what follows */
		c->phase = PH_NOT_PG;
		r->st->malformed++;
		return;
	}
	code = be32(b);
	if (code == PG_CODE_SSL || code == PG_CODE_GSSENC) {
		c->d[!c->front].await_byte = true;
	} else if (code == PG_CODE_CANCEL) {
		/* No answer comes; the connection closes. */
	} else if (code >> 16 == 3) {
		s->untyped = false;
		c->startup_z = true;
	} else {
		c->phase = PH_NOT_PG;
		r->st->malformed++;
		return;
	}
	c->good = true;
}

static void front_msg(struct run *r, struct pg_dir *s, const uint8_t *b, uint32_t n)
{
	switch (s->type) {
	case 0:
		on_startup(r, s, b, n);
		break;
	case 'Q':
		on_query(r, s, b, n);
		break;
	case 'P':
		on_parse(r, s, b, n);
		break;
	case 'B':
		on_bind(r, s, b, n);
		break;
	case 'E':
		on_execute(r, s, b, n);
		break;
	case 'S':
	case 'F':
		on_sync(r, s);
		break;
	case 'C':
		on_close_msg(r, s, b, n);
		break;
	case 'D':
		front_bytes(r, s, true);
		break;
	default: /* Flush, COPY data, password, Terminate */
		front_bytes(r, s, false);
		break;
	}
}

/* ---- backend messages -------------------------------------------------- */

/* A message of the answer to entry e. */
static void resp_bytes(struct run *r, const struct pg_dir *s, struct pg_entry *e)
{
	if (!e)
		return;
	if (!e->t.resp_first_ns)
		e->t.resp_first_ns = s->first_ns;
	e->t.resp_last_ns = r->ts;
	e->t.resp_bytes += (uint64_t)s->mlen + 1;
}

/* A reply with nothing queued for it: the capture began after its request. */
static void orphan(struct run *r)
{
	r->st->orphan_responses++;
}

static void on_complete(struct run *r, const struct pg_dir *s)
{
	struct pg_conn *c = r->c;
	struct pg_entry *e = awaiting(c);

	if (c->ghosts && !c->syncs_head) {
		c->ghosts--;
		return;
	}
	if (!e) {
		if (!c->in_error)
			orphan(r);
		return;
	}
	resp_bytes(r, s, e);
	if (e->kind == K_EXEC)
		emit_head(r);
}

/* ErrorResponse: fields of a type byte and a string each; 'C' the SQLSTATE. */
static void sqlstate(const uint8_t *b, uint32_t n, char *out, size_t size)
{
	uint32_t i = 0;

	out[0] = '\0';
	while (i < n && b[i]) {
		bool ended;
		size_t l = cstr(b + i + 1, n - i - 1, &ended);

		if (b[i] == 'C' && ended) {
			size_t k = 0;

			for (; k < l && k + 1 < size; k++) {
				uint8_t ch = b[i + 1 + k];

				out[k] = ch > 0x20 && ch < 0x7f ? (char)ch : '?';
			}
			out[k] = '\0';
			return;
		}
		i += (uint32_t)l + 2;
	}
}

static void on_error(struct run *r, const struct pg_dir *s, const uint8_t *b, uint32_t n)
{
	struct pg_conn *c = r->c;
	struct pg_entry *e = awaiting(c);

	if (c->ghosts && !c->syncs_head) {
		c->ghosts--;
		c->in_error = true;
		return;
	}
	if (!e) {
		/* An error in a block without Execute (a failed prepare), or a
		 * FATAL during startup: no span of its own. */
		if (c->syncs_head)
			c->in_error = true;
		else if (!c->startup_z && c->good && !c->in_error)
			orphan(r);
		return;
	}
	resp_bytes(r, s, e);
	if (!e->t.error[0]) {
		sqlstate(b, n, e->t.error, sizeof(e->t.error));
		if (!e->t.error[0] && s->cut) /* the code was past the capture */
			e->t.flags |= ZT_F_TRUNCATED;
	}
	e->t.failed = true;
	if (e->kind == K_EXEC) {
		c->in_error = true;
		emit_head(r);
	}
}

/*
 * Executes the server skipped (after an error), or whose completion lay in
 * bytes not seen (`mark`: ZT_F_TRUNCATED when the capture cut them,
 * ZT_F_RESYNC when the framing was lost), up to the Sync this
 * ReadyForQuery answers.
 */
static void skipped_until_sync(struct run *r, bool after_error, uint32_t mark)
{
	struct pg_conn *c = r->c;
	struct pg_entry *e;

	while ((e = q_head(c)) && e->kind == K_EXEC) {
		uint16_t syncs = e->syncs;

		if (after_error && !mark) {
			e->t.failed = true;
			e->t.flags |= ZT_F_NO_RESPONSE;
			r->st->unanswered++;
		} else {
			e->t.flags |= mark ? mark : ZT_F_RESYNC;
			if (!(mark & ZT_F_TRUNCATED))
				r->st->resyncs++;
		}
		emit_head(r);
		if (syncs) {
			c->syncs_head--;
			return;
		}
	}
}

/* `blind`: seen at the end of bytes not parsed, why (as in
 * skipped_until_sync); 0 for a ReadyForQuery parsed in its place. */
static void on_ready(struct run *r, const struct pg_dir *s, uint32_t blind)
{
	struct pg_conn *c = r->c;
	struct pg_entry *e;
	bool was_error = c->in_error;

	c->in_error = false;
	c->ghosts = 0;
	if (c->syncs_head) {
		c->syncs_head--;
		return;
	}
	e = q_head(c);
	if (!e) {
		if (c->startup_z)
			c->startup_z = false;
		else
			orphan(r);
		return;
	}
	c->startup_z = false;
	if (e->kind == K_QUERY) {
		e->t.flags |= blind;
		resp_bytes(r, s, e);
		emit_head(r);
		return;
	}
	skipped_until_sync(r, was_error, blind);
}

static void back_msg(struct run *r, struct pg_dir *s, const uint8_t *b, uint32_t n)
{
	switch (s->type) {
	case 'Z':
		on_ready(r, s, 0);
		break;
	case 'C':
	case 'I':
	case 's':
		on_complete(r, s);
		break;
	case 'E':
		on_error(r, s, b, n);
		break;
	case 'A': /* notification: asynchronous, nobody's answer */
	case 'S': /* parameter status: the same */
	case 'R': /* authentication */
	case 'K': /* backend key */
	case 'v': /* protocol version negotiation */
		break;
	default:
		resp_bytes(r, s, awaiting(r->c));
		break;
	}
}

/* ---- framing ------------------------------------------------------------ */

static bool wants_body(const struct pg_conn *c, const struct pg_dir *s)
{
	if (!is_front(c, s))
		return s->type == 'E';
	return !s->type || strchr("QPBEC", s->type);
}

static void buf_release(struct pg_dir *s)
{
	free(s->buf);
	s->buf = NULL;
	s->blen = 0;
}

/* Framing lost in this direction. The answer in progress is marked (and
 * given the bytes of a header begun). */
static void lose(struct run *r, struct pg_dir *s)
{
	struct pg_entry *e = is_front(r->c, s) ? NULL : awaiting(r->c);

	if (e) {
		e->t.flags |= ZT_F_RESYNC;
		e->t.resp_bytes += s->hlen;
	}
	buf_release(s);
	s->state = D_SKIP;
	s->hlen = 0;
	s->await_byte = false;
	r->st->resyncs++;
}

/*
 * Could a feed start with messages of this direction? Every header the
 * capture holds must be well formed, and a feed captured whole must end at
 * a message's end (a feed inside a body rarely lines up).
 */
static bool starts_messages(bool front, const uint8_t *p, uint32_t cap, uint32_t len)
{
	uint64_t off = 0;

	if (!p || cap < 5)
		return false;
	while (off + 5 <= cap) {
		uint32_t ml = be32(p + off + 1);

		if (!(front ? front_type(p[off]) : back_type(p[off])) || ml < 4 || ml > PG_MSG_MAX)
			return false;
		off += 1 + (uint64_t)ml;
	}
	return off == len || cap < len || off > len;
}

static void msg_done(struct run *r, struct pg_dir *s, const uint8_t *b, uint32_t n)
{
	struct pg_conn *c = r->c;

	if (is_front(c, s))
		front_msg(r, s, b, n);
	else
		back_msg(r, s, b, n);
	if (s->type)
		c->good = true;
	buf_release(s);
	s->state = D_HDR;
	s->hlen = 0;
}

/* A header is complete in s->hdr: check it, and start the body. */
static void header_done(struct run *r, struct pg_dir *s)
{
	struct pg_conn *c = r->c;
	bool front = is_front(c, s);
	uint32_t ml;

	if (s->untyped) {
		ml = be32(s->hdr);
		s->type = 0;
		if (ml < 8 || ml > PG_STARTUP_MAX)
			ml = 0;
	} else {
		ml = be32(s->hdr + 1);
		s->type = s->hdr[0];
		if (!(front ? front_type(s->type) : back_type(s->type)) || ml < 4 ||
		    ml > PG_MSG_MAX)
			ml = 0;
	}
	if (!ml) {
		if (!c->good) {
			c->phase = PH_NOT_PG;
			r->st->malformed++;
		} else {
			lose(r, s);
		}
		return;
	}
	s->mlen = ml;
	s->remain = ml - 4;
	s->keep = wants_body(c, s);
	s->cut = false;
	s->blen = 0;
	s->state = D_BODY;
	if (!s->remain)
		msg_done(r, s, NULL, 0);
}

/*
 * Does the feed end with a ReadyForQuery ("Z", length 5, status I, T or E)?
 * Seen in bytes captured whole, or in the tail the kernel keeps of a
 * message captured in part: a response too long for the capture still
 * shows where it ended. (DataRow bytes ending exactly so would fool it.)
 */
static bool ends_ready(const struct feed *f)
{
	const uint8_t *end;

	if (f->cap == f->len && f->cap >= 6)
		end = f->data + f->cap;
	else if (f->cap < f->len && f->tail && f->tail_len >= 6)
		end = f->tail + f->tail_len;
	else
		return false;
	return !memcmp(end - 6, "Z\0\0\0\5", 5) &&
	       (end[-1] == 'I' || end[-1] == 'T' || end[-1] == 'E');
}

/* Does the feed end with these bytes (captured, or in its tail)? */
static bool ends_with(const struct feed *f, const char *m, uint32_t n)
{
	if (f->cap == f->len)
		return f->cap >= n && !memcmp(f->data + f->cap - n, m, n);
	return f->tail && f->tail_len >= n && !memcmp(f->tail + f->tail_len - n, m, n);
}

/* The last message of a feed, seen in its tail only: its body is not read. */
static void msg_blind(struct run *r, struct pg_dir *s, struct feed *f, uint8_t type, uint32_t ml)
{
	s->type = type;
	s->mlen = ml;
	s->remain = 0;
	f->off = f->len;
	msg_done(r, s, NULL, 0);
}

/* The `rest` bytes to the feed's end are one whole message in its tail:
 * its type, else 0. */
static uint8_t tail_msg(const struct pg_conn *c, const struct pg_dir *s, const struct feed *f,
			uint64_t rest)
{
	const uint8_t *p;

	if (f->cap == f->len || !f->tail || rest < 5 || rest > f->tail_len)
		return 0;
	p = f->tail + f->tail_len - rest;
	if (be32(p + 1) != rest - 1)
		return 0;
	return (is_front(c, s) ? front_type(p[0]) : back_type(p[0])) ? p[0] : 0;
}

/*
 * Frontend messages past the capture, from where the first unseen header
 * begins to the feed's end. A client writes a Parse/Bind/Execute group and
 * its Sync at once, so a long statement hides the Execute: a group ending
 * in a Sync (as the tail shows) is taken to have held one Execute, named by
 * the group's Parse or Bind. (A prepare, Parse and Sync alone, hides
 * nothing: a Parse's length ends right before its Sync.)
 */
static void front_unseen(struct run *r, struct pg_dir *s, struct feed *f, uint64_t rest)
{
	struct pg_conn *c = r->c;
	bool sync = ends_with(f, "S\0\0\0\4", 5);
	struct pg_entry *e;

	uint8_t t = tail_msg(c, s, f, rest);

	if (t) {
		msg_blind(r, s, f, t, (uint32_t)rest - 1);
		return;
	}
	if (!sync || !c->group_open) {
		lose(r, s);
		return;
	}
	e = q_push(r, K_EXEC);
	e->t.req_first_ns = c->group_first_ns;
	e->t.req_last_ns = r->ts;
	e->t.req_bytes = c->group_bytes + rest;
	e->t.flags = ZT_F_TRUNCATED;
	if (c->group_stmt) {
		memcpy(e->t.method, c->group_stmt->method, sizeof(e->t.method));
		memcpy(e->t.target, c->group_stmt->target, sizeof(e->t.target));
		e->t.flags |= c->group_stmt->flags;
	} else {
		e->t.flags |= ZT_F_REQ_UNSEEN;
	}
	e->syncs = 1;
	c->group_open = false;
	f->off = f->len;
	s->hlen = 0;
	r->st->resyncs++;
}

/* A header begins where the capture ended (s->hlen of it seen). */
static void header_unseen(struct run *r, struct pg_dir *s, struct feed *f)
{
	uint64_t rest = (uint64_t)f->len - f->off + s->hlen;

	uint8_t t;

	if (s->untyped || s->await_byte) {
		lose(r, s);
	} else if (is_front(r->c, s)) {
		front_unseen(r, s, f, rest);
	} else if ((t = tail_msg(r->c, s, f, rest))) {
		msg_blind(r, s, f, t, (uint32_t)rest - 1);
	} else if (rest > 6 && ends_ready(f)) {
		/* The answer was longer than the capture: its end is known,
		 * what lay between is not (an ErrorResponse's code with it). */
		struct pg_entry *e = awaiting(r->c);

		if (e) {
			e->t.resp_bytes += rest - 6;
			e->t.flags |= ZT_F_TRUNCATED;
		}
		s->type = 'Z';
		s->mlen = 5;
		s->first_ns = r->ts;
		f->off = f->len;
		on_ready(r, s, ZT_F_TRUNCATED);
		buf_release(s);
		s->state = D_HDR;
		s->hlen = 0;
	} else {
		lose(r, s);
	}
}

static void step_hdr(struct run *r, struct pg_dir *s, struct feed *f)
{
	uint32_t need = s->untyped ? 4 : 5;

	if (f->off >= f->cap) { /* a header we cannot see */
		if (!s->hlen)
			s->first_ns = r->ts;
		header_unseen(r, s, f);
		return;
	}
	if (!s->hlen)
		s->first_ns = r->ts;
	if (s->await_byte) {
		uint8_t b = f->data[f->off++];

		s->await_byte = false;
		if (b == 'S' || b == 'G') {
			r->c->phase = PH_ENCRYPTED;
		} else if (b == 'N') {
			r->c->d[r->c->front].untyped = true;
		} else {
			/* An old server's ErrorResponse instead: a message. */
			f->off--;
		}
		return;
	}
	while (s->hlen < need && f->off < f->cap)
		s->hdr[s->hlen++] = f->data[f->off++];
	if (s->hlen == need)
		header_done(r, s);
	else if (f->off < f->len) /* the rest of the header was not captured */
		header_unseen(r, s, f);
}

static bool buf_append(struct pg_dir *s, const uint8_t *p, uint32_t n)
{
	if (!s->buf) {
		s->buf = malloc(PG_KEEP_MAX);
		if (!s->buf)
			return false;
	}
	if (n > PG_KEEP_MAX - s->blen)
		return false;
	memcpy(s->buf + s->blen, p, n);
	s->blen += n;
	return true;
}

static void step_body(struct run *r, struct pg_dir *s, struct feed *f)
{
	uint32_t n = f->len - f->off, got;
	const uint8_t *p = f->off < f->cap ? f->data + f->off : NULL;

	if (n > s->remain)
		n = s->remain;
	got = p ? (f->cap - f->off < n ? f->cap - f->off : n) : 0;
	f->off += n;
	s->remain -= n;
	if (!s->keep) {
		if (!s->remain)
			msg_done(r, s, NULL, 0);
		return;
	}
	/* The common case: the whole body in this feed's captured bytes. */
	if (!s->remain && !s->blen && !s->cut && got == n) {
		msg_done(r, s, p, n);
		return;
	}
	if (!s->cut) {
		uint32_t k = got < PG_KEEP_MAX - s->blen ? got : PG_KEEP_MAX - s->blen;

		if (k && !buf_append(s, p, k))
			s->cut = true;
		/* Past a hole the bytes no longer follow on. */
		if (k < n)
			s->cut = true;
	}
	if (!s->remain)
		msg_done(r, s, s->buf, s->blen);
}

/* Backend bytes whose framing is lost, from f->off on: counted to the
 * answer in progress; a ReadyForQuery at their end completes it and the
 * next feed starts with a message again. */
static void back_blind(struct run *r, struct pg_dir *s, struct feed *f)
{
	struct pg_entry *e = awaiting(r->c);
	bool ready = f->len - f->off >= 6 && ends_ready(f);
	uint32_t n = f->len - f->off - (ready ? 6 : 0);

	if (e) {
		e->t.resp_bytes += n;
		if (!e->t.resp_first_ns)
			e->t.resp_first_ns = r->ts;
		e->t.resp_last_ns = r->ts;
	}
	f->off = f->len;
	if (ready) {
		s->type = 'Z';
		s->mlen = 5;
		on_ready(r, s, ZT_F_RESYNC);
		s->state = D_HDR;
		s->hlen = 0;
	}
}

/* ---- the first bytes ---------------------------------------------------- */

/* A StartupMessage, SSLRequest, GSSENCRequest or CancelRequest at p. */
static bool startup_at(const uint8_t *p, uint32_t cap, uint32_t len)
{
	uint32_t ml, code;

	if (cap < 8)
		return false;
	ml = be32(p);
	code = be32(p + 4);
	if (ml == 8 && (code == PG_CODE_SSL || code == PG_CODE_GSSENC))
		return true;
	if (ml == 16 && code == PG_CODE_CANCEL)
		return len >= 16;
	if (code >> 16 != 3 || (code & 0xffff) > 15 || ml < 9 || ml > PG_STARTUP_MAX || ml > len)
		return false;
	/* Parameters: name and value pairs, then a NUL. */
	if (cap > 8 && (p[8] < 0x20 || p[8] >= 0x7f) && p[8] != 0)
		return false;
	return cap < ml || p[ml - 1] == 0;
}

/* A frontend's Query, Parse or Bind at p: a message the capture could
 * have joined a connection at. */
static bool query_at(const uint8_t *p, uint32_t cap, uint32_t len)
{
	uint32_t ml;

	if (cap < 6 || (p[0] != 'Q' && p[0] != 'P' && p[0] != 'B'))
		return false;
	ml = be32(p + 1);
	if (ml < 5 || ml > PG_MSG_MAX || (uint64_t)ml + 1 > len)
		return false;
	if (p[0] == 'Q') {
		if (p[5] < 0x20 && p[5] != '\t' && p[5] != '\n' && p[5] != '\r')
			return false;
		if ((uint64_t)ml + 1 <= cap && p[ml] != 0)
			return false;
	}
	return starts_messages(true, p, cap, len);
}

/* The first captured bytes: who is the frontend, and from where we see it. */
static bool judge_first(struct run *r, enum zt_dir dir, const struct feed *f)
{
	struct pg_conn *c = r->c;

	if (startup_at(f->data, f->cap, f->len)) {
		c->front = dir;
		c->d[dir].untyped = true;
		return true;
	}
	/* Backend and frontend share type letters: who opened the
	 * connection is the better witness, when known. */
	if (query_at(f->data, f->cap, f->len))
		c->front = dir;
	else if (c->role == ZT_ROLE_CLIENT || c->role == ZT_ROLE_SERVER)
		c->front = c->role == ZT_ROLE_CLIENT ? ZT_DIR_OUT : ZT_DIR_IN;
	else if (starts_messages(true, f->data, f->cap, f->len))
		c->front = dir;
	else
		return false;
	c->midstream = true;
	r->st->midstream++;
	return true;
}

/* ---- the parser as the tracer sees it ----------------------------------- */

static void ops_init(void *state, const struct zt_proto_hint *h)
{
	struct pg_conn *c = state;

	memset(c, 0, sizeof(*c));
	zt_ring_reset(&c->q);
	c->front = 0xff;
	c->role = h ? h->role : 0;
	c->d[0].fresh = c->d[1].fresh = true;
}

static void ops_free(void *state)
{
	struct pg_conn *c = state;

	buf_release(&c->d[0]);
	buf_release(&c->d[1]);
	zt_ring_free(&c->q);
	free(c->stmts);
	free(c->portals);
	c->stmts = c->portals = NULL;
}

static int ops_feed(void *state, enum zt_dir dir, uint64_t ts_ns, const uint8_t *data, uint32_t cap,
		    uint32_t len, const uint8_t *tail, uint32_t tail_len, zt_txn_emit_fn emit,
		    void *ctx, void *stats)
{
	struct pg_conn *c = state;
	struct zt_proto_stats scratch = {0};
	struct run r = {c, emit, ctx, stats ? stats : &scratch, ts_ns};
	struct feed f = {data, data ? (cap < len ? cap : len) : 0,    len, 0,
			 tail, tail && tail_len <= len ? tail_len : 0};
	struct pg_dir *s;

	if (c->phase == PH_NOT_PG)
		return -EPROTO;
	if (c->phase == PH_ENCRYPTED || !len || (dir != ZT_DIR_IN && dir != ZT_DIR_OUT))
		return 0;
	if (c->front == 0xff) {
		if (!f.cap) /* bytes lost before anything was seen: nothing to place */
			return 0;
		if (!judge_first(&r, dir, &f)) {
			c->phase = PH_NOT_PG;
			r.st->malformed++;
			return -EPROTO;
		}
	}
	s = &c->d[dir];
	if (s->fresh) {
		s->fresh = false;
		/* Joined midstream, this direction's first bytes may be inside a
		 * message. */
		if (c->midstream && !starts_messages(dir == c->front, f.data, f.cap, f.len))
			s->state = D_SKIP;
	}
	if (s->state == D_SKIP && starts_messages(dir == c->front, f.data, f.cap, f.len)) {
		s->state = D_HDR;
		s->hlen = 0;
	}
	while (f.off < f.len && c->phase == PH_OPEN && s->state != D_SKIP) {
		if (s->state == D_HDR)
			step_hdr(&r, s, &f);
		else
			step_body(&r, s, &f);
	}
	if (s->state == D_SKIP && dir != c->front && c->phase == PH_OPEN)
		back_blind(&r, s, &f);
	if (c->phase == PH_NOT_PG) {
		ops_free(c);
		return -EPROTO;
	}
	return 0;
}

static void ops_close(void *state, uint64_t ts_ns, zt_txn_emit_fn emit, void *ctx, void *stats)
{
	struct pg_conn *c = state;
	struct zt_proto_stats scratch = {0};
	struct run r = {c, emit, ctx, stats ? stats : &scratch, ts_ns};
	struct zt_proto_hint h = {.role = c->role};

	while (c->q.count && c->phase != PH_NOT_PG) {
		struct pg_entry *e = q_at(c, 0);

		e->t.flags |= ZT_F_NO_RESPONSE;
		if (c->in_error)
			e->t.failed = true;
		r.st->unanswered++;
		emit_head(&r);
	}
	ops_free(c);
	ops_init(c, &h);
}

static int ops_detect(const uint8_t *data, uint32_t cap, uint32_t len, enum zt_dir dir,
		      const struct zt_proto_hint *h)
{
	if (!data)
		return ZT_DETECT_NO;
	if (startup_at(data, cap, len))
		return ZT_DETECT_YES;
	if (zt_proto_port_is(h, PG_PORT) && query_at(data, cap, len))
		return ZT_DETECT_PORT;
	return ZT_DETECT_NO;
}

const struct zt_proto_ops zt_proto_pgsql = {
    .name = "postgresql",
    .state_size = sizeof(struct pg_conn),
    .init = ops_init,
    .free = ops_free,
    .feed = ops_feed,
    .close = ops_close,
    .detect = ops_detect,
};
