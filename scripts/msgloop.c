// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * msgloop: what one socket message costs the process that sends or
 * receives it, to the nanosecond: a TCP connection over loopback within
 * this process, and PAIRS times a 16-byte send on one end and its recv on
 * the other, timed; the best of ROUNDS such runs, in ns per pair. Nothing
 * blocks (the data is there when recv is called), so no context switch and
 * no scheduler hook comes into it: only the socket hooks, twice a pair.
 *
 * `make bench` runs it without ztrace, beside a ztrace that traces another
 * cgroup (every message filtered out: what an untraced process pays) and
 * inside the traced cgroup (a record per message), pinned to one CPU. At
 * saturation under wrk the cgroups' CPU per request moves by more than
 * these costs from round to round; a loop of identical syscalls does not.
 *
 * Usage: msgloop PAIRS ROUNDS
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t salen = sizeof(sa);
	char buf[64] = "0123456789abcdef";
	double best = 0;
	long pairs;
	int rounds, lfd, cfd, sfd, one = 1;

	if (argc != 3 || (pairs = atol(argv[1])) < 1 || (rounds = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: msgloop PAIRS ROUNDS\n");
		return 2;
	}
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || cfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 1) || getsockname(lfd, (struct sockaddr *)&sa, &salen) ||
	    connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (sfd = accept(lfd, NULL, NULL)) < 0 ||
	    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))) {
		perror("msgloop: loopback connection");
		return 2;
	}
	for (int r = 0; r < rounds; r++) {
		double t0 = now_ns(), per;

		for (long i = 0; i < pairs; i++) {
			if (send(cfd, buf, 16, 0) != 16 || recv(sfd, buf, sizeof(buf), 0) != 16) {
				perror("msgloop: send/recv");
				return 2;
			}
		}
		per = (now_ns() - t0) / pairs;
		if (!r || per < best)
			best = per;
	}
	printf("%.0f ns per pair (best of %d x %ld)\n", best, rounds, pairs);
	return 0;
}
