/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What a request to the live views asks for, decided without the server
 * library so that it is unit-tested and fuzzed; and --listen's address. */
#ifndef ZT_LIVE_ROUTE_H
#define ZT_LIVE_ROUTE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

enum zl_page { ZL_PAGE_NONE, ZL_PAGE_INDEX, ZL_PAGE_TRACEZ, ZL_PAGE_SERVICEZ, ZL_PAGE_METRICS,
	       ZL_PAGE_TRACE };

/*
 * method and url as received (the query already split off by the server),
 * id the "id" query argument or NULL. Returns the HTTP status: 200 (page
 * set, trace_id filled for ZL_PAGE_TRACE), 400 (a bad id), 404 or 405
 * (only GET and HEAD).
 */
int zl_route(const char *method, const char *url, const char *id, enum zl_page *page,
	     uint8_t trace_id[16]);

/*
 * "ADDR:PORT", "[V6]:PORT", ":PORT" or "PORT"; without an address,
 * 127.0.0.1. *loopback says whether the address is a loopback one. Returns
 * 0 or -EINVAL.
 */
int zl_listen_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len, bool *loopback);

#endif
