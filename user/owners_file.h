/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The --owners FILE: one rule a line,
 *
 *   # comment
 *   PATTERN  team=VALUE  source=VALUE  pager=VALUE   # a trailing comment
 *
 * PATTERN is an fnmatch(3) glob on the container's name: the short name
 * ztrace shows (`pong`, a 12-hex docker id) or the name its runtime gives
 * it (docker's `--name`, Kubernetes' container name, runc's container id). A PATTERN with a '/'
 * is matched against the cgroup path instead (`system.slice/docker-*.scope`,
 * `kubepods/...`), leading slashes ignored. Keys are team, source and pager,
 * each at most once a line, at least one a line; a VALUE is a run of
 * non-blank characters or "a quoted string" (\" and \\ inside). '#' begins a
 * comment at the start of a line or after a blank. For each field, the
 * first line whose pattern matches and which gives that field wins, so a
 * catch-all `*` line at the end is a default.
 *
 * Bounds: the file at most ZT_OWNERS_FILE_MAX bytes, a line at most
 * ZT_OWNERS_LINE_MAX, at most ZT_OWNERS_RULES_MAX rules, a value cut at
 * ZT_OWNER_VALUE_MAX bytes. A file past a bound is an error, not cut.
 */
#ifndef ZT_OWNERS_FILE_H
#define ZT_OWNERS_FILE_H

#include <stdbool.h>
#include <stddef.h>

#define ZT_OWNERS_FILE_MAX (1 << 20)
#define ZT_OWNERS_LINE_MAX 4096
#define ZT_OWNERS_RULES_MAX 10000

enum zt_owner_field { ZT_OWNER_TEAM, ZT_OWNER_SOURCE, ZT_OWNER_PAGER, ZT_OWNER_FIELDS };

struct zt_owner_rule {
	char *pattern;
	bool on_path; /* the pattern has a '/': matched against the cgroup path */
	char *val[ZT_OWNER_FIELDS];
	int line;
};

struct zt_owner_rules {
	struct zt_owner_rule *r;
	int n, cap;
};

/*
 * Parses `len` bytes of `text` (named `name` in messages). Returns 0, or
 * -EINVAL with "NAME:LINE: what is wrong" in err (the rules are then empty).
 */
int zt_owner_rules_parse(const char *name, const char *text, size_t len,
			 struct zt_owner_rules *out, char *err, size_t errlen);
/* Reads and parses a file; errors as above, or "NAME: strerror". */
int zt_owner_rules_load(const char *path, struct zt_owner_rules *out, char *err, size_t errlen);
void zt_owner_rules_free(struct zt_owner_rules *r);

/*
 * For each field still NULL in val[], the value of the first rule matching
 * `container`, `runtime_name` (may be NULL) or `cgroup` (may be NULL) that
 * gives it. The pointers are the rules' own.
 */
void zt_owner_rules_match(const struct zt_owner_rules *r, const char *container,
			  const char *runtime_name, const char *cgroup,
			  const char *val[ZT_OWNER_FIELDS]);

/*
 * A value as ztrace keeps it: `len` bytes of `s` (a NUL ends it sooner),
 * control characters and invalid UTF-8 as '?', cut at ZT_OWNER_VALUE_MAX
 * bytes on a character boundary. Returns a malloc'd string, or NULL when
 * empty or out of memory.
 */
char *zt_owner_value(const char *s, size_t len);

#endif
