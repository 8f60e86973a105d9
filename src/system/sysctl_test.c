/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for sysctl access: key-to-path mapping and the keys refused (no privileges), then
 * reads and writes of net.ipv4.ip_forward in a private network namespace (root), which leaves
 * the host's value alone.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "system/sysctl.h"
#include "system/testns.h"

static void test_paths(void **state)
{
	static const struct {
		const char *key, *path;
	} ok[] = {
		{ "net.ipv4.ip_forward", "/proc/sys/net/ipv4/ip_forward" },
		{ "net.ipv6.conf.all.forwarding", "/proc/sys/net/ipv6/conf/all/forwarding" },
		{ "net.ipv4.conf.rustynet0.src_valid_mark",
		  "/proc/sys/net/ipv4/conf/rustynet0/src_valid_mark" },
		{ "net.ipv4.conf.eth0/100.rp_filter",
		  "/proc/sys/net/ipv4/conf/eth0.100/rp_filter" },
	};
	char path[256];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(rn_sysctl_path(ok[i].key, path, sizeof(path)), 0);
		assert_string_equal(path, ok[i].path);
	}
}

static void test_bad_keys(void **state)
{
	static const char *const bad[] = {
		"",
		".net.ipv4",
		"net.ipv4.",
		"net..ipv4",
		"net.//.x",
		"//.etc.shadow",
		"net./",
		"net.ipv4.ip forward",
		"net.ipv4.ip_forward\n",
		"net.*",
		"net.ipv4.conf.$(x).a",
	};
	char path[256], longkey[RN_SYSCTL_KEY_MAX + 8];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rn_sysctl_path(bad[i], path, sizeof(path)), -EINVAL);
	memset(longkey, 'a', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	assert_int_equal(rn_sysctl_path(longkey, path, sizeof(path)), -EINVAL);
	assert_int_equal(rn_sysctl_path("net.ipv4.ip_forward", path, 10), -EINVAL);
}

static void test_ip_forward_write_returns_previous(void **state)
{
	struct rn_nl *nl = rn_testns_setup();
	char v[RN_SYSCTL_VALUE_MAX], prev[RN_SYSCTL_VALUE_MAX];

	(void)state;
	assert_int_equal(rn_sysctl_read("net.ipv4.ip_forward", v, sizeof(v)), 0);
	assert_string_equal(v, "0");
	assert_int_equal(rn_sysctl_write("net.ipv4.ip_forward", "1", prev, sizeof(prev)), 0);
	assert_string_equal(prev, "0");
	assert_int_equal(rn_sysctl_read("net.ipv4.ip_forward", v, sizeof(v)), 0);
	assert_string_equal(v, "1");
	assert_int_equal(rn_sysctl_write("net.ipv4.ip_forward", "0", prev, sizeof(prev)), 0);
	assert_string_equal(prev, "1");
	/* Per-interface keys exist for interfaces of this namespace only. */
	assert_int_equal(rn_sysctl_write("net.ipv4.conf." RN_TESTNS_DEV ".src_valid_mark", "1",
					 prev, sizeof(prev)),
			 0);
	assert_string_equal(prev, "0");
	rn_nl_close(nl);
}

static void test_missing_and_bad_values(void **state)
{
	struct rn_nl *nl = rn_testns_setup();
	char v[RN_SYSCTL_VALUE_MAX];

	(void)state;
	assert_int_equal(rn_sysctl_read("net.ipv4.conf.nosuch0.forwarding", v, sizeof(v)), -ENOENT);
	assert_int_equal(rn_sysctl_write("net.ipv4.conf.nosuch0.forwarding", "1", v, sizeof(v)),
			 -ENOENT);
	assert_int_equal(rn_sysctl_write("net.ipv4.ip_forward", "", NULL, 0), -EINVAL);
	assert_int_equal(rn_sysctl_write("net.ipv4.ip_forward", "1\n0", NULL, 0), -EINVAL);
	assert_int_equal(rn_sysctl_write("net.ipv4.ip_forward", "banana", NULL, 0), -EINVAL);
	/* A buffer too small for the value is refused, not filled with half of it. */
	assert_int_equal(rn_sysctl_read("net.ipv4.ip_local_port_range", v, 4), -EOVERFLOW);
	rn_nl_close(nl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_bad_keys),
		cmocka_unit_test(test_ip_forward_write_returns_previous),
		cmocka_unit_test(test_missing_and_bad_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
