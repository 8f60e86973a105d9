/* SPDX-License-Identifier: MIT */
/* A store in a temp directory for unit tests (store_testdir.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "control/store_testdir.h"

void rn_test_store_open(char dir[RN_TEST_STORE_DIR_LEN], const char *tag, struct rn_store **out)
{
	int n = snprintf(dir, RN_TEST_STORE_DIR_LEN, "/tmp/rn-%s-test.XXXXXX", tag);

	assert_true(n > 0 && n < RN_TEST_STORE_DIR_LEN);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(rn_store_open(dir, out), 0);
}

void rn_test_store_remove(char dir[RN_TEST_STORE_DIR_LEN], struct rn_store *store)
{
	char cmd[RN_TEST_STORE_DIR_LEN + 16];

	rn_store_close(store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}
