/* SPDX-License-Identifier: MIT */
/* The dns_records setting: what parses, what is refused, and the canonical text. */
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
		{ "printer.rustynet A 192.168.1.5", 0, "printer.rustynet A 192.168.1.5" },
		{ "Web.Example.COM. aaaa 2001:db8:0::80,db a 10.0.0.5", 0,
		  "web.example.com AAAA 2001:db8::80,db A 10.0.0.5" },
		{ "x A 192.168.1.5,x AAAA fd00::5", 0, "x A 192.168.1.5,x AAAA fd00::5" },
		{ "x A fd00::5", -EINVAL, NULL },	    /* A takes IPv4 */
		{ "x AAAA 192.168.1.5", -EINVAL, NULL },    /* AAAA takes IPv6 */
		{ "x CNAME 192.168.1.5", -EINVAL, NULL },   /* A or AAAA only */
		{ "x A 0.0.0.0", -EINVAL, NULL },	    /* not unicast */
		{ "x A 239.1.1.1", -EINVAL, NULL },	    /* multicast */
		{ "x AAAA ff02::1", -EINVAL, NULL },	    /* multicast */
		{ "-x A 192.168.1.5", -EINVAL, NULL },	    /* a label starts with - */
		{ "a..b A 192.168.1.5", -EINVAL, NULL },    /* an empty label */
		{ "a_b A 192.168.1.5", -EINVAL, NULL },	    /* not a hostname byte */
		{ "x A 192.168.1.5 extra", -EINVAL, NULL }, /* four words */
		{ "x A", -EINVAL, NULL },
		{ "x A 192.168.1.5,", -EINVAL, NULL },
		{ "x A 192.168.1.5,X A 192.168.1.5", -EINVAL, NULL }, /* twice, case aside */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rn_netmap_dns_record v[8];
		char err[160] = "", canon[1024];
		size_t n;
		int ret;

		print_message("case \"%s\"\n", cases[i].in);
		ret = rn_store_dns_records_parse(cases[i].in, v, 8, &n, err, sizeof(err));
		assert_int_equal(ret, cases[i].ret);
		if (ret) {
			assert_true(err[0] != '\0');
			continue;
		}
		rn_store_dns_records_format(v, n, canon, sizeof(canon));
		assert_string_equal(canon, cases[i].canon);
	}
}

/* A label of 64 bytes and a name of 254 are refused; the limit is the list's, not a crash. */
static void test_limits(void **state)
{
	struct rn_netmap_dns_record v[2], one;
	char name[300], err[160];
	size_t n;

	(void)state;
	memset(name, 'a', 64);
	name[64] = '\0';
	assert_int_equal(rn_store_dns_record_parse(name, "A", "192.0.2.1", &one, err, sizeof(err)),
			 -EINVAL);
	name[63] = '\0';
	assert_int_equal(rn_store_dns_record_parse(name, "A", "192.0.2.1", &one, err, sizeof(err)),
			 0);
	memset(name, 'a', 299);
	name[299] = '\0';
	for (size_t i = 63; i < 299; i += 64)
		name[i] = '.';
	assert_int_equal(rn_store_dns_record_parse(name, "A", "192.0.2.1", &one, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(rn_store_dns_records_parse("a A 192.0.2.1,b A 192.0.2.1,c A 192.0.2.1", v,
						    2, &n, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "at most 2"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
