/* SPDX-License-Identifier: MIT */
/*
 * The timers against the whitepaper's 6.3: a session with no new handshake is wiped after
 * REJECT_AFTER_TIME * 3 (540 s), not before. The device has no TUN and no threads: the test
 * makes the session by hand (an initiation consumed and answered, as the handshake worker
 * does) and calls rn_timers_tick with a clock of its own.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "wg/clock.h"
#include "wg/crypto.h"
#include "wg/device_priv.h"

static void keypair_of(uint8_t priv[32], uint8_t pub[32])
{
	rn_x25519_generate(priv);
	assert_true(rn_x25519_public(pub, priv));
}

/* A device as rn_wg_device_start makes it, without the TUN and the threads, with one peer whose
 * endpoint is 127.0.0.1:9 (what the timers send there goes nowhere). */
static struct rn_wg_device *device_with_peer(const uint8_t priv[32], const uint8_t peer_pub[32],
					     struct rn_wg_peer **peer)
{
	struct rn_wg_config cfg = {.flags = RN_WG_DEV_HAS_PRIVATE_KEY};
	struct rn_wg_peer_config *pc;
	struct rn_wg_device *dev;

	assert_int_equal(rn_device_new(0, &dev), 0);
	assert_int_equal(rn_udp_open(AF_INET, 0, 0, &dev->udp), 0);
	dev->mtu = 1420;
	memcpy(cfg.private_key, priv, 32);
	pc = rn_wg_config_add_peer(&cfg);
	assert_non_null(pc);
	memcpy(pc->public_key, peer_pub, 32);
	pc->flags = RN_WG_PEER_HAS_ENDPOINT;
	pc->endpoint.sin.sin_family = AF_INET;
	pc->endpoint.sin.sin_port = htons(9);
	pc->endpoint.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(rn_wg_device_apply(dev, &cfg), 0);
	rn_wg_config_free(&cfg);
	rn_wipe(&cfg, sizeof(cfg));
	*peer = rn_peer_lookup(dev, peer_pub);
	assert_non_null(*peer);
	return dev;
}

/* (whitepaper 6.3, kernel: wg_expired_zero_key_material) */
static void test_keys_zeroed_after_540_s(void **state)
{
	uint8_t priv_i[32], pub_i[32], priv_r[32], pub_r[32];
	struct rn_message_handshake_initiation msg;
	struct rn_noise_initiation_state st;
	struct rn_noise_identity id_i = {0};
	struct rn_noise_handshake hs_i;
	struct rn_wg_device *dev;
	struct rn_wg_peer *peer;
	uint64_t now = rn_now_ns();

	(void)state;
	keypair_of(priv_i, pub_i);
	keypair_of(priv_r, pub_r);
	dev = device_with_peer(priv_r, pub_i, &peer);

	assert_true(rn_noise_identity_set(&id_i, priv_i));
	rn_noise_handshake_init(&hs_i, &id_i, pub_r, NULL);
	assert_true(rn_noise_create_initiation(&hs_i, &id_i, 0x1234, &msg));
	assert_true(rn_noise_open_initiation(&msg, &dev->identity, &st));
	pthread_mutex_lock(&peer->lock);
	assert_true(rn_noise_finish_initiation(&peer->handshake, &st, &msg, now));
	rn_send_handshake_response_locked(peer, now);
	assert_non_null(peer->keypairs.next);
	assert_true(peer->timer_zero_key_material == now + RN_ZERO_KEYS_AFTER_S * RN_NS_PER_S);
	pthread_mutex_unlock(&peer->lock);

	/* A second early: the session is still there (the timer is alive, not just late). */
	rn_timers_tick(dev, now + (RN_ZERO_KEYS_AFTER_S - 1) * RN_NS_PER_S);
	pthread_mutex_lock(&peer->lock);
	assert_non_null(peer->keypairs.next);
	pthread_mutex_unlock(&peer->lock);

	rn_timers_tick(dev, now + RN_ZERO_KEYS_AFTER_S * RN_NS_PER_S);
	pthread_mutex_lock(&peer->lock);
	assert_null(peer->keypairs.next);
	assert_null(peer->keypairs.current);
	assert_null(peer->keypairs.previous);
	pthread_mutex_unlock(&peer->lock);

	rn_noise_handshake_wipe(&hs_i);
	rn_wipe(&id_i, sizeof(id_i));
	rn_wg_device_stop(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys_zeroed_after_540_s),
	};

	if (rn_crypto_init())
		return 1;
	rn_clock_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
