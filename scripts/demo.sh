#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The demo (`sudo make demo`, which installs and builds first): two
# containers made with tests/e2e/lib.sh (cgroup2 directory, network
# namespace, veth on the bridge zt-br0):
#   pong  nginx on 10.231.0.2:6996
#   ping  a shell loop calling pong with curl every 0.5 s: a few paths, a 404,
#         a 503, a chunked response, a POST, a request carrying a traceparent
# and ztrace --container pong --container ping in the foreground, text
# output, until Ctrl-C. Then everything is removed again.
#
# Environment: ZTRACE (default build/ztrace), DEMO_SECONDS (how long ping
# keeps calling, default 3600), ZTRACE_ARGS (more options for ztrace, e.g.
# --json).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"

die() { printf 'demo: %s\n' "$*" >&2; exit 2; }

[ "$(id -u)" -eq 0 ] || die "must run as root (sudo make demo)"
ZTRACE=${ZTRACE:-$ROOT/build/ztrace}
[ -x "$ZTRACE" ] || die "$ZTRACE is missing: run make first"
[ -n "$ZT_CG2" ] || die "no cgroup2 mount in /proc/self/mountinfo"
for cmd in ip nginx curl; do
	command -v "$cmd" >/dev/null 2>&1 || die "$cmd missing: run scripts/install-deps.sh"
done
seconds=${DEMO_SECONDS:-3600}
[[ $seconds =~ ^[0-9]+$ ]] || die "DEMO_SECONDS must be a number of seconds"

ZT_TMP=$(mktemp -d /tmp/zt-demo.XXXXXX)
trap zt_cleanup EXIT

# What a killed earlier run (test or demo) left would block the names.
zt_lock
zt_reap_stale >/dev/null 2>&1 || true

ct_create pong "$ZT_NET4.2"
ct_create ping "$ZT_NET4.3"
nginx_start pong "$(ct_ip pong)" 6996
pong=http://$(ct_ip pong):6996

# The client: bounded in time (DEMO_SECONDS) like every load this project
# makes, one request every 0.5 s.
# shellcheck disable=SC2016 # expanded by the inner sh
ct_bg ping sh -c '
	url=$1; n=$(($2 * 2)); i=0
	while [ "$i" -lt "$n" ]; do
		case $((i % 8)) in
		0) curl -s -o /dev/null --max-time 2 "$url/" ;;
		1) curl -s -o /dev/null --max-time 2 "$url/index.html?user=42" ;;
		2) curl -s -o /dev/null --max-time 2 "$url/status/404" ;;
		3) curl -s -o /dev/null --max-time 2 "$url/big" ;;
		4) curl -s -o /dev/null --max-time 2 --data-binary "payload $i" "$url/upload" ;;
		5) curl -s -o /dev/null --max-time 2 "$url/chunked" ;;
		6) curl -s -o /dev/null --max-time 2 "$url/status/503" ;;
		7) curl -s -o /dev/null --max-time 2 \
			-H "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" "$url/status/201" ;;
		esac
		i=$((i + 1))
		sleep 0.5
	done' demo-client "$pong" "$seconds" >/dev/null 2>&1

cat >&2 <<EOF
demo: pong serves HTTP on $pong (nginx, cgroup $(ct_cgroup_rel pong))
demo: ping calls it every 0.5 s for ${seconds}s (curl, cgroup $(ct_cgroup_rel ping))
demo: tracing both; Ctrl-C stops and removes the containers
EOF

# Ctrl-C reaches ztrace (it flushes and exits 0); this script waits for it
# and then cleans up (EXIT trap), a second Ctrl-C included.
trap ':' INT
rc=0
# shellcheck disable=SC2086 # ZTRACE_ARGS is split on purpose
"$ZTRACE" --container pong --container ping ${ZTRACE_ARGS:-} 9>&- || rc=$?
echo "demo: ztrace exited with $rc; removing the containers" >&2
exit "$rc"
