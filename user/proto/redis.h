/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Redis (RESP2 and RESP3), both directions of one TCP connection. The parser
 * itself is `zt_proto_redis` (proto.h); this header holds its bounds, for
 * the tests.
 *
 * Memory per connection is two stream states and one queue entry inline
 * (1152 bytes), and the queue of commands awaiting their reply, which grows
 * by doubling to REDIS_PENDING_MAX entries of 104 bytes (about 100 KB) only
 * for a client that pipelines that deep. Bulk strings are never buffered:
 * they are walked by their declared length, captured or not; only the first
 * REDIS_ARG_KEEP bytes of a command's first three arguments are looked at
 * (the command name, a container command's subcommand, CLIENT REPLY's mode).
 */
#ifndef ZT_PROTO_REDIS_H
#define ZT_PROTO_REDIS_H

#define REDIS_PENDING_MAX 1024   /* commands awaiting a reply; oldest dropped (overflow) */
#define REDIS_DEPTH_MAX 32       /* aggregates nested deeper: the reply's framing is
				  * given up (overflow) and found again at a feed start */
#define REDIS_LEN_MAX (1ULL << 32) /* a bulk length or element count above: malformed */
#define REDIS_NUM_LINE_MAX 32    /* a length, count or number line longer: malformed */
#define REDIS_INLINE_MAX 65536   /* an inline command line longer: malformed (Redis's
				  * own PROTO_INLINE_MAX_SIZE) */
#define REDIS_ARG_KEEP 32        /* bytes kept of each of a command's first 3 arguments */
#define REDIS_LINE_KEEP 40       /* bytes kept of a reply's header or simple-string line */

#endif
