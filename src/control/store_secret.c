/* SPDX-License-Identifier: MIT */
/*
 * Bearer secrets the store hands out once and keeps only as SHA-256: auth keys ("rnk_...") and
 * node tokens ("rnt_..."). Both are a 4-byte prefix and base64url of 32 random bytes, so a
 * secret pasted into the wrong place is recognised as the wrong kind before any lookup.
 */
#include "control/store_priv.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/authkey_format.h"

enum { RN_SECRET_RANDOM_LEN = 32 }; /* bytes of entropy in a secret */

bool rn_store_secret_format_ok(const char *secret, const char *prefix)
{
	uint8_t raw[RN_SECRET_RANDOM_LEN];
	size_t plen = strlen(prefix);
	bool ok;

	if (strnlen(secret, RN_STORE_SECRET_SIZE) != RN_STORE_SECRET_SIZE - 1 ||
	    strncmp(secret, prefix, plen) != 0)
		return false;
	ok = rn_authkey_b64_decode(secret + plen, strlen(secret + plen), raw);
	OPENSSL_cleanse(raw, sizeof(raw));
	return ok;
}

int rn_store_secret_hash(struct rn_store *store, const char *secret,
			 uint8_t hash[RN_STORE_SECRET_HASH_LEN])
{
	unsigned int len = 0;

	if (EVP_Digest(secret, strlen(secret), hash, &len, EVP_sha256(), NULL) != 1 ||
	    len != RN_STORE_SECRET_HASH_LEN)
		return rn_store_fail(store, -EIO, "SHA-256 failed");
	return 0;
}

int rn_store_secret_generate(struct rn_store *store, const char *prefix,
			     char out[RN_STORE_SECRET_SIZE])
{
	uint8_t raw[RN_SECRET_RANDOM_LEN];
	char b64[RN_AUTHKEY_B64_LEN + 1];
	size_t plen = strlen(prefix);

	if (plen + RN_AUTHKEY_B64_LEN + 1 != RN_STORE_SECRET_SIZE)
		return rn_store_fail(store, -EINVAL, "secret prefix \"%s\" has the wrong length",
				     prefix);
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return rn_store_fail(store, -EIO, "no randomness for a secret");
	rn_authkey_b64_encode(raw, b64);
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): b64 holds its NUL */
	memcpy(out, prefix, plen);
	memcpy(out + plen, b64, sizeof(b64));
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(b64, sizeof(b64));
	return 0;
}
