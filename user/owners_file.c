// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "owners.h"
#include "owners_file.h"
#include "utf8.h"

static const char *const field_key[ZT_OWNER_FIELDS] = { "team", "source", "pager" };

char *zt_owner_value(const char *s, size_t len)
{
	char *out, *tmp;
	size_t n = 0, in = 0;

	len = strnlen(s, len);
	if (!len)
		return NULL;
	/* A copy with a NUL, so that the UTF-8 check never reads past it. */
	tmp = malloc(len + 1);
	out = malloc((len < ZT_OWNER_VALUE_MAX ? len : ZT_OWNER_VALUE_MAX) + 1);
	if (!tmp || !out) {
		free(tmp);
		free(out);
		return NULL;
	}
	memcpy(tmp, s, len);
	tmp[len] = 0;
	while (in < len) {
		const unsigned char *p = (const unsigned char *)tmp + in;
		int cl = *p < 0x20 || *p == 0x7f ? 0 : zt_utf8_len(p);

		if (!cl) {
			if (n + 1 > ZT_OWNER_VALUE_MAX)
				break;
			out[n++] = '?';
			in++;
			continue;
		}
		if (n + cl > ZT_OWNER_VALUE_MAX)
			break;
		memcpy(out + n, p, cl);
		n += cl;
		in += cl;
	}
	free(tmp);
	out[n] = 0;
	return out;
}

static __attribute__((format(printf, 5, 6))) int
perr(char *err, size_t errlen, const char *name, int line, const char *fmt, ...)
{
	va_list ap;
	int off;

	if (!errlen)
		return -EINVAL;
	off = snprintf(err, errlen, "%s:%d: ", name, line);
	if (off >= 0 && (size_t)off < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + off, errlen - off, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * One token at *p: bare (up to a blank) or "quoted" (\" and \\), unquoted
 * into `out` (ZT_OWNERS_LINE_MAX bytes). Returns its length, or -1 for an
 * unterminated quote.
 */
static int token(const char **p, const char *end, char *out)
{
	const char *s = *p;
	int n = 0;

	while (s < end && !blank(*s)) {
		if (*s != '"') {
			out[n++] = *s++;
			continue;
		}
		for (s++;; s++) {
			if (s >= end)
				return -1;
			if (*s == '"')
				break;
			if (*s == '\\' && s + 1 < end && (s[1] == '"' || s[1] == '\\'))
				s++;
			out[n++] = *s;
		}
		s++;
	}
	out[n] = 0;
	*p = s;
	return n;
}

static int parse_line(const char *name, int lineno, const char *s, const char *end,
		      struct zt_owner_rules *out, char *err, size_t errlen)
{
	char tok[ZT_OWNERS_LINE_MAX + 1];
	struct zt_owner_rule r = { .line = lineno };
	int n, nvals = 0;

	if (end > s && end[-1] == '\r')
		end--;
	while (s < end && blank(*s))
		s++;
	if (s == end || *s == '#')
		return 0;
	if (out->n >= ZT_OWNERS_RULES_MAX)
		return perr(err, errlen, name, lineno, "more than %d rules", ZT_OWNERS_RULES_MAX);
	n = token(&s, end, tok);
	if (n < 0)
		return perr(err, errlen, name, lineno, "unterminated quote in the pattern");
	if (!n)
		return perr(err, errlen, name, lineno, "empty pattern");
	if (strchr(tok, '=') && !strchr(tok, '/') && !strchr(tok, '*'))
		return perr(err, errlen, name, lineno,
			    "'%.64s' is not a container pattern: a line is PATTERN key=value...", tok);
	r.on_path = strchr(tok, '/') != NULL;
	{
		const char *pat = tok;

		while (r.on_path && *pat == '/')
			pat++;
		if (!*pat)
			return perr(err, errlen, name, lineno, "'%.64s' is an empty cgroup path", tok);
		r.pattern = strdup(pat);
	}
	if (!r.pattern)
		goto nomem;
	for (;;) {
		const char *eq;
		int f;

		while (s < end && blank(*s))
			s++;
		if (s == end || *s == '#')
			break;
		for (eq = s; eq < end && *eq != '=' && !blank(*eq); eq++)
			;
		if (eq == end || *eq != '=') {
			perr(err, errlen, name, lineno, "'%.*s': expected key=value", (int)(eq - s > 64 ? 64 : eq - s), s);
			goto fail;
		}
		for (f = 0; f < ZT_OWNER_FIELDS; f++)
			if ((size_t)(eq - s) == strlen(field_key[f]) && !memcmp(s, field_key[f], eq - s))
				break;
		if (f == ZT_OWNER_FIELDS) {
			perr(err, errlen, name, lineno, "unknown key '%.*s' (team, source or pager)",
			     (int)(eq - s > 64 ? 64 : eq - s), s);
			goto fail;
		}
		if (r.val[f]) {
			perr(err, errlen, name, lineno, "%s= given twice", field_key[f]);
			goto fail;
		}
		s = eq + 1;
		n = token(&s, end, tok);
		if (n < 0) {
			perr(err, errlen, name, lineno, "unterminated quote in %s=", field_key[f]);
			goto fail;
		}
		if (!n) {
			perr(err, errlen, name, lineno, "empty value for %s=", field_key[f]);
			goto fail;
		}
		/* The line has no NUL: NULL here is out of memory. */
		r.val[f] = zt_owner_value(tok, n);
		if (!r.val[f])
			goto nomem;
		nvals++;
	}
	if (!nvals) {
		perr(err, errlen, name, lineno, "'%.64s' has no team=, source= or pager=", r.pattern);
		goto fail;
	}
	if (out->n == out->cap) {
		int cap = out->cap ? 2 * out->cap : 16;
		struct zt_owner_rule *nr = realloc(out->r, cap * sizeof(*nr));

		if (!nr)
			goto nomem;
		out->r = nr;
		out->cap = cap;
	}
	out->r[out->n++] = r;
	return 0;
nomem:
	perr(err, errlen, name, lineno, "out of memory");
fail:
	free(r.pattern);
	for (int f = 0; f < ZT_OWNER_FIELDS; f++)
		free(r.val[f]);
	return -EINVAL;
}

int zt_owner_rules_parse(const char *name, const char *text, size_t len,
			 struct zt_owner_rules *out, char *err, size_t errlen)
{
	const char *s = text, *end = text + len;
	int lineno = 0, ret;

	memset(out, 0, sizeof(*out));
	if (len > ZT_OWNERS_FILE_MAX)
		return perr(err, errlen, name, 0, "larger than %d bytes", ZT_OWNERS_FILE_MAX);
	while (s < end) {
		const char *nl = memchr(s, '\n', end - s), *le = nl ? nl : end;

		lineno++;
		if (le - s > ZT_OWNERS_LINE_MAX) {
			ret = perr(err, errlen, name, lineno, "line longer than %d bytes",
				   ZT_OWNERS_LINE_MAX);
			goto fail;
		}
		if (memchr(s, 0, le - s)) {
			ret = perr(err, errlen, name, lineno, "a NUL byte (not a text file?)");
			goto fail;
		}
		ret = parse_line(name, lineno, s, le, out, err, errlen);
		if (ret)
			goto fail;
		s = le + (nl ? 1 : 0);
	}
	return 0;
fail:
	zt_owner_rules_free(out);
	return ret;
}

int zt_owner_rules_load(const char *path, struct zt_owner_rules *out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	buf = malloc(ZT_OWNERS_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	/* One byte more than allowed tells a file past the bound. */
	n = fread(buf, 1, ZT_OWNERS_FILE_MAX + 1, f);
	if (ferror(f)) {
		ret = -EIO;
		snprintf(err, errlen, "%s: read error", path);
	} else {
		ret = zt_owner_rules_parse(path, buf, n, out, err, errlen);
	}
	fclose(f);
	free(buf);
	return ret;
}

void zt_owner_rules_free(struct zt_owner_rules *r)
{
	for (int i = 0; i < r->n; i++) {
		free(r->r[i].pattern);
		for (int f = 0; f < ZT_OWNER_FIELDS; f++)
			free(r->r[i].val[f]);
	}
	free(r->r);
	memset(r, 0, sizeof(*r));
}

static bool rule_matches(const struct zt_owner_rule *r, const char *container,
			 const char *runtime_name, const char *cgroup)
{
	if (r->on_path) {
		while (cgroup && *cgroup == '/')
			cgroup++;
		return cgroup && !fnmatch(r->pattern, cgroup, 0);
	}
	return (container && !fnmatch(r->pattern, container, 0)) ||
	       (runtime_name && !fnmatch(r->pattern, runtime_name, 0));
}

void zt_owner_rules_match(const struct zt_owner_rules *r, const char *container,
			  const char *runtime_name, const char *cgroup,
			  const char *val[ZT_OWNER_FIELDS])
{
	for (int i = 0; i < r->n; i++) {
		const struct zt_owner_rule *rule = &r->r[i];
		bool wanted = false;

		for (int f = 0; f < ZT_OWNER_FIELDS; f++)
			wanted |= !val[f] && rule->val[f];
		if (!wanted || !rule_matches(rule, container, runtime_name, cgroup))
			continue;
		for (int f = 0; f < ZT_OWNER_FIELDS; f++)
			if (!val[f])
				val[f] = rule->val[f];
	}
}
