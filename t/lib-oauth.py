#!/usr/bin/python3
"""lib-oauth.py: a small OAuth2 token endpoint for sendq's tests.

    lib-oauth.py --port-file F --cert PEM --key PEM --grants FILE
                 [--client-id ID] [--client-secret S] [--log FILE]
                 [--parent-pid PID]

Serves HTTPS on 127.0.0.1 (a free port, written to --port-file once it
listens) with the test CA's server certificate (t/mkca.sh). Every POST, to
any path, is a token request (RFC 6749 section 6): the form must hold
grant_type=refresh_token, a refresh_token and a client_id (equal to
--client-id when given; client_secret equal to --client-secret when
given, else 401 invalid_client).

--grants FILE, read again at every request, holds one grant per line:

    REFRESH_TOKEN ACCESS_TOKEN EXPIRES_IN

A known refresh token gets 200 with {"access_token": ACCESS_TOKEN,
"token_type": "Bearer", "expires_in": EXPIRES_IN}; an unknown one (a
revoked token: remove its line) gets 400 {"error": "invalid_grant",
"error_description": "Token has been expired or revoked."}. A test makes
the endpoint "down" by stopping it.

--log FILE gets one line per request: "POST PATH grant=G client=ID
refresh=R -> STATUS". SIGTERM or the death of --parent-pid ends it.
"""

import argparse
import http.server
import json
import os
import signal
import ssl
import sys
import threading
import time
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "sendq-test-oauth/1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)
        return status

    def do_GET(self):
        self.reply(405, {"error": "invalid_request"})

    def do_POST(self):
        opts = self.server.opts
        n = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(n).decode(),
                                     keep_blank_values=True)

        def one(k):
            v = form.get(k)
            return v[0] if v else None

        grant, client = one("grant_type"), one("client_id")
        refresh, secret = one("refresh_token"), one("client_secret")
        grants = {}
        try:
            with open(opts.grants, encoding="utf-8") as f:
                for line in f:
                    w = line.split()
                    if len(w) == 3:
                        grants[w[0]] = (w[1], int(w[2]))
        except OSError:
            pass
        if grant != "refresh_token" or not refresh or not client:
            status = self.reply(400, {"error": "invalid_request"})
        elif ((opts.client_id and client != opts.client_id) or
              (opts.client_secret is not None and
               secret != opts.client_secret)):
            status = self.reply(401, {"error": "invalid_client"})
        elif refresh not in grants:
            status = self.reply(400, {
                "error": "invalid_grant",
                "error_description": "Token has been expired or revoked."})
        else:
            access, expires = grants[refresh]
            status = self.reply(200, {"access_token": access,
                                      "token_type": "Bearer",
                                      "expires_in": expires})
        if opts.log:
            with open(opts.log, "a", encoding="utf-8") as f:
                f.write(f"POST {self.path} grant={grant} client={client} "
                        f"refresh={refresh} -> {status}\n")


def main(argv):
    p = argparse.ArgumentParser(prog="lib-oauth.py", description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--port-file", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--grants", required=True)
    p.add_argument("--client-id")
    p.add_argument("--client-secret")
    p.add_argument("--log")
    p.add_argument("--parent-pid", type=int)
    opts = p.parse_args(argv)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.opts = opts
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(opts.cert, opts.key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)

    def stop(*_):
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, stop)

    def watch():
        while True:
            try:
                os.kill(opts.parent_pid, 0)
            except ProcessLookupError:
                stop()
                return
            except PermissionError:
                pass
            time.sleep(0.5)

    if opts.parent_pid:
        threading.Thread(target=watch, daemon=True).start()
    tmp = f"{opts.port_file}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(f"{httpd.server_address[1]}\n")
    os.rename(tmp, opts.port_file)
    httpd.serve_forever(poll_interval=0.2)
    httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
