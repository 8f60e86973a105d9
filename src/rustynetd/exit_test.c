/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the pure half of exit nodes and LAN access, on the netmap fixture (exit1 is an
 * exit with LAN routes 192.168.1.0/24 and fd00:1::/64; server and phone are not exits): finding
 * the exit by name or address, the rule/route plan for {nothing, exit, exit + LAN, LAN only},
 * the exit peer's default allowed IPs, exit.json.
 */
#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "netmap/netmap_fixture.h"
#include "rustynetd/apply.h"
#include "rustynetd/exit.h"

static void test_find(void **state)
{
	static const char *const hits[] = {"exit1",	      "EXIT1",	    "exit1.rustynet",
					   "exit1.rustynet.", "100.64.0.2", "fd7a:115c:a1e0::2"};
	static const struct {
		const char *query, *says;
	} misses[] = {
	    {"server", "not an exit node"},
	    {"100.64.0.3", "not an exit node"},
	    {"laptop", "this node itself"},
	    {"100.64.0.1", "this node itself"},
	    {"nosuch", "no node \"nosuch\""},
	    {"100.64.0.99", "no node"},
	    {"", "name an exit node"},
	    {"exit1.rustynet..", "no node"},
	    {"exit", "no node"},
	};
	struct rn_netmap m;
	char err[512];

	(void)state;
	fx_map(&m);
	for (size_t i = 0; i < FX_N(hits); i++)
		assert_ptr_equal(rn_exit_find(&m, hits[i], err, sizeof(err)), &m.peers[0]);
	for (size_t i = 0; i < FX_N(misses); i++) {
		err[0] = '\0';
		assert_null(rn_exit_find(&m, misses[i].query, err, sizeof(err)));
		if (!strstr(err, misses[i].says))
			fail_msg("\"%s\": %s", misses[i].query, err);
	}
	assert_null(rn_exit_find(&m, NULL, err, sizeof(err)));
	m.peers[0].is_exit = false; /* approval or policy revoked */
	assert_null(rn_exit_find(&m, "exit1", err, sizeof(err)));
	assert_non_null(strstr(err, "not an exit node"));
	assert_ptr_equal(rn_exit_peer(&m, 7), &m.peers[2]);
	assert_null(rn_exit_peer(&m, 99));
	rn_netmap_free(&m);
}

static const char *route_text(const struct rn_exit_route *r, char *buf)
{
	char dst[RN_IPADDR_STRLEN];

	snprintf(buf, 128, "%s %s %s t%u", r->route.type == RTN_UNREACHABLE ? "unreachable" : "",
		 rn_ipaddr_format_prefix(&r->route.dst, dst), r->route.dev, r->route.table);
	return buf;
}

/* The plan's routes, one string each, are exactly want (in order). */
static void check_routes(const struct rn_exit_plan *p, const char *const *want, size_t n)
{
	char buf[128];

	for (size_t i = 0; i < p->n_routes && i < n; i++)
		assert_string_equal(route_text(&p->routes[i], buf), want[i]);
	assert_int_equal(p->n_routes, n);
}

static void check_rules(const struct rn_exit_plan *p, size_t n_families)
{
	assert_int_equal(p->n_rules, 3 * n_families);
	for (size_t f = 0; f < n_families; f++) {
		const struct rn_nl_rule *r = &p->rules[3 * f];

		assert_int_equal(r[0].priority, RN_EXIT_PRIO_BYPASS);
		assert_int_equal(r[0].fwmark, RN_EXIT_FWMARK);
		assert_int_equal(r[0].fwmask, RN_EXIT_FWMASK);
		assert_int_equal(r[0].table, RT_TABLE_MAIN);
		assert_false(r[0].invert);
		assert_int_equal(r[1].priority, RN_EXIT_PRIO_MAIN);
		assert_true(r[1].suppress);
		assert_int_equal(r[1].suppress_prefixlen, 0);
		assert_int_equal(r[1].fwmask, 0);
		assert_int_equal(r[1].table, RT_TABLE_MAIN);
		assert_int_equal(r[2].priority, RN_EXIT_PRIO_TABLE);
		assert_int_equal(r[2].table, RN_EXIT_TABLE);
		assert_true(r[2].invert);
		assert_int_equal(r[2].fwmark, RN_EXIT_FWMARK);
	}
}

#define BLOCKED                                                                                    \
	"unreachable 10.0.0.0/8  t5150", "unreachable 172.16.0.0/12  t5150",                       \
	    "unreachable 192.168.0.0/16  t5150", "unreachable 169.254.0.0/16  t5150",              \
	    "unreachable 100.64.0.0/10  t5150", "unreachable fc00::/7  t5150",                     \
	    "unreachable fe80::/10  t5150"
#define DEFAULTS " 0.0.0.0/0 rn0 t5150", " ::/0 rn0 t5150"
#define LAN	 " 192.168.1.0/24 rn0 t5150", " fd00:1::/64 rn0 t5150"

static void test_plan(void **state)
{
	static const char *const exit_only[] = {BLOCKED, DEFAULTS};
	static const char *const exit_lan[] = {LAN, BLOCKED, DEFAULTS};
	static const char *const lan_only[] = {LAN};
	struct rn_exit_prefs none = {0}, ex = {.node_id = 2},
			     exlan = {.node_id = 2, .lan_access = 1}, lan = {.lan_access = true};
	struct rn_exit_plan p, q;
	struct rn_netmap m;

	(void)state;
	fx_map(&m);
	assert_int_equal(rn_exit_plan_make(&m, &none, "rn0", &p), 0);
	assert_int_equal(p.n_routes + p.n_rules + p.fwmark, 0);
	rn_exit_plan_free(&p);

	assert_int_equal(rn_exit_plan_make(&m, &ex, "rn0", &p), 0);
	check_routes(&p, exit_only, FX_N(exit_only));
	check_rules(&p, 2);
	assert_int_equal(p.fwmark, RN_EXIT_FWMARK);
	/* The same inputs make an equal plan: re-applying is a no-op. */
	assert_int_equal(rn_exit_plan_make(&m, &ex, "rn0", &q), 0);
	assert_true(rn_exit_plan_equal(&p, &q));
	assert_true(rn_exit_plan_has_route(&q, &p.routes[3].route));
	assert_true(rn_exit_plan_has_rule(&q, &p.rules[4]));
	rn_exit_plan_free(&q);

	assert_int_equal(rn_exit_plan_make(&m, &exlan, "rn0", &q), 0);
	check_routes(&q, exit_lan, FX_N(exit_lan));
	assert_string_equal(q.routes[0].via, "exit1");
	assert_string_equal(q.routes[2].via, "");
	assert_false(rn_exit_plan_equal(&p, &q));
	rn_exit_plan_free(&q);
	rn_exit_plan_free(&p);

	/* LAN access without an exit: only the LAN routes, no unreachables, no defaults. */
	assert_int_equal(rn_exit_plan_make(&m, &lan, "rn0", &p), 0);
	check_routes(&p, lan_only, FX_N(lan_only));
	check_rules(&p, 2);
	rn_exit_plan_free(&p);

	/* A v4-only LAN: v4 rules only. */
	m.peers[0].n_lan_routes = 1;
	assert_int_equal(rn_exit_plan_make(&m, &lan, "rn0", &p), 0);
	assert_int_equal(p.n_routes, 1);
	check_rules(&p, 1);
	assert_int_equal(p.rules[0].family, AF_INET);
	rn_exit_plan_free(&p);
	m.peers[0].n_lan_routes = 2;

	/* Exit gone from the map, or no map at all: still the defaults (fail closed). */
	ex.node_id = 99;
	assert_int_equal(rn_exit_plan_make(&m, &ex, "rn0", &p), 0);
	check_routes(&p, exit_only, FX_N(exit_only));
	rn_exit_plan_free(&p);
	assert_int_equal(rn_exit_plan_make(NULL, &exlan, "rn0", &p), 0);
	check_routes(&p, exit_only, FX_N(exit_only));
	rn_exit_plan_free(&p);
	rn_netmap_free(&m);
}

/* A LAN route exactly a blocked range replaces the unreachable route. */
static void test_plan_lan_equals_blocked(void **state)
{
	static const char *const want[] = {" 192.168.1.0/24 rn0 t5150",
					   " fd00:1::/64 rn0 t5150",
					   " 10.0.0.0/8 rn0 t5150",
					   "unreachable 172.16.0.0/12  t5150",
					   "unreachable 192.168.0.0/16  t5150",
					   "unreachable 169.254.0.0/16  t5150",
					   "unreachable 100.64.0.0/10  t5150",
					   "unreachable fc00::/7  t5150",
					   "unreachable fe80::/10  t5150",
					   DEFAULTS};
	static const char *const ten[] = {"10.0.0.0/8"};
	struct rn_exit_prefs exlan = {.node_id = 2, .lan_access = true};
	struct rn_exit_plan p;
	struct rn_netmap m;

	(void)state;
	fx_map(&m);
	free(m.peers[1].lan_routes);
	m.peers[1].lan_routes = fx_prefixes(ten, 1);
	m.peers[1].n_lan_routes = 1;
	assert_int_equal(rn_exit_plan_make(&m, &exlan, "rn0", &p), 0);
	check_routes(&p, want, FX_N(want));
	assert_string_equal(p.routes[2].via, "server");
	rn_exit_plan_free(&p);
	rn_netmap_free(&m);
}

static size_t defaults_of(const struct rn_wg_peer_config *pc)
{
	size_t n = 0;

	for (size_t i = 0; i < pc->n_allowed_ips; i++)
		n += pc->allowed_ips[i].cidr == 0;
	return n;
}

static void test_peer_defaults(void **state)
{
	struct rn_wg_config plan = {0};
	struct rn_netmap m;

	(void)state;
	fx_map(&m);
	assert_int_equal(rn_apply_plan_peers(NULL, NULL, &m, &plan), 0);
	assert_int_equal(rn_exit_plan_peer_defaults(&plan, &m, 0), 0);
	for (size_t i = 0; i < plan.n_peers; i++)
		assert_int_equal(defaults_of(&plan.peers[i]), 0);
	assert_int_equal(rn_exit_plan_peer_defaults(&plan, &m, 2), 0);
	assert_int_equal(plan.peers[0].n_allowed_ips, 6); /* mesh /32 /128, 2 LAN, 2 defaults */
	assert_int_equal(defaults_of(&plan.peers[0]), 2);
	assert_int_not_equal(plan.peers[0].allowed_ips[4].family,
			     plan.peers[0].allowed_ips[5].family);
	/* Twice: still one of each. */
	assert_int_equal(rn_exit_plan_peer_defaults(&plan, &m, 2), 0);
	assert_int_equal(plan.peers[0].n_allowed_ips, 6);
	assert_int_equal(defaults_of(&plan.peers[1]) + defaults_of(&plan.peers[2]), 0);
	/* Not an exit (any more), or unknown: nobody gets the defaults. */
	assert_int_equal(rn_exit_plan_peer_defaults(&plan, &m, 3), 0);
	assert_int_equal(defaults_of(&plan.peers[1]), 0);
	rn_wg_config_free(&plan);
	m.peers[0].is_exit = false;
	assert_int_equal(rn_apply_plan_peers(NULL, NULL, &m, &plan), 0);
	assert_int_equal(rn_exit_plan_peer_defaults(&plan, &m, 2), 0);
	assert_int_equal(defaults_of(&plan.peers[0]), 0);
	rn_wg_config_free(&plan);
	rn_netmap_free(&m);
}

static void test_prefs(void **state)
{
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{\"version\":2,\"exit_node\":null,\"lan_access\":false}",
	    "{\"version\":1,\"exit_node\":null}",
	    "{\"version\":1,\"exit_node\":null,\"lan_access\":1}",
	    "{\"version\":1,\"exit_node\":{\"id\":0,\"name\":\"x\"},\"lan_access\":false}",
	    "{\"version\":1,\"exit_node\":{\"id\":3},\"lan_access\":false}",
	    "{\"version\":1,\"exit_node\":5,\"lan_access\":false}",
	    "{\"version\":1,\"version\":1,\"exit_node\":null,\"lan_access\":false}",
	};
	struct rn_exit_prefs p = {.node_id = 42, .name = "exit1", .lan_access = true}, q;
	char *text;

	(void)state;
	text = rn_exit_prefs_dump(&p);
	assert_non_null(text);
	assert_true(rn_exit_prefs_parse(text, strlen(text), &q));
	assert_int_equal(q.node_id, 42);
	assert_string_equal(q.name, "exit1");
	assert_true(q.lan_access);
	free(text);
	memset(&p, 0, sizeof(p));
	text = rn_exit_prefs_dump(&p);
	assert_true(rn_exit_prefs_parse(text, strlen(text), &q));
	assert_int_equal(q.node_id, 0);
	assert_false(q.lan_access);
	free(text);
	for (size_t i = 0; i < FX_N(bad); i++)
		if (rn_exit_prefs_parse(bad[i], strlen(bad[i]), &q))
			fail_msg("accepted %s", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_find),
	    cmocka_unit_test(test_plan),
	    cmocka_unit_test(test_plan_lan_equals_blocked),
	    cmocka_unit_test(test_peer_defaults),
	    cmocka_unit_test(test_prefs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
