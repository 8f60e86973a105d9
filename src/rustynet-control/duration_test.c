/* SPDX-License-Identifier: MIT */
/* Table-driven tests of rn_duration_parse: the units, and every kind of refused input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rustynet-control/duration.h"

static const struct {
	const char *in;
	int64_t want; /* 0: refused */
} vectors[] = {
	{ "1s", 1 },
	{ "30m", 1800 },
	{ "12h", 43200 },
	{ "7d", 604800 },
	{ "1w", 604800 },
	{ "52w", 52 * 604800 },
	{ "3650d", 3650 * 86400 },
	{ "007d", 604800 },
	{ "0", 0 },
	{ "0d", 0 },
	{ "000h", 0 },
	{ "-1d", 0 },
	{ "+1d", 0 },
	{ "", 0 },
	{ "d", 0 },
	{ "7", 0 },
	{ "7x", 0 },
	{ "7D", 0 },
	{ "7dd", 0 },
	{ "7d1h", 0 },
	{ " 7d", 0 },
	{ "7d ", 0 },
	{ "1.5h", 0 },
	{ "7 d", 0 },
	{ "0x10s", 0 },
	{ "9999999999999999999999d", 0 },
	{ "3700d", 0 },
	{ "600w", 0 },
};

static void test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		char err[160] = "";
		int64_t got = -1;
		bool ok = rn_duration_parse(vectors[i].in, &got, err, sizeof(err));

		print_message("\"%s\" -> %d %lld %s\n", vectors[i].in, ok, (long long)got, err);
		assert_int_equal(ok, vectors[i].want != 0);
		assert_int_equal(got, vectors[i].want);
		if (!ok) {
			assert_non_null(strstr(err, "\""));
			assert_true(strlen(err) > 10);
		}
	}
}

static void test_zero_message(void **state)
{
	char err[160];
	int64_t got;

	(void)state;
	assert_false(rn_duration_parse("0d", &got, err, sizeof(err)));
	assert_non_null(strstr(err, "zero"));
	assert_false(rn_duration_parse("-3h", &got, err, sizeof(err)));
	assert_non_null(strstr(err, "\"-3h\""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_zero_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
