#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# DNS: dnsmasq in pong answers dig and glibc's resolver (getent) in ping,
# over UDP (IPv4 and IPv6) and TCP. Traced from ping: one client span per
# query with its type, name, RCODE and the server as peer, as dnsmasq logged
# them; traced from pong: dnsmasq's server spans. The untraced side, and a
# third container's queries, leave nothing.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# dns_setup: containers pong (dnsmasq on 10.231.0.2 and fd00:231::2, port 53)
# and ping, and `other` (untraced). DNS_LOG: dnsmasq's query log.
dns_setup() {
	ct_create pong "$ZT_NET4.2"
	ct_create ping "$ZT_NET4.3"
	ct_create other "$ZT_NET4.4"
	DNS_LOG=$ZT_TMP/dnsmasq.log
	ct_bg pong dnsmasq --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null \
		--listen-address="$ZT_NET4.2" --listen-address="${ZT_NET6}:2" --bind-interfaces \
		--port=53 --user=root --pid-file="$ZT_TMP/dnsmasq.pid" \
		--address=/example.test/10.1.2.3 --host-record=host.example.test,10.1.2.4,fd00::4 \
		--mx-host=example.test,mail.example.test,10 --local=/test/ \
		--log-queries --log-facility="$DNS_LOG"
	zt_wait_for 10 "dnsmasq in pong" ct_exec ping dig +short +time=1 +tries=1 \
		"@$ZT_NET4.2" example.test A
	: >"$DNS_LOG"
}

# dns_queries: what ping asks, one query after the other. glibc's getent
# sends A and AAAA together (sendmmsg) on one socket, through the
# resolv.conf that `ip netns exec` mounts from /etc/netns/zt-ping/.
dns_queries() {
	local s=$ZT_NET4.2 rc=0 made=
	{
		ct_exec ping dig +short "@$s" example.test A
		ct_exec ping dig +short "@$s" host.example.test AAAA
		ct_exec ping dig +short "@$s" example.test MX
		ct_exec ping dig "@$s" missing.test A | grep -o 'status: [A-Z]*'
		ct_exec ping dig +tcp +short "@$s" host.example.test A
		ct_exec ping dig +short "@${ZT_NET6}:2" example.test A
	} >"$ZT_TMP/dig.out"
	[ -d /etc/netns ] || made=1
	mkdir -p /etc/netns/zt-ping
	echo "nameserver $s" >/etc/netns/zt-ping/resolv.conf
	ct_exec ping getent ahosts host.example.test >"$ZT_TMP/getent.out" || rc=$?
	rm -rf /etc/netns/zt-ping
	[ -z "$made" ] || rmdir /etc/netns
	[ "$rc" -eq 0 ] || fail "getent ahosts failed ($rc)"
	assert_eq "dig's answers" "10.1.2.3 fd00::4 10 mail.example.test. status: NXDOMAIN 10.1.2.4 10.1.2.3" \
		"$(paste -sd' ' "$ZT_TMP/dig.out")"
	assert_eq "getent's addresses" "10.1.2.4 fd00::4" \
		"$(awk '{print $1}' "$ZT_TMP/getent.out" | sort -u | paste -sd' ')"
	# The untraced container asks too.
	ct_exec other dig +short "@$s" other.example.test A >/dev/null
	ct_exec other dig +tcp +short "@$s" other.example.test MX >/dev/null
}

# dnsmasq's view: "query[TYPE] NAME from IP", in order, for queries from IP
# (a sed regex).
dns_log_queries() {
	sed -n "s/.* query\[\([A-Z0-9]*\)\] \([^ ]*\) from $1\$/\1 \2/p" "$DNS_LOG" |
		awk '{ print $1, tolower($2) }' | paste -sd',' -
}

EXPECT_Q="A example.test,AAAA host.example.test,MX example.test,A missing.test,A host.example.test,A example.test,A host.example.test,AAAA host.example.test"

test_dns_client_spans() {
	dns_setup
	local out=$ZT_TMP/spans.json t0 t1 sel='.kind == "client"'
	ztrace_start "$out" --container ping
	t0=$(date +%s%N)
	dns_queries
	t1=$(date +%s%N)
	ztrace_stop

	assert_eq "client spans" 8 "$(jcount "$out" "$sel")"
	assert_eq "server spans" 0 "$(jcount "$out" '.kind == "server"')"
	assert_eq "protocols" "dns dns dns dns dns dns dns dns" "$(jvals "$out" true .protocol)"
	assert_eq "methods and targets" "$EXPECT_Q" "$(jvals "$out" "$sel" '.method + " " + .target' |
		sed 's/ \([A-Z]\)/,\1/g')"
	assert_eq "statuses" "0 0 0 3 0 0 0 0" "$(jvals "$out" "$sel" .status)"
	assert_eq "errors" ",,,NXDOMAIN,,,," "$(jq -r -s "map(select($sel)) | sort_by(.start_ns) | map(.error) | join(\",\")" "$out")"
	assert_eq "failed" "false false false true false false false false" "$(jvals "$out" "$sel" .failed)"
	assert_eq "peers" "$(printf '10.231.0.2:53 %.0s' 1 2 3 4 5)[fd00:231::2]:53 10.231.0.2:53 10.231.0.2:53" \
		"$(jvals "$out" "$sel" .peer)"
	# dig's I/O runs in BIND's network threads.
	assert_eq "comms" "isc-net-0000 isc-net-0000 isc-net-0000 isc-net-0000 isc-net-0000 isc-net-0000 getent getent" \
		"$(jvals "$out" "$sel" .comm)"
	assert_spans "$out" "$sel" '.container == "ping" and .cgroup == "ztrace-test/ping"' "in ping"
	assert_spans "$out" "$sel" '.flags == []' "no data-quality flags"
	# Header 12, question (name + 4), dig's OPT record with its cookie 23
	# (11 without, in dnsmasq's answers), A 16 and AAAA 28 per answer, the
	# MX answer 33; over TCP 2 more for the length prefix.
	assert_eq "bytes out" "53 58 53 53 60 53 35 35" "$(jvals "$out" "$sel" .bytes_out)"
	assert_eq "bytes in" "57 74 74 41 64 57 51 63" "$(jvals "$out" "$sel" .bytes_in)"
	assert_span_times "$out" "$sel" "$t0" "$t1"
	assert_unique_ids "$out" true
	# Every query dnsmasq saw from ping is a span (IPv4 and IPv6 apart).
	assert_eq "dnsmasq's log, IPv4 then IPv6 queries" \
		"A example.test,AAAA host.example.test,MX example.test,A missing.test,A host.example.test,A host.example.test,AAAA host.example.test|A example.test" \
		"$(dns_log_queries "$ZT_NET4.3")|$(dns_log_queries "${ZT_NET6}:3")"
	assert_eq "the untraced container's spans" 0 "$(jcount "$out" '.container == "other" or (.target | startswith("other"))')"
	assert_eq "dns txns in the summary" 8 "$(zt_summary_proto dns txns)"
}

test_dns_server_spans() {
	dns_setup
	local out=$ZT_TMP/spans.json sel='.kind == "server"'
	ztrace_start "$out" --container pong
	dns_queries
	ztrace_stop

	# dnsmasq answers ping's eight queries and other's two.
	assert_eq "server spans" 10 "$(jcount "$out" "$sel")"
	assert_eq "dnsmasq's log, every query" "$EXPECT_Q,A other.example.test,MX other.example.test" \
		"$(dns_log_queries '[0-9a-f.:]*')"
	assert_eq "client spans" 0 "$(jcount "$out" '.kind == "client"')"
	assert_eq "methods and targets" "$EXPECT_Q,A other.example.test,MX other.example.test" \
		"$(jvals "$out" "$sel" '.method + " " + .target' | sed 's/ \([A-Z]\)/,\1/g')"
	# other.example.test has an address (--address), no MX: NXDOMAIN.
	assert_eq "statuses" "0 0 0 3 0 0 0 0 0 3" "$(jvals "$out" "$sel" .status)"
	assert_spans "$out" "$sel" '.comm == "dnsmasq" and .container == "pong"' "dnsmasq in pong"
	# The peer is the client: ping, other, or ping over IPv6.
	assert_eq "peers" "3 3 3 3 3 3 3 3 4 4" "$(jvals "$out" "$sel" \
		'.peer | capture("^(10\\.231\\.0\\.|\\[fd00:231::)(?<n>[0-9]+)\\]?:[0-9]+$").n')"
	assert_eq "local addresses" "53 53 53 53 53 53 53 53 53 53" \
		"$(jvals "$out" "$sel" '.local | capture(":(?<p>[0-9]+)$").p')"
	assert_spans "$out" "$sel" '.flags == []' "no data-quality flags"
	assert_eq "dns txns in the summary" 10 "$(zt_summary_proto dns txns)"
	assert_eq "unanswered" 0 "$(zt_summary_proto dns unanswered)"
}

zt_main "$@"
