/* SPDX-License-Identifier: MIT */
/*
 * The relayed path: see relays.h. One thread per relay owns its rn_relay_client (the library is
 * not thread-safe): it connects, registers, sends what the data plane's hook queued and feeds
 * what the relay delivers into the data plane. The hook, on packet threads, only copies into
 * the relay's bounded queue and wakes its thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/log.h"
#include "relay/client.h"
#include "rustynetd/daemon.h"
#include "rustynetd/exit.h"
#include "rustynetd/paths.h"
#include "rustynetd/relays.h"
#include "wg/device.h"

_Static_assert((int)RN_RELAY_KEY_LEN == (int)RN_WG_KEY_LEN, "relay keys are WireGuard keys");
_Static_assert((int)RN_RELAY_TOKEN_LEN == (int)RN_NETMAP_KEY_LEN, "the map carries whole tokens");
_Static_assert((int)RN_RELAY_SPKI_LEN == (int)RN_NETMAP_KEY_LEN, "the map carries whole pins");

enum {
	POLL_MS = 250,
	BACKOFF_MIN_MS = 1000,
	ERR_LEN = 256,
};

struct relay_out {
	uint8_t dst[RN_RELAY_KEY_LEN];
	uint16_t len;
	uint8_t data[RN_RELAY_PAYLOAD_MAX];
};

/* One relay's client and thread. */
struct relay_conn {
	struct rn_daemon_relays *owner;
	struct rn_netmap_relay cfg; /* as started: a change restarts the connection */
	union rn_wg_endpoint ep;    /* the data plane's name for it */
	pthread_t thread;
	int wake_fd; /* eventfd: datagrams queued, a new credential, or stop */
	_Atomic bool stop;

	pthread_mutex_t lock; /* everything below */
	struct rn_relay_cred cred;
	bool cred_new;
	struct relay_out *q; /* ring of RN_RELAYS_QUEUE_LEN */
	unsigned int head, count;
	uint64_t dropped;
	bool connected, tls, registered;
	bool silent; /* a REGISTER unanswered for RN_RELAYS_SILENT_MS: no home, whatever it says */
	uint32_t rtt_us, last_rtt_us; /* the client's registration round trip; 0: none yet */
	char error[ERR_LEN];
};

struct rn_daemon_relays {
	struct rn_wg_device *dev;
	pthread_mutex_t lock; /* conns and n: the hook reads them */
	struct relay_conn *conns[RN_NETMAP_MAX_RELAYS];
	size_t n;
	/* the main thread's only */
	size_t home;	       /* the index of the home relay (relays.h) */
	bool home_set;	       /* a relay was chosen (logged) */
	uint64_t home_tick_ms; /* the last rn_daemon_relays_tick that looked */
};

void rn_daemon_relay_endpoint(size_t i, union rn_wg_endpoint *out)
{
	memset(out, 0, sizeof(*out));
	out->sin.sin_family = AF_INET;
	out->sin.sin_addr.s_addr = htonl(RN_WG_RELAY_NET | (uint32_t)(i + 1));
	out->sin.sin_port = htons(1);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void wake(struct relay_conn *c)
{
	uint64_t one = 1;

	if (write(c->wake_fd, &one, sizeof(one)) < 0)
		return; /* the counter is full: it is awake anyway */
}

/* The data plane's hook: packet threads, the device's cfg_lock held. Copy and return. */
static void hook(void *ctx, const uint8_t key[RN_WG_KEY_LEN], const union rn_wg_endpoint *to,
		 const void *buf, size_t len)
{
	struct rn_daemon_relays *r = ctx;
	size_t i = (ntohl(to->sin.sin_addr.s_addr) & ~RN_WG_RELAY_MASK) - 1;
	struct relay_conn *c;

	if (len > RN_RELAY_PAYLOAD_MAX)
		return;
	pthread_mutex_lock(&r->lock);
	c = i < r->n ? r->conns[i] : NULL;
	if (c) {
		pthread_mutex_lock(&c->lock);
		if (c->count < RN_RELAYS_QUEUE_LEN && c->connected) {
			struct relay_out *o = &c->q[(c->head + c->count++) % RN_RELAYS_QUEUE_LEN];

			memcpy(o->dst, key, RN_RELAY_KEY_LEN);
			o->len = (uint16_t)len;
			memcpy(o->data, buf, len);
		} else {
			c->dropped++;
		}
		pthread_mutex_unlock(&c->lock);
		wake(c);
	}
	pthread_mutex_unlock(&r->lock);
}

/* A datagram from the relay: into the data plane as if from the relay's endpoint. */
static void on_recv(void *ctx, const uint8_t src[RN_RELAY_KEY_LEN], const uint8_t *payload,
		    size_t len)
{
	struct relay_conn *c = ctx;

	int r;

	(void)src; /* WireGuard authenticates the sender; the key only routed it */
	r = rn_wg_device_relay_input(c->owner->dev, &c->ep, payload, len);
	if (r)
		log_debug(MAIN, "relay %s: dropped a %zu-byte datagram: %s", c->cfg.name, len,
			  strerror(-r));
}

static bool has(const union rn_netmap_endpoint *ep)
{
	return ep->sa.sa_family != AF_UNSPEC;
}

static void set_state(struct relay_conn *c, bool connected, bool tls, bool registered,
		      const char *error)
{
	pthread_mutex_lock(&c->lock);
	c->connected = connected;
	c->tls = tls;
	c->registered = registered;
	if (error)
		snprintf(c->error, sizeof(c->error), "%s", error);
	if (!connected) {
		c->count = 0; /* nothing can go out: what waited is stale by the reconnect */
		c->rtt_us = c->last_rtt_us = 0; /* a new connection measures anew */
		c->silent = false;
	}
	pthread_mutex_unlock(&c->lock);
}

/* The client's latency and liveness, for the home choice (main thread) to read. */
static void set_rtt(struct relay_conn *c, const struct rn_relay_client *cl)
{
	pthread_mutex_lock(&c->lock);
	c->rtt_us = rn_relay_client_rtt_us(cl);
	c->last_rtt_us = rn_relay_client_last_rtt_us(cl);
	c->silent = rn_relay_client_unanswered_ms(cl) >= RN_RELAYS_SILENT_MS;
	pthread_mutex_unlock(&c->lock);
}

static struct rn_relay_client *conn_open(struct relay_conn *c, bool tls)
{
	struct rn_relay_client_config cfg = {
		.tls = tls,
		.spki = c->cfg.spki,
		.recv = on_recv,
		.ctx = c,
		.fwmark = RN_EXIT_FWMARK,
		.probe_ms = RN_RELAYS_PROBE_MS,
	};
	char server[RN_PATHS_ADDR_STRLEN], err[ERR_LEN] = "";
	struct rn_relay_client *cl;
	struct rn_relay_cred cred;

	rn_daemon_paths_addr_str(
	    (const union rn_path_addr *)(const void *)(tls ? &c->cfg.tls : &c->cfg.udp), server,
	    sizeof(server));
	cfg.server = server;
	pthread_mutex_lock(&c->lock);
	cred = c->cred;
	c->cred_new = false;
	pthread_mutex_unlock(&c->lock);
	cfg.cred = &cred;
	cl = rn_relay_client_new(&cfg, err, sizeof(err));
	OPENSSL_cleanse(&cred, sizeof(cred));
	if (!cl) {
		log_warn(MAIN, "relay %s: %s", c->cfg.name, err);
		set_state(c, false, tls, false, err);
	} else {
		log_info(MAIN, "relay %s: connected over %s to %s", c->cfg.name,
			 tls ? "TLS" : "UDP", server);
		set_state(c, true, tls, false, "");
	}
	return cl;
}

/* Sends what the hook queued; a batch at a time out of the lock. 0 or -EPIPE. */
static int conn_flush(struct relay_conn *c, struct rn_relay_client *cl, struct relay_out *tmp)
{
	for (;;) {
		int r;

		pthread_mutex_lock(&c->lock);
		if (!c->count) {
			pthread_mutex_unlock(&c->lock);
			return 0;
		}
		*tmp = c->q[c->head];
		c->head = (c->head + 1) % RN_RELAYS_QUEUE_LEN;
		c->count--;
		pthread_mutex_unlock(&c->lock);
		r = rn_relay_client_send(cl, tmp->dst, tmp->data, tmp->len);
		if (r == -EPIPE)
			return r;
		if (r)
			log_debug(MAIN, "relay %s: a %u-byte datagram not sent: %s", c->cfg.name,
				  tmp->len, strerror(-r));
	}
}

struct conn_run {
	struct rn_relay_client *cl;
	bool tls, ever_registered;
	uint64_t started_ms, next_try_ms, backoff_ms, last_tick_ms;
	uint64_t last_reg_ms; /* the connection's start, or when it was last seen registered */
};

/* The connection failed or was given up: retry later, on the other transport if any. */
static void conn_drop(struct relay_conn *c, struct conn_run *s, const char *why)
{
	rn_relay_client_free(s->cl);
	s->cl = NULL;
	if (why) {
		log_warn(MAIN, "relay %s: %s", c->cfg.name, why);
		set_state(c, false, s->tls, false, why);
	}
	s->next_try_ms = mono_ms() + s->backoff_ms;
	s->backoff_ms = s->backoff_ms * 2 > RN_RELAYS_BACKOFF_MAX_MS ? RN_RELAYS_BACKOFF_MAX_MS
								     : s->backoff_ms * 2;
	if (has(&c->cfg.udp) && has(&c->cfg.tls))
		s->tls = !s->tls;
}

/* A new credential, then what the hook queued. 0 or -EPIPE. */
static int conn_io(struct relay_conn *c, struct rn_relay_client *cl, struct relay_out *tmp)
{
	pthread_mutex_lock(&c->lock);
	if (c->cred_new)
		rn_relay_client_set_cred(cl, &c->cred);
	c->cred_new = false;
	pthread_mutex_unlock(&c->lock);
	return conn_flush(c, cl, tmp);
}

/* One turn with a client: input, credential, output, refresh and the UDP deadline. */
static void conn_turn(struct relay_conn *c, struct conn_run *s, const struct pollfd *pfd,
		      struct relay_out *tmp)
{
	uint64_t now = mono_ms();
	bool reg;

	bool tick = now - s->last_tick_ms >= 1000 || (pfd->revents & POLLOUT);

	if (((pfd->revents & (POLLIN | POLLERR | POLLHUP)) &&
	     rn_relay_client_input(s->cl) == -EPIPE) ||
	    conn_io(c, s->cl, tmp) == -EPIPE || (tick && rn_relay_client_tick(s->cl) == -EPIPE)) {
		conn_drop(c, s, "the relay closed the connection");
		return;
	}
	if (tick)
		s->last_tick_ms = now;
	reg = rn_relay_client_registered(s->cl);
	if (reg && !s->ever_registered) {
		log_info(MAIN, "relay %s: registered over %s", c->cfg.name, s->tls ? "TLS" : "UDP");
		s->backoff_ms = BACKOFF_MIN_MS;
	}
	s->ever_registered |= reg;
	if (reg)
		s->last_reg_ms = now;
	set_state(c, true, s->tls, reg, NULL);
	set_rtt(c, s->cl);
	/* Never registered over UDP, or the registration lapsed (UDP blocked since): TLS. */
	if (!s->tls && now - s->last_reg_ms >= RN_RELAYS_UDP_WAIT_MS) {
		rn_relay_client_free(s->cl);
		s->cl = NULL;
		set_state(c, false, false, false, "UDP did not register within 3 s");
		if (has(&c->cfg.tls)) {
			log_info(MAIN, "relay %s: UDP did not register within 3 s: trying TLS",
				 c->cfg.name);
			s->tls = true; /* at once */
		} else {
			conn_drop(c, s, NULL);
		}
	}
}

static void *conn_thread(void *arg)
{
	struct relay_conn *c = arg;
	struct conn_run s = { .tls = !has(&c->cfg.udp), .backoff_ms = BACKOFF_MIN_MS };
	struct relay_out *tmp = malloc(sizeof(*tmp));
	uint64_t drain;

	while (tmp && !c->stop) {
		struct pollfd pfd[2] = { { .fd = -1, .events = POLLIN },
					 { .fd = c->wake_fd, .events = POLLIN } };
		uint64_t now = mono_ms();
		int wait_ms = POLL_MS;

		if (!s.cl && now >= s.next_try_ms) {
			s.cl = conn_open(c, s.tls);
			if (!s.cl) {
				conn_drop(c, &s, NULL);
				continue;
			}
			s.started_ms = s.last_tick_ms = s.last_reg_ms = mono_ms();
			s.ever_registered = false;
		}
		if (s.cl) {
			pfd[0].fd = rn_relay_client_fd(s.cl);
			if (rn_relay_client_want_write(s.cl))
				pfd[0].events |= POLLOUT;
		} else if (s.next_try_ms - now < (uint64_t)wait_ms) {
			wait_ms = (int)(s.next_try_ms - now);
		}
		if (poll(pfd, 2, wait_ms) > 0 && (pfd[1].revents & POLLIN) &&
		    read(c->wake_fd, &drain, sizeof(drain)) < 0)
			log_debug(MAIN, "relay %s: draining the wake-up event failed", c->cfg.name);
		if (c->stop)
			break;
		if (s.cl)
			conn_turn(c, &s, &pfd[0], tmp);
	}
	rn_relay_client_free(s.cl);
	free(tmp);
	return NULL;
}

static void conn_free(struct relay_conn *c)
{
	if (!c)
		return;
	c->stop = true;
	wake(c);
	pthread_join(c->thread, NULL); /* up to a TLS connect's timeout */
	close(c->wake_fd);
	OPENSSL_cleanse(&c->cred, sizeof(c->cred));
	pthread_mutex_destroy(&c->lock);
	free(c->q);
	free(c);
}

static struct relay_conn *conn_start(struct rn_daemon_relays *r, size_t i,
				     const struct rn_netmap_relay *cfg,
				     const struct rn_relay_cred *cred)
{
	struct relay_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->owner = r;
	c->cfg = *cfg;
	c->cred = *cred;
	rn_daemon_relay_endpoint(i, &c->ep);
	snprintf(c->error, sizeof(c->error), "connecting");
	pthread_mutex_init(&c->lock, NULL);
	c->q = calloc(RN_RELAYS_QUEUE_LEN, sizeof(*c->q));
	c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!c->q || c->wake_fd < 0 || pthread_create(&c->thread, NULL, conn_thread, c)) {
		if (c->wake_fd >= 0)
			close(c->wake_fd);
		pthread_mutex_destroy(&c->lock);
		free(c->q);
		free(c);
		return NULL;
	}
	return c;
}

#ifdef RN_TEST_HOOKS
/*
 * Test builds only, until the control server fills the map's relays:
 * RUSTYNETD_TEST_RELAY="NAME;UDP;TLS;PIN;CRED" (UDP or TLS "-" when not offered, PIN as
 * `rustynet-relay spki` prints it, CRED as `rustynet-relay issue` does) adds one relay and the
 * node's credential when the map has none.
 */
static size_t test_relay(struct rn_netmap_relay *out, struct rn_relay_cred *cred)
{
	const char *env = getenv("RUSTYNETD_TEST_RELAY");
	char buf[512], *f[5], *save = NULL, *t;
	struct sockaddr_storage ss;
	socklen_t len;
	size_t n = 0;

	if (!env || strlen(env) >= sizeof(buf))
		return 0;
	snprintf(buf, sizeof(buf), "%s", env);
	for (t = strtok_r(buf, ";", &save); t && n < 5; t = strtok_r(NULL, ";", &save))
		f[n++] = t;
	memset(out, 0, sizeof(*out));
	if (n != 5 || strlen(f[0]) >= sizeof(out->name) || !rn_relay_cred_parse(f[4], cred))
		return 0;
	snprintf(out->name, sizeof(out->name), "%s", f[0]);
	if (strcmp(f[1], "-") && rn_relay_addr_parse(f[1], &ss, &len))
		memcpy(&out->udp, &ss, len);
	if (strcmp(f[2], "-") && rn_relay_addr_parse(f[2], &ss, &len) &&
	    rn_relay_key_parse(f[3], out->spki))
		memcpy(&out->tls, &ss, len);
	return has(&out->udp) || has(&out->tls) ? 1 : 0;
}
#endif

/* The relays to run and the credential, from the map (or the test hook). */
static size_t wanted(const struct rn_daemon *d, struct rn_netmap_relay *v,
		     struct rn_relay_cred *cred)
{
	size_t n = d->map.relay_cred.expires ? d->map.n_relays : 0;

	memset(cred, 0, sizeof(*cred));
	memcpy(cred->key, d->public_key, RN_RELAY_KEY_LEN);
	cred->expiry = d->map.relay_cred.expires;
	memcpy(cred->token, d->map.relay_cred.token, RN_RELAY_TOKEN_LEN);
	if (n > RN_NETMAP_MAX_RELAYS)
		n = RN_NETMAP_MAX_RELAYS;
	for (size_t i = 0; i < n; i++)
		v[i] = d->map.relays[i];
#ifdef RN_TEST_HOOKS
	if (!n && d->map.version)
		n = test_relay(v, cred);
#endif
	return n;
}

static bool same_endpoint(const union rn_netmap_endpoint *a, const union rn_netmap_endpoint *b)
{
	return rn_path_addr_equal((const union rn_path_addr *)(const void *)a,
				  (const union rn_path_addr *)(const void *)b);
}

static bool same_relay(const struct rn_netmap_relay *a, const struct rn_netmap_relay *b)
{
	return !strcmp(a->name, b->name) && same_endpoint(&a->udp, &b->udp) &&
	       same_endpoint(&a->tls, &b->tls) && !memcmp(a->spki, b->spki, sizeof(a->spki));
}

static void set_cred(struct relay_conn *c, const struct rn_relay_cred *cred)
{
	bool changed;

	pthread_mutex_lock(&c->lock);
	changed = memcmp(&c->cred, cred, sizeof(*cred)) != 0;
	if (changed) {
		c->cred = *cred;
		c->cred_new = true;
	}
	pthread_mutex_unlock(&c->lock);
	if (changed)
		wake(c);
}

void rn_daemon_relays_apply(struct rn_daemon *d)
{
	struct rn_netmap_relay v[RN_NETMAP_MAX_RELAYS];
	struct relay_conn *old[RN_NETMAP_MAX_RELAYS] = { 0 }, *next[RN_NETMAP_MAX_RELAYS] = { 0 };
	struct rn_daemon_relays *r = d->relays;
	struct rn_relay_cred cred;
	size_t n = wanted(d, v, &cred);

	if (!r && n) {
		r = d->relays = calloc(1, sizeof(*r));
		if (!r) {
			log_warn(MAIN, "relays: out of memory: no relayed paths");
			goto out;
		}
		r->dev = d->dev;
		pthread_mutex_init(&r->lock, NULL);
		rn_wg_device_set_relay_hook(d->dev, hook, r);
	}
	if (!r)
		goto out;
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n; i++) {
		if (i < n && r->conns[i] && same_relay(&r->conns[i]->cfg, &v[i]))
			next[i] = r->conns[i];
		else
			old[i] = r->conns[i];
		r->conns[i] = NULL;
	}
	r->n = 0;
	pthread_mutex_unlock(&r->lock);
	for (size_t i = 0; i < RN_NETMAP_MAX_RELAYS; i++)
		conn_free(old[i]); /* out of the lock: a join can wait for a TLS connect */
	for (size_t i = 0; i < n; i++) {
		if (next[i])
			set_cred(next[i], &cred);
		else if (!(next[i] = conn_start(r, i, &v[i], &cred)))
			log_warn(MAIN, "relay %s: cannot start its thread", v[i].name);
		else
			log_info(MAIN, "relay %s: the data plane knows it as 127.127.0.%zu:1",
				 v[i].name, i + 1);
	}
	pthread_mutex_lock(&r->lock);
	memcpy(r->conns, next, sizeof(next));
	r->n = n;
	pthread_mutex_unlock(&r->lock);
	if (r->home >= n) { /* the tick chooses again within a second */
		r->home = 0;
		r->home_set = false;
	}
out:
	OPENSSL_cleanse(&cred, sizeof(cred));
}

void rn_daemon_relays_stop(struct rn_daemon *d)
{
	struct rn_daemon_relays *r = d->relays;

	if (!r)
		return;
	rn_wg_device_set_relay_hook(d->dev, NULL, NULL); /* no hook runs after this */
	for (size_t i = 0; i < r->n; i++)
		conn_free(r->conns[i]);
	pthread_mutex_destroy(&r->lock);
	free(r);
	d->relays = NULL;
}

size_t rn_daemon_relays_count(const struct rn_daemon *d)
{
	return d->relays ? d->relays->n : 0;
}

const char *rn_daemon_relays_name(const struct rn_daemon *d, const union rn_wg_endpoint *ep,
				  char *buf, size_t cap)
{
	struct rn_daemon_relays *r = d->relays;
	size_t i;
	const char *name = NULL;

	if (!r || !rn_wg_is_relay_endpoint(ep))
		return NULL;
	i = (ntohl(ep->sin.sin_addr.s_addr) & ~RN_WG_RELAY_MASK) - 1;
	pthread_mutex_lock(&r->lock);
	if (i < r->n && r->conns[i]) {
		snprintf(buf, cap, "%s", r->conns[i]->cfg.name);
		name = buf;
	}
	pthread_mutex_unlock(&r->lock);
	return name;
}

static json_t *latency_json(uint32_t rtt_us)
{
	return rtt_us ? json_real(rtt_us / 1000.0) : json_null();
}

size_t rn_daemon_relays_home(const struct rn_daemon *d)
{
	return d->relays && d->relays->home < d->relays->n ? d->relays->home : 0;
}

/* One relay as the home choice sees it, with its name for the log. */
struct relay_view {
	struct rn_relays_view h;
	char name[RN_NETMAP_LABEL_MAX + 1];
};

/* Copies each relay's view under the locks; returns the count. */
static size_t views(struct rn_daemon_relays *r, struct relay_view *v)
{
	size_t n;

	pthread_mutex_lock(&r->lock);
	n = r->n;
	for (size_t i = 0; i < n; i++) {
		struct relay_conn *c = r->conns[i];

		memset(&v[i], 0, sizeof(v[i]));
		if (!c)
			continue;
		snprintf(v[i].name, sizeof(v[i].name), "%s", c->cfg.name);
		pthread_mutex_lock(&c->lock);
		v[i].h.usable = c->registered && !c->silent;
		v[i].h.rtt_us = c->rtt_us;
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return n;
}

static const char *peer_name(const struct rn_daemon *d, const uint8_t key[RN_WG_KEY_LEN])
{
	for (size_t i = 0; i < d->map.n_peers; i++)
		if (!memcmp(d->map.peers[i].public_key, key, RN_WG_KEY_LEN))
			return d->map.peers[i].name;
	return "?";
}

/* Peers relayed through another of our relays go to the home's endpoint: the same session. */
static void move_peers(struct rn_daemon *d, size_t home, const char *name)
{
	struct rn_wg_config cfg = { 0 };
	union rn_wg_endpoint ep;

	rn_daemon_relay_endpoint(home, &ep);
	if (rn_wg_device_snapshot(d->dev, &cfg))
		return;
	for (size_t i = 0; i < cfg.n_peers; i++) {
		const struct rn_wg_peer_config *pc = &cfg.peers[i];
		int e;

		if (!rn_wg_is_relay_endpoint(&pc->endpoint) ||
		    rn_path_addr_equal((const union rn_path_addr *)(const void *)&pc->endpoint,
				       (const union rn_path_addr *)(const void *)&ep))
			continue;
		e = rn_wg_device_update_endpoint(d->dev, pc->public_key, &ep);
		if (e)
			log_warn(MAIN, "relay %s: cannot move %s to it: %s", name,
				 peer_name(d, pc->public_key), strerror(-e));
		else
			log_info(MAIN, "path: %s's endpoint now the home relay %s",
				 peer_name(d, pc->public_key), name);
	}
	rn_wg_config_free(&cfg);
}

void rn_daemon_relays_tick(struct rn_daemon *d)
{
	struct rn_daemon_relays *r = d->relays;
	struct relay_view v[RN_NETMAP_MAX_RELAYS];
	struct rn_relays_view hv[RN_NETMAP_MAX_RELAYS];
	uint64_t now = mono_ms();
	size_t n, home;
	bool usable;

	if (!r || now - r->home_tick_ms < 1000)
		return;
	r->home_tick_ms = now;
	n = views(r, v);
	for (size_t i = 0; i < n; i++)
		hv[i] = v[i].h;
	home = rn_daemon_relays_pick_home(hv, n, r->home_set ? r->home : n);
	usable = home < n && v[home].h.usable;
	if (home == r->home && usable == r->home_set)
		return;
	if (usable && r->home_set && r->home < n)
		log_info(MAIN, "relay %s: now the home relay (%.1f ms; %s: %s)", v[home].name,
			 v[home].h.rtt_us / 1000.0, v[r->home].name,
			 v[r->home].h.usable ? "slower" : "not registered");
	else if (usable)
		log_info(MAIN, "relay %s: now the home relay (%.1f ms)", v[home].name,
			 v[home].h.rtt_us / 1000.0);
	else
		log_warn(MAIN, "relays: none registered: no home relay");
	r->home_set = usable;
	if (home != r->home) {
		r->home = home;
		if (usable) /* none registered: no better place for them */
			move_peers(d, home, v[home].name);
		rn_daemon_paths_apply(d); /* the peers' relay candidate is the home's */
	}
}

json_t *rn_daemon_relays_status(struct rn_daemon *d)
{
	struct rn_daemon_relays *r = d->relays;
	json_t *a = json_array();

	if (!r || !a)
		return a;
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n; i++) {
		struct relay_conn *c = r->conns[i];
		char ep[INET_ADDRSTRLEN];

		if (!c)
			continue;
		inet_ntop(AF_INET, &c->ep.sin.sin_addr, ep, sizeof(ep));
		pthread_mutex_lock(&c->lock);
		json_array_append_new(
		    a,
		    json_pack("{s:s, s:s?, s:b, s:s?, s:s, s:I, s:o, s:b}", "name", c->cfg.name,
			      "transport", c->connected ? (c->tls ? "tls" : "udp") : NULL,
			      "registered", c->registered, "error", c->error[0] ? c->error : NULL,
			      "endpoint", ep, "dropped", (json_int_t)c->dropped, "latency_ms",
			      latency_json(c->rtt_us), "home", r->home_set && i == r->home));
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return a;
}

void rn_daemon_relays_netcheck(struct rn_daemon *d, json_t *out)
{
	struct rn_daemon_relays *r = d->relays;
	struct relay_view v[RN_NETMAP_MAX_RELAYS];
	json_t *a = json_array();
	size_t n = r ? views(r, v) : 0;

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:b, s:o, s:b}", "name", v[i].name,
						   "registered", v[i].h.usable, "latency_ms",
						   latency_json(v[i].h.rtt_us), "home",
						   r->home_set && i == r->home));
	json_object_set_new(out, "relays", a ? a : json_array());
	json_object_set_new(out, "preferred_relay",
			    r && r->home_set && r->home < n ? json_string(v[r->home].name)
							    : json_null());
}
