// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The --owners file under libFuzzer: either rules within their bounds, each
 * value a clean bounded string, or an error that names the file and a line;
 * matching them against names derived from the input never crashes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "owners.h"
#include "owners_file.h"
#include "utf8.h"

static void check_value(const char *v)
{
	size_t n;

	if (!v)
		return;
	n = strlen(v);
	if (!n || n > ZT_OWNER_VALUE_MAX)
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
	struct zt_owner_rules r;
	char err[256] = "";
	const char *val[ZT_OWNER_FIELDS] = {};
	char name[64];

	if (zt_owner_rules_parse("f", (const char *)data, size, &r, err, sizeof(err))) {
		if (strncmp(err, "f:", 2) || r.n || r.r)
			abort();
		return 0;
	}
	if (r.n > ZT_OWNERS_RULES_MAX)
		abort();
	for (int i = 0; i < r.n; i++) {
		int any = 0;

		if (!r.r[i].pattern || !*r.r[i].pattern || r.r[i].line < 1)
			abort();
		for (int f = 0; f < ZT_OWNER_FIELDS; f++) {
			check_value(r.r[i].val[f]);
			any |= r.r[i].val[f] != NULL;
		}
		if (!any)
			abort();
	}
	/* A name from the input's first bytes, as a container name and path. */
	snprintf(name, sizeof(name), "%.*s", (int)(size < 16 ? size : 16), (const char *)data);
	zt_owner_rules_match(&r, name, "pong", name, val);
	for (int f = 0; f < ZT_OWNER_FIELDS; f++)
		check_value(val[f]);
	zt_owner_rules_free(&r);
	return 0;
}
