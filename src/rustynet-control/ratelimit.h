/* SPDX-License-Identifier: MIT */
/*
 * Events per source address: a token bucket per address (failed enrollments by default:
 * RN_RATELIMIT_BURST failures, one more every RN_RATELIMIT_REFILL_MS; the STUN responder counts
 * its answers with its own burst and rate), in a fixed-size table so that a flood of addresses
 * costs no memory: when a table slot is needed, a full bucket or else the least recently used
 * one is reused. IPv6 addresses count per /64, what one host usually gets (an IPv4-mapped
 * IPv6 address counts as its IPv4 address). Thread-safe.
 */
#ifndef RN_CTL_RATELIMIT_H
#define RN_CTL_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

enum {
	RN_RATELIMIT_BURST = 10,       /* failures an address may have in a row */
	RN_RATELIMIT_REFILL_MS = 6000, /* one more failure allowed per this long */
	RN_RATELIMIT_SLOTS = 4096,     /* addresses tracked at once */
	RN_RATELIMIT_KEY_LEN = 17,     /* bytes of a client key */
};

/*
 * The client a source address counts as, for every per-client limit of the server: the family
 * byte, then the IPv4 address or the IPv6 /64 (the rest zero). An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d, from a dual-stack socket) is its IPv4 address, so that every IPv4 client does
 * not share one /64. Another family: its byte alone.
 */
void rn_ratelimit_key(const struct sockaddr *sa, uint8_t key[RN_RATELIMIT_KEY_LEN]);

struct rn_ratelimit;

/* NULL when out of memory or the kernel gives no randomness for the hash seed. */
struct rn_ratelimit *rn_ratelimit_new(void);
/* The same with burst events in a row (1 or more) and one more every refill_ms (1 or more). */
struct rn_ratelimit *rn_ratelimit_new_with(uint32_t burst, uint32_t refill_ms);
/* The table's hash seed, for tests: it must differ between processes. */
uint32_t rn_ratelimit_seed(const struct rn_ratelimit *rl);
void rn_ratelimit_free(struct rn_ratelimit *rl);
/*
 * Whether addr may try now (it has a failure left); if not, *retry_after_s says in how many
 * seconds it will. now_ms is a monotonic clock.
 */
bool rn_ratelimit_allow(struct rn_ratelimit *rl, const struct sockaddr *addr, uint64_t now_ms,
			unsigned *retry_after_s);
/* Counts one failure (one event) of addr. */
void rn_ratelimit_fail(struct rn_ratelimit *rl, const struct sockaddr *addr, uint64_t now_ms);

#endif
