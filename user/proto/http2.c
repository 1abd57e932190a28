// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * HTTP/2 and gRPC over both directions of one connection (see http2.h).
 *
 * Each direction walks its bytes frame by frame: a 9-byte frame header
 * (kept across messages when split), then the payload, looked at only where
 * it matters (header block fragments, the first bytes of RST_STREAM and
 * GOAWAY, SETTINGS entries, gRPC message prefixes in DATA) and otherwise
 * counted through by length, captured or not.
 *
 * Streams live in a small table (grown by doubling up to H2_STREAMS_MAX),
 * created by the client's HEADERS on a new odd id and emitted when the
 * response ends; the common path allocates only that table and the HPACK
 * inflaters (a header block is decoded in place when one captured frame
 * holds it whole, copied otherwise).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "../flags.h"
#include "http2.h"
#include "proto.h"

enum ftype {
	F_DATA = 0,
	F_HEADERS = 1,
	F_PRIORITY = 2,
	F_RST = 3,
	F_SETTINGS = 4,
	F_PUSH = 5,
	F_PING = 6,
	F_GOAWAY = 7,
	F_WINDOW = 8,
	F_CONT = 9,
};

#define FL_END_STREAM 0x1
#define FL_ACK 0x1
#define FL_END_HEADERS 0x4
#define FL_PADDED 0x8
#define FL_PRIORITY 0x20

#define FRAME_MAX ((1u << 24) - 1)

/* How a direction's bytes began: decides whether its HPACK state is known. */
enum start {
	ST_UNSEEN,  /* nothing fed yet */
	ST_PENDING, /* judged by the first frame header, still to come */
	ST_FRESH,   /* the preface (client) or a first SETTINGS (server) */
	ST_MID,    /* anything else: joined after the start */
};

/* gRPC messages in one direction of a stream: 5-byte prefix, then body. */
struct h2_gm {
	uint32_t need;   /* body bytes left of the current message */
	uint32_t msgs;
	uint8_t pre[5];
	uint8_t pre_len;
	bool lost;       /* a prefix was not captured: counting stopped */
};

struct h2_stream {
	struct zt_txn t;
	uint32_t id;
	uint32_t seq;    /* creation order: the oldest is dropped first */
	uint8_t req_dir; /* enum zt_dir the request came in */
	bool resp_final; /* final (non-1xx) response headers seen */
	bool resp_end;   /* the response's END_STREAM seen */
	bool resp_blind; /* a header block of the response could not be decoded */
	bool grpc;
	bool grpc_status_seen;
	bool reset;
	struct h2_gm gm[2]; /* by enum zt_dir */
};

/* Header fields of one decoded block that spans are made of. */
struct h2_hdrs {
	char method[ZT_TXN_OP_MAX];
	char target[ZT_TXN_TARGET_MAX];
	char tp[ZT_TXN_TRACEPARENT_MAX];
	bool target_cut;
	bool has_method, has_status, grpc, has_grpc_status;
	int status;
	int grpc_status;
};

struct h2_dir {
	nghttp2_hd_inflater *inf;
	uint32_t table_max;  /* SETTINGS_HEADER_TABLE_SIZE for this decoder */
	uint32_t max_frame;  /* SETTINGS_MAX_FRAME_SIZE this direction must keep */

	/* The frame in progress. */
	uint8_t fh[9];
	uint8_t fh_len;
	bool in_payload;
	uint8_t type, fflags;
	uint32_t sid, flen, foff;
	uint32_t frag_start, frag_end; /* payload range holding the fragment/data */
	bool frag_known;               /* frag_end known (the pad length read) */
	uint64_t frame_ts;             /* when its header arrived */
	uint8_t ctl[8];                /* first payload bytes of RST/GOAWAY/SETTINGS */
	uint8_t ctl_len;
	bool ctl_lost;

	/* The header block in progress (HEADERS/PUSH_PROMISE + CONTINUATION). */
	uint8_t *hb;
	uint32_t hb_len, hb_cap;
	uint32_t hb_sid;
	uint64_t hb_ts, hb_bytes;
	bool hb_open, hb_lost, hb_end_stream, hb_push;

	uint32_t preface_left; /* preface bytes still to skip */
	uint32_t checked;      /* frame headers checked strictly */
	uint32_t misses;       /* message starts that were not frame starts */
	uint8_t start;         /* enum start */
	bool lost;             /* framing lost: waiting for a message start */
	bool hpack_lost;
	bool synced;           /* followed at least one frame */
};

struct h2_conn {
	struct h2_dir d[2];  /* by enum zt_dir */
	struct h2_stream *s; /* n of cap; unordered */
	uint32_t n, cap;
	uint32_t next_seq;
	uint32_t last_client_sid;
	int8_t client_dir;   /* enum zt_dir, or -1 while unknown */
	bool client_sure;    /* from the preface, not a guess */
	bool confirmed;      /* a preface was seen: surely HTTP/2 */
	bool midstream;      /* counted once */
	bool dead;           /* gave up: -EPROTO from now on */
};

struct run {
	struct h2_conn *c;
	zt_txn_emit_fn emit;
	void *ctx;
	struct zt_proto_stats *st;
};

/* The message being walked: data[0..cap) known, data[cap..len) counted. */
struct feed {
	const uint8_t *data;
	uint32_t cap, len, off;
	uint64_t ts;
	uint8_t dir;
};

static const char *const grpc_codes[] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
};

static const char *const h2_errors[] = {
	"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
	"STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR",
	"CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
};

#define GRPC_UNKNOWN 2
#define GRPC_CODES (int)(sizeof(grpc_codes) / sizeof(grpc_codes[0]))

static uint32_t be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- frame headers ----------------------------------------------------- */

/*
 * Could these 9 bytes be a frame header a real peer sends? Known types only,
 * defined flags only, the stream-id and fixed-length rules of RFC 9113
 * section 6. What judges bytes of unknown origin (detection, resync).
 */
static bool frame_plausible(const uint8_t *h, uint32_t max_frame)
{
	uint32_t len = be24(h), sid = be32(h + 5);
	uint8_t type = h[3], fl = h[4];

	if (len > max_frame || (sid & 0x80000000u))
		return false;
	switch (type) {
	case F_DATA:
		return sid && !(fl & ~(FL_END_STREAM | FL_PADDED));
	case F_HEADERS:
		return sid && !(fl & ~(FL_END_STREAM | FL_END_HEADERS | FL_PADDED | FL_PRIORITY));
	case F_PRIORITY:
		return sid && len == 5 && !fl;
	case F_RST:
		return sid && len == 4 && !fl;
	case F_SETTINGS:
		return !sid && !(fl & ~FL_ACK) && len % 6 == 0 && (!(fl & FL_ACK) || !len);
	case F_PUSH:
		return sid && !(sid & 1) && len >= 4 && !(fl & ~(FL_END_HEADERS | FL_PADDED));
	case F_PING:
		return !sid && len == 8 && !(fl & ~FL_ACK);
	case F_GOAWAY:
		return !sid && len >= 8 && !fl;
	case F_WINDOW:
		return len == 4 && !fl;
	default: /* a CONTINUATION never starts what we can judge */
		return false;
	}
}

/* A CONTINUATION of the block open on stream `sid`, and nothing else. */
static bool cont_plausible(const uint8_t *h, uint32_t sid, uint32_t max_frame)
{
	return be24(h) <= max_frame && h[3] == F_CONT && be32(h + 5) == sid &&
	       !(h[4] & ~FL_END_HEADERS);
}

/* Does a message start with the client preface (or as much of it as was
 * captured: 4 bytes at least, "PRI " starts no HTTP/1 request, unless the
 * message is shorter)? */
static bool preface_start(const uint8_t *p, uint32_t cap, uint32_t len)
{
	uint32_t n = cap < H2_PREFACE_LEN ? cap : H2_PREFACE_LEN;

	return p && n && (n >= 4 || cap == len) && !memcmp(p, H2_PREFACE, n);
}

/*
 * Do the captured bytes p[0..cap) of a `len`-byte message start with a chain
 * of plausible frames? Every header within the capture must be plausible and,
 * when `exact`, a message captured whole must end where its last frame does
 * (what a sender's write does; a receiver's read may end anywhere).
 */
static bool chain_plausible(const uint8_t *p, uint32_t cap, uint32_t len, uint32_t max_frame,
			    bool exact)
{
	uint64_t off = 0;
	uint32_t cont = 0; /* stream whose header block goes on, 0 for none */

	if (cap < 9)
		return false;
	while (off + 9 <= cap) {
		const uint8_t *h = p + off;
		uint32_t sid = be32(h + 5);

		if (cont ? !cont_plausible(h, cont, max_frame) : !frame_plausible(h, max_frame))
			return false;
		if ((h[3] == F_HEADERS || h[3] == F_PUSH || h[3] == F_CONT) && !(h[4] & FL_END_HEADERS))
			cont = sid;
		else
			cont = 0;
		off += 9 + (uint64_t)be24(h);
	}
	return cap < len || !exact || off == len;
}

/* Ports HTTP/2 servers listen on: they only break ties. */
static const uint16_t h2_ports[] = { 80, 443, 8080, 8443, 50051 };

static bool port_h2(const struct zt_proto_hint *h)
{
	for (size_t i = 0; i < sizeof(h2_ports) / sizeof(h2_ports[0]); i++)
		if (zt_proto_port_is(h, h2_ports[i]))
			return true;
	return false;
}

/* ---- streams ----------------------------------------------------------- */

static struct h2_stream *stream_find(struct h2_conn *c, uint32_t id)
{
	for (uint32_t i = 0; i < c->n; i++)
		if (c->s[i].id == id)
			return &c->s[i];
	return NULL;
}

static void stream_remove(struct h2_conn *c, struct h2_stream *s)
{
	uint32_t i = s - c->s;

	if (i + 1 < c->n)
		c->s[i] = c->s[c->n - 1];
	c->n--;
}

static bool streams_grow(struct h2_conn *c)
{
	uint32_t cap = c->cap ? c->cap * 2 : 4;
	struct h2_stream *s;

	if (cap > H2_STREAMS_MAX)
		return false;
	s = realloc(c->s, cap * sizeof(*s));
	if (!s)
		return false;
	c->s = s;
	c->cap = cap;
	return true;
}

/* A new stream; the oldest open one is dropped when the table is full. */
static struct h2_stream *stream_new(struct run *r, uint32_t id, uint8_t dir)
{
	struct h2_conn *c = r->c;
	struct h2_stream *s;

	if (c->n == c->cap && !streams_grow(c)) {
		struct h2_stream *old = NULL;

		if (!c->n)
			return NULL;
		for (uint32_t i = 0; i < c->n; i++)
			if (!old || c->s[i].seq - c->next_seq < old->seq - c->next_seq)
				old = &c->s[i];
		stream_remove(c, old);
		r->st->overflow++;
	}
	s = &c->s[c->n++];
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->seq = c->next_seq++;
	s->req_dir = dir;
	s->t.protocol = "http2";
	s->t.version = 20;
	s->t.stream = id;
	s->t.server = dir == ZT_DIR_IN;
	return s;
}

static void grpc_finish(struct h2_stream *s)
{
	struct zt_txn *t = &s->t;

	t->protocol = "grpc";
	if (s->gm[0].msgs > 1 || s->gm[1].msgs > 1)
		t->flags |= ZT_F_STREAMING;
	if (t->flags & ZT_F_NO_RESPONSE)
		return;
	if (!s->grpc_status_seen && !s->reset && s->resp_end && !s->resp_blind) {
		/* A response ended, every header of it seen, and no grpc-status:
		 * the HTTP status says why (gRPC's http-grpc-status-mapping),
		 * else the call failed unexplained. */
		switch (t->status) {
		case 400: t->status = 13; break;
		case 401: t->status = 16; break;
		case 403: t->status = 7; break;
		case 404: t->status = 12; break;
		case 429: case 502: case 503: case 504: t->status = 14; break;
		default: t->status = GRPC_UNKNOWN; break;
		}
		s->grpc_status_seen = true;
	}
	if (!s->grpc_status_seen) {
		t->status = 0; /* the HTTP status is no gRPC status */
	} else {
		t->failed = t->status != 0;
		if (t->status > 0 && t->status < GRPC_CODES)
			snprintf(t->error, sizeof(t->error), "%s", grpc_codes[t->status]);
		else if (t->status)
			snprintf(t->error, sizeof(t->error), "%d", t->status);
	}
}

static void stream_emit(struct run *r, struct h2_stream *s)
{
	if (s->grpc)
		grpc_finish(s);
	else if (!s->reset)
		s->t.failed = s->t.status >= 500;
	if (r->emit)
		r->emit(r->ctx, &s->t);
	stream_remove(r->c, s);
}

/* No response will come: the stream ends with its request. */
static void stream_unanswered(struct run *r, struct h2_stream *s)
{
	s->t.flags |= ZT_F_NO_RESPONSE;
	s->t.status = 0;
	s->t.resp_first_ns = s->t.resp_last_ns = 0;
	s->t.resp_bytes = 0;
	r->st->unanswered++;
	stream_emit(r, s);
}

/* ---- directions and HPACK ---------------------------------------------- */

static void hb_release(struct h2_dir *d)
{
	free(d->hb);
	d->hb = NULL;
	d->hb_len = d->hb_cap = 0;
}

/* From now on this direction's header blocks cannot be decoded. */
static void hpack_lose(struct h2_dir *d)
{
	d->hpack_lost = true;
	if (d->inf) {
		nghttp2_hd_inflate_del(d->inf);
		d->inf = NULL;
	}
	hb_release(d);
}

static bool hpack_known(const struct h2_conn *c, const struct h2_dir *d)
{
	return !d->hpack_lost && d->start == ST_FRESH && c->confirmed && c->client_sure;
}

/* Copies a header value for a span: cut to fit, control bytes replaced. */
static bool copy_value(char *dst, size_t size, const uint8_t *v, size_t n)
{
	bool cut = n >= size;

	if (cut)
		n = size - 1;
	for (size_t i = 0; i < n; i++)
		dst[i] = v[i] < 0x20 || v[i] == 0x7f ? '?' : (char)v[i];
	dst[n] = '\0';
	return cut;
}

static bool name_is(const nghttp2_nv *nv, const char *name)
{
	size_t n = strlen(name);

	return nv->namelen == n && !memcmp(nv->name, name, n);
}

static int parse_int(const uint8_t *v, size_t n, int max)
{
	int x = 0;

	if (!n || n > 9)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	return x <= max ? x : -1;
}

/* Keeps the fields spans are made of; every other value is passed over. */
static void on_field(struct h2_hdrs *h, const nghttp2_nv *nv)
{
	if (name_is(nv, ":method")) {
		h->has_method = true;
		copy_value(h->method, sizeof(h->method), nv->value, nv->valuelen);
	} else if (name_is(nv, ":path")) {
		h->target_cut = copy_value(h->target, sizeof(h->target), nv->value, nv->valuelen);
	} else if (name_is(nv, ":status")) {
		int st = parse_int(nv->value, nv->valuelen, 999);

		h->has_status = st >= 100;
		h->status = st >= 100 ? st : 0;
	} else if (name_is(nv, "content-type")) {
		h->grpc = nv->valuelen >= 16 && !memcmp(nv->value, "application/grpc", 16) &&
			  (nv->valuelen == 16 || nv->value[16] == '+' || nv->value[16] == ';');
	} else if (name_is(nv, "grpc-status")) {
		int st = parse_int(nv->value, nv->valuelen, 999999);

		h->has_grpc_status = st >= 0;
		h->grpc_status = st;
	} else if (name_is(nv, "traceparent") && !h->tp[0]) {
		copy_value(h->tp, sizeof(h->tp), nv->value, nv->valuelen);
	}
}

static bool inflater_ready(struct h2_dir *d)
{
	if (d->inf)
		return true;
	if (nghttp2_hd_inflate_new(&d->inf))
		return false;
	if (d->table_max != 4096 && nghttp2_hd_inflate_change_table_size(d->inf, d->table_max)) {
		nghttp2_hd_inflate_del(d->inf);
		d->inf = NULL;
		return false;
	}
	return true;
}

/* Decodes one whole header block; false when nghttp2 refuses it. */
static bool inflate_block(struct h2_dir *d, const uint8_t *in, size_t n, struct h2_hdrs *h)
{
	static const uint8_t empty[1];

	memset(h, 0, sizeof(*h));
	h->grpc_status = -1;
	if (!in) /* an empty block never got a buffer */
		in = empty;
	if (!inflater_ready(d))
		return false;
	for (;;) {
		nghttp2_nv nv;
		int fl = 0;
		ssize_t rv = nghttp2_hd_inflate_hd2(d->inf, &nv, &fl, in, n, 1);

		if (rv < 0)
			return false;
		in += rv;
		n -= (size_t)rv;
		if (fl & NGHTTP2_HD_INFLATE_EMIT)
			on_field(h, &nv);
		if (fl & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(d->inf);
			return true;
		}
		if (!(fl & NGHTTP2_HD_INFLATE_EMIT) && !n)
			return false;
	}
}

/* ---- header blocks become requests and responses ----------------------- */

static void apply_request(struct h2_stream *s, const struct h2_hdrs *h)
{
	memcpy(s->t.method, h->method, sizeof(s->t.method));
	memcpy(s->t.target, h->target, sizeof(s->t.target));
	memcpy(s->t.traceparent, h->tp, sizeof(s->t.traceparent));
	if (h->target_cut)
		s->t.flags |= ZT_F_TARGET_CUT;
	s->grpc |= h->grpc;
}

/* Headers from the responder: interim, final, or trailers. */
static void on_response(struct h2_stream *s, const struct h2_hdrs *h, uint64_t ts)
{
	if (!h) {
		s->t.flags |= ZT_F_HDRS_UNKNOWN;
		s->resp_blind = true;
	} else if (!s->resp_final && h->has_status && h->status < 200) {
		return; /* 1xx: the final response is still to come */
	} else if (!s->resp_final) {
		s->t.status = h->status;
		s->grpc |= h->grpc;
	}
	if (h && h->has_grpc_status && s->grpc) {
		s->t.status = h->grpc_status;
		s->grpc_status_seen = true;
	}
	if (!s->resp_final) {
		s->resp_final = true;
		s->t.resp_first_ns = ts;
	}
}

/*
 * Which direction sends requests, when no preface said so: the role the
 * kernel saw, then a well-known server port, then the first HEADERS on an
 * odd stream (a guess; a preface, when one shows, overrides it).
 */
static void client_guess(struct h2_conn *c, const struct zt_proto_hint *h)
{
	if (h->role == ZT_ROLE_CLIENT || h->role == ZT_ROLE_SERVER) {
		c->client_dir = h->role == ZT_ROLE_CLIENT ? ZT_DIR_OUT : ZT_DIR_IN;
		return;
	}
	for (size_t i = 0; i < sizeof(h2_ports) / sizeof(h2_ports[0]); i++) {
		if (h->lport == h2_ports[i]) {
			c->client_dir = ZT_DIR_IN;
			return;
		}
		if (h->rport == h2_ports[i]) {
			c->client_dir = ZT_DIR_OUT;
			return;
		}
	}
}

/* A header block ended; h is NULL when its fields are unknown. */
static void on_block(struct run *r, struct h2_dir *d, uint8_t dir, const struct h2_hdrs *h)
{
	struct h2_conn *c = r->c;
	uint32_t sid = d->hb_sid;
	struct h2_stream *s;
	bool end = d->hb_end_stream;

	if (d->hb_push || !(sid & 1))
		return; /* server push: decoded only to keep HPACK in step */
	if (c->client_dir < 0)
		c->client_dir = dir;
	s = stream_find(c, sid);
	if (!s) {
		if (dir != c->client_dir || sid <= c->last_client_sid) {
			/* A response, or trailers, of a request we did not see. */
			if (dir != c->client_dir)
				r->st->orphan_responses++;
			return;
		}
		c->last_client_sid = sid;
		s = stream_new(r, sid, dir);
		if (!s)
			return;
		s->t.req_first_ns = d->hb_ts;
		if (h)
			apply_request(s, h);
		else
			s->t.flags |= ZT_F_HDRS_UNKNOWN;
	} else if (dir != s->req_dir) {
		on_response(s, h, d->hb_ts);
	}
	if (dir == s->req_dir) {
		s->t.req_bytes += d->hb_bytes;
		s->t.req_last_ns = d->frame_ts;
		return;
	}
	s->t.resp_bytes += d->hb_bytes;
	s->t.resp_last_ns = d->frame_ts;
	if (end) {
		s->resp_end = true;
		stream_emit(r, s);
	}
}

/* END_HEADERS: the block is decoded if it can be, then acted on. */
static void block_end(struct run *r, struct h2_dir *d, uint8_t dir, const uint8_t *in, uint32_t n)
{
	struct h2_hdrs h;
	bool known = false;

	d->hb_open = false;
	if (!d->hb_lost && hpack_known(r->c, d)) {
		known = inflate_block(d, in, n, &h);
		if (!known)
			r->st->malformed++;
	}
	/* A block not decoded leaves the decoder behind the encoder. */
	if (!known && !d->hpack_lost)
		hpack_lose(d);
	on_block(r, d, dir, known ? &h : NULL);
	hb_release(d);
}

/* A block is abandoned: its bytes were not all seen, or broke the rules. */
static void block_lose(struct h2_dir *d)
{
	d->hb_lost = true;
	hb_release(d);
}

static void block_append(struct run *r, struct h2_dir *d, const uint8_t *p, uint32_t n)
{
	if (d->hb_lost || !n)
		return;
	if (!p) {
		block_lose(d);
		return;
	}
	if (d->hb_len + (uint64_t)n > H2_BLOCK_MAX) {
		r->st->overflow++;
		block_lose(d);
		return;
	}
	if (d->hb_len + n > d->hb_cap) {
		uint32_t cap = d->hb_cap ? d->hb_cap : 1024;
		uint8_t *b;

		while (cap < d->hb_len + n)
			cap *= 2;
		if (cap > H2_BLOCK_MAX)
			cap = H2_BLOCK_MAX;
		b = realloc(d->hb, cap);
		if (!b) {
			block_lose(d);
			return;
		}
		d->hb = b;
		d->hb_cap = cap;
	}
	memcpy(d->hb + d->hb_len, p, n);
	d->hb_len += n;
}

/* ---- frames ------------------------------------------------------------ */

static void grpc_count(struct h2_gm *g, const uint8_t *p, uint32_t n)
{
	while (n && !g->lost) {
		uint32_t k;

		if (g->need) {
			k = n < g->need ? n : g->need;
			g->need -= k;
		} else if (!p) {
			g->lost = true;
			return;
		} else {
			g->pre[g->pre_len++] = *p;
			k = 1;
			if (g->pre_len == 5) {
				g->msgs++;
				g->need = be32(g->pre + 1);
				g->pre_len = 0;
			}
		}
		n -= k;
		if (p)
			p += k;
	}
}

/* SETTINGS from one direction bind what the other sends. */
static void setting(struct h2_conn *c, uint8_t dir, const uint8_t *e)
{
	uint16_t id = (uint16_t)(e[0] << 8 | e[1]);
	uint32_t v = be32(e + 2);
	struct h2_dir *peer = &c->d[!dir];

	if (id == 1) {
		peer->table_max = v > H2_TABLE_MAX ? H2_TABLE_MAX : v;
		if (peer->inf && nghttp2_hd_inflate_change_table_size(peer->inf, peer->table_max))
			hpack_lose(peer);
	} else if (id == 5 && v >= H2_FRAME_DEFAULT && v <= FRAME_MAX) {
		peer->max_frame = v;
	}
}

/* Control payload bytes: RST_STREAM's code, GOAWAY's last id, SETTINGS. */
static void ctl_bytes(struct h2_conn *c, struct h2_dir *d, uint8_t dir, const uint8_t *p, uint32_t n)
{
	uint32_t want = d->type == F_RST ? 4 : d->type == F_GOAWAY ? 8 : 6;

	for (; n; n--) {
		if (d->ctl_len >= want) {
			if (d->type != F_SETTINGS)
				return;
			d->ctl_len = 0;
		}
		if (!p) {
			d->ctl_lost = true;
			d->ctl_len++;
		} else {
			d->ctl[d->ctl_len++] = *p++;
		}
		if (d->type == F_SETTINGS && d->ctl_len == 6 && !d->ctl_lost &&
		    !(d->fflags & FL_ACK))
			setting(c, dir, d->ctl);
		if (d->type == F_SETTINGS && d->ctl_len == 6)
			d->ctl_lost = false;
	}
}

/* Payload bytes [foff, foff + n) of the frame, p NULL when not captured. */
static void payload(struct run *r, struct h2_dir *d, uint8_t dir, const uint8_t *p, uint32_t n)
{
	bool padded = (d->fflags & FL_PADDED) && (d->type == F_DATA || d->type == F_HEADERS ||
						   d->type == F_PUSH);

	if (!n)
		return;
	if (padded && d->foff == 0) {
		uint32_t pad = p ? p[0] : 0;

		d->frag_known = p && d->frag_start + pad <= d->flen;
		d->frag_end = d->frag_known ? d->flen - pad : d->flen;
		if (p && !d->frag_known)
			r->st->malformed++; /* padding longer than the frame */
	}
	switch (d->type) {
	case F_HEADERS:
	case F_PUSH:
	case F_CONT: {
		uint32_t a = d->foff > d->frag_start ? d->foff : d->frag_start;
		uint32_t b = d->foff + n < d->frag_end ? d->foff + n : d->frag_end;

		if (!d->frag_known) {
			block_lose(d);
		} else if (a < b) {
			block_append(r, d, p ? p + (a - d->foff) : NULL, b - a);
		}
		break;
	}
	case F_DATA: {
		struct h2_stream *s = stream_find(r->c, d->sid);
		uint32_t a = d->foff > d->frag_start ? d->foff : d->frag_start;
		uint32_t b = d->foff + n < d->frag_end ? d->foff + n : d->frag_end;

		if (!s || !s->grpc)
			break;
		if (!d->frag_known)
			s->gm[dir].lost = true;
		else if (a < b)
			grpc_count(&s->gm[dir], p ? p + (a - d->foff) : NULL, b - a);
		break;
	}
	case F_RST:
	case F_GOAWAY:
	case F_SETTINGS:
		ctl_bytes(r->c, d, dir, p, n);
		break;
	default:
		break;
	}
}

/* GOAWAY from the server: streams above its last id were never processed. */
static void on_goaway(struct run *r, uint8_t dir, uint32_t last)
{
	struct h2_conn *c = r->c;

	for (uint32_t i = 0; i < c->n;) {
		struct h2_stream *s = &c->s[i];

		if (s->req_dir != dir && s->id > last && !s->resp_final)
			stream_unanswered(r, s); /* swaps the last entry into i */
		else
			i++;
	}
}

static void on_rst(struct run *r, struct h2_dir *d)
{
	struct h2_stream *s = stream_find(r->c, d->sid);
	uint32_t code;

	if (!s)
		return;
	s->reset = true;
	s->t.failed = true;
	if (d->ctl_len >= 4 && !d->ctl_lost) {
		code = be32(d->ctl);
		if (s->grpc && !s->grpc_status_seen) {
			/* gRPC's mapping of HTTP/2 error codes (PROTOCOL-HTTP2.md). */
			int g = code == 8 ? 1 : code == 7 ? 14 : code == 11 ? 8 : code == 12 ? 7 : 13;

			snprintf(s->t.error, sizeof(s->t.error), "%s", grpc_codes[g]);
			if (s->resp_final) {
				s->t.status = g;
				s->grpc_status_seen = true;
			}
		} else if (code < sizeof(h2_errors) / sizeof(h2_errors[0])) {
			snprintf(s->t.error, sizeof(s->t.error), "%s", h2_errors[code]);
		} else {
			snprintf(s->t.error, sizeof(s->t.error), "0x%x", code);
		}
	}
	/* The reset's frame began at frame_ts, in either direction: a
	 * client's reset can have begun before the response it cuts short
	 * did (its frame split across messages), and does not end the
	 * stream before what was seen of it. */
	if (!s->resp_final) {
		s->t.flags |= ZT_F_NO_RESPONSE;
		s->t.status = 0;
		s->t.resp_first_ns = s->t.resp_last_ns = 0;
		s->t.resp_bytes = 0;
		if (!s->t.req_last_ns)
			s->t.req_last_ns = d->frame_ts > s->t.req_first_ns ? d->frame_ts
									  : s->t.req_first_ns;
	} else if (s->t.resp_last_ns < d->frame_ts) {
		s->t.resp_last_ns = d->frame_ts;
	}
	stream_emit(r, s);
}

/* The whole frame was walked. */
static void frame_end(struct run *r, struct h2_dir *d, uint8_t dir, uint64_t ts)
{
	struct h2_stream *s;

	d->in_payload = false;
	d->fh_len = 0;
	switch (d->type) {
	case F_HEADERS:
	case F_PUSH:
	case F_CONT:
		if (!d->frag_known)
			block_lose(d);
		if (d->hb_open && (d->fflags & FL_END_HEADERS))
			block_end(r, d, dir, d->hb, d->hb_len);
		break;
	case F_DATA:
		s = stream_find(r->c, d->sid);
		if (!s)
			break;
		if (dir == s->req_dir) {
			s->t.req_last_ns = ts;
		} else {
			s->t.resp_last_ns = ts;
			if (!s->resp_final) { /* data before headers: they were lost */
				s->t.flags |= ZT_F_HDRS_UNKNOWN;
				s->resp_blind = true;
			}
			if (d->fflags & FL_END_STREAM) {
				s->resp_end = true;
				stream_emit(r, s);
			}
		}
		break;
	case F_RST:
		on_rst(r, d);
		break;
	case F_GOAWAY:
		if (d->ctl_len >= 4 && !d->ctl_lost)
			on_goaway(r, dir, be32(d->ctl) & 0x7fffffffu);
		break;
	default:
		break;
	}
}

/* A protocol violation inside a header block sequence. */
static void block_broken(struct run *r, struct h2_dir *d)
{
	r->st->malformed++;
	d->hb_open = false;
	hb_release(d);
	hpack_lose(d);
}

/* The frame header is complete: set the frame up. */
static void frame_begin(struct run *r, struct h2_dir *d, uint8_t dir, uint64_t ts)
{
	struct h2_stream *s;

	d->flen = be24(d->fh);
	d->type = d->fh[3];
	d->fflags = d->fh[4];
	d->sid = be32(d->fh + 5) & 0x7fffffffu;
	d->foff = 0;
	d->frame_ts = ts;
	d->ctl_len = 0;
	d->ctl_lost = false;
	d->frag_start = 0;
	d->frag_end = d->flen;
	d->frag_known = true;
	d->in_payload = true;
	d->synced = true;

	if (d->hb_open && (d->type != F_CONT || d->sid != d->hb_sid))
		block_broken(r, d); /* RFC 9113 6.10: only its CONTINUATIONs may follow */
	switch (d->type) {
	case F_HEADERS:
	case F_PUSH:
		d->frag_start = (d->fflags & FL_PADDED ? 1 : 0) +
				(d->type == F_PUSH ? 4 : d->fflags & FL_PRIORITY ? 5 : 0);
		/* With padding, the fragment's end is known once its length is read. */
		d->frag_known = !(d->fflags & FL_PADDED) && d->frag_start <= d->flen;
		if (d->frag_start > d->flen)
			r->st->malformed++;
		d->hb_open = true;
		d->hb_sid = d->sid;
		d->hb_ts = ts;
		d->hb_bytes = 9 + (uint64_t)d->flen;
		d->hb_len = 0;
		d->hb_lost = d->hpack_lost;
		d->hb_end_stream = d->type == F_HEADERS && (d->fflags & FL_END_STREAM);
		d->hb_push = d->type == F_PUSH;
		break;
	case F_CONT:
		if (!d->hb_open) {
			block_broken(r, d);
			break;
		}
		d->hb_bytes += 9 + (uint64_t)d->flen;
		break;
	case F_DATA:
		if (d->fflags & FL_PADDED) {
			d->frag_start = 1;
			d->frag_known = false;
		}
		s = stream_find(r->c, d->sid);
		if (s && dir == s->req_dir)
			s->t.req_bytes += 9 + (uint64_t)d->flen;
		else if (s)
			s->t.resp_bytes += 9 + (uint64_t)d->flen;
		break;
	default:
		break;
	}
	if (d->flen == 0)
		frame_end(r, d, dir, ts);
}

/* ---- walking a direction ----------------------------------------------- */

/* Framing lost: what the skipped bytes held is unknown, HPACK with it. */
static void framing_lose(struct run *r, struct h2_dir *d)
{
	struct h2_conn *c = r->c;

	d->lost = true;
	d->in_payload = false;
	d->fh_len = 0;
	d->hb_open = false;
	hpack_lose(d);
	for (uint32_t i = 0; i < c->n; i++)
		c->s[i].t.flags |= ZT_F_RESYNC;
}

static uint32_t max_frame_known(const struct h2_conn *c, const struct h2_dir *d)
{
	/* Without the SETTINGS a peer may have raised the limit in. */
	return c->confirmed ? d->max_frame : FRAME_MAX;
}

/* A message starts while framing is lost: a plausible frame here resyncs. */
static int try_resync(struct run *r, struct h2_dir *d, struct feed *f)
{
	uint32_t max = r->c->confirmed ? d->max_frame : H2_FRAME_DEFAULT;

	if (f->off == 0 && f->data && chain_plausible(f->data, f->cap, f->len, max, !r->c->confirmed)) {
		d->lost = false;
		d->misses = 0;
		if (d->synced)
			r->st->resyncs++;
		return 0;
	}
	f->off = f->len;
	if (!r->c->confirmed && !d->synced && ++d->misses >= H2_RESYNC_TRIES) {
		r->st->malformed++;
		return -EPROTO;
	}
	return 0;
}

/* The first bytes of a direction: where it began, and its sync. */
static int judge_start(struct run *r, struct h2_dir *d, struct feed *f)
{
	struct h2_conn *c = r->c;

	if (preface_start(f->data, f->cap, f->len)) {
		d->start = ST_FRESH;
		d->preface_left = H2_PREFACE_LEN;
		c->client_dir = f->dir;
		c->client_sure = true;
		c->confirmed = true;
		return 0;
	}
	/* A frame start, or too short a message to tell (a header split):
	 * the first frame header will say. */
	if (f->cap >= 9 ? chain_plausible(f->data, f->cap, f->len, H2_FRAME_DEFAULT, false)
			: f->cap && f->cap == f->len) {
		d->start = ST_PENDING;
		return 0;
	}
	d->start = ST_MID;
	d->lost = true;
	return try_resync(r, d, f);
}

/* Bytes of the preface still expected in this direction. */
static int step_preface(struct run *r, struct h2_dir *d, struct feed *f)
{
	uint32_t done = H2_PREFACE_LEN - d->preface_left;
	uint32_t n = f->len - f->off < d->preface_left ? f->len - f->off : d->preface_left;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t o = f->off + i;

		if (o < f->cap && f->data[o] != (uint8_t)H2_PREFACE[done + i]) {
			r->st->malformed++;
			return -EPROTO;
		}
	}
	f->off += n;
	d->preface_left -= n;
	return 0;
}

static int step_header(struct run *r, struct h2_dir *d, struct feed *f)
{
	struct h2_conn *c = r->c;
	uint32_t n = 9 - d->fh_len;

	if (f->len - f->off < n)
		n = f->len - f->off;
	if (f->off + n > f->cap) { /* the header is where we cannot see */
		if (d->start == ST_PENDING)
			d->start = ST_MID;
		framing_lose(r, d);
		return 0;
	}
	memcpy(d->fh + d->fh_len, f->data + f->off, n);
	d->fh_len += n;
	f->off += n;
	if (d->fh_len < 9)
		return 0;
	if (d->start == ST_PENDING) {
		/* A server's first frame is its SETTINGS: the connection's
		 * start, if the client's preface shows too. */
		d->start = d->fh[3] == F_SETTINGS && !(d->fh[4] & FL_ACK) ? ST_FRESH : ST_MID;
		if (!frame_plausible(d->fh, H2_FRAME_DEFAULT)) {
			d->start = ST_MID;
			framing_lose(r, d);
			return 0;
		}
	}
	if (be24(d->fh) > max_frame_known(c, d) ||
	    (!c->confirmed && d->checked < H2_STRICT_FRAMES &&
	     !(d->hb_open ? cont_plausible(d->fh, d->hb_sid, H2_FRAME_DEFAULT)
			  : frame_plausible(d->fh, H2_FRAME_DEFAULT)))) {
		r->st->malformed++;
		if (!c->confirmed)
			return -EPROTO;
		framing_lose(r, d);
		return 0;
	}
	d->checked++;
	frame_begin(r, d, f->dir, f->ts);
	return 0;
}

static void step_payload(struct run *r, struct h2_dir *d, struct feed *f)
{
	uint32_t n = d->flen - d->foff, seen;

	if (f->len - f->off < n)
		n = f->len - f->off;
	/* The common case: a header block whole in one captured frame is
	 * decoded where it lies. */
	if (d->foff == 0 && n == d->flen && f->off + n <= f->cap && d->hb_open && !d->hb_len &&
	    (d->type == F_HEADERS || d->type == F_PUSH) && (d->fflags & FL_END_HEADERS)) {
		const uint8_t *p = f->data + f->off;
		uint32_t pad = d->fflags & FL_PADDED ? p[0] : 0;

		if (d->frag_start + pad <= d->flen) {
			f->off += n;
			d->foff = n;
			d->in_payload = false;
			d->fh_len = 0;
			if (!d->hb_lost)
				block_end(r, d, f->dir, p + d->frag_start, d->flen - pad - d->frag_start);
			else
				block_end(r, d, f->dir, NULL, 0);
			return;
		}
	}
	seen = f->off < f->cap ? f->cap - f->off : 0;
	if (seen > n)
		seen = n;
	payload(r, d, f->dir, f->data ? f->data + f->off : NULL, seen);
	d->foff += seen;
	payload(r, d, f->dir, NULL, n - seen);
	d->foff += n - seen;
	f->off += n;
	if (d->foff == d->flen)
		frame_end(r, d, f->dir, f->ts);
}

static int walk(struct run *r, struct h2_dir *d, struct feed *f)
{
	int ret = 0;

	if (d->start == ST_UNSEEN) {
		ret = judge_start(r, d, f);
		if (ret)
			return ret;
	} else if (d->lost) {
		ret = try_resync(r, d, f);
		if (ret)
			return ret;
	}
	while (f->off < f->len && !ret) {
		if (d->lost)
			f->off = f->len;
		else if (d->preface_left)
			ret = step_preface(r, d, f);
		else if (!d->in_payload)
			ret = step_header(r, d, f);
		else
			step_payload(r, d, f);
	}
	return ret;
}

/* ---- API --------------------------------------------------------------- */

static void conn_init(struct h2_conn *c, const struct zt_proto_hint *h)
{
	memset(c, 0, sizeof(*c));
	c->client_dir = -1;
	for (int i = 0; i < 2; i++) {
		c->d[i].table_max = 4096;
		c->d[i].max_frame = H2_FRAME_DEFAULT;
	}
	if (h)
		client_guess(c, h);
}

static void conn_free(struct h2_conn *c)
{
	for (int i = 0; i < 2; i++) {
		hpack_lose(&c->d[i]);
		c->d[i].hpack_lost = false;
	}
	free(c->s);
	c->s = NULL;
	c->n = c->cap = 0;
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
	struct h2_conn *c = state;
	struct zt_proto_stats scratch = { 0 };
	struct run r = { c, emit, ctx, stats ? stats : &scratch };
	struct feed f = { data, data ? (cap < len ? cap : len) : 0, len, 0, ts_ns, (uint8_t)dir };
	struct h2_dir *d;
	int ret;

	if (c->dead)
		return -EPROTO;
	if (!len || (dir != ZT_DIR_IN && dir != ZT_DIR_OUT))
		return 0;
	d = &c->d[dir];
	ret = walk(&r, d, &f);
	if (!c->midstream && d->start == ST_MID && (c->confirmed || d->synced)) {
		c->midstream = true;
		r.st->midstream++;
	}
	if (ret) {
		c->dead = true;
		return -EPROTO;
	}
	return 0;
}

static void ops_close(void *state, uint64_t ts_ns, zt_txn_emit_fn emit, void *ctx, void *stats)
{
	struct h2_conn *c = state;
	struct zt_proto_stats scratch = { 0 };
	struct run r = { c, emit, ctx, stats ? stats : &scratch };

	/* Judged not to be HTTP/2 after all: what it seemed to hold was not
	 * a stream. */
	if (c->dead && !c->confirmed)
		c->n = 0;
	while (c->n) {
		struct h2_stream *s = &c->s[0];

		if (s->resp_final)
			stream_emit(&r, s); /* its end was not seen: as far as it went */
		else
			stream_unanswered(&r, s);
	}
	conn_free(c);
	conn_init(c, NULL);
}

static int ops_detect(const uint8_t *data, uint32_t cap, uint32_t len, enum zt_dir dir,
		      const struct zt_proto_hint *h)
{
	if (!data || !cap || h->ipproto == IPPROTO_UDP)
		return ZT_DETECT_NO;
	if (preface_start(data, cap, cap + 1))
		return ZT_DETECT_YES;
	if (!chain_plausible(data, cap, len, H2_FRAME_DEFAULT, true))
		return ZT_DETECT_NO;
	return port_h2(h) ? ZT_DETECT_PORT : ZT_DETECT_MAYBE;
}

const struct zt_proto_ops zt_proto_http2 = {
	.name = "http2",
	.state_size = sizeof(struct h2_conn),
	.init = ops_init,
	.free = ops_free,
	.feed = ops_feed,
	.close = ops_close,
	.detect = ops_detect,
};
