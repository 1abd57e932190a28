// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The Redis parser fed the way the tracer feeds it: one socket message at a
 * time, a captured prefix of each, both directions interleaved. The bytes
 * are what redis-cli 7.0.15, redis-benchmark and redis-server 7.0.15 put on
 * the wire (captured through a logging proxy). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "flags.h"
#include "proto/proto.h"
#include "proto/redis.h"

#define MAX_TXNS 2048
#define OUT ZT_DIR_OUT
#define IN ZT_DIR_IN

struct fx {
	void *c;
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

static void fx_init_hint(struct fx *x, uint8_t role, uint16_t lport, uint16_t rport)
{
	struct zt_proto_hint h = { role, 6, lport, rport };

	memset(x, 0, sizeof(*x));
	x->c = calloc(1, zt_proto_redis.state_size);
	zt_proto_redis.init(x->c, &h);
}

/* A client (redis-cli's side) talking to port 6379. */
static void fx_init(struct fx *x)
{
	fx_init_hint(x, ZT_ROLE_CLIENT, 40000, 6379);
}

static void fx_done(struct fx *x)
{
	zt_proto_redis.free(x->c);
	free(x->c);
}

static int feedc(struct fx *x, enum zt_dir d, uint64_t ts, const void *data, uint32_t cap,
		 uint32_t len)
{
	return zt_proto_redis.feed(x->c, d, ts, data, cap, len, NULL, 0, on_txn, x, &x->st);
}

static int feedn(struct fx *x, enum zt_dir d, uint64_t ts, const char *s, size_t n)
{
	return feedc(x, d, ts, s, (uint32_t)n, (uint32_t)n);
}

#define FEED(x, d, ts, lit) feedn((x), (d), (ts), (lit), sizeof(lit) - 1)

static void fx_close(struct fx *x, uint64_t ts)
{
	zt_proto_redis.close(x->c, ts, on_txn, x, &x->st);
}

/* ---- real bytes --------------------------------------------------------- */

#define SET_K1 "*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$5\r\nhello\r\n"
#define GET_K1 "*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n"
#define HSET_H "*6\r\n$4\r\nHSET\r\n$1\r\nh\r\n$2\r\nf1\r\n$2\r\nv1\r\n$2\r\nf2\r\n$2\r\nv2\r\n"
#define INCR_H "*2\r\n$4\r\nINCR\r\n$1\r\nh\r\n"
#define INCR_K1 "*2\r\n$4\r\nINCR\r\n$2\r\nk1\r\n"
#define FOOBAR "*2\r\n$6\r\nFOOBAR\r\n$1\r\nx\r\n"
#define SETNAME "*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$6\r\nmyname\r\n"
#define HELLO3 "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n"
#define HELLO3_REPLY "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n" \
	"$2\r\nid\r\n:9\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
#define HGETALL_H "*2\r\n$7\r\nHGETALL\r\n$1\r\nh\r\n"
#define HGETALL_R3 "%2\r\n$2\r\nf1\r\n$2\r\nv1\r\n$2\r\nf2\r\n$2\r\nv2\r\n"
#define OK "+OK\r\n"
#define ERR_INT "-ERR value is not an integer or out of range\r\n"
#define ERR_UNKNOWN "-ERR unknown command 'FOOBAR', with args beginning with: 'x' \r\n"
#define WRONGTYPE "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
#define DEBUG_SLEEP "*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$1\r\n0\r\n"
#define DEBUG_ERR "-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", " \
	"you can run it from a local connection, otherwise you need to set this option in the configuration " \
	"file, and then restart the server.\r\n"
#define CONFIG_GET_MM "*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$9\r\nmaxmemory\r\n"
#define CONFIG_MM_R3 "%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
#define BENCH_SET "*3\r\n$3\r\nSET\r\n$16\r\nkey:__rand_int__\r\n$3\r\nVXK\r\n"
#define BENCH_GET "*2\r\n$3\r\nGET\r\n$16\r\nkey:__rand_int__\r\n"
#define BENCH_VAL "$3\r\nVXK\r\n"
#define SUB2 "*3\r\n$9\r\nSUBSCRIBE\r\n$3\r\nch1\r\n$3\r\nch2\r\n"
#define SUB2_REPLY "*3\r\n$9\r\nsubscribe\r\n$3\r\nch1\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$3\r\nch2\r\n:2\r\n"
#define MSG_CH1 "*3\r\n$7\r\nmessage\r\n$3\r\nch1\r\n$2\r\nhi\r\n"
#define SUB3 "*2\r\n$9\r\nSUBSCRIBE\r\n$3\r\nch3\r\n"
#define SUB3_PUSH ">3\r\n$9\r\nsubscribe\r\n$3\r\nch3\r\n:1\r\n"
#define MSG3_PUSH ">3\r\n$7\r\nmessage\r\n$3\r\nch3\r\n$2\r\nyo\r\n"
#define MONITOR "*1\r\n$7\r\nMONITOR\r\n"
#define MONITOR_LINE "+1795896529.368050 [0 127.0.0.1:33216] \"SET\" \"mk\" \"mv\"\r\n"
#define COMMAND_DOCS "*2\r\n$7\r\nCOMMAND\r\n$4\r\nDOCS\r\n"
#define MULTI "*1\r\n$5\r\nMULTI\r\n"
#define SET_A "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
#define INCR_A "*2\r\n$4\r\nINCR\r\n$1\r\na\r\n"
#define EXEC "*1\r\n$4\r\nEXEC\r\n"
#define QUEUED "+QUEUED\r\n"
#define EXEC_REPLY "*3\r\n+OK\r\n:2\r\n" WRONGTYPE

/* ---- simple exchanges --------------------------------------------------- */

static void test_cli_commands(void)
{
	static const struct {
		const char *req, *resp, *method, *target, *error;
	} cases[] = {
		{ SET_K1, OK, "SET", "", "" },
		{ GET_K1, "$5\r\nhello\r\n", "GET", "", "" },
		{ HSET_H, ":2\r\n", "HSET", "", "" },
		{ INCR_H, WRONGTYPE, "INCR", "", "WRONGTYPE" },
		{ INCR_K1, ERR_INT, "INCR", "", "ERR" },
		{ FOOBAR, ERR_UNKNOWN, "FOOBAR", "", "ERR" },
		{ SETNAME, OK, "CLIENT", "SETNAME", "" },
		{ DEBUG_SLEEP, DEBUG_ERR, "DEBUG", "SLEEP", "ERR" },
		{ "*2\r\n$3\r\nGET\r\n$5\r\nnokey\r\n", "$-1\r\n", "GET", "", "" },
		{ "*4\r\n$6\r\nLRANGE\r\n$6\r\nnolist\r\n$1\r\n0\r\n$2\r\n-1\r\n", "*0\r\n", "LRANGE", "", "" },
		{ "*3\r\n$6\r\nobject\r\n$8\r\nencoding\r\n$1\r\nh\r\n", "$8\r\nlistpack\r\n", "OBJECT", "ENCODING", "" },
		{ "*2\r\n$4\r\nEVAL\r\n$1\r\nx\r\n", "-NOSCRIPT No matching script.\r\n", "EVAL", "", "NOSCRIPT" },
		{ "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n", ":9223372036854775807\r\n", "INCR", "", "" },
		{ "*2\r\n$4\r\nDECR\r\n$1\r\nn\r\n", ":-9223372036854775808\r\n", "DECR", "", "" },
	};
	int n = sizeof(cases) / sizeof(cases[0]);

	for (int server = 0; server < 2; server++) {
		struct fx x;

		if (server)
			fx_init_hint(&x, ZT_ROLE_SERVER, 6379, 40000);
		else
			fx_init(&x);
		for (int i = 0; i < n; i++) {
			uint64_t t = 1000 * (i + 1);

			CHECK_EQ_INT(feedn(&x, server ? IN : OUT, t, cases[i].req, strlen(cases[i].req)), 0);
			CHECK_EQ_INT(x.n, i);
			CHECK_EQ_INT(feedn(&x, server ? OUT : IN, t + 10, cases[i].resp, strlen(cases[i].resp)), 0);
			CHECK_EQ_INT(x.n, i + 1);
		}
		for (int i = 0; i < n && i < x.n; i++) {
			CHECK_EQ_STR(x.t[i].protocol, "redis");
			CHECK_EQ_STR(x.t[i].method, cases[i].method);
			CHECK_EQ_STR(x.t[i].target, cases[i].target);
			CHECK_EQ_STR(x.t[i].error, cases[i].error);
			CHECK_EQ_INT(x.t[i].failed, cases[i].error[0] != '\0');
			CHECK_EQ_INT(x.t[i].status, 0);
			CHECK_EQ_INT(x.t[i].server, server);
			CHECK_EQ_INT(x.t[i].req_bytes, strlen(cases[i].req));
			CHECK_EQ_INT(x.t[i].resp_bytes, strlen(cases[i].resp));
			CHECK_EQ_INT(x.t[i].req_first_ns, 1000 * (i + 1));
			CHECK_EQ_INT(x.t[i].resp_last_ns, 1000 * (i + 1) + 10);
			CHECK_EQ_INT(x.t[i].flags, 0);
			CHECK_EQ_STR(x.t[i].traceparent, "");
		}
		fx_close(&x, 99999);
		CHECK_EQ_INT(x.n, n);
		CHECK_EQ_INT(x.st.unanswered + x.st.orphan_responses + x.st.resyncs + x.st.malformed +
				     x.st.overflow + x.st.midstream, 0);
		fx_done(&x);
	}
}

static void test_resp3(void)
{
	struct fx x;

	fx_init(&x);
	FEED(&x, OUT, 1, HELLO3);
	FEED(&x, IN, 2, HELLO3_REPLY);
	FEED(&x, OUT, 3, HGETALL_H);
	FEED(&x, IN, 4, HGETALL_R3);
	FEED(&x, OUT, 5, CONFIG_GET_MM);
	FEED(&x, IN, 6, CONFIG_MM_R3);
	FEED(&x, OUT, 7, GET_K1);
	FEED(&x, IN, 8, "_\r\n");
	/* Every RESP3 type, nested, with an attribute before the reply. */
	FEED(&x, OUT, 9, GET_K1);
	FEED(&x, IN, 10, "|1\r\n+key-popularity\r\n%1\r\n$2\r\nk1\r\n,0.1923\r\n"
			 "*9\r\n:1\r\n,3.14\r\n#t\r\n(3492890328409238509324850943850943825024385\r\n"
			 "=15\r\ntxt:Some string\r\n~2\r\n_\r\n#f\r\n!21\r\nSYNTAX invalid syntax\r\n"
			 "%1\r\n+a\r\n*-1\r\n$-1\r\n");
	/* A push between a command and its reply is not the reply. */
	FEED(&x, OUT, 11, GET_K1);
	FEED(&x, IN, 12, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk1\r\n");
	CHECK_EQ_INT(x.n, 5);
	FEED(&x, IN, 13, "$5\r\nhello\r\n");
	/* A blob error fails. */
	FEED(&x, OUT, 14, GET_K1);
	FEED(&x, IN, 15, "!21\r\nSYNTAX invalid syntax\r\n");
	CHECK_EQ_INT(x.n, 7);
	CHECK_EQ_STR(x.t[0].method, "HELLO");
	CHECK_EQ_INT(x.t[0].resp_bytes, strlen(HELLO3_REPLY));
	CHECK_EQ_STR(x.t[1].method, "HGETALL");
	CHECK_EQ_STR(x.t[2].method, "CONFIG");
	CHECK_EQ_STR(x.t[2].target, "GET");
	CHECK_EQ_INT(x.t[3].resp_bytes, 3);
	CHECK_EQ_INT(x.t[4].failed, 0);
	CHECK_EQ_INT(x.t[4].resp_first_ns, 10);
	CHECK_EQ_INT(x.t[5].resp_first_ns, 13);
	CHECK_EQ_INT(x.t[5].resp_bytes, 11);
	CHECK_EQ_INT(x.t[6].failed, 1);
	CHECK_EQ_STR(x.t[6].error, "SYNTAX");
	for (int i = 0; i < x.n; i++)
		CHECK_EQ_INT(x.t[i].flags, 0);
	fx_close(&x, 100);
	CHECK_EQ_INT(x.st.unanswered + x.st.orphan_responses + x.st.resyncs + x.st.malformed, 0);
	fx_done(&x);
}

/* The whole 172 KB reply redis-cli gets to COMMAND DOCS: nested maps and
 * arrays four deep, fed in the 64 KB reads a proxy saw. */
static void test_command_docs(void)
{
	FILE *fp = fopen("tests/unit/redis_command_docs.resp", "rb");
	static char buf[200000];
	size_t n = fp ? fread(buf, 1, sizeof(buf), fp) : 0;
	struct fx x;

	if (fp)
		fclose(fp);
	CHECK_EQ_INT(n, 172298);
	if (n != 172298)
		return;
	/* Captured whole: parsed through. */
	fx_init(&x);
	FEED(&x, OUT, 1, COMMAND_DOCS);
	for (size_t off = 0; off < n; off += 65536)
		feedn(&x, IN, 2 + off / 65536, buf + off, n - off < 65536 ? n - off : 65536);
	CHECK_EQ_INT(x.n, 1);
	CHECK_EQ_INT(x.t[0].resp_bytes, n);
	CHECK_EQ_INT(x.t[0].flags, 0);
	/* 512 bytes captured of each read: the framing is lost; the next
	 * command (redis-cli does not pipeline) ends it. */
	FEED(&x, OUT, 10, COMMAND_DOCS);
	for (size_t off = 0; off < n; off += 65536) {
		uint32_t l = n - off < 65536 ? n - off : 65536;

		feedc(&x, IN, 11 + off / 65536, buf + off, 512, l);
	}
	CHECK_EQ_INT(x.n, 1);
	FEED(&x, OUT, 20, MULTI);
	CHECK_EQ_INT(x.n, 2);
	CHECK_EQ_STR(x.t[1].method, "COMMAND");
	CHECK_EQ_STR(x.t[1].target, "DOCS");
	CHECK_EQ_INT(x.t[1].resp_bytes, n);
	CHECK_EQ_INT(x.t[1].resp_last_ns, 13);
	CHECK_EQ_INT(x.t[1].flags, ZT_F_RESYNC);
	FEED(&x, IN, 21, OK);
	CHECK_EQ_INT(x.n, 3);
	CHECK_EQ_STR(x.t[2].method, "MULTI");
	CHECK_EQ_INT(x.t[2].flags, 0);
	CHECK_EQ_INT(x.st.resyncs, 1);
	fx_close(&x, 30);
	fx_done(&x);
}

/* ---- split and cut ------------------------------------------------------ */

/* One conversation, each message fed whole or split in two at `at`. */
struct msg {
	enum zt_dir d;
	const char *s;
};

static const struct msg convo[] = {
	{ OUT, HELLO3 }, { IN, HELLO3_REPLY }, { OUT, SET_K1 }, { IN, OK },
	{ OUT, INCR_H }, { IN, WRONGTYPE }, { OUT, SETNAME }, { IN, OK },
	{ OUT, CONFIG_GET_MM }, { IN, CONFIG_MM_R3 }, { OUT, SUB3 }, { IN, SUB3_PUSH },
	{ IN, MSG3_PUSH }, { OUT, "*1\r\n$4\r\nPING\r\n" }, { IN, "+PONG\r\n" },
};

static void run_convo(struct fx *x, size_t which, size_t at)
{
	for (size_t i = 0; i < sizeof(convo) / sizeof(convo[0]); i++) {
		size_t l = strlen(convo[i].s);

		if (i == which && at > 0 && at < l) {
			feedn(x, convo[i].d, 10 * i, convo[i].s, at);
			feedn(x, convo[i].d, 10 * i + 5, convo[i].s + at, l - at);
		} else {
			feedn(x, convo[i].d, 10 * i, convo[i].s, l);
		}
	}
	fx_close(x, 1000);
}

static void test_split_every_byte(void)
{
	struct fx ref, x;
	int bad = 0;

	fx_init(&ref);
	run_convo(&ref, SIZE_MAX, 0);
	CHECK_EQ_INT(ref.n, 7);
	CHECK_EQ_STR(ref.t[5].method, "SUBSCRIBE");
	CHECK_EQ_STR(ref.t[6].method, "PING");
	for (size_t i = 0; i < sizeof(convo) / sizeof(convo[0]); i++) {
		for (size_t at = 1; at < strlen(convo[i].s); at++) {
			fx_init(&x);
			run_convo(&x, i, at);
			bad += x.n != ref.n;
			for (int k = 0; k < ref.n && k < x.n; k++) {
				bad += strcmp(x.t[k].method, ref.t[k].method) != 0;
				bad += strcmp(x.t[k].target, ref.t[k].target) != 0;
				bad += strcmp(x.t[k].error, ref.t[k].error) != 0;
				bad += x.t[k].req_bytes != ref.t[k].req_bytes;
				bad += x.t[k].resp_bytes != ref.t[k].resp_bytes;
				bad += x.t[k].flags != ref.t[k].flags;
			}
			bad += x.st.resyncs + x.st.malformed + x.st.orphan_responses != 0;
			if (bad) {
				fprintf(stderr, "split message %zu at %zu differs\n", i, at);
				fx_done(&x);
				break;
			}
			fx_done(&x);
		}
	}
	CHECK_EQ_INT(bad, 0);
	fx_done(&ref);
}

/* The same conversation with one message captured in part, at every
 * length: every command is still emitted once, nothing is orphaned, and a
 * name is never made of anything but a command's name. */
static void test_cut_every_byte(void)
{
	int bad = 0;

	for (size_t i = 0; i < sizeof(convo) / sizeof(convo[0]); i++) {
		size_t l = strlen(convo[i].s);

		for (size_t cap = 0; cap < l; cap++) {
			struct fx x;

			fx_init(&x);
			for (size_t k = 0; k < sizeof(convo) / sizeof(convo[0]); k++) {
				const char *m = convo[k].s;

				feedc(&x, convo[k].d, 10 * k, k == i && !cap ? NULL : m,
				      k == i ? (uint32_t)cap : (uint32_t)strlen(m), (uint32_t)strlen(m));
			}
			fx_close(&x, 1000);
			if (x.n != 7 || x.st.orphan_responses || x.st.malformed) {
				fprintf(stderr, "cut message %zu at %zu: %d txns, %llu orphans, %llu malformed\n",
					i, cap, x.n, (unsigned long long)x.st.orphan_responses,
					(unsigned long long)x.st.malformed);
				bad++;
			}
			for (int k = 0; k < x.n && k < MAX_TXNS; k++) {
				const char *mth = x.t[k].method;

				if (mth[0] && strcmp(mth, "HELLO") && strcmp(mth, "SET") && strcmp(mth, "INCR") &&
				    strcmp(mth, "CLIENT") && strcmp(mth, "CONFIG") && strcmp(mth, "SUBSCRIBE") &&
				    strcmp(mth, "PING")) {
					fprintf(stderr, "cut message %zu at %zu: method %s\n", i, cap, mth);
					bad++;
				}
			}
			fx_done(&x);
		}
	}
	CHECK_EQ_INT(bad, 0);
}

/* redis-benchmark -P 4: four commands in one write, four replies in one. */
static void test_pipeline(void)
{
	struct fx x;

	fx_init(&x);
	FEED(&x, OUT, 1, "*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$4\r\nsave\r\n"
			 "*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$10\r\nappendonly\r\n");
	FEED(&x, IN, 2, "*2\r\n$4\r\nsave\r\n$0\r\n\r\n*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
	FEED(&x, OUT, 3, BENCH_SET BENCH_SET BENCH_SET BENCH_SET);
	FEED(&x, IN, 4, OK OK OK OK);
	FEED(&x, OUT, 5, BENCH_GET BENCH_GET BENCH_GET BENCH_GET);
	FEED(&x, IN, 6, BENCH_VAL BENCH_VAL);
	CHECK_EQ_INT(x.n, 8);
	FEED(&x, IN, 7, BENCH_VAL BENCH_VAL);
	CHECK_EQ_INT(x.n, 10);
	CHECK_EQ_STR(x.t[0].target, "GET");
	CHECK_EQ_INT(x.t[0].flags, 0);
	CHECK_EQ_INT(x.t[1].flags, ZT_F_PIPELINED);
	CHECK_EQ_STR(x.t[2].method, "SET");
	CHECK_EQ_INT(x.t[2].req_bytes, strlen(BENCH_SET));
	CHECK_EQ_INT(x.t[3].flags, ZT_F_PIPELINED);
	CHECK_EQ_INT(x.t[5].resp_bytes, 5);
	CHECK_EQ_STR(x.t[9].method, "GET");
	CHECK_EQ_INT(x.t[9].resp_last_ns, 7);
	CHECK_EQ_INT(x.t[7].resp_last_ns, 6);
	fx_close(&x, 10);
	CHECK_EQ_INT(x.st.unanswered + x.st.orphan_responses + x.st.resyncs, 0);
	fx_done(&x);
}

/* The default capture (512 bytes) of a 16-deep pipeline of 45-byte SETs:
 * the last commands hide in uncaptured bytes; their replies still count. */
static void test_pipeline_cut(void)
{
	char req[16 * 64], resp[16 * 8];
	size_t rl = 0, pl = 0;
	struct fx x;

	for (int i = 0; i < 16; i++) {
		memcpy(req + rl, BENCH_SET, strlen(BENCH_SET));
		rl += strlen(BENCH_SET);
		memcpy(resp + pl, OK, 5);
		pl += 5;
	}
	fx_init(&x);
	for (int round = 0; round < 3; round++) {
		feedc(&x, OUT, 10 * round + 1, req, 512, (uint32_t)rl);
		feedn(&x, IN, 10 * round + 2, resp, pl);
	}
	CHECK_EQ_INT(x.n, 48);
	for (int round = 0; round < 3; round++) {
		int known = 0, unseen = 0;

		for (int i = 16 * round; i < 16 * round + 16; i++) {
			known += !strcmp(x.t[i].method, "SET");
			unseen += x.t[i].method[0] == '\0' && (x.t[i].flags & ZT_F_REQ_UNSEEN);
		}
		/* 512 / 45: 11 whole, the 12th's name captured */
		CHECK_EQ_INT(known, 12);
		CHECK_EQ_INT(unseen, 4);
	}
	fx_close(&x, 100);
	CHECK_EQ_INT(x.n, 48);
	CHECK_EQ_INT(x.st.unanswered + x.st.orphan_responses, 0);
	fx_done(&x);
}

/* Values larger than the capture are walked by their lengths. */
static void test_big_values(void)
{
	static char req[3100], resp[70000];
	int rl = snprintf(req, sizeof(req), "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$3000\r\n");
	int pl = snprintf(resp, sizeof(resp), "$65536\r\n");
	struct fx x;

	memset(req + rl, 'x', 3000);
	memcpy(req + rl + 3000, "\r\n", 2);
	rl += 3002;
	memset(resp + pl, 'y', 65536);
	memcpy(resp + pl + 65536, "\r\n", 2);
	pl += 65538;
	fx_init(&x);
	feedc(&x, OUT, 1, req, 512, rl);
	FEED(&x, IN, 2, OK);
	FEED(&x, OUT, 3, "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
	/* The server's writes: 16 KB, a lost record (gap), the rest. */
	feedc(&x, IN, 4, resp, 512, 16384);
	feedc(&x, IN, 5, NULL, 0, 16384);
	feedc(&x, IN, 6, resp + 32768, 512, pl - 32768);
	FEED(&x, OUT, 7, GET_K1);
	FEED(&x, IN, 8, "$5\r\nhello\r\n");
	CHECK_EQ_INT(x.n, 3);
	CHECK_EQ_STR(x.t[0].method, "SET");
	CHECK_EQ_INT(x.t[0].req_bytes, rl);
	CHECK_EQ_STR(x.t[1].method, "GET");
	CHECK_EQ_INT(x.t[1].resp_bytes, pl);
	CHECK_EQ_INT(x.t[1].resp_last_ns, 6);
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(x.t[i].flags, 0);
	/* A command whose every byte after the first 20 was lost: its reply
	 * still pairs, the next command starts a feed. */
	feedc(&x, OUT, 9, req, 20, rl);
	FEED(&x, IN, 10, OK);
	FEED(&x, OUT, 11, GET_K1);
	FEED(&x, IN, 12, "$5\r\nhello\r\n");
	CHECK_EQ_INT(x.n, 5);
	CHECK_EQ_STR(x.t[3].method, "SET");
	CHECK_EQ_STR(x.t[4].method, "GET");
	CHECK_EQ_INT(x.t[4].flags, 0);
	/* Cut inside the command name: method unknown, marked. */
	feedc(&x, OUT, 13, req, 9, rl);
	FEED(&x, IN, 14, OK);
	CHECK_EQ_INT(x.n, 6);
	CHECK_EQ_STR(x.t[5].method, "");
	CHECK(x.t[5].flags & ZT_F_TRUNCATED);
	fx_close(&x, 20);
	CHECK_EQ_INT(x.n, 6);
	CHECK_EQ_INT(x.st.orphan_responses + x.st.unanswered, 0);
	fx_done(&x);
}

/* A pipelined client whose first reply's framing was not captured: the
 * next feed that starts with a reply ends it, and the replies paired while
 * the commands pipelined behind it wait carry ZT_F_RESYNC. */
static void test_pipelined_lost_reply(void)
{
	struct fx x;

	fx_init(&x);
	FEED(&x, OUT, 1, "*4\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n$1\r\n0\r\n$2\r\n-1\r\n" GET_K1 GET_K1);
	feedc(&x, IN, 2, "*1000\r\n$1\r\na\r\n", 12, 7006);
	FEED(&x, IN, 3, "$5\r\nhello\r\n$5\r\nhello\r\n");
	FEED(&x, OUT, 4, GET_K1);
	FEED(&x, IN, 5, "$5\r\nhello\r\n");
	CHECK_EQ_INT(x.n, 4);
	CHECK_EQ_STR(x.t[0].method, "LRANGE");
	CHECK_EQ_INT(x.t[0].resp_bytes, 7006);
	CHECK_EQ_INT(x.t[0].flags, ZT_F_RESYNC);
	CHECK_EQ_INT(x.t[1].flags, ZT_F_RESYNC | ZT_F_PIPELINED);
	CHECK_EQ_INT(x.t[2].flags, ZT_F_RESYNC | ZT_F_PIPELINED);
	CHECK_EQ_INT(x.t[3].flags, 0);
	CHECK_EQ_INT(x.st.resyncs, 1);
	fx_close(&x, 10);
	fx_done(&x);
}

/* redis-benchmark -P 4 -d 1000 at the default capture: only the first reply
 * of each batch is framed, the next batch tells the others were there. */
static void test_pipelined_big_replies(void)
{
	static char resp[4 * 1009];
	struct fx x;

	for (int i = 0; i < 4; i++) {
		memcpy(resp + 1009 * i, "$1000\r\n", 7);
		memset(resp + 1009 * i + 7, 'x', 1000);
		memcpy(resp + 1009 * i + 1007, "\r\n", 2);
	}
	fx_init(&x);
	for (int b = 0; b < 3; b++) {
		FEED(&x, OUT, 10 * b + 1, BENCH_GET BENCH_GET BENCH_GET BENCH_GET);
		feedc(&x, IN, 10 * b + 2, resp, 512, sizeof(resp));
	}
	fx_close(&x, 100);
	CHECK_EQ_INT(x.n, 12);
	for (int b = 0; b < 3 && x.n == 12; b++) {
		CHECK_EQ_INT(x.t[4 * b].flags & ~ZT_F_PIPELINED, 0);
		CHECK_EQ_INT(x.t[4 * b].resp_bytes, 1009);
		CHECK_EQ_INT(x.t[4 * b + 1].flags, ZT_F_RESYNC | ZT_F_PIPELINED);
		CHECK_EQ_INT(x.t[4 * b + 1].resp_bytes, 3 * 1009);
		CHECK_EQ_INT(x.t[4 * b + 1].resp_last_ns, 10 * b + 2);
		CHECK_EQ_INT(x.t[4 * b + 2].flags, ZT_F_NO_RESPONSE | ZT_F_RESYNC | ZT_F_PIPELINED);
		CHECK_EQ_INT(x.t[4 * b + 3].resp_bytes, 0);
		CHECK_EQ_STR(x.t[4 * b + 3].method, "GET");
	}
	CHECK_EQ_INT(x.st.unanswered, 0);
	CHECK_EQ_INT(x.st.orphan_responses, 0);
	fx_done(&x);
}

/* Ring-buffer gaps (NULL feeds) where framing was. */
static void test_gaps(void)
{
	struct fx x;

	fx_init(&x);
	FEED(&x, OUT, 1, GET_K1);
	feedc(&x, IN, 2, NULL, 0, 11); /* the reply, lost in the ring */
	FEED(&x, OUT, 3, SET_K1);      /* ends it: redis-cli does not pipeline */
	FEED(&x, IN, 4, OK);
	CHECK_EQ_INT(x.n, 2);
	CHECK_EQ_STR(x.t[0].method, "GET");
	CHECK_EQ_INT(x.t[0].resp_bytes, 11);
	CHECK(x.t[0].flags & ZT_F_RESYNC);
	CHECK_EQ_STR(x.t[1].method, "SET");
	CHECK_EQ_INT(x.t[1].flags, 0);
	/* A lost command, and its reply: emitted as unseen. */
	feedc(&x, OUT, 5, NULL, 0, strlen(SET_K1));
	FEED(&x, IN, 6, OK);
	CHECK_EQ_INT(x.n, 3);
	CHECK_EQ_INT(x.t[2].flags, ZT_F_REQ_UNSEEN);
	FEED(&x, OUT, 7, GET_K1);
	FEED(&x, IN, 8, "$5\r\nhello\r\n");
	CHECK_EQ_INT(x.n, 4);
	CHECK_EQ_STR(x.t[3].method, "GET");
	/* After a gap, words at a feed start may be the middle of a value:
	 * not an inline command on a connection that never sent one. */
	feedc(&x, OUT, 9, NULL, 0, 100);
	FEED(&x, OUT, 10, "secret words\r\n");
	FEED(&x, IN, 11, OK);
	CHECK_EQ_INT(x.n, 5);
	CHECK_EQ_STR(x.t[4].method, "");
	CHECK_EQ_INT(x.t[4].flags, ZT_F_REQ_UNSEEN);
	fx_close(&x, 12);
	fx_done(&x);
}

/* ---- modes -------------------------------------------------------------- */

static void test_pubsub_resp2(void)
{
	struct fx x;

	fx_init(&x);
	FEED(&x, OUT, 1, SUB2);
	FEED(&x, IN, 2, SUB2_REPLY);
	CHECK_EQ_INT(x.n, 1);
	FEED(&x, IN, 3, MSG_CH1);
	FEED(&x, IN, 4, "*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$3\r\nch1\r\n$2\r\nhi\r\n");
	CHECK_EQ_INT(x.n, 1);
	FEED(&x, OUT, 5, "*1\r\n$4\r\nPING\r\n");
	FEED(&x, IN, 6, MSG_CH1);
	FEED(&x, IN, 7, "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
	CHECK_EQ_INT(x.n, 2);
	/* UNSUBSCRIBE of every channel: one confirmation each. */
	FEED(&x, OUT, 8, "*1\r\n$11\r\nUNSUBSCRIBE\r\n");
	FEED(&x, IN, 9, "*3\r\n$11\r\nunsubscribe\r\n$3\r\nch1\r\n:1\r\n");
	FEED(&x, IN, 10, "*3\r\n$11\r\nunsubscribe\r\n$3\r\nch2\r\n:0\r\n");
	CHECK_EQ_INT(x.n, 3);
	/* Out of subscribed mode, an array that looks like a message is a
	 * reply. */
	FEED(&x, OUT, 11, "*4\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n$1\r\n0\r\n$2\r\n-1\r\n");
	FEED(&x, IN, 12, MSG_CH1);
	CHECK_EQ_INT(x.n, 4);
	CHECK_EQ_STR(x.t[0].method, "SUBSCRIBE");
	CHECK_EQ_INT(x.t[0].resp_last_ns, 2);
	CHECK_EQ_INT(x.t[0].resp_bytes, strlen(SUB2_REPLY) / 2);
	CHECK_EQ_STR(x.t[1].method, "PING");
	CHECK_EQ_INT(x.t[1].resp_first_ns, 7);
	CHECK_EQ_STR(x.t[2].method, "UNSUBSCRIBE");
	CHECK_EQ_INT(x.t[2].resp_last_ns, 9);
	CHECK_EQ_STR(x.t[3].method, "LRANGE");
	fx_close(&x, 20);
	CHECK_EQ_INT(x.n, 4);
	CHECK_EQ_INT(x.st.orphan_responses + x.st.unanswered + x.st.resyncs, 0);
	fx_done(&x);
}

static void test_pubsub_resp3(void)
{
	struct fx x;

	fx_init(&x);
	FEED(&x, OUT, 1, HELLO3);
	FEED(&x, IN, 2, HELLO3_REPLY);
	FEED(&x, OUT, 3, SUB3);
	FEED(&x, IN, 4, SUB3_PUSH);
	FEED(&x, IN, 5, MSG3_PUSH);
	FEED(&x, OUT, 6, "*1\r\n$4\r\nPING\r\n");
	FEED(&x, IN, 7, MSG3_PUSH "+PONG\r\n");
	CHECK_EQ_INT(x.n, 3);
	CHECK_EQ_STR(x.t[1].method, "SUBSCRIBE");
	CHECK_EQ_INT(x.t[1].resp_bytes, strlen(SUB3_PUSH));
	CHECK_EQ_STR(x.t[2].method, "PING");
	CHECK_EQ_INT(x.t[2].resp_bytes, 7);
	fx_close(&x, 10);
	CHECK_EQ_INT(x.st.orphan_responses + x.st.unanswered, 0);
	fx_done(&x);
}

static void test_monitor_multi(void)
{
	struct fx x;

	fx_init(&x);
	FEED(&x, OUT, 1, MULTI);
	FEED(&x, IN, 2, OK);
	FEED(&x, OUT, 3, SET_A);
	FEED(&x, IN, 4, QUEUED);
	FEED(&x, OUT, 5, INCR_A);
	FEED(&x, IN, 6, QUEUED);
	FEED(&x, OUT, 7, INCR_H);
	FEED(&x, IN, 8, QUEUED);
	FEED(&x, OUT, 9, EXEC);
	FEED(&x, IN, 10, EXEC_REPLY);
	CHECK_EQ_INT(x.n, 5);
	CHECK_EQ_STR(x.t[3].method, "INCR");
	CHECK_EQ_INT(x.t[3].failed, 0);
	CHECK_EQ_STR(x.t[4].method, "EXEC");
	CHECK_EQ_INT(x.t[4].failed, 0);
	CHECK_EQ_INT(x.t[4].resp_bytes, strlen(EXEC_REPLY));
	FEED(&x, OUT, 11, MONITOR);
	FEED(&x, IN, 12, OK);
	FEED(&x, IN, 13, MONITOR_LINE MONITOR_LINE);
	FEED(&x, IN, 14, MONITOR_LINE);
	CHECK_EQ_INT(x.n, 6);
	FEED(&x, OUT, 15, "*1\r\n$5\r\nRESET\r\n");
	FEED(&x, IN, 16, MONITOR_LINE "+RESET\r\n");
	CHECK_EQ_INT(x.n, 7);
	CHECK_EQ_STR(x.t[6].method, "RESET");
	fx_close(&x, 20);
	CHECK_EQ_INT(x.st.orphan_responses + x.st.unanswered, 0);
	fx_done(&x);
}

static void test_client_reply(void)
{
	struct fx x;

	fx_init(&x);
	FEED(&x, OUT, 1, "*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nOFF\r\n");
	FEED(&x, OUT, 2, SET_K1);
	CHECK_EQ_INT(x.n, 2);
	CHECK_EQ_INT(x.t[0].flags, ZT_F_NO_RESPONSE);
	CHECK_EQ_STR(x.t[0].target, "REPLY");
	CHECK_EQ_INT(x.t[1].flags, ZT_F_NO_RESPONSE);
	FEED(&x, OUT, 3, "*3\r\n$6\r\nclient\r\n$5\r\nreply\r\n$2\r\non\r\n");
	FEED(&x, IN, 4, OK);
	CHECK_EQ_INT(x.n, 3);
	CHECK_EQ_INT(x.t[2].flags, 0);
	FEED(&x, OUT, 5, "*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$4\r\nSKIP\r\n" SET_K1 GET_K1);
	FEED(&x, IN, 6, "$5\r\nhello\r\n");
	CHECK_EQ_INT(x.n, 6);
	CHECK_EQ_STR(x.t[5].method, "GET");
	CHECK_EQ_INT(x.t[5].flags, 0);
	fx_close(&x, 10);
	CHECK_EQ_INT(x.st.unanswered, 0);
	fx_done(&x);
}

static void test_inline(void)
{
	struct fx x;

	fx_init_hint(&x, ZT_ROLE_SERVER, 6379, 40000);
	FEED(&x, IN, 1, "PING\r\nPING\r\n");
	FEED(&x, OUT, 2, "+PONG\r\n+PONG\r\n");
	FEED(&x, IN, 3, "\r\nclient setname x\r\n");
	FEED(&x, OUT, 4, OK);
	CHECK_EQ_INT(x.n, 3);
	CHECK_EQ_STR(x.t[0].method, "PING");
	CHECK_EQ_INT(x.t[0].req_bytes, 6);
	CHECK_EQ_INT(x.t[1].flags, ZT_F_PIPELINED);
	CHECK_EQ_STR(x.t[2].method, "CLIENT");
	CHECK_EQ_STR(x.t[2].target, "SETNAME");
	CHECK(x.t[0].server);
	/* redis-cli --pipe with inline text, cut by the capture: a feed that
	 * starts mid-line ("T k3...", "alue...") is no command; one after a
	 * message whose tail ends a line is. */
	{
		static const char batch[] = "SET k1 v1\r\nSET k2 v2\r\n";

		feedc(&x, IN, 5, batch, 5, sizeof(batch) - 1);
		FEED(&x, OUT, 6, OK OK);
		FEED(&x, IN, 7, "T k3 v3\r\n");
		FEED(&x, OUT, 8, OK);
		CHECK_EQ_INT(x.n, 6);
		zt_proto_redis.feed(x.c, IN, 9, (const uint8_t *)batch, 5, sizeof(batch) - 1,
				    (const uint8_t *)batch + sizeof(batch) - 5, 4, on_txn, &x, &x.st);
		FEED(&x, OUT, 10, OK OK);
		FEED(&x, IN, 11, "GET k1\r\n");
		FEED(&x, OUT, 12, "$2\r\nv1\r\n");
		CHECK_EQ_INT(x.n, 9);
		for (int i = 3; i < 8 && x.n == 9; i++)
			CHECK_EQ_INT(x.t[i].flags, ZT_F_REQ_UNSEEN);
		CHECK_EQ_STR(x.t[8].method, "GET");
		CHECK_EQ_INT(x.t[8].flags, 0);
	}
	fx_close(&x, 20);
	fx_done(&x);
}

/* Started mid-connection: a reply first, role unknown. */
static void test_midstream(void)
{
	struct fx x;

	fx_init_hint(&x, ZT_ROLE_UNKNOWN, 40000, 6379);
	FEED(&x, IN, 1, "$5\r\nhello\r\n");
	FEED(&x, OUT, 2, GET_K1);
	FEED(&x, IN, 3, "$5\r\nhello\r\n");
	CHECK_EQ_INT(x.n, 1);
	CHECK_EQ_INT(x.st.orphan_responses, 1);
	CHECK_EQ_INT(x.st.midstream, 1);
	CHECK_EQ_INT(x.t[0].flags, ZT_F_MIDSTREAM);
	CHECK(!x.t[0].server);
	fx_close(&x, 10);
	fx_done(&x);
	/* Unknown role, no Redis port: the first bytes say who asks. */
	fx_init_hint(&x, ZT_ROLE_UNKNOWN, 7001, 40000);
	FEED(&x, IN, 1, GET_K1);
	FEED(&x, OUT, 2, "$5\r\nhello\r\n");
	CHECK_EQ_INT(x.n, 1);
	CHECK(x.t[0].server);
	fx_close(&x, 3);
	fx_done(&x);
	/* Commands alone do not settle that a connection speaks Redis: an
	 * answer that is not RESP refutes it (a misdetection), and the
	 * connection goes back to detection rather than being swallowed. */
	fx_init(&x);
	CHECK_EQ_INT(FEED(&x, OUT, 1, GET_K1), 0);
	CHECK_EQ_INT(FEED(&x, IN, 2, "lo\r\n"), -EPROTO);
	CHECK_EQ_INT(FEED(&x, OUT, 3, GET_K1), -EPROTO);
	CHECK_EQ_INT(x.st.malformed, 1);
	fx_close(&x, 5);
	fx_done(&x);
}

static void test_unanswered_overflow(void)
{
	struct fx x;

	fx_init(&x);
	for (int i = 0; i < REDIS_PENDING_MAX + 76; i++)
		FEED(&x, OUT, i + 1, GET_K1);
	CHECK_EQ_INT(x.n, 0);
	CHECK_EQ_INT(x.st.overflow, 76);
	FEED(&x, IN, 5000, "$5\r\nhello\r\n");
	CHECK_EQ_INT(x.n, 1);
	CHECK_EQ_INT(x.t[0].req_first_ns, 77);
	fx_close(&x, 6000);
	CHECK_EQ_INT(x.n, REDIS_PENDING_MAX);
	CHECK_EQ_INT(x.st.unanswered, REDIS_PENDING_MAX - 1);
	CHECK_EQ_INT(x.t[1].flags, ZT_F_NO_RESPONSE | ZT_F_PIPELINED);
	fx_done(&x);
}

/* ---- hostile input ------------------------------------------------------ */

static void test_hostile(void)
{
	static const char *const first[] = {
		"*3\r\n$99999999999999\r\nSET\r\n",   /* bulk over REDIS_LEN_MAX */
		"*2\r\n$-5\r\nGET\r\n",               /* negative length */
		"*2\r\n:1\r\n:2\r\n",                 /* not bulk strings */
		"*1\r\n$3\r\nGETXX",                  /* no CRLF after the payload */
		"*x\r\n",
		"*12345678901234567890123456789012345\r\n",
		"*1\r\n$?\r\n",
	};
	struct fx x;

	for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++) {
		fx_init(&x);
		CHECK_EQ_INT(feedn(&x, OUT, 1, first[i], strlen(first[i])), -EPROTO);
		CHECK_EQ_INT(FEED(&x, OUT, 2, GET_K1), -EPROTO);
		CHECK_EQ_INT(x.st.malformed, 1);
		fx_close(&x, 3);
		CHECK_EQ_INT(x.n, 0);
		fx_done(&x);
	}
	/* Replies nested deeper than REDIS_DEPTH_MAX: the framing is given
	 * up, and found again. */
	fx_init(&x);
	{
		char deep[REDIS_DEPTH_MAX * 4 + 64];
		size_t l = 0;

		for (int i = 0; i < REDIS_DEPTH_MAX + 8; i++)
			l += (size_t)sprintf(deep + l, "*1\r\n");
		l += (size_t)sprintf(deep + l, ":1\r\n");
		FEED(&x, OUT, 1, GET_K1);
		FEED(&x, IN, 2, "$5\r\nhello\r\n");
		FEED(&x, OUT, 3, GET_K1);
		feedn(&x, IN, 4, deep, l);
		FEED(&x, OUT, 5, GET_K1);
		FEED(&x, IN, 6, "$5\r\nhello\r\n");
	}
	CHECK_EQ_INT(x.n, 3);
	CHECK(x.t[1].flags & ZT_F_RESYNC);
	CHECK_EQ_INT(x.t[2].flags, 0);
	CHECK_EQ_INT(x.st.overflow, 1);
	/* Garbage after a good start: resynchronised, counted. */
	FEED(&x, OUT, 7, GET_K1);
	FEED(&x, IN, 8, "$5\r\nhelloXX:1\r\n");
	FEED(&x, OUT, 9, GET_K1);
	FEED(&x, IN, 10, "$5\r\nhello\r\n");
	CHECK_EQ_INT(x.n, 5);
	CHECK_EQ_INT(x.st.malformed, 1);
	CHECK_EQ_INT(x.t[4].flags, 0);
	/* An endless simple string keeps nothing. */
	FEED(&x, OUT, 11, GET_K1);
	for (int i = 0; i < 100; i++)
		FEED(&x, IN, 12, "+aaaaaaaaaaaaaaaaaaaa");
	FEED(&x, IN, 13, "\r\n");
	CHECK_EQ_INT(x.n, 6);
	CHECK_EQ_INT(x.t[5].resp_bytes, 2102);
	fx_close(&x, 20);
	fx_done(&x);
}

/* ---- detection ---------------------------------------------------------- */

static int det(const char *s, enum zt_dir d, uint8_t role, uint16_t lport, uint16_t rport)
{
	struct zt_proto_hint h = { role, 6, lport, rport };

	return zt_proto_redis.detect((const uint8_t *)s, (uint32_t)strlen(s), (uint32_t)strlen(s), d, &h);
}

static void test_detect(void)
{
	const uint8_t C = ZT_ROLE_CLIENT, S = ZT_ROLE_SERVER, U = ZT_ROLE_UNKNOWN;

	CHECK_EQ_INT(det(SET_K1, OUT, C, 40000, 7001), ZT_DETECT_YES);
	CHECK_EQ_INT(det(SET_K1, IN, S, 7001, 40000), ZT_DETECT_YES);
	CHECK_EQ_INT(det(HELLO3, OUT, C, 40000, 7001), ZT_DETECT_YES);
	CHECK_EQ_INT(det(SET_K1, IN, C, 40000, 7001), ZT_DETECT_NO);
	CHECK_EQ_INT(det(SET_K1, IN, C, 40000, 6379), ZT_DETECT_PORT);
	CHECK_EQ_INT(det(SET_K1, IN, U, 40000, 7001), ZT_DETECT_MAYBE);
	CHECK_EQ_INT(det("*3\r\n", OUT, C, 40000, 7001), ZT_DETECT_NO);
	CHECK_EQ_INT(det("PING\r\n", OUT, C, 40000, 6379), ZT_DETECT_PORT);
	CHECK_EQ_INT(det("PING\r\n", OUT, C, 40000, 7001), ZT_DETECT_NO);
	CHECK_EQ_INT(det("+OK\r\n", IN, C, 40000, 6379), ZT_DETECT_PORT);
	CHECK_EQ_INT(det("$5\r\nhello\r\n", OUT, S, 26379, 40000), ZT_DETECT_PORT);
	CHECK_EQ_INT(det("+OK\r\n", IN, C, 40000, 7001), ZT_DETECT_NO);
	CHECK_EQ_INT(det("GET / HTTP/1.1\r\nHost: x\r\n\r\n", OUT, C, 40000, 6379), ZT_DETECT_NO);
	CHECK_EQ_INT(det("HTTP/1.1 200 OK\r\n\r\n", IN, C, 40000, 6379), ZT_DETECT_NO);
	CHECK_EQ_INT(det("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", OUT, C, 40000, 6379), ZT_DETECT_NO);
	CHECK_EQ_INT(det("\x16\x03\x01\x02\x00\x01", OUT, C, 40000, 6379), ZT_DETECT_NO);
	CHECK_EQ_INT(det("\0\0\0\x08\x04\xd2\x16\x2f", OUT, C, 40000, 6379), ZT_DETECT_NO);
	CHECK_EQ_INT(det("*\0\0\0\x0a" "8.0.35", IN, C, 40000, 3306), ZT_DETECT_NO);
	/* Through the table: HTTP stays HTTP's even on a Redis port. */
	{
		struct zt_proto_hint h = { C, 6, 40000, 6379 };
		const char *get = "GET /x HTTP/1.1\r\nHost: x\r\n\r\n";

		CHECK_EQ_INT(zt_proto_detect((const uint8_t *)get, strlen(get), strlen(get), OUT, &h),
			     ZT_PROTO_HTTP1);
		CHECK_EQ_INT(zt_proto_detect((const uint8_t *)SET_K1, strlen(SET_K1), strlen(SET_K1), OUT, &h),
			     ZT_PROTO_REDIS);
	}
}

int main(void)
{
	test_cli_commands();
	test_resp3();
	test_command_docs();
	test_split_every_byte();
	test_cut_every_byte();
	test_pipeline();
	test_pipeline_cut();
	test_big_values();
	test_gaps();
	test_pipelined_lost_reply();
	test_pipelined_big_replies();
	test_pubsub_resp2();
	test_pubsub_resp3();
	test_monitor_multi();
	test_client_reply();
	test_inline();
	test_midstream();
	test_unanswered_overflow();
	test_hostile();
	test_detect();
	return TEST_SUMMARY("test_redis");
}
