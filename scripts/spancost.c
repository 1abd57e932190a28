// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * spancost: ztrace's userspace cost per span, without the kernel or the
 * machine's noise. Records as the BPF side writes them for the bench's
 * worst case (wrk on nginx: keep-alive, 16 connections, a small static
 * response; the scheduler and TCP figures in every record, the thread's
 * name in the first of each connection's), made before a round, go
 * through the same code as ztrace's drain: zt_tracer_on_record, the
 * end-of-drain poll every DRAIN records, span assembly, linking, and the
 * JSON or text writer into an output buffer flushed to /dev/null.
 *
 * Natively it prints ns per span (best of ROUNDS); under callgrind
 * (`make bench`'s user part) the instructions of the measured part only
 * (CALLGRIND_START/STOP_INSTRUMENTATION around it, no-ops natively),
 * which repeat to the instruction from run to run where the bench's CPU
 * figures move by 20%.
 *
 * Usage: spancost json|text [REQUESTS [ROUNDS]]
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

#include "outbuf.h"
#include "output/output.h"
#include "tracer.h"

#define CONNS 16
#define DRAIN 200 /* records per drain: ~10 ms of records at 10k req/s */

/* wrk's request and nginx's response to it, as in `make bench`. */
static const char REQ[] = "GET / HTTP/1.1\r\nHost: 10.99.0.2:8080\r\n\r\n";
static const char RESP[] = "HTTP/1.1 200 OK\r\n"
			   "Server: nginx/1.22.1\r\n"
			   "Date: Mon, 30 Nov 2026 05:00:00 GMT\r\n"
			   "Content-Type: application/octet-stream\r\n"
			   "Content-Length: 13\r\n"
			   "Last-Modified: Mon, 30 Nov 2026 04:59:00 GMT\r\n"
			   "Connection: keep-alive\r\n"
			   "ETag: \"6564a1e4-d\"\r\n"
			   "Accept-Ranges: bytes\r\n"
			   "\r\n"
			   "hello, world\n";

struct run {
	struct zt_tracer *tr;
	struct zt_outbuf out;
	int json;
	uint64_t spans, ts, off[CONNS][2], records;
	uint64_t cpu[CONNS];
	/* A round's records, made before it is timed: 8-byte aligned, each
	 * after its size, as the ring holds them. */
	unsigned char *buf;
	size_t len, cap;
};

static void on_span(void *ctx, struct zt_span *s)
{
	struct run *r = ctx;

	if (r->json)
		zt_json_span(&r->out, s);
	else
		zt_text_span(&r->out, s);
	r->spans++;
}

/* Room for a record of `size` bytes at the end of the round's buffer. */
static void *record(struct run *r, size_t size)
{
	size_t need = 8 + ((size + 7) & ~(size_t)7);
	unsigned char *p;

	if (r->len + need > r->cap) {
		r->cap = (r->cap + need) * 2;
		if (!(r->buf = realloc(r->buf, r->cap))) {
			fprintf(stderr, "spancost: out of memory\n");
			exit(1);
		}
	}
	p = r->buf + r->len;
	memset(p, 0, need);
	*(uint64_t *)p = size;
	r->len += need;
	return p + 8;
}

/* The round's records through the tracer, drained as ztrace does. */
static void replay(struct run *r)
{
	for (size_t at = 0; at < r->len;) {
		uint64_t size = *(uint64_t *)(r->buf + at);

		if (zt_tracer_on_record(r->tr, r->buf + at + 8, size)) {
			fprintf(stderr, "spancost: a record was refused\n");
			exit(1);
		}
		at += 8 + ((size + 7) & ~(uint64_t)7);
		if (++r->records % DRAIN == 0) {
			zt_tracer_poll(r->tr);
			zt_outbuf_flush(&r->out);
		}
	}
	zt_tracer_poll(r->tr);
	zt_outbuf_flush(&r->out);
	r->len = 0;
}

static void conn(struct run *r, int c)
{
	struct zt_conn_event *e = record(r, sizeof(*e));

	e->hdr.ts_ns = r->ts;
	e->hdr.conn_id = 1000 + c;
	e->hdr.type = ZT_EV_CONN;
	e->family = AF_INET;
	inet_pton(AF_INET, "10.99.0.2", e->saddr);
	inet_pton(AF_INET, "10.99.0.1", e->daddr);
	e->sport = 8080;
	e->dport = 40000 + c;
	e->role = ZT_ROLE_SERVER;
	e->cgroup_id = 4242;
}

static void data(struct run *r, int c, uint8_t dir, const char *bytes, uint32_t len, bool first)
{
	struct zt_data_event *e = record(r, sizeof(*e) + len);

	e->hdr.type = ZT_EV_DATA;
	e->hdr.ts_ns = r->ts;
	e->hdr.conn_id = 1000 + c;
	e->cgroup_id = 4242;
	e->offset = r->off[c][dir];
	e->pid = e->tid = 3000;
	e->len = e->cap = len;
	e->dir = dir;
	e->flags = ZT_DF_SCHED | ZT_DF_TCPINFO | (first ? 0 : ZT_DF_SAME_COMM);
	if (first)
		strcpy(e->comm, "nginx");
	r->cpu[c] += 9000;
	e->cpu_ns = r->cpu[c];
	e->runq_ns = r->cpu[c] / 10;
	e->srtt_us = 30;
	memcpy(e + 1, bytes, len);
	r->off[c][dir] += len;
}

/* n requests over the CONNS connections, round robin. */
static void requests(struct run *r, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		int c = i % CONNS;

		r->ts += 10000;
		data(r, c, ZT_DIR_IN, REQ, sizeof(REQ) - 1, r->off[c][0] == 0);
		r->ts += 15000;
		data(r, c, ZT_DIR_OUT, RESP, sizeof(RESP) - 1, false);
	}
}

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv)
{
	struct run r = { .ts = 1000000000 };
	uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 100000;
	int rounds = argc > 3 ? atoi(argv[3]) : 5, fd;
	double best = 0;

	if (argc < 2 || (strcmp(argv[1], "json") && strcmp(argv[1], "text")) || !n || rounds < 1) {
		fprintf(stderr, "usage: spancost json|text [REQUESTS [ROUNDS]]\n");
		return 2;
	}
	r.json = !strcmp(argv[1], "json");
	fd = open("/dev/null", O_WRONLY);
	struct zt_tracer_opts o = {
		.max_conns = 65536,
		.mono_to_unix = 1700000000000000000LL,
		.on_span = on_span,
		.defer_close = true,
		.ctx = &r,
	};
	r.tr = zt_tracer_new(&o);
	if (fd < 0 || !r.tr || zt_outbuf_init(&r.out, fd, 256 << 10)) {
		fprintf(stderr, "spancost: setup failed\n");
		return 1;
	}
	for (int c = 0; c < CONNS; c++)
		conn(&r, c);
	/* Warm: every connection past its first record, the linker's
	 * indexes and the span nodes' free list at their steady size. */
	requests(&r, 4 * DRAIN);
	replay(&r);
	for (int k = 0; k < rounds; k++) {
		uint64_t s0 = r.spans;
		double t0;

		requests(&r, n);
		t0 = now_ns();
		if (k == rounds - 1)
			CALLGRIND_START_INSTRUMENTATION;
		replay(&r);
		if (k == rounds - 1)
			CALLGRIND_STOP_INSTRUMENTATION;
		double per = (now_ns() - t0) / (double)(r.spans - s0);

		if (r.spans - s0 != n) {
			fprintf(stderr, "spancost: %llu spans from %llu requests\n",
				(unsigned long long)(r.spans - s0), (unsigned long long)n);
			return 1;
		}
		if (!best || per < best)
			best = per;
	}
	printf("spancost %s: %llu spans a round, best of %d: %.0f ns per span\n", argv[1],
	       (unsigned long long)n, rounds, best);
	zt_tracer_free(r.tr);
	zt_outbuf_free(&r.out);
	free(r.buf);
	return 0;
}
