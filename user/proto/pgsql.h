/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * PostgreSQL's frontend/backend protocol (version 3), both directions of
 * one connection, behind struct zt_proto_ops (zt_proto_pgsql, txn.protocol
 * "postgresql").
 *
 * Spans:
 * - a simple Query ('Q') is one span, ending at its ReadyForQuery ('Z');
 *   a string of several statements is one span, named after the first;
 * - in the extended protocol each Execute ('E') is one span, starting with
 *   the first byte of the Parse/Bind/Describe/Execute group that led to it
 *   and ending at its CommandComplete ('C'), EmptyQueryResponse ('I'),
 *   PortalSuspended ('s') or ErrorResponse ('E'). Its statement is the one
 *   its portal was bound to. A Parse/Sync round trip without an Execute (a
 *   prepare) is no span.
 * - After an ErrorResponse the server skips to the next Sync: Executes
 *   queued behind the failed one up to that Sync did not run. They are
 *   emitted at the ReadyForQuery all the same, failed, with no error code of
 *   their own and ZT_F_NO_RESPONSE, and counted as unanswered.
 * - method is the statement's first keyword, target the statement with its
 *   literals as '?' (user/proto/sql.h); error the SQLSTATE (field 'C') of
 *   an ErrorResponse, failed then true; status is always 0.
 *
 * Startup (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest),
 * authentication, ParameterStatus, BackendKeyData, notices and
 * notifications are followed for framing only. After an SSLRequest or
 * GSSENCRequest answered 'S'/'G' the socket carries ciphertext: its bytes
 * are ignored (not malformed); the tracer restarts the connection with the
 * library's plaintext, which starts with a StartupMessage again.
 *
 * Messages are skipped by their own lengths, so a 1 MB DataRow of which the
 * capture kept 512 bytes costs nothing more. Where a header lies past the
 * capture, the last bytes the kernel keeps of a message (its tail) often
 * tell the rest: an answer ending in a ReadyForQuery completes there
 * (ZT_F_TRUNCATED: an error code in between would be lost); a client write
 * whose Parse was too long to see its Bind and Execute but that ends in a
 * Sync is taken to hold one Execute of that statement (ZT_F_TRUNCATED).
 * Otherwise the framing is lost: the direction waits for a feed that starts
 * with a well-formed run of messages (resyncs; spans ZT_F_RESYNC), and a
 * new Query or Execute settles the answers owed (a client waits for them
 * before going on). Bytes that are not PostgreSQL before any well-formed
 * message make feed return -EPROTO (malformed).
 *
 * Detection: a StartupMessage (protocol 3.x), SSLRequest, GSSENCRequest or
 * CancelRequest at the start of the client's first message is
 * ZT_DETECT_YES; a Query, Parse or Bind with a plausible length (the
 * capture began inside the connection) ZT_DETECT_PORT on port 5432 only.
 * Spans from a connection joined so are marked ZT_F_MIDSTREAM (the first)
 * and, when their statement was prepared before, ZT_F_REQ_UNSEEN.
 */
#ifndef ZT_PROTO_PGSQL_H
#define ZT_PROTO_PGSQL_H

#include "proto.h"

/* Bounds. When one is hit the oldest goes and `overflow` counts it. */
#define PG_STMT_MAX 64	      /* named prepared statements per connection */
#define PG_PORTAL_MAX 8	      /* named portals per connection */
#define PG_PENDING_MAX 64     /* spans awaiting their completion (pipeline depth) */
#define PG_KEEP_MAX 4096      /* bytes of a wanted message body kept across feeds */
#define PG_MSG_MAX (1u << 30) /* a longer message is not PostgreSQL's (its limit is 1 GB) */
#define PG_STARTUP_MAX 10000  /* the server's own limit on a startup packet */
#define PG_PORT 5432

#endif
