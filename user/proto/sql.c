// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * SQL text to span fields (see sql.h). One left-to-right scan: each token
 * is either copied (identifiers, keywords, operators, placeholders), folded
 * to '?' (literals) or dropped (comments, extra whitespace). Where the text
 * is ambiguous without a full grammar (a '-' before a number: sign or
 * operator?) the token is kept as written, since it holds no value.
 */
#include <string.h>

#include "sql.h"

/* Output being built: `len` of `size - 1` usable, `cut` once full. */
struct out {
	char *p;
	size_t len, size;
	bool cut;
	bool space; /* a space is owed before the next token */
};

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(unsigned char c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

/* Identifier characters (PostgreSQL: letters, digits, _, $, any non-ASCII
 * byte; MySQL the same). */
static bool is_ident(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '_' || c == '$' || c >= 0x80;
}

static void put(struct out *o, char c)
{
	if (o->cut)
		return;
	if (o->space && o->len) {
		o->space = false;
		put(o, ' ');
		if (o->cut)
			return;
	}
	o->space = false;
	if (o->len + 1 >= o->size) {
		o->cut = true;
		return;
	}
	/* Control bytes other than whitespace (handled before) are not
	 * printable: consumers print targets. */
	o->p[o->len++] = (unsigned char)c < 0x20 || c == 0x7f ? '?' : c;
}

/* Index just past a quoted run that started at in[i] (the opening quote),
 * `q` the quote; a doubled quote is one quote inside, and with `bs` a
 * backslash escapes the next byte. Unterminated: n. */
static size_t skip_quoted(const char *in, size_t n, size_t i, char q, bool bs)
{
	for (i++; i < n; i++) {
		if (bs && in[i] == '\\') {
			i++;
			continue;
		}
		if (in[i] == q) {
			if (i + 1 < n && in[i + 1] == q) {
				i++;
				continue;
			}
			return i + 1;
		}
	}
	return n;
}

/* "-- to the line end" or a slash-star comment (nested in PostgreSQL). */
static size_t skip_comment(const char *in, size_t n, size_t i, bool nest)
{
	int depth = 0;

	if (in[i] == '-' || in[i] == '#') {
		const char *lf = memchr(in + i, '\n', n - i);

		return lf ? (size_t)(lf - in) + 1 : n;
	}
	for (; i < n; i++) {
		if (in[i] == '/' && i + 1 < n && in[i + 1] == '*' && (nest || !depth)) {
			depth++;
			i++;
		} else if (in[i] == '*' && i + 1 < n && in[i + 1] == '/') {
			i++;
			if (!--depth)
				return i + 1;
		}
	}
	return n;
}

static bool comment_at(const char *in, size_t n, size_t i, bool mysql)
{
	/* MySQL wants "-- " (a space or control after): "a--1" is a - (-1). */
	if (in[i] == '-' && i + 1 < n && in[i + 1] == '-')
		return !mysql || i + 2 >= n || (unsigned char)in[i + 2] <= ' ';
	if (in[i] == '/' && i + 1 < n && in[i + 1] == '*')
		return true;
	return mysql && in[i] == '#';
}

/* A dollar quote's opening tag at in[i] ("$$" or "$tag$", tag not starting
 * with a digit): its length, or 0 when this '$' is something else ($1). */
static size_t dollar_tag(const char *in, size_t n, size_t i)
{
	size_t j = i + 1;

	if (j < n && is_digit((unsigned char)in[j]))
		return 0;
	while (j < n && in[j] != '$' && (is_ident((unsigned char)in[j])))
		j++;
	return j < n && in[j] == '$' ? j + 1 - i : 0;
}

/* Index past the closing tag of a dollar-quoted body opened at in[i]. */
static size_t skip_dollar(const char *in, size_t n, size_t i, size_t tag)
{
	for (size_t j = i + tag; j + tag <= n; j++) {
		const char *d = memchr(in + j, '$', n - j);

		if (!d)
			break;
		j = d - in;
		if (j + tag <= n && !memcmp(in + j, in + i, tag))
			return j + tag;
	}
	return n;
}

/* A number at in[i] (digits, a '.' then digits, an exponent; 0x.., 0o..,
 * 0b.. and '_' separators of PostgreSQL 16): index past it. */
static size_t skip_number(const char *in, size_t n, size_t i)
{
	if (in[i] == '0' && i + 2 < n && strchr("xXoObB", in[i + 1]) && in[i + 1] &&
	    is_ident((unsigned char)in[i + 2])) {
		for (i += 2; i < n && (is_ident((unsigned char)in[i])); i++)
			;
		return i;
	}
	while (i < n && (is_digit((unsigned char)in[i]) || in[i] == '_'))
		i++;
	if (i < n && in[i] == '.') {
		i++;
		while (i < n && (is_digit((unsigned char)in[i]) || in[i] == '_'))
			i++;
	}
	if (i < n && (in[i] | 0x20) == 'e') {
		size_t j = i + 1;

		if (j < n && (in[j] == '+' || in[j] == '-'))
			j++;
		if (j < n && is_digit((unsigned char)in[j])) {
			for (i = j; i < n && is_digit((unsigned char)in[i]); i++)
				;
		}
	}
	return i;
}

/* A string literal's prefix: E, B, X, N (one letter) or U& right before
 * the quote. Returns the prefix length when in[i..] is one. */
static size_t literal_prefix(const char *in, size_t n, size_t i)
{
	char c = in[i] | 0x20;

	if ((c == 'e' || c == 'b' || c == 'x' || c == 'n') && i + 1 < n && in[i + 1] == '\'')
		return 1;
	if (c == 'u' && i + 2 < n && in[i + 1] == '&' && in[i + 2] == '\'')
		return 2;
	return 0;
}

/* MySQL's executable comments, "/" "*!" or MariaDB's "/" "*M!" and an
 * optional version: SQL the server runs, so its text stays. Returns the
 * length of the opening (marker and version), or 0. */
static size_t exec_comment_open(const char *in, size_t n, size_t i)
{
	size_t j = i + 2;

	if (j >= n || in[i] != '/' || in[i + 1] != '*')
		return 0;
	if (in[j] == 'M' && j + 1 < n && in[j + 1] == '!')
		j++;
	if (in[j] != '!')
		return 0;
	for (j++; j < n && is_digit((unsigned char)in[j]); j++)
		;
	return j - i;
}

/* MySQL: digits then letters or '_' (not a number's exponent or radix)
 * make an identifier. */
static bool ident_after_digits(const char *in, size_t n, size_t i)
{
	size_t j = skip_number(in, n, i);

	if (j >= n || !is_ident((unsigned char)in[j]))
		return false;
	for (size_t k = i; k < j; k++)
		if (!is_digit((unsigned char)in[k]))
			return false;
	return true;
}

/* MySQL: "_charset" right before a quote; its length, else 0. */
static size_t introducer(const char *in, size_t n, size_t i)
{
	size_t j = i + 1;

	while (j < n && is_ident((unsigned char)in[j]))
		j++;
	return j > i + 1 && j < n && in[j] == '\'' ? j - i : 0;
}

size_t zt_sql_normalize_dialect(const char *in, size_t n, char *out, size_t size, bool *cut,
				bool mysql)
{
	struct out o = {out, 0, size, false, false};
	size_t i = 0;
	bool in_exec = false; /* inside a MySQL executable comment */

	if (!size) {
		if (cut)
			*cut = n > 0;
		return 0;
	}
	while (i < n && !o.cut) {
		unsigned char c = (unsigned char)in[i];
		size_t k;

		if (is_space(c) || c == '\0') {
			o.space = true;
			i++;
		} else if (mysql && !in_exec && (k = exec_comment_open(in, n, i))) {
			in_exec = true;
			i += k;
			o.space = true;
		} else if (in_exec && c == '*' && i + 1 < n && in[i + 1] == '/') {
			in_exec = false;
			i += 2;
			o.space = true;
		} else if (comment_at(in, n, i, mysql)) {
			i = skip_comment(in, n, i, !mysql);
			o.space = true;
		} else if (c == '\'' || (mysql && c == '"')) {
			i = skip_quoted(in, n, i, (char)c, mysql);
			put(&o, '?');
		} else if ((k = literal_prefix(in, n, i))) {
			/* E'..' takes backslash escapes; the others do not. */
			i = skip_quoted(in, n, i + k, '\'', mysql || (c | 0x20) == 'e');
			put(&o, '?');
		} else if (c == '$' && !mysql && (k = dollar_tag(in, n, i))) {
			i = skip_dollar(in, n, i, k);
			put(&o, '?');
		} else if (is_digit(c) && mysql && ident_after_digits(in, n, i)) {
			/* MySQL: "2fa_codes" is a name, not 2 then a word. */
			while (i < n && is_ident((unsigned char)in[i]) && !o.cut)
				put(&o, in[i++]);
		} else if (is_digit(c) ||
			   (c == '.' && i + 1 < n && is_digit((unsigned char)in[i + 1]))) {
			i = skip_number(in, n, i);
			put(&o, '?');
		} else if (mysql && c == '_' && (k = introducer(in, n, i))) {
			/* _utf8mb4'..': a charset introducer belongs to its string. */
			i = skip_quoted(in, n, i + k, '\'', true);
			put(&o, '?');
		} else if (is_ident(c)) {
			/* A word, copied whole: digits inside it are no number. */
			while (i < n && is_ident((unsigned char)in[i]) && !o.cut)
				put(&o, in[i++]);
		} else if (c == '"' || (mysql && c == '`')) {
			size_t end = skip_quoted(in, n, i, (char)c, false);

			while (i < end && !o.cut) {
				if (is_space((unsigned char)in[i]))
					o.space = true, i++;
				else
					put(&o, in[i++]);
			}
		} else {
			put(&o, (char)c);
			i++;
		}
	}
	/* (cut is only ever set by a token that did not fit: whitespace and
	 * comments left over do not set it.) */
	out[o.len] = '\0';
	if (cut)
		*cut = o.cut;
	return o.len;
}

size_t zt_sql_verb(const char *in, size_t n, char *out, size_t size)
{
	size_t i = 0, len = 0;

	if (!size)
		return 0;
	while (i < n) {
		if (is_space((unsigned char)in[i]) || in[i] == '(')
			i++;
		else if (comment_at(in, n, i, false))
			i = skip_comment(in, n, i, true);
		else
			break;
	}
	while (i < n && is_alpha((unsigned char)in[i]) && len + 1 < size)
		out[len++] = (char)(in[i++] & ~0x20);
	out[len] = '\0';
	return len;
}
