/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the signed netmap: a full map round trip, the envelope, tampering with any
 * byte, the wrong key, and rn_netmap_accept() refusing replays, rollbacks, stale and future maps
 * and a changed self key.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "netmap/netmap.h"
#include "netmap_fixture.h"

static void prefixes_equal(const struct rn_filter_prefix *a, size_t na,
			   const struct rn_filter_prefix *b, size_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++)
		assert_true(rn_filter_prefix_equal(&a[i], &b[i]));
}

static void endpoints_equal(const union rn_netmap_endpoint *a, const union rn_netmap_endpoint *b,
			    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(a[i].sa.sa_family, b[i].sa.sa_family);
		if (a[i].sa.sa_family == AF_INET) {
			assert_int_equal(a[i].sin.sin_port, b[i].sin.sin_port);
			assert_memory_equal(&a[i].sin.sin_addr, &b[i].sin.sin_addr, 4);
		} else {
			assert_int_equal(a[i].sin6.sin6_port, b[i].sin6.sin6_port);
			assert_memory_equal(&a[i].sin6.sin6_addr, &b[i].sin6.sin6_addr, 16);
		}
	}
}

static void peers_equal(const struct rn_netmap_peer *a, const struct rn_netmap_peer *b)
{
	assert_int_equal(a->id, b->id);
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->dns_name, b->dns_name);
	assert_memory_equal(a->public_key, b->public_key, 32);
	assert_memory_equal(a->ipv4, b->ipv4, 4);
	assert_memory_equal(a->ipv6, b->ipv6, 16);
	assert_int_equal(a->n_endpoints, b->n_endpoints);
	endpoints_equal(a->endpoints, b->endpoints, a->n_endpoints);
	prefixes_equal(a->allowed_ips, a->n_allowed_ips, b->allowed_ips, b->n_allowed_ips);
	assert_int_equal(a->online, b->online);
	assert_int_equal(a->last_seen, b->last_seen);
	assert_int_equal(a->is_exit, b->is_exit);
	prefixes_equal(a->lan_routes, a->n_lan_routes, b->lan_routes, b->n_lan_routes);
}

static void filters_equal(const struct rn_filter *a, const struct rn_filter *b)
{
	prefixes_equal(a->self, a->n_self, b->self, b->n_self);
	prefixes_equal(a->routes, a->n_routes, b->routes, b->n_routes);
	assert_int_equal(a->exit, b->exit);
	assert_int_equal(a->n_rules, b->n_rules);
	for (size_t i = 0; i < a->n_rules; i++) {
		const struct rn_filter_rule *x = &a->rules[i], *y = &b->rules[i];

		assert_int_equal(x->context, y->context);
		assert_int_equal(x->proto, y->proto);
		prefixes_equal(x->src, x->n_src, y->src, y->n_src);
		prefixes_equal(x->dst, x->n_dst, y->dst, y->n_dst);
		assert_int_equal(x->n_ports, y->n_ports);
		assert_memory_equal(x->ports, y->ports, x->n_ports * sizeof(*x->ports));
	}
}

static void maps_equal(const struct rn_netmap *a, const struct rn_netmap *b)
{
	assert_int_equal(a->version, b->version);
	assert_int_equal(a->issued_at, b->issued_at);
	assert_int_equal(a->cache_valid_s, b->cache_valid_s);
	assert_int_equal(a->n_stun, b->n_stun);
	if (a->n_stun)
		assert_memory_equal(a->stun, b->stun, a->n_stun * sizeof(*a->stun));
	assert_int_equal(a->n_relays, b->n_relays);
	if (a->n_relays)
		assert_memory_equal(a->relays, b->relays, a->n_relays * sizeof(*a->relays));
	assert_memory_equal(&a->relay_cred, &b->relay_cred, sizeof(a->relay_cred));
	assert_string_equal(a->domain, b->domain);
	assert_int_equal(a->self.id, b->self.id);
	assert_string_equal(a->self.name, b->self.name);
	assert_string_equal(a->self.dns_name, b->self.dns_name);
	assert_string_equal(a->self.user, b->self.user);
	assert_memory_equal(a->self.ipv4, b->self.ipv4, 4);
	assert_memory_equal(a->self.ipv6, b->self.ipv6, 16);
	assert_memory_equal(a->self.public_key, b->self.public_key, 32);
	assert_int_equal(a->n_peers, b->n_peers);
	for (size_t i = 0; i < a->n_peers; i++)
		peers_equal(&a->peers[i], &b->peers[i]);
	filters_equal(&a->filter, &b->filter);
	assert_int_equal(a->dns.n_resolvers, b->dns.n_resolvers);
	assert_memory_equal(a->dns.resolvers, b->dns.resolvers,
			    a->dns.n_resolvers * sizeof(*a->dns.resolvers));
	assert_int_equal(a->dns.n_records, b->dns.n_records);
	for (size_t i = 0; i < a->dns.n_records; i++) {
		assert_string_equal(a->dns.records[i].name, b->dns.records[i].name);
		assert_int_equal(a->dns.records[i].type, b->dns.records[i].type);
		assert_memory_equal(&a->dns.records[i].value, &b->dns.records[i].value,
				    sizeof(a->dns.records[i].value));
	}
	assert_string_equal(a->dns.search_domain, b->dns.search_domain);
}

/* The fixture, encoded and signed with the test key. */
static char *encoded(size_t *len)
{
	struct rn_netmap m;
	char *out, err[256] = "";

	fx_map(&m);
	if (rn_netmap_encode(&m, fx_priv, &out, len, err, sizeof(err)))
		fail_msg("encode: %s", err);
	rn_netmap_free(&m);
	return out;
}

static void test_round_trip(void **state)
{
	struct rn_netmap m, back;
	char *out, *again, err[256] = "";
	size_t len, len2;

	(void)state;
	fx_map(&m);
	assert_int_equal(rn_netmap_encode(&m, fx_priv, &out, &len, err, sizeof(err)), 0);
	assert_int_equal(strlen(out), len);
	if (rn_netmap_decode(out, len, fx_pub, &back, err, sizeof(err)))
		fail_msg("decode: %s", err);
	maps_equal(&m, &back);
	/* Deterministic: the same map encodes to the same bytes, signature included. */
	assert_int_equal(rn_netmap_encode(&back, fx_priv, &again, &len2, err, sizeof(err)), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(out, again, len);
	free(again);
	free(out);
	rn_netmap_free(&back);
	rn_netmap_free(&m);
	rn_netmap_free(&m); /* zeroed: a second free is harmless */
}

static void test_envelope_shape(void **state)
{
	char id[RN_NETMAP_KEY_ID_STRLEN];
	json_t *env, *map;
	size_t len;
	char *out = encoded(&len);

	(void)state;
	env = json_loadb(out, len, 0, NULL);
	assert_non_null(env);
	assert_int_equal(json_object_size(env), 4);
	assert_string_equal(json_string_value(json_object_get(env, "format")), "rustynet-netmap/1");
	rn_netmap_key_id(fx_pub, id);
	assert_string_equal(json_string_value(json_object_get(env, "key_id")), id);
	assert_int_equal(json_string_length(json_object_get(env, "sig")), 88);
	map = json_loads(json_string_value(json_object_get(env, "map")), 0, NULL);
	assert_non_null(map);
	assert_int_equal(json_integer_value(json_object_get(map, "version")), 42);
	assert_string_equal(
	    json_string_value(json_array_get(
		json_object_get(json_array_get(json_object_get(map, "peers"), 0), "endpoints"), 1)),
	    "[2001:db8::7]:41641");
	json_decref(map);
	json_decref(env);
	free(out);
}

/* out's envelope with its map string, key_id or sig replaced (NULL keeps it). */
static char *rewrap(const char *out, const char *map, size_t maplen, const char *key_id,
		    const char *sig)
{
	json_t *env = json_loads(out, 0, NULL);
	char *text;

	assert_non_null(env);
	if (map)
		json_object_set_new(env, "map", json_stringn(map, maplen));
	if (key_id)
		json_object_set_new(env, "key_id", json_string(key_id));
	if (sig)
		json_object_set_new(env, "sig", json_string(sig));
	text = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	assert_non_null(text);
	return text;
}

static void expect_decode(const char *buf, size_t len, const uint8_t *pub, int want,
			  const char *msg)
{
	struct rn_netmap m;
	char err[512] = "";
	int ret = rn_netmap_decode(buf, len, pub, &m, err, sizeof(err));

	if (ret != want)
		fail_msg("decode: got %d, want %d (%s)", ret, want, err);
	if (msg && !strstr(err, msg))
		fail_msg("decode error \"%s\" does not say \"%s\"", err, msg);
	if (!ret)
		rn_netmap_free(&m);
	else /* a refused map leaves nothing behind */
		assert_true(m.n_peers == 0 && m.peers == NULL && m.version == 0);
}

/* One flipped bit anywhere in the map string fails the signature, before any parsing. */
static void test_tamper_every_byte(void **state)
{
	size_t len, maplen;
	char *out = encoded(&len), *map;
	json_t *env = json_loads(out, 0, NULL);

	(void)state;
	map = strdup(json_string_value(json_object_get(env, "map")));
	maplen = strlen(map);
	assert_true(maplen > 1000);
	for (size_t i = 0; i < maplen; i++) {
		char *bad;

		map[i] ^= 0x01; /* stays ASCII and never NUL: the map is printable ASCII */
		bad = rewrap(out, map, maplen, NULL, NULL);
		expect_decode(bad, strlen(bad), fx_pub, -EBADMSG, "signature");
		free(bad);
		map[i] ^= 0x01;
	}
	/* Cut short or lengthened. */
	for (size_t cut = 0; cut < maplen; cut += maplen / 7) {
		char *bad = rewrap(out, map, cut, NULL, NULL);

		expect_decode(bad, strlen(bad), fx_pub, -EBADMSG, "signature");
		free(bad);
	}
	json_decref(env);
	free(map);
	free(out);
}

static void test_tamper_signature(void **state)
{
	size_t len;
	char *out = encoded(&len), sig[RN_NETMAP_B64_SIG_LEN + 1];
	json_t *env = json_loads(out, 0, NULL);

	(void)state;
	snprintf(sig, sizeof(sig), "%s", json_string_value(json_object_get(env, "sig")));
	for (size_t i = 0; i < 86; i++) { /* the last two are the '=' padding */
		char saved = sig[i], *bad;

		sig[i] = sig[i] == 'A' ? 'B' : 'A';
		bad = rewrap(out, NULL, 0, NULL, sig);
		expect_decode(bad, strlen(bad), fx_pub, -EBADMSG, "sig");
		free(bad);
		sig[i] = saved;
	}
	expect_decode(out, len, fx_pub, 0, NULL);
	json_decref(env);
	free(out);
}

static void test_wrong_key(void **state)
{
	uint8_t priv[32], pub[32];
	char id[RN_NETMAP_KEY_ID_STRLEN], *bad, *mine, err[256];
	size_t len, mlen;
	char *out = encoded(&len);
	struct rn_netmap m;

	(void)state;
	assert_int_equal(rn_netmap_sign_key_generate(priv, pub), 0);
	/* Another server's key: its id is not the one on the map. */
	expect_decode(out, len, pub, -EKEYREJECTED, "key_id");
	/* The key_id rewritten to match that key: the signature still gives it away. */
	rn_netmap_key_id(pub, id);
	bad = rewrap(out, NULL, 0, id, NULL);
	expect_decode(bad, strlen(bad), pub, -EBADMSG, "bad signature");
	free(bad);
	/* A key_id that matches no key at all. */
	bad = rewrap(out, NULL, 0, "0000000000000000", NULL);
	expect_decode(bad, strlen(bad), fx_pub, -EKEYREJECTED, "\"0000000000000000\"");
	free(bad);
	bad = rewrap(out, NULL, 0, "21FE31DFA154A261", NULL); /* the right id in capitals */
	expect_decode(bad, strlen(bad), fx_pub, -EKEYREJECTED, "key_id");
	free(bad);
	/* The same map signed by the other key decodes only with that key. */
	fx_map(&m);
	assert_int_equal(rn_netmap_encode(&m, priv, &mine, &mlen, err, sizeof(err)), 0);
	expect_decode(mine, mlen, pub, 0, NULL);
	expect_decode(mine, mlen, fx_pub, -EKEYREJECTED, "key_id");
	rn_netmap_free(&m);
	free(mine);
	free(out);
}

static void test_envelope_errors(void **state)
{
	static const struct {
		const char *text;
		int ret;
		const char *msg;
	} cases[] = {
		{ "not json", -EINVAL, "envelope: not JSON" },
		{ "[]", -EINVAL, "envelope: want an object, got an array" },
		{ "{}", -EINVAL, "envelope: format is missing" },
		{ "{\"format\":1}", -EINVAL, "format is an integer" },
		{ "{\"format\":\"rustynet-netmap/2\",\"key_id\":\"21fe31dfa154a261\",\"map\":\"{}\","
		  "\"sig\":\"\"}",
		  -EINVAL, "\"rustynet-netmap/2\" is not rustynet-netmap/1" },
		{ "{\"format\":\"rustynet-netmap/1\",\"key_id\":\"21fe31dfa154a261\",\"map\":\"{}\","
		  "\"sig\":\"AAAA\"}",
		  -EBADMSG, "sig \"AAAA\"" },
		{ "{\"format\":\"rustynet-netmap/1\",\"key_id\":\"21fe31dfa154a261\",\"map\":\"{}\","
		  "\"sig\":\"\",\"extra\":0}",
		  -EINVAL, "envelope: unknown field \"extra\"" },
		{ "{\"format\":\"rustynet-netmap/1\",\"format\":\"rustynet-netmap/1\"}", -EINVAL,
		  "duplicate" },
		{ "{\"format\":\"rustynet-netmap/1\",\"key_id\":\"21fe31dfa154a261\",\"map\":7,"
		  "\"sig\":\"\"}",
		  -EINVAL, "map is an integer" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_decode(cases[i].text, strlen(cases[i].text), fx_pub, cases[i].ret,
			      cases[i].msg);
	expect_decode("", 0, fx_pub, -EMSGSIZE, "0 bytes");
	expect_decode("{", (size_t)RN_NETMAP_MAX_BYTES + 1, fx_pub, -EMSGSIZE, "16777217 bytes");
}

/* A map that verifies but is not JSON, or has a broken field, is refused after the check. */
static void test_signed_garbage(void **state)
{
	static const char *const maps[] = { "", "nul", "{\"version\":", "[1,2,3]", "{}" };
	static const char *const msgs[] = { "map: not JSON", "map: not JSON", "map: not JSON",
					    "map: want an object", "version: missing" };
	char *out;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		assert_int_equal(rn_netmap_seal(maps[i], strlen(maps[i]), fx_priv, &out, &len), 0);
		expect_decode(out, len, fx_pub, -EINVAL, msgs[i]);
		free(out);
	}
	assert_int_equal(rn_netmap_seal("a\0b", 3, fx_priv, &out, &len), -EINVAL);
	assert_int_equal(rn_netmap_seal("\xff", 1, fx_priv, &out, &len), -EINVAL);
	assert_null(out);
}

static void test_encode_refuses_invalid(void **state)
{
	struct rn_netmap m;
	char *out = (char *)"untouched", err[256] = "";
	size_t len = 1;

	(void)state;
	fx_map(&m);
	m.peers[1].ipv4[0] = 10;
	assert_int_equal(rn_netmap_encode(&m, fx_priv, &out, &len, err, sizeof(err)), -EINVAL);
	assert_null(out);
	assert_int_equal(len, 0);
	assert_string_equal(err, "peers[1].ipv4: 10.64.0.3 is outside 100.64.0.0/10");
	rn_netmap_free(&m);
}

/* What only a caller's struct can hold (the parser never produces it): validate refuses it. */
static void test_validate_struct(void **state)
{
	static const char *const msgs[] = {
		"filter.rules[1].context: 0 is not mesh",
		"filter.rules[0].proto: 9 is not",
		"dns.records[1]: type unknown",
		"peers[0].endpoints[1]: address family 1",
		"peers[0].endpoints[1]: [2001:db8::7]:41641 has a scope",
		"peers[1].allowed_ips[0]: not a valid prefix (family 2, length 33)",
		"peers[2]: name or dns_name is not NUL-terminated",
		"peers: 10001 peers, over the limit of 10000",
		"filter.rules[3].ports: 0 ranges",
		"dns.resolvers: a count",
		"filter.routes[0]: not a valid prefix (family 2, length 8)",
		"peers[0].endpoints[0]: a loopback address",
	};
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		struct rn_netmap m;
		size_t n_peers;

		fx_map(&m);
		n_peers = m.n_peers;
		switch (i) {
		case 0:
			m.filter.rules[1].context = RN_FILTER_NONE;
			break;
		case 1:
			m.filter.rules[0].proto = (enum rn_filter_proto)9;
			break;
		case 2:
			m.dns.records[1].type = (enum rn_netmap_rr_type)5;
			break;
		case 3:
			m.peers[0].endpoints[1].sa.sa_family = AF_UNIX;
			break;
		case 4:
			m.peers[0].endpoints[1].sin6.sin6_scope_id = 2;
			break;
		case 5:
			m.peers[1].allowed_ips[0].len = 33;
			break;
		case 6:
			memset(m.peers[2].name, 'a', sizeof(m.peers[2].name));
			break;
		case 7:
			m.n_peers = RN_NETMAP_MAX_PEERS + 1;
			break;
		case 8:
			m.filter.rules[3].n_ports = 0;
			break;
		case 9:
			m.dns.n_resolvers = 3; /* the array has 2: must not be read */
			free(m.dns.resolvers);
			m.dns.resolvers = NULL;
			break;
		case 10:
			m.filter.routes[0].len = 8; /* 10.1.0.0/16 cut to /8: host bits set */
			break;
		case 11: /* what the data plane would take for one of our relays */
			memset(&m.peers[0].endpoints[0], 0, sizeof(m.peers[0].endpoints[0]));
			m.peers[0].endpoints[0].sin.sin_family = AF_INET;
			m.peers[0].endpoints[0].sin.sin_port = htons(1);
			m.peers[0].endpoints[0].sin.sin_addr.s_addr = htonl(0x7f7f0001);
			break;
		}
		assert_int_equal(rn_netmap_validate(&m, err, sizeof(err)), -EINVAL);
		if (!strstr(err, msgs[i]))
			fail_msg("case %zu: error \"%s\" does not say \"%s\"", i, err, msgs[i]);
		m.n_peers = n_peers;
		m.dns.n_resolvers = 0;
		rn_netmap_free(&m);
	}
}

/* ---- accept ---- */

static void expect_accept(const struct rn_netmap *cur, const struct rn_netmap *cand, uint64_t now,
			  uint64_t max_age, int want, const char *msg)
{
	char err[512] = "";
	int ret = rn_netmap_accept(cur, cand, now, max_age, err, sizeof(err));

	if (ret != want)
		fail_msg("accept: got %d, want %d (%s)", ret, want, err);
	if (msg && !strstr(err, msg))
		fail_msg("accept error \"%s\" does not say \"%s\"", err, msg);
}

static void test_accept(void **state)
{
	struct rn_netmap cur, cand;
	const uint64_t day = 86400;

	(void)state;
	fx_map(&cur);
	fx_map(&cand);
	/* The first map: only its age matters. */
	expect_accept(NULL, &cand, FX_NOW, day, 0, NULL);
	expect_accept(NULL, &cand, FX_NOW + day, day, 0, NULL);
	expect_accept(NULL, &cand, FX_NOW + day + 1, day, -ESTALE, "stale");
	/* Replay of the running map, and rollback to an older one. */
	expect_accept(&cur, &cand, FX_NOW, day, -ESTALE, "version 42 is not newer");
	cand.version = 41;
	expect_accept(&cur, &cand, FX_NOW, day, -ESTALE, "rollback");
	cand.version = 1;
	expect_accept(&cur, &cand, FX_NOW, day, -ESTALE, "replay");
	cand.version = 43;
	expect_accept(&cur, &cand, FX_NOW, day, 0, NULL);
	/* Fresh enough, stale, and from the future beyond the allowed skew. */
	expect_accept(&cur, &cand, FX_NOW + 3600, day, 0, NULL);
	expect_accept(&cur, &cand, FX_NOW + 3600, 3599, -ESTALE, "3600 s old");
	expect_accept(&cur, &cand, FX_NOW - RN_NETMAP_CLOCK_SKEW_S, day, 0, NULL);
	expect_accept(&cur, &cand, FX_NOW - RN_NETMAP_CLOCK_SKEW_S - 1, day, -ERANGE,
		      "301 s ahead");
	expect_accept(&cur, &cand, 0, day, -ERANGE, "check both clocks");
	/* A map for another key: never, whatever its version. */
	cand.self.public_key[31] ^= 1;
	expect_accept(&cur, &cand, FX_NOW, day, -EPERM, "self.public_key changed");
	cand.self.public_key[31] ^= 1;
	expect_accept(&cur, &cand, FX_NOW, 0, -EINVAL, "max_age_s");
	rn_netmap_free(&cand);
	rn_netmap_free(&cur);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_envelope_shape),
		cmocka_unit_test(test_tamper_every_byte),
		cmocka_unit_test(test_tamper_signature),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_envelope_errors),
		cmocka_unit_test(test_signed_garbage),
		cmocka_unit_test(test_encode_refuses_invalid),
		cmocka_unit_test(test_validate_struct),
		cmocka_unit_test(test_accept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
