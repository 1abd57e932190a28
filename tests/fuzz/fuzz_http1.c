// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The HTTP/1 parser under libFuzzer, fed as the kernel feeds it. The input
 * is a sequence of records, each a 4-byte head and its captured bytes:
 *
 *   byte 0   bit 0: direction (0 HTTP1_IN, 1 HTTP1_OUT)
 *            bit 1: close the connection after this feed
 *            bit 2: data pointer NULL (a lost record: nothing captured)
 *            bits 3-7: time step to the next feed
 *   byte 1-2 captured length `cap`, little endian (cut to what is left)
 *   byte 3   uncaptured bytes after them: 0-127 as is, above that
 *            (b - 127) * 997, so bodies of up to ~127 KB are counted through
 *
 * so the fuzzer explores headers split anywhere, captures cut anywhere, both
 * directions interleaved and closes in between. Every transaction emitted is
 * checked for the invariants a consumer relies on; -EPROTO must stick.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http1.h"

#define ALL_FLAGS ((ZT_F_REQ_UNSEEN << 1) - 1)

/* Terminated, and no control byte in it: consumers print these. */
static void check_str(const char *s, size_t size)
{
	const char *end = memchr(s, '\0', size);

	if (!end)
		abort();
	for (; s < end; s++)
		if ((uint8_t)*s < 0x20 || *s == 0x7f)
			abort();
}

static void on_txn(void *ctx, const struct zt_txn *t)
{
	unsigned *n = ctx;

	check_str(t->method, sizeof(t->method));
	check_str(t->target, sizeof(t->target));
	check_str(t->traceparent, sizeof(t->traceparent));
	if (!t->method[0] != !!(t->flags & ZT_F_REQ_UNSEEN) || (t->version != 10 && t->version != 11) || (t->flags & ~ALL_FLAGS))
		abort();
	if (t->status && (t->status < 100 || t->status > 999))
		abort();
	if ((t->flags & ZT_F_NO_RESPONSE) && t->status)
		abort();
	if (!t->status && (t->resp_first_ns || t->resp_last_ns))
		abort();
	if (t->req_first_ns > t->req_last_ns || t->resp_first_ns > t->resp_last_ns)
		abort();
	if ((t->flags & ZT_F_TARGET_CUT) && strlen(t->target) != ZT_TXN_TARGET_MAX - 1)
		abort();
	(*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http1_conn *c = malloc(http1_conn_size());
	struct http1_stats st = { 0 };
	unsigned ntxn = 0;
	uint64_t ts = 1;
	bool not_http = false;

	if (!c)
		return 0;
	http1_conn_init(c);
	while (size >= 4) {
		uint8_t ctl = data[0], x = data[3];
		uint32_t cap = data[1] | (uint32_t)data[2] << 8;
		uint32_t extra = x < 128 ? x : (x - 127u) * 997u, tail_len;
		int ret;

		data += 4;
		size -= 4;
		if (cap > size)
			cap = (uint32_t)size;
		/* Bit 6: the uncaptured part's last bytes follow, as the tail
		 * the kernel keeps of a message captured in part. */
		tail_len = 0;
		if ((ctl & 0x40) && extra) {
			tail_len = extra < 8 ? extra : 8;
			if (tail_len > size - cap)
				tail_len = (uint32_t)(size - cap);
		}
		ret = http1_conn_feed(c, ctl & 1 ? HTTP1_OUT : HTTP1_IN, ts, ctl & 4 ? NULL : data,
				      ctl & 4 ? 0 : cap, cap + extra, tail_len ? data + cap : NULL,
				      tail_len, on_txn, &ntxn, &st);
		if ((ret != 0 && ret != -EPROTO) || (not_http && ret != -EPROTO))
			abort();
		not_http = ret == -EPROTO;
		data += cap + tail_len;
		size -= cap + tail_len;
		ts += 1 + (ctl >> 3);
		if (ctl & 2) {
			http1_conn_close(c, ts, on_txn, &ntxn, &st);
			not_http = false; /* closed: a new connection may follow */
		}
	}
	http1_conn_close(c, ts, on_txn, &ntxn, &st);
	http1_conn_free(c);
	free(c);
	return 0;
}
