// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pace: HTTP/1.1 GETs at a constant rate, one every 1/RATE seconds, over
 * keep-alive connections, and the latency of each from its send to its
 * response's last byte, as wrk measures it; and from the moment it was due
 * (what a client would see, its own timer's lateness and any wait for a
 * free connection included: noisier, the client's wakeups are in it).
 *
 * `make bench` uses it for the fixed-rate rounds: wrk's per-connection
 * delay() has millisecond timers, so its connections fire together at each
 * millisecond and a request's latency is mostly the queue of the others
 * sent with it; what a tracer adds then shows multiplied by the burst.
 *
 * Prints what bench.sh reads from wrk: "Requests/sec:" and the 50% and 99%
 * lines (in us, from the send), then 99.9% and the figures from when due.
 *
 * Usage: pace HOST PORT PATH RATE CONNS SECONDS
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256
#define RESP_MAX 65536

struct conn {
	int fd;
	int busy;
	double due;    /* when the request in flight was due */
	double sent;   /* when it went out */
	size_t have;   /* response bytes read */
	size_t want;   /* whole response, once its headers are in; 0 before */
	char buf[RESP_MAX];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int dial(const char *host, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd, one = 1;

	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "pace: bad IPv4 address %s\n", host);
		exit(2);
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS)) {
		perror("pace: connect");
		exit(2);
	}
	return fd;
}

/* The response's whole length once its headers are in, 0 before, -1 if it
 * is not one this client can frame (Content-Length only). */
static long resp_len(const char *b, size_t n)
{
	const char *end = memmem(b, n, "\r\n\r\n", 4), *p;

	if (!end)
		return n >= RESP_MAX ? -1 : 0;
	for (p = b; p && p < end; p = memchr(p, '\n', end - p)) {
		if (*p == '\n')
			p++;
		if (!strncasecmp(p, "Content-Length:", 15))
			return (end + 4 - b) + strtol(p + 15, NULL, 10);
	}
	return -1;
}

int main(int argc, char **argv)
{
	static struct conn conns[MAX_CONNS];
	struct epoll_event evs[MAX_CONNS];
	char req[512];
	double rate, secs, t0, next, end, *lat, *lat_due;
	size_t nlat = 0, cap, late = 0, sent = 0;
	int nconn, ep, reqlen, i, rr = 0;

	if (argc != 7) {
		fprintf(stderr, "usage: pace HOST PORT PATH RATE CONNS SECONDS\n");
		return 2;
	}
	rate = atof(argv[4]);
	nconn = atoi(argv[5]);
	secs = atof(argv[6]);
	if (rate <= 0 || nconn < 1 || nconn > MAX_CONNS || secs <= 0) {
		fprintf(stderr, "pace: RATE > 0, 1 <= CONNS <= %d, SECONDS > 0\n", MAX_CONNS);
		return 2;
	}
	reqlen = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%s\r\n\r\n", argv[3],
			  argv[1], argv[2]);
	cap = (size_t)(rate * secs) + 16;
	lat = malloc(cap * sizeof(*lat));
	lat_due = malloc(cap * sizeof(*lat_due));
	/* Sleeps end when asked, not up to 50 us later. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!lat || !lat_due || ep < 0) {
		perror("pace");
		return 2;
	}
	for (i = 0; i < nconn; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

		conns[i].fd = dial(argv[1], atoi(argv[2]));
		if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev)) {
			perror("pace: epoll_ctl");
			return 2;
		}
	}
	usleep(100000); /* the connections are up */
	t0 = next = now_s();
	end = t0 + secs;
	for (;;) {
		double t = now_s();
		struct timespec wait;
		int n;

		/* Every request due goes out on a free connection; one with
		 * none free waits and its latency runs from when it was due. */
		while (next <= t && next < end) {
			struct conn *c = NULL;

			for (i = 0; i < nconn && !c; i++, rr = (rr + 1) % nconn)
				if (!conns[rr].busy)
					c = &conns[rr];
			if (!c)
				break;
			if (write(c->fd, req, reqlen) != reqlen) {
				perror("pace: write");
				return 1;
			}
			if (next + 1.0 / rate <= t)
				late++;
			c->busy = 1;
			c->due = next;
			c->sent = now_s();
			c->have = c->want = 0;
			next += 1.0 / rate;
			sent++;
		}
		if (t >= end) {
			for (i = 0; i < nconn && !conns[i].busy; i++)
				;
			if (i == nconn || t >= end + 2)
				break;
		}
		/* Until the next request is due; with none due (the end, or
		 * every connection busy), until a response comes, 1 ms at most. */
		double dt = next > t && next < end ? next - t : 1e-3;

		wait.tv_sec = (time_t)dt;
		wait.tv_nsec = (long)((dt - (double)wait.tv_sec) * 1e9);
		n = epoll_pwait2(ep, evs, nconn, &wait, NULL);
		if (n < 0 && errno != EINTR) {
			perror("pace: epoll_pwait2");
			return 1;
		}
		for (i = 0; i < n; i++) {
			struct conn *c = &conns[evs[i].data.u32];
			ssize_t got = read(c->fd, c->buf + c->have, RESP_MAX - c->have);
			long want;

			if (got <= 0) {
				if (got < 0 && errno == EAGAIN)
					continue;
				fprintf(stderr, "pace: connection closed by the server\n");
				return 1;
			}
			c->have += got;
			want = c->want ? (long)c->want : resp_len(c->buf, c->have);
			if (want < 0) {
				fprintf(stderr, "pace: a response without Content-Length\n");
				return 1;
			}
			c->want = want;
			if (!c->busy || !want || c->have < c->want)
				continue;
			if (nlat < cap) {
				double done = now_s();

				lat[nlat] = done - c->sent;
				lat_due[nlat++] = done - c->due;
			}
			c->busy = 0;
		}
	}
	if (!nlat) {
		fprintf(stderr, "pace: no responses\n");
		return 1;
	}
	qsort(lat, nlat, sizeof(*lat), cmp_double);
	qsort(lat_due, nlat, sizeof(*lat_due), cmp_double);
	printf("Requests/sec: %.2f\n", nlat / secs);
	printf("     50%% %.2fus\n", lat[nlat / 2] * 1e6);
	printf("     99%% %.2fus\n", lat[nlat * 99 / 100] * 1e6);
	printf("   99.9%% %.2fus\n", lat[nlat * 999 / 1000] * 1e6);
	printf("from due: 50%% %.2fus 99%% %.2fus 99.9%% %.2fus\n", lat_due[nlat / 2] * 1e6,
	       lat_due[nlat * 99 / 100] * 1e6, lat_due[nlat * 999 / 1000] * 1e6);
	printf("requests %zu sent %zu late %zu\n", nlat, sent, late);
	return 0;
}
