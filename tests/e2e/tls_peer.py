# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A second TLS stack for the tests: python3's ssl module (SSL_read_ex and
SSL_write_ex, where nginx and curl use SSL_read and SSL_write).

  tls_peer.py server IP PORT CERT KEY LOG   HTTP/1.1 keep-alive server; one
                                            line per request in LOG
  tls_peer.py client URL...                 GETs over one connection; prints
                                            "status length" per request
"""
import http.client
import http.server
import ssl
import sys
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        status = 404 if self.path.startswith("/missing") else 200
        body = ("python says %s\n" % self.path).encode() * (40 if "long" in self.path else 1)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with open(self.server.log, "a") as f:
            f.write("%d GET %s\n" % (status, self.path))

    def log_message(self, *args):
        pass


def server(ip, port, cert, key, log):
    srv = http.server.HTTPServer((ip, int(port)), Handler)
    srv.log = log
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


def client(urls):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    u = urllib.parse.urlsplit(urls[0])
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)
    for url in urls:
        p = urllib.parse.urlsplit(url)
        conn.request("GET", p.path + ("?" + p.query if p.query else ""))
        r = conn.getresponse()
        print(r.status, len(r.read()))
    conn.close()


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(*sys.argv[2:7])
    else:
        client(sys.argv[2:])
