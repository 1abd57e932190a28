// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outbuf.h"

int zt_outbuf_init(struct zt_outbuf *o, int fd, size_t cap)
{
	memset(o, 0, sizeof(*o));
	o->fd = fd;
	o->cap = cap;
	o->buf = malloc(cap);
	return o->buf ? 0 : -ENOMEM;
}

void zt_outbuf_free(struct zt_outbuf *o)
{
	free(o->buf);
	o->buf = NULL;
}

int zt_outbuf_flush(struct zt_outbuf *o)
{
	size_t off = 0;

	while (off < o->len) {
		ssize_t n = write(o->fd, o->buf + off, o->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* A reader that went away must not stop tracing or
			 * grow memory: the batch is dropped and counted. */
			o->write_errors++;
			o->len = 0;
			return -errno;
		}
		off += n;
	}
	o->bytes += o->len;
	o->len = 0;
	return 0;
}

char *zt_outbuf_room(struct zt_outbuf *o, size_t n)
{
	if (n > o->cap)
		return NULL;
	if (o->cap - o->len < n)
		zt_outbuf_flush(o);
	return o->buf + o->len;
}

void zt_outbuf_put_slow(struct zt_outbuf *o, const char *s, size_t n)
{
	while (n) {
		char *p = zt_outbuf_room(o, 1);
		size_t m = o->cap - o->len < n ? o->cap - o->len : n;

		memcpy(p, s, m);
		o->len += m;
		s += m;
		n -= m;
	}
}

void zt_outbuf_puts(struct zt_outbuf *o, const char *s)
{
	zt_outbuf_put(o, s, strlen(s));
}

void zt_outbuf_u64_slow(struct zt_outbuf *o, uint64_t v)
{
	char tmp[20], *p = zt_u64_digits(tmp + sizeof(tmp), v);

	zt_outbuf_put(o, p, tmp + sizeof(tmp) - p);
}

void zt_outbuf_i64(struct zt_outbuf *o, int64_t v)
{
	if (v < 0) {
		zt_outbuf_put(o, "-", 1);
		/* Through unsigned: -INT64_MIN does not fit an int64_t. */
		zt_outbuf_u64(o, -(uint64_t)v);
		return;
	}
	zt_outbuf_u64(o, (uint64_t)v);
}

void zt_outbuf_printf(struct zt_outbuf *o, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	/* Through a stack buffer, so a buffer smaller than a piece still works. */
	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(tmp) - 1)
		n = sizeof(tmp) - 1;
	if (n > 0)
		zt_outbuf_put(o, tmp, n);
}
