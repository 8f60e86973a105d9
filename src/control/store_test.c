/* SPDX-License-Identifier: MIT */
/* Tests of the control store, each in a fresh state dir of its own. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "control/store.h"
#include "control/store_testdir.h"

struct fixture {
	char dir[RN_TEST_STORE_DIR_LEN];
	struct rn_store *store;
	int64_t user;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	rn_test_store_open(f->dir, "store", &f->store);
	assert_int_equal(rn_store_user_add(f->store, "admin:test", "alice", 100, &f->user), 0);
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

static void make_key(uint8_t key[RN_STORE_KEY_LEN], uint32_t n)
{
	memset(key, 0x5a, RN_STORE_KEY_LEN);
	memcpy(key, &n, sizeof(n));
}

static int64_t enroll(struct fixture *f, const char *hostname, uint32_t n,
		      struct rn_store_node *out)
{
	uint8_t key[RN_STORE_KEY_LEN];
	struct rn_store_node_enroll req = { .hostname = hostname,
					    .user_id = f->user,
					    .public_key = key };
	struct rn_store_node node;
	int64_t id;

	make_key(key, n);
	assert_int_equal(rn_store_node_add(f->store, "node", &req, 1000 + n, &node, NULL), 0);
	id = node.id;
	if (out)
		*out = node;
	else
		rn_store_node_clear(&node);
	return id;
}

static void test_user_list(void **state)
{
	struct fixture *f = *state;
	struct rn_store_user *users;
	int64_t bob;
	size_t n;

	assert_int_equal(rn_store_user_add(f->store, "admin:test", "bob", 200, &bob), 0);
	assert_int_equal(rn_store_user_list(f->store, &users, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(users[0].id, f->user);
	assert_string_equal(users[0].name, "alice");
	assert_int_equal(users[0].created_at, 100);
	assert_int_equal(users[1].id, bob);
	assert_string_equal(users[1].name, "bob");
	assert_false(users[0].admin || users[1].admin); /* members until made admins */
	rn_store_user_list_free(users, n);

	assert_int_equal(rn_store_user_set_role(f->store, "admin:test", bob, true, 300), 0);
	assert_int_equal(rn_store_user_list(f->store, &users, &n), 0);
	assert_false(users[0].admin);
	assert_true(users[1].admin);
	rn_store_user_list_free(users, n);
	assert_int_equal(rn_store_user_set_role(f->store, "admin:test", bob, false, 301), 0);
	assert_int_equal(rn_store_user_list(f->store, &users, &n), 0);
	assert_false(users[1].admin);
	rn_store_user_list_free(users, n);
	assert_int_equal(rn_store_user_set_role(f->store, "admin:test", 999, true, 302), -ENOENT);
	assert_non_null(strstr(rn_store_errmsg(f->store), "no user"));
}

static void test_open_creates_and_reopens(void **state)
{
	struct fixture *f = *state;
	uint8_t ula[RN_STORE_ULA_PREFIX_LEN], ula2[RN_STORE_ULA_PREFIX_LEN];
	char path[128], value[64];
	struct stat sb;
	int64_t id;

	snprintf(path, sizeof(path), "%s/control.db", f->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(rn_store_setting_get(f->store, "domain", value, sizeof(value)), 0);
	assert_string_equal(value, "rustynet");
	assert_int_equal(rn_store_setting_get(f->store, "ula_prefix", value, sizeof(value)), 0);
	assert_true(strncmp(value, "fd", 2) == 0 && strstr(value, "::/48"));
	rn_store_ula_prefix(f->store, ula);
	assert_int_equal(ula[0], 0xfd);

	rn_store_close(f->store);
	assert_int_equal(rn_store_open(f->dir, &f->store), 0);
	rn_store_ula_prefix(f->store, ula2);
	assert_memory_equal(ula, ula2, sizeof(ula));
	assert_int_equal(rn_store_user_get_by_name(f->store, "alice", &id), 0);
	assert_int_equal(id, f->user);
	assert_int_equal(rn_store_user_get_by_name(f->store, "bob", &id), -ENOENT);
	assert_int_equal(rn_store_user_add(f->store, "admin", "alice", 1, NULL), -EEXIST);
	assert_int_equal(rn_store_setting_set(f->store, "admin", "domain", "corp", 5), 0);
	assert_int_equal(rn_store_setting_set(f->store, "admin", "domain", "Bad Name", 5), -EINVAL);
	assert_int_equal(rn_store_setting_set(f->store, "admin", "ula_prefix", "fd00::/48", 5),
			 -EINVAL);
	/* -wal and -shm follow the db's mode */
	snprintf(path, sizeof(path), "%s/control.db-wal", f->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
}

static void test_open_refuses_unsafe(void **state)
{
	struct fixture *f = *state;
	struct rn_store *s = NULL;
	char path[128];

	assert_int_equal(chmod(f->dir, 0777), 0);
	assert_int_equal(rn_store_open(f->dir, &s), -EPERM);
	assert_null(s);
	assert_int_equal(chmod(f->dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/control.db", f->dir);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(rn_store_open(f->dir, &s), -EPERM);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(rn_store_open("/nonexistent/rn-state", &s), -ENOENT);
}

static void test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	struct rn_store *s = NULL;
	char path[128];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/control.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "INSERT INTO schema_version VALUES (99)", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(rn_store_open(f->dir, &s), -EPROTO);
	assert_null(s);
}

static void test_next_version(void **state)
{
	struct fixture *f = *state;
	uint64_t a, b, c;

	assert_int_equal(rn_store_next_version(f->store, &a), 0);
	assert_int_equal(rn_store_next_version(f->store, &b), 0);
	rn_store_close(f->store);
	assert_int_equal(rn_store_open(f->dir, &f->store), 0);
	assert_int_equal(rn_store_next_version(f->store, &c), 0);
	assert_int_equal(a, 1);
	assert_true(b == a + 1 && c == b + 1);
}

static void test_authkey_lifecycle(void **state)
{
	struct fixture *f = *state;
	char single[RN_STORE_AUTHKEY_SECRET_SIZE], reuse[RN_STORE_AUTHKEY_SECRET_SIZE];
	char expiring[RN_STORE_AUTHKEY_SECRET_SIZE];
	struct rn_store_authkey_use use;
	struct rn_store_authkey *keys;
	int64_t id_single, id_reuse, id_exp;
	size_t n;
	int i;

	assert_int_equal(rn_store_authkey_create(f->store, "admin", f->user, false, 0,
						 "[\"tag:server\"]", 200, single, &id_single),
			 0);
	assert_int_equal(strlen(single), RN_STORE_AUTHKEY_SECRET_SIZE - 1);
	assert_true(strncmp(single, "rnk_", 4) == 0);
	assert_null(strpbrk(single + 4, "+/="));
	assert_int_equal(rn_store_authkey_create(f->store, "admin", f->user, true, 0, NULL, 200,
						 reuse, &id_reuse),
			 0);
	assert_int_equal(rn_store_authkey_create(f->store, "admin", f->user, true, 500, NULL, 200,
						 expiring, &id_exp),
			 0);
	assert_string_not_equal(single, reuse);
	assert_int_equal(rn_store_authkey_create(f->store, "admin", f->user, true, 0,
						 "[\"server\"]", 200, reuse, NULL),
			 -EINVAL);
	assert_int_equal(
	    rn_store_authkey_create(f->store, "admin", 999, true, 0, NULL, 200, reuse + 0, NULL),
	    -ENOENT);

	/* single use: once */
	assert_int_equal(rn_store_authkey_consume(f->store, single, 300, &use), 0);
	assert_int_equal(use.user_id, f->user);
	assert_int_equal(use.key_id, id_single);
	assert_string_equal(use.tags, "[\"tag:server\"]");
	rn_store_authkey_use_clear(&use);
	assert_int_equal(rn_store_authkey_consume(f->store, single, 301, &use), -EKEYREJECTED);
	assert_null(use.tags);

	/* reusable: as often as wanted, counted */
	for (i = 0; i < 3; i++) {
		assert_int_equal(rn_store_authkey_consume(f->store, reuse, 300, &use), 0);
		rn_store_authkey_use_clear(&use);
	}
	/* expiry: usable before, not at or after */
	assert_int_equal(rn_store_authkey_consume(f->store, expiring, 499, &use), 0);
	rn_store_authkey_use_clear(&use);
	assert_int_equal(rn_store_authkey_consume(f->store, expiring, 500, &use), -EKEYEXPIRED);
	/* revoked */
	assert_int_equal(rn_store_authkey_revoke(f->store, "admin", id_reuse, 600), 0);
	assert_int_equal(rn_store_authkey_revoke(f->store, "admin", id_reuse, 601), 0);
	assert_int_equal(rn_store_authkey_revoke(f->store, "admin", 12345, 601), -ENOENT);
	assert_int_equal(rn_store_authkey_consume(f->store, reuse, 700, &use), -EKEYREVOKED);
	/* unknown and malformed */
	reuse[10] = reuse[10] == 'A' ? 'B' : 'A';
	assert_int_equal(rn_store_authkey_consume(f->store, reuse, 700, &use), -ENOENT);
	assert_int_equal(rn_store_authkey_consume(f->store, "rnk_short", 700, &use), -EINVAL);
	assert_int_equal(rn_store_authkey_consume(f->store, "", 700, &use), -EINVAL);
	/* the error message never quotes the secret */
	assert_null(strstr(rn_store_errmsg(f->store), "rnk_short"));

	assert_int_equal(rn_store_authkey_list(f->store, &keys, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(keys[0].used_count, 1);
	assert_false(keys[0].reusable);
	assert_int_equal(keys[1].used_count, 3);
	assert_int_equal(keys[1].revoked_at, 600);
	assert_int_equal(keys[2].expires_at, 500);
	assert_string_equal(keys[0].tags, "[\"tag:server\"]");
	rn_store_authkey_list_free(keys, n);
}

struct racer {
	const char *dir;
	const char *secret;
	pthread_barrier_t *barrier;
	struct rn_store *store;
	int result;
};

static void *race_consume(void *arg)
{
	struct racer *r = arg;
	struct rn_store_authkey_use use;

	pthread_barrier_wait(r->barrier);
	r->result = rn_store_authkey_consume(r->store, r->secret, 10, &use);
	rn_store_authkey_use_clear(&use);
	return NULL;
}

static void test_authkey_race(void **state)
{
	struct fixture *f = *state;
	char secret[RN_STORE_AUTHKEY_SECRET_SIZE];
	struct rn_store_authkey *keys;
	pthread_barrier_t barrier;
	struct racer r[2];
	pthread_t th[2];
	size_t n;
	int iter, i, wins;

	assert_int_equal(pthread_barrier_init(&barrier, NULL, 2), 0);
	for (i = 0; i < 2; i++) {
		r[i] = (struct racer){ .dir = f->dir, .secret = secret, .barrier = &barrier };
		assert_int_equal(rn_store_open(f->dir, &r[i].store), 0);
	}
	for (iter = 0; iter < 200; iter++) {
		assert_int_equal(rn_store_authkey_create(f->store, "admin", f->user, false, 0, NULL,
							 1, secret, NULL),
				 0);
		for (i = 0; i < 2; i++)
			assert_int_equal(pthread_create(&th[i], NULL, race_consume, &r[i]), 0);
		wins = 0;
		for (i = 0; i < 2; i++) {
			assert_int_equal(pthread_join(th[i], NULL), 0);
			if (r[i].result == 0)
				wins++;
			else
				assert_int_equal(r[i].result, -EKEYREJECTED);
		}
		assert_int_equal(wins, 1);
	}
	assert_int_equal(rn_store_authkey_list(f->store, &keys, &n), 0);
	assert_int_equal(n, 200);
	for (i = 0; i < (int)n; i++)
		assert_int_equal(keys[i].used_count, 1);
	rn_store_authkey_list_free(keys, n);
	for (i = 0; i < 2; i++)
		rn_store_close(r[i].store);
	pthread_barrier_destroy(&barrier);
}

static void test_dns_label_table(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "nas", "nas" },
		{ "NAS", "nas" },
		{ "MyLaptop", "mylaptop" },
		{ "my laptop", "my-laptop" },
		{ "my_laptop.local", "my-laptop-local" },
		{ "web-01", "web-01" },
		{ "-web-", "web" },
		{ "---a---", "a" },
		{ "  spaced  ", "spaced" },
		{ "caf\xc3\xa9", "caf" },
		{ "\xc3\xa9t\xc3\xa9", "t" },
		{ "na\xc3\xafve", "na--ve" },
		{ "\xe2\x98\x83", "node" },
		{ "", "node" },
		{ NULL, "node" },
		{ "----", "node" },
		{ "!@#$%", "node" },
		{ "123", "123" },
		{ "a.b.c", "a-b-c" },
		{ "Tab\there", "tab-here" },
		{ "iPhone (2)", "iphone--2" },
		/* 70 characters: cut to 63 */
		{ "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij",
		  "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc" },
		/* a cut that would end in '-' is trimmed */
		{ "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijab-cdefgh",
		  "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijab" },
		/* leading junk does not count against the 63 */
		{ "----abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij",
		  "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc" },
	};
	char out[RN_STORE_LABEL_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rn_store_dns_label(cases[i].in, out);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu \"%s\": got \"%s\", want \"%s\"", i,
				 cases[i].in ?: "(null)", out, cases[i].want);
		assert_true(strlen(out) <= RN_STORE_LABEL_MAX);
	}
}

static void assert_dns(struct fixture *f, int64_t id, const char *want)
{
	struct rn_store_node *nodes;
	size_t n, i;
	bool found = false;

	assert_int_equal(rn_store_node_list(f->store, &nodes, &n), 0);
	for (i = 0; i < n; i++) {
		if (nodes[i].id == id) {
			assert_string_equal(nodes[i].dns_name, want);
			found = true;
		}
	}
	rn_store_node_list_free(nodes, n);
	assert_true(found);
}

/*
 * The rule: a new node gets the first free of LABEL, LABEL-2, LABEL-3, ... at its enrollment and
 * keeps it; removals free names without renaming anyone.
 */
static void test_dns_duplicates(void **state)
{
	struct fixture *f = *state;
	int64_t a, b, c, d, e, g;
	struct rn_store_node node;
	char long_name[80];

	a = enroll(f, "nas", 1, NULL);
	b = enroll(f, "NAS", 2, NULL);
	c = enroll(f, "nas.", 3, NULL);
	assert_dns(f, a, "nas");
	assert_dns(f, b, "nas-2");
	assert_dns(f, c, "nas-3");
	assert_int_equal(rn_store_node_remove(f->store, "admin", b, 2000), 0);
	assert_dns(f, a, "nas");
	assert_dns(f, c, "nas-3");
	d = enroll(f, "nas", 4, NULL);
	assert_dns(f, d, "nas-2");
	e = enroll(f, "nas", 5, NULL);
	assert_dns(f, e, "nas-4");
	/* a hostname that is itself a suffixed name */
	g = enroll(f, "nas-4", 6, NULL);
	assert_dns(f, g, "nas-4-2");
	/* re-enrolling keeps the name even under a new hostname */
	enroll(f, "other", 3, &node);
	assert_int_equal(node.id, c);
	assert_string_equal(node.dns_name, "nas-3");
	assert_string_equal(node.name, "other");
	rn_store_node_clear(&node);
	/* a suffix on a 63-byte label cuts the label, not the suffix */
	memset(long_name, 'x', 70);
	long_name[70] = '\0';
	enroll(f, long_name, 7, NULL);
	enroll(f, long_name, 8, &node);
	assert_int_equal(strlen(node.dns_name), 63);
	assert_string_equal(node.dns_name + 61, "-2");
	rn_store_node_clear(&node);
	assert_int_equal(rn_store_node_get_by_name(f->store, "nas-4", &node), 0);
	assert_int_equal(node.id, e);
	rn_store_node_clear(&node);
	assert_int_equal(rn_store_node_get_by_name(f->store, "nope", &node), -ENOENT);
}

/*
 * Key expiry: the network's setting at enrollment (enroll() enrolls at 1000 + n), per node
 * overrides, and a renewal that keeps "off" off.
 */
static void test_key_expiry(void **state)
{
	struct fixture *f = *state;
	struct rn_store_node nd;
	int64_t a = enroll(f, "alpha", 1, &nd);

	assert_int_equal(nd.key_expires_at, RN_STORE_KEY_EXPIRY_NONE); /* no setting yet */
	assert_false(rn_store_node_is_expired(&nd, INT64_MAX));
	rn_store_node_clear(&nd);
	assert_int_equal(
	    rn_store_setting_set(f->store, "admin", RN_STORE_SETTING_KEY_EXPIRY, "100", 5), 0);
	assert_int_equal(
	    rn_store_setting_set(f->store, "admin", RN_STORE_SETTING_KEY_EXPIRY, "-1", 5), -EINVAL);
	enroll(f, "beta", 2, &nd);
	assert_int_equal(nd.key_expires_at, 1002 + 100);
	assert_false(rn_store_node_is_expired(&nd, 1101));
	assert_true(rn_store_node_is_expired(&nd, 1102));
	rn_store_node_clear(&nd);

	assert_int_equal(rn_store_node_set_key_expiry(f->store, "admin", a, 5000, 6), 0);
	assert_int_equal(rn_store_node_set_key_expiry(f->store, "admin", a, -2, 6), -EINVAL);
	assert_int_equal(rn_store_node_set_key_expiry(f->store, "admin", 999, 5000, 6), -ENOENT);
	assert_int_equal(
	    rn_store_node_set_key_expiry(f->store, "admin", a, RN_STORE_KEY_EXPIRY_OFF, 7), 0);
	enroll(f, "alpha", 1, &nd); /* the same key again: a renewal */
	assert_int_equal(nd.id, a);
	assert_int_equal(nd.key_expires_at, RN_STORE_KEY_EXPIRY_OFF);
	assert_false(rn_store_node_is_expired(&nd, INT64_MAX));
	rn_store_node_clear(&nd);
}

/*
 * A backup restores into a new state dir with its files and store; one that carries a file the
 * caller does not allow is refused and leaves nothing; an existing dir is never written over.
 */
static void test_backup_restore(void **state)
{
	static const char *const allowed[] = { "a.key", NULL };
	struct fixture *f = *state;
	struct rn_store_file files[] = { { "a.key", 0600, "secret", 6 },
					 { "../evil", 0644, "x", 1 } };
	struct rn_store_user *users;
	struct rn_store *r;
	char bak[160], bad[160], dir[160], path[200], buf[16] = "", err[600];
	size_t n, nf;
	FILE *fp;

	snprintf(bak, sizeof(bak), "%s/b.db", f->dir);
	snprintf(bad, sizeof(bad), "%s/bad.db", f->dir);
	snprintf(dir, sizeof(dir), "%s/restored", f->dir);
	assert_int_equal(rn_store_backup(f->store, bak, files, 1), 0);
	assert_int_equal(rn_store_backup(f->store, bak, files, 1), -EEXIST);
	assert_int_equal(rn_store_restore(bak, dir, allowed, &nf, err, sizeof(err)), 0);
	assert_int_equal(nf, 1);
	snprintf(path, sizeof(path), "%s/a.key", dir);
	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	assert_string_equal(buf, "secret");
	assert_int_equal(rn_store_open(dir, &r), 0);
	assert_int_equal(rn_store_user_list(r, &users, &n), 0);
	assert_true(n == 1 && !strcmp(users[0].name, "alice"));
	rn_store_user_list_free(users, n);
	rn_store_close(r);
	assert_int_equal(rn_store_restore(bak, dir, allowed, &nf, err, sizeof(err)), -EEXIST);

	assert_int_equal(rn_store_backup(f->store, bad, files, 2), 0);
	snprintf(dir, sizeof(dir), "%s/restored2", f->dir);
	assert_int_equal(rn_store_restore(bad, dir, allowed, &nf, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unexpected file"));
	assert_int_equal(access(dir, F_OK), -1); /* nothing left */
}

/* Ephemeral nodes not seen since the cutoff go (audited), the rest stay. */
static void test_remove_gone_ephemeral(void **state)
{
	struct fixture *f = *state;
	struct rn_store_node_enroll req = { .hostname = "eph", .user_id = f->user };
	struct rn_store_node nd, *nodes;
	uint8_t key[RN_STORE_KEY_LEN];
	int64_t regular = enroll(f, "regular", 1, NULL), eph, fresh;
	size_t removed, n;

	memset(key, 7, sizeof(key));
	req.public_key = key;
	req.ephemeral = true;
	assert_int_equal(rn_store_node_add(f->store, "node", &req, 2000, &nd, NULL), 0);
	eph = nd.id;
	assert_true(nd.ephemeral);
	rn_store_node_clear(&nd);
	key[0] = 8;
	req.hostname = "fresh";
	assert_int_equal(rn_store_node_add(f->store, "node", &req, 2000, &nd, NULL), 0);
	fresh = nd.id;
	rn_store_node_clear(&nd);
	assert_int_equal(rn_store_node_touch(f->store, fresh, 2900, NULL), 0);

	/* enrolled at 1001 and 2000: nothing before 2000 but the regular node, which stays */
	assert_int_equal(rn_store_node_remove_gone_ephemeral(f->store, 2000, 3000, &removed), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(rn_store_node_remove_gone_ephemeral(f->store, 2500, 3000, &removed), 0);
	assert_int_equal(removed, 1); /* eph; fresh polled at 2900 */
	assert_int_equal(rn_store_node_list(f->store, &nodes, &n), 0);
	assert_int_equal(n, 2);
	assert_true(nodes[0].id == regular && nodes[1].id == fresh);
	rn_store_node_list_free(nodes, n);
	(void)eph;
}

/* nodes tag: replaces the tags, checked like an auth key's; [] removes them. */
static void test_set_tags(void **state)
{
	struct fixture *f = *state;
	struct rn_store_node *nodes;
	int64_t a = enroll(f, "alpha", 1, NULL);
	size_t n;

	assert_int_equal(
	    rn_store_node_set_tags(f->store, "admin", a, "[\"tag:web\",\"tag:db\"]", 10), 0);
	assert_int_equal(rn_store_node_list(f->store, &nodes, &n), 0);
	assert_string_equal(nodes[0].tags, "[\"tag:web\",\"tag:db\"]");
	rn_store_node_list_free(nodes, n);
	assert_int_equal(rn_store_node_set_tags(f->store, "admin", a, "[\"web\"]", 11), -EINVAL);
	assert_int_equal(rn_store_node_set_tags(f->store, "admin", a, "[\"tag:\"]", 11), -EINVAL);
	assert_int_equal(rn_store_node_set_tags(f->store, "admin", 999, "[]", 11), -ENOENT);
	assert_int_equal(rn_store_node_set_tags(f->store, "admin", a, "[]", 12), 0);
	assert_int_equal(rn_store_node_list(f->store, &nodes, &n), 0);
	assert_string_equal(nodes[0].tags, "[]");
	rn_store_node_list_free(nodes, n);
}

static void test_rename(void **state)
{
	struct fixture *f = *state;
	struct rn_store_node node;
	int64_t a, b;

	a = enroll(f, "alpha", 1, NULL);
	b = enroll(f, "beta", 2, NULL);
	assert_int_equal(rn_store_node_rename(f->store, "admin", b, "Alpha", 10), -EEXIST);
	assert_non_null(strstr(rn_store_errmsg(f->store), "\"alpha\""));
	assert_dns(f, b, "beta");
	assert_int_equal(rn_store_node_rename(f->store, "admin", b, "Gamma Ray", 10), 0);
	assert_dns(f, b, "gamma-ray");
	/* renaming to its own name is fine */
	assert_int_equal(rn_store_node_rename(f->store, "admin", a, "ALPHA", 10), 0);
	assert_int_equal(rn_store_node_rename(f->store, "admin", 999, "zeta", 10), -ENOENT);
	assert_int_equal(rn_store_node_get_by_name(f->store, "gamma-ray", &node), 0);
	assert_string_equal(node.name, "Gamma Ray");
	rn_store_node_clear(&node);
}

static bool ipv4_ok(struct in_addr a)
{
	uint32_t ip = ntohl(a.s_addr);

	return (ip & 0xffc00000) == 0x64400000 && (ip & 0xff) != 0 && (ip & 0xff) != 255 &&
	       (ip & 0xffffff00) != 0x64646400;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

enum { N_NODES = 5000 };

static void test_addresses(void **state)
{
	struct fixture *f = *state;
	uint8_t ula[RN_STORE_ULA_PREFIX_LEN];
	struct rn_store_node *before, *after, node;
	uint32_t *v4 = calloc(N_NODES, sizeof(*v4));
	char name[32];
	size_t n, n2, i, j;

	assert_non_null(v4);
	rn_store_ula_prefix(f->store, ula);
	for (i = 0; i < N_NODES; i++) {
		snprintf(name, sizeof(name), "host%zu", i);
		enroll(f, name, (uint32_t)i, NULL);
	}
	assert_int_equal(rn_store_node_list(f->store, &before, &n), 0);
	assert_int_equal(n, N_NODES);
	for (i = 0; i < n; i++) {
		assert_true(ipv4_ok(before[i].ipv4));
		assert_memory_equal(before[i].ipv6.s6_addr, ula, sizeof(ula));
		assert_memory_equal(before[i].ipv6.s6_addr + 12, &before[i].ipv4, 4);
		v4[i] = before[i].ipv4.s_addr;
	}
	qsort(v4, n, sizeof(*v4), cmp_u32);
	for (i = 1; i < n; i++)
		assert_true(v4[i] != v4[i - 1]);

	/* remove every tenth node and add new ones: nobody else moves, no address reused */
	for (i = 0; i < n; i += 10)
		assert_int_equal(rn_store_node_remove(f->store, "admin", before[i].id, 5000), 0);
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "late%zu", i);
		enroll(f, name, (uint32_t)(N_NODES + i), &node);
		assert_true(ipv4_ok(node.ipv4));
		assert_null(bsearch(&node.ipv4.s_addr, v4, n, sizeof(*v4), cmp_u32));
		rn_store_node_clear(&node);
	}
	/* a removed key enrolling again is a new node; a kept key keeps its addresses */
	enroll(f, "host1", 1, &node);
	assert_int_equal(node.id, before[1].id);
	assert_int_equal(node.ipv4.s_addr, before[1].ipv4.s_addr);
	assert_memory_equal(&node.ipv6, &before[1].ipv6, sizeof(node.ipv6));
	rn_store_node_clear(&node);

	assert_int_equal(rn_store_node_list(f->store, &after, &n2), 0);
	assert_int_equal(n2, N_NODES - N_NODES / 10 + 50);
	for (i = 0, j = 0; i < n; i++) {
		if (i % 10 == 0)
			continue;
		while (after[j].id != before[i].id)
			j++;
		assert_int_equal(after[j].ipv4.s_addr, before[i].ipv4.s_addr);
		assert_memory_equal(&after[j].ipv6, &before[i].ipv6, sizeof(after[j].ipv6));
		assert_string_equal(after[j].dns_name, before[i].dns_name);
	}
	rn_store_node_list_free(before, n);
	rn_store_node_list_free(after, n2);
	free(v4);
}

static void test_node_state(void **state)
{
	struct fixture *f = *state;
	struct rn_store_node node;
	uint8_t key[RN_STORE_KEY_LEN];
	int64_t id;

	id = enroll(f, "router", 1, NULL);
	make_key(key, 1);
	assert_int_equal(rn_store_node_set_routes(f->store, "node", id,
						  "[\"192.168.1.0/24\",\"10.0.0.0/8\"]", true, 10),
			 0);
	assert_int_equal(
	    rn_store_node_approve_routes(f->store, "admin", id, "[\"172.16.0.0/12\"]", 11),
	    -EINVAL);
	assert_int_equal(
	    rn_store_node_set_routes(f->store, "node", id, "[\"192.168.1.0/33\"]", true, 10),
	    -EINVAL);
	assert_int_equal(rn_store_node_approve_routes(f->store, "admin", id,
						      "[\"192.168.1.0/24\",\"10.0.0.0/8\"]", 11),
			 0);
	assert_int_equal(rn_store_node_approve_exit(f->store, "admin", id, true, 12), 0);
	assert_int_equal(rn_store_node_touch(f->store, id, 13,
					     "[\"198.51.100.7:41641\","
					     "\"[2001:db8::1]:41641\"]"),
			 0);
	assert_int_equal(rn_store_node_touch(f->store, id, 13, "[\"nonsense\"]"), -EINVAL);
	assert_int_equal(rn_store_node_get_by_key(f->store, key, &node), 0);
	assert_string_equal(node.approved_routes, "[\"192.168.1.0/24\",\"10.0.0.0/8\"]");
	assert_true(node.advertises_exit && node.exit_approved);
	assert_int_equal(node.last_seen, 13);
	assert_string_equal(node.endpoints, "[\"198.51.100.7:41641\",\"[2001:db8::1]:41641\"]");
	rn_store_node_clear(&node);

	/* withdrawing a route and the exit drops their approval */
	assert_int_equal(
	    rn_store_node_set_routes(f->store, "node", id, "[\"10.0.0.0/8\"]", false, 14), 0);
	assert_int_equal(rn_store_node_expire(f->store, "admin", id, 15), 0);
	assert_int_equal(rn_store_node_get_by_key(f->store, key, &node), 0);
	assert_string_equal(node.approved_routes, "[\"10.0.0.0/8\"]");
	assert_false(node.advertises_exit || node.exit_approved);
	assert_true(node.expired);
	rn_store_node_clear(&node);
	/* re-enrolling un-expires */
	enroll(f, "router", 1, &node);
	assert_false(node.expired);
	rn_store_node_clear(&node);
	assert_int_equal(rn_store_node_expire(f->store, "admin", 999, 15), -ENOENT);
	assert_int_equal(rn_store_node_remove(f->store, "admin", 999, 15), -ENOENT);
}

static void test_policy_and_audit(void **state)
{
	int64_t last = -1;
	static const char *const want[] = {
		"user.add",	   "policy.set",	  "policy.set",
		"authkey.create",  "authkey.consume",	  "authkey.revoke",
		"node.add",	   "node.reenroll",	  "node.rename",
		"node.set_routes", "node.approve_routes", "node.approve_exit",
		"node.expire",	   "node.remove",	  "setting.set",
	};
	struct fixture *f = *state;
	char secret[RN_STORE_AUTHKEY_SECRET_SIZE];
	struct rn_store_authkey_use use;
	struct rn_store_audit *log;
	int64_t key_id, id, rev;
	size_t n, i;
	char *text;

	assert_int_equal(rn_store_policy_get(f->store, &text, &rev), 0);
	assert_null(text);
	assert_int_equal(rn_store_policy_set(f->store, "admin", "{\"acls\":[]}", 10), 0);
	assert_int_equal(rn_store_policy_set(f->store, "admin", "{\"acls\":[1]}", 11), 0);
	assert_int_equal(rn_store_policy_get(f->store, &text, &rev), 0);
	assert_string_equal(text, "{\"acls\":[1]}");
	assert_int_equal(rev, 2);
	free(text);
	assert_int_equal(rn_store_authkey_create(f->store, "admin", f->user, false, 0, NULL, 12,
						 secret, &key_id),
			 0);
	assert_int_equal(rn_store_authkey_consume(f->store, secret, 13, &use), 0);
	rn_store_authkey_use_clear(&use);
	assert_int_equal(rn_store_authkey_revoke(f->store, "admin", key_id, 14), 0);
	id = enroll(f, "box", 1, NULL);
	enroll(f, "box", 1, NULL);
	assert_int_equal(rn_store_node_rename(f->store, "admin", id, "crate", 15), 0);
	assert_int_equal(
	    rn_store_node_set_routes(f->store, "node", id, "[\"10.1.0.0/16\"]", true, 16), 0);
	assert_int_equal(
	    rn_store_node_approve_routes(f->store, "admin", id, "[\"10.1.0.0/16\"]", 17), 0);
	assert_int_equal(rn_store_node_approve_exit(f->store, "admin", id, true, 18), 0);
	assert_int_equal(rn_store_node_expire(f->store, "admin", id, 19), 0);
	assert_int_equal(rn_store_node_touch(f->store, id, 19, NULL), 0);
	assert_int_equal(rn_store_node_remove(f->store, "admin", id, 20), 0);
	assert_int_equal(rn_store_setting_set(f->store, "admin", "domain", "corp", 21), 0);
	/* refused changes leave no entry */
	assert_int_equal(rn_store_node_remove(f->store, "admin", id, 22), -ENOENT);

	assert_int_equal(rn_store_audit_list(f->store, 0, 1000, &log, &n), 0);
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < n; i++) {
		assert_string_equal(log[i].action, want[i]);
		assert_true(log[i].details[0] == '{');
		assert_null(strstr(log[i].details, "rnk_"));
	}
	assert_string_equal(log[0].actor, "admin:test");
	assert_int_equal(log[14].time, 21);
	rn_store_audit_list_free(log, n);
	assert_int_equal(rn_store_audit_list(f->store, 13, 1, &log, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(log[0].id, 14);
	rn_store_audit_list_free(log, n);
	assert_int_equal(rn_store_audit_last_id(f->store, &last), 0);
	assert_int_equal(last, (int64_t)(sizeof(want) / sizeof(want[0])));
}

static void test_node_token(void **state)
{
	struct fixture *f = *state;
	char tok[RN_STORE_NODE_TOKEN_SIZE], tok2[RN_STORE_NODE_TOKEN_SIZE];
	struct rn_store_node node;
	int64_t id = enroll(f, "laptop", 1, NULL);
	int64_t other = enroll(f, "phone", 2, NULL);

	assert_int_equal(rn_store_node_set_token(f->store, id, tok), 0);
	assert_int_equal(strlen(tok), RN_STORE_NODE_TOKEN_SIZE - 1);
	assert_memory_equal(tok, "rnt_", 4);
	assert_int_equal(rn_store_node_get_by_token(f->store, tok, &node), 0);
	assert_int_equal(node.id, id);
	rn_store_node_clear(&node);
	/* a second token replaces the first */
	assert_int_equal(rn_store_node_set_token(f->store, id, tok2), 0);
	assert_string_not_equal(tok, tok2);
	assert_int_equal(rn_store_node_get_by_token(f->store, tok, &node), -ENOENT);
	assert_int_equal(rn_store_node_get_by_token(f->store, tok2, &node), 0);
	rn_store_node_clear(&node);
	/* malformed: wrong prefix, short, an auth key's prefix, non-canonical last letter */
	assert_int_equal(rn_store_node_get_by_token(f->store, "rnt_abc", &node), -EINVAL);
	memcpy(tok, tok2, sizeof(tok));
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): overwrites the prefix only */
	memcpy(tok, "rnk_", 4);
	assert_int_equal(rn_store_node_get_by_token(f->store, tok, &node), -EINVAL);
	memcpy(tok, tok2, sizeof(tok));
	tok[RN_STORE_NODE_TOKEN_SIZE - 2] = '_'; /* 63: low bits set, not canonical */
	assert_int_equal(rn_store_node_get_by_token(f->store, tok, &node), -EINVAL);
	assert_int_equal(rn_store_node_set_token(f->store, 999, tok), -ENOENT);
	/* no secret in the store's error message */
	assert_null(strstr(rn_store_errmsg(f->store), tok2 + 4));
	/* logout: expired, token gone, audited; the other node untouched */
	assert_int_equal(rn_store_node_set_token(f->store, other, tok), 0);
	assert_int_equal(rn_store_node_logout(f->store, "node:1", id, 2000), 0);
	assert_int_equal(rn_store_node_get_by_token(f->store, tok2, &node), -ENOENT);
	assert_int_equal(rn_store_node_get_by_token(f->store, tok, &node), 0);
	assert_int_equal(node.id, other);
	assert_false(node.expired);
	rn_store_node_clear(&node);
	assert_int_equal(rn_store_node_logout(f->store, "node:999", 999, 2000), -ENOENT);
}

/* A database made by schema 1 gains token_hash and the users' role on open and keeps its nodes. */
static void test_migrate_v1(void **state)
{
	struct fixture *f = *state;
	char path[128], tok[RN_STORE_NODE_TOKEN_SIZE];
	struct rn_store_node node;
	struct rn_store_user *users;
	int64_t id = enroll(f, "laptop", 1, NULL), users_id = f->user;
	size_t n;
	sqlite3 *db;
	sqlite3_stmt *st;

	rn_store_close(f->store);
	snprintf(path, sizeof(path), "%s/control.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "DROP INDEX nodes_token_hash; "
				      "ALTER TABLE nodes DROP COLUMN token_hash; "
				      "ALTER TABLE users DROP COLUMN role; "
				      "ALTER TABLE nodes DROP COLUMN key_expires_at; "
				      "ALTER TABLE nodes DROP COLUMN ephemeral; "
				      "ALTER TABLE authkeys DROP COLUMN ephemeral; "
				      "DROP TABLE admin_tokens; "
				      "DELETE FROM schema_version WHERE version >= 2;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(rn_store_open(f->dir, &f->store), 0);
	assert_int_equal(rn_store_node_set_token(f->store, id, tok), 0);
	assert_int_equal(rn_store_node_get_by_token(f->store, tok, &node), 0);
	assert_string_equal(node.dns_name, "laptop");
	rn_store_node_clear(&node);
	assert_int_equal(rn_store_user_list(f->store, &users, &n), 0);
	assert_true(n == 1 && !users[0].admin);
	rn_store_user_list_free(users, n);
	assert_int_equal(rn_store_user_set_role(f->store, "admin:test", users_id, true, 2000), 0);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), RN_STORE_SCHEMA_VERSION);
	assert_int_equal(RN_STORE_SCHEMA_VERSION, 6);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_and_reopens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_unsafe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_authkey_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_authkey_race, setup, teardown),
		cmocka_unit_test(test_dns_label_table),
		cmocka_unit_test_setup_teardown(test_dns_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_tags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_gone_ephemeral, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_and_audit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v1, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
