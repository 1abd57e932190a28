/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The live pages, formatted from a published copy of the aggregate (agg.h)
 * on the web server's thread: HTML with no script (a reload refreshes it),
 * and the Prometheus text exposition. Everything from the wire or from a
 * file is escaped for where it lands (HTML text or attribute, label value).
 */
#ifndef ZT_LIVE_RENDER_H
#define ZT_LIVE_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agg.h"

struct zl_buf {
	char *p;
	size_t len, cap;
	bool oom; /* an append failed: the page is cut */
};

void zl_buf_free(struct zl_buf *b);
void zl_buf_printf(struct zl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void zl_buf_html(struct zl_buf *b, const char *s); /* escaped for text and attributes */

/* What the web server's thread reads itself, at each request. */
struct zl_proc {
	double cpu_s;        /* user + system */
	uint64_t rss_bytes;
	double ringbuf_fill; /* 0..1, < 0 when unknown */
};

void zl_render_tracez(struct zl_buf *b, const struct zl_agg *a);
void zl_render_servicez(struct zl_buf *b, const struct zl_agg *a);
/* Returns false when the trace is not (or no longer) retained. */
bool zl_render_trace(struct zl_buf *b, const struct zl_agg *a, const uint8_t trace_id[16]);
void zl_render_metrics(struct zl_buf *b, const struct zl_agg *a, const struct zl_proc *p);
void zl_render_index(struct zl_buf *b);

#endif
