// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The DNS parser fed as the tracer feeds it: one datagram (UDP) or socket
 * read (TCP) at a time. The bytes are what dig 9.18 and glibc 2.36's
 * resolver sent and dnsmasq 2.90 answered (captured through a relay), plus
 * cut, split and hostile variants. Then the tracer around it: UDP records
 * in, spans out, idle UDP sockets expired.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "proto/dns.h"
#include "proto/proto.h"
#include "tracer.h"

#define MAX_TXNS 128
#define S(x) ((x) * 1000000000ULL)

/* dig example.test A (EDNS cookie), dnsmasq's answer 10.1.2.3. */
static const char DIG_A_Q[] = "7b3c01200001000000000001076578616d706c650474657374000001000100002904d0000000"
			      "00000c000a0008123c3ac2a4c0d9d8";
static const char DIG_A_R[] = "7b3c85800001000100000001076578616d706c6504746573740000010001c00c00010001000000"
			      "0000040a01020300002904d0000000000000";
/* dig example.test MX: the answer's names compressed. */
static const char DIG_MX_Q[] = "47ca01200001000000000001076578616d706c65047465737400000f000100002904d00000000000"
			       "0c000a0008264eecb73f988703";
static const char DIG_MX_R[] = "47ca85800001000100000001076578616d706c65047465737400000f0001c00c000f0001000000"
			       "000015000a046d61696c076578616d706c6504746573740000002904d0000000000000";
/* dig missing.test A: NXDOMAIN. */
static const char DIG_NX_Q[] = "4b5001200001000000000001076d697373696e670474657374000001000100002904d000000000"
			       "000c000a0008690f1adcbb8c9a07";
static const char DIG_NX_R[] = "4b5081830001000000000001076d697373696e670474657374000001000100002904d000000000"
			       "0000";
/* dig +tcp host.example.test A, as read and written (length prefix). */
static const char TCP_Q[] = "003ab57d0120000100000000000104686f7374076578616d706c650474657374000001000100002904"
			    "d000000000000c000a00085415da2b05b3572f";
static const char TCP_R[] = "003eb57d8580000100010000000104686f7374076578616d706c6504746573740000010001c00c0001"
			    "00010000000000040a01020400002904d0000000000000";
/* getent ahosts host.example.test: glibc's A and AAAA (one sendmmsg). */
static const char GLIBC_A_Q[] = "17260100000100000000000004686f7374076578616d706c6504746573740000010001";
static const char GLIBC_A_R[] = "17268580000100010000000004686f7374076578616d706c6504746573740000010001c00c0001000100"
				"00000000040a010204";
static const char GLIBC_AAAA_Q[] = "63220100000100000000000004686f7374076578616d706c65047465737400001c0001";
static const char GLIBC_AAAA_R[] = "63228580000100010000000004686f7374076578616d706c65047465737400001c0001c00c001c00"
				   "01000000000010fd000000000000000000000000000004";
/* getent ahosts MiXed.Example.TEST: the case the user typed. */
static const char MIXED_Q[] = "024101000001000000000000054d69586564074578616d706c6504544553540000010001";
static const char MIXED_R[] = "024185800001000100000000054d69586564074578616d706c6504544553540000010001c00c000100"
			      "010000000000040a010203";

struct pkt {
	uint8_t b[1024];
	uint32_t n;
};

static struct pkt hex(const char *h)
{
	struct pkt p = { .n = 0 };

	for (size_t i = 0; h[i] && h[i + 1] && p.n < sizeof(p.b); i += 2) {
		unsigned v;

		sscanf(h + i, "%2x", &v);
		p.b[p.n++] = (uint8_t)v;
	}
	return p;
}

struct fx {
	uint8_t state[65536] __attribute__((aligned(16)));
	struct zt_proto_stats st;
	struct zt_txn t[MAX_TXNS];
	int n;
};

static void on_txn(void *ctx, const struct zt_txn *t)
{
	struct fx *x = ctx;

	if (x->n < MAX_TXNS)
		x->t[x->n] = *t;
	x->n++;
}

static struct fx *fx_new(uint8_t ipproto)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct zt_proto_hint h = { .ipproto = ipproto, .rport = 53 };

	CHECK(zt_proto_dns.state_size <= sizeof(x->state));
	zt_proto_dns.init(x->state, &h);
	return x;
}

static void fx_free(struct fx *x)
{
	zt_proto_dns.free(x->state);
	free(x);
}

static int feedc(struct fx *x, enum zt_dir d, uint64_t ts, const uint8_t *b, uint32_t cap,
		 uint32_t len)
{
	return zt_proto_dns.feed(x->state, d, ts, b, cap, len, NULL, 0, on_txn, x, &x->st);
}

static int feedp(struct fx *x, enum zt_dir d, uint64_t ts, const char *h)
{
	struct pkt p = hex(h);

	return feedc(x, d, ts, p.b, p.n, p.n);
}

static void fx_close(struct fx *x, uint64_t ts)
{
	zt_proto_dns.close(x->state, ts, on_txn, x, &x->st);
}

static int detect(const char *h, uint8_t ipproto, uint16_t port)
{
	struct pkt p = hex(h);
	struct zt_proto_hint hint = { .ipproto = ipproto, .rport = port };

	return zt_proto_dns.detect(p.b, p.n, p.n, ZT_DIR_OUT, &hint);
}

static int detect_raw(const char *s, uint8_t ipproto, uint16_t port)
{
	struct zt_proto_hint hint = { .ipproto = ipproto, .lport = port };

	return zt_proto_dns.detect((const uint8_t *)s, strlen(s), strlen(s), ZT_DIR_IN, &hint);
}

static void test_detect(void)
{
	const char *real[] = { DIG_A_Q, DIG_A_R, DIG_MX_Q, DIG_MX_R, DIG_NX_Q, DIG_NX_R, GLIBC_A_Q,
			       GLIBC_A_R, GLIBC_AAAA_Q, GLIBC_AAAA_R, MIXED_Q, MIXED_R };

	for (size_t i = 0; i < sizeof(real) / sizeof(real[0]); i++) {
		CHECK_EQ_INT(detect(real[i], IPPROTO_UDP, 0), ZT_DETECT_YES);
		CHECK_EQ_INT(detect(real[i], IPPROTO_TCP, 53), ZT_DETECT_NO); /* no prefix */
	}
	CHECK_EQ_INT(detect(TCP_Q, IPPROTO_TCP, 53), ZT_DETECT_PORT);
	CHECK_EQ_INT(detect(TCP_R, IPPROTO_TCP, 53), ZT_DETECT_PORT);
	CHECK_EQ_INT(detect(TCP_Q, IPPROTO_TCP, 5353), ZT_DETECT_NO);
	/* The prefix on its own, or a byte of it (dnsmasq reads so). */
	CHECK_EQ_INT(detect("003a", IPPROTO_TCP, 53), ZT_DETECT_MAYBE);
	CHECK_EQ_INT(detect("00", IPPROTO_TCP, 53), ZT_DETECT_MAYBE);
	CHECK_EQ_INT(detect("0003", IPPROTO_TCP, 53), ZT_DETECT_NO);
	CHECK_EQ_INT(detect("00", IPPROTO_TCP, 80), ZT_DETECT_NO);
	/* Every cut of a real query on UDP: never a false start past cap. */
	struct pkt q = hex(DIG_A_Q);
	struct zt_proto_hint u = { .ipproto = IPPROTO_UDP };
	for (uint32_t cap = 1; cap < q.n; cap++)
		CHECK(zt_proto_dns.detect(q.b, cap, q.n, ZT_DIR_OUT, &u) != ZT_DETECT_NO ||
		      cap < 34);
	/* A query with bytes after its question, an answer count, opcode 5. */
	CHECK_EQ_INT(detect("17260100000100000000000004686f7374076578616d706c6504746573740000010001ff",
			    IPPROTO_UDP, 0), ZT_DETECT_NO);
	CHECK_EQ_INT(detect("17260100000100010000000004686f7374076578616d706c6504746573740000010001",
			    IPPROTO_UDP, 0), ZT_DETECT_NO);
	CHECK_EQ_INT(detect("17262800000100000000000004686f7374076578616d706c6504746573740000010001",
			    IPPROTO_UDP, 0), ZT_DETECT_NO);
	/* Other protocols, on either transport and port 53 too. */
	const char *other[] = {
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"*1\r\n$4\r\nPING\r\n", "+OK\r\n", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"SELECT 1", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		CHECK_EQ_INT(detect_raw(other[i], IPPROTO_UDP, 53), ZT_DETECT_NO);
		CHECK_EQ_INT(detect_raw(other[i], IPPROTO_TCP, 53), ZT_DETECT_NO);
	}
	/* PostgreSQL's startup and SSLRequest, MySQL's greeting start. */
	CHECK_EQ_INT(detect("0000002900030000757365720070670064617461626173650070670000", IPPROTO_TCP, 53),
		     ZT_DETECT_NO);
	CHECK_EQ_INT(detect("0000000804d2162f", IPPROTO_UDP, 53), ZT_DETECT_NO);
	CHECK_EQ_INT(detect("4a0000000a382e302e3333000800000032", IPPROTO_UDP, 53), ZT_DETECT_NO);
}

static void test_udp_client(void)
{
	struct fx *x = fx_new(IPPROTO_UDP);

	CHECK_EQ_INT(feedp(x, ZT_DIR_OUT, S(1), DIG_A_Q), 0);
	CHECK_EQ_INT(x->n, 0);
	CHECK_EQ_INT(feedp(x, ZT_DIR_IN, S(1) + 300000, DIG_A_R), 0);
	CHECK_EQ_INT(x->n, 1);
	CHECK_EQ_STR(x->t[0].protocol, "dns");
	CHECK_EQ_STR(x->t[0].method, "A");
	CHECK_EQ_STR(x->t[0].target, "example.test");
	CHECK_EQ_INT(x->t[0].status, 0);
	CHECK_EQ_STR(x->t[0].error, "");
	CHECK(!x->t[0].failed && !x->t[0].server);
	CHECK_EQ_INT(x->t[0].req_first_ns, S(1));
	CHECK_EQ_INT(x->t[0].resp_last_ns, S(1) + 300000);
	CHECK_EQ_INT(x->t[0].req_bytes, hex(DIG_A_Q).n);
	CHECK_EQ_INT(x->t[0].resp_bytes, hex(DIG_A_R).n);
	CHECK_EQ_INT(x->t[0].flags, 0);
	/* MX and NXDOMAIN on the same socket. */
	feedp(x, ZT_DIR_OUT, S(2), DIG_MX_Q);
	feedp(x, ZT_DIR_IN, S(2), DIG_MX_R);
	feedp(x, ZT_DIR_OUT, S(3), DIG_NX_Q);
	feedp(x, ZT_DIR_IN, S(3), DIG_NX_R);
	CHECK_EQ_INT(x->n, 3);
	CHECK_EQ_STR(x->t[1].method, "MX");
	CHECK_EQ_STR(x->t[1].target, "example.test");
	CHECK_EQ_STR(x->t[2].method, "A");
	CHECK_EQ_STR(x->t[2].target, "missing.test");
	CHECK_EQ_INT(x->t[2].status, 3);
	CHECK_EQ_STR(x->t[2].error, "NXDOMAIN");
	CHECK(x->t[2].failed);
	fx_close(x, S(4));
	CHECK_EQ_INT(x->n, 3);
	CHECK_EQ_INT(x->st.unanswered + x->st.orphan_responses + x->st.malformed + x->st.overflow, 0);
	fx_free(x);
}

/* glibc sends A and AAAA together; answers may come in either order. */
static void test_glibc_parallel(void)
{
	struct fx *x = fx_new(IPPROTO_UDP);

	feedp(x, ZT_DIR_OUT, S(1), GLIBC_A_Q);
	feedp(x, ZT_DIR_OUT, S(1) + 10, GLIBC_AAAA_Q);
	feedp(x, ZT_DIR_IN, S(1) + 500, GLIBC_AAAA_R);
	feedp(x, ZT_DIR_IN, S(1) + 600, GLIBC_A_R);
	CHECK_EQ_INT(x->n, 2);
	CHECK_EQ_STR(x->t[0].method, "AAAA");
	CHECK_EQ_STR(x->t[0].target, "host.example.test");
	CHECK_EQ_INT(x->t[0].req_first_ns, S(1) + 10);
	CHECK_EQ_STR(x->t[1].method, "A");
	CHECK_EQ_INT(x->t[1].resp_last_ns, S(1) + 600);
	/* The name as typed, lower-cased; its AAAA was NXDOMAIN. */
	feedp(x, ZT_DIR_OUT, S(2), MIXED_Q);
	feedp(x, ZT_DIR_IN, S(2), MIXED_R);
	CHECK_EQ_INT(x->n, 3);
	CHECK_EQ_STR(x->t[2].target, "mixed.example.test");
	fx_free(x);
}

/* dnsmasq's side: queries in, responses out. */
static void test_udp_server(void)
{
	struct fx *x = fx_new(IPPROTO_UDP);

	feedp(x, ZT_DIR_IN, S(1), DIG_MX_Q);
	feedp(x, ZT_DIR_IN, S(1) + 5, GLIBC_A_Q);
	feedp(x, ZT_DIR_OUT, S(1) + 9, GLIBC_A_R);
	feedp(x, ZT_DIR_OUT, S(1) + 20, DIG_MX_R);
	CHECK_EQ_INT(x->n, 2);
	CHECK(x->t[0].server && x->t[1].server);
	CHECK_EQ_STR(x->t[0].method, "A");
	CHECK_EQ_STR(x->t[1].method, "MX");
	/* A response going the way of a query is no answer to ours. */
	feedp(x, ZT_DIR_OUT, S(2), DIG_A_Q);
	feedp(x, ZT_DIR_OUT, S(2), DIG_A_R);
	CHECK_EQ_INT(x->n, 2);
	CHECK_EQ_INT(x->st.orphan_responses, 1);
	fx_free(x);
}

/* Same ID, another question: a spoofed or stray answer is not ours. */
static void test_mismatch_and_retransmit(void)
{
	struct fx *x = fx_new(IPPROTO_UDP);
	struct pkt spoof = hex(DIG_A_R);

	spoof.b[19] = 'X'; /* examXle.test */
	feedp(x, ZT_DIR_OUT, S(1), DIG_A_Q);
	feedp(x, ZT_DIR_OUT, S(6), DIG_A_Q); /* retransmitted after 5 s */
	CHECK_EQ_INT(feedc(x, ZT_DIR_IN, S(6) + 1, spoof.b, spoof.n, spoof.n), 0);
	CHECK_EQ_INT(x->n, 0);
	CHECK_EQ_INT(x->st.orphan_responses, 1);
	feedp(x, ZT_DIR_IN, S(6) + 2, DIG_A_R);
	CHECK_EQ_INT(x->n, 1);
	CHECK_EQ_INT(x->t[0].req_first_ns, S(1)); /* the whole wait */
	fx_close(x, S(7));
	CHECK_EQ_INT(x->n, 1); /* the retransmission was not a query of its own */
	fx_free(x);
}

static void test_timeout_overflow_close(void)
{
	struct fx *x = fx_new(IPPROTO_UDP);
	struct pkt q = hex(GLIBC_A_Q);

	feedp(x, ZT_DIR_OUT, S(1), DIG_NX_Q);
	/* Any message past DNS_TIMEOUT_NS reports it. */
	feedp(x, ZT_DIR_OUT, S(1) + DNS_TIMEOUT_NS + 1, DIG_A_Q);
	CHECK_EQ_INT(x->n, 1);
	CHECK_EQ_STR(x->t[0].target, "missing.test");
	CHECK_EQ_INT(x->t[0].flags, ZT_F_TIMEOUT);
	CHECK_EQ_INT(x->t[0].status, 0);
	CHECK_EQ_INT(x->t[0].resp_last_ns, 0);
	CHECK_EQ_INT(x->st.unanswered, 1);
	/* DNS_PENDING_MAX + 6 distinct IDs: the six oldest dropped. */
	for (int i = 0; i < DNS_PENDING_MAX + 6; i++) {
		q.b[0] = (uint8_t)i;
		q.b[1] = 0x77;
		feedc(x, ZT_DIR_OUT, S(20), q.b, q.n, q.n);
	}
	CHECK_EQ_INT(x->st.overflow, 7); /* dig's query went first */
	fx_close(x, S(21));
	CHECK_EQ_INT(x->n, 1 + DNS_PENDING_MAX);
	CHECK_EQ_INT(x->t[1].flags, ZT_F_TIMEOUT);
	CHECK_EQ_INT(x->st.unanswered, 1 + DNS_PENDING_MAX);
	/* Closed, the state is reusable. */
	feedp(x, ZT_DIR_OUT, S(30), DIG_A_Q);
	feedp(x, ZT_DIR_IN, S(30), DIG_A_R);
	CHECK_EQ_INT(x->n, 2 + DNS_PENDING_MAX);
	fx_free(x);
}

/* TC: the server's own truncation, flagged; RCODE names. */
static void test_tc_and_rcodes(void)
{
	struct fx *x = fx_new(IPPROTO_UDP);
	struct pkt r = hex(DIG_A_R);
	const char *names[] = { "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED" };

	feedp(x, ZT_DIR_OUT, S(1), DIG_A_Q);
	r.b[2] |= 0x02;
	feedc(x, ZT_DIR_IN, S(1), r.b, r.n, r.n);
	CHECK_EQ_INT(x->n, 1);
	CHECK_EQ_INT(x->t[0].flags, ZT_F_DNS_TC);
	CHECK(!x->t[0].failed);
	r.b[2] &= ~0x02;
	for (int rc = 1; rc <= 5; rc++) {
		feedp(x, ZT_DIR_OUT, S(2), DIG_A_Q);
		r.b[3] = (uint8_t)(0x80 | rc);
		feedc(x, ZT_DIR_IN, S(2), r.b, r.n, r.n);
		CHECK_EQ_INT(x->t[rc].status, rc);
		CHECK_EQ_STR(x->t[rc].error, names[rc - 1]);
		CHECK(x->t[rc].failed);
	}
	/* EDNS: the OPT record's upper RCODE bits (BADCOOKIE = 1 << 4 | 7). */
	struct pkt nx = hex(DIG_NX_R);
	nx.b[3] = 0x80 | 7;
	nx.b[35] = 1;
	feedp(x, ZT_DIR_OUT, S(3), DIG_NX_Q);
	feedc(x, ZT_DIR_IN, S(3), nx.b, nx.n, nx.n);
	CHECK_EQ_INT(x->n, 7);
	CHECK_EQ_INT(x->t[6].status, 23);
	CHECK_EQ_STR(x->t[6].error, "BADCOOKIE");
	/* ... only when the OPT record was captured. */
	feedp(x, ZT_DIR_OUT, S(3), DIG_NX_Q);
	feedc(x, ZT_DIR_IN, S(3), nx.b, 36, nx.n);
	CHECK_EQ_INT(x->t[7].status, 23);
	feedp(x, ZT_DIR_OUT, S(3), DIG_NX_Q);
	feedc(x, ZT_DIR_IN, S(3), nx.b, 35, nx.n);
	CHECK_EQ_INT(x->t[8].status, 7);
	char buf[16];
	CHECK_EQ_STR(dns_rcode_name(13, buf, sizeof(buf)), "RCODE13");
	CHECK_EQ_STR(dns_rcode_name(16, buf, sizeof(buf)), "BADVERS");
	CHECK_EQ_STR(dns_type_name(65, buf, sizeof(buf)), "HTTPS");
	CHECK_EQ_STR(dns_type_name(64, buf, sizeof(buf)), "SVCB");
	CHECK_EQ_STR(dns_type_name(999, buf, sizeof(buf)), "TYPE999");
	fx_free(x);
}

static void test_names(void)
{
	struct pkt r = hex(DIG_MX_R);
	char out[ZT_TXN_TARGET_MAX];
	uint32_t next = 0;
	bool cut;

	/* The answer's owner: a pointer to the question's name. */
	CHECK_EQ_INT(dns_name(r.b, r.n, 30, out, sizeof(out), &next, &cut), DNS_OK);
	CHECK_EQ_STR(out, "example.test");
	CHECK_EQ_INT(next, 32);
	/* The exchange, written out by dnsmasq. */
	CHECK_EQ_INT(dns_name(r.b, r.n, 44, out, sizeof(out), &next, &cut), DNS_OK);
	CHECK_EQ_STR(out, "mail.example.test");
	CHECK_EQ_INT(next, 63);
	/* A label, then a pointer (as other servers write it). */
	struct pkt l = r;
	l.b[49] = 0xc0;
	l.b[50] = 12;
	CHECK_EQ_INT(dns_name(l.b, l.n, 44, out, sizeof(out), &next, &cut), DNS_OK);
	CHECK_EQ_STR(out, "mail.example.test");
	CHECK_EQ_INT(next, 51);
	/* Cut by the capture inside the pointer, or before it. */
	CHECK_EQ_INT(dns_name(l.b, 50, 44, out, sizeof(out), &next, &cut), DNS_CUT);
	CHECK_EQ_INT(dns_name(l.b, 47, 44, out, sizeof(out), &next, &cut), DNS_CUT);
	CHECK_EQ_INT(dns_name(r.b, 31, 30, out, sizeof(out), &next, &cut), DNS_CUT);

	uint8_t m[600] = { 0 };
	/* A pointer to itself, forward, into the header: refused. */
	m[12] = 0xc0;
	m[13] = 12;
	CHECK_EQ_INT(dns_name(m, 20, 12, out, sizeof(out), &next, &cut), DNS_BAD);
	m[13] = 14;
	CHECK_EQ_INT(dns_name(m, 20, 12, out, sizeof(out), &next, &cut), DNS_BAD);
	m[13] = 2;
	CHECK_EQ_INT(dns_name(m, 20, 12, out, sizeof(out), &next, &cut), DNS_BAD);
	/* Two names pointing at each other. */
	m[12] = 1, m[13] = 'a', m[14] = 0xc0, m[15] = 16, m[16] = 0xc0, m[17] = 12;
	CHECK_EQ_INT(dns_name(m, 20, 16, out, sizeof(out), &next, &cut), DNS_BAD);
	/* Extended label type 0x40. */
	m[12] = 0x41;
	CHECK_EQ_INT(dns_name(m, 20, 12, out, sizeof(out), &next, &cut), DNS_BAD);
	/* Longer than 255 bytes on the wire. */
	for (int i = 0; i < 5; i++) {
		m[12 + i * 64] = 63;
		memset(m + 13 + i * 64, 'a', 63);
	}
	m[12 + 5 * 64] = 0;
	CHECK_EQ_INT(dns_name(m, sizeof(m), 12, out, sizeof(out), &next, &cut), DNS_BAD);
	/* Escapes, case, and a text bound. */
	uint8_t e[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 'A', '.', '\\', 0, 2, 'B', ' ', 0 };
	CHECK_EQ_INT(dns_name(e, sizeof(e), 12, out, sizeof(out), &next, &cut), DNS_OK);
	CHECK_EQ_STR(out, "a\\.\\\\\\000.b\\032");
	CHECK(!cut);
	char small[6];
	CHECK_EQ_INT(dns_name(e, sizeof(e), 12, small, sizeof(small), &next, &cut), DNS_OK);
	CHECK_EQ_STR(small, "a\\.\\\\");
	CHECK(cut);
	uint8_t root[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	CHECK_EQ_INT(dns_name(root, sizeof(root), 12, out, sizeof(out), &next, &cut), DNS_OK);
	CHECK_EQ_STR(out, ".");
	/* A long, legal name fills the target; 253 chars fit. */
	uint8_t lg[300] = { 0 };
	uint32_t at = 12;
	for (int i = 0; i < 4; i++) {
		lg[at] = i < 3 ? 63 : 61;
		memset(lg + at + 1, 'z', lg[at]);
		at += 1 + lg[at];
	}
	CHECK_EQ_INT(dns_name(lg, sizeof(lg), 12, out, sizeof(out), &next, &cut), DNS_OK);
	CHECK_EQ_INT(strlen(out), 253);
	CHECK(!cut);
}

/* Every capture cut of a response; a cut query still pairs by ID. */
static void test_cut_messages(void)
{
	struct pkt q = hex(DIG_MX_Q), r = hex(DIG_MX_R);

	for (uint32_t cap = 0; cap <= r.n; cap++) {
		struct fx *x = fx_new(IPPROTO_UDP);

		feedc(x, ZT_DIR_OUT, S(1), q.b, q.n, q.n);
		CHECK_EQ_INT(feedc(x, ZT_DIR_IN, S(2), cap ? r.b : NULL, cap, r.n), 0);
		/* The question ends at 34: from there on it pairs. */
		CHECK_EQ_INT(x->n, cap >= 12 ? 1 : 0);
		fx_free(x);
	}
	struct fx *x = fx_new(IPPROTO_UDP);
	feedc(x, ZT_DIR_OUT, S(1), q.b, 20, q.n);
	feedc(x, ZT_DIR_IN, S(2), r.b, r.n, r.n);
	CHECK_EQ_INT(x->n, 1);
	CHECK_EQ_STR(x->t[0].method, "");
	CHECK(x->t[0].flags & ZT_F_TRUNCATED);
	/* A message shorter than its header, or ending inside its question. */
	feedc(x, ZT_DIR_IN, S(3), r.b, 11, 11);
	feedc(x, ZT_DIR_IN, S(3), r.b, 28, 28);
	CHECK_EQ_INT(x->st.malformed, 2);
	fx_free(x);
}

static int tcp_feed(struct fx *x, enum zt_dir d, uint64_t ts, const struct pkt *p, uint32_t from,
		    uint32_t to)
{
	return feedc(x, d, ts, p->b + from, to - from, to - from);
}

/* dig +tcp, split at every byte, and a byte at a time. */
static void test_tcp_framing(void)
{
	struct pkt q = hex(TCP_Q), r = hex(TCP_R);

	for (uint32_t cut = 1; cut < q.n; cut++) {
		struct fx *x = fx_new(IPPROTO_TCP);

		CHECK_EQ_INT(tcp_feed(x, ZT_DIR_OUT, S(1), &q, 0, cut), 0);
		CHECK_EQ_INT(tcp_feed(x, ZT_DIR_OUT, S(2), &q, cut, q.n), 0);
		uint32_t rc = cut < r.n ? cut : 1;
		CHECK_EQ_INT(tcp_feed(x, ZT_DIR_IN, S(3), &r, 0, rc), 0);
		CHECK_EQ_INT(x->n, 0);
		CHECK_EQ_INT(tcp_feed(x, ZT_DIR_IN, S(4), &r, rc, r.n), 0);
		CHECK_EQ_INT(x->n, 1);
		CHECK_EQ_STR(x->t[0].target, "host.example.test");
		CHECK_EQ_INT(x->t[0].req_first_ns, S(1));
		CHECK_EQ_INT(x->t[0].req_last_ns, S(2));
		CHECK_EQ_INT(x->t[0].req_bytes, q.n);
		CHECK_EQ_INT(x->t[0].resp_bytes, r.n);
		fx_free(x);
	}
	/* As dnsmasq reads: a byte, a byte, the message. */
	struct fx *x = fx_new(IPPROTO_TCP);
	tcp_feed(x, ZT_DIR_IN, S(1), &q, 0, 1);
	tcp_feed(x, ZT_DIR_IN, S(1), &q, 1, 2);
	tcp_feed(x, ZT_DIR_IN, S(1), &q, 2, q.n);
	tcp_feed(x, ZT_DIR_OUT, S(2), &r, 0, r.n);
	CHECK_EQ_INT(x->n, 1);
	CHECK(x->t[0].server);
	CHECK_EQ_STR(x->t[0].method, "A");
	/* Two messages in one read, each way. */
	struct pkt q2, r2;
	memcpy(q2.b, q.b, q.n);
	memcpy(q2.b + q.n, q.b, q.n);
	q2.b[q.n + 3] ^= 1; /* another ID */
	q2.n = 2 * q.n;
	memcpy(r2.b, r.b, r.n);
	memcpy(r2.b + r.n, r.b, r.n);
	r2.b[r.n + 3] ^= 1;
	r2.n = 2 * r.n;
	feedc(x, ZT_DIR_IN, S(3), q2.b, q2.n, q2.n);
	feedc(x, ZT_DIR_OUT, S(4), r2.b, r2.n, r2.n);
	CHECK_EQ_INT(x->n, 3);
	fx_close(x, S(5));
	CHECK_EQ_INT(x->n, 3);
	fx_free(x);

	/* Past a cut capture the next message's prefix is still found by
	 * length; a lost prefix gives up. */
	x = fx_new(IPPROTO_TCP);
	CHECK_EQ_INT(feedc(x, ZT_DIR_OUT, S(1), q.b, 20, q.n), 0);
	CHECK_EQ_INT(feedc(x, ZT_DIR_OUT, S(1), q.b, q.n, q.n), 0);
	CHECK_EQ_INT(feedc(x, ZT_DIR_IN, S(2), r.b, r.n, r.n), 0);
	CHECK_EQ_INT(x->n, 1);
	CHECK_EQ_INT(feedc(x, ZT_DIR_OUT, S(3), NULL, 0, 10), -EPROTO);
	CHECK_EQ_INT(feedc(x, ZT_DIR_OUT, S(3), q.b, q.n, q.n), -EPROTO);
	fx_close(x, S(4));
	fx_free(x);
	/* Unanswered at a TCP close: no_response, not timeout. */
	x = fx_new(IPPROTO_TCP);
	tcp_feed(x, ZT_DIR_OUT, S(1), &q, 0, q.n);
	fx_close(x, S(2));
	CHECK_EQ_INT(x->n, 1);
	CHECK_EQ_INT(x->t[0].flags, ZT_F_NO_RESPONSE);
	fx_free(x);
}

/* Not DNS after all: some bad messages are let go, then the parser quits. */
static void test_hostile(void)
{
	struct fx *x = fx_new(IPPROTO_UDP);
	uint8_t junk[64];
	int ret = 0, i;

	memset(junk, 0xff, sizeof(junk));
	for (i = 0; i < 20 && !ret; i++)
		ret = feedc(x, ZT_DIR_IN, S(1), junk, sizeof(junk), sizeof(junk));
	CHECK_EQ_INT(ret, -EPROTO);
	CHECK_EQ_INT(i, DNS_BAD_MAX);
	fx_free(x);
	/* A 1-byte TCP prefix declaring less than a header. */
	x = fx_new(IPPROTO_TCP);
	CHECK_EQ_INT(feedc(x, ZT_DIR_IN, S(1), (const uint8_t *)"\0\5abcde", 7, 7), -EPROTO);
	fx_free(x);
	/* Random bytes: no crash, no read past cap (ASan watches). */
	srand(7);
	for (int round = 0; round < 2000; round++) {
		uint8_t b[80];
		uint32_t n = (uint32_t)(rand() % (int)sizeof(b)) + 1;
		x = fx_new(round & 1 ? IPPROTO_TCP : IPPROTO_UDP);
		for (int k = 0; k < 6; k++) {
			uint8_t *p = malloc(n);
			for (uint32_t j = 0; j < n; j++)
				p[j] = (uint8_t)(rand() & (k & 1 ? 0x3f : 0xff));
			if (n > 5 && (round & 2))
				p[4] = 0, p[5] = 1; /* QDCOUNT 1 */
			feedc(x, k & 1 ? ZT_DIR_IN : ZT_DIR_OUT, S(k), p, n, n + (uint32_t)(rand() % 3));
			free(p);
		}
		fx_close(x, S(9));
		fx_free(x);
	}
}

/* ---- the tracer around the parser ------------------------------------- */

static struct zt_span spans[8];
static int nspans;

static void on_span(void *ctx, struct zt_span *s)
{
	(void)ctx;
	if (nspans < 8)
		spans[nspans] = *s;
	nspans++;
}

static void conn_rec(struct zt_tracer *tr, uint64_t id, uint64_t ts, const char *peer, uint16_t dport)
{
	struct zt_conn_event e = { .hdr = { .ts_ns = ts, .conn_id = id, .type = ZT_EV_CONN } };

	e.family = AF_INET;
	inet_pton(AF_INET, "10.231.0.3", e.saddr);
	inet_pton(AF_INET, peer, e.daddr);
	e.sport = 40000;
	e.dport = dport;
	e.ipproto = IPPROTO_UDP;
	zt_tracer_on_record(tr, &e, sizeof(e));
}

static void data_rec(struct zt_tracer *tr, uint64_t id, uint64_t ts, uint8_t dir, const char *h,
		     uint64_t offset)
{
	struct pkt p = hex(h);
	struct {
		struct zt_data_event e;
		uint8_t b[1024];
	} r = { .e = { .hdr = { .ts_ns = ts, .conn_id = id, .type = ZT_EV_DATA } } };

	r.e.dir = dir;
	r.e.len = r.e.cap = p.n;
	r.e.offset = offset;
	memcpy(r.b, p.b, p.n);
	zt_tracer_on_record(tr, &r, sizeof(r.e) + p.n);
}

static void test_tracer_udp(void)
{
	struct zt_tracer_opts o = { .on_span = on_span };
	struct zt_tracer *tr = zt_tracer_new(&o);
	/* An ID whose bytes look like a TLS record header (0x16 0x03). */
	char tlsish[sizeof(GLIBC_A_Q)], tlsish_r[sizeof(GLIBC_A_R)];

	memcpy(tlsish, GLIBC_A_Q, sizeof(tlsish));
	memcpy(tlsish_r, GLIBC_A_R, sizeof(tlsish_r));
	memcpy(tlsish, "160300", 6);
	memcpy(tlsish_r, "160380", 6);
	conn_rec(tr, 1, S(1), "10.231.0.2", 53);
	data_rec(tr, 1, S(1), ZT_DIR_OUT, tlsish, 0);
	data_rec(tr, 1, S(1) + 1000, ZT_DIR_IN, tlsish_r, 0);
	CHECK_EQ_INT(nspans, 1);
	CHECK_EQ_STR(spans[0].protocol, "dns");
	CHECK_EQ_STR(spans[0].peer, "10.231.0.2:53");
	CHECK_EQ_STR(spans[0].method, "A");
	CHECK_EQ_INT(spans[0].kind, ZT_SPAN_CLIENT);
	/* A socket without connect(): its peer as its latest send named. */
	conn_rec(tr, 2, S(2), "0.0.0.0", 0);
	data_rec(tr, 2, S(2), ZT_DIR_IN, DIG_A_Q, 0);
	conn_rec(tr, 2, S(2) + 5, "10.231.0.3", 41000);
	data_rec(tr, 2, S(2) + 5, ZT_DIR_OUT, DIG_A_R, 0);
	CHECK_EQ_INT(nspans, 2);
	CHECK_EQ_INT(spans[1].kind, ZT_SPAN_SERVER);
	CHECK_EQ_STR(spans[1].peer, "10.231.0.3:41000");
	/* A query never answered: reported when its socket has been idle. */
	conn_rec(tr, 3, S(3), "10.231.0.2", 53);
	data_rec(tr, 3, S(3), ZT_DIR_OUT, DIG_NX_Q, 0);
	zt_tracer_expire_udp(tr, S(3) + ZT_UDP_IDLE_NS - 1);
	CHECK_EQ_INT(nspans, 2);
	CHECK_EQ_INT(zt_tracer_conns(tr), 1); /* the first two, idle long enough */
	zt_tracer_expire_udp(tr, S(3) + ZT_UDP_IDLE_NS + 1);
	CHECK_EQ_INT(nspans, 3);
	CHECK_EQ_STR(spans[2].target, "missing.test");
	CHECK_EQ_INT(spans[2].flags, ZT_F_TIMEOUT);
	CHECK_EQ_INT(zt_tracer_conns(tr), 0); /* all three were idle that long */
	CHECK_EQ_INT(zt_tracer_stats(tr)->udp_expired, 3);
	CHECK_EQ_INT(zt_tracer_stats(tr)->proto[ZT_PROTO_DNS].unanswered, 1);
	CHECK_EQ_INT(zt_tracer_stats(tr)->proto[ZT_PROTO_DNS].txns, 3);
	/* TCP connections are not expired by idleness. */
	struct zt_conn_event e = { .hdr = { .ts_ns = S(4), .conn_id = 9, .type = ZT_EV_CONN } };
	e.family = AF_INET;
	zt_tracer_on_record(tr, &e, sizeof(e));
	zt_tracer_expire_udp(tr, S(1000));
	CHECK_EQ_INT(zt_tracer_conns(tr), 1);
	zt_tracer_free(tr);
}

int main(void)
{
	test_detect();
	test_udp_client();
	test_glibc_parallel();
	test_udp_server();
	test_mismatch_and_retransmit();
	test_timeout_overflow_close();
	test_tc_and_rcodes();
	test_names();
	test_cut_messages();
	test_tcp_framing();
	test_hostile();
	test_tracer_udp();
	return TEST_SUMMARY("test_dns");
}
