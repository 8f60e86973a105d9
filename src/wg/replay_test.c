/* SPDX-License-Identifier: MIT */
/* Unit tests for the replay window: an edge table and a naive reference on random traffic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wg/replay.h"

#define W     ((uint64_t)RN_REPLAY_WINDOW)
#define RING  ((uint64_t)RN_REPLAY_BITS_TOTAL)
#define LIMIT (UINT64_MAX - RING - 1) /* a reject limit far from everything else */

struct step {
	uint64_t counter;
	uint64_t limit;
	bool accept;
};

static void run_steps(struct rn_replay *r, const struct step *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool got = rn_replay_check(r, s[i].counter, s[i].limit);

		if (got != s[i].accept)
			fail_msg("step %zu: counter %llu: got %d, want %d", i,
				 (unsigned long long)s[i].counter, got, s[i].accept);
	}
}

static void test_edges(void **state)
{
	static const struct step steps[] = {
		{ 0, LIMIT, true },  /* first packet is counter 0 */
		{ 0, LIMIT, false }, /* duplicate */
		{ 1, LIMIT, true },
		{ 1, LIMIT, false },
		{ 9, LIMIT, true }, /* skips ahead */
		{ 8, LIMIT, true }, /* late but in the window */
		{ 7, LIMIT, true },
		{ 7, LIMIT, false },
		{ W + 9, LIMIT, true }, /* 9 is now exactly a window behind */
		{ 9, LIMIT, false },	/* ... and was seen */
		{ 10, LIMIT, true },	/* one less than a window behind */
		{ W + 14, LIMIT, true },
		{ 13, LIMIT, false }, /* one more than a window behind, never seen */
		{ 14, LIMIT, true },  /* exactly a window behind, never seen */
		{ 14, LIMIT, false },
		{ 3 * RING + 5, LIMIT, true },	/* jump past the whole ring */
		{ W + 14, LIMIT, false },	/* far behind now */
		{ 3 * RING + 10, LIMIT, true }, /* the ring slots of 10 and 14 were cleared */
		{ 3 * RING + 14, LIMIT, true },
		{ 3 * RING - (W + 14) % RING - 1, LIMIT, false }, /* beyond the window */
		{ 2 * RING + W + 9, LIMIT, true }, /* in the window, on the slot W + 9 used */
		{ 3 * RING + 15, LIMIT, true },
		{ 3 * RING + 15, LIMIT, false },
		{ LIMIT - 2, LIMIT, true },  /* jump to just under the reject limit */
		{ LIMIT - 1, LIMIT, true },  /* the last counter allowed */
		{ LIMIT, LIMIT, false },     /* the limit itself */
		{ LIMIT - 1, LIMIT, false }, /* still a duplicate */
		{ LIMIT - 3, LIMIT, true },  /* late traffic still fine */
		{ UINT64_MAX, LIMIT, false },
		{ UINT64_MAX, UINT64_MAX, false },
	};
	struct rn_replay r;

	(void)state;
	rn_replay_init(&r);
	run_steps(&r, steps, sizeof(steps) / sizeof(steps[0]));
}

static void test_word_boundaries(void **state)
{
	static const struct step
	    steps
		[] = {
			{ 63, LIMIT, true },
			{ 64, LIMIT, true },
			{ 63, LIMIT, false },
			{ 127, LIMIT, true },
			{ 128, LIMIT, true },
			{ 0, LIMIT, true },
			{ 64, LIMIT, false },
			{ RING - 1, LIMIT, true },
			{ RING, LIMIT, true },
			{ 63, LIMIT, false }, /* RING - 63 behind: beyond the window */
			{ RING + 63, LIMIT, true },
			{ RING + 64, LIMIT, true },
			{ 127, LIMIT, false },
			{ RING + 66, LIMIT, true },
			{ 130, LIMIT, true },  /* exactly a window behind, never seen */
			{ 129, LIMIT, false }, /* one more than a window behind, never seen */
		};
	static struct rn_replay r; /* zeroed storage is a valid initial state */

	(void)state;
	run_steps(&r, steps, sizeof(steps) / sizeof(steps[0]));
}

static void test_whole_window_reversed(void **state)
{
	struct rn_replay r;

	(void)state;
	rn_replay_init(&r);
	for (uint64_t c = W + 1; c-- > 0;)
		assert_true(rn_replay_check(&r, c, LIMIT));
	for (uint64_t c = 0; c <= W; c++)
		assert_false(rn_replay_check(&r, c, LIMIT));
	assert_true(rn_replay_check(&r, W + 1, LIMIT));
	assert_false(rn_replay_check(&r, 0, LIMIT));
}

static void test_limit_zero(void **state)
{
	struct rn_replay r;

	(void)state;
	rn_replay_init(&r);
	assert_false(rn_replay_check(&r, 0, 0));
	assert_true(rn_replay_check(&r, 0, 1));
	assert_false(rn_replay_check(&r, 1, 1));
}

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* Random reordering, duplication and jumps against a plain "seen" bitmap. */
static void test_random_against_reference(void **state)
{
	enum { SPAN = 1 << 22, PACKETS = 400000 };
	uint8_t *seen = calloc(SPAN / 8, 1);
	uint64_t base = 0, greatest = 0;
	int accepted = 0;
	bool any = false;
	struct rn_replay r;

	(void)state;
	assert_non_null(seen);
	rn_replay_init(&r);
	for (int i = 0; i < PACKETS; i++) {
		uint64_t roll = rng() % 1000, c;
		bool want, got;

		if (roll < 1)
			base += rng() % (2 * RING); /* a jump, sometimes past the whole ring */
		else if (roll < 600)
			base += rng() % 3;
		c = base + rng() % 64;
		if (roll % 7 == 0 && c > W + 80)
			c -= W - 40 + rng() % 120; /* near the window's far edge */
		assert_true(c < SPAN);
		want = !(seen[c / 8] & (1u << (c % 8))) && (!any || c + W >= greatest);
		got = rn_replay_check(&r, c, LIMIT);
		if (got != want)
			fail_msg("packet %d: counter %llu (greatest %llu): got %d, want %d", i,
				 (unsigned long long)c, (unsigned long long)greatest, got, want);
		if (want) {
			seen[c / 8] |= 1u << (c % 8);
			greatest = !any || c > greatest ? c : greatest;
			any = true;
			accepted++;
		}
	}
	/* Both outcomes must be common, or the comparison proves little. */
	assert_in_range(accepted, PACKETS / 5, PACKETS - PACKETS / 5);
	free(seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_word_boundaries),
		cmocka_unit_test(test_whole_window_reversed),
		cmocka_unit_test(test_limit_zero),
		cmocka_unit_test(test_random_against_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
