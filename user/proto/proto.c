// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "proto.h"

static const struct zt_proto_ops *const protos[ZT_PROTO_MAX] = {
	[ZT_PROTO_HTTP1] = &zt_proto_http1,
	[ZT_PROTO_HTTP2] = &zt_proto_http2,
	[ZT_PROTO_REDIS] = &zt_proto_redis,
	[ZT_PROTO_PGSQL] = &zt_proto_pgsql,
	[ZT_PROTO_MYSQL] = &zt_proto_mysql,
	[ZT_PROTO_DNS] = &zt_proto_dns,
};

const struct zt_proto_ops *zt_proto_get(enum zt_proto_id id)
{
	return id > ZT_PROTO_NONE && id < ZT_PROTO_MAX ? protos[id] : NULL;
}

enum zt_proto_id zt_proto_detect(const uint8_t *data, uint32_t cap, uint32_t len, enum zt_dir dir,
				 const struct zt_proto_hint *h)
{
	enum zt_proto_id best = ZT_PROTO_NONE;
	int best_score = ZT_DETECT_NO;

	if (!data || !cap)
		return ZT_PROTO_NONE;
	for (int id = ZT_PROTO_NONE + 1; id < ZT_PROTO_MAX; id++) {
		int s = protos[id]->detect(data, cap, len, dir, h);

		if (s > best_score) {
			best_score = s;
			best = id;
		}
	}
	return best;
}
