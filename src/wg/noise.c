/* SPDX-License-Identifier: MIT */
/*
 * Noise_IKpsk2 as WireGuard uses it. The comments e, es, s, ss, psk mark the Noise tokens; the
 * order of every HASH and KDF follows whitepaper 5.4.2-5.4.4 exactly, since a single deviation
 * breaks interop.
 */
#include "wg/noise.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wg/crypto.h"

static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

/* Ci = HASH(CONSTRUCTION); Hi = HASH(Ci || IDENTIFIER), computed once. */
static uint8_t initial_chaining_key[RN_NOISE_HASH_LEN];
static uint8_t initial_hash[RN_NOISE_HASH_LEN];
static pthread_once_t initial_once = PTHREAD_ONCE_INIT;

static void initial_compute(void)
{
	rn_blake2s(initial_chaining_key, construction, strlen(construction), NULL, 0);
	rn_blake2s(initial_hash, initial_chaining_key, sizeof(initial_chaining_key), identifier,
		   strlen(identifier));
}

static void mix_hash(uint8_t hash[RN_NOISE_HASH_LEN], const void *src, size_t len)
{
	rn_blake2s(hash, hash, RN_NOISE_HASH_LEN, src, len);
}

/* Ck, k = KDF2(Ck, DH(priv, pub)); false on a low-order point. */
static bool mix_dh(uint8_t ck[RN_NOISE_HASH_LEN], uint8_t key[RN_NOISE_SYMMETRIC_KEY_LEN],
		   const uint8_t priv[32], const uint8_t pub[32])
{
	uint8_t dh[RN_X25519_LEN];

	if (!rn_x25519(dh, priv, pub))
		return false;
	rn_kdf(ck, key, NULL, ck, dh, sizeof(dh));
	rn_wipe(dh, sizeof(dh));
	return true;
}

/* mix_dh with a key loaded once for several DHs (rn_x25519_key_new). */
static bool mix_dh_key(uint8_t ck[RN_NOISE_HASH_LEN], uint8_t key[RN_NOISE_SYMMETRIC_KEY_LEN],
		       const struct rn_x25519_key *k, const uint8_t pub[32])
{
	uint8_t dh[RN_X25519_LEN];

	if (!rn_x25519_key_dh(dh, k, pub))
		return false;
	rn_kdf(ck, key, NULL, ck, dh, sizeof(dh));
	rn_wipe(dh, sizeof(dh));
	return true;
}

static bool mix_precomputed_dh(uint8_t ck[RN_NOISE_HASH_LEN],
			       uint8_t key[RN_NOISE_SYMMETRIC_KEY_LEN],
			       const uint8_t precomputed[32])
{
	if (rn_ct_is_zero(precomputed, 32))
		return false;
	rn_kdf(ck, key, NULL, ck, precomputed, 32);
	return true;
}

/* Ck, tau, k = KDF3(Ck, psk); H = HASH(H || tau) */
static void mix_psk(uint8_t ck[RN_NOISE_HASH_LEN], uint8_t hash[RN_NOISE_HASH_LEN],
		    uint8_t key[RN_NOISE_SYMMETRIC_KEY_LEN], const uint8_t psk[32])
{
	uint8_t tau[RN_NOISE_HASH_LEN];

	rn_kdf(ck, tau, key, ck, psk, RN_NOISE_SYMMETRIC_KEY_LEN);
	mix_hash(hash, tau, sizeof(tau));
	rn_wipe(tau, sizeof(tau));
}

/* e: Ck = KDF1(Ck, E_pub); H = HASH(H || E_pub) */
static void message_ephemeral(uint8_t dst[32], const uint8_t ephemeral_public[32],
			      uint8_t ck[RN_NOISE_HASH_LEN], uint8_t hash[RN_NOISE_HASH_LEN])
{
	if (dst != ephemeral_public)
		memcpy(dst, ephemeral_public, 32);
	mix_hash(hash, ephemeral_public, 32);
	rn_kdf(ck, NULL, NULL, ck, ephemeral_public, 32);
}

/* AEAD(k, 0, plain, H); H = HASH(H || ciphertext) */
static bool message_encrypt(uint8_t *dst, const uint8_t *src, size_t len,
			    const uint8_t key[RN_NOISE_SYMMETRIC_KEY_LEN],
			    uint8_t hash[RN_NOISE_HASH_LEN])
{
	bool ok = rn_aead_seal1(dst, src, len, hash, RN_NOISE_HASH_LEN, 0, key);

	rn_aead_forget1(); /* the caller wipes key: so must the context */
	if (!ok)
		return false;
	mix_hash(hash, dst, RN_NOISE_ENCRYPTED_LEN(len));
	return true;
}

static bool message_decrypt(uint8_t *dst, const uint8_t *src, size_t len,
			    const uint8_t key[RN_NOISE_SYMMETRIC_KEY_LEN],
			    uint8_t hash[RN_NOISE_HASH_LEN])
{
	bool ok = rn_aead_open1(dst, src, len, hash, RN_NOISE_HASH_LEN, 0, key);

	rn_aead_forget1();
	if (!ok)
		return false;
	mix_hash(hash, src, len);
	return true;
}

bool rn_noise_identity_set(struct rn_noise_identity *id, const uint8_t priv[32])
{
	id->static_key = NULL; /* the owner freed it */
	if (rn_ct_is_zero(priv, 32)) {
		rn_wipe(id, sizeof(*id));
		return true;
	}
	memcpy(id->static_private, priv, 32);
	/* Clamp as the other implementations do, so the public key matches `wg pubkey`. */
	id->static_private[0] &= 248;
	id->static_private[31] = (id->static_private[31] & 127) | 64;
	if (!rn_x25519_public(id->static_public, id->static_private)) {
		rn_wipe(id, sizeof(*id));
		return false;
	}
	id->has_identity = true;
	return true;
}

static void precompute_static_static(struct rn_noise_handshake *hs,
				     const struct rn_noise_identity *id)
{
	/* A low-order remote key leaves this zero, which makes every handshake with it fail. */
	if (!id->has_identity ||
	    !rn_x25519(hs->precomputed_static_static, id->static_private, hs->remote_static))
		memset(hs->precomputed_static_static, 0, 32);
}

void rn_noise_handshake_init(struct rn_noise_handshake *hs, const struct rn_noise_identity *id,
			     const uint8_t remote_static[32], const uint8_t psk[32])
{
	pthread_once(&initial_once, initial_compute);
	rn_wipe(hs, sizeof(*hs));
	memcpy(hs->remote_static, remote_static, 32);
	if (psk)
		memcpy(hs->preshared_key, psk, 32);
	precompute_static_static(hs, id);
}

void rn_noise_handshake_clear(struct rn_noise_handshake *hs)
{
	rn_wipe(hs->ephemeral_private, sizeof(hs->ephemeral_private));
	rn_wipe(hs->remote_ephemeral, sizeof(hs->remote_ephemeral));
	rn_wipe(hs->hash, sizeof(hs->hash));
	rn_wipe(hs->chaining_key, sizeof(hs->chaining_key));
	hs->remote_index = 0;
	hs->state = RN_HANDSHAKE_ZEROED;
}

void rn_noise_handshake_rekey_identity(struct rn_noise_handshake *hs,
				       const struct rn_noise_identity *id)
{
	rn_noise_handshake_clear(hs);
	precompute_static_static(hs, id);
}

void rn_noise_handshake_wipe(struct rn_noise_handshake *hs)
{
	rn_wipe(hs, sizeof(*hs));
}

void rn_noise_tai64n_now(uint8_t out[RN_NOISE_TIMESTAMP_LEN])
{
	struct timespec now;
	uint64_t secs;
	uint32_t nsec;

	clock_gettime(CLOCK_REALTIME, &now);
	/* Round down to the initiation rate so the timestamp leaks no fine timing. */
	nsec = (uint32_t)now.tv_nsec;
	nsec -= nsec % (1000000000u / RN_INITIATIONS_PER_SECOND);
	secs = htobe64(0x400000000000000aULL + (uint64_t)now.tv_sec);
	nsec = htobe32(nsec);
	memcpy(out, &secs, 8);
	memcpy(out + 8, &nsec, 4);
}

bool rn_noise_create_initiation_with(struct rn_noise_handshake *hs,
				     const struct rn_noise_identity *id, uint32_t local_index,
				     const uint8_t ephemeral_private[32],
				     const uint8_t timestamp[RN_NOISE_TIMESTAMP_LEN],
				     struct rn_message_handshake_initiation *msg)
{
	uint8_t key[RN_NOISE_SYMMETRIC_KEY_LEN], ephemeral_public[32];
	bool ok = false;

	pthread_once(&initial_once, initial_compute);
	if (!id->has_identity)
		return false;
	memset(msg, 0, sizeof(*msg));
	msg->header.type = htole32(RN_MESSAGE_HANDSHAKE_INITIATION);
	memcpy(hs->chaining_key, initial_chaining_key, sizeof(hs->chaining_key));
	memcpy(hs->hash, initial_hash, sizeof(hs->hash));
	mix_hash(hs->hash, hs->remote_static, 32);

	/* e */
	memcpy(hs->ephemeral_private, ephemeral_private, 32);
	if (!rn_x25519_public(ephemeral_public, hs->ephemeral_private))
		goto out;
	message_ephemeral(msg->unencrypted_ephemeral, ephemeral_public, hs->chaining_key, hs->hash);
	/* es */
	if (!mix_dh(hs->chaining_key, key, hs->ephemeral_private, hs->remote_static))
		goto out;
	/* s */
	if (!message_encrypt(msg->encrypted_static, id->static_public, 32, key, hs->hash))
		goto out;
	/* ss */
	if (!mix_precomputed_dh(hs->chaining_key, key, hs->precomputed_static_static))
		goto out;
	/* {t} */
	if (!message_encrypt(msg->encrypted_timestamp, timestamp, RN_NOISE_TIMESTAMP_LEN, key,
			     hs->hash))
		goto out;
	msg->sender_index = htole32(local_index);
	hs->local_index = local_index;
	hs->state = RN_HANDSHAKE_CREATED_INITIATION;
	ok = true;
out:
	rn_wipe(key, sizeof(key));
	if (!ok)
		rn_noise_handshake_clear(hs);
	return ok;
}

bool rn_noise_create_initiation(struct rn_noise_handshake *hs, const struct rn_noise_identity *id,
				uint32_t local_index, struct rn_message_handshake_initiation *msg)
{
	uint8_t eph[32], ts[RN_NOISE_TIMESTAMP_LEN];
	bool ok;

	rn_x25519_generate(eph);
	rn_noise_tai64n_now(ts);
	ok = rn_noise_create_initiation_with(hs, id, local_index, eph, ts, msg);
	rn_wipe(eph, sizeof(eph));
	return ok;
}

bool rn_noise_open_initiation(const struct rn_message_handshake_initiation *msg,
			      const struct rn_noise_identity *id,
			      struct rn_noise_initiation_state *st)
{
	uint8_t key[RN_NOISE_SYMMETRIC_KEY_LEN];
	bool ok = false;

	pthread_once(&initial_once, initial_compute);
	if (!id->has_identity)
		return false;
	memcpy(st->chaining_key, initial_chaining_key, sizeof(st->chaining_key));
	memcpy(st->hash, initial_hash, sizeof(st->hash));
	mix_hash(st->hash, id->static_public, 32);

	/* e */
	memcpy(st->remote_ephemeral, msg->unencrypted_ephemeral, 32);
	message_ephemeral(st->remote_ephemeral, st->remote_ephemeral, st->chaining_key, st->hash);
	/* es */
	if (!(id->static_key
		  ? mix_dh_key(st->chaining_key, key, id->static_key, st->remote_ephemeral)
		  : mix_dh(st->chaining_key, key, id->static_private, st->remote_ephemeral)))
		goto out;
	/* s */
	if (!message_decrypt(st->remote_static, msg->encrypted_static,
			     sizeof(msg->encrypted_static), key, st->hash))
		goto out;
	st->remote_index = le32toh(msg->sender_index);
	ok = true;
out:
	rn_wipe(key, sizeof(key));
	if (!ok)
		rn_wipe(st, sizeof(*st));
	return ok;
}

bool rn_noise_finish_initiation(struct rn_noise_handshake *hs, struct rn_noise_initiation_state *st,
				const struct rn_message_handshake_initiation *msg, uint64_t now_ns)
{
	uint8_t key[RN_NOISE_SYMMETRIC_KEY_LEN], t[RN_NOISE_TIMESTAMP_LEN];
	bool ok = false, replay, flood;

	if (!rn_ct_equal(hs->remote_static, st->remote_static, 32))
		goto out;
	/* ss */
	if (!mix_precomputed_dh(st->chaining_key, key, hs->precomputed_static_static))
		goto out;
	/* {t} */
	if (!message_decrypt(t, msg->encrypted_timestamp, sizeof(msg->encrypted_timestamp), key,
			     st->hash))
		goto out;
	/* TAI64N is big-endian, so a byte compare orders it. */
	replay = memcmp(t, hs->latest_timestamp, RN_NOISE_TIMESTAMP_LEN) <= 0;
	flood = hs->last_initiation_consumption_ns && now_ns - hs->last_initiation_consumption_ns <
							  1000000000ULL / RN_INITIATIONS_PER_SECOND;
	if (replay || flood)
		goto out;

	memcpy(hs->remote_ephemeral, st->remote_ephemeral, 32);
	memcpy(hs->latest_timestamp, t, sizeof(t));
	memcpy(hs->hash, st->hash, sizeof(hs->hash));
	memcpy(hs->chaining_key, st->chaining_key, sizeof(hs->chaining_key));
	hs->remote_index = st->remote_index;
	hs->last_initiation_consumption_ns = now_ns;
	hs->state = RN_HANDSHAKE_CONSUMED_INITIATION;
	ok = true;
out:
	rn_wipe(key, sizeof(key));
	rn_wipe(st, sizeof(*st));
	return ok;
}

bool rn_noise_create_response_with(struct rn_noise_handshake *hs, uint32_t local_index,
				   const uint8_t ephemeral_private[32],
				   struct rn_message_handshake_response *msg)
{
	uint8_t key[RN_NOISE_SYMMETRIC_KEY_LEN], ephemeral_public[32];
	struct rn_x25519_key *e = NULL;
	bool ok = false;

	if (hs->state != RN_HANDSHAKE_CONSUMED_INITIATION)
		return false;
	memset(msg, 0, sizeof(*msg));
	msg->header.type = htole32(RN_MESSAGE_HANDSHAKE_RESPONSE);
	msg->receiver_index = htole32(hs->remote_index);

	/* e */
	memcpy(hs->ephemeral_private, ephemeral_private, 32);
	/* loaded once for its public key and both DHs: a third of the responder's X25519 work */
	e = rn_x25519_key_new(hs->ephemeral_private, ephemeral_public);
	if (!e)
		goto out;
	message_ephemeral(msg->unencrypted_ephemeral, ephemeral_public, hs->chaining_key, hs->hash);
	/* ee */
	if (!mix_dh_key(hs->chaining_key, NULL, e, hs->remote_ephemeral))
		goto out;
	/* se */
	if (!mix_dh_key(hs->chaining_key, NULL, e, hs->remote_static))
		goto out;
	/* psk */
	mix_psk(hs->chaining_key, hs->hash, key, hs->preshared_key);
	/* {} */
	if (!message_encrypt(msg->encrypted_nothing, NULL, 0, key, hs->hash))
		goto out;
	msg->sender_index = htole32(local_index);
	hs->local_index = local_index;
	hs->state = RN_HANDSHAKE_CREATED_RESPONSE;
	ok = true;
out:
	rn_x25519_key_free(e);
	rn_wipe(key, sizeof(key));
	if (!ok)
		rn_noise_handshake_clear(hs);
	return ok;
}

bool rn_noise_create_response(struct rn_noise_handshake *hs, uint32_t local_index,
			      struct rn_message_handshake_response *msg)
{
	uint8_t eph[32];
	bool ok;

	rn_x25519_generate(eph);
	ok = rn_noise_create_response_with(hs, local_index, eph, msg);
	rn_wipe(eph, sizeof(eph));
	return ok;
}

bool rn_noise_consume_response(struct rn_noise_handshake *hs, const struct rn_noise_identity *id,
			       const struct rn_message_handshake_response *msg)
{
	uint8_t key[RN_NOISE_SYMMETRIC_KEY_LEN], hash[RN_NOISE_HASH_LEN];
	uint8_t ck[RN_NOISE_HASH_LEN], e[32], nothing[1];
	bool ok = false;

	if (hs->state != RN_HANDSHAKE_CREATED_INITIATION || !id->has_identity)
		return false;
	/* Work on copies: a forged response must leave the pending initiation intact. */
	memcpy(hash, hs->hash, sizeof(hash));
	memcpy(ck, hs->chaining_key, sizeof(ck));

	/* e */
	memcpy(e, msg->unencrypted_ephemeral, 32);
	message_ephemeral(e, e, ck, hash);
	/* ee */
	if (!mix_dh(ck, NULL, hs->ephemeral_private, e))
		goto out;
	/* se */
	if (!mix_dh(ck, NULL, id->static_private, e))
		goto out;
	/* psk */
	mix_psk(ck, hash, key, hs->preshared_key);
	/* {} */
	if (!message_decrypt(nothing, msg->encrypted_nothing, sizeof(msg->encrypted_nothing), key,
			     hash))
		goto out;
	memcpy(hs->remote_ephemeral, e, 32);
	memcpy(hs->hash, hash, sizeof(hash));
	memcpy(hs->chaining_key, ck, sizeof(ck));
	hs->remote_index = le32toh(msg->sender_index);
	hs->state = RN_HANDSHAKE_CONSUMED_RESPONSE;
	ok = true;
out:
	rn_wipe(key, sizeof(key));
	rn_wipe(hash, sizeof(hash));
	rn_wipe(ck, sizeof(ck));
	return ok;
}

struct rn_noise_keypair *rn_noise_derive_keypair(struct rn_noise_handshake *hs, uint64_t now_ns)
{
	struct rn_noise_keypair *kp;
	bool initiator;

	if (hs->state == RN_HANDSHAKE_CONSUMED_RESPONSE)
		initiator = true;
	else if (hs->state == RN_HANDSHAKE_CREATED_RESPONSE)
		initiator = false;
	else
		return NULL;
	kp = calloc(1, sizeof(*kp));
	if (!kp)
		return NULL;
	/* T_send_i, T_recv_i = KDF2(Ck, empty); the responder uses them the other way round. */
	if (initiator)
		rn_kdf(kp->send_key, kp->recv_key, NULL, hs->chaining_key, NULL, 0);
	else
		rn_kdf(kp->recv_key, kp->send_key, NULL, hs->chaining_key, NULL, 0);
	pthread_mutex_init(&kp->replay_lock, NULL);
	rn_replay_init(&kp->replay);
	kp->birthdate_ns = now_ns;
	kp->i_am_initiator = initiator;
	kp->sending_valid = true;
	kp->local_index = hs->local_index;
	kp->remote_index = hs->remote_index;
	kp->refcount = 1;
	rn_noise_handshake_clear(hs);
	return kp;
}

struct rn_noise_keypair *rn_noise_keypair_get(struct rn_noise_keypair *kp)
{
	if (kp)
		atomic_fetch_add_explicit(&kp->refcount, 1, memory_order_relaxed);
	return kp;
}

void rn_noise_keypair_put(struct rn_noise_keypair *kp)
{
	if (!kp || atomic_fetch_sub_explicit(&kp->refcount, 1, memory_order_acq_rel) != 1)
		return;
	pthread_mutex_destroy(&kp->replay_lock);
	/* The packet threads' cipher contexts hold copies: they go first (crypto.h). */
	rn_aead_forget_key(kp->send_key);
	rn_aead_forget_key(kp->recv_key);
	rn_wipe(kp, sizeof(*kp));
	free(kp);
}
