// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../output/output.h"
#include "render.h"

void zl_buf_free(struct zl_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static bool reserve(struct zl_buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 16384;
	char *p;

	if (b->oom)
		return false;
	if (b->len + n + 1 <= b->cap)
		return true;
	while (cap < b->len + n + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void zl_buf_printf(struct zl_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!reserve(b, 256))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		if (!reserve(b, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

static void put(struct zl_buf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct zl_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

void zl_buf_html(struct zl_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': puts_(b, "&amp;"); break;
		case '<': puts_(b, "&lt;"); break;
		case '>': puts_(b, "&gt;"); break;
		case '"': puts_(b, "&quot;"); break;
		case '\'': puts_(b, "&#39;"); break;
		default:
			if ((unsigned char)*s < 0x20 && *s != '\n')
				puts_(b, "?");
			else
				put(b, s, 1);
		}
	}
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void label(struct zl_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			puts_(b, "\\");
		if (*s == '\n')
			puts_(b, "\\n");
		else
			put(b, s, 1);
	}
}

static void hex_id(const uint8_t *id, int n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < n; i++) {
		out[2 * i] = hex[id[i] >> 4];
		out[2 * i + 1] = hex[id[i] & 15];
	}
	out[2 * n] = '\0';
}

/* "870 ns", "12.3 us", "4.5 ms", "2.1 s" */
static void human_ns(uint64_t ns, char *out, int size)
{
	if (ns < 1000)
		snprintf(out, size, "%llu ns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(out, size, "%.3g us", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(out, size, "%.3g ms", ns / 1e6);
	else
		snprintf(out, size, "%.3g s", ns / 1e9);
}

static const char *const bucket_names[ZL_BUCKETS] = {
	"&lt;10us", "10us-100us", "100us-1ms", "1ms-10ms", "10ms-100ms", "100ms-1s", "1s-10s",
	"10s-100s", "&gt;=100s",
};

static const char style[] =
	"<style>body{font:13px/1.35 sans-serif;margin:1em}table{border-collapse:collapse;"
	"margin-bottom:1.2em}th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}"
	"th{background:#eee}td.l,th.l{text-align:left}td.err{color:#b00;font-weight:bold}"
	"td.z{color:#bbb}pre{background:#f6f6f6;padding:.6em}h2{margin:.8em 0 .3em}"
	".hang{background:#fff3cd}</style>";

static void head(struct zl_buf *b, const char *title, const struct zl_agg *a)
{
	char up[32];

	human_ns(a->now_unix_ns > a->start_unix_ns ? a->now_unix_ns - a->start_unix_ns : 0, up,
		 sizeof(up));
	zl_buf_printf(b, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>ztrace %s</title>"
		      "%s</head><body><p><a href=\"/tracez\">/tracez</a> | <a href=\"/servicez\">"
		      "/servicez</a> | <a href=\"/metrics\">/metrics</a> &mdash; up %s, %llu spans, "
		      "%llu traces; reload to refresh</p><h1>%s</h1>", title, style, up,
		      (unsigned long long)a->spans, (unsigned long long)a->traces, title);
}

static void owner_cell(struct zl_buf *b, const struct zl_agg *a, const char *container)
{
	const struct zl_container *c = zl_agg_container(a, container);

	zl_buf_printf(b, "<td class=\"l\">");
	if (!c || (!c->team[0] && !c->pager[0] && !c->source[0])) {
		zl_buf_printf(b, "-</td>");
		return;
	}
	zl_buf_html(b, c->team[0] ? c->team : "?");
	if (c->pager[0]) {
		zl_buf_printf(b, " (page ");
		zl_buf_html(b, c->pager);
		zl_buf_printf(b, ")");
	}
	/* Only web links: a javascript: URL in an owners file stays text. */
	if (!strncmp(c->source, "https://", 8) || !strncmp(c->source, "http://", 7)) {
		zl_buf_printf(b, " <a href=\"");
		zl_buf_html(b, c->source);
		zl_buf_printf(b, "\">source</a>");
	} else if (c->source[0]) {
		zl_buf_printf(b, " ");
		zl_buf_html(b, c->source);
	}
	zl_buf_printf(b, "</td>");
}

static void text_cell(struct zl_buf *b, const char *s)
{
	zl_buf_printf(b, "<td class=\"l\">");
	zl_buf_html(b, s);
	zl_buf_printf(b, "</td>");
}

static void inflight(struct zl_buf *b, const struct zl_agg *a)
{
	zl_buf_printf(b, "<h2>Requests in flight: %d%s</h2>", a->ninflight,
		      a->inflight_more ? " (more not listed)" : "");
	if (!a->ninflight)
		return;
	zl_buf_printf(b, "<table><tr><th class=\"l\">container</th><th class=\"l\">owner</th>"
		      "<th class=\"l\">kind</th><th class=\"l\">protocol</th><th class=\"l\">request</th>"
		      "<th class=\"l\">peer</th><th>age</th></tr>");
	for (int i = 0; i < a->ninflight; i++) {
		const struct zl_inflight *f = &a->inflight[i];
		char age[32], req[sizeof(f->method) + sizeof(f->target) + 2];

		human_ns(a->now_mono_ns > f->start_mono_ns ? a->now_mono_ns - f->start_mono_ns : 0,
			 age, sizeof(age));
		snprintf(req, sizeof(req), "%s%s%s", f->method, f->method[0] ? " " : "", f->target);
		zl_buf_printf(b, "<tr class=\"hang\">");
		text_cell(b, f->container);
		owner_cell(b, a, f->container);
		text_cell(b, f->kind == ZT_SPAN_SERVER ? "server" : "client");
		text_cell(b, f->protocol);
		text_cell(b, req[0] ? req : "(not parsed yet)");
		text_cell(b, f->peer);
		zl_buf_printf(b, "<td>%s</td></tr>", age);
	}
	zl_buf_printf(b, "</table>");
}

static int cells_total(const struct zl_agg *a)
{
	return a->ncells + (a->cells_overflow ? 1 : 0);
}

static const struct zl_cell *cell_at(const struct zl_agg *a, int i)
{
	return i < a->ncells ? &a->cells[i] : &a->cells[ZL_CELLS_MAX];
}

static void samples_of(struct zl_buf *b, const struct zl_agg *a, int ci)
{
	const struct zl_cell *c = cell_at(a, ci);

	zl_buf_printf(b, "<h3 id=\"c%d\">", ci);
	zl_buf_html(b, c->container);
	zl_buf_printf(b, " %s %s ", c->kind == ZT_SPAN_SERVER ? "server" : "client", c->protocol);
	zl_buf_html(b, c->op);
	zl_buf_printf(b, "</h3><table><tr><th class=\"l\">bucket</th><th class=\"l\">started (UTC)"
		      "</th><th>duration</th><th>status</th><th class=\"l\">peer</th>"
		      "<th class=\"l\">trace</th></tr>");
	for (int row = 0; row <= ZL_BUCKETS; row++) {
		for (int k = 0; k < ZL_SAMPLES; k++) {
			const struct zl_sample *x = &c->samples[row][k];
			char ts[40], dur[32], id[33];

			if (!x->used)
				continue;
			zt_format_iso8601(x->start_ns, ts, sizeof(ts));
			human_ns(x->duration_ns, dur, sizeof(dur));
			hex_id(x->trace_id, 16, id);
			zl_buf_printf(b, "<tr id=\"c%db%d\"><td class=\"l%s\">%s</td><td class=\"l\">%s"
				      "</td><td>%s</td><td%s>%d", ci, row,
				      row == ZL_BUCKETS ? " err" : "",
				      row == ZL_BUCKETS ? "error" : bucket_names[row], ts, dur,
				      x->failed ? " class=\"err\"" : "", x->status);
			if (x->error[0]) {
				zl_buf_printf(b, " ");
				zl_buf_html(b, x->error);
			}
			zl_buf_printf(b, "</td>");
			text_cell(b, x->peer);
			zl_buf_printf(b, "<td class=\"l\"><a href=\"/trace?id=%s\">%s</a>%s</td></tr>",
				      id, id, zl_agg_tree(a, x->trace_id) ? "" : " (tree no longer kept)");
		}
	}
	zl_buf_printf(b, "</table>");
}

void zl_render_tracez(struct zl_buf *b, const struct zl_agg *a)
{
	head(b, "tracez", a);
	inflight(b, a);
	zl_buf_printf(b, "<h2>Requests by container and operation</h2><p>Counts per latency bucket "
		      "since start; a count links to its sampled spans (the latest, one a second per "
		      "bucket at most), each to its trace tree.%s</p>",
		      a->cells_overflow ? " Rows beyond the bound are counted in _overflow." : "");
	zl_buf_printf(b, "<table><tr><th class=\"l\">container</th><th class=\"l\">owner</th>"
		      "<th class=\"l\">kind</th><th class=\"l\">protocol</th>"
		      "<th class=\"l\">operation</th>");
	for (int i = 0; i < ZL_BUCKETS; i++)
		zl_buf_printf(b, "<th>%s</th>", bucket_names[i]);
	zl_buf_printf(b, "<th>errors</th><th>total</th></tr>");
	for (int ci = 0; ci < cells_total(a); ci++) {
		const struct zl_cell *c = cell_at(a, ci);

		zl_buf_printf(b, "<tr>");
		text_cell(b, c->container);
		owner_cell(b, a, c->container);
		text_cell(b, c->kind == ZT_SPAN_SERVER ? "server" : "client");
		text_cell(b, c->protocol);
		text_cell(b, c->op);
		for (int i = 0; i < ZL_BUCKETS; i++) {
			if (!c->buckets[i])
				zl_buf_printf(b, "<td class=\"z\">0</td>");
			else
				zl_buf_printf(b, "<td><a href=\"#c%db%d\">%llu</a></td>", ci, i,
					      (unsigned long long)c->buckets[i]);
		}
		if (c->errors)
			zl_buf_printf(b, "<td class=\"err\"><a href=\"#c%db%d\">%llu</a></td>", ci,
				      ZL_BUCKETS, (unsigned long long)c->errors);
		else
			zl_buf_printf(b, "<td class=\"z\">0</td>");
		zl_buf_printf(b, "<td>%llu</td></tr>", (unsigned long long)c->count);
	}
	zl_buf_printf(b, "</table><h2>Sampled spans</h2>");
	for (int ci = 0; ci < cells_total(a); ci++)
		samples_of(b, a, ci);
	zl_buf_printf(b, "</body></html>\n");
}

void zl_render_servicez(struct zl_buf *b, const struct zl_agg *a)
{
	uint64_t up_s = (a->now_unix_ns - a->start_unix_ns) / 1000000000ULL;
	double window = up_s < ZL_WIN * ZL_WIN_S ? (up_s ? (double)up_s : 1.0) : ZL_WIN * ZL_WIN_S;

	head(b, "servicez", a);
	zl_buf_printf(b, "<p>Who calls whom, seen on this host: rate, error rate and p99 over the last "
		      "minute (p99 is the upper bound of its histogram bucket); totals since start. "
		      "A caller or callee that is not a traced container is its address.</p>");
	zl_buf_printf(b, "<table><tr><th class=\"l\">caller</th><th class=\"l\">caller owner</th>"
		      "<th class=\"l\">callee</th><th class=\"l\">callee owner</th>"
		      "<th class=\"l\">protocol</th><th class=\"l\">locality</th><th>req/s</th>"
		      "<th>error rate</th><th>p99</th><th>total</th><th>errors</th></tr>");
	for (int i = 0; i < a->nedges + (a->edges_overflow ? 1 : 0); i++) {
		const struct zl_edge *e = i < a->nedges ? &a->edges[i] : &a->edges[ZL_EDGES_MAX];
		uint64_t n, err, p99;
		char p[32] = "-";

		zl_edge_window(e, a->now_unix_ns, &n, &err, &p99);
		if (n)
			human_ns(p99, p, sizeof(p));
		zl_buf_printf(b, "<tr>");
		text_cell(b, e->caller);
		if (e->caller_traced)
			owner_cell(b, a, e->caller);
		else
			text_cell(b, "-");
		text_cell(b, e->callee);
		if (e->callee_traced)
			owner_cell(b, a, e->callee);
		else
			text_cell(b, "-");
		text_cell(b, e->protocol);
		text_cell(b, zl_locality_name(e->locality));
		zl_buf_printf(b, "<td>%.2f</td><td%s>%.1f%%</td><td>%s</td><td>%llu</td><td>%llu</td></tr>",
			      n / window, err ? " class=\"err\"" : "", n ? 100.0 * err / n : 0.0, p,
			      (unsigned long long)e->count, (unsigned long long)e->errors);
	}
	zl_buf_printf(b, "</table></body></html>\n");
}

bool zl_render_trace(struct zl_buf *b, const struct zl_agg *a, const uint8_t trace_id[16])
{
	const struct zl_tree *t = zl_agg_tree(a, trace_id);
	char id[33], ts[40];

	hex_id(trace_id, 16, id);
	head(b, "trace", a);
	if (!t) {
		zl_buf_printf(b, "<p>Trace %s is not kept (only the latest %d sampled traces are).</p>"
			      "</body></html>\n", id, ZL_TREES_MAX);
		return false;
	}
	zt_format_iso8601(t->end_ns, ts, sizeof(ts));
	zl_buf_printf(b, "<p>trace %s, ended %s. The critical path is marked *; each span shows "
		      "its duration, its self time and its share of the path.</p><pre>", id, ts);
	zl_buf_html(b, t->text);
	zl_buf_printf(b, "</pre></body></html>\n");
	return true;
}

void zl_render_index(struct zl_buf *b)
{
	zl_buf_printf(b, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>ztrace</title>"
		      "</head><body><ul><li><a href=\"/tracez\">/tracez</a></li><li><a href=\"/servicez\">"
		      "/servicez</a></li><li><a href=\"/metrics\">/metrics</a></li></ul></body></html>\n");
}

/* ---------------------------------------------------------------- metrics */

static void series_labels(struct zl_buf *b, const struct zl_series *s)
{
	puts_(b, "container=\"");
	label(b, s->container);
	puts_(b, "\",operation=\"");
	label(b, s->op);
	puts_(b, "\",protocol=\"");
	label(b, s->protocol);
	puts_(b, "\",status_class=\"");
	label(b, s->status_class);
	zl_buf_printf(b, "\",kind=\"%s\"", s->overflow ? ZL_OVERFLOW :
		      s->kind == ZT_SPAN_SERVER ? "server" : "client");
}

static int series_total(const struct zl_agg *a)
{
	return a->nseries + (a->series_overflow ? 1 : 0);
}

static const struct zl_series *series_at(const struct zl_agg *a, int i)
{
	return i < a->nseries ? &a->series[i] : &a->series[ZL_SERIES_MAX];
}

/* One counter family, a line per series: its requests, or its errors. */
static void series_counter(struct zl_buf *b, const struct zl_agg *a, const char *name,
			   const char *help, bool errors)
{
	zl_buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (int i = 0; i < series_total(a); i++) {
		const struct zl_series *s = series_at(a, i);

		zl_buf_printf(b, "%s{", name);
		series_labels(b, s);
		zl_buf_printf(b, "} %llu\n", (unsigned long long)(errors ? s->errors : s->count));
	}
}

void zl_render_metrics(struct zl_buf *b, const struct zl_agg *a, const struct zl_proc *p)
{
	static const char *const le[ZL_BUCKETS] = {
		"1e-05", "0.0001", "0.001", "0.01", "0.1", "1", "10", "100", "+Inf",
	};

	series_counter(b, a, "ztrace_requests_total",
		       "Requests seen (spans), by container, operation, protocol, status class and kind.",
		       false);
	series_counter(b, a, "ztrace_request_errors_total", "Requests the protocol says failed.",
		       true);
	zl_buf_printf(b, "# HELP ztrace_request_duration_seconds Request duration, first request byte "
		      "to last response byte.\n# TYPE ztrace_request_duration_seconds histogram\n");
	for (int i = 0; i < series_total(a); i++) {
		const struct zl_series *s = series_at(a, i);
		uint64_t cum = 0;

		for (int k = 0; k < ZL_BUCKETS; k++) {
			cum += s->buckets[k];
			puts_(b, "ztrace_request_duration_seconds_bucket{");
			series_labels(b, s);
			zl_buf_printf(b, ",le=\"%s\"} %llu\n", le[k], (unsigned long long)cum);
		}
		puts_(b, "ztrace_request_duration_seconds_sum{");
		series_labels(b, s);
		zl_buf_printf(b, "} %.9g\n", s->sum_s);
		puts_(b, "ztrace_request_duration_seconds_count{");
		series_labels(b, s);
		zl_buf_printf(b, "} %llu\n", (unsigned long long)s->count);
	}
	zl_buf_printf(b, "# HELP ztrace_series_overflow_total Requests counted in the _overflow series "
		      "(the series bound, %d, was reached).\n# TYPE ztrace_series_overflow_total counter\n"
		      "ztrace_series_overflow_total %llu\n", ZL_SERIES_MAX,
		      (unsigned long long)a->series_overflow);
	zl_buf_printf(b, "# HELP ztrace_spans_total Spans ztrace made.\n# TYPE ztrace_spans_total counter\n"
		      "ztrace_spans_total %llu\n", (unsigned long long)a->spans);
	zl_buf_printf(b, "# HELP ztrace_drops_total What ztrace lost, by kind (the exit summary's "
		      "drops).\n# TYPE ztrace_drops_total counter\n");
	for (int i = 0; i < a->ndrops; i++) {
		puts_(b, "ztrace_drops_total{kind=\"");
		label(b, a->drops[i].name);
		zl_buf_printf(b, "\"} %llu\n", (unsigned long long)a->drops[i].value);
	}
	if (p->ringbuf_fill >= 0)
		zl_buf_printf(b, "# HELP ztrace_ringbuf_fill_ratio Ring buffer bytes waiting to be read, "
			      "over its size.\n# TYPE ztrace_ringbuf_fill_ratio gauge\n"
			      "ztrace_ringbuf_fill_ratio %.6f\n", p->ringbuf_fill);
	zl_buf_printf(b, "# HELP process_cpu_seconds_total User and system CPU time of ztrace.\n"
		      "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.2f\n"
		      "# HELP process_resident_memory_bytes Resident memory of ztrace.\n"
		      "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %llu\n",
		      p->cpu_s, (unsigned long long)p->rss_bytes);
	zl_buf_printf(b, "# HELP ztrace_info The hooks ztrace attached, by concern.\n"
		      "# TYPE ztrace_info gauge\nztrace_info{hooks=\"");
	label(b, a->hooks);
	zl_buf_printf(b, "\"} 1\n");
}
