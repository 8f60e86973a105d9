/* SPDX-License-Identifier: MIT */
/* Peers' endpoints chosen by handshakes: see paths.h and src/path/choose.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "rustynetd/daemon.h"
#include "rustynetd/relays.h"
#include "rustynetd/paths.h"
#include "wg/device.h"

_Static_assert(sizeof(union rn_path_addr) == sizeof(union rn_wg_endpoint),
	       "path and wg endpoints share the sockaddr layout");
_Static_assert(sizeof(union rn_path_addr) == sizeof(union rn_netmap_endpoint),
	       "path and netmap endpoints share the sockaddr layout");

static uint64_t boot_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void observed(const struct rn_wg_peer_config *pc, struct rn_path_observed *o)
{
	struct timespec now;
	int64_t age;

	memcpy(&o->endpoint, &pc->endpoint, sizeof(o->endpoint));
	o->tx_bytes = pc->tx_bytes;
	o->handshake_attempts = pc->handshake_attempts;
	o->rx_age_ms = pc->rx_age_ms;
	o->data_sent_age_ms = pc->data_sent_age_ms;
	o->handshake_age_ms = UINT64_MAX;
	if (!pc->last_handshake.tv_sec)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	age = ((int64_t)now.tv_sec - pc->last_handshake.tv_sec) * 1000 +
	      ((int64_t)now.tv_nsec - pc->last_handshake.tv_nsec) / 1000000;
	o->handshake_age_ms = age < 0 ? 0 : (uint64_t)age;
}

static const struct rn_wg_peer_config *cfg_peer(const struct rn_wg_config *cfg,
						const uint8_t key[RN_WG_KEY_LEN])
{
	for (size_t i = 0; i < cfg->n_peers; i++)
		if (!memcmp(cfg->peers[i].public_key, key, RN_WG_KEY_LEN))
			return &cfg->peers[i];
	return NULL;
}

static void give(struct rn_daemon *d, const uint8_t key[RN_WG_KEY_LEN],
		 const union rn_path_addr *ep, const char *why)
{
	union rn_wg_endpoint w;
	char text[RN_PATHS_ADDR_STRLEN];
	const char *name = "?";
	int r;

	for (size_t i = 0; i < d->map.n_peers; i++)
		if (!memcmp(d->map.peers[i].public_key, key, RN_WG_KEY_LEN))
			name = d->map.peers[i].name;
	memcpy(&w, ep, sizeof(w));
	r = rn_wg_device_update_endpoint(d->dev, key, &w);
	rn_daemon_paths_addr_str(ep, text, sizeof(text));
	if (r)
		log_warn(MAIN, "path: cannot set %s's endpoint %s: %s", name, text, strerror(-r));
	else
		log_info(MAIN, "path: %s's endpoint now %s (%s)", name, text, why);
}

void rn_daemon_paths_addr_str(const union rn_path_addr *a, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "";

	if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->sin.sin_addr, ip, sizeof(ip));
		snprintf(out, cap, "%s:%u", ip, ntohs(a->sin.sin_port));
	} else if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->sin6.sin6_addr, ip, sizeof(ip));
		snprintf(out, cap, "[%s]:%u", ip, ntohs(a->sin6.sin6_port));
	} else {
		snprintf(out, cap, "none");
	}
}

const struct rn_path_peer *rn_daemon_paths_find(const struct rn_daemon *d,
						const uint8_t key[RN_WG_KEY_LEN])
{
	for (size_t i = 0; i < d->paths.n; i++)
		if (!memcmp(d->paths.v[i].key, key, RN_WG_KEY_LEN))
			return &d->paths.v[i].path;
	return NULL;
}

/*
 * The peer's candidates: the map's endpoints (never one in the relay range: those name our
 * relays, not the peer), then, with relays, the home relay's endpoint (relays.h): the peer
 * registers with every relay listed, so any reaches it. Returns the count.
 */
static size_t candidates(const struct rn_daemon *d, const struct rn_netmap_peer *mp,
			 union rn_path_addr *c)
{
	size_t n = 0;

	for (size_t j = 0; j < mp->n_endpoints && n < RN_PATH_MAX_CANDIDATES - 1; j++) {
		union rn_wg_endpoint w;

		memcpy(&w, &mp->endpoints[j], sizeof(w));
		if (!rn_wg_is_relay_endpoint(&w))
			memcpy(&c[n++], &w, sizeof(w));
	}
	if (rn_daemon_relays_count(d)) {
		union rn_wg_endpoint w;

		rn_daemon_relay_endpoint(rn_daemon_relays_home(d), &w);
		memcpy(&c[n++], &w, sizeof(w));
	}
	return n;
}

/*
 * Probing (src/path/choose.h): while the chooser wants it, the peer's direct candidates other
 * than the endpoint in use are the data plane's probe endpoints, so every initiation also goes
 * to each, and the first answer moves the session there by roaming. A probe round (when due, or
 * asked by the chooser: a check, a new path) starts one.
 */
static int probe(struct rn_daemon *d, struct rn_paths_entry *e, const struct rn_path_observed *o,
		 bool initiate, uint64_t now)
{
	union rn_wg_endpoint direct[RN_WG_MAX_PROBES];
	size_t n = 0;
	bool want = rn_path_peer_probing(&e->path, o), round;
	int r;

	for (size_t i = 0; i < e->path.n_direct && n < RN_WG_MAX_PROBES; i++) {
		union rn_wg_endpoint w;

		memcpy(&w, &e->path.cand[i], sizeof(w));
		if (!rn_path_addr_equal(&e->path.cand[i], &o->endpoint))
			direct[n++] = w;
	}
	want = want && n;
	/* Set anew each time while wanted: a new map may have brought other candidates. */
	if ((want || e->probing) &&
	    !rn_wg_device_set_probe_endpoints(d->dev, e->key, direct, want ? n : 0))
		e->probing = want;
	round = rn_path_peer_probe_due(&e->path, o, now) && want;
	initiate = initiate || round;
	if (!initiate || o->endpoint.sa.sa_family == AF_UNSPEC)
		return -EDESTADDRREQ;
	/*
	 * First a datagram the peer drops (no WireGuard type) to each candidate: it opens our own
	 * NAT towards it, so the peer's next probe gets in even when our initiation is held back
	 * (one went out, or we answered one, within REKEY_TIMEOUT: the peer's probes run in phase
	 * with ours, and each answer held our next one back).
	 */
	for (size_t i = 0; round && i < n; i++) { /* once a round, not at each held retry */
		static const uint8_t punch[4];

		rn_wg_device_send_raw(d->dev, &direct[i], punch, sizeof(punch));
	}
	r = rn_wg_device_initiate(d->dev, e->key);
	if (r == 0)
		log_debug(MAIN, "path: initiation, also to %zu direct candidates", want ? n : 0);
	if (r == -EALREADY && round)
		rn_path_peer_probe_held(&e->path, now);
	return r;
}

/* The candidates' leading direct ones (the relays come last). */
static size_t count_direct(const union rn_path_addr *c, size_t n)
{
	size_t i = 0;

	for (; i < n; i++) {
		union rn_wg_endpoint w;

		memcpy(&w, &c[i], sizeof(w));
		if (rn_wg_is_relay_endpoint(&w))
			break;
	}
	return i;
}

static const struct rn_paths_entry *find_entry(const struct rn_daemon *d,
					       const uint8_t key[RN_WG_KEY_LEN])
{
	for (size_t i = 0; i < d->paths.n; i++)
		if (!memcmp(d->paths.v[i].key, key, RN_WG_KEY_LEN))
			return &d->paths.v[i];
	return NULL;
}

void rn_daemon_paths_apply(struct rn_daemon *d)
{
	struct rn_wg_config cfg = { 0 };
	struct rn_paths_entry *v;
	bool have_cfg;

	v = d->map.n_peers ? calloc(d->map.n_peers, sizeof(*v)) : NULL;
	if (d->map.n_peers && !v) {
		log_warn(MAIN, "path: out of memory: peers keep the map's first endpoint");
		return;
	}
	have_cfg = !rn_wg_device_snapshot(d->dev, &cfg);
	for (size_t i = 0; i < d->map.n_peers; i++) {
		const struct rn_netmap_peer *mp = &d->map.peers[i];
		const struct rn_paths_entry *old = find_entry(d, mp->public_key);
		const struct rn_wg_peer_config *pc =
		    have_cfg ? cfg_peer(&cfg, mp->public_key) : NULL;
		struct rn_path_observed o, *op = NULL;
		union rn_path_addr out, c[RN_PATH_MAX_CANDIDATES];
		size_t nc = candidates(d, mp, c);

		memcpy(v[i].key, mp->public_key, RN_WG_KEY_LEN);
		if (old)
			v[i] = *old;
		if (pc) {
			observed(pc, &o);
			op = &o;
		}
		if (rn_path_peer_set_candidates(&v[i].path, c, nc, count_direct(c, nc), op,
						boot_ms(), &out))
			give(d, mp->public_key, &out, "new candidates");
	}
	rn_wg_config_free(&cfg);
	free(d->paths.v);
	d->paths.v = v;
	d->paths.n = d->map.n_peers;
}

int rn_daemon_paths_tick(struct rn_daemon *d)
{
	struct rn_wg_config cfg = { 0 };
	uint64_t now = boot_ms();

	if (!d->paths.n)
		return 1000;
	if (now - d->paths.last_tick_ms < d->paths.tick_ms)
		return (int)(d->paths.tick_ms - (now - d->paths.last_tick_ms));
	d->paths.last_tick_ms = now;
	d->paths.tick_ms = 1000;
	if (rn_wg_device_snapshot(d->dev, &cfg))
		return (int)d->paths.tick_ms;
	for (size_t i = 0; i < d->paths.n; i++) {
		struct rn_paths_entry *e = &d->paths.v[i];
		const struct rn_wg_peer_config *pc = cfg_peer(&cfg, e->key);
		struct rn_path_observed o;
		union rn_path_addr out;
		unsigned int act;
		bool was_working = e->path.working;

		if (!pc)
			continue;
		observed(pc, &o);
		act = rn_path_peer_tick(&e->path, &o, now, &out);
		if (act & RN_PATH_GIVE) {
			give(d, e->key, &out,
			     was_working ? "the path stopped answering"
					 : "no handshake on the last one");
			memcpy(&o.endpoint, &out, sizeof(out));
		} else if (act & RN_PATH_INITIATE) {
			log_debug(MAIN, "path: data sent, no answer for %" PRIu64 " ms: checking",
				  o.rx_age_ms);
		}
		/* a check's initiation held back: its wait starts when one goes */
		if (probe(d, e, &o, act & RN_PATH_INITIATE, now) == -EALREADY &&
		    act == RN_PATH_INITIATE)
			rn_path_peer_check_held(&e->path);
		if (rn_path_peer_busy(&e->path, now))
			d->paths.tick_ms = RN_PATH_BUSY_TICK_MS;
	}
	rn_wg_config_free(&cfg);
	return (int)d->paths.tick_ms;
}

void rn_daemon_paths_network_changed(struct rn_daemon *d)
{
	uint64_t now = boot_ms();

	for (size_t i = 0; i < d->paths.n; i++)
		rn_path_peer_network_changed(&d->paths.v[i].path, now);
}

void rn_daemon_paths_free(struct rn_daemon *d)
{
	free(d->paths.v);
	memset(&d->paths, 0, sizeof(d->paths));
}
