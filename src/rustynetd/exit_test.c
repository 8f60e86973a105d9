/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the pure half of exit nodes and LAN access, on the netmap fixture (exit1 is an
 * exit with LAN routes 192.168.1.0/24 and fd00:1::/64; server and phone are not exits): finding
 * the exit by name or address, the rule/route plan for {nothing, exit, exit + LAN, LAN only},
 * the exit peer's default allowed IPs, exit.json.
 */
#include <arpa/inet.h>
#include <errno.h>
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
	static const char *const hits[] = { "exit1",	       "EXIT1",	     "exit1.rustynet",
					    "exit1.rustynet.", "100.64.0.2", "fd7a:115c:a1e0::2" };
	static const struct {
		const char *query, *says;
	} misses[] = {
		{ "server", "not an exit node" },
		{ "100.64.0.3", "not an exit node" },
		{ "laptop", "this node itself" },
		{ "100.64.0.1", "this node itself" },
		{ "nosuch", "no node \"nosuch\"" },
		{ "100.64.0.99", "no node" },
		{ "", "name an exit node" },
		{ "exit1.rustynet..", "no node" },
		{ "exit", "no node" },
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

static const char *rule_text(const struct rn_nl_rule *r, char *buf)
{
	char to[RN_IPADDR_STRLEN + 4] = "", dst[RN_IPADDR_STRLEN], mark[40] = "", supp[32] = "";

	if (r->dst.len)
		snprintf(to, sizeof(to), " to %s", rn_ipaddr_format_prefix(&r->dst, dst));
	if (r->fwmask)
		snprintf(mark, sizeof(mark), " fwmark 0x%x/0x%x", r->fwmark, r->fwmask);
	if (r->suppress)
		snprintf(supp, sizeof(supp), " suppress %u", r->suppress_prefixlen);
	snprintf(buf, 160, "%u%s%s%s lookup %u%s", r->priority, r->invert ? " not" : "", mark, to,
		 r->table, supp);
	return buf;
}

#define RULES4                                                                                     \
	"5200 fwmark 0x80000/0xff0000 lookup 254", "5210 to 10.0.0.0/8 lookup 254 suppress 7",     \
	    "5210 to 172.16.0.0/12 lookup 254 suppress 11",                                        \
	    "5210 to 192.168.0.0/16 lookup 254 suppress 15",                                       \
	    "5210 to 169.254.0.0/16 lookup 254 suppress 15",                                       \
	    "5210 to 100.64.0.0/10 lookup 254 suppress 9",                                         \
	    "5220 not fwmark 0x80000/0xff0000 lookup 5150"
#define RULES6                                                                                     \
	"5200 fwmark 0x80000/0xff0000 lookup 254", "5210 to fc00::/7 lookup 254 suppress 6",       \
	    "5210 to fe80::/10 lookup 254 suppress 9",                                             \
	    "5220 not fwmark 0x80000/0xff0000 lookup 5150"

/* The plan's rules, v4 then v6, are exactly RULES4 (and RULES6 with two families). */
static void check_rules(const struct rn_exit_plan *p, size_t n_families)
{
	static const char *const want[] = { RULES4, RULES6 };
	size_t n4 = 7, n = n_families == 2 ? FX_N(want) : n4;
	char buf[160];

	assert_int_equal(p->n_rules, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(p->rules[i].family, i < n4 ? AF_INET : AF_INET6);
		assert_string_equal(rule_text(&p->rules[i], buf), want[i]);
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
	static const char *const exit_only[] = { BLOCKED, DEFAULTS };
	static const char *const exit_lan[] = { LAN, BLOCKED, DEFAULTS };
	static const char *const lan_only[] = { LAN };
	struct rn_exit_prefs none = { 0 }, ex = { .node_id = 2 },
			     exlan = { .node_id = 2, .lan_access = 1 },
			     lan = { .lan_access = true };
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
	assert_true(rn_exit_plan_has_rule(&q, &p.rules[8]));
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
	static const char *const want[] = { " 192.168.1.0/24 rn0 t5150",
					    " fd00:1::/64 rn0 t5150",
					    " 10.0.0.0/8 rn0 t5150",
					    "unreachable 172.16.0.0/12  t5150",
					    "unreachable 192.168.0.0/16  t5150",
					    "unreachable 169.254.0.0/16  t5150",
					    "unreachable 100.64.0.0/10  t5150",
					    "unreachable fc00::/7  t5150",
					    "unreachable fe80::/10  t5150",
					    DEFAULTS };
	static const char *const ten[] = { "10.0.0.0/8" };
	struct rn_exit_prefs exlan = { .node_id = 2, .lan_access = true };
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

static bool covers(const struct rn_prefix *p, const struct rn_ip *a)
{
	for (unsigned i = 0; i < p->len; i++) {
		unsigned bit = 0x80u >> (i % 8);

		if ((p->addr.bytes[i / 8] & bit) != (a->bytes[i / 8] & bit))
			return false;
	}
	return p->addr.family == a->family;
}

/* The longest of routes[] (prefixes) holding a, or -1. */
static int longest(const char *const *routes, size_t n, const struct rn_ip *a)
{
	struct rn_prefix pre;
	int best = -1, best_len = -1;

	for (size_t i = 0; i < n; i++) {
		assert_true(rn_ipaddr_parse_prefix(routes[i], &pre));
		if (covers(&pre, a) && pre.len > best_len) {
			best = (int)i;
			best_len = pre.len;
		}
	}
	return best;
}

/*
 * A naive model of the kernel's policy routing (fib_rules_lookup): the plan's rules in order,
 * then main's own rule (32766); main holds main_routes, table 5150 the plan's routes. A rule's
 * suppress_prefixlength drops the longest match when it is that short or shorter. Says where
 * a packet to dst with mark goes: "main PREFIX", "5150 PREFIX", "5150 unreachable PREFIX".
 */
static const char *decide(const struct rn_exit_plan *p, const char *const *main_routes,
			  size_t n_main, const char *dst, uint32_t mark, char *buf)
{
	char pre[RN_IPADDR_STRLEN];
	struct rn_ip a;

	assert_true(rn_ipaddr_parse(dst, &a));
	for (size_t i = 0; i <= p->n_rules; i++) {
		const struct rn_nl_rule *r = i < p->n_rules ? &p->rules[i] : NULL;
		bool match = true;
		int k;

		if (r && r->family != a.family)
			continue;
		if (r && r->fwmask)
			match = (mark & r->fwmask) == r->fwmark;
		if (r && r->invert)
			match = !match;
		if (r && r->dst.len)
			match = match && covers(&r->dst, &a);
		if (!match)
			continue;
		if (r && r->table == RN_EXIT_TABLE) {
			const struct rn_exit_route *best = NULL;

			for (size_t j = 0; j < p->n_routes; j++)
				if (covers(&p->routes[j].route.dst, &a) &&
				    (!best || p->routes[j].route.dst.len > best->route.dst.len))
					best = &p->routes[j];
			if (!best)
				continue;
			snprintf(buf, 96, "5150 %s%s",
				 best->route.type == RTN_UNREACHABLE ? "unreachable " : "",
				 rn_ipaddr_format_prefix(&best->route.dst, pre));
			return buf;
		}
		k = longest(main_routes, n_main, &a);
		if (k < 0)
			continue;
		if (r && r->suppress) {
			struct rn_prefix got;

			assert_true(rn_ipaddr_parse_prefix(main_routes[k], &got));
			if (got.len <= r->suppress_prefixlen)
				continue;
		}
		snprintf(buf, 96, "main %s", main_routes[k]);
		return buf;
	}
	return "none";
}

/*
 * A hostile LAN's routes in main (a public-looking subnet: LocalNet; DHCP option 121's /1
 * routes: TunnelVision) never take an unmarked packet to a public address out of the tunnel,
 * nor to the exit's own endpoint (ServerIP); the user's LAN and the mesh still go by main, and
 * rustynetd's marked packets always do.
 */
static void test_plan_hostile_lan(void **state)
{
	static const char *const main_routes[] = {
		"0.0.0.0/0",	   "198.51.100.0/24", "203.0.113.0/24",	     "0.0.0.0/1",
		"128.0.0.0/1",	   "192.168.1.0/24",  "100.64.0.0/10",	     "::/0",
		"2001:db8:1::/64", "2000::/3",	      "fd7a:115c:a1e0::/48", "fe80::/64",
	};
	static const struct {
		const char *dst;
		uint32_t mark;
		const char *want;
	} cases[] = {
		{ "203.0.113.10", 0, "5150 0.0.0.0/0" },  /* LocalNet, TunnelVision */
		{ "8.8.8.8", 0, "5150 0.0.0.0/0" },	  /* TunnelVision's 0.0.0.0/1 */
		{ "198.51.100.11", 0, "5150 0.0.0.0/0" }, /* the exit's endpoint: ServerIP */
		{ "198.51.100.11", RN_EXIT_FWMARK, "main 198.51.100.0/24" }, /* WireGuard to it */
		{ "203.0.113.10", RN_EXIT_FWMARK | 0x3, "main 203.0.113.0/24" },
		{ "192.168.1.20", 0, "main 192.168.1.0/24" },		 /* the printer */
		{ "192.168.7.7", 0, "5150 unreachable 192.168.0.0/16" }, /* not via the /1 */
		{ "10.1.2.3", 0, "5150 unreachable 10.0.0.0/8" },
		{ "100.64.0.5", 0, "main 100.64.0.0/10" }, /* the mesh */
		{ "2001:db8:113::10", 0, "5150 ::/0" },
		{ "2001:db8:1::99", 0, "5150 ::/0" },
		{ "fd7a:115c:a1e0::3", 0, "main fd7a:115c:a1e0::/48" },
		{ "fe80::1", 0, "main fe80::/64" },
		{ "fd00:99::1", 0, "5150 unreachable fc00::/7" },
	};
	struct rn_exit_prefs ex = { .node_id = 2 };
	struct rn_exit_plan p;
	struct rn_netmap m;
	char buf[96];

	(void)state;
	fx_map(&m);
	assert_int_equal(rn_exit_plan_make(&m, &ex, "rn0", &p), 0);
	for (size_t i = 0; i < FX_N(cases); i++) {
		const char *got =
		    decide(&p, main_routes, FX_N(main_routes), cases[i].dst, cases[i].mark, buf);

		if (strcmp(got, cases[i].want))
			fail_msg("%s mark 0x%x: %s, want %s", cases[i].dst, cases[i].mark, got,
				 cases[i].want);
	}
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
	struct rn_wg_config plan = { 0 };
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
	struct rn_exit_prefs p = { .node_id = 42, .name = "exit1", .lan_access = true }, q;
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

static void test_mark_ruleset(void **state)
{
	char buf[RN_EXIT_MARK_RULESET_MAX];
	int n;

	(void)state;
	n = rn_exit_mark_ruleset(RN_EXIT_FWMARK, RN_EXIT_FWMASK, buf, sizeof(buf));
	assert_true(n > 0 && (size_t)n == strlen(buf));
	assert_non_null(strstr(buf, "hook postrouting priority mangle"));
	assert_non_null(strstr(buf, "meta mark and 0xff0000 == 0x80000 ct mark set meta mark\n"));
	assert_non_null(strstr(buf, "hook prerouting priority mangle"));
	assert_non_null(strstr(buf, "ct mark and 0xff0000 == 0x80000 meta mark set ct mark\n"));
	assert_int_equal(rn_exit_mark_ruleset(0, RN_EXIT_FWMASK, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(rn_exit_mark_ruleset(0x1000000, RN_EXIT_FWMASK, buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(rn_exit_mark_ruleset(RN_EXIT_FWMARK, RN_EXIT_FWMASK, buf, 40), -ENOSPC);
}

/*
 * Whether the exit answers: a recent handshake and no initiation unanswered past REKEY_TIMEOUT,
 * even when new tries (the path chooser's) restarted the retry count, or the data plane gave
 * up retrying (both leave handshake_attempts at 0).
 */
static void test_answers(void **state)
{
	struct rn_wg_peer_config run = { 0 };
	time_t now = 1800000000;

	(void)state;
	assert_false(rn_exit_answers(NULL, now));
	assert_false(rn_exit_answers(&run, now)); /* never a handshake */
	run.last_handshake.tv_sec = now - 30;
	assert_true(rn_exit_answers(&run, now));
	run.unanswered_ms = RN_EXIT_UNANSWERED_MS - 1; /* a rekey in flight */
	assert_true(rn_exit_answers(&run, now));
	run.unanswered_ms = 40000; /* dead for 40 s, retry count restarted */
	run.handshake_attempts = 0;
	assert_false(rn_exit_answers(&run, now));
	run.unanswered_ms = 0;
	run.last_handshake.tv_sec = now - RN_EXIT_REACHABLE_S - 1;
	assert_false(rn_exit_answers(&run, now));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_plan_lan_equals_blocked),
		cmocka_unit_test(test_plan_hostile_lan),
		cmocka_unit_test(test_peer_defaults),
		cmocka_unit_test(test_prefs),
		cmocka_unit_test(test_mark_ruleset),
		cmocka_unit_test(test_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
