/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The BPF side's lifecycle: open, configure, choose hooks, load, select
 * cgroups, attach; and reading its counters. */
#ifndef ZT_LOADER_H
#define ZT_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "hooks.h"
#include "ztrace.h"

struct bpf_object;
struct ztrace_bpf;

struct zt_load_opts {
	bool trace_all;
	bool trace_self; /* tests that drive traffic from the loading process */
	bool announce_execs; /* exec records, to find TLS libraries */
	bool announce_forks; /* fork records, to probe TLS process by process */
	bool tls;            /* load the OpenSSL probes */
	bool sched;          /* the scheduler hooks (the cpu/runq breakdown) */
	bool cgroup_v1;      /* pure cgroup v1: containers told apart in one hierarchy ... */
	int v1_ssid;         /* ... this controller's (its subsystem id) */
	uint32_t capture_bytes;
	uint32_t ringbuf_size;
	enum zt_hook_mode hooks;
	const uint64_t *cgroup_ids;
	int ncgroups;
};

struct zt_bpf {
	struct ztrace_bpf *skel;
	char hooks_desc[128];
	bool tls; /* the OpenSSL probes loaded (not on kernels before 6.2) */
};

/* Returns 0, or -errno after printing one line on stderr. */
int zt_bpf_load(struct zt_bpf *b, const struct zt_load_opts *o);
int zt_bpf_events_fd(const struct zt_bpf *b);
/* The loaded object, for programs attached later (the TLS probes). */
struct bpf_object *zt_bpf_object(const struct zt_bpf *b);
/* Sums the per-CPU counters into out[ZT_CNT_MAX]. */
int zt_bpf_counters(const struct zt_bpf *b, uint64_t out[ZT_CNT_MAX]);
/*
 * Messages lost to runs of our programs the kernel skipped: it never runs a
 * program on a CPU where a run of the same program is under way, and where
 * programs can be preempted (bpf/twin.bpf.h) a run preempted mid-record
 * makes the next task on that CPU to reach its hook lose its message. The
 * primaries' skips (bpf_prog_info.recursion_misses, 5.12+) less those the
 * twins took up (`rescued`, ZT_CNT_RESCUED).
 */
uint64_t zt_bpf_prog_skipped(const struct zt_bpf *b, uint64_t rescued);

/* Programs with skipped runs, for the exit summary: which hooks lost. */
struct zt_prog_skip {
	const char *name; /* the program's, in the BPF object */
	uint64_t runs;
	bool twin;        /* a twin (bpf/twin.bpf.h) */
};
#define ZT_PROG_SKIPS_MAX 64
/* Fills out[] (max entries); returns how many. */
int zt_bpf_prog_skips(const struct zt_bpf *b, struct zt_prog_skip *out, int max);
void zt_bpf_destroy(struct zt_bpf *b);

#endif
