// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The kernel side on its own: load the real programs, make socket traffic
 * from this process over loopback, and check each record the BPF side wrote
 * (tuple, role, direction, length, captured prefix, close), and that a
 * process outside the selected cgroup leaves no record. Needs root.
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
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "cgroup.h"
#include "check.h"
#include "loader.h"

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
	CHECK_EQ_INT(out[1]->data.cap, 17 + 7 * 40); /* the first ZT_IOV_BATCH iovecs */
	CHECK(memcmp(out[1]->payload + 17, yy, 40) == 0);
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

	uint64_t cnt[ZT_CNT_MAX];
	zt_bpf_counters(&bpf, cnt);
	CHECK_EQ_INT(cnt[ZT_CNT_RB_FULL_DATA], 0);
	CHECK(cnt[ZT_CNT_EV_DATA] >= 6);
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
