/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * HTTP/2 and gRPC (user/proto/http2.c, exported as zt_proto_http2, "http2"):
 * both directions of one connection, fed one socket message at a time.
 *
 * Frames are followed by their 9-byte headers; payloads are skipped by
 * length, so bytes beyond the capture cost nothing. A frame header that lies
 * in bytes not captured (a write holding more frames than --capture-bytes,
 * or a gap in the ring) loses the direction's framing: the parser waits for
 * a message that starts with a plausible frame header (resyncs), and since
 * what it skipped may have held header blocks, that direction's HPACK state
 * is lost for good: later streams carry ZT_F_HDRS_UNKNOWN, fields empty.
 *
 * Header blocks (HEADERS, PUSH_PROMISE + CONTINUATION) are decoded with
 * nghttp2's HPACK inflater, one per direction, created at the first block.
 * A block is decoded only when every byte of it was captured and the
 * direction's decoder state is known (the connection was seen from its
 * preface on); otherwise the fields stay empty, never guessed.
 *
 * One transaction per client stream (odd id): from the first byte of its
 * request HEADERS to the END_STREAM of its response (or RST_STREAM).
 * req_bytes and resp_bytes count the stream's HEADERS, CONTINUATION and DATA
 * frames in each direction, 9-byte frame headers included (what the stream
 * put on the wire, minus control frames). Server push streams (even ids) are
 * not reported; their header blocks are decoded only to keep HPACK in step.
 *
 * Fields: method = :method, target = :path (cut, ZT_F_TARGET_CUT), status =
 * :status (failed when >= 500), traceparent copied. A content-type of
 * application/grpc makes it "grpc": status = grpc-status from the trailers
 * (or a trailers-only response), error its name, failed when not 0; an
 * ended response without grpc-status takes gRPC's HTTP-status mapping; a
 * grpc-status never seen (end or headers not captured) leaves status 0,
 * error "" and the span's flags say why. ZT_F_STREAMING when either
 * direction carried more than one gRPC message (5-byte prefixes counted
 * across DATA frames; counting stops where a prefix was not captured).
 * RST_STREAM ends a stream as failed, error the HTTP/2 code name (gRPC: the
 * status gRPC maps it to), ZT_F_NO_RESPONSE if no response had begun.
 *
 * Which side is the client: the preface says; without one (a connection
 * joined midway), the kernel's role, then a well-known server port, then the
 * side that sent the first HEADERS on an odd stream. Detection: the preface
 * is ZT_DETECT_YES; a message that is a chain of strictly plausible frames
 * ending where it ends is MAYBE (PORT on 80, 443, 8080, 8443, 50051); until
 * a preface is seen, the first H2_STRICT_FRAMES frames of each direction
 * must stay plausible or the connection is handed back (-EPROTO). HTTP/1
 * upgraded to h2c is not followed (the HTTP/1 parser keeps the connection).
 *
 * Stats (struct zt_proto_stats): unanswered = streams open at close or cut
 * by GOAWAY; orphan_responses = response headers for a stream whose request
 * was not seen; resyncs = framing found again after lost bytes; overflow =
 * a bound below was hit (the oldest stream dropped, or a header block over
 * H2_BLOCK_MAX abandoned); malformed = a header block nghttp2 refused, a
 * broken frame sequence, or a connection judged not to be HTTP/2 after all;
 * midstream = connections joined after their start.
 */
#ifndef ZT_PROTO_HTTP2_H
#define ZT_PROTO_HTTP2_H

/* Bounds. */
#define H2_STREAMS_MAX 128      /* open streams per connection; oldest dropped */
#define H2_BLOCK_MAX 16384      /* a header block larger than this is not decoded */
#define H2_TABLE_MAX 65536      /* HPACK dynamic table a peer may ask us to keep */
#define H2_FRAME_DEFAULT 16384  /* SETTINGS_MAX_FRAME_SIZE until a peer says more */
#define H2_STRICT_FRAMES 8      /* frames checked strictly before a connection
				 * without a preface is believed to be HTTP/2 */
#define H2_RESYNC_TRIES 16      /* messages without a frame start a connection
				 * never confirmed may show before it is dropped */

#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24

#endif
