/* SPDX-License-Identifier: MIT */
/* Per-node netmaps from an epoch snapshot, and the cache that versions them (see mapper.h). */
#include "common/util.h"
#include "control/mapper.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/log.h"
#include "control/world.h"
#include "netmap/netmap_priv.h"
#include "policy/compile.h"
#include "relay/relay.h"

/* A node's endpoints as the netmap carries them. */
struct rn_mapper_eps {
	union rn_netmap_endpoint v[RN_NETMAP_MAX_ENDPOINTS];
	size_t n;
};

struct rn_mapper_epoch {
	uint64_t serial;
	int64_t now;
	uint64_t cache_valid_s; /* the maps' cache_valid_s; 0: the protocol's default (24 h) */
	struct rn_control_world world; /* without expired nodes: they are in nobody's map */
	struct rn_policy *policy;
	char domain[RN_STORE_LABEL_MAX + 1]; /* a DNS label: the store allows no more */
	struct rn_store_ip ups[RN_STORE_DNS_UPSTREAMS_MAX]; /* dns_upstreams, for dns.resolvers */
	size_t n_ups;
	struct rn_netmap_dns_record *records; /* owned: dns_records, for dns.records */
	size_t n_records;
	union rn_netmap_endpoint stun[RN_NETMAP_MAX_STUN]; /* own responder, then stun_servers */
	size_t n_stun;
	struct rn_netmap_relay relays[RN_NETMAP_MAX_RELAYS]; /* own relay, then the admin's */
	size_t n_relays;				     /* 0 without a secret */
	uint8_t relay_secret[RN_RELAY_SECRET_LEN];	     /* secret: wiped on free */
	struct rn_filter_prefix cgnat, ula48; /* the mesh: no LAN route may overlap them */
	struct rn_mapper_eps *eps; /* owned: world.nodes[i]'s endpoints, parsed once per epoch */
};

struct rn_mapper_entry {
	uint64_t node_id;
	uint64_t serial;    /* epoch the entry was last checked at */
	uint64_t version;   /* of envelope */
	uint64_t issued_at; /* of envelope: signed again once older than RN_MAPPER_RESIGN_S */
	uint8_t hash[32];   /* SHA-256 of the map's content, see rn_mapper_content_hash() */
	char *envelope;	    /* owned */
	size_t len;
};

struct rn_mapper_cache {
	struct rn_netmap_encoder *enc; /* owned: holds the signing key */
	int64_t (*clock)(void);	       /* unix seconds: time(NULL), or a test's */
	struct rn_mapper_entry *v;     /* owned */
	size_t n, cap;
};

/* The policy in force, or deny-all when none was ever set or the stored one does not parse. */
static int rn_mapper_policy(struct rn_store *store, struct rn_policy **out)
{
	struct rn_policy_error perr;
	char *text = NULL;
	int64_t rev = 0;
	int ret;

	ret = rn_store_policy_get(store, &text, &rev);
	if (ret)
		return ret;
	if (text) {
		ret = rn_policy_parse(text, strlen(text), "policy", out, &perr);
		if (ret == -EINVAL)
			log_error(MAIN,
				  "the stored policy (revision %lld) does not parse: %s; "
				  "denying everything until a good one is set",
				  (long long)rev, perr.text);
		free(text);
		if (ret != -EINVAL)
			return ret;
	}
	return rn_policy_parse("{}", 2, "deny-all", out, NULL);
}

/* Endpoints from the store's JSON array; ones the netmap could not carry are left out. */
static void rn_mapper_endpoints(const char *text, struct rn_mapper_eps *out)
{
	json_t *a = json_loads(text ? text : "[]", 0, NULL), *v;
	size_t i;

	out->n = 0;
	json_array_foreach(a, i, v) {
		if (out->n < RN_NETMAP_MAX_ENDPOINTS && json_is_string(v) &&
		    rn_netmap_endpoint_parse(json_string_value(v), &out->v[out->n]) == 0)
			out->n++;
	}
	json_decref(a);
}

/* The admin's DNS upstreams; none when never set. A stored value that no longer parses is
 * logged and ignored: nodes then forward as if none were set. */
static int rn_mapper_upstreams(struct rn_store *store, struct rn_mapper_epoch *e)
{
	char text[RN_STORE_DNS_UPSTREAMS_TEXT_MAX], err[128];
	int ret;

	e->n_ups = 0;
	ret = rn_store_setting_get(store, "dns_upstreams", text, sizeof(text));
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	if (rn_store_dns_upstreams_parse(text, e->ups, RN_STORE_DNS_UPSTREAMS_MAX, &e->n_ups, err,
					 sizeof(err))) {
		log_error(MAIN, "the stored dns_upstreams \"%s\" does not parse: %s; ignored", text,
			  err);
		e->n_ups = 0;
	}
	return 0;
}

/* The admin's extra DNS records; as with the upstreams, a stored value that no longer parses
 * is logged and ignored. */
static int rn_mapper_records(struct rn_store *store, struct rn_mapper_epoch *e)
{
	char *text = malloc(RN_STORE_DNS_RECORDS_TEXT_MAX), err[160];
	int ret = text ? 0 : -ENOMEM;

	e->n_records = 0;
	e->records = calloc(RN_STORE_DNS_RECORDS_MAX, sizeof(*e->records));
	if (!e->records)
		ret = -ENOMEM;
	if (!ret)
		ret =
		    rn_store_setting_get(store, "dns_records", text, RN_STORE_DNS_RECORDS_TEXT_MAX);
	if (ret == -ENOENT)
		ret = 0;
	else if (!ret && rn_store_dns_records_parse(text, e->records, RN_STORE_DNS_RECORDS_MAX,
						    &e->n_records, err, sizeof(err))) {
		log_error(MAIN, "the stored dns_records does not parse: %s; ignored", err);
		e->n_records = 0;
	}
	free(text);
	return ret;
}

/*
 * The map's "stun": the server's own responder first (a node's first question goes to the
 * server it already trusts), then the admin's list less any the server already named. A stored
 * list that no longer parses is logged and ignored.
 */
static int rn_mapper_stun(struct rn_store *store, const union rn_netmap_endpoint *own, size_t n_own,
			  struct rn_mapper_epoch *e)
{
	union rn_netmap_endpoint admin[RN_STORE_STUN_SERVERS_MAX];
	char text[RN_STORE_STUN_SERVERS_TEXT_MAX], err[160];
	size_t n_admin = 0;
	int ret;

	e->n_stun = 0;
	for (size_t i = 0; i < n_own && i < RN_STORE_STUN_OWN_MAX; i++)
		e->stun[e->n_stun++] = own[i];
	ret = rn_store_setting_get(store, "stun_servers", text, sizeof(text));
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	if (rn_store_stun_servers_parse(text, admin, RN_STORE_STUN_SERVERS_MAX, &n_admin, err,
					sizeof(err))) {
		log_error(MAIN, "the stored stun_servers \"%s\" does not parse: %s; ignored", text,
			  err);
		return 0;
	}
	for (size_t i = 0; i < n_admin && e->n_stun < RN_NETMAP_MAX_STUN; i++) {
		bool dup = false;

		for (size_t j = 0; j < e->n_stun && !dup; j++)
			dup = rn_store_stun_server_same(&e->stun[j], &admin[i]);
		if (!dup)
			e->stun[e->n_stun++] = admin[i];
	}
	return 0;
}

/*
 * The map's "relays": the server's own first, then the admin's; none without the secret that
 * makes the credential. A stored list that no longer reads is logged and ignored.
 */
static int rn_mapper_relays(struct rn_store *store, const struct rn_mapper_own *own,
			    struct rn_mapper_epoch *e)
{
	struct rn_netmap_relay admin[RN_STORE_RELAYS_MAX];
	size_t n_admin = 0;

	e->n_relays = 0;
	if (own && own->relay)
		e->relays[e->n_relays++] = *own->relay;
	if (rn_store_relay_list(store, admin, &n_admin)) {
		log_error(MAIN, "the stored relays: %s; ignored", rn_store_errmsg(store));
		n_admin = 0;
	}
	for (size_t i = 0; i < n_admin && e->n_relays < RN_NETMAP_MAX_RELAYS; i++)
		e->relays[e->n_relays++] = admin[i];
	if (!e->n_relays)
		return 0;
	if (!own || !own->relay_secret) {
		log_warn(MAIN, "%zu relays, but no relay secret: the maps list none", e->n_relays);
		e->n_relays = 0;
		return 0;
	}
	memcpy(e->relay_secret, own->relay_secret, sizeof(e->relay_secret));
	return 0;
}

uint64_t rn_mapper_cred_expiry(int64_t now)
{
	uint64_t t = now > 0 ? (uint64_t)now : 0;

	return (t / RN_MAPPER_CRED_GRID_S + 1) * RN_MAPPER_CRED_GRID_S + RN_MAPPER_CRED_VALID_S;
}

bool rn_mapper_epoch_cred_changed(const struct rn_mapper_epoch *e, int64_t now)
{
	return e->n_relays && rn_mapper_cred_expiry(e->now) != rn_mapper_cred_expiry(now);
}

int rn_mapper_epoch_load(struct rn_store *store, uint64_t serial, int64_t now,
			 const struct rn_mapper_own *own, struct rn_mapper_epoch **out, char *err,
			 size_t errlen)
{
	static const uint8_t cgnat[4] = { 100, 64 };
	uint8_t ula[16] = { 0 };
	struct rn_mapper_epoch *e;
	int ret;

	*out = NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return rn_errf(err, errlen, -ENOMEM, "out of memory");
	e->serial = serial;
	e->now = now;
#ifdef RN_TEST_HOOKS
	/* Test builds: a short cache validity for the restart tests (mesh-restart.sh). */
	const char *cv = getenv("RUSTYNET_CONTROL_CACHE_VALID_S");

	if (cv && atoi(cv) > 0 && atoi(cv) <= RN_NETMAP_CACHE_VALID_MAX_S)
		e->cache_valid_s = (uint64_t)atoi(cv);
#endif
	ret = rn_control_world_load(store, RN_CONTROL_WORLD_SKIP_EXPIRED, &e->world);
	if (ret) {
		rn_errf(err, errlen, ret, "%s", e->world.err);
		goto err;
	}
	ret = rn_store_setting_get(store, "domain", e->domain, sizeof(e->domain));
	if (!ret)
		ret = rn_mapper_upstreams(store, e);
	if (!ret)
		ret = rn_mapper_records(store, e);
	if (!ret)
		ret = rn_mapper_stun(store, own ? own->stun : NULL, own ? own->n_stun : 0, e);
	if (!ret)
		ret = rn_mapper_relays(store, own, e);
	if (!ret)
		ret = rn_mapper_policy(store, &e->policy);
	if (ret) {
		rn_errf(err, errlen, ret, "%s", rn_store_errmsg(store));
		goto err;
	}
	e->eps = calloc(e->world.n_nodes + 1, sizeof(*e->eps));
	if (!e->eps) {
		ret = rn_errf(err, errlen, -ENOMEM, "out of memory");
		goto err;
	}
	for (size_t i = 0; i < e->world.n_nodes; i++)
		rn_mapper_endpoints(e->world.nodes[i].endpoints, &e->eps[i]);
	rn_store_ula_prefix(store, ula);
	rn_filter_prefix_make(&e->cgnat, AF_INET, cgnat, 10);
	rn_filter_prefix_make(&e->ula48, AF_INET6, ula, 48);
	*out = e;
	return 0;
err:
	rn_mapper_epoch_free(e);
	return ret;
}

void rn_mapper_epoch_free(struct rn_mapper_epoch *e)
{
	if (!e)
		return;
	rn_control_world_free(&e->world);
	rn_policy_free(e->policy);
	free(e->eps);
	free(e->records);
	OPENSSL_cleanse(e->relay_secret, sizeof(e->relay_secret));
	free(e);
}

uint64_t rn_mapper_epoch_serial(const struct rn_mapper_epoch *e)
{
	return e->serial;
}

const struct rn_control_world *rn_mapper_epoch_world(const struct rn_mapper_epoch *e)
{
	return &e->world;
}

const struct rn_policy *rn_mapper_epoch_policy(const struct rn_mapper_epoch *e)
{
	return e->policy;
}

#ifdef RN_TEST_HOOKS
static int64_t rn_mapper_online_hook_s = RN_MAPPER_ONLINE_S;
static pthread_once_t rn_mapper_online_once = PTHREAD_ONCE_INIT;

/* Test builds: a shorter window for the offline tests (dns-basic.sh), with short polls. Read
 * once: rn_mapper_online runs for every node of every map. */
static void rn_mapper_online_read(void)
{
	const char *v = getenv("RUSTYNET_CONTROL_ONLINE_S");

	if (v && atoi(v) > 0 && atoi(v) <= RN_MAPPER_ONLINE_S)
		rn_mapper_online_hook_s = atoi(v);
}
#endif

int64_t rn_mapper_online_s(void)
{
#ifdef RN_TEST_HOOKS
	pthread_once(&rn_mapper_online_once, rn_mapper_online_read);
	return rn_mapper_online_hook_s;
#else
	return RN_MAPPER_ONLINE_S;
#endif
}

static bool rn_mapper_online(int64_t last_seen, int64_t now)
{
	return last_seen > 0 && now - last_seen <= rn_mapper_online_s();
}

bool rn_mapper_epoch_online_changed(const struct rn_mapper_epoch *e, int64_t now)
{
	for (size_t i = 0; i < e->world.n_nodes; i++) {
		int64_t seen = e->world.nodes[i].last_seen;

		int64_t expires = e->world.nodes[i].key_expires_at;

		if (rn_mapper_online(seen, e->now) != rn_mapper_online(seen, now))
			return true;
		if (expires > 0 && e->now < expires && expires <= now)
			return true; /* its key expired since: it leaves every map */
	}
	return false;
}

/* Index of node id in the world (ordered by id), or -1. */
static long rn_mapper_find(const struct rn_mapper_epoch *e, uint64_t id)
{
	size_t lo = 0, hi = e->world.n_nodes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t m = (uint64_t)e->world.nodes[mid].id;

		if (m == id)
			return (long)mid;
		if (m < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* A LAN route a netmap may carry: not a default route, clear of the mesh. */
static bool rn_mapper_route_ok(const struct rn_mapper_epoch *e, const struct rn_filter_prefix *p)
{
	struct rn_filter_prefix unused;

	return p->len > 0 && !rn_filter_prefix_intersect(p, &e->cgnat, &unused) &&
	       !rn_filter_prefix_intersect(p, &e->ula48, &unused);
}

/* The owner as the netmap wants it: printable ASCII without spaces, 1-128 bytes. */
static void rn_mapper_user(const char *name, char out[RN_NETMAP_USER_MAX + 1])
{
	size_t i;

	for (i = 0; name[i] && i < RN_NETMAP_USER_MAX; i++)
		out[i] = (name[i] > 0x20 && name[i] < 0x7f) ? name[i] : '_';
	out[i] = '\0';
	if (!i)
		strcpy(out, "?");
}

/* p's endpoints: a copy of those parsed with the epoch. */
static int rn_mapper_peer_endpoints(const struct rn_mapper_eps *eps, struct rn_netmap_peer *p)
{
	p->n_endpoints = 0;
	if (!eps->n)
		return 0;
	p->endpoints = malloc(eps->n * sizeof(*p->endpoints));
	if (!p->endpoints)
		return -ENOMEM;
	memcpy(p->endpoints, eps->v, eps->n * sizeof(*p->endpoints));
	p->n_endpoints = eps->n;
	return 0;
}

static void rn_mapper_addrs(struct rn_filter_prefix *out, const struct rn_store_node *nd)
{
	rn_filter_prefix_make(&out[0], AF_INET, &nd->ipv4, 32);
	rn_filter_prefix_make(&out[1], AF_INET6, &nd->ipv6, 128);
}

/*
 * Which of routes this node gets: a route that the netmap may carry, through a router that is
 * one of its peers, and the first router for its prefix (no prefix may sit at two peers).
 */
static void rn_mapper_pick_routes(const struct rn_mapper_epoch *e, const struct rn_policy_routes *r,
				  const uint64_t *peers, size_t n_peers, bool *taken)
{
	for (size_t i = 0; i < r->n; i++) {
		bool peer = false, dup = false;

		for (size_t j = 0; j < n_peers && !peer; j++)
			peer = peers[j] == r->v[i].router;
		for (size_t j = 0; j < i && !dup; j++)
			dup = taken[j] && rn_filter_prefix_equal(&r->v[j].prefix, &r->v[i].prefix);
		taken[i] = peer && !dup && rn_mapper_route_ok(e, &r->v[i].prefix);
	}
}

static int rn_mapper_peer(const struct rn_mapper_epoch *e, const struct rn_store_node *nd,
			  const struct rn_policy_routes *r, const bool *taken, bool is_exit,
			  struct rn_netmap_peer *p)
{
	size_t n = 0;

	p->id = (uint64_t)nd->id;
	snprintf(p->name, sizeof(p->name), "%s", nd->dns_name);
	snprintf(p->dns_name, sizeof(p->dns_name), "%s.%s", nd->dns_name, e->domain);
	memcpy(p->public_key, nd->public_key, RN_NETMAP_KEY_LEN);
	memcpy(p->ipv4, &nd->ipv4, 4);
	memcpy(p->ipv6, &nd->ipv6, 16);
	p->online = rn_mapper_online(nd->last_seen, e->now);
	p->last_seen = nd->last_seen > 0 ? (uint64_t)nd->last_seen : 0;
	p->is_exit = is_exit;
	for (size_t i = 0; i < r->n; i++)
		n += taken[i] && r->v[i].router == p->id;
	p->lan_routes = calloc(n + 1, sizeof(*p->lan_routes));
	p->allowed_ips = calloc(n + 2, sizeof(*p->allowed_ips));
	if (!p->lan_routes || !p->allowed_ips)
		return -ENOMEM;
	rn_mapper_addrs(p->allowed_ips, nd);
	p->n_allowed_ips = 2;
	for (size_t i = 0; i < r->n; i++) {
		if (!taken[i] || r->v[i].router != p->id)
			continue;
		p->lan_routes[p->n_lan_routes++] = r->v[i].prefix;
		p->allowed_ips[p->n_allowed_ips++] = r->v[i].prefix;
	}
	return rn_mapper_peer_endpoints(&e->eps[nd - e->world.nodes], p);
}

static bool rn_mapper_has(const uint64_t *v, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

/* The filter's own LAN routes, less any the netmap could not carry. */
static void rn_mapper_clean_filter(const struct rn_mapper_epoch *e, struct rn_filter *f)
{
	size_t k = 0;

	for (size_t i = 0; i < f->n_routes; i++)
		if (rn_mapper_route_ok(e, &f->routes[i]))
			f->routes[k++] = f->routes[i];
	f->n_routes = k;
}

static int rn_mapper_self(const struct rn_mapper_epoch *e, const struct rn_store_node *nd,
			  struct rn_netmap *m)
{
	m->issued_at = e->now > 0 ? (uint64_t)e->now : 1;
	m->cache_valid_s = e->cache_valid_s;
	snprintf(m->domain, sizeof(m->domain), "%s", e->domain);
	snprintf(m->dns.search_domain, sizeof(m->dns.search_domain), "%s", e->domain);
	if (e->n_ups) {
		m->dns.resolvers = calloc(e->n_ups, sizeof(*m->dns.resolvers));
		if (!m->dns.resolvers)
			return -ENOMEM;
		for (size_t i = 0; i < e->n_ups; i++) {
			m->dns.resolvers[i].family = (uint8_t)e->ups[i].family;
			memcpy(m->dns.resolvers[i].addr, e->ups[i].addr, 16);
		}
		m->dns.n_resolvers = e->n_ups;
	}
	if (e->n_records) {
		m->dns.records = calloc(e->n_records, sizeof(*m->dns.records));
		if (!m->dns.records)
			return -ENOMEM;
		memcpy(m->dns.records, e->records, e->n_records * sizeof(*m->dns.records));
		m->dns.n_records = e->n_records;
	}
	if (e->n_stun) {
		m->stun = calloc(e->n_stun, sizeof(*m->stun));
		if (!m->stun)
			return -ENOMEM;
		memcpy(m->stun, e->stun, e->n_stun * sizeof(*m->stun));
		m->n_stun = e->n_stun;
	}
	if (e->n_relays) {
		struct rn_relay_cred cred;

		m->relays = calloc(e->n_relays, sizeof(*m->relays));
		if (!m->relays || rn_relay_credential_issue(e->relay_secret, nd->public_key,
							    rn_mapper_cred_expiry(e->now), &cred))
			return -ENOMEM;
		memcpy(m->relays, e->relays, e->n_relays * sizeof(*m->relays));
		m->n_relays = e->n_relays;
		m->relay_cred.expires = cred.expiry;
		memcpy(m->relay_cred.token, cred.token, sizeof(m->relay_cred.token));
		OPENSSL_cleanse(&cred, sizeof(cred));
	}
	m->self.id = (uint64_t)nd->id;
	snprintf(m->self.name, sizeof(m->self.name), "%s", nd->dns_name);
	snprintf(m->self.dns_name, sizeof(m->self.dns_name), "%s.%s", nd->dns_name, e->domain);
	rn_mapper_user(rn_control_world_user_name(&e->world, nd->user_id), m->self.user);
	memcpy(m->self.ipv4, &nd->ipv4, 4);
	memcpy(m->self.ipv6, &nd->ipv6, 16);
	memcpy(m->self.public_key, nd->public_key, RN_NETMAP_KEY_LEN);
	return 0;
}

int rn_mapper_build(const struct rn_mapper_epoch *e, uint64_t node_id, struct rn_netmap *m,
		    char *err, size_t errlen)
{
	const struct rn_policy_world *w = &e->world.w;
	struct rn_policy_routes routes = { 0 };
	uint64_t *peers = NULL, *exits = NULL;
	size_t n_peers = 0, n_exits = 0;
	bool *taken = NULL;
	long self = rn_mapper_find(e, node_id);
	int ret;

	memset(m, 0, sizeof(*m));
	if (self < 0)
		return rn_errf(err, errlen, -ENOENT,
			       "node %llu is not in the network, or is expired",
			       (unsigned long long)node_id);
	peers = calloc(w->n_nodes + 1, sizeof(*peers));
	exits = calloc(w->n_nodes + 1, sizeof(*exits));
	if (!peers || !exits) {
		ret = -ENOMEM;
		goto out;
	}
	ret = rn_policy_visible_peers(e->policy, w, node_id, peers, &n_peers);
	if (!ret)
		ret = rn_policy_exit_nodes_for(e->policy, w, node_id, exits, &n_exits);
	if (!ret)
		ret = rn_policy_lan_routes_for(e->policy, w, node_id, &routes);
	if (!ret)
		ret = rn_policy_compile_filter(e->policy, w, node_id, &m->filter);
	if (ret)
		goto out;
	rn_mapper_clean_filter(e, &m->filter);
	ret = rn_mapper_self(e, &e->world.nodes[self], m);
	if (ret)
		goto out;
	taken = calloc(routes.n + 1, sizeof(*taken));
	m->peers = calloc(n_peers + 1, sizeof(*m->peers));
	if (!taken || !m->peers) {
		ret = -ENOMEM;
		goto out;
	}
	rn_mapper_pick_routes(e, &routes, peers, n_peers, taken);
	for (size_t i = 0; i < n_peers && !ret; i++) {
		long p = rn_mapper_find(e, peers[i]);

		if (p < 0 || p == self)
			continue;
		ret =
		    rn_mapper_peer(e, &e->world.nodes[p], &routes, taken,
				   rn_mapper_has(exits, n_exits, peers[i]), &m->peers[m->n_peers]);
		m->n_peers++;
	}
out:
	free(taken);
	free(peers);
	free(exits);
	rn_policy_routes_free(&routes);
	if (ret) {
		rn_netmap_free(m);
		return rn_errf(err, errlen, ret, "building the map of node %llu: %s",
			       (unsigned long long)node_id, strerror(-ret));
	}
	return 0;
}

/* ---- the cache ---- */

static int64_t wall_clock(void)
{
	return (int64_t)time(NULL);
}

struct rn_mapper_cache *rn_mapper_cache_new(const uint8_t signing_priv[RN_NETMAP_KEY_LEN])
{
	struct rn_mapper_cache *c = calloc(1, sizeof(*c));

	if (c && !(c->enc = rn_netmap_encoder_new(signing_priv))) {
		free(c);
		return NULL;
	}
	if (c)
		c->clock = wall_clock;
	return c;
}

void rn_mapper_cache_set_clock(struct rn_mapper_cache *c, int64_t (*clock)(void))
{
	c->clock = clock ? clock : wall_clock;
}

void rn_mapper_cache_free(struct rn_mapper_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].envelope);
	free(c->v);
	rn_netmap_encoder_free(c->enc);
	free(c);
}

static struct rn_mapper_entry *rn_mapper_entry(struct rn_mapper_cache *c, uint64_t node_id,
					       bool create)
{
	struct rn_mapper_entry *grown;

	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].node_id == node_id)
			return &c->v[i];
	if (!create)
		return NULL;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;

		grown = realloc(c->v, cap * sizeof(*c->v));
		if (!grown)
			return NULL;
		c->v = grown;
		c->cap = cap;
	}
	memset(&c->v[c->n], 0, sizeof(c->v[c->n]));
	c->v[c->n].node_id = node_id;
	return &c->v[c->n++];
}

void rn_mapper_cache_forget(struct rn_mapper_cache *c, uint64_t node_id)
{
	struct rn_mapper_entry *en = rn_mapper_entry(c, node_id, false);

	if (!en)
		return;
	free(en->envelope);
	*en = c->v[--c->n];
}

/* ---- the content hash: every field of the map but version, issued_at and peers' last_seen ---- */

static void rn_hash_bytes(EVP_MD_CTX *h, const void *p, size_t n)
{
	uint64_t len = n;

	EVP_DigestUpdate(h, &len, sizeof(len)); /* length first: no two field lists collide */
	EVP_DigestUpdate(h, p, n);
}

static void rn_hash_u64(EVP_MD_CTX *h, uint64_t v)
{
	EVP_DigestUpdate(h, &v, sizeof(v));
}

static void rn_hash_str(EVP_MD_CTX *h, const char *s)
{
	rn_hash_bytes(h, s, strlen(s));
}

/* Field by field, never whole structs: their padding is not ours to hash. */
static void rn_hash_prefixes(EVP_MD_CTX *h, const struct rn_filter_prefix *p, size_t n)
{
	rn_hash_u64(h, n);
	for (size_t i = 0; i < n; i++) {
		rn_hash_u64(h, (uint64_t)p[i].family << 8 | p[i].len);
		EVP_DigestUpdate(h, p[i].addr, sizeof(p[i].addr));
	}
}

static void rn_hash_endpoint(EVP_MD_CTX *h, const union rn_netmap_endpoint *ep)
{
	rn_hash_u64(h, ep->sa.sa_family);
	if (ep->sa.sa_family == AF_INET) {
		rn_hash_u64(h, ep->sin.sin_port);
		EVP_DigestUpdate(h, &ep->sin.sin_addr, 4);
	} else {
		rn_hash_u64(h, ep->sin6.sin6_port);
		EVP_DigestUpdate(h, &ep->sin6.sin6_addr, 16);
	}
}

static void rn_hash_peer(EVP_MD_CTX *h, const struct rn_netmap_peer *p)
{
	rn_hash_u64(h, p->id);
	rn_hash_str(h, p->name);
	rn_hash_str(h, p->dns_name);
	EVP_DigestUpdate(h, p->public_key, sizeof(p->public_key));
	EVP_DigestUpdate(h, p->ipv4, sizeof(p->ipv4));
	EVP_DigestUpdate(h, p->ipv6, sizeof(p->ipv6));
	rn_hash_u64(h, p->n_endpoints);
	for (size_t i = 0; i < p->n_endpoints; i++)
		rn_hash_endpoint(h, &p->endpoints[i]);
	rn_hash_prefixes(h, p->allowed_ips, p->n_allowed_ips);
	rn_hash_u64(h, (uint64_t)p->online << 1 | p->is_exit);
	rn_hash_prefixes(h, p->lan_routes, p->n_lan_routes);
}

static void rn_hash_filter(EVP_MD_CTX *h, const struct rn_filter *f)
{
	rn_hash_prefixes(h, f->self, f->n_self);
	rn_hash_prefixes(h, f->routes, f->n_routes);
	rn_hash_u64(h, f->exit);
	rn_hash_u64(h, f->n_rules);
	for (size_t i = 0; i < f->n_rules; i++) {
		const struct rn_filter_rule *r = &f->rules[i];

		rn_hash_u64(h, (uint64_t)r->context << 8 | r->proto);
		rn_hash_prefixes(h, r->src, r->n_src);
		rn_hash_prefixes(h, r->dst, r->n_dst);
		rn_hash_u64(h, r->n_ports);
		for (size_t j = 0; j < r->n_ports; j++)
			rn_hash_u64(h, (uint64_t)r->ports[j].first << 16 | r->ports[j].last);
	}
}

static void rn_hash_dns(EVP_MD_CTX *h, const struct rn_netmap_dns *d)
{
	rn_hash_u64(h, d->n_resolvers);
	for (size_t i = 0; i < d->n_resolvers; i++) {
		rn_hash_u64(h, d->resolvers[i].family);
		EVP_DigestUpdate(h, d->resolvers[i].addr, sizeof(d->resolvers[i].addr));
	}
	rn_hash_u64(h, d->n_records);
	for (size_t i = 0; i < d->n_records; i++) {
		rn_hash_str(h, d->records[i].name);
		rn_hash_u64(h, d->records[i].type);
		rn_hash_u64(h, d->records[i].value.family);
		EVP_DigestUpdate(h, d->records[i].value.addr, sizeof(d->records[i].value.addr));
	}
	rn_hash_str(h, d->search_domain);
}

/*
 * SHA-256 of what a node would see change: everything but version, issued_at and the peers'
 * last_seen. Hashed from the struct rather than the encoded text, which would cost a second
 * encoding of every map (the expensive part of a change).
 */
static int rn_mapper_content_hash(const struct rn_netmap *m, uint8_t hash[32], char *err,
				  size_t errlen)
{
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	unsigned int hlen = 0;
	int ok;

	if (!h)
		return rn_errf(err, errlen, -ENOMEM, "out of memory");
	ok = EVP_DigestInit_ex(h, EVP_sha256(), NULL);
	rn_hash_str(h, m->domain);
	rn_hash_u64(h, m->cache_valid_s);
	rn_hash_u64(h, m->self.id);
	rn_hash_str(h, m->self.name);
	rn_hash_str(h, m->self.dns_name);
	rn_hash_str(h, m->self.user);
	EVP_DigestUpdate(h, m->self.ipv4, sizeof(m->self.ipv4));
	EVP_DigestUpdate(h, m->self.ipv6, sizeof(m->self.ipv6));
	EVP_DigestUpdate(h, m->self.public_key, sizeof(m->self.public_key));
	rn_hash_u64(h, m->n_peers);
	for (size_t i = 0; i < m->n_peers; i++)
		rn_hash_peer(h, &m->peers[i]);
	rn_hash_filter(h, &m->filter);
	rn_hash_dns(h, &m->dns);
	rn_hash_u64(h, m->n_stun);
	for (size_t i = 0; i < m->n_stun; i++)
		rn_hash_endpoint(h, &m->stun[i]);
	rn_hash_u64(h, m->n_relays);
	for (size_t i = 0; i < m->n_relays; i++) {
		rn_hash_str(h, m->relays[i].name);
		rn_hash_endpoint(h, &m->relays[i].udp);
		rn_hash_endpoint(h, &m->relays[i].tls);
		EVP_DigestUpdate(h, m->relays[i].spki, sizeof(m->relays[i].spki));
	}
	/* the credential too: a new one (every RN_MAPPER_CRED_GRID_S) is a new map */
	rn_hash_u64(h, m->relay_cred.expires);
	EVP_DigestUpdate(h, m->relay_cred.token, sizeof(m->relay_cred.token));
	ok = ok && EVP_DigestFinal_ex(h, hash, &hlen) == 1 && hlen == 32;
	EVP_MD_CTX_free(h);
	return ok ? 0 : rn_errf(err, errlen, -EIO, "SHA-256 failed");
}

/* A new version of the entry's map: numbered by the store, signed. */
static int rn_mapper_renew(struct rn_mapper_cache *c, struct rn_store *store,
			   struct rn_mapper_entry *en, struct rn_netmap *m, char *err,
			   size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	ret = rn_store_next_version(store, &m->version);
	if (ret)
		return rn_errf(err, errlen, ret, "%s", rn_store_errmsg(store));
	ret = rn_netmap_encoder_run(c->enc, m, &text, &len, err, errlen);
	if (ret)
		return ret;
	free(en->envelope);
	en->envelope = text;
	en->len = len;
	en->version = m->version;
	en->issued_at = m->issued_at;
	return 0;
}

/*
 * The entry's map again, same version, issued now. A map kept because nothing changed still
 * ages, and a node that has none (a new login, a restart past its cache's validity) refuses one
 * older than its max age: without this it would wait for the next change in the network.
 */
static int rn_mapper_resign(struct rn_mapper_cache *c, const struct rn_mapper_epoch *e,
			    uint64_t node_id, struct rn_mapper_entry *en, uint64_t now, char *err,
			    size_t errlen)
{
	struct rn_netmap m;
	char *text = NULL;
	size_t len = 0;
	int ret;

	ret = rn_mapper_build(e, node_id, &m, err, errlen);
	if (ret)
		return ret;
	m.version = en->version;
	m.issued_at = now;
	ret = rn_netmap_encoder_run(c->enc, &m, &text, &len, err, errlen);
	rn_netmap_free(&m);
	if (ret)
		return ret;
	free(en->envelope);
	en->envelope = text;
	en->len = len;
	en->issued_at = now;
	return 0;
}

int rn_mapper_cache_get(struct rn_mapper_cache *c, const struct rn_mapper_epoch *e,
			struct rn_store *store, uint64_t node_id, uint64_t *version,
			const char **envelope, size_t *len, char *err, size_t errlen)
{
	struct rn_mapper_entry *en = rn_mapper_entry(c, node_id, false);
	struct rn_netmap m;
	uint8_t hash[32];
	int64_t now;
	int ret;

	if (!en || en->serial != e->serial || !en->envelope) {
		ret = rn_mapper_build(e, node_id, &m, err, errlen);
		if (ret == -ENOENT)
			rn_mapper_cache_forget(c, node_id);
		if (ret)
			return ret;
		ret = rn_mapper_content_hash(&m, hash, err, errlen);
		if (!ret && !(en = rn_mapper_entry(c, node_id, true)))
			ret = rn_errf(err, errlen, -ENOMEM, "out of memory");
		if (!ret && en && (!en->envelope || memcmp(hash, en->hash, sizeof(hash)) != 0)) {
			ret = rn_mapper_renew(c, store, en, &m, err, errlen);
			if (!ret)
				memcpy(en->hash, hash, sizeof(hash));
		}
		rn_netmap_free(&m);
		if (ret)
			return ret;
		en->serial = e->serial;
	}
	now = c->clock();
	if (now > 0 && (uint64_t)now > en->issued_at + RN_MAPPER_RESIGN_S) {
		ret = rn_mapper_resign(c, e, node_id, en, (uint64_t)now, err, errlen);
		if (ret == -ENOENT)
			rn_mapper_cache_forget(c, node_id);
		if (ret)
			return ret;
	}
	*version = en->version;
	*envelope = en->envelope;
	*len = en->len;
	return 0;
}
