/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the kill switch: its ruleset text (what it accepts, in which order, what it
 * refuses to quote), and, as root in a private network namespace, that nft accepts it, that it
 * drops a packet leaving by a physical interface while the tunnel's and marked ones pass, that
 * the forward and masquerade chains are in the kernel (read back with nft), and that
 * undo_all_but keeps it while every other group goes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "rustynetd/exit.h"
#include "rustynetd/killswitch.h"
#include "system/nft.h"
#include "system/system.h"
#include "system/testns.h"

/* The position of needle in hay; fails the test when absent. */
static size_t at(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	if (!p)
		fail_msg("\"%s\" not in the ruleset", needle);
	return (size_t)(p - hay);
}

static void test_ruleset_text(void **state)
{
	char buf[RN_KILLSWITCH_RULESET_MAX];
	size_t fwd, nat;
	int n;

	(void)state;
	n = rn_killswitch_ruleset("rustynet0", RN_EXIT_FWMARK, RN_EXIT_FWMASK, buf, sizeof(buf));
	assert_true(n > 0 && (size_t)n == strlen(buf));
	assert_true(rn_nft_body_ok(buf));
	at(buf, "type filter hook output priority filter; policy accept;\n");
	/* The output chain first, then forward, then the masquerade; each filter chain ends in
	 * one drop-everything-else. */
	fwd = at(buf, "chain forward {\n");
	nat = at(buf, "chain postrouting {\n");
	assert_true(at(buf, "chain output {\n") < fwd && fwd < nat);
	assert_int_equal(at(buf, "\tcounter drop\n}\nchain forward"),
			 fwd - strlen("\tcounter drop\n}\n"));
	assert_int_equal(at(buf + fwd, "\tcounter drop\n}\nchain postrouting") + fwd,
			 nat - strlen("\tcounter drop\n}\n"));
	/* forward: into and out of the tunnel, then no DNS, then only the local network. */
	at(buf + fwd, "type filter hook forward priority filter; policy accept;\n");
	assert_true(at(buf + fwd, "\toifname \"rustynet0\" accept\n") <
		    at(buf + fwd, "th dport { 53, 853 } counter drop\n"));
	assert_true(at(buf + fwd, "\tiifname \"rustynet0\" accept\n") <
		    at(buf + fwd, "th dport { 53, 853 } counter drop\n"));
	assert_true(at(buf + fwd, "th dport { 53, 853 }") < at(buf + fwd, "192.168.0.0/16"));
	assert_true(at(buf + fwd, "192.168.0.0/16") < nat - fwd);
	/* Forwarded traffic into the tunnel takes the node's mesh address; nothing else is NATed.
	 */
	at(buf + nat, "type nat hook postrouting priority srcnat; policy accept;\n"
		      "\toifname \"rustynet0\" fib saddr type != local masquerade\n}");
	assert_int_equal(at(buf, "masquerade"), nat + at(buf + nat, "masquerade"));
	assert_null(strstr(buf + nat + at(buf + nat, "masquerade") + 1, "masquerade"));
	/* What goes out before any drop: loopback, the marked sockets, the tunnel. */
	assert_true(at(buf, "oifname \"lo\" accept\n") < at(buf, "drop"));
	assert_true(at(buf, "meta mark and 0xff0000 == 0x80000 accept\n") < at(buf, "drop"));
	assert_true(at(buf, "oifname \"rustynet0\" accept\n") < at(buf, "drop"));
	/* DNS dropped before any local-network allowance can accept it. */
	assert_true(at(buf, "th dport { 53, 853 } counter drop\n") < at(buf, "ip daddr @allow4"));
	assert_true(at(buf, "th dport { 53, 853 }") < at(buf, "192.168.0.0/16"));
	assert_true(at(buf, "th dport { 53, 853 }") < at(buf, "fe80::/10"));
	assert_true(at(buf, "th dport { 53, 853 }") < at(buf, "nd-neighbor-solicit"));
	at(buf, "set allow4 {\n\ttype ipv4_addr\n\tflags interval\n}");
	at(buf, "set allow6 {\n\ttype ipv6_addr\n\tflags interval\n}");
	/* Never a public range, never a default. */
	assert_null(strstr(buf, "0.0.0.0/0"));
	assert_null(strstr(buf, "::/0"));
	assert_null(strstr(buf, "203.0.113"));
	assert_null(strstr(buf, "oifname != "));
}

static void test_ruleset_refuses(void **state)
{
	char buf[RN_KILLSWITCH_RULESET_MAX];

	(void)state;
	assert_int_equal(rn_killswitch_ruleset("rn\"0", 0x80000, 0xff0000, buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(rn_killswitch_ruleset("rn 0", 0x80000, 0xff0000, buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(rn_killswitch_ruleset("", 0x80000, 0xff0000, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(rn_killswitch_ruleset(NULL, 0x80000, 0xff0000, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(
	    rn_killswitch_ruleset("a-very-long-ifname0", 0x80000, 0xff0000, buf, sizeof(buf)),
	    -EINVAL);
	assert_int_equal(rn_killswitch_ruleset("rn0", 0, 0xff0000, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(rn_killswitch_ruleset("rn0", 0x80001, 0xff0000, buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(rn_killswitch_ruleset("rn0", 0x80000, 0xff0000, buf, 100), -ENOSPC);
}

#define PHYS_ADDR "203.0.113.1"
#define PHYS_PEER "203.0.113.10"
/* The same on IPv6: a public prefix on the local network, which the kill switch must drop too. */
#define PHYS6_ADDR "2001:db8:113::1"
#define PHYS6_PEER "2001:db8:113::10"

/* sendto() from a UDP socket with mark, to an IPv4 or IPv6 dst; 0 when the kernel let it out,
 * else -errno. */
static int send_udp(const char *dst, uint16_t port, int mark)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	bool v6 = strchr(dst, ':') != NULL;
	int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0), r = 0;

	assert_true(fd >= 0);
	if (v6)
		assert_int_equal(inet_pton(AF_INET6, dst, &s6.sin6_addr), 1);
	else
		assert_int_equal(inet_pton(AF_INET, dst, &sa.sin_addr), 1);
	if (mark)
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)), 0);
	if ((v6 ? sendto(fd, "x", 1, 0, (struct sockaddr *)&s6, sizeof(s6))
		: sendto(fd, "x", 1, 0, (struct sockaddr *)&sa, sizeof(sa))) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* The kernel holds the three base chains: `nft list table` reads them back. */
static void check_listed(void)
{
	static const char *const want[] = {
		"hook output priority filter; policy accept;",
		"hook forward priority filter; policy accept;",
		"oifname \"rn-tunnel0\" accept",
		"iifname \"rn-tunnel0\" accept",
		"hook postrouting priority srcnat; policy accept;",
		"oifname \"rn-tunnel0\" fib saddr type != local masquerade",
	};
	char text[8192];
	size_t n = 0;
	FILE *f = popen("nft list table " RN_KILLSWITCH_FAMILY " " RN_KILLSWITCH_TABLE, "r");

	assert_non_null(f);
	while (n < sizeof(text) - 1 && fgets(text + n, (int)(sizeof(text) - n), f))
		n += strlen(text + n);
	assert_int_equal(pclose(f), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(text, want[i]))
			fail_msg("nft list table: no \"%s\" in\n%s", want[i], text);
	/* Both filter chains end in their drop. */
	assert_non_null(strstr(strstr(text, "hook forward"), "counter packets"));
}

static void test_nft_accepts_and_drops(void **state)
{
	char buf[RN_KILLSWITCH_RULESET_MAX];
	struct rn_testns_sys f;
	struct rn_prefix lan;

	(void)state;
	rn_testns_sys_open(&f);
	/* A public-looking local network on the "physical" interface (TunnelCrack LocalNet). */
	assert_true(rn_ipaddr_parse_prefix(PHYS_ADDR "/24", &lan));
	assert_int_equal(rn_system_addr_add(f.sys, "other", RN_TESTNS_DEV, &lan), 0);
	assert_true(rn_ipaddr_parse_prefix(PHYS6_ADDR "/64", &lan));
	assert_int_equal(rn_system_addr_add(f.sys, "other", RN_TESTNS_DEV, &lan), 0);
	assert_true(rn_killswitch_ruleset("rn-tunnel0", RN_EXIT_FWMARK, RN_EXIT_FWMASK, buf,
					  sizeof(buf)) > 0);
	/* Before: a public address on the test device's subnet gets out. */
	assert_int_equal(send_udp(PHYS_PEER, 9, 0), 0);
	assert_int_equal(send_udp(PHYS6_PEER, 9, 0), 0);
	assert_int_equal(rn_system_nft_table_set(f.sys, RN_KILLSWITCH_GROUP, RN_KILLSWITCH_FAMILY,
						 RN_KILLSWITCH_TABLE, buf),
			 0);
	assert_int_equal(rn_nft_table_exists(RN_KILLSWITCH_FAMILY, RN_KILLSWITCH_TABLE), 1);
	check_listed();
	/* An nft drop in output is EPERM to the sender: nothing left. */
	assert_int_equal(send_udp(PHYS_PEER, 9, 0), -EPERM);
	assert_int_equal(send_udp(PHYS_PEER, 53, RN_EXIT_FWMARK | 0x1), 0);
	assert_int_equal(send_udp(PHYS_PEER, 9, 0x10000), -EPERM);
	assert_int_equal(send_udp("127.0.0.1", 9, 0), 0);
	/* IPv6 the same: dropped unless marked (scripts/mutate.sh: ks-ipv6-bypass). */
	assert_int_equal(send_udp(PHYS6_PEER, 9, 0), -EPERM);
	assert_int_equal(send_udp(PHYS6_PEER, 53, RN_EXIT_FWMARK | 0x1), 0);
	assert_int_equal(send_udp("::1", 9, 0), 0);
	/* Another group goes, the kill switch stays, in the kernel and the journal. */
	assert_int_equal(rn_system_undo_all_but(f.sys, RN_KILLSWITCH_GROUP), 0);
	assert_int_equal(rn_system_count(f.sys, "other"), 0);
	assert_int_equal(rn_system_count(f.sys, RN_KILLSWITCH_GROUP), 1);
	assert_int_equal(rn_nft_table_exists(RN_KILLSWITCH_FAMILY, RN_KILLSWITCH_TABLE), 1);
	assert_int_equal(rn_system_undo_all_but(f.sys, "bad group!"), -EINVAL);
	assert_int_equal(rn_system_undo_all(f.sys), 0);
	assert_int_equal(rn_nft_table_exists(RN_KILLSWITCH_FAMILY, RN_KILLSWITCH_TABLE), 0);
	assert_int_equal(send_udp("127.0.0.1", 9, 0), 0);
	rn_testns_sys_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ruleset_text),
		cmocka_unit_test(test_ruleset_refuses),
		cmocka_unit_test(test_nft_accepts_and_drops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
