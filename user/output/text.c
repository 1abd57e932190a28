// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The default view: what an SRE reads at a glance, fitting 100 columns. */
#include <stdarg.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../flags.h"
#include "output.h"

void zt_text_header(struct zt_outbuf *o)
{
	zt_outbuf_printf(o, "%-12s %-14s %-6s %9s %3s %-7s %-24s %-21s %s\n", "TIME(UTC)",
			 "CONTAINER", "KIND", "MS", "ST", "METHOD", "TARGET", "PEER", "FLAGS");
}

/* Printable ASCII only: targets come from the wire, the terminal must not
 * receive escape sequences from a hostile peer. */
static void sanitize(char *dst, const char *src, size_t size)
{
	size_t i;

	for (i = 0; i + 1 < size && src[i]; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

/* printf's %-W.Ms (right: %W.Ms), then the separating space. */
static void put_col(struct zt_outbuf *o, const char *str, size_t width, size_t max, bool right)
{
	static const char spaces[] = "                        ";
	size_t n = strnlen(str, max), pad = n < width ? width - n : 0;

	if (right)
		zt_outbuf_put(o, spaces, pad);
	zt_outbuf_put(o, str, n);
	if (!right)
		zt_outbuf_put(o, spaces, pad);
	zt_outbuf_lit(o, " ");
}

/* %9.3f of milliseconds: microseconds rounded, a decimal point put in. */
static void put_ms(struct zt_outbuf *o, uint64_t ns)
{
	uint64_t us = (ns + 500) / 1000;
	char tmp[32], *p = tmp + sizeof(tmp);

	*--p = '\0';
	for (int i = 0; i < 3; i++, us /= 10)
		*--p = (char)('0' + us % 10);
	*--p = '.';
	put_col(o, zt_u64_digits(p, us), 9, SIZE_MAX, true);
}

/* %3d */
static void put_status(struct zt_outbuf *o, int status)
{
	char tmp[16], *p = tmp + sizeof(tmp);
	unsigned v = status < 0 ? -(unsigned)status : (unsigned)status;

	*--p = '\0';
	p = zt_u64_digits(p, v);
	if (status < 0)
		*--p = '-';
	put_col(o, p, 3, SIZE_MAX, true);
}

/* Appends "<key><val>," to the flags column at *fl, cut to fit. */
static void flag_cat(char *buf, size_t size, int *fl, const char *key, const char *val)
{
	size_t k = strlen(key), v = strlen(val), at = (size_t)*fl;

	if (at + k + v + 2 > size)
		return;
	memcpy(buf + at, key, k);
	memcpy(buf + at + k, val, v);
	buf[at + k + v] = ',';
	buf[at + k + v + 1] = '\0';
	*fl = (int)(at + k + v + 1);
}

void zt_text_span(struct zt_outbuf *o, const struct zt_span *s)
{
	char ts[40], target[ZT_TXN_TARGET_MAX], method[ZT_TXN_OP_MAX], flags[192];
	size_t tl;
	int fl;

	zt_format_iso8601(s->start_ns + s->duration_ns, ts, sizeof(ts));
	sanitize(target, s->target, sizeof(target));
	sanitize(method, s->method, sizeof(method));
	/* Keep the line aligned: a long target keeps its tail, where ids live. */
	tl = strlen(target);
	if (tl > 24) {
		memmove(target + 1, target + tl - 23, 24);
		target[0] = '~';
	}
	/* The protocol (when not HTTP/1), TLS and a protocol's error are not
	 * data-quality marks, but where a reader looks for marks. */
	fl = 0;
	flags[0] = '\0';
	if (strcmp(s->protocol, "http"))
		flag_cat(flags, sizeof(flags), &fl, "", s->protocol);
	if (s->tls)
		flag_cat(flags, sizeof(flags), &fl, "", "tls");
	if (s->error[0]) {
		char err[ZT_TXN_ERROR_MAX];

		sanitize(err, s->error, sizeof(err));
		flag_cat(flags, sizeof(flags), &fl, "err=", err);
	}
	if (s->cause)
		flag_cat(flags, sizeof(flags), &fl, "cause=", s->cause);
	if (s->flags && fl < (int)sizeof(flags))
		fl += zt_flags_format(s->flags, flags + fl, sizeof(flags) - fl);
	else if (fl > 0 && fl < (int)sizeof(flags))
		flags[--fl] = '\0';
	/* The line of zt_text_header, field by field: printf's parsing and
	 * its floating point were a quarter of ztrace's time per span. */
	put_col(o, ts + 11, 12, 12, false);
	put_col(o, s->container ? s->container : "?", 14, 14, false);
	put_col(o, s->kind == ZT_SPAN_SERVER ? "server" : "client", 6, 6, false);
	put_ms(o, s->duration_ns);
	put_status(o, s->status);
	put_col(o, method, 7, 7, false);
	put_col(o, target, 24, SIZE_MAX, false);
	put_col(o, s->peer, 21, SIZE_MAX, false);
	zt_outbuf_puts(o, flags);
	zt_outbuf_lit(o, "\n");
}

/* snprintf that appends at *off and never runs past size. */
__attribute__((format(printf, 4, 5)))
static void cat(char *buf, size_t size, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, size - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off = *off + n < size ? *off + n : size - 1;
}

size_t zt_text_timing(const struct zt_span *s, char *buf, size_t size)
{
	const struct zt_span_bd *b = &s->bd;
	size_t off = 0;

	if (!size)
		return 0;
	buf[0] = '\0';
	if (s->cause)
		cat(buf, size, &off, "  %s", s->cause);
	if (b->has && b->sched == ZT_BD_SCHED_OK)
		cat(buf, size, &off, " [cpu %.1f runq %.1f deps %.1f net %.1f io %.1f]",
		    b->cpu_ns / 1e6, b->runq_ns / 1e6, b->deps_ns / 1e6, b->net_ns / 1e6,
		    b->io_ns / 1e6);
	else if (b->has)
		cat(buf, size, &off, " [deps %.1f net %.1f rest %.1f]", b->deps_ns / 1e6,
		    b->net_ns / 1e6, b->io_ns / 1e6);
	if (s->phases.has) {
		cat(buf, size, &off, " [");
		if (s->phases.has_connect)
			cat(buf, size, &off, "connect %.1f ", s->phases.connect_ns / 1e6);
		if (s->phases.has_tls)
			cat(buf, size, &off, "tls %.1f ", s->phases.tls_ns / 1e6);
		cat(buf, size, &off, "ttfb %.1f download %.1f]", s->phases.ttfb_ns / 1e6,
		    s->phases.download_ns / 1e6);
	}
	if (s->has_accept_wait)
		cat(buf, size, &off, " [accept %.1f]", s->accept_wait_ns / 1e6);
	return off;
}

void zt_text_trace(struct zt_outbuf *o, const struct zt_tree *tr)
{
	const struct zt_trace_out *t = tr->t;
	char verdict[1024], clean[1024];
	static const char hex[] = "0123456789abcdef";
	char id[33];

	if (t->n <= 0)
		return;
	for (int i = 0; i < 16; i++) {
		id[2 * i] = hex[t->spans[0]->trace_id[i] >> 4];
		id[2 * i + 1] = hex[t->spans[0]->trace_id[i] & 15];
	}
	id[32] = '\0';
	zt_tree_verdict(tr, verdict, sizeof(verdict));
	sanitize(clean, verdict, sizeof(clean));
	zt_outbuf_printf(o, "trace %s  %s\n", id, clean);
	for (int i = 0; i < t->n; i++) {
		const struct zt_span *s = t->spans[i];
		char target[ZT_TXN_TARGET_MAX], method[ZT_TXN_OP_MAX], cont[64];
		int d = tr->depth[i] > 8 ? 8 : tr->depth[i];

		sanitize(target, s->target, sizeof(target));
		sanitize(method, s->method, sizeof(method));
		sanitize(cont, s->container ? s->container : "?", sizeof(cont));
		/* Depth eats into the target, so the numbers stay in columns
		 * (the line fits 100 columns up to depth 8). */
		int tw = 24 - 2 * d < 8 ? 8 : 24 - 2 * d;

		zt_outbuf_printf(o, "%c %*s%-14.14s %-6s %-7.7s %-*.*s %9.3f ms  self %9.3f ms  %3d",
				 tr->on_cp[i] ? '*' : ' ', 2 * d, "", cont,
				 s->kind == ZT_SPAN_SERVER ? "server" : "client", method, tw, tw,
				 target, s->duration_ns / 1e6, tr->self_ns[i] / 1e6, s->status);
		{
			char timing[ZT_TEXT_TIMING_MAX];

			zt_text_timing(s, timing, sizeof(timing));
			zt_outbuf_puts(o, timing);
		}
		zt_outbuf_puts(o, "\n");
	}
}
