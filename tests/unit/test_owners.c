// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Owners: the --owners file (format, errors with line numbers, globs,
 * precedence), container ids in cgroup paths for every runtime's naming,
 * and labels read from runtime state files shaped as the runtimes write
 * them, in a temp dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "output/output.h"
#include "owners.h"
#include "owners_file.h"
#include "owners_runtime.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID64B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static char tmp[256];

static void put(const char *rel, const char *text)
{
	char path[1024], dir[1024], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	for (slash = dir + strlen(tmp) + 1; (slash = strchr(slash, '/')); slash++) {
		*slash = 0;
		mkdir(dir, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

static char *path_of(const char *rel)
{
	static char p[8][1024];
	static int k;

	k = (k + 1) % 8;
	snprintf(p[k], sizeof(p[k]), "%s/%s", tmp, rel);
	return p[k];
}

static int parse(const char *text, struct zt_owner_rules *r, char *err, size_t errlen)
{
	return zt_owner_rules_parse("owners.txt", text, strlen(text), r, err, errlen);
}

/* The error a text gives, or "" when it parses. */
static const char *error_of(const char *text)
{
	static char err[256];
	struct zt_owner_rules r;

	err[0] = 0;
	if (!parse(text, &r, err, sizeof(err)))
		zt_owner_rules_free(&r);
	return err;
}

static void test_file_format(void)
{
	struct zt_owner_rules r;
	char err[256] = "";
	const char *text =
		"# owners of the demo containers\n"
		"\n"
		"pong   team=team-pong source=https://git.example.test/pong.git pager=@pong-oncall\n"
		"  ping team=\"Team Ping\" pager=#ping-alerts   # a trailing comment\r\n"
		"lb-*\tteam=edge\n"
		"system.slice/docker-*.scope source=\"say \\\"hi\\\" \\\\\"\n"
		"*      pager=ops@example.test\n";

	CHECK_EQ_INT(parse(text, &r, err, sizeof(err)), 0);
	CHECK_EQ_STR(err, "");
	CHECK_EQ_INT(r.n, 5);
	if (r.n != 5)
		return;
	CHECK_EQ_STR(r.r[0].pattern, "pong");
	CHECK_EQ_INT(r.r[0].line, 3);
	CHECK_EQ_STR(r.r[0].val[ZT_OWNER_TEAM], "team-pong");
	CHECK_EQ_STR(r.r[0].val[ZT_OWNER_SOURCE], "https://git.example.test/pong.git");
	CHECK_EQ_STR(r.r[0].val[ZT_OWNER_PAGER], "@pong-oncall");
	CHECK_EQ_STR(r.r[1].val[ZT_OWNER_TEAM], "Team Ping");
	CHECK_EQ_STR(r.r[1].val[ZT_OWNER_PAGER], "#ping-alerts");
	CHECK(r.r[1].val[ZT_OWNER_SOURCE] == NULL);
	CHECK_EQ_INT(r.r[1].line, 4);
	CHECK_EQ_STR(r.r[2].pattern, "lb-*");
	CHECK(!r.r[2].on_path);
	CHECK(r.r[3].on_path);
	CHECK_EQ_STR(r.r[3].val[ZT_OWNER_SOURCE], "say \"hi\" \\");
	CHECK_EQ_INT(r.r[4].line, 7);
	zt_owner_rules_free(&r);

	/* an empty file and a file of comments are no rules, not errors */
	CHECK_EQ_INT(parse("", &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(r.n, 0);
	CHECK_EQ_INT(parse("# nothing\n   \n\t# more\n", &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(r.n, 0);
	zt_owner_rules_free(&r);
}

static void test_file_errors(void)
{
	char *big;
	size_t n;

	CHECK_EQ_STR(error_of("pong team=a\npong tema=b\n"),
		     "owners.txt:2: unknown key 'tema' (team, source or pager)");
	CHECK_EQ_STR(error_of("# c\n\npong team=a team=b\n"), "owners.txt:3: team= given twice");
	CHECK_EQ_STR(error_of("pong\n"), "owners.txt:1: 'pong' has no team=, source= or pager=");
	CHECK_EQ_STR(error_of("pong # only a comment\n"),
		     "owners.txt:1: 'pong' has no team=, source= or pager=");
	CHECK_EQ_STR(error_of("pong team=\"a b\n"), "owners.txt:1: unterminated quote in team=");
	CHECK_EQ_STR(error_of("\"pong team=a\n"), "owners.txt:1: unterminated quote in the pattern");
	CHECK_EQ_STR(error_of("pong team=\n"), "owners.txt:1: empty value for team=");
	CHECK_EQ_STR(error_of("pong team=\"\"\n"), "owners.txt:1: empty value for team=");
	CHECK_EQ_STR(error_of("pong team\n"), "owners.txt:1: 'team': expected key=value");
	CHECK_EQ_STR(error_of("team=x pager=y\n"),
		     "owners.txt:1: 'team=x' is not a container pattern: a line is PATTERN key=value...");
	CHECK_EQ_STR(error_of("\"\" team=x\n"), "owners.txt:1: empty pattern");
	CHECK_EQ_STR(error_of("// team=x\n"), "owners.txt:1: '//' is an empty cgroup path");
	{
		struct zt_owner_rules r;
		char err[256] = "";
		static const char nul[] = "a team=x\nb te\0am=z\n";

		CHECK_EQ_INT(zt_owner_rules_parse("f", nul, sizeof(nul) - 1, &r, err, sizeof(err)),
			     -EINVAL);
		CHECK_EQ_STR(err, "f:2: a NUL byte (not a text file?)");
		CHECK_EQ_INT(r.n, 0);
	}
	/* a line past its bound */
	big = malloc(ZT_OWNERS_LINE_MAX + 64);
	n = snprintf(big, 64, "# x\npong team=");
	memset(big + n, 'a', ZT_OWNERS_LINE_MAX);
	big[n + ZT_OWNERS_LINE_MAX] = 0;
	CHECK_EQ_STR(error_of(big), "owners.txt:2: line longer than 4096 bytes");
	free(big);
	/* more rules than allowed */
	big = malloc((ZT_OWNERS_RULES_MAX + 1) * 10 + 1);
	n = 0;
	for (int i = 0; i <= ZT_OWNERS_RULES_MAX; i++)
		n += sprintf(big + n, "c team=t\n");
	CHECK_EQ_STR(error_of(big), "owners.txt:10001: more than 10000 rules");
	free(big);
	/* a missing file */
	{
		struct zt_owner_rules r;
		char err[256];

		CHECK_EQ_INT(zt_owner_rules_load("/nonexistent/owners", &r, err, sizeof(err)),
			     -ENOENT);
		CHECK_EQ_STR(err, "/nonexistent/owners: No such file or directory");
	}
	/* and zt_owners_new says it */
	{
		char err[256] = "";

		put("bad.owners", "# ok\npong team=a\nping pagr=x\n");
		CHECK(zt_owners_new_at(path_of("bad.owners"), NULL, err, sizeof(err)) == NULL);
		CHECK(strstr(err, "bad.owners:3: unknown key 'pagr' (team, source or pager)") != NULL);
	}
}

static void test_value(void)
{
	char in[600], *v;

	v = zt_owner_value("a\tb\x7f" "c\xff\xc3\xa9", 100);
	CHECK_EQ_STR(v, "a?b?c?\xc3\xa9");
	free(v);
	CHECK(zt_owner_value("", 5) == NULL);
	v = zt_owner_value("ab\0cd", 5);
	CHECK_EQ_STR(v, "ab");
	free(v);
	/* cut at the bound on a character boundary: 254 bytes, then a 2-byte
	 * character that does not fit */
	memset(in, 'x', 254);
	memcpy(in + 254, "\xc3\xa9yy", 5);
	v = zt_owner_value(in, strlen(in));
	CHECK_EQ_INT(strlen(v), 254);
	free(v);
	memset(in, 'x', 599);
	in[599] = 0;
	v = zt_owner_value(in, 599);
	CHECK_EQ_INT(strlen(v), ZT_OWNER_VALUE_MAX);
	free(v);
}

static void test_globs_precedence(void)
{
	struct zt_owner_rules r;
	char err[256];
	const char *val[ZT_OWNER_FIELDS];

	CHECK_EQ_INT(parse("pong team=pong-team\n"
			   "pong* team=never source=https://src/pongs\n"
			   "web-[0-9] pager=web-oncall\n"
			   "kubepods/*/pod* team=k8s\n"
			   "* pager=ops\n", &r, err, sizeof(err)), 0);
	/* field by field: team from line 1, source from line 2, pager from 5 */
	memset(val, 0, sizeof(val));
	zt_owner_rules_match(&r, "pong", NULL, "ztrace-test/pong", val);
	CHECK_EQ_STR(val[ZT_OWNER_TEAM], "pong-team");
	CHECK_EQ_STR(val[ZT_OWNER_SOURCE], "https://src/pongs");
	CHECK_EQ_STR(val[ZT_OWNER_PAGER], "ops");
	/* a field already known is kept (the caller's precedence) */
	val[ZT_OWNER_PAGER] = NULL;
	val[ZT_OWNER_TEAM] = "mine";
	zt_owner_rules_match(&r, "pong", NULL, NULL, val);
	CHECK_EQ_STR(val[ZT_OWNER_TEAM], "mine");
	/* globs: character classes; the runtime's name matches too */
	memset(val, 0, sizeof(val));
	zt_owner_rules_match(&r, "0123456789ab", "web-7", NULL, val);
	CHECK_EQ_STR(val[ZT_OWNER_PAGER], "web-oncall");
	CHECK(val[ZT_OWNER_TEAM] == NULL);
	memset(val, 0, sizeof(val));
	zt_owner_rules_match(&r, "web-77", NULL, NULL, val);
	CHECK_EQ_STR(val[ZT_OWNER_PAGER], "ops");
	/* a pattern with '/' is on the cgroup path, leading slashes ignored */
	memset(val, 0, sizeof(val));
	zt_owner_rules_match(&r, ID64, NULL, "/kubepods/besteffort/pod1234/" ID64, val);
	CHECK_EQ_STR(val[ZT_OWNER_TEAM], "k8s");
	memset(val, 0, sizeof(val));
	zt_owner_rules_match(&r, "kubepods", NULL, "kubepods", val);
	CHECK(val[ZT_OWNER_TEAM] == NULL);
	zt_owner_rules_free(&r);
}

static void test_runtime_ids(void)
{
	static const struct {
		const char *cgroup, *id;
	} cases[] = {
		{ "system.slice/docker-" ID64 ".scope", ID64 },
		{ "docker/" ID64, ID64 },
		{ "/docker/" ID64 "/", ID64 },
		{ "kubepods.slice/kubepods-pod1.slice/cri-containerd-" ID64 ".scope", ID64 },
		{ "kubepods.slice/kubepods-burstable.slice/crio-" ID64 ".scope", ID64 },
		{ "machine.slice/libpod-" ID64 ".scope", ID64 },
		{ "kubepods/besteffort/pod1/" ID64, ID64 },
		{ "ztrace-test/pong", "pong" },
		{ "mycontainer", "mycontainer" },
		/* the monitors are not the container: their names are kept whole */
		{ "machine.slice/libpod-conmon-" ID64 ".scope", "libpod-conmon-" ID64 ".scope" },
		{ "system.slice/docker-xyz.scope", "docker-xyz.scope" },
	};
	char id[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK(zt_runtime_id(cases[i].cgroup, id, sizeof(id)));
		CHECK_EQ_STR(id, cases[i].id);
	}
	CHECK(!zt_runtime_id("", id, sizeof(id)));
	CHECK(!zt_runtime_id("/", id, sizeof(id)));
	CHECK(!zt_runtime_id("?", id, sizeof(id)));
	CHECK(!zt_runtime_id(NULL, id, sizeof(id)));
	CHECK(!zt_runtime_id("docker/" ID64, id, 10));
}

/* runc 1.1's state.json for a container made from an OCI bundle with
 * annotations (trimmed of mounts and devices; the keys are runc's). */
static const char runc_state[] =
	"{\"id\":\"web1\",\"init_process_pid\":4242,\"init_process_start\":123456,"
	"\"created\":\"2026-11-28T22:50:00.1Z\",\"config\":{\"no_pivot_root\":false,"
	"\"parent_death_signal\":0,\"rootfs\":\"/srv/web1/rootfs\",\"readonlyfs\":true,"
	"\"mounts\":[{\"source\":\"proc\",\"destination\":\"/proc\",\"device\":\"proc\"}],"
	"\"cgroups\":{\"path\":\"/ztrace-test/web\",\"scope_prefix\":\"\",\"devices\":[]},"
	"\"hostname\":\"runc\",\"labels\":[\"oncall=web-oncall@example.test\","
	"\"team=web-team\",\"owner=team-web\",\"org.opencontainers.image.url=https://example.test/web\","
	"\"bundle=/evil\",\"org.opencontainers.image.source=https://git.example.test/web.git\","
	"\"bundle=%s\"],\"no_new_keyring\":false},\"rootless\":false,"
	"\"cgroup_paths\":{\"\":\"/sys/fs/cgroup/unified/ztrace-test/web\","
	"\"pids\":\"/sys/fs/cgroup/pids/ztrace-test/web\"},"
	"\"namespace_paths\":{\"NEWNET\":\"/proc/4242/ns/net\"},\"external_descriptors\":"
	"[\"/dev/null\",\"pipe:[1]\",\"pipe:[2]\"],\"intel_rdt_path\":\"\"}";

/* docker 20.10's config.v2.json (trimmed): labels merged from the image. */
static const char docker_config[] =
	"{\"StreamConfig\":{},\"State\":{\"Running\":true,\"Pid\":777},\"ID\":\"" ID64 "\","
	"\"Created\":\"2026-11-28T22:00:00Z\",\"Path\":\"nginx\",\"Args\":[\"-g\",\"daemon off;\"],"
	"\"Config\":{\"Hostname\":\"0123456789ab\",\"Env\":[\"PATH=/usr/bin\"],"
	"\"Image\":\"pong:latest\",\"Labels\":{\"maintainer\":\"NGINX Docker Maintainers\","
	"\"org.opencontainers.image.authors\":\"someone upstream\","
	"\"org.opencontainers.image.vendor\":\"Example Vendor\","
	"\"org.opencontainers.image.source\":\"https://git.example.test/pong.git\","
	"\"team\":\"team-pong\",\"pager\":\"https://pager.example.test/pong\"}},"
	"\"Image\":\"sha256:abcd\",\"NetworkSettings\":{\"Networks\":{}},"
	"\"Name\":\"/pong\",\"RestartCount\":0,\"Driver\":\"overlay2\","
	"\"MountPoints\":{\"/data\":{\"Name\":\"vol\"}}}";

/* containerd's CRI bundle config.json (trimmed). */
static const char cri_config[] =
	"{\"ociVersion\":\"1.1.0\",\"process\":{\"args\":[\"/app\"]},\"root\":{\"path\":\"rootfs\"},"
	"\"annotations\":{\"io.kubernetes.cri.container-name\":\"checkout\","
	"\"io.kubernetes.cri.container-type\":\"container\","
	"\"io.kubernetes.cri.sandbox-name\":\"checkout-7d9f\","
	"\"org.opencontainers.image.url\":\"https://example.test/checkout\","
	"\"oncall\":\"checkout-oncall\"},\"linux\":{\"cgroupsPath\":\"kubepods-x.slice:cri-containerd:" ID64B "\"}}";

static void test_parse_shapes(void)
{
	struct zt_runtime_owner ro = {};
	char state[sizeof(runc_state) + 64], *bundle = NULL, *cg = NULL;

	snprintf(state, sizeof(state), runc_state, "/srv/web1");
	CHECK_EQ_INT(zt_runtime_parse(state, strlen(state), ZT_SHAPE_RUNC_STATE, &ro, &bundle, &cg), 1);
	/* owner before team; source before url, whatever their order */
	CHECK_EQ_STR(ro.val[ZT_OWNER_TEAM], "team-web");
	CHECK_EQ_STR(ro.val[ZT_OWNER_SOURCE], "https://git.example.test/web.git");
	CHECK_EQ_STR(ro.val[ZT_OWNER_PAGER], "web-oncall@example.test");
	CHECK_EQ_STR(bundle, "/srv/web1"); /* runc's own, the last */
	CHECK_EQ_STR(cg, "/sys/fs/cgroup/unified/ztrace-test/web");
	CHECK_EQ_STR(ro.name, "web1");
	free(bundle);
	free(cg);
	zt_runtime_owner_free(&ro);

	CHECK_EQ_INT(zt_runtime_parse(docker_config, strlen(docker_config), ZT_SHAPE_DOCKER, &ro,
				      NULL, NULL), 1);
	CHECK_EQ_STR(ro.val[ZT_OWNER_TEAM], "team-pong"); /* team before authors; vendor unused */
	CHECK_EQ_STR(ro.val[ZT_OWNER_SOURCE], "https://git.example.test/pong.git");
	CHECK_EQ_STR(ro.val[ZT_OWNER_PAGER], "https://pager.example.test/pong");
	CHECK_EQ_STR(ro.name, "pong");
	zt_runtime_owner_free(&ro);

	CHECK_EQ_INT(zt_runtime_parse(cri_config, strlen(cri_config), ZT_SHAPE_OCI, &ro, NULL,
				      NULL), 1);
	CHECK(ro.val[ZT_OWNER_TEAM] == NULL);
	CHECK_EQ_STR(ro.val[ZT_OWNER_SOURCE], "https://example.test/checkout");
	CHECK_EQ_STR(ro.val[ZT_OWNER_PAGER], "checkout-oncall");
	CHECK_EQ_STR(ro.name, "checkout");
	zt_runtime_owner_free(&ro);

	/* authors is the last resort for the team */
	{
		static const char j[] = "{\"annotations\":{\"org.opencontainers.image.authors\":\"a@b\","
					"\"org.opencontainers.image.vendor\":\"v\"}}";

		CHECK_EQ_INT(zt_runtime_parse(j, strlen(j), ZT_SHAPE_OCI, &ro, NULL, NULL), 1);
		CHECK_EQ_STR(ro.val[ZT_OWNER_TEAM], "a@b");
		zt_runtime_owner_free(&ro);
	}
	/* not JSON, not an object, wrong types, too deep: nothing, no crash */
	CHECK_EQ_INT(zt_runtime_parse("{\"annotations\":", 15, ZT_SHAPE_OCI, &ro, NULL, NULL), -EINVAL);
	CHECK_EQ_INT(zt_runtime_parse("[1,2]", 5, ZT_SHAPE_OCI, &ro, NULL, NULL), 0);
	CHECK_EQ_INT(zt_runtime_parse("{\"annotations\":[\"owner\"],\"config\":7}", 36,
				      ZT_SHAPE_OCI, &ro, NULL, NULL), 1);
	CHECK_EQ_INT(zt_runtime_parse("{\"config\":{\"labels\":[1,\"owner\",\"owner=\",{}]}}", 46,
				      ZT_SHAPE_RUNC_STATE, &ro, NULL, NULL), 1);
	CHECK(ro.val[ZT_OWNER_TEAM] == NULL);
	{
		char deep[200];

		memset(deep, '[', 100);
		memset(deep + 100, ']', 100);
		CHECK_EQ_INT(zt_runtime_parse(deep, 200, ZT_SHAPE_OCI, &ro, NULL, NULL), -EINVAL);
	}
	zt_runtime_owner_free(&ro);
}

static struct zt_owners *owners_at(const char *file)
{
	struct zt_owners_roots roots = {
		.runc = path_of("runc"),
		.containerd = path_of("containerd"),
		.storage = path_of("storage"),
		.docker = path_of("docker"),
	};
	char err[256] = "";
	struct zt_owners *o = zt_owners_new_at(file, &roots, err, sizeof(err));

	CHECK_EQ_STR(err, "");
	return o;
}

static void check_owner(const struct zt_owner *ow, const char *team, const char *source,
			const char *pager)
{
	CHECK(ow != NULL);
	if (!ow)
		return;
	if (team)
		CHECK_EQ_STR(ow->team, team);
	else
		CHECK(ow->team == NULL);
	if (source)
		CHECK_EQ_STR(ow->source, source);
	else
		CHECK(ow->source == NULL);
	if (pager)
		CHECK_EQ_STR(ow->pager, pager);
	else
		CHECK(ow->pager == NULL);
}

static void test_runtimes(void)
{
	char state[sizeof(runc_state) + 512], buf[512];
	struct zt_owners *o;
	const struct zt_owner *ow;

	/* runc, by the id in the cgroup path (runc's container "web1" in a
	 * cgroup named web1) and, for a container in cgroup ztrace-test/web,
	 * found by its state's cgroup_paths */
	snprintf(buf, sizeof(buf), "%s/bundle", tmp);
	snprintf(state, sizeof(state), runc_state, buf);
	put("runc/web1/state.json", state);
	put("runc/notjson/state.json", "{{{{");
	put("bundle/config.json", "{\"annotations\":{\"owner\":\"from-bundle\",\"pager\":\"bundle-pager\"}}");
	/* a runc container whose state has no owner keys: its bundle's then */
	put("runc/plain/state.json", "{\"id\":\"plain\",\"config\":{\"labels\":[\"bundle=/nonexistent\"]},"
	    "\"cgroup_paths\":{\"\":\"/sys/fs/cgroup/x/plain\"}}");
	snprintf(state, sizeof(state), "{\"id\":\"b\",\"config\":{\"labels\":[\"bundle=%s/bundle\"]}}", tmp);
	put("runc/bundled/state.json", state);
	put(("docker/" ID64 "/config.v2.json"), docker_config);
	put(("containerd/k8s.io/" ID64B "/config.json"), cri_config);
	put(("storage/" ID64B "/userdata/config.json"),
	    "{\"annotations\":{\"io.kubernetes.container.name\":\"crio-app\",\"team\":\"crio-team\"}}");
	/* docker's container also has a containerd bundle, without its labels */
	put(("containerd/moby/" ID64 "/config.json"), "{\"annotations\":{\"team\":\"wrong\"}}");

	o = owners_at(NULL);
	ow = zt_owners_lookup(o, "web1", "ztrace-test/web1");
	check_owner(ow, "team-web", "https://git.example.test/web.git", "web-oncall@example.test");
	CHECK(zt_owners_lookup(o, "web1", "ztrace-test/web1") == ow); /* cached, same pointer */
	ow = zt_owners_lookup(o, "web", "ztrace-test/web");
	check_owner(ow, "team-web", "https://git.example.test/web.git", "web-oncall@example.test");
	ow = zt_owners_lookup(o, "bundled", "bundled");
	check_owner(ow, "from-bundle", NULL, "bundle-pager");
	ow = zt_owners_lookup(o, "plain", "x/plain");
	check_owner(ow, NULL, NULL, NULL);
	/* docker: systemd and cgroupfs drivers */
	ow = zt_owners_lookup(o, "0123456789ab", "system.slice/docker-" ID64 ".scope");
	check_owner(ow, "team-pong", "https://git.example.test/pong.git",
		    "https://pager.example.test/pong");
	CHECK(zt_owners_lookup(o, "0123456789ab", "docker/" ID64)->team != NULL);
	/* CRI-O's storage before containerd; containerd's namespaces */
	ow = zt_owners_lookup(o, "fedcba987654", "kubepods.slice/crio-" ID64B ".scope");
	check_owner(ow, "crio-team", NULL, NULL);
	rename(path_of("storage"), path_of("storage.off"));
	ow = zt_owners_lookup(o, "fedcba987654", "kubepods.slice/cri-containerd-" ID64B ".scope");
	check_owner(ow, NULL, "https://example.test/checkout", "checkout-oncall");
	/* nothing known: the shared unknown owner */
	ow = zt_owners_lookup(o, "nginx.service", "system.slice/nginx.service");
	check_owner(ow, NULL, NULL, NULL);
	CHECK(zt_owners_lookup(o, "?", "?") == zt_owners_lookup(o, NULL, NULL));
	CHECK_EQ_INT(zt_owners_stats(o)->runtime_found, 8);
	zt_owners_free(o);
}

static void test_file_over_runtime(void)
{
	struct zt_owners *o;
	const struct zt_owner *ow;

	put("owners", "# the file wins where it speaks\n"
		      "pong pager=\"#pong-pager\"\n"
		      "checkout team=payments\n"
		      "nginx.service team=web-ops pager=web@example.test\n");
	o = owners_at(path_of("owners"));
	/* docker name "pong" matched; team and source still docker's */
	ow = zt_owners_lookup(o, "0123456789ab", "system.slice/docker-" ID64 ".scope");
	check_owner(ow, "team-pong", "https://git.example.test/pong.git", "#pong-pager");
	/* Kubernetes' container name from containerd's annotations */
	ow = zt_owners_lookup(o, "fedcba987654", "kubepods.slice/cri-containerd-" ID64B ".scope");
	check_owner(ow, "payments", "https://example.test/checkout", "checkout-oncall");
	/* no runtime at all: the file alone */
	ow = zt_owners_lookup(o, "nginx.service", "system.slice/nginx.service");
	check_owner(ow, "web-ops", NULL, "web@example.test");
	zt_owners_free(o);

	/* no roots: the file only, runtimes never asked */
	{
		char err[256] = "";

		o = zt_owners_new_at(path_of("owners"), NULL, err, sizeof(err));
		ow = zt_owners_lookup(o, "0123456789ab", "system.slice/docker-" ID64 ".scope");
		check_owner(ow, NULL, NULL, NULL);
		ow = zt_owners_lookup(o, "pong", "ztrace-test/pong");
		check_owner(ow, NULL, NULL, "#pong-pager");
		CHECK_EQ_INT(zt_owners_stats(o)->runtime_found, 0);
		zt_owners_free(o);
	}
}

/* A container whose runtime writes its state after its first request. */
static void test_recheck(void)
{
	struct zt_owners *o = owners_at(NULL);
	const struct zt_owner *ow, *first;
	struct timespec ms = { 0, 25000000 }; /* past a coarse clock tick (HZ 100: 10 ms) */

	zt_owners_set_recheck(o, 1000000); /* 1 ms */
	first = zt_owners_lookup(o, "late", "ztrace-test/late");
	check_owner(first, NULL, NULL, NULL);
	nanosleep(&ms, NULL);
	CHECK(zt_owners_lookup(o, "late", "ztrace-test/late") == first);
	CHECK_EQ_INT(zt_owners_stats(o)->rechecks, 1);
	put("runc/late/state.json", "{\"config\":{\"labels\":[\"oncall=late-pager\"]}}");
	nanosleep(&ms, NULL);
	ow = zt_owners_lookup(o, "late", "ztrace-test/late");
	check_owner(ow, NULL, NULL, "late-pager");
	/* known now: final, never asked again */
	unlink(path_of("runc/late/state.json"));
	nanosleep(&ms, NULL);
	CHECK(zt_owners_lookup(o, "late", "ztrace-test/late") == ow);
	CHECK_EQ_INT(zt_owners_stats(o)->rechecks, 2);
	CHECK_EQ_INT(zt_owners_stats(o)->known, 1);
	/* no cgroup path: no runtime to ask, never rechecked */
	zt_owners_lookup(o, "solo", NULL);
	nanosleep(&ms, NULL);
	zt_owners_lookup(o, "solo", NULL);
	CHECK_EQ_INT(zt_owners_stats(o)->rechecks, 2);
	/* at most ZT_OWNERS_RECHECKS_MAX times */
	zt_owners_set_recheck(o, 0);
	for (int i = 0; i < ZT_OWNERS_RECHECKS_MAX + 5; i++)
		zt_owners_lookup(o, "never", "ztrace-test/never");
	CHECK_EQ_INT(zt_owners_stats(o)->rechecks, 2 + ZT_OWNERS_RECHECKS_MAX);
	zt_owners_free(o);

	/* the default interval: not asked again at once */
	o = owners_at(NULL);
	zt_owners_lookup(o, "late2", "ztrace-test/late2");
	zt_owners_lookup(o, "late2", "ztrace-test/late2");
	CHECK_EQ_INT(zt_owners_stats(o)->rechecks, 0);
	zt_owners_free(o);
}

static void rm_rf(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
}

/* Container churn: the cache is emptied when full, the answers (interned,
 * one per distinct owner) stay where spans point. */
static void test_cache_bound(void)
{
	struct zt_owners *o;
	const struct zt_owner *ow, *first;
	char cg[64];
	char err[256];

	put("all", "* team=everyone\nc/1* pager=ones\n");
	o = zt_owners_new_at(path_of("all"), NULL, err, sizeof(err));
	first = zt_owners_lookup(o, "c", "c/0");
	for (int i = 0; i < ZT_OWNERS_CACHE_MAX; i++) {
		snprintf(cg, sizeof(cg), "c/%d", i);
		ow = zt_owners_lookup(o, "c", cg);
		if (!ow || !ow->team || strcmp(ow->team, "everyone") ||
		    (cg[2] != '1' && ow != first)) {
			CHECK(0);
			break;
		}
	}
	CHECK_EQ_INT(zt_owners_stats(o)->cgroups, ZT_OWNERS_CACHE_MAX);
	CHECK_EQ_INT(zt_owners_stats(o)->known, ZT_OWNERS_CACHE_MAX);
	CHECK_EQ_INT(zt_owners_stats(o)->owners, 2);
	CHECK_EQ_INT(zt_owners_stats(o)->resets, 0);
	/* full: emptied, the new cgroup answered, the answers the same */
	ow = zt_owners_lookup(o, "c", "c/new");
	CHECK(ow == first);
	CHECK_EQ_INT(zt_owners_stats(o)->resets, 1);
	CHECK_EQ_STR(first->team, "everyone");
	ow = zt_owners_lookup(o, "c", "c/17");
	check_owner(ow, "everyone", NULL, "ones");
	CHECK_EQ_INT(zt_owners_stats(o)->cgroups, ZT_OWNERS_CACHE_MAX + 2);
	CHECK_EQ_INT(zt_owners_stats(o)->owners, 2);
	zt_owners_free(o);
}

/* Distinct owners past their bound: unknown, counted. */
static void test_answers_bound(void)
{
	struct zt_owners *o;
	struct zt_runtime_owner ro;
	char cg[64], id[64], err[256];
	int unknowns = 0;

	struct zt_owners_roots roots = { .runc = path_of("many") };

	o = zt_owners_new_at(NULL, &roots, err, sizeof(err));
	for (int i = 0; i <= ZT_OWNERS_ANSWERS_MAX; i++) {
		char state[128], rel[128];

		snprintf(id, sizeof(id), "many%d", i);
		snprintf(rel, sizeof(rel), "many/%s/state.json", id);
		snprintf(state, sizeof(state), "{\"config\":{\"labels\":[\"team=t%d\"]}}", i);
		put(rel, state);
	}
	for (int i = 0; i <= ZT_OWNERS_ANSWERS_MAX; i++) {
		const struct zt_owner *ow;

		snprintf(cg, sizeof(cg), "x/many%d", i);
		ow = zt_owners_lookup(o, "c", cg);
		unknowns += !ow->team;
	}
	CHECK_EQ_INT(unknowns, 1);
	CHECK_EQ_INT(zt_owners_stats(o)->owners, ZT_OWNERS_ANSWERS_MAX);
	CHECK_EQ_INT(zt_owners_stats(o)->answers_full, 1);
	CHECK_EQ_INT(zt_owners_stats(o)->resets, 1);
	(void)ro;
	zt_owners_free(o);
	rm_rf(path_of("many"));
}

/* Files where state belongs that must not hang or crash us. */
static void test_hostile_files(void)
{
	struct zt_owners *o = owners_at(NULL);
	char *big;
	FILE *f;

	mkdir(path_of("runc/fifo"), 0755);
	CHECK_EQ_INT(mkfifo(path_of("runc/fifo/state.json"), 0644), 0);
	check_owner(zt_owners_lookup(o, "fifo", "x/fifo"), NULL, NULL, NULL);
	/* past the size bound: skipped, though it would parse */
	mkdir(path_of("runc/big"), 0755);
	f = fopen(path_of("runc/big/state.json"), "w");
	big = calloc(1, ZT_RUNTIME_FILE_MAX + 1);
	memset(big, ' ', ZT_RUNTIME_FILE_MAX);
	if (f) {
		fputs("{\"config\":{\"labels\":[\"owner=big\"]}}", f);
		fwrite(big, 1, ZT_RUNTIME_FILE_MAX, f);
		fclose(f);
	}
	free(big);
	check_owner(zt_owners_lookup(o, "big", "x/big"), NULL, NULL, NULL);
	/* a directory where the file should be; ids that are paths */
	mkdir(path_of("runc/dir"), 0755);
	mkdir(path_of("runc/dir/state.json"), 0755);
	check_owner(zt_owners_lookup(o, "dir", "x/dir"), NULL, NULL, NULL);
	check_owner(zt_owners_lookup(o, "..", "x/.."), NULL, NULL, NULL);
	zt_owners_free(o);
}

/* JSON spans: an "owner" object with the fields known, after "container". */
static void test_json_span(void)
{
	static const struct zt_owner two = { "team-pong", NULL, "pong \"oncall\"" };
	static const struct zt_owner none;
	struct zt_span s;
	struct zt_outbuf o;

	memset(&s, 0, sizeof(s));
	s.protocol = "http";
	s.cgroup = "ztrace-test/pong";
	s.container = "pong";
	zt_outbuf_init(&o, -1, 4096);
	s.owner = &two;
	zt_json_span(&o, &s);
	zt_outbuf_put(&o, "", 1);
	CHECK(strstr(o.buf, "\"container\":\"pong\",\"owner\":{\"team\":\"team-pong\","
			    "\"pager\":\"pong \\\"oncall\\\"\"},\"pid\":0,") != NULL);
	o.len = 0;
	s.owner = &none;
	zt_json_span(&o, &s);
	s.owner = NULL;
	zt_json_span(&o, &s);
	zt_outbuf_put(&o, "", 1);
	CHECK(strstr(o.buf, "owner") == NULL);
	zt_outbuf_free(&o);
}


int main(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/zt-owners-XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	test_file_format();
	test_file_errors();
	test_value();
	test_globs_precedence();
	test_runtime_ids();
	test_parse_shapes();
	test_runtimes();
	test_file_over_runtime();
	test_recheck();
	test_cache_bound();
	test_answers_bound();
	test_hostile_files();
	test_json_span();
	rm_rf(tmp);
	return TEST_SUMMARY("test_owners");
}
