/* SPDX-License-Identifier: MIT */
/*
 * Token buckets in a fixed pool of entries, chained in a fixed array of hash buckets indexed
 * by keyed SipHash (libsodium's crypto_shorthash). Tokens are kept in nanoseconds of credit:
 * time adds credit, a packet costs RN_RATELIMITER_PACKET_COST_NS, and the credit is capped at
 * a burst's worth.
 */
#include "wg/ratelimiter.h"

#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define RL_TOKENS_MAX_NS (RN_RATELIMITER_PACKET_COST_NS * RN_RATELIMITER_BURST)

_Static_assert(RN_RATELIMITER_HASH_KEY_LEN == crypto_shorthash_KEYBYTES, "SipHash key size");
_Static_assert((RN_RATELIMITER_BUCKETS & (RN_RATELIMITER_BUCKETS - 1)) == 0, "power of two");

struct rn_ratelimiter_entry {
	uint64_t prefix; /* the IPv4 address or the IPv6 /64, as raw network-order bytes */
	uint64_t last_ns;
	uint64_t tokens_ns;
	uint32_t next; /* hash chain or free list: index + 1, 0 ends it */
	uint8_t family;
};

struct rl_key {
	uint64_t prefix;
	uint8_t family;
};

/* The source a packet is charged to; false for anything that is not an IP source. */
static bool rl_key_from(struct rl_key *k, const struct sockaddr *sa)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

	k->prefix = 0;
	if (sa && sa->sa_family == AF_INET) {
		k->family = AF_INET;
		memcpy(&k->prefix, &sin->sin_addr, 4);
	} else if (sa && sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		/* Dual-stack sockets: all mapped addresses share one /64, so key them as IPv4. */
		k->family = AF_INET;
		memcpy(&k->prefix, &sin6->sin6_addr.s6_addr[12], 4);
	} else if (sa && sa->sa_family == AF_INET6) {
		k->family = AF_INET6;
		memcpy(&k->prefix, &sin6->sin6_addr, 8);
	} else {
		return false;
	}
	return true;
}

static uint32_t rl_bucket(const struct rn_ratelimiter *rl, const struct rl_key *k)
{
	unsigned char in[9], out[crypto_shorthash_BYTES];
	uint64_t h;

	in[0] = k->family;
	memcpy(&in[1], &k->prefix, 8);
	crypto_shorthash(out, in, sizeof(in), rl->hash_key);
	memcpy(&h, out, sizeof(h));
	return (uint32_t)(h & (RN_RATELIMITER_BUCKETS - 1));
}

static void rl_sweep(struct rn_ratelimiter *rl, uint64_t now_ns)
{
	for (uint32_t b = 0; b < RN_RATELIMITER_BUCKETS; b++) {
		uint32_t *link = &rl->buckets[b];

		while (*link) {
			struct rn_ratelimiter_entry *e = &rl->entries[*link - 1];
			uint32_t idx = *link;

			if (now_ns < e->last_ns || now_ns - e->last_ns < RN_RATELIMITER_EXPIRY_NS) {
				link = &e->next;
				continue;
			}
			*link = e->next;
			e->next = rl->free_list;
			rl->free_list = idx;
			rl->n_entries--;
		}
	}
	rl->last_sweep_ns = now_ns;
}

static struct rn_ratelimiter_entry *rl_find(struct rn_ratelimiter *rl, uint32_t bucket,
					    const struct rl_key *k)
{
	for (uint32_t i = rl->buckets[bucket]; i; i = rl->entries[i - 1].next) {
		struct rn_ratelimiter_entry *e = &rl->entries[i - 1];

		if (e->prefix == k->prefix && e->family == k->family)
			return e;
	}
	return NULL;
}

/* Starts tracking a source, charging it for this packet; false when the table is full. */
static bool rl_add(struct rn_ratelimiter *rl, uint32_t bucket, const struct rl_key *k,
		   uint64_t now_ns)
{
	struct rn_ratelimiter_entry *e;
	uint32_t idx;

	if (rl->free_list) {
		idx = rl->free_list;
		rl->free_list = rl->entries[idx - 1].next;
	} else if (rl->high_water < RN_RATELIMITER_MAX_ENTRIES) {
		idx = ++rl->high_water;
	} else {
		return false;
	}
	e = &rl->entries[idx - 1];
	e->prefix = k->prefix;
	e->family = k->family;
	e->last_ns = now_ns;
	e->tokens_ns = RL_TOKENS_MAX_NS - RN_RATELIMITER_PACKET_COST_NS;
	e->next = rl->buckets[bucket];
	rl->buckets[bucket] = idx;
	rl->n_entries++;
	return true;
}

static bool rl_take(struct rn_ratelimiter_entry *e, uint64_t now_ns)
{
	if (now_ns > e->last_ns) {
		uint64_t elapsed = now_ns - e->last_ns;

		/* Capping elapsed first keeps the sum from overflowing after a long idle. */
		e->tokens_ns += elapsed < RL_TOKENS_MAX_NS ? elapsed : RL_TOKENS_MAX_NS;
		if (e->tokens_ns > RL_TOKENS_MAX_NS)
			e->tokens_ns = RL_TOKENS_MAX_NS;
		e->last_ns = now_ns;
	}
	if (e->tokens_ns < RN_RATELIMITER_PACKET_COST_NS)
		return false;
	e->tokens_ns -= RN_RATELIMITER_PACKET_COST_NS;
	return true;
}

bool rn_ratelimiter_allow(struct rn_ratelimiter *rl, const struct sockaddr *src, uint64_t now_ns)
{
	struct rn_ratelimiter_entry *e;
	struct rl_key k;
	uint32_t bucket;
	bool ok;

	if (!rl_key_from(&k, src))
		return false;
	bucket = rl_bucket(rl, &k);
	pthread_mutex_lock(&rl->lock);
	if (now_ns > rl->last_sweep_ns && now_ns - rl->last_sweep_ns >= RN_RATELIMITER_EXPIRY_NS)
		rl_sweep(rl, now_ns);
	e = rl_find(rl, bucket, &k);
	ok = e ? rl_take(e, now_ns) : rl_add(rl, bucket, &k, now_ns);
	pthread_mutex_unlock(&rl->lock);
	return ok;
}

int rn_ratelimiter_init(struct rn_ratelimiter *rl)
{
	ssize_t n;
	int ret;

	memset(rl, 0, sizeof(*rl));
	if (sodium_init() < 0)
		return -EIO;
	do
		n = getrandom(rl->hash_key, sizeof(rl->hash_key), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(rl->hash_key))
		return n < 0 ? -errno : -EIO;
	/* calloc: untouched entries cost no resident memory until a flood needs them. */
	rl->entries = calloc(RN_RATELIMITER_MAX_ENTRIES, sizeof(*rl->entries));
	rl->buckets = calloc(RN_RATELIMITER_BUCKETS, sizeof(*rl->buckets));
	if (!rl->entries || !rl->buckets) {
		ret = -ENOMEM;
		goto err;
	}
	ret = -pthread_mutex_init(&rl->lock, NULL);
	if (ret)
		goto err;
	return 0;
err:
	free(rl->buckets);
	free(rl->entries);
	explicit_bzero(rl, sizeof(*rl));
	return ret;
}

void rn_ratelimiter_free(struct rn_ratelimiter *rl)
{
	pthread_mutex_destroy(&rl->lock);
	free(rl->buckets);
	free(rl->entries);
	explicit_bzero(rl, sizeof(*rl));
}
