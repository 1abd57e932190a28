// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* OTLP/HTTP sender: a bounded queue, one thread, libcurl. Bounds in otlp.h. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "dl.h"
#include "otlp.h"
#include "otlp_pb.h"

#define QUEUE_DEFAULT 8192
#define BATCH_DEFAULT ZT_OTLP_BATCH_MAX
#define FLUSH_MS_DEFAULT 1000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define RETRY_AFTER_MAX_MS 30000
#define POST_TIMEOUT_MS 10000
#define CONNECT_TIMEOUT_MS 2000
#define CGROUP_KEEP 256 /* a longer cgroup path is cut in the exported attribute */

/* libcurl, opened by the first exporter made (user/dl.h), never closed. */
static struct {
	CURLcode (*global_init)(long flags);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *c, CURLoption o, ...);
	CURLcode (*easy_perform)(CURL *c);
	CURLcode (*easy_getinfo)(CURL *c, CURLINFO i, ...);
	void (*easy_cleanup)(CURL *c);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
} cu;

#define CU(f) { "curl_" #f, offsetof(__typeof__(cu), f) }
static const struct zt_dl_sym cu_syms[] = {
	CU(global_init),  CU(global_cleanup), CU(easy_init),	CU(easy_setopt),
	CU(easy_perform), CU(easy_getinfo),   CU(easy_cleanup), CU(slist_append),
	CU(slist_free_all),
};
#undef CU
static const char *const cu_names[] = { "libcurl.so.4", "libcurl.so", NULL };
static struct zt_dl_lib cu_lib = { cu_names, cu_syms, sizeof(cu_syms) / sizeof(cu_syms[0]), &cu };

/* A queued span owns copies of the strings the tracer lends it. */
struct item {
	struct zt_span s;
	char cgroup[CGROUP_KEEP];
	char container[64];
};

struct zt_otlp {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;     /* work for the sender, or stop */
	struct item *q;
	uint32_t qmax, head, count, batch_max;
	uint64_t first_ns;       /* when the oldest queued span arrived; 0: send now */
	int flush_ms;
	bool stopping;
	uint64_t stop_deadline_ns;
	uint64_t abort_at_ns;    /* atomic: a POST in progress gives up then (0: never) */
	struct zt_otlp_stats st;
	uint32_t self_pid;
	/* sender thread only */
	struct item *batch;
	const struct zt_span **ptrs;
	struct zt_otlp_buf buf;
	CURL *curl;
	struct curl_slist *hdrs;
	long retry_after_ms;
	bool json;
	char url[1024];
	char host[256];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static struct timespec abs_ts(uint64_t ns)
{
	return (struct timespec){ .tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull };
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
	struct zt_otlp *x = ctx;
	size_t len = size * n;
	char tmp[64];

	if (len > 12 && len < sizeof(tmp) && !strncasecmp(p, "Retry-After:", 12)) {
		char *end;
		long s;

		memcpy(tmp, p + 12, len - 12);
		tmp[len - 12] = 0;
		s = strtol(tmp, &end, 10);
		/* An HTTP date instead of seconds: our own backoff. */
		if (end != tmp && s >= 0)
			x->retry_after_ms = s * 1000 > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : s * 1000;
	}
	return len;
}

/* A collector that accepts but never answers must not hold the exit past
 * its deadline: curl asks here, several times a second, whether to go on. */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct zt_otlp *x = ctx;
	uint64_t at = __atomic_load_n(&x->abort_at_ns, __ATOMIC_RELAXED);

	return at && now_ns() >= at;
}

/* One POST. Returns the HTTP status, or 0 when none came (connection error). */
static long post(struct zt_otlp *x, long timeout_ms)
{
	long code = 0;

	x->retry_after_ms = -1;
	cu.easy_setopt(x->curl, CURLOPT_POSTFIELDS, (char *)x->buf.p);
	cu.easy_setopt(x->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->buf.len);
	cu.easy_setopt(x->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (cu.easy_perform(x->curl) != CURLE_OK)
		return 0;
	cu.easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

static bool retryable(long code)
{
	return code == 0 || code == 429 || code == 502 || code == 503 || code == 504;
}

/* Sleeps up to ms, less when stop is asked or its deadline comes. */
static void backoff_wait(struct zt_otlp *x, long ms)
{
	uint64_t until = now_ns() + (uint64_t)ms * 1000000ull;
	bool was_stopping;

	pthread_mutex_lock(&x->mu);
	was_stopping = x->stopping;
	if (was_stopping && x->stop_deadline_ns < until)
		until = x->stop_deadline_ns;
	while (now_ns() < until && x->stopping == was_stopping) {
		struct timespec ts = abs_ts(until);

		if (pthread_cond_timedwait(&x->cond, &x->mu, &ts) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&x->mu);
}

static void count(struct zt_otlp *x, uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&x->mu);
	*field += n;
	pthread_mutex_unlock(&x->mu);
}

static void send_batch(struct zt_otlp *x, uint32_t n)
{
	long backoff = BACKOFF_MIN_MS;

	for (uint32_t i = 0; i < n; i++) {
		x->batch[i].s.cgroup = x->batch[i].cgroup;
		x->batch[i].s.container = x->batch[i].container;
		x->ptrs[i] = &x->batch[i].s;
	}
	if (zt_otlp_encode(&x->buf, x->ptrs, (int)n, x->host, x->json)) {
		count(x, &x->st.dropped_rejected, n); /* cannot happen: the buffer is n * worst */
		return;
	}
	for (;;) {
		long timeout = POST_TIMEOUT_MS, code;
		uint64_t t = now_ns();

		pthread_mutex_lock(&x->mu);
		if (x->stopping) {
			if (t >= x->stop_deadline_ns) {
				x->st.dropped_at_exit += n;
				pthread_mutex_unlock(&x->mu);
				return;
			}
			if ((x->stop_deadline_ns - t) / 1000000 < (uint64_t)timeout)
				timeout = (long)((x->stop_deadline_ns - t) / 1000000) + 1;
		}
		pthread_mutex_unlock(&x->mu);
		code = post(x, timeout);
		if (code >= 200 && code < 300) {
			pthread_mutex_lock(&x->mu);
			x->st.sent += n;
			x->st.batches++;
			pthread_mutex_unlock(&x->mu);
			return;
		}
		if (!retryable(code)) {
			count(x, &x->st.dropped_rejected, n);
			return;
		}
		count(x, &x->st.retries, 1);
		backoff_wait(x, x->retry_after_ms >= 0 ? x->retry_after_ms : backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
}

/* Under the lock: waits for a batch's worth, its age, or stop. */
static bool wait_batch(struct zt_otlp *x)
{
	while (!x->stopping && x->count < x->batch_max) {
		uint64_t due;
		struct timespec ts;

		if (!x->count) {
			pthread_cond_wait(&x->cond, &x->mu);
			continue;
		}
		due = x->first_ns + (uint64_t)x->flush_ms * 1000000ull;
		if (now_ns() >= due)
			break;
		ts = abs_ts(due);
		pthread_cond_timedwait(&x->cond, &x->mu, &ts);
	}
	return x->count > 0;
}

static void *sender(void *arg)
{
	struct zt_otlp *x = arg;

	pthread_mutex_lock(&x->mu);
	while (wait_batch(x)) {
		uint32_t n = x->count < x->batch_max ? x->count : x->batch_max;

		if (x->stopping && now_ns() >= x->stop_deadline_ns) {
			x->st.dropped_at_exit += x->count;
			x->count = 0;
			break;
		}
		for (uint32_t i = 0; i < n; i++)
			x->batch[i] = x->q[(x->head + i) % x->qmax];
		x->head = (x->head + n) % x->qmax;
		x->count -= n;
		x->first_ns = 0; /* what is left waited already: next batch at once */
		pthread_mutex_unlock(&x->mu);
		send_batch(x, n);
		pthread_mutex_lock(&x->mu);
	}
	pthread_mutex_unlock(&x->mu);
	return NULL;
}

void zt_otlp_submit(struct zt_otlp *x, const struct zt_span *s)
{
	struct item *it;

	/* Our own posts, seen when ztrace runs in a traced cgroup, would
	 * come back as spans to post: one more per batch, for ever. */
	if (s->pid == x->self_pid)
		return;
	pthread_mutex_lock(&x->mu);
	x->st.submitted++;
	if (x->count == x->qmax) {
		x->st.dropped_queue_full++;
		pthread_mutex_unlock(&x->mu);
		return;
	}
	it = &x->q[(x->head + x->count) % x->qmax];
	it->s = *s;
	snprintf(it->cgroup, sizeof(it->cgroup), "%s", s->cgroup ? s->cgroup : "");
	snprintf(it->container, sizeof(it->container), "%s", s->container ? s->container : "");
	if (++x->count == 1)
		x->first_ns = now_ns();
	if (x->count == 1 || x->count == x->batch_max)
		pthread_cond_signal(&x->cond);
	pthread_mutex_unlock(&x->mu);
}

void zt_otlp_stop(struct zt_otlp *x, int deadline_ms)
{
	pthread_mutex_lock(&x->mu);
	if (x->stopping) {
		pthread_mutex_unlock(&x->mu);
		return;
	}
	x->stopping = true;
	x->stop_deadline_ns = now_ns() + (uint64_t)deadline_ms * 1000000ull;
	__atomic_store_n(&x->abort_at_ns, x->stop_deadline_ns, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&x->mu);
	pthread_join(x->thread, NULL);
}

void zt_otlp_get_stats(struct zt_otlp *x, struct zt_otlp_stats *st)
{
	pthread_mutex_lock(&x->mu);
	*st = x->st;
	pthread_mutex_unlock(&x->mu);
}

static void release(struct zt_otlp *x)
{
	if (x->curl)
		cu.easy_cleanup(x->curl);
	cu.slist_free_all(x->hdrs);
	free(x->q);
	free(x->batch);
	free(x->ptrs);
	free(x->buf.p);
	free(x);
}

void zt_otlp_free(struct zt_otlp *x)
{
	if (!x)
		return;
	zt_otlp_stop(x, 0);
	pthread_mutex_destroy(&x->mu);
	pthread_cond_destroy(&x->cond);
	release(x);
	cu.global_cleanup();
}

static bool setup_curl(struct zt_otlp *x)
{
	x->hdrs = cu.slist_append(NULL, x->json ? "Content-Type: application/json"
						: "Content-Type: application/x-protobuf");
	x->curl = cu.easy_init();
	if (!x->hdrs || !x->curl)
		return false;
	cu.easy_setopt(x->curl, CURLOPT_URL, x->url);
	cu.easy_setopt(x->curl, CURLOPT_HTTPHEADER, x->hdrs);
	cu.easy_setopt(x->curl, CURLOPT_USERAGENT, "ztrace/" ZT_OTLP_SCOPE_VERSION);
	cu.easy_setopt(x->curl, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM in a thread */
	cu.easy_setopt(x->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	cu.easy_setopt(x->curl, CURLOPT_WRITEFUNCTION, discard);
	cu.easy_setopt(x->curl, CURLOPT_HEADERFUNCTION, on_header);
	cu.easy_setopt(x->curl, CURLOPT_HEADERDATA, x);
	cu.easy_setopt(x->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	cu.easy_setopt(x->curl, CURLOPT_XFERINFODATA, x);
	cu.easy_setopt(x->curl, CURLOPT_NOPROGRESS, 0L);
	return true;
}

struct zt_otlp *zt_otlp_new(const struct zt_otlp_opts *o, char *err, size_t errsz)
{
	struct zt_otlp *x = calloc(1, sizeof(*x));
	pthread_condattr_t ca;
	sigset_t all, old;
	char why[256];
	int ret;

	if (!x) {
		snprintf(err, errsz, "otlp: out of memory");
		return NULL;
	}
	if (zt_dl_open(&cu_lib, why, sizeof(why))) {
		snprintf(err, errsz, "otlp: %s", why);
		free(x);
		return NULL;
	}
	if (cu.global_init(CURL_GLOBAL_DEFAULT)) {
		snprintf(err, errsz, "otlp: cannot initialise libcurl");
		free(x);
		return NULL;
	}
	x->qmax = o->queue_max ? o->queue_max : QUEUE_DEFAULT;
	x->batch_max = o->batch_max ? o->batch_max : BATCH_DEFAULT;
	if (x->batch_max > x->qmax)
		x->batch_max = x->qmax;
	if (x->batch_max > ZT_OTLP_BATCH_MAX)
		x->batch_max = ZT_OTLP_BATCH_MAX;
	x->flush_ms = o->flush_ms > 0 ? o->flush_ms : FLUSH_MS_DEFAULT;
	x->json = o->json;
	x->self_pid = (uint32_t)getpid();
	zt_otlp_endpoint(o->url, x->url, sizeof(x->url));
	if (gethostname(x->host, sizeof(x->host)))
		snprintf(x->host, sizeof(x->host), "unknown");
	x->host[sizeof(x->host) - 1] = 0;
	/* Pages are touched as the queue fills, not up front. */
	x->q = calloc(x->qmax, sizeof(*x->q));
	x->batch = calloc(x->batch_max, sizeof(*x->batch));
	x->ptrs = calloc(x->batch_max, sizeof(*x->ptrs));
	x->buf.cap = (size_t)x->batch_max * ZT_OTLP_SPAN_WORST;
	x->buf.p = malloc(x->buf.cap);
	if (!x->q || !x->batch || !x->ptrs || !x->buf.p || !setup_curl(x)) {
		snprintf(err, errsz, "otlp: out of memory");
		release(x);
		cu.global_cleanup();
		return NULL;
	}
	pthread_mutex_init(&x->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&x->cond, &ca);
	pthread_condattr_destroy(&ca);
	/* SIGINT and SIGTERM are the tracing loop's to see. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&x->thread, NULL, sender, x);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		snprintf(err, errsz, "otlp: cannot start the sender thread: %s", strerror(ret));
		pthread_mutex_destroy(&x->mu);
		pthread_cond_destroy(&x->cond);
		release(x);
		cu.global_cleanup();
		return NULL;
	}
	return x;
}
