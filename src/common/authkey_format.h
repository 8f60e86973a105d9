/* SPDX-License-Identifier: MIT */
/*
 * The auth key a user gives `rustynet up --server URL --auth-key KEY`: the store's secret plus
 * what the node needs to trust the server before it has ever talked to it, so no trust on first
 * use is needed. Four parts joined by '.', none of which can contain a '.':
 *
 *   rnk1.<secret>.<tls pin>.<netmap key>
 *
 *   rnk1        the format version
 *   secret      the store's auth key secret: "rnk_" + 43 base64url characters
 *   tls pin     base64url (no padding) of SHA-256 of the DER SubjectPublicKeyInfo of the
 *               control server's TLS certificate: 43 characters
 *   netmap key  base64url (no padding) of the Ed25519 public key that signs netmaps: 43 characters
 *
 * Pure C with no library beyond libc, so the node can reuse it.
 */
#ifndef RN_COMMON_AUTHKEY_FORMAT_H
#define RN_COMMON_AUTHKEY_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	RN_AUTHKEY_HASH_LEN = 32,			/* the TLS pin: SHA-256, bytes */
	RN_AUTHKEY_PUB_LEN = 32,			/* the Ed25519 netmap signing key, bytes */
	RN_AUTHKEY_B64_LEN = 43,			/* 32 bytes in base64url without padding */
	RN_AUTHKEY_SECRET_LEN = 4 + RN_AUTHKEY_B64_LEN, /* "rnk_" + base64url */
	/* "rnk1." + secret + "." + pin + "." + key, and the NUL */
	RN_AUTHKEY_STRSIZE =
	    5 + RN_AUTHKEY_SECRET_LEN + 1 + RN_AUTHKEY_B64_LEN + 1 + RN_AUTHKEY_B64_LEN + 1,
};

struct rn_authkey {
	char secret[RN_AUTHKEY_SECRET_LEN + 1]; /* what the store checks; a secret */
	uint8_t tls_pin[RN_AUTHKEY_HASH_LEN];
	uint8_t netmap_pub[RN_AUTHKEY_PUB_LEN];
};

/* Writes the key text to out. Returns false if secret is not a store secret. */
bool rn_authkey_format(const struct rn_authkey *key, char out[RN_AUTHKEY_STRSIZE])
    __attribute__((warn_unused_result));

/*
 * Parses a key text; surrounding whitespace (a pasted newline) is ignored. On failure err says
 * what is wrong, never quoting the secret.
 */
bool rn_authkey_parse(const char *s, struct rn_authkey *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* base64url without padding of 32 bytes, and its strict inverse (canonical text only). */
void rn_authkey_b64_encode(const uint8_t in[32], char out[RN_AUTHKEY_B64_LEN + 1]);
bool rn_authkey_b64_decode(const char *in, size_t len, uint8_t out[32])
    __attribute__((warn_unused_result));

#endif
