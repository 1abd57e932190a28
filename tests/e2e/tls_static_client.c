// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * An HTTPS client with OpenSSL linked in statically (test_tls.sh builds it
 * against libssl.a): no libssl.so in its maps, so ztrace must find SSL_read
 * and SSL_write in the executable itself.
 *
 *   tls_static_client IP PORT PATH...   GETs over one connection; prints
 *                                       "status length" per response
 *
 * With ZT_GO_FILE set it waits for that file to exist before it connects:
 * the test holds it until ztrace has found it (a process that speaks TLS
 * before ztrace's look at its new executable goes unseen).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

static int read_response(SSL *ssl)
{
	char buf[65536];
	int have = 0, n, status = 0;

	buf[0] = '\0';
	long clen = 0;
	char *end;

	while (!(end = strstr(buf, "\r\n\r\n"))) {
		if (have >= (int)sizeof(buf) - 1)
			return -1;
		n = SSL_read(ssl, buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			return -1;
		have += n;
		buf[have] = '\0';
	}
	sscanf(buf, "HTTP/1.1 %d", &status);
	for (char *h = strstr(buf, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n"))
		if (!strncasecmp(h + 2, "Content-Length:", 15))
			clen = strtol(h + 17, NULL, 10);
	long left = clen - (have - (end + 4 - buf));

	while (left > 0) {
		n = SSL_read(ssl, buf, left < (long)sizeof(buf) ? (int)left : (int)sizeof(buf));
		if (n <= 0)
			return -1;
		left -= n;
	}
	printf("%d %ld\n", status, clen);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;

	if (argc < 4) {
		fprintf(stderr, "usage: %s IP PORT PATH...\n", argv[0]);
		return 2;
	}
	for (const char *go = getenv("ZT_GO_FILE"); go && access(go, F_OK);)
		usleep(10000);
	sa.sin_port = htons(atoi(argv[2]));
	inet_pton(AF_INET, argv[1], &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("connect");
		return 1;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1) {
		fprintf(stderr, "TLS handshake failed\n");
		return 1;
	}
	for (int i = 3; i < argc; i++) {
		char req[1024];
		int len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", argv[i],
				   argv[1]);

		if (SSL_write(ssl, req, len) != len || read_response(ssl)) {
			fprintf(stderr, "request %s failed\n", argv[i]);
			return 1;
		}
	}
	SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return 0;
}
