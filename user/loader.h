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
 * Runs of our programs the kernel skipped: it never runs a program on a CPU
 * where the same program is already running. Where programs can be
 * preempted (tracepoints under SRCU-fast since 7.0, fentry on PREEMPT_LAZY
 * and PREEMPT_FULL kernels), a program preempted mid-run makes the next
 * task on that CPU to reach its hook lose the message. Summed over every
 * loaded program (bpf_prog_info.recursion_misses, 5.12+).
 */
uint64_t zt_bpf_prog_skipped(const struct zt_bpf *b);
void zt_bpf_destroy(struct zt_bpf *b);

#endif
