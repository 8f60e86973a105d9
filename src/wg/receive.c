/* SPDX-License-Identifier: MIT */
/*
 * The receive path. The UDP reader takes a batch of datagrams (recvmmsg + GRO), checks each
 * message's type and exact length before any crypto, decrypts data in place, drops replays and
 * inner packets whose source is not in the sending peer's allowed IPs (crypto-key routing),
 * and writes the survivors to TUN merged into super-packets. Handshake messages are copied to
 * a queue for the handshake worker, which checks macs, cookies and rate limits first.
 */
#include "wg/device_priv.h"

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "wg/clock.h"
#include "wg/crypto.h"
#include "wg/offload.h"

static bool endpoint_equal(const union rn_wg_endpoint *a, const union rn_wg_endpoint *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->sin.sin_port == b->sin.sin_port &&
		       a->sin.sin_addr.s_addr == b->sin.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return a->sin6.sin6_port == b->sin6.sin6_port &&
		       !memcmp(&a->sin6.sin6_addr, &b->sin6.sin6_addr, 16) &&
		       a->sin6.sin6_scope_id == b->sin6.sin6_scope_id;
	return false;
}

/* What one batch did for one peer, applied under its lock once rather than per packet. */
struct rx_peer_acc {
	struct rn_wg_peer *peer;
	struct rn_noise_keypair *kp; /* referenced */
	uint32_t index;
	bool confirmed_checked;
	uint64_t rx_bytes;
	bool got_any, got_data;
	union rn_wg_endpoint src;
};

static void acc_flush(struct rx_peer_acc *acc, uint64_t now)
{
	struct rn_wg_peer *peer = acc->peer;
	struct rn_noise_keypair *kp = acc->kp;

	if (peer && acc->got_any) {
		pthread_mutex_lock(&peer->lock);
		peer->rx_bytes += acc->rx_bytes;
		/* Roaming: the latest authenticated source is where the peer is now. */
		if (!endpoint_equal(&peer->endpoint, &acc->src))
			rn_peer_set_endpoint(peer, &acc->src);
		rn_timers_any_authenticated_packet_received(peer);
		rn_timers_any_authenticated_packet_traversal(peer, now);
		if (acc->got_data)
			rn_timers_data_received(peer, now);
		/* Whitepaper 6.2: an initiator near the end of a session rekeys on receive too. */
		if (kp == peer->keypairs.current && kp->i_am_initiator &&
		    !peer->sent_lastminute_handshake &&
		    now - kp->birthdate_ns >= (RN_REJECT_AFTER_TIME_S - RN_KEEPALIVE_TIMEOUT_S -
					       RN_REKEY_TIMEOUT_S) * RN_NS_PER_S) {
			peer->sent_lastminute_handshake = true;
			rn_send_handshake_initiation_locked(peer, false, now);
		}
		pthread_mutex_unlock(&peer->lock);
	}
	rn_noise_keypair_put(kp);
	memset(acc, 0, sizeof(*acc));
}

static bool acc_select(struct rn_wg_device *dev, struct rx_peer_acc *acc, uint32_t index,
		       uint64_t now)
{
	struct rn_noise_keypair *kp;
	struct rn_wg_peer *peer;

	if (acc->kp && acc->index == index)
		return true;
	acc_flush(acc, now);
	if (!rn_index_lookup(&dev->index, index, RN_INDEX_KEYPAIR, &peer, &kp))
		return false;
	acc->peer = peer;
	acc->kp = kp;
	acc->index = index;
	return true;
}

/* The inner packet's length per its IP header and its source address; 0 if malformed. */
static size_t inner_packet(const uint8_t *pkt, size_t len, int *family, const uint8_t **src)
{
	size_t ip_len;

	if (len >= 20 && (pkt[0] >> 4) == 4) {
		ip_len = (size_t)pkt[2] << 8 | pkt[3];
		*family = AF_INET;
		*src = pkt + 12;
		return ip_len >= 20 && ip_len <= len ? ip_len : 0;
	}
	if (len >= 40 && (pkt[0] >> 4) == 6) {
		ip_len = 40 + ((size_t)pkt[4] << 8 | pkt[5]);
		*family = AF_INET6;
		*src = pkt + 8;
		return ip_len <= len ? ip_len : 0;
	}
	return 0;
}

static void receive_data(struct rn_wg_device *dev, struct rx_peer_acc *acc, struct rn_gro *gro,
			 uint8_t *msg, size_t len, const union rn_wg_endpoint *src, uint64_t now)
{
	const struct rn_message_data *hdr = (const struct rn_message_data *)msg;
	uint8_t *plain = msg + RN_MESSAGE_DATA_HEADER_LEN;
	size_t plain_len = len - RN_MESSAGE_DATA_MIN_LEN, ip_len;
	uint64_t counter = le64toh(hdr->counter);
	struct rn_noise_keypair *kp;
	const uint8_t *inner_src;
	bool fresh;
	int family;

	if (!acc_select(dev, acc, le32toh(hdr->key_idx), now))
		return;
	kp = acc->kp;
	if (now - kp->birthdate_ns >= RN_REJECT_AFTER_TIME_S * RN_NS_PER_S)
		return;
	if (!rn_aead_open1(plain, plain, len - RN_MESSAGE_DATA_HEADER_LEN, NULL, 0, counter,
			   kp->recv_key))
		return;
	pthread_mutex_lock(&kp->replay_lock);
	fresh = rn_replay_check(&kp->replay, counter, RN_REJECT_AFTER_MESSAGES);
	pthread_mutex_unlock(&kp->replay_lock);
	if (!fresh) {
		log_debug(RX, "dropped a replayed or too old packet (counter %llu)",
			  (unsigned long long)counter);
		return;
	}
	/* Authenticated: from here on the packet counts as coming from this peer. */
	if (!acc->confirmed_checked) {
		acc->confirmed_checked = true;
		if (rn_peer_confirm_keypair(acc->peer, kp)) {
			pthread_mutex_lock(&acc->peer->lock);
			rn_timers_handshake_complete(acc->peer);
			rn_send_staged_locked(acc->peer, now);
			pthread_mutex_unlock(&acc->peer->lock);
		}
	}
	acc->got_any = true;
	acc->rx_bytes += len;
	acc->src = *src;
	if (!plain_len)
		return; /* keepalive */
	ip_len = inner_packet(plain, plain_len, &family, &inner_src);
	if (!ip_len) {
		log_debug(RX, "dropped a malformed inner packet");
		return;
	}
	if (rn_allowedips_lookup(&dev->allowedips, family, inner_src) != acc->peer) {
		log_debug(RX, "dropped a packet whose source is not in the peer's allowed IPs");
		return;
	}
	acc->got_data = true;
	if (rn_gro_add(gro, plain, ip_len) < 0) {
		rn_gro_flush(gro, dev->tun_fd);
		if (rn_gro_add(gro, plain, ip_len) < 0)
			log_debug(RX, "dropped a packet the TUN writer refused");
	}
}

static void queue_handshake(struct rn_wg_device *dev, const uint8_t *msg, size_t len,
			    const union rn_wg_endpoint *src)
{
	struct rn_handshake_job *job;

	pthread_mutex_lock(&dev->hs_lock);
	if (dev->hs_count < RN_HANDSHAKE_QUEUE_LEN) {
		job = &dev->hs_queue[(dev->hs_head + dev->hs_count) % RN_HANDSHAKE_QUEUE_LEN];
		job->src = *src;
		job->len = (uint16_t)len;
		memcpy(job->data, msg, len);
		dev->hs_count++;
		pthread_cond_signal(&dev->hs_cond);
	}
	pthread_mutex_unlock(&dev->hs_lock);
}

/* Type and exact length first: nothing else is looked at on a message that fails them. */
static void receive_one(struct rn_wg_device *dev, struct rx_peer_acc *acc, struct rn_gro *gro,
			uint8_t *msg, size_t len, const union rn_wg_endpoint *src, uint64_t now)
{
	uint32_t type;

	if (len < sizeof(type))
		return;
	memcpy(&type, msg, sizeof(type));
	switch (le32toh(type)) {
	case RN_MESSAGE_DATA:
		if (len >= RN_MESSAGE_DATA_MIN_LEN)
			receive_data(dev, acc, gro, msg, len, src, now);
		return;
	case RN_MESSAGE_HANDSHAKE_INITIATION:
		if (len == RN_MESSAGE_INITIATION_LEN)
			queue_handshake(dev, msg, len, src);
		return;
	case RN_MESSAGE_HANDSHAKE_RESPONSE:
		if (len == RN_MESSAGE_RESPONSE_LEN)
			queue_handshake(dev, msg, len, src);
		return;
	case RN_MESSAGE_HANDSHAKE_COOKIE:
		if (len == RN_MESSAGE_COOKIE_LEN)
			queue_handshake(dev, msg, len, src);
		return;
	default:
		log_debug(RX, "dropped a %zu-byte message of unknown type", len);
	}
}

void *rn_receive_udp_thread(void *arg)
{
	struct rn_wg_device *dev = arg;
	struct rn_udp_rx *rx = calloc(1, sizeof(*rx));
	struct rn_gro *gro = malloc(sizeof(*gro));
	struct rx_peer_acc acc = { 0 };

	if (!rx || !gro || rn_udp_rx_init(rx, &dev->udp) < 0) {
		log_error(RX, "out of memory for the receive buffers");
		dev->dead = true;
		goto out;
	}
	rn_gro_init(gro, dev->vnet_hdr, dev->tun_uso);
	while (!dev->stopping) {
		struct pollfd pfd[3] = { { .fd = dev->udp.fd, .events = POLLIN },
					 { .fd = dev->stop_fd, .events = POLLIN },
					 { .fd = dev->udp_wake_fd, .events = POLLIN } };
		uint64_t wake;
		struct rn_udp_dgram d;
		uint64_t now;
		int n = rn_udp_recv_batch(&dev->udp, rx);

		if (n <= 0) {
			if (n == -EAGAIN || n == -EINTR) {
				/* Rebinding swaps the socket under the same fd: poll it anew. */
				if (poll(pfd, 3, 1000) > 0 && (pfd[2].revents & POLLIN) &&
				    read(dev->udp_wake_fd, &wake, sizeof(wake)) < 0)
					log_debug(RX, "draining the wake-up event failed");
			} else {
				log_debug(RX, "receive failed: %s", strerror(-n));
			}
			continue;
		}
		now = rn_now_ns();
		pthread_rwlock_rdlock(&dev->cfg_lock);
		while (rn_udp_rx_next(rx, &d))
			receive_one(dev, &acc, gro, d.data, d.len, d.from, now);
		acc_flush(&acc, now);
		pthread_rwlock_unlock(&dev->cfg_lock);
		rn_gro_flush(gro, dev->tun_fd);
	}
out:
	free(gro);
	if (rx)
		rn_udp_rx_free(rx);
	free(rx);
	return NULL;
}

static void send_cookie_reply(struct rn_wg_device *dev, const struct rn_handshake_job *job,
			      uint64_t now)
{
	struct rn_message_handshake_cookie reply;
	uint32_t sender_index;

	/* Initiations and responses both carry the sender's index right after the type. */
	memcpy(&sender_index, job->data + 4, sizeof(sender_index));
	rn_cookie_reply_create(&dev->cookie_checker, &reply, job->data, job->len,
			       le32toh(sender_index), &job->src.sa, now);
	rn_send_raw(dev, &job->src, &reply, sizeof(reply));
	log_debug(NOISE, "under load: sent a cookie reply");
}

static void handle_initiation(struct rn_wg_device *dev, const struct rn_handshake_job *job,
			      uint64_t now)
{
	const struct rn_message_handshake_initiation *msg = (const void *)job->data;
	struct rn_message_handshake_response resp;
	struct rn_noise_initiation_state st;
	struct rn_noise_keypair *kp;
	struct rn_wg_peer *peer;
	uint32_t index;

	if (!rn_noise_open_initiation(msg, &dev->identity, &st)) {
		log_debug(NOISE, "dropped an initiation that does not decrypt");
		return;
	}
	peer = rn_peer_lookup(dev, st.remote_static);
	if (!peer) {
		rn_wipe(&st, sizeof(st));
		log_debug(NOISE, "dropped an initiation from an unknown peer");
		return;
	}
	pthread_mutex_lock(&peer->lock);
	if (!rn_noise_finish_initiation(&peer->handshake, &st, msg, now)) {
		log_debug(NOISE, "dropped a replayed or flooding initiation");
		goto out;
	}
	rn_peer_set_endpoint(peer, &job->src);
	rn_timers_any_authenticated_packet_received(peer);
	rn_timers_any_authenticated_packet_traversal(peer, now);
	rn_index_remove(&dev->index, peer->handshake.local_index);
	peer->handshake.local_index = 0;
	index = rn_index_insert_handshake(&dev->index, peer);
	if (!index || !rn_noise_create_response(&peer->handshake, index, &resp)) {
		rn_index_remove(&dev->index, index);
		goto out;
	}
	rn_cookie_add_macs(&peer->cookie, &resp, sizeof(resp), now);
	kp = rn_noise_derive_keypair(&peer->handshake, now);
	if (!kp) {
		rn_index_remove(&dev->index, index);
		goto out;
	}
	rn_index_set_keypair(&dev->index, index, kp);
	peer->handshake.local_index = 0;
	rn_peer_add_keypair(peer, kp);
	rn_timers_any_authenticated_packet_sent(peer);
	peer->rx_bytes += job->len;
	if (rn_send_raw(dev, &peer->endpoint, &resp, sizeof(resp)) >= 0)
		peer->tx_bytes += sizeof(resp);
	rn_timers_session_derived(peer, now);
	log_debug(NOISE, "answered an initiation (index %08x)", index);
out:
	pthread_mutex_unlock(&peer->lock);
	rn_wipe(&resp, sizeof(resp));
}

static void handle_response(struct rn_wg_device *dev, const struct rn_handshake_job *job,
			    uint64_t now)
{
	const struct rn_message_handshake_response *msg = (const void *)job->data;
	uint32_t index = le32toh(msg->receiver_index);
	struct rn_noise_keypair *kp;
	struct rn_wg_peer *peer;

	if (!rn_index_lookup(&dev->index, index, RN_INDEX_HANDSHAKE, &peer, NULL))
		return;
	pthread_mutex_lock(&peer->lock);
	if (peer->handshake.local_index != index ||
	    !rn_noise_consume_response(&peer->handshake, &dev->identity, msg)) {
		log_debug(NOISE, "dropped a response that does not match our initiation");
		goto out;
	}
	kp = rn_noise_derive_keypair(&peer->handshake, now);
	if (!kp)
		goto out;
	rn_index_set_keypair(&dev->index, index, kp);
	peer->handshake.local_index = 0;
	rn_peer_add_keypair(peer, kp);
	rn_peer_set_endpoint(peer, &job->src);
	peer->rx_bytes += job->len;
	rn_timers_any_authenticated_packet_received(peer);
	rn_timers_any_authenticated_packet_traversal(peer, now);
	rn_timers_handshake_complete(peer);
	rn_timers_session_derived(peer, now);
	log_debug(NOISE, "handshake complete (index %08x)", index);
	rn_send_staged_locked(peer, now);
out:
	pthread_mutex_unlock(&peer->lock);
}

static void handle_cookie(struct rn_wg_device *dev, const struct rn_handshake_job *job,
			  uint64_t now)
{
	const struct rn_message_handshake_cookie *msg = (const void *)job->data;
	struct rn_wg_peer *peer;

	if (!rn_index_lookup(&dev->index, le32toh(msg->receiver_index),
			     RN_INDEX_HANDSHAKE | RN_INDEX_KEYPAIR, &peer, NULL))
		return;
	pthread_mutex_lock(&peer->lock);
	if (rn_cookie_reply_consume(&peer->cookie, msg, now))
		log_debug(NOISE, "got a cookie: the peer is under load");
	pthread_mutex_unlock(&peer->lock);
}

static void handle_job(struct rn_wg_device *dev, const struct rn_handshake_job *job,
		       bool under_load, uint64_t now)
{
	enum rn_cookie_mac_state mac;
	uint32_t type;

	memcpy(&type, job->data, sizeof(type));
	type = le32toh(type);
	if (type == RN_MESSAGE_HANDSHAKE_COOKIE) {
		handle_cookie(dev, job, now);
		return;
	}
	mac = rn_cookie_validate(&dev->cookie_checker, job->data, job->len, &job->src.sa,
				 under_load, now);
	if (mac == RN_COOKIE_INVALID_MAC) {
		log_debug(NOISE, "dropped a handshake message with a bad mac1");
		return;
	}
	if (under_load) {
		if (mac == RN_COOKIE_VALID_MAC_BUT_NO_COOKIE) {
			send_cookie_reply(dev, job, now);
			return;
		}
		if (!rn_ratelimiter_allow(&dev->ratelimiter, &job->src.sa, now))
			return;
	}
	if (type == RN_MESSAGE_HANDSHAKE_INITIATION)
		handle_initiation(dev, job, now);
	else
		handle_response(dev, job, now);
}

void *rn_receive_handshake_thread(void *arg)
{
	struct rn_wg_device *dev = arg;
	struct rn_handshake_job *job = malloc(sizeof(*job));
	bool under_load;
	uint64_t now;

	if (!job)
		return NULL;
	for (;;) {
		pthread_mutex_lock(&dev->hs_lock);
		while (!dev->hs_count && !dev->stopping)
			pthread_cond_wait(&dev->hs_cond, &dev->hs_lock);
		if (dev->stopping) {
			pthread_mutex_unlock(&dev->hs_lock);
			break;
		}
		now = rn_now_ns();
		/* Whitepaper 5.3: a long queue means someone floods us; stay wary for a while. */
		if (dev->hs_count >= RN_UNDER_LOAD_QUEUE_LEN)
			dev->last_under_load_ns = now;
		under_load = dev->force_under_load ||
			     (dev->last_under_load_ns &&
			      now - dev->last_under_load_ns < RN_UNDER_LOAD_AFTER_MS * RN_NS_PER_MS);
		*job = dev->hs_queue[dev->hs_head];
		dev->hs_head = (dev->hs_head + 1) % RN_HANDSHAKE_QUEUE_LEN;
		dev->hs_count--;
		pthread_mutex_unlock(&dev->hs_lock);

		pthread_rwlock_rdlock(&dev->cfg_lock);
		handle_job(dev, job, under_load, now);
		pthread_rwlock_unlock(&dev->cfg_lock);
	}
	rn_wipe(job, sizeof(*job));
	free(job);
	return NULL;
}
