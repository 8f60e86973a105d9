/* SPDX-License-Identifier: MIT */
/*
 * The WireGuard primitives, every one from OpenSSL 3 libcrypto (XChaCha20-Poly1305 from
 * libsodium, which OpenSSL lacks). Nothing here implements a primitive itself.
 */
#ifndef RN_WG_CRYPTO_H
#define RN_WG_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RN_BLAKE2S_LEN	   32
#define RN_X25519_LEN	   32
#define RN_AEAD_KEY_LEN	   32
#define RN_AEAD_TAG_LEN	   16
#define RN_XAEAD_NONCE_LEN 24

#define RN_WARN_UNUSED __attribute__((warn_unused_result))

/* Fetches the algorithms once; call before anything else. 0 or -ENOSYS if one is missing. */
int rn_crypto_init(void);

/* HASH(a || b) with BLAKE2s-256; b may be NULL with blen 0. */
void rn_blake2s(uint8_t out[RN_BLAKE2S_LEN], const void *a, size_t alen, const void *b,
		size_t blen);
/* Keyed BLAKE2s (MAC in the whitepaper) with an outlen-byte digest (16 for mac1/mac2/cookie). */
void rn_blake2s_mac(uint8_t *out, size_t outlen, const uint8_t *key, size_t keylen, const void *in,
		    size_t inlen);
/* HMAC-BLAKE2s-256. */
void rn_hmac_blake2s(uint8_t out[RN_BLAKE2S_LEN], const uint8_t *key, size_t keylen, const void *in,
		     size_t inlen);
/* The Noise HKDF: t1..t3 = KDF_n(key, in); t2 and t3 may be NULL. */
void rn_kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, const uint8_t key[RN_BLAKE2S_LEN],
	    const void *in, size_t inlen);

/* A fresh random Curve25519 private key (clamped, as `wg genkey` makes them). */
void rn_x25519_generate(uint8_t priv[RN_X25519_LEN]);
bool rn_x25519_public(uint8_t pub[RN_X25519_LEN], const uint8_t priv[RN_X25519_LEN]) RN_WARN_UNUSED;
/* DH; false for a low-order public key (all-zero shared secret) or an error. */
bool rn_x25519(uint8_t out[RN_X25519_LEN], const uint8_t priv[RN_X25519_LEN],
	       const uint8_t pub[RN_X25519_LEN]) RN_WARN_UNUSED;
/*
 * A private key loaded into libcrypto once, for several DHs with it: every load derives the
 * public key (a scalar multiplication as costly as the DH), which rn_x25519 pays each time.
 * key_new gives the public key too (pub may be NULL); NULL if unusable or memory is short.
 */
struct rn_x25519_key;
struct rn_x25519_key *rn_x25519_key_new(const uint8_t priv[RN_X25519_LEN],
					uint8_t pub[RN_X25519_LEN]);
/* rn_x25519 with a loaded key. */
bool rn_x25519_key_dh(uint8_t out[RN_X25519_LEN], const struct rn_x25519_key *k,
		      const uint8_t pub[RN_X25519_LEN]) RN_WARN_UNUSED;
void rn_x25519_key_free(struct rn_x25519_key *k);

/*
 * ChaCha20-Poly1305 with WireGuard's nonce (32 zero bits, then the 64-bit counter little-endian).
 * seal writes len + 16 bytes to dst; open reads len (>= 16) bytes and writes len - 16. dst may
 * equal src. A context is used by one thread at a time; the packet path keeps one per thread.
 */
struct rn_aead;
struct rn_aead *rn_aead_new(void);
void rn_aead_free(struct rn_aead *a);
bool rn_aead_seal(struct rn_aead *a, uint8_t *dst, const uint8_t *src, size_t len,
		  const uint8_t *ad, size_t adlen, uint64_t nonce,
		  const uint8_t key[RN_AEAD_KEY_LEN]) RN_WARN_UNUSED;
bool rn_aead_open(struct rn_aead *a, uint8_t *dst, const uint8_t *src, size_t len,
		  const uint8_t *ad, size_t adlen, uint64_t nonce,
		  const uint8_t key[RN_AEAD_KEY_LEN]) RN_WARN_UNUSED;
/* Overwrites the key (and keystream) a context keeps from its last use, without allocating. */
void rn_aead_forget(struct rn_aead *a);
/* Which of a's contexts hold key (for tests: a probe that leaves them holding what they held). */
enum { RN_AEAD_HOLDS_ENC = 1, RN_AEAD_HOLDS_DEC = 2 };
unsigned int rn_aead_holds_key(struct rn_aead *a, const uint8_t key[RN_AEAD_KEY_LEN]);
/*
 * The same on the calling thread's own context: the packet and handshake paths. These contexts
 * keep no copy of a session's key once the session is freed: rn_noise_keypair_put calls
 * rn_aead_forget_key with the keypair's own key arrays first (the contexts record which key
 * they hold by its address). A caller whose key is short-lived (the handshake's) calls
 * rn_aead_forget1 when done.
 */
bool rn_aead_seal1(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		   uint64_t nonce, const uint8_t key[RN_AEAD_KEY_LEN]) RN_WARN_UNUSED;
bool rn_aead_open1(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		   uint64_t nonce, const uint8_t key[RN_AEAD_KEY_LEN]) RN_WARN_UNUSED;
void rn_aead_forget1(void);
unsigned int rn_aead_holds_key1(const uint8_t key[RN_AEAD_KEY_LEN]);
/* Every thread's context that was last given key (this very array) forgets it. */
void rn_aead_forget_key(const uint8_t key[RN_AEAD_KEY_LEN]);
/* How many threads' contexts hold these key bytes now (for tests). */
unsigned int rn_aead_threads_holding(const uint8_t key[RN_AEAD_KEY_LEN]);

/* XChaCha20-Poly1305 (cookie replies). */
bool rn_xaead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[RN_XAEAD_NONCE_LEN],
		   const uint8_t key[RN_AEAD_KEY_LEN]) RN_WARN_UNUSED;
bool rn_xaead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[RN_XAEAD_NONCE_LEN],
		   const uint8_t key[RN_AEAD_KEY_LEN]) RN_WARN_UNUSED;

void rn_random(void *buf, size_t len);
/* Constant-time equality for MACs and keys. */
bool rn_ct_equal(const void *a, const void *b, size_t len);
/* Constant-time check that a key is all zero (an unset key). */
bool rn_ct_is_zero(const void *a, size_t len);
void rn_wipe(void *p, size_t len);

#endif
