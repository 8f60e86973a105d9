/* SPDX-License-Identifier: MIT */
/* The admin's relays: what is accepted and refused (with the bad value quoted), and the store's
 * add/remove/list, each audited, a refused change leaving the list and the log as they were. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/store.h"
#include "control/store_testdir.h"

#define NOW  1767225600
#define PIN  "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
#define ZERO "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

static void test_make(void **state)
{
	static const struct {
		const char *name, *udp, *tls, *spki;
		const char *err; /* NULL: accepted; else a piece of the error */
	} cases[] = {
		{ "r1", "198.51.100.9:3479", "", "", NULL },
		{ "r1", "198.51.100.9:3479", NULL, NULL, NULL },
		{ "r1", "", "[2001:db8::9]:443", PIN, NULL },
		{ "r1", "198.51.100.9:3479", "198.51.100.9:443", PIN, NULL },
		{ "r1", "", "", "", "give --udp ADDR:PORT, --tls ADDR:PORT or both" },
		{ "control", "198.51.100.9:3479", "", "", "the control server's own" },
		{ "R1", "198.51.100.9:3479", "", "", "\"R1\" is not a DNS label" },
		{ "", "198.51.100.9:3479", "", "", "\"\" is not a DNS label" },
		{ "-r", "198.51.100.9:3479", "", "", "is not a DNS label" },
		{ "r 1", "198.51.100.9:3479", "", "", "is not a DNS label" },
		{ "r1", "198.51.100.9", "", "", "--udp \"198.51.100.9\" is not IP:PORT" },
		{ "r1", "198.51.100.9:0", "", "", "the port must be 1-65535" },
		{ "r1", "relay.example:3479", "", "", "is not IP:PORT" },
		{ "r1", "127.0.0.1:3479", "", "", "loopback" },
		{ "r1", "0.0.0.0:3479", "", "", "not a unicast address" },
		{ "r1", "", "[fe80::1]:443", PIN, "--tls \"[fe80::1]:443\" is a link-local" },
		{ "r1", "", "198.51.100.9:443", "", "--tls needs --spki PIN" },
		{ "r1", "", "198.51.100.9:443", "abc", "--spki \"abc\" is not a SHA-256 pin" },
		{ "r1", "", "198.51.100.9:443", ZERO, "is not a SHA-256 pin" },
		{ "r1", "198.51.100.9:3479", "", PIN, "no --tls was given" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rn_netmap_relay r;
		char err[200] = "";
		int ret = rn_store_relay_make(cases[i].name, cases[i].udp, cases[i].tls,
					      cases[i].spki, &r, err, sizeof(err));

		if (!cases[i].err) {
			if (ret)
				fail_msg("case %zu refused: %s", i, err);
			assert_string_equal(r.name, cases[i].name);
			continue;
		}
		assert_int_equal(ret, -EINVAL);
		if (!strstr(err, cases[i].err))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].err);
	}
}

static size_t audit_count(struct rn_store *store)
{
	int64_t id = 0;

	assert_int_equal(rn_store_audit_last_id(store, &id), 0);
	return (size_t)id;
}

static struct rn_netmap_relay relay(const char *name, const char *udp)
{
	struct rn_netmap_relay r;
	char err[200];

	assert_int_equal(rn_store_relay_make(name, udp, NULL, NULL, &r, err, sizeof(err)), 0);
	return r;
}

static void test_store(void **state)
{
	char dir[RN_TEST_STORE_DIR_LEN];
	struct rn_netmap_relay v[RN_STORE_RELAYS_MAX], r;
	struct rn_store_audit *rows = NULL;
	struct rn_store *store;
	size_t n = 99, before, n_rows = 0;
	char name[8], err[200];

	(void)state;
	rn_test_store_open(dir, "relay", &store);
	assert_int_equal(rn_store_relay_list(store, v, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(rn_store_relay_make("r1", "198.51.100.9:3479", "198.51.100.9:443", PIN, &r,
					     err, sizeof(err)),
			 0);
	before = audit_count(store);
	assert_int_equal(rn_store_relay_add(store, "admin:t", &r, NOW), 0);
	assert_int_equal(audit_count(store), before + 1);
	assert_int_equal(rn_store_relay_list(store, v, &n), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(&v[0], &r, sizeof(r));

	/* the audit entry names the relay and its pin, nothing secret */
	assert_int_equal(rn_store_audit_list(store, (int64_t)before, 10, &rows, &n_rows), 0);
	assert_int_equal(n_rows, 1);
	assert_string_equal(rows[0].action, "relay.add");
	assert_string_equal(rows[0].actor, "admin:t");
	assert_non_null(strstr(rows[0].details, "\"name\":\"r1\""));
	assert_non_null(strstr(rows[0].details, PIN));
	rn_store_audit_list_free(rows, n_rows);

	/* the same name again: refused, nothing changed, nothing logged */
	before = audit_count(store);
	r = relay("r1", "203.0.113.1:3479");
	assert_int_equal(rn_store_relay_add(store, "admin:t", &r, NOW), -EEXIST);
	assert_non_null(strstr(rn_store_errmsg(store), "there is a relay \"r1\" already"));
	assert_int_equal(audit_count(store), before);
	assert_int_equal(rn_store_relay_list(store, v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].tls.sa.sa_family, AF_INET);

	/* up to the limit (one of the map's kept for the server's own), and no more */
	for (int i = 2; i <= RN_STORE_RELAYS_MAX; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		r = relay(name, "203.0.113.1:3479");
		assert_int_equal(rn_store_relay_add(store, "admin:t", &r, NOW), 0);
	}
	r = relay("r99", "203.0.113.1:3479");
	assert_int_equal(rn_store_relay_add(store, "admin:t", &r, NOW), -ENOSPC);
	assert_non_null(strstr(rn_store_errmsg(store), "at most 7 relays"));
	assert_int_equal(rn_store_relay_list(store, v, &n), 0);
	assert_int_equal(n, RN_STORE_RELAYS_MAX);
	assert_string_equal(v[RN_STORE_RELAYS_MAX - 1].name, "r7");

	/* remove: an unknown name is refused; a known one goes, the order of the rest kept */
	before = audit_count(store);
	assert_int_equal(rn_store_relay_remove(store, "admin:t", "nope", NOW), -ENOENT);
	assert_non_null(strstr(rn_store_errmsg(store), "no relay \"nope\""));
	assert_int_equal(audit_count(store), before);
	assert_int_equal(rn_store_relay_remove(store, "admin:t", "r3", NOW), 0);
	assert_int_equal(audit_count(store), before + 1);
	assert_int_equal(rn_store_relay_list(store, v, &n), 0);
	assert_int_equal(n, RN_STORE_RELAYS_MAX - 1);
	assert_string_equal(v[1].name, "r2");
	assert_string_equal(v[2].name, "r4");

	/* the generic setting path cannot write the list past the checks */
	assert_int_equal(rn_store_setting_set(store, "admin:t", "relays", "[]", NOW), -EINVAL);
	rn_test_store_remove(dir, store);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_make),
		cmocka_unit_test(test_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
