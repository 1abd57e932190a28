#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# MySQL protocol: mariadbd 10.11 in container pong, clients in container
# ping over TCP: the mariadb CLI (text protocol) and a libmariadb client of
# the binary protocol (mysql_stmt_client.c: prepared statements). One span
# per command with a reply, on both sides, with the SQL verb, the statement
# with its literals as '?', the error number and SQLSTATE of each error.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MY_USER=zt
MY_PASS=ztpw

# mysql_start: a fresh data directory and mariadbd in pong on
# 10.231.0.2:3306, plain TCP; user zt (password auth, from anywhere) and
# database zt made over the unix socket, which ztrace does not see.
mysql_start() {
	local d=$ZT_TMP/mariadb
	mkdir -p "$d"
	mariadb-install-db --datadir="$d/data" --user=root --auth-root-authentication-method=normal \
		--skip-test-db >"$d/install.log" 2>&1 || fail "mariadb-install-db: $(tail -n 5 "$d/install.log")"
	ct_bg pong mariadbd --no-defaults --datadir="$d/data" --user=root --bind-address="$(ct_ip pong)" \
		--port=3306 --skip-ssl --socket="$d/sock" --pid-file="$d/pid" --log-error="$d/err.log" \
		--skip-log-bin --skip-name-resolve --innodb-buffer-pool-size=16M >"$d/stderr.log" 2>&1
	MY_PID=$BG_PID
	local deadline=$((SECONDS + 30))
	until [ -S "$d/sock" ] && [ -n "$(ip netns exec zt-pong ss -Hltn 'sport = :3306' 2>/dev/null)" ]; do
		kill -0 "$MY_PID" 2>/dev/null || fail "mariadbd did not start: $(tail -n 5 "$d/err.log")"
		[ "$SECONDS" -lt "$deadline" ] || fail "mariadbd not listening after 30s: $(tail -n 5 "$d/err.log")"
		sleep 0.1
	done
	mariadb --no-defaults --socket="$d/sock" -uroot -e "CREATE USER $MY_USER@'%' IDENTIFIED BY '$MY_PASS';
		GRANT ALL ON *.* TO $MY_USER@'%'; CREATE DATABASE zt;" || fail "could not create the test user"
	MY_DIR=$d
}

mysql_pair() {
	ct_create pong "$ZT_NET4.2"
	ct_create ping "$ZT_NET4.3"
	mysql_start
}

# my_build_client: mysql_stmt_client.c against libmariadb (libmariadb-dev),
# as MY_CLIENT.
my_build_client() {
	MY_CLIENT=$ZT_TMP/mysql_stmt_client
	# shellcheck disable=SC2046 # pkg-config's words are separate flags
	gcc -O1 -Wall -Wextra -Werror $(pkg-config --cflags libmariadb) "$ZT_E2E_DIR/mysql_stmt_client.c" \
		-o "$MY_CLIENT" $(pkg-config --libs libmariadb) 2>"$ZT_TMP/cc.log" ||
		fail "could not build mysql_stmt_client (libmariadb-dev): $(head -n 5 "$ZT_TMP/cc.log")"
}

# The CLI over TCP, batch mode: --force goes on after the error.
my_cli() {
	ct_exec ping mariadb --no-defaults --skip-ssl --force -h "$(ct_ip pong)" -P 3306 -u"$MY_USER" \
		-p"$MY_PASS" zt "$@"
}

# A script through the CLI (text protocol): the spans on both sides are the
# script's statements, literals out, the missing table's error in place.
test_mysql_cli() {
	mysql_pair
	local out=$ZT_TMP/spans.json got
	ztrace_start "$out" --container pong --container ping
	got=$(my_cli 2>"$ZT_TMP/cli.err" <<'EOF' | paste -sd' '
CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20));
INSERT INTO t VALUES (1, 'alice'), (2, "bob");
SELECT name FROM t WHERE id = 2;
UPDATE t SET name = 'carol' WHERE id = 1 -- trailing comment
;
SELECT * FROM missing;
/* leading comment */ DELETE FROM t WHERE id = 2;
SELECT COUNT(*) FROM t WHERE name LIKE 'c%';
EOF
	) || true
	ztrace_stop
	assert_eq "what the CLI printed" "name bob COUNT(*) 1" "$got"
	assert_match "the CLI's error" "ERROR 1146 \\(42S02\\).*zt.missing" "$(cat "$ZT_TMP/cli.err")"
	local methods="CREATE INSERT SELECT UPDATE SELECT DELETE SELECT"
	local targets='CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(?))|INSERT INTO t VALUES (?, ?), (?, ?)|SELECT name FROM t WHERE id = ?|UPDATE t SET name = ? WHERE id = ?|SELECT * FROM missing|DELETE FROM t WHERE id = ?|SELECT COUNT(*) FROM t WHERE name LIKE ?'
	local side sel
	for side in client server; do
		sel=".kind == \"$side\""
		assert_eq "$side spans" 7 "$(jcount "$out" "$sel")"
		assert_eq "$side methods" "$methods" "$(jvals "$out" "$sel" .method)"
		assert_eq "$side targets" "$targets" \
			"$(jq -r -s "map(select($sel)) | sort_by(.start_ns) | map(.target) | join(\"|\")" "$out")"
		assert_eq "$side statuses" "0 0 0 0 1146 0 0" "$(jvals "$out" "$sel" .status)"
		assert_eq "$side errors" ",,,,42S02,," \
			"$(jq -r -s "map(select($sel)) | sort_by(.start_ns) | map(.error) | join(\",\")" "$out")"
		assert_eq "$side failed" "false false false false true false false" "$(jvals "$out" "$sel" .failed)"
	done
	assert_spans "$out" true '.protocol == "mysql" and .flags == [] and .duration_ns > 0' \
		"mysql, no data-quality flags"
	assert_spans "$out" '.kind == "client"' ".container == \"ping\" and .comm == \"mariadb\" and .peer == \"$(ct_ip pong):3306\"" \
		"client spans: the CLI in ping"
	assert_spans "$out" '.kind == "server"' ".container == \"pong\" and .local == \"$(ct_ip pong):3306\"" \
		"server spans: mariadbd in pong"
	# The two ends of each command agree on its size.
	assert_eq "client bytes_out = server bytes_in" "$(jvals "$out" '.kind == "server"' .bytes_in)" \
		"$(jvals "$out" '.kind == "client"' .bytes_out)"
	assert_eq "client bytes_in = server bytes_out" "$(jvals "$out" '.kind == "server"' .bytes_out)" \
		"$(jvals "$out" '.kind == "client"' .bytes_in)"
	assert_eq "literals in spans" 0 "$(grep -cE 'alice|bob|carol|c%' "$out" || true)"
	assert_eq "mysql connections" 2 "$(zt_summary_proto mysql conns)"
	assert_eq "mysql transactions" 14 "$(zt_summary_proto mysql txns)"
	local k
	for k in resyncs malformed midstream orphan_responses unanswered overflow; do
		assert_eq "mysql $k" 0 "$(zt_summary_proto mysql "$k")"
	done
}

# Past the capture: a result set of 3000 rows (about 150 KB, many writes,
# row headers never captured) ends where its final EOF shows in a message's
# last bytes; a statement longer than the capture is cut, and says so.
test_mysql_large() {
	mysql_pair
	local out=$ZT_TMP/spans.json got long
	long=$(head -c 4000 /dev/zero | tr '\0' 'q')
	ztrace_start "$out" --container pong --container ping
	got=$(my_cli -N <<EOF | awk 'NR == 1 || NR >= 3000' | tr '\t' ' ' | paste -sd' '
SELECT seq, REPEAT('x', 40) FROM seq_1_to_3000;
SELECT 1 + 1;
CREATE TABLE big (id INT, v TEXT);
INSERT INTO big VALUES (1, '$long');
SELECT COUNT(*), LENGTH(v) FROM big;
EOF
	)
	ztrace_stop
	local x40=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
	assert_eq "what the CLI printed (rows 1 and 3000, then the rest)" "1 $x40 3000 $x40 2 1 4000" "$got"
	local side sel
	for side in client server; do
		sel=".kind == \"$side\""
		assert_eq "$side methods" "SELECT SELECT CREATE INSERT SELECT" "$(jvals "$out" "$sel" .method)"
		assert_eq "$side targets" "SELECT seq, REPEAT(?, ?) FROM seq_1_to_3000|SELECT ? + ?|CREATE TABLE big (id INT, v TEXT)|INSERT INTO big VALUES (?, ?|SELECT COUNT(*), LENGTH(v) FROM big" \
			"$(jq -r -s "map(select($sel)) | sort_by(.start_ns) | map(.target) | join(\"|\")" "$out")"
		assert_eq "$side flags" '[] [] [] ["truncated"] []' \
			"$(jq -r -s "map(select($sel)) | sort_by(.start_ns) | map(.flags | tojson) | join(\" \")" "$out")"
		assert_eq "$side statuses" "0 0 0 0 0" "$(jvals "$out" "$sel" .status)"
	done
	# Rows n: a header, the lengths and the text of n and of 40 x's.
	assert_gt "bytes of the 3000 rows" "$((3000 * (4 + 1 + 1 + 40) + 9 + 90 * 2 + 900 * 3 + 2001 * 4))" \
		"$(jvals "$out" '.kind == "client" and (.target | contains("3000"))' .bytes_in)"
	assert_eq "client bytes_in = server bytes_out" "$(jvals "$out" '.kind == "server"' .bytes_out)" \
		"$(jvals "$out" '.kind == "client"' .bytes_in)"
	assert_eq "client bytes_out = server bytes_in" "$(jvals "$out" '.kind == "server"' .bytes_in)" \
		"$(jvals "$out" '.kind == "client"' .bytes_out)"
	assert_eq "literals in spans" 0 "$(grep -c qqqq "$out" || true)"
	local k
	for k in resyncs malformed midstream orphan_responses unanswered; do
		assert_eq "mysql $k" 0 "$(zt_summary_proto mysql "$k")"
	done
}

# Prepared statements through the binary protocol: PREPARE spans with the
# statement, EXECUTE spans with the prepared statement's verb and text.
test_mysql_prepared() {
	mysql_pair
	local out=$ZT_TMP/spans.json got
	my_build_client
	ztrace_start "$out" --container pong --container ping
	got=$(ct_exec ping "$MY_CLIENT" "$(ct_ip pong)" 3306 "$MY_USER" "$MY_PASS" zt | awk '{print $3}' | paste -sd' ')
	ztrace_stop
	# What the server answered, as the client saw it: 15 commands.
	assert_eq "client's statuses" "0 0 0 0 1062 0 0 0 1146 0 0 1049 0 0 0" "$got"
	local ins='INSERT INTO s (id, name) VALUES (?, ?)' sel='SELECT id, name FROM s WHERE id >= ? AND name <> ? ORDER BY id'
	local targets="CREATE TABLE IF NOT EXISTS s (id INT PRIMARY KEY, name VARCHAR(?))|$ins|$ins|$ins|$ins|$sel|$sel|$sel|SELECT * FROM missing WHERE id = ?||SELECT ?; SELECT ?, ?|nosuchdb|||s"
	local side sel_
	for side in client server; do
		sel_=".kind == \"$side\""
		assert_eq "$side spans" 15 "$(jcount "$out" "$sel_")"
		assert_eq "$side methods" "CREATE PREPARE INSERT INSERT INSERT PREPARE SELECT SELECT PREPARE PING SELECT INIT_DB RESET_CONNECTION CHANGE_USER FIELD_LIST" \
			"$(jvals "$out" "$sel_" .method)"
		assert_eq "$side targets" "$targets" \
			"$(jq -r -s "map(select($sel_)) | sort_by(.start_ns) | map(.target) | join(\"|\")" "$out")"
		assert_eq "$side statuses" "$got" "$(jvals "$out" "$sel_" .status)"
		assert_eq "$side errors" ",,,,23000,,,,42S02,,,42000,,," \
			"$(jq -r -s "map(select($sel_)) | sort_by(.start_ns) | map(.error) | join(\",\")" "$out")"
	done
	assert_spans "$out" true '.protocol == "mysql" and .flags == []' "mysql, no data-quality flags"
	assert_spans "$out" '.kind == "client"' '.container == "ping" and .comm == "mysql_stmt_clie"' \
		"client spans: the libmariadb client in ping"
	assert_eq "client bytes_in = server bytes_out" "$(jvals "$out" '.kind == "server"' .bytes_out)" \
		"$(jvals "$out" '.kind == "client"' .bytes_in)"
	assert_eq "literals in spans" 0 "$(grep -cwE "zz|one|two|dup" "$out" || true)"
	assert_eq "mysql transactions" 30 "$(zt_summary_proto mysql txns)"
	local k
	for k in resyncs malformed midstream orphan_responses unanswered overflow; do
		assert_eq "mysql $k" 0 "$(zt_summary_proto mysql "$k")"
	done
}

# A connection made before ztrace started: the handshake is not seen. The
# commands after it still make spans (the first marked midstream), the shape
# of result sets (EOF packets or not) read from the replies themselves.
test_mysql_midstream() {
	mysql_pair
	my_build_client
	local out=$ZT_TMP/spans.json got=$ZT_TMP/client.out go=$ZT_TMP/go
	ct_bg ping "$MY_CLIENT" "$(ct_ip pong)" 3306 "$MY_USER" "$MY_PASS" zt "$go" >"$got" 2>&1
	local cli=$BG_PID
	zt_wait_for 10 "the client's first query" grep -q QUERY "$got"
	ztrace_start "$out" --container pong --container ping
	touch "$go"
	zt_wait_for 20 "the client to finish" eval "! kill -0 $cli 2>/dev/null"
	ztrace_stop
	assert_eq "client's statuses" "0 0 0 0 1062 0 0 0 1146 0 0 1049 0 0 0" "$(awk '{print $3}' "$got" | paste -sd' ')"
	local side sel
	for side in client server; do
		sel=".kind == \"$side\""
		assert_eq "$side methods" "PREPARE INSERT INSERT INSERT PREPARE SELECT SELECT PREPARE PING SELECT INIT_DB RESET_CONNECTION CHANGE_USER FIELD_LIST" \
			"$(jvals "$out" "$sel" .method)"
		assert_eq "$side statuses" "0 0 0 1062 0 0 0 1146 0 0 1049 0 0 0" "$(jvals "$out" "$sel" .status)"
		assert_eq "$side flags" '["midstream"] [] [] [] [] [] [] [] [] [] [] [] [] []' \
			"$(jq -r -s "map(select($sel)) | sort_by(.start_ns) | map(.flags | tojson) | join(\" \")" "$out")"
		assert_eq "$side execute targets" "INSERT INTO s (id, name) VALUES (?, ?)|SELECT id, name FROM s WHERE id >= ? AND name <> ? ORDER BY id" \
			"$(jq -r -s "map(select($sel and (.method == \"INSERT\" or .method == \"SELECT\") and (.target | contains(\";\") | not))) | map(.target) | unique | join(\"|\")" "$out")"
	done
	assert_eq "mysql midstream" 2 "$(zt_summary_proto mysql midstream)"
	local k
	for k in resyncs malformed orphan_responses unanswered; do
		assert_eq "mysql $k" 0 "$(zt_summary_proto mysql "$k")"
	done
}

zt_main "$@"
