/* SPDX-License-Identifier: MIT */
/* The dns_upstreams setting: what parses, what is refused, and the canonical text. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "control/store.h"

static void test_table(void **state)
{
	static const struct {
		const char *in;
		int ret;
		const char *canon; /* when ret == 0 */
	} cases[] = {
		{ "", 0, "" },
		{ "1.1.1.1", 0, "1.1.1.1" },
		{ "198.51.100.53,2001:db8:0::53", 0, "198.51.100.53,2001:db8::53" },
		{ "100.100.100.100", -EINVAL, NULL }, /* Magic DNS itself: a loop */
		{ "0.0.0.0", -EINVAL, NULL },
		{ "224.0.0.1", -EINVAL, NULL },
		{ "ff02::1", -EINVAL, NULL },
		{ "::", -EINVAL, NULL },
		{ "1.1.1.1,", -EINVAL, NULL },
		{ ",1.1.1.1", -EINVAL, NULL },
		{ "1.1.1.1,1.1.1.1", -EINVAL, NULL },
		{ "dns.example", -EINVAL, NULL },
		{ "1.1.1.1 ", -EINVAL, NULL },
		{ "1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,1.1.1.9",
		  -EINVAL, NULL },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rn_store_ip ips[RN_STORE_DNS_UPSTREAMS_MAX];
		char err[160] = "", canon[RN_STORE_DNS_UPSTREAMS_TEXT_MAX];
		size_t n;
		int ret;

		print_message("case \"%s\"\n", cases[i].in);
		ret = rn_store_dns_upstreams_parse(cases[i].in, ips, RN_STORE_DNS_UPSTREAMS_MAX, &n,
						   err, sizeof(err));
		assert_int_equal(ret, cases[i].ret);
		if (ret) {
			assert_true(err[0] != '\0');
			continue;
		}
		rn_store_dns_upstreams_format(ips, n, canon, sizeof(canon));
		assert_string_equal(canon, cases[i].canon);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
