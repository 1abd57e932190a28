// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Selections (--cgroup, --pid, --container) resolve to a cgroup2 directory;
 * cgroup ids from events resolve back to names. Everything reads plain files
 * and directories so that tests can hand in a fake tree.
 *
 * Walks of the cgroup tree are bounded in depth and in directories and
 * never follow symlinks: a hostile or merely huge tree costs a bounded walk.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"

#define WALK_MAX_DEPTH 16
#define WALK_MAX_DIRS 200000
#define NAMES_MAX 65536
#define CANDIDATES_MAX 32
#define ID_PREFIX_MIN 6
#define SHORT_ID_LEN 12
#define FULL_ID_LEN 64
#define RESCAN_INTERVAL_NS 1000000000LL
/* A pruned name is freed this long after it left the cache: spans named
 * before hold its pointers while the linker keeps them (at most 4 x
 * ZT_LINK_WAIT_NS = 8 s by default). */
#define NAMES_FREE_DELAY_NS (20LL * 1000000000LL)
#define DOCKER_CONTAINERS "/var/lib/docker/containers"
#define DOCKER_MAX_CONTAINERS 10000
#define DOCKER_CONFIG_MAX (1 << 20)

__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t errsz, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errsz) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return ret;
}

static bool is_hex(const char *s, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Length of `root` without trailing slashes; "/" counts as 0 so that joining
 * it with "/x" gives "/x", not "//x". */
static size_t root_len(const char *root)
{
	size_t n = strlen(root);

	while (n && root[n - 1] == '/')
		n--;
	return n;
}

/* root + rel, where rel is "" or starts with '/'. */
static int join(char *out, size_t outsz, const char *root, const char *rel)
{
	size_t n = root_len(root);
	int len;

	if (!n && !*rel)
		rel = "/";
	len = snprintf(out, outsz, "%.*s%s", (int)n, root, rel);
	return len < 0 || (size_t)len >= outsz ? -ENAMETOOLONG : 0;
}

/* What follows `prefix` in `path` if `path` is `prefix` or below it, with
 * whole components compared ("/a/bc" is not below "/a/b"); NULL otherwise. */
static const char *path_after(const char *path, const char *prefix)
{
	size_t n = root_len(prefix);

	if (strncmp(path, prefix, n) || (path[n] && path[n] != '/'))
		return NULL;
	return path + n;
}

/*
 * `candidate`, made canonical and checked to be a directory inside `root`,
 * so that "..", "//" and symlinks cannot lead outside. Written as root + rel
 * so callers see the root spelled the way they gave it.
 */
static int dir_under_root(const char *root, const char *candidate, char *out, size_t outsz)
{
	char real_root[ZT_CGROUP_PATH_MAX], real[ZT_CGROUP_PATH_MAX];
	const char *rel;
	struct stat st;

	if (!realpath(root, real_root) || !realpath(candidate, real) || stat(real, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	rel = path_after(real, real_root);
	if (!rel)
		return -EXDEV;
	return join(out, outsz, root, rel);
}

static const char *dir_error(int ret)
{
	switch (ret) {
	case -ENOENT:
		return "no such cgroup directory";
	case -ENOTDIR:
		return "not a directory";
	case -EXDEV:
		return "outside the cgroup2 mount";
	default:
		return strerror(-ret);
	}
}

/* ---- mountinfo ---- */

struct mount {
	const char *root, *point, *fstype, *superopts;
};

/* Mount points escape space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (char *r = s; *r; ) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') << 6 | (r[2] - '0') << 3 | (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = 0;
}

/*
 * "id parent maj:min root point opts [optional...] - fstype source superopts",
 * split in place. The optional fields vary in number, hence the search for
 * the "-" separator.
 */
static bool parse_mount(char *line, struct mount *m)
{
	char *f[6], *save = NULL, *tok;
	int n = 0;

	line[strcspn(line, "\n")] = 0;
	for (tok = strtok_r(line, " ", &save); tok && n < 6; tok = strtok_r(NULL, " ", &save))
		f[n++] = tok;
	if (n < 6)
		return false;
	while (tok && strcmp(tok, "-"))
		tok = strtok_r(NULL, " ", &save);
	if (!tok)
		return false;
	m->fstype = strtok_r(NULL, " ", &save);
	if (!m->fstype || !strtok_r(NULL, " ", &save))
		return false;
	m->superopts = strtok_r(NULL, " ", &save);
	if (!m->superopts)
		m->superopts = "";
	unescape_octal(f[3]);
	unescape_octal(f[4]);
	m->root = f[3];
	m->point = f[4];
	return true;
}

/* Calls fn on each mount until it returns true. */
static int for_each_mount(const char *mountinfo, bool (*fn)(void *ctx, const struct mount *m),
			  void *ctx)
{
	FILE *f = fopen(mountinfo, "re");
	char *line = NULL;
	size_t cap = 0;
	struct mount m;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0)
		if (parse_mount(line, &m) && fn(ctx, &m))
			break;
	free(line);
	fclose(f);
	return 0;
}

struct find_root {
	char *out;
	size_t outsz;
	int ret;
	bool found;
};

/* The first cgroup2 mount of the whole hierarchy (root "/") wins; a bind
 * mount of a subtree is only taken when there is nothing better. */
static bool on_cgroup2(void *ctx, const struct mount *m)
{
	struct find_root *fr = ctx;
	bool whole = strcmp(m->root, "/") == 0;

	if (strcmp(m->fstype, "cgroup2") || (fr->found && !whole))
		return false;
	fr->found = true;
	fr->ret = snprintf(fr->out, fr->outsz, "%s", m->point) >= (int)fr->outsz ?
		  -ENAMETOOLONG : 0;
	return whole;
}

int zt_cgroup2_find_root(const char *mountinfo, char *out, size_t outsz)
{
	struct find_root fr = { .out = out, .outsz = outsz };
	int ret = for_each_mount(mountinfo, on_cgroup2, &fr);

	if (ret)
		return ret;
	return fr.found ? fr.ret : -ENOENT;
}

/* ---- pure cgroup v1 ---- */

/*
 * The controllers a runtime gives every container a cgroup in, best first:
 * pids is small and everywhere since 4.3; memory v1 is gone from 6.12.
 */
static const char *const v1_preferred[] = { "pids", "cpu", "cpuacct", "memory", "devices",
					    "freezer", "blkio", "cpuset" };

/* The controller whose /proc/PID/cgroup line places a process;
 * empty: cgroup2 ("0::" lines). Set once by zt_cgroup1_pick. */
static char v1_controller[32];

struct pick_v1 {
	const char *controller;
	char *out;
	size_t outsz;
	bool found;
};

static bool opts_have(const char *opts, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = opts; (p = strstr(p, word)); p += n)
		if ((p == opts || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

static bool on_v1_controller(void *ctx, const struct mount *m)
{
	struct pick_v1 *pv = ctx;

	if (strcmp(m->fstype, "cgroup") || strcmp(m->root, "/") ||
	    !opts_have(m->superopts, pv->controller))
		return false;
	pv->found = snprintf(pv->out, pv->outsz, "%s", m->point) < (int)pv->outsz;
	return pv->found;
}

int zt_cgroup1_pick(const char *mountinfo, char *root, size_t rootsz, char *controller,
		    size_t csz)
{
	for (unsigned i = 0; i < sizeof(v1_preferred) / sizeof(v1_preferred[0]); i++) {
		struct pick_v1 pv = { v1_preferred[i], root, rootsz, false };

		if (for_each_mount(mountinfo, on_v1_controller, &pv) || !pv.found)
			continue;
		snprintf(controller, csz, "%s", v1_preferred[i]);
		snprintf(v1_controller, sizeof(v1_controller), "%s", v1_preferred[i]);
		return 0;
	}
	return -ENOENT;
}

struct v1_match {
	const char *path;
	char rest[ZT_CGROUP_PATH_MAX];
	size_t best;
};

/* Mount points nest (/sys/fs/cgroup and /sys/fs/cgroup/cpu), so the longest
 * v1 mount point containing the path is the one it lives in. */
static bool on_cgroup1(void *ctx, const struct mount *m)
{
	struct v1_match *v = ctx;
	const char *rest;
	size_t len = strlen(m->point);

	if (strcmp(m->fstype, "cgroup") || len <= v->best)
		return false;
	rest = path_after(v->path, m->point);
	if (rest && strlen(rest) < sizeof(v->rest)) {
		strcpy(v->rest, rest);
		v->best = len;
	}
	return false;
}

/* The path below a cgroup v1 mount that `path` names, or NULL. */
static const char *v1_rest(const char *mountinfo, const char *path, struct v1_match *v)
{
	v->path = path;
	v->best = 0;
	if (for_each_mount(mountinfo ? mountinfo : "/proc/self/mountinfo", on_cgroup1, v) ||
	    !v->best)
		return NULL;
	return v->rest;
}

/* ---- --cgroup ---- */

int zt_cgroup_resolve_path(const char *root, const char *mountinfo, const char *arg,
			   char *out, size_t outsz, char *err, size_t errsz)
{
	char cand[ZT_CGROUP_PATH_MAX], real[ZT_CGROUP_PATH_MAX];
	struct v1_match v;
	const char *rest, *rel;
	int ret;

	if (!arg || !*arg)
		return fail(err, errsz, -EINVAL, "--cgroup: empty path");

	if (arg[0] == '/' && path_after(arg, root)) {
		ret = dir_under_root(root, arg, out, outsz);
		if (ret)
			return fail(err, errsz, ret, "--cgroup %s: %s", arg, dir_error(ret));
		return 0;
	}

	/* A v1 path, as given or through symlinks such as cpu -> cpu,cpuacct. */
	rest = arg[0] == '/' ? v1_rest(mountinfo, arg, &v) : NULL;
	if (!rest && arg[0] == '/' && realpath(arg, real))
		rest = v1_rest(mountinfo, real, &v);
	if (rest) {
		if (join(cand, sizeof(cand), root, rest))
			return fail(err, errsz, -ENAMETOOLONG, "--cgroup %s: path too long", arg);
		ret = dir_under_root(root, cand, out, outsz);
		if (ret == -ENOENT)
			return fail(err, errsz, ret,
				    "--cgroup %s: this cgroup v1 directory has no cgroup2 twin (%s)",
				    arg, cand);
		if (ret)
			return fail(err, errsz, ret, "--cgroup %s: %s: %s", arg, cand,
				    dir_error(ret));
		return 0;
	}

	/* Relative to the root, with or without a leading slash. */
	rel = arg;
	while (*rel == '/')
		rel++;
	if (snprintf(cand, sizeof(cand), "%.*s/%s", (int)root_len(root), root, rel) >=
	    (int)sizeof(cand))
		return fail(err, errsz, -ENAMETOOLONG, "--cgroup %s: path too long", arg);
	ret = dir_under_root(root, cand, out, outsz);
	if (ret)
		return fail(err, errsz, ret, "--cgroup %s: %s: %s", arg, cand, dir_error(ret));
	return 0;
}

/* ---- --pid ---- */

/* The process's path in the traced hierarchy: its "0::" line, or on a pure
 * v1 host the line of the chosen controller ("5:pids:/a/b"). */
static int read_cgroup2_line(FILE *f, char *rel, size_t relsz)
{
	char *line = NULL;
	size_t cap = 0;
	int ret = -ENODATA;

	while (getline(&line, &cap, f) > 0) {
		char *path = NULL;

		line[strcspn(line, "\n")] = 0;
		if (!v1_controller[0] && starts_with(line, "0::")) {
			path = line + 3;
		} else if (v1_controller[0]) {
			char *c = strchr(line, ':'), *e = c ? strchr(c + 1, ':') : NULL;

			if (!e)
				continue;
			*e = 0;
			if (opts_have(c + 1, v1_controller))
				path = e + 1;
		}
		if (!path)
			continue;
		ret = snprintf(rel, relsz, "%s", path) >= (int)relsz ? -ENAMETOOLONG : 0;
		break;
	}
	free(line);
	return ret;
}

int zt_cgroup_pid_rel(const char *proc, pid_t pid, char *rel, size_t relsz)
{
	char path[64];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "%s/%d/cgroup", proc, (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	ret = read_cgroup2_line(f, rel, relsz);
	fclose(f);
	return ret;
}

bool zt_cgroup_rel_within(const char *rel, const char *sel)
{
	size_t n;

	while (*sel == '/')
		sel++;
	while (*rel == '/')
		rel++;
	n = strlen(sel);
	while (n && sel[n - 1] == '/')
		n--;
	return !n || (!strncmp(rel, sel, n) && (rel[n] == '\0' || rel[n] == '/'));
}

int zt_cgroup_resolve_pid(const char *root, const char *proc, pid_t pid,
			  char *out, size_t outsz, char *err, size_t errsz)
{
	char path[ZT_CGROUP_PATH_MAX], rel[ZT_CGROUP_PATH_MAX], cand[ZT_CGROUP_PATH_MAX];
	size_t len;
	FILE *f;
	int ret;

	if (pid <= 0)
		return fail(err, errsz, -EINVAL, "--pid %d: not a process id", (int)pid);
	snprintf(path, sizeof(path), "%s/%d/cgroup", proc, (int)pid);
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		if (ret == -ENOENT || ret == -ESRCH)
			return fail(err, errsz, ret, "--pid %d: no such process", (int)pid);
		return fail(err, errsz, ret, "--pid %d: cannot read %s: %s", (int)pid, path,
			    strerror(-ret));
	}
	ret = read_cgroup2_line(f, rel, sizeof(rel));
	fclose(f);
	if (ret == -ENODATA)
		return fail(err, errsz, ret, "--pid %d: %s has no cgroup2 (\"0::\") line",
			    (int)pid, path);
	if (ret)
		return fail(err, errsz, ret, "--pid %d: cgroup path too long", (int)pid);

	/* The kernel marks the cgroup of a zombie whose cgroup was removed. */
	len = strlen(rel);
	if (len > 10 && !strcmp(rel + len - 10, " (deleted)"))
		return fail(err, errsz, -ENOENT, "--pid %d: its cgroup %.*s has been removed",
			    (int)pid, (int)(len - 10), rel);
	if (rel[0] != '/' || join(cand, sizeof(cand), root, strcmp(rel, "/") ? rel : ""))
		return fail(err, errsz, -EINVAL, "--pid %d: unusable cgroup path \"%s\"",
			    (int)pid, rel);
	ret = dir_under_root(root, cand, out, outsz);
	if (ret)
		return fail(err, errsz, ret, "--pid %d: cgroup %s: %s", (int)pid, cand,
			    dir_error(ret));
	return 0;
}

/* ---- walking the tree ---- */

struct walk_ent {
	const char *rel;    /* "" for the root */
	const char *name;   /* last component of rel */
	const char *parent; /* the component before it, "" at the top */
	uint64_t ino;
};

typedef int (*walk_fn)(void *ctx, const struct walk_ent *e);

struct walker {
	walk_fn fn;
	void *ctx;
	unsigned dirs;
	char rel[ZT_CGROUP_PATH_MAX];
};

/* Takes ownership of dfd. */
static int walk_dir(struct walker *w, int dfd, size_t len, const char *parent, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int ret = 0;

	if (!d) {
		close(dfd);
		return 0;
	}
	while (!ret && w->dirs < WALK_MAX_DIRS && (de = readdir(d))) {
		/* Copied: the parent of the level below must outlive readdir. */
		char name[sizeof(de->d_name)];
		size_t nlen = strlen(de->d_name), sub = len ? len + 1 + nlen : nlen;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		/* Only real directories: a symlink could loop or leave the tree. */
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISDIR(st.st_mode))
			continue;
		if (sub >= sizeof(w->rel))
			continue;
		w->dirs++;
		memcpy(name, de->d_name, nlen + 1);
		if (len)
			w->rel[len] = '/';
		memcpy(w->rel + (len ? len + 1 : 0), name, nlen + 1);
		ret = w->fn(w->ctx, &(struct walk_ent){ w->rel, name, parent, st.st_ino });
		if (!ret && depth + 1 < WALK_MAX_DEPTH) {
			int fd = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (fd >= 0)
				ret = walk_dir(w, fd, sub, name, depth + 1);
		}
		w->rel[len] = 0;
	}
	closedir(d);
	return ret;
}

/* Calls fn on `root` itself and then on every directory below it. */
static int walk(const char *root, walk_fn fn, void *ctx)
{
	struct walker *w;
	struct stat st;
	int fd, ret;

	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	/* Heap, not stack: the path buffer is large and callers may be deep. */
	w = calloc(1, sizeof(*w));
	if (!w) {
		close(fd);
		return -ENOMEM;
	}
	w->fn = fn;
	w->ctx = ctx;
	ret = fn(ctx, &(struct walk_ent){ w->rel, "", "", st.st_ino });
	if (!ret)
		ret = walk_dir(w, fd, 0, "", 0);
	else
		close(fd);
	free(w);
	return ret;
}

/* ---- container names ---- */

static const char *const scope_prefixes[] = {
	"docker-", "cri-containerd-", "crio-", "libpod-",
};

/*
 * The container id a runtime put in a directory name, if any. The id must
 * be hex, which is also what keeps "libpod-conmon-ID.scope" and
 * "crio-conmon-ID.scope" (the monitor, not the container) out.
 */
bool zt_cgroup_runtime_id(const char *name, const char *parent, const char **id, size_t *idlen)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < sizeof(scope_prefixes) / sizeof(scope_prefixes[0]); i++) {
		size_t plen = strlen(scope_prefixes[i]);

		if (len > plen + 6 && starts_with(name, scope_prefixes[i]) &&
		    !strcmp(name + len - 6, ".scope") && is_hex(name + plen, len - plen - 6)) {
			*id = name + plen;
			*idlen = len - plen - 6;
			return true;
		}
	}
	/* docker's cgroupfs driver (docker/ID), and containerd's or
	 * kubelet's (kubepods/.../pod<uid>/ID) with its full 64-hex ids. */
	if ((parent && !strcmp(parent, "docker") && is_hex(name, len)) ||
	    (len == FULL_ID_LEN && is_hex(name, len))) {
		*id = name;
		*idlen = len;
		return true;
	}
	return false;
}

void zt_cgroup_container_name(const char *relpath, char *out, size_t outsz)
{
	char buf[ZT_CGROUP_PATH_MAX];
	const char *leaf, *parent = "", *id;
	size_t n, idlen;
	char *slash;

	if (!outsz)
		return;
	snprintf(buf, sizeof(buf), "%s", relpath ? relpath : "");
	n = strlen(buf);
	while (n && buf[n - 1] == '/')
		buf[--n] = 0;
	if (!n) {
		snprintf(out, outsz, "/");
		return;
	}
	slash = strrchr(buf, '/');
	leaf = slash ? slash + 1 : buf;
	if (slash) {
		*slash = 0;
		parent = strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf;
	}
	if (zt_cgroup_runtime_id(leaf, parent, &id, &idlen))
		snprintf(out, outsz, "%.*s", (int)(idlen < SHORT_ID_LEN ? idlen : SHORT_ID_LEN), id);
	else
		snprintf(out, outsz, "%s", leaf);
}

/* ---- --container ---- */

struct cands {
	char *rel[CANDIDATES_MAX];
	size_t shown[CANDIDATES_MAX]; /* offset in rel of what the error lists */
	int n;                        /* all matches, stored or not */
};

struct match {
	const char *arg;
	size_t arglen;
	bool by_prefix; /* arg is a hex id prefix long enough to match on */
	struct cands exact, prefix;
	int ret;
};

static int add_cand(struct cands *c, const char *rel, size_t shown)
{
	if (c->n < CANDIDATES_MAX) {
		c->rel[c->n] = strdup(rel);
		if (!c->rel[c->n])
			return -ENOMEM;
		c->shown[c->n] = shown;
	}
	c->n++;
	return 0;
}

static void free_cands(struct cands *c)
{
	for (int i = 0; i < c->n && i < CANDIDATES_MAX; i++)
		free(c->rel[i]);
}

/* Runtime-id matches list their directory name (the id is what differs);
 * leaf-name matches list their path (the name is the same for all). */
static int on_container_dir(void *ctx, const struct walk_ent *e)
{
	struct match *m = ctx;
	size_t leaf = strlen(e->rel) - strlen(e->name), idlen = 0;
	const char *id = NULL;
	bool has_id = zt_cgroup_runtime_id(e->name, e->parent, &id, &idlen);

	if (!*e->rel)
		return 0;
	if (!strcmp(e->name, m->arg))
		return add_cand(&m->exact, e->rel, 0);
	if (has_id && idlen == m->arglen && !strncasecmp(id, m->arg, idlen))
		return add_cand(&m->exact, e->rel, leaf);
	if (has_id && m->by_prefix && idlen > m->arglen && !strncasecmp(id, m->arg, m->arglen))
		return add_cand(&m->prefix, e->rel, leaf);
	return 0;
}

/* "--container X: ambiguous, matches: a, b, c and 2 more", cut to fit. */
static int ambiguous(const char *arg, const struct cands *c, char *err, size_t errsz)
{
	size_t off;
	int i;

	if (!err || !errsz)
		return -ENOTUNIQ;
	off = (size_t)snprintf(err, errsz, "--container %s: ambiguous, matches: ", arg);
	for (i = 0; i < c->n && i < CANDIDATES_MAX && off < errsz; i++) {
		const char *s = c->rel[i] + c->shown[i];
		/* Leave room for " and N more" after this one. */
		if (off + strlen(s) + 2 + 20 >= errsz)
			break;
		off += (size_t)snprintf(err + off, errsz - off, "%s%s", i ? ", " : "", s);
	}
	if (i < c->n && off < errsz)
		snprintf(err + off, errsz - off, " and %d more", c->n - i);
	return -ENOTUNIQ;
}

static int found(const char *root, const char *arg, const char *rel, char *out, size_t outsz,
		 char *err, size_t errsz)
{
	if (snprintf(out, outsz, "%.*s/%s", (int)root_len(root), root, rel) >= (int)outsz)
		return fail(err, errsz, -ENAMETOOLONG, "--container %s: path too long", arg);
	return 0;
}

/*
 * docker names: config.v2.json holds "Name":"/NAME" at the top level. Other
 * "Name" keys (volumes, restart policy) never start with a slash. Best
 * effort: an unreadable store (not root, no docker) just finds nothing.
 */
static char *read_small_file(const char *path, size_t max)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(max + 1);
	if (buf) {
		n = fread(buf, 1, max, f);
		buf[n] = 0;
	}
	fclose(f);
	return buf;
}

static int docker_name_to_id(const char *dir, const char *name, char *id, size_t idsz)
{
	char needle[300], path[ZT_CGROUP_PATH_MAX];
	struct dirent *de;
	int ret = -ENOENT;
	unsigned seen = 0;
	DIR *d;

	if (strpbrk(name, "\"\\/") || snprintf(needle, sizeof(needle), "\"Name\":\"/%s\"", name) >=
	    (int)sizeof(needle))
		return -EINVAL;
	d = opendir(dir);
	if (!d)
		return -errno;
	while (ret && seen++ < DOCKER_MAX_CONTAINERS && (de = readdir(d))) {
		char *conf;

		if (!is_hex(de->d_name, strlen(de->d_name)) ||
		    snprintf(path, sizeof(path), "%s/%s/config.v2.json", dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		conf = read_small_file(path, DOCKER_CONFIG_MAX);
		if (conf && strstr(conf, needle))
			ret = snprintf(id, idsz, "%s", de->d_name) >= (int)idsz ? -ENAMETOOLONG : 0;
		free(conf);
	}
	closedir(d);
	return ret;
}

static int match_containers(const char *root, const char *arg, bool by_prefix, struct match *m)
{
	int ret;

	memset(m, 0, sizeof(*m));
	m->arg = arg;
	m->arglen = strlen(arg);
	m->by_prefix = by_prefix;
	ret = walk(root, on_container_dir, m);
	if (ret) {
		free_cands(&m->exact);
		free_cands(&m->prefix);
	}
	return ret;
}

/* Resolves the container docker calls `arg`; 1 if docker knows no such name. */
static int match_or_fail(const char *root, const char *arg, const char *key, bool prefixes,
			 struct match *m, char *err, size_t errsz)
{
	int ret = match_containers(root, key, prefixes, m);

	if (ret)
		return fail(err, errsz, ret, "--container %s: cannot walk %s: %s", arg, root,
			    strerror(-ret));
	return 0;
}

/* One exact match is the answer, several an error listing them; none: 1. */
static int pick_exact(const char *root, const char *arg, const struct match *m,
		      char *out, size_t outsz, char *err, size_t errsz)
{
	if (m->exact.n == 1)
		return found(root, arg, m->exact.rel[0], out, outsz, err, errsz);
	if (m->exact.n > 1)
		return ambiguous(arg, &m->exact, err, errsz);
	return 1;
}

static int by_docker_name(const char *root, const char *docker_dir, const char *arg,
			  char *out, size_t outsz, char *err, size_t errsz)
{
	char id[128];
	struct match m;
	int ret;

	if (!docker_dir || docker_name_to_id(docker_dir, arg, id, sizeof(id)))
		return 1;
	ret = match_or_fail(root, arg, id, false, &m, err, errsz);
	if (ret)
		return ret;
	ret = pick_exact(root, arg, &m, out, outsz, err, errsz);
	if (ret == 1)
		ret = fail(err, errsz, -ENOENT,
			   "--container %s: docker container %.12s has no cgroup under %s "
			   "(not running?)", arg, id, root);
	free_cands(&m.exact);
	free_cands(&m.prefix);
	return ret;
}

int zt_cgroup_resolve_container_in(const char *root, const char *docker_dir, const char *arg,
				   char *out, size_t outsz, char *err, size_t errsz)
{
	size_t len = arg ? strlen(arg) : 0;
	bool hex = is_hex(arg ? arg : "", len);
	struct match m;
	int ret;

	if (!len)
		return fail(err, errsz, -EINVAL, "--container: empty name");
	ret = match_or_fail(root, arg, arg, hex && len >= ID_PREFIX_MIN, &m, err, errsz);
	if (ret)
		return ret;

	/* Exact names first, then docker names, then id prefixes: the order
	 * docker itself resolves in. */
	if ((ret = pick_exact(root, arg, &m, out, outsz, err, errsz)) != 1)
		; /* found, or ambiguous */
	else if ((ret = by_docker_name(root, docker_dir, arg, out, outsz, err, errsz)) != 1)
		; /* found by docker name, or an error already explained */
	else if (hex && len < ID_PREFIX_MIN)
		ret = fail(err, errsz, -EINVAL,
			   "--container %s: id prefix too short (give at least %d hex characters)",
			   arg, ID_PREFIX_MIN);
	else if (m.prefix.n == 1)
		ret = found(root, arg, m.prefix.rel[0], out, outsz, err, errsz);
	else if (m.prefix.n > 1)
		ret = ambiguous(arg, &m.prefix, err, errsz);
	else
		ret = fail(err, errsz, -ENOENT, "--container %s: no container cgroup under %s",
			   arg, root);
	free_cands(&m.exact);
	free_cands(&m.prefix);
	return ret;
}

int zt_cgroup_resolve_container(const char *root, const char *arg,
				char *out, size_t outsz, char *err, size_t errsz)
{
	return zt_cgroup_resolve_container_in(root, DOCKER_CONTAINERS, arg, out, outsz, err, errsz);
}

uint64_t zt_cgroup_id(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return 0;
	return st.st_ino;
}

/* ---- names of cgroup ids ---- */

struct name_ent {
	uint64_t id;     /* 0: empty slot (no cgroup has id 0) */
	char *relpath;   /* one allocation: relpath, then container */
	char *container;
	uint32_t gen;    /* the walk that last saw it (see prune) */
};

/* A name out of the cache, its memory not yet freed (NAMES_FREE_DELAY_NS). */
struct name_grave {
	struct name_grave *next;
	char *relpath;
	int64_t free_at_ns;
};

struct zt_cgroup_names {
	char *root;
	struct name_ent *slots;
	uint32_t mask;
	uint32_t count;
	uint64_t dropped; /* cgroups left unnamed because the cache was full */
	uint32_t gen;     /* walks so far */
	int64_t last_rescan_ns;
	bool rescanned;
	/* Oldest first; bounded by what one prune interval plus the delay can
	 * bring (each entry was one of at most NAMES_MAX cached names). */
	struct name_grave *graves, **graves_tail;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint32_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (uint32_t)x;
}

static struct name_ent *names_slot(const struct zt_cgroup_names *n, uint64_t id)
{
	uint32_t i = hash64(id) & n->mask;

	while (n->slots[i].id && n->slots[i].id != id)
		i = (i + 1) & n->mask;
	return &n->slots[i];
}

static int names_grow(struct zt_cgroup_names *n)
{
	uint32_t size = (n->mask + 1) * 2;
	struct name_ent *old = n->slots, *s;

	s = calloc(size, sizeof(*s));
	if (!s)
		return -ENOMEM;
	n->slots = s;
	for (uint32_t i = 0; i <= n->mask; i++)
		if (old[i].id)
			*names_slot(&(struct zt_cgroup_names){ .slots = s, .mask = size - 1 },
				    old[i].id) = old[i];
	n->mask = size - 1;
	free(old);
	return 0;
}

/* `rel`: "/" for the root, else a path without a leading slash. */
static void names_add(struct zt_cgroup_names *n, uint64_t id, const char *rel)
{
	char container[ZT_CONTAINER_NAME_MAX];
	size_t rlen = strlen(rel), clen;
	struct name_ent *s;
	char *buf;

	if (n->count >= NAMES_MAX) {
		n->dropped++;
		return;
	}
	if ((n->count + 1) * 2 > n->mask + 1 && names_grow(n))
		return;
	zt_cgroup_container_name(strcmp(rel, "/") ? rel : "", container, sizeof(container));
	clen = strlen(container);
	buf = malloc(rlen + clen + 2);
	if (!buf)
		return;
	memcpy(buf, rel, rlen + 1);
	memcpy(buf + rlen + 1, container, clen + 1);
	s = names_slot(n, id);
	*s = (struct name_ent){ id, buf, buf + rlen + 1, n->gen };
	n->count++;
}

/* Known ids keep their first name: callers hold pointers to it. */
static int on_named_dir(void *ctx, const struct walk_ent *e)
{
	struct zt_cgroup_names *n = ctx;
	struct name_ent *s;

	if (!e->ino)
		return 0;
	s = names_slot(n, e->ino);
	if (s->id)
		s->gen = n->gen;
	else
		names_add(n, e->ino, *e->rel ? e->rel : "/");
	return 0;
}

struct zt_cgroup_names *zt_cgroup_names_new(const char *root)
{
	struct zt_cgroup_names *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->root = strdup(root);
	n->slots = calloc(1024, sizeof(*n->slots));
	if (!n->root || !n->slots) {
		zt_cgroup_names_free(n);
		return NULL;
	}
	n->mask = 1023;
	n->graves_tail = &n->graves;
	/* An unreadable root is not fatal: ids will just show as "?". */
	walk(n->root, on_named_dir, n);
	return n;
}

/* Frees the graves due by `now` (all of them with INT64_MAX). */
static void graves_free(struct zt_cgroup_names *n, int64_t now)
{
	struct name_grave *g;

	while ((g = n->graves) && g->free_at_ns <= now) {
		n->graves = g->next;
		free(g->relpath);
		free(g);
	}
	if (!n->graves)
		n->graves_tail = &n->graves;
}

/* Out of the cache now, freed later: a span may still point at it. */
static void grave_add(struct zt_cgroup_names *n, char *relpath, int64_t now)
{
	struct name_grave *g = malloc(sizeof(*g));

	if (!g) {
		/* Leaked rather than freed under a reader. */
		return;
	}
	*g = (struct name_grave){ NULL, relpath, now + NAMES_FREE_DELAY_NS };
	*n->graves_tail = g;
	n->graves_tail = &g->next;
}

void zt_cgroup_names_free(struct zt_cgroup_names *n)
{
	if (!n)
		return;
	graves_free(n, INT64_MAX);
	if (n->slots)
		for (uint32_t i = 0; i <= n->mask; i++)
			free(n->slots[i].relpath);
	free(n->slots);
	free(n->root);
	free(n);
}

void zt_cgroup_names_prune(struct zt_cgroup_names *n)
{
	struct name_ent *old = n->slots, *s;
	uint32_t size = n->mask + 1;
	int64_t now = mono_ns();

	graves_free(n, now);
	n->gen++;
	if (walk(n->root, on_named_dir, n) < 0)
		return; /* an unreadable tree proves nothing gone */
	s = calloc(size, sizeof(*s));
	if (!s)
		return;
	/* Rebuilt rather than deleted in place: open addressing keeps no
	 * tombstones this way. */
	n->slots = s;
	n->count = 0;
	for (uint32_t i = 0; i < size; i++) {
		if (!old[i].id)
			continue;
		if (old[i].gen != n->gen) {
			grave_add(n, old[i].relpath, now);
			continue;
		}
		*names_slot(n, old[i].id) = old[i];
		n->count++;
	}
	free(old);
}

uint32_t zt_cgroup_names_count(const struct zt_cgroup_names *n)
{
	return n ? n->count : 0;
}

/* A storm of unknown ids (say, a burst of short-lived cgroups) costs one
 * walk per second, not one per event. */
static bool may_rescan(struct zt_cgroup_names *n)
{
	int64_t now = mono_ns();

	if (n->rescanned && now - n->last_rescan_ns < RESCAN_INTERVAL_NS)
		return false;
	n->rescanned = true;
	n->last_rescan_ns = now;
	return true;
}

/*
 * One cgroup by its id, without a walk: cgroup2 ids are kernfs file handles
 * (FILEID_KERNFS), so the kernel opens the directory and /proc names it.
 * Fails on kernels before 5.5 or without CAP_DAC_READ_SEARCH; the caller
 * then walks.
 */
static int name_by_handle(struct zt_cgroup_names *n, uint64_t id)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = { .fh = { .handle_bytes = sizeof(uint64_t), .handle_type = 0xfe } };
	char link[64], path[4096];
	size_t rl = strlen(n->root);
	int mfd, fd;
	ssize_t len;

	memcpy(h.fh.f_handle, &id, sizeof(id));
	mfd = open(n->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return -errno;
	fd = open_by_handle_at(mfd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(mfd);
	if (fd < 0)
		return -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, path, sizeof(path) - 1);
	close(fd);
	if (len < 0)
		return -errno;
	path[len] = '\0';
	if (strncmp(path, n->root, rl) || (path[rl] && path[rl] != '/'))
		return -EXDEV; /* outside our view of the hierarchy */
	on_named_dir(n, &(struct walk_ent){ .rel = path[rl] ? path + rl + 1 : "", .ino = id });
	return 0;
}

int zt_cgroup_names_get(struct zt_cgroup_names *n, uint64_t id,
			const char **relpath, const char **container)
{
	struct name_ent *s = id ? names_slot(n, id) : NULL;

	if (s && !s->id && !name_by_handle(n, id))
		s = names_slot(n, id);
	if (s && !s->id && may_rescan(n)) {
		walk(n->root, on_named_dir, n);
		s = names_slot(n, id);
	}
	if (!s || !s->id) {
		if (relpath)
			*relpath = "?";
		if (container)
			*container = "?";
		return -ENOENT;
	}
	if (relpath)
		*relpath = s->relpath;
	if (container)
		*container = s->container;
	return 0;
}

int zt_cgroup_names_learn(struct zt_cgroup_names *n, uint64_t id, const char *path)
{
	if (!id || names_slot(n, id)->id)
		return 0;
	/* The kernel's own view first: the path the kernel reports is from
	 * the hierarchy's root, ours from where the hierarchy is mounted
	 * (they differ inside a cgroup namespace). */
	if (!name_by_handle(n, id))
		return 0;
	while (*path == '/')
		path++;
	if (!*path)
		return -EINVAL;
	names_add(n, id, path);
	return names_slot(n, id)->id ? 0 : -ENOSPC;
}
