/* SPDX-License-Identifier: MIT */
/*
 * Our receiver indices: the random 32-bit numbers we hand out in handshakes so that a peer's
 * reply or data names the handshake or session it belongs to. Lookups happen once per received
 * batch, so one rwlock is enough.
 */
#ifndef RN_WG_INDEX_H
#define RN_WG_INDEX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct rn_wg_peer;
struct rn_noise_keypair;

enum rn_index_type {
	RN_INDEX_HANDSHAKE = 1u << 0,
	RN_INDEX_KEYPAIR = 1u << 1,
};

struct rn_index_entry {
	struct rn_index_entry *next;
	uint32_t index;
	enum rn_index_type type;
	struct rn_wg_peer *peer;
	struct rn_noise_keypair *keypair; /* RN_INDEX_KEYPAIR only; the table holds no reference */
};

enum { RN_INDEX_BUCKETS = 4096 };

struct rn_index_table {
	pthread_rwlock_t lock;
	struct rn_index_entry *buckets[RN_INDEX_BUCKETS];
};

void rn_index_init(struct rn_index_table *t);
void rn_index_free(struct rn_index_table *t);
/* A fresh unique non-zero index for peer's handshake; 0 when out of memory. */
uint32_t rn_index_insert_handshake(struct rn_index_table *t, struct rn_wg_peer *peer);
/* The handshake's index now names the session derived from it. */
void rn_index_set_keypair(struct rn_index_table *t, uint32_t index, struct rn_noise_keypair *kp);
void rn_index_remove(struct rn_index_table *t, uint32_t index);
/*
 * Finds index if its type is in type_mask. On success fills *peer and, for a keypair, *kp
 * with a new reference the caller must put.
 */
bool rn_index_lookup(struct rn_index_table *t, uint32_t index, unsigned int type_mask,
		     struct rn_wg_peer **peer, struct rn_noise_keypair **kp);

#endif
