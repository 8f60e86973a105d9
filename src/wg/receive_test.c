/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the receive path (receive.c), driven through the functions its threads call:
 * rn_receive_udp_once (the UDP reader's receive, sort and inline decrypt-and-deliver) and
 * rn_receive_handshake_once (the handshake worker), on a thread-less device (test_device.h)
 * whose TUN is a socketpair the test reads. The remote side is a peer worked by hand. Each
 * check that something is dropped is preceded, on the same device and path, by one showing the
 * same kind of message delivered.
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

	rn_testclock_freeze(false); /* after a failed check too */
	rn_testpair_close(f);
	free(f);
	return 0;
}

/* One packet the device wrote to TUN within wait_ms, or -1. */
static ssize_t tun_read(struct rn_testpair *f, uint8_t *buf, size_t size, int wait_ms)
{
	struct pollfd pfd = { .fd = f->tun, .events = POLLIN };

	if (poll(&pfd, 1, wait_ms) <= 0)
		return -1;
	return recv(f->tun, buf, size, 0);
}

/* Seals a ping from src to 100.64.0.1 as message counter and lets the device receive it. */
static void send_ping(struct rn_testpair *f, const char *src, uint64_t counter)
{
	uint8_t ping[28], msg[128];
	size_t len = rn_test_ping4(ping, src, "100.64.0.1");

	rn_testpeer_send(&f->p, msg, rn_testpeer_data(&f->p, counter, ping, len, msg, sizeof(msg)));
	rn_testdev_pump(f->dev);
}

/* Whether the ping from src reached TUN intact. */
static bool ping_delivered(struct rn_testpair *f, const char *src, int wait_ms)
{
	uint8_t ping[28], got[2048];
	size_t len = rn_test_ping4(ping, src, "100.64.0.1");
	ssize_t n = tun_read(f, got, sizeof(got), wait_ms);

	return n == (ssize_t)len && !memcmp(got, ping, len);
}

static void handshake(struct rn_testpair *f)
{
	assert_true(rn_testpeer_handshake(&f->p, f->dev));
	assert_non_null(f->peer->keypairs.next); /* the responder waits for confirmation */
	assert_null(f->peer->keypairs.current);
}

/* A handshake, then data from an allowed source: decrypted to TUN, and the session confirmed. */
static void test_handshake_then_data(void **state)
{
	struct rn_testpair *f = *state;
	uint8_t buf[256];
	ssize_t n;

	handshake(f);
	send_ping(f, "100.64.0.2", 0);
	assert_true(ping_delivered(f, "100.64.0.2", 1000));
	assert_non_null(f->peer->keypairs.current);
	assert_int_equal(f->peer->keypairs.current->local_index, f->p.kp->remote_index);
	assert_null(f->peer->keypairs.next);
	/* Confirming the session sends a keepalive at once (nothing was staged). */
	n = rn_testpeer_recv(&f->p, buf, sizeof(buf), 1000);
	assert_true(n > 0);
	assert_int_equal(rn_testpeer_open(&f->p, buf, (size_t)n), 0);
}

/* Crypto-key routing: an inner source outside the peer's allowed IPs is dropped. */
static void test_source_outside_allowed_ips_dropped(void **state)
{
	struct rn_testpair *f = *state;

	handshake(f);
	send_ping(f, "100.64.0.2", 0);
	assert_true(ping_delivered(f, "100.64.0.2", 1000));
	send_ping(f, "100.64.0.9", 1);
	assert_false(ping_delivered(f, "100.64.0.9", 200));
	send_ping(f, "100.64.0.2", 2); /* still alive after the drop */
	assert_true(ping_delivered(f, "100.64.0.2", 1000));
}

/* A counter seen before is dropped; an older fresh one inside the window is not. */
static void test_replayed_counter_dropped(void **state)
{
	struct rn_testpair *f = *state;

	handshake(f);
	send_ping(f, "100.64.0.2", 5);
	assert_true(ping_delivered(f, "100.64.0.2", 1000));
	send_ping(f, "100.64.0.2", 5);
	assert_false(ping_delivered(f, "100.64.0.2", 200));
	send_ping(f, "100.64.0.2", 4);
	assert_true(ping_delivered(f, "100.64.0.2", 1000));
}

/* Receives what was sent without handling the handshakes, so the queue can be looked at. */
static void receive_only(struct rn_testpair *f)
{
	while (rn_receive_udp_once(f->dev) > 0)
		;
}

/*
 * Handshake messages are queued only with their type's exact length, and a type with a
 * reserved byte set is no type at all: one byte short or long is dropped before any crypto.
 */
static void test_handshake_lengths_exact(void **state)
{
	static const struct {
		uint32_t type;
		size_t len;
	} types[] = { { RN_MESSAGE_HANDSHAKE_INITIATION, RN_MESSAGE_INITIATION_LEN },
		      { RN_MESSAGE_HANDSHAKE_RESPONSE, RN_MESSAGE_RESPONSE_LEN },
		      { RN_MESSAGE_HANDSHAKE_COOKIE, RN_MESSAGE_COOKIE_LEN } };
	struct rn_testpair *f = *state;
	uint8_t msg[RN_MESSAGE_INITIATION_LEN + 1];
	uint32_t le;

	memset(msg, 0x5a, sizeof(msg));
	for (size_t i = 0; i < 3; i++) {
		le = htole32(types[i].type);
		memcpy(msg, &le, 4);
		rn_testpeer_send(&f->p, msg, types[i].len - 1);
		rn_testpeer_send(&f->p, msg, types[i].len + 1);
		le = htole32(types[i].type | 0x100); /* a reserved byte set */
		memcpy(msg, &le, 4);
		rn_testpeer_send(&f->p, msg, types[i].len);
	}
	receive_only(f);
	assert_int_equal(f->dev->hs_count, 0);
	for (size_t i = 0; i < 3; i++) {
		le = htole32(types[i].type);
		memcpy(msg, &le, 4);
		rn_testpeer_send(&f->p, msg, types[i].len);
	}
	receive_only(f);
	assert_int_equal(f->dev->hs_count, 3);
	for (unsigned int i = 0; i < 3; i++) {
		const struct rn_handshake_job *job = &f->dev->hs_queue[f->dev->hs_head + i];

		assert_int_equal(job->len, types[i].len);
		assert_int_equal(job->data[0], types[i].type);
	}
	/* None of them has a valid mac1: handled, dropped, nothing sent back. */
	while (rn_receive_handshake_once(f->dev))
		;
	assert_int_equal(rn_testpeer_recv(&f->p, msg, sizeof(msg), 100), -1);
}

/* Data messages: too short for a tag, truncated or extended by one byte: never delivered. */
static void test_data_lengths(void **state)
{
	struct rn_testpair *f = *state;
	uint8_t ping[28], msg[128];
	size_t len;

	handshake(f);
	len = rn_testpeer_data(&f->p, 0, ping, rn_test_ping4(ping, "100.64.0.2", "100.64.0.1"), msg,
			       sizeof(msg));
	/* The header alone, and the header and half a tag, under the live session's index. */
	rn_testpeer_send(&f->p, msg, 8);
	rn_testpeer_send(&f->p, msg, RN_MESSAGE_DATA_HEADER_LEN);
	rn_testpeer_send(&f->p, msg, RN_MESSAGE_DATA_MIN_LEN - 1);
	rn_testpeer_send(&f->p, msg, len - 1);
	msg[len] = 0;
	rn_testpeer_send(&f->p, msg, len + 1);
	rn_testdev_pump(f->dev);
	assert_int_equal(tun_read(f, ping, sizeof(ping), 200), -1);
	assert_null(f->peer->keypairs.current); /* nothing authenticated: not confirmed */
	rn_testpeer_send(&f->p, msg, len);	/* the same message whole: delivered */
	rn_testdev_pump(f->dev);
	assert_true(ping_delivered(f, "100.64.0.2", 1000));
}

/* Counts the WireGuard message types p received, draining its socket. */
static void count_types(struct rn_testpeer *p, unsigned int counts[5])
{
	uint8_t buf[256];
	ssize_t n;

	while ((n = rn_testpeer_recv(p, buf, sizeof(buf), 0)) >= 4)
		counts[buf[0] < 5 ? buf[0] : 0]++;
}

/*
 * Whitepaper 5.3, the real trigger: a handshake queue of RN_UNDER_LOAD_QUEUE_LEN or more
 * puts the device under load (not the test hook, which is off), so initiations with a valid
 * mac1 but no cookie get cookie replies instead of responses; a real peer then completes its
 * handshake with the cookie. Before the flood the same peer gets a response: the trigger is
 * the queue's length.
 */
static void test_under_load_from_queue_length(void **state)
{
	struct rn_testpair *f = *state;
	struct rn_message_handshake_initiation flood, init;
	struct rn_message_handshake_response resp;
	struct rn_message_handshake_cookie cookie;
	unsigned int counts[5] = { 0 }, queued = 0, handled = 0;
	struct rn_testpeer flooder;
	uint64_t now;

	assert_false(f->dev->force_under_load);
	handshake(f); /* a short queue: answered with a response */
	rn_testpeer_flush(&f->p);
	rn_testclock_advance(2 * RN_NS_PER_S);
	/* Under load lasts a second after the queue shrinks: however slow this build, not less. */
	rn_testclock_freeze(true);

	/* The flooder knows our public key (so mac1 is valid) but is no peer of ours. */
	rn_testpeer_init(&flooder, f->dev->identity.static_public, f->dev->udp.port);
	rn_testpeer_initiation(&flooder, 7, &flood, rn_now_ns());
	while (f->dev->hs_count < RN_UNDER_LOAD_QUEUE_LEN + 64 &&
	       queued < 4 * RN_HANDSHAKE_QUEUE_LEN) {
		for (int i = 0; i < 16; i++, queued++)
			rn_testpeer_send(&flooder, &flood, sizeof(flood));
		receive_only(f);
	}
	assert_true(f->dev->hs_count >= RN_UNDER_LOAD_QUEUE_LEN);
	/* The real peer's initiation, behind the flood, without a cookie. */
	now = rn_now_ns();
	rn_testpeer_initiation(&f->p, 99, &init, now);
	rn_testpeer_send(&f->p, &init, sizeof(init));
	receive_only(f);
	while (rn_receive_handshake_once(f->dev))
		if (++handled % 32 == 0)
			count_types(&flooder, counts);
	count_types(&flooder, counts);
	assert_true(counts[RN_MESSAGE_HANDSHAKE_COOKIE] >= RN_UNDER_LOAD_QUEUE_LEN);
	assert_int_equal(counts[RN_MESSAGE_HANDSHAKE_RESPONSE], 0);

	/* The real peer got a cookie reply, not a response; with the cookie it gets through. */
	assert_int_equal(rn_testpeer_recv(&f->p, &cookie, sizeof(cookie), 1000), sizeof(cookie));
	assert_int_equal(le32toh(cookie.header.type), RN_MESSAGE_HANDSHAKE_COOKIE);
	assert_int_equal(le32toh(cookie.receiver_index), 99);
	assert_true(rn_cookie_reply_consume(&f->p.cookie, &cookie, now));
	rn_testpeer_initiation(&f->p, 100, &init, rn_now_ns());
	rn_testpeer_send(&f->p, &init, sizeof(init));
	rn_testdev_pump(f->dev);
	assert_int_equal(rn_testpeer_recv(&f->p, &resp, sizeof(resp), 1000), sizeof(resp));
	assert_int_equal(le32toh(resp.header.type), RN_MESSAGE_HANDSHAKE_RESPONSE);
	assert_int_equal(le32toh(resp.receiver_index), 100);
	assert_true(rn_noise_consume_response(&f->p.hs, &f->p.id, &resp));
	rn_testclock_freeze(false);
	rn_testpeer_free(&flooder);
}

/*
 * A cookie reply to our own initiation is taken (the peer is under load), and the next
 * initiation carries a mac2 the peer's checker accepts.
 */
static void test_cookie_reply_consumed(void **state)
{
	struct rn_testpair *f = *state;
	struct rn_message_handshake_initiation init;
	struct rn_message_handshake_cookie reply;
	struct sockaddr_in dev_addr = { .sin_family = AF_INET,
					.sin_port = htons(f->dev->udp.port),
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct rn_cookie_checker checker;
	uint64_t now = rn_now_ns();

	rn_cookie_checker_init(&checker);
	rn_cookie_checker_set_key(&checker, f->p.pub);
	rn_send_handshake_initiation(f->peer, false);
	assert_int_equal(rn_testpeer_recv(&f->p, &init, sizeof(init), 1000), sizeof(init));
	assert_int_equal(rn_cookie_validate(&checker, &init, sizeof(init),
					    (struct sockaddr *)&dev_addr, true, now),
			 RN_COOKIE_VALID_MAC_BUT_NO_COOKIE);
	rn_cookie_reply_create(&checker, &reply, &init, sizeof(init), le32toh(init.sender_index),
			       (struct sockaddr *)&dev_addr, now);
	rn_testpeer_send(&f->p, &reply, sizeof(reply));
	rn_testdev_pump(f->dev);
	assert_true(f->peer->cookie.birthdate_ns != 0);
	/* The retry (REKEY_TIMEOUT later) proves it owns its address. */
	rn_testclock_advance((RN_REKEY_TIMEOUT_S + 1) * RN_NS_PER_S);
	rn_send_handshake_initiation(f->peer, true);
	assert_int_equal(rn_testpeer_recv(&f->p, &init, sizeof(init), 1000), sizeof(init));
	assert_int_equal(rn_cookie_validate(&checker, &init, sizeof(init),
					    (struct sockaddr *)&dev_addr, true, rn_now_ns()),
			 RN_COOKIE_VALID_MAC_WITH_COOKIE);
	rn_cookie_checker_destroy(&checker);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handshake_then_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_source_outside_allowed_ips_dropped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_replayed_counter_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handshake_lengths_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_lengths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_under_load_from_queue_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cookie_reply_consumed, setup, teardown),
	};

	if (rn_crypto_init())
		return 1;
	rn_clock_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
