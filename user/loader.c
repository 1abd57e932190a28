// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "loader.h"
#include "tracefs.h"
#include "ztrace.skel.h"

/*
 * How one load is tried. Newer kernels get the cheaper ways; each fallback
 * is a load-time constant, so the verifier never walks the other branch.
 */
struct load_try {
	bool tls;         /* load the OpenSSL probes */
	bool ops_in_hash; /* TLS calls in progress in a hash: uprobes cannot use
			   * task storage before 6.2; nor is it safe in the
			   * scheduler hooks (the thread table) there */
	bool compat;      /* before 5.11-5.15: socket state in a hash (no socket
			   * storage in tracing programs), syscall registers read
			   * from the kernel stack (no bpf_task_pt_regs), cgroup
			   * ancestors walked with CO-RE, no task storage map */
	bool quiet;       /* a load failure returns -EAGAIN, unsaid */
};

static int open_and_load(struct zt_bpf *b, const struct zt_load_opts *o,
			 const struct load_try *t);

int zt_bpf_load(struct zt_bpf *b, const struct zt_load_opts *o)
{
	const __u8 one = 1;
	int ret;

	static const struct load_try tries[] = {
		{ .tls = true, .quiet = true },
		{ .tls = true, .ops_in_hash = true, .quiet = true },
		{ .quiet = true },
		{ .ops_in_hash = true, .quiet = true },
		{ .tls = true, .ops_in_hash = true, .compat = true, .quiet = true },
		{ .ops_in_hash = true, .compat = true },
	};
	const int n = sizeof(tries) / sizeof(tries[0]);
	int t;

	ret = -EAGAIN;
	for (t = 0; t < n && ret == -EAGAIN; t++) {
		if (tries[t].tls && !o->tls)
			continue;
		ret = open_and_load(b, o, &tries[t]);
	}
	if (ret)
		return ret;
	b->tls = tries[t - 1].tls;
	if (o->tls && !b->tls)
		fprintf(stderr, "ztrace: tls: the OpenSSL probes do not load on this kernel; "
				"HTTPS is counted as opaque (-v shows the verifier's log)\n");
	if (tries[t - 1].compat)
		fprintf(stderr, "ztrace: an older kernel: socket state kept in a hash, syscall "
				"registers read from the kernel stack\n");
	for (int i = 0; i < o->ncgroups; i++) {
		ret = bpf_map__update_elem(b->skel->maps.zt_traced_cgroups, &o->cgroup_ids[i],
					   sizeof(__u64), &one, sizeof(one), BPF_ANY);
		if (ret) {
			fprintf(stderr, "ztrace: cannot select cgroup %llu: %s\n",
				(unsigned long long)o->cgroup_ids[i], strerror(-ret));
			goto fail;
		}
	}
	ret = ztrace_bpf__attach(b->skel);
	if (ret) {
		fprintf(stderr, "ztrace: attaching the BPF programs failed: %s\n", strerror(-ret));
		goto fail;
	}
	return 0;
fail:
	zt_bpf_destroy(b);
	return ret < 0 ? ret : -EINVAL;
}

/* A map the kernel cannot make here, and the programs never touch in this
 * load: a 1-entry hash in its place. */
static void idle_hash(struct bpf_map *m)
{
	bpf_map__set_type(m, BPF_MAP_TYPE_HASH);
	bpf_map__set_max_entries(m, 1);
	bpf_map__set_map_flags(m, 0);
}

/* Opens, configures, chooses hooks and loads. With `quiet`, a load failure
 * is not reported but returned as -EAGAIN (the caller retries without TLS). */
static int open_and_load(struct zt_bpf *b, const struct zt_load_opts *o,
			 const struct load_try *t)
{
	struct bpf_program *p;
	char err[256];
	int ret;

	b->skel = ztrace_bpf__open();
	if (!b->skel) {
		ret = -errno;
		fprintf(stderr, "ztrace: cannot open the BPF object: %s\n", strerror(-ret));
		return ret;
	}
	b->skel->rodata->zt_trace_all = o->trace_all;
	b->skel->rodata->zt_capture_bytes = o->capture_bytes;
	b->skel->rodata->zt_self_tgid = o->trace_self ? 0 : getpid();
	b->skel->rodata->zt_announce_execs = o->announce_execs;
	b->skel->rodata->zt_announce_forks = o->announce_forks;
	b->skel->rodata->zt_tls_on = t->tls;
	b->skel->rodata->zt_tls_ops_in_hash = t->ops_in_hash;
	b->skel->rodata->zt_task_btf = !t->compat;
	b->skel->rodata->zt_regs_from_stack = t->compat;
	b->skel->rodata->zt_cgroup_walk = t->compat;
	if (t->compat) {
		/* No task storage before 5.11: each such map becomes an idle
		 * hash (the programs' paths to it are off in compat loads). */
		idle_hash(b->skel->maps.zt_tls_ops);
		idle_hash(b->skel->maps.zt_threads_task);
		idle_hash(b->skel->maps.zt_twin_ran);
	}
	b->skel->rodata->zt_v1_ssid = o->cgroup_v1 ? o->v1_ssid : -1;
	b->skel->rodata->zt_rb_wake_at = o->ringbuf_size / 2;
	ret = bpf_map__set_max_entries(b->skel->maps.zt_events, o->ringbuf_size);
	if (ret) {
		fprintf(stderr, "ztrace: ring buffer size %u refused: %s\n", o->ringbuf_size,
			strerror(-ret));
		goto fail;
	}
	zt_hooks_want_sched(o->sched);
	ret = zt_hooks_select(b->skel->obj, o->hooks, b->hooks_desc, sizeof(b->hooks_desc), err,
			      sizeof(err));
	if (ret) {
		fprintf(stderr, "ztrace: %s\n", err);
		goto fail;
	}
	b->skel->rodata->zt_sched_on = zt_hooks_have("sched");
	/* The thread table in task storage where it is safe in the scheduler
	 * hooks (as for the TLS calls in progress) and they have the tasks
	 * as BTF pointers (tp_btf, not the raw_tp fallback). */
	b->skel->rodata->zt_threads_in_task =
		!t->ops_in_hash && !t->compat && !zt_hooks_chosen(ZT_HOOK_RAW_TP);
	/* Twins where the socket hooks can be preempted (bpf/twin.bpf.h),
	 * with their tokens in task storage where it is safe in these
	 * programs (as for the TLS calls in progress). */
	b->skel->rodata->zt_preemptible = zt_hooks_twins();
	b->skel->rodata->zt_twin_tokens = zt_hooks_twins() && !t->ops_in_hash && !t->compat;
	b->skel->rodata->zt_uprobe_preemptible = zt_hooks_preemptible();
	/* kprobe programs have no socket storage: state in a hash for all. */
	b->skel->rodata->zt_sock_in_hash = zt_hooks_chosen(ZT_HOOK_KPROBE) || t->compat;
	if (zt_hooks_need_tracefs() && (ret = zt_tracefs_ensure()))
		goto fail;
	/* The OpenSSL probes (every uprobe program: user/tls/attach.c
	 * attaches them later) are left out when TLS is off. */
	bpf_object__for_each_program(p, b->skel->obj)
		if (!t->tls && !strncmp(bpf_program__section_name(p), "uprobe", 6))
			bpf_program__set_autoload(p, false);
	ret = ztrace_bpf__load(b->skel);
	if (ret && t->quiet) {
		ret = -EAGAIN;
		goto fail;
	}
	if (ret) {
		fprintf(stderr, "ztrace: loading the BPF programs failed: %s (-v shows the "
				"verifier's log)\n", strerror(-ret));
		goto fail;
	}
	return 0;
fail:
	zt_bpf_destroy(b);
	return ret < 0 ? ret : -EINVAL;
}

int zt_bpf_events_fd(const struct zt_bpf *b)
{
	return bpf_map__fd(b->skel->maps.zt_events);
}

struct bpf_object *zt_bpf_object(const struct zt_bpf *b)
{
	return b->skel->obj;
}

int zt_bpf_counters(const struct zt_bpf *b, uint64_t out[ZT_CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (__u32 k = 0; k < ZT_CNT_MAX; k++) {
		out[k] = 0;
		if (bpf_map__lookup_elem(b->skel->maps.zt_counters, &k, sizeof(k), vals,
					 ncpu * sizeof(*vals), 0))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
	return 0;
}

int zt_bpf_prog_skips(const struct zt_bpf *b, struct zt_prog_skip *out, int max)
{
	struct bpf_program *p;
	int n = 0;

	bpf_object__for_each_program(p, b->skel->obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);
		const char *name = bpf_program__name(p);
		size_t nl = strlen(name);

		memset(&info, 0, sizeof(info));
		/* Kernels before 5.12 have no such count: 0 there. */
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) || !info.recursion_misses)
			continue;
		if (n == max)
			break;
		out[n].name = name;
		out[n].runs = info.recursion_misses;
		out[n].twin = nl > strlen(ZT_TWIN_SUFFIX) &&
			      !strcmp(name + nl - strlen(ZT_TWIN_SUFFIX), ZT_TWIN_SUFFIX);
		n++;
	}
	return n;
}

uint64_t zt_bpf_prog_skipped(const struct zt_bpf *b, uint64_t rescued)
{
	struct zt_prog_skip sk[ZT_PROG_SKIPS_MAX];
	int n = zt_bpf_prog_skips(b, sk, ZT_PROG_SKIPS_MAX);
	uint64_t sum = 0;

	/* A twin's own skips lose nothing its primary did not. */
	for (int i = 0; i < n; i++)
		if (!sk[i].twin)
			sum += sk[i].runs;
	return sum > rescued ? sum - rescued : 0;
}

void zt_bpf_destroy(struct zt_bpf *b)
{
	ztrace_bpf__destroy(b->skel);
	b->skel = NULL;
}
