/* SPDX-License-Identifier: MIT */
/* Thin, allocation-light wrappers over OpenSSL 3 EVP for the WireGuard primitives. */
#include "wg/crypto.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static EVP_MD *md_blake2s;
static EVP_MAC *mac_blake2s;
static EVP_MAC *mac_hmac;
static EVP_CIPHER *cipher_chacha;

int rn_crypto_init(void)
{
	if (md_blake2s)
		return 0;
	md_blake2s = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL);
	mac_blake2s = EVP_MAC_fetch(NULL, "BLAKE2SMAC", NULL);
	mac_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	cipher_chacha = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	if (!md_blake2s || !mac_blake2s || !mac_hmac || !cipher_chacha || sodium_init() < 0)
		return -ENOSYS;
	return 0;
}

/* Crypto failures here mean a broken library, never bad input: there is no safe way on. */
static void crypto_die(const char *what)
{
	fprintf(stderr, "fatal: libcrypto %s failed\n", what);
	abort();
}

void rn_blake2s(uint8_t out[RN_BLAKE2S_LEN], const void *a, size_t alen, const void *b, size_t blen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || !EVP_DigestInit_ex2(ctx, md_blake2s, NULL) || !EVP_DigestUpdate(ctx, a, alen) ||
	    (blen && !EVP_DigestUpdate(ctx, b, blen)) || !EVP_DigestFinal_ex(ctx, out, NULL))
		crypto_die("BLAKE2s");
	EVP_MD_CTX_free(ctx);
}

static void mac_run(EVP_MAC *mac, const OSSL_PARAM *params, uint8_t *out, size_t outlen,
		    const uint8_t *key, size_t keylen, const void *in, size_t inlen)
{
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
	size_t got = 0;

	if (!ctx || !EVP_MAC_init(ctx, key, keylen, params) || !EVP_MAC_update(ctx, in, inlen) ||
	    !EVP_MAC_final(ctx, out, &got, outlen) || got != outlen)
		crypto_die("MAC");
	EVP_MAC_CTX_free(ctx);
}

void rn_blake2s_mac(uint8_t *out, size_t outlen, const uint8_t *key, size_t keylen, const void *in,
		    size_t inlen)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &outlen),
		OSSL_PARAM_construct_end(),
	};

	mac_run(mac_blake2s, params, out, outlen, key, keylen, in, inlen);
}

void rn_hmac_blake2s(uint8_t out[RN_BLAKE2S_LEN], const uint8_t *key, size_t keylen, const void *in,
		     size_t inlen)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "BLAKE2S-256", 0),
		OSSL_PARAM_construct_end(),
	};

	mac_run(mac_hmac, params, out, RN_BLAKE2S_LEN, key, keylen, in, inlen);
}

void rn_kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, const uint8_t key[RN_BLAKE2S_LEN],
	    const void *in, size_t inlen)
{
	uint8_t secret[RN_BLAKE2S_LEN], out[RN_BLAKE2S_LEN + 1];

	/* secret = HMAC(key, in); t1 = HMAC(secret, 0x1); tn = HMAC(secret, t(n-1) || n) */
	rn_hmac_blake2s(secret, key, RN_BLAKE2S_LEN, in, inlen);
	out[0] = 1;
	rn_hmac_blake2s(out, secret, sizeof(secret), out, 1);
	memcpy(t1, out, RN_BLAKE2S_LEN);
	if (t2) {
		out[RN_BLAKE2S_LEN] = 2;
		rn_hmac_blake2s(out, secret, sizeof(secret), out, RN_BLAKE2S_LEN + 1);
		memcpy(t2, out, RN_BLAKE2S_LEN);
	}
	if (t3) {
		out[RN_BLAKE2S_LEN] = 3;
		rn_hmac_blake2s(out, secret, sizeof(secret), out, RN_BLAKE2S_LEN + 1);
		memcpy(t3, out, RN_BLAKE2S_LEN);
	}
	rn_wipe(secret, sizeof(secret));
	rn_wipe(out, sizeof(out));
}

void rn_x25519_generate(uint8_t priv[RN_X25519_LEN])
{
	rn_random(priv, RN_X25519_LEN);
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
}

bool rn_x25519_public(uint8_t pub[RN_X25519_LEN], const uint8_t priv[RN_X25519_LEN])
{
	EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, RN_X25519_LEN);
	size_t len = RN_X25519_LEN;
	bool ok = key && EVP_PKEY_get_raw_public_key(key, pub, &len) && len == RN_X25519_LEN;

	EVP_PKEY_free(key);
	return ok;
}

struct rn_x25519_key {
	EVP_PKEY *pkey;
};

static bool x25519_derive(uint8_t out[RN_X25519_LEN], EVP_PKEY *sk,
			  const uint8_t pub[RN_X25519_LEN])
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pub, RN_X25519_LEN);
	EVP_PKEY_CTX *ctx = sk ? EVP_PKEY_CTX_new_from_pkey(NULL, sk, NULL) : NULL;
	size_t len = RN_X25519_LEN;
	bool ok = ctx && pk && EVP_PKEY_derive_init(ctx) > 0 &&
		  EVP_PKEY_derive_set_peer(ctx, pk) > 0 && EVP_PKEY_derive(ctx, out, &len) > 0 &&
		  len == RN_X25519_LEN;

	/* OpenSSL already refuses an all-zero result; checking again costs nothing. */
	if (ok && rn_ct_is_zero(out, RN_X25519_LEN))
		ok = false;
	if (!ok)
		rn_wipe(out, RN_X25519_LEN);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return ok;
}

bool rn_x25519(uint8_t out[RN_X25519_LEN], const uint8_t priv[RN_X25519_LEN],
	       const uint8_t pub[RN_X25519_LEN])
{
	EVP_PKEY *sk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, RN_X25519_LEN);
	bool ok = x25519_derive(out, sk, pub);

	EVP_PKEY_free(sk);
	return ok;
}

struct rn_x25519_key *rn_x25519_key_new(const uint8_t priv[RN_X25519_LEN],
					uint8_t pub[RN_X25519_LEN])
{
	struct rn_x25519_key *k = malloc(sizeof(*k));
	size_t len = RN_X25519_LEN;

	if (!k)
		return NULL;
	k->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, RN_X25519_LEN);
	if (!k->pkey ||
	    (pub && (!EVP_PKEY_get_raw_public_key(k->pkey, pub, &len) || len != RN_X25519_LEN))) {
		rn_x25519_key_free(k);
		return NULL;
	}
	return k;
}

bool rn_x25519_key_dh(uint8_t out[RN_X25519_LEN], const struct rn_x25519_key *k,
		      const uint8_t pub[RN_X25519_LEN])
{
	return x25519_derive(out, k->pkey, pub);
}

void rn_x25519_key_free(struct rn_x25519_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey); /* cleanses the private key */
	free(k);
}

/*
 * A context keeps the key it was last given (in its ChaCha20 state) and the last keystream
 * block (the Poly1305 one-time key, or a message's tail) until it is given another. The
 * per-thread contexts of the packet paths would so keep a copy of a session's key after the
 * keypair was wiped and freed; each records whose key it holds (the address of the key, inside
 * its keypair), and rn_aead_forget_key overwrites every context holding a key about to be
 * freed. The lock of a per-thread context is taken by its own thread once per packet, and by
 * another only when a session dies, so it is never contended on the fast path.
 */
struct rn_aead {
	EVP_CIPHER_CTX *enc;
	EVP_CIPHER_CTX *dec;
	const uint8_t *enc_key, *dec_key; /* whose key each holds; NULL: none (zero key) */
	pthread_mutex_t lock;		  /* per-thread contexts: its thread vs. forget_key */
	struct rn_aead *next, **pprev;	  /* the registry of per-thread contexts */
};

static const uint8_t zero_key[RN_AEAD_KEY_LEN];
static const uint8_t zero_iv[12];
static const uint8_t probe_iv[12] = { 'r', 'n', '-', 'p', 'r', 'o', 'b', 'e' };

struct rn_aead *rn_aead_new(void)
{
	struct rn_aead *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	pthread_mutex_init(&a->lock, NULL);
	a->enc = EVP_CIPHER_CTX_new();
	a->dec = EVP_CIPHER_CTX_new();
	if (!a->enc || !a->dec || !EVP_EncryptInit_ex2(a->enc, cipher_chacha, NULL, NULL, NULL) ||
	    !EVP_DecryptInit_ex2(a->dec, cipher_chacha, NULL, NULL, NULL)) {
		rn_aead_free(a);
		return NULL;
	}
	return a;
}

void rn_aead_free(struct rn_aead *a)
{
	if (!a)
		return;
	EVP_CIPHER_CTX_free(a->enc); /* cleanses the key schedule */
	EVP_CIPHER_CTX_free(a->dec);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static void make_nonce(uint8_t iv[12], uint64_t nonce)
{
	memset(iv, 0, 4);
	for (int i = 0; i < 8; i++)
		iv[4 + i] = (uint8_t)(nonce >> (8 * i));
}

bool rn_aead_seal(struct rn_aead *a, uint8_t *dst, const uint8_t *src, size_t len,
		  const uint8_t *ad, size_t adlen, uint64_t nonce,
		  const uint8_t key[RN_AEAD_KEY_LEN])
{
	uint8_t iv[12];
	int n;

	make_nonce(iv, nonce);
	a->enc_key = key;
	if (!EVP_EncryptInit_ex(a->enc, NULL, NULL, key, iv))
		return false;
	if (adlen && !EVP_EncryptUpdate(a->enc, NULL, &n, ad, (int)adlen))
		return false;
	if (len && !EVP_EncryptUpdate(a->enc, dst, &n, src, (int)len))
		return false;
	if (!EVP_EncryptFinal_ex(a->enc, dst + len, &n))
		return false;
	return EVP_CIPHER_CTX_ctrl(a->enc, EVP_CTRL_AEAD_GET_TAG, RN_AEAD_TAG_LEN, dst + len) == 1;
}

bool rn_aead_open(struct rn_aead *a, uint8_t *dst, const uint8_t *src, size_t len,
		  const uint8_t *ad, size_t adlen, uint64_t nonce,
		  const uint8_t key[RN_AEAD_KEY_LEN])
{
	uint8_t iv[12], tag[RN_AEAD_TAG_LEN];
	size_t plen;
	int n;

	if (len < RN_AEAD_TAG_LEN)
		return false;
	plen = len - RN_AEAD_TAG_LEN;
	memcpy(tag, src + plen, sizeof(tag)); /* before dst may overwrite it in place */
	make_nonce(iv, nonce);
	a->dec_key = key;
	if (!EVP_DecryptInit_ex(a->dec, NULL, NULL, key, iv))
		return false;
	if (!EVP_CIPHER_CTX_ctrl(a->dec, EVP_CTRL_AEAD_SET_TAG, RN_AEAD_TAG_LEN, tag))
		return false;
	if (adlen && !EVP_DecryptUpdate(a->dec, NULL, &n, ad, (int)adlen))
		return false;
	if (plen && !EVP_DecryptUpdate(a->dec, dst, &n, src, (int)plen))
		return false;
	return EVP_DecryptFinal_ex(a->dec, dst + plen, &n) == 1;
}

/* Re-keys with zeros and runs an empty message through: both the key and the keystream go. */
static void forget_enc(struct rn_aead *a)
{
	uint8_t tag[RN_AEAD_TAG_LEN];
	int n;

	if (!EVP_EncryptInit_ex(a->enc, NULL, NULL, zero_key, zero_iv) ||
	    !EVP_EncryptFinal_ex(a->enc, tag, &n))
		crypto_die("ChaCha20-Poly1305 re-key");
	a->enc_key = NULL;
}

static void forget_dec(struct rn_aead *a)
{
	uint8_t tag[RN_AEAD_TAG_LEN];
	int n;

	if (!EVP_DecryptInit_ex(a->dec, NULL, NULL, zero_key, zero_iv))
		crypto_die("ChaCha20-Poly1305 re-key");
	/* No tag was set, so this "fails", having run over the zero key all the same. */
	(void)EVP_DecryptFinal_ex(a->dec, tag, &n);
	a->dec_key = NULL;
}

void rn_aead_forget(struct rn_aead *a)
{
	if (a->enc_key)
		forget_enc(a);
	if (a->dec_key)
		forget_dec(a);
}

/* The tag of an empty message under key (NULL: the key ctx holds). */
static bool probe_tag(EVP_CIPHER_CTX *ctx, const uint8_t *key, uint8_t tag[RN_AEAD_TAG_LEN])
{
	int n;

	return EVP_EncryptInit_ex(ctx, NULL, NULL, key, probe_iv) &&
	       EVP_EncryptFinal_ex(ctx, tag, &n) &&
	       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, RN_AEAD_TAG_LEN, tag) == 1;
}

unsigned int rn_aead_holds_key(struct rn_aead *a, const uint8_t key[RN_AEAD_KEY_LEN])
{
	struct rn_aead *ref = rn_aead_new();
	uint8_t want[RN_AEAD_TAG_LEN], got[RN_AEAD_TAG_LEN];
	bool enc, dec;
	int n;

	if (!ref || !probe_tag(ref->enc, key, want))
		crypto_die("ChaCha20-Poly1305 probe");
	rn_aead_free(ref);
	enc = probe_tag(a->enc, NULL, got) && CRYPTO_memcmp(want, got, sizeof(want)) == 0;
	/* The decryption context accepts the empty message's tag only under the same key. */
	dec = EVP_DecryptInit_ex(a->dec, NULL, NULL, NULL, probe_iv) &&
	      EVP_CIPHER_CTX_ctrl(a->dec, EVP_CTRL_AEAD_SET_TAG, RN_AEAD_TAG_LEN, want) &&
	      EVP_DecryptFinal_ex(a->dec, got, &n) == 1;
	return (enc ? RN_AEAD_HOLDS_ENC : 0) | (dec ? RN_AEAD_HOLDS_DEC : 0);
}

/* ---- the per-thread contexts, freed when their thread exits ---- */

static pthread_key_t aead_key;
static pthread_once_t aead_key_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rn_aead *registry; /* every live per-thread context */

static void aead_key_free(void *p)
{
	struct rn_aead *a = p;

	pthread_mutex_lock(&registry_lock);
	*a->pprev = a->next;
	if (a->next)
		a->next->pprev = a->pprev;
	pthread_mutex_unlock(&registry_lock);
	rn_aead_free(a);
}

static void aead_key_make(void)
{
	if (pthread_key_create(&aead_key, aead_key_free))
		crypto_die("pthread_key_create");
}

static struct rn_aead *thread_aead(void)
{
	struct rn_aead *a;

	pthread_once(&aead_key_once, aead_key_make);
	a = pthread_getspecific(aead_key);
	if (a)
		return a;
	a = rn_aead_new();
	if (!a || pthread_setspecific(aead_key, a))
		crypto_die("cipher context");
	pthread_mutex_lock(&registry_lock);
	a->next = registry;
	if (registry)
		registry->pprev = &a->next;
	a->pprev = &registry;
	registry = a;
	pthread_mutex_unlock(&registry_lock);
	return a;
}

bool rn_aead_seal1(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		   uint64_t nonce, const uint8_t key[RN_AEAD_KEY_LEN])
{
	struct rn_aead *a = thread_aead();
	bool ok;

	pthread_mutex_lock(&a->lock);
	ok = rn_aead_seal(a, dst, src, len, ad, adlen, nonce, key);
	pthread_mutex_unlock(&a->lock);
	return ok;
}

bool rn_aead_open1(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		   uint64_t nonce, const uint8_t key[RN_AEAD_KEY_LEN])
{
	struct rn_aead *a = thread_aead();
	bool ok;

	pthread_mutex_lock(&a->lock);
	ok = rn_aead_open(a, dst, src, len, ad, adlen, nonce, key);
	pthread_mutex_unlock(&a->lock);
	return ok;
}

void rn_aead_forget1(void)
{
	struct rn_aead *a = thread_aead();

	pthread_mutex_lock(&a->lock);
	rn_aead_forget(a);
	pthread_mutex_unlock(&a->lock);
}

unsigned int rn_aead_holds_key1(const uint8_t key[RN_AEAD_KEY_LEN])
{
	struct rn_aead *a = thread_aead();
	unsigned int held;

	pthread_mutex_lock(&a->lock);
	held = rn_aead_holds_key(a, key);
	pthread_mutex_unlock(&a->lock);
	return held;
}

void rn_aead_forget_key(const uint8_t key[RN_AEAD_KEY_LEN])
{
	pthread_mutex_lock(&registry_lock);
	for (struct rn_aead *a = registry; a; a = a->next) {
		pthread_mutex_lock(&a->lock);
		if (a->enc_key == key)
			forget_enc(a);
		if (a->dec_key == key)
			forget_dec(a);
		pthread_mutex_unlock(&a->lock);
	}
	pthread_mutex_unlock(&registry_lock);
}

unsigned int rn_aead_threads_holding(const uint8_t key[RN_AEAD_KEY_LEN])
{
	unsigned int n = 0;

	pthread_mutex_lock(&registry_lock);
	for (struct rn_aead *a = registry; a; a = a->next) {
		pthread_mutex_lock(&a->lock);
		n += rn_aead_holds_key(a, key) != 0;
		pthread_mutex_unlock(&a->lock);
	}
	pthread_mutex_unlock(&registry_lock);
	return n;
}

bool rn_xaead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[RN_XAEAD_NONCE_LEN], const uint8_t key[RN_AEAD_KEY_LEN])
{
	return crypto_aead_xchacha20poly1305_ietf_encrypt(dst, NULL, src, len, ad, adlen, NULL,
							  nonce, key) == 0;
}

bool rn_xaead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[RN_XAEAD_NONCE_LEN], const uint8_t key[RN_AEAD_KEY_LEN])
{
	return crypto_aead_xchacha20poly1305_ietf_decrypt(dst, NULL, NULL, src, len, ad, adlen,
							  nonce, key) == 0;
}

void rn_random(void *buf, size_t len)
{
	if (RAND_bytes(buf, (int)len) != 1)
		crypto_die("RAND_bytes");
}

bool rn_ct_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

bool rn_ct_is_zero(const void *a, size_t len)
{
	const volatile uint8_t *p = a;
	uint8_t acc = 0;

	for (size_t i = 0; i < len; i++)
		acc |= p[i];
	return acc == 0;
}

void rn_wipe(void *p, size_t len)
{
	OPENSSL_cleanse(p, len);
}
