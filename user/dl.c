// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dl.h"

int zt_dl_open(const char *const *sonames, const struct zt_dl_sym *syms, size_t n, void *table,
	       char *err, size_t errsz)
{
	const char *why = "no library named";
	void *h = NULL;

	for (int i = 0; sonames[i] && !h; i++) {
		h = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
		if (!h)
			why = dlerror();
	}
	if (!h) {
		snprintf(err, errsz, "cannot load %s: %s", sonames[0], why ? why : "?");
		return -ENOENT;
	}
	for (size_t i = 0; i < n; i++) {
		void *f = dlsym(h, syms[i].name);

		if (!f) {
			snprintf(err, errsz, "%s has no %s", sonames[0], syms[i].name);
			/* Kept open: a table half filled is never used, and
			 * closing a library its constructors ran in is unsafe. */
			return -ENOENT;
		}
		memcpy((char *)table + syms[i].off, &f, sizeof(f));
	}
	return 0;
}
