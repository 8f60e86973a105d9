/* SPDX-License-Identifier: MIT */
/* The receiver-index hash table. Indices are random so they reveal nothing and are unguessable. */
#include "wg/index.h"

#include <stdlib.h>

#include "wg/crypto.h"
#include "wg/noise.h"

static struct rn_index_entry **bucket_of(struct rn_index_table *t, uint32_t index)
{
	/* Indices are uniformly random already: the low bits are a fine hash. */
	return &t->buckets[index % RN_INDEX_BUCKETS];
}

static struct rn_index_entry *find_locked(struct rn_index_table *t, uint32_t index)
{
	for (struct rn_index_entry *e = *bucket_of(t, index); e; e = e->next)
		if (e->index == index)
			return e;
	return NULL;
}

void rn_index_init(struct rn_index_table *t)
{
	pthread_rwlock_init(&t->lock, NULL);
	for (int i = 0; i < RN_INDEX_BUCKETS; i++)
		t->buckets[i] = NULL;
}

void rn_index_free(struct rn_index_table *t)
{
	for (int i = 0; i < RN_INDEX_BUCKETS; i++) {
		while (t->buckets[i]) {
			struct rn_index_entry *e = t->buckets[i];

			t->buckets[i] = e->next;
			free(e);
		}
	}
	pthread_rwlock_destroy(&t->lock);
}

uint32_t rn_index_insert_handshake(struct rn_index_table *t, struct rn_wg_peer *peer)
{
	struct rn_index_entry *e = calloc(1, sizeof(*e));
	uint32_t index;

	if (!e)
		return 0;
	pthread_rwlock_wrlock(&t->lock);
	do
		rn_random(&index, sizeof(index));
	while (!index || find_locked(t, index));
	e->index = index;
	e->type = RN_INDEX_HANDSHAKE;
	e->peer = peer;
	e->next = *bucket_of(t, index);
	*bucket_of(t, index) = e;
	pthread_rwlock_unlock(&t->lock);
	return index;
}

void rn_index_set_keypair(struct rn_index_table *t, uint32_t index, struct rn_noise_keypair *kp)
{
	struct rn_index_entry *e;

	pthread_rwlock_wrlock(&t->lock);
	e = find_locked(t, index);
	if (e) {
		e->type = RN_INDEX_KEYPAIR;
		e->keypair = kp;
	}
	pthread_rwlock_unlock(&t->lock);
}

void rn_index_remove(struct rn_index_table *t, uint32_t index)
{
	struct rn_index_entry **pp, *e;

	if (!index)
		return;
	pthread_rwlock_wrlock(&t->lock);
	for (pp = bucket_of(t, index); (e = *pp); pp = &e->next) {
		if (e->index == index) {
			*pp = e->next;
			free(e);
			break;
		}
	}
	pthread_rwlock_unlock(&t->lock);
}

bool rn_index_lookup(struct rn_index_table *t, uint32_t index, unsigned int type_mask,
		     struct rn_wg_peer **peer, struct rn_noise_keypair **kp)
{
	struct rn_index_entry *e;
	bool found = false;

	pthread_rwlock_rdlock(&t->lock);
	e = find_locked(t, index);
	if (e && (e->type & type_mask)) {
		*peer = e->peer;
		if (kp)
			*kp = e->type == RN_INDEX_KEYPAIR ? rn_noise_keypair_get(e->keypair) : NULL;
		found = true;
	}
	pthread_rwlock_unlock(&t->lock);
	return found;
}
