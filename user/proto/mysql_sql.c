// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * MySQL's SQL text, literals out (see mysql_sql.h). One pass over the input,
 * no allocation; every scan stops at in_len, so text cut by the capture
 * (inside a string, a comment) ends cleanly.
 */
#include <stdbool.h>
#include <string.h>

#include "../flags.h"
#include "mysql_sql.h"

struct out {
	char *p;
	size_t n, size;
	bool cut;
	bool space; /* a space is due before the next character */
};

static void put(struct out *o, char c)
{
	if (o->cut)
		return;
	if (o->space && o->n) {
		o->space = false;
		put(o, ' ');
		if (o->cut)
			return;
	}
	o->space = false;
	if (o->n + 1 >= o->size) {
		o->cut = true;
		return;
	}
	o->p[o->n++] = c;
}

static bool is_space(unsigned char c)
{
	return c <= ' ' || c == 0x7f;
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(unsigned char c)
{
	return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* Unquoted identifiers: letters, digits, _ and $, and any non-ASCII byte
 * (UTF-8 names). */
static bool is_word(unsigned char c)
{
	return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '_' || c == '$' ||
	       c >= 0x80;
}

/* End of the quoted run that starts at in[i] (its quote character), past
 * the closing quote; backslash escapes and doubled quotes stay inside.
 * Backquoted identifiers have no backslash escapes. */
static size_t quoted_end(const char *in, size_t len, size_t i)
{
	char q = in[i];

	for (i++; i < len; i++) {
		if (in[i] == '\\' && q != '`')
			i++;
		else if (in[i] == q && i + 1 < len && in[i + 1] == q)
			i++;
		else if (in[i] == q)
			return i + 1;
	}
	return len;
}

/* A comment at in[i], or 0. `exec` set when it is an executable comment
 * opener (slash-star-bang, slash-star-M-bang) whose text is SQL: the
 * returned length then covers the opener and its version number only. */
static size_t comment_len(const char *in, size_t len, size_t i, bool *exec)
{
	size_t j;

	*exec = false;
	if (in[i] == '#' || (in[i] == '-' && i + 1 < len && in[i + 1] == '-' &&
			     (i + 2 >= len || is_space((unsigned char)in[i + 2])))) {
		const char *lf = memchr(in + i, '\n', len - i);

		return lf ? (size_t)(lf - in) + 1 - i : len - i;
	}
	if (in[i] != '/' || i + 1 >= len || in[i + 1] != '*')
		return 0;
	j = i + 2;
	if (j < len && in[j] == 'M' && j + 1 < len && in[j + 1] == '!')
		j++;
	if (j < len && in[j] == '!') {
		*exec = true;
		for (j++; j < len && is_digit((unsigned char)in[j]); j++)
			;
		return j - i;
	}
	for (; j + 1 < len; j++)
		if (in[j] == '*' && in[j + 1] == '/')
			return j + 2 - i;
	return len - i;
}

/* A number at in[i] (digits, or a dot and digits): its length, or 0 when
 * the run goes on into letters (an identifier such as 2fa_codes). */
static size_t number_len(const char *in, size_t len, size_t i)
{
	size_t j = i;

	if (in[j] == '0' && j + 2 < len && (in[j + 1] | 0x20) == 'x' && is_hex((unsigned char)in[j + 2])) {
		for (j += 2; j < len && is_hex((unsigned char)in[j]); j++)
			;
	} else if (in[j] == '0' && j + 2 < len && (in[j + 1] | 0x20) == 'b' &&
		   (in[j + 2] == '0' || in[j + 2] == '1')) {
		for (j += 2; j < len && (in[j] == '0' || in[j] == '1'); j++)
			;
	} else {
		while (j < len && is_digit((unsigned char)in[j]))
			j++;
		if (j < len && in[j] == '.')
			for (j++; j < len && is_digit((unsigned char)in[j]); j++)
				;
		if (j < len && (in[j] | 0x20) == 'e') {
			size_t k = j + 1;

			if (k < len && (in[k] == '+' || in[k] == '-'))
				k++;
			if (k < len && is_digit((unsigned char)in[k]))
				for (j = k; j < len && is_digit((unsigned char)in[j]); j++)
					;
		}
	}
	if (j < len && is_word((unsigned char)in[j]))
		return 0;
	return j - i;
}

/* A word before a quote that makes the quoted text a literal: N'..',
 * X'..', B'..', _charset'..'. */
static bool is_introducer(const char *w, size_t n)
{
	char c = (char)(w[0] | 0x20);

	return (n == 1 && (c == 'n' || c == 'x' || c == 'b')) || (n > 1 && w[0] == '_');
}

uint32_t mysql_sql_normalize(const char *in, size_t len, char *out, size_t out_size)
{
	struct out o = { out, 0, out_size, false, false };
	bool in_exec = false, exec;
	size_t i = 0, n;

	if (!out_size)
		return 0;
	while (i < len && !o.cut) {
		unsigned char c = (unsigned char)in[i];

		if (is_space(c)) {
			o.space = true;
			i++;
		} else if ((n = comment_len(in, len, i, &exec))) {
			in_exec |= exec;
			o.space = true;
			i += n;
		} else if (in_exec && c == '*' && i + 1 < len && in[i + 1] == '/') {
			in_exec = false;
			o.space = true;
			i += 2;
		} else if (c == '\'' || c == '"') {
			put(&o, '?');
			i = quoted_end(in, len, i);
		} else if (c == '`') {
			size_t end = quoted_end(in, len, i);

			for (; i < end; i++)
				put(&o, is_space((unsigned char)in[i]) ? ' ' : in[i]);
		} else if ((is_digit(c) || (c == '.' && i + 1 < len && is_digit((unsigned char)in[i + 1]))) &&
			   (n = number_len(in, len, i))) {
			put(&o, '?');
			i += n;
		} else if (is_word(c)) {
			size_t s = i;

			while (i < len && is_word((unsigned char)in[i]))
				i++;
			if (i < len && in[i] == '\'' && is_introducer(in + s, i - s)) {
				put(&o, '?');
				i = quoted_end(in, len, i);
			} else {
				for (; s < i; s++)
					put(&o, in[s]);
			}
		} else {
			put(&o, (char)c);
			i++;
		}
	}
	out[o.n] = '\0';
	return o.cut ? ZT_F_TARGET_CUT : 0;
}

size_t mysql_sql_verb(const char *in, size_t len, char *out, size_t out_size)
{
	size_t i = 0, n = 0, c;
	bool exec;

	if (!out_size)
		return 0;
	while (i < len) {
		if (is_space((unsigned char)in[i]) || in[i] == '(')
			i++;
		else if ((c = comment_len(in, len, i, &exec)))
			i += c;
		else
			break;
	}
	while (i < len && n + 1 < out_size && (((in[i] | 0x20) >= 'a' && (in[i] | 0x20) <= 'z') || in[i] == '_')) {
		char ch = in[i++];

		out[n++] = ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch;
	}
	out[n] = '\0';
	return n;
}
