// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * MySQL / MariaDB over both directions of one connection (see mysql.h).
 *
 * Each direction is a packet framer (struct my_dir): it reads headers,
 * gathers the first bytes of each packet's payload that the protocol logic
 * needs (in place when one feed holds them, else copied) and counts the rest
 * by length. The logic sees a packet twice: at its head (those first bytes)
 * and at its end (when its last byte went by: times and sizes).
 *
 * Commands enter a FIFO (struct my_cmd) when their packet's head is read;
 * server packets belong to the oldest command still waiting, whose reply
 * they walk through (enum rstate); a command is emitted once its reply is
 * complete, in order. A reply's packets continue the command's sequence ids;
 * one that does not is the sign the framing was lost.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../flags.h"
#include "mysql.h"
#include "sql.h"
#include "proto.h"
#include "ring.h"

#define PKT_MAX 0xffffffu          /* a packet this long continues in the next */
#define SEQ_NONE 0x100             /* no sequence id expected */

/* Capability flags (Handshake v10, HandshakeResponse41). */
#define CLIENT_SSL 0x00000800u
#define CLIENT_COMPRESS 0x00000020u
#define CLIENT_DEPRECATE_EOF 0x01000000u
#define CLIENT_ZSTD 0x04000000u
/* Server status flags (OK and EOF packets). */
#define SERVER_MORE_RESULTS_EXISTS 0x0008u

_Static_assert((MYSQL_PENDING_MAX & (MYSQL_PENDING_MAX - 1)) == 0,
	       "the command ring grows by doubling up to MYSQL_PENDING_MAX");

enum phase {
	PH_START,   /* nothing parsed yet */
	PH_GREETED, /* the server's greeting: the client's answer is next */
	PH_AUTH,    /* authentication exchange, until the server's OK or ERR */
	PH_CMD,     /* the command phase */
	PH_OFF,     /* bytes we do not read (TLS, compression, replication): ignored */
	PH_NOT,     /* not MySQL: feed returns -EPROTO */
};

enum dstate {
	D_HDR,   /* at a packet header (maybe part of it read) */
	D_BODY,  /* inside a packet's payload */
	D_LOST,  /* framing lost: bytes skipped until a trusted message start */
	D_AWAIT, /* the next feed should begin with a packet: checked, then D_HDR */
};

/* Where a command's reply stands. */
enum rstate {
	R_FIRST,     /* a result's first packet: OK, ERR, column count, LOCAL INFILE */
	R_PREP_OK,   /* STMT_PREPARE_OK or ERR */
	R_DEFS,      /* `left` definition packets (columns, parameters) */
	R_DEFS_EOF,  /* the EOF after them, unless CLIENT_DEPRECATE_EOF */
	R_ROWS,      /* rows until EOF / OK (0xfe) or ERR */
	R_FIELDS,    /* COM_FIELD_LIST: definitions until EOF or ERR */
	R_AUTH,      /* COM_CHANGE_USER: auth switch / more data until OK or ERR */
	R_ONE,       /* a single packet: OK, ERR, EOF or a string */
};

enum eof_mode { EOF_UNKNOWN, EOF_SENT, EOF_DEPRECATED };

struct my_cmd {
	struct zt_txn t;
	uint32_t id;
	uint32_t stmt_id;     /* COM_STMT_PREPARE: from its reply */
	uint16_t seq_next;    /* the next packet of this exchange */
	uint16_t left;        /* definitions still to come (R_DEFS) */
	uint16_t cols;        /* COM_STMT_PREPARE: columns after the parameters */
	uint8_t cmd;
	uint8_t rs;           /* enum rstate */
	bool req_done, resp_done, resp_started;
	char verb[ZT_TXN_OP_MAX]; /* COM_STMT_PREPARE: the statement's verb */
};

struct my_stmt {
	uint32_t id;
	uint32_t flags;
	char method[ZT_TXN_OP_MAX];
	char target[ZT_TXN_TARGET_MAX];
};

/* One direction's framer. */
struct my_dir {
	uint64_t first_ns;   /* the packet in progress began */
	uint64_t bytes;      /* of the packet in progress, headers included */
	uint32_t remain;     /* payload bytes left of the current chunk */
	uint32_t plen;       /* the packet's first chunk length */
	uint32_t want, pfx;  /* payload bytes the head needs; gathered so far */
	uint32_t entry;      /* the command the packet belongs to, when has_entry */
	uint32_t lost_feeds;
	uint8_t hdr[4];
	uint8_t hlen;
	uint8_t seq;         /* sequence id of the current chunk */
	uint8_t state;       /* enum dstate */
	bool more;           /* the current chunk is PKT_MAX long: another follows */
	bool head_done, has_entry;
	bool ends_reply;     /* the server packet in progress completes its command */
};

struct mysql_conn {
	struct my_dir d[2];           /* by enum zt_dir */
	uint8_t sbuf[MYSQL_SRV_PREFIX]; /* a server packet's head split over feeds */
	uint8_t *cbuf;                /* a client packet's head split over feeds
				       * (MYSQL_TEXT_MAX), on demand */
	struct zt_ring q;          /* waiting for a response: q1, then a heap ring */
	struct my_cmd q1;             /* the ring while q.cap == 1 */
	struct my_stmt *stmts;        /* prepared statements, oldest first */
	uint32_t caps;                /* effective capabilities, when caps_known */
	uint32_t srv_caps;
	uint32_t next_id;
	uint16_t last_seq_next;       /* of the reply completed last */
	uint8_t nstmts, stmt_cap;
	uint8_t phase;                /* enum phase */
	uint8_t c2s;                  /* enum zt_dir of the client's bytes; 0xff unknown */
	uint8_t eof_mode;             /* enum eof_mode */
	bool caps_known;
	bool midstream;               /* mark the next transaction ZT_F_MIDSTREAM */
	bool orphan_counted;          /* since the last command */
	bool any_cmd;
	bool server;                  /* we are the server (client bytes come in) */
	uint16_t lport;               /* to tell the sides apart without a role */
};

struct run {
	struct mysql_conn *c;
	zt_txn_emit_fn emit;
	void *ctx;
	struct zt_proto_stats *st;
	bool lose; /* a reply's packet could not be made sense of */
};

struct feed {
	const uint8_t *data;
	uint32_t cap, len, off;
	uint64_t ts;
	const uint8_t *tail;
	uint32_t tail_len;
};

static uint32_t le16(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le24(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

static uint32_t le32(const uint8_t *p)
{
	return le24(p) | (uint32_t)p[3] << 24;
}

/* A length-encoded integer at p[0..n): its size, or 0 when it is not one
 * or not all there. */
static uint32_t lenenc(const uint8_t *p, uint32_t n, uint64_t *v)
{
	uint32_t sz;

	if (!n || p[0] == 0xfb || p[0] == 0xff)
		return 0;
	sz = p[0] < 0xfb ? 1 : p[0] == 0xfc ? 3 : p[0] == 0xfd ? 4 : 9;
	if (sz > n)
		return 0;
	*v = sz == 1 ? p[0] : 0;
	for (uint32_t i = sz - 1; i >= 1; i--)
		*v = *v << 8 | p[i];
	return sz;
}

/* ---- commands ------------------------------------------------------------ */

static const char *const cmd_names[] = {
	[0x00] = "SLEEP", [0x01] = "QUIT", [0x02] = "INIT_DB", [0x03] = "QUERY",
	[0x04] = "FIELD_LIST", [0x05] = "CREATE_DB", [0x06] = "DROP_DB", [0x07] = "REFRESH",
	[0x08] = "SHUTDOWN", [0x09] = "STATISTICS", [0x0a] = "PROCESS_INFO", [0x0b] = "CONNECT",
	[0x0c] = "PROCESS_KILL", [0x0d] = "DEBUG", [0x0e] = "PING", [0x0f] = "TIME",
	[0x10] = "DELAYED_INSERT", [0x11] = "CHANGE_USER", [0x12] = "BINLOG_DUMP",
	[0x13] = "TABLE_DUMP", [0x14] = "CONNECT_OUT", [0x15] = "REGISTER_SLAVE",
	[0x16] = "PREPARE", [0x17] = "EXECUTE", [0x18] = "SEND_LONG_DATA", [0x19] = "CLOSE_STMT",
	[0x1a] = "RESET_STMT", [0x1b] = "SET_OPTION", [0x1c] = "FETCH", [0x1d] = "DAEMON",
	[0x1e] = "BINLOG_DUMP_GTID", [0x1f] = "RESET_CONNECTION",
};

static const char *cmd_name(uint8_t cmd)
{
	if (cmd == MYSQL_COM_STMT_BULK_EXECUTE)
		return "BULK_EXECUTE";
	return cmd < sizeof(cmd_names) / sizeof(cmd_names[0]) ? cmd_names[cmd] : NULL;
}

/* What a client would send: COM_SLEEP, COM_CONNECT, COM_TIME, COM_DELAYED_INSERT
 * and COM_DAEMON are the server's own. */
static bool cmd_valid(uint8_t cmd)
{
	return cmd_name(cmd) && cmd != MYSQL_COM_SLEEP && cmd != 0x0b && cmd != 0x0f &&
	       cmd != 0x10 && cmd != 0x1d;
}

/* ---- the command ring ---------------------------------------------------- */

static struct my_cmd *q_at(struct mysql_conn *c, uint32_t i)
{
	return zt_ring_at(&c->q, &c->q1, sizeof(c->q1), i);
}

static struct my_cmd *q_find(struct mysql_conn *c, uint32_t id)
{
	uint32_t d;

	if (!c->q.count)
		return NULL;
	d = id - q_at(c, 0)->id;
	return d < c->q.count ? q_at(c, d) : NULL;
}

static void q_pop(struct mysql_conn *c)
{
	zt_ring_pop(&c->q);
}

static struct my_cmd *q_push(struct run *r)
{
	struct mysql_conn *c = r->c;
	struct my_cmd *e;
	bool dropped;

	e = zt_ring_push(&c->q, &c->q1, sizeof(c->q1), MYSQL_PENDING_MAX, &dropped);
	if (dropped)
		r->st->overflow++;
	e->t.protocol = "mysql";
	e->t.server = c->server;
	e->id = c->next_id++;
	return e;
}

static void emit_cmd(struct run *r, struct my_cmd *e)
{
	if (r->c->midstream) {
		e->t.flags |= ZT_F_MIDSTREAM;
		r->c->midstream = false;
	}
	if (r->emit)
		r->emit(r->ctx, &e->t);
}

/* Emits finished commands, in the order they were sent. */
static void q_drain(struct run *r)
{
	struct mysql_conn *c = r->c;

	while (c->q.count) {
		struct my_cmd *e = q_at(c, 0);

		if (!e->req_done || !e->resp_done)
			break;
		c->last_seq_next = e->seq_next;
		emit_cmd(r, e);
		q_pop(c);
	}
}

/* The oldest command whose reply is not complete. */
static struct my_cmd *q_waiting(struct mysql_conn *c)
{
	for (uint32_t i = 0; i < c->q.count; i++) {
		struct my_cmd *e = q_at(c, i);

		if (!e->resp_done)
			return e;
	}
	return NULL;
}

/* ---- prepared statements ------------------------------------------------- */

static struct my_stmt *stmt_find(struct mysql_conn *c, uint32_t id)
{
	for (uint32_t i = 0; i < c->nstmts; i++)
		if (c->stmts[i].id == id)
			return &c->stmts[i];
	return NULL;
}

static void stmt_drop(struct mysql_conn *c, uint32_t i)
{
	memmove(&c->stmts[i], &c->stmts[i + 1], (c->nstmts - i - 1) * sizeof(c->stmts[0]));
	c->nstmts--;
}

/* The table grows 4, 8 ... MYSQL_STMTS_MAX; full, the oldest goes. */
static void stmt_add(struct run *r, const struct my_cmd *e)
{
	struct mysql_conn *c = r->c;
	struct my_stmt *s = stmt_find(c, e->stmt_id);

	if (!s) {
		if (c->nstmts == c->stmt_cap) {
			uint32_t cap = c->stmt_cap ? c->stmt_cap * 2u : 4;
			struct my_stmt *n = cap <= MYSQL_STMTS_MAX ? realloc(c->stmts, cap * sizeof(*n)) : NULL;

			if (n) {
				c->stmts = n;
				c->stmt_cap = (uint8_t)cap;
			} else if (c->nstmts) {
				stmt_drop(c, 0);
				r->st->overflow++;
			} else {
				return;
			}
		}
		s = &c->stmts[c->nstmts++];
	}
	s->id = e->stmt_id;
	s->flags = e->t.flags & (ZT_F_TRUNCATED | ZT_F_TARGET_CUT);
	memcpy(s->method, e->verb, sizeof(s->method));
	memcpy(s->target, e->t.target, sizeof(s->target));
}

static void stmt_close(struct mysql_conn *c, uint32_t id)
{
	struct my_stmt *s = stmt_find(c, id);

	if (s)
		stmt_drop(c, (uint32_t)(s - c->stmts));
}

/* ---- replies --------------------------------------------------------------- */

/* ERR: error number, and the SQLSTATE after '#' (protocol 4.1). */
static void reply_err(struct my_cmd *e, const uint8_t *p, uint32_t n)
{
	e->t.failed = true;
	e->t.status = n >= 3 ? (int)le16(p + 1) : 0;
	if (n >= 9 && p[3] == '#') {
		for (int i = 0; i < 5; i++)
			e->t.error[i] = p[4 + i] > ' ' && p[4 + i] < 0x7f ? (char)p[4 + i] : '?';
		e->t.error[5] = '\0';
	} else if (n >= 3) {
		snprintf(e->t.error, sizeof(e->t.error), "%d", e->t.status);
	}
}

/* An ERR packet with error number 0xffff is a MariaDB progress report. */
static bool is_progress(const uint8_t *p, uint32_t n)
{
	return n >= 3 && p[0] == 0xff && p[1] == 0xff && p[2] == 0xff;
}

/* The status flags of an OK (0x00 or 0xfe header) or EOF packet; 0 when
 * not captured. */
static uint32_t end_status(const uint8_t *p, uint32_t n, uint32_t plen)
{
	uint64_t v;
	uint32_t a, b;

	if (p[0] == 0xfe && plen == 5)
		return n >= 5 ? le16(p + 3) : 0;
	a = lenenc(p + 1, n - 1, &v);
	if (!a)
		return 0;
	b = lenenc(p + 1 + a, n - 1 - a, &v);
	if (!b || 1 + a + b + 2 > n)
		return 0;
	return le16(p + 1 + a + b);
}

/* The end of a result (an OK or its last EOF): another result follows when
 * the server says so. */
static bool result_end(struct my_cmd *e, const uint8_t *p, uint32_t n, uint32_t plen)
{
	if (end_status(p, n, plen) & SERVER_MORE_RESULTS_EXISTS) {
		e->rs = R_FIRST;
		return false;
	}
	return true;
}

/* Past the definitions (and their EOF): a result set's rows, a prepare's
 * columns after its parameters. Returns true when that completes the reply. */
static bool after_defs(struct my_cmd *e)
{
	if (e->cmd != MYSQL_COM_STMT_PREPARE) {
		e->rs = R_ROWS;
		return false;
	}
	if (!e->cols)
		return true;
	e->left = e->cols;
	e->cols = 0;
	e->rs = R_DEFS;
	return false;
}

/*
 * The definitions are all in: an EOF follows unless CLIENT_DEPRECATE_EOF.
 * Without the handshake, what comes next says which, except after a
 * prepare's last definitions: nothing may follow, and DEPRECATE_EOF is
 * assumed (an EOF right after it proves otherwise: server_head).
 */
static bool defs_end(struct mysql_conn *c, struct my_cmd *e)
{
	bool last = e->cmd == MYSQL_COM_STMT_PREPARE && !e->cols;

	if (c->eof_mode == EOF_SENT || (c->eof_mode == EOF_UNKNOWN && !last)) {
		e->rs = R_DEFS_EOF;
		return false;
	}
	return after_defs(e);
}

/* A result set's column count (and MariaDB's metadata-follows byte). */
static bool result_set(struct mysql_conn *c, struct my_cmd *e, const uint8_t *p, uint32_t n,
		       bool *done)
{
	uint64_t cols;
	uint32_t sz = lenenc(p, n, &cols);

	if (!sz || !cols || cols > 0xffff)
		return false;
	/* MARIADB_CLIENT_CACHE_METADATA: a byte after the count says whether
	 * the definitions follow (0: the client has them). */
	e->left = n > sz && p[sz] == 0 ? 0 : (uint16_t)cols;
	e->rs = R_DEFS;
	*done = !e->left && defs_end(c, e);
	return true;
}

/*
 * One packet of e's reply, its first n payload bytes at p (n >= 1).
 * Returns true when it completes the reply.
 */
static bool reply_packet(struct run *r, struct my_cmd *e, const uint8_t *p, uint32_t n,
			 uint32_t plen)
{
	struct mysql_conn *c = r->c;
	bool end0xfe = p[0] == 0xfe && plen < PKT_MAX, done = false;

	if (p[0] == 0xff && is_progress(p, n))
		return false;
	if (p[0] == 0xff) {
		reply_err(e, p, n);
		return true;
	}
	switch (e->rs) {
	case R_FIRST:
		if (p[0] == 0x00 || end0xfe)
			return result_end(e, p, n, plen);
		if (p[0] == 0xfb) /* LOCAL INFILE: the file, then an OK or ERR */
			return false;
		if (!result_set(c, e, p, n, &done))
			r->lose = true;
		return done;
	case R_PREP_OK:
		if (p[0] != 0x00 || n < 5) {
			r->lose = true;
			return false;
		}
		e->stmt_id = le32(p + 1);
		stmt_add(r, e);
		if (n < 9) { /* the counts were not captured: the rest is unknown */
			r->lose = true;
			return false;
		}
		e->cols = (uint16_t)le16(p + 5);
		e->left = (uint16_t)le16(p + 7);
		if (e->left) {
			e->rs = R_DEFS;
			return false;
		}
		return after_defs(e);
	case R_DEFS:
		if (e->left && --e->left)
			return false;
		return defs_end(c, e);
	case R_DEFS_EOF:
		if (end0xfe && plen < 7) {
			c->eof_mode = EOF_SENT;
			return after_defs(e);
		}
		/* No EOF: this is already a row, an OK ending the rows, or a
		 * prepare's next definition. */
		c->eof_mode = EOF_DEPRECATED;
		if (after_defs(e))
			return true;
		return reply_packet(r, e, p, n, plen);
	case R_ROWS:
		return end0xfe && result_end(e, p, n, plen);
	case R_FIELDS:
		return end0xfe;
	case R_AUTH:
		return p[0] == 0x00;
	default:
		return true;
	}
}

/* ---- the framers ----------------------------------------------------------- */

static bool is_c2s(const struct mysql_conn *c, const struct my_dir *d)
{
	return d == &c->d[c->c2s];
}

/* Framing lost in this direction: bytes are skipped until a message start
 * can be trusted (feed_start). Not counted yet: a reply longer than the
 * capture loses its row headers as a matter of course and usually ends
 * where its final EOF is seen; only what ends otherwise is a resync. */
static void dir_lose(struct run *r, struct my_dir *d)
{
	struct my_cmd *e = d->has_entry ? q_find(r->c, d->entry) : NULL;

	if (e && !is_c2s(r->c, d)) {
		e->t.resp_bytes += d->bytes;
	} else if (e && !e->req_done) {
		/* A command whose end we cannot see (a continuation header not
		 * captured): its reply's sequence ids are unknown too. */
		e->t.req_bytes += d->bytes;
		e->t.req_last_ns = d->first_ns;
		e->req_done = true;
		e->seq_next = SEQ_NONE;
		q_drain(r);
	}
	d->bytes = 0;
	d->has_entry = false;
	d->state = D_LOST;
	d->more = false;
	d->hlen = 0;
	d->lost_feeds = 0;
}

/* The server direction, lost, is over the reply in progress: it ended
 * without our seeing how. */
static void reply_lost_end(struct run *r, struct my_cmd *e, uint64_t ts)
{
	e->t.flags |= ZT_F_RESYNC;
	r->st->resyncs++;
	e->resp_done = true;
	if (!e->resp_started) {
		e->resp_started = true;
		e->t.resp_first_ns = ts;
	}
	if (!e->t.resp_last_ns)
		e->t.resp_last_ns = ts;
}

/* ---- the connection phase ---------------------------------------------------- */

/* Handshake v10: protocol 10, the version string, and the capabilities. */
static void on_greeting(struct mysql_conn *c, const uint8_t *p, uint32_t n)
{
	const uint8_t *nul = n > 1 ? memchr(p + 1, 0, n - 1) : NULL;
	uint32_t o;

	c->phase = PH_GREETED;
	if (!nul)
		return;
	o = (uint32_t)(nul - p) + 1 + 4 + 8 + 1; /* connection id, auth data, filler */
	if (o + 2 > n)
		return;
	c->srv_caps = le16(p + o);
	if (o + 7 <= n)
		c->srv_caps |= le16(p + o + 5) << 16; /* after charset and status */
	c->caps_known = true;
}

/* The client's answer to the greeting (sequence id 1): an SSL request (the
 * rest is TLS) or a HandshakeResponse whose capabilities, with the server's,
 * say what the connection speaks. */
static void on_handshake_response(struct mysql_conn *c, const uint8_t *p, uint32_t n,
				  uint32_t plen)
{
	uint32_t cli;

	if (n < 4) {
		c->phase = PH_AUTH;
		return;
	}
	cli = le32(p);
	if ((cli & CLIENT_SSL) && plen == 32) {
		c->phase = PH_OFF;
		return;
	}
	c->caps = c->caps_known ? c->srv_caps & cli : cli;
	c->caps_known = true;
	c->eof_mode = c->caps & CLIENT_DEPRECATE_EOF ? EOF_DEPRECATED : EOF_SENT;
	c->phase = (c->caps & (CLIENT_COMPRESS | CLIENT_ZSTD)) ? PH_OFF : PH_AUTH;
}

/* ---- client packets ---------------------------------------------------------- */

/* A printable copy of a NUL-terminated or whole name (INIT_DB, FIELD_LIST). */
static void copy_name(char *out, size_t size, const uint8_t *p, uint32_t n)
{
	size_t k = 0;

	for (uint32_t i = 0; i < n && p[i] && k + 1 < size; i++)
		out[k++] = p[i] >= ' ' && p[i] != 0x7f ? (char)p[i] : '?';
	out[k] = '\0';
}

/*
 * CLIENT_QUERY_ATTRIBUTES (MySQL 8): COM_QUERY's text follows a parameter
 * count and a parameter set count, and with parameters their types, names
 * and values. No statement starts with a control byte, which tells this
 * apart even without the handshake. Returns where the text starts in
 * p[0..n), or -1 when it cannot be found without decoding values (never
 * guessed: the values must not pass for text).
 */
static int query_text_start(const uint8_t *p, uint32_t n)
{
	uint64_t count, sets;
	uint32_t a, b;

	if (!n || p[0] >= ' ' || p[0] == '\t' || p[0] == '\n' || p[0] == '\r')
		return 0;
	a = lenenc(p, n, &count);
	b = a ? lenenc(p + a, n - a, &sets) : 0;
	return a && b && !count ? (int)(a + b) : -1;
}

/* COM_QUERY / COM_STMT_PREPARE: the statement's verb and normalised text. */
static void take_statement(struct my_cmd *e, const uint8_t *p, uint32_t n, bool cut, char *verb)
{
	bool out_cut;

	zt_sql_normalize_dialect((const char *)p, n, e->t.target, sizeof(e->t.target), &out_cut,
				 true);
	if (out_cut)
		e->t.flags |= ZT_F_TARGET_CUT;
	if (cut)
		e->t.flags |= ZT_F_TRUNCATED;
	/* From the normalised text: an executable comment's verb counts. */
	zt_sql_verb(e->t.target, strlen(e->t.target), verb, ZT_TXN_OP_MAX);
}

/* COM_STMT_EXECUTE and friends: what the statement was. Id 0xffffffff is
 * MariaDB's "the statement prepared last" (sent before its reply). */
static void take_stmt_ref(struct mysql_conn *c, struct my_cmd *e, const uint8_t *p, uint32_t n)
{
	struct my_stmt *s = NULL;
	uint32_t id;

	strcpy(e->t.method, "EXECUTE");
	if (n < 5) {
		e->t.flags |= ZT_F_TRUNCATED; /* which statement was not captured */
		return;
	}
	id = le32(p + 1);
	if (id == 0xffffffffu) {
		for (uint32_t i = c->q.count; i-- > 0;) {
			struct my_cmd *o = q_at(c, i);

			if (o != e && o->cmd == MYSQL_COM_STMT_PREPARE) {
				if (o->verb[0])
					memcpy(e->t.method, o->verb, sizeof(e->t.method));
				memcpy(e->t.target, o->t.target, sizeof(e->t.target));
				e->t.flags |= o->t.flags & (ZT_F_TRUNCATED | ZT_F_TARGET_CUT);
				return;
			}
		}
		s = c->nstmts ? &c->stmts[c->nstmts - 1] : NULL;
	} else {
		s = stmt_find(c, id);
	}
	if (s) {
		if (s->method[0])
			memcpy(e->t.method, s->method, sizeof(e->t.method));
		memcpy(e->t.target, s->target, sizeof(e->t.target));
		e->t.flags |= s->flags;
	}
}

/* A command's first reply state. */
static uint8_t first_rstate(uint8_t cmd)
{
	switch (cmd) {
	case MYSQL_COM_QUERY:
	case MYSQL_COM_STMT_EXECUTE:
	case MYSQL_COM_STMT_BULK_EXECUTE:
	case MYSQL_COM_PROCESS_INFO:
		return R_FIRST;
	case MYSQL_COM_STMT_PREPARE:
		return R_PREP_OK;
	case MYSQL_COM_STMT_FETCH:
		return R_ROWS;
	case MYSQL_COM_FIELD_LIST:
		return R_FIELDS;
	case MYSQL_COM_CHANGE_USER:
		return R_AUTH;
	default:
		return R_ONE;
	}
}

/* A command (sequence id 0). Returns false when it is not one we know and
 * `strict` (nothing has shown yet that this is MySQL); else an unknown
 * command is paired with its reply (an ERR, "Unknown command"). */
static bool on_command(struct run *r, struct my_dir *d, const uint8_t *p, uint32_t n, bool cut,
		       uint64_t ts, bool strict)
{
	struct mysql_conn *c = r->c;
	struct my_dir *s2c = &c->d[!c->c2s];
	uint8_t cmd = p[0];
	struct my_cmd *e;

	if (strict && !cmd_valid(cmd))
		return false;
	c->any_cmd = true;
	c->orphan_counted = false;
	/* Nothing waits: the server's bytes must be between packets. What is
	 * in progress there was not a reply. */
	if (!q_waiting(c) && (s2c->state == D_BODY || s2c->hlen)) {
		s2c->state = D_AWAIT;
		s2c->hlen = 0;
		s2c->more = false;
		r->st->resyncs++;
	}
	/* The reply of a lost server direction ended before this command. */
	if (s2c->state == D_LOST) {
		struct my_cmd *w = q_waiting(c);

		if (w) {
			reply_lost_end(r, w, ts);
			q_drain(r);
		}
		s2c->state = D_AWAIT;
	}
	switch (cmd) {
	case MYSQL_COM_STMT_CLOSE:
		if (n >= 5)
			stmt_close(c, le32(p + 1));
		return true;
	case MYSQL_COM_QUIT:
	case MYSQL_COM_STMT_SEND_LONG_DATA:
		return true;
	case MYSQL_COM_BINLOG_DUMP:
	case MYSQL_COM_BINLOG_DUMP_GTID:
		c->phase = PH_OFF; /* a replication stream, not commands */
		return true;
	default:
		break;
	}
	e = q_push(r);
	e->cmd = cmd;
	e->rs = first_rstate(cmd);
	e->seq_next = 1;
	e->t.req_first_ns = d->first_ns;
	d->has_entry = true;
	d->entry = e->id;
	switch (cmd) {
	case MYSQL_COM_QUERY: {
		int at = query_text_start(p + 1, n - 1);

		if (at >= 0)
			take_statement(e, p + 1 + at, n - 1 - (uint32_t)at, cut, e->t.method);
		if (!e->t.method[0])
			strcpy(e->t.method, "QUERY");
		break;
	}
	case MYSQL_COM_STMT_PREPARE:
		take_statement(e, p + 1, n - 1, cut, e->verb);
		strcpy(e->t.method, "PREPARE");
		break;
	case MYSQL_COM_STMT_EXECUTE:
	case MYSQL_COM_STMT_BULK_EXECUTE:
	case MYSQL_COM_STMT_FETCH:
	case MYSQL_COM_STMT_RESET:
		take_stmt_ref(c, e, p, n);
		if (cmd == MYSQL_COM_STMT_FETCH || cmd == MYSQL_COM_STMT_RESET)
			strcpy(e->t.method, cmd_name(cmd));
		break;
	case MYSQL_COM_INIT_DB:
	case MYSQL_COM_FIELD_LIST:
		strcpy(e->t.method, cmd_name(cmd));
		copy_name(e->t.target, sizeof(e->t.target), p + 1, n - 1);
		if (cut)
			e->t.flags |= ZT_F_TRUNCATED;
		break;
	default:
		strcpy(e->t.method, cmd_valid(cmd) ? cmd_name(cmd) : "UNKNOWN");
		break;
	}
	return true;
}

/* Is p[0..n) (of an m-byte message) a command packet a resync can trust? */
static bool command_start(const uint8_t *p, uint32_t n, uint32_t m)
{
	uint32_t plen;

	if (n < 5 || p[3] != 0)
		return false;
	plen = le24(p);
	return plen >= 1 && cmd_valid(p[4]) && (plen + 4 == m || (plen + 4 < m && plen < PKT_MAX) ||
						plen == PKT_MAX || (plen + 4 > m && n == m));
}

static void client_head(struct run *r, struct my_dir *d, const uint8_t *p, uint32_t n, bool cut,
			uint64_t ts)
{
	struct mysql_conn *c = r->c;

	switch (c->phase) {
	case PH_START:
		if (d->seq == 0 && n && on_command(r, d, p, n, cut, ts, true)) {
			c->phase = PH_CMD;
			c->midstream = true;
			r->st->midstream++;
		} else if (d->seq == 0 && n) {
			c->phase = PH_NOT;
		} else {
			c->phase = PH_CMD; /* the rest of an exchange we missed */
			c->midstream = true;
			r->st->midstream++;
		}
		return;
	case PH_GREETED:
		if (d->seq == 1) {
			on_handshake_response(c, p, n, d->plen);
			return;
		}
		c->phase = PH_CMD;
		break;
	case PH_AUTH:
		if (d->seq != 0)
			return; /* authentication data */
		c->phase = PH_CMD; /* the server's OK was not seen */
		break;
	default:
		break;
	}
	if (d->seq == 0) {
		/* A command byte not captured: whether a reply comes is
		 * unknown, and one that does is an orphan. */
		if (n)
			on_command(r, d, p, n, cut, ts, false);
		return;
	}
	/* LOCAL INFILE data, COM_CHANGE_USER's authentication: the exchange
	 * goes on. */
	if (c->q.count) {
		struct my_cmd *e = q_at(c, c->q.count - 1);

		e->seq_next = (uint16_t)(d->seq + 1);
		d->has_entry = true;
		d->entry = e->id;
	}
}

static void client_end(struct run *r, struct my_dir *d, uint64_t ts)
{
	struct my_cmd *e = d->has_entry ? q_find(r->c, d->entry) : NULL;

	if (!e)
		return;
	e->t.req_bytes += d->bytes;
	e->t.req_last_ns = ts;
	e->req_done = true;
	e->seq_next = (uint16_t)(d->seq + 1); /* past a long packet's last chunk */
	q_drain(r);
}

/* ---- server packets ---------------------------------------------------------- */

static void server_head(struct run *r, struct my_dir *d, const uint8_t *p, uint32_t n)
{
	struct mysql_conn *c = r->c;
	struct my_cmd *e;

	d->ends_reply = false;
	switch (c->phase) {
	case PH_START:
		if (d->seq == 0 && n && p[0] == 10) {
			on_greeting(c, p, n);
			return;
		}
		c->phase = PH_CMD;
		c->midstream = true;
		r->st->midstream++;
		break;
	case PH_GREETED:
	case PH_AUTH:
		/* Auth switch, more data; the OK or ERR ends the phase. */
		if (n && (p[0] == 0x00 || p[0] == 0xff))
			c->phase = PH_CMD;
		return;
	default:
		break;
	}
	e = q_waiting(c);
	if (!e) {
		/* The EOF a prepare's reply ends with, when the capture missed
		 * the handshake and took CLIENT_DEPRECATE_EOF for granted. */
		if (n && p[0] == 0xfe && d->plen == 5 && d->seq == c->last_seq_next &&
		    c->eof_mode != EOF_SENT) {
			c->eof_mode = EOF_SENT;
			c->last_seq_next++;
			return;
		}
		if (!c->orphan_counted) {
			r->st->orphan_responses++;
			c->orphan_counted = true;
			if (!c->any_cmd)
				c->midstream = true;
		}
		return;
	}
	if (e->seq_next != SEQ_NONE && d->seq != (e->seq_next & 0xff)) {
		/* Not the next packet of this exchange: lost. */
		if (!e->resp_started) {
			e->resp_started = true;
			e->t.resp_first_ns = d->first_ns;
		}
		dir_lose(r, d);
		return;
	}
	e->seq_next = (uint16_t)(d->seq + 1);
	d->has_entry = true;
	d->entry = e->id;
	if (!e->resp_started) {
		e->resp_started = true;
		e->t.resp_first_ns = d->first_ns;
	}
	if (!n) {
		/* Its content was not captured: what it means is unknown. */
		dir_lose(r, d);
		return;
	}
	r->lose = false;
	d->ends_reply = reply_packet(r, e, p, n, d->plen);
	if (r->lose) {
		d->ends_reply = false;
		dir_lose(r, d);
	}
}

static void server_end(struct run *r, struct my_dir *d, uint64_t ts)
{
	struct my_cmd *e = d->has_entry ? q_find(r->c, d->entry) : NULL;

	if (!e)
		return;
	e->t.resp_bytes += d->bytes;
	e->t.resp_last_ns = ts;
	e->seq_next = (uint16_t)(d->seq + 1);
	if (d->ends_reply) {
		e->resp_done = true;
		d->ends_reply = false;
		if (e->cmd == MYSQL_COM_RESET_CONNECTION || e->cmd == MYSQL_COM_CHANGE_USER)
			r->c->nstmts = 0; /* the server closed every statement */
		q_drain(r);
	}
}

/* ---- walking a feed ---------------------------------------------------------- */

static void packet_head(struct run *r, struct my_dir *d, const uint8_t *p, uint32_t n, bool cut,
			uint64_t ts)
{
	d->head_done = true;
	d->has_entry = false;
	if (is_c2s(r->c, d))
		client_head(r, d, p, n, cut, ts);
	else
		server_head(r, d, p, n);
}

static void packet_end(struct run *r, struct my_dir *d, uint64_t ts)
{
	if (is_c2s(r->c, d))
		client_end(r, d, ts);
	else
		server_end(r, d, ts);
	d->bytes = 0;
}

static uint8_t *head_buf(struct run *r, struct my_dir *d)
{
	struct mysql_conn *c = r->c;

	if (!is_c2s(c, d))
		return c->sbuf;
	if (!c->cbuf)
		c->cbuf = malloc(MYSQL_TEXT_MAX);
	return c->cbuf;
}

/* A header's 4 bytes are in: a new packet, or the next chunk of one. */
static void header_done(struct run *r, struct my_dir *d, struct feed *f)
{
	uint32_t clen = le24(d->hdr);
	uint8_t seq = d->hdr[3];

	d->hlen = 0;
	if (d->more) {
		if (seq != (uint8_t)(d->seq + 1)) {
			dir_lose(r, d);
			return;
		}
	} else {
		d->plen = clen;
		d->want = clen < (is_c2s(r->c, d) ? MYSQL_TEXT_MAX : MYSQL_SRV_PREFIX) ? clen :
			  (is_c2s(r->c, d) ? MYSQL_TEXT_MAX : MYSQL_SRV_PREFIX);
		d->pfx = 0;
		d->head_done = false;
	}
	d->seq = seq;
	d->more = clen == PKT_MAX;
	d->remain = clen;
	d->state = D_BODY;
}

static void step_body(struct run *r, struct my_dir *d, struct feed *f);

static void step_header(struct run *r, struct my_dir *d, struct feed *f)
{
	uint32_t n;

	if (f->off >= f->cap) { /* a header we cannot see */
		dir_lose(r, d);
		return;
	}
	if (!d->hlen && !d->more) {
		d->first_ns = f->ts;
		d->bytes = 0;
	}
	n = 4 - d->hlen;
	if (n > f->cap - f->off)
		n = f->cap - f->off;
	memcpy(d->hdr + d->hlen, f->data + f->off, n);
	d->hlen += (uint8_t)n;
	d->bytes += n;
	f->off += n;
	if (d->hlen == 4) {
		header_done(r, d, f);
		/* An empty packet ends with its header, even at a feed's end. */
		if (d->state == D_BODY && !d->remain)
			step_body(r, d, f);
	} else if (f->off < f->len) /* the rest of the header was not captured */
		dir_lose(r, d);
}

/* The payload's first bytes, for the head: in place when this feed holds
 * all the head needs, else gathered. */
static void gather(struct run *r, struct my_dir *d, struct feed *f, uint32_t n)
{
	uint32_t avail = f->off < f->cap ? f->cap - f->off : 0, take;
	uint8_t *buf;

	if (avail > n)
		avail = n;
	if (!d->pfx && avail >= d->want) {
		packet_head(r, d, f->data + f->off, d->want, false, f->ts);
		return;
	}
	buf = head_buf(r, d);
	take = d->want - d->pfx;
	if (take > avail)
		take = avail;
	if (buf && take) {
		memcpy(buf + d->pfx, f->data + f->off, take);
		d->pfx += take;
	}
	if (buf && d->pfx == d->want)
		packet_head(r, d, buf, d->pfx, false, f->ts);
	else if (!buf || avail < n) /* the rest of what the head needs is not captured */
		packet_head(r, d, buf, buf ? d->pfx : 0, true, f->ts);
}

static void step_body(struct run *r, struct my_dir *d, struct feed *f)
{
	uint32_t n = f->len - f->off;

	if (n > d->remain)
		n = d->remain;
	if (!d->head_done && d->want)
		gather(r, d, f, n);
	if (d->state != D_BODY)
		return; /* the head found the framing lost */
	f->off += n;
	d->remain -= n;
	d->bytes += n;
	if (d->remain)
		return;
	if (d->more) {
		d->state = D_HDR;
		return;
	}
	if (!d->head_done) /* an empty packet */
		packet_head(r, d, NULL, 0, false, f->ts);
	d->state = D_HDR;
	packet_end(r, d, f->ts);
}

/* The last bytes of a message: data's when captured whole, else the tail. */
static const uint8_t *msg_end(const struct feed *f, uint32_t want)
{
	if (f->cap == f->len && f->data && f->len >= want)
		return f->data + f->len - want;
	if (f->cap < f->len && f->tail && f->tail_len >= want)
		return f->tail + f->tail_len - want;
	return NULL;
}

/*
 * Does the message end with what ends a result set (no more results)? Its
 * last 8 bytes: an EOF's (the header's last two, 00 00, sequence id, 0xfe,
 * warnings, status), or with CLIENT_DEPRECATE_EOF the plain OK's (sequence
 * id, 0xfe, no rows affected, no insert id, status, warnings). Row bytes
 * that happen to look like that fool it; the next reply's sequence ids then
 * say so.
 */
static bool eof_at_end(const struct mysql_conn *c, const struct feed *f)
{
	const uint8_t *p = msg_end(f, 8);

	if (!p)
		return false;
	if (p[0] == 0 && p[1] == 0 && p[3] == 0xfe)
		return !(le16(p + 6) & SERVER_MORE_RESULTS_EXISTS) && p[7] < 0x80;
	return c->eof_mode != EOF_SENT && p[1] == 0xfe && p[2] == 0 && p[3] == 0 &&
	       !(le16(p + 4) & SERVER_MORE_RESULTS_EXISTS) && p[5] < 0x80;
}

/* Whether a feed's first bytes are where a lost or waiting direction may
 * start again. */
static void feed_start(struct run *r, struct my_dir *d, struct feed *f)
{
	struct mysql_conn *c = r->c;

	if (d->state == D_AWAIT) {
		struct my_cmd *e = q_waiting(c);
		uint32_t seq = e ? e->seq_next : SEQ_NONE;

		if (f->cap >= 4 && (seq == SEQ_NONE || f->data[3] == (seq & 0xff))) {
			d->state = D_HDR;
			d->hlen = 0;
			d->more = false;
		} else {
			d->state = D_LOST;
		}
		return;
	}
	if (d->state != D_LOST)
		return;
	if (is_c2s(c, d)) {
		if (command_start(f->data, f->cap, f->len)) {
			d->state = D_HDR;
			d->hlen = 0;
			r->st->resyncs++;
		} else if (++d->lost_feeds > MYSQL_LOST_FEEDS_MAX && !c->any_cmd) {
			c->phase = PH_NOT;
		}
	}
}

/* The server direction is lost: its bytes count for the reply in progress,
 * which ends where a message ends with a final EOF. */
static void lost_feed(struct run *r, struct my_dir *d, struct feed *f)
{
	struct mysql_conn *c = r->c;
	struct my_cmd *e;
	uint32_t n = f->len - f->off;

	f->off = f->len;
	if (is_c2s(c, d))
		return;
	e = q_waiting(c);
	if (!e)
		return;
	if (!e->resp_started) {
		e->resp_started = true;
		e->t.resp_first_ns = f->ts;
	}
	e->t.resp_bytes += n;
	e->t.resp_last_ns = f->ts;
	if (eof_at_end(c, f)) {
		e->resp_done = true;
		q_drain(r);
		d->state = D_AWAIT;
	}
}

/* ---- detection ------------------------------------------------------------- */

/* Handshake v10 from the server: sequence id 0, protocol 10, a printable
 * version string ending in NUL, in one message. */
static bool greeting_like(const uint8_t *p, uint32_t cap, uint32_t len)
{
	uint32_t plen, n, i;

	if (cap < 6 || p[3] != 0 || p[4] != 10)
		return false;
	plen = le24(p);
	if (plen < 20 || plen > 1024 || plen + 4 != len)
		return false;
	n = cap - 4 < plen ? cap - 4 : plen;
	for (i = 1; i < n && p[4 + i]; i++)
		if (p[4 + i] < ' ' || p[4 + i] >= 0x7f)
			return false;
	return i > 1 && i < n;
}

/* A command the way clients send it: sequence id 0, one packet. */
static bool command_like(const uint8_t *p, uint32_t cap, uint32_t len)
{
	char verb[8];

	uint32_t plen = cap >= 5 ? le24(p) : 0;

	if (cap < 5 || p[3] != 0 || plen + 4 != len)
		return false;
	switch (p[4]) {
	case MYSQL_COM_QUERY:
	case MYSQL_COM_STMT_PREPARE:
		return zt_sql_verb((const char *)p + 5, cap - 5, verb, sizeof(verb)) > 0;
	case MYSQL_COM_STMT_EXECUTE:
		return plen >= 10;
	case MYSQL_COM_PING:
		return plen == 1;
	case MYSQL_COM_INIT_DB:
		return plen >= 2;
	default:
		return false;
	}
}

/* A command's header alone: mariadbd reads a packet's header, then its
 * payload, so a server sees them as two messages. */
static bool command_header(const uint8_t *p, uint32_t cap, uint32_t len)
{
	return cap == 4 && len == 4 && p[3] == 0 && le24(p) >= 1 && le24(p) < PKT_MAX;
}

static int ops_detect(const uint8_t *data, uint32_t cap, uint32_t len, enum zt_dir dir,
		      const struct zt_proto_hint *h)
{
	bool from_server = h->role == ZT_ROLE_CLIENT ? dir == ZT_DIR_IN :
			   h->role == ZT_ROLE_SERVER ? dir == ZT_DIR_OUT : true;
	bool from_client = h->role == ZT_ROLE_CLIENT ? dir == ZT_DIR_OUT :
			   h->role == ZT_ROLE_SERVER ? dir == ZT_DIR_IN : true;

	if (!data || h->ipproto == 17 /* UDP */)
		return ZT_DETECT_NO;
	if (from_server && greeting_like(data, cap, len))
		return ZT_DETECT_YES;
	if (from_client && zt_proto_port_is(h, 3306) &&
	    (command_like(data, cap, len) || command_header(data, cap, len)))
		return ZT_DETECT_PORT;
	return ZT_DETECT_NO;
}

/* ---- API ------------------------------------------------------------------- */

static void conn_init(struct mysql_conn *c, const struct zt_proto_hint *h)
{
	memset(c, 0, sizeof(*c));
	zt_ring_reset(&c->q);
	c->c2s = 0xff;
	if (h && h->role == ZT_ROLE_CLIENT)
		c->c2s = ZT_DIR_OUT;
	else if (h && h->role == ZT_ROLE_SERVER)
		c->c2s = ZT_DIR_IN;
	if (h)
		c->lport = h->lport;
}

static void conn_free(struct mysql_conn *c)
{
	free(c->cbuf);
	zt_ring_free(&c->q);
	free(c->stmts);
	c->cbuf = NULL;
	c->stmts = NULL;
	c->nstmts = c->stmt_cap = 0;
}

/* Which direction is the client's, when the role was not known: the
 * bytes say, else the well-known port. */
static void pick_sides(struct mysql_conn *c, enum zt_dir dir, const uint8_t *p, uint32_t cap,
		       uint32_t len)
{
	if (p && greeting_like(p, cap, len))
		c->c2s = !dir;
	else if (p && (command_like(p, cap, len) || command_header(p, cap, len)))
		c->c2s = dir;
	else if (c->lport == 3306)
		c->c2s = ZT_DIR_IN;
	else
		c->c2s = ZT_DIR_OUT;
	c->server = c->c2s == ZT_DIR_IN;
}

static int conn_feed(struct mysql_conn *c, enum zt_dir dir, uint64_t ts, const uint8_t *data,
		     uint32_t cap, uint32_t len, const uint8_t *tail, uint32_t tail_len,
		     zt_txn_emit_fn emit, void *ctx, struct zt_proto_stats *st)
{
	struct zt_proto_stats scratch = { 0 };
	struct run r = { c, emit, ctx, st ? st : &scratch };
	struct feed f = { data, data ? (cap < len ? cap : len) : 0, len, 0, ts,
			  tail, tail && tail_len <= len ? tail_len : 0 };
	struct my_dir *d;

	if (c->phase == PH_NOT)
		return -EPROTO;
	if (c->phase == PH_OFF || !len || (dir != ZT_DIR_IN && dir != ZT_DIR_OUT))
		return 0;
	if (c->c2s == 0xff) {
		if (!f.cap)
			return 0;
		pick_sides(c, dir, data, f.cap, len);
	}
	c->server = c->c2s == ZT_DIR_IN;
	d = &c->d[dir];
	if (f.cap)
		feed_start(&r, d, &f);
	while (f.off < f.len && c->phase != PH_NOT && c->phase != PH_OFF) {
		switch (d->state) {
		case D_HDR:
			step_header(&r, d, &f);
			break;
		case D_BODY:
			step_body(&r, d, &f);
			break;
		case D_AWAIT:
			d->state = D_LOST; /* a feed without captured bytes */
			break;
		default:
			lost_feed(&r, d, &f);
			break;
		}
	}
	if (c->phase == PH_NOT) {
		r.st->malformed++;
		conn_free(c);
		return -EPROTO;
	}
	return 0;
}

static void conn_close(struct mysql_conn *c, uint64_t ts, zt_txn_emit_fn emit, void *ctx,
		       struct zt_proto_stats *st)
{
	struct zt_proto_stats scratch = { 0 };
	struct run r = { c, emit, ctx, st ? st : &scratch };

	while (c->q.count) {
		struct my_cmd *e = q_at(c, 0);

		if (!e->resp_started) {
			e->t.status = 0;
			e->t.failed = false;
			e->t.error[0] = '\0';
			e->t.resp_first_ns = e->t.resp_last_ns = 0;
			e->t.flags |= ZT_F_NO_RESPONSE;
			r.st->unanswered++;
		}
		if (!e->t.req_last_ns)
			e->t.req_last_ns = e->t.req_first_ns;
		/* A reply cut by the close ends with what was seen of it. */
		if (e->t.resp_last_ns < e->t.resp_first_ns)
			e->t.resp_last_ns = e->t.resp_first_ns;
		emit_cmd(&r, e);
		q_pop(c);
	}
	(void)ts;
}

static void ops_init(void *state, const struct zt_proto_hint *h)
{
	conn_init(state, h);
}

static void ops_free(void *state)
{
	conn_free(state);
}

static int ops_feed(void *state, enum zt_dir dir, uint64_t ts_ns, const uint8_t *data, uint32_t cap,
		    uint32_t len, const uint8_t *tail, uint32_t tail_len, zt_txn_emit_fn emit,
		    void *ctx, void *stats)
{
	return conn_feed(state, dir, ts_ns, data, cap, len, tail, tail_len, emit, ctx, stats);
}

static void ops_close(void *state, uint64_t ts_ns, zt_txn_emit_fn emit, void *ctx, void *stats)
{
	conn_close(state, ts_ns, emit, ctx, stats);
}

const struct zt_proto_ops zt_proto_mysql = {
	.name = "mysql",
	.state_size = sizeof(struct mysql_conn),
	.init = ops_init,
	.free = ops_free,
	.feed = ops_feed,
	.close = ops_close,
	.detect = ops_detect,
};
