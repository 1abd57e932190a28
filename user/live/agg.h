/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The live views' aggregate (--listen): what /tracez, /metrics and /servicez
 * show, kept by the tracing thread as traces finish, one flat block with no
 * pointers so that publishing it to the web server's thread is one memcpy.
 *
 * Everything is bounded; when a bound is hit the newcomer goes to an
 * overflow row (series, cells, edges) and is counted, or the oldest is
 * overwritten (samples, rendered trees):
 *   ZL_SERIES_MAX metric series (container, operation, protocol, status
 *     class, kind); more go to one overflow series labelled "_overflow"
 *   ZL_CELLS_MAX /tracez rows (container, kind, protocol, operation); more
 *     are counted in one "_overflow" row
 *   ZL_SAMPLES sampled spans per row and latency bucket, and for errors: the
 *     latest replace the oldest, one per second per bucket at most
 *   ZL_TREES_MAX trace trees rendered when their trace finished, each
 *     ZL_TREE_TEXT bytes at most (longer trees are cut, saying so): a ring
 *   ZL_EDGES_MAX service map edges; more go to one "_overflow" edge
 *   ZL_CONTAINERS_MAX owners remembered by container name
 *   ZL_INFLIGHT_MAX requests in flight listed (the rest counted)
 *   ZL_ADDRS_MAX local addresses of traced sockets remembered (to tell a
 *     peer on this host from one elsewhere)
 */
#ifndef ZT_LIVE_AGG_H
#define ZT_LIVE_AGG_H

#include <stdbool.h>
#include <stdint.h>

#include "../owners.h"
#include "../span.h"
#include "../trace/tree.h"

/* Latency buckets: [0,10us) [10us,100us) ... [10s,100s) [100s,inf). */
#define ZL_BUCKETS 9
#define ZL_SERIES_MAX 512
#define ZL_CELLS_MAX 128
#define ZL_SAMPLES 2
#define ZL_TREES_MAX 256
#define ZL_TREE_TEXT 3072
#define ZL_EDGES_MAX 128
#define ZL_CONTAINERS_MAX 128
#define ZL_INFLIGHT_MAX 64
#define ZL_ADDRS_MAX 256
#define ZL_ADDR_SEEN_SLOTS 1024
#define ZL_DROPS_MAX 24

#define ZL_NAME_MAX 48   /* container */
#define ZL_OP_MAX 96     /* "GET /api/items/{id}" */
#define ZL_PROTO_MAX 12
#define ZL_PEER_MAX 64   /* an address, or a container name */
/* The service map's rate, error rate and p99 are over the last minute: six
 * 10 s windows, each a histogram of ZL_LHIST buckets (x sqrt 2 each from
 * 1 us: the p99 is the upper bound of its bucket, within 41%). */
#define ZL_WIN 6
#define ZL_WIN_S 10
#define ZL_LHIST 64

#define ZL_OVERFLOW "_overflow"

enum zl_locality {
	ZL_LOC_SAME_NETNS = 0, /* both ends in one network namespace */
	ZL_LOC_OTHER_NETNS,    /* this host, another network namespace */
	ZL_LOC_HOST,           /* an address of the host's own namespace */
	ZL_LOC_OFF_HOST,       /* an address no traced socket here had */
};

struct zl_sample {
	uint64_t start_ns, duration_ns; /* unix ns */
	uint8_t trace_id[16];
	int32_t status;
	bool used, failed;
	char error[24];
	char peer[ZL_PEER_MAX];
};

struct zl_cell {
	uint64_t hash;
	char container[ZL_NAME_MAX];
	char op[ZL_OP_MAX];
	char protocol[ZL_PROTO_MAX];
	uint8_t kind; /* enum zt_span_kind */
	uint64_t count, errors;
	uint64_t buckets[ZL_BUCKETS];
	/* [ZL_BUCKETS] holds the errors' samples */
	struct zl_sample samples[ZL_BUCKETS + 1][ZL_SAMPLES];
	uint8_t next[ZL_BUCKETS + 1];
};

struct zl_series {
	uint64_t hash;
	char container[ZL_NAME_MAX];
	char op[ZL_OP_MAX];
	char protocol[ZL_PROTO_MAX];
	char status_class[10];
	uint8_t kind;
	bool overflow; /* the one series beyond the bound: every label "_overflow" */
	uint64_t count, errors;
	uint64_t buckets[ZL_BUCKETS]; /* not cumulative */
	double sum_s;
};

struct zl_window {
	uint64_t epoch; /* unix seconds / ZL_WIN_S */
	uint32_t count, errors;
	uint32_t hist[ZL_LHIST];
};

struct zl_edge {
	uint64_t hash;
	char caller[ZL_PEER_MAX], callee[ZL_PEER_MAX];
	char protocol[ZL_PROTO_MAX];
	bool caller_traced, callee_traced; /* a container, or only an address */
	uint8_t locality; /* enum zl_locality */
	uint64_t count, errors;
	struct zl_window win[ZL_WIN];
};

struct zl_container {
	char name[ZL_NAME_MAX];
	char team[64], source[160], pager[96]; /* "" when unknown */
};

struct zl_tree {
	uint8_t trace_id[16];
	uint64_t end_ns;
	bool used;
	char text[ZL_TREE_TEXT]; /* plain printable ASCII lines */
};

struct zl_inflight {
	uint8_t kind; /* enum zt_span_kind */
	char container[ZL_NAME_MAX];
	char protocol[ZL_PROTO_MAX];
	char method[16];
	char target[ZL_OP_MAX];
	char peer[ZL_PEER_MAX];
	uint64_t start_mono_ns;
};

struct zl_drop {
	char name[24];
	uint64_t value;
};

struct zl_agg {
	/* Set when published. */
	uint64_t now_unix_ns, now_mono_ns, start_unix_ns;
	uint64_t spans, traces;
	uint64_t series_overflow, cells_overflow, edges_overflow; /* spans counted there */
	uint64_t samples_taken, trees_rendered;
	int nseries, ncells, nedges, ncontainers, naddrs;
	int ninflight;
	uint32_t inflight_more; /* in flight beyond ZL_INFLIGHT_MAX */
	int ndrops;
	int tree_next;
	char hooks[160];
	struct zl_drop drops[ZL_DROPS_MAX];
	struct zl_inflight inflight[ZL_INFLIGHT_MAX];
	struct zl_series series[ZL_SERIES_MAX + 1]; /* + the overflow series */
	struct zl_cell cells[ZL_CELLS_MAX + 1];
	struct zl_edge edges[ZL_EDGES_MAX + 1];
	struct zl_container containers[ZL_CONTAINERS_MAX];
	struct zl_tree trees[ZL_TREES_MAX];
	/* Addresses (IPv6 or v4-mapped, 16 bytes) of traced sockets' local
	 * ends and of the host's interfaces (host[] set at init). */
	uint8_t addrs[ZL_ADDRS_MAX][16];
	uint8_t host[32][16];
	int nhost;
	/* Hashes of local "ip:port" strings already looked at (a cache: a
	 * full neighbourhood only costs a parse). */
	uint64_t addr_seen[ZL_ADDR_SEEN_SLOTS];
	int last_container; /* the container last looked up */
	/* Open addressing over the tables above: entry index + 1, 0 empty. */
	uint16_t series_ix[ZL_SERIES_MAX * 2];
	uint16_t cells_ix[ZL_CELLS_MAX * 2];
	uint16_t edges_ix[ZL_EDGES_MAX * 2];
};

typedef const struct zt_owner *(*zl_owner_fn)(void *ctx, const char *container,
					     const char *cgroup);

/* Starts empty. */
void zl_agg_init(struct zl_agg *a, uint64_t start_unix_ns);
/* One host address (IPv4 as 4 bytes, IPv6 as 16), for locality. */
void zl_agg_add_host_addr(struct zl_agg *a, const void *addr, int len);
/* A finished trace, analysed: every span counted, sampled, and its edge. */
void zl_agg_trace(struct zl_agg *a, const struct zt_trace_out *t, zl_owner_fn owner,
		  void *owner_ctx);

/* A container's owner, looked up once (the first time it is seen). */
void zl_agg_container_seen(struct zl_agg *a, const char *name, const char *cgroup,
			   zl_owner_fn owner, void *owner_ctx);

/* Helpers, exposed for the tests and the pages. */
int zl_bucket(uint64_t ns);
/* "GET /items/{id}": the method and the target with its query dropped,
 * numeric, UUID, hex and long token segments folded to {id}, printable
 * ASCII only, cut to `size`. */
void zl_operation(const char *protocol, const char *method, const char *target, char *out,
		  int size);
/* "2xx" .. "5xx" for HTTP statuses, else "ok" or "error". */
const char *zl_status_class(const struct zt_span *s);
/* The upper bound of a service map histogram bucket, in ns. */
uint64_t zl_lhist_upper_ns(int b);
/* Sum the windows of an edge still within the minute before now_unix_ns;
 * p99 in ns (0 when no request). */
void zl_edge_window(const struct zl_edge *e, uint64_t now_unix_ns, uint64_t *count,
		    uint64_t *errors, uint64_t *p99_ns);
const struct zl_container *zl_agg_container(const struct zl_agg *a, const char *name);
const struct zl_tree *zl_agg_tree(const struct zl_agg *a, const uint8_t trace_id[16]);
const char *zl_locality_name(int loc);

#endif
