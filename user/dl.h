/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A shared library opened when a feature first needs it, not at start:
 * libcurl (the OTLP sender) and libmicrohttpd (the live views) bring ~30
 * libraries with them (TLS stacks, Kerberos, LDAP), ~5.5 MB of resident
 * memory that a ztrace printing spans never uses.
 */
#ifndef ZT_DL_H
#define ZT_DL_H

#include <stddef.h>

/* A function to find: its name, and where its pointer goes in the table. */
struct zt_dl_sym {
	const char *name;
	size_t off;
};

/*
 * Opens the first of `sonames` (NULL-terminated) that loads, and stores the
 * address of each of `syms` at its offset in `table`. The library stays
 * open. 0, or -ENOENT with the reason in err.
 */
int zt_dl_open(const char *const *sonames, const struct zt_dl_sym *syms, size_t n, void *table,
	       char *err, size_t errsz);

#endif
