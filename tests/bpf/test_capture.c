// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The kernel side on its own: load the real programs, make socket traffic
 * from this process over loopback, and check each record the BPF side wrote
 * (tuple, role, direction, length, captured prefix, close), and that a
 * process outside the selected cgroup leaves no record. UDP too: a record
 * per datagram (sendmmsg/recvmmsg included, each with its own bytes), the
 * peer of a socket without connect() from its sends. Needs root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "cgroup.h"
#include "check.h"
#include "loader.h"
#include "ztrace.skel.h"

#define MAX_RECS 256

static struct rec {
	int type;
	struct zt_conn_event conn;
	struct zt_data_event data;
	uint8_t payload[ZT_CAPTURE_MAX];
} recs[MAX_RECS];
static int nrecs;

static int on_record(void *ctx, void *data, size_t size)
{
	const struct zt_event_hdr *h = data;
	struct rec *r;

	(void)ctx;
	if (nrecs >= MAX_RECS)
		return 0;
	r = &recs[nrecs++];
	r->type = h->type;
	memcpy(&r->data.hdr, h, sizeof(*h));
	if (h->type == ZT_EV_CONN && size >= sizeof(r->conn))
		memcpy(&r->conn, data, sizeof(r->conn));
	if (h->type == ZT_EV_DATA && size >= sizeof(r->data)) {
		memcpy(&r->data, data, sizeof(r->data));
		memcpy(r->payload, (const uint8_t *)data + sizeof(r->data), size - sizeof(r->data));
	}
	return 0;
}

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, s, strlen(s)) < 0)
		fprintf(stderr, "write %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static int data_recs(uint64_t conn, int dir, struct rec **out, int max)
{
	int n = 0;

	for (int i = 0; i < nrecs; i++)
		if (recs[i].type == ZT_EV_DATA && recs[i].data.hdr.conn_id == conn &&
		    recs[i].data.dir == dir && n < max)
			out[n++] = &recs[i];
	return n;
}

static struct rec *conn_rec_by_port(uint16_t sport)
{
	for (int i = 0; i < nrecs; i++)
		if (recs[i].type == ZT_EV_CONN && recs[i].conn.sport == sport)
			return &recs[i];
	return NULL;
}

static struct rec *conn_rec_by_id(uint64_t id, int nth)
{
	for (int i = 0; i < nrecs; i++)
		if (recs[i].type == ZT_EV_CONN && recs[i].conn.hdr.conn_id == id && !nth--)
			return &recs[i];
	return NULL;
}

static uint16_t port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);

	getsockname(fd, (struct sockaddr *)&a, &l);
	return ntohs(a.sin_port);
}

/*
 * A resolver's pattern: a connected client socket that sends two datagrams
 * at once (sendmmsg, as glibc sends A and AAAA), twice over the same vector;
 * a server socket without connect() that takes them with recvmmsg and
 * answers with sendto. Then an untraced child's datagram.
 */
static void udp_traffic(const char *root, uint16_t *cport, uint16_t *sport)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in from;
	socklen_t flen = sizeof(from), alen = sizeof(sa);
	char b[8][64];
	int srv = socket(AF_INET, SOCK_DGRAM, 0), cli = socket(AF_INET, SOCK_DGRAM, 0);

	bind(srv, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(srv, (struct sockaddr *)&sa, &alen);
	CHECK_EQ_INT(connect(cli, (struct sockaddr *)&sa, sizeof(sa)), 0);
	*cport = port_of(cli);
	*sport = ntohs(sa.sin_port);

	CHECK_EQ_INT(send(cli, "q-connected", 11, 0), 11);
	CHECK_EQ_INT(recvfrom(srv, b[0], sizeof(b[0]), 0, (struct sockaddr *)&from, &flen), 11);
	CHECK_EQ_INT(sendto(srv, "r-sendto", 8, 0, (struct sockaddr *)&from, flen), 8);
	CHECK_EQ_INT(recv(cli, b[0], sizeof(b[0]), 0), 8);

	struct iovec iv[3] = { { "m0", 2 }, { "m1x", 3 }, { "m2yy", 4 } };
	struct mmsghdr mv[3] = {};
	for (int i = 0; i < 3; i++) {
		mv[i].msg_hdr.msg_iov = &iv[i];
		mv[i].msg_hdr.msg_iovlen = 1;
	}
	for (int round = 0; round < 2; round++)
		CHECK_EQ_INT(sendmmsg(cli, mv, 3, 0), 3);
	struct iovec riv[8];
	struct mmsghdr rv[8] = {};
	for (int i = 0; i < 8; i++) {
		riv[i] = (struct iovec){ b[i], sizeof(b[i]) };
		rv[i].msg_hdr.msg_iov = &riv[i];
		rv[i].msg_hdr.msg_iovlen = 1;
	}
	/* Six queued, room for eight: the seventh receive fails (EAGAIN). */
	CHECK_EQ_INT(recvmmsg(srv, rv, 8, MSG_DONTWAIT, NULL), 6);
	CHECK_EQ_INT(recvmmsg(srv, rv, 8, MSG_DONTWAIT, NULL), -1);

	pid_t child = fork();
	if (child == 0) {
		char rootprocs[ZT_CGROUP_PATH_MAX + 16], pid[32];
		snprintf(rootprocs, sizeof(rootprocs), "%s/cgroup.procs", root);
		snprintf(pid, sizeof(pid), "%d", getpid());
		write_file(rootprocs, pid);
		int u = socket(AF_INET, SOCK_DGRAM, 0);
		if (sendto(u, "untraced", 8, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(1);
		_exit(0);
	}
	waitpid(child, NULL, 0);
	CHECK_EQ_INT(recv(srv, b[0], sizeof(b[0]), 0), 8); /* ours: traced */
	close(cli);
	close(srv);
}

static void udp_check(uint16_t cport, uint16_t sport)
{
	static const char *const want[] = { "m0", "m1x", "m2yy", "m0", "m1x", "m2yy" };
	struct rec *cli = conn_rec_by_port(cport), *srv = conn_rec_by_port(sport), *d[12], *re;

	CHECK(cli != NULL && srv != NULL);
	if (!cli || !srv)
		return;
	CHECK_EQ_INT(cli->conn.ipproto, IPPROTO_UDP);
	CHECK_EQ_INT(cli->conn.dport, sport);
	CHECK(memcmp(cli->conn.daddr, "\x7f\0\0\1", 4) == 0);
	CHECK_EQ_INT(cli->conn.role, ZT_ROLE_UNKNOWN);
	CHECK(conn_rec_by_id(cli->conn.hdr.conn_id, 1) == NULL); /* connected: once */
	/* The server's first I/O was a receive: no peer yet, then its sendto's. */
	CHECK_EQ_INT(srv->conn.ipproto, IPPROTO_UDP);
	CHECK_EQ_INT(srv->conn.dport, 0);
	re = conn_rec_by_id(srv->conn.hdr.conn_id, 1);
	CHECK(re != NULL);
	if (re) {
		CHECK_EQ_INT(re->conn.dport, cport);
		CHECK_EQ_INT(re->conn.sport, sport);
		CHECK(memcmp(re->conn.daddr, "\x7f\0\0\1", 4) == 0);
	}
	CHECK(conn_rec_by_id(srv->conn.hdr.conn_id, 2) == NULL);

	uint64_t c = cli->conn.hdr.conn_id, s = srv->conn.hdr.conn_id;
	CHECK_EQ_INT(data_recs(c, ZT_DIR_OUT, d, 12), 7);
	CHECK_EQ_INT(d[0]->data.len, 11);
	CHECK(memcmp(d[0]->payload, "q-connected", 11) == 0);
	/* The socket's first record names its thread; the same thread's next
	 * ones say so instead of reading the name again. */
	CHECK_EQ_INT(d[0]->data.flags & ZT_DF_SAME_COMM, 0);
	CHECK_EQ_STR(d[0]->data.comm, "test_capture");
	for (int i = 0; i < 6; i++) {
		CHECK_EQ_INT(d[1 + i]->data.len, (int)strlen(want[i]));
		CHECK_EQ_INT(d[1 + i]->data.cap, (int)strlen(want[i]));
		CHECK_EQ_INT(d[1 + i]->data.flags, ZT_DF_SAME_COMM);
		CHECK(memcmp(d[1 + i]->payload, want[i], strlen(want[i])) == 0);
	}
	CHECK_EQ_INT(data_recs(s, ZT_DIR_IN, d, 12), 8);
	CHECK(memcmp(d[0]->payload, "q-connected", 11) == 0);
	for (int i = 0; i < 6; i++) {
		CHECK_EQ_INT(d[1 + i]->data.len, (int)strlen(want[i]));
		CHECK_EQ_INT(d[1 + i]->data.cap, (int)strlen(want[i]));
		CHECK(memcmp(d[1 + i]->payload, want[i], strlen(want[i])) == 0);
	}
	CHECK_EQ_INT(d[7]->data.len, 8); /* the untraced child's, received by us */
	CHECK_EQ_INT(d[7]->data.offset, 11 + 2 * 9);
	CHECK_EQ_INT(data_recs(s, ZT_DIR_OUT, d, 12), 1);
	CHECK(memcmp(d[0]->payload, "r-sendto", 8) == 0);
	CHECK_EQ_INT(data_recs(c, ZT_DIR_IN, d, 12), 1);
	CHECK(memcmp(d[0]->payload, "r-sendto", 8) == 0);
}

/* Holds the first `held` slots of both scratch spaces on every CPU
 * (zt_cpu_busy: a u32 per CPU, each in 8 bytes of the user's buffer). */
static int hold_slots(struct bpf_map *m, unsigned held)
{
	int ncpu = libbpf_num_possible_cpus();
	unsigned slots = bpf_map__max_entries(m) / 2;
	uint64_t vals[1024];

	if (ncpu <= 0 || ncpu > 1024)
		return -1;
	for (__u32 k = 0; k < 2 * slots; k++) {
		for (int c = 0; c < ncpu; c++)
			vals[c] = k % slots < held;
		if (bpf_map__update_elem(m, &k, sizeof(k), vals, ncpu * sizeof(vals[0]), 0))
			return -1;
	}
	return 0;
}

/*
 * The scratch slots: a message sent while another program holds slot 0 of
 * each scratch space on this CPU (as one preempted mid-record would) goes
 * out through slot 1; one sent while every slot is held is lost, counted
 * in cpu_busy, and the next message's offset leaves its hole.
 */
static void slot_check(struct zt_bpf *bpf, struct ring_buffer *rb, int lfd,
		       const struct sockaddr_in *addr)
{
	struct bpf_map *m = bpf_object__find_map_by_name(zt_bpf_object(bpf), "zt_cpu_busy");
	uint64_t before[ZT_CNT_MAX], after[ZT_CNT_MAX];
	struct sockaddr_in me;
	socklen_t alen = sizeof(me);
	char buf[64];
	struct rec *out[4];
	int c, s, got = 0;

	CHECK(m != NULL && bpf_map__max_entries(m) >= 4);
	if (!m)
		return;
	c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_EQ_INT(connect(c, (const struct sockaddr *)addr, sizeof(*addr)), 0);
	s = accept(lfd, NULL, NULL);
	getsockname(c, (struct sockaddr *)&me, &alen);
	zt_bpf_counters(bpf, before);
	CHECK_EQ_INT(hold_slots(m, 1), 0);
	CHECK_EQ_INT(write(c, "one", 3), 3);
	CHECK_EQ_INT(hold_slots(m, 2), 0);
	CHECK_EQ_INT(write(c, "two!", 4), 4);
	CHECK_EQ_INT(hold_slots(m, 0), 0);
	CHECK_EQ_INT(write(c, "three", 5), 5);
	while (got < 12) {
		int n = read(s, buf, sizeof(buf));
		if (n <= 0)
			break;
		got += n;
	}
	CHECK_EQ_INT(got, 12);
	zt_bpf_counters(bpf, after);
	usleep(50000);
	ring_buffer__consume(rb);
	struct rec *cr = conn_rec_by_port(ntohs(me.sin_port));
	CHECK(cr != NULL);
	if (cr) {
		int n = data_recs(cr->conn.hdr.conn_id, ZT_DIR_OUT, out, 4);

		CHECK_EQ_INT(n, 2);
		if (n != 2)
			goto out;
		CHECK(memcmp(out[0]->payload, "one", 3) == 0);
		CHECK_EQ_INT(out[0]->data.offset, 0);
		CHECK(memcmp(out[1]->payload, "three", 5) == 0);
		CHECK_EQ_INT(out[1]->data.offset, 7);
	}
out:
	CHECK_EQ_INT(after[ZT_CNT_CPU_BUSY] - before[ZT_CNT_CPU_BUSY], 1);
	close(c);
	close(s);
}

/* zt_verdict_last's value (bpf/maps.bpf.h), per CPU. */
struct verdict_last {
	uint64_t traced1, skipped1;
	struct {
		uint64_t cgrp, gen, id;
	} traced, skipped;
};

/* Sets every CPU's verdicts: by address, `traced` for cgroup address cgrp
 * in generation gen, as the id `fake`; by id, traced1; none skipped. */
static int forge_verdicts(struct bpf_map *m, uint64_t cgrp, uint64_t gen, uint64_t fake,
			  uint64_t traced1)
{
	int ncpu = libbpf_num_possible_cpus();
	struct verdict_last v[256];
	__u32 zero = 0;

	if (ncpu <= 0 || ncpu > 256)
		return -1;
	memset(v, 0, sizeof(v));
	for (int c = 0; c < ncpu; c++) {
		v[c].traced.cgrp = cgrp;
		v[c].traced.gen = gen;
		v[c].traced.id = fake;
		v[c].traced1 = traced1;
	}
	return bpf_map__update_elem(m, &zero, sizeof(zero), v, ncpu * sizeof(v[0]), 0);
}

/* The cgroup id the record of one message written now carries. */
static uint64_t cgroup_of_next(struct ring_buffer *rb, int lfd, const struct sockaddr_in *addr,
			       const char *msg)
{
	struct sockaddr_in me;
	socklen_t alen = sizeof(me);
	uint64_t cg = 0;
	char buf[64];
	struct rec *out[2];
	int c = socket(AF_INET, SOCK_STREAM, 0), s;

	if (connect(c, (const struct sockaddr *)addr, sizeof(*addr))) {
		close(c);
		return 0;
	}
	s = accept(lfd, NULL, NULL);
	getsockname(c, (struct sockaddr *)&me, &alen);
	if (write(c, msg, strlen(msg)) == (ssize_t)strlen(msg) && read(s, buf, sizeof(buf)) > 0) {
		usleep(50000);
		ring_buffer__consume(rb);
		struct rec *cr = conn_rec_by_port(ntohs(me.sin_port));

		if (cr && data_recs(cr->conn.hdr.conn_id, ZT_DIR_OUT, out, 2) == 1)
			cg = out[0]->data.cgroup_id;
	}
	close(c);
	close(s);
	return cg;
}

/* Every CPU's verdicts into v[256]: the number of CPUs, or -1. */
static int read_verdicts(struct bpf_map *m, struct verdict_last *v)
{
	int ncpu = libbpf_num_possible_cpus();
	__u32 zero = 0;

	if (ncpu <= 0 || ncpu > 256 ||
	    bpf_map__lookup_elem(m, &zero, sizeof(zero), v, ncpu * sizeof(v[0]), 0))
		return -1;
	return ncpu;
}

/* Does some CPU's verdict by address say cgroup address cgrp, generation
 * gen, id `id`? */
static bool verdict_at(struct bpf_map *m, uint64_t cgrp, uint64_t gen, uint64_t id)
{
	struct verdict_last v[256];
	int ncpu = read_verdicts(m, v);

	for (int c = 0; c < ncpu; c++)
		if (v[c].traced.cgrp == cgrp && v[c].traced.gen == gen && v[c].traced.id == id)
			return true;
	return false;
}

/*
 * The filter's verdicts by cgroup address (bpf/filter.bpf.h), where our
 * programs are not preempted: the traffic so far left this cgroup's there;
 * an entry in the current generation answers (a forged id shows in the
 * record), and one from before a mkdir is not trusted (the real id does)
 * and is made again, whether the verdict by id answered or not. Where
 * programs are preempted none is kept.
 */
static void addr_cache_check(struct zt_bpf *bpf, struct ring_buffer *rb, int lfd,
			     const struct sockaddr_in *addr, const char *root, uint64_t id)
{
	struct bpf_map *m = bpf->skel->maps.zt_verdict_last;
	struct verdict_last v[256];
	int ncpu = read_verdicts(m, v);
	uint64_t cgrp = 0, gen0, gen1;
	char tmp[ZT_CGROUP_PATH_MAX + 64];

	CHECK(ncpu > 0);
	if (ncpu <= 0)
		return;
	for (int c = 0; c < ncpu; c++)
		if (v[c].traced.id == id && v[c].traced.cgrp)
			cgrp = v[c].traced.cgrp;
	if (bpf->skel->rodata->zt_preemptible) {
		CHECK_EQ_INT(cgrp, 0);
		return;
	}
	CHECK(cgrp != 0);
	gen0 = bpf->skel->bss->zt_cgroup_gen;
	CHECK_EQ_INT(forge_verdicts(m, cgrp, gen0, 424242, 0), 0);
	CHECK_EQ_INT(cgroup_of_next(rb, lfd, addr, "cached"), 424242);
	snprintf(tmp, sizeof(tmp), "%s/ztrace-bpftest-gen-%d", root, getpid());
	CHECK_EQ_INT(mkdir(tmp, 0755), 0);
	rmdir(tmp);
	gen1 = bpf->skel->bss->zt_cgroup_gen;
	CHECK(gen1 > gen0);
	CHECK_EQ_INT(forge_verdicts(m, cgrp, gen0, 424242, 0), 0);
	CHECK_EQ_INT(cgroup_of_next(rb, lfd, addr, "stale"), id);
	CHECK(verdict_at(m, cgrp, gen1, id));
	CHECK_EQ_INT(forge_verdicts(m, cgrp, gen0, 424242, id + 1), 0);
	CHECK_EQ_INT(cgroup_of_next(rb, lfd, addr, "stale, by id"), id);
	CHECK(verdict_at(m, cgrp, gen1, id));
	CHECK_EQ_INT(forge_verdicts(m, 0, 0, 0, 0), 0);
}

/*
 * The twins' tokens (bpf/twin.bpf.h): where twins are loaded with them,
 * this thread's traced messages left its entry (each primary set its
 * bit) and every bit was taken back by its twin (a bit left would make the
 * twin of a later, skipped message think its primary ran). Elsewhere the
 * map is never written.
 */
static void twin_tokens_check(struct zt_bpf *bpf)
{
	int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0), err;
	__u32 bits = ~0u;

	CHECK(pidfd >= 0);
	if (pidfd < 0)
		return;
	err = bpf_map__lookup_elem(bpf->skel->maps.zt_twin_ran, &pidfd, sizeof(pidfd), &bits,
				   sizeof(bits), 0);
	if (bpf->skel->rodata->zt_twin_tokens) {
		CHECK_EQ_INT(err, 0);
		CHECK_EQ_INT(bits, 0);
	} else {
		CHECK_EQ_INT(err, -ENOENT);
	}
	close(pidfd);
}

int main(void)
{
	char root[ZT_CGROUP_PATH_MAX], dir[ZT_CGROUP_PATH_MAX + 64], procs[ZT_CGROUP_PATH_MAX + 80];
	char pid[32], big[10000];
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(addr);
	struct zt_bpf bpf = {};
	struct ring_buffer *rb;
	uint64_t id;
	int lfd, cfd, sfd, ret;
	uint16_t ucport = 0, usport = 0;

	if (geteuid()) {
		printf("test_capture: needs root\n0 passed, 1 failed\n");
		return 1;
	}
	if (zt_cgroup2_find_root("/proc/self/mountinfo", root, sizeof(root)))
		return 1;
	snprintf(dir, sizeof(dir), "%s/ztrace-bpftest-%d", root, getpid());
	mkdir(dir, 0755);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	write_file(procs, pid);
	id = zt_cgroup_id(dir);

	struct zt_load_opts o = { .capture_bytes = 512, .trace_self = true, .ringbuf_size = 1 << 20,
				  .cgroup_ids = &id, .ncgroups = 1 };
	ret = zt_bpf_load(&bpf, &o);
	CHECK_EQ_INT(ret, 0);
	if (ret)
		goto out;
	rb = ring_buffer__new(zt_bpf_events_fd(&bpf), on_record, NULL, NULL);

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	bind(lfd, (struct sockaddr *)&addr, sizeof(addr));
	listen(lfd, 8);
	getsockname(lfd, (struct sockaddr *)&addr, &alen);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_EQ_INT(connect(cfd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	sfd = accept(lfd, NULL, NULL);

	/* write/read, sendmsg with two iovecs/readv, a message over the bound,
	 * and a peek that must not count. */
	char buf[16384];
	CHECK_EQ_INT(write(cfd, "GET / HTTP/1.1\r\n\r\n", 18), 18);
	CHECK_EQ_INT(recv(sfd, buf, 4, MSG_PEEK), 4);
	CHECK_EQ_INT(read(sfd, buf, sizeof(buf)), 18);
	/* As nginx ends a chunked body: its last 7 bytes as an iovec of their own. */
	struct iovec iov[4] = { { "HTTP/1.1 200 OK\r\n", 17 }, { "\r\n", 2 },
				{ "3\r\nabc", 6 }, { "\r\n0\r\n\r\n", 7 } };
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 4 };
	CHECK_EQ_INT(sendmsg(sfd, &msg, 0), 32);
	/* A long vector: a prefix from its first iovecs, the tail from its last. */
	static char yy[40];
	struct iovec wv[21];
	memset(yy, 'y', sizeof(yy));
	wv[0] = (struct iovec){ "HTTP/1.1 200 OK\r\n", 17 };
	for (int i = 1; i < 20; i++)
		wv[i] = (struct iovec){ yy, sizeof(yy) };
	wv[20] = (struct iovec){ "\r\n0\r\n\r\n", 7 };
	CHECK_EQ_INT(writev(sfd, wv, 21), 784);
	struct iovec riov = { buf, sizeof(buf) };
	int rgot = 0;
	while (rgot < 32 + 784) {
		int n = readv(cfd, &riov, 1);
		if (n <= 0)
			break;
		rgot += n;
	}
	CHECK_EQ_INT(rgot, 32 + 784);
	memset(big, 'x', sizeof(big));
	CHECK_EQ_INT(send(cfd, big, sizeof(big), 0), (int)sizeof(big));
	int got = 0;
	while (got < (int)sizeof(big)) {
		int n = recvfrom(sfd, buf, sizeof(buf), 0, NULL, NULL);
		if (n <= 0)
			break;
		got += n;
	}

	/* A child outside the selected cgroup: its traffic must not appear. */
	pid_t child = fork();
	if (child == 0) {
		char rootprocs[ZT_CGROUP_PATH_MAX + 16];
		snprintf(rootprocs, sizeof(rootprocs), "%s/cgroup.procs", root);
		snprintf(pid, sizeof(pid), "%d", getpid());
		write_file(rootprocs, pid);
		int c2 = socket(AF_INET, SOCK_STREAM, 0);
		connect(c2, (struct sockaddr *)&addr, sizeof(addr));
		if (write(c2, "untraced", 8) < 0)
			_exit(1);
		close(c2);
		_exit(0);
	}
	waitpid(child, NULL, 0);
	int ufd = accept(lfd, NULL, NULL);
	CHECK_EQ_INT(read(ufd, buf, sizeof(buf)), 8); /* our read: traced, theirs not */
	close(ufd);
	close(cfd);
	close(sfd);
	udp_traffic(root, &ucport, &usport);
	usleep(100000);
	ring_buffer__consume(rb);

	struct rec *srv = conn_rec_by_port(ntohs(addr.sin_port)), *cli = NULL;
	for (int i = 0; i < nrecs; i++)
		if (recs[i].type == ZT_EV_CONN && recs[i].conn.dport == ntohs(addr.sin_port) &&
		    recs[i].conn.role == ZT_ROLE_CLIENT)
			cli = &recs[i];
	CHECK(srv != NULL && cli != NULL);
	if (!srv || !cli)
		goto done;
	CHECK_EQ_INT(srv->conn.role, ZT_ROLE_SERVER);
	CHECK_EQ_INT(srv->conn.origin, ZT_ORIGIN_HANDSHAKE);
	CHECK_EQ_INT(srv->conn.family, AF_INET);
	CHECK_EQ_INT(srv->conn.cgroup_id, id);
	CHECK_EQ_INT(srv->conn.dport, cli->conn.sport);
	CHECK(memcmp(srv->conn.daddr, "\x7f\0\0\1", 4) == 0);

	struct rec *in[8], *out[8];
	uint64_t s = srv->conn.hdr.conn_id, c = cli->conn.hdr.conn_id;
	CHECK_EQ_INT(data_recs(c, ZT_DIR_OUT, out, 8), 2);
	CHECK_EQ_INT(out[0]->data.len, 18);
	CHECK_EQ_INT(out[0]->data.cap, 18);
	CHECK(memcmp(out[0]->payload, "GET / HTTP/1.1\r\n\r\n", 18) == 0);
	CHECK_EQ_STR(out[0]->data.comm, "test_capture");
	CHECK_EQ_INT(out[0]->data.pid, getpid());
	CHECK_EQ_INT(out[0]->data.cgroup_id, id);
	CHECK_EQ_INT(out[0]->data.offset, 0);
	CHECK_EQ_INT(out[1]->data.offset, 18);
	CHECK_EQ_INT(out[1]->data.len, (int)sizeof(big));
	CHECK_EQ_INT(out[1]->data.cap, 512);
	CHECK_EQ_INT(out[1]->data.tail_len, ZT_TAIL_LEN); /* the end of what was cut */
	CHECK(memcmp(out[1]->data.tail, "xxxxxxxx", 8) == 0);
	int nin = data_recs(s, ZT_DIR_IN, in, 8);
	CHECK(nin >= 2); /* the peek is not among them */
	CHECK_EQ_INT(in[0]->data.len, 18);
	CHECK(memcmp(in[0]->payload, "GET /", 5) == 0);
	CHECK_EQ_INT(data_recs(s, ZT_DIR_OUT, out, 8), 2);
	CHECK_EQ_INT(out[0]->data.len, 32);
	CHECK_EQ_INT(out[0]->data.cap, 32); /* gathered over its four iovecs */
	CHECK(memcmp(out[0]->payload, "HTTP/1.1 200 OK\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 32) == 0);
	CHECK_EQ_INT(out[0]->data.tail_len, 0); /* captured whole: no tail */
	CHECK_EQ_INT(out[1]->data.len, 784);
	/* 21 iovecs: gathered past the first batch of ZT_IOV_BATCH, up to the
	 * capture bound (17 + 12 x 40 + 15 bytes of the 13th yy iovec). */
	CHECK_EQ_INT(out[1]->data.cap, 512);
	CHECK(memcmp(out[1]->payload + 17, yy, 40) == 0);
	CHECK(memcmp(out[1]->payload + 17 + 12 * 40, yy, 15) == 0);
	CHECK_EQ_INT(out[1]->data.tail_len, 7); /* the last iovec, whole */
	CHECK(memcmp(out[1]->data.tail, "\r\n0\r\n\r\n", 7) == 0);
	int cin = data_recs(c, ZT_DIR_IN, in, 8), cbytes = 0;
	for (int i = 0; i < cin; i++)
		cbytes += in[i]->data.len;
	CHECK_EQ_INT(cbytes, 32 + 784);
	CHECK(cin > 0 && in[0]->data.cap == (in[0]->data.len < 512 ? in[0]->data.len : 512));
	int closes = 0, untraced = 0;
	for (int i = 0; i < nrecs; i++) {
		if (recs[i].type == ZT_EV_CLOSE &&
		    (recs[i].data.hdr.conn_id == s || recs[i].data.hdr.conn_id == c))
			closes++;
		if (recs[i].type == ZT_EV_DATA && recs[i].data.dir == ZT_DIR_OUT &&
		    !memcmp(recs[i].payload, "untraced", 8))
			untraced++;
	}
	CHECK_EQ_INT(closes, 2);
	CHECK_EQ_INT(untraced, 0);

	udp_check(ucport, usport);

	uint64_t cnt[ZT_CNT_MAX];
	zt_bpf_counters(&bpf, cnt);
	CHECK_EQ_INT(cnt[ZT_CNT_RB_FULL_DATA], 0);
	int datas = 0;
	for (int i = 0; i < nrecs; i++)
		datas += recs[i].type == ZT_EV_DATA;
	CHECK(datas >= 6);
	slot_check(&bpf, rb, lfd, &addr);
	addr_cache_check(&bpf, rb, lfd, &addr, root, id);
	twin_tokens_check(&bpf);
done:
	ring_buffer__free(rb);
	zt_bpf_destroy(&bpf);
out:
	snprintf(pid, sizeof(pid), "%d", getpid());
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", root);
	write_file(procs, pid);
	rmdir(dir);
	return TEST_SUMMARY("test_capture");
}
