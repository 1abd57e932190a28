/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * DNS (RFC 1035) over UDP and TCP: a query and its response make one
 * transaction, paired by ID and question. Over UDP each datagram is one
 * message; over TCP each message has a two-byte length prefix and may be
 * split across reads or share one with the next.
 *
 * Only the header and the question are read: the answer records are not
 * kept (they are values). A socket that sends queries and receives
 * responses gives client spans; one that receives queries gives server
 * spans; each query decides for itself.
 *
 * Bounds (per connection): DNS_PENDING_MAX queries awaiting a response (the
 * oldest dropped, counted as overflow), DNS_PENDING_INLINE of them without
 * allocating; DNS_TCP_KEEP bytes kept of each TCP message (the header and
 * the longest question); DNS_NAME_STEPS labels and pointers per name. A query
 * unanswered for DNS_TIMEOUT_NS is reported, flagged timeout.
 */
#ifndef ZT_PROTO_DNS_H
#define ZT_PROTO_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../flags.h"
#include "txn.h"

#define DNS_PENDING_MAX 64
#define DNS_PENDING_INLINE 4
#define DNS_TIMEOUT_NS (10ULL * 1000000000ULL) /* glibc and dig give up after 5 s a try */
#define DNS_HDR_LEN 12
#define DNS_NAME_WIRE_MAX 255 /* RFC 1035 2.3.4 */
#define DNS_TCP_KEEP (DNS_HDR_LEN + DNS_NAME_WIRE_MAX + 4)
#define DNS_NAME_STEPS 128
/* Messages on a detected connection that are not DNS, in a row, before the
 * parser gives up on it. */
#define DNS_BAD_MAX 8

/* A message's header and question, as far as they were captured. */
struct dns_msg {
	uint16_t id, qdcount, ancount, nscount, arcount;
	uint16_t qtype, qclass;
	uint8_t opcode;
	uint16_t rcode; /* with EDNS's upper bits, when its OPT record was captured */
	bool qr, tc;
	bool has_q;    /* the question was read whole */
	bool name_cut; /* qname longer than the text kept (ZT_F_TARGET_CUT) */
	uint32_t q_end; /* offset just past the question */
	char qname[ZT_TXN_TARGET_MAX];
};

enum dns_parse_ret {
	DNS_OK = 0,
	DNS_CUT = -1, /* the header was not captured whole */
	DNS_BAD = -2, /* not a DNS message */
};

/*
 * Parses p[0..cap) (of a `len`-byte message): the header always, the first
 * question when QDCOUNT > 0 and it lies within cap (else has_q is false).
 * Never reads past cap.
 */
int dns_parse(const uint8_t *p, uint32_t cap, uint32_t len, struct dns_msg *m);

/*
 * The name at msg[off..]: compression pointers followed (strictly backward,
 * at most DNS_NAME_STEPS steps), lower-cased, labels joined by '.', no
 * trailing dot ("." for the root), bytes outside [!-~] and the characters
 * '.' and '\' escaped as \DDD / \. / \\. Writes at most outsz - 1 chars and
 * a NUL (*cut when more would have come). *next: the offset after the name
 * where it began. Returns DNS_OK, DNS_CUT (ran past cap) or DNS_BAD.
 */
int dns_name(const uint8_t *msg, uint32_t cap, uint32_t off, char *out, size_t outsz,
	     uint32_t *next, bool *cut);

/* "A", "AAAA", ... or "TYPE<n>" into buf (at least 12 bytes). */
const char *dns_type_name(uint16_t type, char *buf, size_t size);
/* "NOERROR", "NXDOMAIN", "BADCOOKIE", ... or "RCODE<n>" into buf (at least
 * 12 bytes). */
const char *dns_rcode_name(unsigned rcode, char *buf, size_t size);

#endif
