/* SPDX-License-Identifier: MIT */
/* Tests of the admin API tokens (store_token.c), each in a fresh state dir of its own. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "control/store.h"
#include "control/store_testdir.h"

struct fixture {
	char dir[RN_TEST_STORE_DIR_LEN];
	struct rn_store *store;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	rn_test_store_open(f->dir, "token", &f->store);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rn_test_store_remove(f->dir, f->store);
	free(f);
	return 0;
}

static void test_scope_names(void **state)
{
	enum rn_store_token_scope s;

	(void)state;
	assert_true(rn_store_token_scope_parse("read", &s) && s == RN_STORE_TOKEN_READ);
	assert_true(rn_store_token_scope_parse("write", &s) && s == RN_STORE_TOKEN_WRITE);
	assert_true(rn_store_token_scope_parse("keys", &s) && s == RN_STORE_TOKEN_KEYS);
	assert_false(rn_store_token_scope_parse("admin", &s));
	assert_false(rn_store_token_scope_parse("", &s));
	assert_false(rn_store_token_scope_parse("Read", &s));
	assert_string_equal(rn_store_token_scope_name(RN_STORE_TOKEN_KEYS), "keys");
}

/* Made, checked, listed without its secret, revoked and then refused; every change audited. */
static void test_lifecycle(void **state)
{
	struct fixture *f = *state;
	char secret[RN_STORE_TOKEN_SIZE], other[RN_STORE_TOKEN_SIZE];
	struct rn_store_token t, *list;
	struct rn_store_audit *rows;
	size_t n;
	int64_t id;

	assert_int_equal(rn_store_token_create(f->store, "admin:test", "ci", RN_STORE_TOKEN_WRITE,
					       0, 1000, secret, &id),
			 0);
	assert_int_equal(strlen(secret), RN_STORE_TOKEN_SIZE - 1);
	assert_memory_equal(secret, "rnadm_", 6);
	assert_int_equal(rn_store_token_check(f->store, secret, 1001, &t), 0);
	assert_int_equal(t.id, id);
	assert_string_equal(t.name, "ci");
	assert_int_equal(t.scope, RN_STORE_TOKEN_WRITE);
	assert_int_equal(t.last_used, 0); /* what the row held before this use */
	assert_int_equal(rn_store_token_list(f->store, &list, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].last_used, 1001);
	free(list);
	/* a second token gets another secret; names are unique */
	assert_int_equal(rn_store_token_create(f->store, "admin:test", "ro", RN_STORE_TOKEN_READ, 0,
					       1000, other, NULL),
			 0);
	assert_string_not_equal(secret, other);
	assert_int_equal(rn_store_token_create(f->store, "admin:test", "ro", RN_STORE_TOKEN_READ, 0,
					       1000, other, NULL),
			 -EEXIST);
	assert_int_equal(rn_store_token_revoke(f->store, "admin:test", "ci", 1100), 0);
	assert_int_equal(rn_store_token_revoke(f->store, "admin:test", "ci", 1100), -EALREADY);
	assert_int_equal(rn_store_token_revoke(f->store, "admin:test", "nope", 1100), -ENOENT);
	assert_int_equal(rn_store_token_check(f->store, secret, 1101, &t), -EACCES);
	assert_int_equal(t.id, 0);
	assert_int_equal(rn_store_token_check(f->store, other, 1101, &t), 0);
	assert_int_equal(rn_store_audit_list(f->store, 0, 100, &rows, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(rows[0].action, "token.create");
	assert_string_equal(rows[2].action, "token.revoke");
	for (size_t i = 0; i < n; i++) {
		assert_null(strstr(rows[i].details, secret + 6));
		assert_null(strstr(rows[i].details, other + 23));
	}
	rn_store_audit_list_free(rows, n);
}

static void test_expiry(void **state)
{
	struct fixture *f = *state;
	char secret[RN_STORE_TOKEN_SIZE];
	struct rn_store_token t;

	assert_int_equal(rn_store_token_create(f->store, "admin:test", "short", RN_STORE_TOKEN_READ,
					       1000, 1000, secret, NULL),
			 -EINVAL);
	assert_int_equal(rn_store_token_create(f->store, "admin:test", "short", RN_STORE_TOKEN_READ,
					       1010, 1000, secret, NULL),
			 0);
	assert_int_equal(rn_store_token_check(f->store, secret, 1009, &t), 0);
	assert_int_equal(rn_store_token_check(f->store, secret, 1010, &t), -EACCES);
	assert_non_null(strstr(rn_store_errmsg(f->store), "expired"));
}

/* Malformed, unknown and tampered secrets are all the same -EACCES; bad names refused. */
static void test_refused(void **state)
{
	struct fixture *f = *state;
	char secret[RN_STORE_TOKEN_SIZE], bad[RN_STORE_TOKEN_SIZE];
	struct rn_store_token t;

	assert_int_equal(rn_store_token_create(f->store, "admin:test", "a.b_c-1",
					       RN_STORE_TOKEN_KEYS, 0, 1000, secret, NULL),
			 0);
	assert_int_equal(rn_store_token_check(f->store, "", 1001, &t), -EACCES);
	assert_int_equal(rn_store_token_check(f->store, "rnadm_", 1001, &t), -EACCES);
	/* the same lookup id with another secret part: found, and refused by the hash */
	memcpy(bad, secret, sizeof(bad));
	bad[RN_STORE_TOKEN_SIZE - 3] = bad[RN_STORE_TOKEN_SIZE - 3] == 'A' ? 'B' : 'A';
	assert_int_equal(rn_store_token_check(f->store, bad, 1001, &t), -EACCES);
	assert_non_null(strstr(rn_store_errmsg(f->store), "unknown"));
	/* another lookup id with the right secret part */
	memcpy(bad, secret, sizeof(bad));
	bad[6] = bad[6] == '0' ? '1' : '0';
	assert_int_equal(rn_store_token_check(f->store, bad, 1001, &t), -EACCES);
	/* an uppercase lookup id is not the format */
	memcpy(bad, secret, sizeof(bad));
	bad[6] = 'A';
	assert_int_equal(rn_store_token_check(f->store, bad, 1001, &t), -EACCES);
	assert_int_equal(rn_store_token_check(f->store, secret, 1001, &t), 0);
	assert_int_equal(t.scope, RN_STORE_TOKEN_KEYS);
	assert_int_equal(rn_store_token_create(f->store, "admin:test", "", RN_STORE_TOKEN_READ, 0,
					       1000, secret, NULL),
			 -EINVAL);
	assert_int_equal(rn_store_token_create(f->store, "admin:test", "a b", RN_STORE_TOKEN_READ,
					       0, 1000, secret, NULL),
			 -EINVAL);
}

/* A schema-5 store gains the tokens table on open. */
static void test_migrate_v5(void **state)
{
	struct fixture *f = *state;
	char path[128], secret[RN_STORE_TOKEN_SIZE];
	sqlite3 *db;

	rn_store_close(f->store);
	snprintf(path, sizeof(path), "%s/control.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "DROP TABLE admin_tokens; "
				      "DELETE FROM schema_version WHERE version >= 6;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(rn_store_open(f->dir, &f->store), 0);
	assert_int_equal(rn_store_token_create(f->store, "admin:test", "after", RN_STORE_TOKEN_READ,
					       0, 1000, secret, NULL),
			 0);
}

/* The policy's optimistic concurrency: a write against an old revision changes nothing. */
static void test_policy_set_if(void **state)
{
	struct fixture *f = *state;
	char *text;
	int64_t rev;

	assert_int_equal(rn_store_policy_set_if(f->store, "token:a", "{}", 1, 1000), -ESTALE);
	assert_int_equal(rn_store_policy_set_if(f->store, "token:a", "{}", 0, 1000), 0);
	assert_int_equal(rn_store_policy_set_if(f->store, "token:b", "{\"b\":1}", 0, 1000),
			 -ESTALE);
	assert_int_equal(rn_store_policy_set_if(f->store, "token:a", "{\"a\":1}", 1, 1000), 0);
	assert_int_equal(rn_store_policy_get(f->store, &text, &rev), 0);
	assert_int_equal(rev, 2);
	assert_string_equal(text, "{\"a\":1}");
	free(text);
}

/* Pages newest first, bounded by time and id. */
static void test_audit_page(void **state)
{
	struct fixture *f = *state;
	struct rn_store_audit *rows;
	size_t n;

	for (int i = 0; i < 5; i++)
		assert_int_equal(
		    rn_store_setting_set(f->store, "admin:test", "domain", "net", 1000 + i), 0);
	assert_int_equal(rn_store_audit_page(f->store, 0, 0, 2, &rows, &n), 0);
	assert_int_equal(n, 2);
	assert_true(rows[0].id > rows[1].id && rows[0].time == 1004);
	rn_store_audit_list_free(rows, n);
	assert_int_equal(rn_store_audit_page(f->store, 0, 4, 10, &rows, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(rows[0].id, 3);
	rn_store_audit_list_free(rows, n);
	assert_int_equal(rn_store_audit_page(f->store, 1003, 0, 10, &rows, &n), 0);
	assert_int_equal(n, 2);
	rn_store_audit_list_free(rows, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scope_names),
		cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v5, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_set_if, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_page, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
