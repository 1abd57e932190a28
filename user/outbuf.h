/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Buffered output straight to a file descriptor: formatters append, the main
 * loop flushes once per ring buffer drain, so a pipe sees spans within
 * milliseconds while stdout costs one write() per batch, not per line.
 */
#ifndef ZT_OUTBUF_H
#define ZT_OUTBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct zt_outbuf {
	int fd;
	char *buf;
	size_t len, cap;
	uint64_t write_errors; /* flushes that failed (EPIPE, ENOSPC): counted, not fatal */
	uint64_t bytes;        /* bytes written */
};

int zt_outbuf_init(struct zt_outbuf *o, int fd, size_t cap);
void zt_outbuf_free(struct zt_outbuf *o);
/* Room for n more bytes (flushing if needed); NULL only if n > cap. */
char *zt_outbuf_room(struct zt_outbuf *o, size_t n);
void zt_outbuf_put_slow(struct zt_outbuf *o, const char *s, size_t n);

/* Called dozens of times per span: the common case, room left, inline. */
static inline void zt_outbuf_put(struct zt_outbuf *o, const char *s, size_t n)
{
	if (o->cap - o->len >= n) {
		memcpy(o->buf + o->len, s, n);
		o->len += n;
		return;
	}
	zt_outbuf_put_slow(o, s, n);
}
void zt_outbuf_puts(struct zt_outbuf *o, const char *s);
/* A string literal, its length known at compile time. */
#define zt_outbuf_lit(o, lit) zt_outbuf_put((o), "" lit, sizeof(lit) - 1)
/* Writes v's decimal digits to end back to front; returns where they start.
 * For the formatters of the per-span path, which do without printf. */
static inline char *zt_u64_digits(char *end, uint64_t v)
{
	/* Two digits a division: a span's start_ns alone has nineteen. */
	static const char pairs[] = "00010203040506070809101112131415161718192021222324"
				    "25262728293031323334353637383940414243444546474849"
				    "50515253545556575859606162636465666768697071727374"
				    "75767778798081828384858687888990919293949596979899";

	while (v >= 100) {
		end -= 2;
		memcpy(end, pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		end -= 2;
		memcpy(end, pairs + 2 * v, 2);
	} else {
		*--end = (char)('0' + v);
	}
	return end;
}

/* Decimal digits in v: from its bit length (times log10(2) ~ 1233/4096,
 * one short or exact) and one comparison, where a loop over growing powers
 * of ten cost a span ~300 instructions (a start_ns has nineteen digits). */
static inline size_t zt_u64_len(uint64_t v)
{
	static const uint64_t pow10[20] = {
		1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
		100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL,
		1000000000000ULL, 10000000000000ULL, 100000000000000ULL,
		1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
		1000000000000000000ULL, 10000000000000000000ULL,
	};
	size_t t;

	if (v < 10)
		return 1;
	t = (size_t)(64 - __builtin_clzll(v)) * 1233 >> 12;
	return t + 1 - (v < pow10[t]);
}

/* Decimal integers: the span formatters' hot path, without printf's
 * parsing of a format per field, written in place (a dozen per span: a
 * copy through a temporary was a memcpy call each). */
void zt_outbuf_u64_slow(struct zt_outbuf *o, uint64_t v);
static inline void zt_outbuf_u64(struct zt_outbuf *o, uint64_t v)
{
	if (o->cap - o->len >= 20) {
		size_t n = zt_u64_len(v);

		zt_u64_digits(o->buf + o->len + n, v);
		o->len += n;
		return;
	}
	zt_outbuf_u64_slow(o, v);
}
void zt_outbuf_i64(struct zt_outbuf *o, int64_t v);
/* printf-style append of a short piece (up to 512 bytes). */
void zt_outbuf_printf(struct zt_outbuf *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int zt_outbuf_flush(struct zt_outbuf *o);

#endif
