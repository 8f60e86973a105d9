/* SPDX-License-Identifier: MIT */
/* Tests of when a node asks a peer to call it (callme_decide.c), tick by tick. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rustynetd/callme.h"

enum { T = RN_CALLME_TICK_MS, KA = RN_CALLME_KEEPALIVE_B };

/* Data goes out every tick, nothing comes back: one call after ~1 s, then none while busy. */
static void test_unanswered(void **state)
{
	struct rn_callme_peer p = { .id = 7 };
	uint64_t now = 100000, tx = 1000, rx = 500;

	(void)state;
	assert_false(rn_callme_decide(&p, tx, rx, 0, now)); /* the first reading only */
	assert_false(rn_callme_decide(&p, tx += 100, rx, 0, now += T));
	assert_false(rn_callme_decide(&p, tx += 100, rx, 0, now += T));
	assert_true(rn_callme_decide(&p, tx += 100, rx, 0, now += T));
	/* still unanswered, still sending: no second call for this attempt */
	for (int i = 0; i < 40; i++)
		assert_false(rn_callme_decide(&p, tx += 100, rx, 0, now += T));
}

/* Answers come back: never a call, however much is sent. */
static void test_answered(void **state)
{
	struct rn_callme_peer p = { .id = 7 };
	uint64_t now = 100000, tx = 1000, rx = 500;

	(void)state;
	assert_false(rn_callme_decide(&p, tx, rx, 0, now));
	for (int i = 0; i < 40; i++)
		assert_false(rn_callme_decide(&p, tx += 100, rx += 100, 0, now += T));
}

/* Keepalives alone (ours every 25 s) are no attempt to talk. */
static void test_keepalives(void **state)
{
	struct rn_callme_peer p = { .id = 7 };
	uint64_t now = 100000, tx = 1000, rx = 500;

	(void)state;
	assert_false(rn_callme_decide(&p, tx, rx, 0, now));
	for (int i = 0; i < 200; i++)
		assert_false(rn_callme_decide(&p, tx += (i % 50 ? 0 : KA), rx, 0, now += T));
}

/* After a quiet spell a new attempt calls again, but not within RN_CALLME_PEER_MS. */
static void test_again_and_limit(void **state)
{
	struct rn_callme_peer p = { .id = 7 };
	uint64_t now = 100000, tx = 1000, rx = 500, first;
	int calls = 0;

	(void)state;
	assert_false(rn_callme_decide(&p, tx, rx, 0, now));
	while (!rn_callme_decide(&p, tx += 100, rx, 0, now += T))
		;
	first = now;
	/* ping-like: a packet every other tick, never answered */
	for (int i = 0; i < 100; i++)
		if (rn_callme_decide(&p, tx += (i % 2 ? 0 : 100), rx, 0, now += T)) {
			assert_true(now - first >= RN_CALLME_PEER_MS);
			first = now;
			calls++;
		}
	assert_in_range(calls, 1, 100 * T / RN_CALLME_PEER_MS);
}

/* A handshake initiation, then silence: called once the data plane retries, or after ~1 s. */
static void test_handshake(void **state)
{
	struct rn_callme_peer p = { .id = 7 };
	uint64_t now = 100000, tx = 1000, rx = 500;

	(void)state;
	assert_false(rn_callme_decide(&p, tx, rx, 0, now));
	assert_false(rn_callme_decide(&p, tx += 148, rx, 0, now += T));
	assert_false(rn_callme_decide(&p, tx, rx, 0, now += T));
	assert_true(rn_callme_decide(&p, tx, rx, 0, now += T));
	/* a working path dies mid-flow: the first retried initiation calls */
	p = (struct rn_callme_peer){ .id = 7 };
	assert_false(rn_callme_decide(&p, tx, rx, 0, now += 10 * RN_CALLME_PEER_MS));
	assert_true(rn_callme_decide(&p, tx += 60, rx += 60, 1, now += T));
	assert_false(rn_callme_decide(&p, tx += 148, rx, 2, now += T));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unanswered), cmocka_unit_test(test_answered),
		cmocka_unit_test(test_keepalives), cmocka_unit_test(test_again_and_limit),
		cmocka_unit_test(test_handshake),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
