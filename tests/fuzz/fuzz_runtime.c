// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A runtime's state file as json-c reads it for ztrace (owners_runtime.c),
 * under libFuzzer: the first byte picks the shape (OCI config.json, runc
 * state.json, docker config.v2.json), the rest is the file. Hostile files
 * must not crash, leak or hang; what comes out is clean and bounded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "owners_runtime.h"
#include "utf8.h"

static void check_value(const char *v)
{
	if (!v)
		return;
	if (!*v || strlen(v) > ZT_OWNER_VALUE_MAX)
		abort();
	for (const unsigned char *p = (const unsigned char *)v; *p;) {
		int cl = zt_utf8_len(p);

		if (!cl || *p < 0x20 || *p == 0x7f)
			abort();
		p += cl;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zt_runtime_owner ro = {};
	char *bundle = NULL, *cg = NULL, *buf, id[ZT_RUNTIME_ID_MAX];
	int ret;

	if (!size || size > ZT_RUNTIME_FILE_MAX)
		return 0;
	/* NUL-terminated, as read_file() hands it over. */
	buf = malloc(size);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = 0;
	ret = zt_runtime_parse(buf, size - 1, (enum zt_runtime_shape)(data[0] % 3), &ro, &bundle,
			       &cg);
	if (ret < -1000 || ret > 1)
		abort();
	for (int f = 0; f < ZT_OWNER_FIELDS; f++)
		check_value(ro.val[f]);
	check_value(ro.name);
	/* The same bytes as a cgroup path. */
	if (zt_runtime_id(buf, id, sizeof(id)) && (!*id || strchr(id, '/')))
		abort();
	zt_runtime_owner_free(&ro);
	free(bundle);
	free(cg);
	free(buf);
	return 0;
}
