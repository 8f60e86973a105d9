/* SPDX-License-Identifier: MIT */
/* The device: lifecycle, threads, and applying or reading the configuration. */
#include "wg/device_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/log.h"
#include "wg/clock.h"
#include "wg/crypto.h"
#include "wg/tun.h"

const char *rn_wg_device_ifname(const struct rn_wg_device *dev)
{
	return dev->ifname;
}

bool rn_wg_device_is_dead(const struct rn_wg_device *dev)
{
	return dev->dead;
}

unsigned int rn_wg_device_capabilities(const struct rn_wg_device *dev)
{
	return RN_WG_CAP_USERSPACE | (dev->vnet_hdr ? RN_WG_CAP_TUN_OFFLOAD : 0) |
	       (dev->udp.gso ? RN_WG_CAP_UDP_GSO : 0);
}

int rn_wg_device_refresh_mtu(struct rn_wg_device *dev)
{
	int mtu, err = rn_tun_query(dev->tun_fd, &dev->tun_where, &mtu);

	if (!err)
		dev->mtu = mtu;
	return err;
}

int rn_wg_device_set_mtu(struct rn_wg_device *dev, int mtu)
{
	int err = rn_tun_set_mtu(&dev->tun_where, mtu);

	return err ? err : rn_wg_device_refresh_mtu(dev);
}

/* Wakes every thread that waits, so it sees dev->stopping: on shutdown or a failed start. */
static void wake_threads(struct rn_wg_device *dev)
{
	uint64_t one = 1;

	dev->stopping = true;
	if (write(dev->stop_fd, &one, sizeof(one)) < 0)
		log_warn(MAIN, "waking the packet threads failed: %s", strerror(errno));
	pthread_mutex_lock(&dev->hs_lock);
	pthread_cond_broadcast(&dev->hs_cond);
	pthread_mutex_unlock(&dev->hs_lock);
	rn_pool_stop(&dev->tx_pool); /* the readers may be waiting for a buffer */
	rn_pool_stop(&dev->rx_pool);
}

static void join_hs_workers(struct rn_wg_device *dev)
{
	for (unsigned int i = 0; i < dev->n_hs_workers; i++)
		pthread_join(dev->hs_threads[i], NULL);
	dev->n_hs_workers = 0;
}

static void stop_threads(struct rn_wg_device *dev)
{
	if (!dev->threads_started)
		return;
	wake_threads(dev);
	pthread_join(dev->tun_thread, NULL);
	pthread_join(dev->udp_thread, NULL);
	pthread_join(dev->timer_thread, NULL);
	join_hs_workers(dev);
	/* Nothing is submitted any more: the workers finish the queue, releasing every batch. */
	rn_queue_stop(&dev->queue);
	dev->threads_started = false;
}

void rn_wg_device_stop(struct rn_wg_device *dev)
{
	if (!dev)
		return;
	stop_threads(dev);
	if (dev->rx_pool_drops)
		log_info(MAIN, "%s: %llu data messages were dropped for want of a receive buffer",
			 dev->ifname, (unsigned long long)dev->rx_pool_drops);
	while (dev->peers)
		rn_peer_remove(dev->peers);
	rn_send_pool_free(dev);
	rn_receive_pool_free(dev);
	free(dev->workers);
	rn_queue_destroy(&dev->queue);
	rn_pool_destroy(&dev->tx_pool);
	rn_pool_destroy(&dev->rx_pool);
	rn_allowedips_free(&dev->allowedips);
	rn_index_free(&dev->index);
	rn_ratelimiter_free(&dev->ratelimiter);
	rn_filter_free(dev->filter);
	free(dev->filter);
	free(dev->local);
	rn_flowtable_free(&dev->flows);
	rn_cookie_checker_destroy(&dev->cookie_checker);
	rn_x25519_key_free(dev->identity.static_key);
	rn_udp_close(&dev->udp);
	rn_tun_where_close(&dev->tun_where);
	if (dev->tun_fd >= 0)
		close(dev->tun_fd);
	if (dev->stop_fd >= 0)
		close(dev->stop_fd);
	if (dev->udp_wake_fd >= 0)
		close(dev->udp_wake_fd);
	if (dev->hs_queue)
		rn_wipe(dev->hs_queue, sizeof(*dev->hs_queue) * RN_HANDSHAKE_QUEUE_LEN);
	free(dev->hs_queue);
	pthread_mutex_destroy(&dev->hs_lock);
	pthread_mutex_destroy(&dev->relay_rx_lock);
	pthread_cond_destroy(&dev->hs_cond);
	pthread_rwlock_destroy(&dev->cfg_lock);
	rn_wipe(dev, sizeof(*dev));
	free(dev);
}

/*
 * Crypto workers: one per online CPU. RUSTYNET_WG_WORKERS overrides the count; 0 makes the TUN
 * and UDP readers encrypt and decrypt inline, the design before the workers, for comparison.
 *
 * With RN_INLINE_MAX_CPUS or fewer CPUs the default is inline: on 2 cores shared by both tunnel
 * ends and iperf3, one TCP stream measured 4.55 Gbit/s inline and 4.29 with 2 workers, four
 * streams 4.27 and 4.07 (medians of the quiet runs of two 10 s benchmarks). The cores are
 * already busy; the hand-offs (wake-ups, 64 KiB batches crossing caches) cost more than the
 * idle time they fill. With more cores the crypto spreads out instead.
 */
static unsigned int worker_count(void)
{
	const char *env = getenv("RUSTYNET_WG_WORKERS");
	char *end;
	long n;

	if (env && *env) {
		n = strtol(env, &end, 10);
		if (!*end && n >= 0 && n <= RN_MAX_WORKERS)
			return (unsigned int)n;
		log_warn(MAIN, "ignoring RUSTYNET_WG_WORKERS=\"%s\": want a number from 0 to %d",
			 env, RN_MAX_WORKERS);
	}
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= RN_INLINE_MAX_CPUS)
		return 0;
	return n > RN_MAX_WORKERS ? RN_MAX_WORKERS : (unsigned int)n;
}

/* Buffers for n workers; inline, a reader is done with its one buffer before the next. */
static unsigned int pool_size(unsigned int n, unsigned int per_worker, unsigned int min,
			      unsigned int inline_n)
{
	unsigned int bufs = n * per_worker;

	if (!n)
		return inline_n;
	return bufs < min ? min : bufs > RN_BUFS_MAX ? RN_BUFS_MAX : bufs;
}

/* The workers' state and the batch buffers, before any thread runs. */
static int alloc_workers(struct rn_wg_device *dev)
{
	unsigned int n;
	int err;

	n = dev->n_workers = worker_count();
	dev->workers = calloc(dev->n_workers + RN_READERS, sizeof(*dev->workers));
	if (!dev->workers)
		return -ENOMEM;
	for (unsigned int i = 0; i < dev->n_workers + RN_READERS; i++)
		rn_gro_init(&dev->workers[i].gro, dev->vnet_hdr, dev->tun_uso);
	err = rn_send_pool_alloc(
	    dev, pool_size(n, RN_TX_BUFS_PER_WORKER, RN_TX_BUFS_MIN, RN_TX_BUFS_INLINE));
	if (err)
		return err;
	/* Inline: the UDP reader holds one while it waits; the relay input needs another. */
	return rn_receive_pool_alloc(dev, pool_size(n, RN_RX_BUFS_PER_WORKER, RN_RX_BUFS_MIN, 2));
}

/*
 * Handshake workers: one per online CPU, as the kernel's and wireguard-go's. Under a flood of
 * valid initiations the X25519 work (four per handshake) is the whole cost, and one thread
 * capped the device at one core (docs/performance.md, "Handshakes per second").
 * RUSTYNET_WG_HS_WORKERS overrides the count (at least 1).
 */
static unsigned int hs_worker_count(void)
{
	const char *env = getenv("RUSTYNET_WG_HS_WORKERS");
	char *end;
	long n;

	if (env && *env) {
		n = strtol(env, &end, 10);
		if (!*end && n >= 1 && n <= RN_MAX_HS_WORKERS)
			return (unsigned int)n;
		log_warn(MAIN, "ignoring RUSTYNET_WG_HS_WORKERS=\"%s\": want a number from 1 to %d",
			 env, RN_MAX_HS_WORKERS);
	}
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > RN_MAX_HS_WORKERS ? RN_MAX_HS_WORKERS : (unsigned int)n;
}

static int start_threads(struct rn_wg_device *dev)
{
	static void *(*const fns[])(void *) = { rn_send_tun_thread, rn_receive_udp_thread,
						rn_timers_thread };
	pthread_t *ids[] = { &dev->tun_thread, &dev->udp_thread, &dev->timer_thread };
	unsigned int n_hs = hs_worker_count();
	void *ctx[RN_MAX_WORKERS];
	size_t started = 0;
	int err;

	for (unsigned int i = 0; i < dev->n_workers; i++)
		ctx[i] = &dev->workers[i];
	err = rn_queue_start(&dev->queue, dev->n_workers, ctx);
	if (err)
		return err;
	while (!err && started < sizeof(ids) / sizeof(ids[0])) {
		err = pthread_create(ids[started], NULL, fns[started], dev);
		started += !err;
	}
	while (!err && dev->n_hs_workers < n_hs) {
		err = pthread_create(&dev->hs_threads[dev->n_hs_workers], NULL,
				     rn_receive_handshake_thread, dev);
		dev->n_hs_workers += !err;
	}
	if (err) {
		/* Join what did start before failing. */
		wake_threads(dev);
		for (size_t j = 0; j < started; j++)
			pthread_join(*ids[j], NULL);
		join_hs_workers(dev);
		rn_queue_stop(&dev->queue);
		return -err;
	}
	dev->threads_started = true;
	return 0;
}

int rn_device_new(unsigned int flags, struct rn_wg_device **out)
{
	struct rn_wg_device *dev = calloc(1, sizeof(*dev));
	int err;

	*out = NULL;
	if (!dev)
		return -ENOMEM;
	dev->tun_fd = dev->stop_fd = dev->udp_wake_fd = -1;
	dev->tun_where.sock = -1;
	dev->deny_unfiltered = flags & RN_WG_DEVICE_DENY_UNFILTERED;
	dev->udp.fd = -1;
	pthread_rwlock_init(&dev->cfg_lock, NULL);
	pthread_mutex_init(&dev->hs_lock, NULL);
	pthread_mutex_init(&dev->relay_rx_lock, NULL);
	pthread_cond_init(&dev->hs_cond, NULL);
	rn_queue_init(&dev->queue);
	rn_pool_init(&dev->tx_pool);
	rn_pool_init(&dev->rx_pool);
	rn_cookie_checker_init(&dev->cookie_checker);
	rn_allowedips_init(&dev->allowedips);
	rn_index_init(&dev->index);
	err = rn_ratelimiter_init(&dev->ratelimiter);
	if (err) {
		rn_wg_device_stop(dev);
		return err;
	}
	*out = dev;
	return 0;
}

int rn_wg_device_start(const char *ifname, unsigned int flags, struct rn_wg_device **out)
{
	struct rn_wg_device *dev;
	int err;

	err = rn_crypto_init();
	if (err)
		return err;
	rn_clock_init();
	err = rn_device_new(flags, &dev);
	if (err)
		return err;
	dev->hs_queue = calloc(RN_HANDSHAKE_QUEUE_LEN, sizeof(*dev->hs_queue));
	dev->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	dev->udp_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!dev->hs_queue || dev->stop_fd < 0 || dev->udp_wake_fd < 0) {
		err = -ENOMEM;
		goto fail;
	}
	dev->tun_fd = rn_tun_open(ifname, dev->ifname, &dev->vnet_hdr, &dev->tun_uso);
	if (dev->tun_fd < 0) {
		err = dev->tun_fd;
		goto fail;
	}
	err = rn_udp_open(AF_INET6, 0, 0, &dev->udp);
	if (err)
		goto fail;
#ifdef RN_TEST_HOOKS
	if (getenv("RUSTYNET_WG_FORCE_UNDER_LOAD")) {
		dev->force_under_load = true;
		log_warn(MAIN, "test build: always under load (RUSTYNET_WG_FORCE_UNDER_LOAD)");
	}
#endif
	dev->mtu = 1420;
	rn_wg_device_refresh_mtu(dev);
	err = alloc_workers(dev);
	if (!err)
		err = start_threads(dev);
	if (err)
		goto fail;
	log_info(
	    MAIN,
	    "%s up: TUN offload %s, UDP GSO %s, GRO %s, crypto workers %u%s, handshake workers %u",
	    dev->ifname, dev->vnet_hdr ? "on" : "off", dev->udp.gso ? "on" : "off",
	    dev->udp.gro ? "on" : "off", dev->n_workers, dev->n_workers ? "" : " (inline)",
	    dev->n_hs_workers);
	*out = dev;
	return 0;
fail:
	rn_wg_device_stop(dev);
	return err;
}

/* Caller holds cfg_lock for writing. */
static int set_private_key(struct rn_wg_device *dev, const uint8_t key[RN_WG_KEY_LEN])
{
	struct rn_wg_peer *self;

	if (dev->identity.has_identity && rn_ct_equal(dev->identity.static_private, key, 32))
		return 0;
	rn_x25519_key_free(dev->identity.static_key);
	if (!rn_noise_identity_set(&dev->identity, key))
		return -EINVAL;
	/* Loaded once for every initiation's DH (NULL on failure: loaded per DH instead). */
	if (dev->identity.has_identity)
		dev->identity.static_key = rn_x25519_key_new(dev->identity.static_private, NULL);
	rn_cookie_checker_set_key(&dev->cookie_checker,
				  dev->identity.has_identity ? dev->identity.static_public : NULL);
	/* A peer with our own public key makes no sense: drop it, as the kernel does. */
	if (dev->identity.has_identity && (self = rn_peer_lookup(dev, dev->identity.static_public)))
		rn_peer_remove(self);
	for (struct rn_wg_peer *p = dev->peers; p; p = p->next) {
		pthread_mutex_lock(&p->lock);
		rn_peer_expire_current_keypairs(p);
		rn_noise_handshake_rekey_identity(&p->handshake, &dev->identity);
		pthread_mutex_unlock(&p->lock);
	}
	return 0;
}

/* Caller holds cfg_lock for writing. */
static int apply_peer(struct rn_wg_device *dev, const struct rn_wg_peer_config *pc)
{
	struct rn_wg_peer *peer = rn_peer_lookup(dev, pc->public_key);
	bool keepalive_turned_on = false;
	int err;

	if (dev->identity.has_identity &&
	    rn_ct_equal(pc->public_key, dev->identity.static_public, 32))
		return 0;
	if (pc->flags & RN_WG_PEER_REMOVE) {
		if (peer)
			rn_peer_remove(peer);
		return 0;
	}
	if (!peer) {
		if (pc->flags & RN_WG_PEER_UPDATE_ONLY)
			return 0;
		if (dev->n_peers >= RN_MAX_PEERS)
			return -ENOSPC;
		peer = rn_peer_create(dev, pc->public_key);
		if (!peer)
			return -ENOMEM;
	}
	pthread_mutex_lock(&peer->lock);
	if (pc->flags & RN_WG_PEER_HAS_PRESHARED_KEY)
		memcpy(peer->handshake.preshared_key, pc->preshared_key, RN_WG_KEY_LEN);
	if (pc->flags & RN_WG_PEER_HAS_ENDPOINT) {
		/* A path the owner chose: its first initiation is not held back by one sent on
		 * the old path (REKEY_TIMEOUT paces retries on one path, not a move). */
		if (!rn_endpoint_equal(&peer->endpoint, &pc->endpoint))
			peer->last_sent_handshake_ns = 0;
		rn_peer_set_endpoint(peer, &pc->endpoint, NULL);
	}
	if (pc->flags & RN_WG_PEER_HAS_KEEPALIVE) {
		keepalive_turned_on = !peer->persistent_keepalive_s && pc->persistent_keepalive;
		peer->persistent_keepalive_s = pc->persistent_keepalive;
		if (!pc->persistent_keepalive)
			peer->timer_persistent_keepalive = 0;
	}
	pthread_mutex_unlock(&peer->lock);
	if (pc->flags & RN_WG_PEER_REPLACE_ALLOWEDIPS)
		rn_allowedips_remove_by_peer(&dev->allowedips, peer);
	for (size_t i = 0; i < pc->n_allowed_ips; i++) {
		const struct rn_wg_allowed_ip *a = &pc->allowed_ips[i];

		err = rn_allowedips_insert(&dev->allowedips, a->family, &a->ip4, a->cidr, peer);
		if (err)
			return err;
	}
	/* Persistent keepalive starts at once: that is how a peer behind NAT gets reachable. */
	if (keepalive_turned_on) {
		pthread_mutex_lock(&peer->lock);
		rn_send_keepalive_locked(peer, rn_now_ns());
		pthread_mutex_unlock(&peer->lock);
	}
	return 0;
}

int rn_wg_device_apply(struct rn_wg_device *dev, const struct rn_wg_config *cfg)
{
	uint64_t one = 1;
	int err = 0;

	pthread_rwlock_wrlock(&dev->cfg_lock);
	if (cfg->flags & RN_WG_DEV_HAS_PRIVATE_KEY) {
		err = set_private_key(dev, cfg->private_key);
		if (err)
			goto out;
	}
	if ((cfg->flags & RN_WG_DEV_HAS_LISTEN_PORT) && cfg->listen_port != dev->udp.port) {
		err = rn_udp_rebind(&dev->udp, cfg->listen_port);
		if (err) {
			log_warn(MAIN, "cannot listen on UDP port %u: %s", cfg->listen_port,
				 strerror(-err));
			goto out;
		}
		if (write(dev->udp_wake_fd, &one, sizeof(one)) < 0)
			log_warn(MAIN, "waking the receiver failed: %s", strerror(errno));
	}
	if (cfg->flags & RN_WG_DEV_HAS_FWMARK) {
		err = rn_udp_set_fwmark(&dev->udp, cfg->fwmark);
		if (err)
			goto out;
		dev->fwmark = cfg->fwmark;
	}
	if (cfg->flags & RN_WG_DEV_REPLACE_PEERS)
		while (dev->peers)
			rn_peer_remove(dev->peers);
	for (size_t i = 0; i < cfg->n_peers && !err; i++)
		err = apply_peer(dev, &cfg->peers[i]);
out:
	pthread_rwlock_unlock(&dev->cfg_lock);
	return err;
}

int rn_wg_device_initiate(struct rn_wg_device *dev, const uint8_t public_key[RN_WG_KEY_LEN])
{
	struct rn_wg_peer *peer;
	uint64_t now;
	int err = 0;

	pthread_rwlock_rdlock(&dev->cfg_lock);
	peer = rn_peer_lookup(dev, public_key);
	if (!peer) {
		err = -ENOENT;
		goto out;
	}
	pthread_mutex_lock(&peer->lock);
	now = rn_now_ns();
	if (peer->endpoint.sa.sa_family == AF_UNSPEC)
		err = -EDESTADDRREQ;
	else if (peer->last_sent_handshake_ns &&
		 now - peer->last_sent_handshake_ns < RN_REKEY_TIMEOUT_S * RN_NS_PER_S)
		err = -EALREADY;
	else
		rn_send_handshake_initiation_locked(peer, false, now);
	pthread_mutex_unlock(&peer->lock);
out:
	pthread_rwlock_unlock(&dev->cfg_lock);
	return err;
}

int rn_wg_device_set_filter(struct rn_wg_device *dev, struct rn_filter *filter)
{
	struct rn_filter *old;
	int err = 0;

	pthread_rwlock_wrlock(&dev->cfg_lock);
	/* Allocated once, here: a device never given a filter never pays for the table. */
	if (filter && !dev->flows.buckets)
		err = rn_flowtable_init(&dev->flows, RN_FLOW_BUCKETS);
	if (err) {
		old = filter;
	} else {
		old = dev->filter;
		dev->filter = filter;
		if (filter) {
			filter->local = dev->local;
			filter->n_local = dev->n_local;
		}
	}
	pthread_rwlock_unlock(&dev->cfg_lock);
	/* No packet path can see old now: each looks at dev->filter only under the cfg_lock. */
	rn_filter_free(old);
	free(old);
	if (err)
		log_warn(MAIN, "%s: no memory for the flow table: the old packet filter stays",
			 dev->ifname);
	return err;
}

int rn_wg_device_set_local_addrs(struct rn_wg_device *dev, const struct rn_filter_prefix *v,
				 size_t n)
{
	struct rn_filter_prefix *copy = NULL, *old;

	if (n) {
		copy = calloc(n, sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, v, n * sizeof(*copy));
	}
	pthread_rwlock_wrlock(&dev->cfg_lock);
	old = dev->local;
	dev->local = copy;
	dev->n_local = n;
	if (dev->filter) {
		dev->filter->local = copy;
		dev->filter->n_local = n;
	}
	pthread_rwlock_unlock(&dev->cfg_lock);
	free(old); /* no packet path sees it now: they read the filter under the cfg_lock */
	return 0;
}

bool rn_device_admits(const struct rn_wg_device *dev, const struct rn_wg_peer *peer,
		      const uint8_t *pkt, size_t len, uint64_t now)
{
	if (!dev->filter)
		return !dev->deny_unfiltered;
	return rn_pktfilter_allows(dev->filter, &dev->flows, &dev->allowedips, peer, pkt, len, now);
}

void rn_wg_device_stats(struct rn_wg_device *dev, struct rn_wg_device_stats *out)
{
	out->filtered = atomic_load(&dev->filtered);
	out->rx_pool_drops = atomic_load(&dev->rx_pool_drops);
}

void rn_wg_device_set_foreign_handler(struct rn_wg_device *dev, rn_wg_foreign_fn fn, void *ctx)
{
	/* The reader calls it under cfg_lock (read): once we hold it for writing, none runs. */
	pthread_rwlock_wrlock(&dev->cfg_lock);
	dev->foreign_fn = fn;
	dev->foreign_ctx = ctx;
	pthread_rwlock_unlock(&dev->cfg_lock);
}

void rn_wg_device_set_relay_hook(struct rn_wg_device *dev, rn_wg_relay_fn fn, void *ctx)
{
	/* Every sender calls it under cfg_lock (read): once we hold it for writing, none runs. */
	pthread_rwlock_wrlock(&dev->cfg_lock);
	dev->relay_fn = fn;
	dev->relay_ctx = ctx;
	pthread_rwlock_unlock(&dev->cfg_lock);
}

int rn_wg_device_relay_input(struct rn_wg_device *dev, const union rn_wg_endpoint *from,
			     const void *buf, size_t len)
{
	int err;

	if (!rn_wg_is_relay_endpoint(from) || !len || len > RN_WG_RELAY_MAX_LEN)
		return -EINVAL;
	pthread_mutex_lock(&dev->relay_rx_lock);
	err = rn_receive_relay_input(dev, from, buf, len);
	pthread_mutex_unlock(&dev->relay_rx_lock);
	return err;
}

int rn_wg_device_set_probe_endpoints(struct rn_wg_device *dev,
				     const uint8_t public_key[RN_WG_KEY_LEN],
				     const union rn_wg_endpoint *v, size_t n)
{
	struct rn_wg_peer *peer;

	if (n > RN_WG_MAX_PROBES)
		return -EINVAL;
	pthread_rwlock_rdlock(&dev->cfg_lock);
	peer = rn_peer_lookup(dev, public_key);
	if (peer) {
		pthread_mutex_lock(&peer->lock);
		if (n)
			memcpy(peer->probes, v, n * sizeof(*v));
		peer->n_probes = (unsigned int)n;
		pthread_mutex_unlock(&peer->lock);
	}
	pthread_rwlock_unlock(&dev->cfg_lock);
	return peer ? 0 : -ENOENT;
}

int rn_wg_device_send_raw(struct rn_wg_device *dev, const union rn_wg_endpoint *to, const void *buf,
			  size_t len)
{
	int r;

	if (!len || len > RN_UDP_MAX_PAYLOAD)
		return -EINVAL;
	r = rn_send_raw(dev, to, buf, len);
	if (r < 0)
		return r;
	return r == 1 ? 0 : -EAGAIN;
}

int rn_wg_device_poke(struct rn_wg_device *dev, const uint8_t public_key[RN_WG_KEY_LEN])
{
	struct rn_wg_peer *peer;

	pthread_rwlock_rdlock(&dev->cfg_lock);
	peer = rn_peer_lookup(dev, public_key);
	if (peer) {
		pthread_mutex_lock(&peer->lock);
		rn_send_keepalive_locked(peer, rn_now_ns());
		pthread_mutex_unlock(&peer->lock);
	}
	pthread_rwlock_unlock(&dev->cfg_lock);
	return peer ? 0 : -ENOENT;
}

static int add_allowed_ip(void *ctx, int family, const void *addr, uint8_t cidr)
{
	struct rn_wg_allowed_ip a = { .family = (uint16_t)family, .cidr = cidr };

	memcpy(&a.ip4, addr, family == AF_INET ? 4 : 16);
	return rn_wg_peer_config_add_allowed_ip(ctx, &a);
}

/* Protocol ns to real ms (a test build's clock may run faster). */
static uint64_t age_ms(uint64_t then_ns, uint64_t now_ns)
{
	if (!then_ns)
		return UINT64_MAX;
	if (now_ns < then_ns)
		return 0;
	return (now_ns - then_ns) / RN_NS_PER_MS / rn_clock_scale();
}

static int snapshot_peer(struct rn_wg_device *dev, struct rn_wg_peer *peer,
			 struct rn_wg_peer_config *pc)
{
	uint64_t now = rn_now_ns();

	pthread_mutex_lock(&peer->lock);
	memcpy(pc->public_key, peer->public_key, RN_WG_KEY_LEN);
	memcpy(pc->preshared_key, peer->handshake.preshared_key, RN_WG_KEY_LEN);
	pc->flags = RN_WG_PEER_HAS_PRESHARED_KEY | RN_WG_PEER_HAS_KEEPALIVE;
	if (peer->endpoint.sa.sa_family != AF_UNSPEC) {
		pc->endpoint = peer->endpoint;
		pc->flags |= RN_WG_PEER_HAS_ENDPOINT;
	}
	pc->persistent_keepalive = peer->persistent_keepalive_s;
	pc->handshake_attempts = peer->timer_retransmit_handshake ? peer->handshake_attempts : 0;
	pc->rx_age_ms = age_ms(peer->last_rx_ns, now);
	pc->data_sent_age_ms = age_ms(peer->last_data_sent_ns, now);
	pc->unanswered_ms = peer->unanswered_since_ns ? age_ms(peer->unanswered_since_ns, now) : 0;
	pthread_mutex_unlock(&peer->lock);
	pc->rx_bytes = peer->rx_bytes;
	pc->tx_bytes = peer->tx_bytes;
	pc->last_handshake.tv_sec = peer->last_handshake_sec;
	pc->last_handshake.tv_nsec = peer->last_handshake_nsec;
	return rn_allowedips_walk_by_peer(&dev->allowedips, peer, add_allowed_ip, pc);
}

int rn_wg_device_snapshot(struct rn_wg_device *dev, struct rn_wg_config *out)
{
	struct rn_wg_peer_config *pc;
	int err = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	pthread_rwlock_rdlock(&dev->cfg_lock);
	if (dev->identity.has_identity) {
		out->flags |= RN_WG_DEV_HAS_PRIVATE_KEY;
		memcpy(out->private_key, dev->identity.static_private, RN_WG_KEY_LEN);
	}
	out->flags |= RN_WG_DEV_HAS_LISTEN_PORT | RN_WG_DEV_HAS_FWMARK;
	out->listen_port = dev->udp.port;
	out->fwmark = dev->fwmark;
	/* The list is newest first; report in the order peers were added. */
	out->peers = calloc(dev->n_peers ? dev->n_peers : 1, sizeof(*out->peers));
	if (!out->peers) {
		err = -ENOMEM;
		goto out;
	}
	out->n_peers = dev->n_peers;
	i = dev->n_peers;
	for (struct rn_wg_peer *p = dev->peers; p && !err; p = p->next) {
		pc = &out->peers[--i];
		err = snapshot_peer(dev, p, pc);
	}
out:
	pthread_rwlock_unlock(&dev->cfg_lock);
	if (err)
		rn_wg_config_free(out);
	return err;
}

int rn_wg_device_set_peer(struct rn_wg_device *dev, const struct rn_wg_peer_config *peer)
{
	struct rn_wg_config cfg = { .peers = (struct rn_wg_peer_config *)peer, .n_peers = 1 };

	return rn_wg_device_apply(dev, &cfg);
}

int rn_wg_device_remove_peer(struct rn_wg_device *dev, const uint8_t public_key[RN_WG_KEY_LEN])
{
	struct rn_wg_peer_config pc = { .flags = RN_WG_PEER_REMOVE };

	memcpy(pc.public_key, public_key, RN_WG_KEY_LEN);
	return rn_wg_device_set_peer(dev, &pc);
}

int rn_wg_device_update_endpoint(struct rn_wg_device *dev, const uint8_t public_key[RN_WG_KEY_LEN],
				 const union rn_wg_endpoint *ep)
{
	struct rn_wg_peer_config pc = { .flags = RN_WG_PEER_UPDATE_ONLY | RN_WG_PEER_HAS_ENDPOINT,
					.endpoint = *ep };

	memcpy(pc.public_key, public_key, RN_WG_KEY_LEN);
	return rn_wg_device_set_peer(dev, &pc);
}
