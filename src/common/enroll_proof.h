/* SPDX-License-Identifier: MIT */
/*
 * Proof that an enrolling node holds the private half of the WireGuard key it enrolls
 * (docs/control-protocol.md, "Proof of the node key"). The server has a static X25519 key of its
 * own; it hands out a fresh single-use nonce; the node answers with
 *
 *   proof = HMAC-SHA256(key = X25519(node_priv, server_pub),
 *                       "rustynet enroll proof v1\0" || nonce || server_pub || node_pub ||
 *                       SHA-256(auth key secret) || hostname)
 *
 * and the server computes the same with X25519(server_priv, node_pub). Only the holder of
 * node_priv (or of server_priv) can make it, it is good for that nonce, server, key, auth key and
 * hostname only, and a key of low order (an all-zero shared secret) never verifies. The same
 * function serves both sides, so they cannot drift apart. Pure libcrypto, no state.
 */
#ifndef RN_COMMON_ENROLL_PROOF_H
#define RN_COMMON_ENROLL_PROOF_H

#include <stdbool.h>
#include <stdint.h>

enum {
	RN_ENROLL_KEY_LEN = 32,	  /* X25519 private or public key, bytes */
	RN_ENROLL_NONCE_LEN = 32, /* the server's challenge, bytes of randomness */
	RN_ENROLL_PROOF_LEN = 32, /* HMAC-SHA256, bytes */
};

/* What a proof is bound to, besides the two keys of the exchange. */
struct rn_enroll_transcript {
	const uint8_t *nonce;	   /* RN_ENROLL_NONCE_LEN */
	const uint8_t *server_pub; /* RN_ENROLL_KEY_LEN */
	const uint8_t *node_pub;   /* RN_ENROLL_KEY_LEN */
	const char *auth_key;	   /* the "rnk_..." secret, as sent; a secret */
	const char *hostname;	   /* as sent */
};

/*
 * The proof of t, with the shared secret X25519(my_priv, their_pub): the node passes its own
 * private key and the server's public key, the server its private key and the node's public
 * key. false when the exchange fails (a low-order public key) or libcrypto does.
 */
bool rn_enroll_proof_make(const uint8_t my_priv[RN_ENROLL_KEY_LEN],
			  const uint8_t their_pub[RN_ENROLL_KEY_LEN],
			  const struct rn_enroll_transcript *t, uint8_t out[RN_ENROLL_PROOF_LEN])
    __attribute__((warn_unused_result));
/* Whether proof is the one rn_enroll_proof_make gives; compared in constant time. */
bool rn_enroll_proof_verify(const uint8_t my_priv[RN_ENROLL_KEY_LEN],
			    const uint8_t their_pub[RN_ENROLL_KEY_LEN],
			    const struct rn_enroll_transcript *t,
			    const uint8_t proof[RN_ENROLL_PROOF_LEN])
    __attribute__((warn_unused_result));

/* A fresh X25519 private key, and the public key of one. false when libcrypto fails. */
bool rn_enroll_key_generate(uint8_t priv[RN_ENROLL_KEY_LEN]) __attribute__((warn_unused_result));
bool rn_enroll_key_public(const uint8_t priv[RN_ENROLL_KEY_LEN], uint8_t pub[RN_ENROLL_KEY_LEN])
    __attribute__((warn_unused_result));

#endif
