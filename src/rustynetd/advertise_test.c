/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for what a node may advertise: the CIDR checks and their messages, the sorted
 * route set, the JSON form and STATE/advertise.json (mode, round trip, damaged files).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "rustynetd/advertise.h"

static struct rn_filter_prefix P(const char *s) {
	struct rn_filter_prefix p;

	assert_int_equal(rn_filter_prefix_parse(s, &p), 0);
	return p;
}

static void
test_cidr_checks(void **state)
{
	static const struct {
		const char *in, *why;
	} bad[] = {
		{ "192.168.50.1/24", "host bits set: did you mean 192.168.50.0/24?" },
		{ "192.168.50.0", "not a CIDR" },
		{ "lan", "not a CIDR" },
		{ "", "not a CIDR" },
		{ "192.168.50.0/33", "not a CIDR" },
		{ "0.0.0.0/0", "default route: use --advertise-exit-node" },
		{ "::/0", "default route" },
		{ "100.64.0.0/10", "overlaps the mesh addresses 100.64.0.0/10" },
		{ "100.100.0.0/16", "overlaps the mesh addresses" },
		{ "100.0.0.0/8", "overlaps the mesh addresses" },
		{ "fd7a:115c:a1e0::/48", "overlaps the mesh's IPv6 network fd7a:115c:a1e0::/48" },
		{ "fd7a:115c:a1e0:5::/64", "overlaps the mesh's IPv6" },
		{ "fd7a::/16", "overlaps the mesh's IPv6" },
	};
	static const char *const good[] = { "192.168.50.0/24", "10.0.0.0/8",	"172.16.5.4/32",
					    "100.128.0.0/9",   "2001:db8::/32", "fd00:1::/64" };
	struct rn_filter_prefix mesh6 = P("fd7a:115c:a1e0::/48"), p;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_false(rn_advertise_cidr_parse(bad[i].in, &mesh6, &p, err, sizeof(err)));
		if (!strstr(err, bad[i].why))
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].in, err, bad[i].why);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(rn_advertise_cidr_parse(good[i], &mesh6, &p, err, sizeof(err)));
	/* The /48 is checked only when known. */
	assert_true(rn_advertise_cidr_parse("fd7a:115c:a1e0::/48", NULL, &p, err, sizeof(err)));
}

static void test_set(void **state)
{
	struct rn_advertise a = { 0 }, b = { 0 };
	struct rn_filter_prefix x = P("192.168.60.0/24"), y = P("192.168.50.0/24"),
				z = P("2001:db8::/32");
	json_t *j;
	char *s;

	(void)state;
	assert_int_equal(rn_advertise_add(&a, &x), 0);
	assert_int_equal(rn_advertise_add(&a, &z), 0);
	assert_int_equal(rn_advertise_add(&a, &y), 0);
	assert_int_equal(rn_advertise_add(&a, &y), -EEXIST);
	assert_int_equal(a.n_routes, 3);
	j = rn_advertise_routes_json(&a);
	s = json_dumps(j, JSON_COMPACT);
	assert_string_equal(s, "[\"192.168.50.0/24\",\"192.168.60.0/24\",\"2001:db8::/32\"]");
	free(s);
	json_decref(j);
	assert_int_equal(rn_advertise_add(&b, &y), 0);
	assert_int_equal(rn_advertise_add(&b, &z), 0);
	assert_int_equal(rn_advertise_add(&b, &x), 0);
	assert_true(rn_advertise_equal(&a, &b));
	b.exit = true;
	assert_false(rn_advertise_equal(&a, &b));
	assert_int_equal(rn_advertise_remove(&a, &x), 0);
	assert_int_equal(rn_advertise_remove(&a, &x), -ENOENT);
	assert_int_equal(a.n_routes, 2);
	memset(&a, 0, sizeof(a));
	for (unsigned i = 0; i < RN_ADVERTISE_MAX_ROUTES; i++) {
		uint8_t addr[4] = { 10, (uint8_t)(i >> 8), (uint8_t)i, 0 };
		struct rn_filter_prefix p;

		rn_filter_prefix_make(&p, AF_INET, addr, 24);
		assert_int_equal(rn_advertise_add(&a, &p), 0);
	}
	assert_int_equal(rn_advertise_add(&a, &x), -ENOSPC);
}

static void test_file(void **state)
{
	char dir[] = "/tmp/rn-advertise-test.XXXXXX", path[128], err[256];
	struct rn_advertise a = { .exit = true }, back;
	struct rn_filter_prefix y = P("192.168.50.0/24");
	static const char *const damaged[] = {
		"",
		"{",
		"[]",
		"{\"exit\":true}",
		"{\"exit\":1,\"routes\":[]}",
		"{\"exit\":true,\"routes\":[\"0.0.0.0/0\"]}",
		"{\"exit\":true,\"routes\":[],\"more\":1}",
	};
	struct stat st;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(rn_advertise_load(dir, &back, err, sizeof(err)), -ENOENT);
	assert_false(back.exit || back.n_routes);
	assert_int_equal(rn_advertise_add(&a, &y), 0);
	assert_int_equal(rn_advertise_save(dir, &a), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, RN_ADVERTISE_FILE);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(rn_advertise_load(dir, &back, err, sizeof(err)), 0);
	assert_true(rn_advertise_equal(&a, &back));
	for (size_t i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(damaged[i], f);
		fclose(f);
		err[0] = '\0';
		assert_int_equal(rn_advertise_load(dir, &back, err, sizeof(err)), -EBADMSG);
		assert_true(err[0] != '\0');
		assert_false(back.exit || back.n_routes);
	}
	unlink(path);
	rmdir(dir);
}

/* A filter's routes as the map grants them. */
static void grant(struct rn_filter *f, bool exit, const char *const *routes, size_t n)
{
	memset(f, 0, sizeof(*f));
	f->exit = exit;
	f->routes = calloc(n ? n : 1, sizeof(*f->routes));
	assert_non_null(f->routes);
	for (size_t i = 0; i < n; i++)
		f->routes[i] = P(routes[i]);
	f->n_routes = n;
}

/* A map may grant no more than the node offers: what it offered stays, the rest is refused. */
static void test_restrict(void **state)
{
	static const char *const granted[] = { "192.168.50.0/24", "192.168.50.128/25",
					       "192.168.60.0/24", "10.0.0.0/8", "2001:db8:5::/48" };
	struct rn_filter_prefix want;
	struct rn_advertise offered = { 0 };
	struct rn_advertise_refused ref;
	struct rn_filter f;

	(void)state;
	/* Nothing offered: exit and every route refused. */
	grant(&f, true, granted, 5);
	rn_advertise_restrict(&offered, &f, &ref);
	assert_false(f.exit);
	assert_int_equal(f.n_routes, 0);
	assert_true(ref.exit);
	assert_int_equal(ref.n_routes, 5);
	assert_true(rn_advertise_refused_any(&ref));
	rn_filter_free(&f);

	/* 192.168.50.0/24 and 2001:db8::/32 offered, exit not. */
	want = P("192.168.50.0/24");
	assert_int_equal(rn_advertise_add(&offered, &want), 0);
	want = P("2001:db8::/32");
	assert_int_equal(rn_advertise_add(&offered, &want), 0);
	grant(&f, true, granted, 5);
	rn_advertise_restrict(&offered, &f, &ref);
	assert_false(f.exit);
	assert_true(ref.exit);
	assert_int_equal(f.n_routes, 3); /* the /24, the /25 inside it, the /48 inside the /32 */
	assert_true(rn_filter_prefix_equal(&f.routes[0], &offered.routes[0]));
	want = P("192.168.50.128/25");
	assert_true(rn_filter_prefix_equal(&f.routes[1], &want));
	want = P("2001:db8:5::/48");
	assert_true(rn_filter_prefix_equal(&f.routes[2], &want));
	assert_int_equal(ref.n_routes, 2);
	want = P("192.168.60.0/24");
	assert_true(rn_filter_prefix_equal(&ref.routes[0], &want));
	/* 10.0.0.0/8 is wider than anything offered: refused, not narrowed. */
	want = P("10.0.0.0/8");
	assert_true(rn_filter_prefix_equal(&ref.routes[1], &want));
	rn_filter_free(&f);

	/* Exit offered and granted; a route offered but not granted is simply not there. */
	offered.exit = true;
	grant(&f, true, granted, 1);
	rn_advertise_restrict(&offered, &f, &ref);
	assert_true(f.exit);
	assert_int_equal(f.n_routes, 1);
	assert_false(rn_advertise_refused_any(&ref));
	rn_filter_free(&f);

	/* An offer the map does not grant grants nothing. */
	grant(&f, false, NULL, 0);
	rn_advertise_restrict(&offered, &f, &ref);
	assert_false(f.exit);
	assert_int_equal(f.n_routes, 0);
	assert_false(rn_advertise_refused_any(&ref));
	rn_filter_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr_checks),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_restrict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
