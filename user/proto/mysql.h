/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The MySQL / MariaDB client/server protocol (zt_proto_mysql, proto.h):
 * one transaction per command that has a reply, method the SQL verb (or the
 * command's name: PING, INIT_DB...), target the statement with literals as
 * '?' (sql.h, MySQL dialect), status the error number of an ERR reply and error its
 * SQLSTATE.
 *
 * Packets (3-byte length, 1-byte sequence id) are followed by length in
 * both directions, so payloads the capture did not keep are skipped without
 * losing the framing; 0xffffff-byte packets continue in the next. Where a
 * packet header itself was not captured the direction is lost until a
 * message start can be trusted again: a client's feed beginning with a
 * command, a server's reply to the next command, or the end of a message
 * whose last bytes are a result set's final EOF.
 *
 * The connection phase is read for the capabilities (CLIENT_DEPRECATE_EOF
 * changes the shape of result sets); a capture that missed it infers the
 * shape from the result sets themselves. After an SSL request the socket's
 * bytes are TLS: they are ignored (the TLS probes, when on, hand over the
 * plaintext as a connection of its own); so are compressed connections and
 * replication streams (COM_BINLOG_DUMP).
 */
#ifndef ZT_PROTO_MYSQL_H
#define ZT_PROTO_MYSQL_H

/* Bounds, per connection. */
#define MYSQL_PENDING_MAX 16   /* commands sent before their replies (pipelining,
				* mariadb_stmt_execute_direct); oldest dropped */
#define MYSQL_STMTS_MAX 64     /* prepared statements remembered; oldest dropped */
#define MYSQL_TEXT_MAX 4096    /* bytes of a statement's text read (the capture
				* bound is 4096 too) */
#define MYSQL_SRV_PREFIX 160   /* bytes read of a server packet: the greeting's
				* fields after a version string of up to 100 */
#define MYSQL_LOST_FEEDS_MAX 16 /* client messages in a row without a command
				 * start before any command was seen: the
				 * connection is given up */

/* Command bytes (the first byte of a client packet with sequence id 0). */
enum mysql_cmd {
	MYSQL_COM_SLEEP = 0x00,
	MYSQL_COM_QUIT = 0x01,
	MYSQL_COM_INIT_DB = 0x02,
	MYSQL_COM_QUERY = 0x03,
	MYSQL_COM_FIELD_LIST = 0x04,
	MYSQL_COM_STATISTICS = 0x09,
	MYSQL_COM_PROCESS_INFO = 0x0a,
	MYSQL_COM_DEBUG = 0x0d,
	MYSQL_COM_PING = 0x0e,
	MYSQL_COM_CHANGE_USER = 0x11,
	MYSQL_COM_BINLOG_DUMP = 0x12,
	MYSQL_COM_STMT_PREPARE = 0x16,
	MYSQL_COM_STMT_EXECUTE = 0x17,
	MYSQL_COM_STMT_SEND_LONG_DATA = 0x18,
	MYSQL_COM_STMT_CLOSE = 0x19,
	MYSQL_COM_STMT_RESET = 0x1a,
	MYSQL_COM_SET_OPTION = 0x1b,
	MYSQL_COM_STMT_FETCH = 0x1c,
	MYSQL_COM_BINLOG_DUMP_GTID = 0x1e,
	MYSQL_COM_RESET_CONNECTION = 0x1f,
	MYSQL_COM_STMT_BULK_EXECUTE = 0xfa, /* MariaDB */
};

#endif
