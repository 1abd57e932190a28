/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Data-quality marks carried by a span (JSON "flags": a list of the names
 * below). They say what ztrace could not see, so a reader never mistakes a
 * partial observation for a complete one.
 */
#ifndef ZT_FLAGS_H
#define ZT_FLAGS_H

#include <stdint.h>

#define ZT_F_TRUNCATED   (1u << 0) /* a header was cut by the capture bound */
#define ZT_F_TARGET_CUT  (1u << 1) /* target longer than ZT_TXN_TARGET_MAX */
#define ZT_F_RESYNC      (1u << 2) /* framing lost; end found at the next message */
#define ZT_F_NO_RESPONSE (1u << 3) /* connection closed or evicted before a response */
#define ZT_F_MIDSTREAM   (1u << 4) /* capture began inside the connection */
#define ZT_F_CLOSE_DELIM (1u << 5) /* response body ended by connection close */
#define ZT_F_EVICTED     (1u << 6) /* connection state evicted under pressure */
#define ZT_F_PIPELINED   (1u << 7) /* request sent before the previous response */
#define ZT_F_UPGRADE     (1u << 8) /* 101 Switching Protocols: no HTTP/1 after it */
#define ZT_F_REQ_UNSEEN  (1u << 9) /* request in bytes not captured: no method, target */
#define ZT_F_HDRS_UNKNOWN (1u << 10) /* HTTP/2: header compression state unknown (capture
				      * began mid-connection or lost a header block):
				      * fields not decoded rather than guessed */
#define ZT_F_STREAMING   (1u << 11) /* gRPC: more than one message in a direction */
#define ZT_F_TIMEOUT     (1u << 12) /* no response within the protocol's bound (DNS) */
#define ZT_F_DNS_TC      (1u << 13) /* DNS: the server truncated its response (TC bit);
				     * the client is expected to ask again over TCP */

/* Writes "a,b,c" names of set flags into buf; returns the length. */
int zt_flags_format(uint32_t flags, char *buf, int size);
/* Name of a single flag bit, or NULL. */
const char *zt_flag_name(uint32_t bit);

#endif
