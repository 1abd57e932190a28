/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Span formatters for stdout: readable text (default) and JSON lines. */
#ifndef ZT_OUTPUT_H
#define ZT_OUTPUT_H

#include "../outbuf.h"
#include "../span.h"
#include "../trace/tree.h"

/* JSON lines: one object per span, the public field names of README.md. */
void zt_json_span(struct zt_outbuf *o, const struct zt_span *s);
/* Appends s as a JSON string literal, escaping what JSON requires and
 * replacing bytes that are not valid UTF-8 (targets come from the wire). */
void zt_json_string(struct zt_outbuf *o, const char *s);

/* A finished trace, analysed: {"type":"trace",...} (README.md). */
void zt_json_trace(struct zt_outbuf *o, const struct zt_tree *tr);
/* The trace as an indented tree, the critical path marked '*', and the
 * verdict. */
void zt_text_trace(struct zt_outbuf *o, const struct zt_tree *tr);

/* A span's timing as the trace tree shows it, in ms: its cause, then
 * "[cpu .. runq .. deps .. net .. io ..]", the client phases, the accept
 * wait; "" when nothing is known. Returns the length (cut to fit). */
#define ZT_TEXT_TIMING_MAX 160
size_t zt_text_timing(const struct zt_span *s, char *buf, size_t size);

/* Text: a header, then one aligned line per span. */
void zt_text_header(struct zt_outbuf *o);
void zt_text_span(struct zt_outbuf *o, const struct zt_span *s);

/* "2026-11-24T15:04:05.123456Z" for unix ns; returns the length. */
int zt_format_iso8601(uint64_t unix_ns, char *buf, int size);

#endif
