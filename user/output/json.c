// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../flags.h"
#include "../utf8.h"
#include "output.h"

int zt_format_iso8601(uint64_t unix_ns, char *buf, int size)
{
	/* One gmtime per second, not per span. */
	static __thread time_t last_sec = -1;
	static __thread char prefix[32];
	time_t sec = (time_t)(unix_ns / 1000000000ULL);

	if (sec != last_sec) {
		struct tm tm;

		gmtime_r(&sec, &tm);
		strftime(prefix, sizeof(prefix), "%Y-%m-%dT%H:%M:%S", &tm);
		last_sec = sec;
	}
	/* The microseconds by hand: this runs once per span. */
	size_t n = strlen(prefix);
	unsigned us = (unsigned)(unix_ns % 1000000000ULL / 1000);

	if (size < (int)n + 9)
		return snprintf(buf, size, "%s.%06uZ", prefix, us);
	memcpy(buf, prefix, n);
	buf[n] = '.';
	for (int i = 6; i >= 1; i--, us /= 10)
		buf[n + i] = (char)('0' + us % 10);
	buf[n + 7] = 'Z';
	buf[n + 8] = '\0';
	return (int)n + 8;
}

/* Bytes a JSON string carries as they are: printable ASCII but '"' (0x22)
 * and '\\' (0x5c). A table: one load a byte where four comparisons were
 * ~5% of a span's instructions. */
static const bool json_plain_tab[256] = {
	[0x20 ... 0x21] = true, [0x23 ... 0x5b] = true, [0x5d ... 0x7f] = true,
};

static inline bool json_plain(unsigned char c)
{
	return json_plain_tab[c];
}

/* The rest of a JSON string from s on, its opening quote written. */
static void json_string_rest(struct zt_outbuf *o, const unsigned char *s)
{
	while (*s) {
		const unsigned char *run = s;

		while (json_plain(*s))
			s++;
		zt_outbuf_put(o, (const char *)run, s - run);
		if (!*s)
			break;
		if (*s == '"' || *s == '\\') {
			char esc[2] = { '\\', (char)*s };

			zt_outbuf_put(o, esc, 2);
			s++;
		} else if (*s < 0x20) {
			zt_outbuf_printf(o, "\\u%04x", *s);
			s++;
		} else {
			int n = zt_utf8_len(s);

			if (n) {
				zt_outbuf_put(o, (const char *)s, n);
				s += n;
			} else {
				zt_outbuf_lit(o, "\\ufffd");
				s++;
			}
		}
	}
	zt_outbuf_lit(o, "\"");
}

void zt_json_string(struct zt_outbuf *o, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	/* One byte short of the end: the closing quote always fits. */
	char *p = o->buf + o->len, *end = o->buf + o->cap - 1;

	/* The common case, a short plain string with room for it, byte by
	 * byte into the buffer: a dozen strings per span, and a memcpy call
	 * per run cost more than the bytes. */
	if (p < end) {
		*p++ = '"';
		while (p < end && json_plain(*s))
			*p++ = (char)*s++;
		if (!*s) {
			*p++ = '"';
			o->len = p - o->buf;
			return;
		}
		o->len = p - o->buf;
	} else {
		zt_outbuf_lit(o, "\"");
	}
	json_string_rest(o, s);
}

/* An id (n <= 16 bytes) as a quoted hex string. */
static void put_hex(struct zt_outbuf *o, const uint8_t *b, int n)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[2 * 16 + 2], *p = tmp;

	*p++ = '"';
	for (int i = 0; i < n && i < 16; i++) {
		*p++ = hex[b[i] >> 4];
		*p++ = hex[b[i] & 15];
	}
	*p++ = '"';
	/* Through the stack: a buffer smaller than an id still takes it. */
	zt_outbuf_put(o, tmp, p - tmp);
}

/* `lit` (a literal: a key and what comes before its value), then the value. */
static inline void put_u64(struct zt_outbuf *o, const char *lit, size_t n, uint64_t v)
{
	zt_outbuf_put(o, lit, n);
	zt_outbuf_u64(o, v);
}
#define PUT_U64(o, lit, v) put_u64((o), "" lit, sizeof(lit) - 1, (v))

static void put_bool(struct zt_outbuf *o, bool v)
{
	if (v)
		zt_outbuf_lit(o, "true");
	else
		zt_outbuf_lit(o, "false");
}

/* Where the time went (breakdown.h): only the figures that are known. */
static void json_timing(struct zt_outbuf *o, const struct zt_span *s)
{
	static const char *const sched[] = { "ok", "none", "handoff" };
	const struct zt_span_bd *b = &s->bd;

	if (s->cause) {
		zt_outbuf_lit(o, ",\"cause\":");
		zt_json_string(o, s->cause);
	}
	if (b->has) {
		zt_outbuf_lit(o, ",\"breakdown\":{");
		if (b->sched == ZT_BD_SCHED_OK) {
			PUT_U64(o, "\"cpu_ns\":", b->cpu_ns);
			PUT_U64(o, ",\"runq_ns\":", b->runq_ns);
			PUT_U64(o, ",\"deps_ns\":", b->deps_ns);
			PUT_U64(o, ",\"net_ns\":", b->net_ns);
			PUT_U64(o, ",\"io_ns\":", b->io_ns);
		} else {
			PUT_U64(o, "\"deps_ns\":", b->deps_ns);
			PUT_U64(o, ",\"net_ns\":", b->net_ns);
			PUT_U64(o, ",\"rest_ns\":", b->io_ns);
		}
		zt_outbuf_lit(o, ",\"sched\":");
		zt_json_string(o, sched[b->sched % 3]);
		zt_outbuf_lit(o, "}");
	}
	if (b->has || b->has_net) {
		zt_outbuf_lit(o, ",\"net\":{");
		if (b->has_net) {
			PUT_U64(o, "\"srtt_us\":", b->srtt_us);
			PUT_U64(o, ",\"retrans\":", b->retrans);
			if (b->has)
				zt_outbuf_lit(o, ",");
		}
		if (b->has) {
			PUT_U64(o, "\"recv_ns\":", b->recv_ns);
			PUT_U64(o, ",\"send_ns\":", b->send_ns);
		}
		zt_outbuf_lit(o, "}");
	}
	if (s->has_accept_wait)
		PUT_U64(o, ",\"accept_wait_ns\":", s->accept_wait_ns);
	if (s->phases.has) {
		zt_outbuf_lit(o, ",\"phases\":{");
		if (s->phases.has_connect)
			PUT_U64(o, "\"connect_ns\":", s->phases.connect_ns), zt_outbuf_lit(o, ",");
		if (s->phases.has_tls)
			PUT_U64(o, "\"tls_ns\":", s->phases.tls_ns), zt_outbuf_lit(o, ",");
		PUT_U64(o, "\"ttfb_ns\":", s->phases.ttfb_ns);
		PUT_U64(o, ",\"download_ns\":", s->phases.download_ns);
		zt_outbuf_lit(o, "}");
	}
}

/* "owner":{"team":...,"source":...,"pager":...} with the fields known;
 * nothing when none is. */
static void put_owner(struct zt_outbuf *o, const struct zt_owner *ow)
{
	const char *key[3] = { "team", "source", "pager" };
	const char *val[3];
	bool first = true;

	if (!ow || (!ow->team && !ow->source && !ow->pager))
		return;
	val[0] = ow->team, val[1] = ow->source, val[2] = ow->pager;
	zt_outbuf_lit(o, ",\"owner\":{");
	for (int i = 0; i < 3; i++) {
		if (!val[i])
			continue;
		if (!first)
			zt_outbuf_lit(o, ",");
		zt_json_string(o, key[i]);
		zt_outbuf_lit(o, ":");
		zt_json_string(o, val[i]);
		first = false;
	}
	zt_outbuf_lit(o, "}");
}

void zt_json_span(struct zt_outbuf *o, const struct zt_span *s)
{
	char ts[40];
	int n = zt_format_iso8601(s->start_ns + s->duration_ns, ts, sizeof(ts));

	zt_outbuf_lit(o, "{\"ts\":\"");
	zt_outbuf_put(o, ts, n < (int)sizeof(ts) ? (size_t)n : strlen(ts));
	PUT_U64(o, "\",\"start_ns\":", s->start_ns);
	PUT_U64(o, ",\"duration_ns\":", s->duration_ns);
	if (s->kind == ZT_SPAN_SERVER)
		zt_outbuf_lit(o, ",\"kind\":\"server\",\"protocol\":");
	else
		zt_outbuf_lit(o, ",\"kind\":\"client\",\"protocol\":");
	zt_json_string(o, s->protocol);
	zt_outbuf_lit(o, ",\"method\":");
	zt_json_string(o, s->method);
	zt_outbuf_lit(o, ",\"target\":");
	zt_json_string(o, s->target);
	zt_outbuf_lit(o, ",\"status\":");
	zt_outbuf_i64(o, s->status);
	zt_outbuf_lit(o, ",\"failed\":");
	put_bool(o, s->failed);
	zt_outbuf_lit(o, ",\"error\":");
	zt_json_string(o, s->error);
	if (s->stream)
		PUT_U64(o, ",\"stream\":", s->stream);
	zt_outbuf_lit(o, ",\"tls\":");
	put_bool(o, s->tls);
	PUT_U64(o, ",\"cgroup_id\":", s->cgroup_id);
	zt_outbuf_lit(o, ",\"cgroup\":");
	zt_json_string(o, s->cgroup ? s->cgroup : "");
	zt_outbuf_lit(o, ",\"container\":");
	zt_json_string(o, s->container ? s->container : "");
	put_owner(o, s->owner);
	PUT_U64(o, ",\"pid\":", s->pid);
	PUT_U64(o, ",\"tid\":", s->tid);
	zt_outbuf_lit(o, ",\"comm\":");
	zt_json_string(o, s->comm);
	zt_outbuf_lit(o, ",\"local\":");
	zt_json_string(o, s->local);
	zt_outbuf_lit(o, ",\"peer\":");
	zt_json_string(o, s->peer);
	PUT_U64(o, ",\"bytes_in\":", s->bytes_in);
	PUT_U64(o, ",\"bytes_out\":", s->bytes_out);
	zt_outbuf_lit(o, ",\"trace_id\":");
	put_hex(o, s->trace_id, 16);
	zt_outbuf_lit(o, ",\"span_id\":");
	put_hex(o, s->span_id, 8);
	zt_outbuf_lit(o, ",\"parent_span_id\":");
	if (s->has_parent)
		put_hex(o, s->parent_span_id, 8);
	else
		zt_outbuf_lit(o, "\"\"");
	if (s->no_parent && !s->has_parent) {
		zt_outbuf_lit(o, ",\"no_parent\":");
		zt_json_string(o, s->no_parent);
	}
	zt_outbuf_lit(o, ",\"flags\":[");
	/* The set bits only, lowest first: most spans have none. */
	for (uint32_t left = s->flags, first = 1; left; left &= left - 1) {
		const char *name = zt_flag_name(left & -left);

		if (!name)
			continue;
		if (!first)
			zt_outbuf_lit(o, ",");
		zt_json_string(o, name);
		first = 0;
	}
	zt_outbuf_lit(o, "]");
	json_timing(o, s);
	zt_outbuf_lit(o, "}\n");
}

void zt_json_trace(struct zt_outbuf *o, const struct zt_tree *tr)
{
	const struct zt_trace_out *t = tr->t;
	char verdict[1024];

	if (t->n <= 0)
		return;
	zt_outbuf_puts(o, "{\"type\":\"trace\",\"trace_id\":");
	put_hex(o, t->spans[0]->trace_id, 16);
	zt_outbuf_printf(o, ",\"duration_ns\":%" PRIu64 ",\"spans\":[", tr->duration_ns);
	for (int i = 0; i < t->n; i++) {
		if (i)
			zt_outbuf_puts(o, ",");
		put_hex(o, t->spans[i]->span_id, 8);
	}
	zt_outbuf_puts(o, "],\"self_ns\":[");
	for (int i = 0; i < t->n; i++)
		zt_outbuf_printf(o, "%s%" PRIu64, i ? "," : "", tr->self_ns[i]);
	zt_outbuf_puts(o, "],\"critical_path\":[");
	for (int k = 0; k < tr->ncp; k++) {
		if (k)
			zt_outbuf_puts(o, ",");
		put_hex(o, t->spans[tr->cp[k]]->span_id, 8);
	}
	zt_outbuf_puts(o, "],\"by_container\":{");
	for (int b = 0; b < tr->nby; b++) {
		if (b)
			zt_outbuf_puts(o, ",");
		zt_json_string(o, tr->by[b].container);
		zt_outbuf_printf(o, ":%" PRIu64, tr->by[b].ns);
	}
	zt_tree_verdict(tr, verdict, sizeof(verdict));
	zt_outbuf_puts(o, "},\"verdict\":");
	zt_json_string(o, verdict);
	zt_outbuf_lit(o, "}\n");
}
