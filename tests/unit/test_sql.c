// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The SQL normaliser and verb on their own: what psql, pgbench and ORMs
 * send, literals of every kind, comments, cut text, hostile bytes. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "proto/sql.h"
#include "proto/txn.h"

static const char *norm(const char *in, bool *cut)
{
	static char out[ZT_TXN_TARGET_MAX];
	bool c;

	zt_sql_normalize(in, strlen(in), out, sizeof(out), &c);
	if (cut)
		*cut = c;
	return out;
}

static const char *norm_my(const char *in)
{
	static char out[ZT_TXN_TARGET_MAX];
	bool c;

	zt_sql_normalize_dialect(in, strlen(in), out, sizeof(out), &c, true);
	return out;
}

static const char *verb(const char *in)
{
	static char out[ZT_TXN_OP_MAX];

	zt_sql_verb(in, strlen(in), out, sizeof(out));
	return out;
}

static void test_literals(void)
{
	CHECK_EQ_STR(norm("SELECT 1", NULL), "SELECT ?");
	CHECK_EQ_STR(norm("INSERT INTO items VALUES (1, 'apple', 1.25), (2, 'it''s', 2.5);", NULL),
		     "INSERT INTO items VALUES (?, ?, ?), (?, ?, ?);");
	CHECK_EQ_STR(norm("SELECT id, name FROM items WHERE name = 'apple' AND price > 1.0;", NULL),
		     "SELECT id, name FROM items WHERE name = ? AND price > ?;");
	CHECK_EQ_STR(norm("SELECT E'a\\'b''c', 'x' FROM t", NULL), "SELECT ?, ? FROM t");
	CHECK_EQ_STR(norm("SELECT e'\\\\', B'0101', X'ff', N'n', U&'d\\0061t'", NULL),
		     "SELECT ?, ?, ?, ?, ?");
	CHECK_EQ_STR(norm("SELECT 'two', $$dollar 'x'$$;", NULL), "SELECT ?, ?;");
	CHECK_EQ_STR(norm("DO $body$BEGIN RAISE NOTICE 'x $$ y'; END$body$;", NULL), "DO ?;");
	CHECK_EQ_STR(norm("SELECT $a$ $b$ $a$, $1, $12", NULL), "SELECT ?, $1, $12");
	CHECK_EQ_STR(norm("SELECT 1e10, 1.5e-3, .5, 3., 0x1F, 1_000, 0b101", NULL),
		     "SELECT ?, ?, ?, ?, ?, ?, ?");
	/* Digits inside identifiers are names, not values. */
	CHECK_EQ_STR(norm("SELECT t1.c2 FROM t1 JOIN \"tab 3\" ON x$1 = 4", NULL),
		     "SELECT t1.c2 FROM t1 JOIN \"tab 3\" ON x$1 = ?");
	CHECK_EQ_STR(norm("UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2;", NULL),
		     "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2;");
	CHECK_EQ_STR(norm("SELECT -5, a-1, 'x'::text", NULL), "SELECT -?, a-?, ?::text");
	CHECK_EQ_STR(norm("SELECT * FROM t WHERE id IN (1,2,3)", NULL),
		     "SELECT * FROM t WHERE id IN (?,?,?)");
}

static void test_space_and_comments(void)
{
	CHECK_EQ_STR(norm("  SELECT\n\t a ,\r\n b   FROM  t  ", NULL), "SELECT a , b FROM t");
	CHECK_EQ_STR(norm("/* app=web traceparent='00-ab' */ SELECT 1 -- secret 42\n FROM t", NULL),
		     "SELECT ? FROM t");
	CHECK_EQ_STR(norm("SELECT /* a /* nested */ still */ 2", NULL), "SELECT ?");
	CHECK_EQ_STR(norm("", NULL), "");
	CHECK_EQ_STR(norm(";", NULL), ";");
	CHECK_EQ_STR(norm("SELECT\x01x", NULL), "SELECT?x");
}

static void test_cut(void)
{
	char in[2048], want[ZT_TXN_TARGET_MAX];
	bool cut;

	/* Text cut by the capture: an open literal is a literal. */
	CHECK_EQ_STR(norm("SELECT * FROM t WHERE name = 'secr", &cut), "SELECT * FROM t WHERE name = ?");
	CHECK(!cut);
	CHECK_EQ_STR(norm("SELECT $$abc", NULL), "SELECT ?");
	CHECK_EQ_STR(norm("SELECT 1 /* open", NULL), "SELECT ?");
	CHECK_EQ_STR(norm("SELECT E'abc\\", NULL), "SELECT ?");
	CHECK_EQ_STR(norm("SELECT \"open", NULL), "SELECT \"open");

	/* Output longer than the target: cut, flagged, never a literal's bytes. */
	strcpy(in, "SELECT ");
	for (int i = 0; i < 200; i++)
		strcat(in, "col, ");
	strcat(in, "'secret'");
	norm(in, &cut);
	CHECK(cut);
	CHECK_EQ_INT(strlen(norm(in, NULL)), ZT_TXN_TARGET_MAX - 1);
	CHECK(!strstr(norm(in, NULL), "secret"));

	/* A long literal folds to one '?': no cut. */
	strcpy(in, "SELECT '");
	memset(in + 8, 'x', 1500);
	strcpy(in + 1508, "' FROM t");
	CHECK_EQ_STR(norm(in, &cut), "SELECT ? FROM t");
	CHECK(!cut);

	/* Exactly full: not cut. */
	memset(in, 'a', ZT_TXN_TARGET_MAX - 1);
	in[ZT_TXN_TARGET_MAX - 1] = '\0';
	memcpy(want, in, sizeof(want));
	CHECK_EQ_STR(norm(in, &cut), want);
	CHECK(!cut);
	in[ZT_TXN_TARGET_MAX - 1] = 'a';
	in[ZT_TXN_TARGET_MAX] = '\0';
	norm(in, &cut);
	CHECK(cut);
	/* A literal that does not fit at the end. */
	memset(in, 'a', ZT_TXN_TARGET_MAX - 2);
	strcpy(in + ZT_TXN_TARGET_MAX - 2, " 5");
	norm(in, &cut);
	CHECK(cut);
}

static void test_mysql(void)
{
	CHECK_EQ_STR(norm_my("SELECT \"str\", 'it\\'s', `col` FROM t # c\nWHERE x = 1"),
		     "SELECT ?, ?, `col` FROM t WHERE x = ?");
	CHECK_EQ_STR(norm_my("SELECT $1"), "SELECT $1");
}

static void test_verb(void)
{
	CHECK_EQ_STR(verb("select 1"), "SELECT");
	CHECK_EQ_STR(verb("  /* c */ -- x\n (WITH a AS (SELECT 1) SELECT * FROM a)"), "WITH");
	CHECK_EQ_STR(verb("BEGIN;"), "BEGIN");
	CHECK_EQ_STR(verb("end;"), "END");
	CHECK_EQ_STR(verb(";"), "");
	CHECK_EQ_STR(verb(""), "");
	CHECK_EQ_STR(verb("'x'"), "");
	CHECK_EQ_STR(verb("Insert into t"), "INSERT");
	CHECK_EQ_STR(verb("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
		     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
}

/* Every byte value at every place: bounded output, no control byte. */
static void test_hostile(void)
{
	char in[64], out[16];
	bool cut;

	srand(7);
	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)(rand() % (int)sizeof(in));
		size_t l;

		for (size_t i = 0; i < n; i++)
			in[i] = "'\"$-/*eE0 .x\\\n`#"[rand() % 16] ^ (rand() % 8 == 0 ? (char)rand() : 0);
		l = zt_sql_normalize_dialect(in, n, out, sizeof(out), &cut, round & 1);
		CHECK(l < sizeof(out) && strlen(out) == l);
		for (size_t i = 0; i < l; i++)
			if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
				CHECK(!"control byte in output");
		l = zt_sql_verb(in, n, out, 8);
		CHECK(l < 8 && strlen(out) == l);
	}
	CHECK_EQ_INT(zt_sql_normalize("x", 1, out, 0, &cut), 0);
	CHECK(cut);
}

int main(void)
{
	test_literals();
	test_space_and_comments();
	test_cut();
	test_mysql();
	test_verb();
	test_hostile();
	return TEST_SUMMARY("test_sql");
}
