/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the map parser and validator: the fixture's map JSON with one field changed,
 * signed with the test key (so the signature passes) and decoded. Each change must be refused
 * with an error that names the field by its path and says what is wrong with it.
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

/* The fixture's map JSON, as the encoder writes it. */
static json_t *fixture_json(void)
{
	struct rn_netmap m;
	char *out, err[256];
	size_t len;
	json_t *env, *map;

	fx_map(&m);
	if (rn_netmap_encode(&m, fx_priv, &out, &len, err, sizeof(err)))
		fail_msg("encode: %s", err);
	rn_netmap_free(&m);
	env = json_loadb(out, len, 0, NULL);
	map = json_loads(json_string_value(json_object_get(env, "map")), 0, NULL);
	assert_non_null(map);
	json_decref(env);
	free(out);
	return map;
}

/*
 * Sets the member at path ("peers/0/endpoints/1": keys and array indexes) to v; v NULL
 * deletes it. Takes v.
 */
static void set_path(json_t *root, const char *path, json_t *v)
{
	char buf[128], *save = NULL, *tok, *next;
	json_t *cur = root;

	snprintf(buf, sizeof(buf), "%s", path);
	tok = strtok_r(buf, "/", &save);
	for (; tok; tok = next) {
		next = strtok_r(NULL, "/", &save);
		if (json_is_array(cur)) {
			size_t i = strtoul(tok, NULL, 10);

			if (!next) {
				if (v ? json_array_set_new(cur, i, v) : json_array_remove(cur, i))
					fail_msg("cannot set %s", path);
				return;
			}
			cur = json_array_get(cur, i);
		} else {
			if (!next) {
				if (v ? json_object_set_new(cur, tok, v)
				      : json_object_del(cur, tok))
					fail_msg("cannot set %s", path);
				return;
			}
			cur = json_object_get(cur, tok);
		}
		if (!cur)
			fail_msg("no %s in the fixture", path);
	}
	json_decref(v);
}

static json_t *get_path(json_t *root, const char *path)
{
	char buf[128], *save = NULL;
	json_t *cur = root;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *tok = strtok_r(buf, "/", &save); tok && cur; tok = strtok_r(NULL, "/", &save))
		cur = json_is_array(cur) ? json_array_get(cur, strtoul(tok, NULL, 10))
					 : json_object_get(cur, tok);
	if (!cur)
		fail_msg("no %s in the fixture", path);
	return cur;
}

/* Signs map as it is and decodes it: returns what decode did, its error in err. */
static int sign_and_decode(json_t *map, char *err, size_t errlen)
{
	char *text = json_dumps(map, JSON_COMPACT), *out;
	struct rn_netmap m;
	size_t len;
	int ret;

	assert_non_null(text);
	assert_int_equal(rn_netmap_seal(text, strlen(text), fx_priv, &out, &len), 0);
	err[0] = '\0';
	ret = rn_netmap_decode(out, len, fx_pub, &m, err, errlen);
	if (!ret)
		rn_netmap_free(&m);
	free(out);
	free(text);
	return ret;
}

static void test_fixture_decodes(void **state)
{
	json_t *map = fixture_json();
	char err[512];

	(void)state;
	if (sign_and_decode(map, err, sizeof(err)))
		fail_msg("the fixture itself is refused: %s", err);
	json_decref(map);
}

/*
 * path, the JSON it is set to (NULL: deleted), what the error must say; and a second change
 * where one alone would be caught by an earlier check.
 */
static const struct {
	const char *path, *json, *msg, *path2, *json2;
} cases[] = {
	/* numbers: type, sign, fraction, range */
	{ "version", "-1", "version: -1 is out of range" },
	{ "version", "0", "version: 0 is out of range 1-" },
	{ "version", "\"42\"", "version: want an integer, got a string" },
	{ "version", "42.0", "version: want an integer, got a number with a fraction" },
	{ "version", "4.2e1", "version: want an integer, got a number" },
	{ "version", "9007199254740992", "version: 9007199254740992 is out of range" },
	{ "version", "null", "version: want an integer, got null" },
	{ "version", NULL, "version: missing" },
	{ "issued_at", "true", "issued_at: want an integer, got a boolean" },
	{ "issued_at", "0", "issued_at: 0 is out of range" },
	{ "cache_valid_s", "true", "cache_valid_s: want an integer, got a boolean" },
	{ "cache_valid_s", "0", "cache_valid_s: 0 is out of range 1-31536000" },
	{ "cache_valid_s", "31536001", "cache_valid_s: 31536001 is out of range 1-31536000" },
	{ "cache_valid_s", "-1", "cache_valid_s: -1 is out of range" },
	{ "stun", "\"198.51.100.1:3478\"", "stun: want an array" },
	{ "stun", "[\"198.51.100.1\"]", "stun[0]: \"198.51.100.1\" is not an endpoint" },
	{ "stun", "[\"198.51.100.1:0\"]", "stun[0]: \"198.51.100.1:0\": the port must be 1-65535" },
	{ "stun", "[\"224.0.0.1:3478\"]", "stun[0]: 224.0.0.1:3478 is not a unicast address" },
	{ "stun", "[1,2,3,4,5,6,7,8,9]", "stun: 9 entries" },
	{ "relays", "[{\"name\":\"r1\",\"udp\":\"198.51.100.1:3479\",\"tls\":\"\",\"spki\":\"\"}]",
	  "relay_credential: missing, with relays listed" },
	{ "relay_credential",
	  "{\"expires\":5,\"token\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\"}",
	  "relay_credential: present, with no relays listed" },
	{ "relay_credential", "{\"expires\":5}", "relay_credential.token: missing" },
	{ "peers/0/last_seen", "-5", "peers[0].last_seen: -5 is out of range" },
	{ "self/id", "0", "self.id: 0 is out of range" },
	{ "self/id", "[1]", "self.id: want an integer, got an array" },
	/* names */
	{ "domain", "\"Rusty Net\"", "domain: \"Rusty Net\" is not a lowercase DNS name" },
	{ "domain", "\"\"", "domain: \"\" is not" },
	{ "domain", "\"rustynet.\"", "domain: \"rustynet.\" is not" },
	{ "self/name", "\"Laptop\"", "self.name: \"Laptop\" is not a DNS label" },
	{ "self/name", "\"-laptop\"", "self.name: \"-laptop\"" },
	{ "self/name", "\"laptop\\u001b[31m\"", "self.name: \"laptop\\x1b[31m\" is not" },
	{ "self/dns_name", "\"laptop.evil.example\"",
	  "self.dns_name: \"laptop.evil.example\" is not" },
	{ "peers/1/dns_name", "\"exit1.rustynet\"", "peers[1].dns_name: \"exit1.rustynet\"" },
	{ "self/user", "\"\"", "self.user: \"\" is not" },
	{ "self/user", "\"alice smith\"", "self.user: \"alice smith\"" },
	{ "dns/search_domain", "\"bad_domain\"", "dns.search_domain: \"bad_domain\"" },
	{ "dns/records/0/name", "\"NAS.rustynet\"", "dns.records[0].name: \"NAS.rustynet\"" },
	/* addresses */
	{ "self/ipv4", "\"100.64.0.256\"", "self.ipv4: \"100.64.0.256\" is not an IP address" },
	{ "self/ipv4", "\"10.0.0.1\"", "self.ipv4: 10.0.0.1 is outside 100.64.0.0/10" },
	{ "self/ipv4", "\"100.100.100.100\"", "self.ipv4: 100.100.100.100 is Magic DNS" },
	{ "self/ipv4", "\"fd7a:115c:a1e0::1\"", "self.ipv4: \"fd7a:115c:a1e0::1\" is not an IPv4" },
	{ "self/ipv4", "\"100.064.0.1\"", "self.ipv4: \"100.064.0.1\" is not an IP address" },
	{ "self/ipv4", "16777216", "self.ipv4: want a string, got an integer" },
	{ "self/ipv6", "\"2001:db8::1\"", "self.ipv6: 2001:db8::1 is outside fc00::/7" },
	{ "self/ipv6", "\"100.64.0.1\"", "self.ipv6: \"100.64.0.1\" is not an IPv6 address" },
	{ "peers/1/ipv6", "\"fd00::3\"", "peers[1].ipv6: fd00::3 is outside the network's /48" },
	{ "self/public_key", "\"abc\"", "self.public_key: \"abc\" is not a key" },
	{ "self/public_key", "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"",
	  "self.public_key: all zero" },
	/* endpoints */
	{ "peers/0/endpoints/0", "\"198.51.100.7:0\"",
	  "peers[0].endpoints[0]: \"198.51.100.7:0\": the port" },
	{ "peers/0/endpoints/0", "\"198.51.100.7:65536\"",
	  "peers[0].endpoints[0]: \"198.51.100.7:65536\": the port" },
	{ "peers/0/endpoints/0", "\"198.51.100.7:041641\"",
	  "peers[0].endpoints[0]: \"198.51.100.7:041641\" is not an endpoint" },
	{ "peers/0/endpoints/0", "\"198.51.100.7\"",
	  "peers[0].endpoints[0]: \"198.51.100.7\" is not an endpoint" },
	{ "peers/0/endpoints/0", "\"2001:db8::7:41641\"",
	  "peers[0].endpoints[0]: \"2001:db8::7:41641\" is not" },
	{ "peers/0/endpoints/0", "\"[fe80::1%eth0]:41641\"",
	  "peers[0].endpoints[0]: \"[fe80::1%eth0]:41641\"" },
	{ "peers/0/endpoints/0", "\"[198.51.100.7]:41641\"", "peers[0].endpoints[0]" },
	{ "peers/0/endpoints/0", "\"example.com:41641\"",
	  "peers[0].endpoints[0]: \"example.com:41641\"" },
	{ "peers/0/endpoints/0", "\"0.0.0.0:41641\"",
	  "peers[0].endpoints[0]: 0.0.0.0:41641 is not a unicast address" },
	{ "peers/0/endpoints/1", "\"[ff02::1]:41641\"",
	  "peers[0].endpoints[1]: [ff02::1]:41641 is not a unicast" },
	/* prefixes and routes */
	{ "peers/0/allowed_ips/2", "\"192.168.1.0/33\"",
	  "peers[0].allowed_ips[2]: \"192.168.1.0/33\" is not an address or CIDR prefix" },
	{ "peers/0/allowed_ips/2", "\"192.168.1.1/24\"",
	  "peers[0].allowed_ips[2]: \"192.168.1.1/24\" has host bits set; did you mean 192.168.1.0/24?" },
	{ "peers/0/allowed_ips/2", "\"10.9.0.0/16\"",
	  "peers[0].allowed_ips: 10.9.0.0/16 is neither a mesh address" },
	{ "peers/0/allowed_ips/0", "\"100.64.0.9/32\"",
	  "peers[0].allowed_ips: must hold the peer's mesh addresses 100.64.0.2/32" },
	{ "peers/0/allowed_ips/3", "\"192.168.1.0/24\"",
	  "peers[0].allowed_ips: 192.168.1.0/24 appears twice" },
	{ "peers/0/lan_routes/0", "\"0.0.0.0/0\"",
	  "peers[0].lan_routes[0]: 0.0.0.0/0 is a default route" },
	{ "peers/0/lan_routes/0", "\"100.64.0.0/16\"",
	  "peers[0].lan_routes[0]: 100.64.0.0/16 overlaps the mesh" },
	{ "peers/0/lan_routes/1", "\"fd7a:115c:a1e0:5::/64\"",
	  "peers[0].lan_routes[1]: fd7a:115c:a1e0:5::/64 overlaps" },
	{ "peers/0/lan_routes/0", "\"172.16.0.0/12\"",
	  "peers[0].lan_routes: 172.16.0.0/12 is missing from allowed_ips" },
	{ "filter/routes/0", "\"100.0.0.0/8\"", "filter.routes[0]: 100.0.0.0/8 overlaps the mesh" },
	{ "filter/self/0", "\"100.64.0.9/32\"",
	  "filter.self: must be exactly [100.64.0.1/32, fd7a:115c:a1e0::1/128]" },
	/* uniqueness */
	{ "peers/1/public_key", "\"AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\"",
	  "peers[1].public_key: the same as peers[0]'s" },
	{ "peers/2/id", "1", "self.id: the same as peers[2]'s" },
	{ "peers/1/name", "\"phone\"", "peers[2].name: the same as peers[1]'s", "peers/1/dns_name",
	  "\"phone.rustynet\"" },
	{ "peers/2/ipv4", "\"100.64.0.2\"", "peers[2].ipv4: the same as peers[0]'s",
	  "peers/2/allowed_ips/0", "\"100.64.0.2/32\"" },
	/* filter rules */
	{ "filter/rules/0/ports/0", "[0, 70000]",
	  "filter.rules[0].ports[0]: [0, 70000]: ports are 0-65535" },
	{ "filter/rules/0/ports/0", "[10, 5]", "filter.rules[0].ports[0]: 10-5 runs backwards" },
	{ "filter/rules/0/ports/0", "[22]", "filter.rules[0].ports[0]: 1 numbers; want two" },
	{ "filter/rules/0/ports/0", "[22, -1]", "filter.rules[0].ports[0]: -1 is out of range" },
	{ "filter/rules/0/ports/0", "\"22\"",
	  "filter.rules[0].ports[0]: want an array [first, last]" },
	{ "filter/rules/0/ports", "[]", "filter.rules[0].ports: 0 ranges" },
	{ "filter/rules/0/src", "[]", "filter.rules[0].src: 0 prefixes" },
	{ "filter/rules/1/dst/0", "\"10.1.2.0/24x\"", "filter.rules[1].dst[0]: \"10.1.2.0/24x\"" },
	{ "filter/rules/0/proto", "\"sctp\"",
	  "filter.rules[0].proto: \"sctp\" is not any, tcp, udp or icmp" },
	{ "filter/rules/0/context", "\"internet\"",
	  "filter.rules[0].context: \"internet\" is not mesh, subnet or exit" },
	{ "filter/exit", "1", "filter.exit: want true or false, got an integer" },
	{ "peers/0/online", "\"yes\"", "peers[0].online: want true or false, got a string" },
	/* DNS */
	{ "dns/resolvers/0", "\"100.100.100.100\"",
	  "dns.resolvers[0]: 100.100.100.100 is not a unicast upstream" },
	{ "dns/resolvers/0", "\"8.8.8.8.8\"",
	  "dns.resolvers[0]: \"8.8.8.8.8\" is not an IP address" },
	{ "dns/resolvers/1", "\"::\"", "dns.resolvers[1]: :: is not a unicast" },
	{ "dns/records/0/type", "\"MX\"", "dns.records[0].type: \"MX\" is not A or AAAA" },
	{ "dns/records/0/value", "\"fd00::1\"", "dns.records[0]: type A with an IPv6 address" },
	/* schema */
	{ "extra", "1", "map: unknown field \"extra\"" },
	{ "self/extra", "{}", "self: unknown field \"extra\"" },
	{ "peers/0/endpoints", "{}", "peers[0].endpoints: want an array, got an object" },
	{ "peers/0", "[]", "peers[0]: want an object, got an array" },
	{ "filter/rules/2/dst", NULL, "filter.rules[2].dst: missing" },
	{ "dns", "null", "dns: want an object, got null" },
	{ "filter/self", "[\"100.64.0.1/32\", \"fd7a:115c:a1e0::1/128\", \"::/0\"]",
	  "filter.self: 3 entries" },
};

static void test_malformed_table(void **state)
{
	json_t *fixture = fixture_json();
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *map = json_deep_copy(fixture), *v = NULL;
		int ret;

		if (cases[i].json) {
			v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
			if (!v)
				fail_msg("case %zu: bad JSON in the test: %s", i, cases[i].json);
		}
		set_path(map, cases[i].path, v);
		if (cases[i].path2)
			set_path(map, cases[i].path2,
				 json_loads(cases[i].json2, JSON_DECODE_ANY, NULL));
		ret = sign_and_decode(map, err, sizeof(err));
		if (ret != -EINVAL)
			fail_msg("case %zu (%s = %s): got %d, want -EINVAL (%s)", i, cases[i].path,
				 cases[i].json, ret, err);
		if (!strstr(err, cases[i].msg))
			fail_msg("case %zu (%s = %s): error \"%s\" does not say \"%s\"", i,
				 cases[i].path, cases[i].json, err, cases[i].msg);
		json_decref(map);
	}
	json_decref(fixture);
}

/* Strings longer than their field, and lists longer than their cap. */
static void test_too_long(void **state)
{
	static const struct {
		const char *path;
		size_t len;
		const char *msg;
	} strs[] = {
		{ "self/name", 64, "self.name: \"aaaa" },
		{ "self/user", 129, "is 129 bytes long; at most 128" },
		{ "domain", 254, "domain: \"aaaa" },
		{ "peers/0/dns_name", 254, "is 254 bytes long; at most 253" },
		{ "dns/records/1/name", 300, "dns.records[1].name: " },
	};
	static const struct {
		const char *path;
		size_t n;
		const char *msg;
	} lists[] = {
		{ "peers", RN_NETMAP_MAX_PEERS + 1,
		  "peers: 10001 entries, over the limit of 10000" },
		{ "peers/0/endpoints", RN_NETMAP_MAX_ENDPOINTS + 1,
		  "peers[0].endpoints: 17 entries" },
		{ "peers/0/allowed_ips", RN_NETMAP_MAX_ALLOWED_IPS + 1,
		  "peers[0].allowed_ips: 1025" },
		{ "filter/rules", RN_NETMAP_MAX_RULES + 1, "filter.rules: 10001 entries" },
		{ "filter/rules/0/ports", RN_NETMAP_MAX_RULE_PORTS + 1, "ports: 257 entries" },
		{ "dns/resolvers", RN_NETMAP_MAX_RESOLVERS + 1, "dns.resolvers: 9 entries" },
		{ "dns/records", RN_NETMAP_MAX_RECORDS + 1, "dns.records: 4097 entries" },
	};
	json_t *fixture = fixture_json();
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		json_t *map = json_deep_copy(fixture);
		char *s = malloc(strs[i].len + 1);

		memset(s, 'a', strs[i].len);
		s[strs[i].len] = '\0';
		set_path(map, strs[i].path, json_string(s));
		assert_int_equal(sign_and_decode(map, err, sizeof(err)), -EINVAL);
		if (!strstr(err, strs[i].msg))
			fail_msg("%s: error \"%s\" does not say \"%s\"", strs[i].path, err,
				 strs[i].msg);
		free(s);
		json_decref(map);
	}
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		json_t *map = json_deep_copy(fixture), *arr = json_array();

		/* Copies of the first entry: the count is refused before any entry is read. */
		for (size_t j = 0; j < lists[i].n; j++)
			json_array_append(arr, json_array_get(get_path(map, lists[i].path), 0));
		set_path(map, lists[i].path, arr);
		assert_int_equal(sign_and_decode(map, err, sizeof(err)), -EINVAL);
		if (!strstr(err, lists[i].msg))
			fail_msg("%s: error \"%s\" does not say \"%s\"", lists[i].path, err,
				 lists[i].msg);
		json_decref(map);
	}
	json_decref(fixture);
}

/* Duplicate keys cannot come out of jansson, so they go in as text. */
static void test_duplicate_key(void **state)
{
	json_t *fixture = fixture_json();
	char *text = json_dumps(fixture, JSON_COMPACT), *dup, *out, err[512];
	struct rn_netmap m;
	size_t len;

	(void)state;
	assert_int_equal(asprintf(&dup, "{\"version\":43,%s", text + 1) > 0, 1);
	assert_int_equal(rn_netmap_seal(dup, strlen(dup), fx_priv, &out, &len), 0);
	assert_int_equal(rn_netmap_decode(out, len, fx_pub, &m, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "duplicate"));
	free(out);
	free(dup);
	free(text);
	json_decref(fixture);
}

/* Lists may be empty where the model allows it: a node alone, no rules, no DNS. */
static void test_minimal_map(void **state)
{
	json_t *map = fixture_json();
	char err[512];

	(void)state;
	set_path(map, "peers", json_array());
	set_path(map, "filter/routes", json_array());
	set_path(map, "filter/exit", json_false());
	set_path(map, "filter/rules", json_array());
	set_path(map, "dns/resolvers", json_array());
	set_path(map, "dns/records", json_array());
	set_path(map, "dns/search_domain", json_string(""));
	if (sign_and_decode(map, err, sizeof(err)))
		fail_msg("minimal map refused: %s", err);
	json_decref(map);
}

/* cache_valid_s, the optional member: absent is 0 (the 24 h default), present round-trips. */
static void test_cache_valid(void **state)
{
	struct rn_netmap m, back;
	char *out, err[256];
	size_t len;

	(void)state;
	fx_map(&m);
	assert_int_equal(rn_netmap_cache_valid_s(&m), RN_NETMAP_CACHE_VALID_DEFAULT_S);
	assert_int_equal(rn_netmap_encode(&m, fx_priv, &out, &len, err, sizeof(err)), 0);
	assert_null(strstr(out, "cache_valid_s")); /* maps older nodes decode stay as they were */
	assert_int_equal(rn_netmap_decode(out, len, fx_pub, &back, err, sizeof(err)), 0);
	assert_int_equal(back.cache_valid_s, 0);
	rn_netmap_free(&back);
	free(out);

	m.cache_valid_s = 5;
	assert_int_equal(rn_netmap_encode(&m, fx_priv, &out, &len, err, sizeof(err)), 0);
	assert_non_null(strstr(out, "\\\"cache_valid_s\\\":5,"));
	if (rn_netmap_decode(out, len, fx_pub, &back, err, sizeof(err)))
		fail_msg("decode: %s", err);
	assert_int_equal(back.cache_valid_s, 5);
	assert_int_equal(rn_netmap_cache_valid_s(&back), 5);
	rn_netmap_free(&back);
	free(out);

	m.cache_valid_s = RN_NETMAP_CACHE_VALID_MAX_S + 1;
	assert_int_not_equal(rn_netmap_encode(&m, fx_priv, &out, &len, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "cache_valid_s"));
	rn_netmap_free(&m);
}

/* stun, optional: absent is none and not written; present round-trips in order. */
static void test_stun(void **state)
{
	union rn_netmap_endpoint *s;
	struct rn_netmap m, back;
	char *out, err[256];
	size_t len;

	(void)state;
	fx_map(&m);
	assert_int_equal(rn_netmap_encode(&m, fx_priv, &out, &len, err, sizeof(err)), 0);
	assert_null(strstr(out, "stun"));
	free(out);

	s = calloc(2, sizeof(*s));
	assert_non_null(s);
	s[0].sin.sin_family = AF_INET;
	s[0].sin.sin_port = htons(3478);
	inet_pton(AF_INET, "198.51.100.1", &s[0].sin.sin_addr);
	s[1].sin6.sin6_family = AF_INET6;
	s[1].sin6.sin6_port = htons(3479);
	inet_pton(AF_INET6, "2001:db8::1", &s[1].sin6.sin6_addr);
	m.stun = s;
	m.n_stun = 2;
	assert_int_equal(rn_netmap_encode(&m, fx_priv, &out, &len, err, sizeof(err)), 0);
	assert_non_null(
	    strstr(out, "\\\"stun\\\":[\\\"198.51.100.1:3478\\\",\\\"[2001:db8::1]:3479\\\"]"));
	if (rn_netmap_decode(out, len, fx_pub, &back, err, sizeof(err)))
		fail_msg("decode: %s", err);
	assert_int_equal(back.n_stun, 2);
	assert_memory_equal(back.stun, s, 2 * sizeof(*s));
	rn_netmap_free(&back);
	free(out);

	s[1].sin6.sin6_port = 0; /* validated on the way out too */
	assert_int_not_equal(rn_netmap_encode(&m, fx_priv, &out, &len, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "stun[1]"));
	rn_netmap_free(&m);
}

/* relays and relay_credential, optional together: round trip, and each rule of a relay. */
static void test_relays(void **state)
{
	struct rn_netmap_relay *r;
	struct rn_netmap m, back;
	char *out, err[256];
	size_t len;

	(void)state;
	fx_map(&m);
	r = calloc(2, sizeof(*r));
	assert_non_null(r);
	snprintf(r[0].name, sizeof(r[0].name), "home");
	r[0].udp.sin.sin_family = AF_INET;
	r[0].udp.sin.sin_port = htons(3479);
	inet_pton(AF_INET, "198.51.100.1", &r[0].udp.sin.sin_addr);
	r[0].tls.sin6.sin6_family = AF_INET6;
	r[0].tls.sin6.sin6_port = htons(443);
	inet_pton(AF_INET6, "2001:db8::1", &r[0].tls.sin6.sin6_addr);
	memset(r[0].spki, 0x42, sizeof(r[0].spki));
	snprintf(r[1].name, sizeof(r[1].name), "udp-only");
	r[1].udp = r[0].udp;
	m.relays = r;
	m.n_relays = 2;
	m.relay_cred.expires = FX_NOW + 3600;
	memset(m.relay_cred.token, 0x17, sizeof(m.relay_cred.token));
	assert_int_equal(rn_netmap_encode(&m, fx_priv, &out, &len, err, sizeof(err)), 0);
	assert_non_null(strstr(out, "\\\"tls\\\":\\\"\\\",\\\"spki\\\":\\\"\\\"")); /* udp-only */
	if (rn_netmap_decode(out, len, fx_pub, &back, err, sizeof(err)))
		fail_msg("decode: %s", err);
	assert_int_equal(back.n_relays, 2);
	assert_memory_equal(back.relays, r, 2 * sizeof(*r));
	assert_int_equal(back.relay_cred.expires, m.relay_cred.expires);
	assert_memory_equal(back.relay_cred.token, m.relay_cred.token, 32);
	rn_netmap_free(&back);
	free(out);

	/* Each rule, refused on the way out (the encoder validates) with a message naming it. */
	snprintf(r[1].name, sizeof(r[1].name), "home");
	assert_int_not_equal(rn_netmap_encode(&m, fx_priv, &out, &len, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "relays[1].name: home is also relays[0]'s"));
	snprintf(r[1].name, sizeof(r[1].name), "Bad Name");
	assert_int_not_equal(rn_netmap_encode(&m, fx_priv, &out, &len, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "relays[1].name: \"Bad Name\" is not a DNS label"));
	snprintf(r[1].name, sizeof(r[1].name), "r1");
	memset(&r[1].udp, 0, sizeof(r[1].udp));
	assert_int_not_equal(rn_netmap_encode(&m, fx_priv, &out, &len, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "relays[1]: neither udp nor tls is set"));
	r[1].udp = r[0].udp;
	memset(r[1].spki, 1, sizeof(r[1].spki));
	assert_int_not_equal(rn_netmap_encode(&m, fx_priv, &out, &len, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "relays[1].spki: set, but the relay offers no TLS"));
	memset(r[1].spki, 0, sizeof(r[1].spki));
	memset(r[0].spki, 0, sizeof(r[0].spki));
	assert_int_not_equal(rn_netmap_encode(&m, fx_priv, &out, &len, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "relays[0].spki: missing"));
	memset(r[0].spki, 0x42, sizeof(r[0].spki));
	r[0].udp.sin.sin_port = 0;
	assert_int_not_equal(rn_netmap_encode(&m, fx_priv, &out, &len, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "relays[0].udp: 198.51.100.1:0 has port 0"));
	r[0].udp.sin.sin_port = htons(3479);
	m.relay_cred.expires = 0;
	assert_int_not_equal(rn_netmap_encode(&m, fx_priv, &out, &len, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "relay_credential: missing"));
	rn_netmap_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_decodes),
		cmocka_unit_test(test_malformed_table),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_minimal_map),
		cmocka_unit_test(test_cache_valid),
		cmocka_unit_test(test_stun),
		cmocka_unit_test(test_relays),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
