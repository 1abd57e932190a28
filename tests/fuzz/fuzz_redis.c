// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The Redis parser under libFuzzer, fed as the tracer feeds it. The input is
 * one byte of connection hint, then a sequence of records, each a 4-byte head
 * and its captured bytes:
 *
 *   hint     bits 0-1: role (enum zt_role), bit 2: the peer's port is 6379,
 *            bit 3: ours is
 *   byte 0   bit 0: direction (0 ZT_DIR_IN, 1 ZT_DIR_OUT)
 *            bit 1: close the connection after this feed
 *            bit 2: data pointer NULL (a lost record: nothing captured)
 *            bits 3-7: time step to the next feed
 *   byte 1-2 captured length `cap`, little endian (cut to what is left)
 *            bit 6: the uncaptured part's last bytes follow, as the tail the
 *            kernel keeps of a message captured in part
 *   byte 3   uncaptured bytes after them: 0-127 as is, above that
 *            (b - 127) * 997, so values of up to ~127 KB are counted through
 *
 * Detection runs on every record too (it must never crash either). Every
 * transaction emitted is checked for what a consumer relies on; -EPROTO must
 * stick until close.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flags.h"
#include "proto/proto.h"

#define ALL_FLAGS ((ZT_F_TIMEOUT << 1) - 1)

/* Terminated, and only bytes of `allowed` (or any printable when NULL). */
static void check_str(const char *s, size_t size, const char *allowed)
{
	const char *end = memchr(s, '\0', size);

	if (!end)
		abort();
	for (; s < end; s++) {
		if ((uint8_t)*s < 0x21 || (uint8_t)*s >= 0x7f)
			abort();
		if (allowed && !strchr(allowed, *s))
			abort();
	}
}

#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

static void on_txn(void *ctx, const struct zt_txn *t)
{
	unsigned *n = ctx;

	if (!t->protocol || strcmp(t->protocol, "redis"))
		abort();
	if (strcmp(t->method, "?"))
		check_str(t->method, sizeof(t->method), NAME_CHARS "_.|:-");
	check_str(t->target, sizeof(t->target), NAME_CHARS "_-");
	check_str(t->error, sizeof(t->error), NULL);
	if (t->traceparent[0] || t->status || t->version || t->stream || (t->flags & ~ALL_FLAGS))
		abort();
	/* A name is missing only where the command was not seen whole. */
	if (!t->method[0] && !(t->flags & (ZT_F_REQ_UNSEEN | ZT_F_TRUNCATED)))
		abort();
	if (t->target[0] && !t->method[0])
		abort();
	if (t->error[0] && !t->failed)
		abort();
	if ((t->flags & ZT_F_NO_RESPONSE) && (t->resp_first_ns || t->resp_last_ns || t->failed))
		abort();
	if (t->req_first_ns > t->req_last_ns || t->resp_first_ns > t->resp_last_ns)
		abort();
	(*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct zt_proto_ops *ops = &zt_proto_redis;
	struct zt_proto_stats st = { 0 };
	struct zt_proto_hint h = { 0 };
	unsigned ntxn = 0;
	uint64_t ts = 1;
	bool not_redis = false;
	void *c;

	if (size < 1)
		return 0;
	h.role = data[0] & 3;
	h.ipproto = 6;
	h.rport = data[0] & 4 ? 6379 : 7001;
	h.lport = data[0] & 8 ? 6379 : 40000;
	data++;
	size--;
	c = calloc(1, ops->state_size);
	if (!c)
		return 0;
	ops->init(c, &h);
	while (size >= 4) {
		uint8_t ctl = data[0], x = data[3];
		uint32_t cap = data[1] | (uint32_t)data[2] << 8;
		uint32_t extra = x < 128 ? x : (x - 127u) * 997u, tail_len = 0;
		enum zt_dir dir = ctl & 1 ? ZT_DIR_OUT : ZT_DIR_IN;
		int ret;

		data += 4;
		size -= 4;
		if (cap > size)
			cap = (uint32_t)size;
		if ((ctl & 0x40) && extra) {
			tail_len = extra < 8 ? extra : 8;
			if (tail_len > size - cap)
				tail_len = (uint32_t)(size - cap);
		}
		if (!(ctl & 4) && cap) {
			int d = ops->detect(data, cap, cap + extra, dir, &h);

			if (d < ZT_DETECT_NO || d > ZT_DETECT_YES)
				abort();
		}
		ret = ops->feed(c, dir, ts, ctl & 4 ? NULL : data, ctl & 4 ? 0 : cap, cap + extra,
				tail_len ? data + cap : NULL, tail_len, on_txn, &ntxn, &st);
		if ((ret != 0 && ret != -EPROTO) || (not_redis && ret != -EPROTO))
			abort();
		not_redis = ret == -EPROTO;
		data += cap + tail_len;
		size -= cap + tail_len;
		ts += 1 + (ctl >> 3);
		if (ctl & 2) {
			ops->close(c, ts, on_txn, &ntxn, &st);
			not_redis = false;
		}
	}
	ops->close(c, ts, on_txn, &ntxn, &st);
	ops->free(c);
	free(c);
	return 0;
}
