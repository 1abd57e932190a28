// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Placeholder until the http2 parser lands: recognises nothing. */
#include <errno.h>

#include "proto.h"

static void ops_init(void *state, const struct zt_proto_hint *h) {}
static void ops_free(void *state) {}

static int ops_feed(void *state, enum zt_dir dir, uint64_t ts_ns, const uint8_t *data, uint32_t cap,
		    uint32_t len, const uint8_t *tail, uint32_t tail_len, zt_txn_emit_fn emit,
		    void *ctx, void *stats)
{
	return -EPROTO;
}

static void ops_close(void *state, uint64_t ts_ns, zt_txn_emit_fn emit, void *ctx, void *stats) {}

static int ops_detect(const uint8_t *data, uint32_t cap, uint32_t len, enum zt_dir dir,
		      const struct zt_proto_hint *h)
{
	return ZT_DETECT_NO;
}

const struct zt_proto_ops zt_proto_http2 = {
	.name = "http2",
	.state_size = 1,
	.init = ops_init,
	.free = ops_free,
	.feed = ops_feed,
	.close = ops_close,
	.detect = ops_detect,
};
