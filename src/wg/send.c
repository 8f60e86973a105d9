/* SPDX-License-Identifier: MIT */
/*
 * The transmit path: TUN read into a pooled batch buffer -> split a super-packet into IP
 * packets -> crypto-key routing by destination -> (with a packet filter installed, the flow
 * recorded so replies are let back in) -> the peer's ordered queue; a crypto worker
 * encrypts the batch in place, and the peer's drain sends it with one UDP GSO send (queue.h).
 * Also the handshake initiation, keepalive and staged-packet senders used by the timers and
 * the handshake workers, which send inline.
 */
#include "wg/device_priv.h"

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
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
	TAILROOM = RN_MESSAGE_PADDING_MULTIPLE + RN_NOISE_AUTHTAG_LEN,
	/* A lone packet is encrypted where it was read: any IP packet plus padding and tag fits. */
	READ_AREA = 65536 + 128,
	/* A segment of a super-packet: IPv4 and TCP headers with all options, then payload. */
	SEG_HDR_MAX = 60 + 60,
	/*
	 * 64 segments at a 1500-byte MTU, or fewer larger ones (a 65535-byte one still fits). A
	 * super-packet with more segments than fit takes several buffers (tx_read_queue).
	 */
	SLOT_AREA = 128 * 1024 + 4096,
	/* Both areas in one mapping, the slots from a page boundary: released together. */
	TX_READ_AREA_PAGES = (READ_AREA + 4095) / 4096 * 4096,
	TX_AREAS = TX_READ_AREA_PAGES + SLOT_AREA,
};

int rn_send_raw(struct rn_wg_device *dev, const union rn_wg_endpoint *dst, const void *buf,
		size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	if (dst->sa.sa_family == AF_UNSPEC)
		return -EDESTADDRREQ;
	if (dev->relay_fn && rn_wg_is_relay_endpoint(dst))
		return -ENETUNREACH; /* no peer to name: nothing raw goes through a relay */
	return rn_udp_send_batch(&dev->udp, dst, &iov, 1);
}

int rn_send_to(struct rn_wg_peer *peer, const union rn_wg_endpoint *ep, struct rn_udp_src *src,
	       struct iovec *iov, int n)
{
	struct rn_wg_device *dev = peer->dev;

	/* The one check the data path pays per batch; without a hook nothing changes. */
	if (dev->relay_fn && rn_wg_is_relay_endpoint(ep)) {
		for (int i = 0; i < n; i++)
			dev->relay_fn(dev->relay_ctx, peer->public_key, ep, iov[i].iov_base,
				      iov[i].iov_len);
		return n;
	}
	return rn_udp_send_batch_from(&dev->udp, ep, src, iov, n);
}

/*
 * Sends one message to the peer from its sticky source; a source the kernel refuses (the
 * address is gone) is forgotten and routing chooses. Caller holds peer->lock.
 */
static int send_to_peer_locked(struct rn_wg_peer *peer, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	if (peer->endpoint.sa.sa_family == AF_UNSPEC)
		return -EDESTADDRREQ;
	return rn_send_to(peer, &peer->endpoint, &peer->endpoint_src, &iov, 1);
}

/*
 * The same initiation to each probe endpoint (rn_wg_device_set_probe_endpoints), from the
 * default source: the first copy to reach the peer is answered. Caller holds peer->lock.
 */
static void send_to_probes_locked(struct rn_wg_peer *peer, const void *buf, size_t len)
{
	for (unsigned int i = 0; i < peer->n_probes; i++) {
		struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
		struct rn_udp_src src = { .family = AF_UNSPEC };

		if (rn_send_to(peer, &peer->probes[i], &src, &iov, 1) >= 0)
			peer->tx_bytes += len;
	}
}

/*
 * A handshake message to the endpoint and the probes. Which goes first decides a race between
 * paths of equal round trip: the endpoint first when it is direct, so a path as good as the one
 * in use does not take over (no flapping between equal paths); the probes first when it is a
 * relay, whose copy must not win by a head start. Returns send_to_peer_locked's result.
 */
static int send_handshake_locked(struct rn_wg_peer *peer, const void *buf, size_t len)
{
	int r;

	if (rn_wg_is_relay_endpoint(&peer->endpoint)) {
		send_to_probes_locked(peer, buf, len);
		return send_to_peer_locked(peer, buf, len);
	}
	r = send_to_peer_locked(peer, buf, len);
	send_to_probes_locked(peer, buf, len);
	return r;
}

/* Whitepaper 5.4.6: pad to a multiple of 16, but never past the MTU. */
static size_t padded_len(size_t len, int mtu)
{
	size_t padded =
	    (len + RN_MESSAGE_PADDING_MULTIPLE - 1) & ~(size_t)(RN_MESSAGE_PADDING_MULTIPLE - 1);

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
	if (!peer->unanswered_since_ns)
		peer->unanswered_since_ns = now;

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
	if (send_handshake_locked(peer, &msg, sizeof(msg)) >= 0) {
		peer->tx_bytes += sizeof(msg);
		log_debug(NOISE, "sent handshake initiation (index %08x)", index);
	}
	rn_timers_handshake_initiated(peer, now);
	rn_wipe(&msg, sizeof(msg));
}

/*
 * Whitepaper 5.4.3: answers the initiation just consumed into peer->handshake and installs the
 * responder's session as "next". Caller holds peer->lock.
 */
void rn_send_handshake_response_locked(struct rn_wg_peer *peer, uint64_t now)
{
	struct rn_wg_device *dev = peer->dev;
	struct rn_message_handshake_response resp;
	struct rn_noise_keypair *kp;
	uint32_t index;

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
	/*
	 * A response is a handshake sent, as in the kernel driver: no initiation of our own
	 * within REKEY_TIMEOUT, which would replace the session the peer is about to confirm.
	 */
	peer->last_sent_handshake_ns = now;
	/*
	 * The probes too: answering holds back our own probe initiations for REKEY_TIMEOUT, and a
	 * peer probing in phase with us (every answer holding back our next round) would keep us
	 * from ever reaching it directly; a copy that gets there first completes the handshake
	 * from that address, and roaming moves the peer's endpoint to it. The copy that comes
	 * second finds the handshake consumed and is dropped.
	 */
	if (send_handshake_locked(peer, &resp, sizeof(resp)) >= 0)
		peer->tx_bytes += sizeof(resp);
	rn_timers_session_derived(peer, now);
	log_debug(NOISE, "answered an initiation (index %08x)", index);
out:
	rn_wipe(&resp, sizeof(resp));
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
	uint8_t
	    buf[HEADROOM + RN_MESSAGE_MAX_LEN + RN_MESSAGE_PADDING_MULTIPLE + RN_NOISE_AUTHTAG_LEN];
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
	if (n && send_to_peer_locked(peer, buf, n) >= 0)
		peer->tx_bytes += n;
	rn_timers_any_authenticated_packet_traversal(peer, now);
	rn_timers_any_authenticated_packet_sent(peer);
	if (len)
		rn_timers_data_sent(peer, now);
}

void rn_send_keepalive_locked(struct rn_wg_peer *peer, uint64_t now)
{
	struct rn_noise_keypair *kp = rn_peer_sending_keypair_locked(peer, now);

	if (!kp) {
		rn_send_handshake_initiation_locked(peer, false, now);
		return;
	}
	send_one_locked(peer, kp, NULL, 0, now);
	keep_key_fresh_locked(peer, kp, now);
}

void rn_send_staged_locked(struct rn_wg_peer *peer, uint64_t now)
{
	struct rn_noise_keypair *kp = rn_peer_sending_keypair_locked(peer, now);

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

/* ---- the data path: batches of one TUN read each, encrypted by the workers ---- */

/* One TUN read, cut into IP packets that all go to one peer: the unit of work. */
struct rn_tx_buf {
	struct rn_pool_node node;
	struct rn_queue_item item;
	struct rn_wg_device *dev;
	struct rn_wg_peer *peer;     /* referenced while queued */
	struct rn_noise_keypair *kp; /* referenced while queued */
	uint64_t counter;	     /* the first packet's nonce; the others follow it */
	uint64_t now;
	int mtu, count, n_msgs;
	uint8_t *pkts[RN_MAX_SEGMENTS];
	size_t lens[RN_MAX_SEGMENTS];
	struct iovec msgs[RN_MAX_SEGMENTS]; /* the encrypted messages, for one GSO send */
	uint8_t *read_area;		    /* READ_AREA bytes: the read, and a lone packet */
	uint8_t *slot_area;		    /* SLOT_AREA bytes: the segments of a super-packet */
};

#define tx_of_item(it) ((struct rn_tx_buf *)((char *)(it)-offsetof(struct rn_tx_buf, item)))
#define tx_of_node(n)  ((struct rn_tx_buf *)((char *)(n)-offsetof(struct rn_tx_buf, node)))

/* The parallel step: encrypt every packet in place. Nonces were taken in read order. */
static void tx_process(struct rn_queue_item *item, void *worker)
{
	struct rn_tx_buf *b = tx_of_item(item);

	(void)worker;
	b->n_msgs = 0;
	if (b->counter + (uint64_t)b->count >= RN_REJECT_AFTER_MESSAGES)
		return;
	for (int i = 0; i < b->count; i++) {
		uint64_t nonce = b->counter + (uint64_t)i;
		size_t len = encrypt_in_place(b->kp, nonce, b->pkts[i], b->lens[i], b->mtu);

		if (!len)
			continue;
		b->msgs[b->n_msgs].iov_base = b->pkts[i] - HEADROOM;
		b->msgs[b->n_msgs++].iov_len = len;
	}
}

/* The ordered step: one GSO send, then the timer events the whitepaper ties to sending. */
static void tx_drain(struct rn_queue_item *item, void *worker)
{
	struct rn_tx_buf *b = tx_of_item(item);
	struct rn_wg_device *dev = b->dev;
	struct rn_wg_peer *peer = b->peer;
	union rn_wg_endpoint ep;
	struct rn_udp_src src, src_was;
	uint64_t total = 0;

	(void)worker;
	pthread_rwlock_rdlock(&dev->cfg_lock);
	if (peer->removed)
		goto out;
	pthread_mutex_lock(&peer->lock);
	ep = peer->endpoint;
	src = src_was = peer->endpoint_src;
	/*
	 * The timer events before the send, not after: the peer's answer may be handled before
	 * this thread has the lock again, and the events after it would undo what it did (start
	 * the no-reply timer it stopped, cancel the keepalive it made due): a needless handshake.
	 */
	rn_timers_any_authenticated_packet_traversal(peer, b->now);
	rn_timers_any_authenticated_packet_sent(peer);
	rn_timers_data_sent(peer, b->now);
	pthread_mutex_unlock(&peer->lock);
	if (b->n_msgs && ep.sa.sa_family != AF_UNSPEC &&
	    rn_send_to(peer, &ep, &src, b->msgs, b->n_msgs) >= 0)
		for (int i = 0; i < b->n_msgs; i++)
			total += b->msgs[i].iov_len;
	pthread_mutex_lock(&peer->lock);
	/* The source was refused (its address is gone): forget it, unless it changed meanwhile. */
	if (src.family != src_was.family && rn_udp_src_equal(&peer->endpoint_src, &src_was))
		peer->endpoint_src = src;
	peer->tx_bytes += total;
	keep_key_fresh_locked(peer, b->kp, b->now);
	pthread_mutex_unlock(&peer->lock);
out:
	pthread_rwlock_unlock(&dev->cfg_lock);
}

static void tx_release(struct rn_queue_item *item)
{
	struct rn_tx_buf *b = tx_of_item(item);

	rn_noise_keypair_put(b->kp);
	rn_peer_put(b->peer);
	b->kp = NULL;
	b->peer = NULL;
	rn_pool_put(&b->dev->tx_pool, &b->node);
}

const struct rn_serial_ops rn_send_serial_ops = {
	.process = tx_process,
	.drain = tx_drain,
	.release = tx_release,
};

static struct rn_wg_peer *route_packet(struct rn_wg_device *dev, const uint8_t *pkt, size_t len)
{
	if (len >= 20 && (pkt[0] >> 4) == 4)
		return rn_allowedips_lookup(&dev->allowedips, AF_INET, pkt + 16);
	if (len >= 40 && (pkt[0] >> 4) == 6)
		return rn_allowedips_lookup(&dev->allowedips, AF_INET6, pkt + 24);
	return NULL;
}

static size_t tx_gso_stride(const struct rn_offload_splitter *sp)
{
	size_t stride = HEADROOM + SEG_HDR_MAX + (size_t)sp->gso_size + TAILROOM;

	return (stride + 63) & ~(size_t)63;
}

/* Packets one buffer takes of what sp holds: 1 for a lone packet. */
static int tx_capacity(const struct rn_offload_splitter *sp)
{
	size_t fit;

	if (!sp->gso)
		return 1;
	fit = SLOT_AREA / tx_gso_stride(sp);
	return fit < RN_MAX_SEGMENTS ? (int)fit : RN_MAX_SEGMENTS;
}

/*
 * Cuts the next packets of sp into b: a lone packet stays where it was read, the segments of a
 * super-packet go to the slot area at a stride sized for their length, as many as fit. Returns
 * the packet count or -EINVAL.
 */
static int tx_split(struct rn_tx_buf *b, struct rn_offload_splitter *sp)
{
	uint8_t *slots = b->read_area;
	size_t stride = READ_AREA;
	int count;

	if (sp->gso) {
		stride = tx_gso_stride(sp);
		slots = b->slot_area;
	}
	count = rn_offload_split_next(sp, slots, stride, HEADROOM, b->lens, tx_capacity(sp));
	for (int i = 0; i < count; i++)
		b->pkts[i] = slots + (size_t)i * stride + HEADROOM;
	return count;
}

/*
 * Records the flow of a packet leaving through the tunnel, so the filter admits its replies.
 * Caller holds cfg_lock for reading and a filter is installed. The segments of a super-packet
 * share one 5-tuple, so one packet per batch is enough, and the lock is taken once per batch.
 */
static void tx_record_flow(struct rn_wg_device *dev, const uint8_t *pkt, size_t len, uint64_t now)
{
	pthread_mutex_lock(&dev->flows.write_lock);
	rn_flowtable_record(&dev->flows, pkt, len, now);
	pthread_mutex_unlock(&dev->flows.write_lock);
}

/* Routes b and queues it for encryption; false if it was staged or dropped instead. */
static bool tx_queue(struct rn_wg_device *dev, struct rn_tx_buf *b, int count,
		     struct rn_wg_worker *self)
{
	struct rn_noise_keypair *kp = NULL;
	struct rn_wg_peer *peer;
	uint64_t now = rn_now_ns();

	pthread_rwlock_rdlock(&dev->cfg_lock);
	/* The segments of a super-packet share its IP header: one lookup routes them all. */
	peer = route_packet(dev, b->pkts[0], b->lens[0]);
	if (peer && dev->filter)
		tx_record_flow(dev, b->pkts[0], b->lens[0], now);
	if (peer)
		kp = rn_peer_sending_keypair(peer, now);
	if (peer && !kp) {
		pthread_mutex_lock(&peer->lock);
		for (int i = 0; i < count; i++)
			rn_peer_stage_packet(peer, b->pkts[i], b->lens[i]);
		rn_send_handshake_initiation_locked(peer, false, now);
		pthread_mutex_unlock(&peer->lock);
	}
	if (kp)
		rn_peer_get(peer);
	pthread_rwlock_unlock(&dev->cfg_lock);
	if (!kp)
		return false;
	b->peer = peer;
	b->kp = kp;
	b->now = now;
	b->count = count;
	b->mtu = dev->mtu;
	b->counter = atomic_fetch_add(&kp->send_counter, (uint64_t)count);
	rn_queue_submit(&dev->queue, &peer->tx_serial, &b->item, self, count == 1);
	return true;
}

/* A free buffer: helps the workers while none is, then waits for one; NULL once stopping. */
static struct rn_tx_buf *tx_buf_get(struct rn_wg_device *dev, struct rn_wg_worker *self)
{
	struct rn_pool_node *node = rn_pool_get(&dev->tx_pool, 0);

	/* Every buffer in flight: the back-pressure reaches the TUN queue rather than dropping. */
	while (!node && rn_queue_help(&dev->queue, self))
		node = rn_pool_get(&dev->tx_pool, 0);
	if (!node)
		node = rn_pool_get(&dev->tx_pool, -1);
	return node ? tx_of_node(node) : NULL;
}

/*
 * Queues every packet of one TUN read, which sits in b's read area. A super-packet with more
 * segments than one buffer takes (123 at MSS 536, thousands at a tiny one) goes out over
 * several: the leading segments in other buffers first, so that b, whose read area is the
 * input until the last segment is cut, carries the last ones and the peer's queue keeps the
 * read's order. Returns b if it is still the caller's, NULL once it is queued.
 */
static struct rn_tx_buf *tx_read_queue(struct rn_wg_device *dev, struct rn_tx_buf *b,
				       struct rn_offload_splitter *sp, struct rn_wg_worker *self)
{
	size_t cap = (size_t)tx_capacity(sp);
	int count;

	while (rn_offload_split_left(sp) > cap) {
		struct rn_tx_buf *o = tx_buf_get(dev, self);

		if (!o)
			return b; /* stopping */
		count = tx_split(o, sp);
		if (count <= 0 || !tx_queue(dev, o, count, self))
			rn_pool_put(&dev->tx_pool, &o->node);
		if (count <= 0)
			goto refused;
	}
	count = tx_split(b, sp);
	if (count > 0)
		return tx_queue(dev, b, count, self) ? NULL : b;
refused: /* cannot happen: the slots are sized from the segment size */
	log_debug(TX, "dropped the last %zu of %zu packets of a read from %s: they fit no buffer",
		  rn_offload_split_left(sp), sp->n, dev->ifname);
	return b;
}

void *rn_send_tun_thread(void *arg)
{
	struct rn_wg_device *dev = arg;
	size_t vhdr = dev->vnet_hdr ? RN_OFFLOAD_VNET_HDR_LEN : 0;
	struct pollfd pfd[2] = { { .fd = dev->tun_fd, .events = POLLIN },
				 { .fd = dev->stop_fd, .events = POLLIN } };
	struct rn_wg_worker *self = &dev->workers[dev->n_workers + RN_READER_TUN];
	struct rn_offload_splitter sp;
	struct rn_tx_buf *b = NULL;

	while (!dev->stopping) {
		uint8_t *rbuf;
		ssize_t n;

		if (!b && !(b = tx_buf_get(dev, self)))
			break;
		/* Straight into the read area, so a lone packet is never copied. */
		rbuf = b->read_area + HEADROOM - vhdr;
		n = read(dev->tun_fd, rbuf, READ_AREA - HEADROOM + vhdr);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				/* Idle: the buffer goes back, so the pool can trim it if this lasts. */
				rn_pool_put(&dev->tx_pool, &b->node);
				b = NULL;
				poll(pfd, 2, -1);
				continue;
			}
			log_info(TUN, "reading %s failed (%s): the interface is gone", dev->ifname,
				 strerror(errno));
			dev->dead = true;
			break;
		}
		if (rn_offload_split_begin(&sp, rbuf, (size_t)n, dev->vnet_hdr) <= 0) {
			log_debug(TX, "dropped a malformed %zd-byte packet from %s", n,
				  dev->ifname);
			continue;
		}
		b = tx_read_queue(dev, b, &sp, self);
	}
	if (b)
		rn_pool_put(&dev->tx_pool, &b->node);
	return NULL;
}

/* The pool's release: the buffer was idle a whole trim period. */
static void tx_buf_release(struct rn_pool_node *node)
{
	rn_pool_mem_release(tx_of_node(node)->read_area, TX_AREAS);
}

int rn_send_pool_alloc(struct rn_wg_device *dev, unsigned int n)
{
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	dev->tx_bufs = calloc(n, sizeof(*dev->tx_bufs));
	if (!dev->tx_bufs)
		return -ENOMEM;
	dev->tx_pool.release = tx_buf_release;
	for (unsigned int i = 0; i < n; i++) {
		struct rn_tx_buf *b = calloc(1, sizeof(*b));

		if (!b)
			return -ENOMEM;
		dev->tx_bufs[dev->n_tx_bufs++] = b;
		b->dev = dev;
		b->read_area = rn_pool_mem_alloc(TX_AREAS);
		if (!b->read_area)
			return -ENOMEM;
		b->slot_area = b->read_area + TX_READ_AREA_PAGES;
		rn_pool_put(&dev->tx_pool, &b->node);
	}
	return 0;
}

void rn_send_pool_free(struct rn_wg_device *dev)
{
	for (unsigned int i = 0; i < dev->n_tx_bufs; i++) {
		rn_pool_mem_free(dev->tx_bufs[i]->read_area, TX_AREAS);
		free(dev->tx_bufs[i]);
	}
	free(dev->tx_bufs);
	dev->tx_bufs = NULL;
	dev->n_tx_bufs = 0;
}
