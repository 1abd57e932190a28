/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Attaching the OpenSSL probes (bpf/tls.bpf.c) to the library files the
 * traced processes run. Two ways (--tls-attach):
 *
 *  file     (default) a file is probed once for every process (pid -1):
 *           a process that starts later is covered from its first call,
 *           but every process mapping the file, traced or not, takes a
 *           trap per call (the untraced leave at the BPF cgroup check).
 *  process  each traced process is probed on its own, found at start, at
 *           its exec or its fork (a forked child does not inherit its
 *           parent's probes), and unprobed when it exits: the breakpoint is
 *           only written into traced processes, the untraced pay nothing,
 *           but a process is seen only from its first look (<= 10 ms after
 *           its exec or fork; a short-lived one may be missed entirely).
 *
 * Processes in other mount namespaces are reached through /proc/PID/root.
 */
#ifndef ZT_TLS_ATTACH_H
#define ZT_TLS_ATTACH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct bpf_object;
struct zt_tls;

struct zt_tls_stats {
	uint32_t files;          /* library files probed */
	uint32_t procs;          /* processes probed one by one, now */
	uint32_t failed;         /* files whose probes could not be attached */
	uint64_t scans;          /* processes looked at */
	uint64_t scans_dropped;  /* exec'd processes never looked at: queue full */
};

/* Returns NULL (and says why on stderr) when out of memory. `proc` is
 * normally "/proc". `per_process`: --tls-attach process. */
struct zt_tls *zt_tls_new(struct bpf_object *obj, const char *proc, bool per_process);
/* Detaches everything. */
void zt_tls_free(struct zt_tls *t);
/* Looks at what `pid` maps now; probes files not seen before. Returns the
 * OpenSSL files whose calls from `pid` are probed now, or -ESRCH. */
int zt_tls_scan_pid(struct zt_tls *t, pid_t pid);
/*
 * `pid` exec'd. Its libraries are mapped after exec returns (some by
 * dlopen, long after): it is looked at a few times over the next seconds,
 * by zt_tls_tick.
 */
void zt_tls_exec(struct zt_tls *t, pid_t pid);
/* `pid` was forked by a traced process: probed like its parent, at once. */
void zt_tls_fork(struct zt_tls *t, pid_t pid);
/* Runs the looks that are due and unprobes processes that are gone; call
 * often (every poll of the main loop). */
void zt_tls_tick(struct zt_tls *t);
const struct zt_tls_stats *zt_tls_stats(const struct zt_tls *t);

#endif
