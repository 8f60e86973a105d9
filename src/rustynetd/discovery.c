/* SPDX-License-Identifier: MIT */
/*
 * Endpoint discovery in the daemon (path/discovery.h does the thinking): STUN requests leave
 * from the WireGuard socket (rn_wg_device_send_raw), answers come back through the data plane's
 * foreign-datagram hook into a small queue that the loop drains. A default-route watch
 * (system/routewatch.h) starts a round when the way out changes; it and the queue's eventfd sit
 * in one epoll set, the one fd the loop polls. What it learns goes three ways: the reflexive
 * endpoints into what the poll reports (re-polled at once when they change), persistent
 * keepalive on every peer while this node is behind NAT, and the status and netcheck commands;
 * a family behind NAT is checked between rounds, so a rebinding is seen within seconds. The
 * servers are the map's "stun" member (and, in test builds, RUSTYNETD_TEST_STUN="ip:port,...").
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "ipc/ipc.h"
#include "path/discovery.h"
#include "rustynetd/daemon.h"
#include "rustynetd/paths.h"
#include "system/routewatch.h"
#include "wg/device.h"
#ifdef RN_TEST_HOOKS
#include "netmap/netmap_priv.h"
#endif

enum {
	QUEUE_LEN = 32, /* datagrams waiting for the loop; more are dropped */
	MAX_WAIT_MS = 1000,
};

struct foreign_dgram {
	uint16_t len;
	union rn_wg_endpoint from;
	uint8_t data[RN_WG_FOREIGN_MAX_LEN];
};

struct rn_daemon_disco {
	struct rn_daemon *d;
	struct rn_disco disco;
	int efd;  /* eventfd: the packet thread queued a datagram */
	int rwfd; /* the default-route watch; -1 when not watching */
	int epfd; /* epoll of efd and rwfd: what the loop polls */

	pthread_mutex_t lock; /* the queue, shared with the packet thread */
	struct foreign_dgram q[QUEUE_LEN];
	unsigned int q_head, q_count;
	uint64_t q_drops;

	uint64_t next_ns;		    /* when rn_disco_tick wants to run again */
	bool behind_nat;		    /* a mapping differs from every host endpoint */
	uint16_t keepalive_s;		    /* what the peers have */
	char logged[RN_DISCO_FAMILIES][64]; /* the mapping last logged per family; "" none */
	bool logged_hard[RN_DISCO_FAMILIES];
	uint64_t remaps_seen; /* disco.remaps at the last results_changed */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* On a packet thread, under the device's cfg_lock: copy, wake, return. */
static void on_foreign(void *ctx, const void *buf, size_t len, const union rn_wg_endpoint *from)
{
	struct rn_daemon_disco *x = ctx;
	struct foreign_dgram *slot;
	uint64_t one = 1;
	bool wake;

	if (!rn_stun_is_message(buf, len))
		return;
	pthread_mutex_lock(&x->lock);
	if (x->q_count == QUEUE_LEN) {
		x->q_drops++;
		pthread_mutex_unlock(&x->lock);
		return;
	}
	slot = &x->q[(x->q_head + x->q_count) % QUEUE_LEN];
	slot->len = (uint16_t)len;
	memcpy(slot->data, buf, len);
	slot->from = *from;
	wake = x->q_count++ == 0;
	pthread_mutex_unlock(&x->lock);
	if (wake && write(x->efd, &one, sizeof(one)) < 0)
		return; /* the counter is full: the loop is awake anyway */
}

static int send_request(void *ctx, const struct sockaddr_storage *to, const uint8_t *buf,
			size_t len)
{
	struct rn_daemon_disco *x = ctx;
	union rn_wg_endpoint ep = { 0 };
	int r;

	memcpy(&ep, to, to->ss_family == AF_INET ? sizeof(ep.sin) : sizeof(ep.sin6));
	r = rn_wg_device_send_raw(x->d->dev, &ep, buf, len);
	if (r)
		log_debug(MAIN, "discovery: a STUN request could not be sent: %s", strerror(-r));
	return r;
}

static int epoll_add(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* The default-route watch, in the epoll set; never fatal (addresses are still watched). */
static void routewatch_start(struct rn_daemon_disco *x)
{
	int r = rn_routewatch_open();

	if (r >= 0) {
		x->rwfd = r;
		r = epoll_add(x->epfd, x->rwfd);
	}
	if (r < 0) {
		log_warn(
		    MAIN,
		    "discovery: cannot watch the default route: %s: a new uplink is noticed by the next check or round instead",
		    strerror(-r));
		if (x->rwfd >= 0)
			close(x->rwfd);
		x->rwfd = -1;
	}
}

int rn_daemon_disco_start(struct rn_daemon *d)
{
	struct rn_daemon_disco *x = calloc(1, sizeof(*x));
	int r;

	if (!x)
		return -ENOMEM;
	x->d = d;
	x->rwfd = -1;
	x->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	x->epfd = epoll_create1(EPOLL_CLOEXEC);
	r = x->efd < 0 || x->epfd < 0 ? -errno : epoll_add(x->epfd, x->efd);
	if (r) {
		if (x->efd >= 0)
			close(x->efd);
		if (x->epfd >= 0)
			close(x->epfd);
		free(x);
		return r;
	}
	routewatch_start(x);
	pthread_mutex_init(&x->lock, NULL);
	rn_disco_init(&x->disco, send_request, x);
	d->disco = x;
	rn_wg_device_set_foreign_handler(d->dev, on_foreign, x);
	return 0;
}

void rn_daemon_disco_stop(struct rn_daemon *d)
{
	struct rn_daemon_disco *x = d->disco;

	if (!x)
		return;
	rn_wg_device_set_foreign_handler(d->dev, NULL, NULL); /* none runs after this */
	rn_client_set_reflexive(NULL, 0);
	if (x->rwfd >= 0)
		close(x->rwfd);
	close(x->epfd);
	close(x->efd);
	pthread_mutex_destroy(&x->lock);
	free(x);
	d->disco = NULL;
}

int rn_daemon_disco_fd(const struct rn_daemon *d)
{
	return d->disco ? d->disco->epfd : -1;
}

void rn_daemon_disco_kick(struct rn_daemon *d)
{
	if (!d->disco)
		return;
	log_info(MAIN, "discovery: this host's addresses changed: asking the STUN servers again");
	rn_disco_kick(&d->disco->disco);
}

uint16_t rn_daemon_disco_keepalive(const struct rn_daemon *d)
{
	return d->disco && d->disco->behind_nat ? RN_APPLY_NAT_KEEPALIVE_S : RN_APPLY_KEEPALIVE_S;
}

/* The map's servers, then the test hook's; what rn_disco_set_servers takes. */
static size_t servers(const struct rn_daemon *d, struct sockaddr_storage *out)
{
	size_t n = 0;

	for (size_t i = 0; i < d->map.n_stun && n < RN_DISCO_MAX_SERVERS; i++, n++) {
		memset(&out[n], 0, sizeof(out[n]));
		memcpy(&out[n], &d->map.stun[i], sizeof(d->map.stun[i]));
	}
#ifdef RN_TEST_HOOKS
	/* Test builds only: STUN servers before the control server can list them. */
	const char *env = getenv("RUSTYNETD_TEST_STUN");
	char buf[512], *save = NULL;
	union rn_netmap_endpoint ep;

	if (env && strlen(env) < sizeof(buf)) {
		snprintf(buf, sizeof(buf), "%s", env);
		for (char *t = strtok_r(buf, ",", &save); t && n < RN_DISCO_MAX_SERVERS;
		     t = strtok_r(NULL, ",", &save)) {
			if (rn_netmap_endpoint_parse(t, &ep))
				continue;
			memset(&out[n], 0, sizeof(out[n]));
			memcpy(&out[n++], &ep, sizeof(ep));
		}
	}
#endif
	return n;
}

static void drain(struct rn_daemon_disco *x)
{
	struct foreign_dgram g;
	struct sockaddr_storage from;
	uint64_t v;

	if (read(x->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug(MAIN, "discovery: eventfd read: %s", strerror(errno));
	for (;;) {
		pthread_mutex_lock(&x->lock);
		if (!x->q_count) {
			pthread_mutex_unlock(&x->lock);
			return;
		}
		g = x->q[x->q_head];
		x->q_head = (x->q_head + 1) % QUEUE_LEN;
		x->q_count--;
		pthread_mutex_unlock(&x->lock);
		memset(&from, 0, sizeof(from));
		memcpy(&from, &g.from, sizeof(g.from));
		if (!rn_disco_input(&x->disco, g.data, g.len, &from, now_ns()))
			log_debug(MAIN, "discovery: ignored a %u-byte STUN message", g.len);
	}
}

static bool is_host(char (*host)[64], size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(host[i], s))
			return true;
	return false;
}

/* Every peer's persistent keepalive to keepalive_s, in one apply. */
static void set_keepalive(struct rn_daemon *d, uint16_t keepalive_s)
{
	struct rn_wg_config running = { 0 }, plan = { 0 };
	struct rn_wg_peer_config *pc;
	int r;

	r = rn_wg_device_snapshot(d->dev, &running);
	for (size_t i = 0; !r && i < running.n_peers; i++) {
		pc = rn_wg_config_add_peer(&plan);
		if (!pc) {
			r = -ENOMEM;
			break;
		}
		memcpy(pc->public_key, running.peers[i].public_key, RN_WG_KEY_LEN);
		pc->flags = RN_WG_PEER_UPDATE_ONLY | RN_WG_PEER_HAS_KEEPALIVE;
		pc->persistent_keepalive = keepalive_s;
	}
	if (!r)
		r = rn_wg_device_apply(d->dev, &plan);
	if (r)
		log_warn(MAIN, "discovery: cannot set persistent keepalive %u: %s", keepalive_s,
			 strerror(-r));
	rn_wg_config_free(&plan);
	rn_wg_config_free(&running);
}

/* Logs a family's mapping when it is new, and a rebinding as one; by_check: a check saw it. */
static void log_mapping(struct rn_daemon_disco *x, int f, const char *now, bool hard, bool by_check)
{
	const char *fam = f ? "IPv6" : "IPv4";

	if (!strcmp(x->logged[f], now)) {
		if (*now && hard != x->logged_hard[f])
			log_info(MAIN, "discovery: %s mapping %s %s", fam, now,
				 hard ? "now varies by destination: hard NAT"
				      : "no longer varies by destination");
		x->logged_hard[f] = hard;
		return;
	}
	x->logged_hard[f] = hard;
	if (*x->logged[f] && *now)
		log_info(
		    MAIN,
		    "discovery: %s mapping changed from %s to %s (NAT rebinding or a new network; seen by %s%s): re-reporting",
		    fam, x->logged[f], now, by_check ? "a check" : "a round: ",
		    by_check ? "" : rn_disco_why_name(x->disco.why));
	else if (*now)
		log_info(MAIN, "discovery: %s is mapped to %s%s", fam, now,
			 hard ? " (varies by destination: hard NAT)" : "");
	snprintf(x->logged[f], sizeof(x->logged[f]), "%s", now);
}

/*
 * The results changed: report the reflexive endpoints, keep NAT mappings open, and check the
 * families behind NAT between rounds (a family seen as it is has nothing to rebind).
 */
static void results_changed(struct rn_daemon *d)
{
	struct rn_daemon_disco *x = d->disco;
	char host[RN_CLIENT_MAX_ENDPOINTS][64], refl[RN_CLIENT_MAX_REFLEXIVE][64];
	size_t nh = rn_client_host_endpoints(d->ifname, d->listen_port, host), nr = 0;
	bool nat = false, by_check = x->disco.remaps != x->remaps_seen;
	uint16_t ka;

	x->remaps_seen = x->disco.remaps;
	for (int f = 0; f < RN_DISCO_FAMILIES; f++) {
		const struct rn_disco_family *fam = &x->disco.fam[f];
		bool nat_f;

		if (fam->mapped.ss_family == AF_UNSPEC) {
			rn_disco_set_check(&x->disco, f, false);
			log_mapping(x, f, "", false, false);
			continue;
		}
		rn_stun_addr_str(&fam->mapped, refl[nr], sizeof(refl[nr]));
		nat_f = !is_host(host, nh, refl[nr]); /* else seen as it is: no NAT on it */
		rn_disco_set_check(&x->disco, f, nat_f);
		log_mapping(x, f, nat_f ? refl[nr] : "", fam->hard, by_check);
		if (!nat_f)
			continue;
		nat = true;
		nr++;
	}
	if (rn_client_set_reflexive(refl, nr)) {
		log_info(MAIN, "discovery: reporting %zu reflexive endpoint%s", nr,
			 nr == 1 ? "" : "s");
		rn_client_repoll(d->client);
	}
	x->behind_nat = nat;
	ka = rn_daemon_disco_keepalive(d);
	if (ka != x->keepalive_s) {
		log_info(MAIN, "discovery: %s NAT: persistent keepalive %u s",
			 nat ? "behind" : "not behind", ka);
		set_keepalive(d, ka);
		x->keepalive_s = ka;
	}
}

int rn_daemon_disco_run(struct rn_daemon *d, bool readable)
{
	struct rn_daemon_disco *x = d->disco;
	struct sockaddr_storage v[RN_DISCO_MAX_SERVERS];
	uint64_t now;
	size_t n;

	if (!x)
		return MAX_WAIT_MS;
	now = now_ns();
	n = servers(d, v);
	rn_disco_set_servers(&x->disco, v, n, now);
	if (readable) {
		drain(x);
		if (x->rwfd >= 0 && rn_routewatch_drain(x->rwfd)) {
			log_info(
			    MAIN,
			    "discovery: the default route changed: asking the STUN servers again");
			rn_disco_kick(&x->disco);
			rn_daemon_paths_network_changed(d); /* and the best path to each peer */
		}
	}
	x->next_ns = rn_disco_tick(&x->disco, now);
	if (rn_disco_take_changed(&x->disco))
		results_changed(d);
	if (x->next_ns <= now)
		return 0;
	if (x->next_ns - now >= (uint64_t)MAX_WAIT_MS * 1000000u)
		return MAX_WAIT_MS;
	return (int)((x->next_ns - now + 999999) / 1000000);
}

void rn_daemon_disco_peers_set(struct rn_daemon *d, const struct rn_wg_config *plan)
{
	bool nat = d->disco && d->disco->behind_nat;

	for (size_t i = 0; i < plan->n_peers; i++) {
		const struct rn_wg_peer_config *pc = &plan->peers[i];

		if ((pc->flags & RN_WG_PEER_REMOVE) || !(pc->flags & RN_WG_PEER_HAS_ENDPOINT))
			continue;
		/*
		 * Both ends get the map at once; if both initiated, the initiations would cross
		 * and stall until the 5 s retry. So the lower key goes first, unless we are
		 * behind NAT, where our packets must go out to open the mapping.
		 */
		if (nat || memcmp(d->public_key, pc->public_key, RN_WG_KEY_LEN) < 0)
			(void)rn_wg_device_poke(d->dev, pc->public_key);
	}
}

static json_t *addr_json(const struct sockaddr_storage *a)
{
	char s[64];

	if (a->ss_family == AF_UNSPEC)
		return json_null();
	rn_stun_addr_str(a, s, sizeof(s));
	return json_string(s);
}

static const char *udp_name(enum rn_disco_udp u)
{
	return u == RN_DISCO_UDP_OK ? "ok" : u == RN_DISCO_UDP_BLOCKED ? "blocked" : "unknown";
}

/* The checks between rounds: which families, how often, what they found. */
static json_t *checks_json(const struct rn_disco *dc)
{
	return json_pack("{s:i, s:b, s:b, s:I, s:I, s:I}", "every_s", RN_DISCO_CHECK_S, "ipv4",
			 dc->fam[0].check.on, "ipv6", dc->fam[1].check.on, "sent",
			 (json_int_t)dc->checks, "remaps", (json_int_t)dc->remaps, "unanswered",
			 (json_int_t)dc->silent);
}

static json_t *status_base(const struct rn_daemon *d)
{
	const struct rn_daemon_disco *x = d->disco;
	const struct rn_disco *dc;
	json_t *servers;

	if (!x)
		return json_null();
	dc = &x->disco;
	servers = json_array();
	for (size_t i = 0; servers && i < dc->n_servers; i++) {
		const struct rn_disco_server *s = &dc->servers[i];
		bool ok = s->mapped.ss_family != AF_UNSPEC;

		json_array_append_new(
		    servers, json_pack("{s:o, s:o, s:o, s:b}", "server", addr_json(&s->addr),
				       "mapped", addr_json(&s->mapped), "latency_ms",
				       ok ? json_real((double)s->rtt_ns / 1e6) : json_null(),
				       "answered_last_round", s->answered_this_round));
	}
	return json_pack("{s:s, s:b, s:b, s:{s:o, s:o}, s:{s:b, s:b}, s:i, s:o, s:I, s:b}", "udp",
			 udp_name(dc->udp), "behind_nat", x->behind_nat, "hard_nat",
			 dc->fam[0].hard || dc->fam[1].hard, "mappings", "ipv4",
			 addr_json(&dc->fam[0].mapped), "ipv6", addr_json(&dc->fam[1].mapped),
			 "varies_by_destination", "ipv4", dc->fam[0].hard, "ipv6", dc->fam[1].hard,
			 "persistent_keepalive", x->keepalive_s, "servers", servers, "rounds",
			 (json_int_t)dc->rounds, "in_round", dc->in_round);
}

json_t *rn_daemon_disco_status(const struct rn_daemon *d)
{
	json_t *st = status_base(d);

	if (d->disco && st) {
		json_object_set_new(st, "last_round",
				    json_string(rn_disco_why_name(d->disco->disco.why)));
		json_object_set_new(st, "checks", checks_json(&d->disco->disco));
	}
	return st;
}

/* {"refresh": true}: start a round now; the answer is the state before it runs. */
json_t *rn_daemon_disco_cmd_netcheck(struct rn_daemon *d, json_t *args)
{
	if (!d->disco)
		return rn_ipc_reply_error(
		    "endpoint discovery is not running (see rustynetd's log)");
	if (json_is_true(json_object_get(args, "refresh")))
		rn_disco_kick(&d->disco->disco);
	return rn_ipc_reply_ok(rn_daemon_disco_status(d));
}
