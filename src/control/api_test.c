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

#define KEY "rnk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define PUB "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
#define BASE "\"auth_key\":\"" KEY "\",\"public_key\":\"" PUB "\",\"hostname\":\"laptop\""

static void test_enroll_good(void **state)
{
	static const char body[] = "{" BASE ",\"endpoints\":[\"198.51.100.7:41641\","
				   "\"[2001:db8::7]:41641\"],\"advertise_routes\":"
				   "[\"192.168.50.0/24\"],\"advertise_exit\":true}";
	struct rn_api_enroll e;
	char err[RN_API_ERR_LEN];

	(void)state;
	assert_int_equal(rn_api_parse_enroll(body, strlen(body), &e, err, sizeof(err)), 0);
	assert_string_equal(e.auth_key, KEY);
	assert_string_equal(e.hostname, "laptop");
	assert_int_equal(e.public_key[0], 1);
	assert_string_equal(e.offer.endpoints, "[\"198.51.100.7:41641\",\"[2001:db8::7]:41641\"]");
	assert_string_equal(e.offer.routes, "[\"192.168.50.0/24\"]");
	assert_true(e.offer.has_exit && e.offer.advertise_exit);
	rn_api_enroll_clear(&e);
	/* the offer is optional */
	assert_int_equal(rn_api_parse_enroll("{" BASE "}", strlen("{" BASE "}"), &e, err,
					     sizeof(err)),
			 0);
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
	    {"", "not JSON"},
	    {"[]", "not a JSON object"},
	    {"{" BASE ",\"extra\":1}", "unknown member \"extra\""},
	    {"{" BASE ",\"hostname\":\"x\"}", "not JSON"}, /* duplicate key */
	    {"{\"public_key\":\"" PUB "\",\"hostname\":\"a\"}", "\"auth_key\" is missing"},
	    {"{\"auth_key\":\"rnk1.x.y.z\",\"public_key\":\"" PUB "\",\"hostname\":\"a\"}",
	     "not an auth key"},
	    {"{\"auth_key\":\"" KEY "\",\"public_key\":\"AQEB\",\"hostname\":\"a\"}",
	     "not a WireGuard public key"},
	    {"{\"auth_key\":\"" KEY "\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	     "\",\"hostname\":\"a\"}",
	     "not a WireGuard public key"},
	    {"{\"auth_key\":\"" KEY "\",\"public_key\":\"" PUB "\",\"hostname\":\"\"}",
	     "1 to 255 bytes"},
	    {"{\"auth_key\":\"" KEY "\",\"public_key\":\"" PUB "\",\"hostname\":\"a\\u0001\"}",
	     "control characters"},
	    {"{\"auth_key\":\"" KEY "\",\"public_key\":\"" PUB "\",\"hostname\":\"a\\u0000\"}",
	     "not JSON"},
	    {"{" BASE ",\"endpoints\":[\"198.51.100.7\"]}", "endpoints[0] \"198.51.100.7\""},
	    {"{" BASE ",\"endpoints\":[\"224.0.0.1:5\"]}", "not a unicast"},
	    {"{" BASE ",\"endpoints\":[\"1.2.3.4:0\"]}", "port of 1-65535"},
	    {"{" BASE ",\"endpoints\":\"1.2.3.4:5\"}", "must be an array"},
	    {"{" BASE ",\"endpoints\":[1]}", "endpoints[0] is not a string"},
	    {"{" BASE ",\"advertise_routes\":[\"10.0.0.1/8\"]}", "host bits"},
	    {"{" BASE ",\"advertise_routes\":[\"0.0.0.0/0\"]}", "default route"},
	    {"{" BASE ",\"advertise_routes\":[\"100.64.1.0/24\"]}", "overlaps the mesh"},
	    {"{" BASE ",\"advertise_routes\":[\"10.0.0.1\"]}", "not a CIDR"},
	    {"{" BASE ",\"advertise_exit\":1}", "true or false"},
	};
	struct rn_api_enroll e;
	char err[RN_API_ERR_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = rn_api_parse_enroll(bad[i].body, strlen(bad[i].body), &e, err,
					      sizeof(err));

		if (ret != -EINVAL || !strstr(err, bad[i].says))
			fail_msg("case %zu %s: ret %d, error \"%s\", wanted \"%s\"", i,
				 bad[i].body, ret, err, bad[i].says);
		assert_null(strstr(err, &KEY[4])); /* never the secret */
		assert_null(e.offer.endpoints);
	}
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
	assert_int_equal(rn_api_parse_poll(big, RN_API_BODY_MAX + 1, &p, err, sizeof(err)),
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
		assert_int_equal(rn_api_parse_poll(eps, strlen(eps), &p, err, sizeof(err)),
				 n == 16 ? 0 : -EINVAL);
		rn_api_poll_clear(&p);
		free(eps);
	}
	/* hostname of 256 bytes */
	big = malloc(512);
	assert_non_null(big);
	snprintf(big, 512, "{\"auth_key\":\"" KEY "\",\"public_key\":\"" PUB "\",\"hostname\":"
			   "\"%0256d\"}", 0);
	assert_int_equal(rn_api_parse_enroll(big, strlen(big), &e, err, sizeof(err)), -EINVAL);
	free(big);
}

static void test_poll_and_logout(void **state)
{
	static const struct {
		const char *body;
		int ret;
		uint64_t since;
	} polls[] = {
	    {"{\"since\":41}", 0, 41},
	    {"{\"since\":0,\"endpoints\":[],\"advertise_routes\":[],\"advertise_exit\":false}", 0,
	     0},
	    {"{\"since\":9007199254740991}", 0, 9007199254740991ull},
	    {"{\"since\":9007199254740992}", -EINVAL, 0},
	    {"{\"since\":-1}", -EINVAL, 0},
	    {"{\"since\":1.5}", -EINVAL, 0},
	    {"{\"since\":\"1\"}", -EINVAL, 0},
	    {"{}", -EINVAL, 0},
	    {"{\"since\":1,\"sinse\":2}", -EINVAL, 0},
	    {"{\"since\":1} x", -EINVAL, 0},
	};
	struct rn_api_poll p;
	char err[RN_API_ERR_LEN], tok[RN_STORE_NODE_TOKEN_SIZE];

	(void)state;
	for (size_t i = 0; i < sizeof(polls) / sizeof(polls[0]); i++) {
		int ret = rn_api_parse_poll(polls[i].body, strlen(polls[i].body), &p, err,
					    sizeof(err));

		if (ret != polls[i].ret || (!ret && p.since != polls[i].since))
			fail_msg("poll %zu %s: ret %d (%s)", i, polls[i].body, ret, err);
		rn_api_poll_clear(&p);
	}
	assert_int_equal(rn_api_parse_logout("{}", 2, err, sizeof(err)), 0);
	assert_int_equal(rn_api_parse_logout("{\"a\":1}", 7, err, sizeof(err)), -EINVAL);
	assert_int_equal(rn_api_parse_logout("", 0, err, sizeof(err)), -EINVAL);

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
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "netmap"), "map")), "{\"a\":1}");
	json_decref(j);
	free(s);
	assert_null(rn_api_enroll_body(7, "rnt_x", "not json", 8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_enroll_good),	    cmocka_unit_test(test_enroll_bad),
	    cmocka_unit_test(test_limits),	    cmocka_unit_test(test_poll_and_logout),
	    cmocka_unit_test(test_builders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
