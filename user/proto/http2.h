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
