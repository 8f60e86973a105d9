/* SPDX-License-Identifier: MIT */
/*
 * For the unit tests of the store and what sits on it: a store in a fresh directory under /tmp,
 * and its removal. Failures are cmocka assertions, so the test that called them fails.
 */
#ifndef RN_CONTROL_STORE_TESTDIR_H
#define RN_CONTROL_STORE_TESTDIR_H

#include "control/store.h"

enum { RN_TEST_STORE_DIR_LEN = 64 };

/* Makes /tmp/rn-TAG-test.XXXXXX into dir and opens a store there into *out. */
void rn_test_store_open(char dir[RN_TEST_STORE_DIR_LEN], const char *tag, struct rn_store **out);

/* Closes store and removes dir with everything in it. */
void rn_test_store_remove(char dir[RN_TEST_STORE_DIR_LEN], struct rn_store *store);

#endif
