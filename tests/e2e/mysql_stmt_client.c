// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A client of MariaDB's binary protocol for the MySQL e2e test: libmariadb's
 * mysql_stmt_* API, which no installed CLI speaks. It runs a fixed script
 * and prints one line per command that has a reply, in order:
 *
 *   KIND OK|ERR <errno> <sqlstate>
 *
 * so the test can hold ztrace's spans against what the server answered.
 *
 *   mysql_stmt_client HOST PORT USER PASSWORD DB [GO_FILE]
 *
 * With GO_FILE, it waits after its first query until that file exists (a
 * connection already open when the tracer starts).
 */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static MYSQL *db;

static void report(const char *kind, int err, const char *state)
{
	if (err)
		printf("%s ERR %d %s\n", kind, err, state);
	else
		printf("%s OK 0 00000\n", kind);
}

static void die(const char *what)
{
	fprintf(stderr, "mysql_stmt_client: %s: %s\n", what, mysql_error(db));
	exit(1);
}

static void query(const char *sql)
{
	if (mysql_query(db, sql))
		die(sql);
	report("QUERY", 0, NULL);
	/* Every result of a multi-statement query, read to its end. */
	do {
		MYSQL_RES *r = mysql_store_result(db);

		mysql_free_result(r);
	} while (mysql_next_result(db) == 0);
}

static MYSQL_STMT *prepare(const char *sql)
{
	MYSQL_STMT *st = mysql_stmt_init(db);

	if (!st)
		die("mysql_stmt_init");
	if (mysql_stmt_prepare(st, sql, strlen(sql))) {
		report("PREPARE", mysql_stmt_errno(st), mysql_stmt_sqlstate(st));
		mysql_stmt_close(st);
		return NULL;
	}
	report("PREPARE", 0, NULL);
	return st;
}

/* Executes with one int parameter (and a string one when `name`), then
 * reads every row. */
static void execute(MYSQL_STMT *st, int id, const char *name)
{
	MYSQL_BIND in[2], out[2];
	int rid = 0;
	char rname[32];
	unsigned long nlen = name ? strlen(name) : 0, rlen = 0;

	memset(in, 0, sizeof(in));
	in[0].buffer_type = MYSQL_TYPE_LONG;
	in[0].buffer = &id;
	if (name) {
		in[1].buffer_type = MYSQL_TYPE_STRING;
		in[1].buffer = (char *)name;
		in[1].buffer_length = nlen;
		in[1].length = &nlen;
	}
	if (mysql_stmt_bind_param(st, in))
		die("bind_param");
	if (mysql_stmt_execute(st)) {
		report("EXECUTE", mysql_stmt_errno(st), mysql_stmt_sqlstate(st));
		return;
	}
	report("EXECUTE", 0, NULL);
	if (mysql_stmt_field_count(st) == 0)
		return;
	memset(out, 0, sizeof(out));
	out[0].buffer_type = MYSQL_TYPE_LONG;
	out[0].buffer = &rid;
	out[1].buffer_type = MYSQL_TYPE_STRING;
	out[1].buffer = rname;
	out[1].buffer_length = sizeof(rname);
	out[1].length = &rlen;
	if (mysql_stmt_bind_result(st, out))
		die("bind_result");
	while (mysql_stmt_fetch(st) == 0)
		;
}

int main(int argc, char **argv)
{
	MYSQL_STMT *sel, *ins, *bad;

	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: mysql_stmt_client HOST PORT USER PASSWORD DB [GO_FILE]\n");
		return 2;
	}
	db = mysql_init(NULL);
	if (!db)
		return 1;
	/* Plain TCP: the test looks at the bytes on the wire. */
	{
		my_bool no = 0;

		mysql_optionsv(db, MYSQL_OPT_SSL_ENFORCE, &no);
	}
	if (!mysql_real_connect(db, argv[1], argv[3], argv[4], argv[5], atoi(argv[2]), NULL,
				CLIENT_MULTI_STATEMENTS))
		die("connect");
	query("CREATE TABLE IF NOT EXISTS s (id INT PRIMARY KEY, name VARCHAR(32))");
	fflush(stdout);
	for (int i = 0; argc == 7 && access(argv[6], F_OK) && i < 2000; i++)
		usleep(10000);
	ins = prepare("INSERT INTO s (id, name) VALUES (?, ?)");
	if (!ins)
		return 1;
	execute(ins, 1, "one");
	execute(ins, 2, "two");
	execute(ins, 1, "dup"); /* duplicate key: 1062 23000 */
	sel = prepare("SELECT id, name FROM s WHERE id >= ? AND name <> 'zz' ORDER BY id");
	if (!sel)
		return 1;
	execute(sel, 0, NULL);
	execute(sel, 2, NULL); /* metadata cached by the client: not resent */
	bad = prepare("SELECT * FROM missing WHERE id = ?"); /* 1146 42S02 */
	if (bad)
		return 1;
	mysql_stmt_close(ins);
	mysql_stmt_close(sel);
	report("PING", mysql_ping(db), "");
	query("SELECT 1; SELECT 'two', 2");
	report("INIT_DB", mysql_select_db(db, "nosuchdb") ? (int)mysql_errno(db) : 0,
	       mysql_sqlstate(db)); /* 1049 42000 */
	report("RESET_CONNECTION", mysql_reset_connection(db) ? (int)mysql_errno(db) : 0,
	       mysql_sqlstate(db));
	report("CHANGE_USER", mysql_change_user(db, argv[3], argv[4], argv[5]) ? (int)mysql_errno(db) : 0,
	       mysql_sqlstate(db));
	{
		MYSQL_RES *f = mysql_list_fields(db, "s", NULL); /* COM_FIELD_LIST */

		report("FIELD_LIST", f ? 0 : (int)mysql_errno(db), mysql_sqlstate(db));
		mysql_free_result(f);
	}
	mysql_close(db);
	return 0;
}
