// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/perf_event.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "hooks.h"

#define ZT_HOOK_PROGS 8

/*
 * The implementations. A new flavour of a hook is a row here plus its
 * two-line wrappers in bpf/; nothing else changes.
 */
struct zt_hook_impl {
	const char *logical;
	enum zt_hook_kind kind;
	const char *progs[ZT_HOOK_PROGS];   /* program names in the BPF object */
	const char *targets[ZT_HOOK_PROGS]; /* what each attaches to, for the probe */
	int nargs[ZT_HOOK_PROGS];           /* the target's parameters, where the
					     * prototype changed across kernels (0: any) */
};

static const struct zt_hook_impl impls[] = {
	{ "io", ZT_HOOK_FENTRY, { "zt_fexit_send", "zt_fexit_recv4" },
	  { "tcp_sendmsg", "tcp_recvmsg" }, { 3, 4 } },
	{ "io", ZT_HOOK_FENTRY, { "zt_fexit_send", "zt_fexit_recv" },
	  { "tcp_sendmsg", "tcp_recvmsg" }, { 3, 5 } },
	{ "io", ZT_HOOK_FENTRY, { "zt_fexit_send", "zt_fexit_recv_nb" },
	  { "tcp_sendmsg", "tcp_recvmsg" }, { 3, 6 } },
	{ "io", ZT_HOOK_TP_BTF, { "zt_tp_btf_send", "zt_tp_btf_recv" },
	  { "sock_send_length", "sock_recv_length" } },
	{ "state", ZT_HOOK_TP_BTF, { "zt_tp_btf_state" }, { "inet_sock_set_state" } },
	{ "state", ZT_HOOK_FENTRY, { "zt_fentry_state" }, { "tcp_set_state" } },
	/* kprobe + kretprobe: recvmsg's flags sit fourth from 5.19 on (both
	 * the 4- and 5-parameter prototypes), fifth before. */
	{ "io", ZT_HOOK_KPROBE, { "zt_kp_send", "zt_krp_send", "zt_kp_recv", "zt_krp_recv" },
	  { "tcp_sendmsg", "tcp_sendmsg", "tcp_recvmsg", "tcp_recvmsg" }, { 0, 0, 4, 0 } },
	{ "io", ZT_HOOK_KPROBE, { "zt_kp_send", "zt_krp_send", "zt_kp_recv", "zt_krp_recv" },
	  { "tcp_sendmsg", "tcp_sendmsg", "tcp_recvmsg", "tcp_recvmsg" }, { 0, 0, 5, 0 } },
	{ "io", ZT_HOOK_KPROBE, { "zt_kp_send", "zt_krp_send", "zt_kp_recv_nb", "zt_krp_recv" },
	  { "tcp_sendmsg", "tcp_sendmsg", "tcp_recvmsg", "tcp_recvmsg" }, { 0, 0, 6, 0 } },
	{ "state", ZT_HOOK_KPROBE, { "zt_kp_state" }, { "tcp_set_state" } },
	/* UDP datagrams. The io hook's tracepoints see them too: when io is
	 * tp_btf, udp is tp_btf with nothing more to load (see
	 * select_hooks); otherwise the protocol's own functions, IPv4 and
	 * IPv6. recvmsg lost its noblock parameter in 5.19. */
	{ "udp", ZT_HOOK_FENTRY,
	  { "zt_fexit_udp_send", "zt_fexit_udp_recv4", "zt_fexit_udp6_send", "zt_fexit_udp6_recv4" },
	  { "udp_sendmsg", "udp_recvmsg", "udpv6_sendmsg", "udpv6_recvmsg" }, { 3, 4, 3, 4 } },
	{ "udp", ZT_HOOK_FENTRY,
	  { "zt_fexit_udp_send", "zt_fexit_udp_recv", "zt_fexit_udp6_send", "zt_fexit_udp6_recv" },
	  { "udp_sendmsg", "udp_recvmsg", "udpv6_sendmsg", "udpv6_recvmsg" }, { 3, 5, 3, 5 } },
	{ "udp", ZT_HOOK_FENTRY,
	  { "zt_fexit_udp_send", "zt_fexit_udp_recv_nb", "zt_fexit_udp6_send",
	    "zt_fexit_udp6_recv_nb" },
	  { "udp_sendmsg", "udp_recvmsg", "udpv6_sendmsg", "udpv6_recvmsg" }, { 3, 6, 3, 6 } },
	{ "udp", ZT_HOOK_TP_BTF, { NULL }, { NULL } },
	{ "udp", ZT_HOOK_KPROBE,
	  { "zt_kp_udp_send", "zt_krp_udp_send", "zt_kp_udp_recv", "zt_krp_udp_recv",
	    "zt_kp_udp6_send", "zt_krp_udp6_send", "zt_kp_udp6_recv", "zt_krp_udp6_recv" },
	  { "udp_sendmsg", "udp_sendmsg", "udp_recvmsg", "udp_recvmsg", "udpv6_sendmsg",
	    "udpv6_sendmsg", "udpv6_recvmsg", "udpv6_recvmsg" },
	  { 0, 0, 4, 0, 0, 0, 4, 0 } },
	{ "udp", ZT_HOOK_KPROBE,
	  { "zt_kp_udp_send", "zt_krp_udp_send", "zt_kp_udp_recv", "zt_krp_udp_recv",
	    "zt_kp_udp6_send", "zt_krp_udp6_send", "zt_kp_udp6_recv", "zt_krp_udp6_recv" },
	  { "udp_sendmsg", "udp_sendmsg", "udp_recvmsg", "udp_recvmsg", "udpv6_sendmsg",
	    "udpv6_sendmsg", "udpv6_recvmsg", "udpv6_recvmsg" },
	  { 0, 0, 5, 0, 0, 0, 5, 0 } },
	{ "udp", ZT_HOOK_KPROBE,
	  { "zt_kp_udp_send", "zt_krp_udp_send", "zt_kp_udp_recv_nb", "zt_krp_udp_recv",
	    "zt_kp_udp6_send", "zt_krp_udp6_send", "zt_kp_udp6_recv_nb", "zt_krp_udp6_recv" },
	  { "udp_sendmsg", "udp_sendmsg", "udp_recvmsg", "udp_recvmsg", "udpv6_sendmsg",
	    "udpv6_sendmsg", "udpv6_recvmsg", "udpv6_recvmsg" },
	  { 0, 0, 6, 0, 0, 0, 6, 0 } },
	/* The scheduler (the time breakdown): tp_btf, or raw_tp where that
	 * does not attach, whatever --hooks says (it picks how sockets are
	 * seen). Optional: without it spans carry no cpu/runq figures. */
	{ "sched", ZT_HOOK_TP_BTF, { "zt_tp_btf_switch", "zt_tp_btf_wakeup", "zt_tp_btf_wakeup_new" },
	  { "sched_switch", "sched_wakeup", "sched_wakeup_new" } },
	{ "sched", ZT_HOOK_RAW_TP, { "zt_raw_switch", "zt_raw_wakeup", "zt_raw_wakeup_new" },
	  { "sched_switch", "sched_wakeup", "sched_wakeup_new" } },
};

/* "udp" last but one: it depends on what io chose. Optional: without it,
 * UDP is not traced and TCP is unaffected. "sched" is optional too, and
 * left out with --no-sched. */
static const char *const logical_hooks[] = { "io", "state", "udp", "sched" };
static bool sched_wanted = true;
/* By logical_hooks index: the last selection found a hook for it. */
static bool chosen_logical[sizeof(logical_hooks) / sizeof(logical_hooks[0])];

void zt_hooks_want_sched(bool on)
{
	sched_wanted = on;
}

static const char *const kind_names[ZT_HOOK_KINDS] = {
	[ZT_HOOK_FENTRY] = "fentry",
	[ZT_HOOK_TP_BTF] = "tp_btf",
	[ZT_HOOK_KPROBE] = "kprobe",
	[ZT_HOOK_TRACEPOINT] = "tracepoint",
	[ZT_HOOK_RAW_TP] = "raw_tp",
};

static bool chosen_kinds[ZT_HOOK_KINDS];

const char *zt_hook_kind_name(enum zt_hook_kind k)
{
	return k < ZT_HOOK_KINDS ? kind_names[k] : "?";
}

int zt_hook_mode_parse(const char *s, enum zt_hook_mode *mode)
{
	static const char *const modes[] = { "auto", "fentry", "kprobe", "tracepoint" };

	for (unsigned i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (!strcmp(s, modes[i])) {
			*mode = (enum zt_hook_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

static bool mode_allows(enum zt_hook_mode mode, enum zt_hook_kind kind)
{
	switch (mode) {
	case ZT_MODE_AUTO:
		return true;
	case ZT_MODE_FENTRY:
		return kind == ZT_HOOK_FENTRY;
	case ZT_MODE_KPROBE:
		return kind == ZT_HOOK_KPROBE;
	case ZT_MODE_TRACEPOINT:
		return kind == ZT_HOOK_TP_BTF || kind == ZT_HOOK_TRACEPOINT;
	}
	return false;
}

/* Load a two-instruction program at `target` and (`attach`) attach it: what
 * works here works for the real program. */
static bool probe_btf(const char *target, enum bpf_attach_type type, bool attach)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = type);
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int id = libbpf_find_vmlinux_btf_id(target, type), fd, link;

	if (id < 0)
		return false;
	opts.attach_btf_id = id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, 2, &opts);
	if (fd < 0)
		return false;
	if (!attach) {
		close(fd);
		return true;
	}
	link = bpf_raw_tracepoint_open(NULL, fd);
	if (link >= 0)
		close(link);
	close(fd);
	return link >= 0;
}

/* The same for a raw tracepoint. */
static bool probe_raw_tp(const char *target)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL, "GPL", insns, 2, NULL), link;

	if (fd < 0)
		return false;
	link = bpf_raw_tracepoint_open(target, fd);
	if (link >= 0)
		close(link);
	close(fd);
	return link >= 0;
}

/* The same for a kprobe: a trivial kprobe program on a kprobe perf event. */
static bool probe_kprobe(const char *func)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct perf_event_attr attr = { .size = sizeof(attr) };
	int type = 0, fd, pfd;
	bool ok;
	FILE *f = fopen("/sys/bus/event_source/devices/kprobe/type", "re");

	if (!f)
		return false;
	if (fscanf(f, "%d", &type) != 1)
		type = -1;
	fclose(f);
	if (type < 0)
		return false;
	fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", insns, 2, NULL);
	if (fd < 0)
		return false;
	attr.type = type;
	attr.config1 = (uint64_t)(uintptr_t)func;
	pfd = syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	ok = pfd >= 0 && !ioctl(pfd, PERF_EVENT_IOC_SET_BPF, fd);
	if (pfd >= 0)
		close(pfd);
	close(fd);
	return ok;
}

static bool probe_target(enum zt_hook_kind kind, const char *target)
{
	switch (kind) {
	/* A tracepoint whose program loads takes it (the load found the
	 * tracepoint's BTF type, which exists when the tracepoint does): no
	 * trial attach, whose attach and detach each patch the kernel's text
	 * at the tracepoint's call site. For sched_switch that is __schedule,
	 * running on every CPU meanwhile: under TCG a 5.10 guest deadlocked
	 * in that detach (CPU 0 in text_poke_bp waiting on CPU 1, CPU 1 in
	 * __schedule at the int3, interrupts off; one of 5.10's hangs there,
	 * about one boot in ten, the one caught with its stacks).
	 * fentry keeps its trial: loading checks the function, attaching
	 * whether this kernel's trampolines can reach it. */
	case ZT_HOOK_TP_BTF:
		return probe_btf(target, BPF_TRACE_RAW_TP, false);
	case ZT_HOOK_FENTRY:
		return probe_btf(target, BPF_TRACE_FENTRY, true);
	case ZT_HOOK_KPROBE:
		return probe_kprobe(target);
	case ZT_HOOK_RAW_TP:
		return probe_raw_tp(target);
	default:
		return false; /* no implementation of this kind in this build */
	}
}

/* The running kernel's BTF, loaded once while hooks are chosen. */
static struct btf *vmlinux_btf;

/* Parameters of kernel function `name` in the running kernel, or -1. */
static int kernel_func_nargs(const char *name)
{
	const struct btf_type *t;
	int id;

	if (!vmlinux_btf && !(vmlinux_btf = btf__load_vmlinux_btf()))
		return -1;
	id = btf__find_by_name_kind(vmlinux_btf, name, BTF_KIND_FUNC);
	if (id < 0 || !(t = btf__type_by_id(vmlinux_btf, id)) ||
	    !(t = btf__type_by_id(vmlinux_btf, t->type)))
		return -1;
	return btf_vlen(t);
}

static bool impl_works(const struct zt_hook_impl *im, struct bpf_object *obj)
{
	for (int i = 0; i < ZT_HOOK_PROGS && im->progs[i]; i++) {
		if (!bpf_object__find_program_by_name(obj, im->progs[i]))
			return false;
		if (im->nargs[i] && kernel_func_nargs(im->targets[i]) != im->nargs[i])
			return false;
		if (!probe_target(im->kind, im->targets[i]))
			return false;
	}
	return true;
}

/* The last selection loads twin programs (bpf/twin.bpf.h). */
static bool twins_chosen;
/* This kernel can preempt our programs mid-run: -1 not known yet. */
static int preempts = -1;

/*
 * Does this kernel preempt kernel code, BPF programs included (fentry/fexit
 * and uprobe programs run with migration disabled, not preemption)? Only
 * where it was built to (CONFIG_PREEMPTION: preempt_schedule in its BTF)
 * and, where it says so, its preemption model is not none or voluntary
 * (PREEMPT_DYNAMIC kernels boot in either; debugfs tells, when mounted).
 * ZTRACE_PREEMPTIBLE=0 or 1 overrides (tests).
 */
static bool kernel_preempts(void)
{
	const char *env = getenv("ZTRACE_PREEMPTIBLE");
	char model[128] = "";
	FILE *f;

	if (preempts >= 0)
		return preempts;
	if (env && (!strcmp(env, "0") || !strcmp(env, "1")))
		return (preempts = env[0] == '1');
	preempts = 0;
	if (!vmlinux_btf && !(vmlinux_btf = btf__load_vmlinux_btf()))
		return false;
	if (btf__find_by_name_kind(vmlinux_btf, "preempt_schedule", BTF_KIND_FUNC) < 0)
		return false;
	/* "none voluntary (full) lazy": the current model in parentheses. */
	f = fopen("/sys/kernel/debug/sched/preempt", "re");
	if (f) {
		if (!fgets(model, sizeof(model), f))
			model[0] = '\0';
		fclose(f);
	}
	preempts = !strstr(model, "(none)") && !strstr(model, "(voluntary)");
	return preempts;
}

/*
 * Do programs of `kind` need twins (bpf/twin.bpf.h): can a run of one be
 * preempted mid-run, the kernel then skipping that program's runs on its
 * CPU until it resumes? fentry/fexit wherever the kernel preempts;
 * tracepoints where it does and calls their programs preemptible, from 7.0
 * (SRCU-fast). kprobe programs run with preemption disabled.
 */
static bool twins_wanted(enum zt_hook_kind kind)
{
	struct utsname u;
	int major = 0;

	if (kind != ZT_HOOK_FENTRY && kind != ZT_HOOK_TP_BTF)
		return false;
	if (!kernel_preempts())
		return false;
	if (kind == ZT_HOOK_TP_BTF && !getenv("ZTRACE_PREEMPTIBLE") &&
	    (uname(&u) || sscanf(u.release, "%d", &major) != 1 || major < 7))
		return false;
	return true;
}

/* `twins`: the chosen implementation's twins are loaded too. */
static void set_autoload(struct bpf_object *obj, const struct zt_hook_impl *im, bool on, bool twins)
{
	for (int i = 0; i < ZT_HOOK_PROGS && im->progs[i]; i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(obj, im->progs[i]);
		char twin[64];

		if (p)
			bpf_program__set_autoload(p, on);
		snprintf(twin, sizeof(twin), "%s" ZT_TWIN_SUFFIX, im->progs[i]);
		p = bpf_object__find_program_by_name(obj, twin);
		if (p)
			bpf_program__set_autoload(p, on && twins);
	}
}

static int select_hooks(struct bpf_object *obj, enum zt_hook_mode mode, char *desc, int descsz,
			char *err, int errsz);

int zt_hooks_select(struct bpf_object *obj, enum zt_hook_mode mode, char *desc, int descsz,
		    char *err, int errsz)
{
	int ret;

	memset(chosen_kinds, 0, sizeof(chosen_kinds));
	memset(chosen_logical, 0, sizeof(chosen_logical));
	twins_chosen = false;
	preempts = -1;
	ret = select_hooks(obj, mode, desc, descsz, err, errsz);
	/* Whatever the hooks: uprobe programs are preemptible too. */
	kernel_preempts();

	btf__free(vmlinux_btf);
	vmlinux_btf = NULL;
	return ret;
}

/*
 * May `im` serve its hook, given what io chose? io's tracepoints see every
 * socket's datagrams: with them, udp must be tp_btf (anything more would see
 * each datagram twice), and without them it cannot be.
 */
static bool impl_allowed(const struct zt_hook_impl *im, int io_kind)
{
	if (strcmp(im->logical, "udp"))
		return true;
	return (im->kind == ZT_HOOK_TP_BTF) == (io_kind == ZT_HOOK_TP_BTF);
}

static int select_hooks(struct bpf_object *obj, enum zt_hook_mode mode, char *desc, int descsz,
			char *err, int errsz)
{
	const int n = sizeof(impls) / sizeof(impls[0]);
	int off = 0, io_kind = -1;

	desc[0] = '\0';
	for (int i = 0; i < n; i++)
		set_autoload(obj, &impls[i], false, false);
	for (unsigned l = 0; l < sizeof(logical_hooks) / sizeof(logical_hooks[0]); l++) {
		const struct zt_hook_impl *best = NULL;
		bool sched = !strcmp(logical_hooks[l], "sched"), twins;

		if (sched && !sched_wanted) {
			off += snprintf(desc + off, descsz - off, " sched=off");
			if (off >= descsz)
				off = descsz - 1;
			continue;
		}

		for (int i = 0; i < n; i++) {
			const struct zt_hook_impl *im = &impls[i];

			/* --hooks picks how sockets are seen; the scheduler
			 * hooks take the cheapest kind that works in any mode. */
			if (strcmp(im->logical, logical_hooks[l]) ||
			    (!sched && !mode_allows(mode, im->kind)) || !impl_allowed(im, io_kind))
				continue;
			if ((!best || im->kind < best->kind) && impl_works(im, obj))
				best = im;
		}
		if (!best && sched) {
			fprintf(stderr, "ztrace: sched: no scheduler hook attaches on this kernel: "
					"spans carry no cpu/runq breakdown\n");
			off += snprintf(desc + off, descsz - off, " sched=off");
			if (off >= descsz)
				off = descsz - 1;
			continue;
		}
		if (!best && !strcmp(logical_hooks[l], "udp")) {
			fprintf(stderr, "ztrace: udp: no hook for UDP sockets works on this kernel "
					"with these --hooks: UDP (DNS) is not traced\n");
			off += snprintf(desc + off, descsz - off, " udp=off");
			if (off >= descsz)
				off = descsz - 1;
			continue;
		}
		if (!best) {
			static const char *const mode_names[] = { "", "fentry ", "kprobe ",
								  "tracepoint " };
			bool built = false;

			for (int i = 0; i < n; i++)
				built |= !strcmp(impls[i].logical, logical_hooks[l]) &&
					 mode_allows(mode, impls[i].kind);
			if (!built)
				snprintf(err, errsz, "this ztrace has no %simplementation of '%s' yet "
					 "(try --hooks auto)", mode_names[mode], logical_hooks[l]);
			else
				snprintf(err, errsz, "no %shook for '%s' works on this kernel%s",
					 mode_names[mode], logical_hooks[l],
					 mode == ZT_MODE_AUTO ? "" : " (try --hooks auto)");
			return -ENOTSUP;
		}
		twins = !sched && twins_wanted(best->kind);
		set_autoload(obj, best, true, twins);
		twins_chosen |= twins;
		chosen_kinds[best->kind] = true;
		chosen_logical[l] = true;
		if (!strcmp(logical_hooks[l], "io"))
			io_kind = best->kind;
		off += snprintf(desc + off, descsz - off, "%s%s=%s%s", off ? " " : "",
				logical_hooks[l], kind_names[best->kind], twins ? "+twin" : "");
		if (off >= descsz)
			off = descsz - 1;
	}
	return 0;
}

int zt_kernel_cgroup_ssid(const char *controller)
{
	char name[64];
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *t;
	const struct btf_enum *e;
	int id, ret = -ENOENT;

	if (!btf)
		return -errno;
	/* blkio's subsystem is io in the kernel's own names. */
	snprintf(name, sizeof(name), "%s_cgrp_id", strcmp(controller, "blkio") ? controller : "io");
	id = btf__find_by_name_kind(btf, "cgroup_subsys_id", BTF_KIND_ENUM);
	t = id < 0 ? NULL : btf__type_by_id(btf, id);
	e = t ? btf_enum(t) : NULL;
	for (int i = 0; e && i < btf_vlen(t); i++)
		if (!strcmp(btf__name_by_offset(btf, e[i].name_off), name))
			ret = e[i].val;
	btf__free(btf);
	return ret;
}

bool zt_hooks_have(const char *name)
{
	for (unsigned l = 0; l < sizeof(logical_hooks) / sizeof(logical_hooks[0]); l++)
		if (!strcmp(logical_hooks[l], name))
			return chosen_logical[l];
	return false;
}

bool zt_hooks_chosen(enum zt_hook_kind kind)
{
	return kind < ZT_HOOK_KINDS && chosen_kinds[kind];
}

bool zt_hooks_twins(void)
{
	return twins_chosen;
}

bool zt_hooks_preemptible(void)
{
	return preempts > 0;
}

bool zt_hooks_need_tracefs(void)
{
	return chosen_kinds[ZT_HOOK_TRACEPOINT] || chosen_kinds[ZT_HOOK_KPROBE];
}
