// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "attach.h"
#include "libs.h"

/* Files remembered (probed, or looked at and found without OpenSSL). */
#define MAX_FILES_SEEN 4096
/* Files probed at once; each holds up to MAX_PROBES links. */
#define MAX_FILES_PROBED 64
/* Exec'd (or, probing per process, forked) processes waiting for a look. */
#define MAX_PENDING 1024
/* Processes probed one by one (each holds up to MAX_PROBES links). */
#define MAX_PROCS 4096

struct probe {
	const char *prog;
	const char *func;    /* symbol, or NULL: at `off` */
	uint64_t off;
	bool retprobe;
	bool required;
};

/*
 * Where the probes go. A uprobe on an instruction the kernel cannot emulate
 * (OpenSSL's public functions begin with `sub $N,%rsp`) is single-stepped
 * out of line: two traps, ~10 us a call on this VM. SSL_read and SSL_read_ex
 * both call ssl_read_internal (SSL_write* ssl_write_internal) with the
 * _ex arguments, and those begin with `push`, which is emulated: one trap,
 * ~0.5 us, and one probe covers both entry points. The internal functions
 * are found by name where the symbols are kept (static builds), else as
 * the call target both public functions agree on. Otherwise, or with
 * ZT_TLS_PROBES=public in the environment, the public functions are probed.
 */
#define MAX_PROBES 7

struct sites {
	struct probe p[MAX_PROBES];
	int n;
	const char *how;
};

static void site(struct sites *s, const char *prog, const char *func, uint64_t off, bool ret,
		 bool required)
{
	s->p[s->n++] = (struct probe){ prog, func, off, ret, required };
}

static void public_sites(struct sites *s)
{
	s->n = 0;
	s->how = "SSL_read/SSL_write";
	site(s, "zt_ssl_write", "SSL_write", 0, false, true);
	site(s, "zt_ssl_read", "SSL_read", 0, false, true);
	site(s, "zt_ssl_read_ret", "SSL_read", 0, true, true);
	site(s, "zt_ssl_free", "SSL_free", 0, false, true);
	/* SSL_*_ex came with OpenSSL 1.1.1 */
	site(s, "zt_ssl_write_ex", "SSL_write_ex", 0, false, false);
	site(s, "zt_ssl_read_ex", "SSL_read_ex", 0, false, false);
	site(s, "zt_ssl_read_ex_ret", "SSL_read_ex", 0, true, false);
}

#if defined(__x86_64__)
/* File offset of the internal function behind `pub` and `pub_ex`. */
static bool internal_site(const char *path, const char *local, const char *pub,
			  const char *pub_ex, uint64_t *off)
{
	struct zt_elf_func a = {}, b = {}, t = {};
	uint64_t ta, tb;

	if (!zt_elf_func(path, local, &t)) {
		*off = t.off;
		return true;
	}
	if (zt_elf_func(path, pub, &a) || zt_elf_func(path, pub_ex, &b))
		return false;
	ta = zt_x86_first_call(a.code, a.ncode, a.vaddr);
	tb = zt_x86_first_call(b.code, b.ncode, b.vaddr);
	if (!ta || ta != tb)
		return false;
	t.vaddr = ta;
	if (zt_elf_func(path, NULL, &t))
		return false;
	*off = t.off;
	return true;
}
#endif

static void choose_sites(const char *path, struct sites *s)
{
	const char *force = getenv("ZT_TLS_PROBES");

	public_sites(s);
	if (force && !strcmp(force, "public"))
		return;
#if defined(__x86_64__)
	uint64_t rd, wr;

	if (!internal_site(path, "ssl_read_internal", "SSL_read", "SSL_read_ex", &rd) ||
	    !internal_site(path, "ssl_write_internal", "SSL_write", "SSL_write_ex", &wr))
		return;
	s->n = 0;
	s->how = "ssl_read_internal/ssl_write_internal";
	site(s, "zt_ssl_read_ex", NULL, rd, false, true);
	site(s, "zt_ssl_read_ex_ret", NULL, rd, true, true);
	site(s, "zt_ssl_write_ex", NULL, wr, false, true);
	site(s, "zt_ssl_free", "SSL_free", 0, false, true);
#endif
}

/* After an exec, look this long later (ms), each in turn. */
static const int look_after_ms[] = { 0, 20, 100, 500, 2000, 5000 };

struct file_key {
	dev_t dev;
	ino_t ino;
};

/* A file with OpenSSL in it. */
struct tfile {
	struct file_key key;
	struct sites s;
	struct bpf_link *links[MAX_PROBES]; /* attached for every process (pid -1) */
	bool global;
};

/* One process's probes on one file. */
struct tproc {
	pid_t pid;
	unsigned long long start; /* /proc/PID/stat starttime: pids are reused */
	int file;
	struct bpf_link *links[MAX_PROBES];
};

struct pending {
	pid_t pid;
	int step;
	uint64_t due_ms;
};

struct zt_tls {
	struct bpf_object *obj;
	const char *proc;
	bool per_process;
	struct file_key seen[MAX_FILES_SEEN]; /* looked at, OpenSSL or not */
	int nseen;
	bool seen_full_said, procs_full_said;
	struct tfile files[MAX_FILES_PROBED];
	struct tproc *procs; /* MAX_PROCS */
	int nprocs;
	uint64_t last_sweep_ms;
	struct pending q[MAX_PENDING];
	int nq;
	struct zt_tls_stats st;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct zt_tls *zt_tls_new(struct bpf_object *obj, const char *proc, bool per_process)
{
	struct zt_tls *t = calloc(1, sizeof(*t));

	if (t && per_process)
		t->procs = calloc(MAX_PROCS, sizeof(*t->procs));
	if (!t || (per_process && !t->procs)) {
		free(t);
		fprintf(stderr, "ztrace: tls: out of memory\n");
		return NULL;
	}
	t->obj = obj;
	t->proc = proc;
	t->per_process = per_process;
	return t;
}

static void detach(struct bpf_link **links)
{
	for (int i = 0; i < MAX_PROBES; i++) {
		bpf_link__destroy(links[i]);
		links[i] = NULL;
	}
}

void zt_tls_free(struct zt_tls *t)
{
	if (!t)
		return;
	for (int f = 0; f < (int)t->st.files; f++)
		detach(t->files[f].links);
	for (int p = 0; p < t->nprocs; p++)
		detach(t->procs[p].links);
	free(t->procs);
	free(t);
}

/* Probes one file, for `pid` or (pid -1) every process. Returns 0 or -errno. */
static int attach_sites(struct zt_tls *t, const struct sites *s, const char *path, pid_t pid,
			const char *shown, struct bpf_link **links)
{
	for (int i = 0; i < s->n; i++) {
		const struct probe *p = &s->p[i];
		LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = p->func, .retprobe = p->retprobe);
		struct bpf_program *prog = bpf_object__find_program_by_name(t->obj, p->prog);

		links[i] = prog ? bpf_program__attach_uprobe_opts(prog, pid, path, p->off, &o) : NULL;
		if (links[i] || !p->required)
			continue;
		int err = -errno;

		detach(links);
		/* A process gone while we attached is not worth a line. */
		if (pid > 0 && (err == -ESRCH || err == -ENOENT))
			return err;
		fprintf(stderr, "ztrace: tls: cannot probe %s in %s (pid %d): %s; its TLS "
				"traffic stays opaque\n", p->func ? p->func : "an internal function",
			shown, (int)pid, strerror(-err));
		return err;
	}
	return 0;
}

static unsigned long long proc_start(struct zt_tls *t, pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long start = 0;
	const char *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%d/stat", t->proc, (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Past the command name, which may hold spaces and parentheses. */
	p = strrchr(buf, ')');
	if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
				 "%*d %*d %*d %llu", &start) != 1)
		start = 0;
	return start;
}

/* The file's entry, made (and its sites chosen) the first time. */
static int file_index(struct zt_tls *t, const struct stat *sb, const char *path, const char *shown,
		      pid_t pid)
{
	struct tfile *f;

	for (int i = 0; i < (int)t->st.files; i++)
		if (t->files[i].key.dev == sb->st_dev && t->files[i].key.ino == sb->st_ino)
			return i;
	if (t->st.files == MAX_FILES_PROBED) {
		t->st.failed++;
		fprintf(stderr, "ztrace: tls: %s not probed: %d library files probed already\n",
			shown, MAX_FILES_PROBED);
		return -ENOSPC;
	}
	f = &t->files[t->st.files];
	memset(f, 0, sizeof(*f));
	f->key.dev = sb->st_dev;
	f->key.ino = sb->st_ino;
	choose_sites(path, &f->s);
	/* --all traces every process: one attachment serves them all. */
	if (!t->per_process) {
		if (attach_sites(t, &f->s, path, -1, shown, f->links)) {
			t->st.failed++;
			return -EINVAL;
		}
		f->global = true;
	}
	fprintf(stderr, "ztrace: tls: probing %s at %s (first seen in pid %d)%s\n", shown, f->s.how,
		(int)pid, t->per_process ? ", process by process" : "");
	return (int)t->st.files++;
}

/* Probes `path` (an OpenSSL file mapped by `pid`) for that process. True
 * when the process's calls into it are probed now. */
static bool probe(struct zt_tls *t, const char *path, const char *shown, pid_t pid)
{
	struct stat sb;
	struct tproc *p;
	int fi;

	if (stat(path, &sb))
		return false;
	fi = file_index(t, &sb, path, shown, pid);
	if (fi < 0)
		return false;
	if (t->files[fi].global)
		return true;
	for (int i = 0; i < t->nprocs; i++)
		if (t->procs[i].pid == pid && t->procs[i].file == fi)
			return true;
	if (t->nprocs == MAX_PROCS) {
		/* Never miss a process: past the bound, the file is probed
		 * for all, and the untraced pay a trap per call too. */
		if (!t->procs_full_said)
			fprintf(stderr, "ztrace: tls: more than %d processes probed; %s is now probed "
					"for every process\n", MAX_PROCS, shown);
		t->procs_full_said = true;
		if (!attach_sites(t, &t->files[fi].s, path, -1, shown, t->files[fi].links))
			t->files[fi].global = true;
		return t->files[fi].global;
	}
	p = &t->procs[t->nprocs];
	memset(p, 0, sizeof(*p));
	if (attach_sites(t, &t->files[fi].s, path, pid, shown, p->links))
		return false;
	p->pid = pid;
	p->file = fi;
	p->start = proc_start(t, pid);
	t->nprocs++;
	t->st.procs = t->nprocs;
	return true;
}

/* True the first time an executable is met (it is checked for a static
 * OpenSSL once). */
static bool first_sight(struct zt_tls *t, const char *path)
{
	struct stat sb;

	if (stat(path, &sb))
		return false;
	for (int i = 0; i < t->nseen; i++)
		if (t->seen[i].dev == sb.st_dev && t->seen[i].ino == sb.st_ino)
			return false;
	if (t->nseen == MAX_FILES_SEEN) {
		/* Looked at again next time: slower, never wrong. */
		if (!t->seen_full_said)
			fprintf(stderr, "ztrace: tls: more than %d executables met; "
					"they are now looked at each time\n", MAX_FILES_SEEN);
		t->seen_full_said = true;
		return true;
	}
	t->seen[t->nseen].dev = sb.st_dev;
	t->seen[t->nseen++].ino = sb.st_ino;
	return true;
}

/* Executables with OpenSSL linked in, by file: the answer is kept. */
static bool exe_has_openssl(struct zt_tls *t, const char *path)
{
	struct stat sb;

	if (stat(path, &sb))
		return false;
	for (int i = 0; i < (int)t->st.files; i++)
		if (t->files[i].key.dev == sb.st_dev && t->files[i].key.ino == sb.st_ino)
			return true;
	return first_sight(t, path) && zt_elf_defines(path, "SSL_write") == 1;
}

struct scan_ctx {
	struct zt_tls *t;
	pid_t pid;
	int probed; /* OpenSSL files whose calls from pid are probed */
};

static void on_libssl(void *ctx, const char *path)
{
	struct scan_ctx *s = ctx;
	char full[4200];

	snprintf(full, sizeof(full), "%s/%d/root%s", s->t->proc, (int)s->pid, path);
	s->probed += probe(s->t, full, path, s->pid);
}

int zt_tls_scan_pid(struct zt_tls *t, pid_t pid)
{
	struct scan_ctx s = { t, pid, 0 };
	char path[64];
	FILE *f;

	t->st.scans++;
	snprintf(path, sizeof(path), "%s/%d/maps", t->proc, (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -ESRCH; /* gone already: nothing to trace */
	zt_maps_for_each_libssl(f, on_libssl, &s);
	fclose(f);
	/* OpenSSL linked in statically: the executable itself. */
	snprintf(path, sizeof(path), "%s/%d/exe", t->proc, (int)pid);
	if (exe_has_openssl(t, path)) {
		char shown[512];
		ssize_t n = readlink(path, shown, sizeof(shown) - 1);

		shown[n > 0 ? n : 0] = '\0';
		s.probed += probe(t, path, n > 0 ? shown : path, pid);
	}
	return s.probed;
}

static void enqueue(struct zt_tls *t, pid_t pid, int step, uint64_t now)
{
	if (t->nq == MAX_PENDING) {
		t->st.scans_dropped++;
		return;
	}
	t->q[t->nq].pid = pid;
	t->q[t->nq].step = step;
	t->q[t->nq++].due_ms = now + look_after_ms[step];
}

void zt_tls_exec(struct zt_tls *t, pid_t pid)
{
	enqueue(t, pid, 0, now_ms());
}

void zt_tls_fork(struct zt_tls *t, pid_t pid)
{
	/* Only per-process probes need it (a forked child does not inherit
	 * them). Its maps are its parent's, which may still be loading its
	 * libraries: looked at like an exec. */
	if (t->per_process)
		enqueue(t, pid, 0, now_ms());
}

/* Probes of processes that are gone go with them. */
static void sweep(struct zt_tls *t)
{
	for (int i = 0; i < t->nprocs;) {
		struct tproc *p = &t->procs[i];

		if (proc_start(t, p->pid) == p->start) {
			i++;
			continue;
		}
		detach(p->links);
		*p = t->procs[--t->nprocs];
		t->st.procs = t->nprocs;
	}
}

void zt_tls_tick(struct zt_tls *t)
{
	uint64_t now = now_ms();
	int n;

	if (t->per_process && now - t->last_sweep_ms >= 1000) {
		sweep(t);
		t->last_sweep_ms = now;
	}
	n = t->nq;
	for (int i = 0; i < n;) {
		struct pending p = t->q[i];

		if (p.due_ms > now) {
			i++;
			continue;
		}
		t->q[i] = t->q[--n];
		t->nq = n;
		/* Looked at again only while nothing was found (its library may
		 * come by dlopen) and while it lives. */
		if (zt_tls_scan_pid(t, p.pid) == 0 &&
		    p.step + 1 < (int)(sizeof(look_after_ms) / sizeof(look_after_ms[0]))) {
			enqueue(t, p.pid, p.step + 1, now);
			n = t->nq;
		}
	}
}

const struct zt_tls_stats *zt_tls_stats(const struct zt_tls *t)
{
	return &t->st;
}
