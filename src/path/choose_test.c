/* SPDX-License-Identifier: MIT */
/* Choosing a peer's endpoint by handshakes: trial, give-up, pinning, roaming, new maps. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "path/choose.h"

static union rn_path_addr v4(const char *ip, uint16_t port)
{
	union rn_path_addr a = { .sin.sin_family = AF_INET, .sin.sin_port = htons(port) };

	inet_pton(AF_INET, ip, &a.sin.sin_addr);
	return a;
}

#define NEVER UINT64_MAX

/* Host candidate 10.1.0.2 (unreachable from here), reflexive 203.0.113.7, relay 127.0.0.9. */
static union rn_path_addr cands[3];

static int setup(void **state)
{
	(void)state;
	cands[0] = v4("10.1.0.2", 41641);
	cands[1] = v4("203.0.113.7", 41641);
	cands[2] = v4("127.0.0.9", 40000);
	return 0;
}

static void test_gives_up_and_pins(void **state)
{
	struct rn_path_peer p = { 0 };
	struct rn_path_observed o = { .handshake_age_ms = NEVER };
	union rn_path_addr out;
	uint64_t t = 1000;

	(void)state;
	assert_true(rn_path_peer_set_candidates(&p, cands, 3, 2, NULL, t, &out));
	assert_true(rn_path_addr_equal(&out, &cands[0]));
	o.endpoint = out;
	/* Nothing sent yet: not a failure, however long. */
	assert_false(rn_path_peer_tick(&p, &o, t + 60000, &out));
	/* An initiation went out and nothing came back for RN_PATH_TRY_MS: the next one. */
	o.tx_bytes = 148;
	assert_false(rn_path_peer_tick(&p, &o, t + RN_PATH_TRY_MS - 1, &out));
	assert_true(rn_path_peer_tick(&p, &o, t + RN_PATH_TRY_MS, &out));
	assert_true(rn_path_addr_equal(&out, &cands[1]));
	t += RN_PATH_TRY_MS;
	o.endpoint = out;
	/* Its handshake completes 2 s later: pinned from then on. */
	o.tx_bytes = 296;
	o.handshake_age_ms = 0;
	assert_false(rn_path_peer_tick(&p, &o, t + 2000, &out));
	assert_true(p.working);
	for (uint64_t s = 1; s < 170; s++) {
		o.handshake_age_ms = s * 1000;
		o.tx_bytes += 100;
		assert_false(rn_path_peer_tick(&p, &o, t + 2000 + s * 1000, &out));
	}
	assert_int_equal(p.cur, 1);
	/* It goes quiet: the data plane retried an initiation unanswered. The next one. */
	o.handshake_attempts = 1;
	assert_true(rn_path_peer_tick(&p, &o, t + 200000, &out));
	assert_true(rn_path_addr_equal(&out, &cands[2]));
	assert_false(p.working);
	/* Its handshake completes: working again, where the data plane now is. */
	o.endpoint = out;
	o.handshake_attempts = 0;
	o.handshake_age_ms = 100;
	assert_false(rn_path_peer_tick(&p, &o, t + 201000, &out));
	assert_true(p.working);
}

static void test_roaming_wins(void **state)
{
	struct rn_path_peer p = { 0 };
	struct rn_path_observed o = { .handshake_age_ms = NEVER };
	union rn_path_addr out;

	(void)state;
	assert_true(rn_path_peer_set_candidates(&p, cands, 3, 2, NULL, 0, &out));
	/* The peer reached us from a port its NAT picked (not a candidate): that is the path. */
	o.endpoint = v4("203.0.113.7", 61000);
	o.tx_bytes = 92;
	o.handshake_age_ms = 0;
	assert_false(rn_path_peer_tick(&p, &o, 1000, &out));
	assert_true(p.working);
	assert_int_equal(p.changed_at_ms, 1000);
	assert_false(rn_path_peer_tick(&p, &o, 1000 + 10 * RN_PATH_TRY_MS, &out));
	/* A new map with the same candidates keeps the roamed endpoint: no call to make. */
	o.handshake_age_ms = 5000;
	assert_false(rn_path_peer_set_candidates(&p, cands, 3, 2, &o, 20000, &out));
	assert_true(p.working);
}

/*
 * Relay -> direct -> relay: working on the relay (the last candidate), a probe answered
 * directly roams the endpoint onto a direct candidate, which becomes the one in use; when it
 * goes quiet the chooser moves on from there and ends back on the relay.
 */
static void test_relay_to_direct_and_back(void **state)
{
	struct rn_path_peer p = { 0 };
	struct rn_path_observed o = { .handshake_age_ms = NEVER };
	union rn_path_addr out;
	uint64_t t = 1000;

	(void)state;
	assert_true(rn_path_peer_set_candidates(&p, cands, 3, 2, NULL, t, &out));
	p.cur = 2; /* the relay, as after two failed trials */
	p.since_ms = t;
	o.endpoint = cands[2];
	o.tx_bytes = 148;
	o.handshake_age_ms = 0;
	assert_false(rn_path_peer_tick(&p, &o, t + 1000, &out));
	assert_true(p.working);
	assert_int_equal(p.cur, 2);
	/* A probe's answer came from the reflexive candidate: roaming put the endpoint there. */
	o.endpoint = cands[1];
	assert_false(rn_path_peer_tick(&p, &o, t + 11000, &out));
	assert_true(p.working);
	assert_int_equal(p.cur, 1);
	assert_int_equal(p.changed_at_ms, t + 11000);
	/* It goes quiet: the next candidate, the relay, and it works there again. */
	o.handshake_attempts = 1;
	o.handshake_age_ms = 20000;
	assert_true(rn_path_peer_tick(&p, &o, t + 31000, &out));
	assert_true(rn_path_addr_equal(&out, &cands[2]));
	o.endpoint = out;
	o.handshake_attempts = 0;
	o.handshake_age_ms = 0;
	assert_false(rn_path_peer_tick(&p, &o, t + 33000, &out));
	assert_true(p.working);
	assert_int_equal(p.cur, 2);
}

static void test_stale_session_retries(void **state)
{
	struct rn_path_peer p = { 0 };
	struct rn_path_observed o = { .handshake_age_ms = NEVER };
	union rn_path_addr out;
	uint64_t t;

	(void)state;
	assert_true(rn_path_peer_set_candidates(&p, cands, 2, 2, NULL, 0, &out));
	o.endpoint = cands[0];
	o.tx_bytes = 148;
	o.handshake_age_ms = 0;
	assert_false(rn_path_peer_tick(&p, &o, 1000, &out));
	assert_true(p.working);
	/* Past REJECT_AFTER_TIME with no new handshake: tried again from here, then moved on. */
	t = 1000 + RN_PATH_STALE_MS;
	o.handshake_age_ms = RN_PATH_STALE_MS;
	assert_false(rn_path_peer_tick(&p, &o, t, &out));
	assert_false(p.working);
	assert_false(rn_path_peer_tick(&p, &o, t + RN_PATH_TRY_MS, &out)); /* nothing sent since */
	o.tx_bytes += 148;
	assert_true(rn_path_peer_tick(&p, &o, t + RN_PATH_TRY_MS, &out));
	assert_true(rn_path_addr_equal(&out, &cands[1]));
	/* And around again: the list wraps. */
	o.tx_bytes += 148;
	assert_true(rn_path_peer_tick(&p, &o, t + 2 * RN_PATH_TRY_MS, &out));
	assert_true(rn_path_addr_equal(&out, &cands[0]));
}

static void test_new_map(void **state)
{
	struct rn_path_peer p = { 0 };
	struct rn_path_observed o = { .handshake_age_ms = NEVER };
	union rn_path_addr out, one;

	(void)state;
	assert_true(rn_path_peer_set_candidates(&p, cands, 3, 2, NULL, 0, &out));
	o.endpoint = cands[0];
	o.tx_bytes = 148;
	assert_true(rn_path_peer_tick(&p, &o, RN_PATH_TRY_MS, &out));
	o.endpoint = out; /* cands[1] */
	/* The next map drops the host candidate: cands[1] is still in it, kept (index moves). */
	assert_false(rn_path_peer_set_candidates(&p, cands + 1, 2, 1, &o, 6000, &out));
	assert_int_equal(p.cur, 0);
	/* A map whose only candidate is new: set at once. */
	one = v4("198.51.100.20", 41641);
	assert_true(rn_path_peer_set_candidates(&p, &one, 1, 1, &o, 7000, &out));
	assert_true(rn_path_addr_equal(&out, &one));
	/* One candidate: nothing to rotate to. */
	o.endpoint = one;
	o.tx_bytes += 1000;
	assert_false(rn_path_peer_tick(&p, &o, 7000 + 10 * RN_PATH_TRY_MS, &out));
	/* None: nothing set. */
	assert_false(rn_path_peer_set_candidates(&p, NULL, 0, 0, &o, 8000, &out));
	assert_int_equal(p.n_cand, 0);
	assert_false(rn_path_peer_tick(&p, &o, 9000 + 10 * RN_PATH_TRY_MS, &out));
}

/*
 * A new peer whose data plane already has the map's first endpoint (apply_plan set it): the
 * trial starts now, not at time 0, so it is not given up at once (it was, and a node behind an
 * IPv4-only NAT moved to an IPv6 candidate it had no route to).
 */
static void test_fresh_peer_in_use(void **state)
{
	struct rn_path_peer p = { 0 };
	struct rn_path_observed o = { .handshake_age_ms = NEVER, .tx_bytes = 148 };
	union rn_path_addr out;
	uint64_t t = 1000000;

	(void)state;
	o.endpoint = cands[1];
	assert_false(rn_path_peer_set_candidates(&p, cands, 3, 2, &o, t, &out));
	assert_int_equal(p.cur, 1);
	assert_int_equal(p.changed_at_ms, 0); /* we changed nothing */
	o.tx_bytes += 148;
	assert_false(rn_path_peer_tick(&p, &o, t + 1000, &out));
	assert_true(rn_path_peer_tick(&p, &o, t + RN_PATH_TRY_MS, &out));
	assert_true(rn_path_addr_equal(&out, &cands[2]));
}

/*
 * The handshake completed (the peer reached us, roaming set the endpoint) just before the
 * chooser was made: that is a working path, not one to give up after 5.5 s (it was, when only
 * a handshake after the chooser's start counted).
 */
static void test_handshake_before_chooser(void **state)
{
	struct rn_path_peer p = { 0 };
	struct rn_path_observed o = { .handshake_age_ms = 200, .tx_bytes = 148 };
	union rn_path_addr out;

	(void)state;
	o.endpoint = cands[1];
	assert_false(rn_path_peer_set_candidates(&p, cands, 3, 2, &o, 50000, &out));
	o.handshake_age_ms = 1200;
	o.tx_bytes += 5000;
	assert_false(rn_path_peer_tick(&p, &o, 51000, &out));
	assert_true(p.working);
	o.handshake_age_ms = 7200;
	assert_false(rn_path_peer_tick(&p, &o, 57000, &out));
	assert_int_equal(p.cur, 1);
}

/* A candidate we cannot even send to (no route): tx does not grow, but the retry counts. */
static void test_unsendable(void **state)
{
	struct rn_path_peer p = { 0 };
	struct rn_path_observed o = { .handshake_age_ms = NEVER };
	union rn_path_addr out;

	(void)state;
	assert_true(rn_path_peer_set_candidates(&p, cands, 2, 2, NULL, 0, &out));
	o.endpoint = cands[0];
	assert_false(rn_path_peer_tick(&p, &o, RN_PATH_TRY_MS, &out)); /* nothing tried */
	o.handshake_attempts = 1;
	assert_true(rn_path_peer_tick(&p, &o, RN_PATH_TRY_MS + 1000, &out));
	assert_true(rn_path_addr_equal(&out, &cands[1]));
}

static void test_addr_equal(void **state)
{
	union rn_path_addr a = v4("203.0.113.7", 1), b = v4("203.0.113.7", 2), c = { 0 }, d = { 0 };

	(void)state;
	assert_false(rn_path_addr_equal(&a, &b));
	b.sin.sin_port = htons(1);
	assert_true(rn_path_addr_equal(&a, &b));
	c.sin6.sin6_family = AF_INET6;
	d.sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &c.sin6.sin6_addr);
	inet_pton(AF_INET6, "2001:db8::1", &d.sin6.sin6_addr);
	assert_true(rn_path_addr_equal(&c, &d));
	d.sin6.sin6_addr.s6_addr[15] = 2;
	assert_false(rn_path_addr_equal(&c, &d));
	assert_false(rn_path_addr_equal(&a, &c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_gives_up_and_pins, setup),
		cmocka_unit_test_setup(test_roaming_wins, setup),
		cmocka_unit_test_setup(test_relay_to_direct_and_back, setup),
		cmocka_unit_test_setup(test_stale_session_retries, setup),
		cmocka_unit_test_setup(test_new_map, setup),
		cmocka_unit_test_setup(test_fresh_peer_in_use, setup),
		cmocka_unit_test_setup(test_unsendable, setup),
		cmocka_unit_test_setup(test_handshake_before_chooser, setup),
		cmocka_unit_test(test_addr_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
