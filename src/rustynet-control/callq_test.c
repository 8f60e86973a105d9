/* SPDX-License-Identifier: MIT */
/* Tests of the call bookkeeping: delivery, staleness and the per-pair and per-caller limits. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rustynet-control/callq.h"

static void test_deliver(void **state)
{
	struct rn_callq *q = rn_callq_new();
	uint64_t from[RN_CALLQ_TAKE_MAX];

	(void)state;
	assert_non_null(q);
	assert_int_equal(rn_callq_ask(q, 1, 1, 1000), -EINVAL); /* nobody calls itself */
	assert_int_equal(rn_callq_ask(q, 0, 2, 1000), -EINVAL);
	assert_false(rn_callq_waiting(q, 2, 1000));
	assert_int_equal(rn_callq_ask(q, 1, 2, 1000), 0);
	assert_int_equal(rn_callq_ask(q, 3, 2, 1100), 0);
	assert_true(rn_callq_waiting(q, 2, 1100));
	assert_false(rn_callq_waiting(q, 1, 1100)); /* only the callee is woken */
	assert_int_equal(rn_callq_take(q, 2, 1200, from, RN_CALLQ_TAKE_MAX), 2);
	assert_int_equal(from[0], 1); /* oldest first */
	assert_int_equal(from[1], 3);
	assert_int_equal(rn_callq_take(q, 2, 1200, from, RN_CALLQ_TAKE_MAX), 0);
	/* a call nobody took within its TTL is dropped */
	assert_int_equal(rn_callq_ask(q, 4, 5, 2000), 0);
	assert_false(rn_callq_waiting(q, 5, 2000 + RN_CALLQ_TTL_MS));
	assert_int_equal(rn_callq_take(q, 5, 2000 + RN_CALLQ_TTL_MS, from, 4), 0);
	rn_callq_free(q);
}

static void test_pair_limit(void **state)
{
	struct rn_callq *q = rn_callq_new();
	uint64_t from[4];

	(void)state;
	assert_int_equal(rn_callq_ask(q, 1, 2, 10000), 0);
	assert_int_equal(rn_callq_ask(q, 1, 2, 10000 + RN_CALLQ_PAIR_MS - 1), -EAGAIN);
	assert_int_equal(rn_callq_ask(q, 2, 1, 10001), 0); /* the other way is its own pair */
	assert_int_equal(rn_callq_ask(q, 1, 3, 10002), 0);
	assert_int_equal(rn_callq_take(q, 2, 10003, from, 4), 1);
	assert_int_equal(rn_callq_ask(q, 1, 2, 10000 + RN_CALLQ_PAIR_MS), 0);
	assert_int_equal(rn_callq_take(q, 2, 10000 + RN_CALLQ_PAIR_MS, from, 4), 1);
	assert_int_equal(rn_callq_ask(q, 5, 6, 10005), 0);
	rn_callq_cancel(q, 5, 6);
	assert_false(rn_callq_waiting(q, 6, 10005));
	rn_callq_forget(q, 1);
	assert_int_equal(rn_callq_take(q, 3, 10004, from, 4), 0); /* its calls went with it */
	rn_callq_free(q);
}

static void test_caller_limit(void **state)
{
	struct rn_callq *q = rn_callq_new();
	uint64_t t = 50000, to;

	(void)state;
	for (to = 2; to < 2 + RN_CALLQ_BURST; to++)
		assert_int_equal(rn_callq_ask(q, 1, to, t), 0);
	assert_int_equal(rn_callq_ask(q, 1, to++, t), -EAGAIN); /* the burst is spent */
	assert_int_equal(rn_callq_ask(q, 7, 2, t), 0);		/* others are not limited */
	assert_int_equal(rn_callq_ask(q, 1, to++, t + RN_CALLQ_REFILL_MS - 1), -EAGAIN);
	assert_int_equal(rn_callq_ask(q, 1, to++, t + 2 * RN_CALLQ_REFILL_MS), 0);
	/* a flood from one caller at many callees never takes more than the table */
	for (uint64_t i = 0; i < 20000; i++)
		(void)rn_callq_ask(q, 100 + i % 3000, 1 + i % 5000, t + 10 * RN_CALLQ_PAIR_MS + i);
	assert_int_equal(rn_callq_ask(q, 9999, 9998, t + 100 * RN_CALLQ_PAIR_MS), 0);
	assert_true(rn_callq_waiting(q, 9998, t + 100 * RN_CALLQ_PAIR_MS));
	rn_callq_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deliver),
		cmocka_unit_test(test_pair_limit),
		cmocka_unit_test(test_caller_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
