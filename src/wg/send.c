/* SPDX-License-Identifier: MIT */
/*
 * The transmit path: TUN read -> split a super-packet into IP packets -> crypto-key routing by
 * destination -> encrypt in place -> one UDP GSO send per peer run. Also the handshake
 * initiation, keepalive and staged-packet senders used by the timers and the handshake worker.
 */
#include "wg/device_priv.h"

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "wg/clock.h"
#include "wg/crypto.h"
#include "wg/offload.h"

enum {
	HEADROOM = RN_MESSAGE_DATA_HEADER_LEN,
	/* Any IP packet plus padding and tag fits one slot, so every read can be split. */
	SLOT_STRIDE = 65536 + 128,
};

int rn_send_raw(struct rn_wg_device *dev, const union rn_wg_endpoint *dst, const void *buf,
		size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	if (dst->sa.sa_family == AF_UNSPEC)
		return -EDESTADDRREQ;
	return rn_udp_send_batch(&dev->udp, dst, &iov, 1);
}

/* Whitepaper 5.4.6: pad to a multiple of 16, but never past the MTU. */
static size_t padded_len(size_t len, int mtu)
{
	size_t padded = (len + RN_MESSAGE_PADDING_MULTIPLE - 1) & ~(size_t)(RN_MESSAGE_PADDING_MULTIPLE - 1);

	if (mtu > 0 && padded > (size_t)mtu)
		padded = len > (size_t)mtu ? len : (size_t)mtu;
	return padded;
}

/*
 * pkt has HEADROOM bytes before it and room for padding and the tag after it. Returns the
 * message length, the message starting at pkt - HEADROOM.
 */
static size_t encrypt_in_place(struct rn_noise_keypair *kp, uint64_t counter, uint8_t *pkt,
			       size_t len, int mtu)
{
	struct rn_message_data *hdr = (struct rn_message_data *)(pkt - HEADROOM);
	size_t padded = padded_len(len, mtu);

	memset(pkt + len, 0, padded - len);
	hdr->header.type = htole32(RN_MESSAGE_DATA);
	hdr->key_idx = htole32(kp->remote_index);
	hdr->counter = htole64(counter);
	if (!rn_aead_seal1(pkt, pkt, padded, NULL, 0, counter, kp->send_key))
		return 0;
	return HEADROOM + padded + RN_NOISE_AUTHTAG_LEN;
}

static struct rn_noise_keypair *sending_keypair_locked(struct rn_wg_peer *peer, uint64_t now)
{
	struct rn_noise_keypair *kp = peer->keypairs.current;

	if (!kp || !kp->sending_valid ||
	    now - kp->birthdate_ns >= RN_REJECT_AFTER_TIME_S * RN_NS_PER_S ||
	    kp->send_counter >= RN_REJECT_AFTER_MESSAGES)
		return NULL;
	return kp;
}

/* Whitepaper 6.2: the initiator rekeys an old or much-used session before it expires. */
static void keep_key_fresh_locked(struct rn_wg_peer *peer, struct rn_noise_keypair *kp,
				  uint64_t now)
{
	if (kp != peer->keypairs.current || !kp->sending_valid)
		return;
	if (kp->send_counter > RN_REKEY_AFTER_MESSAGES ||
	    (kp->i_am_initiator && now - kp->birthdate_ns >= RN_REKEY_AFTER_TIME_S * RN_NS_PER_S))
		rn_send_handshake_initiation_locked(peer, false, now);
}

void rn_send_handshake_initiation_locked(struct rn_wg_peer *peer, bool is_retry, uint64_t now)
{
	struct rn_wg_device *dev = peer->dev;
	struct rn_message_handshake_initiation msg;
	uint32_t index;

	if (!is_retry)
		peer->handshake_attempts = 0;
	if (!dev->identity.has_identity || peer->endpoint.sa.sa_family == AF_UNSPEC)
		return;
	if (peer->last_sent_handshake_ns &&
	    now - peer->last_sent_handshake_ns < RN_REKEY_TIMEOUT_S * RN_NS_PER_S)
		return;
	peer->last_sent_handshake_ns = now;

	rn_index_remove(&dev->index, peer->handshake.local_index);
	peer->handshake.local_index = 0;
	index = rn_index_insert_handshake(&dev->index, peer);
	if (!index)
		return;
	if (!rn_noise_create_initiation(&peer->handshake, &dev->identity, index, &msg)) {
		rn_index_remove(&dev->index, index);
		return;
	}
	rn_cookie_add_macs(&peer->cookie, &msg, sizeof(msg), now);
	rn_timers_any_authenticated_packet_traversal(peer, now);
	rn_timers_any_authenticated_packet_sent(peer);
	if (rn_send_raw(dev, &peer->endpoint, &msg, sizeof(msg)) >= 0) {
		peer->tx_bytes += sizeof(msg);
		log_debug(NOISE, "sent handshake initiation (index %08x)", index);
	}
	rn_timers_handshake_initiated(peer, now);
	rn_wipe(&msg, sizeof(msg));
}

void rn_send_handshake_initiation(struct rn_wg_peer *peer, bool is_retry)
{
	pthread_mutex_lock(&peer->lock);
	rn_send_handshake_initiation_locked(peer, is_retry, rn_now_ns());
	pthread_mutex_unlock(&peer->lock);
}

/* Encrypts one packet from a staging buffer and sends it; caller holds peer->lock. */
static void send_one_locked(struct rn_wg_peer *peer, struct rn_noise_keypair *kp,
			    const uint8_t *pkt, size_t len, uint64_t now)
{
	uint8_t buf[HEADROOM + RN_MESSAGE_MAX_LEN + RN_MESSAGE_PADDING_MULTIPLE + RN_NOISE_AUTHTAG_LEN];
	uint64_t counter;
	size_t n;

	if (len > RN_MESSAGE_MAX_LEN)
		return;
	counter = atomic_fetch_add(&kp->send_counter, 1);
	if (counter >= RN_REJECT_AFTER_MESSAGES)
		return;
	if (len) /* a keepalive has no packet at all */
		memcpy(buf + HEADROOM, pkt, len);
	n = encrypt_in_place(kp, counter, buf + HEADROOM, len, peer->dev->mtu);
	if (n && rn_send_raw(peer->dev, &peer->endpoint, buf, n) >= 0)
		peer->tx_bytes += n;
	rn_timers_any_authenticated_packet_traversal(peer, now);
	rn_timers_any_authenticated_packet_sent(peer);
	if (len)
		rn_timers_data_sent(peer, now);
}

void rn_send_keepalive_locked(struct rn_wg_peer *peer, uint64_t now)
{
	struct rn_noise_keypair *kp = sending_keypair_locked(peer, now);

	if (!kp) {
		rn_send_handshake_initiation_locked(peer, false, now);
		return;
	}
	send_one_locked(peer, kp, NULL, 0, now);
	keep_key_fresh_locked(peer, kp, now);
}

void rn_send_staged_locked(struct rn_wg_peer *peer, uint64_t now)
{
	struct rn_noise_keypair *kp = sending_keypair_locked(peer, now);

	if (!kp) {
		rn_send_handshake_initiation_locked(peer, false, now);
		return;
	}
	/* An empty queue still gets a keepalive: it confirms the new session at once. */
	if (!peer->staged_head)
		send_one_locked(peer, kp, NULL, 0, now);
	while (peer->staged_head) {
		struct rn_staged_packet *sp = peer->staged_head;

		peer->staged_head = sp->next;
		send_one_locked(peer, kp, sp->data, sp->len, now);
		free(sp);
	}
	peer->staged_tail = NULL;
	peer->staged_count = 0;
	keep_key_fresh_locked(peer, kp, now);
}

/* A run of packets from one read that go to one peer. */
static void send_run(struct rn_wg_peer *peer, uint8_t **pkts, size_t *lens, int n)
{
	struct rn_wg_device *dev = peer->dev;
	struct iovec iov[RN_MAX_SEGMENTS];
	union rn_wg_endpoint ep;
	struct rn_noise_keypair *kp;
	uint64_t now = rn_now_ns(), base, total = 0;
	int mtu = dev->mtu, sent = 0;

	kp = rn_peer_sending_keypair(peer, now);
	if (!kp) {
		pthread_mutex_lock(&peer->lock);
		for (int i = 0; i < n; i++)
			rn_peer_stage_packet(peer, pkts[i], lens[i]);
		rn_send_handshake_initiation_locked(peer, false, now);
		pthread_mutex_unlock(&peer->lock);
		return;
	}
	pthread_mutex_lock(&peer->lock);
	ep = peer->endpoint;
	pthread_mutex_unlock(&peer->lock);
	base = atomic_fetch_add(&kp->send_counter, (uint64_t)n);
	if (ep.sa.sa_family != AF_UNSPEC && base + (uint64_t)n < RN_REJECT_AFTER_MESSAGES) {
		for (int i = 0; i < n; i++) {
			iov[sent].iov_len = encrypt_in_place(kp, base + (uint64_t)i, pkts[i], lens[i], mtu);
			iov[sent].iov_base = pkts[i] - HEADROOM;
			if (iov[sent].iov_len)
				total += iov[sent++].iov_len;
		}
		if (sent && rn_udp_send_batch(&dev->udp, &ep, iov, sent) < 0)
			total = 0;
	}
	pthread_mutex_lock(&peer->lock);
	peer->tx_bytes += total;
	rn_timers_any_authenticated_packet_traversal(peer, now);
	rn_timers_any_authenticated_packet_sent(peer);
	rn_timers_data_sent(peer, now);
	keep_key_fresh_locked(peer, kp, now);
	pthread_mutex_unlock(&peer->lock);
	rn_noise_keypair_put(kp);
}

static struct rn_wg_peer *route_packet(struct rn_wg_device *dev, const uint8_t *pkt, size_t len)
{
	if (len >= 20 && (pkt[0] >> 4) == 4)
		return rn_allowedips_lookup(&dev->allowedips, AF_INET, pkt + 16);
	if (len >= 40 && (pkt[0] >> 4) == 6)
		return rn_allowedips_lookup(&dev->allowedips, AF_INET6, pkt + 24);
	return NULL;
}

static void send_segments(struct rn_wg_device *dev, uint8_t *slots, size_t *lens, int count)
{
	uint8_t *pkts[RN_MAX_SEGMENTS];
	struct rn_wg_peer *peers[RN_MAX_SEGMENTS];
	int start = 0;

	for (int i = 0; i < count; i++) {
		pkts[i] = slots + (size_t)i * SLOT_STRIDE + HEADROOM;
		peers[i] = route_packet(dev, pkts[i], lens[i]);
	}
	/* Consecutive packets to one peer go out in one GSO send. */
	for (int i = 1; i <= count; i++) {
		if (i < count && peers[i] == peers[start])
			continue;
		if (peers[start])
			send_run(peers[start], pkts + start, lens + start, i - start);
		start = i;
	}
}

void *rn_send_tun_thread(void *arg)
{
	struct rn_wg_device *dev = arg;
	size_t vhdr = dev->vnet_hdr ? RN_OFFLOAD_VNET_HDR_LEN : 0;
	uint8_t *slots = malloc((size_t)RN_MAX_SEGMENTS * SLOT_STRIDE);
	/* Read straight into slot 0, so a lone packet is never copied. */
	uint8_t *rbuf = slots + HEADROOM - vhdr;
	size_t lens[RN_MAX_SEGMENTS];
	struct pollfd pfd[2] = { { .fd = dev->tun_fd, .events = POLLIN },
				 { .fd = dev->stop_fd, .events = POLLIN } };

	if (!slots) {
		log_error(TX, "out of memory for the transmit buffers");
		dev->dead = true;
		return NULL;
	}
	while (!dev->stopping) {
		ssize_t n = read(dev->tun_fd, rbuf, SLOT_STRIDE - HEADROOM + vhdr);
		int count;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				poll(pfd, 2, -1);
				continue;
			}
			log_info(TUN, "reading %s failed (%s): the interface is gone", dev->ifname,
				 strerror(errno));
			dev->dead = true;
			break;
		}
		count = rn_offload_split(rbuf, (size_t)n, dev->vnet_hdr, slots, SLOT_STRIDE, HEADROOM,
					 lens, RN_MAX_SEGMENTS);
		if (count <= 0) {
			log_debug(TX, "dropped a malformed %zd-byte packet from %s", n, dev->ifname);
			continue;
		}
		pthread_rwlock_rdlock(&dev->cfg_lock);
		send_segments(dev, slots, lens, count);
		pthread_rwlock_unlock(&dev->cfg_lock);
	}
	free(slots);
	return NULL;
}
