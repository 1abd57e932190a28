#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Owners: a real runc container (busybox httpd from busybox-static, in the
# test's cgroup ztrace-test/pong and netns zt-pong) whose OCI config.json
# carries owner annotations; curl in container ping calls it. ztrace finds
# the runc container by its cgroup (its runc id is not the cgroup's name),
# puts the annotations' owner on pong's spans, lets --owners FILE override
# one field and name ping's owner, exports them as OTLP resource attributes,
# and names pong's pager in the trace verdict.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNC_ID=ztrace-e2e-owners
TEAM=team-pong
SOURCE=https://git.example.test/pong.git
PAGER=pong-oncall@example.test

# shellcheck source=otlp_lib.sh
. "$ZT_E2E_DIR/otlp_lib.sh"

# runc's container and the v1 cgroups runc makes beside the cgroup2 one on a
# hybrid host (lib.sh removes the cgroup2 ones).
runc_cleanup() {
	local d
	runc delete -f "$RUNC_ID" >/dev/null 2>&1 || true
	for d in /sys/fs/cgroup/*/ztrace-test/pong /sys/fs/cgroup/*/ztrace-test; do
		[ "$d" = "$ZT_CG_BASE" ] || [ "$d" = "$ZT_CG_BASE/pong" ] || rmdir "$d" 2>/dev/null || true
	done
}

# Before zt_cleanup, whatever the test's fate, which zt_cleanup reads from $?.
owners_exit() {
	local rc=$?
	set +e
	runc_cleanup
	if [ "$rc" -eq 0 ]; then zt_cleanup; else (exit "$rc") || zt_cleanup; fi
}

# runc_pong: busybox httpd as runc container $RUNC_ID in pong's cgroup and
# netns, on 10.231.0.2:8080; /cgi-bin/slow answers after 200 ms.
runc_pong() {
	local b=$ZT_TMP/bundle
	command -v runc >/dev/null || fail "runc is needed (scripts/install-deps.sh)"
	[ -x /bin/busybox ] || fail "busybox-static is needed (scripts/install-deps.sh)"
	trap owners_exit EXIT
	runc delete -f "$RUNC_ID" >/dev/null 2>&1 || true
	ct_create pong "$ZT_NET4.2"
	ct_create ping "$ZT_NET4.3"
	mkdir -p "$b/rootfs/bin" "$b/rootfs/www/cgi-bin" "$b/rootfs/proc" "$b/rootfs/dev" "$b/rootfs/tmp"
	cp /bin/busybox "$b/rootfs/bin/busybox"
	ln -s busybox "$b/rootfs/bin/sh"
	ln -s busybox "$b/rootfs/bin/sleep"
	printf 'hello from runc\n' >"$b/rootfs/www/index.html"
	printf '#!/bin/sh\nsleep 0.2\nprintf "Content-Type: text/plain\\r\\n\\r\\nslow\\n"\n' \
		>"$b/rootfs/www/cgi-bin/slow"
	chmod +x "$b/rootfs/www/cgi-bin/slow"
	(cd "$b" && runc spec)
	jq --arg team "$TEAM" --arg src "$SOURCE" --arg pager "$PAGER" --arg cg "/ztrace-test/pong" '
		.process.terminal = false |
		.process.args = ["/bin/busybox", "httpd", "-f", "-p", "10.231.0.2:8080", "-h", "/www"] |
		.root.readonly = false |
		.hostname = "pong" |
		.annotations = {"owner": $team, "org.opencontainers.image.source": $src, "oncall": $pager,
			"org.opencontainers.image.vendor": "Not The Owner"} |
		.linux.cgroupsPath = $cg |
		.linux.namespaces = [.linux.namespaces[] | select(.type != "network")] +
			[{"type": "network", "path": "/run/netns/zt-pong"}]' \
		"$b/config.json" >"$b/config.json.new"
	mv "$b/config.json.new" "$b/config.json"
	(cd "$b" && runc run -d "$RUNC_ID" >"$ZT_TMP/runc.log" 2>&1 </dev/null) ||
		fail "runc run failed: $(cat "$ZT_TMP/runc.log")"
	zt_wait_for 10 "busybox httpd to listen in pong" \
		sh -c "ip netns exec zt-pong ss -Hltn 'sport = :8080' | grep -q ."
	local pid
	pid=$(runc state "$RUNC_ID" | jq -r .pid)
	grep -qx "$pid" "$(ct_cgroup pong)/cgroup.procs" ||
		fail "runc's container (pid $pid) is not in $(ct_cgroup pong)"
	pass "runc's container $RUNC_ID (pid $pid) serves in pong's cgroup"
}

traffic() {
	local i
	for i in 1 2 3; do
		ct_exec ping curl -sS -o /dev/null "http://$ZT_NET4.2:8080/index.html"
	done
	ct_exec ping curl -sS -o /dev/null "http://$ZT_NET4.2:8080/cgi-bin/slow"
}

zt_json_spans() { [ "$(jcount "$ZT_OUT" '(.type // "") != "trace"')" -ge "$1" ]; }
zt_json_traces() { [ "$(jcount "$ZT_OUT" '.type == "trace"')" -ge "$1" ]; }

# The annotations alone: pong's spans carry them, ping's (a plain cgroup,
# no runtime) none.
test_owners_from_annotations() {
	runc_pong
	ztrace_start "$ZT_TMP/spans.json" --container ping --container pong --traces
	traffic
	zt_wait_for 10 "8 spans" zt_json_spans 8
	zt_wait_for 10 "4 traces" zt_json_traces 4
	ztrace_stop

	assert_eq "pong's server spans" 4 "$(jcount "$ZT_OUT" '.container == "pong" and .kind == "server"')"
	assert_eq "ping's client spans" 4 "$(jcount "$ZT_OUT" '.container == "ping" and .kind == "client"')"
	assert_spans "$ZT_OUT" '.container == "pong"' \
		".owner == {\"team\": \"$TEAM\", \"source\": \"$SOURCE\", \"pager\": \"$PAGER\"}" \
		"pong's owner from runc's annotations (vendor not taken for the team)"
	assert_eq "spans of ping with an owner" 0 "$(jcount "$ZT_OUT" '.container == "ping" and has("owner")')"
	assert_eq "targets of pong's spans" "/index.html /index.html /index.html /cgi-bin/slow" \
		"$(jvals "$ZT_OUT" '.container == "pong"' .target)"
	# /cgi-bin/slow: 200 ms in pong (the fast ones may be ping's: its
	# share holds busybox's fork before the request is read).
	assert_eq "trace records" 4 "$(jcount "$ZT_OUT" '.type == "trace"')"
	assert_match "the slow trace's verdict names pong's pager" \
		"^page $PAGER: 2[0-9][0-9] ms of 2[0-9][0-9] ms in pong$" \
		"$(jq -r 'select(.type == "trace" and .duration_ns > 150000000) | .verdict' "$ZT_OUT")"
	assert_match "the owners line" \
		"^ztrace: owners: cgroups=2 known=1 runtime=1 rechecks=[0-9]+ resets=0 owners=1 owners_full=0$" \
		"$(grep '^ztrace: owners: ' "$ZT_OUT.err")"
}

# --owners FILE: overrides pong's pager (team and source stay the
# annotations'), names ping's team; the same owners reach the collector as
# resource attributes; the verdict pages the file's pager.
test_owners_file_and_otlp() {
	otlp_npm
	runc_pong
	otlp_port
	otlp_rx_start
	cat >"$ZT_TMP/owners" <<-EOF
		# pong's pager from the file wins over its oncall annotation
		pong   pager="#pong-pager"
		pi?g   team=team-ping   # a glob
		ztrace-e2e-own*   source=https://runc-id.example.test   # runc's id for pong
		*      source=https://never.example.test   # every other container
	EOF
	ztrace_start "$ZT_TMP/spans.json" --container ping --container pong --traces \
		--owners "$ZT_TMP/owners" --otlp "127.0.0.1:$OTLP_PORT"
	traffic
	zt_wait_for 10 "8 spans" zt_json_spans 8
	zt_wait_for 10 "4 traces" zt_json_traces 4
	zt_wait_for 10 "8 spans at the collector" otlp_has_spans 8
	ztrace_stop

	# The file speaks for a field first; '*' gives every other container a source.
	assert_spans "$ZT_OUT" '(.type // "") != "trace" and .container == "pong"' \
		".owner == {\"team\": \"$TEAM\", \"source\": \"https://runc-id.example.test\", \"pager\": \"#pong-pager\"}" \
		"pong: team from the annotations, source (by runc's id) and pager from the file"
	assert_spans "$ZT_OUT" '(.type // "") != "trace" and .container == "ping"' \
		'.owner == {"team": "team-ping", "source": "https://never.example.test"}' \
		"ping: team and source from the file"
	assert_eq "spans received" 8 "$(grep -c '' "$OTLP_DIR/spans.jsonl")"
	assert_eq "pong's resources' owner attributes" \
		"$TEAM https://runc-id.example.test #pong-pager" \
		"$(jq -r 'select(.resource["service.name"] == "pong") | [.resource["ztrace.owner.team"],
			.resource["vcs.repository.url.full"], .resource["ztrace.owner.pager"]] | join(" ")' \
			"$OTLP_DIR/spans.jsonl" | sort -u)"
	assert_eq "ping's resources' owner attributes" "team-ping https://never.example.test -" \
		"$(jq -r 'select(.resource["service.name"] == "ping") | [.resource["ztrace.owner.team"],
			.resource["vcs.repository.url.full"], .resource["ztrace.owner.pager"] // "-"] | join(" ")' \
			"$OTLP_DIR/spans.jsonl" | sort -u)"
	local res
	# grep, not jq: jq 1.6 rounds unix-ns integers to doubles.
	grep -v '^{"type":"trace"' "$ZT_OUT" >"$ZT_TMP/spans_only.json"
	res=$(node "$ZT_E2E_DIR/otlp_compare.js" "$ZT_TMP/spans_only.json" "$OTLP_DIR/spans.jsonl" \
		"$(hostname)") || fail "OTLP spans differ from ztrace's --json: $res"
	pass "$res: every field as in --json"
	assert_match "the slow trace's verdict pages the file's pager" \
		"^page #pong-pager: 2[0-9][0-9] ms of 2[0-9][0-9] ms in pong$" \
		"$(jq -r 'select(.type == "trace" and .duration_ns > 150000000) | .verdict' "$ZT_OUT")"
}

# A bad file: one line naming the file and line, exit 2, before anything.
test_owners_bad_file() {
	printf 'pong team=a\n\nping tema=b\n' >"$ZT_TMP/owners"
	ztrace_expect_error --all --owners "$ZT_TMP/owners"
	assert_eq "the message" "ztrace: --owners $ZT_TMP/owners:3: unknown key 'tema' (team, source or pager)" \
		"$(cat "$ZT_TMP/err.err")"
	ztrace_expect_error --all --owners "$ZT_TMP/nonexistent"
	assert_eq "the message" "ztrace: --owners $ZT_TMP/nonexistent: No such file or directory" \
		"$(cat "$ZT_TMP/err.err")"
}

zt_main "$@"
