/* SPDX-License-Identifier: MIT */
/* Token buckets of events per source address (see ratelimit.h). */
#include "rustynet-control/ratelimit.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

enum { RN_RATELIMIT_PROBE = 8 }; /* slots looked at per address */

struct rn_bucket {
	uint8_t key[RN_RATELIMIT_KEY_LEN]; /* rn_ratelimit_key(); all zero = free */
	uint32_t tokens;		   /* failures left */
	uint64_t updated;		   /* ms of the last refill */
};

struct rn_ratelimit {
	pthread_mutex_t lock;
	uint32_t seed; /* so that nobody outside picks addresses that collide */
	uint32_t burst, refill_ms;
	struct rn_bucket slots[RN_RATELIMIT_SLOTS];
};

struct rn_ratelimit *rn_ratelimit_new(void)
{
	return rn_ratelimit_new_with(RN_RATELIMIT_BURST, RN_RATELIMIT_REFILL_MS);
}

struct rn_ratelimit *rn_ratelimit_new_with(uint32_t burst, uint32_t refill_ms)
{
	struct rn_ratelimit *rl;

	if (!burst || !refill_ms)
		return NULL;
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return NULL;
	rl->burst = burst;
	rl->refill_ms = refill_ms;
	/* from the kernel's CSPRNG: random() unseeded gives every process the same seed, so
	 * colliding addresses could be worked out offline */
	if (getrandom(&rl->seed, sizeof(rl->seed), 0) != sizeof(rl->seed)) {
		free(rl);
		return NULL;
	}
	pthread_mutex_init(&rl->lock, NULL);
	return rl;
}

uint32_t rn_ratelimit_seed(const struct rn_ratelimit *rl)
{
	return rl->seed;
}

void rn_ratelimit_free(struct rn_ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

void rn_ratelimit_key(const struct sockaddr *sa, uint8_t key[RN_RATELIMIT_KEY_LEN])
{
	const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;

	memset(key, 0, RN_RATELIMIT_KEY_LEN);
	key[0] = (uint8_t)sa->sa_family;
	if (sa->sa_family == AF_INET) {
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(a6)) {
		key[0] = AF_INET;
		memcpy(key + 1, a6->s6_addr + 12, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(key + 1, a6->s6_addr, 8);
	}
}

static uint32_t rn_ratelimit_hash(const struct rn_ratelimit *rl,
				  const uint8_t key[RN_RATELIMIT_KEY_LEN])
{
	uint32_t h = 2166136261u ^ rl->seed; /* FNV-1a */

	for (int i = 0; i < RN_RATELIMIT_KEY_LEN; i++)
		h = (h ^ key[i]) * 16777619u;
	return h;
}

static void rn_ratelimit_refill(const struct rn_ratelimit *rl, struct rn_bucket *b, uint64_t now)
{
	uint64_t add;

	if (now < b->updated)
		b->updated = now;
	add = (now - b->updated) / rl->refill_ms;
	if (b->tokens + add >= rl->burst) {
		b->tokens = rl->burst;
		b->updated = now;
	} else {
		b->tokens += (uint32_t)add;
		b->updated += add * rl->refill_ms;
	}
}

/* The bucket of key, claiming a free, full or least recently used slot if it has none. */
static struct rn_bucket *rn_ratelimit_find(struct rn_ratelimit *rl,
					   const uint8_t key[RN_RATELIMIT_KEY_LEN], uint64_t now,
					   bool create)
{
	uint32_t h = rn_ratelimit_hash(rl, key);
	struct rn_bucket *victim = NULL;

	for (int i = 0; i < RN_RATELIMIT_PROBE; i++) {
		struct rn_bucket *b = &rl->slots[(h + (uint32_t)i) % RN_RATELIMIT_SLOTS];

		if (!memcmp(b->key, key, RN_RATELIMIT_KEY_LEN))
			return b;
		if (!b->key[0]) {
			victim = b;
			continue;
		}
		rn_ratelimit_refill(rl, b, now);
		if (!victim || (victim->key[0] && b->tokens == rl->burst) ||
		    (victim->key[0] && victim->tokens < rl->burst && b->updated < victim->updated))
			victim = b;
	}
	if (!create)
		return NULL;
	memcpy(victim->key, key, RN_RATELIMIT_KEY_LEN);
	victim->tokens = rl->burst;
	victim->updated = now;
	return victim;
}

bool rn_ratelimit_allow(struct rn_ratelimit *rl, const struct sockaddr *addr, uint64_t now_ms,
			unsigned *retry_after_s)
{
	uint8_t key[RN_RATELIMIT_KEY_LEN];
	struct rn_bucket *b;
	bool ok = true;

	rn_ratelimit_key(addr, key);
	pthread_mutex_lock(&rl->lock);
	b = rn_ratelimit_find(rl, key, now_ms, false);
	if (b) {
		rn_ratelimit_refill(rl, b, now_ms);
		ok = b->tokens > 0;
		if (!ok && retry_after_s)
			*retry_after_s =
			    (unsigned)((b->updated + rl->refill_ms - now_ms + 999) / 1000);
	}
	pthread_mutex_unlock(&rl->lock);
	return ok;
}

void rn_ratelimit_fail(struct rn_ratelimit *rl, const struct sockaddr *addr, uint64_t now_ms)
{
	uint8_t key[RN_RATELIMIT_KEY_LEN];
	struct rn_bucket *b;

	rn_ratelimit_key(addr, key);
	pthread_mutex_lock(&rl->lock);
	b = rn_ratelimit_find(rl, key, now_ms, true);
	rn_ratelimit_refill(rl, b, now_ms);
	if (b->tokens > 0)
		b->tokens--;
	pthread_mutex_unlock(&rl->lock);
}
