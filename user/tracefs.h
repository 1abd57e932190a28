/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef ZT_TRACEFS_H
#define ZT_TRACEFS_H

/* Classic tracepoints are found through tracefs, which some hosts (this
 * project's own build machine) do not mount at boot: mount it if absent.
 * Returns 0 or -errno. */
int zt_tracefs_ensure(void);

#endif
