// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cgroup.h"
#include "owners_runtime.h"

/* Namespaces under containerd's task directory looked in (k8s.io, moby,
 * default, ...): a handful in practice. */
#define CONTAINERD_NS_MAX 64
#define SCAN_INTERVAL_NS 1000000000ULL

static const struct {
	const char *key;
	enum zt_owner_field field;
	int rank; /* lower wins */
} keymap[] = {
	{ "owner", ZT_OWNER_TEAM, 1 },
	{ "team", ZT_OWNER_TEAM, 2 },
	{ "org.opencontainers.image.authors", ZT_OWNER_TEAM, 3 },
	{ "org.opencontainers.image.source", ZT_OWNER_SOURCE, 1 },
	{ "org.opencontainers.image.url", ZT_OWNER_SOURCE, 2 },
	{ "oncall", ZT_OWNER_PAGER, 1 },
	{ "pager", ZT_OWNER_PAGER, 2 },
};

/* Kubernetes' container name, as containerd's CRI and CRI-O annotate it. */
static const char *const name_keys[] = {
	"io.kubernetes.cri.container-name",
	"io.kubernetes.container.name",
};

void zt_runtime_owner_free(struct zt_runtime_owner *ro)
{
	for (int f = 0; f < ZT_OWNER_FIELDS; f++)
		free(ro->val[f]);
	free(ro->name);
	memset(ro, 0, sizeof(*ro));
}

static void offer(struct zt_runtime_owner *ro, const char *key, size_t klen, const char *val,
		  size_t vlen)
{
	for (size_t i = 0; i < sizeof(keymap) / sizeof(keymap[0]); i++) {
		enum zt_owner_field f = keymap[i].field;
		char *v;

		if (strlen(keymap[i].key) != klen || memcmp(keymap[i].key, key, klen))
			continue;
		if (ro->val[f] && ro->rank[f] <= keymap[i].rank)
			return;
		v = zt_owner_value(val, vlen);
		if (!v)
			return;
		free(ro->val[f]);
		ro->val[f] = v;
		ro->rank[f] = keymap[i].rank;
		return;
	}
	for (size_t i = 0; i < sizeof(name_keys) / sizeof(name_keys[0]); i++)
		if (!ro->name && strlen(name_keys[i]) == klen && !memcmp(name_keys[i], key, klen))
			ro->name = zt_owner_value(val, vlen);
}

/* A {"key":"value"} object's string members. */
static void offer_object(struct zt_runtime_owner *ro, json_object *obj)
{
	if (!json_object_is_type(obj, json_type_object))
		return;
	json_object_object_foreach(obj, key, val) {
		if (json_object_is_type(val, json_type_string))
			offer(ro, key, strlen(key), json_object_get_string(val),
			      json_object_get_string_len(val));
	}
}

static char *dup_string(json_object *s)
{
	if (!json_object_is_type(s, json_type_string))
		return NULL;
	return strndup(json_object_get_string(s), json_object_get_string_len(s));
}

static json_object *member(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static void runc_state(struct zt_runtime_owner *ro, json_object *root, char **bundle,
		       char **cgroup_path)
{
	json_object *labels = member(member(root, "config"), "labels"), *paths;
	json_object *id = member(root, "id");
	size_t n;

	if (json_object_is_type(labels, json_type_array)) {
		n = json_object_array_length(labels);
		for (size_t i = 0; i < n; i++) {
			json_object *l = json_object_array_get_idx(labels, i);
			const char *s, *eq;
			size_t len;

			if (!json_object_is_type(l, json_type_string))
				continue;
			s = json_object_get_string(l);
			len = json_object_get_string_len(l);
			eq = memchr(s, '=', len);
			if (!eq)
				continue;
			/* runc appends bundle= after the annotations: the last
			 * one is runc's, not an annotation named "bundle". */
			if (bundle && eq - s == 6 && !memcmp(s, "bundle", 6)) {
				free(*bundle);
				*bundle = strndup(eq + 1, len - 7);
				continue;
			}
			offer(ro, s, eq - s, eq + 1, len - (eq + 1 - s));
		}
	}
	if (!ro->name && json_object_is_type(id, json_type_string))
		ro->name = zt_owner_value(json_object_get_string(id), json_object_get_string_len(id));
	paths = member(root, "cgroup_paths");
	if (cgroup_path && json_object_is_type(paths, json_type_object)) {
		json_object *v = member(paths, "");

		if (!v) {
			json_object_object_foreach(paths, key, val) {
				(void)key;
				v = val;
				break;
			}
		}
		*cgroup_path = dup_string(v);
	}
}

int zt_runtime_parse(const char *buf, size_t len, enum zt_runtime_shape shape,
		     struct zt_runtime_owner *ro, char **bundle, char **cgroup_path)
{
	json_tokener *tok;
	json_object *root;
	int ret = 1;

	if (len > ZT_RUNTIME_FILE_MAX)
		return -EINVAL;
	tok = json_tokener_new_ex(ZT_RUNTIME_JSON_DEPTH);
	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, buf, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(root);
		json_tokener_free(tok);
		return -EINVAL;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return 0;
	}
	switch (shape) {
	case ZT_SHAPE_OCI:
		offer_object(ro, member(root, "annotations"));
		break;
	case ZT_SHAPE_RUNC_STATE:
		runc_state(ro, root, bundle, cgroup_path);
		break;
	case ZT_SHAPE_DOCKER: {
		json_object *name = member(root, "Name");

		offer_object(ro, member(member(root, "Config"), "Labels"));
		if (!ro->name && json_object_is_type(name, json_type_string)) {
			const char *s = json_object_get_string(name);
			size_t n = json_object_get_string_len(name);

			if (n && *s == '/')
				s++, n--;
			ro->name = zt_owner_value(s, n);
		}
		break;
	}
	default:
		ret = 0;
	}
	json_object_put(root);
	return ret;
}

/* ---- files ---- */

/*
 * A regular file of at most ZT_RUNTIME_FILE_MAX bytes, NUL-terminated.
 * O_NONBLOCK: a FIFO planted where a file is expected must not hang us.
 */
static char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	char *buf = NULL;
	size_t n = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > ZT_RUNTIME_FILE_MAX)
		goto out;
	buf = malloc(ZT_RUNTIME_FILE_MAX + 1);
	if (!buf)
		goto out;
	while (n < ZT_RUNTIME_FILE_MAX + 1) {
		ssize_t r = read(fd, buf + n, ZT_RUNTIME_FILE_MAX + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	/* It grew past the bound since fstat: skipped, as a large one is. */
	if (n > ZT_RUNTIME_FILE_MAX) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = 0;
	*len = n;
out:
	close(fd);
	return buf;
}

static int parse_file(const char *path, enum zt_runtime_shape shape, struct zt_runtime_owner *ro,
		      char **bundle, char **cgroup_path)
{
	size_t len;
	char *buf = read_file(path, &len);
	int ret;

	if (!buf)
		return 0;
	ret = zt_runtime_parse(buf, len, shape, ro, bundle, cgroup_path);
	free(buf);
	return ret > 0;
}

static bool valid_id(const char *id)
{
	return *id && strcmp(id, ".") && strcmp(id, "..") && !strchr(id, '/') &&
	       strlen(id) < ZT_RUNTIME_ID_MAX;
}

static int try_runc(const char *root, const char *id, struct zt_runtime_owner *ro)
{
	char path[PATH_MAX], *bundle = NULL;

	if (snprintf(path, sizeof(path), "%s/%s/state.json", root, id) >= (int)sizeof(path) ||
	    !parse_file(path, ZT_SHAPE_RUNC_STATE, ro, &bundle, NULL)) {
		free(bundle);
		return 0;
	}
	if (bundle && *bundle == '/' &&
	    snprintf(path, sizeof(path), "%s/config.json", bundle) < (int)sizeof(path))
		parse_file(path, ZT_SHAPE_OCI, ro, NULL, NULL);
	free(bundle);
	return 1;
}

static int try_containerd(const char *root, const char *id, struct zt_runtime_owner *ro)
{
	DIR *d = opendir(root);
	struct dirent *de;
	int seen = 0, found = 0;

	if (!d)
		return 0;
	while (!found && seen++ < CONTAINERD_NS_MAX && (de = readdir(d))) {
		char path[PATH_MAX];

		if (de->d_name[0] == '.' ||
		    snprintf(path, sizeof(path), "%s/%s/%s/config.json", root, de->d_name, id) >=
		    (int)sizeof(path))
			continue;
		found = parse_file(path, ZT_SHAPE_OCI, ro, NULL, NULL);
	}
	closedir(d);
	return found;
}

static int try_path(const char *fmt, const char *root, const char *id,
		    enum zt_runtime_shape shape, struct zt_runtime_owner *ro)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), fmt, root, id) >= (int)sizeof(path))
		return 0;
	return parse_file(path, shape, ro, NULL, NULL);
}

/* ---- container ids ---- */

bool zt_runtime_id(const char *cgroup, char *id, size_t idsz)
{
	char buf[PATH_MAX];
	const char *leaf, *rid;
	size_t rlen;
	char *slash;
	size_t n;

	if (!cgroup || !idsz)
		return false;
	if (snprintf(buf, sizeof(buf), "%s", cgroup) >= (int)sizeof(buf))
		return false;
	n = strlen(buf);
	while (n && buf[n - 1] == '/')
		buf[--n] = 0;
	slash = strrchr(buf, '/');
	leaf = slash ? slash + 1 : buf;
	n = strlen(leaf);
	if (!n || !strcmp(leaf, "?"))
		return false;
	if (zt_cgroup_runtime_id(leaf, NULL, &rid, &rlen))
		return snprintf(id, idsz, "%.*s", (int)rlen, rid) < (int)idsz;
	/* Everything else, docker/<id>, a bare 64-hex id and a runc container
	 * named like its cgroup alike, is the leaf itself. */
	return snprintf(id, idsz, "%s", leaf) < (int)idsz;
}

/* ---- runc containers found by their cgroup ---- */

struct zt_runtime_scan {
	uint64_t at_ns;
	bool done;
	int n;
	char *cg[ZT_RUNTIME_SCAN_MAX];
	char *id[ZT_RUNTIME_SCAN_MAX];
};

void zt_runtime_scan_free(struct zt_runtime_scan *scan)
{
	if (!scan)
		return;
	for (int i = 0; i < scan->n; i++) {
		free(scan->cg[i]);
		free(scan->id[i]);
	}
	free(scan);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Every runc container's cgroup, at most once a second. */
static void scan_runc(const char *root, struct zt_runtime_scan *scan)
{
	uint64_t now = mono_ns();
	struct dirent *de;
	DIR *d;

	if (scan->done && now - scan->at_ns < SCAN_INTERVAL_NS)
		return;
	for (int i = 0; i < scan->n; i++) {
		free(scan->cg[i]);
		free(scan->id[i]);
	}
	scan->n = 0;
	scan->done = true;
	scan->at_ns = now;
	d = opendir(root);
	if (!d)
		return;
	while (scan->n < ZT_RUNTIME_SCAN_MAX && (de = readdir(d))) {
		struct zt_runtime_owner ro = {};
		char path[PATH_MAX], *cg = NULL;

		if (de->d_name[0] == '.' ||
		    snprintf(path, sizeof(path), "%s/%s/state.json", root, de->d_name) >=
		    (int)sizeof(path))
			continue;
		parse_file(path, ZT_SHAPE_RUNC_STATE, &ro, NULL, &cg);
		zt_runtime_owner_free(&ro);
		if (!cg)
			continue;
		scan->cg[scan->n] = cg;
		scan->id[scan->n] = strdup(de->d_name);
		if (!scan->id[scan->n]) {
			free(cg);
			break;
		}
		scan->n++;
	}
	closedir(d);
}

/* Does runc's absolute cgroup directory `abs` end with relative path `rel`? */
static bool cg_matches(const char *abs, const char *rel)
{
	size_t a, r;

	while (*rel == '/')
		rel++;
	a = strlen(abs);
	while (a && abs[a - 1] == '/')
		a--;
	r = strlen(rel);
	while (r && rel[r - 1] == '/')
		r--;
	return r && a > r && abs[a - r - 1] == '/' && !strncmp(abs + a - r, rel, r);
}

int zt_runtime_lookup(const struct zt_owners_roots *roots, struct zt_runtime_scan **scan,
		      const char *cgroup, struct zt_runtime_owner *ro)
{
	const char *runc = roots->runc ? roots->runc : ZT_RUNC_ROOT;
	const char *ctd = roots->containerd ? roots->containerd : ZT_CONTAINERD_ROOT;
	const char *storage = roots->storage ? roots->storage : ZT_STORAGE_ROOT;
	const char *docker = roots->docker ? roots->docker : ZT_DOCKER_ROOT;
	char id[ZT_RUNTIME_ID_MAX];

	if (!zt_runtime_id(cgroup, id, sizeof(id)) || !valid_id(id))
		return 0;
	/* docker before containerd: docker's containers have a containerd
	 * bundle too (namespace moby), without docker's labels in it. */
	if (try_runc(runc, id, ro) ||
	    try_path("%s/%s/config.v2.json", docker, id, ZT_SHAPE_DOCKER, ro) ||
	    try_path("%s/%s/userdata/config.json", storage, id, ZT_SHAPE_OCI, ro) ||
	    try_containerd(ctd, id, ro))
		return 1;
	if (!*scan && !(*scan = calloc(1, sizeof(**scan))))
		return 0;
	scan_runc(runc, *scan);
	for (int i = 0; i < (*scan)->n; i++)
		if (cg_matches((*scan)->cg[i], cgroup) && valid_id((*scan)->id[i]))
			return try_runc(runc, (*scan)->id[i], ro);
	return 0;
}
