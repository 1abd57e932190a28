// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * /proc/PID/maps of a container's process, under libFuzzer: the paths in it
 * are the container's to choose. Every path reported must be a libssl one,
 * absolute, under 256 bytes, reported once, 16 at most.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls/libs.h"

static char seen[16][256];
static int nseen;

static void on_lib(void *ctx, const char *path)
{
	const char *base = strrchr(path, '/');

	(void)ctx;
	if (path[0] != '/' || !base || strncmp(base + 1, "libssl.so", 9))
		abort();
	if (strlen(path) >= 256 || nseen >= 16)
		abort();
	for (int i = 0; i < nseen; i++)
		if (!strcmp(seen[i], path))
			abort();
	snprintf(seen[nseen], sizeof(seen[0]), "%s", path);
	nseen++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f;

	if (!size)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	nseen = 0;
	zt_maps_for_each_libssl(f, on_lib, NULL);
	fclose(f);
	return 0;
}
