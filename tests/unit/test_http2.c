// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The HTTP/2 parser fed the way the kernel feeds it: one socket message at a
 * time, a captured prefix of each, both directions interleaved. The byte
 * strings are what nghttp, h2load, curl and python's grpcio sent to nghttpd
 * and a grpcio server (recorded by a relay, one string per read), replayed
 * whole, split at every byte, cut by the capture bound, joined midway, and
 * with lost records; plus frames built with nghttp2's own HPACK encoder for
 * RST_STREAM, GOAWAY and hostile input. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "check.h"
#include "flags.h"
#include "proto/http2.h"
#include "proto/proto.h"

#define MAX_TXNS 300
#define TP "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

/* One read as the relay saw it: from the server (1) or the client (0). */
struct cap_msg {
	uint8_t from_server;
	const char *hex;
};

static const struct cap_msg cap_nghttp[] = {
	{ 0, "505249202a20485454502f322e300d0a0d0a534d0d0a0d0a00000c04000000000000030000006400040000ffff000005"
	       "02000000000300000000c800000502000000000500000000640000050200000000070000000000000005020000000009"
	       "000000070000000502000000000b000000030000002701250000000d0000000b0f828486418b089d5c0b8170dc0be000"
	       "3f53032a2f2a907a8aaa69d29ac4c0576c4b8300000f01250000000f0000000b0f8204022f6186c0bf90be0000160125"
	       "000000110000000b0f82048962932106aa6ff3b40186c0bf90be" },
	{ 1, "000006040000000000000300000064" },
	{ 0, "000000040100000000" },
	{ 1, "00000004010000000000005b01040000000d887690aa69d29ae452a9a74a6b13015db12e0f5889a47e561cc58197000f"
	       "6196dc34fd282794d27eea0802714102e01db81754c5a37f0f0d01396c96dc34fd282794d27eea0802714102e01db817"
	       "14c5a37f5f87497ca589d34d1f00000901040000000f88c2c1c00f0d0132bf00001d0104000000118dc2c05f92497ca5"
	       "89d34d1f6a1271d882a60e1bf0acf70f0d0331343800000900010000000d68656c6c6f2068320a00000200010000000f"
	       "610a0000940001000000113c68746d6c3e3c686561643e3c7469746c653e343034204e6f7420466f756e643c2f746974"
	       "6c653e3c2f686561643e3c626f64793e3c68313e343034204e6f7420466f756e643c2f68313e3c68723e3c6164647265"
	       "73733e6e676874747064206e6768747470322f312e35322e3020617420706f72742031383038303c2f61646472657373"
	       "3e3c2f626f64793e3c2f68746d6c3e" },
	{ 0, "0000080700000000000000000000000000" },
};
static const struct cap_msg cap_h2load[] = {
	{ 0, "505249202a20485454502f322e300d0a0d0a534d0d0a0d0a00000c04000000000000020000000000043fffffff000004"
	       "0800000000003fff000000002401050000000104022f6186418b089d5c0b8170dc0be0007f827a8f9c541c722954d3a5"
	       "358980aed8970700000801050000000304022f6186bf82be00000801050000000504022f6186bf82be" },
	{ 1, "000006040000000000000300000064000000040100000000000052010400000001887690aa69d29ae452a9a74a6b1301"
	       "5db12e0f5889a47e561cc58197000f6196dc34fd282794d27eea0802714102e01db81754c5a37f0f0d01326c96dc34fd"
	       "282794d27eea0802714102e01db81714c5a37f00000901040000000388c1c0bf0f0d0132be00000901040000000588c1"
	       "c0bf0f0d0132be000002000100000001610a000002000100000003610a000002000100000005610a" },
	{ 0, "00000004010000000000000801050000000704022f6186bf82be00000801050000000904022f6186bf82be0000080105"
	       "0000000b04022f6186bf82be" },
	{ 1, "00000901040000000788c1c0bf0f0d0132be00000901040000000988c1c0bf0f0d0132be00000901040000000b88c1c0"
	       "bf0f0d0132be000002000100000007610a000002000100000009610a00000200010000000b610a" },
	{ 0, "0000080700000000000000000000000000" },
};
static const struct cap_msg cap_curl[] = {
	{ 0, "505249202a20485454502f322e300d0a0d0a534d0d0a0d0a000012040000000000000300000064000402000000000200"
	       "00000000000408000000000001ff0001000051010500000001828486418b089d5c0b8170dc0be000bf7a8825b650c3ab"
	       "bcf2e153032a2f2a40884d83216b1d85a93fa7001600e575c6c2f85c248d33248f34d3c58c41091e03217c8b46e8e472"
	       "3742e3e2032cb215801f" },
	{ 1, "00000604000000000000030000006400000004010000000000005b010400000001887690aa69d29ae452a9a74a6b1301"
	       "5db12e0f5889a47e561cc58197000f6196dc34fd282794d27eea0802714102e01db81754c5a37f0f0d01396c96dc34fd"
	       "282794d27eea0802714102e01db81714c5a37f5f87497ca589d34d1f00000900010000000168656c6c6f2068320a" },
	{ 0, "000000040100000000" },
};
static const struct cap_msg cap_grpc[] = {
	{ 0, "505249202a20485454502f322e300d0a0d0a534d0d0a0d0a000024040000000000000200000000000300000000000400"
	       "3fffff0005003fffff000600002000fe0300000001000004080000000000003f0000" },
	{ 1, "0000180400000000000004003fffff0005003fffff000600002000fe0300000001000004080000000000003f0000" },
	{ 1, "000000040100000000" },
	{ 0, "000000040100000000" },
	{ 0, "0000ca01040000000140053a706174680d2f706b672e5376632f4563686f400a3a617574686f726974790f3132372e30"
	       "2e302e313a31393030348386400c636f6e74656e742d74797065106170706c69636174696f6e2f677270634002746508"
	       "747261696c6572734014677270632d6163636570742d656e636f64696e67176964656e746974792c206465666c617465"
	       "2c20677a6970400a757365722d6167656e7430677270632d707974686f6e2f312e35312e3120677270632d632f32392e"
	       "302e3020286c696e75783b20636874747032290000040800000000010000000500000a00010000000100000000056865"
	       "6c6c6f00000408000000000000000005" },
	{ 1, "0000080600000000000000000000000000" },
	{ 0, "0000080601000000000000000000000000" },
	{ 1, "00004e01040000000188400c636f6e74656e742d74797065106170706c69636174696f6e2f677270634014677270632d"
	       "6163636570742d656e636f64696e67176964656e746974792c206465666c6174652c20677a697000000a000000000001"
	       "000000000568656c6c6f00000f010500000001400b677270632d73746174757301300000040800000000000000000a" },
	{ 0, "000008060000000000000000000000000000001f01040000000340053a70617468102f706b672e5376632f4d69737369"
	       "6e67c38386c2c1c0bf000004080000000003000000050000060001000000030000000001780000040800000000000000"
	       "000a" },
	{ 1, "000008060100000000000000000000000000000408000000000000000006" },
	{ 1, "00002d01050000000388c0400b677270632d7374617475730135000c677270632d6d6573736167650d6e6f2073756368"
	       "207468696e67" },
	{ 0, "00001e01040000000540053a706174680f2f706b672e5376632f53747265616dc48386c3c2c1c0000006000100000005"
	       "000000000103" },
	{ 1, "00000301040000000588c1c000000f000000000005000000000a00000000000000000000000004080000000000000000"
	       "06" },
	{ 0, "000004080000000005000000140000040800000000000000000f" },
	{ 1, "00000f000000000005000000000a0101010101010101010100000f000000000005000000000a02020202020202020202"
	       "000001010500000005bf" },
	{ 0, "00001c01040000000740053a706174680d2f706b672e5376632f43686174c58386c4c3c2c10000040800000000000000"
	       "0019" },
	{ 0, "00000700000000000700000000026d30" },
	{ 0, "0000040800000000070000000500000700000000000700000000026d3100000408000000000000000005" },
	{ 0, "000000000100000007" },
	{ 1, "00000301040000000788c1c000000800000000000700000000036d30210000040800000000000000000e" },
	{ 1, "00000800000000000700000000036d3121000001010500000007bf" },
	{ 0, "0000040800000000070000000800000408000000000000000008" },
	{ 1, "0000080600000000000000000000000001" },
	{ 0, "0000080600000000000000000000000001" },
	{ 0, "000008060100000000000000000000000100000408000000000000000003" },
	{ 1, "0000080601000000000000000000000001" },
};
static const struct cap_msg cap_big[] = {
	{ 0, "505249202a20485454502f322e300d0a0d0a534d0d0a0d0a00000c04000000000000030000006400040000ffff000005"
	       "02000000000300000000c800000502000000000500000000640000050200000000070000000000000005020000000009"
	       "000000070000000502000000000b000000030000002b01250000000d0000000b0f82048362334d86418b089d5c0b8170"
	       "dc0be0033f53032a2f2a907a8aaa69d29ac4c0576c4b83" },
	{ 1, "000006040000000000000300000064" },
	{ 0, "000000040100000000" },
	{ 1, "00000004010000000000005501040000000d887690aa69d29ae452a9a74a6b13015db12e0f5889a47e561cc58197000f"
	       "6196dc34fd282794d27eea0802714102e01db81754c5a37f0f0d846800003f6c96dc34fd282794d27eea0802714102e0"
	       "1db81714c5a37f00400000000000000d" },
	{ 0, "0000080700000000000000000000000000" },
};

#define NMSG(a) (int)(sizeof(a) / sizeof(a[0]))

struct fx {
	void *c;
	struct zt_proto_stats st;
	struct zt_txn t[MAX_TXNS];
	int n;
	int ret; /* the last feed's */
};

static const struct zt_proto_ops *ops = &zt_proto_http2;

static void on_txn(void *ctx, const struct zt_txn *t)
{
	struct fx *x = ctx;

	if (x->n < MAX_TXNS)
		x->t[x->n] = *t;
	x->n++;
}

static void fx_init_hint(struct fx *x, const struct zt_proto_hint *h)
{
	memset(x, 0, sizeof(*x));
	x->c = calloc(1, ops->state_size);
	ops->init(x->c, h);
}

static void fx_init(struct fx *x)
{
	struct zt_proto_hint h = { .ipproto = IPPROTO_TCP };

	fx_init_hint(x, &h);
}

static void fx_done(struct fx *x)
{
	ops->free(x->c);
	free(x->c);
	x->c = NULL;
}

static int feedc(struct fx *x, enum zt_dir d, uint64_t ts, const uint8_t *data, uint32_t cap,
		 uint32_t len)
{
	x->ret = ops->feed(x->c, d, ts, data, cap, len, NULL, 0, on_txn, x, &x->st);
	return x->ret;
}

static int feed(struct fx *x, enum zt_dir d, uint64_t ts, const uint8_t *data, uint32_t len)
{
	return feedc(x, d, ts, data, len, len);
}

static void fx_close(struct fx *x, uint64_t ts)
{
	ops->close(x->c, ts, on_txn, x, &x->st);
}

static uint32_t unhex(const char *h, uint8_t *out, uint32_t size)
{
	uint32_t n = 0;

	for (; h[0] && h[1] && n < size; h += 2) {
		unsigned v;

		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* The big response nghttpd sent (40130 bytes in one read): its first frames
 * were recorded, the 'z' bodies of its three DATA frames are made here. */
static uint32_t big_msg(const char *head_hex, uint8_t *out)
{
	static const uint8_t d2[9] = { 0, 0x40, 0, 0, 0, 0, 0, 0, 13 };
	static const uint8_t d3[9] = { 0, 0x1c, 0x40, 0, 1, 0, 0, 0, 13 };
	uint32_t n = unhex(head_hex, out, 200);

	memset(out + n, 'z', 16384);
	n += 16384;
	memcpy(out + n, d2, 9);
	n += 9;
	memset(out + n, 'z', 16384);
	n += 16384;
	memcpy(out + n, d3, 9);
	n += 9;
	memset(out + n, 'z', 7232);
	return n + 7232;
}

/* How a capture is replayed. */
struct play {
	bool client;      /* the client's socket (else the server's) */
	uint32_t cut_at;  /* feed each message as [0, cut_at) and the rest */
	uint32_t piece;   /* or in pieces of this many bytes */
	uint32_t capmax;  /* capture bound: 0 for none */
	int from;         /* first message fed (a capture begun midway) */
	int lost;         /* this message is lost in the ring (a NULL feed), -1 none */
	bool no_close;
};

static uint8_t msgbuf[65536];

static void play_msg(struct fx *x, const struct play *p, enum zt_dir d, uint64_t ts,
		     const uint8_t *b, uint32_t len)
{
	uint32_t off = 0;

	while (off < len && x->ret == 0) {
		uint32_t n = len - off, cap;

		if (p->piece && n > p->piece)
			n = p->piece;
		if (p->cut_at && off < p->cut_at && n > p->cut_at - off)
			n = p->cut_at - off;
		cap = p->capmax && n > p->capmax ? p->capmax : n;
		feedc(x, d, ts, b + off, cap, n);
		off += n;
	}
}

static void play(struct fx *x, const struct cap_msg *m, int nmsg, const struct play *p)
{
	for (int i = p->from; i < nmsg && x->ret == 0; i++) {
		enum zt_dir d = m[i].from_server == p->client ? ZT_DIR_IN : ZT_DIR_OUT;
		uint64_t ts = 1000 * (uint64_t)(i + 1);
		uint32_t len = m == cap_big && i == 3 ? big_msg(m[i].hex, msgbuf)
						       : unhex(m[i].hex, msgbuf, sizeof(msgbuf));

		if (i == p->lost)
			feedc(x, d, ts, NULL, 0, len);
		else
			play_msg(x, p, d, ts, msgbuf, len);
	}
	if (!p->no_close)
		fx_close(x, 1000 * (uint64_t)(nmsg + 1));
}

/* One line per transaction: what a comparison of two replays looks at. */
static void txn_line(const struct zt_txn *t, char *buf, size_t size)
{
	snprintf(buf, size, "%s %u %s %s %d %s f%d fl%x s%d rq%llu rs%llu %llu-%llu %llu-%llu",
		 t->protocol, t->stream, t->method, t->target, t->status, t->error, t->failed,
		 t->flags, t->server, (unsigned long long)t->req_bytes,
		 (unsigned long long)t->resp_bytes, (unsigned long long)t->req_first_ns,
		 (unsigned long long)t->req_last_ns, (unsigned long long)t->resp_first_ns,
		 (unsigned long long)t->resp_last_ns);
}

static bool same_txns(const struct fx *a, const struct fx *b)
{
	char la[512], lb[512];

	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++) {
		txn_line(&a->t[i], la, sizeof(la));
		txn_line(&b->t[i], lb, sizeof(lb));
		if (strcmp(la, lb)) {
			fprintf(stderr, "  differs: %s\n        vs %s\n", la, lb);
			return false;
		}
	}
	return true;
}

static void __attribute__((unused)) dump(const struct fx *x)
{
	char l[512];

	for (int i = 0; i < x->n && i < MAX_TXNS; i++) {
		txn_line(&x->t[i], l, sizeof(l));
		fprintf(stderr, "  txn %d: %s\n", i, l);
	}
}

static const struct zt_txn *by_stream(const struct fx *x, uint32_t id)
{
	for (int i = 0; i < x->n && i < MAX_TXNS; i++)
		if (x->t[i].stream == id)
			return &x->t[i];
	return NULL;
}

/* ---- frames made here, header blocks by nghttp2's encoder ---------------- */

static uint32_t frame(uint8_t *out, uint8_t type, uint8_t fl, uint32_t sid, const void *p, uint32_t n)
{
	out[0] = (uint8_t)(n >> 16);
	out[1] = (uint8_t)(n >> 8);
	out[2] = (uint8_t)n;
	out[3] = type;
	out[4] = fl;
	out[5] = (uint8_t)(sid >> 24);
	out[6] = (uint8_t)(sid >> 16);
	out[7] = (uint8_t)(sid >> 8);
	out[8] = (uint8_t)sid;
	if (n && p)
		memcpy(out + 9, p, n);
	return 9 + n;
}

/* A HEADERS frame of name, value pairs (NULL-terminated). */
static uint32_t headers(nghttp2_hd_deflater *df, uint8_t *out, uint8_t fl, uint32_t sid,
			const char *const *kv)
{
	nghttp2_nv nv[16];
	uint8_t block[4096];
	size_t n = 0;
	ssize_t len;

	for (; kv[2 * n]; n++) {
		nv[n].name = (uint8_t *)kv[2 * n];
		nv[n].value = (uint8_t *)kv[2 * n + 1];
		nv[n].namelen = strlen(kv[2 * n]);
		nv[n].valuelen = strlen(kv[2 * n + 1]);
		nv[n].flags = NGHTTP2_NV_FLAG_NONE;
	}
	len = nghttp2_hd_deflate_hd(df, block, sizeof(block), nv, n);
	if (len < 0)
		abort();
	return frame(out, 1, fl | 4, sid, block, (uint32_t)len);
}

static uint32_t rst(uint8_t *out, uint32_t sid, uint32_t code)
{
	uint8_t p[4] = { (uint8_t)(code >> 24), (uint8_t)(code >> 16), (uint8_t)(code >> 8), (uint8_t)code };

	return frame(out, 3, 0, sid, p, 4);
}

static uint32_t goaway(uint8_t *out, uint32_t last)
{
	uint8_t p[8] = { (uint8_t)(last >> 24), (uint8_t)(last >> 16), (uint8_t)(last >> 8), (uint8_t)last };

	return frame(out, 7, 0, 0, p, 8);
}

/* A client and a server encoder and an open connection, server side. */
struct syn {
	nghttp2_hd_deflater *cli, *srv;
	uint8_t b[70000];
};

static void syn_open(struct syn *s, struct fx *x)
{
	static const uint8_t settings[] = { 0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100 };
	uint32_t n;

	nghttp2_hd_deflate_new(&s->cli, 4096);
	nghttp2_hd_deflate_new(&s->srv, 65536); /* as big as a peer lets it */
	memcpy(s->b, H2_PREFACE, H2_PREFACE_LEN);
	n = H2_PREFACE_LEN + frame(s->b + H2_PREFACE_LEN, 4, 0, 0, NULL, 0);
	feed(x, ZT_DIR_IN, 10, s->b, n);
	feed(x, ZT_DIR_OUT, 11, settings, sizeof(settings));
}

static void syn_close(struct syn *s)
{
	nghttp2_hd_deflate_del(s->cli);
	nghttp2_hd_deflate_del(s->srv);
}

static const char *const get_slow[] = { ":method", "GET", ":path", "/slow", ":scheme", "http",
					 ":authority", "pong", NULL };
static const char *const resp_200[] = { ":status", "200", "server", "test", NULL };
static const char *const grpc_req[] = { ":method", "POST", ":path", "/pkg.Svc/Wait", ":scheme",
					 "http", "content-type", "application/grpc", "te", "trailers",
					 NULL };

/* ---- the tests ---------------------------------------------------------- */

static void check_nghttp(const struct fx *x, bool server)
{
	static const char *const targets[] = { "/", "/a", "/missing?q=1" };
	static const int status[] = { 200, 200, 404 };
	static const uint64_t req[] = { 48, 24, 31 }, resp[] = { 118, 29, 195 };

	CHECK_EQ_INT(x->n, 3);
	for (int i = 0; i < 3 && i < x->n; i++) {
		const struct zt_txn *t = &x->t[i];

		CHECK_EQ_STR(t->protocol, "http2");
		CHECK_EQ_INT(t->stream, 13 + 2 * i);
		CHECK_EQ_STR(t->method, "GET");
		CHECK_EQ_STR(t->target, targets[i]);
		CHECK_EQ_INT(t->status, status[i]);
		CHECK(!t->failed);
		CHECK_EQ_STR(t->error, "");
		CHECK_EQ_INT(t->version, 20);
		CHECK_EQ_INT(t->server, server);
		CHECK_EQ_INT(t->flags, 0);
		CHECK_EQ_INT(t->req_bytes, req[i]);
		CHECK_EQ_INT(t->resp_bytes, resp[i]);
		CHECK_EQ_INT(t->req_first_ns, 1000);
		CHECK_EQ_INT(t->req_last_ns, 1000);
		CHECK_EQ_INT(t->resp_first_ns, 4000);
		CHECK_EQ_INT(t->resp_last_ns, 4000);
	}
	CHECK_EQ_INT(x->st.unanswered + x->st.orphan_responses + x->st.resyncs + x->st.overflow +
			     x->st.malformed + x->st.midstream, 0);
}

static void test_nghttp(void)
{
	struct fx x;
	struct play client = { .client = true, .lost = -1 }, server = { .lost = -1 };

	fx_init(&x);
	play(&x, cap_nghttp, NMSG(cap_nghttp), &client);
	check_nghttp(&x, false);
	fx_done(&x);
	fx_init(&x);
	play(&x, cap_nghttp, NMSG(cap_nghttp), &server);
	check_nghttp(&x, true);
	fx_done(&x);
}

static void test_h2load(void)
{
	struct fx x;
	struct play p = { .lost = -1 };

	fx_init(&x);
	play(&x, cap_h2load, NMSG(cap_h2load), &p);
	CHECK_EQ_INT(x.n, 6);
	for (int i = 0; i < 6 && i < x.n; i++) {
		CHECK_EQ_INT(x.t[i].stream, 1 + 2 * i);
		CHECK_EQ_STR(x.t[i].target, "/a");
		CHECK_EQ_INT(x.t[i].status, 200);
		CHECK_EQ_INT(x.t[i].flags, 0);
		CHECK_EQ_INT(x.t[i].req_bytes, i ? 17 : 45);
		CHECK_EQ_INT(x.t[i].resp_bytes, i ? 29 : 102);
		CHECK_EQ_INT(x.t[i].req_first_ns, i < 3 ? 1000 : 3000);
	}
	fx_done(&x);
}

static void test_curl_traceparent(void)
{
	struct fx x;
	struct play p = { .lost = -1 };

	fx_init(&x);
	play(&x, cap_curl, NMSG(cap_curl), &p);
	CHECK_EQ_INT(x.n, 1);
	CHECK_EQ_STR(x.t[0].target, "/");
	CHECK_EQ_STR(x.t[0].traceparent, TP);
	CHECK_EQ_INT(x.t[0].status, 200);
	CHECK_EQ_INT(x.t[0].stream, 1);
	CHECK_EQ_INT(x.t[0].req_bytes, 90);
	CHECK_EQ_INT(x.t[0].resp_bytes, 118);
	fx_done(&x);
}

static void check_grpc(const struct fx *x, bool server)
{
	static const char *const targets[] = { "/pkg.Svc/Echo", "/pkg.Svc/Missing", "/pkg.Svc/Stream",
					       "/pkg.Svc/Chat" };
	static const uint64_t req[] = { 230, 55, 54, 78 }, resp[] = { 130, 54, 94, 56 };

	CHECK_EQ_INT(x->n, 4);
	for (int i = 0; i < 4 && i < x->n; i++) {
		const struct zt_txn *t = &x->t[i];

		CHECK_EQ_STR(t->protocol, "grpc");
		CHECK_EQ_INT(t->stream, 1 + 2 * i);
		CHECK_EQ_STR(t->method, "POST");
		CHECK_EQ_STR(t->target, targets[i]);
		CHECK_EQ_INT(t->status, i == 1 ? 5 : 0);
		CHECK_EQ_STR(t->error, i == 1 ? "NOT_FOUND" : "");
		CHECK_EQ_INT(t->failed, i == 1);
		CHECK_EQ_INT(t->flags, i >= 2 ? ZT_F_STREAMING : 0);
		CHECK_EQ_INT(t->server, server);
		CHECK_EQ_INT(t->req_bytes, req[i]);
		CHECK_EQ_INT(t->resp_bytes, resp[i]);
	}
}

static void test_grpc(void)
{
	struct fx x;
	struct play client = { .client = true, .lost = -1 }, server = { .lost = -1 };

	fx_init(&x);
	play(&x, cap_grpc, NMSG(cap_grpc), &client);
	check_grpc(&x, false);
	fx_done(&x);
	fx_init(&x);
	play(&x, cap_grpc, NMSG(cap_grpc), &server);
	check_grpc(&x, true);
	CHECK_EQ_INT(x.st.unanswered + x.st.orphan_responses + x.st.resyncs + x.st.overflow +
			     x.st.malformed + x.st.midstream, 0);
	/* Echo: HEADERS at message 5, the response's trailers at message 8. */
	CHECK_EQ_INT(x.t[0].req_first_ns, 5000);
	CHECK_EQ_INT(x.t[0].resp_first_ns, 8000);
	CHECK_EQ_INT(x.t[0].resp_last_ns, 8000);
	fx_done(&x);
}

static void test_big_response(void)
{
	struct fx x;
	struct play whole = { .client = true, .lost = -1 }, bound = { .client = true, .lost = -1,
								       .capmax = 512 };

	fx_init(&x);
	play(&x, cap_big, NMSG(cap_big), &whole);
	CHECK_EQ_INT(x.n, 1);
	CHECK_EQ_STR(x.t[0].target, "/big");
	CHECK_EQ_INT(x.t[0].status, 200);
	CHECK_EQ_INT(x.t[0].flags, 0);
	CHECK_EQ_INT(x.t[0].resp_bytes, 94 + 16393 * 2 + 7241);
	CHECK_EQ_INT(x.t[0].resp_last_ns, 4000);
	fx_done(&x);

	/* 512 bytes of a 40130-byte read: the second DATA frame's header is
	 * not captured, so the END_STREAM is never seen. The span comes out at
	 * close, as far as it was seen, marked. */
	fx_init(&x);
	play(&x, cap_big, NMSG(cap_big), &bound);
	CHECK_EQ_INT(x.n, 1);
	CHECK_EQ_STR(x.t[0].target, "/big");
	CHECK_EQ_INT(x.t[0].status, 200);
	CHECK_EQ_INT(x.t[0].flags, ZT_F_RESYNC);
	CHECK_EQ_INT(x.t[0].resp_bytes, 94 + 16393);
	fx_done(&x);
}

/* Every capture, each message fed in two parts split at every offset, and
 * byte by byte: the same transactions. */
static void test_every_split(void)
{
	static const struct {
		const struct cap_msg *m;
		int n;
	} caps[] = {
		{ cap_nghttp, NMSG(cap_nghttp) }, { cap_h2load, NMSG(cap_h2load) },
		{ cap_curl, NMSG(cap_curl) },     { cap_grpc, NMSG(cap_grpc) },
		{ cap_big, NMSG(cap_big) },
	};
	int bad = 0;

	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		for (int side = 0; side < 2; side++) {
			struct fx base, x;
			struct play p = { .client = side, .lost = -1 };
			uint32_t maxlen = caps[c].m == cap_big ? 400 : 360;

			fx_init(&base);
			play(&base, caps[c].m, caps[c].n, &p);
			for (uint32_t k = 1; k <= maxlen + 1; k++) {
				p.cut_at = k <= maxlen ? k : 0;
				p.piece = k <= maxlen ? 0 : 1;
				if (caps[c].m == cap_big && p.piece)
					p.piece = 7;
				fx_init(&x);
				play(&x, caps[c].m, caps[c].n, &p);
				if (!same_txns(&base, &x)) {
					fprintf(stderr, "  capture %zu side %d cut %u piece %u\n", c, side,
						p.cut_at, p.piece);
					bad++;
				}
				fx_done(&x);
			}
			CHECK(base.n > 0);
			fx_done(&base);
		}
	}
	CHECK_EQ_INT(bad, 0);
}

/* Every capture bound: fewer spans, or the same ones, or ones marked for
 * what was not seen; never a field guessed. */
static void test_every_cap(void)
{
	static const struct {
		const struct cap_msg *m;
		int n;
		uint32_t whole; /* the longest message: from there on nothing is cut */
	} caps[] = {
		{ cap_nghttp, NMSG(cap_nghttp), 351 }, { cap_h2load, NMSG(cap_h2load), 184 },
		{ cap_curl, NMSG(cap_curl), 154 },     { cap_grpc, NMSG(cap_grpc), 256 },
	};
	int bad = 0;

	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		struct fx base, x;
		struct play p = { .lost = -1 };

		fx_init(&base);
		play(&base, caps[c].m, caps[c].n, &p);
		for (uint32_t cap = 1; cap <= caps[c].whole; cap++) {
			p.capmax = cap;
			fx_init(&x);
			play(&x, caps[c].m, caps[c].n, &p);
			if (cap == caps[c].whole && !same_txns(&base, &x))
				bad++;
			if (x.n > base.n || x.ret)
				bad++;
			for (int i = 0; i < x.n && i < MAX_TXNS; i++) {
				const struct zt_txn *t = &x.t[i], *b = by_stream(&base, t->stream);
				char lt[512], lb[512];

				if (!b) {
					bad++;
					continue;
				}
				txn_line(t, lt, sizeof(lt));
				txn_line(b, lb, sizeof(lb));
				if (strcmp(lt, lb) &&
				    !(t->flags & (ZT_F_HDRS_UNKNOWN | ZT_F_RESYNC | ZT_F_NO_RESPONSE))) {
					fprintf(stderr, "  cap %u: %s\n     vs %s\n", cap, lt, lb);
					bad++;
				}
				if ((t->flags & ZT_F_HDRS_UNKNOWN) && (t->target[0] && strcmp(t->target, b->target)))
					bad++;
			}
			fx_done(&x);
		}
		fx_done(&base);
	}
	CHECK_EQ_INT(bad, 0);
}

/* ztrace started after the connection: no preface, HPACK state unknown. */
static void test_midstream(void)
{
	struct fx x;
	struct play p = { .from = 8, .lost = -1 };
	struct zt_proto_hint h = { .ipproto = IPPROTO_TCP, .lport = 50051, .rport = 40000 };
	uint8_t b[256];
	uint32_t n = unhex(cap_grpc[8].hex, b, sizeof(b));

	CHECK_EQ_INT(ops->detect(b, n, n, ZT_DIR_IN, &h), ZT_DETECT_PORT);
	h.lport = 4000;
	CHECK_EQ_INT(ops->detect(b, n, n, ZT_DIR_IN, &h), ZT_DETECT_MAYBE);
	CHECK_EQ_INT(ops->detect(b, n - 1, n, ZT_DIR_IN, &h), ZT_DETECT_MAYBE);
	CHECK_EQ_INT(ops->detect(b, n - 1, n - 1, ZT_DIR_IN, &h), ZT_DETECT_NO);

	fx_init(&x);
	play(&x, cap_grpc, NMSG(cap_grpc), &p);
	CHECK_EQ_INT(x.n, 3);
	for (int i = 0; i < 3 && i < x.n; i++) {
		CHECK_EQ_INT(x.t[i].stream, 3 + 2 * i);
		CHECK_EQ_INT(x.t[i].flags, ZT_F_HDRS_UNKNOWN);
		CHECK_EQ_STR(x.t[i].method, "");
		CHECK_EQ_STR(x.t[i].target, "");
		CHECK_EQ_STR(x.t[i].protocol, "http2");
		CHECK_EQ_INT(x.t[i].status, 0);
		CHECK(x.t[i].server);
	}
	CHECK_EQ_INT(x.st.midstream, 1);
	CHECK_EQ_INT(x.st.unanswered, 0);
	fx_done(&x);

	/* h2load's second round of requests, from the client's socket. */
	fx_init(&x);
	p.from = 2;
	p.client = true;
	play(&x, cap_h2load, NMSG(cap_h2load), &p);
	CHECK_EQ_INT(x.n, 3);
	for (int i = 0; i < 3 && i < x.n; i++) {
		CHECK_EQ_INT(x.t[i].stream, 7 + 2 * i);
		CHECK_EQ_INT(x.t[i].flags, ZT_F_HDRS_UNKNOWN);
		CHECK(!x.t[i].server);
		CHECK_EQ_INT(x.t[i].req_bytes, 17);
		CHECK_EQ_INT(x.t[i].resp_bytes, 29);
	}
	CHECK_EQ_INT(x.st.midstream, 1);
	fx_done(&x);
}

/* The server's first bytes (its SETTINGS) before the client's preface: a
 * fresh connection all the same. */
static void test_server_settings_first(void)
{
	static const uint8_t settings[] = { 0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100 };
	struct zt_proto_hint h = { .ipproto = IPPROTO_TCP, .lport = 8080, .rport = 40000 };
	struct fx x;
	struct play p = { .lost = -1 };

	CHECK_EQ_INT(ops->detect(settings, sizeof(settings), sizeof(settings), ZT_DIR_OUT, &h),
		     ZT_DETECT_PORT);
	fx_init(&x);
	feed(&x, ZT_DIR_OUT, 500, settings, sizeof(settings));
	play(&x, cap_h2load, NMSG(cap_h2load), &p);
	CHECK_EQ_INT(x.n, 6);
	for (int i = 0; i < x.n && i < 6; i++)
		CHECK_EQ_INT(x.t[i].flags, 0);
	CHECK_EQ_INT(x.st.midstream, 0);
	fx_done(&x);
}

/* A read lost in the ring that held the server's header blocks: its HPACK
 * state is gone, later responses come out with their fields unknown. */
static void test_lost_header_block(void)
{
	struct fx x;
	struct play p = { .lost = 7 };

	fx_init(&x);
	play(&x, cap_grpc, NMSG(cap_grpc), &p);
	CHECK_EQ_INT(x.n, 4);
	for (int i = 0; i < x.n && i < 4; i++) {
		const struct zt_txn *t = &x.t[i];

		/* Requests were all seen: method and target are right. */
		CHECK_EQ_STR(t->method, "POST");
		CHECK_EQ_STR(t->protocol, "grpc");
		CHECK(t->flags & (ZT_F_HDRS_UNKNOWN | ZT_F_NO_RESPONSE));
		CHECK_EQ_INT(t->status, 0);
	}
	CHECK(by_stream(&x, 3) && !strcmp(by_stream(&x, 3)->target, "/pkg.Svc/Missing"));
	/* Echo's response was in the lost read: it waited until close. */
	CHECK(by_stream(&x, 1) && by_stream(&x, 1)->flags == (ZT_F_NO_RESPONSE | ZT_F_RESYNC));
	CHECK_EQ_INT(x.st.resyncs, 1);
	CHECK_EQ_INT(x.st.unanswered, 1);
	fx_done(&x);
}

static void test_rst(void)
{
	static const char *const trailers_none[] = { "x", "y", NULL };
	struct fx x;
	struct syn s;
	uint32_t n;

	(void)trailers_none;
	fx_init(&x);
	syn_open(&s, &x);
	/* The client gives up on stream 1 before any response. */
	n = headers(s.cli, s.b, 1, 1, get_slow);
	feed(&x, ZT_DIR_IN, 100, s.b, n);
	n = rst(s.b, 1, 8);
	feed(&x, ZT_DIR_IN, 200, s.b, n);
	CHECK_EQ_INT(x.n, 1);
	CHECK_EQ_INT(x.t[0].flags, ZT_F_NO_RESPONSE);
	CHECK_EQ_STR(x.t[0].error, "CANCEL");
	CHECK(x.t[0].failed);
	CHECK_EQ_INT(x.t[0].status, 0);
	CHECK_EQ_INT(x.t[0].req_last_ns, 100);
	/* The server resets stream 3 inside its response. */
	n = headers(s.cli, s.b, 1, 3, get_slow);
	feed(&x, ZT_DIR_IN, 300, s.b, n);
	n = headers(s.srv, s.b, 0, 3, resp_200);
	feed(&x, ZT_DIR_OUT, 400, s.b, n);
	n = rst(s.b, 3, 2);
	feed(&x, ZT_DIR_OUT, 500, s.b, n);
	CHECK_EQ_INT(x.n, 2);
	CHECK_EQ_INT(x.t[1].flags, 0);
	CHECK_EQ_INT(x.t[1].status, 200);
	CHECK_EQ_STR(x.t[1].error, "INTERNAL_ERROR");
	CHECK(x.t[1].failed);
	CHECK_EQ_INT(x.t[1].resp_last_ns, 500);
	/* A gRPC call cancelled by its client (a deadline). */
	n = headers(s.cli, s.b, 0, 5, grpc_req);
	feed(&x, ZT_DIR_IN, 600, s.b, n);
	n = rst(s.b, 5, 8);
	feed(&x, ZT_DIR_IN, 700, s.b, n);
	CHECK_EQ_INT(x.n, 3);
	CHECK_EQ_STR(x.t[2].protocol, "grpc");
	CHECK_EQ_STR(x.t[2].error, "CANCELLED");
	CHECK_EQ_INT(x.t[2].flags, ZT_F_NO_RESPONSE);
	CHECK(x.t[2].failed);
	/* A reset of a stream already done, or never opened: nothing. */
	n = rst(s.b, 3, 0);
	feed(&x, ZT_DIR_IN, 800, s.b, n);
	n = rst(s.b, 99, 0);
	feed(&x, ZT_DIR_IN, 800, s.b, n);
	CHECK_EQ_INT(x.n, 3);
	/* The client's reset of stream 7 split across two messages, its frame
	 * header before the server's response: the span ends no earlier than
	 * the response began (the fuzzer found resp_last < resp_first). */
	n = headers(s.cli, s.b, 1, 7, get_slow);
	feed(&x, ZT_DIR_IN, 810, s.b, n);
	n = rst(s.b, 7, 8);
	feed(&x, ZT_DIR_IN, 820, s.b, 9);
	{
		uint8_t tail[4];

		memcpy(tail, s.b + 9, 4);
		n = headers(s.srv, s.b, 0, 7, resp_200);
		feed(&x, ZT_DIR_OUT, 830, s.b, n);
		feed(&x, ZT_DIR_IN, 840, tail, 4);
	}
	CHECK_EQ_INT(x.n, 4);
	CHECK_EQ_INT(x.t[3].stream, 7);
	CHECK_EQ_INT(x.t[3].status, 200);
	CHECK_EQ_STR(x.t[3].error, "CANCEL");
	CHECK_EQ_INT(x.t[3].resp_first_ns, 830);
	CHECK_EQ_INT(x.t[3].resp_last_ns, 830);
	fx_close(&x, 900);
	CHECK_EQ_INT(x.n, 4);
	CHECK_EQ_INT(x.st.unanswered, 0);
	syn_close(&s);
	fx_done(&x);
}

static void test_goaway_and_close(void)
{
	static const char *const resp_100[] = { ":status", "100", NULL };
	static const char *const resp_503[] = { ":status", "503", NULL };
	struct fx x;
	struct syn s;
	uint32_t n = 0;

	fx_init(&x);
	syn_open(&s, &x);
	for (uint32_t id = 1; id <= 7; id += 2)
		n += headers(s.cli, s.b + n, 1, id, get_slow);
	feed(&x, ZT_DIR_IN, 100, s.b, n);
	/* An interim 100, then the final 503 on stream 1. */
	n = headers(s.srv, s.b, 0, 1, resp_100);
	n += headers(s.srv, s.b + n, 1, 1, resp_503);
	feed(&x, ZT_DIR_OUT, 200, s.b, n);
	CHECK_EQ_INT(x.n, 1);
	CHECK_EQ_INT(x.t[0].status, 503);
	CHECK(x.t[0].failed);
	/* Stream 5's response has begun; the server will not take 7. */
	n = headers(s.srv, s.b, 0, 5, resp_200);
	n += goaway(s.b + n, 5);
	feed(&x, ZT_DIR_OUT, 300, s.b, n);
	CHECK_EQ_INT(x.n, 2);
	CHECK_EQ_INT(x.t[1].stream, 7);
	CHECK_EQ_INT(x.t[1].flags, ZT_F_NO_RESPONSE);
	CHECK_EQ_INT(x.st.unanswered, 1);
	fx_close(&x, 400);
	CHECK_EQ_INT(x.n, 4);
	CHECK(by_stream(&x, 3) && by_stream(&x, 3)->flags == ZT_F_NO_RESPONSE);
	/* 5 went as far as it went: its response began. */
	CHECK(by_stream(&x, 5) && by_stream(&x, 5)->status == 200 && by_stream(&x, 5)->resp_last_ns == 300);
	CHECK_EQ_INT(x.st.unanswered, 2);
	syn_close(&s);
	fx_done(&x);
}

/* gRPC answers without grpc-status: from the HTTP status when the response
 * ended, never guessed when its end or its headers were not seen. */
static void test_grpc_without_status(void)
{
	static const char *const resp_503[] = { ":status", "503", "content-type", "application/grpc", NULL };
	static const char *const resp_ok[] = { ":status", "200", "content-type", "application/grpc", NULL };
	struct fx x;
	struct syn s;
	uint32_t n;

	fx_init(&x);
	syn_open(&s, &x);
	n = headers(s.cli, s.b, 0, 1, grpc_req);
	n += headers(s.cli, s.b + n, 0, 3, grpc_req);
	feed(&x, ZT_DIR_IN, 100, s.b, n);
	n = headers(s.srv, s.b, 1, 1, resp_503);
	n += headers(s.srv, s.b + n, 0, 3, resp_ok);
	feed(&x, ZT_DIR_OUT, 200, s.b, n);
	CHECK_EQ_INT(x.n, 1);
	CHECK_EQ_STR(x.t[0].protocol, "grpc");
	CHECK_EQ_INT(x.t[0].status, 14);
	CHECK_EQ_STR(x.t[0].error, "UNAVAILABLE");
	CHECK(x.t[0].failed);
	fx_close(&x, 300);
	CHECK_EQ_INT(x.n, 2);
	CHECK_EQ_INT(x.t[1].stream, 3);
	CHECK_EQ_INT(x.t[1].status, 0);
	CHECK_EQ_STR(x.t[1].error, "");
	CHECK(!x.t[1].failed);
	syn_close(&s);
	fx_done(&x);
}

/* A server push's header blocks move the server's HPACK state: decoded,
 * not reported. Padding and priority fields around a block; a larger
 * header table the client allowed. */
static void test_push_padding_table(void)
{
	static const char *const promised[] = { ":method", "GET", ":path", "/pushed.css", ":scheme",
						 "http", ":authority", "pong", NULL };
	static const char *const req2[] = { ":method", "GET", ":path", "/second", NULL };
	static const uint8_t big_table[] = { 0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0x20, 0 };
	struct fx x;
	struct syn s;
	uint8_t tmp[600];
	uint32_t n, hn;

	fx_init(&x);
	syn_open(&s, &x);
	/* The client lets the server's encoder keep an 8 KiB table. */
	feed(&x, ZT_DIR_IN, 50, big_table, sizeof(big_table));
	nghttp2_hd_deflate_change_table_size(s.srv, 8192);
	n = headers(s.cli, s.b, 1, 1, get_slow);
	feed(&x, ZT_DIR_IN, 100, s.b, n);
	/* PUSH_PROMISE for stream 2, padded: pad length, promised id, block,
	 * padding. */
	hn = headers(s.srv, tmp, 0, 1, promised) - 9;
	s.b[9] = 3;
	memcpy(s.b + 10, "\0\0\0\2", 4);
	memcpy(s.b + 14, tmp + 9, hn);
	memset(s.b + 14 + hn, 0, 3);
	n = frame(s.b, 5, 0x8 | 0x4, 1, NULL, 1 + 4 + hn + 3);
	n += headers(s.srv, s.b + n, 1, 1, resp_200);
	n += headers(s.srv, s.b + n, 1, 2, resp_200); /* the pushed response */
	feed(&x, ZT_DIR_OUT, 200, s.b, n);
	CHECK_EQ_INT(x.n, 1);
	CHECK_EQ_INT(x.t[0].status, 200);
	CHECK_EQ_INT(x.t[0].flags, 0);
	/* A padded HEADERS with priority fields, the response decoded with
	 * the table the push filled. */
	hn = headers(s.cli, tmp, 1, 3, req2) - 9;
	s.b[9] = 4;
	memset(s.b + 10, 0, 5);
	memcpy(s.b + 15, tmp + 9, hn);
	memset(s.b + 15 + hn, 0, 4);
	n = frame(s.b, 1, 0x8 | 0x20 | 0x4 | 0x1, 3, NULL, 1 + 5 + hn + 4);
	feed(&x, ZT_DIR_IN, 300, s.b, n);
	n = headers(s.srv, s.b, 1, 3, resp_200);
	feed(&x, ZT_DIR_OUT, 400, s.b, n);
	CHECK_EQ_INT(x.n, 2);
	CHECK_EQ_STR(x.t[1].target, "/second");
	CHECK_EQ_INT(x.t[1].status, 200);
	CHECK_EQ_INT(x.t[1].flags, 0);
	CHECK_EQ_INT(x.st.malformed + x.st.orphan_responses, 0);
	syn_close(&s);
	fx_done(&x);
}

static void test_hostile(void)
{
	static const uint8_t bad_hpack[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f };
	static uint8_t fill[16];
	struct fx x;
	struct syn s;
	uint32_t n, hn;

	/* A frame longer than SETTINGS allow: framing is lost, counted. */
	fx_init(&x);
	syn_open(&s, &x);
	n = frame(s.b, 0, 0, 1, NULL, 0);
	s.b[0] = 0xff;
	CHECK_EQ_INT(feed(&x, ZT_DIR_IN, 100, s.b, 9), 0);
	CHECK_EQ_INT(x.st.malformed, 1);
	syn_close(&s);
	fx_done(&x);

	/* A CONTINUATION flood: the block grows past H2_BLOCK_MAX and is given
	 * up; the stream is still seen, its fields unknown. */
	fx_init(&x);
	syn_open(&s, &x);
	hn = headers(s.cli, s.b, 1, 1, get_slow);
	s.b[4] &= ~4; /* no END_HEADERS */
	feed(&x, ZT_DIR_IN, 100, s.b, hn);
	for (int i = 0; i < 4000; i++) {
		n = frame(s.b, 9, i == 3999 ? 4 : 0, 1, fill, sizeof(fill));
		CHECK_EQ_INT(feed(&x, ZT_DIR_IN, 100, s.b, n), 0);
	}
	CHECK_EQ_INT(x.st.overflow, 1);
	n = frame(s.b, 0, 1, 1, NULL, 0);
	feed(&x, ZT_DIR_OUT, 200, s.b, n);
	fx_close(&x, 300);
	CHECK_EQ_INT(x.n, 1);
	CHECK(x.t[0].flags & ZT_F_HDRS_UNKNOWN);
	CHECK_EQ_INT(x.t[0].req_bytes, hn + 4000 * 25);
	syn_close(&s);
	fx_done(&x);

	/* A header block nghttp2 refuses. */
	fx_init(&x);
	syn_open(&s, &x);
	n = frame(s.b, 1, 5, 1, bad_hpack, sizeof(bad_hpack));
	feed(&x, ZT_DIR_IN, 100, s.b, n);
	CHECK_EQ_INT(x.st.malformed, 1);
	n = headers(s.srv, s.b, 1, 1, resp_200);
	feed(&x, ZT_DIR_OUT, 200, s.b, n);
	CHECK_EQ_INT(x.n, 1);
	CHECK_EQ_INT(x.t[0].flags, ZT_F_HDRS_UNKNOWN);
	CHECK_EQ_INT(x.t[0].status, 200); /* the other direction is fine */
	/* Padding longer than its frame; a CONTINUATION out of nowhere. */
	n = frame(s.b, 1, 0x8 | 5, 3, bad_hpack, 3);
	s.b[9] = 200;
	feed(&x, ZT_DIR_OUT, 300, s.b, n);
	n = frame(s.b, 9, 4, 3, fill, 4);
	feed(&x, ZT_DIR_OUT, 300, s.b, n);
	CHECK_EQ_INT(x.st.malformed, 3);
	syn_close(&s);
	fx_done(&x);

	/* Detected from plausible frames, then not HTTP/2 at all: nothing
	 * of it reported. */
	fx_init(&x);
	n = frame(s.b, 8, 0, 0, fill, 4);
	n += frame(s.b + n, 1, 5, 1, fill, 3);
	CHECK_EQ_INT(feed(&x, ZT_DIR_IN, 100, s.b, n), 0);
	memcpy(s.b + n, "\x00\x34\x56\x78\x9a\xbc\xde\xf0\x01", 9);
	CHECK_EQ_INT(feed(&x, ZT_DIR_IN, 100, s.b + n, 9), -EPROTO);
	CHECK_EQ_INT(feed(&x, ZT_DIR_IN, 100, s.b, n), -EPROTO);
	CHECK_EQ_INT(x.st.malformed, 1);
	fx_close(&x, 200);
	CHECK_EQ_INT(x.n, 0);
	fx_done(&x);
}

static void test_stream_overflow(void)
{
	struct fx x;
	struct syn s;
	uint32_t n;

	fx_init(&x);
	syn_open(&s, &x);
	for (uint32_t i = 0; i < H2_STREAMS_MAX + 2; i++) {
		n = headers(s.cli, s.b, 1, 1 + 2 * i, get_slow);
		feed(&x, ZT_DIR_IN, 100 + i, s.b, n);
	}
	CHECK_EQ_INT(x.st.overflow, 2);
	/* The dropped stream's response is an orphan. */
	n = headers(s.srv, s.b, 1, 1, resp_200);
	feed(&x, ZT_DIR_OUT, 1000, s.b, n);
	CHECK_EQ_INT(x.st.orphan_responses, 1);
	n = headers(s.srv, s.b, 1, 5, resp_200);
	feed(&x, ZT_DIR_OUT, 1000, s.b, n);
	CHECK_EQ_INT(x.n, 1);
	fx_close(&x, 2000);
	CHECK_EQ_INT(x.n, H2_STREAMS_MAX);
	CHECK_EQ_INT(x.st.unanswered, H2_STREAMS_MAX - 1);
	syn_close(&s);
	fx_done(&x);
}

static void test_target_cut(void)
{
	static char path[400];
	const char *const req[] = { ":method", "GET", ":path", path, "traceparent", TP, NULL };
	struct fx x;
	struct syn s;
	uint32_t n;

	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	path[5] = '\x01';
	fx_init(&x);
	syn_open(&s, &x);
	n = headers(s.cli, s.b, 1, 1, req);
	feed(&x, ZT_DIR_IN, 100, s.b, n);
	n = headers(s.srv, s.b, 1, 1, resp_200);
	feed(&x, ZT_DIR_OUT, 200, s.b, n);
	CHECK_EQ_INT(x.n, 1);
	CHECK_EQ_INT(strlen(x.t[0].target), ZT_TXN_TARGET_MAX - 1);
	CHECK_EQ_INT(x.t[0].target[5], '?');
	CHECK_EQ_INT(x.t[0].flags, ZT_F_TARGET_CUT);
	CHECK_EQ_STR(x.t[0].traceparent, TP);
	syn_close(&s);
	fx_done(&x);
}

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

static void test_detect(void)
{
	struct zt_proto_hint h = { .ipproto = IPPROTO_TCP, .lport = 40000, .rport = 8080 };
	struct zt_proto_hint udp = { .ipproto = IPPROTO_UDP };
	uint8_t b[512];
	uint32_t n = unhex(cap_nghttp[0].hex, b, sizeof(b));
	int yes = 0;

	CHECK_EQ_INT(ops->detect(b, n, n, ZT_DIR_OUT, &h), ZT_DETECT_YES);
	CHECK_EQ_INT(ops->detect(b, 4, n, ZT_DIR_OUT, &h), ZT_DETECT_YES);
	CHECK_EQ_INT(ops->detect(b, 3, 3, ZT_DIR_OUT, &h), ZT_DETECT_NO);
	CHECK_EQ_INT(ops->detect(b, n, n, ZT_DIR_IN, &udp), ZT_DETECT_NO);
	/* What HTTP/1, TLS, PostgreSQL and MySQL open with is not HTTP/2. */
	CHECK_EQ_INT(ops->detect((const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, 18, ZT_DIR_IN, &h),
		     ZT_DETECT_NO);
	CHECK_EQ_INT(ops->detect((const uint8_t *)"HTTP/1.1 200 OK\r\n", 17, 17, ZT_DIR_IN, &h),
		     ZT_DETECT_NO);
	CHECK_EQ_INT(ops->detect((const uint8_t *)"PRI * HTTP/1.1\r\n", 16, 16, ZT_DIR_IN, &h),
		     ZT_DETECT_NO);
	CHECK_EQ_INT(ops->detect((const uint8_t *)"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11,
				 517, ZT_DIR_OUT, &h), ZT_DETECT_NO);
	CHECK_EQ_INT(ops->detect((const uint8_t *)"\x00\x00\x00\x08\x04\xd2\x16\x2f", 8, 8, ZT_DIR_OUT,
				 &h), ZT_DETECT_NO);
	CHECK_EQ_INT(ops->detect((const uint8_t *)"\x00\x00\x00\x54\x00\x03\x00\x00user\0x\0\0", 16,
				 84, ZT_DIR_OUT, &h), ZT_DETECT_NO);
	CHECK_EQ_INT(ops->detect((const uint8_t *)"\x4a\x00\x00\x00\x0a\x35\x2e\x35", 8, 78, ZT_DIR_IN,
				 &h), ZT_DETECT_NO);
	/* Random bytes, whole or cut. */
	for (int i = 0; i < 200000; i++) {
		uint32_t len = 9 + rnd() % 120;

		for (uint32_t j = 0; j < len; j++)
			b[j] = (uint8_t)rnd();
		yes += ops->detect(b, len, len, ZT_DIR_IN, &h) != ZT_DETECT_NO;
		yes += ops->detect(b, len, len + 1000, ZT_DIR_IN, &h) != ZT_DETECT_NO;
	}
	CHECK_EQ_INT(yes, 0);
}

int main(void)
{
	test_nghttp();
	test_h2load();
	test_curl_traceparent();
	test_grpc();
	test_big_response();
	test_every_split();
	test_every_cap();
	test_midstream();
	test_server_settings_first();
	test_lost_header_block();
	test_rst();
	test_goaway_and_close();
	test_grpc_without_status();
	test_push_padding_table();
	test_hostile();
	test_stream_overflow();
	test_target_cut();
	test_detect();
	printf("struct h2_conn: %zu bytes\n", zt_proto_http2.state_size);
	return TEST_SUMMARY("test_http2");
}
