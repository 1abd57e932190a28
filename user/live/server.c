// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "dl.h"
#include "render.h"
#include "route.h"
#include "server.h"

/* A page asked for data newer than this waits for the tracing thread's next
 * poll (every few ms), this long at most. */
#define FRESH_WAIT_MS 250
/* Published at least this often when nothing asks. */
#define PUBLISH_NS 1000000000ULL

/* libmicrohttpd, opened by --listen (user/dl.h), never closed. */
static struct {
	struct MHD_Daemon *(*start_daemon)(unsigned int flags, uint16_t port,
					   MHD_AcceptPolicyCallback apc, void *apc_cls,
					   MHD_AccessHandlerCallback dh, void *dh_cls, ...);
	void (*stop_daemon)(struct MHD_Daemon *d);
	struct MHD_Response *(*create_response_from_buffer)(size_t size, void *buffer,
							    enum MHD_ResponseMemoryMode mode);
	enum MHD_Result (*add_response_header)(struct MHD_Response *r, const char *header,
					       const char *content);
	enum MHD_Result (*queue_response)(struct MHD_Connection *c, unsigned int status,
					  struct MHD_Response *r);
	void (*destroy_response)(struct MHD_Response *r);
	const char *(*lookup_connection_value)(struct MHD_Connection *c, enum MHD_ValueKind kind,
					       const char *key);
} mhd;

#define MHD(f) { "MHD_" #f, offsetof(__typeof__(mhd), f) }
static const struct zt_dl_sym mhd_syms[] = {
	MHD(start_daemon),	  MHD(stop_daemon),    MHD(create_response_from_buffer),
	MHD(add_response_header), MHD(queue_response), MHD(destroy_response),
	MHD(lookup_connection_value),
};
#undef MHD
static const char *const mhd_names[] = { "libmicrohttpd.so.12", "libmicrohttpd.so", NULL };
static struct zt_dl_lib mhd_lib = { mhd_names, mhd_syms, sizeof(mhd_syms) / sizeof(mhd_syms[0]),
				    &mhd };

struct zt_live {
	struct zt_owners *owners;
	struct zl_agg *agg;   /* the tracing thread's */
	struct zl_agg *pub;   /* published, under mu */
	struct zl_agg *view;  /* the server thread's copy */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t gen;         /* publications, under mu */
	int want;             /* a page asked for a publication (atomic) */
	uint64_t last_pub_ns;
	struct MHD_Daemon *d;
	/* The ring buffer's consumer and producer positions, mapped
	 * read-only (NULL: unknown). */
	const unsigned long *rb_cons, *rb_prod;
	uint32_t rb_size;
	char addr[80];
	bool loopback, sync_init;
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------- tracing thread */

static const struct zt_owner *owner_of(void *ctx, const char *container, const char *cgroup)
{
	struct zt_live *l = ctx;

	return l->owners ? zt_owners_lookup(l->owners, container, cgroup) : NULL;
}

void zt_live_trace(struct zt_live *l, const struct zt_trace_out *t)
{
	zl_agg_trace(l->agg, t, owner_of, l);
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static void on_open(void *ctx, const struct zt_open_request *r)
{
	struct zt_live *l = ctx;
	struct zl_agg *a = l->agg;
	struct zl_inflight *f;

	/* A container whose first request hangs has its owner shown too. */
	zl_agg_container_seen(a, r->container, r->cgroup, owner_of, l);

	if (a->ninflight == ZL_INFLIGHT_MAX) {
		a->inflight_more++;
		return;
	}
	f = &a->inflight[a->ninflight++];
	f->kind = r->client ? ZT_SPAN_CLIENT : ZT_SPAN_SERVER;
	copy_str(f->container, sizeof(f->container), r->container);
	copy_str(f->protocol, sizeof(f->protocol), r->protocol);
	copy_str(f->method, sizeof(f->method), r->method);
	zl_operation("http", "", r->target, f->target, sizeof(f->target));
	copy_str(f->peer, sizeof(f->peer), r->peer);
	f->start_mono_ns = r->start_ns;
}

void zt_live_poll(struct zt_live *l, struct zt_tracer *tr, const struct zl_drop *drops, int ndrops)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	struct zl_agg *a = l->agg;

	if (!__atomic_load_n(&l->want, __ATOMIC_ACQUIRE) && now - l->last_pub_ns < PUBLISH_NS)
		return;
	a->ninflight = 0;
	a->inflight_more = 0;
	zt_tracer_open_requests(tr, on_open, l, UINT32_MAX);
	a->ndrops = ndrops < ZL_DROPS_MAX ? ndrops : ZL_DROPS_MAX;
	memcpy(a->drops, drops, a->ndrops * sizeof(*drops));
	a->now_mono_ns = now;
	a->now_unix_ns = clock_ns(CLOCK_REALTIME);
	/* The reader holds it only to copy the block out: try again at the
	 * next poll rather than wait. */
	if (pthread_mutex_trylock(&l->mu))
		return;
	memcpy(l->pub, a, sizeof(*a));
	l->gen++;
	__atomic_store_n(&l->want, 0, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	l->last_pub_ns = now;
}

/* --------------------------------------------------------- server thread */

/* Asks for a publication, waits for it (bounded), copies it out. */
static void snapshot(struct zt_live *l)
{
	struct timespec dl;
	uint64_t gen;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_nsec += FRESH_WAIT_MS * 1000000L;
	dl.tv_sec += dl.tv_nsec / 1000000000L;
	dl.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&l->mu);
	gen = l->gen;
	__atomic_store_n(&l->want, 1, __ATOMIC_RELEASE);
	while (l->gen == gen)
		if (pthread_cond_timedwait(&l->cv, &l->mu, &dl) == ETIMEDOUT)
			break;
	memcpy(l->view, l->pub, sizeof(*l->view));
	pthread_mutex_unlock(&l->mu);
}

static void proc_stats(struct zt_live *l, struct zl_proc *p)
{
	char buf[1024], *s;
	unsigned long ut = 0, st = 0, pages = 0, rss = 0;
	FILE *f;

	p->cpu_s = 0;
	p->rss_bytes = 0;
	p->ringbuf_fill = -1;
	if ((f = fopen("/proc/self/stat", "r"))) {
		/* After the command's closing parenthesis: state is field 3,
		 * utime and stime fields 14 and 15. */
		if (fgets(buf, sizeof(buf), f) && (s = strrchr(buf, ')')) &&
		    sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
			p->cpu_s = (double)(ut + st) / sysconf(_SC_CLK_TCK);
		fclose(f);
	}
	if ((f = fopen("/proc/self/statm", "r"))) {
		if (fscanf(f, "%lu %lu", &pages, &rss) == 2)
			p->rss_bytes = (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
		fclose(f);
	}
	if (l->rb_cons && l->rb_prod && l->rb_size) {
		unsigned long c = __atomic_load_n(l->rb_cons, __ATOMIC_ACQUIRE);
		unsigned long pr = __atomic_load_n(l->rb_prod, __ATOMIC_ACQUIRE);

		p->ringbuf_fill = pr >= c ? (double)(pr - c) / l->rb_size : 0;
	}
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     struct zl_buf *b)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (b->oom) {
		zl_buf_free(b);
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		type = "text/plain; charset=utf-8";
		zl_buf_printf(b, "out of memory\n");
		if (b->oom)
			return MHD_NO;
	}
	r = mhd.create_response_from_buffer(b->len, b->p, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		zl_buf_free(b);
		return MHD_NO;
	}
	b->p = NULL; /* the response owns it */
	mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	mhd.add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	mhd.add_response_header(r, "X-Content-Type-Options", "nosniff");
	mhd.add_response_header(r, "Content-Security-Policy",
				"default-src 'none'; style-src 'unsafe-inline'");
	mhd.add_response_header(r, "Referrer-Policy", "no-referrer");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		mhd.add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = mhd.queue_response(c, status, r);
	mhd.destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct zt_live *l = cls;
	struct zl_buf b = { 0 };
	struct zl_proc p;
	enum zl_page page;
	uint8_t id[16];
	const char *html = "text/html; charset=utf-8";
	int status;

	/* Answered at the first call, before any body is read: a body is
	 * never wanted (only GET and HEAD). */
	status = zl_route(method, url, mhd.lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "id"),
			  &page, id);
	if (status != 200) {
		zl_buf_printf(&b, "%d %s\n", status, status == 405 ? "only GET and HEAD" :
			      status == 404 ? "not found: /tracez, /servicez, /metrics" :
			      "bad request");
		return reply(c, (unsigned)status, "text/plain; charset=utf-8", &b);
	}
	if (page != ZL_PAGE_INDEX)
		snapshot(l);
	switch (page) {
	case ZL_PAGE_TRACEZ:
		zl_render_tracez(&b, l->view);
		break;
	case ZL_PAGE_SERVICEZ:
		zl_render_servicez(&b, l->view);
		break;
	case ZL_PAGE_TRACE:
		if (!zl_render_trace(&b, l->view, id))
			status = MHD_HTTP_NOT_FOUND;
		break;
	case ZL_PAGE_METRICS:
		proc_stats(l, &p);
		zl_render_metrics(&b, l->view, &p);
		html = "text/plain; version=0.0.4; charset=utf-8";
		break;
	default:
		zl_render_index(&b);
	}
	return reply(c, (unsigned)status, html, &b);
}

/* --------------------------------------------------------------- set up */

static void host_addrs(struct zl_agg *a)
{
	struct ifaddrs *ifs, *i;

	if (getifaddrs(&ifs))
		return;
	for (i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			zl_agg_add_host_addr(a, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		else if (i->ifa_addr->sa_family == AF_INET6)
			zl_agg_add_host_addr(a, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
	}
	freeifaddrs(ifs);
}

/* The ring's positions, read-only: the consumer page, then the producer's
 * (the kernel maps the data pages after it; one page of it is enough). */
static void ring_map(struct zt_live *l, int fd, uint32_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	void *c, *p;

	if (fd < 0 || !size)
		return;
	c = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	if (c == MAP_FAILED)
		return;
	p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, page);
	if (p == MAP_FAILED) {
		munmap(c, page);
		return;
	}
	l->rb_cons = c;
	l->rb_prod = p;
	l->rb_size = size;
}

struct zt_live *zt_live_new(const struct zt_live_opts *o, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	bool loopback;
	struct zt_live *l;
	sigset_t all, old;
	char ip[INET6_ADDRSTRLEN] = "?", why[256];
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;

	if (zl_listen_parse(o->listen, &ss, &sl, &loopback)) {
		snprintf(err, errlen, "--listen %s: ADDR:PORT, [IPV6]:PORT, :PORT or PORT (port 1-65535)",
			 o->listen);
		return NULL;
	}
	if (zt_dl_open(&mhd_lib, why, sizeof(why))) {
		snprintf(err, errlen, "--listen: %s", why);
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l || !(l->agg = malloc(sizeof(*l->agg))) || !(l->pub = malloc(sizeof(*l->pub))) ||
	    !(l->view = malloc(sizeof(*l->view)))) {
		snprintf(err, errlen, "--listen: out of memory");
		goto fail;
	}
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	l->sync_init = true;
	l->loopback = loopback;
	l->owners = o->owners;
	zl_agg_init(l->agg, clock_ns(CLOCK_REALTIME));
	copy_str(l->agg->hooks, sizeof(l->agg->hooks), o->hooks);
	host_addrs(l->agg);
	l->agg->now_unix_ns = l->agg->start_unix_ns;
	memcpy(l->pub, l->agg, sizeof(*l->agg));
	ring_map(l, o->ringbuf_fd, o->ringbuf_size);
	if (ss.ss_family == AF_INET6) {
		flags |= MHD_USE_IPv6;
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip, sizeof(ip));
		snprintf(l->addr, sizeof(l->addr), "[%s]:%u", ip,
			 ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof(ip));
		snprintf(l->addr, sizeof(l->addr), "%s:%u", ip,
			 ntohs(((struct sockaddr_in *)&ss)->sin_port));
	}
	/* The server's thread takes no signal: SIGINT is the main loop's. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	l->d = mhd.start_daemon(flags, 0, NULL, NULL, on_request, l,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)ZL_LISTEN_CONNS,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)ZL_LISTEN_PER_IP,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)ZL_LISTEN_REQ_MEM,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)ZL_LISTEN_TIMEOUT_S,
				/* HTTP/1.1 without Host, bare LFs, spaces
				 * before colons: 400, not guessed at. */
				MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
				MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!l->d) {
		snprintf(err, errlen, "--listen %s: cannot serve there (address in use, or not "
			 "an address of this host)", l->addr);
		goto fail;
	}
	return l;
fail:
	zt_live_free(l);
	return NULL;
}

void zt_live_free(struct zt_live *l)
{
	long page = sysconf(_SC_PAGESIZE);

	if (!l)
		return;
	if (l->d)
		mhd.stop_daemon(l->d);
	if (l->rb_cons)
		munmap((void *)l->rb_cons, page);
	if (l->rb_prod)
		munmap((void *)l->rb_prod, page);
	if (l->sync_init) {
		pthread_mutex_destroy(&l->mu);
		pthread_cond_destroy(&l->cv);
	}
	free(l->agg);
	free(l->pub);
	free(l->view);
	free(l);
}

const char *zt_live_addr(const struct zt_live *l)
{
	return l->addr;
}

bool zt_live_loopback(const struct zt_live *l)
{
	return l->loopback;
}
