/* SPDX-License-Identifier: MIT */
/* Tests of the netmap builder and its version cache, on a real store in a temp state dir. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "control/mapper.h"
#include "control/store.h"
#include "control/store_testdir.h"
#include "netmap/netmap.h"
#include "policy/filter.h"
#include "relay/relay.h"

#define NOW 1767225600

static const char ssh_only[] =
    "{\"acls\":[{\"action\":\"accept\",\"src\":[\"alice\"],\"proto\":\"tcp\","
    "\"dst\":[\"bob:22\"]}]}";
static const char lan_too[] = "{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],"
			      "\"dst\":[\"*:*\",\"192.168.0.0/16:*\",\"100.64.0.0/16:*\"]}]}";
static const char allow_all[] =
    "{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],\"dst\":[\"*:*\"]}]}";

struct fixture {
	char dir[RN_TEST_STORE_DIR_LEN];
	struct rn_store *store;
	uint8_t priv[32], pub[32];
	int64_t alice, bob;
	int64_t laptop, server, old; /* alice's, bob's, bob's expired */
	struct rn_mapper_cache *cache;
	uint64_t serial;
	union rn_netmap_endpoint own_stun[2]; /* the server's responder, as serve gives it */
	size_t n_own_stun;
	struct rn_netmap_relay own_relay; /* name "": none */
	uint8_t relay_secret[RN_RELAY_SECRET_LEN];
	bool has_secret;
};

static int64_t enroll(struct fixture *f, const char *hostname, int64_t user, uint8_t n)
{
	uint8_t key[RN_STORE_KEY_LEN];
	struct rn_store_node_enroll req = { .hostname = hostname,
					    .user_id = user,
					    .public_key = key };
	struct rn_store_node node;
	int64_t id;

	memset(key, n, sizeof(key));
	assert_int_equal(rn_store_node_add(f->store, "test", &req, NOW, &node, NULL), 0);
	id = node.id;
	rn_store_node_clear(&node);
	return id;
}

/* The cache's clock: the tests' NOW unless a test moves it. */
static int64_t clock_now = NOW + 10;

static int64_t test_clock(void)
{
	return clock_now;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	rn_test_store_open(f->dir, "mapper", &f->store);
	assert_int_equal(rn_store_user_add(f->store, "test", "alice", NOW, &f->alice), 0);
	assert_int_equal(rn_store_user_add(f->store, "test", "bob", NOW, &f->bob), 0);
	f->laptop = enroll(f, "laptop", f->alice, 1);
	f->server = enroll(f, "server", f->bob, 2);
	f->old = enroll(f, "old", f->bob, 3);
	assert_int_equal(rn_store_node_expire(f->store, "test", f->old, NOW), 0);
	assert_int_equal(rn_store_policy_set(f->store, "test", ssh_only, NOW), 0);
	memset(f->priv, 0x42, sizeof(f->priv));
	assert_int_equal(rn_netmap_sign_key_public(f->priv, f->pub), 0);
	f->cache = rn_mapper_cache_new(f->priv);
	assert_non_null(f->cache);
	rn_mapper_cache_set_clock(f->cache, test_clock);
	assert_non_null(f->cache);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rn_mapper_cache_free(f->cache);
	rn_test_store_remove(f->dir, f->store);
	free(f);
	return 0;
}

static struct rn_mapper_epoch *epoch(struct fixture *f, int64_t now)
{
	struct rn_mapper_epoch *e = NULL;
	char err[256];

	struct rn_mapper_own own = { .stun = f->own_stun,
				     .n_stun = f->n_own_stun,
				     .relay = f->own_relay.name[0] ? &f->own_relay : NULL,
				     .relay_secret = f->has_secret ? f->relay_secret : NULL };

	assert_int_equal(
	    rn_mapper_epoch_load(f->store, ++f->serial, now, &own, &e, err, sizeof(err)), 0);
	return e;
}

static bool allows(const struct rn_netmap *m, const struct rn_netmap *from, uint16_t port)
{
	return rn_filter_allows(&m->filter, RN_FILTER_MESH, AF_INET, from->self.ipv4, m->self.ipv4,
				RN_IPPROTO_TCP, port);
}

/* alice -> bob tcp/22: each side's peers and filter, and no map for the expired node. */
static void test_maps_follow_policy(void **state)
{
	struct fixture *f = *state;
	struct rn_mapper_epoch *e;
	struct rn_netmap lap, srv, none;
	char err[256];

	assert_int_equal(rn_store_node_touch(f->store, f->laptop, NOW - 10,
					     "[\"198.51.100.7:41641\",\"[2001:db8::7]:41641\"]"),
			 0);
	e = epoch(f, NOW);
	assert_int_equal(rn_mapper_build(e, (uint64_t)f->laptop, &lap, err, sizeof(err)), 0);
	assert_int_equal(rn_mapper_build(e, (uint64_t)f->server, &srv, err, sizeof(err)), 0);
	assert_int_equal(rn_mapper_build(e, (uint64_t)f->old, &none, err, sizeof(err)), -ENOENT);
	assert_int_equal(rn_mapper_build(e, 999, &none, err, sizeof(err)), -ENOENT);

	/* peers: each sees the other and never the expired node */
	assert_int_equal(lap.n_peers, 1);
	assert_int_equal(lap.peers[0].id, (uint64_t)f->server);
	assert_int_equal(srv.n_peers, 1);
	assert_int_equal(srv.peers[0].id, (uint64_t)f->laptop);
	assert_string_equal(srv.peers[0].dns_name, "laptop.rustynet");
	assert_string_equal(lap.self.user, "alice");
	assert_string_equal(lap.dns.search_domain, "rustynet");
	/* the laptop checked in 10 s ago with two endpoints; the server never did */
	assert_int_equal(srv.peers[0].n_endpoints, 2);
	assert_true(srv.peers[0].online);
	assert_int_equal(srv.peers[0].last_seen, NOW - 10);
	assert_false(lap.peers[0].online);
	assert_int_equal(lap.peers[0].n_endpoints, 0);
	assert_int_equal(srv.peers[0].n_allowed_ips, 2);

	/* filters: the server admits the laptop on 22 only; the laptop admits nothing */
	assert_true(allows(&srv, &lap, 22));
	assert_false(allows(&srv, &lap, 23));
	assert_false(allows(&lap, &srv, 22));
	assert_int_equal(lap.filter.n_rules, 0);

	rn_netmap_free(&lap);
	rn_netmap_free(&srv);
	rn_mapper_epoch_free(e);

	/* 61 s later the laptop is offline, and the epoch knows it should be reloaded */
	e = epoch(f, NOW);
	assert_false(rn_mapper_epoch_online_changed(e, NOW + 40));
	assert_true(rn_mapper_epoch_online_changed(e, NOW + 60));
	rn_mapper_epoch_free(e);
	e = epoch(f, NOW + 60);
	assert_int_equal(rn_mapper_build(e, (uint64_t)f->server, &srv, err, sizeof(err)), 0);
	assert_false(srv.peers[0].online);
	rn_netmap_free(&srv);
	rn_mapper_epoch_free(e);
}

struct got {
	uint64_t version;
	char *envelope;
};

static struct got get(struct fixture *f, struct rn_mapper_epoch *e, int64_t node)
{
	struct got g = { 0 };
	const char *env = NULL;
	char err[256];
	size_t len = 0;

	assert_int_equal(rn_mapper_cache_get(f->cache, e, f->store, (uint64_t)node, &g.version,
					     &env, &len, err, sizeof(err)),
			 0);
	assert_int_equal(strlen(env), len);
	g.envelope = strdup(env);
	return g;
}

/* The map decodes under the signing key, with the version the cache reported. */
static void check_decodes(struct fixture *f, const struct got *g, size_t n_peers)
{
	struct rn_netmap m;
	uint8_t other[32], other_pub[32];
	char err[256];

	assert_int_equal(
	    rn_netmap_decode(g->envelope, strlen(g->envelope), f->pub, &m, err, sizeof(err)), 0);
	assert_int_equal(m.version, g->version);
	assert_int_equal(m.n_peers, n_peers);
	rn_netmap_free(&m);
	memset(other, 0x43, sizeof(other));
	assert_int_equal(rn_netmap_sign_key_public(other, other_pub), 0);
	assert_int_equal(
	    rn_netmap_decode(g->envelope, strlen(g->envelope), other_pub, &m, err, sizeof(err)),
	    -EKEYREJECTED);
}

/* What changes a version, in order; each step is a change made, then a fresh epoch. */
static void test_versions(void **state)
{
	struct fixture *f = *state;
	struct rn_mapper_epoch *e;
	struct got first, g;
	const char *env;
	uint64_t v;
	char err[256];
	size_t len;

	/* the laptop is online from the start, so a later check-in moves only last_seen */
	assert_int_equal(rn_store_node_touch(f->store, f->laptop, NOW - 5, NULL), 0);
	e = epoch(f, NOW);
	first = get(f, e, f->server);
	assert_true(first.version >= 1);
	check_decodes(f, &first, 1);
	/* same epoch: the same entry, no new version */
	g = get(f, e, f->server);
	assert_int_equal(g.version, first.version);
	assert_string_equal(g.envelope, first.envelope);
	free(g.envelope);
	/* the expired node has no map */
	assert_int_equal(rn_mapper_cache_get(f->cache, e, f->store, (uint64_t)f->old, &v, &env,
					     &len, err, sizeof(err)),
			 -ENOENT);
	rn_mapper_epoch_free(e);

	static const struct {
		const char *what;
		int change; /* 0 none, 1 last_seen only, 2 endpoints, 3 policy, 4 STUN servers */
		bool bumps;
	} steps[] = {
		{ "new epoch, nothing changed", 0, false },
		{ "the laptop checked in: only last_seen moved", 1, false },
		{ "the laptop's endpoints changed", 2, true },
		{ "the policy now allows everything", 3, true },
		{ "nothing changed again", 0, false },
		{ "the admin's STUN servers changed", 4, true },
		{ "nothing changed after that", 0, false },
	};
	v = first.version;
	free(first.envelope);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (steps[i].change == 1)
			assert_int_equal(rn_store_node_touch(f->store, f->laptop, NOW + 1, NULL),
					 0);
		if (steps[i].change == 2)
			assert_int_equal(rn_store_node_touch(f->store, f->laptop, NOW + 2,
							     "[\"198.51.100.9:1\"]"),
					 0);
		if (steps[i].change == 3)
			assert_int_equal(rn_store_policy_set(f->store, "test", allow_all, NOW), 0);
		if (steps[i].change == 4)
			assert_int_equal(rn_store_setting_set(f->store, "test", "stun_servers",
							      "203.0.113.9:3478", NOW),
					 0);
		e = epoch(f, NOW + 3);
		g = get(f, e, f->server);
		if (steps[i].bumps)
			assert_true(g.version > v);
		else
			assert_int_equal(g.version, v);
		check_decodes(f, &g, 1);
		print_message("  %s: version %llu\n", steps[i].what, (unsigned long long)g.version);
		v = g.version;
		free(g.envelope);
		rn_mapper_epoch_free(e);
	}
}

/*
 * A map nothing changed keeps its version, but not its age: once older than RN_MAPPER_RESIGN_S
 * it is signed again with a fresh issued_at, so a node that has no map (a new login, a restart
 * past its cache's validity) gets one it accepts. With the test hook's validity unset the map
 * carries no cache_valid_s: the protocol's 24 h apply.
 */
static void test_resign_when_old(void **state)
{
	struct fixture *f = *state;
	struct rn_mapper_epoch *e = epoch(f, NOW);
	struct got first, g;
	struct rn_netmap m;
	char err[256];

	clock_now = NOW + 10;
	first = get(f, e, f->server);
	clock_now = NOW + RN_MAPPER_RESIGN_S;
	g = get(f, e, f->server);
	assert_string_equal(g.envelope, first.envelope); /* young enough: the same bytes */
	free(g.envelope);
	clock_now = NOW + 10 * RN_MAPPER_RESIGN_S;
	g = get(f, e, f->server);
	assert_int_equal(g.version, first.version);
	assert_string_not_equal(g.envelope, first.envelope);
	assert_int_equal(
	    rn_netmap_decode(g.envelope, strlen(g.envelope), f->pub, &m, err, sizeof(err)), 0);
	assert_int_equal(m.issued_at, NOW + 10 * RN_MAPPER_RESIGN_S);
	assert_int_equal(m.version, first.version);
	assert_int_equal(m.cache_valid_s, 0);
	rn_netmap_free(&m);
	free(g.envelope);
	free(first.envelope);
	rn_mapper_epoch_free(e);
	clock_now = NOW + 10;
}

/* Expiring a node takes it out of its peers' maps and bumps their versions. */
static void test_expire_drops_peer(void **state)
{
	struct fixture *f = *state;
	struct rn_mapper_epoch *e = epoch(f, NOW);
	struct got a = get(f, e, f->server), b;

	rn_mapper_epoch_free(e);
	assert_int_equal(rn_store_node_expire(f->store, "test", f->laptop, NOW), 0);
	e = epoch(f, NOW);
	b = get(f, e, f->server);
	assert_true(b.version > a.version);
	check_decodes(f, &b, 0);
	free(a.envelope);
	free(b.envelope);
	rn_mapper_epoch_free(e);
}

/* Routes: approved LAN routes reach the client through one router; mesh-overlapping ones never. */
static void test_lan_routes(void **state)
{
	struct fixture *f = *state;
	struct rn_mapper_epoch *e;
	struct rn_netmap lap;
	char err[256], buf[RN_FILTER_PREFIX_STRLEN];
	int64_t r2 = enroll(f, "router2", f->bob, 4);
	const char *routes = "[\"192.168.1.0/24\",\"100.64.0.0/16\"]";

	assert_int_equal(rn_store_policy_set(f->store, "test", lan_too, NOW), 0);
	assert_int_equal(rn_store_node_set_routes(f->store, "test", f->server, routes, false, NOW),
			 0);
	assert_int_equal(rn_store_node_approve_routes(f->store, "test", f->server, routes, NOW), 0);
	assert_int_equal(
	    rn_store_node_set_routes(f->store, "test", r2, "[\"192.168.1.0/24\"]", false, NOW), 0);
	assert_int_equal(
	    rn_store_node_approve_routes(f->store, "test", r2, "[\"192.168.1.0/24\"]", NOW), 0);
	e = epoch(f, NOW);
	assert_int_equal(rn_mapper_build(e, (uint64_t)f->laptop, &lap, err, sizeof(err)), 0);
	assert_int_equal(lap.n_peers, 2);
	/* the server (lower id) wins 192.168.1.0/24; 100.64.0.0/16 overlaps the mesh: dropped */
	assert_int_equal(lap.peers[0].id, (uint64_t)f->server);
	assert_int_equal(lap.peers[0].n_lan_routes, 1);
	assert_string_equal(rn_filter_prefix_format(&lap.peers[0].lan_routes[0], buf, sizeof(buf)),
			    "192.168.1.0/24");
	assert_int_equal(lap.peers[0].n_allowed_ips, 3);
	assert_int_equal(lap.peers[1].n_lan_routes, 0);
	assert_int_equal(lap.peers[1].n_allowed_ips, 2);
	assert_int_equal(rn_netmap_validate(&(struct rn_netmap){ 0 }, NULL, 0) != 0, 1);
	lap.version = 1;
	assert_int_equal(rn_netmap_validate(&lap, err, sizeof(err)), 0);
	rn_netmap_free(&lap);
	rn_mapper_epoch_free(e);
}

/*
 * A full mesh of 100 nodes: every live node's map lists every other live node, built and
 * signed through the cache. (Its cost at 100 to 10,000 nodes is bench/control.sh's business:
 * no timing here.)
 */
static void test_full_mesh(void **state)
{
	struct fixture *f = *state;
	struct rn_mapper_epoch *e;
	struct rn_netmap m;
	char name[32], err[256];

	assert_int_equal(rn_store_policy_set(f->store, "test", allow_all, NOW), 0);
	for (int i = 0; i < 97; i++) {
		uint8_t key[RN_STORE_KEY_LEN];
		struct rn_store_node_enroll req = { .hostname = name,
						    .user_id = i % 2 ? f->alice : f->bob,
						    .public_key = key };

		snprintf(name, sizeof(name), "n%d", i);
		memset(key, 0x10, sizeof(key));
		memcpy(key, &i, sizeof(i));
		assert_int_equal(rn_store_node_add(f->store, "test", &req, NOW, NULL, NULL), 0);
	}
	e = epoch(f, NOW);
	for (int64_t id = 1; id <= 100; id++) {
		struct got g;

		if (id == f->old)
			continue;
		assert_int_equal(rn_mapper_build(e, (uint64_t)id, &m, err, sizeof(err)), 0);
		assert_int_equal(m.n_peers, 98);
		rn_netmap_free(&m);
		g = get(f, e, id);
		assert_non_null(g.envelope);
		free(g.envelope);
	}
	rn_mapper_epoch_free(e);
}

static void endpoint(const char *text, union rn_netmap_endpoint *ep)
{
	char err[160];
	size_t n = 0;

	assert_int_equal(rn_store_stun_servers_parse(text, ep, 1, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
}

static const char *stun_text(const struct rn_netmap *m, char *buf, size_t size)
{
	rn_store_stun_servers_format(m->stun, m->n_stun, buf, size);
	return buf;
}

/*
 * The map's "stun": absent with no responder and no list; the server's own responder first,
 * then the admin's list without what the server already named; a decoded map carries the same.
 */
static void test_stun(void **state)
{
	struct fixture *f = *state;
	char err[256], text[RN_STORE_STUN_SERVERS_TEXT_MAX];
	struct rn_mapper_epoch *e;
	struct rn_netmap m, d;
	struct got g;

	e = epoch(f, NOW);
	assert_int_equal(rn_mapper_build(e, (uint64_t)f->laptop, &m, err, sizeof(err)), 0);
	assert_int_equal(m.n_stun, 0);
	rn_netmap_free(&m);
	g = get(f, e, f->laptop);
	assert_null(strstr(g.envelope, "stun"));
	free(g.envelope);
	rn_mapper_epoch_free(e);

	endpoint("198.51.100.1:3478", &f->own_stun[0]);
	endpoint("[2001:db8:1::1]:3478", &f->own_stun[1]);
	f->n_own_stun = 2;
	assert_int_equal(
	    rn_store_setting_set(f->store, "admin:t", "stun_servers",
				 "203.0.113.9:3478,198.51.100.1:3478,[2001:db8::9]:19302", NOW),
	    0);
	e = epoch(f, NOW);
	assert_int_equal(rn_mapper_build(e, (uint64_t)f->laptop, &m, err, sizeof(err)), 0);
	assert_string_equal(stun_text(&m, text, sizeof(text)),
			    "198.51.100.1:3478,[2001:db8:1::1]:3478,203.0.113.9:3478,"
			    "[2001:db8::9]:19302");
	rn_netmap_free(&m);
	g = get(f, e, f->server);
	assert_int_equal(
	    rn_netmap_decode(g.envelope, strlen(g.envelope), f->pub, &d, err, sizeof(err)), 0);
	assert_string_equal(stun_text(&d, text, sizeof(text)),
			    "198.51.100.1:3478,[2001:db8:1::1]:3478,203.0.113.9:3478,"
			    "[2001:db8::9]:19302");
	rn_netmap_free(&d);
	free(g.envelope);
	rn_mapper_epoch_free(e);

	/* the longest list the store takes, beside the most the responder adds: exactly the
	 * map's limit */
	assert_int_equal(rn_store_setting_set(f->store, "admin:t", "stun_servers",
					      "192.0.2.1:1,192.0.2.2:1,192.0.2.3:1,192.0.2.4:1,"
					      "192.0.2.5:1,192.0.2.6:1",
					      NOW),
			 0);
	e = epoch(f, NOW);
	assert_int_equal(rn_mapper_build(e, (uint64_t)f->laptop, &m, err, sizeof(err)), 0);
	assert_int_equal(m.n_stun, RN_NETMAP_MAX_STUN);
	m.version = 1; /* what the cache gives it */
	if (rn_netmap_validate(&m, err, sizeof(err)))
		fail_msg("%s", err);
	rn_netmap_free(&m);
	rn_mapper_epoch_free(e);
}

/* Whether m's credential is the relay secret's for m's own key, valid at now. */
static bool cred_ok(const struct fixture *f, const struct rn_netmap *m, uint64_t now)
{
	struct rn_relay_cred c = { .expiry = m->relay_cred.expires };

	memcpy(c.key, m->self.public_key, sizeof(c.key));
	memcpy(c.token, m->relay_cred.token, sizeof(c.token));
	return rn_relay_credential_verify(f->relay_secret, &c, now);
}

/*
 * The map's "relays" and "relay_credential": none without a secret; with one, the server's own
 * relay first, then the admin's, and each node a credential for its own key, on the 12 h grid
 * (the same map, same version, within a grid step; a new version past it).
 */
static void test_relays(void **state)
{
	struct fixture *f = *state;
	struct rn_netmap_relay ext;
	struct rn_mapper_epoch *e;
	struct rn_netmap m, s, d;
	char err[256];
	struct got g1, g2, g3;

	/* the grid: the next multiple of 12 h, plus 24 h */
	assert_int_equal(NOW % RN_MAPPER_CRED_GRID_S, 0);
	assert_int_equal(rn_mapper_cred_expiry(NOW), NOW + 12 * 3600 + 24 * 3600);
	assert_int_equal(rn_mapper_cred_expiry(NOW - 1), NOW + 24 * 3600);
	assert_int_equal(rn_mapper_cred_expiry(NOW + 43199), NOW + 12 * 3600 + 24 * 3600);

	assert_int_equal(rn_store_relay_make("control", "198.51.100.1:3479", "", NULL,
					     &f->own_relay, err, sizeof(err)),
			 -EINVAL); /* the own relay's name is not the admin's to take */
	memset(&f->own_relay, 0, sizeof(f->own_relay));
	strcpy(f->own_relay.name, RN_STORE_RELAY_OWN_NAME);
	endpoint("198.51.100.1:3479", &f->own_relay.udp);
	endpoint("198.51.100.1:8444", &f->own_relay.tls);
	memset(f->own_relay.spki, 0x5a, sizeof(f->own_relay.spki));

	/* a relay but no secret: nothing listed (a credential cannot be made) */
	e = epoch(f, NOW);
	assert_int_equal(rn_mapper_build(e, (uint64_t)f->laptop, &m, err, sizeof(err)), 0);
	assert_int_equal(m.n_relays, 0);
	assert_int_equal(m.relay_cred.expires, 0);
	assert_false(rn_mapper_epoch_cred_changed(e, NOW + 86400));
	rn_netmap_free(&m);
	rn_mapper_epoch_free(e);

	memset(f->relay_secret, 0x42, sizeof(f->relay_secret));
	f->has_secret = true;
	assert_int_equal(rn_store_relay_make("r2", "203.0.113.5:3479", "[2001:db8::5]:443",
					     "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=", &ext,
					     err, sizeof(err)),
			 0);
	assert_int_equal(rn_store_relay_add(f->store, "admin:t", &ext, NOW), 0);
	e = epoch(f, NOW);
	assert_int_equal(rn_mapper_build(e, (uint64_t)f->laptop, &m, err, sizeof(err)), 0);
	assert_int_equal(rn_mapper_build(e, (uint64_t)f->server, &s, err, sizeof(err)), 0);
	assert_int_equal(m.n_relays, 2);
	assert_string_equal(m.relays[0].name, "control");
	assert_memory_equal(&m.relays[0], &f->own_relay, sizeof(f->own_relay));
	assert_memory_equal(&m.relays[1], &ext, sizeof(ext));
	assert_int_equal(m.relay_cred.expires, rn_mapper_cred_expiry(NOW));
	assert_true(cred_ok(f, &m, NOW));
	assert_true(cred_ok(f, &s, NOW));
	/* each node's own: the laptop's token is not the server's */
	assert_memory_not_equal(m.relay_cred.token, s.relay_cred.token, 32);
	m.version = 1;
	if (rn_netmap_validate(&m, err, sizeof(err)))
		fail_msg("%s", err);
	rn_netmap_free(&m);
	rn_netmap_free(&s);
	g1 = get(f, e, f->laptop);
	assert_int_equal(
	    rn_netmap_decode(g1.envelope, strlen(g1.envelope), f->pub, &d, err, sizeof(err)), 0);
	assert_int_equal(d.n_relays, 2);
	assert_true(cred_ok(f, &d, NOW));
	rn_netmap_free(&d);
	assert_false(rn_mapper_epoch_cred_changed(e, NOW + 43199));
	assert_true(rn_mapper_epoch_cred_changed(e, NOW + 43200));
	rn_mapper_epoch_free(e);

	/* later in the same grid step: the same map */
	e = epoch(f, NOW + 3600);
	g2 = get(f, e, f->laptop);
	assert_int_equal(g2.version, g1.version);
	rn_mapper_epoch_free(e);
	/* past it: a new credential, so a new version */
	e = epoch(f, NOW + 43200);
	g3 = get(f, e, f->laptop);
	assert_true(g3.version > g1.version);
	assert_int_equal(
	    rn_netmap_decode(g3.envelope, strlen(g3.envelope), f->pub, &d, err, sizeof(err)), 0);
	assert_int_equal(d.relay_cred.expires, rn_mapper_cred_expiry(NOW + 43200));
	assert_true(cred_ok(f, &d, NOW + 43200));
	rn_netmap_free(&d);
	rn_mapper_epoch_free(e);
	free(g1.envelope);
	free(g2.envelope);
	free(g3.envelope);

	/* the admin's relay removed: only the server's own */
	assert_int_equal(rn_store_relay_remove(f->store, "admin:t", "r2", NOW), 0);
	e = epoch(f, NOW);
	assert_int_equal(rn_mapper_build(e, (uint64_t)f->laptop, &m, err, sizeof(err)), 0);
	assert_int_equal(m.n_relays, 1);
	rn_netmap_free(&m);
	rn_mapper_epoch_free(e);

	/* no relay at all: no credential either */
	memset(&f->own_relay, 0, sizeof(f->own_relay));
	e = epoch(f, NOW);
	assert_int_equal(rn_mapper_build(e, (uint64_t)f->laptop, &m, err, sizeof(err)), 0);
	assert_int_equal(m.n_relays, 0);
	assert_int_equal(m.relay_cred.expires, 0);
	rn_netmap_free(&m);
	rn_mapper_epoch_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_maps_follow_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stun, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relays, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resign_when_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expire_drops_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lan_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_mesh, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
