/* SPDX-License-Identifier: MIT */
/*
 * Open connections per client (see connlimit.h): a chained hash table of the clients that hold
 * at least one connection, so its size follows the server's connection limit. The hash is keyed
 * with a random seed so that nobody outside can pick addresses that share a chain.
 */
#include "rustynet-control/connlimit.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "rustynet-control/ratelimit.h"

enum { RN_CONNLIMIT_BUCKETS = 1024 };

struct rn_connlimit_client {
	struct rn_connlimit_client *next; /* owned: the rest of the chain */
	uint8_t key[RN_RATELIMIT_KEY_LEN];
	unsigned n; /* connections open, > 0 */
};

struct rn_connlimit {
	pthread_mutex_t lock;
	unsigned max;
	uint32_t seed;
	struct rn_connlimit_client *buckets[RN_CONNLIMIT_BUCKETS]; /* owned chains */
};

struct rn_connlimit *rn_connlimit_new(unsigned max)
{
	struct rn_connlimit *cl = calloc(1, sizeof(*cl));

	if (!cl)
		return NULL;
	if (RAND_bytes((unsigned char *)&cl->seed, sizeof(cl->seed)) != 1) {
		free(cl);
		return NULL;
	}
	pthread_mutex_init(&cl->lock, NULL);
	cl->max = max;
	return cl;
}

void rn_connlimit_free(struct rn_connlimit *cl)
{
	if (!cl)
		return;
	for (unsigned i = 0; i < RN_CONNLIMIT_BUCKETS; i++)
		while (cl->buckets[i]) {
			struct rn_connlimit_client *c = cl->buckets[i];

			cl->buckets[i] = c->next;
			free(c);
		}
	pthread_mutex_destroy(&cl->lock);
	free(cl);
}

/* The link that points at key's client, or at the end of its chain (lock held). */
static struct rn_connlimit_client **rn_connlimit_find(struct rn_connlimit *cl,
						      const struct sockaddr *addr,
						      uint8_t key[RN_RATELIMIT_KEY_LEN])
{
	uint32_t h = 2166136261u ^ cl->seed; /* FNV-1a */
	struct rn_connlimit_client **p;

	rn_ratelimit_key(addr, key);
	for (int i = 0; i < RN_RATELIMIT_KEY_LEN; i++)
		h = (h ^ key[i]) * 16777619u;
	p = &cl->buckets[h % RN_CONNLIMIT_BUCKETS];
	while (*p && memcmp((*p)->key, key, RN_RATELIMIT_KEY_LEN))
		p = &(*p)->next;
	return p;
}

unsigned rn_connlimit_count(struct rn_connlimit *cl, const struct sockaddr *addr)
{
	uint8_t key[RN_RATELIMIT_KEY_LEN];
	struct rn_connlimit_client **p;
	unsigned n;

	pthread_mutex_lock(&cl->lock);
	p = rn_connlimit_find(cl, addr, key);
	n = *p ? (*p)->n : 0;
	pthread_mutex_unlock(&cl->lock);
	return n;
}

bool rn_connlimit_allow(struct rn_connlimit *cl, const struct sockaddr *addr)
{
	return rn_connlimit_count(cl, addr) < cl->max;
}

int rn_connlimit_add(struct rn_connlimit *cl, const struct sockaddr *addr)
{
	uint8_t key[RN_RATELIMIT_KEY_LEN];
	struct rn_connlimit_client **p;
	int ret = 0;

	pthread_mutex_lock(&cl->lock);
	p = rn_connlimit_find(cl, addr, key);
	if (!*p) {
		*p = calloc(1, sizeof(**p));
		if (*p)
			memcpy((*p)->key, key, RN_RATELIMIT_KEY_LEN);
	}
	if (*p)
		(*p)->n++;
	else
		ret = -ENOMEM;
	pthread_mutex_unlock(&cl->lock);
	return ret;
}

void rn_connlimit_release(struct rn_connlimit *cl, const struct sockaddr *addr)
{
	uint8_t key[RN_RATELIMIT_KEY_LEN];
	struct rn_connlimit_client **p, *c;

	pthread_mutex_lock(&cl->lock);
	p = rn_connlimit_find(cl, addr, key);
	c = *p;
	if (c && --c->n == 0) {
		*p = c->next;
		free(c);
	}
	pthread_mutex_unlock(&cl->lock);
}
