// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* ztrace: every request a container serves or makes, from the kernel. */
#include <argp.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "cgroup.h"
#include "drain.h"
#include "export/otlp.h"
#include "hooks.h"
#include "live/route.h"
#include "live/server.h"
#include "loader.h"
#include "output/output.h"
#include "owners.h"
#include "tls/attach.h"
#include "tracer.h"

#define MAX_SELECTIONS 64
#define EXIT_USAGE 2

enum sel_kind { SEL_CGROUP, SEL_PID, SEL_CONTAINER };

static struct {
	struct { enum sel_kind kind; const char *arg; } sel[MAX_SELECTIONS];
	int nsel;
	bool all, json, verbose, no_tls, no_sched, tls_per_process, traces;
	char *sel_rel[MAX_SELECTIONS]; /* each selection's cgroup, relative to the root */
	double duration;
	const char *owners_file;
	uint32_t capture_bytes, ringbuf_size, max_conns;
	enum zt_hook_mode hooks;
	struct zt_otlp_opts otlp;
	const char *listen;
} env = {
	.capture_bytes = ZT_CAPTURE_DEFAULT,
	.ringbuf_size = 8 << 20,
	.max_conns = 65536,
};

const char *argp_program_version = "ztrace 0.1";
static const char doc[] =
	"ztrace: every request a container serves or makes, with its latency, status and peer.\n"
	"\n"
	"USAGE: ztrace {--container ID|NAME | --cgroup PATH | --pid PID | --all} [--json]\n"
	"\n"
	"EXAMPLES:\n"
	"  ztrace --container pong            # requests served and made by container pong\n"
	"  ztrace --container 3f2a9c --json   # by container id prefix, as JSON lines\n"
	"  ztrace --cgroup system.slice/nginx.service\n"
	"  ztrace --pid 4242 --duration 30    # the cgroup of process 4242, for 30 s\n"
	"  ztrace --all | grep ' 5[0-9][0-9] '  # every container, server errors only\n"
	"  ztrace --all --otlp collector:4318 >/dev/null  # to an OpenTelemetry collector\n"
	"  ztrace --all --listen 9464 >/dev/null  # /tracez, /servicez, /metrics on 127.0.0.1:9464";

enum {
	OPT_CAPTURE = 0x100,
	OPT_RINGBUF,
	OPT_HOOKS,
	OPT_MAX_CONNS,
	OPT_NO_TLS,
	OPT_TLS_ATTACH,
	OPT_OTLP,
	OPT_OTLP_JSON,
	OPT_OTLP_QUEUE,
	OPT_TRACES,
	OPT_NO_SCHED,
	OPT_LISTEN,
	OPT_OWNERS,
};

static const struct argp_option opts[] = {
	{ "container", 'c', "ID|NAME", 0, "Trace a container (id prefix of 6+ chars, or name); repeatable", 0 },
	{ "cgroup", 'g', "PATH", 0, "Trace a cgroup and everything below it; repeatable", 0 },
	{ "pid", 'p', "PID", 0, "Trace the cgroup of this process; repeatable", 0 },
	{ "all", 'a', NULL, 0, "Trace every cgroup, each span labelled with its own", 0 },
	{ "json", 'j', NULL, 0, "JSON lines instead of text", 0 },
	{ "duration", 'd', "SECONDS", 0, "Stop after this long", 0 },
	{ "capture-bytes", OPT_CAPTURE, "N", 0, "Bytes of each message copied for parsing (default 512, max 4096)", 0 },
	{ "ringbuf-size", OPT_RINGBUF, "BYTES", 0, "Ring buffer size, a power of two (default 8M; K and M suffixes)", 0 },
	{ "hooks", OPT_HOOKS, "MODE", 0, "auto, fentry, kprobe or tracepoint (default auto)", 0 },
	{ "max-conns", OPT_MAX_CONNS, "N", 0, "Connections tracked at once (default 65536)", 0 },
	{ "no-tls", OPT_NO_TLS, NULL, 0, "Do not probe TLS libraries (TLS traffic stays opaque)", 0 },
	{ "no-sched", OPT_NO_SCHED, NULL, 0,
	  "No scheduler hooks: spans carry no cpu/runq breakdown (and the scheduler pays nothing)", 0 },
	{ "tls-attach", OPT_TLS_ATTACH, "file|process", 0,
	  "TLS probes per library file (default: new processes seen at once, every process "
	  "mapping it takes a trap) or per traced process (untraced ones pay nothing)", 0 },
	{ "otlp", OPT_OTLP, "URL", 0,
	  "Also send spans to an OpenTelemetry collector over OTLP/HTTP (protobuf); "
	  "host:port means http://host:port/v1/traces", 0 },
	{ "otlp-json", OPT_OTLP_JSON, NULL, 0, "OTLP/HTTP JSON instead of protobuf", 0 },
	{ "otlp-queue", OPT_OTLP_QUEUE, "N", 0,
	  "Spans waiting for the collector at most (default 8192; more are dropped and counted)", 0 },
	{ "traces", OPT_TRACES, NULL, 0,
	  "Each finished trace as a tree with its critical path (text), or a trace record "
	  "after its spans (--json)", 0 },
	{ "listen", OPT_LISTEN, "ADDR:PORT", 0,
	  "Serve live views over HTTP: /tracez, /servicez, /metrics (Prometheus); PORT or :PORT "
	  "means 127.0.0.1, another address only when given", 0 },
	{ "owners", OPT_OWNERS, "FILE", 0,
	  "Owners of containers: lines 'PATTERN team=... source=... pager=...' (a glob on the "
	  "container's name), over what the runtime's labels say", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's messages", 0 },
	{},
};

static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	if (*end || v < min || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'c':
	case 'g':
	case 'p':
		if (env.nsel == MAX_SELECTIONS)
			argp_error(state, "at most %d selections", MAX_SELECTIONS);
		env.sel[env.nsel].kind = key == 'c' ? SEL_CONTAINER : key == 'g' ? SEL_CGROUP : SEL_PID;
		env.sel[env.nsel++].arg = arg;
		break;
	case 'a':
		env.all = true;
		break;
	case 'j':
		env.json = true;
		break;
	case 'v':
		env.verbose = true;
		break;
	case OPT_TRACES:
		env.traces = true;
		break;
	case OPT_OWNERS:
		env.owners_file = arg;
		break;
	case OPT_NO_TLS:
		env.no_tls = true;
		break;
	case OPT_NO_SCHED:
		env.no_sched = true;
		break;
	case OPT_TLS_ATTACH:
		if (strcmp(arg, "file") && strcmp(arg, "process"))
			argp_error(state, "--tls-attach %s: file or process", arg);
		env.tls_per_process = !strcmp(arg, "process");
		break;
	case 'd': {
		char *end;

		env.duration = strtod(arg, &end);
		if (*end || env.duration <= 0)
			argp_error(state, "--duration %s: a positive number of seconds", arg);
		break;
	}
	case OPT_CAPTURE:
		if (parse_u32(arg, 0, ZT_CAPTURE_MAX, &env.capture_bytes))
			argp_error(state, "--capture-bytes %s: 0 to %d", arg, ZT_CAPTURE_MAX);
		break;
	case OPT_RINGBUF:
		if (parse_u32(arg, 4096, 1u << 30, &env.ringbuf_size) ||
		    (env.ringbuf_size & (env.ringbuf_size - 1)))
			argp_error(state, "--ringbuf-size %s: a power of two, 4K to 1024M", arg);
		break;
	case OPT_HOOKS:
		if (zt_hook_mode_parse(arg, &env.hooks))
			argp_error(state, "--hooks %s: auto, fentry, kprobe or tracepoint", arg);
		break;
	case OPT_MAX_CONNS:
		if (parse_u32(arg, 16, 1u << 24, &env.max_conns))
			argp_error(state, "--max-conns %s: 16 to 16777216", arg);
		break;
	case OPT_OTLP:
		if (!*arg || (strstr(arg, "://") && strncmp(arg, "http://", 7) &&
			      strncmp(arg, "https://", 8)))
			argp_error(state, "--otlp %s: host:port, or an http:// or https:// URL", arg);
		env.otlp.url = arg;
		break;
	case OPT_OTLP_JSON:
		env.otlp.json = true;
		break;
	case OPT_LISTEN: {
		struct sockaddr_storage ss;
		socklen_t sl;
		bool lo;

		if (zl_listen_parse(arg, &ss, &sl, &lo))
			argp_error(state, "--listen %s: ADDR:PORT, [IPV6]:PORT, :PORT or PORT "
				   "(port 1 to 65535; without an address, 127.0.0.1)", arg);
		env.listen = arg;
		break;
	}
	case OPT_OTLP_QUEUE:
		if (parse_u32(arg, 1, 1u << 20, &env.otlp.queue_max))
			argp_error(state, "--otlp-queue %s: 1 to 1048576", arg);
		break;
	case ARGP_KEY_END:
		if ((env.otlp.json || env.otlp.queue_max) && !env.otlp.url)
			argp_error(state, "--otlp-json and --otlp-queue go with --otlp URL");
		if (!env.nsel && !env.all)
			argp_error(state, "say what to trace: --container, --cgroup, --pid or --all");
		if (env.nsel && env.all)
			argp_error(state, "--all traces everything: it does not combine with a selection");
		if (env.all && env.tls_per_process)
			argp_error(state, "--tls-attach process: with --all every process is traced, "
				   "probe the files (--tls-attach file)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (!env.verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static __attribute__((format(printf, 1, 2))) int die_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("ztrace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

/* Kernel timestamps are CLOCK_MONOTONIC; spans speak unix time. */
static int64_t mono_to_unix_offset(void)
{
	struct timespec m1, r, m2;

	clock_gettime(CLOCK_MONOTONIC, &m1);
	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m2);
	int64_t mono = ((int64_t)m1.tv_sec * 1000000000 + m1.tv_nsec +
			(int64_t)m2.tv_sec * 1000000000 + m2.tv_nsec) / 2;
	return (int64_t)r.tv_sec * 1000000000 + r.tv_nsec - mono;
}

/* Resolves every selection to a cgroup id; describes them in `desc`. */
static int resolve_selections(const char *root, uint64_t *ids, char *desc, size_t descsz)
{
	size_t off = 0;
	size_t rootlen = strlen(root);

	for (int i = 0; i < env.nsel; i++) {
		char dir[ZT_CGROUP_PATH_MAX], err[512];
		const char *arg = env.sel[i].arg;
		int ret;

		if (env.sel[i].kind == SEL_CGROUP) {
			ret = zt_cgroup_resolve_path(root, NULL, arg, dir, sizeof(dir), err, sizeof(err));
		} else if (env.sel[i].kind == SEL_CONTAINER) {
			ret = zt_cgroup_resolve_container(root, arg, dir, sizeof(dir), err, sizeof(err));
		} else {
			char *end;
			long pid = strtol(arg, &end, 10);

			if (*end || pid <= 0 || pid > INT_MAX) {
				snprintf(err, sizeof(err), "--pid %s: not a process id", arg);
				ret = -EINVAL;
			} else {
				ret = zt_cgroup_resolve_pid(root, "/proc", (pid_t)pid, dir, sizeof(dir),
							    err, sizeof(err));
			}
		}
		if (ret)
			return die_usage("%s", err);
		ids[i] = zt_cgroup_id(dir);
		if (!ids[i])
			return die_usage("%s: cannot read its cgroup id", dir);
		const char *rel = dir + (strncmp(dir, root, rootlen) ? 0 : rootlen);

		while (*rel == '/')
			rel++;
		env.sel_rel[i] = strdup(rel);
		if (!env.sel_rel[i])
			return die_usage("out of memory");
		off += snprintf(desc + off, descsz - off, "%s%s (id %llu)", i ? ", " : "",
				*rel ? rel : "/", (unsigned long long)ids[i]);
		if (off >= descsz)
			off = descsz - 1;
	}
	return 0;
}

/* Is this process in what we trace? */
static bool pid_selected(pid_t pid)
{
	char rel[ZT_CGROUP_PATH_MAX];

	if (env.all)
		return true;
	if (zt_cgroup_pid_rel("/proc", pid, rel, sizeof(rel)))
		return false;
	for (int i = 0; i < env.nsel; i++)
		if (env.sel_rel[i] && zt_cgroup_rel_within(rel, env.sel_rel[i]))
			return true;
	return false;
}

/* The TLS libraries of the processes running now; later ones come by exec. */
static void tls_scan_running(struct zt_tls *tls)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d) {
		fprintf(stderr, "ztrace: tls: cannot list /proc: %s\n", strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		char *end;
		long pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || pid == getpid() || !pid_selected((pid_t)pid))
			continue;
		zt_tls_scan_pid(tls, (pid_t)pid);
	}
	closedir(d);
}

static void tls_on_exec(void *ctx, uint32_t pid, bool forked)
{
	if (forked)
		zt_tls_fork(ctx, (pid_t)pid);
	else
		zt_tls_exec(ctx, (pid_t)pid);
}

static struct zt_live *live;

/* After every drain: TLS libraries to probe, the live views to publish. */
struct poll_ctx {
	struct zt_tls *tls;
	struct zt_run *run;
};

static void on_poll(void *ctx)
{
	struct poll_ctx *p = ctx;

	if (p->tls)
		zt_tls_tick(p->tls);
	if (live) {
		const char *names[ZL_DROPS_MAX];
		uint64_t values[ZL_DROPS_MAX];
		struct zl_drop drops[ZL_DROPS_MAX];
		int n = zt_drain_drops(p->run, names, values, ZL_DROPS_MAX);

		for (int i = 0; i < n; i++) {
			snprintf(drops[i].name, sizeof(drops[i].name), "%s", names[i]);
			drops[i].value = values[i];
		}
		zt_live_poll(live, p->run->tracer, drops, n);
	}
}

static struct zt_otlp *otlp;
static struct zt_owners *owners;

static void owners_summary(void)
{
	const struct zt_owners_stats *st = zt_owners_stats(owners);

	fprintf(stderr, "ztrace: owners: cgroups=%llu known=%llu runtime=%llu rechecks=%llu "
		"resets=%llu owners=%llu owners_full=%llu\n", (unsigned long long)st->cgroups,
		(unsigned long long)st->known, (unsigned long long)st->runtime_found,
		(unsigned long long)st->rechecks, (unsigned long long)st->resets,
		(unsigned long long)st->owners, (unsigned long long)st->answers_full);
}

/* Queued spans get a bounded time to reach the collector, then the count. */
static void otlp_summary(void)
{
	struct zt_otlp_stats st;

	zt_otlp_stop(otlp, 5000);
	zt_otlp_get_stats(otlp, &st);
	fprintf(stderr, "ztrace: otlp: sent=%llu batches=%llu retries=%llu dropped_queue_full=%llu "
		"dropped_rejected=%llu dropped_at_exit=%llu\n", (unsigned long long)st.sent,
		(unsigned long long)st.batches, (unsigned long long)st.retries,
		(unsigned long long)st.dropped_queue_full, (unsigned long long)st.dropped_rejected,
		(unsigned long long)st.dropped_at_exit);
	zt_otlp_free(otlp);
	otlp = NULL;
}

static void print_span(void *ctx, struct zt_span *s)
{
	struct zt_outbuf *out = ctx;

	if (otlp)
		zt_otlp_submit(otlp, s);
	if (env.json)
		zt_json_span(out, s);
	else if (!env.traces)
		zt_text_span(out, s);
}

static void print_trace(void *ctx, const struct zt_trace_out *t)
{
	struct zt_outbuf *out = ctx;
	struct zt_tree tree;

	if (live)
		zt_live_trace(live, t);
	if (!env.traces || zt_tree_analyse(&tree, t))
		return;
	if (env.json)
		zt_json_trace(out, &tree);
	else
		zt_text_trace(out, &tree);
	zt_tree_free(&tree);
}

int main(int argc, char **argv)
{
	static const struct argp argp = { .options = opts, .parser = parse_arg, .doc = doc };
	char root[ZT_CGROUP_PATH_MAX], desc[2048] = "every cgroup", layout[ZT_CGROUP_PATH_MAX + 64];
	char v1_name[32];
	int v1_ssid = -1;
	uint64_t ids[MAX_SELECTIONS];
	struct zt_bpf bpf = {};
	struct zt_outbuf out;
	struct zt_tracer *tracer = NULL;
	struct zt_tls *tls = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t seed;
	int ret;

	argp_err_exit_status = EXIT_USAGE;
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	libbpf_set_print(libbpf_print);
	{
		char err[512];

		/* First: a mistake in the file is the user's to fix, said
		 * before anything else is checked or loaded. */
		owners = zt_owners_new(env.owners_file, err, sizeof(err));
		if (!owners)
			return die_usage("--owners %s", err);
	}

	if (geteuid() != 0)
		return die_usage("must run as root (loading BPF programs needs CAP_BPF, "
				 "CAP_PERFMON and CAP_SYS_ADMIN)");
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return die_usage("this kernel has no BTF (/sys/kernel/btf/vmlinux): ztrace needs "
				 "a kernel built with CONFIG_DEBUG_INFO_BTF=y");
	if (!zt_cgroup2_find_root("/proc/self/mountinfo", root, sizeof(root))) {
		snprintf(layout, sizeof(layout), "cgroup2 at %s", root);
	} else if (!zt_cgroup1_pick("/proc/self/mountinfo", root, sizeof(root), v1_name,
				    sizeof(v1_name))) {
		v1_ssid = zt_kernel_cgroup_ssid(v1_name);
		if (v1_ssid < 0)
			return die_usage("cgroup v1: no subsystem id for %s in the kernel's BTF", v1_name);
		snprintf(layout, sizeof(layout), "cgroup v1, the %s hierarchy at %s", v1_name, root);
	} else {
		return die_usage("no cgroup2 mount in /proc/self/mountinfo, nor a cgroup v1 hierarchy "
				 "of pids, cpu, memory, devices, freezer, blkio or cpuset: mount one "
				 "(mount -t cgroup2 none /sys/fs/cgroup/unified)");
	}
	if (!env.all && (ret = resolve_selections(root, ids, desc, sizeof(desc))))
		return ret;

	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	zt_ids_seed(seed);
	if (zt_outbuf_init(&out, STDOUT_FILENO, 256 << 10))
		return die_usage("out of memory");

	struct zt_load_opts lo = {
		.trace_all = env.all,
		.capture_bytes = env.capture_bytes,
		.ringbuf_size = env.ringbuf_size,
		.hooks = env.hooks,
		.tls = !env.no_tls,
		.sched = !env.no_sched,
		.cgroup_v1 = v1_ssid >= 0,
		.v1_ssid = v1_ssid,
		.announce_execs = !env.no_tls,
		.announce_forks = !env.no_tls && env.tls_per_process,
		.cgroup_ids = ids,
		.ncgroups = env.all ? 0 : env.nsel,
	};
	ret = zt_bpf_load(&bpf, &lo);
	if (ret) {
		zt_outbuf_free(&out);
		/* A kernel that lacks what we need is the user's situation to
		 * fix, like a bad argument: exit 2, the message is out. */
		return EXIT_USAGE;
	}

	struct zt_tracer_opts to = {
		.max_conns = env.max_conns,
		.mono_to_unix = mono_to_unix_offset(),
		.cgroup_root = root,
		.owners = owners,
		.on_span = print_span,
		.on_trace = env.traces || env.listen ? print_trace : NULL,
		.defer_close = true,
		.ctx = &out,
	};
	if (bpf.tls && !(tls = zt_tls_new(zt_bpf_object(&bpf), "/proc", env.tls_per_process))) {
		zt_bpf_destroy(&bpf);
		zt_outbuf_free(&out);
		return die_usage("out of memory");
	}
	if (tls) {
		to.on_exec = tls_on_exec;
		to.exec_ctx = tls;
	}
	tracer = zt_tracer_new(&to);
	if (!tracer) {
		zt_tls_free(tls);
		zt_bpf_destroy(&bpf);
		zt_outbuf_free(&out);
		return die_usage("out of memory");
	}

	if (env.otlp.url) {
		char err[256];

		/* Before the signal handlers: the sender thread blocks signals. */
		otlp = zt_otlp_new(&env.otlp, err, sizeof(err));
		if (!otlp) {
			zt_tracer_free(tracer);
			zt_tls_free(tls);
			zt_bpf_destroy(&bpf);
			zt_outbuf_free(&out);
			return die_usage("%s", err);
		}
	}
	if (env.listen) {
		char err[256];

		struct zt_live_opts lv = {
			.listen = env.listen,
			.owners = owners,
			.hooks = bpf.hooks_desc,
			.ringbuf_fd = zt_bpf_events_fd(&bpf),
			.ringbuf_size = env.ringbuf_size,
		};
		/* Its own thread, signals blocked there. */
		if (!(live = zt_live_new(&lv, err, sizeof(err)))) {
			if (otlp)
				zt_otlp_free(otlp);
			zt_tracer_free(tracer);
			zt_tls_free(tls);
			zt_bpf_destroy(&bpf);
			zt_outbuf_free(&out);
			return die_usage("%s", err);
		}
		fprintf(stderr, "ztrace: live views on http://%s/tracez /servicez /metrics%s\n",
			zt_live_addr(live), zt_live_loopback(live) ? "" :
			" (not a loopback address: whoever reaches it reads them)");
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!env.json && !env.traces) {
		zt_text_header(&out);
		zt_outbuf_flush(&out);
	}
	fprintf(stderr, "ztrace: tracing %s%s; hooks: %s; capture %u bytes, ring buffer %u KiB; "
			"%s\n", desc, env.all ? "" : " and below", bpf.hooks_desc, env.capture_bytes,
		env.ringbuf_size >> 10, layout);
	if (tls)
		tls_scan_running(tls);
	/* Loading parsed the kernel's BTF (megabytes, several times over while
	 * probing hooks) on the heap; freed, but kept by malloc unless asked. */
	malloc_trim(0);

	struct zt_run run;
	struct poll_ctx pc = { tls, &run };

	run = (struct zt_run){
		.bpf = &bpf,
		.tracer = tracer,
		.out = &out,
		.stop = &stop,
		.duration_s = env.duration,
		.poll_ms = 10,
		.status_interval_s = 5,
		.on_poll = tls || live ? on_poll : NULL,
		.poll_ctx = &pc,
		.tls = tls ? zt_tls_stats(tls) : NULL,
	};
	ret = zt_drain_run(&run);
	zt_drain_summary(&run);
	if (otlp)
		otlp_summary();
	/* The server first: its thread reads what the tracer made. */
	zt_live_free(live);
	live = NULL;
	zt_tls_free(tls);
	zt_bpf_destroy(&bpf);
	zt_tracer_free(tracer);
	zt_outbuf_flush(&out);
	zt_outbuf_free(&out);
	owners_summary();
	/* Last: spans, the OTLP queue and traces point into it. */
	zt_owners_free(owners);
	for (int i = 0; i < env.nsel; i++)
		free(env.sel_rel[i]);
	return ret ? 1 : 0;
}
