/* SPDX-License-Identifier: MIT */
/* Peers: creation and removal, the session slots (current/previous/next) and staged packets. */
#include "wg/device_priv.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "wg/clock.h"
#include "wg/crypto.h"

static unsigned int key_hash(const uint8_t key[32])
{
	unsigned int h;

	/* Public keys are uniformly random points: any bytes make a fine hash. */
	memcpy(&h, key, sizeof(h));
	return h % (sizeof(((struct rn_wg_device *)0)->peer_hash) / sizeof(void *));
}

struct rn_wg_peer *rn_peer_lookup(struct rn_wg_device *dev, const uint8_t public_key[32])
{
	for (struct rn_wg_peer *p = dev->peer_hash[key_hash(public_key)]; p; p = p->hash_next)
		if (!memcmp(p->public_key, public_key, 32))
			return p;
	return NULL;
}

struct rn_wg_peer *rn_peer_create(struct rn_wg_device *dev, const uint8_t public_key[32])
{
	struct rn_wg_peer *peer = calloc(1, sizeof(*peer));
	unsigned int h = key_hash(public_key);

	if (!peer)
		return NULL;
	peer->dev = dev;
	peer->refcount = 1;
	rn_serial_init(&peer->tx_serial, &rn_send_serial_ops);
	rn_serial_init(&peer->rx_serial, &rn_receive_serial_ops);
	memcpy(peer->public_key, public_key, 32);
	pthread_mutex_init(&peer->lock, NULL);
	rn_noise_handshake_init(&peer->handshake, &dev->identity, public_key, NULL);
	rn_cookie_init(&peer->cookie, public_key);
	peer->serial = dev->next_peer_serial++;
	peer->next = dev->peers;
	dev->peers = peer;
	peer->hash_next = dev->peer_hash[h];
	dev->peer_hash[h] = peer;
	dev->n_peers++;
	return peer;
}

/* The index entry goes first, so no lookup can hand out a new reference afterwards. */
static void keypair_drop(struct rn_wg_peer *peer, struct rn_noise_keypair **slot)
{
	struct rn_noise_keypair *kp = *slot;

	if (!kp)
		return;
	*slot = NULL;
	rn_index_remove(&peer->dev->index, kp->local_index);
	rn_noise_keypair_put(kp);
}

static void handshake_drop(struct rn_wg_peer *peer)
{
	rn_index_remove(&peer->dev->index, peer->handshake.local_index);
	peer->handshake.local_index = 0;
	rn_noise_handshake_clear(&peer->handshake);
}

void rn_peer_clear_keypairs(struct rn_wg_peer *peer)
{
	keypair_drop(peer, &peer->keypairs.current);
	keypair_drop(peer, &peer->keypairs.previous);
	keypair_drop(peer, &peer->keypairs.next);
	handshake_drop(peer);
}

void rn_peer_expire_current_keypairs(struct rn_wg_peer *peer)
{
	handshake_drop(peer);
	/* The sessions are unusable now: the next handshake may start at once (kernel parity). */
	peer->last_sent_handshake_ns = 0;
	if (peer->keypairs.current)
		peer->keypairs.current->sending_valid = false;
	if (peer->keypairs.next)
		peer->keypairs.next->sending_valid = false;
}

struct rn_wg_peer *rn_peer_get(struct rn_wg_peer *peer)
{
	atomic_fetch_add_explicit(&peer->refcount, 1, memory_order_relaxed);
	return peer;
}

void rn_peer_put(struct rn_wg_peer *peer)
{
	if (atomic_fetch_sub_explicit(&peer->refcount, 1, memory_order_acq_rel) != 1)
		return;
	rn_serial_destroy(&peer->tx_serial);
	rn_serial_destroy(&peer->rx_serial);
	pthread_mutex_destroy(&peer->lock);
	rn_noise_handshake_wipe(&peer->handshake);
	rn_wipe(peer, sizeof(*peer));
	free(peer);
}

void rn_peer_remove(struct rn_wg_peer *peer)
{
	struct rn_wg_device *dev = peer->dev;
	struct rn_wg_peer **pp;

	for (pp = &dev->peers; *pp; pp = &(*pp)->next)
		if (*pp == peer) {
			*pp = peer->next;
			break;
		}
	for (pp = &dev->peer_hash[key_hash(peer->public_key)]; *pp; pp = &(*pp)->hash_next)
		if (*pp == peer) {
			*pp = peer->hash_next;
			break;
		}
	dev->n_peers--;
	rn_allowedips_remove_by_peer(&dev->allowedips, peer);
	pthread_mutex_lock(&peer->lock);
	rn_peer_clear_keypairs(peer);
	rn_peer_purge_staged(peer);
	peer->removed = true;
	pthread_mutex_unlock(&peer->lock);
	/* Batches still queued hold their own references: the last one frees the peer. */
	rn_peer_put(peer);
}

void rn_peer_add_keypair(struct rn_wg_peer *peer, struct rn_noise_keypair *kp)
{
	struct rn_noise_keypairs *k = &peer->keypairs;

	kp->peer = peer;
	if (kp->i_am_initiator) {
		/* We initiated: the session is confirmed, use it at once. */
		if (k->next) {
			keypair_drop(peer, &k->previous);
			k->previous = k->next;
			k->next = NULL;
			keypair_drop(peer, &k->current);
		} else {
			keypair_drop(peer, &k->previous);
			k->previous = k->current;
		}
		k->current = kp;
	} else {
		/* We responded: wait for the initiator's first data packet to confirm it. */
		keypair_drop(peer, &k->next);
		k->next = kp;
		keypair_drop(peer, &k->previous);
	}
}

bool rn_peer_confirm_keypair(struct rn_wg_peer *peer, struct rn_noise_keypair *kp)
{
	struct rn_noise_keypairs *k = &peer->keypairs;
	bool confirmed = false;

	pthread_mutex_lock(&peer->lock);
	if (k->next == kp) {
		keypair_drop(peer, &k->previous);
		k->previous = k->current;
		k->current = kp;
		k->next = NULL;
		confirmed = true;
	}
	pthread_mutex_unlock(&peer->lock);
	return confirmed;
}

struct rn_noise_keypair *rn_peer_sending_keypair_locked(struct rn_wg_peer *peer, uint64_t now_ns)
{
	struct rn_noise_keypair *kp = peer->keypairs.current;

	if (!kp || !kp->sending_valid ||
	    now_ns - kp->birthdate_ns >= RN_REJECT_AFTER_TIME_S * RN_NS_PER_S ||
	    kp->send_counter >= RN_REJECT_AFTER_MESSAGES)
		return NULL;
	return kp;
}

struct rn_noise_keypair *rn_peer_sending_keypair(struct rn_wg_peer *peer, uint64_t now_ns)
{
	struct rn_noise_keypair *kp;

	pthread_mutex_lock(&peer->lock);
	kp = rn_noise_keypair_get(rn_peer_sending_keypair_locked(peer, now_ns));
	pthread_mutex_unlock(&peer->lock);
	return kp;
}

void rn_peer_stage_packet(struct rn_wg_peer *peer, const uint8_t *pkt, size_t len)
{
	struct rn_staged_packet *sp;

	if (peer->staged_count >= RN_MAX_STAGED_PACKETS) {
		/* Keep the newest: drop the oldest, as the kernel does. */
		sp = peer->staged_head;
		peer->staged_head = sp->next;
		if (!peer->staged_head)
			peer->staged_tail = NULL;
		peer->staged_count--;
		free(sp);
	}
	sp = malloc(sizeof(*sp) + len);
	if (!sp)
		return;
	sp->next = NULL;
	sp->len = len;
	memcpy(sp->data, pkt, len);
	if (peer->staged_tail)
		peer->staged_tail->next = sp;
	else
		peer->staged_head = sp;
	peer->staged_tail = sp;
	peer->staged_count++;
}

void rn_peer_purge_staged(struct rn_wg_peer *peer)
{
	while (peer->staged_head) {
		struct rn_staged_packet *sp = peer->staged_head;

		peer->staged_head = sp->next;
		rn_wipe(sp->data, sp->len);
		free(sp);
	}
	peer->staged_tail = NULL;
	peer->staged_count = 0;
}

bool rn_endpoint_equal(const union rn_wg_endpoint *a, const union rn_wg_endpoint *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->sin.sin_port == b->sin.sin_port &&
		       a->sin.sin_addr.s_addr == b->sin.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return a->sin6.sin6_port == b->sin6.sin6_port &&
		       !memcmp(&a->sin6.sin6_addr, &b->sin6.sin6_addr, sizeof(a->sin6.sin6_addr));
	return false;
}

void rn_peer_set_endpoint(struct rn_wg_peer *peer, const union rn_wg_endpoint *ep,
			  const struct rn_udp_src *local)
{
	if (ep->sa.sa_family == AF_INET)
		peer->endpoint.sin = ep->sin;
	else if (ep->sa.sa_family == AF_INET6)
		peer->endpoint.sin6 = ep->sin6;
	else
		return;
	if (local && local->family == ep->sa.sa_family)
		peer->endpoint_src = *local;
	else
		memset(&peer->endpoint_src, 0, sizeof(peer->endpoint_src));
}
