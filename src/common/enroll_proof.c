/* SPDX-License-Identifier: MIT */
/* The enrollment proof of possession of the node key (see enroll_proof.h), on OpenSSL 3. */
#include "common/enroll_proof.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

static const char label[] = "rustynet enroll proof v1"; /* with its NUL */

/* X25519(priv, pub); false on failure, which includes an all-zero result (low-order pub). */
static bool shared_secret(const uint8_t priv[RN_ENROLL_KEY_LEN],
			  const uint8_t pub[RN_ENROLL_KEY_LEN], uint8_t out[RN_ENROLL_KEY_LEN])
{
	static const uint8_t zero[RN_ENROLL_KEY_LEN];
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, RN_ENROLL_KEY_LEN);
	EVP_PKEY *p = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pub, RN_ENROLL_KEY_LEN);
	EVP_PKEY_CTX *ctx = k ? EVP_PKEY_CTX_new(k, NULL) : NULL;
	size_t len = RN_ENROLL_KEY_LEN;
	bool ok;

	ok = ctx && p && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, p) == 1 &&
	     EVP_PKEY_derive(ctx, out, &len) == 1 && len == RN_ENROLL_KEY_LEN &&
	     CRYPTO_memcmp(out, zero, sizeof(zero)) != 0;
	if (!ok)
		OPENSSL_cleanse(out, RN_ENROLL_KEY_LEN);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(p);
	EVP_PKEY_free(k);
	return ok;
}

static bool transcript_mac(const uint8_t key[RN_ENROLL_KEY_LEN],
			   const struct rn_enroll_transcript *t, uint8_t out[RN_ENROLL_PROOF_LEN])
{
	uint8_t akh[32];
	unsigned int hlen = 0;
	char digest[] = "SHA256";
	OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
				OSSL_PARAM_construct_end() };
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	size_t len = 0;
	bool ok;

	ok = t->auth_key && t->hostname &&
	     EVP_Digest(t->auth_key, strlen(t->auth_key), akh, &hlen, EVP_sha256(), NULL) == 1 &&
	     hlen == sizeof(akh) && ctx && EVP_MAC_init(ctx, key, RN_ENROLL_KEY_LEN, params) == 1 &&
	     EVP_MAC_update(ctx, (const uint8_t *)label, sizeof(label)) == 1 &&
	     EVP_MAC_update(ctx, t->nonce, RN_ENROLL_NONCE_LEN) == 1 &&
	     EVP_MAC_update(ctx, t->server_pub, RN_ENROLL_KEY_LEN) == 1 &&
	     EVP_MAC_update(ctx, t->node_pub, RN_ENROLL_KEY_LEN) == 1 &&
	     EVP_MAC_update(ctx, akh, sizeof(akh)) == 1 &&
	     EVP_MAC_update(ctx, (const uint8_t *)t->hostname, strlen(t->hostname)) == 1 &&
	     EVP_MAC_final(ctx, out, &len, RN_ENROLL_PROOF_LEN) == 1 && len == RN_ENROLL_PROOF_LEN;
	OPENSSL_cleanse(akh, sizeof(akh));
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok;
}

bool rn_enroll_proof_make(const uint8_t my_priv[RN_ENROLL_KEY_LEN],
			  const uint8_t their_pub[RN_ENROLL_KEY_LEN],
			  const struct rn_enroll_transcript *t, uint8_t out[RN_ENROLL_PROOF_LEN])
{
	uint8_t shared[RN_ENROLL_KEY_LEN];
	bool ok = shared_secret(my_priv, their_pub, shared) && transcript_mac(shared, t, out);

	OPENSSL_cleanse(shared, sizeof(shared));
	if (!ok)
		memset(out, 0, RN_ENROLL_PROOF_LEN);
	return ok;
}

bool rn_enroll_proof_verify(const uint8_t my_priv[RN_ENROLL_KEY_LEN],
			    const uint8_t their_pub[RN_ENROLL_KEY_LEN],
			    const struct rn_enroll_transcript *t,
			    const uint8_t proof[RN_ENROLL_PROOF_LEN])
{
	uint8_t want[RN_ENROLL_PROOF_LEN];
	bool ok = rn_enroll_proof_make(my_priv, their_pub, t, want) &&
		  CRYPTO_memcmp(want, proof, RN_ENROLL_PROOF_LEN) == 0;

	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}

bool rn_enroll_key_generate(uint8_t priv[RN_ENROLL_KEY_LEN])
{
	if (RAND_priv_bytes(priv, RN_ENROLL_KEY_LEN) != 1)
		return false;
	priv[0] &= 248; /* clamped as X25519 would; stored that way like wg genkey's */
	priv[31] = (priv[31] & 127) | 64;
	return true;
}

bool rn_enroll_key_public(const uint8_t priv[RN_ENROLL_KEY_LEN], uint8_t pub[RN_ENROLL_KEY_LEN])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, RN_ENROLL_KEY_LEN);
	size_t len = RN_ENROLL_KEY_LEN;
	bool ok = k && EVP_PKEY_get_raw_public_key(k, pub, &len) == 1 && len == RN_ENROLL_KEY_LEN;

	EVP_PKEY_free(k);
	return ok;
}
