/* SPDX-License-Identifier: MIT */
/*
 * rn_store_enroll: one transaction (a failed node insert leaves a single-use key unused), and no
 * takeover of another user's node by its public key (user, tags, routes, approvals and token
 * stay). Each test in a fresh state dir.
 */
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
	int64_t alice, bob;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	rn_test_store_open(f->dir, "enroll", &f->store);
	assert_int_equal(rn_store_user_add(f->store, "admin:test", "alice", 100, &f->alice), 0);
	assert_int_equal(rn_store_user_add(f->store, "admin:test", "bob", 100, &f->bob), 0);
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

/* Runs sql on the state dir's database through a connection of its own. */
static void sql(struct fixture *f, const char *text)
{
	char path[128];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/control.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, text, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void make_authkey(struct fixture *f, int64_t user, bool reusable, const char *tags,
			 char secret[RN_STORE_AUTHKEY_SECRET_SIZE])
{
	assert_int_equal(rn_store_authkey_create(f->store, "admin:test", user, reusable, 0, tags,
						 200, secret, NULL),
			 0);
}

static int do_enroll(struct fixture *f, const char *secret, const char *host,
		     const uint8_t key[RN_STORE_KEY_LEN], struct rn_store_node *out,
		     char token[RN_STORE_NODE_TOKEN_SIZE])
{
	struct rn_store_enrollment req = { .auth_key = secret,
					   .hostname = host,
					   .public_key = key };
	struct rn_store_authkey_use use;
	struct rn_store_node nd;
	char tok[RN_STORE_NODE_TOKEN_SIZE];
	int ret = rn_store_enroll(f->store, &req, 1000, &use, &nd, tok, NULL);

	if (!ret) {
		if (out)
			*out = nd;
		else
			rn_store_node_clear(&nd);
		if (token)
			memcpy(token, tok, sizeof(tok));
		rn_store_authkey_use_clear(&use);
	}
	return ret;
}

static void test_failed_insert_keeps_key(void **state)
{
	struct fixture *f = *state;
	char secret[RN_STORE_AUTHKEY_SECRET_SIZE];
	struct rn_store_authkey *keys;
	struct rn_store_node *nodes;
	uint8_t key[RN_STORE_KEY_LEN];
	size_t n;

	memset(key, 0x11, sizeof(key));
	make_authkey(f, f->alice, false, NULL, secret);
	/* the node's insert fails after the key was checked and marked used */
	sql(f, "CREATE TRIGGER no_nodes BEFORE INSERT ON nodes "
	       "BEGIN SELECT RAISE(ABORT, 'forced failure'); END");
	assert_int_not_equal(do_enroll(f, secret, "laptop", key, NULL, NULL), 0);
	assert_int_equal(rn_store_node_list(f->store, &nodes, &n), 0);
	assert_int_equal(n, 0);
	rn_store_node_list_free(nodes, n);
	assert_int_equal(rn_store_authkey_list(f->store, &keys, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(keys[0].used_count, 0);
	rn_store_authkey_list_free(keys, n);
	/* the single-use key still enrolls once the fault is gone, and only once */
	sql(f, "DROP TRIGGER no_nodes");
	assert_int_equal(do_enroll(f, secret, "laptop", key, NULL, NULL), 0);
	key[0] = 0x12;
	assert_int_equal(do_enroll(f, secret, "laptop2", key, NULL, NULL), -EKEYREJECTED);
}

static void test_no_takeover(void **state)
{
	struct fixture *f = *state;
	char ak_a[RN_STORE_AUTHKEY_SECRET_SIZE], ak_a2[RN_STORE_AUTHKEY_SECRET_SIZE];
	char ak_b[RN_STORE_AUTHKEY_SECRET_SIZE];
	char tok[RN_STORE_NODE_TOKEN_SIZE], tok2[RN_STORE_NODE_TOKEN_SIZE];
	struct rn_store_authkey *keys;
	struct rn_store_node a, now;
	uint8_t key[RN_STORE_KEY_LEN];
	size_t n;

	memset(key, 0x22, sizeof(key));
	make_authkey(f, f->alice, true, "[\"tag:server\"]", ak_a);
	make_authkey(f, f->bob, false, NULL, ak_b);
	assert_int_equal(do_enroll(f, ak_a, "nas", key, &a, tok), 0);
	assert_int_equal(
	    rn_store_node_set_routes(f->store, "node", a.id, "[\"192.168.1.0/24\"]", true, 1001),
	    0);
	assert_int_equal(
	    rn_store_node_approve_routes(f->store, "admin", a.id, "[\"192.168.1.0/24\"]", 1002), 0);
	assert_int_equal(rn_store_node_approve_exit(f->store, "admin", a.id, true, 1003), 0);
	rn_store_node_clear(&a);
	assert_int_equal(rn_store_node_get_by_key(f->store, key, &a), 0);

	/* bob's valid key and alice's node's public key: refused */
	assert_int_equal(do_enroll(f, ak_b, "evil", key, NULL, NULL), -EPERM);
	assert_non_null(strstr(rn_store_errmsg(f->store), "another user"));
	assert_int_equal(rn_store_node_get_by_key(f->store, key, &now), 0);
	assert_int_equal(now.user_id, f->alice);
	assert_string_equal(now.name, "nas");
	assert_string_equal(now.tags, "[\"tag:server\"]");
	assert_string_equal(now.advertised_routes, a.advertised_routes);
	assert_string_equal(now.approved_routes, "[\"192.168.1.0/24\"]");
	assert_true(now.advertises_exit && now.exit_approved);
	assert_false(now.expired);
	rn_store_node_clear(&now);
	/* ... its token still works, and bob's single-use key was not used up */
	assert_int_equal(rn_store_node_get_by_token(f->store, tok, &now), 0);
	assert_int_equal(now.id, a.id);
	rn_store_node_clear(&now);
	assert_int_equal(rn_store_authkey_list(f->store, &keys, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(keys[1].used_count, 0);
	rn_store_authkey_list_free(keys, n);

	/* alice re-enrolling it, even with a key of other tags: user, tags and approvals stay */
	make_authkey(f, f->alice, false, "[\"tag:other\"]", ak_a2);
	assert_int_equal(rn_store_node_expire(f->store, "admin", a.id, 1004), 0);
	assert_int_equal(do_enroll(f, ak_a2, "nas-renamed", key, &now, tok2), 0);
	assert_int_equal(now.id, a.id);
	assert_int_equal(now.user_id, f->alice);
	assert_string_equal(now.tags, "[\"tag:server\"]");
	assert_string_equal(now.dns_name, a.dns_name);
	assert_string_equal(now.name, "nas-renamed");
	assert_string_equal(now.approved_routes, "[\"192.168.1.0/24\"]");
	assert_true(now.advertises_exit && now.exit_approved);
	assert_false(now.expired);
	rn_store_node_clear(&now);
	/* the new token replaced the old one */
	assert_int_equal(rn_store_node_get_by_token(f->store, tok, &now), -ENOENT);
	assert_int_equal(rn_store_node_get_by_token(f->store, tok2, &now), 0);
	rn_store_node_clear(&now);
	rn_store_node_clear(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failed_insert_keeps_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_takeover, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
