// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// Compares ztrace's --json spans with what otlp_receiver.js decoded from the
// same run's OTLP requests: every ztrace span arrived exactly once and
// nothing else did, and each field of each OTLP span (ids, parent, name,
// kind, times, status, every resource and span attribute and its type) is
// what the JSON span says, by the mapping in user/export/otlp_pb.c written
// out again here.
//
//   node otlp_compare.js ZTRACE_JSONL RECEIVED_SPANS_JSONL HOSTNAME
//
// Prints "compared N spans" or the differences (exit 1).
'use strict';
const fs = require('fs');

const [ztFile, rxFile, hostname] = process.argv.slice(2);
const lines = (f) => fs.readFileSync(f, 'utf8').split('\n').filter((l) => l);
// Nanoseconds since 1970 do not fit a double: read them as written.
const ztSpan = (l) => {
	const s = JSON.parse(l);
	s.start_ns = BigInt(/"start_ns":([0-9]+)/.exec(l)[1]);
	s.duration_ns = BigInt(/"duration_ns":([0-9]+)/.exec(l)[1]);
	return s;
};
const zt = lines(ztFile).map(ztSpan);
const rx = fs.existsSync(rxFile) ? lines(rxFile).map((l) => JSON.parse(l)) : [];
const errors = [];
const err = (m) => { if (errors.length < 30) errors.push(m); };

function splitAddr(a) {
	const i = a.lastIndexOf(':');
	let ip = a.slice(0, i);
	if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
	return [ip, Number(a.slice(i + 1))];
}

function expected(s) {
	const A = {}, T = {};
	const put = (k, v, t) => { if (t !== 'stringValue' || v !== '') { A[k] = v; T[k] = t; } };
	const S = (k, v) => put(k, v, 'stringValue');
	const I = (k, v) => put(k, String(v), 'intValue');
	let name = '';
	const http = s.protocol === 'http' || s.protocol === 'http2';
	if (http) {
		const q = s.target.indexOf('?');
		const p = q < 0 ? s.target : s.target.slice(0, q), query = q < 0 ? '' : s.target.slice(q + 1);
		name = (s.method || 'HTTP') + (p ? ' ' + p : '');
		S('http.request.method', s.method);
		S('url.path', p);
		S('url.query', query);
		S('url.scheme', s.tls ? 'https' : 'http');
		if (s.status > 0) I('http.response.status_code', s.status);
		S('network.protocol.name', 'http');
		S('network.protocol.version', s.protocol === 'http2' ? '2' : '1.1');
	} else if (s.protocol === 'grpc') {
		const t = s.target.startsWith('/') ? s.target.slice(1) : s.target;
		const i = t.indexOf('/');
		name = t || 'grpc';
		S('rpc.system', 'grpc');
		if (i >= 0) { S('rpc.service', t.slice(0, i)); S('rpc.method', t.slice(i + 1)); }
		if (!s.flags.includes('no_response')) I('rpc.grpc.status_code', s.status);
		S('network.protocol.name', 'http');
		S('network.protocol.version', '2');
	} else if (['redis', 'postgresql', 'mysql'].includes(s.protocol)) {
		S('db.system', s.protocol);
		S('db.operation.name', s.method);
		S('db.query.text', s.protocol === 'redis' ? s.method + (s.target ? ' ' + s.target : '') : s.target);
		if (s.failed)
			S('db.response.status_code', s.protocol === 'mysql' && s.status ? String(s.status) : s.error);
	} else if (s.protocol === 'dns') {
		S('dns.question.name', s.target);
		S('ztrace.dns.question.type', s.method);
		if (!s.flags.includes('no_response') && !s.flags.includes('timeout')) I('ztrace.dns.rcode', s.status);
	} else {
		throw new Error('unknown protocol ' + s.protocol);
	}
	if (!name) {
		// "<op> <target>", cut whole characters short of 128 bytes.
		let b = Buffer.from((s.method || s.protocol) + (s.target ? ' ' + s.target : ''));
		if (b.length > 127) {
			let n = 127;
			while (n && (b[n] & 0xc0) === 0x80) n--;
			b = b.subarray(0, n);
		}
		name = b.toString();
	}
	const msg = s.failed ? (s.error || `${s.protocol} ${s.status}`) : '';
	if (s.failed) S('error.type', s.error || String(s.status));
	S('network.transport', s.protocol === 'dns' ? 'udp' : 'tcp');
	const [lip, lport] = splitAddr(s.local), [pip, pport] = splitAddr(s.peer);
	const server = s.kind === 'server';
	S('server.address', server ? lip : pip);
	I('server.port', server ? lport : pport);
	S('client.address', server ? pip : lip);
	I('client.port', server ? pport : lport);
	S('network.peer.address', pip);
	I('network.peer.port', pport);
	S('network.local.address', lip);
	I('network.local.port', lport);
	I('thread.id', s.tid);
	S('ztrace.protocol', s.protocol);
	if (s.stream) I('ztrace.stream', s.stream);
	put('ztrace.tls', s.tls, 'boolValue');
	I('ztrace.bytes_in', s.bytes_in);
	I('ztrace.bytes_out', s.bytes_out);
	S('ztrace.cgroup', s.cgroup);
	I('ztrace.cgroup_id', s.cgroup_id);
	S('ztrace.flags', s.flags.join(','));
	// The last run of exactly 64 hex digits in the cgroup path, if any.
	const m = [null, ...(s.cgroup.match(/[0-9a-f]+/g) || []).filter((r) => r.length === 64)].slice(-2);
	if (m.length < 2 || !m[1]) m.length = 0;
	const R = { 'service.name': s.container && s.container !== '?' ? s.container : s.comm,
		'host.name': hostname, 'process.pid': String(s.pid), 'process.executable.name': s.comm };
	const RT = { 'service.name': 'stringValue', 'host.name': 'stringValue', 'process.pid': 'intValue',
		'process.executable.name': 'stringValue' };
	if (m.length) { R['container.id'] = m[1]; RT['container.id'] = 'stringValue'; }
	// The container's owner, where known: the same fields as --json's "owner".
	const own = s.owner || {};
	for (const [k, f] of [['ztrace.owner.team', 'team'], ['vcs.repository.url.full', 'source'],
		['ztrace.owner.pager', 'pager']]) {
		if (own[f]) { R[k] = own[f]; RT[k] = 'stringValue'; }
	}
	return {
		resource: R, resourceTypes: RT, scope: { name: 'ztrace', version: '0.1' },
		traceId: s.trace_id, spanId: s.span_id, parentSpanId: s.parent_span_id,
		name, kind: server ? 2 : 3,
		start: String(s.start_ns), end: String(s.start_ns + s.duration_ns),
		status: { code: s.failed ? 2 : 0, message: msg },
		attributes: A, types: T,
		extra: { traceState: '', events: 0, links: 0 },
	};
}

// Key order differs between the two; compare canonical forms.
function canon(v) {
	if (Array.isArray(v)) return v.map(canon);
	if (v && typeof v === 'object')
		return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])]));
	return v;
}

const byId = new Map();
for (const r of rx) {
	if (byId.has(r.spanId)) err(`span ${r.spanId} received twice`);
	byId.set(r.spanId, r);
}
for (const s of zt) {
	const r = byId.get(s.span_id);
	if (!r) { err(`span ${s.span_id} (${s.method} ${s.target}) never arrived`); continue; }
	byId.delete(s.span_id);
	const e = canon(expected(s)), g = canon(r);
	for (const k of new Set([...Object.keys(e), ...Object.keys(g)])) {
		const a = JSON.stringify(e[k]), b = JSON.stringify(g[k]);
		if (a !== b) err(`span ${s.span_id} ${k}: expected ${a}, received ${b}`);
	}
}
for (const id of byId.keys()) err(`span ${id} received but not in ztrace's output`);
if (errors.length) {
	console.log(errors.join('\n'));
	process.exit(1);
}
console.log(`compared ${zt.length} spans`);
