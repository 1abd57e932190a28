#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Redis: redis-server in container pong, redis-cli and redis-benchmark in
# container ping, both traced. Spans are checked against what the clients
# did and what the server counted (INFO commandstats, read from the host,
# outside the traced cgroups, before ztrace starts and after it stops).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# redis_start NAME IP PORT: redis-server in the foreground in a container,
# no persistence, state in a temp dir. Sets REDIS_PID.
redis_start() {
	local name=$1 ip=$2 port=$3 d=$ZT_TMP/redis-$1-$3
	mkdir -p "$d"
	ct_bg "$name" redis-server --port "$port" --bind "$ip" --save '' --appendonly no \
		--protected-mode no --dir "$d" --logfile "$d/redis.log"
	REDIS_PID=$BG_PID
	local deadline=$((SECONDS + 10))
	until [ -n "$(ip netns exec "zt-$name" ss -Hltn "sport = :$port" 2>/dev/null)" ]; do
		kill -0 "$REDIS_PID" 2>/dev/null || fail "redis-server did not start: $(cat "$d/redis.log")"
		[ "$SECONDS" -lt "$deadline" ] || fail "redis-server not listening on $port after 10s"
		sleep 0.05
	done
}

redis_pair() {
	ct_create pong "$ZT_NET4.2"
	ct_create ping "$ZT_NET4.3"
	redis_start pong "$ZT_NET4.2" "${1:-6379}"
}

# cli ARGS...: redis-cli in ping, against pong (a connection per call).
cli() { ct_exec ping redis-cli -h "$ZT_NET4.2" "$@"; }

# host_cli PORT ARGS...: redis-cli from the host (untraced).
host_cli() {
	local port=$1
	shift
	redis-cli -h "$ZT_NET4.2" -p "$port" "$@"
}

# redis_calls PORT: "cmd calls" for every command the server ran, from
# INFO commandstats.
redis_calls() {
	host_cli "$1" INFO commandstats | tr -d '\r' |
		sed -n 's/^cmdstat_\([^:]*\):calls=\([0-9]*\),.*/\1 \2/p' | sort
}

# calls_delta BEFORE AFTER CMD: calls of CMD between the two snapshots.
calls_delta() {
	local b a
	b=$(awk -v c="$3" '$1 == c {print $2}' <<<"$1")
	a=$(awk -v c="$3" '$1 == c {print $2}' <<<"$2")
	echo $((${a:-0} - ${b:-0}))
}

# The summary's redis counters that must stay 0 on clean traffic.
assert_redis_clean() {
	local k
	for k in unanswered orphan_responses resyncs overflow malformed midstream; do
		assert_eq "summary: redis $k" 0 "$(zt_summary_proto redis "$k")"
	done
}

# Each redis-cli command as both sides saw it: method, target, failed,
# error; bytes as RESP puts them on the wire.
test_redis_cli_spans() {
	redis_pair
	local out=$ZT_TMP/spans.json k
	ztrace_start "$out" --container pong --container ping
	cli SET k1 hello >/dev/null
	cli GET k1 >/dev/null
	cli HSET h f1 v1 f2 v2 >/dev/null
	cli INCR h >/dev/null     # a hash: WRONGTYPE
	cli INCR k1 >/dev/null    # "hello" is no integer: ERR
	cli FOOBAR x >/dev/null   # ERR unknown command
	cli CLIENT SETNAME myname >/dev/null
	cli CONFIG GET maxmemory >/dev/null
	ztrace_stop

	for k in client server; do
		local sel=".kind == \"$k\""
		assert_eq "$k spans" 8 "$(jcount "$out" "$sel")"
		assert_eq "$k methods" "SET GET HSET INCR INCR FOOBAR CLIENT CONFIG" "$(jvals "$out" "$sel" .method)"
		assert_eq "$k targets" "|||||||SETNAME|GET" "$(jvals "$out" "$sel" '"|" + .target' | tr -d ' ')"
		assert_eq "$k failed" "false false false true true true false false" "$(jvals "$out" "$sel" .failed)"
		assert_eq "$k errors" "||||WRONGTYPE|ERR|ERR||" "$(jvals "$out" "$sel" '"|" + .error' | tr -d ' ')"
		assert_spans "$out" "$sel" '.protocol == "redis" and .status == 0 and .flags == []' \
			"$k: redis, status 0, no data-quality flags"
	done
	# The RESP bytes of the command and of its reply.
	local set_len get_len
	set_len=$(printf '*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$5\r\nhello\r\n' | wc -c)
	get_len=$(printf '*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n' | wc -c)
	assert_eq "client SET bytes out/in" "$set_len 5" \
		"$(jvals "$out" '.kind == "client" and .method == "SET"' '"\(.bytes_out) \(.bytes_in)"')"
	assert_eq "server SET bytes in/out" "$set_len 5" \
		"$(jvals "$out" '.kind == "server" and .method == "SET"' '"\(.bytes_in) \(.bytes_out)"')"
	assert_eq "client GET bytes out/in" "$get_len 11" \
		"$(jvals "$out" '.kind == "client" and .method == "GET"' '"\(.bytes_out) \(.bytes_in)"')"
	assert_spans "$out" '.kind == "client"' ".comm == \"redis-cli\" and .peer == \"$ZT_NET4.2:6379\" and .container == \"ping\"" \
		"client spans are redis-cli's, to pong:6379"
	assert_spans "$out" '.kind == "server"' ".comm == \"redis-server\" and .local == \"$ZT_NET4.2:6379\" and .container == \"pong\"" \
		"server spans are redis-server's"
	assert_spans "$out" true '.duration_ns > 0' "durations"
	# Keys and values never show.
	assert_eq "spans naming a key or value" 0 \
		"$(grep -cE '"k1"|hello|myname|maxmemory' "$out" || true)"
	assert_eq "summary: redis txns" 16 "$(zt_summary_proto redis txns)"
	assert_redis_clean
}

# redis_bench_run CAPTURE [ARGS]: redis-benchmark -P 16 in ping; server spans
# must equal what the server ran, client spans too.
redis_bench_run() {
	local cap=$1 out=$ZT_TMP/bench-$1-$RANDOM.json before after n_set n_get n_cfg total
	shift
	before=$(redis_calls 6379)
	ztrace_start "$out" --container pong --container ping --capture-bytes "$cap"
	ct_exec ping redis-benchmark -h "$ZT_NET4.2" -P 16 -n 2000 -c 4 -t set,get -q "$@" >/dev/null
	ztrace_stop
	after=$(redis_calls 6379)
	n_set=$(calls_delta "$before" "$after" set)
	n_get=$(calls_delta "$before" "$after" get)
	n_cfg=$(calls_delta "$before" "$after" 'config|get')
	total=$((n_set + n_get + n_cfg))
	assert_ge "SETs the server ran" 2000 "$n_set"
	assert_ge "GETs the server ran" 2000 "$n_get"
	# Every command the server ran besides the INFO before ztrace started.
	assert_eq "commands the server ran (commandstats)" "$total" \
		"$(($(awk '{s += $2} END {print s}' <<<"$after") - $(awk '{s += $2} END {print s}' <<<"$before") - 1))"
	assert_eq "server spans (capture $cap)" "$total" "$(jcount "$out" '.kind == "server"')"
	assert_eq "client spans (capture $cap)" "$total" "$(jcount "$out" '.kind == "client"')"
	assert_eq "summary: redis txns" $((2 * total)) "$(zt_summary_proto redis txns)"
	assert_eq "summary: redis orphan_responses" 0 "$(zt_summary_proto redis orphan_responses)"
	assert_eq "summary: redis unanswered" 0 "$(zt_summary_proto redis unanswered)"
	assert_eq "failed spans" 0 "$(jcount "$out" '.failed')"
	BENCH_OUT=$out BENCH_SET=$n_set BENCH_GET=$n_get BENCH_CFG=$n_cfg
}

# Pipelining: 16 commands a write. With 4096 bytes captured every command is
# seen whole; at the default 512 the last commands of each batch are not
# captured, and their replies are emitted all the same, marked requests
# unseen.
test_redis_pipeline() {
	redis_pair
	local k
	redis_bench_run 4096
	for k in server client; do
		assert_eq "$k SET spans" "$BENCH_SET" "$(jcount "$BENCH_OUT" ".kind == \"$k\" and .method == \"SET\"")"
		assert_eq "$k GET spans" "$BENCH_GET" "$(jcount "$BENCH_OUT" ".kind == \"$k\" and .method == \"GET\"")"
		assert_eq "$k CONFIG GET spans" "$BENCH_CFG" \
			"$(jcount "$BENCH_OUT" ".kind == \"$k\" and .method == \"CONFIG\" and .target == \"GET\"")"
	done
	assert_gt "pipelined spans" 0 "$(jcount "$BENCH_OUT" '.flags == ["pipelined"]')"
	assert_spans "$BENCH_OUT" true '.flags - ["pipelined"] == []' "no flag but pipelined"
	assert_redis_clean

	redis_bench_run 512
	assert_gt "server spans of unseen commands (capture 512)" 0 \
		"$(jcount "$BENCH_OUT" '.kind == "server" and (.flags | index("request_unseen")) and .method == ""')"
	assert_spans "$BENCH_OUT" '.method != ""' '.method == "SET" or .method == "GET" or .method == "CONFIG"' \
		"every name seen is one the benchmark sent"

	# 1000-byte values: a batch's 16 KB of SETs, and of GET replies, is
	# captured only in part (4096 bytes). The SETs past it are unseen, the
	# GET replies past it are not framed: the next batch tells they were
	# there. (At 512 bytes a batch of GETs is cut too, and the reply to a
	# GET neither captured nor framed is not counted at all.)
	redis_bench_run 4096 -d 1000
	assert_gt "GET spans whose reply was not framed" 0 \
		"$(jcount "$BENCH_OUT" '.method == "GET" and (.flags | index("no_response"))')"
	assert_eq "spans with no response and no resync" 0 \
		"$(jcount "$BENCH_OUT" '(.flags | index("no_response")) and ((.flags | index("resync")) | not)')"
}

# A server on a port no table knows: the bytes alone say Redis, on both
# sides.
test_redis_unusual_port() {
	redis_pair 7001
	local out=$ZT_TMP/spans.json
	ztrace_start "$out" --container pong --container ping
	cli -p 7001 SET k1 hello >/dev/null
	cli -p 7001 GET k1 >/dev/null
	cli -p 7001 LPUSH l a b c >/dev/null
	cli -p 7001 LRANGE l 0 -1 >/dev/null
	ztrace_stop
	assert_eq "server methods" "SET GET LPUSH LRANGE" "$(jvals "$out" '.kind == "server"' .method)"
	assert_eq "client methods" "SET GET LPUSH LRANGE" "$(jvals "$out" '.kind == "client"' .method)"
	assert_spans "$out" true ".protocol == \"redis\" and .flags == [] and (.local == \"$ZT_NET4.2:7001\" or .peer == \"$ZT_NET4.2:7001\")" \
		"redis on 7001"
	# LRANGE's reply: *3 and three $1 strings.
	assert_eq "LRANGE bytes in" 25 "$(jvals "$out" '.kind == "client" and .method == "LRANGE"' .bytes_in)"
	assert_redis_clean
}

# RESP3: redis-cli -3 says HELLO 3 first; maps, nulls and errors follow.
test_redis_resp3() {
	redis_pair
	local out=$ZT_TMP/spans.json
	host_cli 6379 HSET h f1 v1 f2 v2 >/dev/null
	ztrace_start "$out" --container pong --container ping
	cli -3 HGETALL h >/dev/null
	cli -3 GET nokey >/dev/null
	cli -3 CONFIG GET maxmemory >/dev/null
	cli -3 INCR h >/dev/null
	ztrace_stop
	local k
	for k in client server; do
		local sel=".kind == \"$k\""
		assert_eq "$k methods" "HELLO HGETALL HELLO GET HELLO CONFIG HELLO INCR" "$(jvals "$out" "$sel" .method)"
		assert_eq "$k errors" "||||||||WRONGTYPE" "$(jvals "$out" "$sel" '"|" + .error' | tr -d ' ')"
		assert_spans "$out" "$sel" '.flags == [] and .protocol == "redis"' "$k: no data-quality flags"
	done
	# %2 map of four $2 strings; _ (RESP3 null); %1 map of two strings.
	assert_eq "client bytes in: HGETALL, GET, CONFIG" "36 3 26" \
		"$(jvals "$out" '.kind == "client" and (.method == "HGETALL" or .method == "GET" or .method == "CONFIG")' .bytes_in)"
	assert_spans "$out" '.method == "HELLO"' '.bytes_in + .bytes_out > 100' "HELLO 3's map reply"
	assert_redis_clean
}

# Pub/sub and MONITOR push messages the client never asked for: they are no
# replies, and nothing wedges.
test_redis_pubsub_monitor() {
	redis_pair
	local out=$ZT_TMP/spans.json
	ztrace_start "$out" --container pong --container ping
	ct_bg ping timeout 3 redis-cli -h "$ZT_NET4.2" SUBSCRIBE ch1 ch2 >"$ZT_TMP/sub.out"
	ct_bg ping timeout 3 redis-cli -h "$ZT_NET4.2" -3 SUBSCRIBE ch3 >"$ZT_TMP/sub3.out"
	ct_bg ping timeout 3 redis-cli -h "$ZT_NET4.2" MONITOR >"$ZT_TMP/monitor.out"
	zt_wait_for 5 "3 subscribers" sh -c "[ \"\$(redis-cli -h $ZT_NET4.2 PUBSUB NUMSUB ch1 ch3 | paste -sd' ')\" = 'ch1 1 ch3 1' ]"
	sleep 0.2
	cli PUBLISH ch1 hi >/dev/null
	cli PUBLISH ch2 hi >/dev/null
	cli PUBLISH ch3 yo >/dev/null
	cli SET k1 hello >/dev/null
	sleep 3.2
	ztrace_stop
	assert_eq "client methods" "HELLO MONITOR PUBLISH PUBLISH PUBLISH SET SUBSCRIBE SUBSCRIBE" \
		"$(jq -r 'select(.kind == "client") | .method' "$out" | sort | paste -sd' ')"
	assert_eq "server methods for ping" "HELLO MONITOR PUBLISH PUBLISH PUBLISH SET SUBSCRIBE SUBSCRIBE" \
		"$(jq -r "select(.kind == \"server\" and (.peer | startswith(\"$ZT_NET4.3:\"))) | .method" "$out" | sort | paste -sd' ')"
	assert_spans "$out" '.method == "SUBSCRIBE" or .method == "MONITOR"' '.flags == [] and (.failed | not)' \
		"SUBSCRIBE and MONITOR answered"
	# The pushes did flow on the traced connections.
	assert_eq "messages the RESP2 subscriber got" 2 "$(grep -c '^message$' "$ZT_TMP/sub.out")"
	assert_eq "messages the RESP3 subscriber got" 1 "$(grep -c '^message$' "$ZT_TMP/sub3.out")"
	assert_eq "PUBLISH and SET that MONITOR showed" 4 \
		"$(grep -cE "$ZT_NET4.3:[0-9]+\] \"(PUBLISH|SET)\"" "$ZT_TMP/monitor.out")"
	assert_eq "summary: redis orphan_responses" 0 "$(zt_summary_proto redis orphan_responses)"
	assert_eq "summary: redis resyncs" 0 "$(zt_summary_proto redis resyncs)"
	assert_eq "summary: redis malformed" 0 "$(zt_summary_proto redis malformed)"
}

# A connection that predates ztrace: no handshake seen, so no role; the
# first bytes and the port decide. Both sides count it midstream once.
test_redis_preexisting_conn() {
	redis_pair
	local out=$ZT_TMP/spans.json d=$ZT_TMP/held
	mkdir -p "$d"
	ct_bg ping "$ZT_PY" "$ZT_E2E_DIR/redis_held_conn.py" "$ZT_NET4.2" 6379 "$d"
	zt_wait_for 10 "the client's first PING" test -e "$d/ready"
	ztrace_start "$out" --container pong --container ping
	touch "$d/go"
	zt_wait_for 10 "the client's commands" test -e "$d/done"
	ztrace_stop
	local k
	for k in client server; do
		local sel=".kind == \"$k\""
		assert_eq "$k methods" "GET SET GET GET GET" "$(jvals "$out" "$sel" .method)"
		assert_eq "$k flags" "midstream - - pipelined pipelined" \
			"$(jvals "$out" "$sel" '.flags | if . == [] then "-" else join(",") end')"
	done
	assert_eq "summary: redis midstream" 2 "$(zt_summary_proto redis midstream)"
	assert_eq "summary: redis orphan_responses" 0 "$(zt_summary_proto redis orphan_responses)"
	assert_eq "summary: redis unanswered" 0 "$(zt_summary_proto redis unanswered)"
}

zt_main "$@"
