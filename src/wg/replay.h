/* SPDX-License-Identifier: MIT */
/*
 * The replay window for transport data counters (WireGuard whitepaper 5.4.6, after RFC 6479):
 * a ring of bitmap words that slides forward with the greatest counter accepted, so packets
 * may arrive out of order but each counter is accepted at most once.
 *
 * Not locked: the caller serializes checks on one window (one window per keypair, so the
 * keypair's own lock is the natural one).
 */
#ifndef RN_WG_REPLAY_H
#define RN_WG_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

enum {
	RN_REPLAY_BITS_TOTAL = 8192, /* bits in the ring: 128 words of 64 */
	RN_REPLAY_WORD_BITS = 64,
	RN_REPLAY_WORDS = RN_REPLAY_BITS_TOTAL / RN_REPLAY_WORD_BITS,
	/*
	 * How far (in counters) below the greatest accepted counter a late packet may still be
	 * accepted. One word short of the ring, so the word being filled never shares a slot
	 * with the oldest word still in the window.
	 */
	RN_REPLAY_WINDOW = RN_REPLAY_BITS_TOTAL - RN_REPLAY_WORD_BITS,
};

struct rn_replay {
	uint64_t next; /* greatest accepted counter + 1; 0 before the first packet */
	uint64_t ring[RN_REPLAY_WORDS]; /* bit c % 8192 set: counter c was accepted */
};

/* All-zero is the initial state, so a zeroed struct needs no call. */
void rn_replay_init(struct rn_replay *r);

/*
 * Accepts and records counter if it is below reject_after_messages, not more than
 * RN_REPLAY_WINDOW below the greatest counter accepted so far, and not accepted before.
 * Call it only after the packet authenticated, or forged counters would slide the window.
 */
bool rn_replay_check(struct rn_replay *r, uint64_t counter, uint64_t reject_after_messages)
    __attribute__((warn_unused_result));

#endif
