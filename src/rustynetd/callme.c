/* SPDX-License-Identifier: MIT */
/* "Call me now", the node's side: see callme.h. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/log.h"
#include "rustynetd/callme.h"
#include "rustynetd/daemon.h"
#include "wg/device.h"

struct rn_callme {
	struct rn_login login; /* a copy; its token wiped at stop */
	pthread_t thread;
	pthread_mutex_t lock; /* guards stop_wait and the queue */
	pthread_cond_t cond;
	atomic_bool stop;
	uint64_t queue[RN_CALLME_QUEUE]; /* peers' node ids to call */
	size_t n_queued;
	atomic_uint_fast64_t sent, failed; /* written by the thread */
	uint64_t last_log_sent_ms;	   /* the thread's */

	/* the loop's: */
	const char *no_calls;	      /* test hook: never ask while this file exists */
	struct rn_callme_peer *peers; /* owned: one per peer of map_version */
	size_t n_peers;
	uint64_t map_version;
	uint64_t last_tick_ms;
	uint64_t received, ignored;
	uint64_t last_log_recv_ms;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Whether an info log is due (else debug): at most one per RN_CALLME_LOG_MS per kind. */
static bool log_due(uint64_t *last_ms)
{
	uint64_t now = mono_ms();

	if (*last_ms && now - *last_ms < RN_CALLME_LOG_MS)
		return false;
	*last_ms = now;
	return true;
}

/* ---- the thread that asks ---- */

static void *caller_thread(void *arg)
{
	struct rn_callme *c = arg;
	char err[RN_CLIENT_ERR_MAX];
	void *conn = NULL;
	long retry;
	uint64_t peer;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->n_queued && !atomic_load(&c->stop))
			pthread_cond_wait(&c->cond, &c->lock);
		if (atomic_load(&c->stop))
			break;
		peer = c->queue[0];
		memmove(c->queue, c->queue + 1, --c->n_queued * sizeof(c->queue[0]));
		pthread_mutex_unlock(&c->lock);
		err[0] = '\0';
		if (rn_client_call(&c->login, peer, &c->stop, &conn, &retry, err, sizeof(err))) {
			atomic_fetch_add(&c->failed, 1);
			log_debug(MAIN, "callme: asking node %llu to call: %s",
				  (unsigned long long)peer, err);
		} else {
			atomic_fetch_add(&c->sent, 1);
			if (log_due(&c->last_log_sent_ms))
				log_info(MAIN, "callme: asked node %llu to call us",
					 (unsigned long long)peer);
			else
				log_debug(MAIN, "callme: asked node %llu to call us",
					  (unsigned long long)peer);
		}
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	rn_client_conn_close(&conn);
	return NULL;
}

static struct rn_callme *callme_start(const struct rn_login *login)
{
	struct rn_callme *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->login = *login;
#ifdef RN_TEST_HOOKS
	/* Test builds only: the delay a node has without calls, for nat-callme.sh. */
	c->no_calls = getenv("RUSTYNETD_TEST_NO_CALLS");
#endif
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	if (pthread_create(&c->thread, NULL, caller_thread, c)) {
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->lock);
		rn_login_wipe(&c->login);
		free(c);
		return NULL;
	}
	return c;
}

void rn_daemon_callme_stop(struct rn_daemon *d)
{
	struct rn_callme *c = d->callme;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	atomic_store(&c->stop, true);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	rn_login_wipe(&c->login);
	free(c->peers);
	free(c);
	d->callme = NULL;
}

static void ask(struct rn_callme *c, uint64_t peer)
{
	if (c->no_calls && !access(c->no_calls, F_OK)) {
		log_debug(MAIN, "callme: would ask node %llu to call (calls disabled)",
			  (unsigned long long)peer);
		return;
	}
	pthread_mutex_lock(&c->lock);
	if (c->n_queued < RN_CALLME_QUEUE)
		c->queue[c->n_queued++] = peer;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* ---- the loop's side ---- */

/* One state per peer of the running map, kept by node id across maps. */
static void track_map(struct rn_daemon *d, struct rn_callme *c)
{
	struct rn_callme_peer *v;

	if (c->map_version == d->map.version)
		return;
	v = d->map.n_peers ? calloc(d->map.n_peers, sizeof(*v)) : NULL;
	if (d->map.n_peers && !v)
		return; /* tried again next tick */
	for (size_t i = 0; i < d->map.n_peers; i++) {
		v[i].id = d->map.peers[i].id;
		for (size_t j = 0; j < c->n_peers; j++)
			if (c->peers[j].id == v[i].id)
				v[i] = c->peers[j];
	}
	free(c->peers);
	c->peers = v;
	c->n_peers = d->map.n_peers;
	c->map_version = d->map.version;
}

static const struct rn_wg_peer_config *cfg_peer(const struct rn_wg_config *cfg,
						const uint8_t key[RN_WG_KEY_LEN])
{
	for (size_t i = 0; i < cfg->n_peers; i++)
		if (!memcmp(cfg->peers[i].public_key, key, RN_WG_KEY_LEN))
			return &cfg->peers[i];
	return NULL;
}

void rn_daemon_callme_tick(struct rn_daemon *d)
{
	struct rn_wg_config cfg = { 0 };
	struct rn_callme *c;
	uint64_t now = mono_ms();

	if (!d->logged_in || !d->client || !d->map.version)
		return;
	if (!d->callme && !(d->callme = callme_start(&d->login)))
		return;
	c = d->callme;
	if (now - c->last_tick_ms < RN_CALLME_TICK_MS)
		return;
	c->last_tick_ms = now;
	track_map(d, c);
	if (c->n_peers != d->map.n_peers || rn_wg_device_snapshot(d->dev, &cfg))
		return;
	for (size_t i = 0; i < d->map.n_peers; i++) {
		const struct rn_wg_peer_config *pc = cfg_peer(&cfg, d->map.peers[i].public_key);

		/* a peer offline (not polling) would not hear the call */
		if (pc &&
		    rn_callme_decide(&c->peers[i], pc->tx_bytes, pc->rx_bytes,
				     pc->handshake_attempts, now) &&
		    d->map.peers[i].online)
			ask(c, c->peers[i].id);
	}
	rn_wg_config_free(&cfg);
}

void rn_daemon_callme_received(struct rn_daemon *d)
{
	uint64_t from[RN_CLIENT_CALLS_MAX];
	size_t n = d->client ? rn_client_take_calls(d->client, from, RN_CLIENT_CALLS_MAX) : 0;
	struct rn_callme *c = d->callme;

	for (size_t i = 0; i < n; i++) {
		const struct rn_netmap_peer *p = NULL;
		int r;

		for (size_t j = 0; j < d->map.n_peers && !p; j++)
			if (d->map.peers[j].id == from[i])
				p = &d->map.peers[j];
		if (!p) {
			if (c)
				c->ignored++;
			log_debug(MAIN, "callme: a call from node %llu, not a peer: ignored",
				  (unsigned long long)from[i]);
			continue;
		}
		/* to its endpoint from our map (or where it last spoke from): never elsewhere */
		r = rn_wg_device_poke(d->dev, p->public_key);
		if (c)
			c->received++;
		if (c && log_due(&c->last_log_recv_ms))
			log_info(MAIN, "callme: %s (node %llu) calls: sending to it now%s%s",
				 p->name, (unsigned long long)from[i], r ? ": " : "",
				 r ? strerror(-r) : "");
		else
			log_debug(MAIN, "callme: %s (node %llu) calls", p->name,
				  (unsigned long long)from[i]);
	}
}

json_t *rn_daemon_callme_status(const struct rn_daemon *d)
{
	const struct rn_callme *c = d->callme;

	if (!c)
		return json_pack("{s:i, s:i, s:i, s:i}", "sent", 0, "received", 0, "failed", 0,
				 "ignored", 0);
	return json_pack("{s:I, s:I, s:I, s:I}", "sent", (json_int_t)atomic_load(&c->sent),
			 "received", (json_int_t)c->received, "failed",
			 (json_int_t)atomic_load(&c->failed), "ignored", (json_int_t)c->ignored);
}
