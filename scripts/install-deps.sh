#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Installs the Debian packages that building and testing ztrace need
# (`make deps`). Idempotent and silent when everything is installed: dpkg is
# asked first, apt only about what is missing. Run as root.
#
#   build:  clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool make gcc
#           pkg-config libclang-rt-14-dev (libFuzzer and sanitizer runtimes)
#   tests:  nginx-light wrk curl iproute2 jq python3 procps psmisc kmod
#           openssl libssl-dev (certificates; a client with OpenSSL linked in)
#           util-linux
#   protocols: libnghttp2-dev (HPACK) nghttp2-client nghttp2-server
#           python3-grpcio python3-protobuf redis-server redis-tools
#           postgresql postgresql-client mariadb-server mariadb-client
#           libmariadb-dev (a client of the binary protocol in the e2e test)
#           dnsmasq-base bind9-dnsutils
#   bench:  valgrind (callgrind: ztrace's instructions per span)
#   export: libcurl4-openssl-dev (the OTLP/HTTP sender, --otlp); nodejs, npm
#           (the e2e test's OTLP receiver decodes with the OpenTelemetry
#           project's generated protobuf code, an npm package the test
#           installs under build/npm on first run)
set -euo pipefail

PKGS=(
	clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool make gcc pkg-config
	libclang-rt-14-dev
	nginx-light wrk curl iproute2 jq python3 procps psmisc kmod util-linux
	openssl libssl-dev
	libnghttp2-dev nghttp2-client nghttp2-server python3-grpcio python3-protobuf
	redis-server redis-tools postgresql postgresql-client mariadb-server mariadb-client libmariadb-dev
	dnsmasq-base bind9-dnsutils haproxy
	libcurl4-openssl-dev nodejs
	libmicrohttpd-dev prometheus chromium
	libjson-c-dev runc busybox-static
	valgrind
)
# npm: Debian's nodejs leaves it to its own package, NodeSource's bundles it
# (and conflicts with Debian's npm): ask only when there is none.
command -v npm >/dev/null 2>&1 || PKGS+=(npm)

log() { printf 'install-deps: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (sudo $0)"
command -v dpkg-query >/dev/null 2>&1 || die "not a Debian system (no dpkg-query)"

missing() {
	local p st
	for p in "${PKGS[@]}"; do
		st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
		[ "${st:0:2}" = ii ] || printf '%s\n' "$p"
	done
}

mapfile -t todo < <(missing)
[ "${#todo[@]}" -eq 0 ] && exit 0

log "installing ${todo[*]}"
export DEBIAN_FRONTEND=noninteractive
aptlog=$(mktemp /tmp/install-deps.XXXXXX)

# Packaged services (nginx) must not start on the host as a side effect: a
# policy-rc.d that says "no" while we install, unless one is there already.
policy=/usr/sbin/policy-rc.d
own_policy=0
cleanup() {
	[ "$own_policy" -eq 1 ] && rm -f "$policy"
	rm -f "$aptlog"
}
trap cleanup EXIT
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	own_policy=1
fi

if ! { apt-get update -qq &&
	apt-get install -y -qq --no-install-recommends "${todo[@]}"; } >"$aptlog" 2>&1; then
	tail -n 30 "$aptlog" >&2
	die "apt-get failed for: ${todo[*]}"
fi

mapfile -t still < <(missing)
[ "${#still[@]}" -eq 0 ] || die "still missing after apt-get install: ${still[*]}"
log "done"
