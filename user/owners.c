// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "owners.h"
#include "owners_file.h"
#include "owners_runtime.h"

/* Open addressing, never deleted from (emptied whole when full): twice the
 * entries keeps probes short. The answers' own table likewise. */
#define SLOTS (2 * ZT_OWNERS_CACHE_MAX)
#define ANSWER_SLOTS (2 * ZT_OWNERS_ANSWERS_MAX)

struct entry {
	char *key;   /* the cgroup path; "\x01NAME" when only the container name is known */
	const struct zt_owner *cur;
	uint64_t recheck_at; /* CLOCK_MONOTONIC ns; 0: final */
	uint32_t rechecks;
};

/* An answer and its strings, in one allocation. */
struct answer {
	struct zt_owner o;
	struct answer *next;
	char strs[];
};

struct zt_owners {
	struct zt_owner_rules rules;
	bool runtime;
	struct zt_owners_roots roots;
	char *root_copy[4];
	struct zt_runtime_scan *scan;
	struct entry slot[SLOTS];
	uint32_t n;
	struct answer *answers; /* every distinct answer, freed at the end only */
	struct answer *by_value[ANSWER_SLOTS];
	struct zt_owners_stats st;
	uint64_t recheck_ns;
};

static const struct zt_owner unknown;

/* Coarse (a tick): rechecks are seconds apart, and this runs per span. */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

const char *zt_owner_page_target(const struct zt_owner *ow)
{
	if (!ow)
		return NULL;
	return ow->pager ? ow->pager : ow->team;
}

struct zt_owners *zt_owners_new_at(const char *file, const struct zt_owners_roots *roots,
				   char *err, size_t errlen)
{
	struct zt_owners *o = calloc(1, sizeof(*o));

	if (!o) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	o->recheck_ns = ZT_OWNERS_RECHECK_NS;
	if (file && zt_owner_rules_load(file, &o->rules, err, errlen)) {
		free(o);
		return NULL;
	}
	if (roots) {
		const char *in[4] = { roots->runc, roots->containerd, roots->storage, roots->docker };

		o->runtime = true;
		for (int i = 0; i < 4; i++) {
			if (in[i] && !(o->root_copy[i] = strdup(in[i]))) {
				snprintf(err, errlen, "out of memory");
				zt_owners_free(o);
				return NULL;
			}
		}
		o->roots.runc = o->root_copy[0];
		o->roots.containerd = o->root_copy[1];
		o->roots.storage = o->root_copy[2];
		o->roots.docker = o->root_copy[3];
	}
	return o;
}

struct zt_owners *zt_owners_new(const char *file, char *err, size_t errlen)
{
	static const struct zt_owners_roots defaults;

	return zt_owners_new_at(file, &defaults, err, errlen);
}

void zt_owners_free(struct zt_owners *o)
{
	if (!o)
		return;
	for (uint32_t i = 0; i < SLOTS; i++)
		free(o->slot[i].key);
	while (o->answers) {
		struct answer *a = o->answers;

		o->answers = a->next;
		free(a);
	}
	zt_owner_rules_free(&o->rules);
	zt_runtime_scan_free(o->scan);
	for (int i = 0; i < 4; i++)
		free(o->root_copy[i]);
	free(o);
}

const struct zt_owners_stats *zt_owners_stats(const struct zt_owners *o)
{
	return &o->st;
}

void zt_owners_set_recheck(struct zt_owners *o, uint64_t ns)
{
	o->recheck_ns = ns;
}

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* The answer for these values: the shared unknown one when all are NULL,
 * else the one interned for them. */
static const struct zt_owner *answer_of(struct zt_owners *o, const char *val[ZT_OWNER_FIELDS])
{
	size_t len[ZT_OWNER_FIELDS], total = 0;
	uint32_t h = 0, i;
	struct answer *a;
	char *p;

	for (int f = 0; f < ZT_OWNER_FIELDS; f++) {
		len[f] = val[f] ? strlen(val[f]) + 1 : 0;
		total += len[f];
		h = h * 31 + (val[f] ? hash(val[f]) : 0);
	}
	if (!total)
		return &unknown;
	for (i = h & (ANSWER_SLOTS - 1); (a = o->by_value[i]); i = (i + 1) & (ANSWER_SLOTS - 1))
		if (same(a->o.team, val[ZT_OWNER_TEAM]) && same(a->o.source, val[ZT_OWNER_SOURCE]) &&
		    same(a->o.pager, val[ZT_OWNER_PAGER]))
			return &a->o;
	if (o->st.owners >= ZT_OWNERS_ANSWERS_MAX) {
		o->st.answers_full++;
		return &unknown;
	}
	a = calloc(1, sizeof(*a) + total);
	if (!a)
		return &unknown;
	p = a->strs;
	for (int f = 0; f < ZT_OWNER_FIELDS; f++) {
		const char **dst = f == ZT_OWNER_TEAM ? &a->o.team :
				   f == ZT_OWNER_SOURCE ? &a->o.source : &a->o.pager;

		if (!val[f])
			continue;
		memcpy(p, val[f], len[f]);
		*dst = p;
		p += len[f];
	}
	a->next = o->answers;
	o->answers = a;
	o->by_value[i] = a;
	o->st.owners++;
	return &a->o;
}

/*
 * The file's fields, then the runtime's where the file is silent. Returns
 * the answer when the runtime knew the container or `force` (the first
 * look), else NULL (nothing new: the entry keeps its answer).
 */
static const struct zt_owner *resolve(struct zt_owners *o, const char *container,
				      const char *cgroup, bool force, bool *final)
{
	struct zt_runtime_owner ro = {};
	const char *val[ZT_OWNER_FIELDS] = {};
	const struct zt_owner *ans;
	int found = 0;

	if (o->runtime && cgroup)
		found = zt_runtime_lookup(&o->roots, &o->scan, cgroup, &ro);
	/* Without a cgroup path no runtime can be asked: nothing to wait for. */
	*final = !o->runtime || !cgroup || found;
	if (!found && !force) {
		zt_runtime_owner_free(&ro);
		return NULL;
	}
	if (found)
		o->st.runtime_found++;
	zt_owner_rules_match(&o->rules, container, ro.name, cgroup, val);
	for (int f = 0; f < ZT_OWNER_FIELDS; f++)
		if (!val[f])
			val[f] = ro.val[f];
	ans = answer_of(o, val);
	zt_runtime_owner_free(&ro);
	return ans;
}

/* Per span: the length and the last 32 bytes, where cgroup paths differ
 * (container ids, leaf names); strcmp settles collisions. */
static uint32_t key_hash(const char *key)
{
	size_t n = strlen(key);

	return hash(key + (n > 32 ? n - 32 : 0)) ^ (uint32_t)n * 2654435761u;
}

/* Full: every entry goes; the answers stay (spans point at them). */
static void cache_reset(struct zt_owners *o)
{
	for (uint32_t i = 0; i < SLOTS; i++)
		free(o->slot[i].key);
	memset(o->slot, 0, sizeof(o->slot));
	o->n = 0;
	o->st.resets++;
}

static void schedule(struct zt_owners *o, struct entry *e, bool final)
{
	e->recheck_at = final || e->rechecks >= ZT_OWNERS_RECHECKS_MAX ? 0 : mono_ns() + o->recheck_ns;
}

const struct zt_owner *zt_owners_lookup(struct zt_owners *o, const char *container, const char *cgroup)
{
	char keybuf[ZT_OWNER_VALUE_MAX + 2];
	const char *key;
	struct entry *e;
	uint32_t i;
	bool final;

	if (!o)
		return &unknown;
	if (cgroup && (!*cgroup || !strcmp(cgroup, "?")))
		cgroup = NULL;
	if (!cgroup && (!container || !*container))
		return &unknown;
	if (cgroup) {
		key = cgroup;
	} else {
		snprintf(keybuf, sizeof(keybuf), "\x01%s", container);
		key = keybuf;
	}
	for (i = key_hash(key) & (SLOTS - 1); o->slot[i].key; i = (i + 1) & (SLOTS - 1))
		if (!strcmp(o->slot[i].key, key))
			break;
	e = &o->slot[i];
	if (e->key) {
		if (e->recheck_at && mono_ns() >= e->recheck_at) {
			const struct zt_owner *ans;

			o->st.rechecks++;
			e->rechecks++;
			ans = resolve(o, container, cgroup, false, &final);
			if (ans) {
				o->st.known += e->cur == &unknown && ans != &unknown;
				e->cur = ans;
			}
			schedule(o, e, final);
		}
		return e->cur;
	}
	if (o->n >= ZT_OWNERS_CACHE_MAX) {
		cache_reset(o);
		for (i = key_hash(key) & (SLOTS - 1); o->slot[i].key; i = (i + 1) & (SLOTS - 1))
			;
		e = &o->slot[i];
	}
	e->key = strdup(key);
	if (!e->key)
		return &unknown;
	o->n++;
	o->st.cgroups++;
	e->cur = resolve(o, container, cgroup, true, &final);
	o->st.known += e->cur != &unknown;
	schedule(o, e, final);
	return e->cur;
}
