#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An enrolling node for the control tests, with the proof of its key done right or wrong on
purpose (docs/control-protocol.md, "Proof of the node key"): POST /v1/enroll/challenge, then
POST /v1/enroll. Prints the enroll answer's body, then its HTTP status on a line of its own.

Usage: enroll-client.py URL FROM PIN SECRET HOSTNAME [options]
  URL       https://HOST:PORT of the server     FROM  source address to connect from
  PIN       the auth key's TLS pin (base64url)  SECRET the auth key's "rnk_..." part
  --priv B64      the private key to prove with (default: a fresh one)
  --pub B64       the public key to enroll (default: the one of --priv)
  --no-proof      leave out nonce and proof (as a client from before the proof)
  --garbage-proof a proof of random bytes
  --replay        send the same enroll (same nonce) a second time; print that answer
  --endpoint EP   report EP as the node's endpoint (default: FROM:41641)
Needs python3-cryptography.
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import ssl
import sys
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import x25519

RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def b64u(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def proof_of(priv, server_pub, nonce, node_pub, secret, hostname):
    """common/enroll_proof.h, written again here: a second implementation to test against."""
    shared = priv.exchange(x25519.X25519PublicKey.from_public_bytes(server_pub))
    msg = (b"rustynet enroll proof v1\0" + nonce + server_pub + node_pub +
           hashlib.sha256(secret.encode()).digest() + hostname.encode())
    return hmac.new(shared, msg, hashlib.sha256).digest()


def post(a, path, body):
    u = urllib.parse.urlsplit(a.url)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    c = http.client.HTTPSConnection(u.hostname, u.port, source_address=(a.src, 0), context=ctx,
                                    timeout=30)
    c.connect()
    cert = x509.load_der_x509_certificate(c.sock.getpeercert(binary_form=True))
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    if b64u(hashlib.sha256(spki).digest()) != a.pin:
        sys.exit("enroll-client: the server's TLS key does not match the pin")
    c.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    r = c.getresponse()
    return r.status, r.read().decode()


def main():
    # The five positionals are taken as they are: a pin or secret may start with "-" (base64url),
    # which argparse would read as an option.
    names = ("url", "src", "pin", "secret", "hostname")
    if len(sys.argv) < 1 + len(names):
        sys.exit("usage: enroll-client.py URL SRC PIN SECRET HOSTNAME [options]")
    p = argparse.ArgumentParser()
    p.add_argument("--priv")
    p.add_argument("--pub")
    p.add_argument("--no-proof", action="store_true")
    p.add_argument("--garbage-proof", action="store_true")
    p.add_argument("--replay", action="store_true")
    p.add_argument("--endpoint")
    a = p.parse_args(sys.argv[1 + len(names):])
    for name, value in zip(names, sys.argv[1:]):
        setattr(a, name, value)
    priv = (x25519.X25519PrivateKey.from_private_bytes(base64.b64decode(a.priv)) if a.priv
            else x25519.X25519PrivateKey.generate())
    node_pub = base64.b64decode(a.pub) if a.pub else priv.public_key().public_bytes(*RAW)
    body = {"auth_key": a.secret, "public_key": base64.b64encode(node_pub).decode(),
            "hostname": a.hostname, "endpoints": [a.endpoint or "%s:41641" % a.src]}
    if not a.no_proof:
        status, text = post(a, "/v1/enroll/challenge", {})
        if status != 200:
            print(text)
            print(status)
            return
        ch = json.loads(text)
        nonce = base64.urlsafe_b64decode(ch["nonce"] + "=")
        server_pub = base64.b64decode(ch["server_key"])
        proof = (os.urandom(32) if a.garbage_proof else
                 proof_of(priv, server_pub, nonce, node_pub, a.secret, a.hostname))
        body["nonce"] = b64u(nonce)
        body["proof"] = b64u(proof)
    status, text = post(a, "/v1/enroll", body)
    if a.replay:
        status, text = post(a, "/v1/enroll", body)
    print(text)
    print(status)


if __name__ == "__main__":
    main()
