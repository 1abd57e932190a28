#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# HTTP/2 and gRPC: nghttpd in container pong, nghttp, h2load and curl in
# container ping (plaintext with prior knowledge, and TLS with ALPN h2); a
# grpcio server and client (tests/e2e/http2_grpc.py). One span per stream on
# each traced side, fields as the client asked and the server answered.
#
# Capture bound: the default 512 bytes wherever every write the peers make
# holds its frame headers within 512 bytes (nghttp, curl, gRPC with small
# messages: their largest writes are ~350 bytes); --capture-bytes 4096 for
# h2load -m 50, whose writes hold up to 50 streams' frames (~1.5 KB). A frame
# header past the bound loses that direction's framing and HPACK state until
# a write starts with a frame again: at 512 bytes this h2load run gives 110
# spans of 200 a side, every one flagged resync (and headers_unknown where
# HPACK was lost), 12 resyncs counted. test_h2_capture_bound shows one
# response cut by the bound.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

H2_PORT=8080

pong_listening() { [ -n "$(ip netns exec zt-pong ss -Hltn "sport = :$1")" ]; }

# h2_pair [TLS]: pong with nghttpd on 8080 (on 8443 with TLS), ping. Files:
# / (index.html), /a, /big (40000 bytes).
h2_pair() {
	ct_create pong "$ZT_NET4.2"
	ct_create ping "$ZT_NET4.3"
	local www=$ZT_TMP/www port=$H2_PORT
	mkdir -p "$www"
	printf 'hello h2\n' >"$www/index.html"
	printf 'a\n' >"$www/a"
	head -c 40000 /dev/zero | tr '\0' 'z' >"$www/big"
	if [ "${1:-}" = tls ]; then
		zt_tls_cert
		port=8443
		ct_bg pong nghttpd -d "$www" "$port" "$ZT_TMP/tls/key.pem" "$ZT_TMP/tls/cert.pem"
		H2_URL=https://$ZT_NET4.2:$port
	else
		ct_bg pong nghttpd --no-tls -d "$www" "$port"
		H2_URL=http://$ZT_NET4.2:$port
	fi
	zt_wait_for 10 "nghttpd listening on $port" pong_listening "$port"
}

# h2vals FILE FILTER EXPR: EXPR of each matching span, ordered by start then
# stream id (requests sent in one write share their start).
h2vals() {
	jq -r -s "map(select($2)) | sort_by(.start_ns, .stream) | map($3 | tostring) | join(\" \")" "$1"
}

# h2_conns FILE FILTER: connections the matching spans came from (each
# side's own address and port tell them apart).
h2_conns() {
	jq -r "select($2) | .local + \" \" + .peer" "$1" | sort -u | wc -l | tr -d ' '
}

# nghttp_got ARGS...: nghttp -ns ARGS in ping; prints "stream:status:path"
# of each request, by stream id.
nghttp_got() {
	ct_exec ping nghttp -ns "$@" | awk '$1 ~ /^[0-9]+$/ && $2 ~ /^\+/ {print $1 ":" $5 ":" $7}' |
		sort -n | paste -sd' '
}

# nghttp: three requests on one connection, both ends traced.
test_h2_nghttp() {
	h2_pair
	local out=$ZT_TMP/spans.json b=$H2_URL got
	ztrace_start "$out" --container pong --container ping
	got=$(nghttp_got "$b/" "$b/a" "$b/missing?q=1")
	ztrace_stop
	assert_eq "what nghttp got" "13:200:/ 15:200:/a 17:404:/missing?q=1" "$got"
	local k
	for k in server client; do
		assert_eq "$k spans" 3 "$(jcount "$out" ".kind == \"$k\"")"
		assert_eq "$k targets" "/ /a /missing?q=1" "$(h2vals "$out" ".kind == \"$k\"" .target)"
		assert_eq "$k statuses" "200 200 404" "$(h2vals "$out" ".kind == \"$k\"" .status)"
		assert_eq "$k methods" "GET GET GET" "$(h2vals "$out" ".kind == \"$k\"" .method)"
		assert_eq "$k stream ids" "13 15 17" "$(h2vals "$out" ".kind == \"$k\"" .stream)"
		assert_eq "$k connections" 1 "$(h2_conns "$out" ".kind == \"$k\"")"
	done
	assert_spans "$out" '.kind == "server"' '.comm == "nghttpd" and .container == "pong"' "nghttpd's spans"
	assert_spans "$out" '.kind == "client"' '.comm == "nghttp" and .container == "ping"' "nghttp's spans"
	assert_spans "$out" true '.protocol == "http2" and .flags == [] and .tls == false and .failed == false' \
		"http2, no data-quality flags"
	assert_eq "client bytes_in = server bytes_out" "$(h2vals "$out" '.kind == "server"' .bytes_out)" \
		"$(h2vals "$out" '.kind == "client"' .bytes_in)"
	assert_eq "http2 connections" 2 "$(zt_summary_proto http2 conns)"
	assert_eq "http2 resyncs" 0 "$(zt_summary_proto http2 resyncs)"
	assert_eq "http2 midstream" 0 "$(zt_summary_proto http2 midstream)"
	assert_eq "drops" 0 "$(zt_summary_drops)"
}

# h2load: 200 requests over 2 connections, 50 streams in flight on each:
# nghttpd writes up to 50 responses (~1.5 KB) at a time, h2load 50 requests
# (~0.9 KB), past the default 512-byte bound, within 4096.
test_h2_h2load() {
	h2_pair
	local out=$ZT_TMP/spans.json res k
	ztrace_start "$out" --container pong --container ping --capture-bytes 4096
	res=$(ct_exec ping h2load -n 200 -c 2 -m 50 "$H2_URL/a" | grep '^requests:')
	ztrace_stop
	assert_eq "what h2load did" "requests: 200 total, 200 started, 200 done, 200 succeeded, 0 failed, 0 errored, 0 timeout" "$res"
	for k in server client; do
		assert_eq "$k spans" 200 "$(jcount "$out" ".kind == \"$k\"")"
		assert_eq "$k connections" 2 "$(h2_conns "$out" ".kind == \"$k\"")"
		# Each connection's streams: 1, 3, ..., 199.
		assert_eq "$k stream ids per connection" "$(seq 1 2 199 | paste -sd' ') $(seq 1 2 199 | paste -sd' ')" \
			"$(jq -r -s "map(select(.kind == \"$k\")) | group_by(.local + .peer) | map(sort_by(.stream) | map(.stream)) | flatten | map(tostring) | join(\" \")" "$out")"
	done
	assert_spans "$out" true '.protocol == "http2" and .target == "/a" and .status == 200 and .method == "GET" and .flags == []' \
		"GET /a 200, no flags"
	assert_eq "http2 resyncs" 0 "$(zt_summary_proto http2 resyncs)"
	assert_eq "http2 unanswered" 0 "$(zt_summary_proto http2 unanswered)"
	assert_eq "drops" 0 "$(zt_summary_drops)"
}

# curl with prior knowledge: its traceparent continues the server span's trace.
test_h2_curl() {
	h2_pair
	local out=$ZT_TMP/spans.json tp=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01
	ztrace_start "$out" --container pong
	ct_exec ping curl -sS --http2-prior-knowledge -H "traceparent: $tp" "$H2_URL/a" -o /dev/null
	ct_exec ping curl -sS --http2-prior-knowledge "$H2_URL/missing" -o /dev/null
	ztrace_stop
	assert_eq "server spans" 2 "$(jcount "$out" '.kind == "server"')"
	assert_eq "targets" "/a /missing" "$(jvals "$out" true .target)"
	assert_eq "statuses" "200 404" "$(jvals "$out" true .status)"
	assert_eq "streams" "1 1" "$(jvals "$out" true .stream)"
	assert_spans "$out" '.target == "/a"' '.trace_id == "0af7651916cd43dd8448eb211c80319c" and .parent_span_id == "b7ad6b7169203331"' \
		"traceparent continued"
	assert_spans "$out" '.target == "/missing"' '.parent_span_id == ""' "no traceparent, no parent"
	assert_spans "$out" true '.protocol == "http2" and .flags == [] and .comm == "nghttpd"' "http2 spans of nghttpd"
}

# nghttpd over TLS, ALPN h2: the OpenSSL probes hand over the plaintext.
test_h2_tls() {
	h2_pair tls
	local out=$ZT_TMP/spans.json b=$H2_URL got k
	ztrace_start "$out" --container pong --container ping
	got=$(nghttp_got "$b/" "$b/a")
	ct_exec ping curl -sSk --http2 "$b/missing" -o /dev/null
	ztrace_stop
	assert_eq "what nghttp got" "13:200:/ 15:200:/a" "$got"
	for k in server client; do
		assert_eq "$k spans" 3 "$(jcount "$out" ".kind == \"$k\"")"
		assert_eq "$k targets" "/ /a /missing" "$(jvals "$out" ".kind == \"$k\"" '.target')"
		assert_eq "$k statuses" "200 200 404" "$(jvals "$out" ".kind == \"$k\"" .status)"
	done
	assert_eq "client programs" "nghttp nghttp curl" "$(jvals "$out" '.kind == "client"' .comm)"
	assert_spans "$out" true '.protocol == "http2" and .tls == true and .flags == [] and .stream > 0' \
		"http2 over tls, no flags"
	assert_eq "tls connections" 4 "$(zt_summary_get conns)"
	assert_eq "drops" 0 "$(zt_summary_drops)"
}

# grpc_server: the grpcio server in pong on 50051; GRPC_LOG is its log.
grpc_server() {
	GRPC_LOG=$ZT_TMP/grpc-server.log
	: >"$GRPC_LOG"
	ct_bg pong "$ZT_PY" "$ZT_E2E_DIR/http2_grpc.py" server "$ZT_NET4.2:50051" "$GRPC_LOG"
	zt_wait_for 15 "grpc server listening" pong_listening 50051
}

# The four calls, by start then stream.
GRPC_TARGETS="/pkg.Svc/Echo /pkg.Svc/Missing /pkg.Svc/Stream /pkg.Svc/Chat"

# One side's view of the four calls: targets, status, error, failed,
# streaming, and no data-quality flag. grpc-core writes a HEADERS frame as
# one iovec per HPACK string (22 for a request, 12 for a response): the
# capture gathers up to 64 iovecs, so every field is there on both sides.
assert_grpc_results() {
	local out=$1 kind=$2
	assert_eq "$kind spans" 4 "$(jcount "$out" ".kind == \"$kind\"")"
	assert_eq "$kind targets" "$GRPC_TARGETS" "$(h2vals "$out" ".kind == \"$kind\"" .target)"
	assert_eq "$kind statuses" "0 5 0 0" "$(h2vals "$out" ".kind == \"$kind\"" .status)"
	assert_eq "$kind errors" "- NOT_FOUND - -" \
		"$(h2vals "$out" ".kind == \"$kind\"" 'if .error == "" then "-" else .error end')"
	assert_eq "$kind failed" "false true false false" "$(h2vals "$out" ".kind == \"$kind\"" .failed)"
	assert_eq "$kind streaming" "false false true true" \
		"$(h2vals "$out" ".kind == \"$kind\"" '.flags | index("streaming") != null')"
	assert_spans "$out" ".kind == \"$kind\"" '.flags - ["streaming"] == []' "$kind spans whole: no data-quality flags"
}

# gRPC from nghttp (a plain HTTP/2 client: POST with the 5-byte message
# framing as its body) to grpcio: unary OK, unary NOT_FOUND, server streaming
# (3 messages), and bidi (3 messages each way) on a second connection.
test_grpc_nghttp_client() {
	ct_create pong "$ZT_NET4.2"
	ct_create ping "$ZT_NET4.3"
	grpc_server
	local out=$ZT_TMP/spans.json u=http://$ZT_NET4.2:50051/pkg.Svc got1 got2
	local h=(-H "content-type: application/grpc" -H "te: trailers")
	printf '\0\0\0\0\1\3' >"$ZT_TMP/one.bin"
	printf '\0\0\0\0\2m0\0\0\0\0\2m1\0\0\0\0\2m2' >"$ZT_TMP/three.bin"
	ztrace_start "$out" --container pong --container ping
	got1=$(ct_exec ping nghttp -nv "${h[@]}" -d "$ZT_TMP/one.bin" "$u/Echo" "$u/Missing" "$u/Stream" |
		sed -n 's/.*recv (stream_id=\([0-9]*\)) grpc-status: \([0-9]*\).*/\1:\2/p' | sort -n | paste -sd' ')
	got2=$(ct_exec ping nghttp -nv "${h[@]}" -d "$ZT_TMP/three.bin" "$u/Chat" |
		sed -n 's/.*recv (stream_id=\([0-9]*\)) grpc-status: \([0-9]*\).*/\1:\2/p' | paste -sd' ')
	ztrace_stop
	assert_eq "grpc-status nghttp got" "13:0 15:5 17:0 | 13:0" "$got1 | $got2"
	assert_eq "what the server did (sorted)" "Chat OK 3|Echo OK 1|Missing NOT_FOUND 0|Stream OK 3" \
		"$(sort "$GRPC_LOG" | paste -sd'|')"
	assert_eq "client stream ids" "13 15 17 13" "$(h2vals "$out" '.kind == "client"' .stream)"
	assert_eq "client connections" 2 "$(h2_conns "$out" '.kind == "client"')"
	assert_grpc_results "$out" client
	assert_spans "$out" '.kind == "client"' '.comm == "nghttp"' "client spans from nghttp"
	assert_grpc_results "$out" server
	assert_spans "$out" '.kind == "server"' '.container == "pong" and .local == "10.231.0.2:50051"' \
		"server spans in pong (comm: a grpc-core thread)"
	assert_spans "$out" true '.protocol == "grpc" and .method == "POST" and .tls == false' "grpc POST spans"
	assert_eq "client bytes_out = server bytes_in" "$(h2vals "$out" '.kind == "client"' .bytes_out)" \
		"$(h2vals "$out" '.kind == "server"' .bytes_in)"
	assert_eq "drops" 0 "$(zt_summary_drops)"
}

# grpcio on both ends, one channel: both sides whole.
test_grpc_python() {
	ct_create pong "$ZT_NET4.2"
	ct_create ping "$ZT_NET4.3"
	grpc_server
	local out=$ZT_TMP/spans.json got
	ztrace_start "$out" --container pong --container ping
	got=$(ct_exec ping "$ZT_PY" "$ZT_E2E_DIR/http2_grpc.py" client "$ZT_NET4.2:50051" echo missing stream:4 chat:3 |
		paste -sd'|')
	ztrace_stop
	assert_eq "what the client got" "echo OK 1|missing NOT_FOUND 0|stream OK 4|chat OK 3" "$got"
	assert_eq "what the server did" "Echo OK 1|Missing NOT_FOUND 0|Stream OK 4|Chat OK 3" "$(paste -sd'|' "$GRPC_LOG")"
	assert_grpc_results "$out" client
	assert_grpc_results "$out" server
	assert_eq "stream ids (client | server)" "1 3 5 7 | 1 3 5 7" \
		"$(h2vals "$out" '.kind == "client"' .stream) | $(h2vals "$out" '.kind == "server"' .stream)"
	assert_eq "connections" "1 1" "$(h2_conns "$out" '.kind == "client"') $(h2_conns "$out" '.kind == "server"')"
	assert_spans "$out" true '.protocol == "grpc" and .tls == false' "grpc spans"
	assert_eq "drops" 0 "$(zt_summary_drops)"
}

# ztrace started while a gRPC connection is open: no preface, HPACK state
# unknown. Streams still become spans, flagged, their fields left empty.
test_grpc_midstream() {
	ct_create pong "$ZT_NET4.2"
	ct_create ping "$ZT_NET4.3"
	grpc_server
	local out=$ZT_TMP/spans.json go=$ZT_TMP/go
	ct_bg ping "$ZT_PY" "$ZT_E2E_DIR/http2_grpc.py" client "$ZT_NET4.2:50051" echo "wait:$go" echo missing stream:3
	local client=$BG_PID
	zt_wait_for 15 "the first call" grep -q '^Echo' "$GRPC_LOG"
	ztrace_start "$out" --container pong
	touch "$go"
	zt_wait_for 15 "the client done" eval '! kill -0 '"$client"' 2>/dev/null'
	ztrace_stop
	assert_eq "calls the server handled" "Echo OK 1|Echo OK 1|Missing NOT_FOUND 0|Stream OK 3" "$(paste -sd'|' "$GRPC_LOG")"
	assert_eq "server spans (the calls after ztrace started)" 3 "$(jcount "$out" '.kind == "server"')"
	assert_eq "stream ids" "3 5 7" "$(h2vals "$out" true .stream)"
	assert_spans "$out" true '.flags == ["headers_unknown"] and .target == "" and .method == "" and .status == 0' \
		"fields unknown, not guessed"
	assert_eq "http2 midstream" 1 "$(zt_summary_proto http2 midstream)"
}

# The default 512-byte capture against a 40000-byte response: nghttpd
# writes it in large writes, and a frame header past the first 512 bytes of
# a write is not seen, the END_STREAM with it. The span comes out when the
# connection closes, as far as it was seen, marked.
test_h2_capture_bound() {
	h2_pair
	local out=$ZT_TMP/spans.json b=$H2_URL
	ztrace_start "$out" --container pong
	ct_exec ping nghttp -n "$b/big"
	zt_wait_for 10 "the span, at the connection's close" grep -q '"/big"' "$out"
	ztrace_stop
	assert_eq "server spans" 1 "$(jcount "$out" true)"
	assert_spans "$out" true '.target == "/big" and .status == 200 and .flags == ["resync"] and .bytes_out < 40000' \
		"the response's end not seen: resync, bytes as far as seen"
	assert_eq "http2 unanswered" 0 "$(zt_summary_proto http2 unanswered)"
}

zt_main "$@"
