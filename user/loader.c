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

/* The OpenSSL probes: attached later, by user/tls/attach.c. */
static const char *const tls_progs[] = {
	"zt_ssl_write", "zt_ssl_write_ex", "zt_ssl_read", "zt_ssl_read_ex",
	"zt_ssl_read_ret", "zt_ssl_read_ex_ret", "zt_ssl_free",
};

static int open_and_load(struct zt_bpf *b, const struct zt_load_opts *o, bool with_tls,
			 bool ops_in_hash, bool quiet);

int zt_bpf_load(struct zt_bpf *b, const struct zt_load_opts *o)
{
	const __u8 one = 1;
	int ret;

	b->tls = o->tls;
	ret = open_and_load(b, o, b->tls, false, b->tls);
	/* Before 6.2 uprobe programs cannot use task storage: calls in
	 * progress go to a hash instead. */
	if (ret == -EAGAIN)
		ret = open_and_load(b, o, true, true, true);
	if (ret == -EAGAIN) {
		fprintf(stderr, "ztrace: tls: the OpenSSL probes do not load on this kernel; "
				"HTTPS is counted as opaque (-v shows the verifier's log)\n");
		b->tls = false;
		ret = open_and_load(b, o, false, false, false);
	}
	if (ret)
		return ret;
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

/* Opens, configures, chooses hooks and loads. With `quiet`, a load failure
 * is not reported but returned as -EAGAIN (the caller retries without TLS). */
static int open_and_load(struct zt_bpf *b, const struct zt_load_opts *o, bool with_tls,
			 bool ops_in_hash, bool quiet)
{
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
	b->skel->rodata->zt_tls_ops_in_hash = ops_in_hash;
	b->skel->rodata->zt_v1_ssid = o->v1_ssid;
	ret = bpf_map__set_max_entries(b->skel->maps.zt_events, o->ringbuf_size);
	if (ret) {
		fprintf(stderr, "ztrace: ring buffer size %u refused: %s\n", o->ringbuf_size,
			strerror(-ret));
		goto fail;
	}
	ret = zt_hooks_select(b->skel->obj, o->hooks, b->hooks_desc, sizeof(b->hooks_desc), err,
			      sizeof(err));
	if (ret) {
		fprintf(stderr, "ztrace: %s\n", err);
		goto fail;
	}
	/* kprobe programs have no socket storage: state in a hash for all. */
	b->skel->rodata->zt_sock_in_hash = zt_hooks_chosen(ZT_HOOK_KPROBE);
	if (zt_hooks_need_tracefs() && (ret = zt_tracefs_ensure()))
		goto fail;
	for (unsigned i = 0; !with_tls && i < sizeof(tls_progs) / sizeof(tls_progs[0]); i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(b->skel->obj, tls_progs[i]);

		if (p)
			bpf_program__set_autoload(p, false);
	}
	ret = ztrace_bpf__load(b->skel);
	if (ret && quiet) {
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

void zt_bpf_destroy(struct zt_bpf *b)
{
	ztrace_bpf__destroy(b->skel);
	b->skel = NULL;
}
