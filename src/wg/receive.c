/* SPDX-License-Identifier: MIT */
/*
 * The receive path. The UDP reader receives into a pooled buffer (recvmmsg + GRO), checks each
 * message's type and exact length before any crypto, and files data messages into one batch
 * per session, queued on the peer's ordered queue (queue.h). A crypto worker decrypts a batch
 * in place; the peer's drain then, in arrival order, drops replays and inner packets whose
 * source is not in the sending peer's allowed IPs (crypto-key routing) or that the packet
 * filter refuses (pktfilter.h, when one is installed), and writes the survivors to TUN merged into super-packets. Handshake messages are copied to a queue for
 * the handshake workers (one per CPU), which check macs, cookies and rate limits first; an
 * initiation is opened (its X25519) before the peer is known, so without any lock, and
 * finished and answered under the peer's lock, so the replay and flood checks and the
 * response see one peer's state at a time whichever worker took the message.
 */
#include "wg/device_priv.h"

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "wg/clock.h"
#include "wg/crypto.h"
#include "wg/offload.h"

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

enum {
	/*
	 * Sessions one receive may carry; data for more is dropped (only a forger mixes so many
	 * into one GRO train, and without GRO one receive holds at most this many datagrams).
	 */
	RX_MAX_BATCHES = RN_UDP_RX_MAX_MSGS,
	/* Datagrams one receive may carry: 64 in each GRO message at most. */
	RX_MAX_DGRAMS = RN_UDP_RX_MSGS_GRO * 64,
	RX_END = 0xffff,
	/*
	 * How long the reader waits for a buffer before it drops. Measured with a TCP stream on
	 * 2 cores: dropping at once lost ~0.5% of the datagrams (the drains, not the crypto, were
	 * behind), 2 ms ~0.05%, 20 ms none; the socket buffer holds the burst meanwhile.
	 */
	RX_POOL_WAIT_MS = 20,
	/* Searches of the peers for the sender of a data message for no session of ours. */
	RX_UNKNOWN_SCAN_MS = 1,
};

/* One received data message, decrypted in place. */
struct rx_dgram {
	uint8_t *msg;
	uint32_t len;
	uint16_t next; /* the next datagram of the same batch, or RX_END */
	uint8_t from;  /* the received message it came in: indexes rx.from */
	bool ok;       /* authenticated; after the replay check, also fresh */
};

/* The data messages of one receive for one session: the unit of work. */
struct rn_rx_batch {
	struct rn_queue_item item;
	struct rn_rx_buf *buf;
	struct rn_wg_peer *peer;     /* referenced while queued */
	struct rn_noise_keypair *kp; /* referenced while queued */
	uint32_t index;
	uint16_t first, last;
};

/* One recvmmsg() and the batches cut from it; back to the pool once every batch is released. */
struct rn_rx_buf {
	struct rn_pool_node node;
	struct rn_wg_device *dev;
	uint64_t now;
	_Atomic unsigned int pending; /* batches not yet released */
	unsigned int n_batches, n_dgrams;
	struct rn_rx_batch batches[RX_MAX_BATCHES];
	struct rx_dgram dgrams[RX_MAX_DGRAMS];
	struct rn_udp_rx rx; /* points into itself: never moved */
};

#define rx_of_item(it) ((struct rn_rx_batch *)((char *)(it)-offsetof(struct rn_rx_batch, item)))
#define rx_of_node(n)  ((struct rn_rx_buf *)((char *)(n)-offsetof(struct rn_rx_buf, node)))

static uint64_t dgram_counter(const struct rx_dgram *d)
{
	const struct rn_message_data *hdr = (const struct rn_message_data *)d->msg;

	return le64toh(hdr->counter);
}

/* The parallel step: authenticate and decrypt every message in place. */
static void rx_process(struct rn_queue_item *item, void *worker)
{
	struct rn_rx_batch *bt = rx_of_item(item);
	struct rn_noise_keypair *kp = bt->kp;
	bool expired = bt->buf->now - kp->birthdate_ns >= RN_REJECT_AFTER_TIME_S * RN_NS_PER_S;

	(void)worker;
	for (uint16_t i = bt->first; i != RX_END; i = bt->buf->dgrams[i].next) {
		struct rx_dgram *d = &bt->buf->dgrams[i];
		uint8_t *plain = d->msg + RN_MESSAGE_DATA_HEADER_LEN;

		d->ok = !expired && rn_aead_open1(plain, plain, d->len - RN_MESSAGE_DATA_HEADER_LEN,
						  NULL, 0, dgram_counter(d), kp->recv_key);
	}
}

/* Replay check, in arrival order: the window lock once for the batch. */
static void rx_replay(struct rn_rx_batch *bt)
{
	struct rn_noise_keypair *kp = bt->kp;
	unsigned int replayed = 0;

	pthread_mutex_lock(&kp->replay_lock);
	for (uint16_t i = bt->first; i != RX_END; i = bt->buf->dgrams[i].next) {
		struct rx_dgram *d = &bt->buf->dgrams[i];

		if (!d->ok)
			continue;
		d->ok = rn_replay_check(&kp->replay, dgram_counter(d), RN_REJECT_AFTER_MESSAGES);
		replayed += !d->ok;
	}
	pthread_mutex_unlock(&kp->replay_lock);
	if (replayed)
		log_debug(RX, "dropped %u replayed or too old packets", replayed);
}

/* What one batch did for its peer, applied under the peer's lock once. */
struct rx_acc {
	uint64_t rx_bytes;
	unsigned int filtered; /* refused by the packet filter */
	bool got_any, got_data;
	const union rn_wg_endpoint *src; /* latest authenticated source */
	const struct rn_udp_src *local;	 /* and the local address it arrived on */
};

/*
 * Data that came through a relay does not move a peer off a direct endpoint: after a probe moved
 * the session to a direct path, packets still queued in the relay arrive later than the direct
 * ones and would move it back. Handshake messages still roam anywhere, and the owner's chooser
 * gives the relay endpoint when the direct path goes quiet (docs/nat-traversal.md). Caller
 * holds cfg_lock (read) and peer->lock.
 */
static bool rx_relay_stays_off(const struct rn_wg_device *dev, const struct rn_wg_peer *peer,
			       const union rn_wg_endpoint *src)
{
	return dev->relay_fn && rn_wg_is_relay_endpoint(src) &&
	       peer->endpoint.sa.sa_family != AF_UNSPEC &&
	       !rn_wg_is_relay_endpoint(&peer->endpoint);
}

static void rx_account(struct rn_rx_batch *bt, const struct rx_acc *acc)
{
	struct rn_wg_peer *peer = bt->peer;
	struct rn_noise_keypair *kp = bt->kp;
	uint64_t now = bt->buf->now;

	pthread_mutex_lock(&peer->lock);
	peer->rx_bytes += acc->rx_bytes;
	/* Roaming: the latest authenticated source is where the peer is now, and we answer
	 * from the address it reached us on. */
	if (!rx_relay_stays_off(bt->buf->dev, peer, acc->src))
		rn_peer_set_endpoint(peer, acc->src, acc->local);
	rn_timers_any_authenticated_packet_received(peer, now);
	rn_timers_any_authenticated_packet_traversal(peer, now);
	if (acc->got_data)
		rn_timers_data_received(peer, now);
	/* Whitepaper 6.2: an initiator near the end of a session rekeys on receive too. */
	if (kp == peer->keypairs.current && kp->i_am_initiator &&
	    !peer->sent_lastminute_handshake &&
	    now - kp->birthdate_ns >=
		(RN_REJECT_AFTER_TIME_S - RN_KEEPALIVE_TIMEOUT_S - RN_REKEY_TIMEOUT_S) *
		    RN_NS_PER_S) {
		peer->sent_lastminute_handshake = true;
		rn_send_handshake_initiation_locked(peer, false, now);
	}
	pthread_mutex_unlock(&peer->lock);
}

/* The first authenticated message on a responder's new session confirms it. */
static void rx_confirm(struct rn_rx_batch *bt)
{
	struct rn_wg_peer *peer = bt->peer;

	if (!rn_peer_confirm_keypair(peer, bt->kp))
		return;
	pthread_mutex_lock(&peer->lock);
	rn_timers_handshake_complete(peer);
	rn_send_staged_locked(peer, bt->buf->now);
	pthread_mutex_unlock(&peer->lock);
}

/*
 * Crypto-key routing: an inner packet must come from one of the sending peer's allowed IPs.
 * Then the packet filter (with none, the device's default: rustynetd's drops all): it sees only
 * sources the peer may use, so a rule's source prefixes stand for the peers behind them.
 */
static void rx_inner(struct rn_wg_device *dev, struct rn_rx_batch *bt, struct rn_gro *gro,
		     struct rx_dgram *d, struct rx_acc *acc)
{
	uint8_t *plain = d->msg + RN_MESSAGE_DATA_HEADER_LEN;
	size_t plain_len = d->len - RN_MESSAGE_DATA_MIN_LEN, ip_len;
	const uint8_t *inner_src;
	int family;

	if (!plain_len)
		return; /* keepalive */
	ip_len = inner_packet(plain, plain_len, &family, &inner_src);
	if (!ip_len) {
		log_debug(RX, "dropped a malformed inner packet");
		return;
	}
	if (rn_allowedips_lookup(&dev->allowedips, family, inner_src) != bt->peer) {
		log_debug(RX, "dropped a packet whose source is not in the peer's allowed IPs");
		return;
	}
	/* The session carried data, refused or not: the timers' keepalive is still due. */
	acc->got_data = true;
	if (!rn_device_admits(dev, bt->peer, plain, ip_len, bt->buf->now)) {
		acc->filtered++;
		return;
	}
	if (rn_gro_add(gro, plain, ip_len) < 0) {
		rn_gro_flush(gro, dev->tun_fd);
		if (rn_gro_add(gro, plain, ip_len) < 0)
			log_debug(RX, "dropped a packet the TUN writer refused");
	}
}

/* Caller holds cfg_lock for reading and the peer is not removed. */
static void rx_deliver(struct rn_wg_device *dev, struct rn_rx_batch *bt, struct rn_gro *gro)
{
	struct rx_acc acc = { 0 };

	rx_replay(bt);
	for (uint16_t i = bt->first; i != RX_END; i = bt->buf->dgrams[i].next) {
		struct rx_dgram *d = &bt->buf->dgrams[i];

		if (!d->ok)
			continue;
		/* Authenticated: from here on the packet counts as coming from this peer. */
		if (!acc.got_any)
			rx_confirm(bt);
		acc.got_any = true;
		acc.rx_bytes += d->len;
		acc.src = &bt->buf->rx.from[d->from];
		acc.local = &bt->buf->rx.local[d->from];
		rx_inner(dev, bt, gro, d, &acc);
	}
	if (acc.got_any)
		rx_account(bt, &acc);
	if (acc.filtered) {
		atomic_fetch_add(&dev->filtered, acc.filtered);
		log_debug(RX, "the packet filter refused %u packets", acc.filtered);
	}
}

/* The ordered step: one thread at a time per peer, so the worker's GRO table is its own. */
static void rx_drain(struct rn_queue_item *item, void *worker)
{
	struct rn_rx_batch *bt = rx_of_item(item);
	struct rn_wg_device *dev = bt->buf->dev;
	struct rn_wg_worker *w = worker;

	pthread_rwlock_rdlock(&dev->cfg_lock);
	if (!bt->peer->removed)
		rx_deliver(dev, bt, &w->gro);
	pthread_rwlock_unlock(&dev->cfg_lock);
	/* Before the release: the GRO table points into the batch's buffer. */
	rn_gro_flush(&w->gro, dev->tun_fd);
}

static void rx_release(struct rn_queue_item *item)
{
	struct rn_rx_batch *bt = rx_of_item(item);
	struct rn_rx_buf *buf = bt->buf;

	rn_noise_keypair_put(bt->kp);
	rn_peer_put(bt->peer);
	bt->kp = NULL;
	bt->peer = NULL;
	if (atomic_fetch_sub(&buf->pending, 1) == 1)
		rn_pool_put(&buf->dev->rx_pool, &buf->node);
}

const struct rn_serial_ops rn_receive_serial_ops = {
	.process = rx_process,
	.drain = rx_drain,
	.release = rx_release,
};

static void queue_handshake(struct rn_wg_device *dev, const struct rn_udp_dgram *d)
{
	struct rn_handshake_job *job;

	pthread_mutex_lock(&dev->hs_lock);
	if (dev->hs_count < RN_HANDSHAKE_QUEUE_LEN) {
		job = &dev->hs_queue[(dev->hs_head + dev->hs_count) % RN_HANDSHAKE_QUEUE_LEN];
		job->src = *d->from;
		job->local = *d->local;
		job->len = (uint16_t)d->len;
		memcpy(job->data, d->data, d->len);
		dev->hs_count++;
		pthread_cond_signal(&dev->hs_cond);
	}
	pthread_mutex_unlock(&dev->hs_lock);
}

/* The batch of b for this session: the last one used, another one, or a new one. */
static struct rn_rx_batch *rx_batch_for(struct rn_wg_device *dev, struct rn_rx_buf *b,
					uint32_t index, struct rn_rx_batch *last)
{
	struct rn_noise_keypair *kp;
	struct rn_wg_peer *peer;
	struct rn_rx_batch *bt;

	if (last && last->index == index)
		return last;
	for (unsigned int i = 0; i < b->n_batches; i++)
		if (b->batches[i].index == index)
			return &b->batches[i];
	if (b->n_batches == RX_MAX_BATCHES ||
	    !rn_index_lookup(&dev->index, index, RN_INDEX_KEYPAIR, &peer, &kp))
		return NULL;
	bt = &b->batches[b->n_batches++];
	bt->buf = b;
	bt->peer = rn_peer_get(peer); /* alive: we hold the cfg_lock */
	bt->kp = kp;
	bt->index = index;
	bt->first = bt->last = RX_END;
	return bt;
}

/*
 * One initiation for a peer that sends on a session we lack, if we have none to send on: at
 * most one per REKEY_TIMEOUT, and no retransmission armed (the peer's next message asks
 * again), so a forger gets no more than that out of us. Caller holds peer->lock.
 */
static void rx_initiate_for_unknown(struct rn_wg_peer *peer, uint64_t now)
{
	uint64_t armed = peer->timer_retransmit_handshake;

	if (rn_peer_sending_keypair_locked(peer, now) ||
	    (peer->last_unknown_initiation_ns &&
	     now - peer->last_unknown_initiation_ns < RN_REKEY_TIMEOUT_S * RN_NS_PER_S))
		return;
	peer->last_unknown_initiation_ns = now;
	log_debug(NOISE, "data for a session we do not have, from the peer's endpoint: initiating");
	rn_send_handshake_initiation_locked(peer, true, now);
	if (!armed)
		peer->timer_retransmit_handshake = 0;
}

/*
 * A data message for a session we do not have (docs/dataplane.md). From the very endpoint of
 * one of our peers it most likely means the peer still sends on a session we lost (this
 * process restarted, the keys were zeroed): it would go on until its own timer gave up on us
 * (KEEPALIVE + REKEY_TIMEOUT, 15 s), where one initiation from us replaces the session at
 * once. Anyone can forge such a message: it costs one search of the peers per
 * RX_UNKNOWN_SCAN_MS at most and sends nothing but that initiation, to the endpoint we had.
 * Caller holds cfg_lock (read); the UDP reader only.
 */
static void rx_unknown_session(struct rn_wg_device *dev, uint64_t now,
			       const union rn_wg_endpoint *from)
{
	if (dev->last_unknown_scan_ns &&
	    now - dev->last_unknown_scan_ns < RX_UNKNOWN_SCAN_MS * RN_NS_PER_MS)
		return;
	dev->last_unknown_scan_ns = now;
	for (struct rn_wg_peer *peer = dev->peers; peer; peer = peer->next) {
		bool match;

		pthread_mutex_lock(&peer->lock);
		match = rn_endpoint_equal(&peer->endpoint, from);
		if (match)
			rx_initiate_for_unknown(peer, now);
		pthread_mutex_unlock(&peer->lock);
		if (match)
			return;
	}
}

/* Files a data message under its session's batch; returns the batch to try first next time. */
static struct rn_rx_batch *rx_add_data(struct rn_wg_device *dev, struct rn_rx_buf *b,
				       const struct rn_udp_dgram *d, struct rn_rx_batch *last)
{
	const struct rn_message_data *hdr = (const struct rn_message_data *)d->data;
	struct rn_rx_batch *bt = rx_batch_for(dev, b, le32toh(hdr->key_idx), last);
	struct rx_dgram *dg;
	uint16_t i;

	if (!bt) {
		if (b->n_batches < RX_MAX_BATCHES) /* then the index is no session of ours */
			rx_unknown_session(dev, b->now, d->from);
		return last;
	}
	if (b->n_dgrams == RX_MAX_DGRAMS) {
		dev->rx_pool_drops++;
		return bt;
	}
	i = (uint16_t)b->n_dgrams++;
	dg = &b->dgrams[i];
	dg->msg = d->data;
	dg->len = (uint32_t)d->len;
	dg->from = (uint8_t)(d->from - b->rx.from);
	dg->next = RX_END;
	dg->ok = false;
	if (bt->last == RX_END)
		bt->first = i;
	else
		b->dgrams[bt->last].next = i;
	bt->last = i;
	return bt;
}

/*
 * Sorts one receive: type and exact length first, nothing else is looked at on a message that
 * fails them; handshakes to their worker, data into one batch per session unless !keep_data.
 * Returns the number of batches.
 */
static unsigned int rx_sort(struct rn_wg_device *dev, struct rn_rx_buf *b, bool keep_data,
			    bool relayed)
{
	struct rn_rx_batch *last = NULL;
	struct rn_udp_dgram d;
	uint32_t type;

	b->n_batches = b->n_dgrams = 0;
	b->now = rn_now_ns();
	pthread_rwlock_rdlock(&dev->cfg_lock);
	while (rn_udp_rx_next(&b->rx, &d)) {
		if (d.len < sizeof(type))
			continue;
		memcpy(&type, d.data, sizeof(type));
		switch (le32toh(type)) {
		case RN_MESSAGE_DATA:
			if (d.len < RN_MESSAGE_DATA_MIN_LEN)
				break;
			if (keep_data)
				last = rx_add_data(dev, b, &d, last);
			else
				dev->rx_pool_drops++;
			break;
		case RN_MESSAGE_HANDSHAKE_INITIATION:
			if (d.len == RN_MESSAGE_INITIATION_LEN)
				queue_handshake(dev, &d);
			break;
		case RN_MESSAGE_HANDSHAKE_RESPONSE:
			if (d.len == RN_MESSAGE_RESPONSE_LEN)
				queue_handshake(dev, &d);
			break;
		case RN_MESSAGE_HANDSHAKE_COOKIE:
			if (d.len == RN_MESSAGE_COOKIE_LEN)
				queue_handshake(dev, &d);
			break;
		default:
			if (dev->foreign_fn && !relayed && d.len <= RN_WG_FOREIGN_MAX_LEN)
				dev->foreign_fn(dev->foreign_ctx, d.data, d.len, d.from);
			else
				log_debug(RX, "dropped a %zu-byte message of unknown type", d.len);
		}
	}
	pthread_rwlock_unlock(&dev->cfg_lock);
	return b->n_batches;
}

/* Hands every batch of b to the workers; b belongs to them from the first submit on. */
static void rx_submit(struct rn_wg_device *dev, struct rn_rx_buf *b, unsigned int n,
		      struct rn_wg_worker *self)
{
	atomic_store(&b->pending, n);
	for (unsigned int i = 0; i < n; i++) {
		struct rn_rx_batch *bt = &b->batches[i];

		rn_queue_submit(&dev->queue, &bt->peer->rx_serial, &bt->item, self,
				bt->first == bt->last);
	}
}

/* Mapped, not from the heap: its ~40 KiB of tables take memory only once a receive uses them. */
static struct rn_rx_buf *rx_buf_new(struct rn_wg_device *dev)
{
	struct rn_rx_buf *b = rn_pool_mem_alloc(sizeof(*b));

	if (!b)
		return NULL;
	b->dev = dev;
	if (rn_udp_rx_init(&b->rx, &dev->udp) < 0) {
		rn_pool_mem_free(b, sizeof(*b));
		return NULL;
	}
	return b;
}

static void rx_buf_free(struct rn_rx_buf *b)
{
	if (!b)
		return;
	rn_udp_rx_free(&b->rx);
	rn_pool_mem_free(b, sizeof(*b));
}

/* The pool's release: the arena was idle a whole trim period. */
static void rx_buf_release(struct rn_pool_node *node)
{
	rn_udp_rx_release(&rx_of_node(node)->rx);
}

int rn_receive_pool_alloc(struct rn_wg_device *dev, unsigned int n)
{
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	dev->rx_bufs = calloc(n, sizeof(*dev->rx_bufs));
	if (!dev->rx_bufs)
		return -ENOMEM;
	dev->rx_pool.release = rx_buf_release;
	for (unsigned int i = 0; i < n; i++) {
		struct rn_rx_buf *b = rx_buf_new(dev);

		if (!b)
			return -ENOMEM;
		dev->rx_bufs[dev->n_rx_bufs++] = b;
		rn_pool_put(&dev->rx_pool, &b->node);
	}
	return 0;
}

void rn_receive_pool_free(struct rn_wg_device *dev)
{
	for (unsigned int i = 0; i < dev->n_rx_bufs; i++)
		rx_buf_free(dev->rx_bufs[i]);
	free(dev->rx_bufs);
	dev->rx_bufs = NULL;
	dev->n_rx_bufs = 0;
}

/*
 * One receive of the UDP reader into *bp: sorted, and its batches handed to the workers (then
 * *bp is NULL: the buffer is theirs). The data of a receive into spare is dropped. Returns what
 * rn_udp_recv_batch returned.
 */
static int rx_step(struct rn_wg_device *dev, struct rn_rx_buf **bp, const struct rn_rx_buf *spare,
		   struct rn_wg_worker *self)
{
	struct rn_rx_buf *b = *bp;
	unsigned int batches;
	int n = rn_udp_recv_batch(&dev->udp, &b->rx);

	if (n <= 0)
		return n;
	batches = rx_sort(dev, b, b != spare, false);
	if (batches) {
		rx_submit(dev, b, batches, self);
		*bp = NULL;
	}
	return n;
}

int rn_receive_udp_once(struct rn_wg_device *dev)
{
	struct rn_pool_node *node = rn_pool_get(&dev->rx_pool, 0);
	struct rn_rx_buf *b;
	int n;

	if (!node)
		return -ENOBUFS;
	b = rx_of_node(node);
	n = rx_step(dev, &b, NULL, &dev->workers[dev->n_workers + RN_READER_UDP]);
	if (b)
		rn_pool_put(&dev->rx_pool, &b->node);
	return n;
}

/*
 * One datagram from a relay, put in a receive buffer as if one recvmmsg had received it from
 * the relay endpoint, then sorted and submitted as the UDP reader does.
 */
int rn_receive_relay_input(struct rn_wg_device *dev, const union rn_wg_endpoint *from,
			   const void *buf, size_t len)
{
	struct rn_wg_worker *self = &dev->workers[dev->n_workers + RN_READER_RELAY];
	struct rn_pool_node *node = rn_pool_get(&dev->rx_pool, 0);
	struct rn_rx_buf *b;
	unsigned int batches;

	while (!node && rn_queue_help(&dev->queue, self))
		node = rn_pool_get(&dev->rx_pool, 0);
	if (!node)
		node = rn_pool_get(&dev->rx_pool, RX_POOL_WAIT_MS);
	if (!node) {
		atomic_fetch_add(&dev->rx_pool_drops, 1);
		return -ENOBUFS;
	}
	b = rx_of_node(node);
	if (len > b->rx.buf_size) {
		rn_pool_put(&dev->rx_pool, &b->node);
		return -EINVAL;
	}
	memcpy(b->rx.arena, buf, len);
	b->rx.msgs[0].msg_len = (unsigned int)len;
	b->rx.seg_size[0] = 0;
	b->rx.from[0] = *from;
	memset(&b->rx.local[0], 0, sizeof(b->rx.local[0]));
	b->rx.local[0].family = AF_UNSPEC;
	b->rx.n_msgs = 1;
	b->rx.cur = 0;
	b->rx.off = 0;
	batches = rx_sort(dev, b, true, true);
	if (batches)
		rx_submit(dev, b, batches, self);
	else
		rn_pool_put(&dev->rx_pool, &b->node);
	return 0;
}

void *rn_receive_udp_thread(void *arg)
{
	struct rn_wg_device *dev = arg;
	struct rn_wg_worker *self = &dev->workers[dev->n_workers + RN_READER_UDP];
	struct rn_rx_buf *spare = rx_buf_new(dev), *b = NULL;
	uint64_t spare_used_ns = 0; /* 0: its pages are given back (or never touched) */

	if (!spare) {
		log_error(RX, "out of memory for the receive buffers");
		dev->dead = true;
		return NULL;
	}
	while (!dev->stopping) {
		struct pollfd pfd[3] = { { .fd = dev->udp.fd, .events = POLLIN },
					 { .fd = dev->stop_fd, .events = POLLIN },
					 { .fd = dev->udp_wake_fd, .events = POLLIN } };
		struct rn_pool_node *node;
		uint64_t wake;
		int n;

		/*
		 * Every buffer in flight: help the workers with what is queued, then give the
		 * drains a moment (the socket buffer holds the burst meanwhile); if still none
		 * is free, receive into the spare buffer, so handshakes still get through, and
		 * drop the data as a full socket buffer would.
		 */
		if (!b || b == spare) {
			node = rn_pool_get(&dev->rx_pool, 0);
			while (!node && rn_queue_help(&dev->queue, self))
				node = rn_pool_get(&dev->rx_pool, 0);
			if (!node)
				node = rn_pool_get(&dev->rx_pool, RX_POOL_WAIT_MS);
			b = node ? rx_of_node(node) : spare;
		}
		n = rx_step(dev, &b, spare, self);
		if (b == spare && n > 0)
			spare_used_ns = rn_now_ns();
		if (n == -EAGAIN || n == -EINTR) {
			/* Idle: the buffer goes back, so the pool can trim it if this lasts. */
			if (b && b != spare)
				rn_pool_put(&dev->rx_pool, &b->node);
			b = NULL;
			if (spare_used_ns &&
			    rn_now_ns() - spare_used_ns >= RN_POOL_TRIM_MS * RN_NS_PER_MS) {
				rn_udp_rx_release(&spare->rx);
				spare_used_ns = 0;
			}
			/* Rebinding swaps the socket under the same fd: poll it anew. */
			if (poll(pfd, 3, 1000) > 0 && (pfd[2].revents & POLLIN) &&
			    read(dev->udp_wake_fd, &wake, sizeof(wake)) < 0)
				log_debug(RX, "draining the wake-up event failed");
		} else if (n < 0) {
			log_debug(RX, "receive failed: %s", strerror(-n));
		}
	}
	if (b && b != spare)
		rn_pool_put(&dev->rx_pool, &b->node);
	rx_buf_free(spare);
	return NULL;
}

static void send_cookie_reply(struct rn_wg_device *dev, const struct rn_handshake_job *job,
			      uint64_t now)
{
	struct rn_message_handshake_cookie reply;
	struct rn_udp_src local = job->local;
	struct iovec iov = { .iov_base = &reply, .iov_len = sizeof(reply) };
	uint32_t sender_index;

	/* Initiations and responses both carry the sender's index right after the type. */
	memcpy(&sender_index, job->data + 4, sizeof(sender_index));
	/* The relay hook needs the peer's key, which a cookie reply cannot know: none is sent. */
	if (dev->relay_fn && rn_wg_is_relay_endpoint(&job->src))
		return;
	rn_cookie_reply_create(&dev->cookie_checker, &reply, job->data, job->len,
			       le32toh(sender_index), &job->src.sa, now);
	rn_udp_send_batch_from(&dev->udp, &job->src, &local, &iov, 1);
	log_debug(NOISE, "under load: sent a cookie reply");
}

/*
 * Crossed initiations (docs/dataplane.md): both sides sent one before hearing the other. Each
 * answers the other's, as every WireGuard does, which replaces its own; so each holds only an
 * unconfirmed responder session, neither may send on it, and the pair waits for a retry after
 * REKEY_TIMEOUT. The side with the larger static public key (bytewise) therefore answers but
 * keeps its own initiation pending: the smaller side's answer to it completes a session both
 * send on at once. Still answering keeps us working with a peer whose answer to ours is lost,
 * or that never heard of the tie-break. Caller holds peer->lock.
 */
static bool keeps_own_initiation(const struct rn_wg_device *dev, const struct rn_wg_peer *peer)
{
	return peer->handshake.state == RN_HANDSHAKE_CREATED_INITIATION &&
	       memcmp(dev->identity.static_public, peer->public_key, RN_WG_KEY_LEN) > 0;
}

/*
 * Answers the initiation consumed into peer->handshake while the one we sent, saved in mine,
 * stays pending under its index; the replay and flood guards are the consumed one's.
 */
static void answer_keeping_own(struct rn_wg_peer *peer, struct rn_noise_handshake *mine,
			       uint64_t now)
{
	struct rn_noise_handshake *hs = &peer->handshake;

	hs->local_index = 0; /* the response takes its own index; ours stays registered */
	rn_send_handshake_response_locked(peer, now);
	memcpy(mine->latest_timestamp, hs->latest_timestamp, sizeof(mine->latest_timestamp));
	mine->last_initiation_consumption_ns = hs->last_initiation_consumption_ns;
	*hs = *mine;
	log_debug(NOISE, "crossed initiations: answered, and ours (index %08x) stays pending",
		  hs->local_index);
}

static void handle_initiation(struct rn_wg_device *dev, const struct rn_handshake_job *job,
			      uint64_t now)
{
	const struct rn_message_handshake_initiation *msg = (const void *)job->data;
	struct rn_noise_initiation_state st;
	struct rn_noise_handshake mine;
	struct rn_wg_peer *peer;
	bool keep;

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
	keep = keeps_own_initiation(dev, peer);
	if (keep)
		mine = peer->handshake;
	if (!rn_noise_finish_initiation(&peer->handshake, &st, msg, now)) {
		log_debug(NOISE, "dropped a replayed or flooding initiation");
		goto out;
	}
	rn_peer_set_endpoint(peer, &job->src, &job->local);
	rn_timers_any_authenticated_packet_received(peer, now);
	rn_timers_any_authenticated_packet_traversal(peer, now);
	peer->rx_bytes += job->len;
	if (keep)
		answer_keeping_own(peer, &mine, now);
	else
		rn_send_handshake_response_locked(peer, now);
out:
	pthread_mutex_unlock(&peer->lock);
	if (keep)
		rn_wipe(&mine, sizeof(mine));
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
	rn_peer_set_endpoint(peer, &job->src, &job->local);
	peer->rx_bytes += job->len;
	rn_timers_any_authenticated_packet_received(peer, now);
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

/*
 * Takes the oldest queued message into job; caller holds hs_lock and the queue is not empty.
 * Whitepaper 5.3: a long queue means someone floods us; stay wary for a while after it.
 */
static bool hs_take(struct rn_wg_device *dev, struct rn_handshake_job *job, uint64_t now)
{
	if (dev->hs_count >= RN_UNDER_LOAD_QUEUE_LEN)
		dev->last_under_load_ns = now;
	*job = dev->hs_queue[dev->hs_head];
	dev->hs_head = (dev->hs_head + 1) % RN_HANDSHAKE_QUEUE_LEN;
	dev->hs_count--;
	return dev->force_under_load ||
	       (dev->last_under_load_ns &&
		now - dev->last_under_load_ns < RN_UNDER_LOAD_AFTER_MS * RN_NS_PER_MS);
}

bool rn_receive_handshake_once(struct rn_wg_device *dev)
{
	struct rn_handshake_job job;
	uint64_t now = rn_now_ns();
	bool under_load;

	pthread_mutex_lock(&dev->hs_lock);
	if (!dev->hs_count) {
		pthread_mutex_unlock(&dev->hs_lock);
		return false;
	}
	under_load = hs_take(dev, &job, now);
	pthread_mutex_unlock(&dev->hs_lock);
	pthread_rwlock_rdlock(&dev->cfg_lock);
	handle_job(dev, &job, under_load, now);
	pthread_rwlock_unlock(&dev->cfg_lock);
	rn_wipe(&job, sizeof(job));
	return true;
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
		under_load = hs_take(dev, job, now);
		pthread_mutex_unlock(&dev->hs_lock);

		pthread_rwlock_rdlock(&dev->cfg_lock);
		handle_job(dev, job, under_load, now);
		pthread_rwlock_unlock(&dev->cfg_lock);
	}
	rn_wipe(job, sizeof(*job));
	free(job);
	return NULL;
}
