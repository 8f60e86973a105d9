/* SPDX-License-Identifier: MIT */
/*
 * The direct encoder (encode.c, jsonw.c, encode_memo.c) against the jansson one it replaced,
 * kept here as the reference: same envelope bytes for the fixture, for strings that need
 * escapes, and for a large map encoded several times by one encoder while fields change under
 * its memo; and every envelope decodes.
 */
#include <arpa/inet.h>
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

/* ---- the reference: the jansson encoder as it was ---- */

/*
 * jansson's *_set_new and *_append_new take the value even when they fail, and fail on a NULL
 * value, so building goes on after an allocation failure and is checked once at the end.
 */
static void put(json_t *obj, const char *key, json_t *v, bool *ok)
{
	if (json_object_set_new(obj, key, v))
		*ok = false;
}

static void add(json_t *arr, json_t *v, bool *ok)
{
	if (json_array_append_new(arr, v))
		*ok = false;
}

static json_t *done(json_t *v, bool ok)
{
	if (ok)
		return v;
	json_decref(v);
	return NULL;
}

static json_t *j_int(uint64_t v)
{
	return json_integer((json_int_t)v); /* validated: at most 2^53 - 1 */
}

static json_t *j_ip(int family, const void *addr)
{
	struct rn_netmap_ip ip = { .family = (uint8_t)family };
	char text[INET6_ADDRSTRLEN];

	memcpy(ip.addr, addr, family == AF_INET ? 4 : 16);
	rn_netmap_ip_format(&ip, text, sizeof(text));
	return json_string(text);
}

static json_t *j_key(const uint8_t key[RN_NETMAP_KEY_LEN])
{
	char text[RN_NETMAP_B64_KEY_LEN + 1];

	rn_netmap_b64_encode(key, RN_NETMAP_KEY_LEN, text);
	return json_string(text);
}

static json_t *j_prefixes(const struct rn_filter_prefix *p, size_t n)
{
	json_t *arr = json_array();
	char text[RN_FILTER_PREFIX_STRLEN];
	bool ok = arr != NULL;

	for (size_t i = 0; i < n && ok; i++)
		add(arr, json_string(rn_filter_prefix_format(&p[i], text, sizeof(text))), &ok);
	return done(arr, ok);
}

static json_t *j_self(const struct rn_netmap_self *s)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	put(o, "id", j_int(s->id), &ok);
	put(o, "name", json_string(s->name), &ok);
	put(o, "dns_name", json_string(s->dns_name), &ok);
	put(o, "user", json_string(s->user), &ok);
	put(o, "ipv4", j_ip(AF_INET, s->ipv4), &ok);
	put(o, "ipv6", j_ip(AF_INET6, s->ipv6), &ok);
	put(o, "public_key", j_key(s->public_key), &ok);
	return done(o, ok);
}

static json_t *j_endpoints(const union rn_netmap_endpoint *ep, size_t n)
{
	json_t *arr = json_array();
	char text[RN_NETMAP_ENDPOINT_STRLEN];
	bool ok = arr != NULL;

	for (size_t i = 0; i < n && ok; i++) {
		rn_netmap_endpoint_format(&ep[i], text, sizeof(text));
		add(arr, json_string(text), &ok);
	}
	return done(arr, ok);
}

static json_t *j_peer(const struct rn_netmap_peer *p)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	put(o, "id", j_int(p->id), &ok);
	put(o, "name", json_string(p->name), &ok);
	put(o, "dns_name", json_string(p->dns_name), &ok);
	put(o, "public_key", j_key(p->public_key), &ok);
	put(o, "ipv4", j_ip(AF_INET, p->ipv4), &ok);
	put(o, "ipv6", j_ip(AF_INET6, p->ipv6), &ok);
	put(o, "endpoints", j_endpoints(p->endpoints, p->n_endpoints), &ok);
	put(o, "allowed_ips", j_prefixes(p->allowed_ips, p->n_allowed_ips), &ok);
	put(o, "online", json_boolean(p->online), &ok);
	put(o, "last_seen", j_int(p->last_seen), &ok);
	put(o, "is_exit", json_boolean(p->is_exit), &ok);
	put(o, "lan_routes", j_prefixes(p->lan_routes, p->n_lan_routes), &ok);
	return done(o, ok);
}

static json_t *j_rule(const struct rn_filter_rule *r)
{
	json_t *o = json_object(), *ports = json_array();
	bool ok = o && ports;

	for (size_t i = 0; i < r->n_ports && ok; i++)
		add(ports, json_pack("[ii]", r->ports[i].first, r->ports[i].last), &ok);
	put(o, "context", json_string(rn_netmap_context_names[r->context]), &ok);
	put(o, "proto", json_string(rn_netmap_proto_names[r->proto]), &ok);
	put(o, "src", j_prefixes(r->src, r->n_src), &ok);
	put(o, "dst", j_prefixes(r->dst, r->n_dst), &ok);
	put(o, "ports", ports, &ok);
	return done(o, ok);
}

static json_t *j_filter(const struct rn_filter *f)
{
	json_t *o = json_object(), *rules = json_array();
	bool ok = o && rules;

	for (size_t i = 0; i < f->n_rules && ok; i++)
		add(rules, j_rule(&f->rules[i]), &ok);
	put(o, "self", j_prefixes(f->self, f->n_self), &ok);
	put(o, "routes", j_prefixes(f->routes, f->n_routes), &ok);
	put(o, "exit", json_boolean(f->exit), &ok);
	put(o, "rules", rules, &ok);
	return done(o, ok);
}

static json_t *j_dns(const struct rn_netmap_dns *d)
{
	json_t *o = json_object(), *res = json_array(), *rec = json_array();
	bool ok = o && res && rec;

	for (size_t i = 0; i < d->n_resolvers && ok; i++)
		add(res, j_ip(d->resolvers[i].family, d->resolvers[i].addr), &ok);
	for (size_t i = 0; i < d->n_records && ok; i++) {
		const struct rn_netmap_dns_record *r = &d->records[i];
		json_t *one = json_object();

		put(one, "name", json_string(r->name), &ok);
		put(one, "type", json_string(r->type == RN_NETMAP_RR_A ? "A" : "AAAA"), &ok);
		put(one, "value", j_ip(r->value.family, r->value.addr), &ok);
		add(rec, one, &ok);
	}
	put(o, "resolvers", res, &ok);
	put(o, "records", rec, &ok);
	put(o, "search_domain", json_string(d->search_domain), &ok);
	return done(o, ok);
}

static json_t *ref_map(const struct rn_netmap *m)
{
	json_t *o = json_object(), *peers = json_array();
	bool ok = o && peers;

	for (size_t i = 0; i < m->n_peers && ok; i++)
		add(peers, j_peer(&m->peers[i]), &ok);
	put(o, "version", j_int(m->version), &ok);
	put(o, "issued_at", j_int(m->issued_at), &ok);
	if (m->cache_valid_s)
		put(o, "cache_valid_s", j_int(m->cache_valid_s), &ok);
	put(o, "domain", json_string(m->domain), &ok);
	put(o, "self", j_self(&m->self), &ok);
	put(o, "peers", peers, &ok);
	put(o, "filter", j_filter(&m->filter), &ok);
	put(o, "dns", j_dns(&m->dns), &ok);
	if (m->n_stun)
		put(o, "stun", j_endpoints(m->stun, m->n_stun), &ok);
	if (m->n_relays) {
		json_t *relays = json_array(), *cred = json_object();

		for (size_t i = 0; i < m->n_relays && relays; i++) {
			const struct rn_netmap_relay *r = &m->relays[i];
			json_t *ro = json_object();
			char udp[RN_NETMAP_ENDPOINT_STRLEN] = "",
			     tls[RN_NETMAP_ENDPOINT_STRLEN] = "";

			if (r->udp.sa.sa_family)
				rn_netmap_endpoint_format(&r->udp, udp, sizeof(udp));
			if (r->tls.sa.sa_family)
				rn_netmap_endpoint_format(&r->tls, tls, sizeof(tls));
			put(ro, "name", json_string(r->name), &ok);
			put(ro, "udp", json_string(udp), &ok);
			put(ro, "tls", json_string(tls), &ok);
			put(ro, "spki", r->tls.sa.sa_family ? j_key(r->spki) : json_string(""),
			    &ok);
			add(relays, ro, &ok);
		}
		put(o, "relays", relays, &ok);
		put(cred, "expires", j_int(m->relay_cred.expires), &ok);
		put(cred, "token", j_key(m->relay_cred.token), &ok);
		put(o, "relay_credential", cred, &ok);
	}
	return done(o, ok);
}

/* The reference envelope of m (validated by the caller), for free(). */
static char *ref_encode(const struct rn_netmap *m)
{
	uint8_t pub[RN_NETMAP_KEY_LEN], sig[RN_NETMAP_SIG_LEN];
	char key_id[RN_NETMAP_KEY_ID_STRLEN], sig_text[RN_NETMAP_B64_SIG_LEN + 1], *text, *out;
	json_t *map = ref_map(m), *env;

	assert_non_null(map);
	text = json_dumps(map, JSON_COMPACT);
	json_decref(map);
	assert_non_null(text);
	assert_int_equal(rn_netmap_sign_key_public(fx_priv, pub), 0);
	assert_int_equal(rn_netmap_sign(fx_priv, text, strlen(text), sig), 0);
	rn_netmap_key_id(pub, key_id);
	rn_netmap_b64_encode(sig, sizeof(sig), sig_text);
	env = json_pack("{s:s,s:s,s:s,s:s}", "format", RN_NETMAP_FORMAT, "key_id", key_id, "map",
			text, "sig", sig_text);
	assert_non_null(env);
	out = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	free(text);
	assert_non_null(out);
	return out;
}

/* enc's envelope of m equals the reference's, and decodes back to the same map. */
static void check_same(struct rn_netmap_encoder *enc, const struct rn_netmap *m)
{
	char *want = ref_encode(m), *got = NULL, err[256] = "";
	struct rn_netmap back;
	size_t len = 0;

	if (enc)
		assert_int_equal(rn_netmap_encoder_run(enc, m, &got, &len, err, sizeof(err)), 0);
	else
		assert_int_equal(rn_netmap_encode(m, fx_priv, &got, &len, err, sizeof(err)), 0);
	assert_int_equal(len, strlen(want));
	assert_string_equal(got, want);
	assert_int_equal(rn_netmap_decode(got, len, fx_pub, &back, err, sizeof(err)), 0);
	assert_int_equal(back.n_peers, m->n_peers);
	assert_int_equal(back.filter.n_rules, m->filter.n_rules);
	rn_netmap_free(&back);
	free(got);
	free(want);
}

static void test_fixture_same(void **state)
{
	struct rn_netmap m;

	(void)state;
	fx_map(&m);
	check_same(NULL, &m);
	rn_netmap_free(&m);
}

/* The owner is the one free-form string: printable ASCII, quotes and backslashes included. */
static void test_escapes_same(void **state)
{
	static const char *const users[] = { "a\"b", "back\\slash", "\\\"", "x/y<>&'{}[]:,", "~" };
	struct rn_netmap m;

	(void)state;
	fx_map(&m);
	for (size_t i = 0; i < FX_N(users); i++) {
		strcpy(m.self.user, users[i]);
		check_same(NULL, &m);
	}
	rn_netmap_free(&m);
}

enum {
	BIG_PEERS = 200, /* hosts 2..201 of the fixture's /24 */
};

/* The fixture with BIG_PEERS peers and a rule from all of them, as in a starter policy. */
static void big_map(struct rn_netmap *m)
{
	static const char *const ep[] = { "203.0.113.1:41641" };
	static const char *const to_self[] = { "100.64.0.1/32" };
	static const struct rn_filter_ports all[] = { { 0, 65535 } };
	struct rn_filter_rule *rules;
	struct rn_filter_prefix *src;

	fx_map(m);
	for (size_t i = 0; i < m->n_peers; i++) {
		free(m->peers[i].endpoints);
		free(m->peers[i].allowed_ips);
		free(m->peers[i].lan_routes);
	}
	free(m->peers);
	m->peers = calloc(BIG_PEERS, sizeof(*m->peers));
	assert_non_null(m->peers);
	m->n_peers = BIG_PEERS;
	src = calloc(2 * BIG_PEERS, sizeof(*src));
	assert_non_null(src);
	for (size_t i = 0; i < BIG_PEERS; i++) {
		struct rn_netmap_peer *p = &m->peers[i];
		char name[16];

		snprintf(name, sizeof(name), "n%zu", i);
		fx_peer(p, 2 + i, name, (uint8_t)(2 + i), ep, 1, NULL, 0);
		p->online = i % 2;
		p->last_seen = FX_NOW - i;
		src[2 * i] = p->allowed_ips[0];
		src[2 * i + 1] = p->allowed_ips[1];
	}
	rules = realloc(m->filter.rules, (m->filter.n_rules + 1) * sizeof(*rules));
	assert_non_null(rules);
	m->filter.rules = rules;
	fx_rule(&rules[m->filter.n_rules], RN_FILTER_MESH, RN_FILTER_PROTO_ANY, NULL, 0, to_self, 1,
		all, 1);
	free(rules[m->filter.n_rules].src);
	rules[m->filter.n_rules].src = src;
	rules[m->filter.n_rules].n_src = 2 * BIG_PEERS;
	m->filter.n_rules++;
	m->stun = calloc(1, sizeof(*m->stun)); /* the optional member, present */
	assert_non_null(m->stun);
	m->stun[0].sin.sin_family = AF_INET;
	m->stun[0].sin.sin_port = htons(3478);
	m->stun[0].sin.sin_addr.s_addr = htonl(0xc6336401); /* 198.51.100.1 */
	m->n_stun = 1;
	m->relays = calloc(2, sizeof(*m->relays)); /* and the relays: one TLS+UDP, one UDP only */
	assert_non_null(m->relays);
	snprintf(m->relays[0].name, sizeof(m->relays[0].name), "r0");
	m->relays[0].udp = *m->stun;
	m->relays[0].tls = *m->stun;
	m->relays[0].tls.sin.sin_port = htons(443);
	memset(m->relays[0].spki, 0x33, sizeof(m->relays[0].spki));
	snprintf(m->relays[1].name, sizeof(m->relays[1].name), "r1");
	m->relays[1].udp = *m->stun;
	m->n_relays = 2;
	m->relay_cred.expires = FX_NOW + 86400;
	memset(m->relay_cred.token, 0x44, sizeof(m->relay_cred.token));
}

/* One encoder, many maps: what it keeps must follow every change. */
static void test_memo_follows_changes(void **state)
{
	struct rn_netmap_encoder *enc = rn_netmap_encoder_new(fx_priv);
	struct rn_netmap_peer tmp;
	struct rn_filter_rule *r;
	struct rn_netmap m;

	(void)state;
	assert_non_null(enc);
	big_map(&m);
	r = &m.filter.rules[m.filter.n_rules - 1];
	check_same(enc, &m);
	check_same(enc, &m); /* all from the memo */
	m.version++;
	m.peers[5].online = !m.peers[5].online;
	m.peers[6].last_seen += 7;
	m.peers[7].endpoints[0].sin.sin_port = htons(1234);
	m.peers[8].public_key[0] ^= 1;
	strcpy(m.peers[9].name, "renamed");
	strcpy(m.peers[9].dns_name, "renamed.rustynet");
	m.peers[10].is_exit = true;
	check_same(enc, &m);
	/* the allowed IPs' order is the map's, not the memo's */
	r->src[0] = m.peers[0].allowed_ips[1];
	r->src[1] = m.peers[0].allowed_ips[0];
	m.peers[0].allowed_ips[0] = r->src[0];
	m.peers[0].allowed_ips[1] = r->src[1];
	check_same(enc, &m);
	r->n_src -= 2; /* a shorter source list */
	check_same(enc, &m);
	tmp = m.peers[0]; /* fewer peers, in another order */
	m.peers[0] = m.peers[2];
	m.peers[2] = tmp;
	m.n_peers = 3;
	check_same(enc, &m);
	m.n_peers = BIG_PEERS;
	rn_netmap_free(&m);
	rn_netmap_encoder_free(enc);
}

/* seal: ASCII takes the direct path, UTF-8 jansson's; both as before; not UTF-8 refused. */
static void test_seal(void **state)
{
	static const char *const maps[] = { "{\"a\":\"q\\\"\\n\"}", "{\"a\":\"\xc3\xa9\"}" };
	char sig_text[RN_NETMAP_B64_SIG_LEN + 1], key_id[RN_NETMAP_KEY_ID_STRLEN], *out, *want;
	uint8_t sig[RN_NETMAP_SIG_LEN];
	size_t len;
	json_t *env;

	(void)state;
	rn_netmap_key_id(fx_pub, key_id);
	for (size_t i = 0; i < FX_N(maps); i++) {
		assert_int_equal(rn_netmap_sign(fx_priv, maps[i], strlen(maps[i]), sig), 0);
		rn_netmap_b64_encode(sig, sizeof(sig), sig_text);
		env = json_pack("{s:s,s:s,s:s,s:s}", "format", RN_NETMAP_FORMAT, "key_id", key_id,
				"map", maps[i], "sig", sig_text);
		want = json_dumps(env, JSON_COMPACT);
		json_decref(env);
		assert_int_equal(rn_netmap_seal(maps[i], strlen(maps[i]), fx_priv, &out, &len), 0);
		assert_string_equal(out, want);
		assert_int_equal(len, strlen(want));
		free(out);
		free(want);
	}
	assert_int_equal(rn_netmap_seal("{\"a\":\"\xc3\"}", 8, fx_priv, &out, &len), -EINVAL);
	assert_null(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_same),
		cmocka_unit_test(test_escapes_same),
		cmocka_unit_test(test_memo_follows_changes),
		cmocka_unit_test(test_seal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
