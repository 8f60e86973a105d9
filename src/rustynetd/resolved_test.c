/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the systemd-resolved integration's pure half: when the host's lookups go
 * through resolved, the link settings for a map (search domain, reverse zones, "~." and
 * DefaultRoute in protected mode), their comparison, and the error of an absent bus. The calls
 * against a real resolved are in tests/integration/dns-resolved.sh.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rustynetd/resolved.h"

static void test_fronts_system(void **state)
{
	static const struct {
		const char *conf, *nss;
		bool want;
	} cases[] = {
		{ "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n", NULL, true },
		{ "# stub\n  nameserver\t127.0.0.54\n", NULL, true },
		{ "nameserver 192.0.2.53\n", "hosts: files dns\n", false },
		{ "nameserver 192.0.2.53\n",
		  "hosts:          files resolve [!UNAVAIL=return] dns\n", true },
		{ "nameserver 192.0.2.53\n", "hosts: files mymachines resolve\n", true },
		{ "nameserver 192.0.2.53\n", "# hosts: files resolve\nhosts: files dns\n", false },
		{ "nameserver 192.0.2.53\n", "hosts: files dns # resolve later\n", false },
		{ "nameserver 192.0.2.53\n", "hosts: files resolver\n", false },
		{ "nameserver 127.0.0.530\n", NULL, false },
		{ "# nameserver 127.0.0.53\nnameserver 10.0.0.1\n", NULL, false },
		{ "search 127.0.0.53\n", NULL, false },
		{ "nameserver 127.0.0.53", NULL, true }, /* no final newline */
		{ NULL, NULL, false },
		{ "", "", false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = rn_resolved_fronts_system(cases[i].conf, cases[i].nss);

		if (got != cases[i].want)
			fail_msg("case %zu (%s | %s): got %d", i, cases[i].conf, cases[i].nss, got);
	}
}

static struct rn_netmap *map(void)
{
	static struct rn_netmap m;

	memset(&m, 0, sizeof(m));
	strcpy(m.domain, "corp.example");
	/* fd7a:115c:a1e0::/48 */
	inet_pton(AF_INET6, "fd7a:115c:a1e0::2", m.self.ipv6);
	return &m;
}

static const struct rn_resolved_domain *find(const struct rn_resolved_link *l, const char *name)
{
	for (size_t i = 0; i < l->n_domains; i++)
		if (!strcmp(l->domains[i].name, name))
			return &l->domains[i];
	return NULL;
}

static void test_link_for(void **state)
{
	struct rn_resolved_link l;
	char dns[INET_ADDRSTRLEN];
	const struct rn_resolved_domain *d;

	(void)state;
	assert_int_equal(rn_resolved_link_for(map(), false, &l), 0);
	assert_int_equal(l.n_dns, 1);
	assert_string_equal(inet_ntop(AF_INET, l.dns[0].addr, dns, sizeof(dns)), "100.100.100.100");
	assert_false(l.default_route);
	assert_int_equal(l.n_domains, 1 + 64 + 1);
	d = find(&l, "corp.example");
	assert_non_null(d);
	assert_false(d->routing); /* a search domain: `ping nas` works */
	for (int x = 64; x <= 127; x++) {
		char name[64];

		snprintf(name, sizeof(name), "%d.100.in-addr.arpa", x);
		d = find(&l, name);
		assert_non_null(d);
		assert_true(d->routing);
	}
	assert_null(find(&l, "63.100.in-addr.arpa"));
	assert_null(find(&l, "128.100.in-addr.arpa"));
	d = find(&l, "0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa");
	assert_non_null(d);
	assert_true(d->routing);
	assert_null(find(&l, "."));

	assert_int_equal(rn_resolved_link_for(map(), true, &l), 0);
	assert_true(l.default_route);
	assert_int_equal(l.n_domains, 1 + 64 + 1 + 1);
	d = find(&l, ".");
	assert_non_null(d);
	assert_true(d->routing); /* "~.": every name */
}

static void test_link_equal(void **state)
{
	struct rn_resolved_link a, b;

	(void)state;
	assert_int_equal(rn_resolved_link_for(map(), false, &a), 0);
	b = a;
	assert_true(rn_resolved_link_equal(&a, &b));
	/* resolved may list them in another order */
	b.domains[0] = a.domains[5];
	b.domains[5] = a.domains[0];
	assert_true(rn_resolved_link_equal(&a, &b));
	b = a;
	b.domains[0].routing = true; /* "~corp.example" is not a search domain */
	assert_false(rn_resolved_link_equal(&a, &b));
	b = a;
	b.default_route = true;
	assert_false(rn_resolved_link_equal(&a, &b));
	b = a;
	b.dns[0].addr[3] = 101;
	assert_false(rn_resolved_link_equal(&a, &b));
	b = a;
	b.n_domains--;
	assert_false(rn_resolved_link_equal(&a, &b));
	assert_int_equal(rn_resolved_link_for(map(), true, &b), 0);
	assert_false(rn_resolved_link_equal(&a, &b));
}

static void test_domain_too_long(void **state)
{
	struct rn_resolved_link l;
	struct rn_netmap *m = map();

	(void)state;
	memset(m->domain, 'a', sizeof(m->domain) - 1);
	m->domain[sizeof(m->domain) - 1] = '\0';
	if (sizeof(m->domain) > RN_RESOLVED_DOMAIN_MAX)
		assert_int_equal(rn_resolved_link_for(m, false, &l), -ENAMETOOLONG);
	else
		assert_int_equal(rn_resolved_link_for(m, false, &l), 0);
}

static void test_no_bus(void **state)
{
	struct rn_resolved *r = (struct rn_resolved *)1;
	char why[256] = "";

	(void)state;
	setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/rustynet-test/bus", 1);
	assert_true(rn_resolved_open(&r, why, sizeof(why)) < 0);
	assert_null(r);
	assert_non_null(strstr(why, "cannot connect to the system bus"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fronts_system), cmocka_unit_test(test_link_for),
		cmocka_unit_test(test_link_equal),    cmocka_unit_test(test_domain_too_long),
		cmocka_unit_test(test_no_bus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
