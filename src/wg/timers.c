/* SPDX-License-Identifier: MIT */
/*
 * The protocol timers (whitepaper 6.1-6.5). Each peer holds absolute deadlines; one thread
 * ticks every TICK_MS and fires what is due. Event hooks are called with peer->lock held.
 */
#include "wg/device_priv.h"

#include <time.h>

#include "common/log.h"
#include "wg/clock.h"
#include "wg/crypto.h"

enum { TICK_MS = 20 };

static uint64_t jitter_ns(void)
{
	uint32_t r;

	rn_random(&r, sizeof(r));
	return (uint64_t)(r % RN_REKEY_TIMEOUT_JITTER_MAX_MS) * RN_NS_PER_MS;
}

void rn_timers_data_sent(struct rn_wg_peer *peer, uint64_t now)
{
	peer->last_data_sent_ns = now;
	if (!peer->timer_new_handshake)
		peer->timer_new_handshake =
		    now + (RN_KEEPALIVE_TIMEOUT_S + RN_REKEY_TIMEOUT_S) * RN_NS_PER_S + jitter_ns();
}

void rn_timers_data_received(struct rn_wg_peer *peer, uint64_t now)
{
	if (!peer->timer_send_keepalive)
		peer->timer_send_keepalive = now + RN_KEEPALIVE_TIMEOUT_S * RN_NS_PER_S;
	else
		peer->need_another_keepalive = true;
}

void rn_timers_any_authenticated_packet_sent(struct rn_wg_peer *peer)
{
	peer->timer_send_keepalive = 0;
}

void rn_timers_any_authenticated_packet_received(struct rn_wg_peer *peer, uint64_t now)
{
	peer->last_rx_ns = now;
	peer->unanswered_since_ns = 0;
	peer->timer_new_handshake = 0;
}

void rn_timers_any_authenticated_packet_traversal(struct rn_wg_peer *peer, uint64_t now)
{
	if (peer->persistent_keepalive_s)
		peer->timer_persistent_keepalive =
		    now + (uint64_t)peer->persistent_keepalive_s * RN_NS_PER_S;
}

void rn_timers_handshake_initiated(struct rn_wg_peer *peer, uint64_t now)
{
	peer->timer_retransmit_handshake = now + RN_REKEY_TIMEOUT_S * RN_NS_PER_S + jitter_ns();
}

void rn_timers_handshake_complete(struct rn_wg_peer *peer)
{
	struct timespec ts;

	peer->timer_retransmit_handshake = 0;
	peer->handshake_attempts = 0;
	peer->unanswered_since_ns = 0;
	peer->sent_lastminute_handshake = false;
	clock_gettime(CLOCK_REALTIME, &ts);
	peer->last_handshake_sec = ts.tv_sec;
	peer->last_handshake_nsec = ts.tv_nsec;
}

void rn_timers_session_derived(struct rn_wg_peer *peer, uint64_t now)
{
	peer->timer_zero_key_material = now + RN_ZERO_KEYS_AFTER_S * RN_NS_PER_S;
}

void rn_timers_stop(struct rn_wg_peer *peer)
{
	peer->timer_retransmit_handshake = 0;
	peer->timer_send_keepalive = 0;
	peer->timer_new_handshake = 0;
	peer->timer_zero_key_material = 0;
	peer->timer_persistent_keepalive = 0;
}

static bool due(uint64_t *deadline, uint64_t now)
{
	if (!*deadline || *deadline > now)
		return false;
	*deadline = 0;
	return true;
}

static void expired_retransmit_handshake(struct rn_wg_peer *peer, uint64_t now)
{
	if (peer->handshake_attempts > RN_MAX_TIMER_HANDSHAKES) {
		log_debug(PEER, "handshake did not complete after %u attempts, giving up",
			  peer->handshake_attempts + 1);
		peer->timer_send_keepalive = 0;
		rn_peer_purge_staged(peer);
		if (!peer->timer_zero_key_material)
			peer->timer_zero_key_material = now + RN_ZERO_KEYS_AFTER_S * RN_NS_PER_S;
		return;
	}
	peer->handshake_attempts++;
	log_debug(PEER, "handshake did not complete after %d seconds, retrying (try %u)",
		  RN_REKEY_TIMEOUT_S, peer->handshake_attempts + 1);
	rn_send_handshake_initiation_locked(peer, true, now);
}

static void expired_send_keepalive(struct rn_wg_peer *peer, uint64_t now)
{
	rn_send_keepalive_locked(peer, now);
	if (peer->need_another_keepalive) {
		peer->need_another_keepalive = false;
		peer->timer_send_keepalive = now + RN_KEEPALIVE_TIMEOUT_S * RN_NS_PER_S;
	}
}

static void expired_new_handshake(struct rn_wg_peer *peer, uint64_t now)
{
	log_debug(PEER, "no reply for %d seconds after sending data, new handshake",
		  RN_KEEPALIVE_TIMEOUT_S + RN_REKEY_TIMEOUT_S);
	rn_send_handshake_initiation_locked(peer, false, now);
}

static void expired_zero_key_material(struct rn_wg_peer *peer)
{
	log_debug(PEER, "no new session for %d seconds, zeroing keys", RN_ZERO_KEYS_AFTER_S);
	rn_peer_clear_keypairs(peer);
}

void rn_timers_tick(struct rn_wg_device *dev, uint64_t now)
{
	for (struct rn_wg_peer *peer = dev->peers; peer; peer = peer->next) {
		pthread_mutex_lock(&peer->lock);
		if (due(&peer->timer_retransmit_handshake, now))
			expired_retransmit_handshake(peer, now);
		if (due(&peer->timer_send_keepalive, now))
			expired_send_keepalive(peer, now);
		if (due(&peer->timer_new_handshake, now))
			expired_new_handshake(peer, now);
		if (due(&peer->timer_zero_key_material, now))
			expired_zero_key_material(peer);
		if (due(&peer->timer_persistent_keepalive, now))
			rn_send_keepalive_locked(peer, now);
		pthread_mutex_unlock(&peer->lock);
	}
}

void *rn_timers_thread(void *arg)
{
	struct rn_wg_device *dev = arg;
	struct timespec tick = { 0, TICK_MS * 1000000L };
	unsigned int ticks = 0;

	while (!dev->stopping) {
		nanosleep(&tick, NULL);
		pthread_rwlock_rdlock(&dev->cfg_lock);
		rn_timers_tick(dev, rn_now_ns());
		pthread_rwlock_unlock(&dev->cfg_lock);
		/* After a burst, the buffers it needed and the load no longer does go back. */
		if (++ticks == RN_POOL_TRIM_MS / TICK_MS) {
			ticks = 0;
			rn_pool_trim(&dev->rx_pool);
			rn_pool_trim(&dev->tx_pool);
		}
	}
	return NULL;
}
