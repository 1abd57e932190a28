// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * DNS over UDP and TCP (see dns.h).
 *
 * Queries wait in arrival order in a small array (inline, then on the heap
 * up to DNS_PENDING_MAX); a response takes the query with its ID, its
 * question and the opposite direction, wherever it waits (servers answer
 * out of order). A retransmitted query (same ID and question, same
 * direction) keeps the first one's place, so the span covers the whole
 * wait. On each message the oldest queries older than DNS_TIMEOUT_NS come
 * out flagged timeout; at close, whatever waits does (over TCP flagged
 * no_response, the connection having ended first).
 *
 * Over TCP each direction is reassembled: the two-byte prefix may come a
 * byte at a time (dnsmasq reads it so) and a message may span reads; the
 * first DNS_TCP_KEEP bytes of each message are kept, the rest counted. A
 * prefix that was not captured loses the framing for good: the parser
 * gives up on the connection (-EPROTO).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "proto.h"

#define DNS_PORT 53

/* ---- the wire ---------------------------------------------------------- */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Appends one label byte in presentation form; false once out is full. */
static bool put_char(char *out, size_t outsz, size_t *n, uint8_t ch)
{
	char esc[5];
	size_t k;

	if (ch >= 'A' && ch <= 'Z')
		ch |= 0x20;
	if (ch == '.' || ch == '\\') {
		esc[0] = '\\';
		esc[1] = (char)ch;
		k = 2;
	} else if (ch > ' ' && ch < 0x7f) {
		esc[0] = (char)ch;
		k = 1;
	} else {
		snprintf(esc, sizeof(esc), "\\%03u", ch);
		k = 4;
	}
	if (*n + k >= outsz)
		return false;
	memcpy(out + *n, esc, k);
	*n += k;
	return true;
}

int dns_name(const uint8_t *msg, uint32_t cap, uint32_t off, char *out, size_t outsz,
	     uint32_t *next, bool *cut)
{
	uint32_t pos = off, wire = 0, lowest = off, labels = 0;
	size_t n = 0;
	bool jumped = false, room = outsz > 0;

	*cut = false;
	if (room)
		out[0] = '\0';
	for (int step = 0; step < DNS_NAME_STEPS; step++) {
		uint8_t b;

		if (pos >= cap)
			return DNS_CUT;
		b = msg[pos];
		if ((b & 0xc0) == 0xc0) {
			uint32_t to;

			if (pos + 1 >= cap)
				return DNS_CUT;
			to = (uint32_t)(b & 0x3f) << 8 | msg[pos + 1];
			/* Strictly backward of everything visited, past the
			 * header: no loop can form. */
			if (to >= lowest || to < DNS_HDR_LEN)
				return DNS_BAD;
			if (!jumped)
				*next = pos + 2;
			jumped = true;
			pos = lowest = to;
			continue;
		}
		if (b & 0xc0)
			return DNS_BAD; /* extended label types (RFC 6891): obsolete */
		wire += b + 1u;
		if (wire > DNS_NAME_WIRE_MAX)
			return DNS_BAD;
		if (!b) {
			if (!jumped)
				*next = pos + 1;
			if (room && !labels && outsz > 1) {
				out[0] = '.';
				out[1] = '\0';
			}
			return DNS_OK;
		}
		if (pos + 1 + b > cap)
			return DNS_CUT;
		if (room && labels) {
			if (n + 1 < outsz)
				out[n++] = '.';
			else
				room = false;
		}
		for (uint32_t i = 0; i < b && room; i++)
			room = put_char(out, outsz, &n, msg[pos + 1 + i]);
		if (outsz) {
			out[n] = '\0';
			*cut |= !room;
		}
		labels++;
		pos += 1 + b;
	}
	return DNS_BAD;
}

/*
 * A response's EDNS OPT record (RFC 6891) carries the RCODE's upper 8 bits
 * (BADVERS, BADCOOKIE): found by skipping the answer and authority records
 * after the question, as far as they were captured. Each record takes 11
 * bytes at least, so the walk is bounded by cap.
 */
static void ext_rcode(const uint8_t *p, uint32_t cap, struct dns_msg *m)
{
	uint32_t pos = m->q_end, total = (uint32_t)m->ancount + m->nscount + m->arcount;
	char none[1];
	bool cut;

	for (uint32_t i = 0; i < total; i++) {
		uint32_t next = 0;

		if (dns_name(p, cap, pos, none, 0, &next, &cut) != DNS_OK || next + 5 > cap)
			return;
		/* Type, class, then the TTL whose first byte it is. */
		if (i >= (uint32_t)m->ancount + m->nscount && be16(p + next) == 41) {
			m->rcode |= p[next + 4] << 4;
			return;
		}
		if (next + 10 > cap)
			return;
		pos = next + 10 + be16(p + next + 8);
	}
}

int dns_parse(const uint8_t *p, uint32_t cap, uint32_t len, struct dns_msg *m)
{
	uint32_t next = 0;
	int r;

	memset(m, 0, sizeof(*m));
	if (len < DNS_HDR_LEN)
		return DNS_BAD;
	if (!p || cap < DNS_HDR_LEN)
		return DNS_CUT;
	m->id = be16(p);
	m->qr = p[2] >> 7;
	m->opcode = (p[2] >> 3) & 0xf;
	m->tc = (p[2] >> 1) & 1;
	m->rcode = p[3] & 0xf;
	m->qdcount = be16(p + 4);
	m->ancount = be16(p + 6);
	m->nscount = be16(p + 8);
	m->arcount = be16(p + 10);
	if (!m->qdcount)
		return DNS_OK;
	r = dns_name(p, cap < len ? cap : len, DNS_HDR_LEN, m->qname, sizeof(m->qname), &next,
		     &m->name_cut);
	if (r == DNS_BAD)
		return DNS_BAD;
	if (r == DNS_CUT || next + 4 > cap || next + 4 > len) {
		if (next + 4 > len && r == DNS_OK)
			return DNS_BAD; /* the message ends inside its question */
		m->qname[0] = '\0';
		m->name_cut = false;
		return DNS_OK;
	}
	m->qtype = be16(p + next);
	m->qclass = be16(p + next + 2);
	m->q_end = next + 4;
	m->has_q = true;
	if (m->qr && m->arcount)
		ext_rcode(p, cap < len ? cap : len, m);
	return DNS_OK;
}

const char *dns_type_name(uint16_t type, char *buf, size_t size)
{
	static const struct {
		uint16_t type;
		const char *name;
	} types[] = {
		{ 1, "A" },       { 2, "NS" },      { 5, "CNAME" },   { 6, "SOA" },
		{ 12, "PTR" },    { 13, "HINFO" },  { 15, "MX" },     { 16, "TXT" },
		{ 28, "AAAA" },   { 33, "SRV" },    { 35, "NAPTR" },  { 41, "OPT" },
		{ 43, "DS" },     { 46, "RRSIG" },  { 47, "NSEC" },   { 48, "DNSKEY" },
		{ 52, "TLSA" },   { 64, "SVCB" },   { 65, "HTTPS" },  { 251, "IXFR" },
		{ 252, "AXFR" },  { 255, "ANY" },   { 257, "CAA" },
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return types[i].name;
	snprintf(buf, size, "TYPE%u", type);
	return buf;
}

const char *dns_rcode_name(unsigned rcode, char *buf, size_t size)
{
	static const char *const names[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
		"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI",
	};
	/* EDNS's extended RCODEs (RFC 6891, 8945, 7873). */
	static const char *const ext[] = {
		"BADVERS", "BADKEY", "BADTIME", "BADMODE", "BADNAME", "BADALG", "BADTRUNC",
		"BADCOOKIE",
	};

	if (rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	if (rcode >= 16 && rcode - 16 < sizeof(ext) / sizeof(ext[0]))
		return ext[rcode - 16];
	snprintf(buf, size, "RCODE%u", rcode);
	return buf;
}

/* ---- detection --------------------------------------------------------- */

/* A question name as a client writes it: uncompressed printable labels. */
static bool plain_name(const uint8_t *p, uint32_t cap, uint32_t *end)
{
	uint32_t pos = DNS_HDR_LEN;

	while (pos < cap && pos - DNS_HDR_LEN < DNS_NAME_WIRE_MAX) {
		uint8_t b = p[pos];

		if (!b) {
			*end = pos + 1;
			return true;
		}
		if (b > 63 || pos + 1 + b > cap)
			return false;
		for (uint32_t i = 1; i <= b; i++)
			if (p[pos + i] < 0x20 || p[pos + i] > 0x7e)
				return false;
		pos += 1 + b;
	}
	return false;
}

/*
 * A whole message at p[0..len), p[0..cap) captured, that only a DNS client
 * or server would send: one question in plain form, a standard query, and a
 * query with nothing but an optional OPT record after its question.
 */
static bool looks_like_dns(const uint8_t *p, uint32_t cap, uint32_t len)
{
	uint32_t end = 0;
	uint16_t qtype, qclass;

	if (len < DNS_HDR_LEN + 5 || cap < DNS_HDR_LEN + 5)
		return false;
	if (((p[2] >> 3) & 0xf) != 0 || be16(p + 4) != 1 || (p[3] & 0x40))
		return false; /* opcode QUERY, QDCOUNT 1, Z zero */
	if (!plain_name(p, cap < len ? cap : len, &end) || end + 4 > cap || end + 4 > len)
		return false;
	qtype = be16(p + end);
	qclass = be16(p + end + 2) & 0x7fff; /* mDNS: the top bit asks a unicast answer */
	if (!qtype || (qclass != 1 && qclass != 3 && qclass != 254 && qclass != 255))
		return false;
	end += 4;
	if (p[2] & 0x80)
		return (p[3] & 0xf) <= 10;
	/* A query: no answers, no authority; at most an OPT record (EDNS). */
	if (be16(p + 6) || be16(p + 8) || be16(p + 10) > 1 || (p[3] & 0xf))
		return false;
	if (!be16(p + 10))
		return end == len;
	if (len - end < 11)
		return false;
	/* The OPT record's root name and type, when captured. */
	return end + 3 > cap || (p[end] == 0 && be16(p + end + 1) == 41);
}

static int ops_detect(const uint8_t *data, uint32_t cap, uint32_t len, enum zt_dir dir,
		      const struct zt_proto_hint *h)
{
	bool port = zt_proto_port_is(h, DNS_PORT);

	if (h->ipproto == IPPROTO_UDP)
		return looks_like_dns(data, cap, len) ? ZT_DETECT_YES : ZT_DETECT_NO;
	/* TCP: the prefix alone proves little; port 53 must agree. */
	if (!port)
		return ZT_DETECT_NO;
	if (len <= 2) {
		/* A prefix read or written on its own (dnsmasq reads it a byte
		 * at a time): plausible only when whole and not absurd. */
		if (cap != len || (len == 2 && be16(data) < DNS_HDR_LEN + 5))
			return ZT_DETECT_NO;
		return ZT_DETECT_MAYBE;
	}
	if (cap < 2 + DNS_HDR_LEN + 5)
		return ZT_DETECT_NO;
	/* The first message; more may follow it in the same read. */
	uint32_t mlen = be16(data), mcap = cap - 2 < mlen ? cap - 2 : mlen;

	return looks_like_dns(data + 2, mcap, mlen) ? ZT_DETECT_PORT : ZT_DETECT_NO;
}

/* ---- queries awaiting responses ---------------------------------------- */

struct dns_q {
	uint64_t ts_first, ts_last, bytes;
	uint32_t flags;
	uint16_t id, qtype, qclass;
	bool server;  /* it came in: we answer it */
	bool has_q;   /* question known; else paired by ID alone */
	char qname[ZT_TXN_TARGET_MAX];
};

/* One direction of a TCP connection, between and inside messages. */
struct dns_tcp {
	uint64_t first_ns;
	uint32_t need;   /* bytes of the message in progress still to come */
	uint32_t mlen;   /* its length (without the prefix) */
	uint32_t have;   /* bytes of it kept in buf */
	uint8_t npfx;    /* prefix bytes seen: 0, 1, or 2 (inside a message) */
	uint8_t pfx0;
	bool cut;        /* a byte of the kept part was not captured */
	uint8_t buf[DNS_TCP_KEEP];
};

struct dns_conn {
	struct dns_q inl[DNS_PENDING_INLINE];
	struct dns_q *heap; /* DNS_PENDING_MAX entries once more than the inline wait */
	uint32_t count;
	uint8_t bad;        /* non-DNS messages in a row */
	bool tcp;
	bool gone;          /* gave up: -EPROTO from now on */
	struct dns_tcp t[2]; /* by enum zt_dir, TCP only */
};

struct run {
	struct dns_conn *c;
	zt_txn_emit_fn emit;
	void *ctx;
	struct zt_proto_stats *st;
};

static struct dns_q *q_arr(struct dns_conn *c)
{
	return c->heap ? c->heap : c->inl;
}

static uint32_t q_cap(const struct dns_conn *c)
{
	return c->heap ? DNS_PENDING_MAX : DNS_PENDING_INLINE;
}

static void q_remove(struct dns_conn *c, uint32_t i)
{
	struct dns_q *q = q_arr(c);

	memmove(&q[i], &q[i + 1], (c->count - i - 1) * sizeof(*q));
	c->count--;
}

/* Room for one more; the oldest goes when DNS_PENDING_MAX wait. */
static struct dns_q *q_push(struct run *r)
{
	struct dns_conn *c = r->c;

	if (c->count == q_cap(c) && !c->heap) {
		struct dns_q *h = malloc(DNS_PENDING_MAX * sizeof(*h));

		if (h) {
			memcpy(h, c->inl, c->count * sizeof(*h));
			c->heap = h;
		}
	}
	if (c->count == q_cap(c)) {
		q_remove(c, 0);
		r->st->overflow++;
	}
	return &q_arr(c)[c->count++];
}

static void txn_common(struct zt_txn *t, const struct dns_q *q)
{
	char buf[16];

	memset(t, 0, sizeof(*t));
	t->protocol = "dns";
	if (q->has_q) {
		snprintf(t->method, sizeof(t->method), "%s", dns_type_name(q->qtype, buf, sizeof(buf)));
		memcpy(t->target, q->qname, sizeof(t->target));
	}
	t->server = q->server;
	t->req_first_ns = q->ts_first;
	t->req_last_ns = q->ts_last;
	t->req_bytes = q->bytes;
	t->flags = q->flags;
}

/* A query that will get no response: reported all the same. */
static void emit_unanswered(struct run *r, const struct dns_q *q, uint32_t flag)
{
	struct zt_txn t;

	txn_common(&t, q);
	t.flags |= flag;
	r->st->unanswered++;
	if (r->emit)
		r->emit(r->ctx, &t);
}

static void expire(struct run *r, uint64_t now)
{
	while (r->c->count && q_arr(r->c)[0].ts_last + DNS_TIMEOUT_NS < now) {
		emit_unanswered(r, &q_arr(r->c)[0], ZT_F_TIMEOUT);
		q_remove(r->c, 0);
	}
}

/* Same question? A side that was not captured whole matches any. */
static bool same_question(const struct dns_q *q, const struct dns_msg *m)
{
	if (!q->has_q || !m->has_q || !m->qdcount)
		return true;
	return q->qtype == m->qtype && q->qclass == m->qclass && !strcmp(q->qname, m->qname);
}

static int find_query(struct dns_conn *c, const struct dns_msg *m, bool server)
{
	struct dns_q *q = q_arr(c);

	for (uint32_t i = 0; i < c->count; i++)
		if (q[i].id == m->id && q[i].server == server && same_question(&q[i], m))
			return (int)i;
	return -1;
}

static void on_query(struct run *r, const struct dns_msg *m, enum zt_dir dir, uint64_t first,
		     uint64_t last, uint64_t bytes, uint32_t flags)
{
	bool server = dir == ZT_DIR_IN;
	struct dns_q *q;

	/* A retransmission: the first one's wait goes on. */
	if (m->has_q && find_query(r->c, m, server) >= 0)
		return;
	q = q_push(r);
	memset(q, 0, sizeof(*q));
	q->id = m->id;
	q->server = server;
	q->has_q = m->has_q;
	q->qtype = m->qtype;
	q->qclass = m->qclass;
	memcpy(q->qname, m->qname, sizeof(q->qname));
	q->ts_first = first;
	q->ts_last = last;
	q->bytes = bytes;
	q->flags = flags | (m->name_cut ? ZT_F_TARGET_CUT : 0) |
		   (m->qdcount && !m->has_q ? ZT_F_TRUNCATED : 0);
}

static void on_response(struct run *r, const struct dns_msg *m, enum zt_dir dir, uint64_t first,
			uint64_t last, uint64_t bytes, uint32_t flags)
{
	int i = find_query(r->c, m, dir == ZT_DIR_OUT);
	struct zt_txn t;
	char buf[16];

	if (i < 0) {
		r->st->orphan_responses++;
		return;
	}
	txn_common(&t, &q_arr(r->c)[i]);
	q_remove(r->c, (uint32_t)i);
	t.status = m->rcode;
	t.failed = m->rcode != 0;
	if (m->rcode)
		snprintf(t.error, sizeof(t.error), "%s", dns_rcode_name(m->rcode, buf, sizeof(buf)));
	t.resp_first_ns = first;
	t.resp_last_ns = last;
	t.resp_bytes = bytes;
	t.flags |= flags | (m->tc ? ZT_F_DNS_TC : 0);
	if (r->emit)
		r->emit(r->ctx, &t);
}

/* One whole message (its first cap bytes), either transport. */
static int on_message(struct run *r, enum zt_dir dir, const uint8_t *p, uint32_t cap, uint32_t len,
		      uint64_t first, uint64_t last, uint64_t bytes)
{
	struct dns_msg m;
	int ret = dns_parse(p, cap, len, &m);

	if (ret == DNS_CUT) {
		/* Nothing to pair it by; the framing is intact. */
		r->st->malformed++;
		return 0;
	}
	if (ret == DNS_BAD || m.opcode != 0) {
		r->st->malformed++;
		if (++r->c->bad >= DNS_BAD_MAX) {
			r->c->gone = true;
			return -EPROTO;
		}
		return 0;
	}
	r->c->bad = 0;
	if (m.qr)
		on_response(r, &m, dir, first, last, bytes, 0);
	else
		on_query(r, &m, dir, first, last, bytes, 0);
	return 0;
}

/* ---- TCP framing ------------------------------------------------------- */

static int tcp_feed(struct run *r, enum zt_dir dir, uint64_t ts, const uint8_t *data, uint32_t cap,
		    uint32_t len)
{
	struct dns_tcp *s = &r->c->t[dir & 1];
	uint32_t pos = 0;

	if (!data)
		cap = 0;
	while (pos < len) {
		if (s->npfx < 2) {
			if (pos >= cap) {
				/* The framing was not captured: no way back in. */
				r->st->malformed++;
				r->c->gone = true;
				return -EPROTO;
			}
			if (s->npfx++ == 0) {
				s->pfx0 = data[pos++];
				s->first_ns = ts;
				continue;
			}
			s->mlen = s->need = (uint32_t)s->pfx0 << 8 | data[pos++];
			s->have = 0;
			s->cut = false;
			if (s->mlen < DNS_HDR_LEN) {
				r->st->malformed++;
				r->c->gone = true;
				return -EPROTO;
			}
			continue;
		}
		uint32_t take = len - pos < s->need ? len - pos : s->need;
		uint32_t keep = s->mlen < DNS_TCP_KEEP ? s->mlen : DNS_TCP_KEEP;
		uint32_t want = s->cut || s->have >= keep ? 0 : keep - s->have;
		uint32_t avail = pos < cap ? (cap - pos < take ? cap - pos : take) : 0;
		uint32_t n = want < avail ? want : avail;

		if (n) {
			memcpy(s->buf + s->have, data + pos, n);
			s->have += n;
		}
		if (n < want && n < take)
			s->cut = true;
		s->need -= take;
		pos += take;
		if (s->need)
			continue;
		s->npfx = 0;
		if (on_message(r, dir, s->buf, s->have, s->mlen, s->first_ns, ts, s->mlen + 2ULL))
			return -EPROTO;
	}
	return 0;
}

/* ---- the parser as the tracer sees it ---------------------------------- */

static void ops_init(void *state, const struct zt_proto_hint *h)
{
	struct dns_conn *c = state;

	memset(c, 0, sizeof(*c));
	c->tcp = h->ipproto != IPPROTO_UDP;
}

static void ops_free(void *state)
{
	struct dns_conn *c = state;

	free(c->heap);
	c->heap = NULL;
}

static int ops_feed(void *state, enum zt_dir dir, uint64_t ts_ns, const uint8_t *data, uint32_t cap,
		    uint32_t len, const uint8_t *tail, uint32_t tail_len, zt_txn_emit_fn emit,
		    void *ctx, void *stats)
{
	struct zt_proto_stats scratch = { 0 };
	struct run r = { state, emit, ctx, stats ? stats : &scratch };

	if (r.c->gone)
		return -EPROTO;
	if (cap > len)
		cap = len;
	expire(&r, ts_ns);
	if (r.c->tcp)
		return tcp_feed(&r, dir, ts_ns, data, cap, len);
	/* UDP: a lost datagram (data NULL) leaves nothing to do. */
	if (!data)
		return 0;
	return on_message(&r, dir, data, cap, len, ts_ns, ts_ns, len);
}

static void ops_close(void *state, uint64_t ts_ns, zt_txn_emit_fn emit, void *ctx, void *stats)
{
	struct zt_proto_stats scratch = { 0 };
	struct run r = { state, emit, ctx, stats ? stats : &scratch };
	struct dns_conn *c = state;
	bool tcp = c->tcp;

	for (uint32_t i = 0; i < c->count; i++)
		emit_unanswered(&r, &q_arr(c)[i], tcp ? ZT_F_NO_RESPONSE : ZT_F_TIMEOUT);
	free(c->heap);
	memset(c, 0, sizeof(*c));
	c->tcp = tcp;
}

const struct zt_proto_ops zt_proto_dns = {
	.name = "dns",
	.state_size = sizeof(struct dns_conn),
	.init = ops_init,
	.free = ops_free,
	.feed = ops_feed,
	.close = ops_close,
	.detect = ops_detect,
};
