#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A rogue control server for the trust tests: it holds the real server's TLS key (so the node's
pin check passes, as after a key theft or on a compromised host) and answers every /v1/poll
with whatever envelope the test put in MAPFILE, re-read per request. It answers the enrollment
challenge with a nonce and an X25519 key of its own (a proof made for it is good at no other
server), and enroll, like every other request, with MAPFILE. The node must refuse a map
that is forged, replayed or signed by another key, and keep running on its last good one.

Usage: rogue-control.py ADDR PORT CERT KEY MAPFILE
Also: rogue-control.py forge ENVELOPE SIGNKEY_B64_FILE VERSION_BUMP [PATCH_JSON] > NEW_ENVELOPE
(re-signs the map with another Ed25519 key via `openssl pkeyutl`, version raised by VERSION_BUMP;
PATCH_JSON, a file holding a JSON object, is merged into the map first: objects member by member,
anything else replaced. With the server's own key, that is what a compromised server can send.)
"""
import base64
import hashlib
import http.server
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time


def merge(dst, patch):
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            merge(dst[k], v)
        else:
            dst[k] = v


def forge(envelope_path, key_path, bump, patch_path=None):
    env = json.load(open(envelope_path))
    m = json.loads(env["map"])
    if patch_path:
        merge(m, json.load(open(patch_path)))
    m["version"] += int(bump)
    m["issued_at"] = int(time.time())
    text = json.dumps(m, separators=(",", ":"))
    seed = base64.b64decode(open(key_path).read().strip())
    with tempfile.TemporaryDirectory() as d:
        der = bytes.fromhex("302e020100300506032b657004220420") + seed
        open(os.path.join(d, "k.der"), "wb").write(der)
        open(os.path.join(d, "m"), "wb").write(text.encode())
        subprocess.run(["openssl", "pkey", "-inform", "DER", "-in", os.path.join(d, "k.der"),
                        "-out", os.path.join(d, "k.pem")], check=True)
        subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey",
                        os.path.join(d, "k.pem"), "-in", os.path.join(d, "m"), "-out",
                        os.path.join(d, "s")], check=True)
        sig = open(os.path.join(d, "s"), "rb").read()
        pub = subprocess.run(["openssl", "pkey", "-in", os.path.join(d, "k.pem"), "-pubout",
                              "-outform", "DER"], check=True, capture_output=True).stdout[-32:]
    out = {"format": env["format"], "key_id": hashlib.sha256(pub).hexdigest()[:16],
           "map": text, "sig": base64.b64encode(sig).decode()}
    json.dump(out, sys.stdout, separators=(",", ":"))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        if self.path == "/v1/enroll/challenge":
            body = json.dumps({"nonce": base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="),
                               "server_key": base64.b64encode(self.server.enroll_pub).decode(),
                               "expires_in": 60}).encode()
        else:
            time.sleep(0.3)  # the node polls again at once: keep the loop slow
            body = open(self.server.mapfile, "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("rogue: " + (fmt % args) + "\n")


def serve(addr, port, cert, key, mapfile):
    srv = http.server.ThreadingHTTPServer((addr, int(port)), Handler)
    srv.mapfile = mapfile
    # any 32 bytes but a low-order point will do as a public key here: nobody needs its secret
    srv.enroll_pub = hashlib.sha256(os.urandom(32)).digest()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


if __name__ == "__main__":
    if sys.argv[1] == "forge":
        forge(*sys.argv[2:6])
    else:
        serve(*sys.argv[1:6])
