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
 * Answers are interned: one struct zt_owner per distinct (team, source,
 * pager), at most ZT_OWNERS_ANSWERS_MAX of them, never freed while ztrace
 * runs (spans, the OTLP queue and snapshots keep pointers to them); past the
 * bound a new owner is answered as unknown and counted (answers_full).
 * Which cgroup has which answer is cached per cgroup path, at most
 * ZT_OWNERS_CACHE_MAX paths; when full the cache is emptied (counted:
 * resets) and refilled as spans come, so container churn never leaves new
 * containers unknown. A container whose runtime metadata was not found is
 * asked again at most every ZT_OWNERS_RECHECK_NS (its runtime may write its
 * state after its first request), at most ZT_OWNERS_RECHECKS_MAX times (a
 * cgroup that is no container, a systemd service, stops costing lookups).
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
#define ZT_OWNERS_ANSWERS_MAX 4096
#define ZT_OWNERS_RECHECK_NS (5ULL * 1000000000ULL)
#define ZT_OWNERS_RECHECKS_MAX 12
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
	uint64_t cgroups;       /* cache entries made (again after a reset) */
	uint64_t known;         /* of them, with at least one field */
	uint64_t runtime_found; /* containers a runtime knew */
	uint64_t rechecks;      /* unknown entries asked again */
	uint64_t resets;        /* the cache was full and emptied */
	uint64_t owners;        /* distinct answers held */
	uint64_t answers_full;  /* owners answered unknown: ZT_OWNERS_ANSWERS_MAX held */
};
const struct zt_owners_stats *zt_owners_stats(const struct zt_owners *o);
/* Tests: ask unknown containers again after `ns` instead of ZT_OWNERS_RECHECK_NS. */
void zt_owners_set_recheck(struct zt_owners *o, uint64_t ns);

/* "page team-pong" target of an owner: its pager, else its team, else NULL. */
const char *zt_owner_page_target(const struct zt_owner *ow);

#endif
