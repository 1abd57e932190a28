#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# End-to-end inside a stock kernel booted by scripts/vmtest/run.sh (as
# /tests/run-in-vm.sh; `make vmtest` builds the image): nginx in cgroup+netns
# "pong", curl in "ping" over a veth pair, and ztrace --cgroup pong --cgroup
# ping in every hook mode (auto, fentry, kprobe, tracepoint), over HTTP and
# HTTPS (the OpenSSL probes). Per mode one line on the console:
#   ZT-MATRIX <kernel> <layout> <mode> pass|fail|unsupported|not-built <detail>
# unsupported: ztrace said the kernel lacks that mode (exit 2, its message
# given); not-built: ztrace has no implementation of that mode yet; fail: it did not start otherwise, or the spans are not exactly
# the 6 server and 6 client spans of the requests nginx logged, the 4 of
# HTTPS saying "tls": true, with the same fields in every mode (all but
# times, ids and ports), real durations and every server span's CPU time
# (the scheduler hooks' thread table); and, where the kernel has a UDP
# hook, DNS: busybox nslookup's A and AAAA to dnsmasq in pong, as 2 client
# and 2 server spans (NOERROR, REFUSED). Then "busy" and "busy-tp": nginx
# and two curls on one CPU, where every wrong or missing span must come with
# a counted loss.
# Exit status: the number of modes that failed.

ZT=/tests/ztrace
K=$(uname -r)
L=${ZT_CGROUP:-v2}
W=/tmp/zt
fails=0
mkdir -p $W/www $W/tmp
echo "hello from pong" >$W/www/index.html

matrix() { echo "ZT-MATRIX $K $L $*"; }
# Progress on the console, with the guest's uptime: when a run hangs, the
# last step it began is there to read.
step() { echo "zt-e2e: $(cut -d' ' -f1 /proc/uptime)s $*"; }

# A run that is still going long after it should have ended (matrix.sh gives
# it ZT_VM_TIMEOUT, 180 s; a run takes 40-65 s) says where everything
# stands before the host kills the guest: the processes, the kernel stacks
# of ours, the tasks blocked in the kernel and every CPU's backtrace (at a
# console log level that lets them out past "quiet").
(
	sleep 120
	step "watchdog: still running after 120 s"
	ps -o pid,stat,args | grep -v ' \[' # not the kernel's threads
	for d in /proc/[0-9]*; do
		case $(cat $d/comm 2>/dev/null) in ztrace | nginx | curl | nslookup | dnsmasq)
			echo "--- $d $(cat $d/comm) $(grep State $d/status)"; cat $d/stack 2>/dev/null ;;
		esac
	done
	echo 8 >/proc/sys/kernel/printk
	echo w >/proc/sysrq-trigger
	echo l >/proc/sysrq-trigger
) &
watchdog=$!

# The hierarchies a container gets a cgroup in: cgroup2, or on a pure v1
# host every v1 hierarchy (as runtimes do; ztrace picks one).
if [ -n "$ZT_CGROUP2" ]; then
	CGS=$ZT_CGROUP2
else
	CGS=$(awk '$3 == "cgroup" {print $2}' /proc/mounts)
fi

# Containers: a cgroup and a network namespace each, a veth pair between.
for c in pong ping; do
	for h in $CGS; do mkdir -p $h/$c || exit 1; done
	ip netns add $c || exit 1
done
ip link add zt-pong type veth peer name zt-ping || exit 1
ip link set zt-pong netns pong && ip link set zt-ping netns ping || exit 1
ip -n pong addr add 10.231.9.2/24 dev zt-pong && ip -n pong link set zt-pong up && ip -n pong link set lo up
ip -n ping addr add 10.231.9.3/24 dev zt-ping && ip -n ping link set zt-ping up && ip -n ping link set lo up
in_ct() {
	c=$1
	shift
	sh -c 'c=$1; shift; for h in $CGS; do echo $$ >"$h/$c/cgroup.procs" || exit 1; done
		exec ip netns exec "$c" "$@"' sh "$c" "$@"
}
export CGS

cat >$W/nginx.conf <<CONF
daemon off;
master_process on;
worker_processes 1;
user root;
pid $W/nginx.pid;
error_log $W/error.log warn;
events { worker_connections 64; }
http {
	default_type text/html;
	log_format zt '\$status \$request_method \$request_uri';
	access_log $W/access.log zt;
	client_body_temp_path $W/tmp/body;
	proxy_temp_path $W/tmp/proxy;
	fastcgi_temp_path $W/tmp/fastcgi;
	uwsgi_temp_path $W/tmp/uwsgi;
	scgi_temp_path $W/tmp/scgi;
	server {
		listen 10.231.9.2:8080;
		listen 10.231.9.2:8443 ssl;
		ssl_certificate /tests/cert.pem;
		ssl_certificate_key /tests/key.pem;
		root $W/www;
		location = /status/404 { return 404; }
		location = /status/201 { return 201 "created\n"; }
	}
}
CONF
in_ct pong /tests/nginx -p $W/ -e $W/error.log -c $W/nginx.conf >$W/nginx.out 2>&1 &
i=0
until grep -q ':1F90 ' /proc/$(cat $W/nginx.pid 2>/dev/null || echo 1)/net/tcp 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 300 ] || { echo "nginx did not start: $(cat $W/nginx.out $W/error.log 2>/dev/null)"; exit 1; }
	sleep 0.1
done
step "nginx up"

# dnsmasq (when the image has it) answers example.test's A, refuses the rest.
DNS=no
if [ -x /tests/dnsmasq ]; then
	in_ct pong /tests/dnsmasq --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null \
		--listen-address=10.231.9.2 --bind-interfaces --port=53 --user=root \
		--pid-file=$W/dnsmasq.pid --address=/example.test/10.1.2.3 >$W/dnsmasq.out 2>&1 &
	i=0
	until [ -s $W/dnsmasq.pid ] && grep -q ':0035 ' /proc/$(cat $W/dnsmasq.pid)/net/udp 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 300 ] || { echo "dnsmasq did not start: $(cat $W/dnsmasq.out)"; exit 1; }
		sleep 0.1
	done
	DNS=yes
fi

URL=http://10.231.9.2:8080
TLS_URL=https://10.231.9.2:8443
# A mode whose spans are wrong runs once more, after the other modes,
# before it counts as failed: 7.2 lost a client span (HTTP or DNS) or
# timed one at 0 about once in forty mode runs here, once twice in a row
# right after boot: programs preempted mid-record on its PREEMPT_LAZY
# kernel. Two ways: another task's program on the same CPU took the same
# scratch (fixed by the per-CPU scratch claims, zt_cpu_busy), or the kernel
# skipped the run of a program whose preempted run was still under way on
# that CPU (nginx's response lost while curl's send was preempted: taken up
# by a twin program since, bpf/twin.bpf.h, or counted as prog_skipped; see
# "busy" below). A cell shows the counts.
# Its cell then says "pass [second run]" with the first run's failure after
# it, so the flake stays in sight; each failed run prints what it saw to the
# console.
again=

# Messages ztrace lost and counted on a CPU it shared with itself: records
# given up (cpu_busy) and program runs the kernel skipped that no twin took
# up (prog_skipped); and those the twins took up (rescued).
skipped() {
	grep -o 'cpu_busy=[0-9]*\|prog_skipped=[0-9]*\|rescued=[0-9]*' $err | paste -sd' ' -
}

# What a run with wrong spans saw, for the console log: the differing
# spans, the DNS spans, and ztrace's whole summary (its quality and record
# counts say whether records were lost, unreadable or not paired).
seen_wrong() {
	[ $same = yes ] || diff $W/sig.ref $W/sig.$m
	[ "$dns" = "$want_dns" ] || /tests/jq -c 'select(.protocol == "dns")' $out
	[ -z "$odd" ] || /tests/jq -c 'select(.protocol == "http")' $out
	grep '^ztrace: summary\|^ztrace: skipped' $err
}
set -- auto fentry kprobe tracepoint
while [ $# -gt 0 ]; do
	m=$1
	shift
	out=$W/spans.$m err=$W/err.$m
	: >$W/access.log
	step "$m: ztrace starting"
	$ZT --cgroup pong --cgroup ping --json --hooks $m >$out 2>$err &
	zpid=$!
	i=0
	while ! grep -q '^ztrace: tracing' $err; do
		if ! kill -0 $zpid 2>/dev/null; then
			wait $zpid
			rc=$?
			if [ $rc = 2 ] && [ $m != auto ] && grep -q 'hook for .* works on this kernel' $err; then
				matrix "$m unsupported $(grep 'hook for' $err | head -1)"
			elif [ $rc = 2 ] && [ $m != auto ] && grep -q 'implementation of .* yet' $err; then
				matrix "$m not-built $(grep 'implementation of' $err | head -1)"
			else
				matrix "$m fail exit $rc: $(grep -v '^libbpf' $err | head -3 | tr '\n' ' ')"
				fails=$((fails + 1))
				# The verifier's word, for the console log.
				$ZT --cgroup pong --json --hooks $m -v -d 1 2>&1 | grep -v '^libbpf: elf\|^libbpf: sec\|^libbpf: map' | tail -40
			fi
			continue 2
		fi
		i=$((i + 1))
		[ $i -lt 1200 ] || break
		sleep 0.1
	done
	hooks=$(sed -n 's/.*hooks: \([^;]*\);.*/\1/p' $err | tr ' ' ',')
	step "$m: tracing ($hooks), requests"
	in_ct ping /tests/curl -sS -m 30 -o /dev/null -o /dev/null -o /dev/null \
		$URL/ $URL/status/404 $URL/index.html
	in_ct ping /tests/curl -sS -m 30 -o /dev/null $URL/status/201
	# HTTPS: the OpenSSL probes (nginx and curl link libssl.so.3).
	in_ct ping /tests/curl -sSk -m 30 -o /dev/null -o /dev/null $TLS_URL/status/404 $TLS_URL/
	[ $DNS = no ] || in_ct ping nslookup example.test 10.231.9.2 >/dev/null 2>&1
	sleep 1
	step "$m: stopping ztrace"
	kill -INT $zpid
	# ztrace ends within a second of SIGINT; one that does not is a
	# failure of its own, with its kernel stack for the console log.
	i=0
	while kill -0 $zpid 2>/dev/null && [ $i -lt 300 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	if kill -0 $zpid 2>/dev/null; then
		step "$m: ztrace still running 30 s after SIGINT: $(grep State /proc/$zpid/status)"
		cat /proc/$zpid/stack
		kill -KILL $zpid
	fi
	wait $zpid
	rc=$?
	srv=$(grep '"protocol":"http"' $out | grep -c '"kind":"server"')
	cli=$(grep '"protocol":"http"' $out | grep -c '"kind":"client"')
	dns=$(/tests/jq -r 'select(.protocol == "dns") | "\(.kind):\(.method):\(.status)"' $out | sort | paste -sd, -)
	want_dns=client:A:0,client:AAAA:5,server:A:0,server:AAAA:5
	case $hooks in *udp=off*) want_dns= ;; esac
	[ $DNS = yes ] || want_dns=
	logged=$(awk '{printf "%s%s %s", (NR > 1 ? "," : ""), $1, $3}' $W/access.log)
	got=$(grep '"protocol":"http"' $out | grep '"kind":"server"' | sed 's/.*"target":"\([^"]*\)","status":\([0-9]*\).*/\2 \1/' | paste -sd, -)
	gotc=$(grep '"protocol":"http"' $out | grep '"kind":"client"' | sed 's/.*"target":"\([^"]*\)","status":\([0-9]*\).*/\2 \1/' | paste -sd, -)
	tls=$(grep -c '"tls":true' $out)
	# The time breakdown: every server span's thread accounted for by the
	# scheduler hooks (its thread table in task storage or in a hash, by
	# kernel), with its CPU time, unless no scheduler hook attached.
	bd=$(/tests/jq -c 'select(.protocol == "http" and .kind == "server" and
		.breakdown.sched == "ok" and .breakdown.cpu_ns > 0)' $out | wc -l | tr -d ' ')
	want_bd=6
	case $hooks in *sched=off*) want_bd=0 ;; esac
	# Every mode must see the same spans: the fields that do not change
	# from run to run, sorted, against the first mode that passed; and
	# durations that are real (above 0, below 10 s).
	/tests/jq -c 'select(.protocol == "http") | [.kind, .method, .target, .status, .tls, .bytes_in, .bytes_out, .container,
		.comm, (.peer | sub(":[0-9]+$"; ""))]' $out | sort >$W/sig.$m
	odd=$(/tests/jq -c 'select(.duration_ns <= 0 or .duration_ns > 10000000000) | [.target, .duration_ns]' $out | head -2)
	same=yes
	[ "$(wc -l <$W/sig.$m)" = 12 ] || same=no
	[ ! -s $W/sig.ref ] || cmp -s $W/sig.ref $W/sig.$m || same=no
	if [ $rc = 0 ] && [ "$srv" = 6 ] && [ "$cli" = 6 ] && [ "$tls" = 4 ] && [ "$got" = "$logged" ] &&
		[ "$gotc" = "$logged" ] && [ $same = yes ] && [ -z "$odd" ] && [ "$dns" = "$want_dns" ] && [ "$bd" = "$want_bd" ]; then
		[ -s $W/sig.ref ] || cp $W/sig.$m $W/sig.ref
		eval "first=\${first_$m:-}"
		matrix "$m pass ${first:+[second run] }hooks=$hooks server=$srv client=$cli tls=$tls breakdown=$bd same-spans=$same dns=[$dns] $(skipped)${first:+; the first run: $first}"
	else
		detail="hooks=$hooks rc=$rc server=$srv client=$cli tls=$tls breakdown=$bd/$want_bd same-spans=$same dns=[$dns] durations=[$odd] $(skipped)"
		case " $again " in
		*" $m "*) ;;
		*)
			echo "ZT-RETRY $m: $detail"
			seen_wrong
			again="$again $m"
			eval "first_$m=\$detail"
			set -- "$@" $m
			continue
			;;
		esac
		matrix "$m fail hooks=$hooks rc=$rc server=$srv client=$cli tls=$tls breakdown=$bd/$want_bd same-spans=$same dns=[$dns] want=[$want_dns] durations=[$odd] nginx=[$logged] server=[$got] client=[$gotc]"
		seen_wrong
		fails=$((fails + 1))
	fi
done

# Contention: nginx's worker and two curls (150 requests each on one
# connection) on one CPU. Where our programs can be preempted (tracepoints
# under SRCU-fast from 7.0, fentry on PREEMPT_LAZY/FULL kernels), the
# kernel skips a program's run on a CPU where a preempted run of it is
# still going: the twin programs take those messages up (bpf/twin.bpf.h).
# Whatever happens, no span may be wrong or missing unless ztrace counted a
# loss (its summary's drops), at most two per loss. Cells "busy" (--hooks
# auto) and "busy-tp" (--hooks tracepoint, where the kernel has the socket
# tracepoints). busy CELL MODE [FIRST-RUN]: FIRST-RUN, the words of a failed
# first run, when this is the second.
busy() {
	cell=$1 out=$W/spans.$1 err=$W/err.$1
	step "$cell: ztrace starting"
	: >$W/access.log
	$ZT --cgroup pong --cgroup ping --json --hooks $2 >$out 2>$err &
	zpid=$!
	i=0
	while ! grep -q '^ztrace: tracing' $err && kill -0 $zpid 2>/dev/null && [ $i -lt 1200 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	if ! kill -0 $zpid 2>/dev/null; then
		wait $zpid
		rc=$?
		if [ $rc = 2 ] && [ $2 != auto ] && grep -q 'hook for .* works on this kernel' $err; then
			matrix "$cell unsupported $(grep 'hook for' $err | head -1)"
		else
			matrix "$cell fail exit $rc: $(grep -v '^libbpf' $err | head -3 | tr '\n' ' ')"
			fails=$((fails + 1))
		fi
		return
	fi
	for p in $(for h in $CGS; do cat $h/pong/cgroup.procs; done 2>/dev/null | sort -u); do
		taskset -p 1 $p >/dev/null 2>&1
	done
	urls=$(for i in $(seq 150); do printf '%s ' $URL/index.html; done)
	step "$cell: requests"
	# shellcheck disable=SC2086 # one argument per URL
	in_ct ping taskset 1 /tests/curl -sS -m 120 $urls >/dev/null &
	c1=$!
	# shellcheck disable=SC2086
	in_ct ping taskset 1 /tests/curl -sS -m 120 $urls >/dev/null
	wait $c1
	sleep 1
	kill -INT $zpid
	wait $zpid
	rc=$?
	hooks=$(sed -n 's/.*hooks: \([^;]*\);.*/\1/p' $err | tr ' ' ',')
	logged=$(grep -c '^200 GET /index.html' $W/access.log)
	srv=$(grep '"kind":"server"' $out | grep -c '"target":"/index.html","status":200,')
	cli=$(grep '"kind":"client"' $out | grep -c '"target":"/index.html","status":200,')
	lost=$(sed -n 's/.*drops: \(.*\) quality:.*/\1/p' $err | tr ' ' '\n' | awk -F= '{n += $2} END {print n + 0}')
	detail="requests=$logged server=$srv client=$cli lost=$lost $(skipped) hooks=$hooks"
	# A lost message spoils a span or two (its own, or its request's
	# and its response's): at most two wrong spans per counted loss.
	wrong=$((600 - srv - cli))
	if [ $rc = 0 ] && [ "$logged" = 300 ] && [ "$srv" -le 300 ] && [ "$cli" -le 300 ] &&
		[ $wrong -le $((2 * lost)) ]; then
		matrix "$cell pass ${3:+[second run] }$detail${3:+; the first run: $3}"
		grep '^ztrace: skipped' $err
		return
	fi
	grep '^ztrace: summary\|^ztrace: skipped' $err
	# The spans that are not a 200 for /index.html, and the records'
	# order around them is in the summary's quality.
	/tests/jq -c 'select(.status != 200 or .target != "/index.html") |
		[.kind, .target, .status, .flags, .local, .peer, .start_ns, .duration_ns]' $out | head -5
	# Once more, as the mode cells above do: 7.2 spoiled one span with no
	# loss counted in one busy cell of ~20 (a twin taking its own task's
	# message again, a request twice in the records: the twins' tokens in
	# bpf/twin.bpf.h since). Kept so that a cause not yet seen shows in
	# the cell (matrix.sh lists it as passed on a second run) before it
	# fails a run; the first run's words stay in the cell.
	if [ -z "${3:-}" ]; then
		echo "ZT-RETRY $cell: rc=$rc $detail"
		busy "$1" "$2" "rc=$rc $detail"
		return
	fi
	matrix "$cell fail rc=$rc $detail; the first run: $3"
	fails=$((fails + 1))
}
busy busy auto
busy busy-tp tracepoint

if [ $fails != 0 ]; then
	echo "nginx's logs:"
	tail -5 $W/access.log $W/error.log
fi
kill $(cat $W/nginx.pid) 2>/dev/null
[ $DNS = no ] || kill $(cat $W/dnsmasq.pid) 2>/dev/null
kill $watchdog 2>/dev/null
exit $fails
