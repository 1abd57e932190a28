// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The DNS parser under libFuzzer, fed as the tracer feeds it. The input's
 * first byte picks the transport (bit 0: TCP) and the port hint (bit 1:
 * 53); the rest is a sequence of records, each a 4-byte head and its
 * captured bytes:
 *
 *   byte 0   bit 0: direction (0 ZT_DIR_IN, 1 ZT_DIR_OUT)
 *            bit 1: close the connection after this feed
 *            bit 2: data pointer NULL (a lost record: nothing captured)
 *            bits 3-7: time step to the next feed, in quarter seconds (so
 *            queries time out within a run)
 *   byte 1-2 captured length `cap`, little endian (cut to what is left)
 *   byte 3   uncaptured bytes after them
 *
 * The first record also goes through detection. Every transaction emitted
 * is checked for what a consumer relies on; -EPROTO must stick until close.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "proto/dns.h"
#include "proto/proto.h"

#define ALL_FLAGS ((ZT_F_DNS_TC << 1) - 1)

/* Terminated, and no control byte in it: consumers print these. */
static void check_str(const char *s, size_t size)
{
	const char *end = memchr(s, '\0', size);

	if (!end)
		abort();
	for (; s < end; s++)
		if ((uint8_t)*s <= 0x20 || *s == 0x7f)
			abort();
}

static void on_txn(void *ctx, const struct zt_txn *t)
{
	unsigned *n = ctx;
	bool unanswered = t->flags & (ZT_F_TIMEOUT | ZT_F_NO_RESPONSE);

	check_str(t->method, sizeof(t->method));
	check_str(t->target, sizeof(t->target));
	check_str(t->error, sizeof(t->error));
	if (strcmp(t->protocol, "dns") || (t->flags & ~ALL_FLAGS) || t->status < 0 || t->status > 4095)
		abort();
	if (t->failed != (t->status != 0) || !t->error[0] != !t->status)
		abort();
	if (unanswered && (t->status || t->resp_first_ns || t->resp_last_ns || t->resp_bytes))
		abort();
	if (!unanswered && (!t->resp_last_ns || t->resp_first_ns > t->resp_last_ns))
		abort();
	if (t->req_first_ns > t->req_last_ns || !t->req_bytes)
		abort();
	if ((t->flags & ZT_F_TARGET_CUT) && strlen(t->target) < ZT_TXN_TARGET_MAX - 5)
		abort();
	if (!t->method[0] && t->target[0])
		abort();
	(*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct zt_proto_ops *ops = &zt_proto_dns;
	struct zt_proto_stats st = { 0 };
	struct zt_proto_hint h = { 0 };
	unsigned ntxn = 0;
	uint64_t ts = 1;
	bool gone = false, first = true;
	void *c;

	if (size < 1)
		return 0;
	h.ipproto = data[0] & 1 ? IPPROTO_TCP : IPPROTO_UDP;
	h.rport = data[0] & 2 ? 53 : 40000;
	data++;
	size--;
	c = calloc(1, ops->state_size);
	if (!c)
		return 0;
	ops->init(c, &h);
	while (size >= 4) {
		uint8_t ctl = data[0];
		uint32_t cap = data[1] | (uint32_t)data[2] << 8, extra = data[3];
		enum zt_dir dir = ctl & 1 ? ZT_DIR_OUT : ZT_DIR_IN;
		int ret;

		data += 4;
		size -= 4;
		if (cap > size)
			cap = (uint32_t)size;
		if (first && cap) {
			int d = ops->detect(data, cap, cap + extra, dir, &h);

			if (d < ZT_DETECT_NO || d > ZT_DETECT_YES)
				abort();
			first = false;
		}
		ret = ops->feed(c, dir, ts, ctl & 4 ? NULL : data, ctl & 4 ? 0 : cap, cap + extra, NULL,
				0, on_txn, &ntxn, &st);
		if ((ret != 0 && ret != -EPROTO) || (gone && ret != -EPROTO))
			abort();
		gone = ret == -EPROTO;
		data += cap;
		size -= cap;
		ts += (1 + (ctl >> 3)) * 250000000ULL;
		if (ctl & 2) {
			ops->close(c, ts, on_txn, &ntxn, &st);
			gone = false;
		}
	}
	ops->close(c, ts, on_txn, &ntxn, &st);
	ops->free(c);
	free(c);
	return 0;
}
