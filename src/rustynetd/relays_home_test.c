/* SPDX-License-Identifier: MIT */
/*
 * The home relay choice (relays_home.c) against an edge table: the first usable before any
 * measurement, the lowest round trip at the first choice, hysteresis (20% and 5 ms, both needed)
 * so near-equal relays do not flap, a home that stops being usable replaced at once, none
 * usable giving relay 0; and against a naive reference over random inputs (the choice is a
 * usable relay whenever there is one, never one clearly worse than the best).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "netmap/netmap.h"
#include "rustynetd/relays.h"

#define U(ms)                                                                                      \
	{                                                                                          \
		.usable = true, .rtt_us = (uint32_t)((ms)*1000)                                    \
	}
#define DOWN                                                                                       \
	{                                                                                          \
		.usable = false, .rtt_us = 0                                                       \
	}
#define UNMEASURED                                                                                 \
	{                                                                                          \
		.usable = true, .rtt_us = 0                                                        \
	}

struct row {
	struct rn_relays_view v[3];
	size_t n, cur, want;
	const char *why;
};

static void test_table(void **state)
{
	static const struct row rows[] = {
		{ { DOWN, DOWN }, 2, 2, 0, "none usable, no home yet: 0" },
		{ { DOWN, DOWN }, 2, 1, 0, "none usable: 0" },
		{ { UNMEASURED, UNMEASURED }, 2, 2, 0, "no measurement: the first usable" },
		{ { DOWN, UNMEASURED }, 2, 2, 1, "no measurement: the first usable (1)" },
		{ { U(80), U(1) }, 2, 2, 1, "first choice: the lowest" },
		{ { U(80), U(1) }, 2, 0, 1, "clearly better: moves" },
		{ { U(10), U(6) }, 2, 0, 0, "40% but 4 ms: stays" },
		{ { U(30), U(25) }, 2, 0, 0, "5 ms but 17%: stays" },
		{ { U(30), U(24) }, 2, 0, 1, "20% and 6 ms: moves" },
		{ { U(1), U(80) }, 2, 0, 0, "the home is the best: stays" },
		{ { DOWN, U(80) }, 2, 0, 1, "the home stopped answering: the other, slower" },
		{ { UNMEASURED, U(9) }, 2, 0, 1, "an unmeasured home gives way to a measured one" },
		{ { U(9), UNMEASURED }, 2, 0, 0, "a measured home stays for an unmeasured one" },
		{ { U(50), U(45), U(10) }, 3, 1, 2, "the best of several" },
		{ { U(50), DOWN, U(10) }, 3, 5, 2, "a home index out of range is none" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t got = rn_daemon_relays_pick_home(rows[i].v, rows[i].n, rows[i].cur);

		if (got != rows[i].want)
			fail_msg("row %zu (%s): got %zu, want %zu", i, rows[i].why, got,
				 rows[i].want);
	}
}

/* The naive reference's view of the rule: is the choice acceptable? */
static bool acceptable(const struct rn_relays_view *v, size_t n, size_t got)
{
	uint32_t best = 0;
	bool any = false;

	for (size_t i = 0; i < n; i++)
		if (v[i].usable) {
			any = true;
			if (v[i].rtt_us && (!best || v[i].rtt_us < best))
				best = v[i].rtt_us;
		}
	if (!any)
		return got == 0;
	if (got >= n || !v[got].usable)
		return false;
	if (!best)
		return true;
	if (!v[got].rtt_us)
		return false; /* measured ones go before unmeasured ones */
	/* never clearly worse than the best */
	return !((uint64_t)best * 100 <= (uint64_t)v[got].rtt_us * (100 - RN_RELAYS_HOME_PCT) &&
		 v[got].rtt_us - best >= RN_RELAYS_HOME_MIN_US);
}

static void test_random(void **state)
{
	(void)state;
	srand(14);
	for (int k = 0; k < 100000; k++) {
		struct rn_relays_view v[RN_NETMAP_MAX_RELAYS];
		size_t n = 1 + (size_t)rand() % RN_NETMAP_MAX_RELAYS,
		       cur = (size_t)rand() % (n + 1);
		size_t got;

		for (size_t i = 0; i < n; i++) {
			v[i].usable = rand() % 4 != 0;
			v[i].rtt_us = v[i].usable && rand() % 8 ? 1 + (uint32_t)rand() % 100000 : 0;
		}
		got = rn_daemon_relays_pick_home(v, n, cur);
		assert_true(acceptable(v, n, got));
		/* stable: asked again with the answer as the home, the same answer */
		if (n && v[got].usable)
			assert_int_equal(rn_daemon_relays_pick_home(v, n, got), got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
