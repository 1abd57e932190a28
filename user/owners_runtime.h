/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A container's owner from what its runtime keeps on the host.
 *
 * The container id comes from its cgroup path's last component:
 * docker-<id>.scope, cri-containerd-<id>.scope, crio-<id>.scope,
 * libpod-<id>.scope, docker/<id>, a 64-hex leaf (kubelet's cgroupfs
 * layout), else the leaf itself (a runc container named like its cgroup).
 * Then, for that id, the first of these that exists:
 *   runc        <runc>/<id>/state.json: "config":{"labels":["k=v",...]}
 *               (runc copies the OCI annotations there), then the bundle's
 *               config.json ("bundle=" label) "annotations"
 *   docker      <docker>/<id>/config.v2.json "Config":{"Labels":{}} (the
 *               image's labels merged with the container's) and "Name"
 *               (the name `docker run --name` gave)
 *   CRI-O, podman <storage>/<id>/userdata/config.json "annotations"
 *   containerd  <containerd>/<namespace>/<id>/config.json "annotations"
 *               (after docker: docker's containers have one too, in
 *               namespace moby, without docker's labels)
 * and when none does, a runc container whose id is not in its cgroup path:
 * each <runc>/<id>/state.json (at most ZT_RUNTIME_SCAN_MAX, one scan a
 * second at most) whose "cgroup_paths" ends with the cgroup path.
 *
 * Keys (the first present wins, in this order):
 *   team   owner, team, org.opencontainers.image.authors
 *   source org.opencontainers.image.source, org.opencontainers.image.url
 *   pager  oncall, pager
 * org.opencontainers.image.vendor is not used: it names who distributes an
 * image (a base image's vendor is inherited by every image built on it),
 * not who runs the container.
 *
 * Files are read up to ZT_RUNTIME_FILE_MAX bytes (a larger one is skipped),
 * parsed by json-c with nesting at most ZT_RUNTIME_JSON_DEPTH: a hostile
 * file costs one bounded read and parse.
 */
#ifndef ZT_OWNERS_RUNTIME_H
#define ZT_OWNERS_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#include "owners.h"
#include "owners_file.h"

#define ZT_RUNTIME_FILE_MAX (1 << 20)
#define ZT_RUNTIME_JSON_DEPTH 16
#define ZT_RUNTIME_SCAN_MAX 1024
#define ZT_RUNTIME_ID_MAX 256

#define ZT_RUNC_ROOT "/run/runc"
#define ZT_CONTAINERD_ROOT "/run/containerd/io.containerd.runtime.v2.task"
#define ZT_STORAGE_ROOT "/run/containers/storage/overlay-containers"
#define ZT_DOCKER_ROOT "/var/lib/docker/containers"

/* What one container's labels say; malloc'd values (zt_owner_value), NULL
 * when absent. `name` is the runtime's name for it, if any. */
struct zt_runtime_owner {
	char *val[ZT_OWNER_FIELDS];
	char *name;
	int rank[ZT_OWNER_FIELDS]; /* internal: which key gave val[] */
};

void zt_runtime_owner_free(struct zt_runtime_owner *ro);

/* The runtime's id in a cgroup path (see above); false for "", "/", "?". */
bool zt_runtime_id(const char *cgroup, char *id, size_t idsz);

/* The files' shapes. */
enum zt_runtime_shape {
	ZT_SHAPE_OCI,        /* OCI config.json: "annotations":{k:v} */
	ZT_SHAPE_RUNC_STATE, /* runc state.json: "config":{"labels":["k=v"]} */
	ZT_SHAPE_DOCKER,     /* docker config.v2.json: "Config":{"Labels":{k:v}}, "Name" */
};

/*
 * Reads the owner keys out of `len` bytes of JSON of that shape into `ro`
 * (and the container's name: Kubernetes' annotation, runc's "id", docker's
 * "Name")
 * (fields already set are kept). For ZT_SHAPE_RUNC_STATE, `bundle` (may be
 * NULL) gets the "bundle=" label (malloc'd) and `cgroup_path` (may be NULL)
 * cgroup_paths' cgroup2 entry (""), else its first. Returns 1 when the
 * document is of that shape, 0 when not, -EINVAL when it is not JSON.
 */
int zt_runtime_parse(const char *buf, size_t len, enum zt_runtime_shape shape,
		     struct zt_runtime_owner *ro, char **bundle, char **cgroup_path);

/*
 * The owner of the container in `cgroup` (a path under the cgroup2 root) as
 * its runtime says. Returns 1 when a runtime knows the container (even with
 * none of the keys), 0 when none does.
 */
struct zt_runtime_scan;
int zt_runtime_lookup(const struct zt_owners_roots *roots, struct zt_runtime_scan **scan,
		      const char *cgroup, struct zt_runtime_owner *ro);
void zt_runtime_scan_free(struct zt_runtime_scan *scan);

#endif
