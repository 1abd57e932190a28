/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * SQL text as MySQL and MariaDB read it, reduced to what a span may show:
 * the statement with every literal replaced by '?', comments dropped and
 * whitespace collapsed, and its verb. No literal survives, so keys and
 * values never reach a span.
 *
 * MySQL's lexical rules: '...' and "..." are strings (backslash escapes
 * and doubled quotes inside), `...` are identifiers (kept), # and "-- "
 * start a comment to the end of the line, /.../ comments are dropped except
 * the executable ones (slash-star-bang [version], MariaDB's slash-star-M-bang),
 * whose text is SQL the server runs, and is kept. Numbers (12, 1.5e3, 0x1F,
 * .5), hex and bit strings (X'..', B'..'), national and charset-introduced
 * strings (N'..', _utf8mb4'..') become '?'.
 *
 * The interface is the one the PostgreSQL normaliser (sql.h) shares, so the
 * two can become one with a dialect switch.
 */
#ifndef ZT_PROTO_MYSQL_SQL_H
#define ZT_PROTO_MYSQL_SQL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Writes the normalised text of in[0..in_len) into out (NUL-terminated,
 * at most out_size - 1 bytes). Returns ZT_F_TARGET_CUT when the output did
 * not fit (it then fills out_size - 1 bytes), else 0. An input cut inside
 * a literal yields the '?' of that literal.
 */
uint32_t mysql_sql_normalize(const char *in, size_t in_len, char *out, size_t out_size);

/*
 * The statement's first keyword, upper-cased, into out (at most
 * out_size - 1 letters): SELECT, INSERT, ... Leading comments, whitespace
 * and parentheses are skipped ("(SELECT ...) UNION ..." is a SELECT).
 * Returns its length; 0 and "" when the text does not start with a word.
 */
size_t mysql_sql_verb(const char *in, size_t in_len, char *out, size_t out_size);

#endif
