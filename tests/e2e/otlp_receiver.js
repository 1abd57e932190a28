// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// A test OTLP/HTTP receiver: decodes each request with the OpenTelemetry
// project's own generated protobuf code (the npm package
// @opentelemetry/otlp-transformer, build/src/generated/root.js) and writes
// what it decoded as JSON lines, for test_otlp.sh to compare with ztrace's
// own --json output.
//
//   node otlp_receiver.js ROOT_JS HOST PORT OUTDIR [--fail-file PATH] [--status N]
//
// OUTDIR/requests.jsonl: one line per request (status answered, content
//   type, spans, and for protobuf whether re-encoding the decoded message
//   gives back the very bytes received: a field the schema does not know,
//   or a wrong wire type, would be lost on the way and differ).
// OUTDIR/spans.jsonl: one line per span, protobuf and JSON bodies alike:
//   {resource:{k:v}, scope:{name,version}, traceId, spanId, parentSpanId,
//    name, kind, start, end, status:{code,message}, attributes:{k:v},
//    types:{k:"stringValue"|"intValue"|"boolValue"}}
//   ids as hex ("" when absent), times and int values as decimal strings.
// While PATH exists (--fail-file) the answer is 503 with Retry-After: 1 and
// nothing is kept;
// --status N answers N (and keeps nothing) for every request.
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');

const [rootJs, host, port, outdir, ...rest] = process.argv.slice(2);
let failFile = null, fixedStatus = 0;
for (let i = 0; i < rest.length; i += 2) {
	if (rest[i] === '--fail-file') failFile = rest[i + 1];
	else if (rest[i] === '--status') fixedStatus = Number(rest[i + 1]);
	else throw new Error('unknown option ' + rest[i]);
}
const root = require(path.resolve(rootJs));
const pb = root.opentelemetry.proto;
const Req = pb.collector.trace.v1.ExportTraceServiceRequest;
const reqLog = path.join(outdir, 'requests.jsonl');
const spanLog = path.join(outdir, 'spans.jsonl');

const hex = (b) => (b && b.length ? Buffer.from(b).toString('hex') : '');
const str = (v) => (v === null || v === undefined ? '' : v.toString());

function attrs(list, where) {
	const out = {}, types = {};
	for (const kv of list || []) {
		const v = kv.value || {};
		const set = ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue',
			'kvlistValue', 'bytesValue'].filter((k) => v[k] !== null && v[k] !== undefined);
		if (set.length !== 1) throw new Error(`${where}: attribute ${kv.key} has ${set.length} values`);
		if (kv.key in out) throw new Error(`${where}: attribute ${kv.key} twice`);
		types[kv.key] = set[0];
		out[kv.key] = set[0] === 'intValue' ? str(v.intValue) : v[set[0]];
	}
	return { out, types };
}

// One message, protobuf or JSON, as a decoded ExportTraceServiceRequest.
function flatten(msg) {
	const spans = [];
	for (const rs of msg.resourceSpans || []) {
		const res = attrs(rs.resource && rs.resource.attributes, 'resource');
		for (const ss of rs.scopeSpans || []) {
			for (const s of ss.spans || []) {
				const a = attrs(s.attributes, 'span');
				spans.push({
					resource: res.out, resourceTypes: res.types,
					scope: { name: ss.scope && ss.scope.name, version: ss.scope && ss.scope.version },
					traceId: hex(s.traceId), spanId: hex(s.spanId), parentSpanId: hex(s.parentSpanId),
					name: s.name, kind: s.kind, start: str(s.startTimeUnixNano), end: str(s.endTimeUnixNano),
					status: { code: (s.status && s.status.code) || 0, message: (s.status && s.status.message) || '' },
					attributes: a.out, types: a.types,
					extra: { traceState: s.traceState || '', events: (s.events || []).length, links: (s.links || []).length },
				});
			}
		}
	}
	return spans;
}

// Every key of our JSON must be a field of the schema's message there.
const jsonTypes = {
	'': [Req, { resourceSpans: 'rs' }],
	rs: [pb.trace.v1.ResourceSpans, { resource: 'res', scopeSpans: 'ss' }],
	res: [pb.resource.v1.Resource, { attributes: 'kv' }],
	ss: [pb.trace.v1.ScopeSpans, { scope: 'scope', spans: 'span' }],
	scope: [pb.common.v1.InstrumentationScope, {}],
	span: [pb.trace.v1.Span, { attributes: 'kv', status: 'status' }],
	status: [pb.trace.v1.Status, {}],
	kv: [pb.common.v1.KeyValue, { value: 'any' }],
	any: [pb.common.v1.AnyValue, {}],
};
function checkKeys(obj, t, where) {
	const [Type, nested] = jsonTypes[t];
	for (const k of Object.keys(obj)) {
		if (!(k in Type.prototype)) throw new Error(`${where}: ${k} is not a field of ${t || 'request'}`);
		if (nested[k]) {
			for (const [i, v] of (Array.isArray(obj[k]) ? obj[k] : [obj[k]]).entries())
				checkKeys(v, nested[k], `${where}.${k}[${i}]`);
		}
	}
}

// OTLP/HTTP JSON: ids are hex, not base64 as protobuf's JSON mapping has them.
function fromJson(text) {
	const obj = JSON.parse(text);
	checkKeys(obj, '', 'json');
	for (const rs of obj.resourceSpans || [])
		for (const ss of rs.scopeSpans || [])
			for (const s of ss.spans || [])
				for (const k of ['traceId', 'spanId', 'parentSpanId']) {
					if (s[k] === undefined) continue;
					if (!/^([0-9a-f]{2})*$/.test(s[k])) throw new Error(`json: ${k} ${s[k]} is not hex`);
					s[k] = Buffer.from(s[k], 'hex');
				}
	// int64 as decimal strings (the protobuf JSON mapping) are fromObject's
	// to read; verify() then checks what it made against the schema.
	const msg = Req.fromObject(obj);
	const err = Req.verify(msg);
	if (err) throw new Error('json: ' + err);
	return msg;
}

let n = 0;
http.createServer((req, res) => {
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', () => {
		const body = Buffer.concat(chunks);
		const ctype = req.headers['content-type'] || '';
		const rec = { n: n++, method: req.method, url: req.url, ctype, bytes: body.length };
		let status = 200;
		if (fixedStatus) status = fixedStatus;
		else if (failFile && fs.existsSync(failFile)) status = 503;
		if (status === 200) {
			try {
				let msg;
				if (ctype === 'application/x-protobuf') {
					msg = Req.decode(body);
					rec.reencodeEqual = Buffer.compare(Buffer.from(Req.encode(msg).finish()), body) === 0;
				} else if (ctype === 'application/json') {
					msg = fromJson(body.toString('utf8'));
				} else {
					throw new Error('content type ' + ctype);
				}
				const spans = flatten(msg);
				rec.spans = spans.length;
				fs.appendFileSync(spanLog, spans.map((s) => JSON.stringify(s) + '\n').join(''));
			} catch (e) {
				rec.error = String(e && e.stack || e);
				status = 400;
			}
		}
		rec.status = status;
		fs.appendFileSync(reqLog, JSON.stringify(rec) + '\n');
		const headers = { 'Content-Type': ctype || 'application/x-protobuf' };
		// The collector's word on when to come back, which ztrace honours.
		if (status === 503) headers['Retry-After'] = '1';
		res.writeHead(status, headers);
		// An empty ExportTraceServiceResponse: full success.
		res.end();
	});
}).listen(Number(port), host, () => fs.writeFileSync(path.join(outdir, 'listening'), ''));
