# shellcheck shell=bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Helpers for ztrace's end-to-end tests, sourced by tests/e2e/test_*.sh and
# scripts/demo.sh.
#
# A "container" here is what a runtime makes, minus the image: a cgroup2
# directory <cgroup2 root>/ztrace-test/NAME, a network namespace zt-NAME and a
# veth pair whose host end (zth-NAME) is a port of the bridge zt-br0. The
# bridge has 10.231.0.1/24 and fd00:231::1/64; a container with 10.231.0.N
# also gets fd00:231::N. No default route: containers reach each other and the
# host, nothing else.
#
# Processes enter a container by joining its cgroup *before* its netns
# (`ip netns exec` remounts /sys, which hides the cgroup tree):
#   sh -c 'echo $$ > CG/cgroup.procs; exec ip netns exec NS CMD...'
#
# A test script defines functions test_* and ends with `zt_main "$@"`. Each
# function runs in its own subshell with its own temp dir; whatever it created
# (containers, ztrace, servers, extra cgroup directories, the bridge) is
# destroyed when it returns, fails or is interrupted. `fail` ends the test.
#
# Environment: ZTRACE (the binary under test), ZT_KEEP=1 (keep temp dirs even
# of passing tests), ZT_RESULTS (file that run.sh reads PASS/FAIL lines from).

# shellcheck disable=SC2034 # these globals are for the tests that source this
ZT_E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ZT_ROOT=$(cd "$ZT_E2E_DIR/../.." && pwd)

ZT_BRIDGE=zt-br0
ZT_NET4=10.231.0 # .1 is the host, containers .2 to .254
ZT_NET6=fd00:231: # fd00:231::1 is the host, containers fd00:231::N
ZT_STATE=/run/ztrace-e2e
# Debian's python3 (install-deps.sh), not a shim earlier in PATH: a pyenv
# shim takes half a second to start, which the churn test pays 100 times.
ZT_PY=/usr/bin/python3
[ -x "$ZT_PY" ] || ZT_PY=python3
ZT_LOCK=/run/lock/ztrace-e2e.lock

# ---------------------------------------------------------------------------
# cgroups

# The cgroup2 mount point, from mountinfo (the fstype follows the " - ").
cg2_root() {
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' \
		/proc/self/mountinfo
}

# The first cgroup v1 hierarchy's mount point (hybrid hosts), or nothing.
cg1_root() {
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup") { print $5; exit } break } }' \
		/proc/self/mountinfo
}

ZT_CG2=$(cg2_root)
ZT_CG_BASE=${ZT_CG2:+$ZT_CG2/ztrace-test}

# ct_cgroup NAME[/SUB...]: the cgroup2 directory of a container (or below it).
ct_cgroup() { printf '%s/%s\n' "$ZT_CG_BASE" "$1"; }
# ct_cgroup_rel NAME[/SUB]: the same, relative to the cgroup2 root (as in spans).
ct_cgroup_rel() { printf 'ztrace-test/%s\n' "$1"; }
# ct_cgid NAME[/SUB]: its cgroup id (the directory's inode number).
ct_cgid() { stat -c %i "$(ct_cgroup "$1")"; }
ct_ip() { printf '%s\n' "${ZT_CT_IP[$1]:?no container $1}"; }
ct_ip6() { printf '%s\n' "${ZT_CT_IP6[$1]:?no container $1}"; }

# ---------------------------------------------------------------------------
# messages and assertions

zt_log() { printf '  %s\n' "$*" >&2; }

# fail MESSAGE: ends the current test as failed.
fail() {
	printf '  FAIL: %s\n' "$*" >&2
	exit 1
}

# pass MESSAGE: one checked fact, for the log.
pass() { printf '  ok: %s\n' "$*" >&2; }

# assert_eq DESC EXPECTED ACTUAL
assert_eq() {
	[ "$#" -eq 3 ] || fail "assert_eq needs 3 arguments, got $#: $*"
	if [ "$2" != "$3" ]; then
		fail "$1: expected '$2', got '$3'"
	fi
	pass "$1 = '$3'"
}

# assert_ne DESC UNEXPECTED ACTUAL
assert_ne() {
	[ "$2" != "$3" ] || fail "$1: expected anything but '$2'"
	pass "$1 = '$3' (not '$2')"
}

zt_is_int() { [[ $1 =~ ^-?[0-9]+$ ]]; }

# assert_ge DESC MIN ACTUAL (integers)
assert_ge() {
	zt_is_int "$3" || fail "$1: '$3' is not an integer"
	[ "$3" -ge "$2" ] || fail "$1: expected >= $2, got $3"
	pass "$1 = $3 (>= $2)"
}

# assert_gt DESC MIN ACTUAL (integers)
assert_gt() {
	zt_is_int "$3" || fail "$1: '$3' is not an integer"
	[ "$3" -gt "$2" ] || fail "$1: expected > $2, got $3"
	pass "$1 = $3 (> $2)"
}

# assert_match DESC EXTENDED-REGEX ACTUAL
assert_match() {
	[[ $3 =~ $2 ]] || fail "$1: '$3' does not match /$2/"
	pass "$1 = '$3'"
}

# zt_wait_for SECONDS DESC CMD...: polls CMD every 50 ms until it succeeds.
zt_wait_for() {
	local limit=$1 desc=$2
	shift 2
	local deadline=$((SECONDS + limit))
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${limit}s waiting for $desc"
		sleep 0.05
	done
}

# ---------------------------------------------------------------------------
# spans (JSON lines) with jq. FILTER and EXPR are jq expressions on one span.

# jcount FILE [FILTER]: how many spans match.
jcount() {
	jq -n "reduce (inputs | select(${2:-true})) as \$s (0; . + 1)" "$1"
}

# jvals FILE FILTER EXPR: EXPR of each matching span, ordered by start_ns,
# space separated (strings raw).
jvals() {
	jq -r -s "map(select($2)) | sort_by(.start_ns) | map($3 | tostring) | join(\" \")" "$1"
}

# assert_spans FILE FILTER PREDICATE DESC: every span matching FILTER satisfies
# PREDICATE (and at least one matches).
assert_spans() {
	local n bad
	n=$(jcount "$1" "$2")
	[ "$n" -gt 0 ] || fail "$4: no span matches $2"
	bad=$(jq -c "select(($2) and (($3) | not))" "$1" | head -n 3)
	[ -z "$bad" ] || fail "$4: spans where $3 does not hold, e.g.: $bad"
	pass "$4 ($n spans)"
}

# assert_valid_spans FILE: every line is a JSON object with every field of the
# public interface, of the right type and shape.
assert_valid_spans() {
	local bad
	jq -e . "$1" >/dev/null 2>&1 || fail "ztrace's output is not JSON lines: $(head -c 300 "$1")"
	# Trace records (--traces) have their own shape (test_trace.sh).
	bad=$(jq -c 'select((type == "object" and .type == "trace") | not) | select(
		(type != "object") or
		((.ts | type) != "string") or (.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$") | not) or
		((.start_ns | type) != "number") or ((.duration_ns | type) != "number") or
		(.kind != "server" and .kind != "client") or
		(.protocol | IN("http", "http2", "grpc", "redis", "postgresql", "mysql", "dns") | not) or
		((.failed | type) != "boolean") or ((.error | type) != "string") or
		((.method | type) != "string") or ((.target | type) != "string") or
		((.status | type) != "number") or ((.cgroup_id | type) != "number") or
		((.cgroup | type) != "string") or ((.container | type) != "string") or
		((.pid | type) != "number") or ((.tid | type) != "number") or ((.comm | type) != "string") or
		((.local | type) != "string") or ((.peer | type) != "string") or
		((.bytes_in | type) != "number") or ((.bytes_out | type) != "number") or
		(.trace_id | test("^[0-9a-f]{32}$") | not) or (.span_id | test("^[0-9a-f]{16}$") | not) or
		(.parent_span_id | test("^([0-9a-f]{16})?$") | not) or
		((.flags | type) != "array"))' "$1" | head -n 3)
	[ -z "$bad" ] || fail "spans without the interface's fields or shapes, e.g.: $bad"
	pass "$(wc -l <"$1") spans are well-formed JSON lines"
}

# ---------------------------------------------------------------------------
# containers

declare -gA ZT_CT_IP=() ZT_CT_IP6=()
declare -ga ZT_CTS=() ZT_BG_PIDS=() ZT_RMDIRS=()
ZT_OWN_BRIDGE=0
ZT_PID=
BG_PID=

# Serializes everything that uses these names (run.sh, a test run by hand,
# the demo) with a lock on fd 9. run.sh takes it once and exports
# ZT_E2E_LOCKED; the processes the tests start do not get fd 9.
zt_lock() {
	[ -n "${ZT_E2E_LOCKED:-}" ] && return 0
	mkdir -p "$(dirname "$ZT_LOCK")"
	exec 9>"$ZT_LOCK"
	if ! flock -n 9; then
		zt_log "waiting for another e2e run or demo (lock $ZT_LOCK)"
		flock -w 600 9 || fail "could not take $ZT_LOCK within 600s"
	fi
	export ZT_E2E_LOCKED=1
}

zt_require_root() {
	[ "$(id -u)" -eq 0 ] || fail "must run as root"
	[ -n "$ZT_CG2" ] || fail "no cgroup2 mount in /proc/self/mountinfo"
}

zt_bridge_up() {
	[ -d "/sys/class/net/$ZT_BRIDGE" ] && return 0
	mkdir -p "$ZT_STATE"
	: >"$ZT_STATE/bridge"
	ZT_OWN_BRIDGE=1
	ip link add "$ZT_BRIDGE" type bridge
	ip addr add "$ZT_NET4.1/24" dev "$ZT_BRIDGE"
	ip -6 addr add "${ZT_NET6}:1/64" dev "$ZT_BRIDGE" nodad
	ip link set "$ZT_BRIDGE" up
}

zt_bridge_down() {
	[ -d "/sys/class/net/$ZT_BRIDGE" ] || { rm -f "$ZT_STATE/bridge"; return 0; }
	# Only when no port is left: another container may still use it.
	[ -z "$(ls -A "/sys/class/net/$ZT_BRIDGE/brif" 2>/dev/null)" ] || return 0
	ip link del "$ZT_BRIDGE" 2>/dev/null || true
	rm -f "$ZT_STATE/bridge"
}

# ct_create NAME [IP]: a container with IPv4 IP (default 10.231.0.N, the next
# free N) and IPv6 fd00:231::N.
ct_create() {
	local name=$1 ip=${2:-} oct
	[[ $name =~ ^[a-z0-9][a-z0-9_-]{0,10}$ ]] || fail "ct_create: bad name '$name' (a-z0-9_-, 11 chars max)"
	zt_require_root
	zt_lock
	if [ -z "$ip" ]; then
		oct=2
		while [ -n "$(zt_ct_by_oct "$oct")" ]; do oct=$((oct + 1)); done
		ip=$ZT_NET4.$oct
	fi
	[[ $ip =~ ^10\.231\.0\.([0-9]+)$ ]] || fail "ct_create: $ip is not in $ZT_NET4.0/24"
	oct=${BASH_REMATCH[1]}
	if [ "$oct" -lt 2 ] || [ "$oct" -gt 254 ]; then fail "ct_create: $ip: host part must be 2..254"; fi
	local cg
	cg=$(ct_cgroup "$name")
	[ ! -e "$cg" ] || fail "ct_create: $cg exists (left over? run tests/e2e/run.sh, it reaps leftovers)"
	[ ! -e "/run/netns/zt-$name" ] || fail "ct_create: netns zt-$name exists"

	# Registered first, so that cleanup undoes a half-made container too.
	ZT_CTS+=("$name")
	ZT_CT_IP[$name]=$ip
	ZT_CT_IP6[$name]=${ZT_NET6}:$oct
	mkdir -p "$ZT_STATE"
	: >"$ZT_STATE/ct.$name"

	zt_bridge_up
	mkdir -p "$ZT_CG_BASE"
	mkdir "$cg"
	ip netns add "zt-$name"
	ip link add "zth-$name" type veth peer name "ztc-$name"
	ip link set "ztc-$name" netns "zt-$name"
	ip -n "zt-$name" link set "ztc-$name" name eth0
	ip -n "zt-$name" link set lo up
	ip -n "zt-$name" addr add "$ip/24" dev eth0
	ip -n "zt-$name" -6 addr add "${ZT_NET6}:$oct/64" dev eth0 nodad
	ip -n "zt-$name" link set eth0 up
	ip link set "zth-$name" master "$ZT_BRIDGE"
	ip link set "zth-$name" up
}

zt_ct_by_oct() {
	local n
	for n in "${ZT_CTS[@]}"; do
		[ "${ZT_CT_IP[$n]}" = "$ZT_NET4.$1" ] && { echo "$n"; return 0; }
	done
	return 0
}

# ct_subcg NAME/SUB: makes a cgroup below a container's (removed at cleanup).
ct_subcg() {
	local cg
	cg=$(ct_cgroup "$1")
	mkdir -p "$cg"
}

# zt_enter CGDIR NETNS CMD...: runs CMD in that cgroup, then that netns.
# shellcheck disable=SC2016 # $$ and $@ belong to the inner sh
ZT_ENTER_SH='cg=$1; ns=$2; shift 2
echo $$ >"$cg/cgroup.procs" || exit 125
exec ip netns exec "$ns" "$@"'
zt_enter() {
	local cg=$1 ns=$2
	shift 2
	[ -d "$cg" ] || fail "no cgroup $cg"
	sh -c "$ZT_ENTER_SH" zt-enter "$cg" "$ns" "$@" 9>&-
}

# ct_exec NAME[/SUB] CMD...: runs CMD in the container (foreground). With
# NAME/SUB, in the cgroup SUB below the container's, in its netns.
ct_exec() {
	local name=$1
	shift
	zt_enter "$(ct_cgroup "$name")" "zt-${name%%/*}" "$@"
}

# ct_bg NAME[/SUB] CMD...: the same in the background; BG_PID is the pid of
# CMD itself (the subshell, sh and ip all exec into it). Disowned: bash reaps
# it without a job report when it is killed; ct_destroy kills it.
ct_bg() {
	local name=$1 cg
	shift
	cg=$(ct_cgroup "$name")
	[ -d "$cg" ] || fail "no cgroup $cg"
	{
		trap - ERR EXIT INT TERM
		exec sh -c "$ZT_ENTER_SH" zt-enter "$cg" "zt-${name%%/*}" "$@" 9>&-
	} &
	BG_PID=$!
	disown "$BG_PID"
	ZT_BG_PIDS+=("$BG_PID")
}

# zt_cg_pids DIR: every process in a cgroup tree.
zt_cg_pids() {
	find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null || true
}

zt_cg_empty() { [ -z "$(zt_cg_pids "$1")" ]; }

# zt_cg_kill DIR: kills every process in a cgroup tree and removes it.
zt_cg_kill() {
	local dir=$1 pid i
	[ -d "$dir" ] || return 0
	for i in 1 2 3 4 5 6 7 8 9 10; do
		zt_cg_empty "$dir" && break
		if [ -e "$dir/cgroup.kill" ]; then
			echo 1 >"$dir/cgroup.kill" 2>/dev/null || true
		fi
		for pid in $(zt_cg_pids "$dir"); do kill -KILL "$pid" 2>/dev/null || true; done
		sleep 0.05
	done
	# bash reaps the killed (disowned) children by itself; until it has, rmdir
	# fails with EBUSY.
	for i in $(seq 1 100); do
		find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
		[ -d "$dir" ] || return 0
		sleep 0.05
	done
	zt_log "warning: could not remove $dir: $(zt_cg_pids "$dir" | tr '\n' ' ')"
}

zt_pid_state() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }
zt_is_zombie() { [ "$(zt_pid_state "$1")" = Z ]; }

# ct_destroy NAME: kills its processes, removes its netns, veth and cgroup.
ct_destroy() {
	local name=$1 pid n keep=()
	zt_cg_kill "$(ct_cgroup "$name")"
	# Anything that entered the netns without the cgroup.
	for pid in $(ip netns pids "zt-$name" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
	ip netns del "zt-$name" 2>/dev/null || true
	ip link del "zth-$name" 2>/dev/null || true
	rm -f "$ZT_STATE/ct.$name"
	for n in "${ZT_CTS[@]}"; do [ "$n" = "$name" ] || keep+=("$n"); done
	ZT_CTS=("${keep[@]}")
	unset "ZT_CT_IP[$name]" "ZT_CT_IP6[$name]"
}

# zt_reap_stale: removes what an earlier, killed run left behind (everything
# under ztrace-test/, the netns and veths of containers it recorded, the
# bridge if a run made it). Prints what it removed.
zt_reap_stale() {
	local f name d
	for f in "$ZT_STATE"/ct.*; do
		[ -e "$f" ] || continue
		name=${f##*/ct.}
		echo "reaping container $name"
		ct_destroy "$name"
	done
	if [ -n "$ZT_CG_BASE" ] && [ -d "$ZT_CG_BASE" ]; then
		for d in "$ZT_CG_BASE"/*/; do
			[ -d "$d" ] || continue
			echo "reaping cgroup $d"
			zt_cg_kill "${d%/}"
		done
		rmdir "$ZT_CG_BASE" 2>/dev/null || true
	fi
	d=$(cg1_root)
	if [ -n "$d" ] && [ -d "$d/ztrace-test" ]; then
		echo "reaping cgroup $d/ztrace-test"
		find "$d/ztrace-test" -depth -type d -exec rmdir {} + 2>/dev/null || true
	fi
	if [ -e "$ZT_STATE/bridge" ]; then
		echo "reaping bridge $ZT_BRIDGE"
		zt_bridge_down
	fi
}

# zt_leftovers: prints anything of ours still there (empty when clean).
zt_leftovers() {
	ip netns list 2>/dev/null | awk '{print $1}' | grep '^zt-' | sed 's/^/netns /' || true
	ip -br link 2>/dev/null | awk '{print $1}' | grep -E "^(zth-|ztc-|$ZT_BRIDGE)" | sed 's/^/link /' || true
	[ -z "$ZT_CG_BASE" ] || [ ! -d "$ZT_CG_BASE" ] || echo "cgroup $ZT_CG_BASE"
	local v1
	v1=$(cg1_root)
	[ -z "$v1" ] || [ ! -d "$v1/ztrace-test" ] || echo "cgroup $v1/ztrace-test"
	local f
	for f in "$ZT_STATE"/ct.*; do [ ! -e "$f" ] || echo "state $f"; done
}

# ---------------------------------------------------------------------------
# nginx

ZT_STATUSES="200 201 202 204 301 302 304 400 401 403 404 405 409 410 418 429 500 502 503 504"

# nginx_start NAME[/SUB] IP PORT [EXTRA]: nginx in a container, listening on
# IP:PORT (IPv6 without brackets; "::" is dual-stack, v4 clients appear as
# v4-mapped). EXTRA goes into the server block. Sets NGINX_DIR, NGINX_PID
# (the master), NGINX_LOG (access log, one line per request:
#   status method request_uri request_length bytes_sent remote_addr
#   remote_port connection connection_requests request_time).
# Locations: / (index.html, small), /big (200 KB), /upload (POST, body read
# and discarded, 200), /chunked (a chunked response), /status/N for N in
# $ZT_STATUSES, and any other file in $NGINX_DIR/www.
# A self-signed certificate for TLS servers in the tests: $ZT_TMP/tls/{cert,key}.pem.
zt_tls_cert() {
	local d=$ZT_TMP/tls
	[ -s "$d/cert.pem" ] && return 0
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=ztrace-test -keyout "$d/key.pem" -out "$d/cert.pem" 2>"$d/openssl.log" ||
		fail "openssl could not make a certificate: $(cat "$d/openssl.log")"
}

# nginx_start NAME IP PORT [EXTRA]: nginx in container NAME. NGINX_TLS=1 serves
# HTTPS (a self-signed certificate, zt_tls_cert).
nginx_start() {
	local name=$1 ip=$2 port=$3 extra=${4:-} listen code line tls=
	local d=$ZT_TMP/nginx-${name//\//-}-$port
	mkdir -p "$d/www" "$d/tmp"
	case $ip in
	::) listen="[::]:$port ipv6only=off" ;;
	*:*) listen="[$ip]:$port" ;;
	*) listen="$ip:$port" ;;
	esac
	if [ "${NGINX_TLS:-0}" = 1 ]; then
		zt_tls_cert
		listen="$listen ssl"
		tls="ssl_certificate $ZT_TMP/tls/cert.pem; ssl_certificate_key $ZT_TMP/tls/key.pem;"
	fi
	printf 'hello from %s\n' "$name" >"$d/www/index.html"
	head -c 204800 /dev/zero | tr '\0' 'z' >"$d/www/big"
	for line in $(seq 1 200); do printf 'line %d of a response sent chunked\n' "$line"; done >"$d/www/chunked.txt"
	{
		cat <<EOF
daemon off;
master_process on;
worker_processes ${NGINX_WORKERS:-2};
user root;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
	types { text/html html; text/plain txt; }
	default_type application/octet-stream;
	log_format zt '\$status \$request_method \$request_uri \$request_length \$bytes_sent '
		      '\$remote_addr \$remote_port \$connection \$connection_requests \$request_time';
	access_log $d/access.log zt;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	keepalive_requests 1000000;
	keepalive_timeout 65s;
	server {
		listen $listen;
		$tls
		root $d/www;
		location / { }
		location = /big { default_type application/octet-stream; }
		# nginx discards a body it does not pass on, but reads it whole first.
		location = /upload { client_max_body_size 50m; return 200 "uploaded\n"; }
		# A filter that changes the body drops Content-Length: HTTP/1.1
		# clients get it chunked.
		location = /chunked {
			alias $d/www/chunked.txt;
			sub_filter_types *;
			sub_filter 'line' 'LINE';
			sub_filter_once off;
		}
EOF
		for code in $ZT_STATUSES; do
			case $code in
			204 | 304) printf '\t\tlocation = /status/%s { return %s; }\n' "$code" "$code" ;;
			30?) printf '\t\tlocation = /status/%s { return %s /; }\n' "$code" "$code" ;;
			[12]??) printf '\t\tlocation = /status/%s { return %s "status %s\\n"; }\n' "$code" "$code" "$code" ;;
			*) printf '\t\tlocation = /status/%s { return %s; }\n' "$code" "$code" ;;
			esac
		done
		printf '\t\t%s\n\t}\n}\n' "$extra"
	} >"$d/nginx.conf"
	: >"$d/access.log"
	# shellcheck disable=SC2034 # for the tests
	ct_bg "$name" nginx -p "$d/" -e "$d/error.log" -c "$d/nginx.conf" >"$d/stderr.log" 2>&1
	NGINX_PID=$BG_PID
	NGINX_DIR=$d
	NGINX_LOG=$d/access.log
	local ns=zt-${name%%/*} deadline=$((SECONDS + 10))
	until [ -n "$(ip netns exec "$ns" ss -Hltn "sport = :$port" 2>/dev/null)" ] &&
		[ "$(pgrep -c -P "$NGINX_PID" 2>/dev/null || true)" -ge "${NGINX_WORKERS:-2}" ]; do
		if ! kill -0 "$NGINX_PID" 2>/dev/null; then
			fail "nginx in $name did not start: $(cat "$d/stderr.log" "$d/error.log" 2>/dev/null)"
		fi
		[ "$SECONDS" -lt "$deadline" ] || fail "nginx in $name not listening on $port after 10s: $(cat "$d/error.log")"
		sleep 0.05
	done
}

# nginx_workers MASTER_PID: the worker pids, space separated.
nginx_workers() { pgrep -P "$1" | sort -n | paste -sd' '; }

# nginx_log_count LOG: requests logged.
nginx_log_count() { wc -l <"$1" | tr -d ' '; }

# nginx_log_col LOG N: column N of every line, space separated (see
# nginx_start for the columns).
nginx_log_col() { awk -v n="$2" '{print $n}' "$1" | paste -sd' '; }

# zt_pair: containers pong (10.231.0.2) and ping (10.231.0.3), nginx in pong
# on port 8080. Sets PONG_URL, PONG_LOG (its access log), PONG_PID (master).
# shellcheck disable=SC2034 # for the tests
zt_pair() {
	ct_create pong "$ZT_NET4.2"
	ct_create ping "$ZT_NET4.3"
	nginx_start pong "$ZT_NET4.2" 8080
	PONG_URL=http://$ZT_NET4.2:8080
	PONG_LOG=$NGINX_LOG
	PONG_PID=$NGINX_PID
}

# zt_trio: zt_pair, and container other (10.231.0.4) with nginx on 8080.
# Sets OTHER_URL and OTHER_LOG too.
# shellcheck disable=SC2034 # for the tests
zt_trio() {
	zt_pair
	ct_create other "$ZT_NET4.4"
	nginx_start other "$ZT_NET4.4" 8080
	OTHER_URL=http://$ZT_NET4.4:8080
	OTHER_LOG=$NGINX_LOG
}

# assert_log_requests FILE FILTER LOG: the spans matching FILTER, ordered by
# start_ns, are nginx's requests in LOG, in order: same count, methods,
# targets and statuses.
assert_log_requests() {
	local f=$1 sel=$2 log=$3
	assert_eq "spans where $sel" "$(nginx_log_count "$log")" "$(jcount "$f" "$sel")"
	assert_eq "methods (nginx's log | spans)" "$(nginx_log_col "$log" 2)" "$(jvals "$f" "$sel" .method)"
	assert_eq "targets (nginx's log | spans)" "$(nginx_log_col "$log" 3)" "$(jvals "$f" "$sel" .target)"
	assert_eq "statuses (nginx's log | spans)" "$(nginx_log_col "$log" 1)" "$(jvals "$f" "$sel" .status)"
}

# assert_log_bytes FILE FILTER LOG server|client: bytes per span equal what
# nginx counted: request_length (request line, headers, a body it read) and
# bytes_sent (everything written, interim 100 Continue included).
assert_log_bytes() {
	local f=$1 sel=$2 log=$3 in=bytes_in out=bytes_out
	[ "$4" = server ] || { in=bytes_out; out=bytes_in; }
	assert_eq "$in = nginx's request_length" "$(nginx_log_col "$log" 4)" "$(jvals "$f" "$sel" ".$in")"
	assert_eq "$out = nginx's bytes_sent" "$(nginx_log_col "$log" 5)" "$(jvals "$f" "$sel" ".$out")"
}

# assert_span_times FILE FILTER T0 T1: every span lies within [T0, T1] (unix
# ns, a second of slack for clock conversion) and ts is its end, in UTC.
assert_span_times() {
	local f=$1 sel=$2 lo=$(($3 - 1000000000)) hi=$(($4 + 1000000000))
	assert_spans "$f" "$sel" ".duration_ns > 0 and .start_ns >= $lo and .start_ns + .duration_ns <= $hi" \
		"start and duration within the traffic's time"
	assert_spans "$f" "$sel" \
		'((.ts | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) - ((.start_ns + .duration_ns) / 1e9 | floor) | fabs) <= 1' \
		"ts is the end time"
}

# assert_unique_ids FILE FILTER: span ids differ, and no span has a parent.
assert_unique_ids() {
	local n
	n=$(jcount "$1" "$2")
	assert_eq "distinct span_ids" "$n" "$(jq -s "map(select($2) | .span_id) | unique | length" "$1")"
	assert_spans "$1" "$2" '.parent_span_id == ""' "no parent span without traceparent"
}

# ---------------------------------------------------------------------------
# ztrace

zt_alive() {
	local st
	st=$(zt_pid_state "$1")
	[ -n "$st" ] && [ "$st" != Z ]
}

# ztrace_start OUTFILE ARGS...: $ZTRACE ARGS --json >OUTFILE 2>OUTFILE.err in
# the background; returns once it printed "ztrace: tracing " (20 s at most).
ztrace_start() {
	local out=$1
	shift
	[ -n "${ZTRACE:-}" ] || fail "ZTRACE is not set"
	[ -x "$ZTRACE" ] || fail "ZTRACE=$ZTRACE is not executable"
	[ -z "$ZT_PID" ] || fail "ztrace_start: ztrace already running"
	ZT_OUT=$out
	# A background job of a script starts with SIGINT ignored: undo that.
	env --default-signal=INT,QUIT "$ZTRACE" "$@" --json >"$out" 2>"$out.err" 9>&- &
	ZT_PID=$!
	local deadline=$((SECONDS + 20)) rc
	until grep -qs '^ztrace: tracing ' "$out.err"; do
		if ! zt_alive "$ZT_PID"; then
			rc=0
			wait "$ZT_PID" || rc=$?
			ZT_PID=
			fail "ztrace $* exited with $rc before tracing; stderr: $(cat "$out.err")"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			kill -KILL "$ZT_PID" 2>/dev/null || true
			wait "$ZT_PID" 2>/dev/null || true
			ZT_PID=
			fail "ztrace $* did not say 'ztrace: tracing' within 20s; stderr: $(cat "$out.err")"
		fi
		sleep 0.05
	done
	zt_log "$(grep -m1 '^ztrace: tracing ' "$out.err")"
}

# ztrace_stop: SIGINT, waits (15 s at most), checks exit status 0, the summary
# line, no sanitizer report, and that stdout is well-formed spans. Sets
# ZT_SUMMARY to the summary line.
ztrace_stop() {
	[ -n "$ZT_PID" ] || fail "ztrace_stop: ztrace is not running"
	local pid=$ZT_PID err=$ZT_OUT.err rc=0 deadline=$((SECONDS + 15))
	kill -INT "$pid" 2>/dev/null || true
	while zt_alive "$pid"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			kill -KILL "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			ZT_PID=
			fail "ztrace did not exit within 15s of SIGINT; stderr: $(tail -n 5 "$err")"
		fi
		sleep 0.05
	done
	wait "$pid" || rc=$?
	ZT_PID=
	if grep -qE 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:' "$err"; then
		fail "sanitizer report on ztrace's stderr: $(grep -m1 -A 12 -E 'ERROR: |runtime error:' "$err")"
	fi
	[ "$rc" -eq 0 ] || fail "ztrace exited with $rc after SIGINT; stderr: $(tail -n 5 "$err")"
	ZT_SUMMARY=$(grep '^ztrace: summary: ' "$err" | tail -n 1) ||
		fail "no 'ztrace: summary:' line on stderr: $(tail -n 5 "$err")"
	zt_log "$ZT_SUMMARY"
	assert_valid_spans "$ZT_OUT"
}

# zt_summary_get KEY: a number from the summary line (KEY=N), or nothing.
# (The per-protocol section at the end is zt_summary_proto's.)
zt_summary_get() {
	sed -n "s/.*[: ]$1=\([0-9][0-9]*\).*/\1/p" <<<"${ZT_SUMMARY%% protocols:*}"
}

# zt_summary_proto PROTO KEY: a number from the summary's "protocols:"
# section (" redis conns=2 txns=9 ..."), or nothing.
zt_summary_proto() {
	[[ $ZT_SUMMARY == *" protocols:"* ]] || return 0
	sed 's/.* protocols://' <<<"$ZT_SUMMARY" | tr ' ' '\n' |
		awk -v p="$1" -v k="$2" '!/=/ { cur = $0; next } cur == p { split($0, a, "="); if (a[1] == k) print a[2] }'
}

# zt_summary_drops: the sum of every count after "drops:" (up to "quality:").
zt_summary_drops() {
	sed -n 's/.* drops: //p' <<<"$ZT_SUMMARY" | sed 's/ quality:.*//' |
		grep -oE '=[0-9]+' | tr -d '=' | awk '{s += $1} END {print s + 0}'
}

# zt_expect_exit2 DESC CMD...: CMD fails as ztrace does on a usage error:
# exit status 2, exactly one line on stderr, nothing on stdout, within 10 s.
zt_expect_exit2() {
	local desc=$1 rc=0 out=$ZT_TMP/err.out err=$ZT_TMP/err.err
	shift
	timeout -k 2 10 "$@" >"$out" 2>"$err" 9>&- || rc=$?
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then fail "$desc did not exit within 10s"; fi
	assert_eq "exit status of $desc ($(head -n 3 "$err" | head -c 300))" 2 "$rc"
	assert_eq "stderr lines of $desc" 1 "$(grep -c '' "$err")"
	assert_eq "stdout bytes of $desc" 0 "$(wc -c <"$out" | tr -d ' ')"
}

# ztrace_expect_error ARGS...: ztrace ARGS is a usage error (see above).
ztrace_expect_error() {
	zt_expect_exit2 "'ztrace $*'" "$ZTRACE" "$@"
}

# ---------------------------------------------------------------------------
# test life cycle

zt_cleanup() {
	local rc=$? pid d i
	set +e
	trap - ERR
	if [ -n "$ZT_PID" ]; then
		kill -KILL "$ZT_PID" 2>/dev/null
		wait "$ZT_PID" 2>/dev/null
	fi
	if [ "$rc" -ne 0 ] && [ -n "${ZT_OUT:-}" ] && [ -s "$ZT_OUT.err" ]; then
		zt_log "ztrace's stderr (last lines):"
		tail -n 8 "$ZT_OUT.err" | sed 's/^/    /' >&2
	fi
	for ((i = ${#ZT_CTS[@]} - 1; i >= 0; i--)); do ct_destroy "${ZT_CTS[i]}"; done
	for pid in "${ZT_BG_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
	for ((i = ${#ZT_RMDIRS[@]} - 1; i >= 0; i--)); do
		d=${ZT_RMDIRS[i]}
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	[ "$ZT_OWN_BRIDGE" -eq 1 ] && zt_bridge_down
	[ -n "$ZT_CG_BASE" ] && rmdir "$ZT_CG_BASE" 2>/dev/null
	if [ -n "${ZT_TMP:-}" ] && [ -d "$ZT_TMP" ]; then
		if [ "$rc" -eq 0 ] && [ -z "${ZT_KEEP:-}" ]; then
			rm -rf "$ZT_TMP"
		else
			zt_log "files kept in $ZT_TMP"
		fi
	fi
	exit "$rc"
}

zt_on_err() {
	printf '  error: status %s from: %s (%s line %s)\n' "$1" "$2" "${3##*/}" "$4" >&2
}

# zt_mkdir_tracked DIR: mkdir -p, and removed at cleanup (the parts it made).
zt_mkdir_tracked() {
	local d=$1 missing=()
	while [ ! -d "$d" ]; do
		missing=("$d" "${missing[@]}")
		d=$(dirname "$d")
	done
	for d in "${missing[@]}"; do
		mkdir "$d"
		ZT_RMDIRS+=("$d")
	done
}

# zt_begin_test: in a test's subshell, its traps and temp dir.
zt_begin_test() {
	trap zt_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'zt_on_err "$?" "$BASH_COMMAND" "${BASH_SOURCE[0]}" "$LINENO"' ERR
	ZT_TMP=$(mktemp -d /tmp/zt-e2e.XXXXXX)
}

# zt_main [TEST_FUNCTION...]: runs the given test functions (default: every
# test_* function, in the order they are defined), each in a subshell with its
# own cleanup; prints PASS/FAIL per test; exits 1 if any failed.
zt_main() {
	local fns=("$@") fn script rc t0 ms line failed=0
	script=$(basename "$0" .sh)
	if [ "${#fns[@]}" -eq 0 ]; then
		mapfile -t fns < <(declare -F | awk '$3 ~ /^test_/ {print $3}' | while read -r fn; do
			shopt -s extdebug
			declare -F "$fn"
		done | sort -k2,2n | awk '{print $1}')
	fi
	[ "${#fns[@]}" -gt 0 ] || { echo "FAIL $script: no test functions" >&2; exit 1; }
	for fn in "${fns[@]}"; do
		t0=$(date +%s%N)
		echo "--- $script: $fn" >&2
		set +e
		(
			set -eEuo pipefail
			shopt -s inherit_errexit
			zt_begin_test
			"$fn"
		)
		rc=$?
		set -e
		ms=$((($(date +%s%N) - t0) / 1000000))
		if [ "$rc" -eq 0 ]; then
			line="PASS $script: $fn ($((ms / 1000)).$((ms % 1000 / 100))s)"
		else
			line="FAIL $script: $fn ($((ms / 1000)).$((ms % 1000 / 100))s)"
			failed=$((failed + 1))
		fi
		echo "$line"
		[ -z "${ZT_RESULTS:-}" ] || echo "$line" >>"$ZT_RESULTS"
	done
	[ "$failed" -eq 0 ]
}
