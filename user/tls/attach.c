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
/* Files probed at once; each holds ZT_TLS_NPROBES links. */
#define MAX_FILES_PROBED 64
/* Exec'd processes waiting for a look. */
#define MAX_PENDING 1024

struct probe {
	const char *prog;
	const char *func;
	bool retprobe;
	bool required; /* SSL_*_ex came with OpenSSL 1.1.1 */
};

static const struct probe probes[] = {
	{ "zt_ssl_write", "SSL_write", false, true },
	{ "zt_ssl_read", "SSL_read", false, true },
	{ "zt_ssl_read_ret", "SSL_read", true, true },
	{ "zt_ssl_free", "SSL_free", false, true },
	{ "zt_ssl_write_ex", "SSL_write_ex", false, false },
	{ "zt_ssl_read_ex", "SSL_read_ex", false, false },
	{ "zt_ssl_read_ex_ret", "SSL_read_ex", true, false },
};
#define ZT_TLS_NPROBES (sizeof(probes) / sizeof(probes[0]))

/* After an exec, look this long later (ms), each in turn. */
static const int look_after_ms[] = { 0, 20, 100, 500, 2000, 5000 };

struct file_key {
	dev_t dev;
	ino_t ino;
};

struct pending {
	pid_t pid;
	int step;
	uint64_t due_ms;
};

struct zt_tls {
	struct bpf_object *obj;
	const char *proc;
	struct file_key seen[MAX_FILES_SEEN];
	int nseen;
	bool seen_full_said;
	struct bpf_link *links[MAX_FILES_PROBED][ZT_TLS_NPROBES];
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

struct zt_tls *zt_tls_new(struct bpf_object *obj, const char *proc)
{
	struct zt_tls *t = calloc(1, sizeof(*t));

	if (!t) {
		fprintf(stderr, "ztrace: tls: out of memory\n");
		return NULL;
	}
	t->obj = obj;
	t->proc = proc;
	return t;
}

void zt_tls_free(struct zt_tls *t)
{
	if (!t)
		return;
	for (uint32_t f = 0; f < t->st.files; f++)
		for (size_t i = 0; i < ZT_TLS_NPROBES; i++)
			bpf_link__destroy(t->links[f][i]);
	free(t);
}

/* True the first time a file is met; remembered from then on. */
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
			fprintf(stderr, "ztrace: tls: more than %d executable files met; "
					"files are now looked at each time\n", MAX_FILES_SEEN);
		t->seen_full_said = true;
		return true;
	}
	t->seen[t->nseen].dev = sb.st_dev;
	t->seen[t->nseen++].ino = sb.st_ino;
	return true;
}

static void probe_file(struct zt_tls *t, const char *path, const char *shown, pid_t pid)
{
	struct bpf_link **links;
	int attached = 0;

	if (t->st.files == MAX_FILES_PROBED) {
		t->st.failed++;
		fprintf(stderr, "ztrace: tls: %s not probed: %d library files probed already\n",
			shown, MAX_FILES_PROBED);
		return;
	}
	links = t->links[t->st.files];
	for (size_t i = 0; i < ZT_TLS_NPROBES; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = probes[i].func,
			    .retprobe = probes[i].retprobe);
		struct bpf_program *p = bpf_object__find_program_by_name(t->obj, probes[i].prog);

		links[i] = p ? bpf_program__attach_uprobe_opts(p, -1, path, 0, &o) : NULL;
		if (links[i]) {
			attached++;
			continue;
		}
		if (!probes[i].required)
			continue;
		fprintf(stderr, "ztrace: tls: cannot probe %s in %s (pid %d): %s; its TLS "
				"traffic stays opaque\n", probes[i].func, shown, (int)pid,
			strerror(errno));
		for (size_t j = 0; j < i; j++) {
			bpf_link__destroy(links[j]);
			links[j] = NULL;
		}
		t->st.failed++;
		return;
	}
	t->st.files++;
	fprintf(stderr, "ztrace: tls: probing %s (%d probes, first seen in pid %d)\n", shown,
		attached, (int)pid);
}

struct scan_ctx {
	struct zt_tls *t;
	pid_t pid;
};

static void on_libssl(void *ctx, const char *path)
{
	struct scan_ctx *s = ctx;
	char full[4200];

	snprintf(full, sizeof(full), "%s/%d/root%s", s->t->proc, (int)s->pid, path);
	if (first_sight(s->t, full))
		probe_file(s->t, full, path, s->pid);
}

void zt_tls_scan_pid(struct zt_tls *t, pid_t pid)
{
	struct scan_ctx s = { t, pid };
	char path[64];
	FILE *f;

	t->st.scans++;
	snprintf(path, sizeof(path), "%s/%d/maps", t->proc, (int)pid);
	f = fopen(path, "re");
	if (!f)
		return; /* gone already: nothing to trace */
	zt_maps_for_each_libssl(f, on_libssl, &s);
	fclose(f);
	/* OpenSSL linked in statically: the executable itself. */
	snprintf(path, sizeof(path), "%s/%d/exe", t->proc, (int)pid);
	if (first_sight(t, path) && zt_elf_defines(path, "SSL_write") == 1) {
		char shown[512];
		ssize_t n = readlink(path, shown, sizeof(shown) - 1);

		shown[n > 0 ? n : 0] = '\0';
		probe_file(t, path, n > 0 ? shown : path, pid);
	}
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

void zt_tls_tick(struct zt_tls *t)
{
	uint64_t now;
	int n;

	if (!t->nq)
		return;
	now = now_ms();
	n = t->nq;
	for (int i = 0; i < n;) {
		struct pending p = t->q[i];

		if (p.due_ms > now) {
			i++;
			continue;
		}
		t->q[i] = t->q[--n];
		t->nq = n;
		zt_tls_scan_pid(t, p.pid);
		if (p.step + 1 < (int)(sizeof(look_after_ms) / sizeof(look_after_ms[0]))) {
			enqueue(t, p.pid, p.step + 1, now);
			n = t->nq;
		}
	}
}

const struct zt_tls_stats *zt_tls_stats(const struct zt_tls *t)
{
	return &t->st;
}
