/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Hook selection. Each logical hook (io: socket sends and receives; state:
 * handshakes and closes) may have several implementations in the BPF object,
 * one per hook kind. At start each candidate is probed on the running kernel
 * by really loading and attaching a trivial program there (never by version
 * number), the cheapest that works is kept and the rest are not loaded.
 */
#ifndef ZT_HOOKS_H
#define ZT_HOOKS_H

#include <stdbool.h>

struct bpf_object;

/* Cheapest first: the order of preference in auto mode. */
enum zt_hook_kind {
	ZT_HOOK_FENTRY = 0,
	ZT_HOOK_TP_BTF,
	ZT_HOOK_KPROBE,
	ZT_HOOK_TRACEPOINT,
	ZT_HOOK_RAW_TP, /* the scheduler hooks' fallback */
	ZT_HOOK_KINDS,
};

/* --hooks: which kinds may be used. */
enum zt_hook_mode {
	ZT_MODE_AUTO = 0,
	ZT_MODE_FENTRY,
	ZT_MODE_KPROBE,
	ZT_MODE_TRACEPOINT, /* tp_btf and classic tracepoints */
};

int zt_hook_mode_parse(const char *s, enum zt_hook_mode *mode);
const char *zt_hook_kind_name(enum zt_hook_kind k);

/*
 * Probes, chooses and disables (autoload off) the programs not chosen in
 * `obj`. Writes "io=tp_btf state=tp_btf" into `desc`. Returns 0, or -ENOTSUP
 * with a one-line reason in `err` when a logical hook has no usable
 * implementation under `mode`.
 */
int zt_hooks_select(struct bpf_object *obj, enum zt_hook_mode mode, char *desc, int descsz,
		    char *err, int errsz);

/*
 * A cgroup v1 controller's subsystem id ("pids" -> pids_cgrp_id) in the
 * running kernel, from its BTF (the ids depend on the kernel's config, and
 * /proc/cgroups no longer lists every subsystem). Returns it or -errno.
 */
int zt_kernel_cgroup_ssid(const char *controller);

/* --no-sched: leave the scheduler hooks out of the next selection. */
void zt_hooks_want_sched(bool on);

/* True when the last selection chose a hook for the logical hook `name`. */
bool zt_hooks_have(const char *name);

/* True when the last selection chose `kind` for some hook. */
bool zt_hooks_chosen(enum zt_hook_kind kind);

/* True when the last selection loads twin programs (bpf/twin.bpf.h):
 * this kernel can preempt the chosen socket hooks' programs mid-run (their
 * scratch claims must then be atomic too: bpf/maps.bpf.h). */
bool zt_hooks_twins(void);

/* A twin program's name: its primary's with this suffix. */
#define ZT_TWIN_SUFFIX "_twin"

/* True when the last selection found this kernel preempting kernel code,
 * uprobe programs included, mid-run (whatever the socket hooks chosen:
 * their kind may run with preemption off). */
bool zt_hooks_preemptible(void);

/* True when a chosen hook kind needs tracefs mounted (classic tracepoints). */
bool zt_hooks_need_tracefs(void);

#endif
