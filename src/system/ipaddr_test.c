/* SPDX-License-Identifier: MIT */
/* Unit tests for address and prefix text forms: round trips, and the inputs refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "system/ipaddr.h"

static void test_prefix_round_trip(void **state)
{
	static const struct {
		const char *in, *out;
		int family;
		unsigned int len;
	} cases[] = {
		{ "10.1.1.1/24", "10.1.1.1/24", AF_INET, 24 },
		{ "0.0.0.0/0", "0.0.0.0/0", AF_INET, 0 },
		{ "192.0.2.7", "192.0.2.7/32", AF_INET, 32 },
		{ "2001:db8::/32", "2001:db8::/32", AF_INET6, 32 },
		{ "2001:DB8:0:0::1/128", "2001:db8::1/128", AF_INET6, 128 },
		{ "::/0", "::/0", AF_INET6, 0 },
		{ "fd7a:115c:a1e0::1", "fd7a:115c:a1e0::1/128", AF_INET6, 128 },
	};
	char buf[RN_IPADDR_STRLEN];
	struct rn_prefix p;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_true(rn_ipaddr_parse_prefix(cases[i].in, &p));
		assert_int_equal(p.addr.family, cases[i].family);
		assert_int_equal(p.len, cases[i].len);
		assert_string_equal(rn_ipaddr_format_prefix(&p, buf), cases[i].out);
	}
}

static void test_prefix_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"/24",
		"10.1.1.1/",
		"10.1.1.1/33",
		"10.1.1.1/024",
		"10.1.1.1/+4",
		"10.1.1.1/2 4",
		"10.1.1/24",
		"::/129",
		"::/1000",
		"2001:db8::/-1",
		"host/8",
		"10.1.1.1/24/8",
		" 10.1.1.1/24",
		"1:2:3:4:5:6:7:8:9/64",
	};
	struct rn_prefix p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(rn_ipaddr_parse_prefix(bad[i], &p));
		assert_int_equal(p.addr.family, AF_UNSPEC);
	}
}

static void test_address(void **state)
{
	struct rn_ip a, b, none = { 0 };
	char buf[RN_IPADDR_STRLEN];

	(void)state;
	assert_true(rn_ipaddr_parse("198.51.100.1", &a));
	assert_string_equal(rn_ipaddr_format(&a, buf), "198.51.100.1");
	assert_false(rn_ipaddr_parse("198.51.100.1/32", &b));
	assert_false(rn_ipaddr_parse("", &b));
	assert_string_equal(rn_ipaddr_format(&none, buf), "");
	assert_int_equal(rn_ipaddr_size(AF_INET), 4);
	assert_int_equal(rn_ipaddr_size(AF_INET6), 16);
	assert_int_equal(rn_ipaddr_size(AF_UNSPEC), 0);
}

static void test_equal_ignores_unused_bytes(void **state)
{
	struct rn_ip a, b;
	struct rn_prefix p, q;

	(void)state;
	assert_true(rn_ipaddr_parse("10.0.0.1", &a));
	b = a;
	b.bytes[12] = 0xff; /* past the 4 bytes an IPv4 address uses */
	assert_true(rn_ipaddr_equal(&a, &b));
	assert_true(rn_ipaddr_parse("::a00:1", &b)); /* same bytes, other family */
	assert_false(rn_ipaddr_equal(&a, &b));
	assert_true(rn_ipaddr_parse_prefix("10.0.0.1/8", &p));
	assert_true(rn_ipaddr_parse_prefix("10.0.0.1/9", &q));
	assert_false(rn_ipaddr_prefix_equal(&p, &q));
	q.len = 8;
	assert_true(rn_ipaddr_prefix_equal(&p, &q));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_round_trip),
		cmocka_unit_test(test_prefix_refused),
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_equal_ignores_unused_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
