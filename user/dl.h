/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A shared library opened when a feature first needs it, not at start:
 * libcurl (the OTLP sender) and libmicrohttpd (the live views) bring ~30
 * libraries with them (TLS stacks, Kerberos, LDAP), ~5.5 MB of resident
 * memory that a ztrace printing spans never uses.
 */
#ifndef ZT_DL_H
#define ZT_DL_H

#include <stdbool.h>
#include <stddef.h>

/* A function to find: its name, and where its pointer goes in the table. */
struct zt_dl_sym {
	const char *name;
	size_t off;
};

struct zt_dl_lib {
	const char *const *sonames;  /* tried in order, NULL-terminated */
	const struct zt_dl_sym *syms;
	size_t nsyms;
	void *table;                 /* the functions' pointers go here */
	bool open;                   /* set by zt_dl_open */
};

/*
 * Opens the first of lib's sonames that loads, and stores the address of
 * each of its functions at its offset in the table; once: the library
 * stays open. 0, or -ENOENT with the reason in err.
 */
int zt_dl_open(struct zt_dl_lib *lib, char *err, size_t errsz);

#endif
