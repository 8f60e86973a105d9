/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the router's nft ruleset text: what it masquerades and accepts, interface
 * names it refuses to quote, and that nft itself accepts it (in a private network namespace,
 * as root, through the system layer; skipped otherwise).
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

#include "rustynetd/daemon.h"
#include "rustynetd/router.h"
#include "system/nft.h"
#include "system/system.h"
#include "system/testns.h"

static struct rn_filter_prefix P(const char *s) {
	struct rn_filter_prefix p;

	assert_int_equal(rn_filter_prefix_parse(s, &p), 0);
	return p;
}

static void
test_ruleset_text(void **state)
{
	struct rn_filter_prefix m6 = P("fd7a:115c:a1e0::/48");
	char buf[RN_ROUTER_RULESET_MAX];
	int n;

	(void)state;
	n = rn_router_ruleset("rustynet0", &m6, buf, sizeof(buf));
	assert_true(n > 0 && (size_t)n == strlen(buf));
	assert_true(rn_nft_body_ok(buf));
	assert_non_null(strstr(buf, "type nat hook postrouting priority srcnat"));
	assert_non_null(
	    strstr(buf, "oifname != \"rustynet0\" ip saddr 100.64.0.0/10 masquerade\n"));
	assert_non_null(
	    strstr(buf, "oifname != \"rustynet0\" ip6 saddr fd7a:115c:a1e0::/48 masquerade\n"));
	assert_non_null(strstr(buf, "type filter hook forward priority filter; policy accept;"));
	assert_non_null(strstr(buf, "iifname \"rustynet0\" oifname != \"rustynet0\" accept\n"));
	assert_non_null(strstr(buf, "oifname \"rustynet0\" ct state established,related accept\n"));
	assert_null(strstr(buf, "drop"));
}

static void test_ruleset_refuses(void **state)
{
	struct rn_filter_prefix m6 = P("fd7a:115c:a1e0::/48"), m4 = P("100.64.0.0/10");
	char buf[RN_ROUTER_RULESET_MAX];

	(void)state;
	assert_int_equal(rn_router_ruleset("rn\"0", &m6, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(rn_router_ruleset("rn 0", &m6, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(rn_router_ruleset("", &m6, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(rn_router_ruleset("a-very-long-ifname0", &m6, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(rn_router_ruleset("rn0", &m4, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(rn_router_ruleset("rn0", NULL, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(rn_router_ruleset("rn0", &m6, buf, 100), -ENOSPC);
}

static void test_nft_accepts_it(void **state)
{
	struct rn_filter_prefix m6 = P("fd7a:115c:a1e0::/48");
	char buf[RN_ROUTER_RULESET_MAX];
	struct rn_testns_sys f;

	(void)state;
	rn_testns_sys_open(&f);
	assert_true(rn_router_ruleset(RN_TESTNS_DEV, &m6, buf, sizeof(buf)) > 0);
	assert_int_equal(
	    rn_system_nft_table_set(f.sys, RN_ROUTER_GROUP, RN_ROUTER_FAMILY, RN_ROUTER_TABLE, buf),
	    0);
	assert_int_equal(rn_nft_table_exists(RN_ROUTER_FAMILY, RN_ROUTER_TABLE), 1);
	assert_int_equal(rn_system_undo_all(f.sys), 0);
	assert_int_equal(rn_nft_table_exists(RN_ROUTER_FAMILY, RN_ROUTER_TABLE), 0);
	rn_testns_sys_close(&f);
}

/*
 * A map granting exit and two routes to a node that offers only one of the routes: the node
 * approves that route alone, refuses the rest, and says so in status. With no system layer,
 * nothing is installed either way.
 */
static void test_restrict_to_offer(void **state)
{
	struct rn_daemon *d = calloc(1, sizeof(*d));
	struct rn_netmap m = { .version = 7 };
	struct rn_filter_prefix lan = P("192.168.50.0/24");
	char *s;
	json_t *j;

	(void)state;
	assert_non_null(d);
	assert_int_equal(rn_advertise_add(&d->adv, &lan), 0);
	m.filter.exit = true;
	m.filter.routes = calloc(2, sizeof(*m.filter.routes));
	assert_non_null(m.filter.routes);
	m.filter.routes[0] = P("192.168.50.0/24");
	m.filter.routes[1] = P("192.168.60.0/24");
	m.filter.n_routes = 2;
	rn_router_restrict(d, &m);
	assert_false(m.filter.exit);
	assert_int_equal(m.filter.n_routes, 1);
	assert_false(d->router.approved_exit);
	assert_int_equal(d->router.n_approved_routes, 1);
	rn_router_apply(d, &m);
	assert_false(d->router.forwarding);
	j = rn_router_status(d);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"approved_exit\":false,\"approved_routes\":[\"192.168.50.0/24\"],"
			       "\"error\":null,\"forwarding\":false,\"refused_exit\":true,"
			       "\"refused_routes\":[\"192.168.60.0/24\"]}");
	free(s);
	json_decref(j);

	/* Offered in full: nothing refused. */
	d->adv.exit = true;
	m.filter.exit = true;
	rn_router_restrict(d, &m);
	assert_true(d->router.approved_exit);
	assert_false(rn_advertise_refused_any(&d->router.refused));
	rn_router_clear(d);
	assert_false(d->router.approved_exit);
	rn_filter_free(&m.filter);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ruleset_text),
		cmocka_unit_test(test_ruleset_refuses),
		cmocka_unit_test(test_nft_accepts_it),
		cmocka_unit_test(test_restrict_to_offer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
