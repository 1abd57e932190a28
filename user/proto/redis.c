// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Redis: RESP2 and RESP3 over both directions of one connection (bounds in
 * redis.h).
 *
 * Each direction is one stream of RESP values walked by a small state
 * machine: header and simple lines are scanned for their LF (only their first
 * bytes kept), bulk payloads are skipped by their declared length whether
 * captured or not, aggregates push their element count on a bounded stack.
 * So a value of a megabyte of which 512 bytes were captured costs what a
 * GET does, and a split anywhere (even inside "\r\n") changes nothing.
 *
 * Commands (arrays of bulk strings, or inline lines) enter a FIFO when their
 * first byte is seen; each top-level reply pairs with the oldest. What is not
 * a reply is skipped:
 *   - RESP3 push frames ('>'), except a subscribe-family confirmation owed
 *     to the SUBSCRIBE at the queue's head (in RESP3 it comes as a push);
 *   - attributes ('|') before a reply: its bytes count with the reply;
 *   - in RESP2 subscribed mode (after a confirmation with a count above 0):
 *     ["message"|"pmessage"|"smessage", ...] arrays; a SUBSCRIBE of N channels
 *     pairs with its first confirmation, the other N-1 are swallowed, as are
 *     the extra confirmations of an UNSUBSCRIBE of every channel;
 *   - after MONITOR's +OK: simple strings that begin with a digit (the
 *     monitored commands, "+1700000000.123456 [0 ...] ...");
 * RESET leaves both modes. CLIENT REPLY OFF/SKIP: commands the server will
 * not answer are emitted at once, marked no-response.
 *
 * Where framing was not captured (a header line or an element start past the
 * capture, or a ring-buffer gap) the message is "lost": its bytes are counted
 * until a feed begins with a message start of its direction (only feed starts
 * are trusted: a write boundary inside a value could look like anything).
 * A lost reply also ends where a command starts after it: the commands
 * sent before the last reply bytes seen were answered in those bytes (by a
 * client that reads its replies before it sends more, as redis-cli does, and
 * redis-benchmark between pipelines); the first pairs with the lost reply,
 * the others are emitted no-response, all marked ZT_F_RESYNC. When a feed
 * start ends a lost reply while commands wait behind it, the replies paired
 * until those are answered carry ZT_F_RESYNC (replies may have hidden in the
 * lost bytes). A reply with no command queued while the command stream is
 * lost answers a command hidden in the uncaptured bytes: emitted with
 * ZT_F_REQ_UNSEEN. Reply bytes that cannot be placed while a command waits
 * are taken as (part of) its reply.
 *
 * Bytes that break RESP before a first message was complete give the
 * connection back to detection (-EPROTO); later, the stream resynchronises.
 * Streamed RESP3 strings and aggregates ("$?", "*?"), which Redis does not
 * send, count as malformed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../flags.h"
#include "proto.h"
#include "ring.h"
#include "redis.h"

_Static_assert((REDIS_PENDING_MAX & (REDIS_PENDING_MAX - 1)) == 0,
	       "the command ring grows by doubling up to REDIS_PENDING_MAX");
_Static_assert(REDIS_DEPTH_MAX <= 32, "attribute frames are a 32-bit mask");
_Static_assert(REDIS_NUM_LINE_MAX < REDIS_LINE_KEEP, "number lines are kept whole");

#define NARGS 3 /* command name, subcommand, CLIENT REPLY's mode */
#define SLOT_NONE 0xff

enum verdict { V_UNKNOWN, V_REDIS, V_NOT };

enum state {
	S_ELEM,   /* at an element's first byte (a message's, at depth 0) */
	S_LINE,   /* inside a header or simple line */
	S_BLOB,   /* a bulk payload and its CRLF, `remain` bytes to go */
	S_INLINE, /* inside an inline command */
	S_LOST,   /* inside a message whose framing was not captured */
	S_SKIP,   /* between messages, position unknown */
};

enum cmd_kind { C_PLAIN, C_SUB, C_MONITOR, C_RESET, C_HELLO };

/* One direction. */
struct rs {
	uint64_t agg[REDIS_DEPTH_MAX]; /* elements left in each open aggregate */
	uint64_t remain, blen;         /* S_BLOB: bytes left of blen + CRLF */
	uint64_t bytes, first_ns, last_ns; /* the message in progress */
	uint64_t nelem;                /* elements of the top-level aggregate */
	int64_t int2;                  /* reply: integer element 2 of the top aggregate */
	uint32_t attr_mask;            /* open aggregates that are attributes */
	uint32_t line_len;             /* S_LINE, S_INLINE: bytes of the line so far */
	uint32_t flags;                /* ZT_F_* of the message in progress */
	uint32_t seq;                  /* command stream: its queue entry */
	uint32_t idx;                  /* element in progress of the top aggregate */
	uint32_t ntok;                 /* inline: arguments so far */
	uint8_t state, depth, top, slot;
	bool req;                      /* carries commands (else replies) */
	bool fresh, in_msg, has_entry, int2_seen, in_tok;
	bool prev_lf;                  /* the previous feed's last byte was an LF */
	char line[REDIS_LINE_KEEP];    /* first bytes of the line, type byte first */
	char arg[NARGS][REDIS_ARG_KEEP];
	uint8_t arg_n[NARGS];          /* bytes kept */
	bool arg_long[NARGS], arg_blind[NARGS], arg_done[NARGS];
};

/* A command awaiting its reply. */
struct rentry {
	char method[ZT_TXN_OP_MAX];
	char target[REDIS_ARG_KEEP];
	uint64_t first_ns, last_ns, bytes;
	uint32_t seq, flags, nsub;
	uint8_t kind; /* enum cmd_kind */
	bool done;    /* its last byte was seen */
};

struct redis_conn {
	struct rs s[2];             /* by enum zt_dir */
	struct zt_ring q;          /* waiting for a response: q1, then a heap ring */
	struct rentry q1;           /* the ring while q.cap == 1: no allocation */
	uint32_t next_seq;
	uint32_t swallow;           /* subscribe confirmations owed to a paired command */
	uint32_t taint;             /* replies still to pair after a guessed resync */
	struct zt_proto_hint hint;
	uint8_t verdict, req_dir;
	bool dir_known, subscribed, monitor, resp3, reply_off, reply_skip, inline_seen;
	bool midstream, midstream_counted, any_request;
};

struct run {
	struct redis_conn *c;
	zt_txn_emit_fn emit;
	void *ctx;
	struct zt_proto_stats *st;
};

/* The feed being walked: data[0..cap) known, data[cap..len) only counted. */
struct feed {
	const uint8_t *data;
	uint32_t cap, len, off;
	uint64_t ts;
};

/* ---- small helpers ----------------------------------------------------- */

static bool is_digit(uint8_t ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_alpha(uint8_t ch)
{
	return (ch | 0x20) >= 'a' && (ch | 0x20) <= 'z';
}

static bool is_redis_port(uint16_t p)
{
	return p == 6379 || p == 6380 || p == 26379;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* "-?[0-9]{1,19}", nothing else; beyond 64 bits the value is clamped
 * (only lengths are used, and those are bounded far lower). */
static bool parse_int(const char *p, size_t n, int64_t *out)
{
	bool neg = n && p[0] == '-';
	uint64_t v = 0;
	size_t i = neg;

	if (i == n || n - i > 19)
		return false;
	for (; i < n; i++) {
		if (!is_digit(p[i]))
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v > INT64_MAX)
		v = INT64_MAX;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

/* The line p[0..n) ends at an LF within it: its length without CR LF,
 * or -1. */
static long line_body(const uint8_t *p, size_t n)
{
	const uint8_t *lf = memchr(p, '\n', n);
	long l;

	if (!lf)
		return -1;
	l = lf - p;
	return l && p[l - 1] == '\r' ? l - 1 : l;
}

/* ---- message starts (detection and resync) ----------------------------- */

/* "*N\r\n$" with N >= 1: how every client sends a command. */
static bool array_bulk_start(const uint8_t *p, size_t n)
{
	size_t i = 1;

	if (n < 5 || p[0] != '*' || !is_digit(p[1]) || p[1] == '0')
		return false;
	while (i < n && i < 12 && is_digit(p[i]))
		i++;
	return i + 2 < n && p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '$';
}

/* "PING\r\n", "GET k\r\n": a word of letters, a printable line, whole. */
static bool inline_start(const uint8_t *p, size_t n)
{
	long l = line_body(p, n < REDIS_INLINE_MAX ? n : REDIS_INLINE_MAX);
	long w = 0;

	if (l <= 0)
		return false;
	while (w < l && is_alpha(p[w]))
		w++;
	if (!w || w > 32 || (w < l && p[w] != ' '))
		return false;
	for (long i = w; i < l; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
	/* "GET / HTTP/1.1" is HTTP's. */
	return !memmem(p, l, " HTTP/", 6);
}

/* Lines of any length: only their first bytes are kept. */
static bool is_text_type(uint8_t t)
{
	return t == '+' || t == '-' || t == ',' || t == '(';
}

static bool is_agg_type(uint8_t t)
{
	return t == '*' || t == '%' || t == '~' || t == '>' || t == '|';
}

static bool is_blob_type(uint8_t t)
{
	return t == '$' || t == '!' || t == '=';
}

/* A header or scalar line's content is valid for its type. */
static bool line_valid(uint8_t t, const char *p, size_t n)
{
	int64_t v;

	switch (t) {
	case '+':
	case '-':
	case ',':
		return true;
	case '_':
		return n == 0;
	case '#':
		return n == 1 && (p[0] == 't' || p[0] == 'f');
	case '(':
		for (size_t i = p[0] == '-'; i < n; i++)
			if (!is_digit(p[i]))
				return false;
		return n > (size_t)(p[0] == '-');
	default:
		if (!parse_int(p, n, &v))
			return false;
		return t == ':' || v >= 0 || (v == -1 && (t == '$' || t == '*'));
	}
}

/* A reply's first line, whole and valid, within p[0..n). */
static bool reply_start(const uint8_t *p, size_t n)
{
	long l = line_body(p, n);
	uint8_t t = n ? p[0] : 0;

	if (l < 1 || !(strchr("+-:$*_,#!=(%~>|", t) && t))
		return false;
	if (!is_text_type(t) && l > REDIS_NUM_LINE_MAX)
		return false;
	for (long i = 1; i < l; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
	return line_valid(t, (const char *)p + 1, l - 1);
}

/*
 * What a resync trusts: a whole first line, valid. A line of words is an
 * inline command only on a connection that sent one before, and only where
 * the previous message is known to have ended a line: elsewhere it may be
 * the middle of a value, and its first word would become a method.
 */
static bool stream_start(bool inline_ok, const struct rs *s, const uint8_t *p, size_t n)
{
	if (s->req)
		return array_bulk_start(p, n) || (inline_ok && inline_start(p, n));
	return reply_start(p, n);
}

/*
 * A direction's first bytes may be a start split over feeds ("*", then
 * "3\r\n$3..."): a right first byte will do until a line end shows, then
 * the line must be valid. Inline commands: as stream_start, or the
 * connection's very first bytes (detection took them for Redis).
 */
static bool start_plausible(const struct redis_conn *c, const struct rs *s, const uint8_t *p,
			    size_t n)
{
	bool inline_ok = (c->inline_seen && s->prev_lf) || c->verdict == V_UNKNOWN;
	long l = line_body(p, n);
	int64_t v;

	if (stream_start(inline_ok, s, p, n))
		return true;
	if (s->req && p[0] == '*')
		return l < 0 ? n < REDIS_NUM_LINE_MAX
			     : l <= REDIS_NUM_LINE_MAX && parse_int((const char *)p + 1, l - 1, &v) && v >= 0;
	if (s->req)
		return inline_ok && l < 0 && is_alpha(p[0]);
	return l < 0 && p[0] && strchr("+-:$*_,#!=(%~>|", p[0]);
}

/* ---- the command queue ------------------------------------------------- */

static struct rentry *q_at(struct redis_conn *c, uint32_t i)
{
	return zt_ring_at(&c->q, &c->q1, sizeof(c->q1), i);
}

static struct rentry *q_head(struct redis_conn *c)
{
	return c->q.count ? q_at(c, 0) : NULL;
}

static struct rentry *q_find(struct redis_conn *c, uint32_t seq)
{
	uint32_t d;

	if (!c->q.count)
		return NULL;
	d = seq - q_at(c, 0)->seq;
	return d < c->q.count ? q_at(c, d) : NULL;
}

static void q_pop(struct redis_conn *c)
{
	zt_ring_pop(&c->q);
}

static struct rentry *q_push(struct run *r)
{
	struct redis_conn *c = r->c;
	struct rentry *e;
	bool dropped;

	e = zt_ring_push(&c->q, &c->q1, sizeof(c->q1), REDIS_PENDING_MAX, &dropped);
	if (dropped)
		r->st->overflow++;
	e->seq = c->next_seq++;
	c->any_request = true;
	return e;
}

/* ---- emitting ---------------------------------------------------------- */

static void emit_txn(struct run *r, struct zt_txn *t)
{
	t->protocol = "redis";
	t->server = r->c->req_dir == ZT_DIR_IN;
	if (r->c->midstream) {
		t->flags |= ZT_F_MIDSTREAM;
		r->c->midstream = false;
	}
	if (r->emit)
		r->emit(r->ctx, t);
}

static void txn_from_entry(struct zt_txn *t, const struct rentry *e)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->method, e->method, sizeof(e->method));
	memcpy(t->target, e->target, sizeof(e->target));
	t->req_first_ns = e->first_ns;
	t->req_last_ns = e->last_ns;
	t->req_bytes = e->bytes;
	t->flags = e->flags;
	/* A command that never showed its name whole. */
	if (!t->method[0])
		t->flags |= ZT_F_TRUNCATED;
}

/* The first word of an error reply ("ERR", "WRONGTYPE"). */
static void error_word(char *dst, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && i < ZT_TXN_ERROR_MAX - 1 && p[i] > ' ' && p[i] < 0x7f) {
		dst[i] = p[i];
		i++;
	}
	dst[i] = '\0';
}

/* A command without a reply: at close, or one the server will not answer. */
static void emit_unanswered(struct run *r, const struct rentry *e)
{
	struct zt_txn t;

	txn_from_entry(&t, e);
	t.flags |= ZT_F_NO_RESPONSE;
	emit_txn(r, &t);
}

/* ---- stream life cycle ------------------------------------------------- */

static void top_reset(struct rs *s)
{
	s->top = 0;
	s->idx = 0;
	s->nelem = 0;
	s->int2_seen = false;
	memset(s->arg_n, 0, sizeof(s->arg_n));
	memset(s->arg_long, 0, sizeof(s->arg_long));
	memset(s->arg_blind, 0, sizeof(s->arg_blind));
	memset(s->arg_done, 0, sizeof(s->arg_done));
}

static void msg_begin(struct rs *s, const struct feed *f)
{
	s->in_msg = true;
	s->bytes = 0;
	s->first_ns = s->last_ns = f->ts;
	s->flags = 0;
	s->has_entry = false;
	s->depth = 0;
	s->attr_mask = 0;
	s->ntok = 0;
	s->in_tok = false;
	top_reset(s);
}

static void msg_end(struct rs *s, enum state next)
{
	/* Arguments and lines hold keys and values: not kept past their
	 * message. */
	memset(s->arg, 0, sizeof(s->arg));
	memset(s->line, 0, sizeof(s->line));
	s->in_msg = false;
	s->has_entry = false;
	s->depth = 0;
	s->attr_mask = 0;
	s->state = next;
}

static void take(struct rs *s, struct feed *f, uint32_t n)
{
	f->off += n;
	s->bytes += n;
	s->last_ns = f->ts;
}

static void count_midstream(struct run *r)
{
	if (!r->c->midstream_counted) {
		r->c->midstream_counted = true;
		r->c->midstream = true;
		r->st->midstream++;
	}
}

/* Between messages, somewhere we cannot tell: wait for a feed start. */
static void stream_skip(struct run *r, struct rs *s)
{
	r->st->resyncs++;
	msg_end(s, S_SKIP);
}

/* Framing lost inside a message: count on until its end shows. */
static void msg_lose(struct run *r, struct rs *s)
{
	if (!s->in_msg) {
		stream_skip(r, s);
		return;
	}
	r->st->resyncs++;
	s->flags |= ZT_F_RESYNC;
	s->state = S_LOST;
	s->depth = 0;
}

/* Bytes that break RESP. */
static void malformed(struct run *r, struct rs *s)
{
	r->st->malformed++;
	if (r->c->verdict == V_UNKNOWN)
		r->c->verdict = V_NOT;
	else
		msg_lose(r, s);
}

/* ---- commands ---------------------------------------------------------- */

/* Argument i as an upper-cased name of [A-Za-z0-9] and `extra` characters;
 * false when it was not captured whole or holds anything else. */
static bool arg_name(const struct rs *s, int i, char *dst, size_t size, const char *extra)
{
	size_t n = s->arg_n[i];

	if (!s->arg_done[i] || s->arg_blind[i] || s->arg_long[i] || !n || n >= size)
		return false;
	for (size_t k = 0; k < n; k++) {
		uint8_t ch = (uint8_t)s->arg[i][k];

		if (!is_alpha(ch) && !is_digit(ch) && !strchr(extra, ch))
			return false;
		dst[k] = is_alpha(ch) ? (char)(ch & ~0x20) : (char)ch;
	}
	dst[n] = '\0';
	return true;
}

static bool is_container(const char *m)
{
	static const char *const names[] = {
		"ACL", "CLIENT", "CLUSTER", "COMMAND", "CONFIG", "DEBUG", "FUNCTION", "LATENCY",
		"MEMORY", "MODULE", "OBJECT", "PUBSUB", "SCRIPT", "SENTINEL", "SLOWLOG", "XGROUP",
		"XINFO",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(m, names[i]))
			return true;
	return false;
}

static bool is_sub_word(const char *w)
{
	static const char *const names[] = {
		"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(w, names[i]))
			return true;
	return false;
}

/* Method, target and kind from the arguments seen. */
static void entry_fill(struct rentry *e, const struct rs *s, uint64_t nargs)
{
	char sub[REDIS_ARG_KEEP];

	e->target[0] = '\0';
	if (!arg_name(s, 0, e->method, sizeof(e->method), "_.|:-")) {
		if (s->arg_done[0] && !s->arg_blind[0]) {
			strcpy(e->method, "?");
		} else {
			e->method[0] = '\0';
			e->flags |= ZT_F_TRUNCATED;
		}
		return;
	}
	if (is_container(e->method) && arg_name(s, 1, sub, sizeof(sub), "_-"))
		memcpy(e->target, sub, sizeof(sub));
	e->kind = C_PLAIN;
	if (is_sub_word(e->method)) {
		e->kind = C_SUB;
		e->nsub = nargs > 1 ? (uint32_t)min64(nargs - 1, UINT32_MAX) : 0;
	} else if (!strcmp(e->method, "MONITOR")) {
		e->kind = C_MONITOR;
	} else if (!strcmp(e->method, "RESET")) {
		e->kind = C_RESET;
	} else if (!strcmp(e->method, "HELLO")) {
		e->kind = C_HELLO;
	}
}

/* CLIENT REPLY OFF|SKIP|ON: true when the server will not answer `e`. */
static bool reply_suppressed(struct redis_conn *c, const struct rentry *e, const struct rs *s)
{
	char mode[8];
	bool none = c->reply_off || c->reply_skip;

	c->reply_skip = false;
	if (strcmp(e->method, "CLIENT") || strcmp(e->target, "REPLY") ||
	    !arg_name(s, 2, mode, sizeof(mode), ""))
		return none;
	if (!strcmp(mode, "ON")) {
		c->reply_off = false;
		return false;
	}
	if (!strcmp(mode, "OFF")) {
		c->reply_off = true;
		return true;
	}
	if (!strcmp(mode, "SKIP")) {
		c->reply_skip = !c->reply_off;
		return true;
	}
	return none;
}

/* A command's last byte. */
static void cmd_done(struct run *r, struct rs *s, uint64_t nargs)
{
	struct redis_conn *c = r->c;
	struct rentry *e = s->has_entry ? q_find(c, s->seq) : NULL;

	if (e) {
		entry_fill(e, s, nargs);
		e->last_ns = s->last_ns;
		e->bytes = s->bytes;
		e->flags |= s->flags;
		e->done = true;
		/* Only the newest entry can go unanswered: older ones were
		 * sent before it. */
		if (e == q_at(c, c->q.count - 1) && reply_suppressed(c, e, s)) {
			emit_unanswered(r, e);
			c->q.count--;
		}
	}
	/* A command alone does not settle it: bytes that merely look like
	 * one (a misdetection) are refuted by an answer that is not RESP. */
	msg_end(s, S_ELEM);
}

/* ---- replies ----------------------------------------------------------- */

static void request_stream_ends(struct run *r, struct rentry *e)
{
	struct rs *q = &r->c->s[r->c->req_dir];

	if (q->has_entry && q->seq == e->seq) {
		/* The reply proves the command ended; a lost one's rest is
		 * unplaceable. */
		entry_fill(e, q, q->nelem);
		q->has_entry = false;
		if (q->state == S_LOST)
			msg_end(q, S_SKIP);
	}
}

static void after_reply(struct redis_conn *c, const struct rentry *e, const struct rs *s,
			bool failed)
{
	if (failed)
		return;
	switch (e->kind) {
	case C_MONITOR:
		c->monitor = true;
		break;
	case C_RESET:
		c->subscribed = c->monitor = false;
		c->swallow = 0;
		c->reply_off = c->reply_skip = false;
		break;
	case C_HELLO:
		c->resp3 = s->top == '%';
		break;
	default:
		break;
	}
}

/* Commands may hide in command bytes we could not frame. */
static bool req_unseen(const struct redis_conn *c)
{
	const struct rs *q = &c->s[c->req_dir];

	return q->state == S_SKIP || q->state == S_LOST;
}

/* Pairs the reply just complete in `s` with the oldest command. */
static void pair(struct run *r, struct rs *s)
{
	struct redis_conn *c = r->c;
	struct rentry *e = q_head(c);
	struct rs *q = &c->s[c->req_dir];
	struct zt_txn t;

	if (!e && req_unseen(c)) {
		/* Its command hid in command bytes we could not frame. */
		memset(&t, 0, sizeof(t));
		t.req_first_ns = t.req_last_ns = q->last_ns ? q->last_ns : s->first_ns;
		t.flags = ZT_F_REQ_UNSEEN;
		if (q->state == S_LOST)
			msg_end(q, S_SKIP);
	} else if (!e) {
		r->st->orphan_responses++;
		if (!c->any_request)
			count_midstream(r);
		return;
	} else {
		if (!e->done)
			request_stream_ends(r, e);
		txn_from_entry(&t, e);
	}
	t.resp_first_ns = s->first_ns;
	t.resp_last_ns = s->last_ns;
	t.resp_bytes = s->bytes;
	t.flags |= s->flags;
	if (s->top == '-') {
		t.failed = true;
		error_word(t.error, s->line + 1, min64(s->line_len, sizeof(s->line)) - 1);
	} else if (s->top == '!') {
		t.failed = true;
		if (s->arg_done[0] || s->arg_n[0])
			error_word(t.error, s->arg[0], s->arg_n[0]);
	}
	if (c->taint) {
		t.flags |= ZT_F_RESYNC;
		c->taint--;
	}
	if (e) {
		after_reply(c, e, s, t.failed);
		q_pop(c);
	}
	emit_txn(r, &t);
}

static bool arg0_is(const struct rs *s, const char *const *words, size_t n)
{
	size_t l = s->arg_n[0];

	if (!s->arg_done[0] || s->arg_blind[0] || s->arg_long[0])
		return false;
	for (size_t i = 0; i < n; i++)
		if (strlen(words[i]) == l && !strncasecmp(s->arg[0], words[i], l))
			return true;
	return false;
}

static bool is_confirmation(const struct rs *s)
{
	static const char *const w[] = { "subscribe", "psubscribe", "ssubscribe",
					 "unsubscribe", "punsubscribe", "sunsubscribe" };

	return (s->top == '*' || s->top == '>') && s->nelem == 3 && arg0_is(s, w, 6);
}

static bool is_message(const struct rs *s)
{
	static const char *const w[] = { "message", "pmessage", "smessage" };

	return s->top == '*' && (s->nelem == 3 || s->nelem == 4) && arg0_is(s, w, 3);
}

/* ["subscribe", channel, count] and kin. */
static void on_confirmation(struct run *r, struct rs *s)
{
	struct redis_conn *c = r->c;
	struct rentry *e = q_head(c);

	if (s->int2_seen)
		c->subscribed = s->int2 > 0;
	if (c->swallow) {
		c->swallow--;
		return;
	}
	if (e && e->kind == C_SUB && s->arg_n[0] < sizeof(e->method) &&
	    !strncasecmp(e->method, s->arg[0], s->arg_n[0]) && !e->method[s->arg_n[0]]) {
		c->swallow = e->nsub > 1 ? e->nsub - 1 : 0;
		pair(r, s);
	} else if (e ? !e->method[0] : req_unseen(c)) {
		pair(r, s); /* for a command whose name was not captured */
	}
	/* else: another confirmation of an UNSUBSCRIBE of every channel */
}

static void reply_done(struct run *r, struct rs *s)
{
	struct redis_conn *c = r->c;
	struct rentry *e = q_head(c);

	if (s->top && strchr("_,#!=(%~>|", s->top))
		c->resp3 = true;
	if (c->verdict == V_UNKNOWN && !(s->flags & ZT_F_RESYNC))
		c->verdict = V_REDIS;
	if (is_confirmation(s) &&
	    (s->top == '>' || c->subscribed || c->swallow || (e && e->kind == C_SUB)))
		on_confirmation(r, s);
	else if (s->top == '>')
		; /* a push: not a reply */
	else if (is_message(s) && c->subscribed && !c->resp3)
		; /* a RESP2 pub/sub message */
	else if (s->top == '+' && c->monitor && s->line_len > 1 && is_digit(s->line[1]))
		; /* a monitored command */
	else if (!s->top && (c->subscribed || c->monitor))
		; /* lost before its first line: most likely a push */
	else
		pair(r, s);
	msg_end(s, S_ELEM);
}

/* A lost message ends (a feed start, a new command, or close). */
static void lost_end(struct run *r, struct rs *s)
{
	if (s->req) {
		struct rentry *e = s->has_entry ? q_find(r->c, s->seq) : NULL;

		if (e) {
			entry_fill(e, s, s->nelem);
			e->last_ns = s->last_ns;
			e->bytes = s->bytes;
			e->flags |= s->flags;
			e->done = true;
		}
		msg_end(s, S_ELEM);
		return;
	}
	reply_done(r, s);
}

/*
 * A command starts while the reply stream is lost. The commands sent before
 * the last reply bytes seen were answered in those bytes, by a client that
 * reads its replies before it sends more (redis-cli; redis-benchmark between
 * pipelines): the first gets the lost reply, the others theirs unseen.
 * Commands sent since still wait. (A client that pipelines without pause
 * may still be owed some of these: they are marked ZT_F_RESYNC.)
 */
static void replies_hidden(struct run *r, struct rs *o)
{
	struct redis_conn *c = r->c;
	uint32_t n = 0;

	while (n < c->q.count && q_at(c, n)->done && q_at(c, n)->last_ns <= o->last_ns)
		n++;
	if (!n)
		return;
	lost_end(r, o);
	while (--n && c->q.count) {
		struct rentry *e = q_at(c, 0);
		struct zt_txn t;

		txn_from_entry(&t, e);
		t.flags |= ZT_F_NO_RESPONSE | ZT_F_RESYNC;
		emit_txn(r, &t);
		q_pop(c);
	}
	c->taint = 0;
	msg_end(o, S_SKIP);
}

/* A command's first byte: its queue entry. */
static void cmd_begin(struct run *r, struct rs *s)
{
	struct redis_conn *c = r->c;
	struct rs *o = &c->s[!c->req_dir];
	struct rentry *e;
	bool waiting;

	if (o->state == S_LOST)
		replies_hidden(r, o);
	waiting = c->q.count > 0;
	e = q_push(r);
	e->first_ns = s->first_ns;
	e->last_ns = s->last_ns;
	if (waiting)
		e->flags |= ZT_F_PIPELINED;
	s->has_entry = true;
	s->seq = e->seq;
}

/* ---- element framing --------------------------------------------------- */

static void msg_done(struct run *r, struct rs *s)
{
	if (s->req)
		cmd_done(r, s, s->nelem);
	else
		reply_done(r, s);
}

/* An element is complete: close the aggregates it completes. */
static void elem_done(struct run *r, struct rs *s)
{
	s->state = S_ELEM;
	while (s->depth) {
		uint8_t d = s->depth - 1;
		bool attr;

		if (d == 0)
			s->idx++;
		if (--s->agg[d])
			return;
		attr = s->attr_mask >> d & 1;
		s->attr_mask &= ~(1u << d);
		s->depth = d;
		if (attr) { /* metadata of the next element, not an element */
			if (!d)
				top_reset(s);
			return;
		}
	}
	msg_done(r, s);
}

static void agg_header(struct run *r, struct rs *s, uint8_t t, int64_t n)
{
	uint64_t k = (uint64_t)n * (t == '%' || t == '|' ? 2 : 1);

	if (n == -1) { /* RESP2 null array */
		elem_done(r, s);
		return;
	}
	if (!s->depth)
		s->nelem = (uint64_t)n;
	if (!k) {
		if (t == '|')
			s->state = S_ELEM;
		else
			elem_done(r, s);
		return;
	}
	if (s->depth >= REDIS_DEPTH_MAX) {
		r->st->overflow++;
		msg_lose(r, s);
		return;
	}
	s->agg[s->depth] = k;
	if (t == '|')
		s->attr_mask |= 1u << s->depth;
	s->depth++;
	s->state = S_ELEM;
}

static void blob_header(struct run *r, struct rs *s, uint8_t t, int64_t n)
{
	if (n == -1) { /* RESP2 null bulk */
		elem_done(r, s);
		return;
	}
	s->blen = (uint64_t)n;
	s->remain = s->blen + 2;
	s->state = S_BLOB;
	s->slot = SLOT_NONE;
	if (s->req ? s->depth == 1 && s->idx < NARGS
		   : (s->depth == 0 && t == '!') || (s->depth == 1 && s->idx == 0))
		s->slot = s->req ? (uint8_t)s->idx : 0;
}

/* A scalar line's content, for the top aggregate's pub/sub shape. */
static void scalar_done(struct run *r, struct rs *s, uint8_t t, const char *p, size_t n)
{
	int64_t v;

	if (s->depth == 1 && s->idx == 2 && t == ':' && parse_int(p, n, &v)) {
		s->int2 = v;
		s->int2_seen = true;
	}
	elem_done(r, s);
}

/* A complete line in s->line (its first bytes) of s->line_len. */
static void line_end(struct run *r, struct rs *s)
{
	uint8_t t = (uint8_t)s->line[0];
	size_t kept = min64(s->line_len, sizeof(s->line)), n;
	bool whole = s->line_len <= sizeof(s->line);
	const char *p = s->line + 1;
	int64_t v = 0;

	if (kept < 2) { /* a bare LF where a type byte should be */
		malformed(r, s);
		return;
	}
	/* Content without type byte, CR, LF. */
	n = kept - 1;
	if (whole) {
		n--;
		if (n && p[n - 1] == '\r')
			n--;
	}
	if (!s->depth)
		s->top = t;
	if (s->req && !(s->depth ? t == '$' : t == '*')) {
		malformed(r, s);
		return;
	}
	if (!strchr("+-:$*_,#!=(%~>|", t) || !t ||
	    (!is_text_type(t) && !whole) || !line_valid(t, p, n)) {
		malformed(r, s);
		return;
	}
	if (is_agg_type(t) || is_blob_type(t)) {
		parse_int(p, n, &v);
		if (v > (int64_t)REDIS_LEN_MAX) {
			malformed(r, s);
			return;
		}
	}
	if (s->req && !s->depth) {
		if (v <= 0) { /* "*0", "*-1": Redis runs nothing */
			msg_end(s, S_ELEM);
			return;
		}
		cmd_begin(r, s);
	}
	if (is_agg_type(t))
		agg_header(r, s, t, v);
	else if (is_blob_type(t))
		blob_header(r, s, t, v);
	else
		scalar_done(r, s, t, p, n);
}

/* ---- steps -------------------------------------------------------------- */

/* Reply bytes we cannot place while a command waits are (part of) its
 * reply: nothing else comes unasked outside pub/sub and MONITOR. */
static bool reply_owed(const struct redis_conn *c, const struct rs *s)
{
	return !s->req && c->q.count && !c->subscribed && !c->monitor;
}

static void step_elem(struct run *r, struct rs *s, struct feed *f)
{
	uint8_t ch;

	if (f->off >= f->cap) { /* an element starts where we cannot see */
		if (!s->in_msg && reply_owed(r->c, s))
			msg_begin(s, f);
		msg_lose(r, s);
		return;
	}
	ch = f->data[f->off];
	if (!s->in_msg)
		msg_begin(s, f);
	s->line_len = 0;
	s->state = s->req && !s->depth && ch != '*' ? S_INLINE : S_LINE;
}

static void step_line(struct run *r, struct rs *s, struct feed *f)
{
	const uint8_t *p, *lf;
	uint32_t n, k;

	if (f->off >= f->cap) {
		msg_lose(r, s);
		return;
	}
	p = f->data + f->off;
	n = f->cap - f->off;
	lf = memchr(p, '\n', n);
	k = lf ? (uint32_t)(lf - p) + 1 : n;
	if (s->line_len < sizeof(s->line)) {
		uint32_t m = (uint32_t)min64(k, sizeof(s->line) - s->line_len);

		memcpy(s->line + s->line_len, p, m);
	}
	s->line_len = s->line_len + k < s->line_len ? UINT32_MAX : s->line_len + k;
	take(s, f, k);
	if (lf) {
		line_end(r, s);
	} else if (s->line_len > REDIS_NUM_LINE_MAX && !is_text_type((uint8_t)s->line[0])) {
		malformed(r, s);
	}
}

static void step_blob(struct run *r, struct rs *s, struct feed *f)
{
	uint64_t total = s->blen + 2, pos = total - s->remain;
	uint32_t n = (uint32_t)min64(f->len - f->off, s->remain);
	uint32_t ncap = f->off < f->cap ? (uint32_t)min64(n, f->cap - f->off) : 0;
	const uint8_t *p = ncap ? f->data + f->off : NULL;

	if (s->slot != SLOT_NONE) {
		uint64_t want = min64(s->blen, REDIS_ARG_KEEP);

		if (pos < want) {
			uint64_t e = min64(pos + n, want), ce = min64(pos + ncap, e);

			if (ce > pos)
				memcpy(s->arg[s->slot] + pos, p, ce - pos);
			if (ce < e)
				s->arg_blind[s->slot] = true;
		}
	}
	for (uint64_t i = pos > s->blen ? pos : s->blen; i < pos + ncap; i++) {
		if (p[i - pos] != (i == s->blen ? '\r' : '\n')) {
			take(s, f, (uint32_t)(i - pos));
			malformed(r, s);
			return;
		}
	}
	take(s, f, n);
	s->remain -= n;
	if (s->remain)
		return;
	if (s->slot != SLOT_NONE) {
		s->arg_n[s->slot] = (uint8_t)min64(s->blen, REDIS_ARG_KEEP);
		s->arg_long[s->slot] = s->blen > REDIS_ARG_KEEP;
		s->arg_done[s->slot] = true;
	}
	elem_done(r, s);
}

static void inline_tok_end(struct rs *s)
{
	if (!s->in_tok)
		return;
	if (s->ntok < NARGS)
		s->arg_done[s->ntok] = true;
	s->ntok++;
	s->in_tok = false;
}

static void inline_done(struct run *r, struct rs *s)
{
	inline_tok_end(s);
	if (!s->ntok) { /* an empty line: Redis runs nothing */
		msg_end(s, S_ELEM);
		return;
	}
	r->c->inline_seen = true;
	cmd_begin(r, s);
	cmd_done(r, s, s->ntok);
}

/* An inline command: words split by blanks up to the LF. Quoting is not
 * followed: only the first words matter and those are names. */
static void step_inline(struct run *r, struct rs *s, struct feed *f)
{
	const uint8_t *p, *lf;
	uint32_t n, k;

	if (f->off >= f->cap) {
		msg_lose(r, s);
		return;
	}
	p = f->data + f->off;
	n = f->cap - f->off;
	lf = memchr(p, '\n', n);
	k = lf ? (uint32_t)(lf - p) + 1 : n;
	for (uint32_t i = 0; i < k - (lf != NULL); i++) {
		uint8_t ch = p[i];

		if (ch == ' ' || ch == '\t' || ch == '\r') {
			inline_tok_end(s);
			continue;
		}
		if ((ch < 0x20 || ch == 0x7f) && r->c->verdict == V_UNKNOWN) {
			take(s, f, i);
			malformed(r, s);
			return;
		}
		s->in_tok = true;
		if (s->ntok < NARGS) {
			if (s->arg_n[s->ntok] < REDIS_ARG_KEEP)
				s->arg[s->ntok][s->arg_n[s->ntok]++] = (char)ch;
			else
				s->arg_long[s->ntok] = true;
		}
	}
	s->line_len += k;
	take(s, f, k);
	if (lf)
		inline_done(r, s);
	else if (s->line_len > REDIS_INLINE_MAX)
		malformed(r, s);
}

/*
 * A feed's first bytes are the only place a message start is believed
 * after lost framing.
 */
static void feed_start(struct run *r, struct rs *s, const struct feed *f)
{
	struct redis_conn *c = r->c;

	if ((s->state != S_LOST && s->state != S_SKIP) || !f->cap ||
	    !stream_start(c->inline_seen && s->prev_lf, s, f->data, f->cap))
		return;
	if (s->state == S_LOST) {
		/* A reply owed to the only command waiting goes on: nothing
		 * else was asked. */
		if (!s->req && c->q.count == 1 && !c->subscribed && !c->monitor && s->top != '>')
			return;
		uint32_t behind = !s->req && c->q.count > 1 ? c->q.count - 1 : 0;

		lost_end(r, s);
		if (behind)
			c->taint = behind;
	}
	s->state = S_ELEM;
}

/* ---- the connection ----------------------------------------------------- */

static void conn_init(struct redis_conn *c, const struct zt_proto_hint *h)
{
	memset(c, 0, sizeof(*c));
	zt_ring_reset(&c->q);
	c->s[0].fresh = c->s[1].fresh = true;
	if (h)
		c->hint = *h;
}

static void conn_free(struct redis_conn *c)
{
	zt_ring_free(&c->q);
}

static bool dir_by_hint(const struct zt_proto_hint *h)
{
	return h->role == ZT_ROLE_CLIENT || h->role == ZT_ROLE_SERVER || is_redis_port(h->lport) ||
	       is_redis_port(h->rport);
}

/* Which direction carries commands: the role, else a Redis port, else the
 * first captured bytes ("*" or a word: commands). */
static void decide_dir(struct run *r, enum zt_dir dir, const struct feed *f)
{
	struct redis_conn *c = r->c;
	const struct zt_proto_hint *h = &c->hint;

	if (h->role == ZT_ROLE_CLIENT)
		c->req_dir = ZT_DIR_OUT;
	else if (h->role == ZT_ROLE_SERVER)
		c->req_dir = ZT_DIR_IN;
	else if (is_redis_port(h->lport))
		c->req_dir = ZT_DIR_IN;
	else if (is_redis_port(h->rport))
		c->req_dir = ZT_DIR_OUT;
	else if (f->data[0] == '*' || is_alpha(f->data[0]))
		c->req_dir = dir;
	else
		c->req_dir = !dir;
	if (h->role != ZT_ROLE_CLIENT && h->role != ZT_ROLE_SERVER)
		count_midstream(r);
	c->s[c->req_dir].req = true;
	c->dir_known = true;
}

/* A direction's first feed: a message start, or we joined it midway. */
static void judge(struct run *r, struct rs *s, const struct feed *f)
{
	s->fresh = false;
	if (f->cap && start_plausible(r->c, s, f->data, f->cap))
		return;
	if (f->cap && r->c->verdict == V_UNKNOWN) {
		malformed(r, s);
		return;
	}
	count_midstream(r);
	msg_end(s, S_SKIP);
}

static int conn_feed(struct redis_conn *c, enum zt_dir dir, uint64_t ts, const uint8_t *data,
		     uint32_t cap, uint32_t len, const uint8_t *tail, uint32_t tail_len,
		     zt_txn_emit_fn emit, void *ctx, struct zt_proto_stats *st)
{
	struct zt_proto_stats scratch = { 0 };
	struct run r = { c, emit, ctx, st ? st : &scratch };
	struct feed f = { data, data ? (cap < len ? cap : len) : 0, len, 0, ts };
	struct rs *s;

	if (c->verdict == V_NOT)
		return -EPROTO;
	if (!len || (dir != ZT_DIR_IN && dir != ZT_DIR_OUT))
		return 0;
	if (!c->dir_known) {
		if (!f.cap && !dir_by_hint(&c->hint))
			return 0; /* nothing to place yet */
		decide_dir(&r, dir, &f);
	}
	s = &c->s[dir];
	if (s->fresh)
		judge(&r, s, &f);
	feed_start(&r, s, &f);
	while (f.off < f.len && c->verdict != V_NOT) {
		switch (s->state) {
		case S_ELEM:
			step_elem(&r, s, &f);
			break;
		case S_LINE:
			step_line(&r, s, &f);
			break;
		case S_BLOB:
			step_blob(&r, s, &f);
			break;
		case S_INLINE:
			step_inline(&r, s, &f);
			break;
		case S_LOST:
			take(s, &f, f.len - f.off);
			break;
		default: /* S_SKIP */
			if (reply_owed(c, s)) {
				msg_begin(s, &f);
				s->flags |= ZT_F_RESYNC;
				s->state = S_LOST;
				break;
			}
			f.off = f.len;
			s->last_ns = f.ts;
			break;
		}
	}
	if (c->verdict == V_NOT) {
		conn_free(c);
		return -EPROTO;
	}
	/* Where an inline command may start next (the tail is the last bytes
	 * of a message captured in part). */
	s->prev_lf = f.cap == len ? data[len - 1] == '\n'
				  : tail && tail_len && tail_len <= len && tail[tail_len - 1] == '\n';
	return 0;
}

static void conn_close(struct redis_conn *c, uint64_t ts, zt_txn_emit_fn emit, void *ctx,
		       struct zt_proto_stats *st)
{
	struct zt_proto_stats scratch = { 0 };
	struct run r = { c, emit, ctx, st ? st : &scratch };
	struct zt_proto_hint h = c->hint;

	(void)ts;
	if (c->verdict != V_NOT && c->dir_known) {
		struct rs *o = &c->s[!c->req_dir];

		struct rs *q = &c->s[c->req_dir];
		struct rentry *e = q->has_entry ? q_find(c, q->seq) : NULL;

		if (o->state == S_LOST && o->in_msg)
			replies_hidden(&r, o);
		if (o->state == S_LOST && o->in_msg)
			lost_end(&r, o);
		if (e && !e->done)
			entry_fill(e, q, q->nelem);
		while (c->q.count) {
			emit_unanswered(&r, q_at(c, 0));
			r.st->unanswered++;
			q_pop(c);
		}
	}
	conn_free(c);
	conn_init(c, &h);
}

/* ---- detection ---------------------------------------------------------- */

static int detect(const uint8_t *data, uint32_t cap, enum zt_dir dir, const struct zt_proto_hint *h)
{
	bool port = is_redis_port(h->lport) || is_redis_port(h->rport);
	bool known = h->role == ZT_ROLE_CLIENT || h->role == ZT_ROLE_SERVER;
	bool c2s = known && (h->role == ZT_ROLE_CLIENT) == (dir == ZT_DIR_OUT);

	if (!data || !cap)
		return ZT_DETECT_NO;
	if (array_bulk_start(data, cap)) {
		if (c2s)
			return ZT_DETECT_YES;
		if (port)
			return ZT_DETECT_PORT;
		return known ? ZT_DETECT_NO : ZT_DETECT_MAYBE;
	}
	if (!port)
		return ZT_DETECT_NO;
	if ((c2s || !known) && inline_start(data, cap))
		return ZT_DETECT_PORT;
	if ((!c2s || !known) && reply_start(data, cap))
		return ZT_DETECT_PORT;
	return ZT_DETECT_NO;
}

/* ---- the parser as the tracer sees it (proto.h) -------------------------- */

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

static int ops_detect(const uint8_t *data, uint32_t cap, uint32_t len, enum zt_dir dir,
		      const struct zt_proto_hint *h)
{
	(void)len;
	return detect(data, cap, dir, h);
}

const struct zt_proto_ops zt_proto_redis = {
	.name = "redis",
	.state_size = sizeof(struct redis_conn),
	.init = ops_init,
	.free = ops_free,
	.feed = ops_feed,
	.close = ops_close,
	.detect = ops_detect,
};
