// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int zl_route(const char *method, const char *url, const char *id, enum zl_page *page,
	     uint8_t trace_id[16])
{
	static const struct { const char *path; enum zl_page page; } pages[] = {
		{ "/", ZL_PAGE_INDEX },
		{ "/tracez", ZL_PAGE_TRACEZ },
		{ "/servicez", ZL_PAGE_SERVICEZ },
		{ "/metrics", ZL_PAGE_METRICS },
		{ "/trace", ZL_PAGE_TRACE },
	};

	*page = ZL_PAGE_NONE;
	if (!method || !url)
		return 400;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return 405;
	for (unsigned i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		if (strcmp(url, pages[i].path))
			continue;
		if (pages[i].page == ZL_PAGE_TRACE) {
			/* 32 lower-case hex digits, as the pages link them. */
			if (!id || strlen(id) != 32)
				return 400;
			for (int k = 0; k < 16; k++) {
				int hi = unhex(id[2 * k]), lo = unhex(id[2 * k + 1]);

				if (hi < 0 || lo < 0)
					return 400;
				trace_id[k] = (uint8_t)(hi << 4 | lo);
			}
		}
		*page = pages[i].page;
		return 200;
	}
	return 404;
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	long v;

	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	v = strtol(s, &end, 10);
	if (*end || v < 1 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int zl_listen_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len, bool *loopback)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	char host[64];
	const char *colon;
	uint16_t port;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (!s)
		return -EINVAL;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':' || (n = (size_t)(close - s - 1)) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (parse_port(close + 2, &port) || inet_pton(AF_INET6, host, &v6->sin6_addr) != 1)
			return -EINVAL;
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		*len = sizeof(*v6);
		*loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
		return 0;
	}
	colon = strrchr(s, ':');
	if (colon && strchr(s, ':') != colon)
		return -EINVAL; /* a bare IPv6 address needs its brackets */
	if (parse_port(colon ? colon + 1 : s, &port))
		return -EINVAL;
	n = colon ? (size_t)(colon - s) : 0;
	if (n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	v4->sin_family = AF_INET;
	v4->sin_port = htons(port);
	if (!n)
		v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (inet_pton(AF_INET, host, &v4->sin_addr) != 1)
		return -EINVAL;
	*len = sizeof(*v4);
	*loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
	return 0;
}
