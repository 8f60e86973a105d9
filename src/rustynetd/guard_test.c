/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the LAN-probe guard: its ruleset text (accepts before drops, exact addresses
 * per family, refusals), and, as root in a private network namespace, that nft accepts it,
 * that this host's own traffic to a guarded address (looped back) still passes, that re-setting
 * keeps one journal entry per table (inet and arp) and that undo removes both.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "rustynetd/guard.h"
#include "system/nft.h"
#include "system/system.h"
#include "system/testns.h"

static size_t at(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	if (!p)
		fail_msg("\"%s\" not in the ruleset", needle);
	return (size_t)(p - hay);
}

static struct rn_ip ip(const char *s)
{
	struct rn_ip a;

	assert_true(rn_ipaddr_parse(s, &a));
	return a;
}

static void test_ruleset_text(void **state)
{
	struct rn_ip addrs[] = { ip("100.64.0.1"),
				 ip("fd00:1::6440:1"),
				 ip("100.100.100.100"),
				 ip("fd00:1::53"),
				 { .family = AF_UNSPEC } };
	char buf[RN_GUARD_RULESET_MAX];
	int n;

	(void)state;
	n = rn_guard_ruleset("rustynet0", addrs, 5, buf, sizeof(buf));
	assert_true(n > 0 && (size_t)n == strlen(buf));
	assert_true(rn_nft_body_ok(buf));
	at(buf, "type filter hook input priority filter; policy accept;\n");
	assert_true(at(buf, "iifname \"lo\" accept\n") < at(buf, "drop"));
	assert_true(at(buf, "iifname \"rustynet0\" accept\n") < at(buf, "drop"));
	at(buf, "\tip daddr { 100.64.0.1, 100.100.100.100 } counter drop\n");
	at(buf, "\tip6 daddr { fd00:1::6440:1, fd00:1::53 } counter drop\n}");
	/* Never a range: a CGNAT underlay address in 100.64.0.0/10 must keep working. */
	assert_null(strstr(buf, "/"));
	assert_null(strstr(buf, "oifname"));
	/* One family only: no empty set for the other. */
	n = rn_guard_ruleset("rustynet0", addrs, 1, buf, sizeof(buf));
	assert_true(n > 0);
	assert_null(strstr(buf, "ip6"));
	assert_true(rn_nft_body_ok(buf));
}

static void test_arp_ruleset(void **state)
{
	struct rn_ip addrs[] = { ip("100.64.0.1"), ip("fd00:1::6440:1"), ip("100.100.100.100") };
	char buf[RN_GUARD_RULESET_MAX];
	int n;

	(void)state;
	n = rn_guard_arp_ruleset(addrs, 3, buf, sizeof(buf));
	assert_true(n > 0 && (size_t)n == strlen(buf));
	assert_true(rn_nft_body_ok(buf));
	at(buf, "\tarp operation request arp daddr ip { 100.64.0.1, 100.100.100.100 } counter "
		"drop\n}");
	assert_null(strstr(buf, "fd00"));
	assert_int_equal(rn_guard_arp_ruleset(addrs + 1, 1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(rn_guard_arp_ruleset(addrs, 1, buf, 30), -ENOSPC);
}

static void test_ruleset_refuses(void **state)
{
	struct rn_ip addrs[] = { ip("100.64.0.1"), { .family = AF_UNSPEC } };
	char buf[RN_GUARD_RULESET_MAX];

	(void)state;
	assert_int_equal(rn_guard_ruleset("rn\"0", addrs, 1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(rn_guard_ruleset(NULL, addrs, 1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(rn_guard_ruleset("rn0", addrs, 0, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(rn_guard_ruleset("rn0", addrs + 1, 1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(rn_guard_ruleset("rn0", addrs, 1, buf, 40), -ENOSPC);
}

/* A UDP datagram from this host to addr:port, received: true when it arrived. */
static bool loop_udp(const char *addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 1 };
	int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
	char c = 0;
	bool ok;

	assert_true(rx >= 0 && tx >= 0);
	assert_int_equal(inet_pton(AF_INET, addr, &sa.sin_addr), 1);
	assert_int_equal(bind(rx, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(sendto(tx, "x", 1, 0, (struct sockaddr *)&sa, sizeof(sa)), 1);
	ok = recv(rx, &c, 1, 0) == 1 && c == 'x';
	close(rx);
	close(tx);
	return ok;
}

static void test_nft_install_reset_undo(void **state)
{
	struct rn_ip addrs[] = { ip("100.64.0.1"), ip("fd00:1::6440:1") };
	char buf[RN_GUARD_RULESET_MAX];
	struct rn_testns_sys f;
	struct rn_prefix mesh;

	(void)state;
	rn_testns_sys_open(&f);
	assert_true(rn_ipaddr_parse_prefix("100.64.0.1/32", &mesh));
	assert_int_equal(rn_system_addr_add(f.sys, "other", RN_TESTNS_DEV, &mesh), 0);
	assert_true(rn_guard_ruleset("rn-tunnel0", addrs, 2, buf, sizeof(buf)) > 0);
	assert_int_equal(
	    rn_system_nft_table_set(f.sys, RN_GUARD_GROUP, RN_GUARD_FAMILY, RN_GUARD_TABLE, buf),
	    0);
	assert_int_equal(rn_nft_table_exists(RN_GUARD_FAMILY, RN_GUARD_TABLE), 1);
	/* This host's own traffic to the guarded address comes in by lo: it passes. */
	assert_true(loop_udp("100.64.0.1", 9999));
	assert_true(rn_guard_arp_ruleset(addrs, 2, buf, sizeof(buf)) > 0);
	assert_int_equal(rn_system_nft_table_set(f.sys, RN_GUARD_GROUP, RN_GUARD_ARP_FAMILY,
						 RN_GUARD_TABLE, buf),
			 0);
	assert_int_equal(rn_nft_table_exists(RN_GUARD_ARP_FAMILY, RN_GUARD_TABLE), 1);
	/* Re-set for other addresses: one transaction, one journal entry per table. */
	addrs[0] = ip("100.64.0.2");
	assert_true(rn_guard_ruleset("rn-tunnel0", addrs, 2, buf, sizeof(buf)) > 0);
	assert_int_equal(
	    rn_system_nft_table_set(f.sys, RN_GUARD_GROUP, RN_GUARD_FAMILY, RN_GUARD_TABLE, buf),
	    0);
	assert_int_equal(rn_system_count(f.sys, RN_GUARD_GROUP), 2);
	assert_int_equal(rn_system_undo_group(f.sys, RN_GUARD_GROUP), 0);
	assert_int_equal(rn_nft_table_exists(RN_GUARD_FAMILY, RN_GUARD_TABLE), 0);
	assert_int_equal(rn_nft_table_exists(RN_GUARD_ARP_FAMILY, RN_GUARD_TABLE), 0);
	assert_int_equal(rn_system_undo_all(f.sys), 0);
	rn_testns_sys_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ruleset_text),
		cmocka_unit_test(test_arp_ruleset),
		cmocka_unit_test(test_ruleset_refuses),
		cmocka_unit_test(test_nft_install_reset_undo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
