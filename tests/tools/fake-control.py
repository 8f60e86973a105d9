#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A stand-in for `rustynet-control serve` in node-side tests (docs/control-protocol.md):
#   fake-control.py DIR PORT   writes DIR/cert.pem, DIR/key.pem, DIR/authkey (rnk1...) and serves
# the enrollment challenge, enroll (single-use key; the proof of the node key checked as
# docs/control-protocol.md says), poll (204 after 2 s; touch DIR/bump for a version 2 with a
# moved peer endpoint) and logout on 127.0.0.1:PORT over TLS 1.3. Needs python3-cryptography.
import base64, hashlib, hmac, json, os, ssl, sys, threading, time, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, ec, x25519

d = sys.argv[1]; port = int(sys.argv[2])
sign = ed25519.Ed25519PrivateKey.generate()
sign_pub = sign.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
tls = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(tls.public_key())
        .serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1)).sign(tls, hashes.SHA256()))
open(d + "/cert.pem", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
open(d + "/key.pem", "wb").write(tls.private_bytes(serialization.Encoding.PEM,
     serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
spki = tls.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
b64u = lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")
secret = "rnk_" + b64u(os.urandom(32))
open(d + "/authkey", "w").write("rnk1.%s.%s.%s\n" % (secret, b64u(hashlib.sha256(spki).digest()), b64u(sign_pub)))
enroll_key = x25519.X25519PrivateKey.generate()
enroll_pub = enroll_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
nonces = set()
state = {"version": 1, "self": None, "token": "rnt_" + b64u(os.urandom(32)), "used": False}
peer_pub = base64.b64encode(bytes([7] * 32)).decode()

def envelope():
    m = {"version": state["version"], "issued_at": int(time.time()), "domain": "rustynet",
         "self": {"id": 1, "name": "node1", "dns_name": "node1.rustynet", "user": "alice@example.com",
                  "ipv4": "100.64.0.1", "ipv6": "fd7a:115c:a1e0::1", "public_key": state["self"]},
         "peers": [{"id": 2, "name": "peer2", "dns_name": "peer2.rustynet", "public_key": peer_pub,
                    "ipv4": "100.64.0.2", "ipv6": "fd7a:115c:a1e0::2", "endpoints": ["192.0.2.2:41641"],
                    "allowed_ips": ["100.64.0.2/32", "fd7a:115c:a1e0::2/128"], "online": True,
                    "last_seen": int(time.time()), "is_exit": False, "lan_routes": []}],
         "filter": {"self": ["100.64.0.1/32", "fd7a:115c:a1e0::1/128"], "routes": [], "exit": False,
                    "rules": [{"context": "mesh", "proto": "icmp", "src": ["100.64.0.0/10"],
                               "dst": ["100.64.0.1/32"], "ports": [[0, 65535]]}]},
         "dns": {"resolvers": [], "records": [], "search_domain": ""}}
    if os.path.exists(d + "/bump"):
        m["peers"][0]["endpoints"] = ["192.0.2.3:41641"]
    s = json.dumps(m, separators=(",", ":"))
    return {"format": "rustynet-netmap/1", "key_id": hashlib.sha256(sign_pub).digest()[:8].hex(),
            "map": s, "sig": base64.b64encode(sign.sign(s.encode())).decode()}

class H(BaseHTTPRequestHandler):
    def reply(self, code, obj=None):
        body = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(code)
        if obj is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        print("REQ", self.path, {k: v for k, v in req.items() if k != "auth_key"}, flush=True)
        if self.path == "/v1/enroll/challenge":
            nonce = os.urandom(32); nonces.add(nonce)
            return self.reply(200, {"nonce": b64u(nonce), "server_key": base64.b64encode(enroll_pub).decode(),
                                    "expires_in": 60})
        if self.path == "/v1/enroll":
            nonce = base64.urlsafe_b64decode(req.get("nonce", "") + "=")
            if nonce not in nonces:
                return self.reply(401, {"error": "the enrollment nonce is unknown, used or expired"})
            nonces.discard(nonce)
            pub = base64.b64decode(req["public_key"])
            shared = enroll_key.exchange(x25519.X25519PublicKey.from_public_bytes(pub))
            want = hmac.new(shared, b"rustynet enroll proof v1\0" + nonce + enroll_pub + pub +
                            hashlib.sha256(req["auth_key"].encode()).digest() + req["hostname"].encode(),
                            hashlib.sha256).digest()
            if not hmac.compare_digest(want, base64.urlsafe_b64decode(req.get("proof", "") + "=")):
                return self.reply(401, {"error": "the proof of the node key does not verify"})
            if req["auth_key"] != secret or state["used"]:
                return self.reply(403, {"error": "auth key already used"})
            state["used"] = True; state["self"] = req["public_key"]
            return self.reply(200, {"node_id": 1, "node_token": state["token"], "netmap": envelope()})
        if self.headers.get("Authorization") != "Bearer " + state["token"]:
            return self.reply(401, {"error": "unknown node token"})
        if self.path == "/v1/poll":
            if os.path.exists(d + "/bump") and state["version"] == 1:
                state["version"] = 2
            if req["since"] < state["version"]:
                return self.reply(200, envelope())
            time.sleep(2)
            return self.reply(204)
        if self.path == "/v1/logout":
            state["token"] = "gone"
            return self.reply(200, {})
        self.reply(404, {"error": "unknown path"})
    def log_message(self, *a):
        pass

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_cert_chain(d + "/cert.pem", d + "/key.pem")
srv = ThreadingHTTPServer(("127.0.0.1", port), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("READY", flush=True)
srv.serve_forever()
