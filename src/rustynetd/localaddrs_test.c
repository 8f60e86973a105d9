/* SPDX-License-Identifier: MIT */
/* Unit tests for which of the host's addresses the packet filter treats as this node. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "rustynetd/localaddrs.h"

static struct rn_nl_addr addr(const char *prefix, uint8_t protocol)
{
	struct rn_nl_addr a = { .protocol = protocol };

	if (!rn_ipaddr_parse_prefix(prefix, &a.prefix))
		fail_msg("bad prefix in the test: %s", prefix);
	return a;
}

static void test_select(void **state)
{
	const struct rn_nl_addr in[] = {
		addr("198.51.100.7/24", 0),	       /* the exit's uplink */
		addr("2001:db8:1::7/64", 0),	       /* its global IPv6 */
		addr("192.168.1.1/24", 0),	       /* its LAN */
		addr("10.9.0.1/31", 0),		       /* point-to-point: no broadcast */
		addr("127.0.0.1/8", 0),		       /* loopback: left out */
		addr("::1/128", 0),		       /* loopback: left out */
		addr("100.64.0.1/32", RN_RTPROT),      /* the mesh address rustynetd installed */
		addr("100.100.100.100/32", RN_RTPROT), /* Magic DNS's, on lo */
		addr("fe80::1/64", 0),		       /* link-local: still the host */
		addr("198.51.100.7/24", 0),	       /* the same address twice: once */
	};
	static const char *const want[] = {
		"10.9.0.1/32",	     "192.168.1.0/32",	  "192.168.1.1/32",
		"192.168.1.255/32",  "198.51.100.0/32",	  "198.51.100.7/32",
		"198.51.100.255/32", "2001:db8:1::7/128", "fe80::1/128",
	};
	struct rn_filter_prefix out[2 * sizeof(in) / sizeof(in[0])];
	char text[RN_FILTER_PREFIX_STRLEN];
	size_t n;

	(void)state;
	n = rn_localaddrs_select(in, sizeof(in) / sizeof(in[0]), out);
	for (size_t i = 0; i < n; i++)
		printf("  %s\n", rn_filter_prefix_format(&out[i], text, sizeof(text)));
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++)
		assert_string_equal(rn_filter_prefix_format(&out[i], text, sizeof(text)), want[i]);
	assert_int_equal(rn_localaddrs_select(in, 0, out), 0);
	assert_int_equal(rn_localaddrs_select(&in[4], 1, out), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_select),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
