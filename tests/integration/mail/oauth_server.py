#!/usr/bin/env python3
# oauth_server.py: a tiny OAuth2 authorization server over HTTPS for the mail tests: a token
# endpoint (refresh_token grant) and an RFC 7662 introspection endpoint dovecot asks.
#
#   oauth_server.py PORT CERT KEY EXPIRES_IN
#
# Refresh token "rt-userN" (client "warmup-test") yields access tokens for userN@test.local;
# any other refresh token or client is refused with invalid_grant, as Google does.
# "rt-userN~K" rotates as Microsoft may: the answer carries the new refresh token
# "rt-userN~K+1" and "rt-userN~K" is revoked from then on.
# GET /stats answers {"token_requests": n} so a test can see the client's cache work.
import json, ssl, sys, threading, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, cert, key, expires_in = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
lock = threading.Lock()
access = {}            # access token -> username
stats = {"token_requests": 0}
revoked = set()        # rotated-away refresh tokens


class handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/stats":
            with lock:
                return self.reply(200, dict(stats))
        self.reply(404, {"error": "not_found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in urllib.parse.parse_qs(self.rfile.read(length).decode()).items()}
        if self.path == "/token":
            with lock:
                stats["token_requests"] += 1
                n = stats["token_requests"]
            rt = form.get("refresh_token", "")
            with lock:
                dead = rt in revoked
            if (form.get("grant_type") != "refresh_token" or form.get("client_id") != "warmup-test"
                    or not rt.startswith("rt-user") or dead):
                return self.reply(400, {"error": "invalid_grant",
                                        "error_description": "Token has been expired or revoked."})
            user, _, generation = rt[3:].partition("~")
            token = "at-%d-%s" % (n, user)
            answer = {"access_token": token, "expires_in": expires_in,
                      "token_type": "Bearer", "scope": "https://mail.google.com/"}
            with lock:
                access[token] = user + "@test.local"
                if generation:
                    revoked.add(rt)
                    answer["refresh_token"] = "rt-%s~%d" % (user, int(generation) + 1)
            return self.reply(200, answer)
        if self.path == "/introspect":
            with lock:
                user = access.get(form.get("token", ""))
            if user is None:
                return self.reply(200, {"active": False})
            return self.reply(200, {"active": True, "username": user})
        self.reply(404, {"error": "not_found"})


server = ThreadingHTTPServer(("127.0.0.1", port), handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print("ready", flush=True)
server.serve_forever()
