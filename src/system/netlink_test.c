/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the rtnetlink client, each in a private network namespace (root; skipped
 * otherwise): addresses, routes of every type in custom tables, rules with fwmark and
 * suppress_prefixlength, all read back by dumps; the kernel's errors (-EEXIST, -ESRCH,
 * -ENOENT, -EADDRNOTAVAIL, -ENODEV) and extended-ack text; link settings; route lookups with
 * and without a firewall mark.
 */
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "system/netlink.h"
#include "system/testns.h"

#define DEV RN_TESTNS_DEV

static struct rn_prefix P(const char *s) {
	struct rn_prefix p;

	assert_true(rn_ipaddr_parse_prefix(s, &p));
	return p;
}

static struct rn_ip
IP(const char *s) {
	struct rn_ip ip;

	assert_true(rn_ipaddr_parse(s, &ip));
	return ip;
}

static size_t
count_addrs(struct rn_nl *nl, const struct rn_nl_addr *want)
{
	struct rn_nl_filter f = { .family = want->prefix.addr.family, .protocol = RN_RTPROT };
	struct rn_nl_addr *a;
	size_t n, hits = 0;

	assert_int_equal(rn_nl_addr_list(nl, &f, &a, &n), 0);
	for (size_t i = 0; i < n; i++)
		hits += rn_nl_addr_equal(&a[i], want) && a[i].protocol == RN_RTPROT;
	free(a);
	return hits;
}

static void test_addresses(void **state)
{
	struct rn_nl *nl = rn_testns_setup();
	struct rn_nl_addr v4 = { .dev = DEV, .prefix = P("10.1.1.1/24") };
	struct rn_nl_addr v6 = { .dev = DEV, .prefix = P("fd00:1::1/64") };

	(void)state;
	assert_int_equal(rn_nl_addr_add(nl, &v4), 0);
	assert_int_equal(rn_nl_addr_add(nl, &v6), 0);
	assert_int_equal(count_addrs(nl, &v4), 1);
	assert_int_equal(count_addrs(nl, &v6), 1);
	assert_int_equal(rn_nl_addr_add(nl, &v4), -EEXIST);
	assert_int_equal(rn_nl_addr_add(nl, &v6), -EEXIST);
	assert_int_equal(rn_nl_addr_del(nl, &v4), 0);
	assert_int_equal(rn_nl_addr_del(nl, &v6), 0);
	assert_int_equal(count_addrs(nl, &v4), 0);
	assert_int_equal(count_addrs(nl, &v6), 0);
	assert_int_equal(rn_nl_addr_del(nl, &v4), -EADDRNOTAVAIL);
	assert_int_equal(rn_nl_addr_del(nl, &v6), -EADDRNOTAVAIL);
	rn_nl_close(nl);
}

static const struct rn_nl_route *find_route(const struct rn_nl_route *r, size_t n, const char *dst)
{
	struct rn_prefix p = P(dst);

	for (size_t i = 0; i < n; i++)
		if (rn_ipaddr_prefix_equal(&r[i].dst, &p))
			return &r[i];
	return NULL;
}

static void test_routes_in_custom_tables(void **state)
{
	struct rn_nl *nl = rn_testns_setup();
	struct rn_nl_addr a = { .dev = DEV, .prefix = P("10.1.1.1/24") };
	struct rn_nl_route routes[] = {
		{ .dst = P("198.51.100.0/24"),
		  .table = 100,
		  .dev = DEV,
		  .gateway = IP("10.1.1.2"),
		  .metric = 10 },
		{ .dst = P("203.0.113.0/24"), .table = 100, .type = RTN_BLACKHOLE },
		{ .dst = P("192.0.2.0/24"), .table = 100, .type = RTN_UNREACHABLE },
		{ .dst = P("10.9.0.0/16"), .table = 100, .type = RTN_THROW },
		{ .dst = P("2001:db8:1::/48"), .table = 100, .dev = DEV },
		{ .dst = P("2001:db8:2::/48"), .table = 100, .type = RTN_BLACKHOLE },
		{ .dst = P("0.0.0.0/0"), .table = 51820, .dev = DEV }, /* > 255: RTA_TABLE only */
	};
	const size_t nroutes = sizeof(routes) / sizeof(routes[0]);
	struct rn_nl_filter ours = { .protocol = RN_RTPROT };
	const struct rn_nl_route *got;
	struct rn_nl_route *r;
	size_t n;

	(void)state;
	assert_int_equal(rn_nl_addr_add(nl, &a), 0);
	for (size_t i = 0; i < nroutes; i++)
		assert_int_equal(rn_nl_route_add(nl, &routes[i]), 0);
	assert_int_equal(rn_nl_route_add(nl, &routes[1]), -EEXIST);

	assert_int_equal(rn_nl_route_list(nl, &ours, &r, &n), 0);
	assert_int_equal(n, nroutes);
	got = find_route(r, n, "198.51.100.0/24");
	assert_non_null(got);
	assert_int_equal(got->table, 100);
	assert_int_equal(got->type, RTN_UNICAST);
	assert_int_equal(got->metric, 10);
	assert_string_equal(got->dev, DEV);
	assert_true(rn_ipaddr_equal(&got->gateway, &routes[0].gateway));
	assert_int_equal(find_route(r, n, "203.0.113.0/24")->type, RTN_BLACKHOLE);
	assert_int_equal(find_route(r, n, "192.0.2.0/24")->type, RTN_UNREACHABLE);
	assert_int_equal(find_route(r, n, "10.9.0.0/16")->type, RTN_THROW);
	assert_int_equal(find_route(r, n, "2001:db8:2::/48")->type, RTN_BLACKHOLE);
	assert_int_equal(find_route(r, n, "0.0.0.0/0")->table, 51820);
	free(r);

	ours.table = 51820;
	assert_int_equal(rn_nl_route_list(nl, &ours, &r, &n), 0);
	assert_int_equal(n, 1);
	free(r);

	for (size_t i = 0; i < nroutes; i++)
		assert_int_equal(rn_nl_route_del(nl, &routes[i]), 0);
	ours.table = 0;
	assert_int_equal(rn_nl_route_list(nl, &ours, &r, &n), 0);
	assert_int_equal(n, 0);
	free(r);
	assert_int_equal(rn_nl_route_del(nl, &routes[1]), -ESRCH);
	rn_nl_close(nl);
}

/* A delete names our protocol, so a look-alike route someone else installed is left alone. */
static void test_route_delete_spares_others(void **state)
{
	struct rn_nl *nl = rn_testns_setup();
	struct rn_nl_route theirs = { .dst = P("203.0.113.0/24"),
				      .table = 7,
				      .type = RTN_BLACKHOLE,
				      .protocol = RTPROT_STATIC };
	struct rn_nl_route ours = theirs;
	struct rn_nl_route *r;
	size_t n;

	(void)state;
	ours.protocol = 0;
	assert_int_equal(rn_nl_route_add(nl, &theirs), 0);
	assert_int_equal(rn_nl_route_del(nl, &ours), -ESRCH);
	assert_int_equal(rn_nl_route_list(nl, &(struct rn_nl_filter){ .table = 7 }, &r, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].protocol, RTPROT_STATIC);
	free(r);
	rn_nl_close(nl);
}

static void test_rules(void **state)
{
	struct rn_nl *nl = rn_testns_setup();
	struct rn_nl_rule rules[] = {
		{ .family = AF_INET,
		  .priority = 5000,
		  .table = 51820,
		  .fwmark = 0xca6c,
		  .fwmask = 0xffffffff,
		  .invert = true },
		{ .family = AF_INET, .priority = 5001, .suppress = true, .suppress_prefixlen = 0 },
		{ .family = AF_INET6,
		  .priority = 5000,
		  .table = 100,
		  .fwmark = 0x10000,
		  .fwmask = 0xff0000 },
		/* "to PREFIX": same priority, told apart (and removed exactly) by the prefix */
		{ .family = AF_INET, .priority = 5001, .suppress = true, .suppress_prefixlen = 7 },
		{ .family = AF_INET, .priority = 5001, .suppress = true, .suppress_prefixlen = 15 },
		{ .family = AF_INET6, .priority = 5001, .suppress = true, .suppress_prefixlen = 6 },
	};
	const size_t n_rules = sizeof(rules) / sizeof(rules[0]);
	struct rn_nl_filter f = { .prio_min = 5000, .prio_max = 5001 };
	struct rn_nl_rule *r, want;
	size_t n;

	(void)state;
	assert_true(rn_ipaddr_parse_prefix("10.0.0.0/8", &rules[3].dst));
	assert_true(rn_ipaddr_parse_prefix("192.168.0.0/16", &rules[4].dst));
	assert_true(rn_ipaddr_parse_prefix("fc00::/7", &rules[5].dst));
	for (size_t i = 0; i < n_rules; i++)
		assert_int_equal(rn_nl_rule_add(nl, &rules[i]), 0);
	/* Without NLM_F_EXCL the kernel would add a second, identical rule. */
	assert_int_equal(rn_nl_rule_add(nl, &rules[0]), -EEXIST);

	assert_int_equal(rn_nl_rule_add(nl, &rules[4]), -EEXIST);

	assert_int_equal(rn_nl_rule_list(nl, &f, &r, &n), 0);
	assert_int_equal(n, n_rules);
	for (size_t i = 0; i < n_rules; i++) {
		bool found = false;

		want = rules[i];
		rn_nl_rule_normalize(&want);
		for (size_t k = 0; k < n; k++) {
			assert_int_equal(r[k].action, FR_ACT_TO_TBL);
			found |= rn_nl_rule_equal(&r[k], &want);
		}
		assert_true(found);
	}
	free(r);

	/* Deleting one prefix's rule leaves the other of the same priority. */
	assert_int_equal(rn_nl_rule_del(nl, &rules[3]), 0);
	assert_int_equal(rn_nl_rule_del(nl, &rules[3]), -ENOENT);
	assert_int_equal(rn_nl_rule_list(nl, &f, &r, &n), 0);
	assert_int_equal(n, n_rules - 1);
	free(r);
	for (size_t i = 0; i < n_rules; i++)
		if (i != 3)
			assert_int_equal(rn_nl_rule_del(nl, &rules[i]), 0);
	assert_int_equal(rn_nl_rule_list(nl, &f, &r, &n), 0);
	assert_int_equal(n, 0);
	free(r);
	assert_int_equal(rn_nl_rule_del(nl, &rules[0]), -ENOENT);
	rules[0].priority = 0; /* what makes removal exact is required */
	assert_int_equal(rn_nl_rule_add(nl, &rules[0]), -EINVAL);
	rn_nl_close(nl);
}

static void test_errors(void **state)
{
	struct rn_nl *nl = rn_testns_setup();
	struct rn_nl_route missing_dev = { .dst = P("198.51.100.0/24"), .dev = "nosuch0" };
	struct rn_nl_route host_bits = { .dst = P("198.51.100.1/24"), .dev = DEV };
	struct rn_nl_route v4_via_v6 = { .dst = P("198.51.100.0/24"), .gateway = IP("fd00::1") };
	struct rn_nl_addr bad_dev = { .dev = "nosuch0", .prefix = P("10.1.1.1/24") };

	(void)state;
	assert_int_equal(rn_nl_route_add(nl, &missing_dev), -ENODEV);
	assert_int_equal(rn_nl_addr_add(nl, &bad_dev), -ENODEV);
	assert_int_equal(rn_nl_route_add(nl, &v4_via_v6), -EINVAL);
	/* The kernel refuses this one itself, and says why. */
	assert_int_equal(rn_nl_route_add(nl, &host_bits), -EINVAL);
	assert_true(strlen(rn_nl_extack(nl)) > 0);
	/* A later success clears it. */
	assert_int_equal(rn_nl_link_set_up(nl, DEV, true), 0);
	assert_string_equal(rn_nl_extack(nl), "");
	rn_nl_close(nl);
}

static void test_links(void **state)
{
	struct rn_nl *nl = rn_testns_setup();
	struct rn_nl_link l, byindex;
	int index;

	(void)state;
	assert_int_equal(rn_nl_link_get(nl, DEV, &l), 0);
	assert_string_equal(l.name, DEV);
	assert_true(l.flags & IFF_UP);
	assert_int_equal(rn_nl_link_index(nl, DEV, &index), 0);
	assert_int_equal(index, l.index);
	assert_int_equal(rn_nl_link_get_index(nl, index, &byindex), 0);
	assert_string_equal(byindex.name, DEV);

	assert_int_equal(rn_nl_link_set_mtu(nl, DEV, 1280), 0);
	assert_int_equal(rn_nl_link_set_up(nl, DEV, false), 0);
	assert_int_equal(rn_nl_link_get(nl, DEV, &l), 0);
	assert_int_equal(l.mtu, 1280);
	assert_false(l.flags & IFF_UP);

	assert_int_equal(rn_nl_link_index(nl, "nosuch0", &index), -ENODEV);
	assert_int_equal(rn_nl_link_set_up(nl, "nosuch0", true), -ENODEV);
	assert_int_equal(rn_nl_link_index(nl, "a-name-far-too-long", &index), -EINVAL);
	assert_int_equal(rn_nl_link_del(nl, DEV), 0);
	assert_int_equal(rn_nl_link_index(nl, DEV, &index), -ENODEV);
	rn_nl_close(nl);
}

/*
 * wg-quick's recipe: "not fwmark M lookup T" sends everything unmarked to table T (the
 * tunnel's default route); the tunnel's own marked packets fall through to main.
 */
static void setup_policy(struct rn_nl *nl)
{
	struct rn_nl_addr a4 = { .dev = DEV, .prefix = P("10.1.1.1/24") };
	struct rn_nl_addr a6 = { .dev = DEV, .prefix = P("fd00:1::1/64") };
	struct rn_nl_route main4 = { .dst = P("0.0.0.0/0"), .dev = DEV, .gateway = IP("10.1.1.2") };
	struct rn_nl_route tun4 = {
		.dst = P("0.0.0.0/0"), .table = 100, .dev = DEV, .gateway = IP("10.1.1.3")
	};
	struct rn_nl_route hole4 = { .dst = P("203.0.113.0/24"),
				     .table = 100,
				     .type = RTN_BLACKHOLE };
	struct rn_nl_route main6 = { .dst = P("::/0"), .dev = DEV, .gateway = IP("fd00:1::2") };
	struct rn_nl_route tun6 = {
		.dst = P("::/0"), .table = 100, .dev = DEV, .gateway = IP("fd00:1::3")
	};
	struct rn_nl_rule r4 = { .family = AF_INET,
				 .priority = 100,
				 .table = 100,
				 .fwmark = 0xca6c,
				 .fwmask = 0xffffffff,
				 .invert = true };
	struct rn_nl_rule r6 = r4;

	r6.family = AF_INET6;
	assert_int_equal(rn_nl_addr_add(nl, &a4), 0);
	assert_int_equal(rn_nl_addr_add(nl, &a6), 0);
	assert_int_equal(rn_nl_route_add(nl, &main4), 0);
	assert_int_equal(rn_nl_route_add(nl, &tun4), 0);
	assert_int_equal(rn_nl_route_add(nl, &hole4), 0);
	assert_int_equal(rn_nl_route_add(nl, &main6), 0);
	assert_int_equal(rn_nl_route_add(nl, &tun6), 0);
	assert_int_equal(rn_nl_rule_add(nl, &r4), 0);
	assert_int_equal(rn_nl_rule_add(nl, &r6), 0);
}

static void expect_via(struct rn_nl *nl, const char *dst, uint32_t mark, const char *gw,
		       uint32_t table)
{
	struct rn_nl_route_info info;
	struct rn_ip want = IP(gw), to = IP(dst);

	assert_int_equal(rn_nl_route_get(nl, &to, mark, &info), 0);
	assert_int_equal(info.type, RTN_UNICAST);
	assert_string_equal(info.dev, DEV);
	assert_true(rn_ipaddr_equal(&info.gateway, &want));
	assert_int_equal(info.table, table);
}

static void test_route_get_with_and_without_mark(void **state)
{
	struct rn_nl *nl = rn_testns_setup();
	struct rn_nl_route_info info;
	struct rn_ip dst = IP("198.51.100.7"), src = IP("10.1.1.1");

	(void)state;
	assert_int_equal(rn_nl_route_get(nl, &dst, 0, &info), -ENETUNREACH);
	setup_policy(nl);
	expect_via(nl, "198.51.100.7", 0, "10.1.1.3", 100);
	expect_via(nl, "198.51.100.7", 0xca6c, "10.1.1.2", RT_TABLE_MAIN);
	expect_via(nl, "2001:db8::7", 0, "fd00:1::3", 100);
	expect_via(nl, "2001:db8::7", 0xca6c, "fd00:1::2", RT_TABLE_MAIN);
	expect_via(nl, "203.0.113.9", 0xca6c, "10.1.1.2", RT_TABLE_MAIN);
	/* The kernel answers a lookup that ends in a blackhole route with EINVAL. */
	dst = IP("203.0.113.9");
	assert_int_equal(rn_nl_route_get(nl, &dst, 0, &info), -EINVAL);
	/* On-link: no gateway, and the source address the kernel would use. */
	dst = IP("10.1.1.9");
	assert_int_equal(rn_nl_route_get(nl, &dst, 0xca6c, &info), 0);
	assert_int_equal(info.gateway.family, AF_UNSPEC);
	assert_true(rn_ipaddr_equal(&info.prefsrc, &src));
	rn_nl_close(nl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_routes_in_custom_tables),
		cmocka_unit_test(test_route_delete_spares_others),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_route_get_with_and_without_mark),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
