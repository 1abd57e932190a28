# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# An OTLP/HTTP receiver for the tests (sourced after lib.sh):
# tests/e2e/otlp_receiver.js decodes with the OpenTelemetry project's
# generated protobuf code, from the npm package
# @opentelemetry/otlp-transformer 0.52.1, installed under build/npm on first
# use.

OTLP_PKG=@opentelemetry/otlp-transformer@0.52.1
OTLP_NPM=$ZT_ROOT/build/npm
OTLP_ROOT_JS=$OTLP_NPM/node_modules/@opentelemetry/otlp-transformer/build/src/generated/root.js

# The official decoder, installed once per build directory.
otlp_npm() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		fail "node and npm are needed (scripts/install-deps.sh)"
	fi
	[ -s "$OTLP_ROOT_JS" ] && return 0
	zt_log "installing $OTLP_PKG into $OTLP_NPM"
	mkdir -p "$OTLP_NPM"
	npm install --prefix "$OTLP_NPM" --no-audit --no-fund --silent "$OTLP_PKG" >"$ZT_TMP/npm.log" 2>&1 ||
		fail "npm install $OTLP_PKG failed: $(tail -n 5 "$ZT_TMP/npm.log")"
	[ -s "$OTLP_ROOT_JS" ] || fail "$OTLP_PKG has no $OTLP_ROOT_JS"
}

# A free TCP port on the host's loopback: OTLP_PORT.
otlp_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 20000))
		[ -z "$(ss -Hltn "sport = :$p")" ] && { OTLP_PORT=$p; return 0; }
	done
	fail "no free port"
}

# otlp_rx_start [RECEIVER OPTIONS]: the receiver on 127.0.0.1:$OTLP_PORT (on
# the host: not traced), writing to $OTLP_DIR.
otlp_rx_start() {
	OTLP_DIR=$ZT_TMP/rx
	mkdir -p "$OTLP_DIR"
	node "$ZT_E2E_DIR/otlp_receiver.js" "$OTLP_ROOT_JS" 127.0.0.1 "$OTLP_PORT" "$OTLP_DIR" "$@" \
		>"$OTLP_DIR/stdout" 2>&1 9>&- &
	OTLP_RX_PID=$!
	disown "$OTLP_RX_PID"
	ZT_BG_PIDS+=("$OTLP_RX_PID")
	zt_wait_for 10 "the OTLP receiver to listen" test -e "$OTLP_DIR/listening"
}

otlp_rx_spans() { if [ -s "$OTLP_DIR/spans.jsonl" ]; then grep -c '' "$OTLP_DIR/spans.jsonl"; else echo 0; fi; }
otlp_has_spans() { [ "$(otlp_rx_spans)" -ge "$1" ]; }
