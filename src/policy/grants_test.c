/* SPDX-License-Identifier: MIT */
/*
 * grants and acls mean the same: random grants, and the acls that say the same, give every
 * node of the test world the same filter, peers, exits and LAN routes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "policy/compile.h"
#include "policy/policy.h"
#include "policy/test_world.h"

static const char *const g_src[] = { "*",
				     "alice",
				     "group:eng",
				     "tag:server",
				     "tag:exit",
				     "autogroup:member",
				     "autogroup:tagged",
				     "autogroup:danger-all",
				     "100.64.0.9/32",
				     "192.168.1.0/24",
				     "bob-laptop" };
static const char *const g_dst[] = { "*",
				     "alice",
				     "bob-laptop",
				     "tag:server",
				     "autogroup:member",
				     "autogroup:tagged",
				     "autogroup:self",
				     "autogroup:internet",
				     "office",
				     "nas",
				     "10.0.0.0/8",
				     "fd00::/8",
				     "100.64.0.0/10" };
/* A grant's "ip" entry and the acl "proto" and PORTS that say the same. */
static const struct {
	const char *ip, *proto, *ports;
} g_ip[] = {
	{ "*", NULL, "*" },
	{ "22", NULL, "22" },
	{ "80-90,443", NULL, "80-90,443" },
	{ "tcp:443", "tcp", "443" },
	{ "udp:53", "udp", "53" },
	{ "icmp:*", "icmp", "*" },
	{ "6:22,80", "6", "22,80" },
	{ "ipv6-icmp:*", "ipv6-icmp", "*" },
	{ "TCP:*", "TCP", "*" },
	{ "gre:*", "gre", "*" },
	{ "sctp:9", "sctp", "9" },
};
static const char *const g_via[] = { NULL, "exit-a", "tag:router" };

#define PICK(v) (v)[(unsigned)rand() % (sizeof(v) / sizeof((v)[0]))]

/* Everything one node's netmap would carry, as text. */
static void netmap_text(const struct rn_policy *pol, uint64_t id, char *buf, size_t len)
{
	struct rn_filter f = { 0 };
	struct rn_policy_routes routes = { 0 };
	uint64_t ids[10];
	size_t n, o = 0;

	assert_int_equal(rn_policy_compile_filter(pol, &world, id, &f), 0);
	for (size_t i = 0; i < f.n_rules && o < len; i++) {
		rn_filter_rule_format(&f.rules[i], buf + o, len - o);
		o += strlen(buf + o);
		o += (size_t)snprintf(buf + o, len - o, "; ");
	}
	rn_filter_free(&f);
	assert_int_equal(rn_policy_visible_peers(pol, &world, id, ids, &n), 0);
	for (size_t i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "peer %s; ", name_of(ids[i]));
	assert_int_equal(rn_policy_exit_nodes_for(pol, &world, id, ids, &n), 0);
	for (size_t i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "exit %s; ", name_of(ids[i]));
	assert_int_equal(rn_policy_lan_routes_for(pol, &world, id, &routes), 0);
	for (size_t i = 0; i < routes.n && o < len; i++) {
		char p[RN_FILTER_PREFIX_STRLEN];

		o +=
		    (size_t)snprintf(buf + o, len - o, "route %s=%s; ", name_of(routes.v[i].router),
				     rn_filter_prefix_format(&routes.v[i].prefix, p, sizeof(p)));
	}
	rn_policy_routes_free(&routes);
}

static void append(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t len, const char *fmt, ...)
{
	size_t o = strlen(buf);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf + o, len - o, fmt, ap);
	va_end(ap);
}

/*
 * Property: a random grant and the acls that say the same (one entry per "ip" entry, its
 * protocol and ports on every destination) are both accepted or both refused, and when
 * accepted give every node the same filter, peers, exits and routes.
 */
static void test_grants_equal_acls(void **state)
{
	size_t accepted = 0;

	(void)state;
	srand(20);
	for (int round = 0; round < 400; round++) {
		char grant[1024] = HEAD " \"grants\": [{\"src\": [",
		     acls[2048] = HEAD " \"acls\": [";
		const char *src[2] = { PICK(g_src), PICK(g_src) },
			   *dst[2] = { PICK(g_dst), PICK(g_dst) };
		const char *via = PICK(g_via);
		size_t ip[2] = { (unsigned)rand() % (sizeof(g_ip) / sizeof(g_ip[0])),
				 (unsigned)rand() % (sizeof(g_ip) / sizeof(g_ip[0])) };
		size_t n_ip = 1 + (unsigned)rand() % 2;
		struct rn_policy *pg = NULL, *pa = NULL;
		struct rn_policy_error eg, ea;

		append(grant, sizeof(grant),
		       "\"%s\", \"%s\"], \"dst\": [\"%s\", \"%s\"], \"ip\": [", src[0], src[1],
		       dst[0], dst[1]);
		for (size_t i = 0; i < n_ip; i++) {
			append(grant, sizeof(grant), "%s\"%s\"", i ? ", " : "", g_ip[ip[i]].ip);
			append(acls, sizeof(acls),
			       "%s{\"action\": \"accept\", \"src\": [\"%s\", \"%s\"]",
			       i ? ", " : "", src[0], src[1]);
			if (g_ip[ip[i]].proto)
				append(acls, sizeof(acls), ", \"proto\": \"%s\"",
				       g_ip[ip[i]].proto);
			append(acls, sizeof(acls), ", \"dst\": [\"%s:%s\", \"%s:%s\"]", dst[0],
			       g_ip[ip[i]].ports, dst[1], g_ip[ip[i]].ports);
			if (via)
				append(acls, sizeof(acls), ", \"via\": [\"%s\"]", via);
			append(acls, sizeof(acls), "}");
		}
		append(grant, sizeof(grant), "]");
		if (via)
			append(grant, sizeof(grant), ", \"via\": [\"%s\"]", via);
		append(grant, sizeof(grant), "}]}");
		append(acls, sizeof(acls), "]}");
		int rg = rn_policy_parse(grant, strlen(grant), "g", &pg, &eg);
		int ra = rn_policy_parse(acls, strlen(acls), "a", &pa, &ea);

		if ((rg == 0) != (ra == 0))
			fail_msg("grant %s\n  %s\nacls %s\n  %s", grant, rg ? eg.text : "accepted",
				 acls, ra ? ea.text : "accepted");
		for (size_t m = 0; !rg && m < world.n_nodes; m++) {
			char tg[8192], ta[8192];

			netmap_text(pg, nodes[m].id, tg, sizeof(tg));
			netmap_text(pa, nodes[m].id, ta, sizeof(ta));
			if (strcmp(tg, ta))
				fail_msg("at %s:\n grant %s\n  %s\n acls %s\n  %s", nodes[m].name,
					 grant, tg, acls, ta);
		}
		accepted += !rg;
		rn_policy_free(pg);
		rn_policy_free(pa);
	}
	print_message("400 random grants, %zu accepted, each the same as its acls\n", accepted);
	assert_true(accepted > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grants_equal_acls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
