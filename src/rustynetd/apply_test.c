/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the pure half of applying a netmap: verification (signature, version,
 * freshness, self key) and the translation to a data-plane update and to addresses and routes,
 * on the netmap fixture.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "netmap/netmap_fixture.h"
#include "rustynetd/apply.h"
#include "system/ipaddr.h"

static const uint8_t self_key[32] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
				      1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };

static __attribute__((noinline)) char *sealed_fixture(size_t *len,
						      void (*change)(struct rn_netmap *))
{
	struct rn_netmap m;
	char err[256], *out = NULL;

	fx_map(&m);
	if (change)
		change(&m);
	if (rn_netmap_encode(&m, fx_priv, &out, len, err, sizeof(err)))
		fail_msg("encode: %s", err);
	rn_netmap_free(&m);
	return out;
}

static const char *prefix_text(const struct rn_prefix *p, char *buf)
{
	return rn_ipaddr_format_prefix(p, buf);
}

static void test_plan_system(void **state)
{
	struct rn_apply_intents in, again;
	struct rn_netmap m;
	char buf[RN_IPADDR_STRLEN];

	(void)state;
	fx_map(&m);
	rn_apply_plan_system(&m, "rn0", &in);
	assert_int_equal(in.n_addrs, 2);
	assert_string_equal(prefix_text(&in.addrs[0], buf), "100.64.0.1/32");
	assert_string_equal(prefix_text(&in.addrs[1], buf), "fd7a:115c:a1e0::1/128");
	assert_int_equal(in.n_routes, 2);
	assert_string_equal(prefix_text(&in.routes[0].dst, buf), "100.64.0.0/10");
	assert_string_equal(prefix_text(&in.routes[1].dst, buf), "fd7a:115c:a1e0::/48");
	assert_string_equal(in.routes[0].dev, "rn0");
	assert_string_equal(in.routes[1].dev, "rn0");
	assert_int_equal(in.routes[0].table, 0);
	assert_int_equal(in.routes[0].gateway.family, AF_UNSPEC);

	rn_apply_plan_system(&m, "rn0", &again);
	assert_true(rn_apply_intents_equal(&in, &again));
	m.self.ipv4[3] = 9;
	rn_apply_plan_system(&m, "rn0", &again);
	assert_false(rn_apply_intents_equal(&in, &again));
	rn_apply_plan_system(&m, "rn1", &in);
	assert_false(rn_apply_intents_equal(&in, &again));
	rn_netmap_free(&m);
}

static const struct rn_wg_peer_config *find(const struct rn_wg_config *c, uint8_t key_byte)
{
	for (size_t i = 0; i < c->n_peers; i++)
		if (c->peers[i].public_key[0] == key_byte)
			return &c->peers[i];
	return NULL;
}

static void test_plan_peers_fresh(void **state)
{
	struct rn_wg_config out;
	const struct rn_wg_peer_config *p;
	struct rn_netmap m;
	char buf[INET6_ADDRSTRLEN];

	(void)state;
	fx_map(&m);
	assert_int_equal(rn_apply_plan_peers(NULL, NULL, &m, &out), 0);
	assert_int_equal(out.flags, 0); /* never REPLACE_PEERS: it would drop every session */
	assert_int_equal(out.n_peers, 3);
	p = find(&out, 2);
	assert_non_null(p);
	assert_int_equal(p->flags, RN_WG_PEER_REPLACE_ALLOWEDIPS | RN_WG_PEER_HAS_KEEPALIVE |
				       RN_WG_PEER_HAS_ENDPOINT);
	assert_int_equal(p->persistent_keepalive, RN_APPLY_KEEPALIVE_S);
	assert_int_equal(p->endpoint.sa.sa_family, AF_INET);
	assert_int_equal(ntohs(p->endpoint.sin.sin_port), 41641);
	inet_ntop(AF_INET, &p->endpoint.sin.sin_addr, buf, sizeof(buf));
	assert_string_equal(buf, "198.51.100.7");
	assert_int_equal(p->n_allowed_ips, 4);
	assert_int_equal(p->allowed_ips[0].family, AF_INET);
	assert_int_equal(p->allowed_ips[0].cidr, 32);
	inet_ntop(AF_INET, &p->allowed_ips[0].ip4, buf, sizeof(buf));
	assert_string_equal(buf, "100.64.0.2");
	assert_int_equal(p->allowed_ips[1].family, AF_INET6);
	assert_int_equal(p->allowed_ips[1].cidr, 128);
	inet_ntop(AF_INET6, &p->allowed_ips[1].ip6, buf, sizeof(buf));
	assert_string_equal(buf, "fd7a:115c:a1e0::2");
	p = find(&out, 7); /* no endpoint: it will reach us */
	assert_non_null(p);
	assert_false(p->flags & RN_WG_PEER_HAS_ENDPOINT);
	assert_int_equal(p->n_allowed_ips, 2);
	rn_wg_config_free(&out);
	rn_netmap_free(&m);
}

/* The device as a previous apply of m left it, with peer 2 roamed to another endpoint. */
static void running_from(const struct rn_netmap *m, struct rn_wg_config *run)
{
	memset(run, 0, sizeof(*run));
	for (size_t i = 0; i < m->n_peers; i++) {
		struct rn_wg_peer_config *p = rn_wg_config_add_peer(run);

		assert_non_null(p);
		memcpy(p->public_key, m->peers[i].public_key, 32);
		if (m->peers[i].n_endpoints)
			memcpy(&p->endpoint, &m->peers[i].endpoints[0], sizeof(p->endpoint));
	}
	run->peers[0].endpoint.sin.sin_port = htons(9999);
}

static void test_plan_peers_unchanged(void **state)
{
	struct rn_wg_config run, out;
	struct rn_netmap prev, next;

	(void)state;
	fx_map(&prev);
	fx_map(&next);
	next.version++;
	running_from(&prev, &run);
	assert_int_equal(rn_apply_plan_peers(&prev, &run, &next, &out), 0);
	assert_int_equal(out.n_peers, 3);
	for (size_t i = 0; i < out.n_peers; i++) {
		assert_false(out.peers[i].flags & RN_WG_PEER_REMOVE);
		/* Same map endpoint: the roamed one stays. */
		assert_false(out.peers[i].flags & RN_WG_PEER_HAS_ENDPOINT);
	}
	rn_wg_config_free(&out);

	/* The map moved peer 3: that endpoint is set. */
	next.peers[1].endpoints[0].sin.sin_port = htons(51821);
	assert_int_equal(rn_apply_plan_peers(&prev, &run, &next, &out), 0);
	assert_true(find(&out, 3)->flags & RN_WG_PEER_HAS_ENDPOINT);
	assert_false(find(&out, 2)->flags & RN_WG_PEER_HAS_ENDPOINT);
	rn_wg_config_free(&out);
	rn_wg_config_free(&run);
	rn_netmap_free(&prev);
	rn_netmap_free(&next);
}

static void test_plan_peers_removes_first(void **state)
{
	struct rn_wg_config run, out;
	struct rn_wg_peer_config *extra;
	struct rn_netmap m, empty = { 0 };

	(void)state;
	fx_map(&m);
	running_from(&m, &run);
	extra = rn_wg_config_add_peer(&run);
	memset(extra->public_key, 0x55, 32);
	assert_int_equal(rn_apply_plan_peers(&m, &run, &m, &out), 0);
	assert_int_equal(out.n_peers, 4);
	assert_int_equal(out.peers[0].public_key[0], 0x55);
	assert_int_equal(out.peers[0].flags, RN_WG_PEER_REMOVE);
	rn_wg_config_free(&out);

	/* Logout: an empty map removes every peer. */
	assert_int_equal(rn_apply_plan_peers(&m, &run, &empty, &out), 0);
	assert_int_equal(out.n_peers, 4);
	for (size_t i = 0; i < out.n_peers; i++)
		assert_int_equal(out.peers[i].flags, RN_WG_PEER_REMOVE);
	rn_wg_config_free(&out);
	rn_wg_config_free(&run);
	rn_netmap_free(&m);
}

/* Behind NAT every set peer gets the keepalive; removals stay bare removals. */
static void test_plan_keepalive(void **state)
{
	struct rn_wg_config run = { 0 }, out;
	struct rn_wg_peer_config *extra;
	struct rn_netmap m;

	(void)state;
	fx_map(&m);
	running_from(&m, &run);
	extra = rn_wg_config_add_peer(&run);
	memset(extra->public_key, 0x55, 32);
	assert_int_equal(rn_apply_plan_peers(&m, &run, &m, &out), 0);
	rn_apply_plan_keepalive(&out, RN_APPLY_NAT_KEEPALIVE_S);
	assert_int_equal(out.n_peers, 4);
	assert_int_equal(out.peers[0].flags, RN_WG_PEER_REMOVE);
	assert_int_equal(out.peers[0].persistent_keepalive, 0);
	for (size_t i = 1; i < out.n_peers; i++) {
		assert_true(out.peers[i].flags & RN_WG_PEER_HAS_KEEPALIVE);
		assert_int_equal(out.peers[i].persistent_keepalive, 25);
	}
	rn_apply_plan_keepalive(&out, 0);
	for (size_t i = 1; i < out.n_peers; i++)
		assert_int_equal(out.peers[i].persistent_keepalive, 0);
	rn_wg_config_free(&out);
	rn_wg_config_free(&run);
	rn_netmap_free(&m);
}

static void newer(struct rn_netmap *m)
{
	m->version = 43;
}

static void test_verify(void **state)
{
	struct rn_netmap got, cur;
	uint8_t other[32];
	char err[512], *env, *env43;
	size_t len, len43;

	(void)state;
	env = sealed_fixture(&len, NULL);
	env43 = sealed_fixture(&len43, newer);
	assert_int_equal(
	    rn_apply_verify(NULL, self_key, fx_pub, env, len, FX_NOW, 600, &got, err, sizeof(err)),
	    0);
	assert_int_equal(got.version, 42);
	cur = got;

	/* Same version again (a replay): refused; newer: taken. */
	assert_int_equal(
	    rn_apply_verify(&cur, self_key, fx_pub, env, len, FX_NOW, 600, &got, err, sizeof(err)),
	    -ESTALE);
	assert_int_equal(got.version, 0);
	assert_int_equal(rn_apply_verify(&cur, self_key, fx_pub, env43, len43, FX_NOW, 600, &got,
					 err, sizeof(err)),
			 0);
	rn_netmap_free(&got);

	/* Stale from the server; but the cache (any age) still loads. */
	assert_int_equal(rn_apply_verify(NULL, self_key, fx_pub, env, len, FX_NOW + 601, 600, &got,
					 err, sizeof(err)),
			 -ESTALE);
	assert_int_equal(rn_apply_verify(NULL, self_key, fx_pub, env, len, FX_NOW + 86400 * 30,
					 RN_NETMAP_MAX_INT, &got, err, sizeof(err)),
			 0);
	rn_netmap_free(&got);
	/* From the future beyond the skew allowance. */
	assert_int_equal(rn_apply_verify(NULL, self_key, fx_pub, env, len, FX_NOW - 301, 600, &got,
					 err, sizeof(err)),
			 -ERANGE);

	/* Another node's map, another signing key, a broken signature. */
	memset(other, 9, sizeof(other));
	assert_int_equal(
	    rn_apply_verify(NULL, other, fx_pub, env, len, FX_NOW, 600, &got, err, sizeof(err)),
	    -EPERM);
	assert_non_null(strstr(err, "another node"));
	assert_int_equal(got.n_peers, 0);
	assert_int_equal(
	    rn_apply_verify(NULL, self_key, other, env, len, FX_NOW, 600, &got, err, sizeof(err)),
	    -EKEYREJECTED);
	{
		const char *sig = strstr(env, "\"sig\":\"");
		size_t at;

		assert_non_null(sig);
		at = (size_t)(sig - env) + 7;
		env[at] = env[at] == 'A' ? 'B' : 'A';
		assert_int_equal(rn_apply_verify(NULL, self_key, fx_pub, env, len, FX_NOW, 600,
						 &got, err, sizeof(err)),
				 -EBADMSG);
	}
	assert_int_equal(
	    rn_apply_verify(NULL, self_key, fx_pub, "{}", 2, FX_NOW, 600, &got, err, sizeof(err)),
	    -EINVAL);
	rn_netmap_free(&cur);
	free(env);
	free(env43);
}

static size_t step_at(enum rn_apply_step step)
{
	for (size_t i = 0; i < RN_APPLY_N_STEPS; i++)
		if (rn_apply_order[i] == step)
			return i;
	fail_msg("step %d is not in rn_apply_order", (int)step);
	return RN_APPLY_N_STEPS;
}

/*
 * Default deny from the first packet: the filter is in the data plane before any peer can
 * send and before the link is up; the grants are narrowed to the node's offer before the
 * filter (whose contexts they decide) and before forwarding is turned on.
 */
static void test_plan_order(void **state)
{
	(void)state;
	for (int s = 0; s < RN_APPLY_N_STEPS; s++)
		(void)step_at((enum rn_apply_step)s); /* every step once */
	assert_true(step_at(RN_APPLY_STEP_GRANTS) < step_at(RN_APPLY_STEP_FILTER));
	assert_true(step_at(RN_APPLY_STEP_FILTER) < step_at(RN_APPLY_STEP_PEERS));
	assert_true(step_at(RN_APPLY_STEP_FILTER) < step_at(RN_APPLY_STEP_SYSTEM));
	assert_true(step_at(RN_APPLY_STEP_GRANTS) < step_at(RN_APPLY_STEP_ROUTER));
	assert_true(step_at(RN_APPLY_STEP_FILTER) < step_at(RN_APPLY_STEP_ROUTER));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_order),
		cmocka_unit_test(test_plan_system),
		cmocka_unit_test(test_plan_peers_fresh),
		cmocka_unit_test(test_plan_keepalive),
		cmocka_unit_test(test_plan_peers_unchanged),
		cmocka_unit_test(test_plan_peers_removes_first),
		cmocka_unit_test(test_verify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
