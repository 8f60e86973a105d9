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

/* Points in time: UTC dates and times, durations back or ahead from now, nothing else. */
static void test_when(void **state)
{
	char err[160];
	int64_t t;

	(void)state;
	assert_true(rn_when_parse("2026-12-01", 5, -1, &t, err, sizeof(err)));
	assert_int_equal(t, 1796083200);
	assert_true(rn_when_parse("2026-12-01T08:00:00Z", 5, 1, &t, err, sizeof(err)));
	assert_int_equal(t, 1796083200 + 8 * 3600);
	assert_true(rn_when_parse("7d", 1000000, -1, &t, err, sizeof(err)));
	assert_int_equal(t, 1000000 - 7 * 86400);
	assert_true(rn_when_parse("30m", 1000000, 1, &t, err, sizeof(err)));
	assert_int_equal(t, 1000000 + 1800);
	assert_false(rn_when_parse("yesterday", 5, -1, &t, err, sizeof(err)));
	assert_non_null(strstr(err, "neither a duration"));
	assert_false(rn_when_parse("2026-12-01T08:00:00", 5, 1, &t, err, sizeof(err))); /* no Z */
	assert_false(rn_when_parse("2026-12-01 junk", 5, 1, &t, err, sizeof(err)));
	assert_false(rn_when_parse("", 5, 1, &t, err, sizeof(err)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_zero_message),
		cmocka_unit_test(test_when),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
