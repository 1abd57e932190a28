#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# HTTPS without keys: the OpenSSL probes turn TLS traffic into the same spans
# as plaintext, one per request, with "tls": true and the TCP connection's
# tuple, cgroup and timing. nginx and curl (SSL_read/SSL_write) and python3's
# ssl module (SSL_read_ex/SSL_write_ex), in containers.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tls_trio() {
	ct_create pong "$ZT_NET4.2"
	ct_create ping "$ZT_NET4.3"
	ct_create other "$ZT_NET4.4"
	NGINX_TLS=1 nginx_start pong "$ZT_NET4.2" 8443
	PONG_LOG=$NGINX_LOG
	PONG_PID=$NGINX_PID
	NGINX_TLS=1 nginx_start other "$ZT_NET4.4" 8443
	OTHER_LOG=$NGINX_LOG
	B=https://$ZT_NET4.2:8443
	O=https://$ZT_NET4.4:8443
}

# Both ends traced: a server span and a client span per request, exactly
# what nginx logged, over one keep-alive connection; other is not traced.
# OpenSSL's internal read and write functions are probed (found as the call
# target SSL_read and SSL_read_ex agree on).
test_tls_nginx_curl() {
	tls_nginx_curl "at ssl_read_internal/ssl_write_internal"
}

# The same through the public functions, where the internal ones are not
# found (ZT_TLS_PROBES=public forces it).
test_tls_public_functions() {
	ZT_TLS_PROBES=public tls_nginx_curl "at SSL_read/SSL_write"
}

tls_nginx_curl() {
	local how=$1
	tls_trio
	local out=$ZT_TMP/spans.json paths=(/ /status/404 /big "/index.html?q=1" /status/503 /chunked)
	ztrace_start "$out" --container pong --container ping
	ct_exec ping curl -sSk "${paths[@]/#/$B}" -o /dev/null -o /dev/null -o /dev/null \
		-o /dev/null -o /dev/null -o /dev/null
	ct_exec other curl -sSk "$B/status/201" >/dev/null
	ct_exec other curl -sSk "$O/" "$O/big" >/dev/null
	ct_exec ping curl -sSk "$O/status/404" >/dev/null
	ztrace_stop

	assert_match "libssl probed" "ztrace: tls: probing .*libssl\\.so.* $how " "$(cat "$out.err")"
	assert_eq "connections nginx in pong saw from ping" 1 \
		"$(awk -v ip="$(ct_ip ping)" '$6 == ip {print $8}' "$PONG_LOG" | sort -u | wc -l)"
	assert_eq "server spans" "$(nginx_log_count "$PONG_LOG")" "$(jcount "$out" '.kind == "server"')"
	assert_log_requests "$out" '.kind == "server"' "$PONG_LOG"
	assert_log_bytes "$out" '.kind == "server"' "$PONG_LOG" server
	# Client spans: ping's requests, to pong (6) and to other (1).
	assert_eq "client spans" 7 "$(jcount "$out" '.kind == "client"')"
	assert_eq "client targets" "${paths[*]} /status/404" "$(jvals "$out" '.kind == "client"' .target)"
	assert_eq "client statuses" "200 404 200 200 503 200 404" "$(jvals "$out" '.kind == "client"' .status)"
	assert_spans "$out" true '.tls == true and .flags == [] and .protocol == "http"' "tls, no data-quality flags"
	assert_spans "$out" '.kind == "server"' ".container == \"pong\" and .comm == \"nginx\" and .local == \"$(ct_ip pong):8443\"" \
		"server spans: nginx in pong on its listener"
	assert_spans "$out" '.kind == "server" and .target != "/status/201"' ".peer | startswith(\"$(ct_ip ping):\")" \
		"server spans: the peer is curl in ping"
	assert_spans "$out" '.kind == "client"' ".container == \"ping\" and .comm == \"curl\" and (.peer | endswith(\":8443\"))" \
		"client spans: curl in ping"
	assert_eq "spans of container other" 0 "$(jcount "$out" '.container == "other"')"
	# The two ends of one request agree on its size.
	assert_eq "client bytes_in = server bytes_out" \
		"$(jvals "$out" '.kind == "server" and .target != "/status/201"' .bytes_out)" \
		"$(jvals "$out" '.kind == "client" and (.peer | startswith("'"$(ct_ip pong)"':"))' .bytes_in)"
	assert_eq "tls connections" "$(zt_summary_get conns)" 4
	assert_eq "opaque tls connections" 0 "$(zt_summary_get opaque)"
	assert_eq "resyncs" 0 "$(zt_summary_get resyncs)"
	assert_eq "drops" 0 "$(zt_summary_drops)"
}

# A response larger than the socket buffer, read slowly: nginx's SSL_write
# returns "want write" and is retried with the same buffer. The plaintext
# is sent once, and the request after it on the connection is still found.
test_tls_slow_reader() {
	tls_trio
	local out=$ZT_TMP/spans.json
	head -c 3000000 /dev/urandom >"$ZT_TMP/nginx-pong-8443/www/huge"
	ztrace_start "$out" --container pong
	ct_exec ping curl -sSk --limit-rate 1500k "$B/huge" -o /dev/null "$B/status/404" -o /dev/null
	ztrace_stop
	assert_eq "requests nginx logged" 2 "$(nginx_log_count "$PONG_LOG")"
	assert_log_requests "$out" '.kind == "server"' "$PONG_LOG"
	assert_log_bytes "$out" '.kind == "server"' "$PONG_LOG" server
	assert_spans "$out" true '.tls == true and .flags == []' "tls, no data-quality flags"
	assert_eq "resyncs" 0 "$(zt_summary_get resyncs)"
	assert_eq "drops" 0 "$(zt_summary_drops)"
}

# python3's ssl module on both sides, the server started after ztrace: its
# process is found by its exec, without restarting ztrace.
test_tls_python_started_later() {
	ct_create pong "$ZT_NET4.2"
	ct_create ping "$ZT_NET4.3"
	zt_tls_cert
	local out=$ZT_TMP/spans.json log=$ZT_TMP/py.log ns=zt-pong got
	: >"$log"
	ztrace_start "$out" --container pong --container ping
	ct_bg pong "$ZT_PY" "$ZT_E2E_DIR/tls_peer.py" server "$ZT_NET4.2" 4443 \
		"$ZT_TMP/tls/cert.pem" "$ZT_TMP/tls/key.pem" "$log"
	zt_wait_for 10 "python's TLS server listening" \
		eval '[ -n "$(ip netns exec $ns ss -Hltn "sport = :4443")" ]'
	# The library is attached within the looks that follow an exec (10 ms
	# to 4 s); a process that talks before its library is found is missed.
	zt_wait_for 6 "libssl probed after python's exec" grep -q 'ztrace: tls: probing' "$out.err"
	got=$(ct_exec ping "$ZT_PY" "$ZT_E2E_DIR/tls_peer.py" client "https://$ZT_NET4.2:4443/a" \
		"https://$ZT_NET4.2:4443/missing" "https://$ZT_NET4.2:4443/long?x=1" | paste -sd' ')
	ztrace_stop
	assert_eq "what the client got" "200 15 404 21 200 880" "$got"
	assert_eq "requests the server logged" "200 GET /a|404 GET /missing|200 GET /long?x=1" "$(paste -sd'|' "$log")"
	assert_eq "server spans" "/a /missing /long?x=1" "$(jvals "$out" '.kind == "server"' .target)"
	assert_eq "server statuses" "200 404 200" "$(jvals "$out" '.kind == "server"' .status)"
	assert_eq "client spans" "/a /missing /long?x=1" "$(jvals "$out" '.kind == "client"' .target)"
	assert_eq "client bytes_in = server bytes_out" "$(jvals "$out" '.kind == "server"' .bytes_out)" \
		"$(jvals "$out" '.kind == "client"' .bytes_in)"
	assert_spans "$out" true '.tls == true and .flags == [] and (.comm | startswith("python"))' "tls spans of python"
	assert_eq "tls connections" 2 "$(zt_summary_get conns)"
	assert_eq "drops" 0 "$(zt_summary_drops)"
}

# nginx started after ztrace: the master is found at its exec, its workers
# (forked, not exec'd: a fork does not inherit per-process probes) at their
# fork. Each server span exactly as nginx logged it.
test_tls_nginx_started_later() {
	nginx_started_later file
}

# The same with --tls-attach process: the untraced pay nothing, and each
# nginx process is probed on its own (master at exec, workers at fork),
# until it exits.
test_tls_attach_per_process() {
	nginx_started_later process
}

nginx_started_later() {
	local mode=$1
	ct_create pong "$ZT_NET4.2"
	ct_create ping "$ZT_NET4.3"
	local out=$ZT_TMP/spans.json
	ztrace_start "$out" --container pong --tls-attach "$mode"
	NGINX_TLS=1 nginx_start pong "$ZT_NET4.2" 8443
	# A process is probed at the next drain of the ring (<= 10 ms) after
	# its fork or exec; requests before that are not seen.
	sleep 0.2
	ct_exec ping curl -sSk "https://$ZT_NET4.2:8443/" "https://$ZT_NET4.2:8443/status/404" \
		-o /dev/null -o /dev/null
	ct_exec ping curl -sSk "https://$ZT_NET4.2:8443/big" -o /dev/null
	if [ "$mode" = process ]; then
		# Gone processes are unprobed (looked for every second).
		kill -TERM "$NGINX_PID"
		zt_wait_for 10 "nginx gone" eval '[ -z "$(zt_cg_pids "$(ct_cgroup pong)")" ]'
		sleep 1.5
	fi
	ztrace_stop
	assert_eq "requests nginx logged" 3 "$(nginx_log_count "$NGINX_LOG")"
	assert_log_requests "$out" '.kind == "server"' "$NGINX_LOG"
	assert_log_bytes "$out" '.kind == "server"' "$NGINX_LOG" server
	assert_spans "$out" true '.tls == true and .flags == [] and .comm == "nginx"' "tls spans of nginx"
	if [ "$mode" = process ]; then
		assert_eq "processes still probed after nginx exited" 0 "$(zt_summary_get procs)"
	else
		assert_eq "processes probed one by one" 0 "$(zt_summary_get procs)"
	fi
	assert_eq "drops" 0 "$(zt_summary_drops)"
}

# OpenSSL linked statically into the client: no libssl.so in its maps, the
# probes go on the executable itself.
test_tls_static_client() {
	tls_trio
	local out=$ZT_TMP/spans.json bin=$ZT_TMP/tls_static_client got
	cc -O1 -o "$bin" "$ZT_E2E_DIR/tls_static_client.c" /usr/lib/x86_64-linux-gnu/libssl.a \
		/usr/lib/x86_64-linux-gnu/libcrypto.a -lpthread -ldl 2>"$ZT_TMP/cc.log" ||
		fail "cannot build the static client: $(cat "$ZT_TMP/cc.log")"
	assert_eq "libssl.so in the client's libraries" 0 "$(ldd "$bin" | grep -c libssl || true)"
	ztrace_start "$out" --container ping
	# Held until ztrace has looked at it: found at its exec, not at start.
	ct_bg ping env ZT_GO_FILE="$ZT_TMP/go" sh -c "exec $bin $ZT_NET4.2 8443 / /status/404 /big >$ZT_TMP/got"
	zt_wait_for 6 "the static client probed" grep -q "ztrace: tls: probing $bin " "$out.err"
	touch "$ZT_TMP/go"
	zt_wait_for 10 "the static client done" eval '! kill -0 $BG_PID 2>/dev/null'
	got=$(paste -sd' ' "$ZT_TMP/got")
	ztrace_stop
	assert_eq "what the client got" "200 16 404 153 200 204800" "$got"
	assert_match "the executable probed" "ztrace: tls: probing $bin " "$(cat "$out.err")"
	assert_eq "client spans" "/ /status/404 /big" "$(jvals "$out" '.kind == "client"' .target)"
	assert_eq "client statuses" "200 404 200" "$(jvals "$out" '.kind == "client"' .status)"
	assert_eq "server spans (pong is not traced)" 0 "$(jcount "$out" '.kind == "server"')"
	assert_log_bytes "$out" '.kind == "client"' "$PONG_LOG" client
	assert_spans "$out" true '.tls == true and .flags == [] and .comm == "tls_static_clie"' "tls spans of the static client"
	assert_eq "drops" 0 "$(zt_summary_drops)"
}

# Without the probes, the ciphertext is counted as opaque TLS, never parsed
# into garbage spans.
test_tls_opaque_without_probes() {
	tls_trio
	local out=$ZT_TMP/spans.json
	ztrace_start "$out" --container pong --no-tls
	ct_exec ping curl -sSk "$B/" "$B/big" -o /dev/null -o /dev/null
	ct_exec ping curl -sSk "$B/status/404" >/dev/null
	ztrace_stop
	assert_eq "requests nginx logged" 3 "$(nginx_log_count "$PONG_LOG")"
	assert_eq "spans" 0 "$(jcount "$out")"
	assert_eq "opaque tls connections" 2 "$(zt_summary_get opaque)"
	assert_eq "unrecognised connections" 0 "$(zt_summary_get unrecognised)"
}

zt_main "$@"
