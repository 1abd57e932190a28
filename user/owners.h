/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Who owns a container: a team, a source repository and whom to page.
 *
 * Two sources, merged field by field:
 *  - the --owners FILE (owners_file.h), which wins where it speaks;
 *  - the labels and annotations the runtime keeps on the host for the
 *    container (owners_runtime.h): runc's state, containerd's and CRI-O's
 *    OCI bundles, docker's container config.
 *
 * Answers are cached per cgroup path, at most ZT_OWNERS_CACHE_MAX of them;
 * an entry is never freed while ztrace runs (spans and snapshots keep
 * pointers into it), so past the bound a new cgroup gets the all-NULL owner
 * and is counted (cache_full). A container whose runtime metadata was not
 * found is asked again at most every ZT_OWNERS_RECHECK_NS (its runtime may
 * write its state after its first request); each entry changes its answer at
 * most once (unknown -> known), so at most two answers exist per entry.
 */
#ifndef ZT_OWNERS_H
#define ZT_OWNERS_H

#include <stddef.h>
#include <stdint.h>

struct zt_owner {
	const char *team;   /* NULL when unknown */
	const char *source; /* repository URL, NULL when unknown */
	const char *pager;  /* who to page: an address, a handle or a URL, NULL when unknown */
};

#define ZT_OWNERS_CACHE_MAX 4096
#define ZT_OWNERS_RECHECK_NS (5ULL * 1000000000ULL)
/* Each value is cut to this many bytes (whole UTF-8 characters); control
 * characters and invalid UTF-8 become '?': the JSON and OTLP writers then
 * never need more than twice its length. */
#define ZT_OWNER_VALUE_MAX 255

struct zt_owners;

/* file: --owners FILE or NULL. err: a message when it returns NULL. */
struct zt_owners *zt_owners_new(const char *file, char *err, size_t errlen);
void zt_owners_free(struct zt_owners *o);
/* The owner of a container (its short name and cgroup path as in struct zt_span); never NULL:
 * an all-NULL owner when nothing is known. Valid until zt_owners_free. Called from the tracing
 * thread only; the strings it returns may be copied into snapshots. */
const struct zt_owner *zt_owners_lookup(struct zt_owners *o, const char *container, const char *cgroup);

/* Where the runtimes keep their state; NULL members use the defaults
 * (owners_runtime.h). Tests point them at a temp dir. */
struct zt_owners_roots {
	const char *runc;       /* /run/runc */
	const char *containerd; /* /run/containerd/io.containerd.runtime.v2.task */
	const char *storage;    /* /run/containers/storage/overlay-containers (CRI-O, podman) */
	const char *docker;     /* /var/lib/docker/containers */
	const char *cgroup_root; /* the cgroup2 mount, for runc's cgroup-only lookup; NULL: none */
};

/* zt_owners_new with other roots; `roots` NULL reads none (file only). */
struct zt_owners *zt_owners_new_at(const char *file, const struct zt_owners_roots *roots,
				   char *err, size_t errlen);

struct zt_owners_stats {
	uint64_t cached;      /* cgroups with an entry */
	uint64_t known;       /* of them, with at least one field */
	uint64_t runtime_found; /* metadata files read and used */
	uint64_t rechecks;    /* unknown entries asked again */
	uint64_t cache_full;  /* lookups answered unknown: the cache was full */
};
const struct zt_owners_stats *zt_owners_stats(const struct zt_owners *o);

/* "page team-pong" target of an owner: its pager, else its team, else NULL. */
const char *zt_owner_page_target(const struct zt_owner *ow);

#endif
