/* SPDX-License-Identifier: MIT */
/*
 * Handshakes between two thread-less devices (test_device.h) on loopback, each the other's
 * peer, with the protocol clock frozen (test_clock.h) so that no timer can rescue a handshake:
 * what completes here completes on the messages alone, well inside REKEY_TIMEOUT. Crossed
 * initiations (both sides start at the same moment) give a session at once whichever side's
 * key is larger, and the side that keeps its own initiation still answers the other's, so a
 * peer whose answer to it was lost, or one that never heard of the tie-break, is not stranded.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "wg/clock.h"
#include "wg/crypto.h"
#include "wg/test_clock.h"
#include "wg/test_device.h"

/* One side: a device, what it writes to TUN, its side of the other, its mesh address. */
struct side {
	struct rn_wg_device *dev;
	int tun;
	struct rn_wg_peer *peer;
	uint8_t pub[32];
	const char *addr;
};

/* hi has the larger static public key (the tie-break's winner), lo the smaller. */
struct pair {
	struct side hi, lo;
};

static void keypair(uint8_t priv[32], uint8_t pub[32])
{
	rn_x25519_generate(priv);
	assert_true(rn_x25519_public(pub, priv));
}

static int setup(void **state)
{
	struct pair *f = calloc(1, sizeof(*f));
	uint8_t priv_a[32], pub_a[32], priv_b[32], pub_b[32];
	bool a_hi;

	assert_non_null(f);
	keypair(priv_a, pub_a);
	keypair(priv_b, pub_b);
	a_hi = memcmp(pub_a, pub_b, 32) > 0;
	f->hi.dev = rn_testdev_new(a_hi ? priv_a : priv_b, &f->hi.tun);
	f->lo.dev = rn_testdev_new(a_hi ? priv_b : priv_a, &f->lo.tun);
	memcpy(f->hi.pub, a_hi ? pub_a : pub_b, 32);
	memcpy(f->lo.pub, a_hi ? pub_b : pub_a, 32);
	f->hi.addr = "100.64.0.1";
	f->lo.addr = "100.64.0.2";
	f->hi.peer =
	    rn_testdev_add_peer(f->hi.dev, f->lo.pub, f->lo.dev->udp.port, "100.64.0.2/32", 0);
	f->lo.peer =
	    rn_testdev_add_peer(f->lo.dev, f->hi.pub, f->hi.dev->udp.port, "100.64.0.1/32", 0);
	rn_wipe(priv_a, sizeof(priv_a));
	rn_wipe(priv_b, sizeof(priv_b));
	rn_testclock_freeze(true);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct pair *f = *state;

	rn_testclock_freeze(false);
	rn_wg_device_stop(f->hi.dev);
	rn_wg_device_stop(f->lo.dev);
	close(f->hi.tun);
	close(f->lo.tun);
	free(f);
	return 0;
}

/* Lets both devices handle what reached them until neither sends anything more. */
static void pump(struct pair *f)
{
	int rounds = 0;

	while (rn_testdev_pump(f->hi.dev) + rn_testdev_pump(f->lo.dev) > 0)
		assert_true(++rounds < 100);
}

/* s has a packet for the other side: staged, and an initiation sent for it. */
static void wants_to_send(struct side *s, const struct side *to)
{
	uint8_t ping[28];

	pthread_mutex_lock(&s->peer->lock);
	rn_peer_stage_packet(s->peer, ping, rn_test_ping4(ping, s->addr, to->addr));
	rn_send_handshake_initiation_locked(s->peer, false, rn_now_ns());
	pthread_mutex_unlock(&s->peer->lock);
}

/* Whether s wrote from's ping to its TUN. */
static bool got_ping(const struct side *s, const struct side *from)
{
	struct pollfd pfd = { .fd = s->tun, .events = POLLIN };
	uint8_t ping[28], got[256];
	size_t len = rn_test_ping4(ping, from->addr, s->addr);

	return poll(&pfd, 1, 200) > 0 && recv(s->tun, got, sizeof(got), 0) == (ssize_t)len &&
	       !memcmp(got, ping, len);
}

/* One confirmed session both sides send on: each side's current is the other's current. */
static void one_session(const struct pair *f)
{
	const struct rn_noise_keypair *h = f->hi.peer->keypairs.current;
	const struct rn_noise_keypair *l = f->lo.peer->keypairs.current;

	assert_non_null(h);
	assert_non_null(l);
	assert_int_equal(h->local_index, l->remote_index);
	assert_int_equal(h->remote_index, l->local_index);
}

/* A datagram waiting on s's socket is thrown away: lost on the way. */
static void lose(const struct side *s)
{
	uint8_t buf[2048];

	assert_true(recv(s->dev->udp.fd, buf, sizeof(buf), MSG_DONTWAIT) > 0);
}

/* The control: one side initiates alone, the session comes up on the messages alone. */
static void test_one_initiator(void **state)
{
	struct pair *f = *state;

	wants_to_send(&f->lo, &f->hi);
	pump(f);
	assert_true(got_ping(&f->hi, &f->lo));
	one_session(f);
}

/*
 * Crossed: both initiate before either hears the other. Without a tie-break each answers the
 * other and drops its own, so each holds an unconfirmed responder session and neither can send
 * until REKEY_TIMEOUT retries (the frozen clock never gets there). With it, the larger key's
 * initiation completes and both pings go through on one session.
 */
static void crossed(struct pair *f, struct side *first, struct side *second)
{
	wants_to_send(first, second);
	wants_to_send(second, first);
	pump(f);
	assert_true(got_ping(&f->hi, &f->lo));
	assert_true(got_ping(&f->lo, &f->hi));
	one_session(f);
	assert_true(f->hi.peer->keypairs.current->i_am_initiator);
}

static void test_crossed_larger_first(void **state)
{
	struct pair *f = *state;

	crossed(f, &f->hi, &f->lo);
}

static void test_crossed_smaller_first(void **state)
{
	struct pair *f = *state;

	crossed(f, &f->lo, &f->hi);
}

/*
 * The larger key's initiation is lost, then the smaller one's arrives while the larger still
 * waits for an answer: it must still answer (as every WireGuard does), or the smaller side, or
 * a peer that does not know the tie-break, would wait in vain.
 */
static void test_larger_answers_while_its_own_is_pending(void **state)
{
	struct pair *f = *state;

	wants_to_send(&f->hi, &f->lo);
	lose(&f->lo);
	assert_int_equal(f->hi.peer->handshake.state, RN_HANDSHAKE_CREATED_INITIATION);
	wants_to_send(&f->lo, &f->hi);
	pump(f);
	assert_true(got_ping(&f->hi, &f->lo));
	assert_true(got_ping(&f->lo, &f->hi));
	one_session(f);
	assert_true(f->lo.peer->keypairs.current->i_am_initiator);
}

/*
 * The larger side keeps its initiation pending while answering: the smaller side's answer to
 * it, arriving after, still completes it. Both answers arrive here (the smaller side answered
 * before its own initiation was answered), and both sides end up sending on the larger side's.
 */
static void test_kept_initiation_completes_after_answering(void **state)
{
	struct pair *f = *state;
	uint32_t mine;

	wants_to_send(&f->hi, &f->lo);
	mine = f->hi.peer->handshake.local_index;
	wants_to_send(&f->lo, &f->hi);
	/* hi takes lo's initiation first, answers it and still waits on its own */
	assert_true(rn_receive_udp_once(f->hi.dev) > 0);
	assert_true(rn_receive_handshake_once(f->hi.dev));
	assert_int_equal(f->hi.peer->handshake.state, RN_HANDSHAKE_CREATED_INITIATION);
	assert_int_equal(f->hi.peer->handshake.local_index, mine);
	assert_non_null(f->hi.peer->keypairs.next);
	pump(f);
	assert_true(got_ping(&f->hi, &f->lo));
	assert_true(got_ping(&f->lo, &f->hi));
	one_session(f);
	assert_int_equal(f->hi.peer->keypairs.current->local_index, mine);
}

/*
 * rn_wg_device_initiate: a handshake at the owner's word, as after a restart, that completes
 * on the messages alone; refused for an unknown key and for a peer with no endpoint.
 */
static void test_initiate(void **state)
{
	struct pair *f = *state;
	uint8_t unknown[32] = { 1 };

	assert_int_equal(rn_wg_device_initiate(f->lo.dev, unknown), -ENOENT);
	assert_int_equal(rn_wg_device_initiate(f->lo.dev, f->hi.pub), 0);
	pump(f);
	one_session(f);
	assert_true(f->lo.peer->keypairs.current->i_am_initiator);
	rn_testdev_add_peer(f->lo.dev, unknown, 0, NULL, 0); /* known now, with no endpoint */
	assert_int_equal(rn_wg_device_initiate(f->lo.dev, unknown), -EDESTADDRREQ);
}

/* hi forgets every session, as a restarted device would have none. */
static void forget(struct side *s)
{
	pthread_mutex_lock(&s->peer->lock);
	rn_peer_clear_keypairs(s->peer);
	rn_timers_stop(s->peer);
	s->peer->last_sent_handshake_ns = 0;
	pthread_mutex_unlock(&s->peer->lock);
}

/* s sends a ping to the other side on the session it has. */
static void send_ping(struct side *s, const struct side *to)
{
	uint8_t ping[28];

	pthread_mutex_lock(&s->peer->lock);
	rn_peer_stage_packet(s->peer, ping, rn_test_ping4(ping, s->addr, to->addr));
	rn_send_staged_locked(s->peer, rn_now_ns());
	pthread_mutex_unlock(&s->peer->lock);
}

/* Initiations waiting on s's socket, thrown away. */
static unsigned int initiations_to(const struct side *s)
{
	uint8_t buf[2048];
	unsigned int n = 0;
	ssize_t len;

	while ((len = recv(s->dev->udp.fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 0)
		n += len == RN_MESSAGE_INITIATION_LEN && buf[0] == RN_MESSAGE_HANDSHAKE_INITIATION;
	return n;
}

/*
 * hi lost its sessions (a restart) while lo goes on sending on its own: lo's data, for a
 * session hi does not have, makes hi initiate at once, so lo's next ping gets through long
 * before lo's own timer would give up on the old session (the clock is frozen: it never does).
 */
static void test_unknown_session_from_peer_initiates(void **state)
{
	struct pair *f = *state;

	wants_to_send(&f->lo, &f->hi);
	pump(f);
	assert_true(got_ping(&f->hi, &f->lo));
	send_ping(&f->lo, &f->hi);
	pump(f);
	assert_true(got_ping(&f->hi, &f->lo)); /* alive before hi forgets */
	forget(&f->hi);
	rn_testclock_advance(10 * RN_NS_PER_MS);
	send_ping(&f->lo, &f->hi); /* lost: hi has no such session, but asks for a new one */
	pump(f);
	assert_false(got_ping(&f->hi, &f->lo));
	send_ping(&f->lo, &f->hi);
	pump(f);
	assert_true(got_ping(&f->hi, &f->lo));
	one_session(f);
	assert_true(f->hi.peer->keypairs.current->i_am_initiator);
}

/* A data message for no session, sent to hi from the socket given; its index is random. */
static void unknown_data(const struct side *hi, int fd)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(hi->dev->udp.port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint8_t msg[RN_MESSAGE_DATA_MIN_LEN + 28] = { RN_MESSAGE_DATA };

	rn_random(msg + 4, 4);
	assert_int_equal(sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to)),
			 sizeof(msg));
	rn_testdev_pump(hi->dev);
}

/*
 * What a forger gets out of it: nothing from another address than a peer's endpoint; from a
 * peer's endpoint, one initiation to that endpoint per REKEY_TIMEOUT and no retransmission;
 * and nothing while hi has a session to send on.
 */
static void test_unknown_session_abuse(void **state)
{
	struct pair *f = *state;
	struct rn_testpeer stranger;

	rn_testpeer_init(&stranger, f->hi.pub, f->hi.dev->udp.port);
	unknown_data(&f->hi, stranger.fd);
	assert_int_equal(initiations_to(&f->lo), 0);
	assert_int_equal(rn_testpeer_recv(&stranger, (uint8_t[256]){ 0 }, 256, 0), -1);
	rn_testclock_advance(10 * RN_NS_PER_MS);
	unknown_data(&f->hi, f->lo.dev->udp.fd); /* from lo's endpoint: one initiation */
	assert_int_equal(initiations_to(&f->lo), 1);
	assert_int_equal(f->hi.peer->timer_retransmit_handshake, 0);
	rn_testclock_advance(RN_NS_PER_S);
	unknown_data(&f->hi, f->lo.dev->udp.fd);
	assert_int_equal(initiations_to(&f->lo), 0);
	rn_testclock_advance(RN_REKEY_TIMEOUT_S * RN_NS_PER_S);
	unknown_data(&f->hi, f->lo.dev->udp.fd);
	assert_int_equal(initiations_to(&f->lo), 1);
	/* with a session to send on, hi asks for nothing */
	initiations_to(&f->lo);
	rn_testclock_advance(RN_REKEY_TIMEOUT_S * RN_NS_PER_S);
	wants_to_send(&f->lo, &f->hi);
	pump(f);
	one_session(f);
	rn_testclock_advance(RN_REKEY_TIMEOUT_S * RN_NS_PER_S);
	unknown_data(&f->hi, f->lo.dev->udp.fd);
	assert_int_equal(initiations_to(&f->lo), 0);
	assert_int_equal(rn_testpeer_recv(&stranger, (uint8_t[256]){ 0 }, 256, 0), -1);
	rn_testpeer_free(&stranger);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_initiator, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crossed_larger_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crossed_smaller_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_larger_answers_while_its_own_is_pending, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_kept_initiation_completes_after_answering,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_initiate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_session_from_peer_initiates, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unknown_session_abuse, setup, teardown),
	};

	if (rn_crypto_init())
		return 1;
	rn_clock_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
