/* SPDX-License-Identifier: MIT */
/*
 * Handshake rate limiting per source: a token bucket per IPv4 address or IPv6 /64, allowing
 * RN_RATELIMITER_PACKETS_PER_SECOND handshake messages a second with bursts of
 * RN_RATELIMITER_BURST, as WireGuard does once it is under load.
 *
 * Memory is bounded: at most RN_RATELIMITER_MAX_ENTRIES sources are tracked, and a new source
 * arriving while the table is full is refused (a flood must not push out the sources being
 * limited). A source idle for RN_RATELIMITER_EXPIRY_NS is forgotten by a sweep that runs at
 * most once per RN_RATELIMITER_EXPIRY_NS, so a table filled by a burst of sources that then go
 * quiet is empty again within twice that time.
 */
#ifndef RN_WG_RATELIMITER_H
#define RN_WG_RATELIMITER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define RN_RATELIMITER_PACKETS_PER_SECOND 20
#define RN_RATELIMITER_BURST		  5
#define RN_RATELIMITER_PACKET_COST_NS	  (1000000000ull / RN_RATELIMITER_PACKETS_PER_SECOND)
/* Idle time after which a source is forgotten. */
#define RN_RATELIMITER_EXPIRY_NS    1000000000ull
#define RN_RATELIMITER_MAX_ENTRIES  4096 /* sources tracked at once */
#define RN_RATELIMITER_BUCKETS	    4096 /* hash chains; a power of two */
#define RN_RATELIMITER_HASH_KEY_LEN 16	 /* SipHash-2-4 key */

struct rn_ratelimiter_entry;

struct rn_ratelimiter {
	pthread_mutex_t lock; /* guards everything below */
	/* Random per instance, so that nobody can aim many sources at one hash chain. */
	uint8_t hash_key[RN_RATELIMITER_HASH_KEY_LEN];
	struct rn_ratelimiter_entry *entries; /* owned: RN_RATELIMITER_MAX_ENTRIES of them */
	uint32_t *buckets;   /* owned: chain heads, entry index + 1 (0: empty chain) */
	uint32_t free_list;  /* entries freed by sweeps, index + 1 (0: none) */
	uint32_t high_water; /* entries from here on were never used, nor touched in memory */
	uint32_t n_entries;  /* sources tracked now */
	uint64_t last_sweep_ns;
};

/* Returns 0, -ENOMEM, or a negative errno from getrandom or pthread_mutex_init. */
int rn_ratelimiter_init(struct rn_ratelimiter *rl);
void rn_ratelimiter_free(struct rn_ratelimiter *rl);

/*
 * Whether a handshake message from src may be processed now, charging src for it. src must be
 * a whole sockaddr_in or sockaddr_in6; IPv4-mapped IPv6 sources count as their IPv4 address.
 * Anything else is refused. now_ns is CLOCK_MONOTONIC (or any clock that does not jump back).
 * Thread-safe.
 */
bool rn_ratelimiter_allow(struct rn_ratelimiter *rl, const struct sockaddr *src, uint64_t now_ns)
    __attribute__((warn_unused_result));

#endif
