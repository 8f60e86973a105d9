/* SPDX-License-Identifier: MIT */
/* Tests of the control protocol's body parsers and builders: tables of good and bad bodies. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "control/api.h"

#define KEY    "rnk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define PUB    "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
#define NONCE  "paWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaU"
#define PROOF  "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA"
#define PROVEN ",\"nonce\":\"" NONCE "\",\"proof\":\"" PROOF "\""
#define BASE   "\"auth_key\":\"" KEY "\",\"public_key\":\"" PUB "\",\"hostname\":\"laptop\"" PROVEN

static const uint8_t ula[RN_STORE_ULA_PREFIX_LEN] = { 0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0 };

static void test_enroll_good(void **state)
{
	static const char body[] = "{" BASE ",\"endpoints\":[\"198.51.100.7:41641\","
				   "\"[2001:db8::7]:41641\"],\"advertise_routes\":"
				   "[\"192.168.50.0/24\"],\"advertise_exit\":true}";
	struct rn_api_enroll e;
	char err[RN_API_ERR_LEN];

	(void)state;
	assert_int_equal(rn_api_parse_enroll(body, strlen(body), ula, &e, err, sizeof(err)), 0);
	assert_string_equal(e.auth_key, KEY);
	assert_string_equal(e.hostname, "laptop");
	assert_int_equal(e.public_key[0], 1);
	assert_string_equal(e.offer.endpoints, "[\"198.51.100.7:41641\",\"[2001:db8::7]:41641\"]");
	assert_string_equal(e.offer.routes, "[\"192.168.50.0/24\"]");
	assert_true(e.offer.has_exit && e.offer.advertise_exit);
	assert_int_equal(e.nonce[0], 0xa5);
	assert_int_equal(e.proof[0], 1);
	assert_int_equal(e.proof[31], 32);
	rn_api_enroll_clear(&e);
	/* the offer is optional */
	assert_int_equal(
	    rn_api_parse_enroll("{" BASE "}", strlen("{" BASE "}"), ula, &e, err, sizeof(err)), 0);
	assert_null(e.offer.endpoints);
	assert_false(e.offer.has_exit);
	rn_api_enroll_clear(&e);
}

static void test_enroll_bad(void **state)
{
	static const struct {
		const char *body;
		const char *says; /* in the error */
	} bad[] = {
		{ "", "not JSON" },
		{ "[]", "not a JSON object" },
		{ "{" BASE ",\"extra\":1}", "unknown member \"extra\"" },
		{ "{" BASE ",\"hostname\":\"x\"}", "not JSON" }, /* duplicate key */
		{ "{\"public_key\":\"" PUB "\",\"hostname\":\"a\"}", "\"auth_key\" is missing" },
		{ "{\"auth_key\":\"rnk1.x.y.z\",\"public_key\":\"" PUB "\",\"hostname\":\"a\"}",
		  "not an auth key" },
		{ "{\"auth_key\":\"" KEY "\",\"public_key\":\"AQEB\",\"hostname\":\"a\"}",
		  "not a WireGuard public key" },
		{ "{\"auth_key\":\"" KEY
		  "\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
		  "\",\"hostname\":\"a\"}",
		  "not a WireGuard public key" },
		{ "{\"auth_key\":\"" KEY "\",\"public_key\":\"" PUB "\",\"hostname\":\"\"}",
		  "1 to 255 bytes" },
		{ "{\"auth_key\":\"" KEY "\",\"public_key\":\"" PUB "\",\"hostname\":\"a\\u0001\"}",
		  "control characters" },
		{ "{\"auth_key\":\"" KEY "\",\"public_key\":\"" PUB "\",\"hostname\":\"a\\u0000\"}",
		  "not JSON" },
		{ "{" BASE ",\"endpoints\":[\"198.51.100.7\"]}", "endpoints[0] \"198.51.100.7\"" },
		{ "{" BASE ",\"endpoints\":[\"224.0.0.1:5\"]}", "multicast" },
		{ "{\"auth_key\":\"" KEY "\",\"public_key\":\"" PUB "\",\"hostname\":\"a\"}",
		  "\"nonce\" is missing: enrollment proves the node key" },
		{ "{\"auth_key\":\"" KEY "\",\"public_key\":\"" PUB
		  "\",\"hostname\":\"a\",\"nonce\":\"" NONCE "\"}",
		  "\"proof\" is missing" },
		{ "{\"auth_key\":\"" KEY "\",\"public_key\":\"" PUB
		  "\",\"hostname\":\"a\",\"nonce\":\"" NONCE "\",\"proof\":\"AQID\"}",
		  "\"proof\" is not 43 characters of base64url" },
		{ "{" BASE ",\"endpoints\":[\"1.2.3.4:0\"]}", "port of 1-65535" },
		{ "{" BASE ",\"endpoints\":\"1.2.3.4:5\"}", "must be an array" },
		{ "{" BASE ",\"endpoints\":[1]}", "endpoints[0] is not a string" },
		{ "{" BASE ",\"advertise_routes\":[\"10.0.0.1/8\"]}", "host bits" },
		{ "{" BASE ",\"advertise_routes\":[\"0.0.0.0/0\"]}", "default route" },
		{ "{" BASE ",\"advertise_routes\":[\"100.64.1.0/24\"]}", "overlaps the mesh" },
		{ "{" BASE ",\"advertise_routes\":[\"10.0.0.1\"]}", "not a CIDR" },
		{ "{" BASE ",\"advertise_exit\":1}", "true or false" },
	};
	struct rn_api_enroll e;
	char err[RN_API_ERR_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = rn_api_parse_enroll(bad[i].body, strlen(bad[i].body), ula, &e, err,
					      sizeof(err));

		if (ret != -EINVAL || !strstr(err, bad[i].says))
			fail_msg("case %zu %s: ret %d, error \"%s\", wanted \"%s\"", i, bad[i].body,
				 ret, err, bad[i].says);
		assert_null(strstr(err, &KEY[4])); /* never the secret */
		assert_null(e.offer.endpoints);
	}
}

/* Each class of address a node must not report, in enroll and in poll; then the ones it may. */
static void test_endpoint_classes(void **state)
{
	static const struct {
		const char *ep, *says; /* says NULL: allowed */
	} cases[] = {
		{ "127.0.0.1:41641", "loopback" },
		{ "127.9.9.9:41641", "loopback" },
		{ "[::1]:41641", "loopback" },
		{ "169.254.1.1:41641", "link-local" },
		{ "[fe80::1]:41641", "link-local" },
		{ "[febf::1]:41641", "link-local" },
		{ "[fe80::1%1]:41641", "" }, /* a scope is not accepted at all */
		{ "224.0.0.1:41641", "multicast" },
		{ "239.255.255.250:41641", "multicast" },
		{ "255.255.255.255:41641", "broadcast" },
		{ "[ff02::1]:41641", "multicast" },
		{ "0.0.0.0:41641", "unspecified" },
		{ "0.1.2.3:41641", "unspecified" },
		{ "[::]:41641", "unspecified" },
		{ "100.64.0.1:41641", "mesh address (100.64.0.0/10)" },
		{ "100.127.255.254:41641", "mesh address (100.64.0.0/10)" },
		{ "[fd7a:115c:a1e0::1]:41641", "mesh address (the network's ULA" },
		{ "[::ffff:127.0.0.1]:41641", "IPv4 address written as IPv6" },
		{ "[::ffff:192.168.1.5]:41641", "IPv4 address written as IPv6" },
		/* allowed: private LANs, other ULAs, the edges of the mesh range, public */
		{ "192.168.1.5:41641", NULL },
		{ "10.1.2.3:41641", NULL },
		{ "172.16.0.9:41641", NULL },
		{ "100.63.255.254:41641", NULL },
		{ "100.128.0.1:41641", NULL },
		{ "[fd7a:115c:a1e1::1]:41641", NULL },
		{ "[fd00::5]:41641", NULL },
		{ "198.51.100.7:41641", NULL },
		{ "[2001:db8::7]:41641", NULL },
	};
	char body[512], err[RN_API_ERR_LEN], why[128];
	struct rn_api_enroll e;
	struct rn_api_poll p;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int want = cases[i].says ? -EINVAL : 0, ret;

		assert_int_equal(rn_api_endpoint_ok(cases[i].ep, ula, why, sizeof(why)), !want);
		snprintf(body, sizeof(body), "{" BASE ",\"endpoints\":[\"%s\"]}", cases[i].ep);
		ret = rn_api_parse_enroll(body, strlen(body), ula, &e, err, sizeof(err));
		if (ret != want || (want && !strstr(err, cases[i].says)))
			fail_msg("enroll with %s: ret %d (%s)", cases[i].ep, ret, err);
		rn_api_enroll_clear(&e);
		snprintf(body, sizeof(body), "{\"since\":1,\"endpoints\":[\"%s\"]}", cases[i].ep);
		ret = rn_api_parse_poll(body, strlen(body), ula, &p, err, sizeof(err));
		if (ret != want || (want && !strstr(err, cases[i].says)))
			fail_msg("poll with %s: ret %d (%s)", cases[i].ep, ret, err);
		rn_api_poll_clear(&p);
	}
	/* without a ULA (NULL) only that check is skipped */
	assert_true(rn_api_endpoint_ok("[fd7a:115c:a1e0::1]:1", NULL, why, sizeof(why)));
	assert_false(rn_api_endpoint_ok("127.0.0.1:1", NULL, why, sizeof(why)));
}

static void test_limits(void **state)
{
	struct rn_api_enroll e;
	struct rn_api_poll p;
	char err[RN_API_ERR_LEN], *big, *eps;
	size_t n;

	(void)state;
	/* over 64 KiB: refused before parsing */
	big = malloc(RN_API_BODY_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', RN_API_BODY_MAX + 1);
	big[RN_API_BODY_MAX + 1] = '\0';
	assert_int_equal(rn_api_parse_poll(big, RN_API_BODY_MAX + 1, ula, &p, err, sizeof(err)),
			 -EMSGSIZE);
	free(big);
	/* 16 endpoints pass, 17 do not */
	for (n = 16; n <= 17; n++) {
		eps = calloc(1, 64 * 20 + 64);
		assert_non_null(eps);
		strcpy(eps, "{\"since\":0,\"endpoints\":[");
		for (size_t i = 0; i < n; i++)
			sprintf(eps + strlen(eps), "%s\"198.51.100.%zu:1\"", i ? "," : "", i + 1);
		strcat(eps, "]}");
		assert_int_equal(rn_api_parse_poll(eps, strlen(eps), ula, &p, err, sizeof(err)),
				 n == 16 ? 0 : -EINVAL);
		rn_api_poll_clear(&p);
		free(eps);
	}
	/* hostname of 256 bytes */
	big = malloc(512);
	assert_non_null(big);
	snprintf(big, 512,
		 "{\"auth_key\":\"" KEY "\",\"public_key\":\"" PUB "\",\"hostname\":"
		 "\"%0256d\"" PROVEN "}",
		 0);
	assert_int_equal(rn_api_parse_enroll(big, strlen(big), ula, &e, err, sizeof(err)), -EINVAL);
	free(big);
}

static void test_call(void **state)
{
	static const struct {
		const char *body;
		int ret;
		uint64_t peer;
		const char *says;
	} calls[] = {
		{ "{\"peer\":7}", 0, 7, NULL },
		{ "{\"peer\":9007199254740991}", 0, 9007199254740991ull, NULL },
		{ "{\"peer\":9007199254740992}", -EINVAL, 0, "node id" },
		{ "{\"peer\":0}", -EINVAL, 0, "node id" },
		{ "{\"peer\":-3}", -EINVAL, 0, "node id" },
		{ "{\"peer\":\"7\"}", -EINVAL, 0, "node id" },
		{ "{\"peer\":7.5}", -EINVAL, 0, "node id" },
		{ "{\"peer\":\"198.51.100.7:41641\"}", -EINVAL, 0, "node id" },
		{ "{}", -EINVAL, 0, "missing" },
		{ "{\"peer\":7,\"endpoint\":\"198.51.100.7:1\"}", -EINVAL, 0, "endpoint" },
		{ "[7]", -EINVAL, 0, NULL },
		{ "", -EINVAL, 0, NULL },
	};
	char err[RN_API_ERR_LEN], *big, *text;
	uint64_t peer, from[2] = { 3, 9007199254740991ull };

	(void)state;
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		int ret = rn_api_parse_call(calls[i].body, strlen(calls[i].body), &peer, err,
					    sizeof(err));

		if (ret != calls[i].ret || peer != calls[i].peer ||
		    (ret && calls[i].says && !strstr(err, calls[i].says)))
			fail_msg("call %zu %s: ret %d peer %llu (%s)", i, calls[i].body, ret,
				 (unsigned long long)peer, ret ? err : "");
	}
	big = calloc(1, RN_API_BODY_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', RN_API_BODY_MAX + 1);
	assert_int_equal(rn_api_parse_call(big, RN_API_BODY_MAX + 1, &peer, err, sizeof(err)),
			 -EMSGSIZE);
	free(big);
	text = rn_api_calls_body(from, 2);
	assert_string_equal(text, "{\"calls\":[{\"from\":3},{\"from\":9007199254740991}]}");
	free(text);
}

static void test_poll_and_logout(void **state)
{
	static const struct {
		const char *body;
		int ret;
		uint64_t since;
	} polls[] = {
		{ "{\"since\":41}", 0, 41 },
		{ "{\"since\":0,\"endpoints\":[],\"advertise_routes\":[],\"advertise_exit\":false}",
		  0, 0 },
		{ "{\"since\":9007199254740991}", 0, 9007199254740991ull },
		{ "{\"since\":9007199254740992}", -EINVAL, 0 },
		{ "{\"since\":-1}", -EINVAL, 0 },
		{ "{\"since\":1.5}", -EINVAL, 0 },
		{ "{\"since\":\"1\"}", -EINVAL, 0 },
		{ "{}", -EINVAL, 0 },
		{ "{\"since\":1,\"sinse\":2}", -EINVAL, 0 },
		{ "{\"since\":1} x", -EINVAL, 0 },
		{ "{\"since\":3,\"calls\":true}", 0, 3 },
		{ "{\"since\":3,\"calls\":false}", 0, 3 },
		{ "{\"since\":3,\"calls\":1}", -EINVAL, 0 },
		{ "{\"since\":3,\"calls\":null}", -EINVAL, 0 },
	};
	struct rn_api_poll p;
	char err[RN_API_ERR_LEN], tok[RN_STORE_NODE_TOKEN_SIZE];

	(void)state;
	for (size_t i = 0; i < sizeof(polls) / sizeof(polls[0]); i++) {
		int ret = rn_api_parse_poll(polls[i].body, strlen(polls[i].body), ula, &p, err,
					    sizeof(err));

		if (ret != polls[i].ret || (!ret && p.since != polls[i].since))
			fail_msg("poll %zu %s: ret %d (%s)", i, polls[i].body, ret, err);
		rn_api_poll_clear(&p);
	}
	assert_int_equal(
	    rn_api_parse_poll("{\"since\":3,\"calls\":true}", 24, ula, &p, err, sizeof(err)), 0);
	assert_true(p.calls);
	rn_api_poll_clear(&p);
	assert_int_equal(rn_api_parse_poll("{\"since\":3}", 11, ula, &p, err, sizeof(err)), 0);
	assert_false(p.calls); /* a node that does not say it takes calls gets none */
	rn_api_poll_clear(&p);
	assert_int_equal(rn_api_parse_empty("{}", 2, err, sizeof(err)), 0);
	assert_int_equal(rn_api_parse_empty("{\"a\":1}", 7, err, sizeof(err)), -EINVAL);
	assert_int_equal(rn_api_parse_empty("", 0, err, sizeof(err)), -EINVAL);

	assert_true(rn_api_bearer("Bearer rnt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", tok));
	assert_string_equal(tok, "rnt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	assert_false(rn_api_bearer(NULL, tok));
	assert_false(rn_api_bearer("Basic abc", tok));
	assert_false(rn_api_bearer("Bearer short", tok));
}

static void test_builders(void **state)
{
	static const char env[] = "{\"format\":\"rustynet-netmap/1\",\"map\":\"{\\\"a\\\":1}\"}";
	char *s;
	json_t *j;

	(void)state;
	s = rn_api_error_body("bad \"thing\"");
	assert_string_equal(s, "{\"error\":\"bad \\\"thing\\\"\"}");
	free(s);
	s = rn_api_enroll_body(7, "rnt_x", env, strlen(env));
	assert_non_null(s);
	j = json_loads(s, 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(j, "node_id")), 7);
	assert_string_equal(json_string_value(json_object_get(j, "node_token")), "rnt_x");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "netmap"), "map")),
			    "{\"a\":1}");
	json_decref(j);
	free(s);
	assert_null(rn_api_enroll_body(7, "rnt_x", "not json", 8));
	{
		uint8_t nonce[32], key[32];

		memset(nonce, 0xa5, sizeof(nonce));
		memset(key, 1, sizeof(key));
		s = rn_api_challenge_body(nonce, key, 60);
		assert_string_equal(s, "{\"nonce\":\"" NONCE "\",\"server_key\":\"" PUB
				       "\",\"expires_in\":60}");
		free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enroll_good),	 cmocka_unit_test(test_enroll_bad),
		cmocka_unit_test(test_limits),		 cmocka_unit_test(test_poll_and_logout),
		cmocka_unit_test(test_builders),	 cmocka_unit_test(test_call),
		cmocka_unit_test(test_endpoint_classes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
