// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Detection across every parser at once: each protocol's opening bytes, as
 * its real clients and servers send them, pick that protocol and no other,
 * whichever port it runs on; the port alone never picks one; bytes of no
 * protocol pick none; and every parser survives being handed the others'
 * openings (a misdetection gives up or keeps quiet, never crashes).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "proto/proto.h"

struct sample {
	const char *name;
	const uint8_t *data;
	uint32_t len;
	uint8_t dir;     /* as the side `role` sees it */
	uint8_t role;
	uint8_t ipproto;
	enum zt_proto_id want;
};

#define S(x) (const uint8_t *)(x), sizeof(x) - 1

static const char http_req[] = "GET /index.html HTTP/1.1\r\nHost: pong\r\nUser-Agent: curl/7.88.1\r\n\r\n";
static const char http_resp[] = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 0\r\n\r\n";
/* The preface and the client's SETTINGS, as nghttp sends them. */
static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
				 "\x00\x00\x0c\x04\x00\x00\x00\x00\x00"
				 "\x00\x03\x00\x00\x00\x64\x00\x04\x40\x00\x00\x00";
static const char redis_cmd[] = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
/* psql's StartupMessage: length, protocol 3.0, user, database. */
static const char pg_startup[] = "\x00\x00\x00\x29\x00\x03\x00\x00user\0postgres\0database\0postgres\0\0";
static const char pg_ssl[] = "\x00\x00\x00\x08\x04\xd2\x16\x2f";
/* mariadbd's greeting: header, protocol 10, version, thread id, scramble,
 * capabilities, charset, status, plugin data. */
static const char my_greeting[] =
	"\x64\x00\x00\x00\x0a"
	"5.5.5-10.11.11-MariaDB-0+deb12u1\0"
	"\x03\x00\x00\x00" "abcdefgh" "\x00"
	"\xfe\xf7" "\x2d" "\x02\x00" "\xff\x81" "\x15" "\x00\x00\x00\x00\x00\x00"
	"\x1d\x00\x00\x00" "ijklmnopqrst" "\x00" "mysql_native_password\0";
/* dig example.test A (no EDNS cookie, to stay short). */
static const char dns_query[] = "\x12\x34\x01\x20\x00\x01\x00\x00\x00\x00\x00\x00"
				"\x07" "example" "\x04" "test" "\x00" "\x00\x01\x00\x01";
static const char tls_hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
static const char junk[] = "\x7f\x01\x02\x03 random \xff\xfe bytes \x00\x01";

static const struct sample samples[] = {
	{ "http request (server)", S(http_req), ZT_DIR_IN, ZT_ROLE_SERVER, IPPROTO_TCP, ZT_PROTO_HTTP1 },
	{ "http request (client)", S(http_req), ZT_DIR_OUT, ZT_ROLE_CLIENT, IPPROTO_TCP, ZT_PROTO_HTTP1 },
	{ "http response (client)", S(http_resp), ZT_DIR_IN, ZT_ROLE_CLIENT, IPPROTO_TCP, ZT_PROTO_HTTP1 },
	{ "h2 preface (server)", S(h2_preface), ZT_DIR_IN, ZT_ROLE_SERVER, IPPROTO_TCP, ZT_PROTO_HTTP2 },
	{ "h2 preface (client)", S(h2_preface), ZT_DIR_OUT, ZT_ROLE_CLIENT, IPPROTO_TCP, ZT_PROTO_HTTP2 },
	{ "redis command (server)", S(redis_cmd), ZT_DIR_IN, ZT_ROLE_SERVER, IPPROTO_TCP, ZT_PROTO_REDIS },
	{ "redis command (client)", S(redis_cmd), ZT_DIR_OUT, ZT_ROLE_CLIENT, IPPROTO_TCP, ZT_PROTO_REDIS },
	{ "pg startup (server)", S(pg_startup), ZT_DIR_IN, ZT_ROLE_SERVER, IPPROTO_TCP, ZT_PROTO_PGSQL },
	{ "pg startup (client)", S(pg_startup), ZT_DIR_OUT, ZT_ROLE_CLIENT, IPPROTO_TCP, ZT_PROTO_PGSQL },
	{ "pg ssl request", S(pg_ssl), ZT_DIR_OUT, ZT_ROLE_CLIENT, IPPROTO_TCP, ZT_PROTO_PGSQL },
	{ "mysql greeting (server)", S(my_greeting), ZT_DIR_OUT, ZT_ROLE_SERVER, IPPROTO_TCP, ZT_PROTO_MYSQL },
	{ "mysql greeting (client)", S(my_greeting), ZT_DIR_IN, ZT_ROLE_CLIENT, IPPROTO_TCP, ZT_PROTO_MYSQL },
	{ "dns query (client)", S(dns_query), ZT_DIR_OUT, ZT_ROLE_CLIENT, IPPROTO_UDP, ZT_PROTO_DNS },
	{ "dns query (server)", S(dns_query), ZT_DIR_IN, ZT_ROLE_UNKNOWN, IPPROTO_UDP, ZT_PROTO_DNS },
	/* The same query bytes over TCP without the 2-byte length: nothing. */
	{ "dns bytes on tcp", S(dns_query), ZT_DIR_OUT, ZT_ROLE_CLIENT, IPPROTO_TCP, ZT_PROTO_NONE },
	{ "tls client hello", S(tls_hello), ZT_DIR_OUT, ZT_ROLE_CLIENT, IPPROTO_TCP, ZT_PROTO_NONE },
	{ "junk (tcp)", S(junk), ZT_DIR_OUT, ZT_ROLE_CLIENT, IPPROTO_TCP, ZT_PROTO_NONE },
	{ "junk (udp)", S(junk), ZT_DIR_OUT, ZT_ROLE_CLIENT, IPPROTO_UDP, ZT_PROTO_NONE },
};

/* Every protocol's well-known port, and one nobody uses. */
static const uint16_t ports[] = { 80, 8080, 443, 6379, 5432, 3306, 53, 50051, 7001 };

static void test_bytes_decide(void)
{
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		const struct sample *s = &samples[i];

		for (size_t p = 0; p < sizeof(ports) / sizeof(ports[0]); p++) {
			struct zt_proto_hint h = { .role = s->role, .ipproto = s->ipproto,
						   .lport = s->role == ZT_ROLE_SERVER ? ports[p] : 40000,
						   .rport = s->role == ZT_ROLE_SERVER ? 40000 : ports[p] };
			enum zt_proto_id got = zt_proto_detect(s->data, s->len, s->len, s->dir, &h);

			if (got != s->want)
				fprintf(stderr, "  %s on port %u: got %d\n", s->name, ports[p], got);
			CHECK_EQ_INT(got, s->want);
		}
	}
}

/* An empty or uncaptured message picks nothing. */
static void test_nothing_captured(void)
{
	struct zt_proto_hint h = { .role = ZT_ROLE_SERVER, .ipproto = IPPROTO_TCP, .lport = 6379 };

	CHECK_EQ_INT(zt_proto_detect(NULL, 0, 100, ZT_DIR_IN, &h), ZT_PROTO_NONE);
	CHECK_EQ_INT(zt_proto_detect((const uint8_t *)"x", 0, 100, ZT_DIR_IN, &h), ZT_PROTO_NONE);
}

static void count_txn(void *ctx, const struct zt_txn *t)
{
	(void)t;
	(*(int *)ctx)++;
}

/* Each parser fed every other protocol's opening, both ways, then closed:
 * it may give up (-EPROTO) or stay quiet, it must not crash or leak (ASan). */
static void test_parsers_survive_strangers(void)
{
	for (int id = ZT_PROTO_NONE + 1; id < ZT_PROTO_MAX; id++) {
		const struct zt_proto_ops *ops = zt_proto_get(id);

		CHECK(ops != NULL);
		for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
			const struct sample *s = &samples[i];
			struct zt_proto_hint h = { .role = s->role, .ipproto = s->ipproto };
			uint64_t stats[32] = { 0 }; /* larger than any parser's stats */
			void *st = calloc(1, ops->state_size);
			int n = 0, ret;

			if (!st)
				abort();
			ops->init(st, &h);
			ret = ops->feed(st, s->dir, 1, s->data, s->len, s->len, NULL, 0, count_txn, &n, stats);
			if (!ret)
				ret = ops->feed(st, !s->dir, 2, s->data, s->len, s->len, NULL, 0, count_txn,
						&n, stats);
			CHECK(ret == 0 || ret == -EPROTO);
			ops->close(st, 3, count_txn, &n, stats);
			ops->free(st);
			free(st);
		}
	}
	CHECK(zt_proto_get(ZT_PROTO_NONE) == NULL);
	CHECK(zt_proto_get(ZT_PROTO_MAX) == NULL);
}

int main(void)
{
	test_bytes_decide();
	test_nothing_captured();
	test_parsers_survive_strangers();
	return TEST_SUMMARY("test_proto");
}
