// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Cgroup selection and naming on a fake tree in a temporary directory:
 * mountinfo files, a cgroup2 root with every runtime's layout, a /proc with
 * cgroup files and a docker container store. No root needed. */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "check.h"

/* Two docker ids sharing the prefix "abc123" (and "abc12"). */
#define ID_DOCKER1	"abc1234" "000000000000000000000000000000000000000000000000000000000"
#define ID_DOCKER2	"abc1239" "000000000000000000000000000000000000000000000000000000000"
#define ID_CRI	"c0ffee1" "111111111111111111111111111111111111111111111111111111111"
#define ID_CRIO	"dead0001" "22222222222222222222222222222222222222222222222222222222"
#define ID_PODMAN	"beef42" "3333333333333333333333333333333333333333333333333333333333"
#define ID_DOCKERFS	"f00d5" "44444444444444444444444444444444444444444444444444444444444"
#define ID_BARE	"0123abcd" "55555555555555555555555555555555555555555555555555555555"
#define ID_CAFE	"cafe42" "6666666666666666666666666666666666666666666666666666666666"
#define ID_GONE	"9999aa" "7777777777777777777777777777777777777777777777777777777777"

#define CRI_POD "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1_2.slice"

static const char *const fake_dirs[] = {
	"system.slice/docker-" ID_DOCKER1 ".scope",
	"system.slice/docker-" ID_DOCKER2 ".scope",
	"system.slice/sshd.service",
	CRI_POD "/cri-containerd-" ID_CRI ".scope",
	CRI_POD "/crio-" ID_CRIO ".scope",
	CRI_POD "/crio-conmon-" ID_CRIO ".scope",
	"machine.slice/libpod-" ID_PODMAN ".scope",
	"machine.slice/libpod-conmon-" ID_PODMAN ".scope",
	"docker/" ID_DOCKERFS,
	"kubepods/burstable/pod-uid-1/" ID_BARE,
	"system.slice/docker-" ID_CAFE ".scope",
	"ztrace-test/pong",
	"ztrace-test/ping",
	"ztrace-test/cafe42",
	"a/dup",
	"b/dup",
};

static char tmp[256], root[512];

static const char *at(const char *fmt, ...)
{
	static char bufs[8][1024];
	static int next;
	char *b = bufs[next++ % 8];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(bufs[0]), fmt, ap);
	va_end(ap);
	return b;
}

static void mkdir_p(const char *path)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			mkdir(buf, 0755);
			*p = '/';
		}
	}
	if (mkdir(buf, 0755) && errno != EEXIST) {
		perror(buf);
		exit(2);
	}
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void build_fixture(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/ztrace-cgroup-XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(root, sizeof(root), "%s/cg2", tmp);
	for (size_t i = 0; i < sizeof(fake_dirs) / sizeof(fake_dirs[0]); i++)
		mkdir_p(at("%s/%s", root, fake_dirs[i]));
	/* Walks must not follow this back into the tree (pong would then be
	 * found twice) nor out of it. */
	symlink("ztrace-test", at("%s/loop", root));
	symlink("/", at("%s/slash", root));

	write_file(at("%s/mountinfo.v2", tmp),
		   "22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/root rw\n"
		   "25 22 0:23 / /sys rw,nosuid shared:7 - sysfs sysfs rw\n"
		   "26 25 0:24 / /sys/fs/cgroup rw,nosuid,nodev shared:8 - cgroup2 cgroup2 "
		   "rw,nsdelegate,memory_recursiveprot\n");
	write_file(at("%s/mountinfo.hybrid", tmp),
		   "22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/root rw\n"
		   "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
		   "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
		   "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
		   "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime shared:9 - cgroup cgroup "
		   "rw,xattr,name=systemd\n"
		   "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime shared:10 - cgroup2 cgroup2 rw\n");
	write_file(at("%s/mountinfo.none", tmp),
		   "22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/root rw\n"
		   "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
		   "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n");
	/* A bind mount of a subtree listed first, then the whole hierarchy at
	 * a mount point with an escaped space. */
	write_file(at("%s/mountinfo.escaped", tmp),
		   "50 22 0:37 /sub /mnt/sub rw - cgroup2 cgroup2 rw\n"
		   "51 22 0:37 / /mnt/my\\040cgroup rw - cgroup2 cgroup2 rw\n"
		   "garbage line\n");
	/* v1 mounts inside the temporary directory, reached through the usual
	 * cpu -> cpu,cpuacct symlink. */
	mkdir_p(at("%s/v1/cpu,cpuacct/ztrace-test/pong", tmp));
	symlink("cpu,cpuacct", at("%s/v1/cpu", tmp));
	write_file(at("%s/mountinfo.v1tmp", tmp),
		   at("31 30 0:28 / %s/v1/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
		      "40 30 0:37 / %s rw - cgroup2 cgroup2 rw\n", tmp, root));

	mkdir_p(at("%s/proc/100", tmp));
	write_file(at("%s/proc/100/cgroup", tmp), "0::/ztrace-test/pong\n");
	mkdir_p(at("%s/proc/200", tmp));
	write_file(at("%s/proc/200/cgroup", tmp),
		   "12:pids:/system.slice/docker-" ID_DOCKER1 ".scope\n"
		   "11:memory:/system.slice/docker-" ID_DOCKER1 ".scope\n"
		   "4:cpu,cpuacct:/system.slice/docker-" ID_DOCKER1 ".scope\n"
		   "1:name=systemd:/system.slice/docker-" ID_DOCKER1 ".scope\n"
		   "0::/system.slice/docker-" ID_DOCKER1 ".scope\n");
	mkdir_p(at("%s/proc/300", tmp));
	write_file(at("%s/proc/300/cgroup", tmp), "0::/\n");
	mkdir_p(at("%s/proc/400", tmp));
	write_file(at("%s/proc/400/cgroup", tmp), "4:memory:/x\n1:name=systemd:/x\n");
	mkdir_p(at("%s/proc/500", tmp));
	write_file(at("%s/proc/500/cgroup", tmp), "0::/ztrace-test/gone (deleted)\n");
	mkdir_p(at("%s/proc/600", tmp));
	write_file(at("%s/proc/600/cgroup", tmp), "0::/../../escape\n");

	mkdir_p(at("%s/docker/" ID_DOCKER1, tmp));
	write_file(at("%s/docker/" ID_DOCKER1 "/config.v2.json", tmp),
		   "{\"ID\":\"" ID_DOCKER1 "\",\"Config\":{\"Hostname\":\"abc\"},"
		   "\"Name\":\"/web\",\"RestartPolicy\":{\"Name\":\"no\"}}");
	mkdir_p(at("%s/docker/" ID_GONE, tmp));
	write_file(at("%s/docker/" ID_GONE "/config.v2.json", tmp),
		   "{\"ID\":\"" ID_GONE "\",\"Name\":\"/stopped\"}");
	mkdir_p(at("%s/docker/not-an-id", tmp));
}

static void test_find_root(void)
{
	char out[ZT_CGROUP_PATH_MAX];

	CHECK_EQ_INT(zt_cgroup2_find_root(at("%s/mountinfo.v2", tmp), out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "/sys/fs/cgroup");
	CHECK_EQ_INT(zt_cgroup2_find_root(at("%s/mountinfo.hybrid", tmp), out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "/sys/fs/cgroup/unified");
	CHECK_EQ_INT(zt_cgroup2_find_root(at("%s/mountinfo.none", tmp), out, sizeof(out)),
		     -ENOENT);
	CHECK_EQ_INT(zt_cgroup2_find_root(at("%s/mountinfo.escaped", tmp), out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "/mnt/my cgroup");
	CHECK_EQ_INT(zt_cgroup2_find_root(at("%s/mountinfo.v2", tmp), out, 5), -ENAMETOOLONG);
	CHECK(zt_cgroup2_find_root(at("%s/no-such-file", tmp), out, sizeof(out)) < 0);
}

static void test_resolve_path(void)
{
	const char *pong = at("%s/ztrace-test/pong", root);
	const char *hybrid = at("%s/mountinfo.hybrid", tmp);
	char out[ZT_CGROUP_PATH_MAX], err[512];

	CHECK_EQ_INT(zt_cgroup_resolve_path(root, hybrid, pong, out, sizeof(out), err,
					    sizeof(err)), 0);
	CHECK_EQ_STR(out, pong);
	CHECK_EQ_INT(zt_cgroup_resolve_path(root, hybrid, "ztrace-test/pong", out, sizeof(out),
					    err, sizeof(err)), 0);
	CHECK_EQ_STR(out, pong);
	CHECK_EQ_INT(zt_cgroup_resolve_path(root, hybrid, "/ztrace-test/pong", out, sizeof(out),
					    err, sizeof(err)), 0);
	CHECK_EQ_STR(out, pong);
	CHECK_EQ_INT(zt_cgroup_resolve_path(root, hybrid, "ztrace-test//pong/", out, sizeof(out),
					    err, sizeof(err)), 0);
	CHECK_EQ_STR(out, pong);
	/* A trailing slash on the root does not double up. */
	CHECK_EQ_INT(zt_cgroup_resolve_path(at("%s/", root), hybrid, "ztrace-test/pong", out,
					    sizeof(out), err, sizeof(err)), 0);
	CHECK_EQ_STR(out, pong);
	CHECK_EQ_INT(zt_cgroup_resolve_path(root, hybrid, "/", out, sizeof(out), err,
					    sizeof(err)), 0);
	CHECK_EQ_STR(out, root);

	/* cgroup v1 paths map to their cgroup2 twin. */
	CHECK_EQ_INT(zt_cgroup_resolve_path(root, hybrid, "/sys/fs/cgroup/memory/ztrace-test/pong",
					    out, sizeof(out), err, sizeof(err)), 0);
	CHECK_EQ_STR(out, pong);
	CHECK_EQ_INT(zt_cgroup_resolve_path(root, hybrid,
					    "/sys/fs/cgroup/cpu,cpuacct/ztrace-test/ping", out,
					    sizeof(out), err, sizeof(err)), 0);
	CHECK_EQ_STR(out, at("%s/ztrace-test/ping", root));
	CHECK_EQ_INT(zt_cgroup_resolve_path(root, hybrid, "/sys/fs/cgroup/systemd", out,
					    sizeof(out), err, sizeof(err)), 0);
	CHECK_EQ_STR(out, root);
	CHECK_EQ_INT(zt_cgroup_resolve_path(root, hybrid, "/sys/fs/cgroup/memory/only-in-v1", out,
					    sizeof(out), err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "no cgroup2 twin") != NULL);
	/* ... also through a symlinked controller directory. */
	CHECK_EQ_INT(zt_cgroup_resolve_path(root, at("%s/mountinfo.v1tmp", tmp),
					    at("%s/v1/cpu/ztrace-test/pong", tmp), out,
					    sizeof(out), err, sizeof(err)), 0);
	CHECK_EQ_STR(out, pong);

	/* Errors. */
	CHECK_EQ_INT(zt_cgroup_resolve_path(root, hybrid, "ztrace-test/nope", out, sizeof(out),
					    err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "--cgroup ztrace-test/nope: ") == err);
	CHECK(strstr(err, "no such cgroup directory") != NULL);
	CHECK_EQ_INT(zt_cgroup_resolve_path(root, hybrid, at("%s/nope", root), out, sizeof(out),
					    err, sizeof(err)), -ENOENT);
	CHECK_EQ_INT(zt_cgroup_resolve_path(root, hybrid, "../mountinfo.v2", out, sizeof(out),
					    err, sizeof(err)), -ENOTDIR);
	CHECK_EQ_INT(zt_cgroup_resolve_path(root, hybrid, "../proc", out, sizeof(out), err,
					    sizeof(err)), -EXDEV);
	CHECK_EQ_INT(zt_cgroup_resolve_path(root, hybrid, "loop/pong", out, sizeof(out), err,
					    sizeof(err)), 0); /* a symlink inside stays inside */
	CHECK_EQ_STR(out, pong);
	CHECK_EQ_INT(zt_cgroup_resolve_path(root, hybrid, "slash/tmp", out, sizeof(out), err,
					    sizeof(err)), -EXDEV);
	CHECK_EQ_INT(zt_cgroup_resolve_path(root, hybrid, "", out, sizeof(out), err, sizeof(err)),
		     -EINVAL);
	CHECK_EQ_INT(zt_cgroup_resolve_path(root, hybrid, "ztrace-test/pong", out, 8, err,
					    sizeof(err)), -ENAMETOOLONG);
}

static void test_resolve_pid(void)
{
	const char *proc = at("%s/proc", tmp);
	char out[ZT_CGROUP_PATH_MAX], err[512];

	CHECK_EQ_INT(zt_cgroup_resolve_pid(root, proc, 100, out, sizeof(out), err, sizeof(err)), 0);
	CHECK_EQ_STR(out, at("%s/ztrace-test/pong", root));
	CHECK_EQ_INT(zt_cgroup_resolve_pid(root, proc, 200, out, sizeof(out), err, sizeof(err)), 0);
	CHECK_EQ_STR(out, at("%s/system.slice/docker-" ID_DOCKER1 ".scope", root));
	CHECK_EQ_INT(zt_cgroup_resolve_pid(root, proc, 300, out, sizeof(out), err, sizeof(err)), 0);
	CHECK_EQ_STR(out, root);
	CHECK_EQ_INT(zt_cgroup_resolve_pid(root, proc, 400, out, sizeof(out), err, sizeof(err)),
		     -ENODATA);
	CHECK(strstr(err, "0::") != NULL);
	CHECK_EQ_INT(zt_cgroup_resolve_pid(root, proc, 500, out, sizeof(out), err, sizeof(err)),
		     -ENOENT);
	CHECK(strstr(err, "removed") != NULL);
	CHECK_EQ_INT(zt_cgroup_resolve_pid(root, proc, 600, out, sizeof(out), err, sizeof(err)),
		     -ENOENT);
	CHECK_EQ_INT(zt_cgroup_resolve_pid(root, proc, 999999, out, sizeof(out), err, sizeof(err)),
		     -ENOENT);
	CHECK_EQ_STR(err, "--pid 999999: no such process");
	CHECK_EQ_INT(zt_cgroup_resolve_pid(root, proc, 0, out, sizeof(out), err, sizeof(err)),
		     -EINVAL);
}

/* Resolves `arg` with the fake docker store; `want` is relative to root, or
 * NULL when an error is expected. Returns the result code. */
static int container(const char *arg, const char *want, char *err, size_t errsz)
{
	char out[ZT_CGROUP_PATH_MAX];
	int ret;

	out[0] = 0;
	ret = zt_cgroup_resolve_container_in(root, at("%s/docker", tmp), arg, out, sizeof(out),
					     err, errsz);
	if (want)
		CHECK_EQ_STR(out, at("%s/%s", root, want));
	return ret;
}

static void test_resolve_container(void)
{
	const char *d1 = "system.slice/docker-" ID_DOCKER1 ".scope";
	char err[512], small[80];

	CHECK_EQ_INT(container(ID_DOCKER1, d1, err, sizeof(err)), 0);
	CHECK_EQ_INT(container("ABC12340000", d1, err, sizeof(err)), 0);  /* any case */
	CHECK_EQ_INT(container("c0ffee111111", CRI_POD "/cri-containerd-" ID_CRI ".scope", err,
			       sizeof(err)), 0);
	CHECK_EQ_INT(container("dead00", CRI_POD "/crio-" ID_CRIO ".scope", err, sizeof(err)), 0);
	CHECK_EQ_INT(container("beef42", "machine.slice/libpod-" ID_PODMAN ".scope", err,
			       sizeof(err)), 0);
	CHECK_EQ_INT(container("f00d54", "docker/" ID_DOCKERFS, err, sizeof(err)), 0);
	CHECK_EQ_INT(container("0123abcd", "kubepods/burstable/pod-uid-1/" ID_BARE, err,
			       sizeof(err)), 0);
	CHECK_EQ_INT(container("pong", "ztrace-test/pong", err, sizeof(err)), 0);
	/* An exact leaf name beats an id prefix it also is. */
	CHECK_EQ_INT(container("cafe42", "ztrace-test/cafe42", err, sizeof(err)), 0);
	CHECK_EQ_INT(container("cafe426", "system.slice/docker-" ID_CAFE ".scope", err,
			       sizeof(err)), 0);
	/* docker names, from config.v2.json. */
	CHECK_EQ_INT(container("web", d1, err, sizeof(err)), 0);
	CHECK_EQ_INT(container("stopped", NULL, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "not running") != NULL);
	CHECK_EQ_INT(zt_cgroup_resolve_container_in(root, NULL, "web", small, sizeof(small), err,
						    sizeof(err)), -ENOENT);

	CHECK_EQ_INT(container("abc12", NULL, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "too short") != NULL);
	CHECK_EQ_INT(container("abc123", NULL, err, sizeof(err)), -ENOTUNIQ);
	CHECK(strstr(err, "--container abc123: ambiguous, matches: ") == err);
	CHECK(strstr(err, "docker-" ID_DOCKER1 ".scope") != NULL);
	CHECK(strstr(err, "docker-" ID_DOCKER2 ".scope") != NULL);
	CHECK(strstr(err, "system.slice/") == NULL);
	CHECK_EQ_INT(container("dup", NULL, err, sizeof(err)), -ENOTUNIQ);
	CHECK(strstr(err, "a/dup") != NULL);
	CHECK(strstr(err, "b/dup") != NULL);
	/* A list too long for the buffer is cut cleanly. */
	CHECK_EQ_INT(container("abc123", NULL, small, sizeof(small)), -ENOTUNIQ);
	CHECK(strstr(small, "and 2 more") != NULL);
	CHECK(strlen(small) < sizeof(small));

	CHECK_EQ_INT(container("nothere", NULL, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "--container nothere: no container cgroup") == err);
	CHECK_EQ_INT(container("1234567", NULL, err, sizeof(err)), -ENOENT);
	/* The monitor scopes are not containers, the root is not a leaf. */
	CHECK_EQ_INT(container("libpod-conmon-" ID_PODMAN ".scope",
			       "machine.slice/libpod-conmon-" ID_PODMAN ".scope", err,
			       sizeof(err)), 0);
	CHECK_EQ_INT(container("cg2", NULL, err, sizeof(err)), -ENOENT);
	CHECK_EQ_INT(container("", NULL, err, sizeof(err)), -EINVAL);
	/* The default entry point, docker store or not. */
	CHECK_EQ_INT(zt_cgroup_resolve_container(root, "ping", small, sizeof(small), err,
						 sizeof(err)), 0);
}

static const char *cname(const char *rel)
{
	static char out[ZT_CONTAINER_NAME_MAX];

	zt_cgroup_container_name(rel, out, sizeof(out));
	return out;
}

static void test_container_name(void)
{
	char tiny[4];

	CHECK_EQ_STR(cname("system.slice/docker-" ID_DOCKER1 ".scope"), "abc123400000");
	CHECK_EQ_STR(cname(CRI_POD "/cri-containerd-" ID_CRI ".scope"), "c0ffee111111");
	CHECK_EQ_STR(cname(CRI_POD "/crio-" ID_CRIO ".scope"), "dead00012222");
	CHECK_EQ_STR(cname("machine.slice/libpod-" ID_PODMAN ".scope"), "beef42333333");
	CHECK_EQ_STR(cname("docker/" ID_DOCKERFS), "f00d54444444");
	CHECK_EQ_STR(cname("kubepods/burstable/pod-uid-1/" ID_BARE), "0123abcd5555");
	CHECK_EQ_STR(cname("docker/abc"), "abc");
	CHECK_EQ_STR(cname("ztrace-test/pong"), "pong");
	CHECK_EQ_STR(cname("ztrace-test/pong/"), "pong");
	CHECK_EQ_STR(cname("pong"), "pong");
	CHECK_EQ_STR(cname("system.slice/sshd.service"), "sshd.service");
	CHECK_EQ_STR(cname("machine.slice/libpod-conmon-abc.scope"), "libpod-conmon-abc.scope");
	CHECK_EQ_STR(cname("system.slice/docker-xyz.scope"), "docker-xyz.scope");
	CHECK_EQ_STR(cname(""), "/");
	CHECK_EQ_STR(cname("/"), "/");
	zt_cgroup_container_name("ztrace-test/pong", tiny, sizeof(tiny));
	CHECK_EQ_STR(tiny, "pon");
}

static void test_names(void)
{
	struct zt_cgroup_names *n = zt_cgroup_names_new(root);
	const char *late = at("%s/ztrace-test/late", root), *later = at("%s/ztrace-test/later", root);
	const char *rel, *cont;
	uint64_t id_late, id_later;

	CHECK(n != NULL);
	if (!n)
		return;
	CHECK_EQ_INT(zt_cgroup_names_get(n, zt_cgroup_id(at("%s/ztrace-test/pong", root)), &rel,
					 &cont), 0);
	CHECK_EQ_STR(rel, "ztrace-test/pong");
	CHECK_EQ_STR(cont, "pong");
	CHECK_EQ_INT(zt_cgroup_names_get(n, zt_cgroup_id(root), &rel, &cont), 0);
	CHECK_EQ_STR(rel, "/");
	CHECK_EQ_STR(cont, "/");
	CHECK_EQ_INT(zt_cgroup_names_get(n, zt_cgroup_id(at("%s/system.slice/docker-" ID_DOCKER1
							      ".scope", root)), &rel, &cont), 0);
	CHECK_EQ_STR(rel, "system.slice/docker-" ID_DOCKER1 ".scope");
	CHECK_EQ_STR(cont, "abc123400000");
	CHECK_EQ_INT(zt_cgroup_names_get(n, zt_cgroup_id(at("%s/" CRI_POD, root)), &rel, &cont), 0);
	CHECK_EQ_STR(rel, CRI_POD);

	/* Created after the cache was built: the miss rescans. */
	mkdir_p(late);
	id_late = zt_cgroup_id(late);
	CHECK(id_late != 0);
	CHECK_EQ_INT(zt_cgroup_names_get(n, id_late, &rel, &cont), 0);
	CHECK_EQ_STR(rel, "ztrace-test/late");
	CHECK_EQ_STR(cont, "late");

	/* Unknown ids, and within a second of the last rescan, none again. */
	CHECK_EQ_INT(zt_cgroup_names_get(n, zt_cgroup_id(tmp), &rel, &cont), -ENOENT);
	CHECK_EQ_STR(rel, "?");
	CHECK_EQ_STR(cont, "?");
	CHECK_EQ_INT(zt_cgroup_names_get(n, 0, &rel, &cont), -ENOENT);
	CHECK_EQ_STR(cont, "?");
	mkdir_p(later);
	id_later = zt_cgroup_id(later);
	CHECK_EQ_INT(zt_cgroup_names_get(n, id_later, &rel, &cont), -ENOENT);
	CHECK_EQ_STR(rel, "?");
	usleep(1100 * 1000);
	CHECK_EQ_INT(zt_cgroup_names_get(n, id_later, &rel, &cont), 0);
	CHECK_EQ_STR(rel, "ztrace-test/later");

	/* Vanished cgroups keep their names, the pointers stay put. */
	rmdir(late);
	CHECK_EQ_INT(zt_cgroup_names_get(n, id_late, &rel, &cont), 0);
	CHECK_EQ_STR(rel, "ztrace-test/late");
	CHECK_EQ_INT(zt_cgroup_names_get(n, id_late, NULL, NULL), 0);
	rmdir(later);
	zt_cgroup_names_free(n);

	CHECK_EQ_INT(zt_cgroup_id(at("%s/nope", root)), 0);
	CHECK_EQ_INT(zt_cgroup_id(at("%s/mountinfo.v2", tmp)), 0);

	/* An unreadable root still gives a cache, of nothing. */
	n = zt_cgroup_names_new(at("%s/nope", root));
	CHECK(n != NULL);
	if (n) {
		CHECK_EQ_INT(zt_cgroup_names_get(n, 42, &rel, &cont), -ENOENT);
		CHECK_EQ_STR(rel, "?");
		zt_cgroup_names_free(n);
	}
}

/* Many cgroups: the table grows past its first size and still finds all. */
static void test_names_many(void)
{
	enum { N = 3000 };
	static uint64_t ids[N];
	struct zt_cgroup_names *n;
	const char *rel, *cont;
	int bad = 0;

	for (int i = 0; i < N; i++) {
		const char *d = at("%s/many/g%d/c%d", root, i / 100, i);

		mkdir_p(d);
		ids[i] = zt_cgroup_id(d);
	}
	n = zt_cgroup_names_new(root);
	CHECK(n != NULL);
	if (!n)
		return;
	for (int i = 0; i < N; i++) {
		if (zt_cgroup_names_get(n, ids[i], &rel, &cont) ||
		    strcmp(rel, at("many/g%d/c%d", i / 100, i)) || strcmp(cont, at("c%d", i)))
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	zt_cgroup_names_free(n);
}

/* On the live cgroup2 tree (root only): cgroups made after the cache was
 * filled, back to back, are all named at once (by file handle, not by a
 * throttled walk). */
static void test_names_live(void)
{
	char live[4096], a[4200], b[4300];
	struct zt_cgroup_names *n;
	const char *rel, *cont;

	if (geteuid() || zt_cgroup2_find_root("/proc/self/mountinfo", live, sizeof(live))) {
		printf("test_names_live: skipped (needs root and cgroup2)\n");
		return;
	}
	snprintf(a, sizeof(a), "%s/ztrace-unit-%d", live, getpid());
	snprintf(b, sizeof(b), "%s/deeper", a);
	n = zt_cgroup_names_new(live);
	CHECK(n != NULL);
	if (!n)
		return;
	CHECK_EQ_INT(zt_cgroup_names_get(n, 1ULL << 62, &rel, &cont), -ENOENT); /* spends the walk */
	CHECK_EQ_INT(mkdir(a, 0755), 0);
	CHECK_EQ_INT(mkdir(b, 0755), 0);
	CHECK_EQ_INT(zt_cgroup_names_get(n, zt_cgroup_id(a), &rel, &cont), 0);
	CHECK_EQ_STR(rel, at("ztrace-unit-%d", getpid()));
	CHECK_EQ_INT(zt_cgroup_names_get(n, zt_cgroup_id(b), &rel, &cont), 0);
	CHECK_EQ_STR(rel, at("ztrace-unit-%d/deeper", getpid()));
	CHECK_EQ_STR(cont, "deeper");
	uint32_t before = zt_cgroup_names_count(n);
	uint64_t ida = zt_cgroup_id(a);

	rmdir(b);
	rmdir(a);
	/* Gone cgroups are forgotten by the next prune, live ones kept; a
	 * span named before still reads its name (ASan would see a free). */
	zt_cgroup_names_prune(n);
	CHECK_EQ_INT(zt_cgroup_names_count(n), before - 2);
	CHECK_EQ_STR(cont, "deeper");
	CHECK_EQ_INT(zt_cgroup_names_get(n, ida, &rel, &cont), -ENOENT);
	CHECK_EQ_INT(zt_cgroup_names_get(n, zt_cgroup_id(live), &rel, &cont), 0);
	CHECK_EQ_STR(rel, "/");
	zt_cgroup_names_free(n);
}

/* Names from the kernel's cgroup_mkdir record: for a cgroup already gone
 * (no directory, no handle), the path the record carried. */
static void test_names_learn(void)
{
	struct zt_cgroup_names *n = zt_cgroup_names_new(root);
	const char *rel, *cont;
	const uint64_t gone = (1ULL << 61) + 7;

	CHECK(n != NULL);
	if (!n)
		return;
	CHECK_EQ_INT(zt_cgroup_names_learn(n, gone, "/system.slice/docker-" ID_DOCKER1 ".scope"), 0);
	CHECK_EQ_INT(zt_cgroup_names_get(n, gone, &rel, &cont), 0);
	CHECK_EQ_STR(rel, "system.slice/docker-" ID_DOCKER1 ".scope");
	CHECK_EQ_STR(cont, "abc123400000");
	/* Known ids keep their first name. */
	CHECK_EQ_INT(zt_cgroup_names_learn(n, gone, "/other"), 0);
	CHECK_EQ_INT(zt_cgroup_names_get(n, gone, &rel, &cont), 0);
	CHECK_EQ_STR(rel, "system.slice/docker-" ID_DOCKER1 ".scope");
	/* A path cut by the kernel side arrives empty: nothing to learn. */
	CHECK_EQ_INT(zt_cgroup_names_learn(n, gone + 1, ""), -EINVAL);
	CHECK_EQ_INT(zt_cgroup_names_learn(n, gone + 1, "/"), -EINVAL);
	CHECK_EQ_INT(zt_cgroup_names_learn(n, 0, "/x"), 0);
	CHECK_EQ_INT(zt_cgroup_names_get(n, 0, &rel, &cont), -ENOENT);
	/* Not in the tree: the next prune drops it, its pointers stay
	 * readable for a while. */
	CHECK_EQ_INT(zt_cgroup_names_get(n, gone, &rel, &cont), 0);
	zt_cgroup_names_prune(n);
	CHECK_EQ_STR(cont, "abc123400000");
	CHECK(zt_cgroup_names_get(n, gone, NULL, NULL) == -ENOENT);
	zt_cgroup_names_free(n);
}

/* Which processes the TLS library scan looks at. */
static void test_rel_within(void)
{
	CHECK(zt_cgroup_rel_within("/ztrace-test/pong", "ztrace-test/pong"));
	CHECK(zt_cgroup_rel_within("/ztrace-test/pong/sub", "/ztrace-test/pong/"));
	CHECK(!zt_cgroup_rel_within("/ztrace-test/pong2", "ztrace-test/pong"));
	CHECK(!zt_cgroup_rel_within("/ztrace-test", "ztrace-test/pong"));
	CHECK(zt_cgroup_rel_within("/anything", ""));
	CHECK(zt_cgroup_rel_within("/", "/"));
}

/*
 * Pure cgroup v1: the hierarchy picked (pids before cpu before memory; a
 * named hierarchy has no controller), then process paths read from its
 * line. Last: it switches how /proc/PID/cgroup is read for the process.
 */
static void test_v1_pick(void)
{
	char r[512], c[32], rel[256];

	write_file(at("%s/mountinfo.v1", tmp),
		   "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
		   "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
		   "32 30 0:29 /sub /mnt/pids-sub rw,relatime - cgroup cgroup rw,pids\n"
		   "33 30 0:29 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
		   "34 30 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
		   "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n");
	CHECK_EQ_INT(zt_cgroup1_pick(at("%s/mountinfo.v1", tmp), r, sizeof(r), c, sizeof(c)), 0);
	CHECK_EQ_STR(c, "pids");
	CHECK_EQ_STR(r, "/sys/fs/cgroup/pids");
	write_file(at("%s/mountinfo.v1cpu", tmp),
		   "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
		   "34 30 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n");
	CHECK_EQ_INT(zt_cgroup1_pick(at("%s/mountinfo.v1cpu", tmp), r, sizeof(r), c, sizeof(c)), 0);
	CHECK_EQ_STR(c, "cpu");
	CHECK_EQ_STR(r, "/sys/fs/cgroup/cpu,cpuacct");
	CHECK_EQ_INT(zt_cgroup1_pick(at("%s/mountinfo.v2", tmp), r, sizeof(r), c, sizeof(c)), -ENOENT);

	mkdir(at("%s/proc/4100", tmp), 0755);
	write_file(at("%s/proc/4100/cgroup", tmp),
		   "12:pids:/docker/abc\n11:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n"
		   "0::/\n");
	CHECK_EQ_INT(zt_cgroup_pid_rel(at("%s/proc", tmp), 4100, rel, sizeof(rel)), 0);
	CHECK_EQ_STR(rel, "/docker/abc");
	CHECK_EQ_INT(zt_cgroup1_pick(at("%s/mountinfo.v1cpu", tmp), r, sizeof(r), c, sizeof(c)), 0);
	write_file(at("%s/proc/4100/cgroup", tmp), "12:pids:/docker/abc\n11:cpu,cpuacct:/docker/x\n");
	CHECK_EQ_INT(zt_cgroup_pid_rel(at("%s/proc", tmp), 4100, rel, sizeof(rel)), 0);
	CHECK_EQ_STR(rel, "/docker/x");
	write_file(at("%s/proc/4100/cgroup", tmp), "12:pids:/docker/abc\n0::/\n");
	CHECK_EQ_INT(zt_cgroup_pid_rel(at("%s/proc", tmp), 4100, rel, sizeof(rel)), -ENODATA);
}

int main(void)
{
	build_fixture();
	test_rel_within();
	test_find_root();
	test_resolve_path();
	test_resolve_pid();
	test_resolve_container();
	test_container_name();
	test_names();
	test_names_learn();
	test_names_many();
	test_names_live();
	test_v1_pick();
	if (!getenv("ZT_KEEP_FIXTURE"))
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return TEST_SUMMARY("test_cgroup");
}
