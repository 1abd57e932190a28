#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# PostgreSQL 15 (Debian's) in container pong, psql and pgbench in ping: one
# span per statement, on each side traced, with the statement's verb, its
# text without literals, the SQLSTATE of an error; pgbench's extended and
# prepared modes pair every Execute; a server on another port is known by
# its startup bytes, and a connection older than ztrace by its port.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_BIN=/usr/lib/postgresql/15/bin

# pg_start NAME IP PORT: initdb in the test's temp dir, then postgres in the
# container as user postgres, trusting the containers' network; TLS only
# with PG_SSL=1 (a self-signed certificate). Sets PG_DIR.
pg_start() {
	local name=$1 ip=$2 port=$3 d=$ZT_TMP/pg ssl=(-c ssl=off)
	[ -x "$PG_BIN/postgres" ] || fail "no PostgreSQL 15 in $PG_BIN (scripts/install-deps.sh)"
	# postgres must reach its directories inside the test's temp dir.
	chmod 711 "$ZT_TMP"
	mkdir -p "$d/data" "$d/sock"
	chown postgres: "$d/data" "$d/sock"
	setpriv --reuid postgres --regid postgres --init-groups \
		"$PG_BIN/initdb" -D "$d/data" -A trust -U postgres --no-sync >"$d/initdb.log" 2>&1 ||
		fail "initdb failed: $(tail -n 5 "$d/initdb.log")"
	echo "host all all $ZT_NET4.0/24 trust" >>"$d/data/pg_hba.conf"
	if [ "${PG_SSL:-0}" = 1 ]; then
		zt_tls_cert
		install -o postgres -m 600 "$ZT_TMP/tls/cert.pem" "$ZT_TMP/tls/key.pem" "$d/data/"
		ssl=(-c ssl=on -c ssl_cert_file=cert.pem -c ssl_key_file=key.pem)
	fi
	ct_bg "$name" setpriv --reuid postgres --regid postgres --init-groups \
		"$PG_BIN/postgres" -D "$d/data" -c "listen_addresses=$ip" -c "port=$port" \
		-c "unix_socket_directories=$d/sock" -c fsync=off "${ssl[@]}" \
		-c shared_buffers=16MB -c max_connections=20 >"$d/postgres.log" 2>&1
	PG_DIR=$d
	local deadline=$((SECONDS + 20))
	until [ -n "$(ip netns exec "zt-$name" ss -Hltn "sport = :$port" 2>/dev/null)" ]; do
		kill -0 "$BG_PID" 2>/dev/null || fail "postgres did not start: $(tail -n 5 "$d/postgres.log")"
		[ "$SECONDS" -lt "$deadline" ] || fail "postgres not listening on $port after 20s"
		sleep 0.1
	done
}

# pg_pair [PORT]: pong with PostgreSQL on PORT (5432), ping for clients.
pg_pair() {
	ct_create pong "$ZT_NET4.2"
	ct_create ping "$ZT_NET4.3"
	pg_start pong "$ZT_NET4.2" "${1:-5432}"
}

# psql in ping against pong, as the superuser; no psqlrc, quiet.
ping_psql() {
	ct_exec ping psql -h "$ZT_NET4.2" -p "${PG_PORT:-5432}" -U postgres -X -q "$@"
}

# What the summary counted for postgresql: KEY=N for the drop counters.
pg_quality() {
	local k out=""
	for k in unanswered orphan_responses resyncs overflow malformed midstream; do
		out+="$k=$(zt_summary_proto postgresql "$k") "
	done
	echo "${out% }"
}

PG_CLEAN="unanswered=0 orphan_responses=0 resyncs=0 overflow=0 malformed=0 midstream=0"

# A script of statements by psql -f (each its own Query) and a string of two
# by psql -c (one Query): exact spans on the server's side and the client's.
test_pgsql_psql() {
	pg_pair
	local out=$ZT_TMP/spans.json script=$ZT_TMP/script.sql t0 t1
	cat >"$script" <<'EOF'
CREATE TABLE items (id int PRIMARY KEY, name text, price numeric);
INSERT INTO items VALUES (1, 'apple', 1.25), (2, 'it''s', 2.5);
SELECT id, name FROM items WHERE name = 'apple' AND price > 1.0;
UPDATE items SET price = 3.75 WHERE id = 2;
SELECT * FROM missing_table WHERE id = 42;
DELETE   FROM items  -- the last one
  WHERE id = 1;
EOF
	ztrace_start "$out" --container pong --container ping
	t0=$(date +%s%N)
	ping_psql -f "$script" >"$ZT_TMP/psql.out" 2>"$ZT_TMP/psql.err"
	ping_psql -c "SELECT 'secret', \$\$dollar\$\$; SELECT 7" >>"$ZT_TMP/psql.out"
	t1=$(date +%s%N)
	ztrace_stop

	assert_match "psql saw the error" 'relation "missing_table" does not exist' "$(cat "$ZT_TMP/psql.err")"
	local ops="CREATE INSERT SELECT UPDATE SELECT DELETE SELECT"
	local targets="CREATE TABLE items (id int PRIMARY KEY, name text, price numeric);|INSERT INTO items VALUES (?, ?, ?), (?, ?, ?);|SELECT id, name FROM items WHERE name = ? AND price > ?;|UPDATE items SET price = ? WHERE id = ?;|SELECT * FROM missing_table WHERE id = ?;|DELETE FROM items WHERE id = ?;|SELECT ?, ?; SELECT ?"
	local side
	for side in server client; do
		local sel=".kind == \"$side\""
		assert_eq "$side spans" 7 "$(jcount "$out" "$sel")"
		assert_eq "$side operations" "$ops" "$(jvals "$out" "$sel" .method)"
		assert_eq "$side statements" "$targets" \
			"$(jq -r -s "map(select($sel)) | sort_by(.start_ns) | map(.target) | join(\"|\")" "$out")"
		assert_eq "$side errors" ",,,,42P01,," \
			"$(jq -r -s "map(select($sel)) | sort_by(.start_ns) | map(.error) | join(\",\")" "$out")"
		assert_eq "$side failed" "false false false false true false false" "$(jvals "$out" "$sel" .failed)"
	done
	assert_spans "$out" true '.protocol == "postgresql" and .status == 0 and .flags == []' \
		"postgresql, status 0, no data-quality flags"
	assert_spans "$out" '.kind == "server"' \
		".container == \"pong\" and .comm == \"postgres\" and .local == \"$(ct_ip pong):5432\" and (.peer | startswith(\"$(ct_ip ping):\"))" \
		"server spans: postgres in pong"
	assert_spans "$out" '.kind == "client"' \
		".container == \"ping\" and .comm == \"psql\" and .peer == \"$(ct_ip pong):5432\"" \
		"client spans: psql in ping"
	# Each statement's two ends agree on its size.
	assert_eq "client bytes_out = server bytes_in" "$(jvals "$out" '.kind == "server"' .bytes_in)" \
		"$(jvals "$out" '.kind == "client"' .bytes_out)"
	assert_eq "client bytes_in = server bytes_out" "$(jvals "$out" '.kind == "server"' .bytes_out)" \
		"$(jvals "$out" '.kind == "client"' .bytes_in)"
	# The Query is the message's bytes: type, length, text, NUL.
	assert_eq "bytes of the CREATE's Query" 72 \
		"$(jvals "$out" '.kind == "server" and .method == "CREATE"' .bytes_in)"
	assert_eq "literals in the output" 0 \
		"$(grep -cE "apple|it''s|secret|dollar" "$out" || true)"
	assert_span_times "$out" true "$t0" "$t1"
	assert_eq "postgresql connections (both ends of 2)" 4 "$(zt_summary_proto postgresql conns)"
	assert_eq "postgresql txns" 14 "$(zt_summary_proto postgresql txns)"
	assert_eq "postgresql quality counters" "$PG_CLEAN" "$(pg_quality)"
}

# pgbench MODE N: N transactions of the built-in TPC-B-like script on each
# of 2 clients, both ends traced. Server spans: the 7 statements of the
# script per transaction, and the 2 queries pgbench makes first (the scale,
# partitions); pgbench's client spans are the same statements.
pgbench_spans() {
	local mode=$1 n=$2 out=$ZT_TMP/spans-$1.json
	ztrace_start "$out" --container pong --container ping
	ct_exec ping pgbench -h "$ZT_NET4.2" -U postgres -n -t "$n" -c 2 -M "$mode" postgres \
		>"$ZT_TMP/pgbench-$mode.out" 2>&1 || fail "pgbench -M $mode: $(tail -n 3 "$ZT_TMP/pgbench-$mode.out")"
	ztrace_stop
	assert_match "pgbench -M $mode ran every transaction" \
		"number of transactions actually processed: $((2 * n))/$((2 * n))" "$(cat "$ZT_TMP/pgbench-$mode.out")"

	local tpcb='.target | IN("BEGIN;", "END;",
		"UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2;",
		"SELECT abalance FROM pgbench_accounts WHERE aid = $1;",
		"UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2;",
		"UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2;",
		"INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP);")'
	assert_eq "-M $mode: server spans" $((7 * 2 * n + 2)) "$(jcount "$out" '.kind == "server"')"
	assert_eq "-M $mode: client spans" $((7 * 2 * n + 2)) "$(jcount "$out" '.kind == "client"')"
	assert_eq "-M $mode: client statements = server statements" \
		"$(jq -r -s 'map(select(.kind == "server")) | group_by(.target) | map("\(length) \(.[0].target)") | join("|")' "$out")" \
		"$(jq -r -s 'map(select(.kind == "client")) | group_by(.target) | map("\(length) \(.[0].target)") | join("|")' "$out")"
	assert_spans "$out" '.kind == "client"' '.comm == "pgbench" and .container == "ping"' "-M $mode: client spans: pgbench"
	local srv=".kind == \"server\""
	assert_eq "-M $mode: server spans of the script's statements" $((7 * 2 * n)) "$(jcount "$out" "$srv and ($tpcb)")"
	assert_eq "-M $mode: server operations" \
		"BEGIN=$((2 * n)) END=$((2 * n)) INSERT=$((2 * n)) SELECT=$((2 * n + 2)) UPDATE=$((6 * n))" \
		"$(jq -r -s "map(select($srv)) | group_by(.method) | map(\"\\(.[0].method)=\\(length)\") | join(\" \")" "$out")"
	# The second is longer than a target: cut, and marked so.
	assert_eq "-M $mode: the 2 queries before" \
		'SELECT select count(*) from pgbench_branches [] SELECT select o.n, p.partstrat, pg_catalog.count(i.inhpar ["target_cut"]' \
		"$(jq -r -s "map(select($srv and (($tpcb) | not))) | sort_by(.start_ns) | map(.method, (.target | .[:50]), (.flags | tostring)) | join(\" \")" "$out")"
	assert_spans "$out" "$tpcb" '.failed == false and .error == "" and .flags == []' \
		"-M $mode: no errors, no data-quality flags"
	# An Execute's request is its group: Parse (110 bytes of the INSERT's
	# text), Bind, Describe, Execute, Sync; prepared, the Parse went before.
	if [ "$mode" = extended ]; then
		assert_spans "$out" "$srv and .method == \"INSERT\"" '.bytes_in > 150' "-M $mode: the INSERT's request has its Parse"
	else
		assert_spans "$out" "$srv and .method == \"INSERT\"" '.bytes_in > 50 and .bytes_in < 100' \
			"-M $mode: the INSERT's request is its Bind group"
	fi
	assert_eq "-M $mode: postgresql quality counters" "$PG_CLEAN" "$(pg_quality)"
}

test_pgsql_pgbench() {
	pg_pair
	# The tables are made before tracing (COPY and all).
	ct_exec ping pgbench -h "$ZT_NET4.2" -U postgres -i -q postgres >"$ZT_TMP/pgbench-i.out" 2>&1 ||
		fail "pgbench -i: $(tail -n 3 "$ZT_TMP/pgbench-i.out")"
	pgbench_spans extended 25
	pgbench_spans prepared 25
}

# A server on port 6543: known by the StartupMessage (after the SSLRequest
# psql sends first), not by its port.
test_pgsql_odd_port() {
	PG_PORT=6543
	pg_pair "$PG_PORT"
	local out=$ZT_TMP/spans.json
	ztrace_start "$out" --container pong
	ping_psql -c "SELECT 6543 AS port" >/dev/null
	ztrace_stop
	assert_eq "spans" 1 "$(jcount "$out" true)"
	assert_spans "$out" true \
		".kind == \"server\" and .protocol == \"postgresql\" and .method == \"SELECT\" and .target == \"SELECT ? AS port\" and .local == \"$(ct_ip pong):6543\"" \
		"the statement, on port 6543"
	assert_eq "postgresql quality counters" "$PG_CLEAN" "$(pg_quality)"
}

# A session opened before ztrace started: its next Query is recognised
# mid-connection, on port 5432 only, and marked so.
test_pgsql_preexisting() {
	pg_pair
	local out=$ZT_TMP/spans.json fifo=$ZT_TMP/psql.in
	mkfifo "$fifo"
	ct_bg ping psql -h "$ZT_NET4.2" -U postgres -X -q -f "$fifo" >"$ZT_TMP/psql.out" 2>&1
	exec 7>"$fifo"
	echo "SELECT 1;" >&7
	zt_wait_for 10 "the first answer" grep -q 1 "$ZT_TMP/psql.out"
	ztrace_start "$out" --container pong
	echo "SELECT 'two', 2;" >&7
	echo "UPDATE pg_class SET relname = relname WHERE false;" >&7
	zt_wait_for 10 "both answers" grep -q two "$ZT_TMP/psql.out"
	sleep 0.3
	ztrace_stop
	exec 7>&-
	assert_eq "operations" "SELECT UPDATE" "$(jvals "$out" true .method)"
	assert_eq "statements" "SELECT ?, ?;|UPDATE pg_class SET relname = relname WHERE false;" \
		"$(jq -r -s 'sort_by(.start_ns) | map(.target) | join("|")' "$out")"
	assert_eq "flags" '["midstream"] []' "$(jq -c -s 'sort_by(.start_ns) | map(.flags) | .[]' "$out" | paste -sd' ')"
	assert_eq "midstream connections" 1 "$(zt_summary_proto postgresql midstream)"
}

# An answer of 300 KB, sent and read in pieces cut by the 512-byte capture:
# it ends at its ReadyForQuery all the same, marked, and the next statement
# pairs as before, on both ends.
test_pgsql_big_result() {
	pg_pair
	local out=$ZT_TMP/spans.json side
	ztrace_start "$out" --container pong --container ping
	ping_psql -c "SELECT repeat('x', 100) FROM generate_series(1, 3000)" -c "SELECT 2" >"$ZT_TMP/psql.out"
	ztrace_stop
	assert_eq "rows psql got" 3000 "$(grep -c xxxxxxxxxx "$ZT_TMP/psql.out")"
	for side in server client; do
		local sel=".kind == \"$side\""
		assert_eq "$side statements" "SELECT repeat(?, ?) FROM generate_series(?, ?)|SELECT ?" \
			"$(jq -r -s "map(select($sel)) | sort_by(.start_ns) | map(.target) | join(\"|\")" "$out")"
		assert_eq "$side: the second span is whole" '[]' \
			"$(jq -c -s "map(select($sel)) | sort_by(.start_ns) | .[1].flags" "$out")"
		assert_spans "$out" "$sel and .target != \"SELECT ?\"" \
			'.flags - ["truncated", "resync"] == [] and .flags != [] and .duration_ns > 0' \
			"$side: the long answer is marked as seen in part"
	done
	# What the server sent is what the client received, cut or not.
	assert_eq "client bytes_in = server bytes_out" "$(jvals "$out" '.kind == "server"' .bytes_out)" \
		"$(jvals "$out" '.kind == "client"' .bytes_in)"
	assert_eq "postgresql malformed, unanswered, orphans" "0 0 0" \
		"$(zt_summary_proto postgresql malformed) $(zt_summary_proto postgresql unanswered) $(zt_summary_proto postgresql orphan_responses)"
}

# TLS: the server answers psql's SSLRequest with 'S'; the socket's bytes
# are ciphertext from there on (ignored, not malformed) and the statements
# come from the OpenSSL probes' plaintext on both ends, which starts with a
# StartupMessage again.
test_pgsql_tls() {
	PG_SSL=1 pg_pair
	local out=$ZT_TMP/spans.json
	ztrace_start "$out" --container pong --container ping
	ct_exec ping psql "host=$ZT_NET4.2 user=postgres sslmode=require" -X -q \
		-c "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" \
		-c "SELECT 'over tls', 2" >"$ZT_TMP/psql.out"
	ztrace_stop
	assert_match "psql's session was TLS" "^ *t *$" "$(sed -n 3p "$ZT_TMP/psql.out")"
	local side
	for side in server client; do
		assert_eq "$side statements" "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()|SELECT ?, ?" \
			"$(jq -r -s "map(select(.kind == \"$side\")) | sort_by(.start_ns) | map(.target) | join(\"|\")" "$out")"
	done
	assert_spans "$out" true '.tls == true and .protocol == "postgresql" and .flags == [] and .failed == false' \
		"tls, no data-quality flags"
	assert_eq "opaque tls connections" 0 "$(zt_summary_get opaque)"
	assert_eq "postgresql quality counters" "$PG_CLEAN" "$(pg_quality)"
}

zt_main "$@"
