/* SPDX-License-Identifier: MIT */
/* The stun_servers setting: what parses, what is refused, the canonical text, and the store
 * refusing a bad value while keeping the old one (and auditing only changes made). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/store.h"
#include "control/store_testdir.h"

static void test_table(void **state)
{
	static const struct {
		const char *in;
		int ret;
		const char *canon; /* when ret == 0; else a piece of the error */
	} cases[] = {
		{ "", 0, "" },
		{ "198.51.100.7:3478", 0, "198.51.100.7:3478" },
		{ "198.51.100.7:3478,[2001:db8:0::7]:3479", 0,
		  "198.51.100.7:3478,[2001:db8::7]:3479" },
		{ "198.51.100.7", -EINVAL, "\"198.51.100.7\" is not IP:PORT" },
		{ "198.51.100.7:0", -EINVAL, "the port must be 1-65535" },
		{ "198.51.100.7:65536", -EINVAL, "the port must be 1-65535" },
		{ "198.51.100.7:03478", -EINVAL, "is not IP:PORT" },
		{ "2001:db8::7:3478", -EINVAL, "[IP]:PORT (IPv6)" },
		{ "stun.example:3478", -EINVAL, "is not IP:PORT" },
		{ "0.0.0.0:3478", -EINVAL, "is not a unicast address" },
		{ "224.0.0.1:3478", -EINVAL, "is not a unicast address" },
		{ "255.255.255.255:3478", -EINVAL, "is not a unicast address" },
		{ "[::]:3478", -EINVAL, "is not a unicast address" },
		{ "[ff02::1]:3478", -EINVAL, "is not a unicast address" },
		{ "127.0.0.1:3478", -EINVAL, "loopback" },
		{ "[::1]:3478", -EINVAL, "loopback" },
		{ "[::ffff:198.51.100.7]:3478", -EINVAL, "IPv4-mapped" },
		{ "169.254.1.1:3478", -EINVAL, "link-local" },
		{ "[fe80::1]:3478", -EINVAL, "link-local" },
		{ "[fec0::1]:3478", 0, "[fec0::1]:3478" },
		{ "198.51.100.7:3478,", -EINVAL, "trailing comma" },
		{ ",198.51.100.7:3478", -EINVAL, "\"\" is not" },
		{ "198.51.100.7:3478,198.51.100.7:3478", -EINVAL, "named twice" },
		{ "198.51.100.7:3478,198.51.100.7:3479", 0, "198.51.100.7:3478,198.51.100.7:3479" },
		{ "198.51.100.7:3478 ", -EINVAL, "is not IP:PORT" },
		{ "192.0.2.1:1,192.0.2.2:1,192.0.2.3:1,192.0.2.4:1,192.0.2.5:1,192.0.2.6:1", 0,
		  "192.0.2.1:1,192.0.2.2:1,192.0.2.3:1,192.0.2.4:1,192.0.2.5:1,192.0.2.6:1" },
		{ "192.0.2.1:1,192.0.2.2:1,192.0.2.3:1,192.0.2.4:1,192.0.2.5:1,192.0.2.6:1,"
		  "192.0.2.7:1",
		  -EINVAL, "at most 6 STUN servers" },
	};
	(void)state;
	assert_int_equal(RN_STORE_STUN_SERVERS_MAX, 6);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		union rn_netmap_endpoint eps[RN_STORE_STUN_SERVERS_MAX];
		char err[160] = "", canon[RN_STORE_STUN_SERVERS_TEXT_MAX];
		size_t n;
		int ret;

		print_message("case \"%s\"\n", cases[i].in);
		ret = rn_store_stun_servers_parse(cases[i].in, eps, RN_STORE_STUN_SERVERS_MAX, &n,
						  err, sizeof(err));
		assert_int_equal(ret, cases[i].ret);
		if (ret) {
			print_message("  -> %s\n", err);
			assert_non_null(strstr(err, cases[i].canon));
			continue;
		}
		rn_store_stun_servers_format(eps, n, canon, sizeof(canon));
		assert_string_equal(canon, cases[i].canon);
	}
}

static size_t audit_rows(struct rn_store *store)
{
	struct rn_store_audit *rows = NULL;
	size_t n = 0;

	assert_int_equal(rn_store_audit_list(store, 0, 1000, &rows, &n), 0);
	rn_store_audit_list_free(rows, n);
	return n;
}

/* The store takes only canonical, valid text; a refused value changes nothing. */
static void test_store(void **state)
{
	char dir[RN_TEST_STORE_DIR_LEN], text[RN_STORE_STUN_SERVERS_TEXT_MAX];
	struct rn_store *store;
	size_t rows;

	(void)state;
	rn_test_store_open(dir, "stun", &store);
	assert_int_equal(rn_store_setting_get(store, "stun_servers", text, sizeof(text)), -ENOENT);
	rows = audit_rows(store);
	assert_int_equal(rn_store_setting_set(store, "admin:t", "stun_servers",
					      "198.51.100.7:3478,[2001:db8::7]:3478", 10),
			 0);
	assert_int_equal(audit_rows(store), rows + 1);
	assert_int_equal(
	    rn_store_setting_set(store, "admin:t", "stun_servers", "127.0.0.1:3478", 11), -EINVAL);
	assert_int_equal(
	    rn_store_setting_set(store, "admin:t", "stun_servers", "[2001:db8:0::7]:3478", 11),
	    -EINVAL); /* not canonical */
	assert_int_equal(audit_rows(store), rows + 1);
	assert_int_equal(rn_store_setting_get(store, "stun_servers", text, sizeof(text)), 0);
	assert_string_equal(text, "198.51.100.7:3478,[2001:db8::7]:3478");
	assert_int_equal(rn_store_setting_set(store, "admin:t", "stun_servers", "", 12), 0);
	assert_int_equal(rn_store_setting_get(store, "stun_servers", text, sizeof(text)), 0);
	assert_string_equal(text, "");
	rn_test_store_remove(dir, store);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
