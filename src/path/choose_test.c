/* SPDX-License-Identifier: MIT */
/* Choosing a peer's endpoint by handshakes: trial, give-up, pinning, roaming, new maps,
 * liveness checks, probe rounds. */
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

/* A working path with traffic both ways at t: cands (two direct, the relay), on cand[cur]. */
static void working_on(struct rn_path_peer *p, struct rn_path_observed *o, size_t cur, uint64_t t)
{
	union rn_path_addr out;

	assert_true(rn_path_peer_set_candidates(p, cands, 3, 2, NULL, t - 5000, &out));
	o->endpoint = cands[cur];
	o->handshake_age_ms = 1000;
	o->tx_bytes = 148;
	o->rx_age_ms = 100;
	o->data_sent_age_ms = 50;
	assert_int_equal(rn_path_peer_tick(p, o, t - 1000, &out), 0);
	assert_true(p->working);
	assert_int_equal(p->cur, cur);
	o->handshake_age_ms = 2000;
	assert_int_equal(rn_path_peer_tick(p, o, t, &out), 0);
}

/*
 * The path dies at t (the peer's last packet came at t - 100) while we keep sending data every
 * second: the ticks at which the chooser asks for a check and leaves the path.
 */
static void dies(struct rn_path_peer *p, struct rn_path_observed *o, uint64_t t, uint64_t *check_at,
		 uint64_t *left_at, union rn_path_addr *out)
{
	*check_at = *left_at = 0;
	for (uint64_t now = t + 1000; now <= t + 10000 && !*left_at; now += 1000) {
		unsigned int act;

		o->rx_age_ms = now - (t - 100);
		o->data_sent_age_ms = 10;
		act = rn_path_peer_tick(p, o, now, out);
		/* a check a second away or running: the caller ticks faster */
		assert_int_equal(rn_path_peer_busy(p, now), now >= t + 2000);
		if (act == RN_PATH_INITIATE) {
			assert_int_equal(*check_at, 0);
			*check_at = now;
			assert_true(
			    rn_path_peer_probing(p, o)); /* the check races the other direct ones */
		} else if (act) {
			assert_int_equal(act, RN_PATH_GIVE | RN_PATH_INITIATE);
			*left_at = now;
		}
	}
}

/*
 * Direct -> relay in seconds: our data waits RN_PATH_QUIET_MS for an answer (from the first tick
 * that saw it: t + 990): a check; unanswered for RN_PATH_CHECK_MS: the relay, not the next
 * direct candidate (a 5.5 s trial each).
 */
static void test_quiet_path_left_for_relay(void **state)
{
	struct rn_path_peer p = { 0 };
	struct rn_path_observed o = { 0 };
	union rn_path_addr out;
	uint64_t t = 100000, check_at, left_at;

	(void)state;
	working_on(&p, &o, 0, t);
	assert_true(rn_path_peer_probe_due(&p, &o, t)); /* the first map's round */
	assert_false(rn_path_peer_probing(&p, &o));
	dies(&p, &o, t, &check_at, &left_at, &out);
	assert_int_equal(check_at, t + 3000);
	assert_int_equal(left_at, t + 3000 + RN_PATH_CHECK_MS);
	assert_true(rn_path_peer_busy(&p, left_at + 1000)); /* the new path's answer is near */
	assert_false(rn_path_peer_busy(&p, left_at + RN_PATH_CHECK_MS));
	assert_true(rn_path_addr_equal(&out, &cands[2]));
	assert_false(p.working);
	assert_int_equal(p.changed_at_ms, left_at);
	/* Relayed: the direct candidates are probed (the one that died among them). */
	o.endpoint = out;
	assert_true(rn_path_peer_relayed(&p, &o));
	assert_true(rn_path_peer_probing(&p, &o));
	/* The relay's handshake completes: working there. */
	o.handshake_age_ms = 0;
	o.rx_age_ms = 0;
	assert_int_equal(rn_path_peer_tick(&p, &o, left_at + 1000, &out), 0);
	assert_true(p.working);
	assert_int_equal(p.cur, 2);
}

/* A relay that goes quiet is left for the first candidate (the list wraps). */
static void test_quiet_relay_left(void **state)
{
	struct rn_path_peer p = { 0 };
	struct rn_path_observed o = { 0 };
	union rn_path_addr out;
	uint64_t t = 100000, check_at, left_at;

	(void)state;
	working_on(&p, &o, 2, t);
	assert_false(rn_path_peer_busy(&p, t));
	dies(&p, &o, t, &check_at, &left_at, &out);
	assert_int_equal(left_at, t + 5000);
	assert_true(rn_path_addr_equal(&out, &cands[0]));
}

/* Without a relay the quiet path is left for the next candidate. */
static void test_quiet_no_relay(void **state)
{
	struct rn_path_peer p = { 0 };
	struct rn_path_observed o = { 0 };
	union rn_path_addr out;
	uint64_t t = 100000, check_at, left_at;

	(void)state;
	working_on(&p, &o, 0, t);
	assert_false(rn_path_peer_set_candidates(&p, cands, 2, 2, &o, t, &out));
	dies(&p, &o, t, &check_at, &left_at, &out);
	assert_int_equal(left_at, t + 5000);
	assert_true(rn_path_addr_equal(&out, &cands[1]));
}

/* The check's initiation was held back (one went within REKEY_TIMEOUT): asked again at the
 * next tick, and its answer awaited from then. */
static void test_check_held_back(void **state)
{
	struct rn_path_peer p = { 0 };
	struct rn_path_observed o = { 0 };
	union rn_path_addr out;
	uint64_t t = 100000;

	(void)state;
	working_on(&p, &o, 0, t);
	o.data_sent_age_ms = 10;
	for (uint64_t now = t + 1000; now <= t + 3000; now += 1000) {
		o.rx_age_ms = now - (t - 100);
		rn_path_peer_tick(&p, &o, now, &out);
	}
	assert_int_equal(p.check_ms, t + 3000);
	for (uint64_t now = t + 4000; now <= t + 6000; now += 1000) {
		rn_path_peer_check_held(&p);
		o.rx_age_ms = now - (t - 100);
		assert_int_equal(rn_path_peer_tick(&p, &o, now, &out), RN_PATH_INITIATE);
	}
	o.rx_age_ms = 7000 + 100;
	assert_int_equal(rn_path_peer_tick(&p, &o, t + 7000, &out), 0);
	o.rx_age_ms = 8000 + 100;
	assert_int_equal(rn_path_peer_tick(&p, &o, t + 8000, &out),
			 RN_PATH_GIVE | RN_PATH_INITIATE);
}

/*
 * A one-way flow: the receiver only sends a keepalive every 10 s. The first wait is checked
 * and answered (a false alarm, nothing moves); then no check while the keepalives come, until
 * packets come steadily again (a two-way flow): then 2 s is quiet again.
 */
static void test_one_way_flow(void **state)
{
	struct rn_path_peer p = { 0 };
	struct rn_path_observed o = { 0 };
	union rn_path_addr out;
	uint64_t t = 100000, last_rx;
	unsigned int checks = 0;

	(void)state;
	working_on(&p, &o, 0, t);
	last_rx = t - o.rx_age_ms;
	for (uint64_t now = t + 1000; now < t + 60000; now += 1000) {
		unsigned int act;

		o.data_sent_age_ms = 5;
		if (p.check_ms && now - p.check_ms == 1000)
			last_rx = now - 900; /* the check's answer */
		else if ((now - t) % 10000 == 0)
			last_rx = now - 300; /* the receiver's keepalive */
		o.rx_age_ms = now - last_rx;
		act = rn_path_peer_tick(&p, &o, now, &out);
		assert_false(act & RN_PATH_GIVE);
		checks += !!(act & RN_PATH_INITIATE);
	}
	assert_int_equal(checks, 1);
	assert_int_equal(p.quiet_ms, RN_PATH_QUIET_ONEWAY_MS);
	assert_true(p.working);
	assert_int_equal(p.cur, 0);
	/* Replies every second: a two-way flow, the short threshold again. */
	t += 60000;
	for (uint64_t now = t; now < t + 3000; now += 1000) {
		o.rx_age_ms = 200;
		assert_int_equal(rn_path_peer_tick(&p, &o, now, &out), 0);
	}
	assert_int_equal(p.quiet_ms, RN_PATH_QUIET_MS);
	for (uint64_t now = t + 3000; now <= t + 6000; now += 1000) {
		o.rx_age_ms = now - (t + 2000 - 200);
		if (rn_path_peer_tick(&p, &o, now, &out) == RN_PATH_INITIATE)
			break;
		assert_true(now < t + 6000);
	}
}

/*
 * No check when nothing is sent (an idle peer), nor when what we sent answered the peer's
 * packet (the peer pings us every 5 s: our replies expect nothing back).
 */
static void test_idle_never_checked(void **state)
{
	struct rn_path_peer p = { 0 };
	struct rn_path_observed o = { 0 };
	union rn_path_addr out;
	uint64_t t = 100000;

	(void)state;
	working_on(&p, &o, 0, t);
	for (uint64_t s = 1; s < 120; s++) {
		o.rx_age_ms = s * 1000 + 100;	     /* its persistent keepalive long ago */
		o.data_sent_age_ms = s * 1000 + 150; /* and our last data before it */
		assert_int_equal(rn_path_peer_tick(&p, &o, t + s * 1000, &out), 0);
	}
	t += 120000;
	for (uint64_t s = 0; s < 60; s++) {
		o.rx_age_ms = (s % 5) * 1000 + 300;	   /* its ping */
		o.data_sent_age_ms = (s % 5) * 1000 + 299; /* our reply */
		assert_int_equal(rn_path_peer_tick(&p, &o, t + s * 1000, &out), 0);
	}
	assert_int_equal(p.check_ms, 0);
}

/*
 * Probe rounds: while relayed, fast (every RN_PATH_PROBE_FAST_MS) for a minute after the path
 * changed, then every RN_PATH_PROBE_SLOW_MS; a change of network makes them fast again and
 * asks for one at once.
 */
static void test_probe_schedule(void **state)
{
	struct rn_path_peer p = { 0 };
	struct rn_path_observed o = { 0 };
	uint64_t t = 100000, s, rounds = 0;

	(void)state;
	working_on(&p, &o, 2, t);
	p.changed_at_ms = t;
	assert_true(rn_path_peer_probing(&p, &o));
	for (s = t; s < t + RN_PATH_PROBE_FAST_FOR_MS; s += 1000)
		rounds += rn_path_peer_probe_due(&p, &o, s);
	/* at once (new candidates), then at each FAST_MS: 1 + 59 / 6 */
	assert_int_equal(rounds, 1 + (RN_PATH_PROBE_FAST_FOR_MS - 1000) / 6000);
	rounds = 0;
	for (; s < t + RN_PATH_PROBE_FAST_FOR_MS + 300000; s += 1000)
		rounds += rn_path_peer_probe_due(&p, &o, s);
	assert_true(rounds >= 9 && rounds <= 11); /* 300 s at SLOW_MS */
	/* A round held back (the peer's probe was answered just before): due at the next tick. */
	s += RN_PATH_PROBE_SLOW_MS;
	assert_true(rn_path_peer_probe_due(&p, &o, s));
	rn_path_peer_probe_held(&p, s);
	assert_true(rn_path_peer_probe_due(&p, &o, s + 1000));
	assert_false(rn_path_peer_probe_due(&p, &o, s + 2000));
	s += 60000;
	/* A new network: a round now, fast again. */
	rn_path_peer_network_changed(&p, s);
	assert_true(rn_path_peer_probe_due(&p, &o, s));
	assert_false(rn_path_peer_probe_due(&p, &o, s + 1000));
	assert_true(rn_path_peer_probe_due(&p, &o, s + 6000));
}

/* A working direct path is not probed, except once after new candidates or a new network (a
 * better direct one may have come): the answer that comes first (the lowest round trip)
 * roams the endpoint, and the chooser takes it. */
static void test_recheck_lowest_rtt(void **state)
{
	struct rn_path_peer p = { 0 };
	struct rn_path_observed o = { 0 };
	union rn_path_addr out;
	uint64_t t = 100000;

	(void)state;
	working_on(&p, &o, 1, t);
	assert_true(rn_path_peer_probe_due(&p, &o, t)); /* the first map's round */
	assert_false(rn_path_peer_probing(&p, &o));
	assert_false(rn_path_peer_probe_due(&p, &o, t + 60000));
	/* The same map again: nothing to re-check. */
	assert_false(rn_path_peer_set_candidates(&p, cands, 3, 2, &o, t + 61000, &out));
	assert_false(rn_path_peer_probing(&p, &o));
	/* The host's addresses changed: one round, at once, then none. Held back (the handshake
	 * that held it may have gone to the endpoint in use alone: a new pair's first), it goes
	 * again once the data plane lets it, RN_PATH_PROBE_FAST_MS later, not at every tick (that
	 * would hold back a liveness check), and once it went, no more. */
	rn_path_peer_network_changed(&p, t + 62000);
	assert_true(rn_path_peer_probing(&p, &o));
	assert_true(rn_path_peer_probe_due(&p, &o, t + 62000));
	rn_path_peer_probe_held(&p, t + 62000);
	assert_true(rn_path_peer_probing(&p, &o));
	assert_false(rn_path_peer_probe_due(&p, &o, t + 62250));
	assert_false(rn_path_peer_probe_due(&p, &o, t + 62000 + RN_PATH_PROBE_FAST_MS - 1));
	assert_true(rn_path_peer_probe_due(&p, &o, t + 62000 + RN_PATH_PROBE_FAST_MS));
	assert_false(rn_path_peer_probing(&p, &o));
	assert_false(rn_path_peer_probe_due(&p, &o, t + 62000 + RN_PATH_PROBE_FAST_MS + 250));
	/* The host candidate answered first: roaming moved the endpoint, the chooser follows. */
	o.endpoint = cands[0];
	o.handshake_age_ms = 0;
	assert_int_equal(rn_path_peer_tick(&p, &o, t + 63000, &out), 0);
	assert_int_equal(p.cur, 0);
	assert_true(p.working);
	assert_int_equal(p.changed_at_ms, t + 63000);
	/* A map with other candidates asks for a round too. */
	assert_false(rn_path_peer_set_candidates(&p, cands, 2, 2, &o, t + 64000, &out));
	assert_true(rn_path_peer_probe_due(&p, &o, t + 64000));
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
		cmocka_unit_test_setup(test_quiet_path_left_for_relay, setup),
		cmocka_unit_test_setup(test_quiet_relay_left, setup),
		cmocka_unit_test_setup(test_one_way_flow, setup),
		cmocka_unit_test_setup(test_idle_never_checked, setup),
		cmocka_unit_test_setup(test_probe_schedule, setup),
		cmocka_unit_test_setup(test_recheck_lowest_rtt, setup),
		cmocka_unit_test_setup(test_quiet_no_relay, setup),
		cmocka_unit_test_setup(test_check_held_back, setup),
		cmocka_unit_test(test_addr_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
