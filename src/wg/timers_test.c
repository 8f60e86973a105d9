/* SPDX-License-Identifier: MIT */
/*
 * The protocol's limits in time and count (whitepaper 6.1-6.5), on a thread-less device
 * (test_device.h) with a fake clock (test_clock.h) or explicit timer ticks, so minutes of
 * protocol time take milliseconds: REJECT_AFTER_MESSAGES and REJECT_AFTER_TIME on both
 * directions, every key dropped after 3 x REJECT_AFTER_TIME, giving up a handshake after
 * REKEY_ATTEMPT_TIME, and the persistent keepalive's interval. Each limit is checked just
 * before it (the session still works) and just after (it does not).
 */
#include <arpa/inet.h>
#include <endian.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "wg/clock.h"
#include "wg/crypto.h"
#include "wg/test_clock.h"
#include "wg/test_device.h"

static int setup(void **state)
{
	struct rn_testpair *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	rn_testpair_open(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct rn_testpair *f = *state;

	rn_testpair_close(f);
	free(f);
	return 0;
}

/* Sends a ping from the peer as message counter; whether the device wrote it to TUN. */
static bool ping_through(struct rn_testpair *f, uint64_t counter, int wait_ms)
{
	struct pollfd pfd = { .fd = f->tun, .events = POLLIN };
	uint8_t ping[28], msg[128], got[256];
	size_t len = rn_test_ping4(ping, "100.64.0.2", "100.64.0.1");

	rn_testpeer_send(&f->p, msg, rn_testpeer_data(&f->p, counter, ping, len, msg, sizeof(msg)));
	rn_testdev_pump(f->dev);
	return poll(&pfd, 1, wait_ms) > 0 && recv(f->tun, got, sizeof(got), 0) == (ssize_t)len &&
	       !memcmp(got, ping, len);
}

/* A confirmed session, the device responding: the handshake, then a first ping. */
static void session(struct rn_testpair *f)
{
	assert_true(rn_testpeer_handshake(&f->p, f->dev));
	assert_true(ping_through(f, 0, 1000));
	assert_non_null(f->peer->keypairs.current);
	rn_testpeer_flush(&f->p);
}

/* What the peer received within wait_ms: data messages that open, and initiations. */
struct seen {
	unsigned int data, initiations;
	uint64_t last_counter;
};

static struct seen seen_by_peer(struct rn_testpair *f, int wait_ms)
{
	struct seen s = { 0 };
	uint8_t buf[2048];
	ssize_t n;

	while ((n = rn_testpeer_recv(&f->p, buf, sizeof(buf),
				     s.data + s.initiations ? 0 : wait_ms)) >= 4) {
		if (buf[0] == RN_MESSAGE_HANDSHAKE_INITIATION) {
			s.initiations++;
		} else if (rn_testpeer_open(&f->p, buf, (size_t)n) >= 0) {
			s.data++;
			s.last_counter = le64toh(((struct rn_message_data *)buf)->counter);
		}
	}
	return s;
}

static void tick(struct rn_wg_device *dev, uint64_t now)
{
	pthread_rwlock_rdlock(&dev->cfg_lock);
	rn_timers_tick(dev, now);
	pthread_rwlock_unlock(&dev->cfg_lock);
}

/*
 * REJECT_AFTER_MESSAGES: a counter at the limit is refused on receive (one below passes), and
 * a session whose send counter reached it sends nothing more: it is no sending session at all.
 */
static void test_reject_after_messages(void **state)
{
	struct rn_testpair *f = *state;
	struct rn_noise_keypair *kp;
	struct seen s;

	session(f);
	assert_true(ping_through(f, RN_REJECT_AFTER_MESSAGES - 1, 1000));
	assert_false(ping_through(f, RN_REJECT_AFTER_MESSAGES, 200));

	rn_testclock_advance((RN_REKEY_TIMEOUT_S + 1) * RN_NS_PER_S);
	kp = f->peer->keypairs.current;
	kp->send_counter = RN_REJECT_AFTER_MESSAGES - 1;
	pthread_mutex_lock(&f->peer->lock);
	rn_send_keepalive_locked(f->peer, rn_now_ns()); /* the last message the session may send */
	pthread_mutex_unlock(&f->peer->lock);
	s = seen_by_peer(f, 1000);
	assert_int_equal(s.data, 1);
	assert_true(s.last_counter == RN_REJECT_AFTER_MESSAGES - 1);
	assert_null(rn_peer_sending_keypair(f->peer, rn_now_ns()));
	pthread_mutex_lock(&f->peer->lock);
	rn_send_keepalive_locked(f->peer, rn_now_ns());
	pthread_mutex_unlock(&f->peer->lock);
	s = seen_by_peer(f, 200);
	assert_int_equal(s.data, 0);
}

/* REJECT_AFTER_TIME (180 s): a session is used until just before it, in neither way after. */
static void test_reject_after_time(void **state)
{
	struct rn_testpair *f = *state;
	struct rn_noise_keypair *kp;
	uint64_t born;

	session(f);
	born = f->peer->keypairs.current->birthdate_ns;
	rn_testclock_advance(born + (RN_REJECT_AFTER_TIME_S - 2) * RN_NS_PER_S - rn_now_ns());
	assert_true(ping_through(f, 1, 1000));
	kp = rn_peer_sending_keypair(f->peer, rn_now_ns());
	assert_non_null(kp);
	rn_noise_keypair_put(kp);
	rn_testclock_advance(3 * RN_NS_PER_S);
	assert_true(rn_now_ns() - born > RN_REJECT_AFTER_TIME_S * RN_NS_PER_S);
	assert_false(ping_through(f, 2, 200));
	assert_null(rn_peer_sending_keypair(f->peer, rn_now_ns()));
}

/* 3 x REJECT_AFTER_TIME (540 s) without a new session: every key and the handshake dropped. */
static void test_keys_zeroed_after_540s(void **state)
{
	struct rn_testpair *f = *state;
	struct rn_wg_peer *owner;
	struct rn_noise_keypair *kp;
	uint64_t born;
	uint32_t index;

	session(f);
	born = f->peer->keypairs.current->birthdate_ns;
	index = f->peer->keypairs.current->local_index;
	tick(f->dev, born + (RN_ZERO_KEYS_AFTER_S - 1) * RN_NS_PER_S);
	assert_non_null(f->peer->keypairs.current);
	assert_true(rn_index_lookup(&f->dev->index, index, RN_INDEX_KEYPAIR, &owner, &kp));
	rn_noise_keypair_put(kp);
	tick(f->dev, born + (RN_ZERO_KEYS_AFTER_S + 1) * RN_NS_PER_S);
	assert_null(f->peer->keypairs.current);
	assert_null(f->peer->keypairs.previous);
	assert_null(f->peer->keypairs.next);
	assert_int_equal(f->peer->handshake.state, RN_HANDSHAKE_ZEROED);
	assert_int_equal(f->peer->handshake.local_index, 0);
	assert_false(rn_index_lookup(&f->dev->index, index, RN_INDEX_KEYPAIR, &owner, &kp));
}

/*
 * REKEY_ATTEMPT_TIME (90 s): an unanswered handshake is retried every REKEY_TIMEOUT for 90 s,
 * then given up: no more initiations, staged packets dropped, keys zeroed later.
 */
static void test_gives_up_after_rekey_attempt_time(void **state)
{
	struct rn_testpair *f = *state;
	unsigned int initiations = 0;
	uint64_t t0 = rn_now_ns(), last = 0;
	uint8_t ping[28];

	pthread_mutex_lock(&f->peer->lock);
	rn_peer_stage_packet(f->peer, ping, rn_test_ping4(ping, "100.64.0.1", "100.64.0.2"));
	rn_send_handshake_initiation_locked(f->peer, false, t0);
	pthread_mutex_unlock(&f->peer->lock);
	for (uint64_t t = t0; t <= t0 + 150 * RN_NS_PER_S; t += 100 * RN_NS_PER_MS) {
		struct seen s;

		tick(f->dev, t);
		s = seen_by_peer(f, 0);
		if (s.initiations)
			last = t;
		initiations += s.initiations;
		if (t - t0 < (RN_REKEY_ATTEMPT_TIME_S - RN_REKEY_TIMEOUT_S) * RN_NS_PER_S)
			assert_int_equal(f->peer->staged_count, 1); /* still trying */
	}
	/* The first and one retry per REKEY_TIMEOUT until attempts pass MAX_TIMER_HANDSHAKES. */
	assert_int_equal(initiations, RN_MAX_TIMER_HANDSHAKES + 2);
	assert_true(last - t0 >= RN_REKEY_ATTEMPT_TIME_S * RN_NS_PER_S);
	/* each retry may come a jitter and a 100 ms tick late: ~4 s on average over the 19 */
	assert_true(last - t0 < (RN_REKEY_ATTEMPT_TIME_S + 2 * RN_REKEY_TIMEOUT_S) * RN_NS_PER_S +
				    (RN_MAX_TIMER_HANDSHAKES + 2) *
					(RN_REKEY_TIMEOUT_JITTER_MAX_MS + 100) * RN_NS_PER_MS);
	assert_int_equal(f->peer->staged_count, 0);
	assert_int_equal(f->peer->timer_retransmit_handshake, 0);
	assert_true(f->peer->timer_zero_key_material != 0);
}

static void set_keepalive(struct rn_testpair *f, uint16_t seconds)
{
	struct rn_wg_peer_config pc = { .flags = RN_WG_PEER_HAS_KEEPALIVE | RN_WG_PEER_UPDATE_ONLY,
					.persistent_keepalive = seconds };

	memcpy(pc.public_key, f->p.pub, 32);
	assert_int_equal(rn_wg_device_set_peer(f->dev, &pc), 0);
}

/* Persistent keepalive: one at once when turned on, then one per interval of silence. */
static void test_persistent_keepalive(void **state)
{
	struct rn_testpair *f = *state;
	uint64_t t1;
	struct seen s;

	session(f);
	set_keepalive(f, 25);
	t1 = rn_now_ns();
	s = seen_by_peer(f, 1000);
	assert_int_equal(s.data, 1);
	tick(f->dev, t1 + 24 * RN_NS_PER_S);
	assert_int_equal(seen_by_peer(f, 100).data, 0);
	tick(f->dev, t1 + 26 * RN_NS_PER_S);
	assert_int_equal(seen_by_peer(f, 1000).data, 1);
	tick(f->dev, t1 + 50 * RN_NS_PER_S);
	assert_int_equal(seen_by_peer(f, 100).data, 0);
	tick(f->dev, t1 + 52 * RN_NS_PER_S);
	assert_int_equal(seen_by_peer(f, 1000).data, 1);
	/* Off again: silence however long. */
	set_keepalive(f, 0);
	tick(f->dev, t1 + 100 * RN_NS_PER_S);
	assert_int_equal(seen_by_peer(f, 100).data, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reject_after_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_after_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keys_zeroed_after_540s, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gives_up_after_rekey_attempt_time, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_persistent_keepalive, setup, teardown),
	};

	if (rn_crypto_init())
		return 1;
	rn_clock_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
