/* SPDX-License-Identifier: MIT */
/*
 * The Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake (whitepaper 5.4.2-5.4.5) and the session
 * keypairs it produces. Pure protocol state: no sockets, no timers. Callers serialize access to
 * one handshake (the peer's handshake lock); keypairs are shared with the packet path.
 */
#ifndef RN_WG_NOISE_H
#define RN_WG_NOISE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "wg/messages.h"
#include "wg/replay.h"

struct rn_noise_identity {
	bool has_identity;
	uint8_t static_private[RN_NOISE_PUBLIC_KEY_LEN]; /* secret */
	uint8_t static_public[RN_NOISE_PUBLIC_KEY_LEN];
	/*
	 * static_private loaded into libcrypto (crypto.h) for the DH of every initiation we open,
	 * or NULL (loaded per DH). Set and freed by the identity's owner (the device), never here.
	 */
	struct rn_x25519_key *static_key;
};

enum rn_noise_handshake_state {
	RN_HANDSHAKE_ZEROED,
	RN_HANDSHAKE_CREATED_INITIATION,
	RN_HANDSHAKE_CONSUMED_INITIATION,
	RN_HANDSHAKE_CREATED_RESPONSE,
	RN_HANDSHAKE_CONSUMED_RESPONSE,
};

struct rn_noise_handshake {
	enum rn_noise_handshake_state state;
	uint32_t local_index;  /* our sender index for this handshake */
	uint32_t remote_index; /* the peer's sender index */
	uint8_t remote_static[RN_NOISE_PUBLIC_KEY_LEN];
	uint8_t precomputed_static_static[RN_NOISE_PUBLIC_KEY_LEN]; /* DH(s, S_remote); secret */
	uint8_t preshared_key[RN_NOISE_SYMMETRIC_KEY_LEN];	    /* secret; zero = none */
	uint8_t ephemeral_private[RN_NOISE_PUBLIC_KEY_LEN];	    /* secret */
	uint8_t remote_ephemeral[RN_NOISE_PUBLIC_KEY_LEN];
	uint8_t hash[RN_NOISE_HASH_LEN];
	uint8_t chaining_key[RN_NOISE_HASH_LEN]; /* secret */
	uint8_t latest_timestamp[RN_NOISE_TIMESTAMP_LEN];
	uint64_t last_initiation_consumption_ns; /* monotonic; flood guard */
};

/* A session: keys for one direction each, counters, and the replay window. Refcounted. */
struct rn_noise_keypair {
	uint8_t send_key[RN_NOISE_SYMMETRIC_KEY_LEN]; /* secret */
	uint8_t recv_key[RN_NOISE_SYMMETRIC_KEY_LEN]; /* secret */
	_Atomic uint64_t send_counter;
	pthread_mutex_t replay_lock; /* taken once per received batch, not per packet */
	struct rn_replay replay;
	uint64_t birthdate_ns; /* monotonic */
	bool i_am_initiator;
	_Atomic bool sending_valid;
	uint32_t local_index;
	uint32_t remote_index;
	_Atomic int refcount;
	void *peer; /* the owning peer; not counted and never dereferenced through here */
};

/* Current/previous/next as in the whitepaper's key rotation; the owner's lock protects them. */
struct rn_noise_keypairs {
	struct rn_noise_keypair *current;
	struct rn_noise_keypair *previous;
	struct rn_noise_keypair *next; /* responder's keypair until the initiator confirms it */
};

/* Sets the static identity; private all-zero clears it. false if the key is unusable. */
bool rn_noise_identity_set(struct rn_noise_identity *id, const uint8_t priv[32]);
/* Prepares a peer's handshake; recomputes DH(s, S_remote). Zeroes the state. */
void rn_noise_handshake_init(struct rn_noise_handshake *hs, const struct rn_noise_identity *id,
			     const uint8_t remote_static[32], const uint8_t psk[32]);
/* After the local identity changed: redo the precomputation and drop any half handshake. */
void rn_noise_handshake_rekey_identity(struct rn_noise_handshake *hs,
				       const struct rn_noise_identity *id);
void rn_noise_handshake_clear(struct rn_noise_handshake *hs);
/* Wipes all secrets (on peer removal). */
void rn_noise_handshake_wipe(struct rn_noise_handshake *hs);

/* Initiator, step 1. mac1/mac2 are left for the cookie layer. */
bool rn_noise_create_initiation(struct rn_noise_handshake *hs, const struct rn_noise_identity *id,
				uint32_t local_index, struct rn_message_handshake_initiation *msg)
    __attribute__((warn_unused_result));
/* The same with the ephemeral key and timestamp given: for known-answer tests only. */
bool rn_noise_create_initiation_with(struct rn_noise_handshake *hs,
				     const struct rn_noise_identity *id, uint32_t local_index,
				     const uint8_t ephemeral_private[32],
				     const uint8_t timestamp[RN_NOISE_TIMESTAMP_LEN],
				     struct rn_message_handshake_initiation *msg)
    __attribute__((warn_unused_result));

/*
 * Responder, step 1, in two halves because the peer is only known after decrypting its static
 * key: open reveals the initiator's static key and the state to finish with, then the caller
 * finds the peer, locks its handshake and calls finish. finish checks the timestamp (replay)
 * and the flood limit, and stores the state in hs.
 */
struct rn_noise_initiation_state {
	uint8_t hash[RN_NOISE_HASH_LEN];
	uint8_t chaining_key[RN_NOISE_HASH_LEN];
	uint8_t remote_static[RN_NOISE_PUBLIC_KEY_LEN];
	uint8_t remote_ephemeral[RN_NOISE_PUBLIC_KEY_LEN];
	uint32_t remote_index;
};
bool rn_noise_open_initiation(const struct rn_message_handshake_initiation *msg,
			      const struct rn_noise_identity *id,
			      struct rn_noise_initiation_state *st)
    __attribute__((warn_unused_result));
bool rn_noise_finish_initiation(struct rn_noise_handshake *hs, struct rn_noise_initiation_state *st,
				const struct rn_message_handshake_initiation *msg, uint64_t now_ns)
    __attribute__((warn_unused_result));

/* Responder, step 2. */
bool rn_noise_create_response(struct rn_noise_handshake *hs, uint32_t local_index,
			      struct rn_message_handshake_response *msg)
    __attribute__((warn_unused_result));
bool rn_noise_create_response_with(struct rn_noise_handshake *hs, uint32_t local_index,
				   const uint8_t ephemeral_private[32],
				   struct rn_message_handshake_response *msg)
    __attribute__((warn_unused_result));

/* Initiator, step 2: hs is the handshake whose local_index the response names. */
bool rn_noise_consume_response(struct rn_noise_handshake *hs, const struct rn_noise_identity *id,
			       const struct rn_message_handshake_response *msg)
    __attribute__((warn_unused_result));

/*
 * Derives the transport keys from a completed handshake (CREATED_RESPONSE on the responder,
 * CONSUMED_RESPONSE on the initiator) into a new keypair (refcount 1) and zeroes the handshake.
 * NULL if the handshake is not complete or memory is short.
 */
struct rn_noise_keypair *rn_noise_derive_keypair(struct rn_noise_handshake *hs, uint64_t now_ns);
struct rn_noise_keypair *rn_noise_keypair_get(struct rn_noise_keypair *kp);
void rn_noise_keypair_put(struct rn_noise_keypair *kp);

/* TAI64N of the wall clock, with the nanoseconds coarsened (no timing side channel). */
void rn_noise_tai64n_now(uint8_t out[RN_NOISE_TIMESTAMP_LEN]);

#endif
