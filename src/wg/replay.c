/* SPDX-License-Identifier: MIT */
/*
 * Sliding replay window. Moving forward clears only the ring words that the window enters, so
 * a check costs O(1) except for jumps, which cost at most one pass over the ring.
 */
#include "wg/replay.h"

#include <string.h>

void rn_replay_init(struct rn_replay *r)
{
	memset(r, 0, sizeof(*r));
}

/* Slides the window so that counter (beyond every counter seen) becomes the greatest. */
static void replay_advance(struct rn_replay *r, uint64_t counter)
{
	uint64_t top = counter / RN_REPLAY_WORD_BITS;
	uint64_t cur = r->next ? (r->next - 1) / RN_REPLAY_WORD_BITS : 0;
	uint64_t entered = top - cur;

	/* Words between the old top word and the new one hold bits from a lap ago. */
	if (entered >= RN_REPLAY_WORDS) {
		memset(r->ring, 0, sizeof(r->ring));
	} else {
		for (uint64_t i = 1; i <= entered; i++)
			r->ring[(cur + i) % RN_REPLAY_WORDS] = 0;
	}
	r->next = counter + 1;
}

bool rn_replay_check(struct rn_replay *r, uint64_t counter, uint64_t reject_after_messages)
{
	uint64_t bit, *word;

	if (counter >= reject_after_messages)
		return false;
	if (counter >= r->next)
		replay_advance(r, counter);
	else if (r->next - 1 - counter > RN_REPLAY_WINDOW)
		return false;
	word = &r->ring[(counter / RN_REPLAY_WORD_BITS) % RN_REPLAY_WORDS];
	bit = 1ull << (counter % RN_REPLAY_WORD_BITS);
	if (*word & bit)
		return false;
	*word |= bit;
	return true;
}
