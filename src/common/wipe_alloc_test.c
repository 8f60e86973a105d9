/* SPDX-License-Identifier: MIT */
/* Unit tests for the zeroing allocator hooks: they behave as malloc's own for their callers. */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/wipe_alloc.h"

static void test_wipe_realloc(void **state)
{
	char *p = malloc(16), *q;

	(void)state;
	assert_non_null(p);
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): 16 bytes, not a string */
	memcpy(p, "0123456789abcdef", 16);
	/* grows: a new block holding the old bytes */
	q = rn_wipe_realloc(p, 4096);
	assert_non_null(q);
	assert_memory_equal(q, "0123456789abcdef", 16);
	assert_true(malloc_usable_size(q) >= 4096);
	/* shrinks or fits: the same block, untouched */
	assert_ptr_equal(rn_wipe_realloc(q, 8), q);
	assert_memory_equal(q, "01234567", 8);
	/* NULL is malloc; size 0 frees */
	p = rn_wipe_realloc(NULL, 32);
	assert_non_null(p);
	assert_null(rn_wipe_realloc(p, 0));
	rn_wipe_free(q);
	rn_wipe_free(NULL);
}

static void test_wipe_strdup(void **state)
{
	char *s = rn_wipe_strdup("rnk1.secret");

	(void)state;
	assert_string_equal(s, "rnk1.secret");
	rn_wipe_free(s);
	s = rn_wipe_strdup("");
	assert_string_equal(s, "");
	rn_wipe_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wipe_realloc),
		cmocka_unit_test(test_wipe_strdup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
