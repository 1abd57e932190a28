// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>

#include "flags.h"

static const char *const names[] = {
	"truncated", "target_cut", "resync", "no_response", "midstream",
	"close_delimited", "evicted", "pipelined", "upgrade", "request_unseen",
	"headers_unknown", "streaming", "timeout", "dns_truncated",
};

const char *zt_flag_name(uint32_t bit)
{
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (bit == (1u << i))
			return names[i];
	return NULL;
}

int zt_flags_format(uint32_t flags, char *buf, int size)
{
	int n = 0;

	if (size > 0)
		buf[0] = '\0';
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(flags & (1u << i)))
			continue;
		int w = snprintf(buf + n, size - n, "%s%s", n ? "," : "", names[i]);
		if (w < 0 || w >= size - n)
			break;
		n += w;
	}
	return n;
}
