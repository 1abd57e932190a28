#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# A 5 MB POST to nginx (with curl's "Expect: 100-continue", and without), each
# followed by a GET on the same connection: the body's framing is followed to
# its end, the GET after it is its own span, bytes count the whole body.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

test_post_upload() {
	zt_pair
	local out=$ZT_TMP/spans.json b=$PONG_URL body=$ZT_TMP/body size=5000000
	head -c "$size" /dev/urandom >"$body"
	ztrace_start "$out" --container pong
	ct_exec ping curl -sS --data-binary "@$body" "$b/upload" --next "$b/" >/dev/null
	ct_exec ping curl -sS -H 'Expect:' --data-binary "@$body" "$b/upload" --next "$b/status/404" >/dev/null
	ztrace_stop

	assert_eq "requests nginx logged" "POST /upload GET / POST /upload GET /status/404" \
		"$(awk '{printf "%s%s %s", (NR > 1 ? " " : ""), $2, $3}' "$PONG_LOG")"
	assert_eq "connections nginx saw" 2 "$(awk '{print $8}' "$PONG_LOG" | sort -u | wc -l)"
	assert_log_requests "$out" '.kind == "server"' "$PONG_LOG"
	# nginx reads and discards the body: its request_length is the head only.
	local want
	want=$(awk -v n="$size" '{print ($2 == "POST" ? $4 + n : $4)}' "$PONG_LOG" | paste -sd' ')
	assert_eq "bytes_in (head + $size-byte body for the POSTs)" "$want" \
		"$(jvals "$out" '.kind == "server"' .bytes_in)"
	assert_eq "bytes_out = nginx's bytes_sent (100 Continue included)" \
		"$(nginx_log_col "$PONG_LOG" 5)" "$(jvals "$out" '.kind == "server"' .bytes_out)"
	assert_spans "$out" '.method == "POST"' ".bytes_in >= $size and .duration_ns > 0" "POST spans hold the body"
}

# A chunked request body that nginx answers at once and then discards in
# 4 KB reads: the body's end and curl's next request come in one read, past
# the capture bound. Both exchanges are spans; the second says its request
# was not seen (no method or target), with nginx's status and timing.
test_post_chunked_body() {
	zt_pair
	local out=$ZT_TMP/spans.json b=$PONG_URL body=$ZT_TMP/body size=1000000
	head -c "$size" /dev/urandom >"$body"
	ztrace_start "$out" --container pong
	ct_exec ping curl -sS -H 'Transfer-Encoding: chunked' -H 'Expect:' --data-binary "@$body" "$b/upload" \
		--next "$b/status/201" >/dev/null
	ztrace_stop
	assert_eq "requests nginx logged" "POST GET" "$(nginx_log_col "$PONG_LOG" 2)"
	assert_eq "connections nginx saw" 1 "$(awk '{print $8}' "$PONG_LOG" | sort -u | wc -l)"
	assert_eq "server spans" 2 "$(jcount "$out" '.kind == "server"')"
	assert_eq "statuses (nginx's log | spans)" "$(nginx_log_col "$PONG_LOG" 1)" \
		"$(jvals "$out" '.kind == "server"' .status)"
	assert_spans "$out" '.method == "POST"' ".target == \"/upload\" and .bytes_in > 5000" "the POST"
	# Either its request was seen whole (the reads fell that way) or it is
	# marked as unseen: never a span that claims what it did not see.
	assert_spans "$out" '.status == 201' \
		'(.method == "GET" and .target == "/status/201" and .flags == []) or
		 (.method == "" and .target == "" and .flags == ["request_unseen"])' "the GET after it"
}

zt_main "$@"
