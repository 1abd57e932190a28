/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * SQL statement text as spans show it, shared by the SQL protocols
 * (PostgreSQL, MySQL): the verb, and the statement with every
 * literal replaced by '?'. Neither keeps a value: strings ('..', E'..',
 * B'..', X'..', N'..', U&'..'), dollar-quoted bodies ($$..$$, $tag$..$tag$)
 * and numbers become '?'; comments (which may carry anything) are dropped;
 * placeholders ($1, ?), identifiers, "quoted identifiers" and keywords stay.
 * Whitespace runs become one space.
 *
 * Both are pure functions over a bounded input, allocate nothing, and
 * accept text cut anywhere (a statement the capture cut short): an
 * unterminated literal or comment at the end is a literal or comment all
 * the same.
 */
#ifndef ZT_PROTO_SQL_H
#define ZT_PROTO_SQL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Writes the normalised statement of in[0..n) to out (always
 * NUL-terminated, at most size - 1 characters, no control byte). Sets *cut
 * when the output did not fit. MySQL dialect (`mysql` true): '\' escapes in
 * every quoted string, "..." is a string literal rather than an identifier,
 * `..` an identifier, # starts a comment and "--" only when a space
 * follows, and the text of executable comments (slash-star-bang
 * [version], MariaDB's slash-star-M-bang) stays: the server runs it.
 * Returns the output length.
 */
size_t zt_sql_normalize_dialect(const char *in, size_t n, char *out, size_t size, bool *cut,
				bool mysql);

/* The PostgreSQL dialect (standard_conforming_strings on). */
static inline size_t zt_sql_normalize(const char *in, size_t n, char *out, size_t size, bool *cut)
{
	return zt_sql_normalize_dialect(in, n, out, size, cut, false);
}

/*
 * The statement's first keyword, upper-cased ("SELECT", "WITH", "BEGIN"),
 * after leading whitespace, comments and opening parentheses; "" when the
 * text starts with anything else (or is empty). A word longer than size - 1
 * is cut. Returns its length.
 */
size_t zt_sql_verb(const char *in, size_t n, char *out, size_t size);

#endif
