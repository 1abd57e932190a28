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
	return snprintf(buf, size, "%s.%06uZ", prefix, (unsigned)(unix_ns % 1000000000ULL / 1000));
}

void zt_json_string(struct zt_outbuf *o, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	zt_outbuf_put(o, "\"", 1);
	while (*s) {
		const unsigned char *run = s;

		while (*s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\')
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
				zt_outbuf_puts(o, "\\ufffd");
				s++;
			}
		}
	}
	zt_outbuf_put(o, "\"", 1);
}

static void put_hex(struct zt_outbuf *o, const uint8_t *b, int n)
{
	static const char hex[] = "0123456789abcdef";
	char *p = zt_outbuf_room(o, 2 * n + 2);

	*p++ = '"';
	for (int i = 0; i < n; i++) {
		*p++ = hex[b[i] >> 4];
		*p++ = hex[b[i] & 15];
	}
	*p++ = '"';
	o->len += 2 * n + 2;
}

static void put_key(struct zt_outbuf *o, const char *key)
{
	zt_outbuf_puts(o, key);
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
	zt_outbuf_puts(o, ",\"owner\":{");
	for (int i = 0; i < 3; i++) {
		if (!val[i])
			continue;
		zt_outbuf_printf(o, "%s\"%s\":", first ? "" : ",", key[i]);
		zt_json_string(o, val[i]);
		first = false;
	}
	zt_outbuf_puts(o, "}");
}

void zt_json_span(struct zt_outbuf *o, const struct zt_span *s)
{
	char ts[40];

	zt_format_iso8601(s->start_ns + s->duration_ns, ts, sizeof(ts));
	zt_outbuf_printf(o, "{\"ts\":\"%s\",\"start_ns\":%" PRIu64 ",\"duration_ns\":%" PRIu64
			 ",\"kind\":\"%s\",\"protocol\":\"%s\",\"method\":",
			 ts, s->start_ns, s->duration_ns,
			 s->kind == ZT_SPAN_SERVER ? "server" : "client", s->protocol);
	zt_json_string(o, s->method);
	put_key(o, ",\"target\":");
	zt_json_string(o, s->target);
	zt_outbuf_printf(o, ",\"status\":%d,\"failed\":%s,\"error\":", s->status,
			 s->failed ? "true" : "false");
	zt_json_string(o, s->error);
	if (s->stream)
		zt_outbuf_printf(o, ",\"stream\":%u", s->stream);
	zt_outbuf_printf(o, ",\"tls\":%s,\"cgroup_id\":%" PRIu64 ",\"cgroup\":",
			 s->tls ? "true" : "false", s->cgroup_id);
	zt_json_string(o, s->cgroup ? s->cgroup : "");
	put_key(o, ",\"container\":");
	zt_json_string(o, s->container ? s->container : "");
	put_owner(o, s->owner);
	zt_outbuf_printf(o, ",\"pid\":%u,\"tid\":%u,\"comm\":", s->pid, s->tid);
	zt_json_string(o, s->comm);
	zt_outbuf_printf(o, ",\"local\":\"%s\",\"peer\":\"%s\",\"bytes_in\":%" PRIu64
			 ",\"bytes_out\":%" PRIu64 ",\"trace_id\":",
			 s->local, s->peer, s->bytes_in, s->bytes_out);
	put_hex(o, s->trace_id, 16);
	put_key(o, ",\"span_id\":");
	put_hex(o, s->span_id, 8);
	put_key(o, ",\"parent_span_id\":");
	if (s->has_parent)
		put_hex(o, s->parent_span_id, 8);
	else
		zt_outbuf_puts(o, "\"\"");
	if (s->no_parent && !s->has_parent)
		zt_outbuf_printf(o, ",\"no_parent\":\"%s\"", s->no_parent);
	put_key(o, ",\"flags\":[");
	for (uint32_t bit = 1, first = 1; bit; bit <<= 1) {
		const char *name;

		if (!(s->flags & bit) || !(name = zt_flag_name(bit)))
			continue;
		zt_outbuf_printf(o, "%s\"%s\"", first ? "" : ",", name);
		first = 0;
	}
	zt_outbuf_puts(o, "]}\n");
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
	zt_outbuf_puts(o, "}\n");
}
