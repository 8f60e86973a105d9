/* SPDX-License-Identifier: MIT */
/*
 * The device's handshake bookkeeping against the kernel driver's: a responder counts its
 * response as a sent handshake, and a new private key lets a handshake start at once. The
 * devices here have no TUN and no threads: only an identity, peers and a UDP socket on
 * loopback, and the test drives the send path's functions itself.
 */
#include <arpa/inet.h>
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
#include "wg/device_priv.h"
#include "wg/test_device.h"

struct sink {
	int fd;
	uint16_t port;
};

static void sink_open(struct sink *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
}

/* The WireGuard message types that reached the sink within wait_ms, in order, into types. */
static int sink_drain(struct sink *s, uint32_t *types, int max, int wait_ms)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
	uint8_t buf[2048];
	int n = 0;

	while (n < max && poll(&pfd, 1, n ? 0 : wait_ms) > 0) {
		ssize_t r = recv(s->fd, buf, sizeof(buf), 0);

		if (r < 4)
			break;
		types[n++] = buf[0];
	}
	return n;
}

/* A device as rn_wg_device_start makes it, without the TUN interface and the threads. */
static struct rn_wg_device *fake_device(const uint8_t priv[32])
{
	return rn_testdev_new(priv, NULL);
}

/* Adds the peer with public key pub and endpoint 127.0.0.1:port; returns it. */
static struct rn_wg_peer *add_peer(struct rn_wg_device *dev, const uint8_t pub[32], uint16_t port)
{
	return rn_testdev_add_peer(dev, pub, port, NULL, 0);
}

static void keypair_of(uint8_t priv[32], uint8_t pub[32])
{
	rn_x25519_generate(priv);
	assert_true(rn_x25519_public(pub, priv));
}

/*
 * (kernel: wg_packet_send_handshake_response sets last_sent_handshake.) Having just answered
 * the peer's initiation, the responder must not send its own initiation within REKEY_TIMEOUT:
 * it would tear down the session the peer is about to confirm.
 */
static void test_response_counts_as_sent_handshake(void **state)
{
	uint8_t priv_i[32], pub_i[32], priv_r[32], pub_r[32];
	struct rn_message_handshake_initiation msg;
	struct rn_noise_initiation_state st;
	struct rn_noise_identity id_i = { 0 };
	struct rn_noise_handshake hs_i;
	struct rn_wg_device *dev;
	struct rn_wg_peer *peer;
	struct sink initiator;
	uint32_t types[4];
	uint64_t now;

	(void)state;
	keypair_of(priv_i, pub_i);
	keypair_of(priv_r, pub_r);
	sink_open(&initiator);
	dev = fake_device(priv_r);
	peer = add_peer(dev, pub_i, initiator.port);

	/* The initiator's side, by hand: an initiation to R. */
	assert_true(rn_noise_identity_set(&id_i, priv_i));
	rn_noise_handshake_init(&hs_i, &id_i, pub_r, NULL);
	assert_true(rn_noise_create_initiation(&hs_i, &id_i, 0x1234, &msg));
	/* R consumes it and answers, as the handshake worker does. */
	now = rn_now_ns();
	assert_true(rn_noise_open_initiation(&msg, &dev->identity, &st));
	pthread_mutex_lock(&peer->lock);
	assert_true(rn_noise_finish_initiation(&peer->handshake, &st, &msg, now));
	rn_send_handshake_response_locked(peer, now);
	assert_non_null(peer->keypairs.next);
	assert_true(peer->last_sent_handshake_ns == now);
	/* Data to send a second later: no initiation of R's own yet. */
	rn_send_handshake_initiation_locked(peer, false, now + RN_NS_PER_S);
	assert_int_equal(peer->handshake.state, RN_HANDSHAKE_ZEROED);
	pthread_mutex_unlock(&peer->lock);
	assert_int_equal(sink_drain(&initiator, types, 4, 1000), 1);
	assert_int_equal(types[0], RN_MESSAGE_HANDSHAKE_RESPONSE);

	/* Past REKEY_TIMEOUT an initiation goes out again: the guard above was the timer, alive. */
	pthread_mutex_lock(&peer->lock);
	rn_send_handshake_initiation_locked(peer, false,
					    now + (RN_REKEY_TIMEOUT_S + 1) * RN_NS_PER_S);
	assert_int_equal(peer->handshake.state, RN_HANDSHAKE_CREATED_INITIATION);
	pthread_mutex_unlock(&peer->lock);
	assert_int_equal(sink_drain(&initiator, types, 4, 1000), 1);
	assert_int_equal(types[0], RN_MESSAGE_HANDSHAKE_INITIATION);

	rn_noise_handshake_wipe(&hs_i);
	rn_wipe(&id_i, sizeof(id_i));
	rn_wg_device_stop(dev);
	close(initiator.fd);
}

/*
 * (kernel: a new private key expires the sessions and resets last_sent_handshake.) Sessions
 * made with the old key are gone, so a handshake with the new one must start at once, not
 * REKEY_TIMEOUT after the last initiation sent with the old key.
 */
static void test_new_private_key_allows_handshake_at_once(void **state)
{
	uint8_t priv_a[32], pub_a[32], priv_b[32], pub_b[32], priv_a2[32], pub_a2[32];
	struct rn_wg_config cfg = { .flags = RN_WG_DEV_HAS_PRIVATE_KEY };
	struct rn_wg_device *dev;
	struct rn_wg_peer *peer;
	struct sink b;
	uint32_t types[4];

	(void)state;
	keypair_of(priv_a, pub_a);
	keypair_of(priv_b, pub_b);
	keypair_of(priv_a2, pub_a2);
	sink_open(&b);
	dev = fake_device(priv_a);
	peer = add_peer(dev, pub_b, b.port);

	pthread_mutex_lock(&peer->lock);
	rn_send_handshake_initiation_locked(peer, false, rn_now_ns());
	/* A second one at once is held back: the guard is armed. */
	peer->handshake.state = RN_HANDSHAKE_ZEROED;
	rn_send_handshake_initiation_locked(peer, false, rn_now_ns());
	assert_int_equal(peer->handshake.state, RN_HANDSHAKE_ZEROED);
	pthread_mutex_unlock(&peer->lock);
	assert_int_equal(sink_drain(&b, types, 4, 1000), 1);
	assert_int_equal(types[0], RN_MESSAGE_HANDSHAKE_INITIATION);

	memcpy(cfg.private_key, priv_a2, 32);
	assert_int_equal(rn_wg_device_apply(dev, &cfg), 0);
	assert_memory_equal(dev->identity.static_public, pub_a2, 32);
	pthread_mutex_lock(&peer->lock);
	rn_send_handshake_initiation_locked(peer, false, rn_now_ns());
	assert_int_equal(peer->handshake.state, RN_HANDSHAKE_CREATED_INITIATION);
	pthread_mutex_unlock(&peer->lock);
	assert_int_equal(sink_drain(&b, types, 4, 1000), 1);
	assert_int_equal(types[0], RN_MESSAGE_HANDSHAKE_INITIATION);

	rn_wipe(&cfg, sizeof(cfg));
	rn_wg_device_stop(dev);
	close(b.fd);
}

struct foreign_seen {
	int calls;
	size_t len;
	uint8_t buf[RN_WG_FOREIGN_MAX_LEN];
	uint16_t from_port;
};

static void foreign_cb(void *ctx, const void *buf, size_t len, const union rn_wg_endpoint *from)
{
	struct foreign_seen *f = ctx;

	f->calls++;
	f->len = len;
	memcpy(f->buf, buf, len);
	f->from_port = from->sa.sa_family == AF_INET ? ntohs(from->sin.sin_port) : 0;
}

static void sink_send(struct sink *s, uint16_t port, const void *buf, size_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	assert_int_equal(sendto(s->fd, buf, len, 0, (struct sockaddr *)&a, sizeof(a)),
			 (ssize_t)len);
}

/*
 * Whatever is not a WireGuard message (a STUN answer) reaches the owner's handler with its
 * source; WireGuard messages, even malformed ones, and oversized datagrams never do; without
 * a handler they are dropped as before.
 */
static void test_foreign_datagrams_reach_the_handler(void **state)
{
	/* A STUN Binding success header: top bits 0, length 0, the magic cookie, a txid. */
	static const uint8_t stun[20] = { 0x01, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4 };
	uint8_t wg_short[40] = { 1, 0, 0, 0 }; /* an initiation of the wrong length */
	uint8_t wg_data[32] = { 4, 0, 0, 0 };  /* a data message for no session */
	uint8_t big[RN_WG_FOREIGN_MAX_LEN + 1] = { 0x00, 0x01 };
	struct foreign_seen f = { 0 };
	struct rn_wg_device *dev;
	struct sink s;

	(void)state;
	sink_open(&s);
	dev = fake_device(NULL);
	sink_send(&s, dev->udp.port, stun, sizeof(stun)); /* no handler yet: dropped */
	assert_int_equal(rn_testdev_pump(dev), 1);

	rn_wg_device_set_foreign_handler(dev, foreign_cb, &f);
	sink_send(&s, dev->udp.port, stun, sizeof(stun));
	assert_int_equal(rn_testdev_pump(dev), 1);
	assert_int_equal(f.calls, 1);
	assert_int_equal(f.len, sizeof(stun));
	assert_memory_equal(f.buf, stun, sizeof(stun));
	assert_int_equal(f.from_port, s.port);

	sink_send(&s, dev->udp.port, wg_short, sizeof(wg_short));
	sink_send(&s, dev->udp.port, wg_data, sizeof(wg_data));
	sink_send(&s, dev->udp.port, big, sizeof(big));
	assert_int_equal(rn_testdev_pump(dev), 3);
	assert_int_equal(f.calls, 1);

	rn_wg_device_set_foreign_handler(dev, NULL, NULL);
	sink_send(&s, dev->udp.port, stun, sizeof(stun));
	assert_int_equal(rn_testdev_pump(dev), 1);
	assert_int_equal(f.calls, 1);

	rn_wg_device_stop(dev);
	close(s.fd);
}

/* send_raw leaves from the WireGuard socket: the receiver sees the device's port. */
static void test_send_raw_leaves_from_the_wireguard_port(void **state)
{
	static const uint8_t msg[28] = { 0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42 };
	union rn_wg_endpoint to = { .sin = { .sin_family = AF_INET,
					     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) } };
	struct sockaddr_in from;
	socklen_t alen = sizeof(from);
	struct pollfd pfd;
	struct rn_wg_device *dev;
	uint8_t buf[64];
	struct sink s;

	(void)state;
	sink_open(&s);
	dev = fake_device(NULL);
	to.sin.sin_port = htons(s.port);
	assert_int_equal(rn_wg_device_send_raw(dev, &to, msg, sizeof(msg)), 0);
	pfd = (struct pollfd){ .fd = s.fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	assert_int_equal(recvfrom(s.fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &alen),
			 sizeof(msg));
	assert_memory_equal(buf, msg, sizeof(msg));
	assert_int_equal(ntohs(from.sin_port), dev->udp.port);
	to.sa.sa_family = AF_UNSPEC;
	assert_int_equal(rn_wg_device_send_raw(dev, &to, msg, sizeof(msg)), -EDESTADDRREQ);

	rn_wg_device_stop(dev);
	close(s.fd);
}

/* initiate: a handshake toward a known peer at once; an unknown one is -ENOENT. */
static void test_initiate_sends_an_initiation(void **state)
{
	uint8_t priv_a[32], pub_a[32], priv_b[32], pub_b[32];
	struct rn_wg_device *dev;
	struct sink b;
	uint32_t types[4];

	(void)state;
	keypair_of(priv_a, pub_a);
	keypair_of(priv_b, pub_b);
	sink_open(&b);
	dev = fake_device(priv_a);
	assert_int_equal(rn_wg_device_poke(dev, pub_b), -ENOENT);
	assert_int_equal(sink_drain(&b, types, 4, 100), 0);
	add_peer(dev, pub_b, b.port);
	assert_int_equal(rn_wg_device_poke(dev, pub_b), 0);
	assert_int_equal(sink_drain(&b, types, 4, 1000), 1);
	assert_int_equal(types[0], RN_MESSAGE_HANDSHAKE_INITIATION);

	rn_wg_device_stop(dev);
	close(b.fd);
}

/*
 * An endpoint the owner moves the peer to gets its first initiation at once, not REKEY_TIMEOUT
 * after the one on the old path (rustynetd leaves a dead path for the relay 2 s after its
 * check's initiation; the peer must learn the new path from a handshake on it). Setting the
 * same endpoint again changes nothing.
 */
static void test_moved_endpoint_initiates_at_once(void **state)
{
	uint8_t priv_a[32], pub_a[32], priv_b[32], pub_b[32];
	struct rn_wg_device *dev;
	union rn_wg_endpoint ep = { .sin.sin_family = AF_INET };
	struct sink b1, b2;
	uint32_t types[4];

	(void)state;
	keypair_of(priv_a, pub_a);
	keypair_of(priv_b, pub_b);
	sink_open(&b1);
	sink_open(&b2);
	dev = fake_device(priv_a);
	add_peer(dev, pub_b, b1.port);
	assert_int_equal(rn_wg_device_initiate(dev, pub_b), 0);
	assert_int_equal(sink_drain(&b1, types, 4, 1000), 1);
	assert_int_equal(rn_wg_device_initiate(dev, pub_b), -EALREADY); /* held back */
	assert_int_equal(sink_drain(&b1, types, 4, 100), 0);
	ep.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ep.sin.sin_port = htons(b2.port);
	assert_int_equal(rn_wg_device_update_endpoint(dev, pub_b, &ep), 0);
	assert_int_equal(rn_wg_device_initiate(dev, pub_b), 0);
	assert_int_equal(sink_drain(&b2, types, 4, 1000), 1);
	assert_int_equal(types[0], RN_MESSAGE_HANDSHAKE_INITIATION);
	assert_int_equal(rn_wg_device_update_endpoint(dev, pub_b, &ep), 0);
	assert_int_equal(rn_wg_device_initiate(dev, pub_b), -EALREADY);
	assert_int_equal(sink_drain(&b2, types, 4, 100), 0);

	rn_wg_device_stop(dev);
	close(b1.fd);
	close(b2.fd);
}

/* The snapshot's ages of the peer's last packet and of our last data: never, then in ms. */
static void test_snapshot_ages(void **state)
{
	uint8_t priv_a[32], pub_a[32], priv_b[32], pub_b[32];
	struct rn_wg_config cfg = { 0 };
	struct rn_wg_device *dev;
	struct rn_wg_peer *peer;
	uint64_t now;

	(void)state;
	keypair_of(priv_a, pub_a);
	keypair_of(priv_b, pub_b);
	dev = fake_device(priv_a);
	peer = add_peer(dev, pub_b, 9);
	assert_int_equal(rn_wg_device_snapshot(dev, &cfg), 0);
	assert_int_equal(cfg.n_peers, 1);
	assert_true(cfg.peers[0].rx_age_ms == UINT64_MAX);
	assert_true(cfg.peers[0].data_sent_age_ms == UINT64_MAX);
	rn_wg_config_free(&cfg);
	now = rn_now_ns();
	pthread_mutex_lock(&peer->lock);
	rn_timers_any_authenticated_packet_received(peer, now);
	pthread_mutex_unlock(&peer->lock);
	usleep(300000);
	pthread_mutex_lock(&peer->lock);
	rn_timers_data_sent(peer, rn_now_ns());
	pthread_mutex_unlock(&peer->lock);
	assert_int_equal(rn_wg_device_snapshot(dev, &cfg), 0);
	assert_true(cfg.peers[0].rx_age_ms >= 300 && cfg.peers[0].rx_age_ms < 1300);
	assert_true(cfg.peers[0].data_sent_age_ms < 300);
	rn_wg_config_free(&cfg);
	rn_wg_device_stop(dev);
}

/*
 * How long our initiations go unanswered: new tries (a new path, new data) restart the count of
 * retries, not this age; anything authenticated from the peer ends it. rustynetd's exit status
 * says "does not answer" from it.
 */
static void test_unanswered_survives_new_tries(void **state)
{
	uint8_t priv_a[32], pub_a[32], priv_b[32], pub_b[32];
	struct rn_wg_config cfg = { 0 };
	struct rn_wg_device *dev;
	struct rn_wg_peer *peer;
	struct sink b;
	uint32_t types[4];
	uint64_t now = rn_now_ns();

	(void)state;
	keypair_of(priv_a, pub_a);
	keypair_of(priv_b, pub_b);
	sink_open(&b);
	dev = fake_device(priv_a);
	peer = add_peer(dev, pub_b, b.port);
	assert_int_equal(rn_wg_device_snapshot(dev, &cfg), 0);
	assert_true(cfg.peers[0].unanswered_ms == 0);
	rn_wg_config_free(&cfg);

	pthread_mutex_lock(&peer->lock);
	rn_send_handshake_initiation_locked(peer, false, now);
	rn_send_handshake_initiation_locked(peer, false, now + 6 * RN_NS_PER_S);
	assert_true(peer->unanswered_since_ns == now);
	pthread_mutex_unlock(&peer->lock);
	assert_int_equal(sink_drain(&b, types, 4, 1000), 2);
	usleep(300000);
	assert_int_equal(rn_wg_device_snapshot(dev, &cfg), 0);
	assert_int_equal(cfg.peers[0].handshake_attempts, 0);
	assert_true(cfg.peers[0].unanswered_ms >= 300 && cfg.peers[0].unanswered_ms < 1300);
	rn_wg_config_free(&cfg);

	pthread_mutex_lock(&peer->lock);
	rn_timers_any_authenticated_packet_received(peer, rn_now_ns());
	pthread_mutex_unlock(&peer->lock);
	assert_int_equal(rn_wg_device_snapshot(dev, &cfg), 0);
	assert_true(cfg.peers[0].unanswered_ms == 0);
	rn_wg_config_free(&cfg);
	rn_wg_device_stop(dev);
	close(b.fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_response_counts_as_sent_handshake),
		cmocka_unit_test(test_new_private_key_allows_handshake_at_once),
		cmocka_unit_test(test_foreign_datagrams_reach_the_handler),
		cmocka_unit_test(test_send_raw_leaves_from_the_wireguard_port),
		cmocka_unit_test(test_initiate_sends_an_initiation),
		cmocka_unit_test(test_moved_endpoint_initiates_at_once),
		cmocka_unit_test(test_snapshot_ages),
		cmocka_unit_test(test_unanswered_survives_new_tries),
	};

	if (rn_crypto_init())
		return 1;
	rn_clock_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
