// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dl.h"

int zt_dl_open(struct zt_dl_lib *lib, char *err, size_t errsz)
{
	const char *why = "no library named";
	void *h = NULL;

	if (lib->open)
		return 0;
	for (int i = 0; lib->sonames[i] && !h; i++) {
		h = dlopen(lib->sonames[i], RTLD_NOW | RTLD_LOCAL);
		if (!h)
			why = dlerror();
	}
	if (!h) {
		snprintf(err, errsz, "cannot load %s: %s", lib->sonames[0], why ? why : "?");
		return -ENOENT;
	}
	for (size_t i = 0; i < lib->nsyms; i++) {
		void *f = dlsym(h, lib->syms[i].name);

		if (!f) {
			snprintf(err, errsz, "%s has no %s", lib->sonames[0], lib->syms[i].name);
			/* Kept open: a table half filled is never used, and
			 * closing a library its constructors ran in is unsafe. */
			return -ENOENT;
		}
		memcpy((char *)lib->table + lib->syms[i].off, &f, sizeof(f));
	}
	lib->open = true;
	return 0;
}
