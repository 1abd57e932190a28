// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The linker (see link.h). Held spans sit in one list in arrival order (for
 * the waits and the bound) and in three hash indexes:
 *   self  server spans by (connection, order): their thread's client spans
 *         look up their parent there
 *   want  client spans waiting for that server span, by the same key
 *   peer  every span with a tuple, by (tuple, order): the other end finds it
 * Buckets are sized once for max_held; chains stay short. Connections are in
 * a separate counted set (conn_*), bounded by the tracer's connection table.
 */
#include <stdlib.h>
#include <string.h>

#include "link.h"

#define CONN_BUCKETS 16384

enum { IX_SELF, IX_WANT, IX_PEER, IX_MAX };

struct node {
	struct zt_span span; /* first: node_get() clears what follows */
	struct zt_link_info li;
	uint64_t arrival, added_ns;
	struct node *parent, *child, *sibling;
	struct node *older, *newer;
	struct node *hnext[IX_MAX];
	bool in_ix[IX_MAX];
	bool want_parent; /* a server span waits for its peer, a client span for its server request */
	bool want_child;  /* a client span whose server end is traced waits for that span */
	bool check;       /* expired: its tree may be whole now */
};

struct conn_ent {
	struct zt_link_tuple t;
	bool server;
	uint32_t count;
	struct conn_ent *next;
};

/* Server requests open on a thread (tid != 0) or in a process (tid 0). */
struct open_ent {
	uint32_t pid, tid;
	uint32_t count;
	uint64_t xor_conn; /* the one open connection, when count is 1 */
	struct open_ent *next;
};

struct zt_linker {
	struct open_ent *open[CONN_BUCKETS];
	struct zt_link_opts o;
	struct zt_link_stats st;
	uint64_t arrivals;
	uint32_t nbuckets;
	struct node **ix[IX_MAX];
	struct node *oldest, *newest;
	struct conn_ent *conns[CONN_BUCKETS];
	/* Nodes of emitted spans, kept for the next ones (linked by `newer`,
	 * NODE_CACHE at most): a span is ~700 bytes, and malloc/free of one
	 * per span showed in profiles at 50k spans/s. */
	struct node *spare;
	uint32_t nspare;
	/* Open-request counters likewise (linked by `next`, OPEN_CACHE at
	 * most): two come and go with every server request. */
	struct open_ent *open_spare;
	uint32_t nopen_spare;
	/* Scratch for one trace, max_held entries each. */
	struct node **tn;
	struct zt_span **tspans;
	int *tparent;
};

#define NODE_CACHE 1024
#define OPEN_CACHE 256

static struct node *node_get(struct zt_linker *lk)
{
	struct node *n = lk->spare;

	if (!n)
		return calloc(1, sizeof(*n));
	lk->spare = n->newer;
	lk->nspare--;
	/* The span is copied over whole by the caller. */
	memset((char *)n + sizeof(n->span), 0, sizeof(*n) - sizeof(n->span));
	return n;
}

static void node_put(struct zt_linker *lk, struct node *n)
{
	if (lk->nspare >= NODE_CACHE) {
		free(n);
		return;
	}
	n->newer = lk->spare;
	lk->spare = n;
	lk->nspare++;
}


static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 31);
}

static uint64_t tuple_hash(const struct zt_link_tuple *t, uint64_t ord)
{
	uint64_t h = ord, w;

	for (int i = 0; i < 16; i += 8) {
		memcpy(&w, t->caddr + i, 8);
		h = mix(h, w);
		memcpy(&w, t->saddr + i, 8);
		h = mix(h, w);
	}
	return mix(h, (uint64_t)t->cport << 48 | (uint64_t)t->sport << 32 | t->netns);
}

static bool tuple_eq(const struct zt_link_tuple *a, const struct zt_link_tuple *b)
{
	return !memcmp(a->caddr, b->caddr, 16) && !memcmp(a->saddr, b->saddr, 16) &&
	       a->cport == b->cport && a->sport == b->sport && a->netns == b->netns;
}

static bool is_loopback(const uint8_t a[16])
{
	static const uint8_t v4m[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t one[16] = { [15] = 1 };

	return (!memcmp(a, v4m, 12) && a[12] == 127) || !memcmp(a, one, 16);
}

static void to_v6(uint16_t family, const uint8_t in[16], uint8_t out[16])
{
	if (family == 2 /* AF_INET */) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, in, 4);
	} else {
		memcpy(out, in, 16);
	}
}

void zt_link_tuple_make(struct zt_link_tuple *t, uint16_t family, const uint8_t local[16],
			uint16_t lport, const uint8_t peer[16], uint16_t pport, bool server,
			uint32_t netns)
{
	memset(t, 0, sizeof(*t));
	to_v6(family, server ? peer : local, t->caddr);
	to_v6(family, server ? local : peer, t->saddr);
	t->cport = server ? pport : lport;
	t->sport = server ? lport : pport;
	/* Loopback is private to its namespace; other addresses are not. */
	if (is_loopback(t->caddr) || is_loopback(t->saddr))
		t->netns = netns;
}

/* ---- the connection set ---- */

static struct conn_ent **conn_slot(const struct zt_linker *lk, const struct zt_link_tuple *t,
				   bool server)
{
	uint32_t b = (uint32_t)tuple_hash(t, server) & (CONN_BUCKETS - 1);
	struct conn_ent *const *pp = &lk->conns[b];

	while (*pp && !((*pp)->server == server && tuple_eq(&(*pp)->t, t)))
		pp = &(*pp)->next;
	return (struct conn_ent **)pp;
}

void zt_linker_conn_add(struct zt_linker *lk, const struct zt_link_tuple *t, bool server)
{
	struct conn_ent **pp = conn_slot(lk, t, server);

	if (*pp) {
		(*pp)->count++;
		return;
	}
	/* Out of memory: the peer will look untraced, its span goes out
	 * unlinked at once; no wait is made for what cannot be found. */
	*pp = calloc(1, sizeof(**pp));
	if (!*pp)
		return;
	(*pp)->t = *t;
	(*pp)->server = server;
	(*pp)->count = 1;
}

void zt_linker_conn_del(struct zt_linker *lk, const struct zt_link_tuple *t, bool server)
{
	struct conn_ent **pp = conn_slot(lk, t, server), *e = *pp;

	if (!e || --e->count)
		return;
	*pp = e->next;
	free(e);
}

bool zt_linker_conn_traced(const struct zt_linker *lk, const struct zt_link_tuple *t, bool server)
{
	return *conn_slot(lk, t, server) != NULL;
}

/* ---- server requests open, by thread ---- */

static struct open_ent **open_slot(const struct zt_linker *lk, uint32_t pid, uint32_t tid)
{
	uint32_t b = (uint32_t)mix(pid, tid) & (CONN_BUCKETS - 1);
	struct open_ent *const *pp = &lk->open[b];

	while (*pp && !((*pp)->pid == pid && (*pp)->tid == tid))
		pp = &(*pp)->next;
	return (struct open_ent **)pp;
}

static void open_count(struct zt_linker *lk, uint32_t pid, uint32_t tid, uint64_t conn, int d)
{
	struct open_ent **pp = open_slot(lk, pid, tid), *e = *pp;

	if (!e) {
		if (d < 0)
			return;
		if ((e = lk->open_spare)) {
			lk->open_spare = e->next;
			lk->nopen_spare--;
			memset(e, 0, sizeof(*e));
		} else if (!(e = calloc(1, sizeof(*e)))) {
			return;
		}
		e->pid = pid;
		e->tid = tid;
		*pp = e;
	}
	if (d < 0 && !e->count)
		return;
	e->count += d;
	e->xor_conn ^= conn;
	if (!e->count) {
		*pp = e->next;
		if (lk->nopen_spare >= OPEN_CACHE) {
			free(e);
			return;
		}
		e->next = lk->open_spare;
		lk->open_spare = e;
		lk->nopen_spare++;
	}
}

void zt_linker_srv_open(struct zt_linker *lk, uint32_t pid, uint32_t tid, uint64_t conn)
{
	open_count(lk, pid, tid, conn, 1);
	open_count(lk, pid, 0, conn, 1);
}

void zt_linker_srv_close(struct zt_linker *lk, uint32_t pid, uint32_t tid, uint64_t conn)
{
	open_count(lk, pid, tid, conn, -1);
	open_count(lk, pid, 0, conn, -1);
}

enum zt_link_local zt_linker_local(const struct zt_linker *lk, uint32_t pid, uint32_t tid,
				   uint64_t *conn)
{
	const struct open_ent *t = *open_slot(lk, pid, tid), *p = *open_slot(lk, pid, 0);

	if (t && t->count == 1) {
		*conn = t->xor_conn;
		return ZT_LOCAL_PARENT;
	}
	if (t && t->count > 1)
		return ZT_LOCAL_AMBIGUOUS;
	return p ? ZT_LOCAL_THREAD_POOL : ZT_LOCAL_ROOT;
}

/* ---- indexes ---- */

static uint64_t key_of(const struct node *n, int ix)
{
	switch (ix) {
	case IX_SELF:
		return mix(n->li.conn_id, n->li.seq);
	case IX_WANT:
		return mix(n->li.parent_conn, n->li.parent_seq);
	default:
		return tuple_hash(&n->li.tuple, n->li.ord);
	}
}

static void ix_add(struct zt_linker *lk, struct node *n, int ix)
{
	uint32_t b = (uint32_t)key_of(n, ix) & (lk->nbuckets - 1);

	n->hnext[ix] = lk->ix[ix][b];
	lk->ix[ix][b] = n;
	n->in_ix[ix] = true;
}

static void ix_del(struct zt_linker *lk, struct node *n, int ix)
{
	struct node **pp;

	if (!n->in_ix[ix])
		return;
	pp = &lk->ix[ix][(uint32_t)key_of(n, ix) & (lk->nbuckets - 1)];
	while (*pp && *pp != n)
		pp = &(*pp)->hnext[ix];
	if (*pp)
		*pp = n->hnext[ix];
	n->in_ix[ix] = false;
}

/* The held server span of (conn, seq). */
static struct node *find_self(struct zt_linker *lk, uint64_t conn, uint64_t seq)
{
	struct node *n = lk->ix[IX_SELF][(uint32_t)mix(conn, seq) & (lk->nbuckets - 1)];

	for (; n; n = n->hnext[IX_SELF])
		if (n->li.conn_id == conn && n->li.seq == seq)
			return n;
	return NULL;
}

/* The held span at the other end of n's request. */
static struct node *find_peer(struct zt_linker *lk, const struct node *n)
{
	struct node *p = lk->ix[IX_PEER][(uint32_t)key_of(n, IX_PEER) & (lk->nbuckets - 1)];

	for (; p; p = p->hnext[IX_PEER])
		if (p != n && p->span.kind != n->span.kind && p->li.ord == n->li.ord &&
		    tuple_eq(&p->li.tuple, &n->li.tuple))
			return p;
	return NULL;
}

/* ---- trees ---- */

static uint64_t end_of(const struct zt_span *s)
{
	return s->start_ns + s->duration_ns;
}

/*
 * Whether inner happened within outer. Each end's time is taken when its
 * syscall returns: the receiver of a message can return before its sender
 * does (woken on another CPU, or the sender preempted on its way out), so
 * the ends may cross by up to NEST_SLACK_NS. Order on the connection is
 * what pairs spans; this only refuses pairs far apart.
 */
#define NEST_SLACK_NS (10ULL * 1000000ULL)

static bool nests(const struct zt_span *outer, const struct zt_span *inner)
{
	return inner->start_ns + NEST_SLACK_NS >= outer->start_ns &&
	       end_of(inner) <= end_of(outer) + NEST_SLACK_NS;
}

/* Makes `parent` the parent of `child`, if the timings allow it. */
static void link(struct zt_linker *lk, struct node *parent, struct node *child, bool peer)
{
	child->want_parent = false;
	if (peer)
		parent->want_child = false;
	/* A process that calls itself could make a span its own ancestor. */
	for (struct node *a = parent; a; a = a->parent)
		if (a == child) {
			child->span.no_parent = "mismatch";
			lk->st.mismatch++;
			return;
		}
	if (!nests(&parent->span, &child->span)) {
		child->span.no_parent = "mismatch";
		lk->st.mismatch++;
		return;
	}
	child->parent = parent;
	/* Children by start, for the tree view. */
	struct node **pp = &parent->child;

	while (*pp && (*pp)->span.start_ns <= child->span.start_ns)
		pp = &(*pp)->sibling;
	child->sibling = *pp;
	*pp = child;
	child->span.no_parent = NULL;
	if (peer)
		lk->st.linked_peer++;
	else
		lk->st.linked_local++;
}

static struct node *root_of(struct node *n)
{
	while (n->parent)
		n = n->parent;
	return n;
}

/* The tree under root, depth first, into tn/tspans/tparent; returns the
 * count (a tree holds held spans only, so max_held bounds it). */
static void dfs(struct zt_linker *lk, struct node *n, int parent, int *m)
{
	int me = (*m)++;

	lk->tn[me] = n;
	lk->tspans[me] = &n->span;
	lk->tparent[me] = parent;
	for (struct node *c = n->child; c && *m < (int)lk->o.max_held; c = c->sibling)
		dfs(lk, c, me, m);
}

static int collect(struct zt_linker *lk, struct node *root)
{
	int m = 0;

	dfs(lk, root, -1, &m);
	return m;
}

static bool whole(struct zt_linker *lk, struct node *root)
{
	int n;

	if (root->want_parent)
		return false;
	n = collect(lk, root);
	for (int i = 0; i < n; i++)
		if (lk->tn[i]->want_child)
			return false;
	return true;
}

static void unhold(struct zt_linker *lk, struct node *n)
{
	for (int ix = 0; ix < IX_MAX; ix++)
		ix_del(lk, n, ix);
	if (n->older)
		n->older->newer = n->newer;
	else
		lk->oldest = n->newer;
	if (n->newer)
		n->newer->older = n->older;
	else
		lk->newest = n->older;
	lk->st.held--;
}

static void emit(struct zt_linker *lk, struct node *root)
{
	int n = collect(lk, root);

	/* Ids flow from the root down; a parent's span id is final. */
	for (int i = 1; i < n; i++) {
		struct zt_span *s = lk->tspans[i], *p = lk->tspans[lk->tparent[i]];

		memcpy(s->trace_id, root->span.trace_id, sizeof(s->trace_id));
		memcpy(s->parent_span_id, p->span_id, sizeof(s->parent_span_id));
		s->has_parent = true;
		s->no_parent = NULL;
	}
	for (int i = 0; i < n; i++)
		if (lk->o.on_span)
			lk->o.on_span(lk->o.ctx, lk->tspans[i]);
	if (lk->o.on_trace) {
		struct zt_trace_out t = { n, lk->tspans, lk->tparent };

		lk->o.on_trace(lk->o.ctx, &t);
	}
	lk->st.traces++;
	for (int i = 0; i < n; i++)
		unhold(lk, lk->tn[i]);
	for (int i = 0; i < n; i++)
		node_put(lk, lk->tn[i]);
}

static void try_emit(struct zt_linker *lk, struct node *n)
{
	struct node *r = root_of(n);

	if (whole(lk, r))
		emit(lk, r);
}

/* Stops every wait in n's tree and emits it: the bound was hit. */
static void force(struct zt_linker *lk, struct node *n)
{
	struct node *r = root_of(n);
	int cnt = collect(lk, r);

	if (r->want_parent) {
		r->want_parent = false;
		r->span.no_parent = r->span.has_parent ? NULL : "expired";
	}
	for (int i = 0; i < cnt; i++)
		lk->tn[i]->want_child = false;
	emit(lk, r);
}

/* ---- the public side ---- */

struct zt_linker *zt_linker_new(const struct zt_link_opts *o)
{
	struct zt_linker *lk = calloc(1, sizeof(*lk));

	if (!lk)
		return NULL;
	lk->o = *o;
	if (!lk->o.wait_ns)
		lk->o.wait_ns = ZT_LINK_WAIT_NS;
	if (!lk->o.max_held)
		lk->o.max_held = ZT_LINK_MAX_HELD;
	/* A bucket per 8 spans held at most: the tables are touched at random
	 * once per span, and at 8 KiB each (8192 held) they stay in cache
	 * where a bucket per span (64 KiB each) made every add a miss; the
	 * usual number held is a handful, so chains stay short. */
	lk->nbuckets = 16;
	while (lk->nbuckets < lk->o.max_held / 8)
		lk->nbuckets <<= 1;
	for (int ix = 0; ix < IX_MAX; ix++)
		lk->ix[ix] = calloc(lk->nbuckets, sizeof(*lk->ix[ix]));
	lk->tn = calloc(lk->o.max_held, sizeof(*lk->tn));
	lk->tspans = calloc(lk->o.max_held, sizeof(*lk->tspans));
	lk->tparent = calloc(lk->o.max_held, sizeof(*lk->tparent));
	if (!lk->ix[0] || !lk->ix[1] || !lk->ix[2] || !lk->tn || !lk->tspans || !lk->tparent) {
		zt_linker_free(lk);
		return NULL;
	}
	return lk;
}

void zt_linker_flush(struct zt_linker *lk)
{
	while (lk->oldest)
		force(lk, lk->oldest);
}

void zt_linker_free(struct zt_linker *lk)
{
	if (!lk)
		return;
	if (lk->tn && lk->ix[0] && lk->ix[1] && lk->ix[2])
		zt_linker_flush(lk);
	for (int b = 0; b < CONN_BUCKETS; b++)
		while (lk->conns[b]) {
			struct conn_ent *e = lk->conns[b];

			lk->conns[b] = e->next;
			free(e);
		}
	for (int b = 0; b < CONN_BUCKETS; b++)
		while (lk->open[b]) {
			struct open_ent *e = lk->open[b];

			lk->open[b] = e->next;
			free(e);
		}
	while (lk->open_spare) {
		struct open_ent *e = lk->open_spare;

		lk->open_spare = e->next;
		free(e);
	}
	while (lk->spare) {
		struct node *n = lk->spare;

		lk->spare = n->newer;
		free(n);
	}
	for (int ix = 0; ix < IX_MAX; ix++)
		free(lk->ix[ix]);
	free(lk->tn);
	free(lk->tspans);
	free(lk->tparent);
	free(lk);
}

const struct zt_link_stats *zt_linker_stats(const struct zt_linker *lk)
{
	return &lk->st;
}

static void add_server(struct zt_linker *lk, struct node *n)
{
	struct node *c;

	ix_add(lk, n, IX_SELF);
	/* Its thread's client spans, finished already, waiting for it. */
	for (uint32_t b = (uint32_t)key_of(n, IX_SELF) & (lk->nbuckets - 1);;) {
		struct node *w = lk->ix[IX_WANT][b];

		while (w && !(w->li.parent_conn == n->li.conn_id && w->li.parent_seq == n->li.seq))
			w = w->hnext[IX_WANT];
		if (!w)
			break;
		ix_del(lk, w, IX_WANT);
		link(lk, n, w, false);
		if (!w->parent)
			try_emit(lk, w);
	}
	if (!n->li.has_tuple) {
		n->span.no_parent = n->span.has_parent ? NULL : "no_peer";
		lk->st.no_peer += !n->span.has_parent;
		return;
	}
	ix_add(lk, n, IX_PEER);
	c = find_peer(lk, n);
	if (c) {
		link(lk, c, n, true);
	} else if (n->li.peer_traced) {
		n->want_parent = true;
	} else if (!n->span.has_parent) {
		n->span.no_parent = "no_peer";
		lk->st.no_peer++;
	}
}

static void add_client(struct zt_linker *lk, struct node *n)
{
	struct node *p;
	bool header = n->span.has_parent; /* a traceparent the client sent */

	switch (n->li.local) {
	case ZT_LOCAL_PARENT:
		p = find_self(lk, n->li.parent_conn, n->li.parent_seq);
		if (p) {
			link(lk, p, n, false);
		} else {
			n->want_parent = true;
			ix_add(lk, n, IX_WANT);
		}
		break;
	case ZT_LOCAL_AMBIGUOUS:
		n->span.no_parent = "ambiguous";
		lk->st.ambiguous++;
		break;
	case ZT_LOCAL_THREAD_POOL:
		n->span.no_parent = "thread_pool";
		lk->st.thread_pool++;
		break;
	default:
		/* The trace starts here, unless the request says where it
		 * came from. */
		if (!header) {
			n->span.no_parent = "root";
			lk->st.roots++;
		}
		break;
	}
	/* The header's parent is this span's only when nothing nearer is
	 * known: a request that left without a certain cause keeps the
	 * header's trace id but not a parent it may skip over. */
	if (header && n->li.local != ZT_LOCAL_ROOT && n->li.local != ZT_LOCAL_NONE)
		n->span.has_parent = false;
	if (!n->li.has_tuple)
		return;
	ix_add(lk, n, IX_PEER);
	p = find_peer(lk, n);
	if (p && !p->parent && p->want_parent) {
		link(lk, n, p, true);
		/* Refused: the server span stops waiting, its tree may be
		 * whole (unless it is n's own: the caller looks at that). */
		if (!p->parent && root_of(n) != p)
			try_emit(lk, p);
	} else if (!p && n->li.peer_traced)
		n->want_child = true;
}

void zt_linker_add(struct zt_linker *lk, const struct zt_span *s, const struct zt_link_info *li,
		   uint64_t now_ns)
{
	struct node *n;

	if (lk->st.held >= lk->o.max_held && lk->oldest) {
		lk->st.held_overflow++;
		force(lk, lk->oldest);
	}
	n = node_get(lk);
	if (!n) {
		/* Out of memory: the span goes out as it is. */
		if (lk->o.on_span)
			lk->o.on_span(lk->o.ctx, (struct zt_span *)s);
		return;
	}
	n->span = *s;
	n->span.no_parent = NULL;
	n->li = *li;
	n->arrival = ++lk->arrivals;
	n->added_ns = now_ns;
	n->older = lk->newest;
	if (lk->newest)
		lk->newest->newer = n;
	else
		lk->oldest = n;
	lk->newest = n;
	if (++lk->st.held > lk->st.held_max)
		lk->st.held_max = lk->st.held;
	if (s->kind == ZT_SPAN_SERVER)
		add_server(lk, n);
	else
		add_client(lk, n);
	try_emit(lk, n);
}

void zt_linker_expire(struct zt_linker *lk, uint64_t now_ns)
{
	bool any = false;

	for (struct node *n = lk->oldest; n && n->added_ns + lk->o.wait_ns <= now_ns; n = n->newer) {
		bool local = n->span.kind == ZT_SPAN_CLIENT;

		if (n->want_parent && (!local || n->added_ns + 4 * lk->o.wait_ns <= now_ns)) {
			n->want_parent = false;
			n->span.no_parent = n->span.has_parent ? NULL : "expired";
			ix_del(lk, n, IX_WANT);
			lk->st.expired++;
			n->check = any = true;
		}
		if (n->want_child) {
			n->want_child = false;
			lk->st.expired++;
			n->check = any = true;
		}
	}
	/* Emitting frees nodes: start over after each. */
	while (any) {
		any = false;
		for (struct node *n = lk->oldest; n; n = n->newer) {
			if (!n->check)
				continue;
			n->check = false;
			struct node *r = root_of(n);

			if (whole(lk, r)) {
				emit(lk, r);
				any = true;
				break;
			}
		}
	}
}
