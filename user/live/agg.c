// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "agg.h"
#include "../output/output.h"

void zl_agg_init(struct zl_agg *a, uint64_t start_unix_ns)
{
	memset(a, 0, sizeof(*a));
	a->start_unix_ns = start_unix_ns;
	snprintf(a->series[ZL_SERIES_MAX].container, ZL_NAME_MAX, "%s", ZL_OVERFLOW);
	snprintf(a->series[ZL_SERIES_MAX].op, ZL_OP_MAX, "%s", ZL_OVERFLOW);
	snprintf(a->series[ZL_SERIES_MAX].protocol, ZL_PROTO_MAX, "%s", ZL_OVERFLOW);
	snprintf(a->series[ZL_SERIES_MAX].status_class, 10, "%s", ZL_OVERFLOW);
	a->series[ZL_SERIES_MAX].overflow = true;
	snprintf(a->cells[ZL_CELLS_MAX].container, ZL_NAME_MAX, "%s", ZL_OVERFLOW);
	snprintf(a->cells[ZL_CELLS_MAX].op, ZL_OP_MAX, "%s", ZL_OVERFLOW);
	snprintf(a->cells[ZL_CELLS_MAX].protocol, ZL_PROTO_MAX, "%s", ZL_OVERFLOW);
	snprintf(a->edges[ZL_EDGES_MAX].caller, ZL_PEER_MAX, "%s", ZL_OVERFLOW);
	snprintf(a->edges[ZL_EDGES_MAX].callee, ZL_PEER_MAX, "%s", ZL_OVERFLOW);
	snprintf(a->edges[ZL_EDGES_MAX].protocol, ZL_PROTO_MAX, "%s", ZL_OVERFLOW);
	a->edges[ZL_EDGES_MAX].locality = ZL_LOC_OFF_HOST;
}

/* ---------------------------------------------------------------- helpers */

int zl_bucket(uint64_t ns)
{
	uint64_t bound = 10000; /* 10 us */
	int b = 0;

	while (b < ZL_BUCKETS - 1 && ns >= bound) {
		b++;
		bound *= 10;
	}
	return b;
}

uint64_t zl_lhist_upper_ns(int b)
{
	/* 1 us x sqrt(2)^(b+1) */
	uint64_t v = 1000ULL << ((b + 1) / 2);

	return (b + 1) % 2 ? v * 1414 / 1000 : v;
}

static int lhist_bucket(uint64_t ns)
{
	int b = 0;

	while (b < ZL_LHIST - 1 && ns > zl_lhist_upper_ns(b))
		b++;
	return b;
}

static bool all_of(const char *s, int n, int (*pred)(int))
{
	for (int i = 0; i < n; i++)
		if (!pred((unsigned char)s[i]))
			return false;
	return n > 0;
}

static bool is_uuid(const char *s, int n)
{
	static const int dash[] = { 8, 13, 18, 23 };

	if (n != 36)
		return false;
	for (int i = 0, d = 0; i < n; i++) {
		if (d < 4 && i == dash[d]) {
			if (s[i] != '-')
				return false;
			d++;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

/* A path segment that names one thing among many: folded to {id}. */
static bool is_id(const char *s, int n)
{
	int digits = 0;

	for (int i = 0; i < n; i++)
		digits += isdigit((unsigned char)s[i]) != 0;
	if (all_of(s, n, isdigit) || is_uuid(s, n))
		return true;
	if (n >= 8 && digits && all_of(s, n, isxdigit))
		return true;
	/* Tokens, slugs with ids in them: long, with digits. */
	return n >= 24 && digits;
}

static char clean_char(char c)
{
	return c >= 0x20 && c < 0x7f ? c : '?';
}

void zl_operation(const char *protocol, const char *method, const char *target, char *out,
		  int size)
{
	bool http = !strcmp(protocol, "http") || !strcmp(protocol, "http2");
	int o = 0;

	if (size <= 0)
		return;
	for (const char *m = method; *m && o < size - 1; m++)
		out[o++] = clean_char(*m);
	if (*target && o && o < size - 1)
		out[o++] = ' ';
	if (!http) {
		for (const char *t = target; *t && o < size - 1; t++)
			out[o++] = clean_char(*t);
		out[o] = '\0';
		return;
	}
	/* The path only: a query may carry tokens, and always cardinality. */
	for (const char *t = target; *t && *t != '?' && *t != '#' && o < size - 1;) {
		int n = 0;

		if (*t == '/') {
			out[o++] = '/';
			t++;
			continue;
		}
		while (t[n] && t[n] != '/' && t[n] != '?' && t[n] != '#')
			n++;
		if (is_id(t, n)) {
			for (const char *r = "{id}"; *r && o < size - 1; r++)
				out[o++] = *r;
		} else {
			for (int i = 0; i < n && o < size - 1; i++)
				out[o++] = clean_char(t[i]);
		}
		t += n;
	}
	out[o] = '\0';
}

const char *zl_status_class(const struct zt_span *s)
{
	static const char *const http[] = { "1xx", "2xx", "3xx", "4xx", "5xx" };
	bool has_http = !strcmp(s->protocol, "http") || !strcmp(s->protocol, "http2");

	if (has_http && s->status >= 100 && s->status <= 599)
		return http[s->status / 100 - 1];
	return s->failed ? "error" : "ok";
}

const char *zl_locality_name(int loc)
{
	switch (loc) {
	case ZL_LOC_SAME_NETNS:
		return "same netns";
	case ZL_LOC_OTHER_NETNS:
		return "this host, other netns";
	case ZL_LOC_HOST:
		return "this host";
	default:
		return "off-host";
	}
}

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return (h ^ 0x1f) * 0x100000001b3ULL; /* a separator between fields */
}

/*
 * Finds the entry for hash `h` in an index of `isz` slots over `n` entries
 * (eq tells equal keys apart); -1 when absent, with *slot where it goes.
 */
static int ix_find(const uint16_t *ix, int isz, uint64_t h, bool (*eq)(const void *tab, int i,
	const void *key), const void *tab, const void *key, int *slot)
{
	int s = (int)(h % (uint64_t)isz);

	while (ix[s]) {
		if (eq(tab, ix[s] - 1, key))
			return ix[s] - 1;
		s = (s + 1) % isz;
	}
	*slot = s;
	return -1;
}

/* ----------------------------------------------------------------- series */

struct series_key {
	uint64_t h;
	const char *container, *op, *protocol, *status_class;
	uint8_t kind;
};

static bool series_eq(const void *tab, int i, const void *key)
{
	const struct zl_series *s = (const struct zl_series *)tab + i;
	const struct series_key *k = key;

	return s->hash == k->h && s->kind == k->kind && !strcmp(s->container, k->container) &&
	       !strcmp(s->op, k->op) && !strcmp(s->protocol, k->protocol) &&
	       !strcmp(s->status_class, k->status_class);
}

static struct zl_series *series_get(struct zl_agg *a, const struct series_key *k)
{
	int slot, i = ix_find(a->series_ix, ZL_SERIES_MAX * 2, k->h, series_eq, a->series, k, &slot);
	struct zl_series *s;

	if (i >= 0)
		return &a->series[i];
	if (a->nseries == ZL_SERIES_MAX) {
		a->series_overflow++;
		return &a->series[ZL_SERIES_MAX];
	}
	s = &a->series[a->nseries++];
	a->series_ix[slot] = (uint16_t)a->nseries;
	s->hash = k->h;
	s->kind = k->kind;
	snprintf(s->container, sizeof(s->container), "%s", k->container);
	snprintf(s->op, sizeof(s->op), "%s", k->op);
	snprintf(s->protocol, sizeof(s->protocol), "%s", k->protocol);
	snprintf(s->status_class, sizeof(s->status_class), "%s", k->status_class);
	return s;
}

/* ------------------------------------------------------------------ cells */

static bool cell_eq(const void *tab, int i, const void *key)
{
	const struct zl_cell *c = (const struct zl_cell *)tab + i;
	const struct series_key *k = key;

	return c->hash == k->h && c->kind == k->kind && !strcmp(c->container, k->container) &&
	       !strcmp(c->op, k->op) && !strcmp(c->protocol, k->protocol);
}

static struct zl_cell *cell_get(struct zl_agg *a, const struct series_key *k)
{
	int slot, i = ix_find(a->cells_ix, ZL_CELLS_MAX * 2, k->h, cell_eq, a->cells, k, &slot);
	struct zl_cell *c;

	if (i >= 0)
		return &a->cells[i];
	if (a->ncells == ZL_CELLS_MAX) {
		a->cells_overflow++;
		return &a->cells[ZL_CELLS_MAX];
	}
	c = &a->cells[a->ncells++];
	a->cells_ix[slot] = (uint16_t)a->ncells;
	c->hash = k->h;
	c->kind = k->kind;
	snprintf(c->container, sizeof(c->container), "%s", k->container);
	snprintf(c->op, sizeof(c->op), "%s", k->op);
	snprintf(c->protocol, sizeof(c->protocol), "%s", k->protocol);
	return c;
}

/* ------------------------------------------------------------------ edges */

struct edge_key {
	uint64_t h;
	const char *caller, *callee, *protocol;
};

static bool edge_eq(const void *tab, int i, const void *key)
{
	const struct zl_edge *e = (const struct zl_edge *)tab + i;
	const struct edge_key *k = key;

	return e->hash == k->h && !strcmp(e->caller, k->caller) && !strcmp(e->callee, k->callee) &&
	       !strcmp(e->protocol, k->protocol);
}

static struct zl_edge *edge_get(struct zl_agg *a, const struct edge_key *k, bool *created)
{
	int slot, i = ix_find(a->edges_ix, ZL_EDGES_MAX * 2, k->h, edge_eq, a->edges, k, &slot);
	struct zl_edge *e;

	*created = false;
	if (i >= 0)
		return &a->edges[i];
	if (a->nedges == ZL_EDGES_MAX) {
		a->edges_overflow++;
		return &a->edges[ZL_EDGES_MAX];
	}
	e = &a->edges[a->nedges++];
	a->edges_ix[slot] = (uint16_t)a->nedges;
	e->hash = k->h;
	snprintf(e->caller, sizeof(e->caller), "%s", k->caller);
	snprintf(e->callee, sizeof(e->callee), "%s", k->callee);
	snprintf(e->protocol, sizeof(e->protocol), "%s", k->protocol);
	*created = true;
	return e;
}

static void edge_count(struct zl_edge *e, const struct zt_span *s)
{
	uint64_t end_s = (s->start_ns + s->duration_ns) / 1000000000ULL;
	uint64_t epoch = end_s / ZL_WIN_S;
	struct zl_window *w = &e->win[epoch % ZL_WIN];

	if (w->epoch != epoch) {
		memset(w, 0, sizeof(*w));
		w->epoch = epoch;
	}
	e->count++;
	w->count++;
	if (s->failed) {
		e->errors++;
		w->errors++;
	}
	w->hist[lhist_bucket(s->duration_ns)]++;
}

void zl_edge_window(const struct zl_edge *e, uint64_t now_unix_ns, uint64_t *count,
		    uint64_t *errors, uint64_t *p99_ns)
{
	uint64_t now_epoch = now_unix_ns / 1000000000ULL / ZL_WIN_S;
	uint64_t hist[ZL_LHIST] = { 0 }, n = 0, cum = 0;

	*count = *errors = *p99_ns = 0;
	for (int i = 0; i < ZL_WIN; i++) {
		const struct zl_window *w = &e->win[i];

		if (!w->count || w->epoch + ZL_WIN <= now_epoch || w->epoch > now_epoch)
			continue;
		*count += w->count;
		*errors += w->errors;
		for (int b = 0; b < ZL_LHIST; b++)
			hist[b] += w->hist[b];
	}
	n = *count;
	for (int b = 0; b < ZL_LHIST && n; b++) {
		cum += hist[b];
		if (cum * 100 >= n * 99) {
			*p99_ns = zl_lhist_upper_ns(b);
			break;
		}
	}
}

/* ------------------------------------------------------------- addresses */

/* "1.2.3.4:80" or "[::1]:80" to 16 bytes (IPv4 v4-mapped). */
static bool addr_parse(const char *s, uint8_t out[16])
{
	char ip[INET6_ADDRSTRLEN + 2];
	const char *colon;
	size_t n;

	if (*s == '[') {
		colon = strchr(s, ']');
		if (!colon)
			return false;
		n = (size_t)(colon - s - 1);
		if (n >= sizeof(ip))
			return false;
		memcpy(ip, s + 1, n);
		ip[n] = '\0';
		return inet_pton(AF_INET6, ip, out) == 1;
	}
	colon = strrchr(s, ':');
	n = colon ? (size_t)(colon - s) : strlen(s);
	if (n >= sizeof(ip))
		return false;
	memcpy(ip, s, n);
	ip[n] = '\0';
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	return inet_pton(AF_INET, ip, out + 12) == 1;
}

static bool is_loopback(const uint8_t a[16])
{
	static const uint8_t v6lo[16] = { [15] = 1 };

	return !memcmp(a, v6lo, 16) || (a[10] == 0xff && a[11] == 0xff && a[12] == 127 &&
					!a[0] && !a[8]);
}

void zl_agg_add_host_addr(struct zl_agg *a, const void *addr, int len)
{
	uint8_t v[16] = { [10] = 0xff, [11] = 0xff };

	if (a->nhost == (int)(sizeof(a->host) / sizeof(a->host[0])))
		return;
	if (len == 4)
		memcpy(v + 12, addr, 4);
	else if (len == 16)
		memcpy(v, addr, 16);
	else
		return;
	memcpy(a->host[a->nhost++], v, 16);
}

static bool addr_in(const uint8_t (*set)[16], int n, const uint8_t a[16])
{
	for (int i = 0; i < n; i++)
		if (!memcmp(set[i], a, 16))
			return true;
	return false;
}

/* Local ends of traced sockets: addresses that live on this host. The set
 * stops growing at its bound (a peer then may read as off-host). */
static void addr_seen(struct zl_agg *a, const char *local)
{
	uint64_t h = fnv(0xcbf29ce484222325ULL, local) | 1;
	int slot = (int)(h % ZL_ADDR_SEEN_SLOTS);
	uint8_t v[16];

	/* The same "ip:port" again, the common case: one hash, one probe. */
	for (int i = 0; i < 8 && a->addr_seen[slot]; i++, slot = (slot + 1) % ZL_ADDR_SEEN_SLOTS)
		if (a->addr_seen[slot] == h)
			return;
	if (!a->addr_seen[slot])
		a->addr_seen[slot] = h;
	if (!addr_parse(local, v) || is_loopback(v) || addr_in(a->addrs, a->naddrs, v) ||
	    a->naddrs == ZL_ADDRS_MAX)
		return;
	memcpy(a->addrs[a->naddrs++], v, 16);
}

static int locality(const struct zl_agg *a, const char *local, const char *peer)
{
	uint8_t l[16], p[16];

	if (!addr_parse(peer, p))
		return ZL_LOC_OFF_HOST;
	if (is_loopback(p) || (addr_parse(local, l) && !memcmp(l, p, 16)))
		return ZL_LOC_SAME_NETNS;
	if (addr_in(a->host, a->nhost, p))
		return ZL_LOC_HOST;
	if (addr_in(a->addrs, a->naddrs, p))
		return ZL_LOC_OTHER_NETNS;
	return ZL_LOC_OFF_HOST;
}

/* "10.0.0.5:43122" -> "10.0.0.5": a caller's port is ephemeral. */
static void addr_host(const char *peer, char *out, int size)
{
	const char *end = peer[0] == '[' ? strchr(peer, ']') : strrchr(peer, ':');
	int n = end ? (int)(end - peer) + (peer[0] == '[') : (int)strlen(peer);

	snprintf(out, size, "%.*s", n, peer);
}

/* ------------------------------------------------------------- containers */

const struct zl_container *zl_agg_container(const struct zl_agg *a, const char *name)
{
	for (int i = 0; i < a->ncontainers; i++)
		if (!strcmp(a->containers[i].name, name))
			return &a->containers[i];
	return NULL;
}

void zl_agg_container_seen(struct zl_agg *a, const char *name, const char *cgroup,
			   zl_owner_fn owner, void *owner_ctx)
{
	struct zl_container *c;
	const struct zt_owner *o;

	/* Spans come in runs from one container: the last one first. */
	if (a->ncontainers && !strcmp(a->containers[a->last_container].name, name))
		return;
	for (int i = 0; i < a->ncontainers; i++) {
		if (!strcmp(a->containers[i].name, name)) {
			a->last_container = i;
			return;
		}
	}
	if (a->ncontainers == ZL_CONTAINERS_MAX)
		return;
	a->last_container = a->ncontainers;
	c = &a->containers[a->ncontainers++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	o = owner ? owner(owner_ctx, name, cgroup ? cgroup : "") : NULL;
	if (!o)
		return;
	snprintf(c->team, sizeof(c->team), "%s", o->team ? o->team : "");
	snprintf(c->source, sizeof(c->source), "%s", o->source ? o->source : "");
	snprintf(c->pager, sizeof(c->pager), "%s", o->pager ? o->pager : "");
}

/* ------------------------------------------------------------------ trees */

const struct zl_tree *zl_agg_tree(const struct zl_agg *a, const uint8_t trace_id[16])
{
	for (int i = 0; i < ZL_TREES_MAX; i++)
		if (a->trees[i].used && !memcmp(a->trees[i].trace_id, trace_id, 16))
			return &a->trees[i];
	return NULL;
}

static int put_clean(char *buf, int off, int size, const char *s, int max)
{
	for (int i = 0; s[i] && i < max && off < size - 1; i++)
		buf[off++] = clean_char(s[i]);
	buf[off] = '\0';
	return off;
}

static int put_nl(char *buf, int off, int size)
{
	if (off < size - 1)
		buf[off++] = '\n';
	buf[off] = '\0';
	return off;
}

/* The tree as text lines: the verdict (the critical path by container),
 * then each span indented by depth, '*' on the critical path. */
static void tree_render(struct zl_tree *z, const struct zt_tree *tr)
{
	const struct zt_trace_out *t = tr->t;
	char verdict[512], line[768];
	int off = 0, size = (int)sizeof(z->text);

	zt_tree_verdict(tr, verdict, sizeof(verdict));
	off = put_clean(z->text, off, size, "critical path ", 64);
	off = put_clean(z->text, off, size, verdict, (int)sizeof(verdict));
	off = put_nl(z->text, off, size);
	for (int i = 0; i < t->n; i++) {
		const struct zt_span *s = t->spans[i];
		int d = tr->depth[i] > 8 ? 8 : tr->depth[i], n;
		char dur[32], self[32], cp[32], timing[ZT_TEXT_TIMING_MAX];

		zt_text_timing(s, timing, sizeof(timing));
		zt_tree_ms(s->duration_ns, dur, sizeof(dur));
		zt_tree_ms(tr->self_ns[i], self, sizeof(self));
		zt_tree_ms(tr->cp_ns[i], cp, sizeof(cp));
		n = snprintf(line, sizeof(line), "%c %*s%s %s %s %s %.80s  %s ms (self %s, on path %s)"
			     "  status %d%s%s  peer %s%s\n", tr->on_cp[i] ? '*' : ' ', 2 * d, "",
			     s->container ? s->container : "?",
			     s->kind == ZT_SPAN_SERVER ? "server" : "client", s->protocol, s->method,
			     s->target, dur, self, cp, s->status, s->error[0] ? " " : "", s->error,
			     s->peer, timing);
		if (off + n >= size - 16) {
			off = put_clean(z->text, off, size, "... (cut)", 16);
			put_nl(z->text, off, size);
			return;
		}
		off = put_clean(z->text, off, size, line, n - 1);
		off = put_nl(z->text, off, size);
	}
}

static void tree_keep(struct zl_agg *a, const struct zt_tree *tr)
{
	const struct zt_span *root = tr->t->spans[0];
	struct zl_tree *z;

	if (zl_agg_tree(a, root->trace_id))
		return;
	z = &a->trees[a->tree_next];
	a->tree_next = (a->tree_next + 1) % ZL_TREES_MAX;
	memset(z, 0, sizeof(*z) - sizeof(z->text));
	z->text[0] = '\0';
	memcpy(z->trace_id, root->trace_id, 16);
	z->end_ns = root->start_ns + root->duration_ns;
	z->used = true;
	tree_render(z, tr);
	a->trees_rendered++;
}

/* ------------------------------------------------------------------ spans */

/*
 * The latest ZL_SAMPLES per bucket replace the oldest, a reader sees what is
 * happening now; but at most one per ZL_SAMPLE_GAP_NS per bucket, so that
 * rendering the trees of samples costs nothing at high rates.
 */
#define ZL_SAMPLE_GAP_NS 1000000000ULL

static bool sample(struct zl_agg *a, struct zl_cell *c, int row, const struct zt_span *s)
{
	struct zl_sample *x = &c->samples[row][c->next[row]];
	const struct zl_sample *last = &c->samples[row][(c->next[row] + ZL_SAMPLES - 1) % ZL_SAMPLES];

	if (last->used && s->start_ns < last->start_ns + ZL_SAMPLE_GAP_NS)
		return false;
	c->next[row] = (uint8_t)((c->next[row] + 1) % ZL_SAMPLES);
	x->used = true;
	x->start_ns = s->start_ns;
	x->duration_ns = s->duration_ns;
	memcpy(x->trace_id, s->trace_id, 16);
	x->status = s->status;
	x->failed = s->failed;
	put_clean(x->error, 0, sizeof(x->error), s->error, sizeof(x->error));
	put_clean(x->peer, 0, sizeof(x->peer), s->peer, sizeof(x->peer));
	a->samples_taken++;
	return true;
}

/* Returns true when the span was sampled. */
static bool span_count(struct zl_agg *a, const struct zt_span *s)
{
	char op[ZL_OP_MAX];
	struct series_key k;
	struct zl_series *se;
	struct zl_cell *c;
	int b = zl_bucket(s->duration_ns);

	zl_operation(s->protocol, s->method, s->target, op, sizeof(op));
	k.container = s->container ? s->container : "?";
	k.op = op;
	k.protocol = s->protocol;
	k.status_class = zl_status_class(s);
	k.kind = (uint8_t)s->kind;
	k.h = fnv(fnv(fnv(fnv(fnv(0xcbf29ce484222325ULL, k.container), k.op), k.protocol),
		      k.status_class), k.kind ? "c" : "s");
	se = series_get(a, &k);
	se->count++;
	se->errors += s->failed;
	se->buckets[b]++;
	se->sum_s += s->duration_ns / 1e9;

	k.h = fnv(fnv(fnv(fnv(0xcbf29ce484222325ULL, k.container), k.op), k.protocol),
		  k.kind ? "c" : "s");
	c = cell_get(a, &k);
	c->count++;
	c->buckets[b]++;
	bool taken = sample(a, c, b, s);

	if (s->failed) {
		c->errors++;
		taken |= sample(a, c, ZL_BUCKETS, s);
	}
	a->spans++;
	return taken;
}

/* An edge's locality is worked out once, when it is made: `linked` says
 * both ends are traced here (then never off-host). */
static void edge_add(struct zl_agg *a, const char *caller, bool caller_traced, const char *callee,
		     bool callee_traced, bool linked, const struct zt_span *s)
{
	struct edge_key k = { 0, caller, callee, s->protocol };
	struct zl_edge *e;
	bool created;

	k.h = fnv(fnv(fnv(0xcbf29ce484222325ULL, caller), callee), s->protocol);
	e = edge_get(a, &k, &created);
	if (created) {
		int loc = locality(a, s->local, s->peer);

		e->caller_traced = caller_traced;
		e->callee_traced = callee_traced;
		e->locality = (uint8_t)(linked && loc != ZL_LOC_SAME_NETNS ? ZL_LOC_OTHER_NETNS : loc);
	}
	edge_count(e, s);
}

/*
 * Edges, each request counted once, where it is best seen: a client span
 * (the caller's view, the network included) calls its child server span's
 * container, or its peer address when that end is not traced; a server span
 * whose caller is not traced here is called by its peer's address.
 */
static void edges_of(struct zl_agg *a, const struct zt_trace_out *t)
{
	for (int i = 0; i < t->n; i++) {
		const struct zt_span *s = t->spans[i];
		const char *name = s->container ? s->container : "?";
		char host[ZL_PEER_MAX];
		int child = -1;

		if (s->kind == ZT_SPAN_CLIENT) {
			for (int j = i + 1; j < t->n && child < 0; j++)
				if (t->parent[j] == i && t->spans[j]->kind == ZT_SPAN_SERVER)
					child = j;
			if (child >= 0) {
				const struct zt_span *c = t->spans[child];

				edge_add(a, name, true, c->container ? c->container : "?", true, true, s);
			} else {
				char peer[ZL_PEER_MAX];

				put_clean(peer, 0, sizeof(peer), s->peer, sizeof(peer));
				edge_add(a, name, true, peer, false, false, s);
			}
		} else if (t->parent[i] < 0) {
			addr_host(s->peer, host, sizeof(host));
			put_clean(host, 0, sizeof(host), host, sizeof(host));
			edge_add(a, host, false, name, true, false, s);
		}
	}
}

void zl_agg_trace(struct zl_agg *a, const struct zt_trace_out *t, zl_owner_fn owner,
		  void *owner_ctx)
{
	bool sampled = false;
	struct zt_tree tr;

	if (t->n <= 0)
		return;
	for (int i = 0; i < t->n; i++) {
		/* Servers' addresses are where callers on this host connect. */
		if (t->spans[i]->kind == ZT_SPAN_SERVER)
			addr_seen(a, t->spans[i]->local);
		zl_agg_container_seen(a, t->spans[i]->container ? t->spans[i]->container : "?",
				      t->spans[i]->cgroup, owner, owner_ctx);
	}
	for (int i = 0; i < t->n; i++)
		sampled |= span_count(a, t->spans[i]);
	edges_of(a, t);
	/* A trace with a sampled span is analysed and rendered now, while its
	 * spans exist (the others cost no analysis); the ring keeps the latest
	 * ZL_TREES_MAX. */
	if (sampled && !zt_tree_analyse(&tr, t)) {
		tree_keep(a, &tr);
		zt_tree_free(&tr);
	}
	a->traces++;
}
