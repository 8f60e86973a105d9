/* SPDX-License-Identifier: MIT */
/*
 * The default-route watch: which route messages count (hand-made messages: default or not,
 * main table or another, by rtm_table or RTA_TABLE, ours or not, unicast or not, truncated),
 * and the kernel's own notifications in a private network namespace (root; skipped otherwise):
 * someone else's default route counts, a /24 and rustynetd's own default route do not.
 */
#include <linux/rtnetlink.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "system/netlink.h"
#include "system/routewatch.h"
#include "system/testns.h"

struct msg {
	struct nlmsghdr nlh;
	struct rtmsg rtm;
	struct rtattr rta;
	uint32_t table;
};

/* A route message; table_attr 0: no RTA_TABLE. */
static struct msg route(uint16_t type, uint8_t family, uint8_t dst_len, uint8_t table,
			uint32_t table_attr, uint8_t proto, uint8_t rtype)
{
	struct msg m;

	memset(&m, 0, sizeof(m));
	m.nlh.nlmsg_type = type;
	m.nlh.nlmsg_len = table_attr ? sizeof(m) : NLMSG_LENGTH(sizeof(m.rtm));
	m.rtm.rtm_family = family;
	m.rtm.rtm_dst_len = dst_len;
	m.rtm.rtm_table = table;
	m.rtm.rtm_protocol = proto;
	m.rtm.rtm_type = rtype;
	m.rta.rta_type = RTA_TABLE;
	m.rta.rta_len = RTA_LENGTH(sizeof(uint32_t));
	m.table = table_attr;
	return m;
}

static bool says(struct msg m)
{
	return rn_routewatch_says_default(&m, m.nlh.nlmsg_len);
}

static void test_which_count(void **state)
{
	const uint8_t MAIN = RT_TABLE_MAIN, U = RTN_UNICAST, BOOT = RTPROT_BOOT;
	struct msg m;

	(void)state;
	assert_true(says(route(RTM_NEWROUTE, AF_INET, 0, MAIN, 0, BOOT, U)));
	assert_true(says(route(RTM_DELROUTE, AF_INET, 0, MAIN, 0, BOOT, U)));
	assert_true(says(route(RTM_NEWROUTE, AF_INET6, 0, MAIN, MAIN, RTPROT_RA, U)));
	assert_false(says(route(RTM_NEWROUTE, AF_INET, 24, MAIN, 0, BOOT, U)));	 /* not default */
	assert_false(says(route(RTM_NEWROUTE, AF_INET, 0, 100, 0, BOOT, U)));	 /* other table */
	assert_false(says(route(RTM_NEWROUTE, AF_INET, 0, 252, 5150, BOOT, U))); /* RTA_TABLE */
	assert_false(says(route(RTM_NEWROUTE, AF_INET, 0, MAIN, 0, RN_RTPROT, U))); /* ours */
	assert_false(says(route(RTM_NEWROUTE, AF_INET, 0, MAIN, 0, BOOT, RTN_BLACKHOLE)));
	assert_false(says(route(RTM_NEWROUTE, AF_INET, 0, RT_TABLE_LOCAL, 0, BOOT, RTN_LOCAL)));
	assert_false(says(route(RTM_NEWADDR, AF_INET, 0, MAIN, 0, BOOT, U)));
	m = route(RTM_NEWROUTE, AF_INET, 0, MAIN, 0, BOOT, U);
	m.nlh.nlmsg_len = NLMSG_LENGTH(sizeof(m.rtm) - 1); /* truncated rtmsg */
	assert_false(rn_routewatch_says_default(&m, sizeof(m)));
	m = route(RTM_NEWROUTE, AF_INET, 0, MAIN, 0, BOOT, U);
	assert_false(rn_routewatch_says_default(&m, sizeof(m.nlh) - 1)); /* truncated header */
}

static struct rn_prefix P(const char *s) {
	struct rn_prefix p;

	assert_true(rn_ipaddr_parse_prefix(s, &p));
	return p;
}

static void
test_kernel_notifications(void **state)
{
	struct rn_nl *nl = rn_testns_setup();
	struct rn_nl_addr a = { .dev = RN_TESTNS_DEV, .prefix = P("10.1.1.1/24") };
	struct rn_nl_route lan = { .dst = P("10.2.0.0/24"),
				   .dev = RN_TESTNS_DEV,
				   .protocol = RTPROT_STATIC };
	struct rn_nl_route dflt = { .dst = P("0.0.0.0/0"),
				    .dev = RN_TESTNS_DEV,
				    .protocol = RTPROT_STATIC };
	struct rn_nl_route ours = { .dst = P("0.0.0.0/0"), .dev = RN_TESTNS_DEV, .metric = 7 };
	int fd;

	(void)state;
	fd = rn_routewatch_open();
	assert_true(fd >= 0);
	assert_int_equal(rn_nl_addr_add(nl, &a), 0); /* its prefix route: not a default */
	assert_false(rn_routewatch_drain(fd));
	assert_int_equal(rn_nl_route_add(nl, &lan), 0);
	assert_false(rn_routewatch_drain(fd));
	assert_int_equal(rn_nl_route_add(nl, &ours), 0); /* rustynetd's own (RN_RTPROT) */
	assert_false(rn_routewatch_drain(fd));
	assert_int_equal(rn_nl_route_add(nl, &dflt), 0);
	assert_true(rn_routewatch_drain(fd));
	assert_false(rn_routewatch_drain(fd)); /* drained */
	assert_int_equal(rn_nl_route_del(nl, &dflt), 0);
	assert_true(rn_routewatch_drain(fd));
	close(fd);
	rn_nl_close(nl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_which_count),
		cmocka_unit_test(test_kernel_notifications),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
