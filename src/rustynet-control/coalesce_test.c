/* SPDX-License-Identifier: MIT */
/*
 * Tests of the per-node coalescing of nodes' own changes: the first change is published at once,
 * a burst within the interval comes out as one publication at its end with the latest offer, and
 * nodes do not hold each other back.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rustynet-control/coalesce.h"

enum { T0 = 1000000 };

static void test_first_change_at_once(void **state)
{
	struct rn_coalesce *c = rn_coalesce_new();
	struct rn_coalesce_due d;

	(void)state;
	assert_non_null(c);
	assert_true(rn_coalesce_note(c, 7, T0));
	assert_false(rn_coalesce_pop_due(c, T0 + 5000, &d)); /* nothing held */
	/* an interval later the node is idle again: its next change goes out at once */
	assert_int_equal(rn_coalesce_count(c), 0);
	assert_true(rn_coalesce_note(c, 7, T0 + 5000));
	rn_coalesce_free(c);
}

/* 100 changes in 5 s from one node: 1 at once + one per interval, never more. */
static void test_flapping_node_is_bounded(void **state)
{
	struct rn_coalesce *c = rn_coalesce_new();
	struct rn_coalesce_due d;
	unsigned published = 0;
	uint64_t t = T0;

	(void)state;
	for (int i = 0; i < 100; i++, t += 50) {
		if (rn_coalesce_note(c, 1, t))
			published++;
		/* the server's watcher looks every 200 ms */
		if (i % 4 == 0)
			while (rn_coalesce_pop_due(c, t, &d)) {
				assert_int_equal(d.id, 1);
				published++;
			}
	}
	for (; t < T0 + 7000; t += 200)
		while (rn_coalesce_pop_due(c, t, &d))
			published++;
	/* 5 s of flapping: at most 1 + 5 publications, and the last change did get out */
	assert_in_range(published, 2, 6);
	assert_int_equal(rn_coalesce_count(c), 0);
	rn_coalesce_free(c);
}

static void test_held_offer_is_the_latest(void **state)
{
	struct rn_coalesce *c = rn_coalesce_new();
	struct rn_coalesce_due d;

	(void)state;
	assert_true(rn_coalesce_note(c, 3, T0));
	assert_null(rn_coalesce_held_offer(c, 3));
	/* not held: nothing to hold an offer in */
	assert_int_equal(rn_coalesce_hold_offer(c, 3, "[]", false, "[]", false), -ENOENT);
	assert_false(rn_coalesce_note(c, 3, T0 + 10));
	assert_int_equal(rn_coalesce_hold_offer(c, 3, "[\"10.1.0.0/16\"]", true, "[]", false), 0);
	assert_false(rn_coalesce_note(c, 3, T0 + 20));
	assert_int_equal(rn_coalesce_hold_offer(c, 3, "[\"10.2.0.0/16\"]", false, "[\"x\"]", true),
			 0);
	assert_string_equal(rn_coalesce_held_offer(c, 3)->routes, "[\"10.2.0.0/16\"]");
	/* not due before the interval is over */
	assert_false(rn_coalesce_pop_due(c, T0 + 999, &d));
	assert_true(rn_coalesce_pop_due(c, T0 + 1000, &d));
	assert_int_equal(d.id, 3);
	assert_true(d.has_offer);
	assert_string_equal(d.offer.routes, "[\"10.2.0.0/16\"]");
	assert_false(d.offer.exit);
	/* the base is what the store had when the first offer was held */
	assert_string_equal(d.offer.base_routes, "[]");
	assert_false(d.offer.base_exit);
	rn_coalesce_offer_clear(&d.offer);
	assert_null(rn_coalesce_held_offer(c, 3));
	/* published at T0 + 1000: a change right after is held again */
	assert_false(rn_coalesce_note(c, 3, T0 + 1001));
	assert_true(rn_coalesce_pop_due(c, T0 + 2000, &d));
	assert_false(d.has_offer);
	rn_coalesce_free(c);
}

static void test_nodes_are_separate(void **state)
{
	struct rn_coalesce *c = rn_coalesce_new();
	struct rn_coalesce_due d;

	(void)state;
	for (int64_t id = 1; id <= 100; id++)
		assert_true(rn_coalesce_note(c, id, T0));
	assert_false(rn_coalesce_note(c, 50, T0 + 1));
	assert_true(rn_coalesce_note(c, 101, T0 + 1));
	assert_true(rn_coalesce_pop_due(c, T0 + 1001, &d));
	assert_int_equal(d.id, 50);
	assert_false(rn_coalesce_pop_due(c, T0 + 1001, &d));
	rn_coalesce_free(c);
}

/* A clock read just before the node's own (another thread's): nothing is due, nothing wraps. */
static void test_earlier_clock(void **state)
{
	struct rn_coalesce *c = rn_coalesce_new();
	struct rn_coalesce_due d;

	(void)state;
	assert_true(rn_coalesce_note(c, 4, T0));
	assert_false(rn_coalesce_note(c, 4, T0 + 1));
	assert_false(rn_coalesce_pop_due(c, T0 - 1, &d));
	assert_int_equal(rn_coalesce_count(c), 1);
	assert_true(rn_coalesce_pop_due(c, T0 + 1000, &d));
	rn_coalesce_free(c);
}

static void test_forget(void **state)
{
	struct rn_coalesce *c = rn_coalesce_new();
	struct rn_coalesce_due d;

	(void)state;
	assert_true(rn_coalesce_note(c, 9, T0));
	assert_false(rn_coalesce_note(c, 9, T0 + 1));
	assert_int_equal(rn_coalesce_hold_offer(c, 9, "[]", true, "[]", false), 0);
	rn_coalesce_forget(c, 9);
	assert_false(rn_coalesce_pop_due(c, T0 + 5000, &d));
	assert_true(rn_coalesce_note(c, 9, T0 + 5000));
	rn_coalesce_free(c); /* frees a held offer too (ASan checks) */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_change_at_once),
		cmocka_unit_test(test_flapping_node_is_bounded),
		cmocka_unit_test(test_held_offer_is_the_latest),
		cmocka_unit_test(test_nodes_are_separate),
		cmocka_unit_test(test_earlier_clock),
		cmocka_unit_test(test_forget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
