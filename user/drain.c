// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "drain.h"
#include "yield.h"

struct drain_ctx {
	struct zt_tracer *tracer;
	struct zt_yield yield;
};

static int on_record(void *ctx, void *data, size_t size)
{
	struct drain_ctx *d = ctx;

	if (zt_yield_record(&d->yield))
		sched_yield();
	return zt_tracer_on_record(d->tracer, data, size);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct drop_counts {
	uint64_t k[ZT_CNT_MAX];
	const struct zt_tracer_stats *u;
	uint64_t output_errors;
	uint64_t prog_skipped;
};

/* `fresh`: ask the kernel for the programs' skipped runs now (the exit
 * summary), else at most once a second. */
static void read_drops(struct zt_run *r, struct drop_counts *d, bool fresh)
{
	double t = now_s();

	if (zt_bpf_counters(r->bpf, d->k))
		memset(d->k, 0, sizeof(d->k));
	d->u = zt_tracer_stats(r->tracer);
	d->output_errors = r->out->write_errors;
	if (fresh || t - r->prog_skips_at >= 1.0) {
		r->prog_skips = zt_bpf_prog_skipped(r->bpf, d->k[ZT_CNT_RESCUED]);
		r->prog_skips_at = t;
	}
	d->prog_skipped = r->prog_skips;
}

/* One counter summed over the protocols after HTTP/1. */
static uint64_t proto_sum(const struct zt_tracer_stats *u, size_t off)
{
	uint64_t n = 0;

	for (int id = ZT_PROTO_HTTP1 + 1; id < ZT_PROTO_MAX; id++)
		n += *(const uint64_t *)((const char *)&u->proto[id] + off);
	return n;
}

struct drop {
	const char *name;
	uint64_t v;
};

#define NDROPS 16

/* Every way a request can go missing, by name. */
static void list_drops(const struct drop_counts *d, struct drop drops[NDROPS])
{
	const struct drop all[NDROPS] = {
		{ "ringbuf_conn", d->k[ZT_CNT_RB_FULL_CONN] },
		{ "ringbuf_data", d->k[ZT_CNT_RB_FULL_DATA] },
		{ "ringbuf_close", d->k[ZT_CNT_RB_FULL_CLOSE] },
		{ "sk_storage", d->k[ZT_CNT_SK_STORAGE_FAIL] },
		{ "tls_unbound", d->k[ZT_CNT_TLS_UNBOUND] },
		{ "retprobe_missed", d->k[ZT_CNT_RETPROBE_MISSED] },
		{ "cpu_busy", d->k[ZT_CNT_CPU_BUSY] },
		{ "prog_skipped", d->prog_skipped },
		{ "conn_evicted", d->u->conn_evicted },
		{ "pipeline_overflow", d->u->http1.pipeline_overflow },
		{ "header_too_big", d->u->http1.header_too_big },
		{ "proto_overflow", proto_sum(d->u, offsetof(struct zt_proto_stats, overflow)) },
		{ "proto_malformed", proto_sum(d->u, offsetof(struct zt_proto_stats, malformed)) },
		{ "alloc_fail", d->u->alloc_fail },
		{ "bad_records", d->u->bad_records },
		{ "output_write", d->output_errors },
	};

	memcpy(drops, all, sizeof(all));
}

/* "name=N" pairs. */
static int format_drops(const struct drop_counts *d, char *buf, int size, uint64_t *total)
{
	struct drop drops[NDROPS];
	int off = 0;

	list_drops(d, drops);

	*total = 0;
	for (unsigned i = 0; i < NDROPS; i++) {
		off += snprintf(buf + off, size - off, "%s%s=%" PRIu64, i ? " " : "",
				drops[i].name, drops[i].v);
		if (off >= size)
			return size - 1;
		*total += drops[i].v;
	}
	return off;
}

int zt_drain_run(struct zt_run *r)
{
	struct drain_ctx dc = { .tracer = r->tracer };
	struct ring_buffer *rb;
	double start = now_s(), last_status = start;
	uint64_t last_total = 0;
	int err = 0;

	rb = ring_buffer__new(zt_bpf_events_fd(r->bpf), on_record, &dc, NULL);
	if (!rb) {
		err = -errno;
		fprintf(stderr, "ztrace: cannot open the ring buffer: %s\n", strerror(-err));
		return err;
	}
	while (!*r->stop) {
		/* Producers do not wake us per record (see bpf/maps.bpf.h):
		 * the poll times out and consume() takes what is there. */
		zt_yield_drain(&dc.yield);
		err = ring_buffer__poll(rb, r->poll_ms);
		if (err >= 0)
			err = ring_buffer__consume(rb);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "ztrace: reading the ring buffer failed: %s\n",
				strerror(-err));
			break;
		}
		err = 0;
		zt_tracer_poll(r->tracer);
		zt_outbuf_flush(r->out);
		if (r->on_poll)
			r->on_poll(r->poll_ctx);
		double t = now_s();

		if (r->duration_s > 0 && t - start >= r->duration_s)
			break;
		if (t - last_status >= r->status_interval_s) {
			struct drop_counts d;
			char buf[512];
			uint64_t total;

			read_drops(r, &d, false);
			format_drops(&d, buf, sizeof(buf), &total);
			if (total != last_total)
				fprintf(stderr, "ztrace: status: spans=%" PRIu64 " drops: %s\n",
					d.u->spans, buf);
			last_total = total;
			last_status = t;
			zt_tracer_tick(r->tracer);
		}
	}
	/* What is still in the ring was traced: it goes out before we stop. */
	ring_buffer__consume(rb);
	zt_tracer_flush(r->tracer);
	zt_outbuf_flush(r->out);
	ring_buffer__free(rb);
	return err;
}

/*
 * " protocols: http conns=N txns=N redis conns=N txns=N unanswered=N ..."
 * for every protocol that saw a connection (HTTP/1's quality counts are in
 * the summary's own fields).
 */
static void format_protos(const struct zt_tracer_stats *u, char *buf, int size)
{
	int off = snprintf(buf, size, " protocols:");

	for (int id = ZT_PROTO_HTTP1; id < ZT_PROTO_MAX && off < size; id++) {
		const struct zt_proto_stats *p = &u->proto[id];

		if (!p->conns)
			continue;
		off += snprintf(buf + off, size - off, " %s conns=%" PRIu64 " txns=%" PRIu64,
				zt_proto_get(id)->name, p->conns, p->txns);
		if (id == ZT_PROTO_HTTP1 || off >= size)
			continue;
		off += snprintf(buf + off, size - off,
				" unanswered=%" PRIu64 " orphan_responses=%" PRIu64 " resyncs=%" PRIu64
				" overflow=%" PRIu64 " malformed=%" PRIu64 " midstream=%" PRIu64,
				p->unanswered, p->orphan_responses, p->resyncs, p->overflow,
				p->malformed, p->midstream);
	}
	if (off >= size)
		buf[size - 1] = '\0';
}

/* Which programs the kernel skipped runs of (see zt_bpf_prog_skipped),
 * when any: a line of "name=runs" (twins by their "_twin"). */
static void print_skips(struct zt_run *r)
{
	struct zt_prog_skip sk[ZT_PROG_SKIPS_MAX];
	int n = zt_bpf_prog_skips(r->bpf, sk, ZT_PROG_SKIPS_MAX);

	if (!n)
		return;
	fprintf(stderr, "ztrace: skipped runs (a run of the same program under way on the CPU):");
	for (int i = 0; i < n; i++)
		fprintf(stderr, " %s=%" PRIu64, sk[i].name, sk[i].runs);
	fputc('\n', stderr);
}

void zt_drain_summary(struct zt_run *r)
{
	struct drop_counts d;
	char buf[512], pbuf[1024 + 512];
	uint64_t total;
	const struct zt_link_stats *l = zt_tracer_link_stats(r->tracer);
	int off;

	read_drops(r, &d, true);
	format_drops(&d, buf, sizeof(buf), &total);
	/* Linking: how parents were found, or why not (trace/link.h). */
	off = snprintf(pbuf, 512,
		       " links: linked_peer=%" PRIu64 " linked_local=%" PRIu64 " roots=%" PRIu64
		       " no_peer=%" PRIu64 " ambiguous=%" PRIu64 " thread_pool=%" PRIu64
		       " mismatch=%" PRIu64 " expired=%" PRIu64 " held_overflow=%" PRIu64
		       " held_max=%" PRIu64 " traces=%" PRIu64,
		       l->linked_peer, l->linked_local, l->roots, l->no_peer, l->ambiguous,
		       l->thread_pool, l->mismatch, l->expired, l->held_overflow, l->held_max,
		       l->traces);
	format_protos(d.u, pbuf + off, sizeof(pbuf) - off);
	fprintf(stderr,
		"ztrace: summary: spans=%" PRIu64 " drops: %s quality: resyncs=%" PRIu64 " gaps=%" PRIu64
		" orphan_responses=%" PRIu64 " requests_unseen=%" PRIu64 " unanswered=%" PRIu64 " unrecognised=%" PRIu64
		" traceparent_bad=%" PRIu64 " conn_untracked=%" PRIu64 " payload_unreadable=%" PRIu64
		" unparsed_no_bytes=%" PRIu64 " records: conn=%" PRIu64 " data=%" PRIu64 " close=%" PRIu64 " cgroup=%" PRIu64
		" rescued=%" PRIu64 " state: conns_open=%u cgroup_names=%u cgroup_lost=%" PRIu64 " udp_expired=%" PRIu64
		" tls: conns=%" PRIu64 " opaque=%" PRIu64 " files=%u procs=%u scans=%" PRIu64
		" scans_dropped=%" PRIu64 " exec_lost=%" PRIu64 "%s\n",
		d.u->spans, buf, d.u->http1.resyncs, d.u->gaps, d.u->http1.orphan_responses,
		d.u->http1.requests_unseen,
		d.u->http1.unanswered, d.u->unrecognised, d.u->traceparent_bad, d.u->conn_untracked,
		d.k[ZT_CNT_READ_USER_FAIL], d.u->unparsed_no_bytes, d.u->records[ZT_EV_CONN], d.u->records[ZT_EV_DATA],
		d.u->records[ZT_EV_CLOSE], d.u->records[ZT_EV_CGROUP], d.k[ZT_CNT_RESCUED], zt_tracer_conns(r->tracer),
		zt_tracer_cgroup_names(r->tracer), d.k[ZT_CNT_RB_FULL_CGROUP], d.u->udp_expired, d.u->tls_conns, d.u->tls_opaque,
		r->tls ? r->tls->files : 0, r->tls ? r->tls->procs : 0, r->tls ? r->tls->scans : 0,
		r->tls ? r->tls->scans_dropped : 0, d.k[ZT_CNT_RB_FULL_EXEC], pbuf);
	print_skips(r);
}

int zt_drain_drops(struct zt_run *r, const char **names, uint64_t *values, int max)
{
	struct drop_counts d;
	struct drop drops[NDROPS];
	int n = max < NDROPS ? max : NDROPS;

	read_drops(r, &d, false);
	list_drops(&d, drops);
	for (int i = 0; i < n; i++) {
		names[i] = drops[i].name;
		values[i] = drops[i].v;
	}
	return n;
}
