// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The SQL normaliser under libFuzzer: any bytes, both dialects, every
 * output size; the output is terminated, bounded, free of control bytes,
 * and holds no quote but a quoted identifier's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/sql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[300];
	size_t n, outsz;
	bool cut;

	if (size < 1)
		return 0;
	outsz = data[0] % sizeof(out);
	n = zt_sql_normalize_dialect((const char *)data + 1, size - 1, out, outsz, &cut, data[0] & 0x80);
	if (outsz && (n >= outsz || strlen(out) != n))
		abort();
	if (!outsz && n)
		abort();
	/* A quote left in the output can only come from a quoted identifier. */
	bool quoted_id = memchr(data + 1, '"', size - 1) || memchr(data + 1, '`', size - 1);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f || (out[i] == '\'' && !quoted_id))
			abort();
	n = zt_sql_verb((const char *)data + 1, size - 1, out, outsz);
	if (outsz && (n >= outsz || strlen(out) != n))
		abort();
	return 0;
}
