/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which cgroups to trace, and what to call them.
 *
 * The kernel filters on cgroup2 ids (bpf_get_current_cgroup_id() is the
 * inode number of the task's cgroup2 directory), so every selection a user
 * can make (--cgroup, --pid, --container) resolves to a cgroup2 directory.
 * The cgroup2 mount is found in /proc/self/mountinfo, never assumed: it is
 * /sys/fs/cgroup on pure v2 hosts and /sys/fs/cgroup/unified on hybrid ones.
 *
 * Functions that take `root` work on any directory tree so that tests can
 * run them on a fake one without root.
 */
#ifndef ZT_CGROUP_H
#define ZT_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ZT_CGROUP_PATH_MAX 4096
#define ZT_CONTAINER_NAME_MAX 64

/*
 * The cgroup2 mount point, from `mountinfo` (normally "/proc/self/mountinfo").
 * Writes it to `out`; returns 0 or -ENOENT when no cgroup2 is mounted.
 */
int zt_cgroup2_find_root(const char *mountinfo, char *out, size_t outsz);

/*
 * Pure cgroup v1 (no cgroup2 mounted): picks the hierarchy containers are
 * told apart by, the first mounted of pids, cpu, cpuacct, memory, devices,
 * freezer, blkio, cpuset. Writes its mount point to `root` and controller
 * name to `controller`; from then on process paths (--pid, the TLS scan)
 * are read from that controller's line of /proc/PID/cgroup. Returns 0 or
 * -ENOENT.
 */
int zt_cgroup1_pick(const char *mountinfo, char *root, size_t rootsz, char *controller,
		    size_t csz);

/*
 * --cgroup ARG: an absolute cgroup2 directory, a path relative to the cgroup2
 * root ("ztrace-test/pong" or "/ztrace-test/pong"), or on a hybrid host a
 * cgroup v1 directory (e.g. /sys/fs/cgroup/cpu/x/y), mapped to its cgroup2
 * twin (root/x/y). The v1 mount points come from the `mountinfo` file; pass
 * NULL to read /proc/self/mountinfo. Mount roots are ignored: v1 and v2 are
 * assumed to show the same hierarchy from "/".
 * Writes the absolute cgroup2 directory to `out`. Returns 0 or -errno with a
 * one-line reason in `err`.
 */
int zt_cgroup_resolve_path(const char *root, const char *mountinfo, const char *arg,
			   char *out, size_t outsz, char *err, size_t errsz);

/*
 * --pid PID: the cgroup2 directory of that process, from `proc`/PID/cgroup
 * (its "0::/path" line; `proc` is normally "/proc").
 */
int zt_cgroup_resolve_pid(const char *root, const char *proc, pid_t pid,
			  char *out, size_t outsz, char *err, size_t errsz);

/*
 * --container ID|NAME: walks the cgroup2 tree under `root` for a directory
 * named after the container by its runtime:
 *   docker-ID.scope, docker/ID, cri-containerd-ID.scope, crio-ID.scope,
 *   libpod-ID.scope, or a runc cgroupsPath leaf named exactly NAME or ID.
 * A hex id prefix of 6 or more characters matches; an ambiguous prefix is an
 * error whose `err` lists the candidates. Exact leaf-name matches win over
 * prefix matches.
 */
int zt_cgroup_resolve_container(const char *root, const char *arg,
				char *out, size_t outsz, char *err, size_t errsz);

/*
 * zt_cgroup_resolve_container with docker's container store in `docker_dir`
 * (normally /var/lib/docker/containers; NULL skips docker names). A docker
 * name (config.v2.json "Name":"/NAME") is tried after exact leaf names and
 * before id prefixes. A directory named by a full 64-hex id (kubelet's or
 * containerd's cgroupfs layout) also counts as a runtime id.
 */
int zt_cgroup_resolve_container_in(const char *root, const char *docker_dir, const char *arg,
				   char *out, size_t outsz, char *err, size_t errsz);

/*
 * The cgroup2 path of a process relative to the root ("/a/b"), from
 * `proc`/PID/cgroup. Returns 0 or -errno (-ENODATA: no "0::" line).
 */
int zt_cgroup_pid_rel(const char *proc, pid_t pid, char *rel, size_t relsz);

/* Is relative cgroup path `rel` the selection `sel` or below it? Leading
 * and trailing slashes do not matter; "" and "/" select everything. */
bool zt_cgroup_rel_within(const char *rel, const char *sel);

/* The cgroup id of a cgroup2 directory (its inode number), or 0 on error. */
uint64_t zt_cgroup_id(const char *dir);

/*
 * Short container name for a cgroup path relative to the root:
 * "system.slice/docker-0123456789abcdef....scope" -> "0123456789ab",
 * "ztrace-test/pong" -> "pong", "" -> "/".
 */
void zt_cgroup_container_name(const char *relpath, char *out, size_t outsz);
/* The container id a runtime put in a cgroup directory's name (`name`; its
 * parent's name, or NULL): docker-ID.scope, cri-containerd-ID.scope,
 * crio-ID.scope, libpod-ID.scope (hex ids), docker/ID, a 64-hex name. */
bool zt_cgroup_runtime_id(const char *name, const char *parent, const char **id, size_t *idlen);

/*
 * Names of cgroup ids seen in events. Looks ids up in a cache and rescans
 * the tree under `root` on a miss (at most once per second, so a storm of
 * unknown ids costs one walk). Vanished cgroups keep their last known name.
 */
struct zt_cgroup_names;

struct zt_cgroup_names *zt_cgroup_names_new(const char *root);
void zt_cgroup_names_free(struct zt_cgroup_names *n);
/* Forgets the names of cgroups that no longer exist (one walk of the tree),
 * so that container churn does not grow the cache. */
void zt_cgroup_names_prune(struct zt_cgroup_names *n);
/* Names held. */
uint32_t zt_cgroup_names_count(const struct zt_cgroup_names *n);
/*
 * A cgroup the kernel just created (the cgroup_mkdir tracepoint), `path`
 * from its hierarchy's root ("/ztrace-test/pong"): named now, so that a
 * container gone before its records are read still has its name. Returns 0
 * or a negative errno (cache full, empty path).
 */
int zt_cgroup_names_learn(struct zt_cgroup_names *n, uint64_t id, const char *path);
/*
 * Relative path (e.g. "ztrace-test/pong"; "/" for the root itself) and
 * container name for `id`. Pointers stay valid for NAMES_FREE_DELAY_NS
 * (20 s) after the prune that drops the name, and until zt_cgroup_names_free.
 * Returns 0, or -ENOENT for unknown ids, which get "?" / "?" after a rescan
 * fails to find them (or when a rescan ran less than a second ago).
 */
int zt_cgroup_names_get(struct zt_cgroup_names *n, uint64_t id,
			const char **relpath, const char **container);

#endif
