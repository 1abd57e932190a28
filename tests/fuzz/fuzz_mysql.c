// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The MySQL parser under libFuzzer, fed as the tracer feeds it. The input's
 * first byte picks the role (bits 0-1: unknown, client, server) and whether
 * port 3306 is one end (bit 2); then a sequence of records, each a 4-byte
 * head and its captured bytes:
 *
 *   byte 0   bit 0: direction (0 ZT_DIR_IN, 1 ZT_DIR_OUT)
 *            bit 1: close the connection after this feed
 *            bit 2: data pointer NULL (a lost record: nothing captured)
 *            bits 3-5: time step to the next feed
 *            bit 6: the uncaptured part's last bytes follow (the tail)
 *   byte 1-2 captured length `cap`, little endian (cut to what is left)
 *   byte 3   uncaptured bytes after them: 0-127 as is, above that
 *            (b - 127) * 131071, so packets of up to 16 MB are counted through
 *
 * Every transaction emitted is checked for the invariants a consumer relies
 * on; -EPROTO must stick until the connection closes.
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
	check_str(t->error, sizeof(t->error));
	if (!t->protocol || strcmp(t->protocol, "mysql") || (t->flags & ~ALL_FLAGS))
		abort();
	if (!t->failed && (t->status || t->error[0]))
		abort();
	if ((t->flags & ZT_F_NO_RESPONSE) && (t->status || t->resp_first_ns || t->resp_last_ns))
		abort();
	if (t->req_first_ns > t->req_last_ns || t->resp_first_ns > t->resp_last_ns)
		abort();
	if ((t->flags & ZT_F_TARGET_CUT) && strlen(t->target) != ZT_TXN_TARGET_MAX - 1)
		abort();
	(*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct zt_proto_ops *ops = &zt_proto_mysql;
	struct zt_proto_stats st = { 0 };
	struct zt_proto_hint h = { .ipproto = 6, .lport = 40000, .rport = 50000 };
	unsigned ntxn = 0;
	uint64_t ts = 1;
	bool gave_up = false;
	void *c;

	if (size < 1)
		return 0;
	h.role = data[0] & 3;
	if (h.role > ZT_ROLE_SERVER)
		h.role = ZT_ROLE_UNKNOWN;
	if (data[0] & 4) {
		if (h.role == ZT_ROLE_CLIENT)
			h.rport = 3306;
		else
			h.lport = 3306;
	}
	data++;
	size--;
	c = calloc(1, ops->state_size);
	if (!c)
		return 0;
	ops->init(c, &h);
	while (size >= 4) {
		uint8_t ctl = data[0], x = data[3];
		uint32_t cap = data[1] | (uint32_t)data[2] << 8;
		uint32_t extra = x < 128 ? x : (x - 127u) * 131071u, tail_len = 0;
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
		ret = ops->feed(c, ctl & 1 ? ZT_DIR_OUT : ZT_DIR_IN, ts, ctl & 4 ? NULL : data,
				ctl & 4 ? 0 : cap, cap + extra, tail_len ? data + cap : NULL, tail_len,
				on_txn, &ntxn, &st);
		if ((ret != 0 && ret != -EPROTO) || (gave_up && ret != -EPROTO))
			abort();
		gave_up = ret == -EPROTO;
		data += cap + tail_len;
		size -= cap + tail_len;
		ts += 1 + ((ctl >> 3) & 7);
		if (ctl & 2) {
			ops->close(c, ts, on_txn, &ntxn, &st);
			ops->free(c);
			memset(c, 0, ops->state_size);
			ops->init(c, &h);
			gave_up = false;
		}
	}
	ops->close(c, ts, on_txn, &ntxn, &st);
	ops->free(c);
	free(c);
	return 0;
}
