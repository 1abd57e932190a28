// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The HTTP/2 parser under libFuzzer, fed as the kernel feeds it. The input
 * is a sequence of records, each a 4-byte head and its captured bytes:
 *
 *   byte 0   bit 0: direction (0 ZT_DIR_IN, 1 ZT_DIR_OUT)
 *            bit 1: close the connection after this feed
 *            bit 2: data pointer NULL (a lost record: nothing captured)
 *            bits 3-7: time step to the next feed
 *   byte 1-2 captured length `cap`, little endian (cut to what is left)
 *   byte 3   uncaptured bytes after them: 0-127 as is, above that
 *            (b - 127) * 997, so DATA frames of up to ~127 KB are counted
 *            through
 *
 * so the fuzzer explores frames split anywhere, captures cut anywhere, both
 * directions interleaved, lost records and closes in between; the seeds
 * (tests/fuzz/corpus/http2) are real connections, preface and HPACK state
 * included, so the decoding paths are reached. Every transaction emitted is
 * checked for the invariants a consumer relies on; -EPROTO must stick until
 * the connection closes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flags.h"
#include "proto/proto.h"

#define ALL_FLAGS ((ZT_F_TIMEOUT << 1) - 1)

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
	check_str(t->error, sizeof(t->error));
	if (strcmp(t->protocol, "http2") && strcmp(t->protocol, "grpc"))
		abort();
	if (t->version != 20 || !(t->stream & 1) || (t->flags & ~ALL_FLAGS))
		abort();
	if ((t->flags & ZT_F_NO_RESPONSE) && (t->status || t->resp_first_ns || t->resp_last_ns))
		abort();
	if ((t->flags & ZT_F_STREAMING) && strcmp(t->protocol, "grpc"))
		abort();
	if (t->req_first_ns > t->req_last_ns || t->resp_first_ns > t->resp_last_ns)
		abort();
	if ((t->flags & ZT_F_TARGET_CUT) && strlen(t->target) != ZT_TXN_TARGET_MAX - 1)
		abort();
	(*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct zt_proto_ops *ops = &zt_proto_http2;
	struct zt_proto_hint h = { .ipproto = 6 };
	struct zt_proto_stats st = { 0 };
	void *c = calloc(1, ops->state_size);
	unsigned ntxn = 0;
	uint64_t ts = 1;
	bool dead = false;

	if (!c)
		return 0;
	/* The first byte picks the role and ports the tracer would know. */
	if (size) {
		h.role = data[0] % 3;
		h.lport = data[0] & 4 ? 50051 : 40000;
		data++;
		size--;
	}
	ops->init(c, &h);
	if (size >= 9)
		(void)ops->detect(data + 4, (uint32_t)(size - 4 < 600 ? size - 4 : 600),
				  (uint32_t)(size - 4), ZT_DIR_IN, &h);
	while (size >= 4) {
		uint8_t ctl = data[0], x = data[3];
		uint32_t cap = data[1] | (uint32_t)data[2] << 8;
		uint32_t extra = x < 128 ? x : (x - 127u) * 997u;
		int ret;

		data += 4;
		size -= 4;
		if (cap > size)
			cap = (uint32_t)size;
		ret = ops->feed(c, ctl & 1 ? ZT_DIR_OUT : ZT_DIR_IN, ts, ctl & 4 ? NULL : data,
				ctl & 4 ? 0 : cap, cap + extra, NULL, 0, on_txn, &ntxn, &st);
		if ((ret != 0 && ret != -EPROTO) || (dead && ret != -EPROTO))
			abort();
		dead = ret == -EPROTO;
		data += cap;
		size -= cap;
		ts += 1 + (ctl >> 3);
		if (ctl & 2) {
			ops->close(c, ts, on_txn, &ntxn, &st);
			dead = false; /* closed: a new connection may follow */
		}
	}
	ops->close(c, ts, on_txn, &ntxn, &st);
	ops->free(c);
	free(c);
	if (st.txns) /* the tracer counts them */
		abort();
	return 0;
}
