// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * HTTP/1.x over both directions of one connection (see http1.h).
 *
 * Each direction is a stream of messages run by a small state machine
 * (struct h1_stream). A feed is walked with memchr over captured bytes and
 * by arithmetic over uncaptured ones: bodies are skipped by length, so a
 * 1 MB upload of which we saw 512 bytes costs the same as a GET.
 *
 * Requests enter a FIFO when their header is parsed; a final response pairs
 * with the oldest request still waiting for one, and an entry is emitted when
 * both its request and its response are complete (in FIFO order, so emission
 * follows the order of the requests).
 *
 * Where the framing could not be followed the message is "lost": it keeps
 * counting bytes until a later feed begins with a message start of its kind,
 * or the opposite direction shows that it must have ended (a new request ends
 * a response, a final response ends a request). Between messages, bytes we
 * cannot place are skipped until a feed begins with a message start. Only
 * feed starts are trusted as message starts: inside a body anything goes.
 *
 * After 101 Switching Protocols (or a 2xx to CONNECT) the connection no
 * longer speaks HTTP/1: its bytes are ignored silently (feed returns 0) so
 * that upgraded connections are not counted as "not HTTP"; requests still
 * queued come out at close.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http1.h"
#include "proto.h"
#include "ring.h"

/* A chunk-size line's extensions are skipped, but not forever. */
#define CHUNK_LINE_MAX 4096

_Static_assert((HTTP1_PIPELINE_MAX & (HTTP1_PIPELINE_MAX - 1)) == 0,
	       "the request ring grows by doubling up to HTTP1_PIPELINE_MAX");

enum verdict {
	V_UNKNOWN,  /* no captured byte seen yet */
	V_HTTP,
	V_NOT_HTTP, /* feed returns -EPROTO from now on */
	V_UPGRADED, /* 101 or CONNECT: bytes ignored from now on */
};

/* What the first bytes of a message say it is. */
enum kind {
	K_NONE, /* not an HTTP/1 message start */
	K_REQ,
	K_RESP,
	K_MORE, /* consistent so far; too few bytes to tell */
};

enum state {
	S_IDLE,       /* at a message boundary */
	S_HEADER,     /* inside a header block */
	S_BODY_LEN,   /* Content-Length body, `remain` bytes to go */
	S_CHUNK_SIZE, /* a chunk-size line (size in `remain` as it is read) */
	S_CHUNK_DATA, /* chunk data, `remain` bytes to go */
	S_CHUNK_CRLF, /* the CRLF closing chunk data, `line` bytes of it seen */
	S_TRAILER,    /* trailer fields after the last chunk */
	S_CHUNK_BLIND, /* chunked body whose framing was not captured: its end is
			* recognised in a message's tail (see chunked_end_seen) */
	S_BODY_CLOSE, /* response body delimited by the connection's close */
	S_LOST,       /* inside a message whose end we cannot see */
	S_SKIP,       /* between messages, position unknown */
};

enum resp_state { R_NONE, R_STARTED, R_DONE };

/* One direction of the connection. */
struct h1_stream {
	uint64_t remain;
	uint64_t bytes;            /* of the message in progress */
	uint64_t first_ns, last_ns;
	uint8_t *hbuf;             /* header block split over feeds; on demand */
	uint32_t hlen, hcap;
	uint32_t flags;            /* ZT_F_* of the message in progress */
	uint32_t seq;              /* its queue entry, when has_entry */
	uint32_t line;             /* bytes of the chunk/trailer line so far */
	uint8_t state;             /* enum state */
	uint8_t kind;              /* enum kind of the message in progress */
	uint8_t digits;            /* chunk-size hex digits read */
	bool fresh;                /* nothing fed in this direction yet */
	bool approx;               /* framing guessed after a cut header */
	bool maybe_done;           /* ... and it may have ended with that feed */
	bool has_entry;
	bool ext;                  /* chunk-size line: skipping extensions */
	bool cr;                   /* trailer line so far ends with CR */
};

/* A request, then its response, becoming one transaction. */
struct h1_entry {
	struct zt_txn t;
	uint32_t seq;
	bool req_done;
	uint8_t resp; /* enum resp_state */
};

struct http1_conn {
	struct h1_stream s[2];    /* by enum http1_dir */
	struct zt_ring q;          /* waiting for a response: q1, then a heap ring */
	struct h1_entry q1;       /* the ring while q.cap == 1: no allocation */
	uint32_t next_seq;
	uint8_t verdict;          /* enum verdict */
	bool midstream;           /* mark the next txn emitted ZT_F_MIDSTREAM */
	bool any_request;
};

/* Everything a feed or close needs to report with. */
struct run {
	struct http1_conn *c;
	zt_txn_emit_fn emit;
	void *ctx;
	struct http1_stats *st;
};

/* The feed being walked: data[0..cap) known, data[cap..len) only counted. */
struct feed {
	const uint8_t *data;
	uint32_t cap, len, off;
	uint64_t ts;
	const uint8_t *tail; /* data[len - tail_len .. len), when not captured */
	uint32_t tail_len;
};

/* Parsed header block. Pointers are into the block, valid while it is. */
struct hdr {
	uint8_t kind;
	uint8_t version;
	bool bad;         /* start line is not HTTP/1 */
	bool cl_seen, cl_bad, te_seen, te_chunked;
	int status;
	uint64_t cl;
	const uint8_t *method, *target, *tp;
	size_t method_len, target_len, tp_len;
};

size_t http1_conn_size(void)
{
	return sizeof(struct http1_conn);
}

/* ---- message starts ---------------------------------------------------- */

static const struct {
	char name[HTTP1_METHOD_MAX];
	uint8_t len;
} methods[] = {
	{ "GET", 3 }, { "POST", 4 }, { "PUT", 3 }, { "DELETE", 6 }, { "HEAD", 4 },
	{ "OPTIONS", 7 }, { "PATCH", 5 }, { "CONNECT", 7 }, { "TRACE", 5 },
	/* WebDAV (RFC 4918, 3253, 3648, 3744, 5323, 5842), CalDAV (RFC 4791) */
	{ "PROPFIND", 8 }, { "PROPPATCH", 9 }, { "MKCOL", 5 }, { "COPY", 4 }, { "MOVE", 4 },
	{ "LOCK", 4 }, { "UNLOCK", 6 }, { "SEARCH", 6 }, { "REPORT", 6 }, { "MKACTIVITY", 10 },
	{ "CHECKOUT", 8 }, { "CHECKIN", 7 }, { "UNCHECKOUT", 10 }, { "MERGE", 5 },
	{ "VERSION-CONTROL", 15 }, { "MKWORKSPACE", 11 }, { "UPDATE", 6 }, { "LABEL", 5 },
	{ "ORDERPATCH", 10 }, { "ACL", 3 }, { "BIND", 4 },
	{ "UNBIND", 6 }, { "REBIND", 6 }, { "MKCALENDAR", 10 },
	/* cache invalidation as nginx and Varnish deployments use it */
	{ "PURGE", 5 },
};

static bool is_digit(uint8_t ch)
{
	return ch >= '0' && ch <= '9';
}

static int hex_val(uint8_t ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/*
 * Is p[0..n) the start of a request ("METHOD SP x") or a response
 * ("HTTP/1.d")? Only a known method counts: this is what tells HTTP from
 * any other text protocol, and what a resync trusts inside unknown bytes.
 */
static enum kind start_check(const uint8_t *p, size_t n)
{
	bool more = false;

	if (n == 0)
		return K_MORE;
	if (p[0] == 'H' && (n < 2 || p[1] == 'T')) {
		if (memcmp(p, "HTTP/1.", n < 7 ? n : 7))
			return K_NONE;
		if (n < 8)
			return K_MORE;
		return is_digit(p[7]) ? K_RESP : K_NONE;
	}
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t l = methods[i].len;

		if (p[0] != (uint8_t)methods[i].name[0])
			continue;
		if (n <= l + 1) {
			if (!memcmp(p, methods[i].name, n < l ? n : l) && (n <= l || p[l] == ' '))
				more = true;
			continue;
		}
		/* The target follows the space: not another space, not a line end. */
		if (!memcmp(p, methods[i].name, l) && p[l] == ' ' && p[l + 1] > ' ' && p[l + 1] < 0x7f)
			return K_REQ;
	}
	return more ? K_MORE : K_NONE;
}

/* Defined with the header parsing below. */
static bool parse_request_line(const uint8_t *p, size_t n, bool whole, struct hdr *h);
static bool parse_status_line(const uint8_t *p, size_t n, struct hdr *h);

/*
 * start_check, and when the first line is there in full, the whole line:
 * what judges a connection must not take "GET key" (a Redis inline
 * command) for a request.
 */
static enum kind first_kind(const uint8_t *p, size_t n)
{
	enum kind k = start_check(p, n);
	const uint8_t *lf = memchr(p, '\n', n);
	size_t ll = lf ? (size_t)(lf - p) : n;
	struct hdr h;

	if (lf && ll && p[ll - 1] == '\r')
		ll--;
	if (k == K_REQ && lf && !parse_request_line(p, ll, true, &h))
		return K_NONE;
	if (k == K_RESP && (lf || ll >= 12) && !parse_status_line(p, ll, &h))
		return K_NONE;
	return k;
}

bool http1_detect(const uint8_t *data, uint32_t cap)
{
	enum kind k = data ? first_kind(data, cap) : K_NONE;

	return k == K_REQ || k == K_RESP;
}

/* ---- header blocks ----------------------------------------------------- */

/* "GET /x HTTP/1.1" (p[0..n) without its line end). A line cut by the
 * capture (`whole` false) yields what it holds, version assumed 1.1. */
static bool parse_request_line(const uint8_t *p, size_t n, bool whole, struct hdr *h)
{
	const uint8_t *sp = memchr(p, ' ', n), *t, *v;
	size_t rest;

	if (!sp || sp - p >= HTTP1_METHOD_MAX)
		return false;
	h->method = p;
	h->method_len = sp - p;
	t = sp + 1;
	rest = n - (t - p);
	h->version = 11;
	v = rest ? memrchr(t, ' ', rest) : NULL;
	if (!whole) {
		/* Drop a partial " HTTP/1.x" the cut left behind. */
		if (v && v > t) {
			size_t vl = rest - (v + 1 - t);

			if (!memcmp(v + 1, "HTTP/1.", vl < 7 ? vl : 7))
				rest = v - t;
		}
		h->target = t;
		h->target_len = rest;
		return true;
	}
	/* The version follows the last space, so a target with a stray space
	 * in it is kept whole rather than refused. */
	if (!v || v == t || rest - (v + 1 - t) != 8 || memcmp(v + 1, "HTTP/1.", 7) ||
	    !is_digit(v[8]))
		return false;
	h->version = v[8] == '0' ? 10 : 11;
	h->target = t;
	h->target_len = v - t;
	return true;
}

/* "HTTP/1.1 200 OK": status required even from a cut line. */
static bool parse_status_line(const uint8_t *p, size_t n, struct hdr *h)
{
	if (n < 12 || memcmp(p, "HTTP/1.", 7) || !is_digit(p[7]) || p[8] != ' ' ||
	    !is_digit(p[9]) || !is_digit(p[10]) || !is_digit(p[11]) || (n > 12 && p[12] != ' '))
		return false;
	h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	h->version = p[7] == '0' ? 10 : 11;
	return h->status >= 100;
}

static void skip_ows(const uint8_t **v, size_t *n)
{
	while (*n && (**v == ' ' || **v == '\t')) {
		(*v)++;
		(*n)--;
	}
	while (*n && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t'))
		(*n)--;
}

/* Content-Length: digits, or a list of the same digits (RFC 9110 8.6).
 * Anything else makes the framing unknowable. */
static void parse_content_length(const uint8_t *v, size_t n, struct hdr *h)
{
	size_t i = 0;

	if (!n)
		h->cl_bad = true;
	while (i < n && !h->cl_bad) {
		uint64_t x = 0;
		size_t d = 0;

		while (i < n && is_digit(v[i]) && d < 19) {
			x = x * 10 + (v[i++] - '0');
			d++;
		}
		if (!d || (i < n && is_digit(v[i])) || (h->cl_seen && x != h->cl)) {
			h->cl_bad = true;
			break;
		}
		h->cl = x;
		h->cl_seen = true;
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (i < n && v[i++] != ',')
			h->cl_bad = true;
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
	}
}

/* Transfer-Encoding: chunked counts only as the last coding (RFC 9112 6.1);
 * with several fields the last one's last coding is the final one. */
static void parse_transfer_encoding(const uint8_t *v, size_t n, struct hdr *h)
{
	const uint8_t *comma = n ? memrchr(v, ',', n) : NULL;

	if (comma) {
		n -= comma + 1 - v;
		v = comma + 1;
		skip_ows(&v, &n);
	}
	h->te_seen = true;
	h->te_chunked = n == 7 && !strncasecmp((const char *)v, "chunked", 7);
}

/* One field line (no line end). Only framing fields and traceparent are
 * looked at; no other value is ever kept. */
static void parse_field(const uint8_t *p, size_t n, struct hdr *h)
{
	const uint8_t *colon, *v;
	size_t nl, vl;

	if (n < 12 || p[0] == ' ' || p[0] == '\t') /* too short to matter, or obs-fold */
		return;
	colon = memchr(p, ':', n < 18 ? n : 18);
	if (!colon)
		return;
	nl = colon - p;
	v = colon + 1;
	vl = n - nl - 1;
	skip_ows(&v, &vl);
	if (nl == 14 && !strncasecmp((const char *)p, "content-length", 14))
		parse_content_length(v, vl, h);
	else if (nl == 17 && !strncasecmp((const char *)p, "transfer-encoding", 17))
		parse_transfer_encoding(v, vl, h);
	else if (nl == 11 && !h->tp && !strncasecmp((const char *)p, "traceparent", 11)) {
		h->tp = v;
		h->tp_len = vl;
	}
}

/*
 * Parses the header block at p[0..n): its start line and every complete
 * field line. Returns the block's length through its empty line, or 0 when
 * that is not in p[0..n). `cut` says no more of the block will be seen, so a
 * start line without its end is parsed as far as it goes rather than left
 * for later. h->bad when the start line is not HTTP/1.
 */
static size_t parse_block(const uint8_t *p, size_t n, bool cut, struct hdr *h)
{
	const uint8_t *lf = memchr(p, '\n', n);
	size_t ll = lf ? (size_t)(lf - p) : n, pos;

	memset(h, 0, sizeof(*h));
	if (!lf && !cut)
		return 0;
	if (lf && ll && p[ll - 1] == '\r')
		ll--;
	h->kind = start_check(p, ll);
	if (h->kind == K_REQ)
		h->bad = !parse_request_line(p, ll, lf != NULL, h);
	else if (h->kind == K_RESP)
		h->bad = !parse_status_line(p, ll, h);
	else
		h->bad = true;
	if (h->bad || !lf)
		return 0;
	for (pos = lf - p + 1; pos < n; pos = lf - p + 1) {
		lf = memchr(p + pos, '\n', n - pos);
		if (!lf)
			return 0;
		ll = lf - (p + pos);
		if (ll && p[pos + ll - 1] == '\r')
			ll--;
		if (!ll)
			return lf - p + 1;
		parse_field(p + pos, ll, h);
	}
	return 0;
}

/* The end of a header block accumulated so far, looking only at line ends
 * from `from` on (earlier ones were looked at already); 0 if not there. */
static size_t find_block_end(const uint8_t *p, size_t n, size_t from)
{
	while (from < n) {
		const uint8_t *lf = memchr(p + from, '\n', n - from);
		size_t i;

		if (!lf)
			return 0;
		i = lf - p;
		if (i >= 1 && p[i - 1] == '\n')
			return i + 1;
		if (i >= 2 && p[i - 1] == '\r' && p[i - 2] == '\n')
			return i + 1;
		from = i + 1;
	}
	return 0;
}

/* ---- the request queue ------------------------------------------------- */

static struct h1_entry *q_at(struct http1_conn *c, uint32_t i)
{
	return zt_ring_at(&c->q, &c->q1, sizeof(c->q1), i);
}

static struct h1_entry *q_find(struct http1_conn *c, uint32_t seq)
{
	uint32_t d;

	if (!c->q.count)
		return NULL;
	d = seq - q_at(c, 0)->seq;
	return d < c->q.count ? q_at(c, d) : NULL;
}

static void q_pop(struct http1_conn *c)
{
	zt_ring_pop(&c->q);
}

/* A new request at the tail; the oldest goes when the queue is full. */
static struct h1_entry *q_push(struct run *r)
{
	struct http1_conn *c = r->c;
	struct h1_entry *e;
	bool dropped;

	e = zt_ring_push(&c->q, &c->q1, sizeof(c->q1), HTTP1_PIPELINE_MAX, &dropped);
	if (dropped)
		r->st->pipeline_overflow++;
	e->t.protocol = "http";
	e->seq = c->next_seq++;
	c->any_request = true;
	return e;
}

/* The oldest request without a final response, if its response would come
 * in direction `dir`. */
static struct h1_entry *q_awaiting(struct http1_conn *c, enum http1_dir dir)
{
	for (uint32_t i = 0; i < c->q.count; i++) {
		struct h1_entry *e = q_at(c, i);

		if (e->resp == R_NONE)
			return e->t.server == (dir == HTTP1_OUT) ? e : NULL;
	}
	return NULL;
}

static void emit_entry(struct run *r, struct h1_entry *e)
{
	if (r->c->midstream) {
		e->t.flags |= ZT_F_MIDSTREAM;
		r->c->midstream = false;
	}
	if (r->emit)
		r->emit(r->ctx, &e->t);
}

/* Emits finished transactions, in request order. */
static void q_drain(struct run *r)
{
	struct http1_conn *c = r->c;

	while (c->q.count) {
		struct h1_entry *e = q_at(c, 0);

		if (!e->req_done || e->resp != R_DONE)
			break;
		emit_entry(r, e);
		q_pop(c);
	}
}

/* ---- message lifecycle ------------------------------------------------- */

/* Not kept for the next split header: it holds header values (Cookie,
 * Authorization) that must not outlive their parse. Split headers are rare
 * enough for a malloc each. */
static void hbuf_release(struct h1_stream *s)
{
	free(s->hbuf);
	s->hbuf = NULL;
	s->hcap = s->hlen = 0;
}

static void msg_reset(struct h1_stream *s, enum state next)
{
	s->state = next;
	s->kind = K_NONE;
	s->flags = 0;
	s->bytes = 0;
	s->remain = 0;
	s->line = 0;
	s->digits = 0;
	s->approx = s->maybe_done = s->has_entry = s->ext = s->cr = false;
	s->hlen = 0;
}

/* Counts n bytes of the feed into the message in progress. */
static void take(struct h1_stream *s, struct feed *f, uint32_t n)
{
	f->off += n;
	s->bytes += n;
	s->last_ns = f->ts;
}

/* The message in progress is complete: it goes to its queue entry. */
static void msg_done(struct run *r, struct h1_stream *s)
{
	struct h1_entry *e = s->has_entry ? q_find(r->c, s->seq) : NULL;

	if (e && s->kind == K_REQ) {
		e->t.req_last_ns = s->last_ns;
		e->t.req_bytes = s->bytes;
		e->t.flags |= s->flags;
		e->req_done = true;
	} else if (e) {
		e->t.resp_last_ns = s->last_ns;
		e->t.resp_bytes += s->bytes;
		e->t.flags |= s->flags;
		e->resp = R_DONE;
	}
	msg_reset(s, S_IDLE);
	q_drain(r);
}

/* Framing lost inside a message: count on until its end shows. */
static void msg_lose(struct run *r, struct h1_stream *s)
{
	s->flags |= ZT_F_RESYNC;
	s->approx = s->maybe_done = false;
	s->state = S_LOST;
	r->st->resyncs++;
}

/* Bytes that cannot be placed between messages: skip to a feed that starts
 * with a message. */
static void stream_skip(struct run *r, struct h1_stream *s, bool count)
{
	if (r->c->verdict == V_UNKNOWN) /* its first message was no message */
		r->c->verdict = V_NOT_HTTP;
	if (count)
		r->st->resyncs++;
	hbuf_release(s);
	msg_reset(s, S_SKIP);
}

static bool in_body(const struct h1_stream *s)
{
	return s->state >= S_BODY_LEN && s->state <= S_CHUNK_BLIND;
}

/*
 * The opposite direction just showed that a message of `kind` in stream `o`
 * is over (a new request: the response before it ended; a final response:
 * its request ended) — if `o` could not tell the end by itself.
 */
static void end_unframed(struct run *r, struct h1_stream *o, enum kind kind)
{
	if (o->kind != kind)
		return;
	if (o->state == S_BODY_CLOSE || (o->approx && !o->maybe_done && in_body(o))) {
		o->flags |= ZT_F_RESYNC;
		r->st->resyncs++;
	} else if (o->state != S_LOST && !(o->maybe_done && in_body(o))) {
		return;
	}
	msg_done(r, o);
	o->state = S_SKIP;
}

static void conn_upgraded(struct http1_conn *c)
{
	c->verdict = V_UPGRADED;
	hbuf_release(&c->s[HTTP1_IN]);
	hbuf_release(&c->s[HTTP1_OUT]);
}

/* ---- framing decisions once a header is parsed ------------------------- */

/*
 * A Content-Length body. After a cut header we cannot know where the body
 * starts. When the uncaptured rest of the feed could hold all of it, it may
 * have: a response is then taken to end with the feed, so that it is emitted
 * now; a request (emitted with its response anyway) waits for the next feed
 * or for the response to tell. Otherwise the header is taken to end with the
 * feed. Either way a feed starting with a new message ends it (s->approx).
 */
static void frame_length(struct run *r, struct h1_stream *s, struct feed *f, uint64_t cl,
			 bool complete)
{
	bool fits = !complete && f->len - f->cap >= cl;

	if (!cl || (fits && s->kind == K_RESP)) {
		msg_done(r, s);
		return;
	}
	s->remain = cl;
	s->state = S_BODY_LEN;
	s->approx = !complete;
	s->maybe_done = fits;
}

static void frame_chunked(struct h1_stream *s, bool complete)
{
	s->state = S_CHUNK_SIZE;
	s->remain = 0;
	s->digits = 0;
	s->ext = false;
	s->line = 0;
	/* After a cut header: the next feed must start with a chunk-size line. */
	s->approx = !complete;
}

/* Copies as sent, cut to fit, except control bytes (a NUL would silently
 * shorten the string; none is valid in a target or a traceparent). */
static void copy_cut(char *dst, size_t size, const uint8_t *src, size_t n, bool *cut)
{
	*cut = n > size - 1;
	if (*cut)
		n = size - 1;
	for (size_t i = 0; i < n; i++)
		dst[i] = src[i] < 0x20 || src[i] == 0x7f ? '?' : (char)src[i];
	dst[n] = '\0';
}

/*
 * A new request while the response direction is skipping bytes it could not
 * place: the responses owed so far were in those bytes (a client waits for
 * its response before the next request). Paired FIFO instead, the next
 * response seen would go to the wrong request.
 */
static void responses_unseen(struct run *r, enum http1_dir resp_dir)
{
	struct http1_conn *c = r->c;

	for (uint32_t i = 0; i < c->q.count; i++) {
		struct h1_entry *e = q_at(c, i);

		if (e->resp != R_NONE || e->t.server != (resp_dir == HTTP1_OUT))
			continue;
		e->resp = R_DONE;
		e->t.flags |= ZT_F_NO_RESPONSE | ZT_F_RESYNC;
	}
	q_drain(r);
}

static void on_request(struct run *r, struct h1_stream *s, struct feed *f, const struct hdr *h,
		       bool complete)
{
	struct http1_conn *c = r->c;
	enum http1_dir dir = s == &c->s[HTTP1_IN] ? HTTP1_IN : HTTP1_OUT;
	struct h1_entry *e;
	bool cut, waiting = false;

	end_unframed(r, &c->s[!dir], K_RESP);
	if (c->s[!dir].state == S_SKIP)
		responses_unseen(r, !dir);
	for (uint32_t i = 0; i < c->q.count; i++)
		waiting |= q_at(c, i)->resp != R_DONE;
	e = q_push(r);
	copy_cut(e->t.method, sizeof(e->t.method), h->method, h->method_len, &cut);
	copy_cut(e->t.target, sizeof(e->t.target), h->target, h->target_len, &cut);
	if (cut)
		s->flags |= ZT_F_TARGET_CUT;
	if (h->tp)
		copy_cut(e->t.traceparent, sizeof(e->t.traceparent), h->tp, h->tp_len, &cut);
	if (waiting)
		s->flags |= ZT_F_PIPELINED;
	e->t.version = h->version;
	e->t.server = dir == HTTP1_IN;
	e->t.req_first_ns = s->first_ns;
	e->t.req_last_ns = s->last_ns;
	e->t.req_bytes = s->bytes;
	e->t.flags = s->flags;
	s->has_entry = true;
	s->seq = e->seq;

	/* RFC 9112 6.3: chunked wins over a length; another coding in a
	 * request leaves no way to find its end. */
	if (h->te_seen && h->te_chunked)
		frame_chunked(s, complete);
	else if (h->te_seen || h->cl_bad)
		msg_lose(r, s);
	else if (h->cl_seen)
		frame_length(r, s, f, h->cl, complete);
	else if (complete)
		msg_done(r, s);
	else /* a Content-Length may have been in what was not captured */
		msg_lose(r, s);
}

static void on_response(struct run *r, struct h1_stream *s, struct feed *f, const struct hdr *h,
			bool complete)
{
	struct http1_conn *c = r->c;
	enum http1_dir dir = s == &c->s[HTTP1_IN] ? HTTP1_IN : HTTP1_OUT;
	struct h1_entry *e = q_awaiting(c, dir);
	int status = h->status;
	bool head = false, tunnel = false;

	if (status < 200 && status != 101) {
		/* 1xx: interim, the final response is still to come. Its bytes
		 * are the exchange's all the same. */
		if (e)
			e->t.resp_bytes += s->bytes;
		msg_reset(s, S_IDLE);
		return;
	}
	/* A final response: the request before it is over, wherever in the
	 * bytes we could not frame it ended. */
	end_unframed(r, &c->s[!dir], K_REQ);
	if (!e && c->any_request && c->s[!dir].state == S_SKIP) {
		/* Its request hid in request bytes we could not frame (after a
		 * body whose end was not captured): the exchange is real, only
		 * its method and target are unknown. */
		e = q_push(r);
		e->t.server = dir == HTTP1_OUT;
		e->t.version = h->version;
		e->t.req_first_ns = e->t.req_last_ns = c->s[!dir].last_ns;
		e->t.flags = ZT_F_REQ_UNSEEN;
		e->req_done = true;
		r->st->requests_unseen++;
	} else if (!e) {
		r->st->orphan_responses++;
		if (!c->any_request)
			c->midstream = true;
	}
	if (e) {
		e->resp = R_STARTED;
		e->t.status = status;
		e->t.failed = status >= 500;
		e->t.resp_first_ns = s->first_ns;
		s->has_entry = true;
		s->seq = e->seq;
		head = !strcmp(e->t.method, "HEAD");
		tunnel = status < 300 && !strcmp(e->t.method, "CONNECT");
	}
	if (status == 101 || tunnel) {
		s->flags |= ZT_F_UPGRADE;
		msg_done(r, s);
		conn_upgraded(c);
	} else if (head || status == 204 || status == 304) {
		msg_done(r, s);
	} else if (h->te_seen && h->te_chunked) {
		frame_chunked(s, complete);
	} else if (h->te_seen) { /* another final coding: the body ends at close */
		s->state = S_BODY_CLOSE;
	} else if (h->cl_bad || (!h->cl_seen && !complete)) {
		msg_lose(r, s);
	} else if (h->cl_seen) {
		frame_length(r, s, f, h->cl, complete);
	} else {
		s->state = S_BODY_CLOSE;
	}
}

/* A header block is parsed; `complete` false when the capture cut it (the
 * whole feed was then counted as header). */
static void on_header(struct run *r, struct h1_stream *s, struct feed *f, const struct hdr *h,
		      bool complete)
{
	s->kind = h->kind;
	if (!complete)
		s->flags |= ZT_F_TRUNCATED;
	if (h->kind == K_REQ)
		on_request(r, s, f, h, complete);
	else
		on_response(r, s, f, h, complete);
	hbuf_release(s); /* h points into it until here */
}

/* ---- one step of a feed per state ------------------------------------- */

static void header_too_big(struct run *r, struct h1_stream *s)
{
	r->st->header_too_big++;
	stream_skip(r, s, false);
}

/* The capture cut the header: parse what there is, count the rest of the
 * feed as header. */
static void header_cut(struct run *r, struct h1_stream *s, struct feed *f, const uint8_t *p,
		       size_t n)
{
	struct hdr h;

	parse_block(p, n, true, &h);
	if (h.bad) {
		stream_skip(r, s, true);
		return;
	}
	take(s, f, f->len - f->off);
	on_header(r, s, f, &h, false);
}

static bool hbuf_reserve(struct h1_stream *s, uint32_t need)
{
	uint32_t cap = s->hcap ? s->hcap : 1024;
	uint8_t *b;

	if (need <= s->hcap)
		return true;
	while (cap < need)
		cap *= 2;
	if (cap > HTTP1_HEADER_MAX)
		cap = HTTP1_HEADER_MAX;
	b = realloc(s->hbuf, cap);
	if (!b)
		return false;
	s->hbuf = b;
	s->hcap = cap;
	return true;
}

/* A header block continued from earlier feeds, in s->hbuf. */
static void header_more(struct run *r, struct h1_stream *s, struct feed *f)
{
	uint32_t avail = f->off < f->cap ? f->cap - f->off : 0;
	uint32_t n = HTTP1_HEADER_MAX - s->hlen, old = s->hlen;
	size_t end;
	struct hdr h;

	if (!avail) { /* the rest of this feed was not captured */
		header_cut(r, s, f, s->hbuf, s->hlen);
		return;
	}
	if (n > avail)
		n = avail;
	if (!hbuf_reserve(s, s->hlen + n)) {
		stream_skip(r, s, true);
		return;
	}
	memcpy(s->hbuf + s->hlen, f->data + f->off, n);
	s->hlen += n;
	if (s->kind == K_MORE) {
		s->kind = first_kind(s->hbuf, s->hlen);
		if (s->kind == K_NONE) {
			stream_skip(r, s, true);
			return;
		}
		if (s->kind != K_MORE && r->c->verdict == V_UNKNOWN)
			r->c->verdict = V_HTTP;
	}
	end = find_block_end(s->hbuf, s->hlen, old);
	if (end) {
		take(s, f, end - old);
		parse_block(s->hbuf, end, false, &h);
		if (h.bad)
			stream_skip(r, s, true);
		else
			on_header(r, s, f, &h, true);
		return;
	}
	if (s->hlen >= HTTP1_HEADER_MAX) {
		header_too_big(r, s);
		return;
	}
	take(s, f, n);
	if (f->cap < f->len)
		header_cut(r, s, f, s->hbuf, s->hlen);
}

/* A header block starting in this feed: the common case parses it in place. */
static void step_header(struct run *r, struct h1_stream *s, struct feed *f)
{
	const uint8_t *p;
	uint32_t avail;
	bool cut = f->cap < f->len;
	size_t end;
	struct hdr h;

	if (s->hlen) {
		header_more(r, s, f);
		return;
	}
	/* step_idle began the block on a captured byte of this feed. */
	p = f->data + f->off;
	avail = f->cap - f->off;
	end = parse_block(p, avail, cut, &h);
	if (h.bad) {
		stream_skip(r, s, true);
	} else if (end > HTTP1_HEADER_MAX || (!end && avail >= HTTP1_HEADER_MAX)) {
		header_too_big(r, s);
	} else if (end) {
		take(s, f, end);
		on_header(r, s, f, &h, true);
	} else if (cut) {
		take(s, f, f->len - f->off);
		on_header(r, s, f, &h, false);
	} else if (!hbuf_reserve(s, avail)) {
		stream_skip(r, s, true);
	} else { /* the block goes on in the next feed */
		memcpy(s->hbuf, p, avail);
		s->hlen = avail;
		take(s, f, avail);
	}
}

static void step_idle(struct run *r, struct h1_stream *s, struct feed *f)
{
	const uint8_t *p;
	enum kind k;

	if (f->off >= f->cap) { /* a message starts where we cannot see */
		stream_skip(r, s, true);
		return;
	}
	p = f->data + f->off;
	/* Empty lines before a message are to be ignored (RFC 9112 2.2). */
	if (*p == '\r' || *p == '\n') {
		f->off++;
		return;
	}
	k = start_check(p, f->cap - f->off);
	if (k == K_NONE || (k == K_MORE && f->cap < f->len)) {
		stream_skip(r, s, true);
		return;
	}
	msg_reset(s, S_HEADER);
	s->kind = k;
	s->first_ns = f->ts;
}

static void step_body_len(struct run *r, struct h1_stream *s, struct feed *f)
{
	uint32_t n = f->len - f->off;

	if (n > s->remain)
		n = (uint32_t)s->remain;
	take(s, f, n);
	s->remain -= n;
	if (!s->remain)
		msg_done(r, s);
}

/* "1a2b;ext=x\r\n", possibly split over feeds; the size builds in s->remain. */
static void step_chunk_size(struct run *r, struct h1_stream *s, struct feed *f)
{
	const uint8_t *start, *p, *end;
	bool eol = false;

	if (f->off >= f->cap) { /* the size is in what was not captured */
		s->state = S_CHUNK_BLIND;
		s->approx = true;
		s->maybe_done = false;
		return;
	}
	start = p = f->data + f->off;
	end = f->data + f->cap;
	while (p < end && !eol) {
		int v = hex_val(*p);

		if (s->ext) {
			const uint8_t *lf = memchr(p, '\n', end - p);

			p = lf ? lf + 1 : end;
			eol = lf != NULL;
		} else if (v >= 0 && s->digits < 16) {
			s->remain = s->remain << 4 | (uint64_t)v;
			s->digits++;
			p++;
		} else if (*p == '\n') {
			p++;
			eol = true;
		} else if (s->digits && (*p == ';' || *p == ' ' || *p == '\t' || *p == '\r')) {
			s->ext = true;
			p++;
		} else {
			take(s, f, p - start);
			msg_lose(r, s);
			return;
		}
	}
	take(s, f, p - start);
	s->line += p - start;
	if (!eol) {
		if (s->line > CHUNK_LINE_MAX)
			msg_lose(r, s);
		return;
	}
	if (!s->digits) {
		msg_lose(r, s);
		return;
	}
	s->state = s->remain ? S_CHUNK_DATA : S_TRAILER;
	s->digits = 0;
	s->ext = s->cr = false;
	s->line = 0;
}

static void step_chunk_data(struct run *r, struct h1_stream *s, struct feed *f)
{
	uint32_t n = f->len - f->off;

	if (n > s->remain)
		n = (uint32_t)s->remain;
	take(s, f, n);
	s->remain -= n;
	if (!s->remain) {
		s->state = S_CHUNK_CRLF;
		s->line = 0;
	}
}

static void step_chunk_crlf(struct run *r, struct h1_stream *s, struct feed *f)
{
	if (f->off >= f->cap) {
		/* Not captured: by the framing it is the CRLF. */
		take(s, f, 1);
		s->line++;
	} else if (f->data[f->off] == '\r' && !s->line) {
		take(s, f, 1);
		s->line = 1;
		return;
	} else if (f->data[f->off] == '\n') {
		take(s, f, 1);
		s->line = 2;
	} else {
		msg_lose(r, s);
		return;
	}
	if (s->line == 2) {
		s->state = S_CHUNK_SIZE;
		s->line = 0;
	}
}

/*
 * Does the feed end with the last chunk of a body ("0" CRLF, no trailer,
 * CRLF), in bytes from f->off on? Seen in captured bytes or in the tail the
 * kernel keeps of a message captured in part. Chunk data ending at a write's
 * end with exactly these bytes would fool it; the next message then shows
 * up as a new message all the same.
 */
static bool chunked_end_seen(const struct feed *f)
{
	static const uint8_t end7[] = "\r\n0\r\n\r\n", end5[] = "0\r\n\r\n";
	const uint8_t *last;
	uint32_t have;

	if (f->len - f->off < 5)
		return false;
	if (f->cap == f->len) {
		last = f->data + f->len;
		have = f->len;
	} else if (f->tail && f->tail_len) {
		last = f->tail + f->tail_len;
		have = f->tail_len;
	} else {
		return false;
	}
	if (have >= 7 && !memcmp(last - 7, end7, 7))
		return true;
	/* "0\r\n\r\n" alone: a whole write, or a whole last iovec (tail). */
	return !memcmp(last - 5, end5, 5) &&
	       (f->len - f->off == 5 || (f->cap < f->len && have == 5));
}

static void step_chunk_blind(struct run *r, struct h1_stream *s, struct feed *f)
{
	bool end = chunked_end_seen(f);

	take(s, f, f->len - f->off);
	if (end)
		msg_done(r, s);
}

/* Trailer fields, ended by an empty line; their values are not kept. */
static void step_trailer(struct run *r, struct h1_stream *s, struct feed *f)
{
	const uint8_t *p, *lf;
	uint32_t n, k;
	bool empty;

	if (f->off >= f->cap) {
		msg_lose(r, s);
		return;
	}
	p = f->data + f->off;
	n = f->cap - f->off;
	lf = memchr(p, '\n', n);
	if (!lf) {
		s->line += n;
		s->cr = p[n - 1] == '\r';
		take(s, f, n);
		if (s->line > HTTP1_HEADER_MAX)
			msg_lose(r, s);
		return;
	}
	k = lf - p;
	empty = s->line + k == 0 || (s->line + k == 1 && (k ? p[0] == '\r' : s->cr));
	take(s, f, k + 1);
	s->line = 0;
	s->cr = false;
	if (empty)
		msg_done(r, s);
}

/*
 * A feed's first bytes are the only place a message start is believed
 * inside bytes we could not frame: skipped bytes, a lost message, or a body
 * whose length was guessed after a cut header.
 */
static void feed_start(struct run *r, struct h1_stream *s, struct feed *f)
{
	enum kind k;

	if (!(s->state == S_SKIP || s->state == S_LOST || (s->approx && in_body(s))))
		return;
	k = f->cap ? start_check(f->data, f->cap) : K_NONE;
	if (s->state == S_SKIP) {
		/* A too-short start is given its chance when nothing is cut. */
		if (k == K_REQ || k == K_RESP || (k == K_MORE && f->cap == f->len))
			s->state = S_IDLE;
		return;
	}
	if (k != s->kind) {
		s->maybe_done = false; /* the body did follow */
		return;
	}
	if (s->state != S_LOST && !s->maybe_done) {
		s->flags |= ZT_F_RESYNC;
		r->st->resyncs++;
	}
	msg_done(r, s);
}

/* ---- API --------------------------------------------------------------- */

void http1_conn_init(struct http1_conn *c)
{
	memset(c, 0, sizeof(*c));
	zt_ring_reset(&c->q);
	c->s[HTTP1_IN].fresh = c->s[HTTP1_OUT].fresh = true;
}

void http1_conn_free(struct http1_conn *c)
{
	hbuf_release(&c->s[HTTP1_IN]);
	hbuf_release(&c->s[HTTP1_OUT]);
	zt_ring_free(&c->q);
}

/* The first captured bytes of the connection decide whether it is HTTP;
 * the first bytes of a direction decide whether we joined it midstream. */
static void judge(struct http1_conn *c, struct h1_stream *s, const struct feed *f)
{
	enum kind k;

	if (!s->fresh && c->verdict != V_UNKNOWN)
		return;
	k = f->cap ? first_kind(f->data, f->cap) : K_NONE;
	/* (A start too short to judge is being accumulated: header_more
	 * decides.) */
	if (c->verdict == V_UNKNOWN && f->cap && s->state != S_HEADER) {
		if (k == K_REQ || k == K_RESP)
			c->verdict = V_HTTP;
		else if (k != K_MORE || f->cap < f->len) /* a short whole message waits */
			c->verdict = V_NOT_HTTP;
	}
	if (s->fresh) {
		s->fresh = false;
		/* A start cut short is a resync (step_idle), not a sign that
		 * the connection began before we did. */
		if (k == K_NONE) {
			s->state = S_SKIP;
			c->midstream = true;
		}
	}
}

int http1_conn_feed(struct http1_conn *c, enum http1_dir dir, uint64_t ts_ns,
		    const uint8_t *data, uint32_t cap, uint32_t len,
		    const uint8_t *tail, uint32_t tail_len,
		    zt_txn_emit_fn emit, void *ctx, struct http1_stats *st)
{
	struct http1_stats scratch = { 0 };
	struct run r = { c, emit, ctx, st ? st : &scratch };
	struct feed f = { data, data ? (cap < len ? cap : len) : 0, len, 0, ts_ns,
			  tail, tail && tail_len <= len ? tail_len : 0 };
	struct h1_stream *s;

	if (c->verdict == V_NOT_HTTP)
		return -EPROTO;
	if (c->verdict == V_UPGRADED || !len || (dir != HTTP1_IN && dir != HTTP1_OUT))
		return 0;
	s = &c->s[dir];
	judge(c, s, &f);
	feed_start(&r, s, &f);
	while (f.off < f.len && (c->verdict == V_HTTP || c->verdict == V_UNKNOWN)) {
		switch (s->state) {
		case S_IDLE:
			step_idle(&r, s, &f);
			break;
		case S_HEADER:
			step_header(&r, s, &f);
			break;
		case S_BODY_LEN:
			step_body_len(&r, s, &f);
			break;
		case S_CHUNK_SIZE:
			step_chunk_size(&r, s, &f);
			break;
		case S_CHUNK_DATA:
			step_chunk_data(&r, s, &f);
			break;
		case S_CHUNK_CRLF:
			step_chunk_crlf(&r, s, &f);
			break;
		case S_TRAILER:
			step_trailer(&r, s, &f);
			break;
		case S_CHUNK_BLIND:
			step_chunk_blind(&r, s, &f);
			break;
		case S_BODY_CLOSE:
		case S_LOST:
			take(s, &f, f.len - f.off);
			break;
		default: /* S_SKIP: when these bytes came still dates what hid in them */
			f.off = f.len;
			s->last_ns = f.ts;
			break;
		}
	}
	if (c->verdict == V_NOT_HTTP) {
		http1_conn_free(c);
		return -EPROTO;
	}
	return 0;
}

/* At close a message still open ends with the last byte seen of it. */
static void close_stream(struct run *r, struct h1_stream *s)
{
	if (s->state == S_BODY_CLOSE)
		s->flags |= ZT_F_CLOSE_DELIM;
	if (s->state == S_BODY_CLOSE || s->state == S_LOST || in_body(s))
		msg_done(r, s);
}

void http1_conn_close(struct http1_conn *c, uint64_t ts_ns,
		      zt_txn_emit_fn emit, void *ctx, struct http1_stats *st)
{
	struct http1_stats scratch = { 0 };
	struct run r = { c, emit, ctx, st ? st : &scratch };

	if (c->verdict == V_HTTP || c->verdict == V_UPGRADED) {
		close_stream(&r, &c->s[HTTP1_OUT]);
		close_stream(&r, &c->s[HTTP1_IN]);
		while (c->q.count) {
			struct h1_entry *e = q_at(c, 0);

			if (e->resp != R_DONE) {
				e->t.status = 0;
				e->t.resp_first_ns = e->t.resp_last_ns = 0;
				e->t.flags |= ZT_F_NO_RESPONSE;
				r.st->unanswered++;
			}
			emit_entry(&r, e);
			q_pop(c);
		}
	}
	/* Ready for another connection, or to be freed. */
	http1_conn_free(c);
	http1_conn_init(c);
}

/* The parser as the tracer sees it (user/proto/proto.h). */
static void ops_init(void *state, const struct zt_proto_hint *h)
{
	http1_conn_init(state);
}

static void ops_free(void *state)
{
	http1_conn_free(state);
}

static int ops_feed(void *state, enum zt_dir dir, uint64_t ts_ns, const uint8_t *data, uint32_t cap,
		    uint32_t len, const uint8_t *tail, uint32_t tail_len, zt_txn_emit_fn emit,
		    void *ctx, void *stats)
{
	return http1_conn_feed(state, dir == ZT_DIR_IN ? HTTP1_IN : HTTP1_OUT, ts_ns, data, cap, len,
			       tail, tail_len, emit, ctx, stats);
}

static void ops_close(void *state, uint64_t ts_ns, zt_txn_emit_fn emit, void *ctx, void *stats)
{
	http1_conn_close(state, ts_ns, emit, ctx, stats);
}

static int ops_detect(const uint8_t *data, uint32_t cap, uint32_t len, enum zt_dir dir,
		      const struct zt_proto_hint *h)
{
	return http1_detect(data, cap) ? ZT_DETECT_YES : ZT_DETECT_NO;
}

const struct zt_proto_ops zt_proto_http1 = {
	.name = "http",
	.state_size = sizeof(struct http1_conn),
	.init = ops_init,
	.free = ops_free,
	.feed = ops_feed,
	.close = ops_close,
	.detect = ops_detect,
};
