// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What the live views take from outside, under libFuzzer: a request's
 * method, path and "id" argument (zl_route), a --listen value, and targets,
 * methods, containers and peers from the wire going through the aggregate
 * into every page. The input is up to six NUL-separated fields: method,
 * url, id, target, container, peer.
 *
 * Invariants: zl_route answers 200, 400, 404 or 405 and a 200 names a page;
 * /metrics stays line-structured (every line a comment or a sample of ours:
 * nothing from the wire breaks out of a label value); the HTML pages carry
 * no '<' that came from the input (escaped); no sanitizer report.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live/agg.h"
#include "live/render.h"
#include "live/route.h"

static struct zl_agg agg;

static void check_metrics(const char *p)
{
	while (*p) {
		const char *nl = strchr(p, '\n');

		if (strncmp(p, "# ", 2) && strncmp(p, "ztrace_", 7) && strncmp(p, "process_", 8))
			abort();
		if (!nl)
			abort(); /* every line ends */
		p = nl + 1;
	}
}

/* Our own markup only: every '<' opens a tag we write (a letter, '/' or '!'
 * follows), none from the input's text (which becomes "&lt;"). */
static void check_html(const char *p)
{
	for (const char *lt = strchr(p, '<'); lt; lt = strchr(lt + 1, '<'))
		if (!(lt[1] == '/' || lt[1] == '!' || (lt[1] >= 'a' && lt[1] <= 'z')))
			abort();
	if (strstr(p, "<script") || strstr(p, "<img") || strstr(p, "<svg"))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *f[6] = { "", "", NULL, "", "?", "?" };
	struct sockaddr_storage ss;
	socklen_t sl;
	bool lo;
	enum zl_page page;
	uint8_t tid[16];
	int n = 0, st;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	f[0] = buf;
	for (size_t i = 0; i < size && n < 5; i++) {
		if (buf[i] == '\0')
			f[++n] = buf + i + 1;
	}
	st = zl_route(f[0], f[1], f[2], &page, tid);
	if (st != 200 && st != 400 && st != 404 && st != 405)
		abort();
	if ((st == 200) != (page != ZL_PAGE_NONE))
		abort();
	zl_listen_parse(f[1], &ss, &sl, &lo);

	static const int root[] = { -1 };
	struct zt_span s = { 0 }, *ptr = &s;
	struct zt_trace_out t = { 1, &ptr, root };
	struct zl_buf b = { 0 };
	struct zl_proc p = { 1, 2, 0.5 };

	s.protocol = size % 2 ? "http" : "redis";
	s.kind = size % 3 ? ZT_SPAN_SERVER : ZT_SPAN_CLIENT;
	snprintf(s.method, sizeof(s.method), "%s", f[0]);
	snprintf(s.target, sizeof(s.target), "%s", f[3]);
	snprintf(s.error, sizeof(s.error), "%s", f[1]);
	snprintf(s.local, sizeof(s.local), "%s", f[5]);
	snprintf(s.peer, sizeof(s.peer), "%s", f[5]);
	s.container = f[4];
	s.cgroup = f[4];
	s.duration_ns = size * 7919;
	s.start_ns = 1800000000ULL * 1000000000ULL;
	s.failed = size % 5 == 0;
	s.status = (int)size;
	memset(s.trace_id, 0xab, 16);
	zl_agg_init(&agg, s.start_ns);
	agg.now_unix_ns = s.start_ns + 1000000000ULL;
	zl_agg_trace(&agg, &t, NULL, NULL);
	zl_render_metrics(&b, &agg, &p);
	if (b.p)
		check_metrics(b.p);
	zl_buf_free(&b);
	zl_render_tracez(&b, &agg);
	if (b.p)
		check_html(b.p);
	zl_buf_free(&b);
	zl_render_servicez(&b, &agg);
	if (b.p)
		check_html(b.p);
	zl_buf_free(&b);
	zl_render_trace(&b, &agg, s.trace_id);
	if (b.p)
		check_html(b.p);
	zl_buf_free(&b);
	free(buf);
	return 0;
}
