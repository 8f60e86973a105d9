/* SPDX-License-Identifier: MIT */
/* Unit tests for the compiled filter's matcher, its context classifier and the prefix helpers. */
#include <arpa/inet.h>
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

#include "policy/filter.h"

static struct rn_filter_prefix P(const char *s) {
	struct rn_filter_prefix p;

	if (rn_filter_prefix_parse(s, &p))
		fail_msg("bad prefix in the test: %s", s);
	return p;
}

static void
test_prefix_parse(void **state)
{
	static const struct {
		const char *in;
		int ret;
		const char *out; /* formatted back */
	} cases[] = {
		{ "10.0.0.0/8", 0, "10.0.0.0/8" },
		{ "10.1.2.3", 0, "10.1.2.3/32" },
		{ "0.0.0.0/0", 0, "0.0.0.0/0" },
		{ "fd00::/64", 0, "fd00::/64" },
		{ "fd00::1", 0, "fd00::1/128" },
		{ "::/0", 0, "::/0" },
		{ "::ffff:1.2.3.4", 0, "::ffff:1.2.3.4/128" },
		{ "10.0.0.1/8", -EDOM, "10.0.0.0/8" },
		{ "fd00::1/64", -EDOM, "fd00::/64" },
		{ "10.0.0.0/33", -EINVAL, NULL },
		{ "fd00::/129", -EINVAL, NULL },
		{ "10.0.0.0/", -EINVAL, NULL },
		{ "10.0.0.0/08", -EINVAL, NULL },
		{ "10.0.0.0/-1", -EINVAL, NULL },
		{ "10.0.0.0/+8", -EINVAL, NULL },
		{ "10.0.0/8", -EINVAL, NULL },
		{ "010.0.0.0/8", -EINVAL, NULL },
		{ "256.0.0.0/8", -EINVAL, NULL },
		{ "fe80::1%eth0", -EINVAL, NULL },
		{ "/8", -EINVAL, NULL },
		{ "", -EINVAL, NULL },
		{ "fd00:::1", -EINVAL, NULL },
		{ "1.2.3.4/32/1", -EINVAL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[RN_FILTER_PREFIX_STRLEN];
		struct rn_filter_prefix p;
		int ret = rn_filter_prefix_parse(cases[i].in, &p);

		if (ret != cases[i].ret)
			fail_msg("%s: got %d, want %d", cases[i].in, ret, cases[i].ret);
		if (cases[i].out &&
		    strcmp(rn_filter_prefix_format(&p, text, sizeof(text)), cases[i].out))
			fail_msg("%s: formatted %s, want %s", cases[i].in, text, cases[i].out);
	}
}

static void test_prefix_ops(void **state)
{
	struct rn_filter_prefix a = P("10.0.0.0/8"), b = P("10.1.0.0/16"), c = P("11.0.0.0/8");
	struct rn_filter_prefix v6 = P("fd00::/8"), out;
	uint8_t addr[16];

	(void)state;
	assert_true(rn_filter_prefix_intersect(&a, &b, &out));
	assert_true(rn_filter_prefix_equal(&out, &b));
	assert_true(rn_filter_prefix_intersect(&b, &a, &out));
	assert_true(rn_filter_prefix_equal(&out, &b));
	assert_false(rn_filter_prefix_intersect(&a, &c, &out));
	assert_false(rn_filter_prefix_intersect(&a, &v6, &out));
	inet_pton(AF_INET, "10.255.1.1", addr);
	assert_true(rn_filter_prefix_has(&a, AF_INET, addr));
	assert_false(rn_filter_prefix_has(&b, AF_INET, addr));
	assert_false(rn_filter_prefix_has(&v6, AF_INET, addr));
	inet_pton(AF_INET6, "fdff::1", addr);
	assert_true(rn_filter_prefix_has(&v6, AF_INET6, addr));
	out = P("0.0.0.0/0");
	assert_true(rn_filter_prefix_has(&out, AF_INET, (const uint8_t[4]){ 255, 255, 255, 255 }));
	/* a /12 boundary: 172.16/12 holds 172.31.x, not 172.32.x */
	out = P("172.16.0.0/12");
	assert_true(rn_filter_prefix_has(&out, AF_INET, (const uint8_t[4]){ 172, 31, 9, 9 }));
	assert_false(rn_filter_prefix_has(&out, AF_INET, (const uint8_t[4]){ 172, 32, 0, 0 }));
}

/*
 * A hand-built filter for a node 100.64.0.1 / fd7a::1 that routes 192.168.1.0/24 and the
 * public 203.0.113.0/24 and is an exit node.
 */
static struct rn_filter_prefix src_a[] = { { AF_INET, 32, { 100, 64, 0, 2 } },
					   { AF_INET6, 128, { 0xfd, 0x7a, [15] = 2 } } };
static struct rn_filter_prefix src_d[] = { { AF_INET, 32, { 100, 64, 0, 4 } },
					   { AF_INET6, 128, { 0xfd, 0x7a, [15] = 4 } } };
static struct rn_filter_prefix self_dst[] = { { AF_INET, 32, { 100, 64, 0, 1 } },
					      { AF_INET6, 128, { 0xfd, 0x7a, [15] = 1 } } };
static struct rn_filter_prefix lan_dst[] = { { AF_INET, 24, { 192, 168, 1 } } };
static struct rn_filter_prefix world[] = { { AF_INET, 0, { 0 } }, { AF_INET6, 0, { 0 } } };
static struct rn_filter_prefix routes[] = { { AF_INET, 24, { 192, 168, 1 } },
					    { AF_INET, 24, { 203, 0, 113 } } };
static struct rn_filter_ports p22[] = { { 22, 22 }, { 8000, 8100 } };
static struct rn_filter_ports p_all[] = { { 0, 65535 } };
static struct rn_filter_ports p443[] = { { 443, 443 } };

static struct rn_filter_rule rules[] = {
	{ RN_FILTER_MESH, RN_FILTER_PROTO_TCP, src_a, 2, self_dst, 2, p22, 2 },
	{ RN_FILTER_MESH, RN_FILTER_PROTO_ICMP, src_a, 2, self_dst, 2, p_all, 1 },
	{ RN_FILTER_SUBNET, RN_FILTER_PROTO_ANY, src_a, 2, lan_dst, 1, p443, 1 },
	{ RN_FILTER_EXIT, RN_FILTER_PROTO_UDP, src_a, 2, world, 2, p_all, 1 },
	{ RN_FILTER_MESH, RN_FILTER_PROTO_ANY, src_d, 2, self_dst, 2, p_all, 1 },
};

static const struct rn_filter filter = {
	.self = { { AF_INET, 32, { 100, 64, 0, 1 } }, { AF_INET6, 128, { 0xfd, 0x7a, [15] = 1 } } },
	.n_self = 2,
	.routes = routes,
	.n_routes = 2,
	.exit = true,
	.rules = rules,
	.n_rules = 5,
};

struct probe {
	enum rn_filter_context ctx;
	const char *src, *dst;
	uint8_t proto;
	uint16_t port;
	bool allow;
};

static const struct probe probes[] = {
	{ RN_FILTER_MESH, "100.64.0.2", "100.64.0.1", RN_IPPROTO_TCP, 22, true },
	{ RN_FILTER_MESH, "fd7a::2", "fd7a::1", RN_IPPROTO_TCP, 8050, true },
	{ RN_FILTER_MESH, "100.64.0.2", "100.64.0.1", RN_IPPROTO_TCP, 23, false },
	{ RN_FILTER_MESH, "100.64.0.2", "100.64.0.1", RN_IPPROTO_UDP, 22, false }, /* tcp only */
	{ RN_FILTER_MESH, "100.64.0.3", "100.64.0.1", RN_IPPROTO_TCP, 22, false }, /* other src */
	{ RN_FILTER_MESH, "100.64.0.2", "fd7a::1", RN_IPPROTO_TCP, 22, false },	   /* mixed */
	{ RN_FILTER_MESH, "100.64.0.2", "100.64.0.1", RN_IPPROTO_ICMP, 0, true },
	{ RN_FILTER_MESH, "fd7a::2", "fd7a::1", RN_IPPROTO_ICMPV6, 0, true },
	{ RN_FILTER_MESH, "fd7a::2", "fd7a::1", RN_IPPROTO_ICMP, 0, false }, /* v4 icmp in v6 */
	{ RN_FILTER_MESH, "100.64.0.2", "100.64.0.1", RN_IPPROTO_ICMPV6, 0, false },
	{ RN_FILTER_SUBNET, "100.64.0.2", "192.168.1.9", RN_IPPROTO_TCP, 443, true },
	{ RN_FILTER_SUBNET, "100.64.0.2", "192.168.1.9", RN_IPPROTO_UDP, 443, true }, /* any */
	{ RN_FILTER_SUBNET, "100.64.0.2", "192.168.1.9", RN_IPPROTO_TCP, 444, false },
	/* no proto (Tailscale's TCP, UDP, ICMP): ICMP whatever the ports, nothing else */
	{ RN_FILTER_SUBNET, "100.64.0.2", "192.168.1.9", RN_IPPROTO_ICMP, 0, true },
	{ RN_FILTER_SUBNET, "100.64.0.2", "192.168.1.9", RN_IPPROTO_ICMPV6, 0, false },
	{ RN_FILTER_SUBNET, "100.64.0.2", "192.168.1.9", 47 /* GRE */, 443, false },
	{ RN_FILTER_MESH, "100.64.0.4", "100.64.0.1", RN_IPPROTO_UDP, 9,
	  true }, /* any, all ports */
	{ RN_FILTER_MESH, "fd7a::4", "fd7a::1", RN_IPPROTO_ICMPV6, 0, true },
	{ RN_FILTER_MESH, "100.64.0.4", "100.64.0.1", 47 /* GRE */, 0, false },
	{ RN_FILTER_MESH, "100.64.0.4", "100.64.0.1", 132 /* SCTP */, 9, false },
	{ RN_FILTER_MESH, "fd7a::4", "fd7a::1", 50 /* ESP */, 0, false },
	{ RN_FILTER_SUBNET, "100.64.0.2", "192.168.2.9", RN_IPPROTO_TCP, 443, false },
	{ RN_FILTER_SUBNET, "100.64.0.2", "203.0.113.9", RN_IPPROTO_TCP, 443, false },
	{ RN_FILTER_EXIT, "100.64.0.2", "8.8.8.8", RN_IPPROTO_UDP, 53, true },
	{ RN_FILTER_EXIT, "fd7a::2", "2001:db8::1", RN_IPPROTO_UDP, 53, true },
	{ RN_FILTER_EXIT, "100.64.0.2", "8.8.8.8", RN_IPPROTO_TCP, 53, false },
	{ RN_FILTER_EXIT, "100.64.0.2", "192.168.1.9", RN_IPPROTO_UDP, 53, false }, /* LAN */
	{ RN_FILTER_EXIT, "100.64.0.2", "10.0.0.1", RN_IPPROTO_UDP, 53, false },
	{ RN_FILTER_EXIT, "100.64.0.2", "100.64.0.9", RN_IPPROTO_UDP, 53, false }, /* mesh */
	{ RN_FILTER_EXIT, "100.64.0.2", "169.254.1.1", RN_IPPROTO_UDP, 53, false },
	{ RN_FILTER_EXIT, "100.64.0.2", "127.0.0.1", RN_IPPROTO_UDP, 53, false },
	{ RN_FILTER_EXIT, "100.64.0.2", "224.0.0.251", RN_IPPROTO_UDP, 53, false },
	{ RN_FILTER_EXIT, "100.64.0.2", "203.0.113.9", RN_IPPROTO_UDP, 53, false }, /* own route */
	{ RN_FILTER_EXIT, "fd7a::2", "fd12::1", RN_IPPROTO_UDP, 53, false },	    /* ULA */
	{ RN_FILTER_EXIT, "fd7a::2", "fe80::1", RN_IPPROTO_UDP, 53, false },
	{ RN_FILTER_EXIT, "fd7a::2", "::ffff:10.0.0.1", RN_IPPROTO_UDP, 53, false },
	{ RN_FILTER_EXIT, "fd7a::2", "::1", RN_IPPROTO_UDP, 53, false },
	{ RN_FILTER_MESH, "100.64.0.2", "8.8.8.8", RN_IPPROTO_UDP, 53, false }, /* wrong ctx */
	{ RN_FILTER_NONE, "100.64.0.2", "100.64.0.1", RN_IPPROTO_TCP, 22, false },
};

static int parse_addr(const char *s, uint8_t *addr)
{
	if (inet_pton(AF_INET, s, addr) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, addr) == 1)
		return AF_INET6;
	fail_msg("bad address in the test: %s", s);
	return -1;
}

static void test_allows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		const struct probe *p = &probes[i];
		uint8_t src[16], dst[16];
		int family = parse_addr(p->src, src);

		if (parse_addr(p->dst, dst) != family && p->allow)
			fail_msg("probe %zu mixes families", i);
		if (rn_filter_allows(&filter, p->ctx, family, src, dst, p->proto, p->port) !=
		    p->allow)
			fail_msg("probe %zu: %s -> %s proto %u port %u in context %d: want %s", i,
				 p->src, p->dst, p->proto, p->port, p->ctx,
				 p->allow ? "allow" : "deny");
	}
	/* An empty filter and a NULL one deny. */
	{
		struct rn_filter none = { 0 };
		uint8_t a[4] = { 100, 64, 0, 2 }, b[4] = { 100, 64, 0, 1 };

		assert_false(rn_filter_allows(&none, RN_FILTER_MESH, AF_INET, a, b, 6, 22));
		assert_false(rn_filter_allows(NULL, RN_FILTER_MESH, AF_INET, a, b, 6, 22));
		assert_false(rn_filter_allows(&filter, RN_FILTER_MESH, AF_UNIX, a, b, 6, 22));
	}
}

static void test_context_of(void **state)
{
	static const struct {
		const char *dst;
		enum rn_filter_context want;
	} cases[] = {
		{ "100.64.0.1", RN_FILTER_MESH },      { "fd7a::1", RN_FILTER_MESH },
		{ "192.168.1.200", RN_FILTER_SUBNET }, { "203.0.113.1", RN_FILTER_SUBNET },
		{ "8.8.8.8", RN_FILTER_EXIT },	       { "2001:db8::1", RN_FILTER_EXIT },
		{ "192.168.2.1", RN_FILTER_NONE },     { "100.64.0.2", RN_FILTER_NONE },
		{ "fd7a::2", RN_FILTER_NONE },	       { "10.0.0.1", RN_FILTER_NONE },
	};
	struct rn_filter not_exit = filter;

	(void)state;
	not_exit.exit = false;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t dst[16];
		int family = parse_addr(cases[i].dst, dst);

		if (rn_filter_context_of(&filter, family, dst) != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].dst,
				 rn_filter_context_of(&filter, family, dst), cases[i].want);
	}
	assert_int_equal(rn_filter_context_of(&not_exit, AF_INET, (uint8_t[4]){ 8, 8, 8, 8 }),
			 RN_FILTER_NONE);
}

/*
 * The host's own addresses (issue 12 item 7): the exit's public uplink 198.51.100.7 and
 * 2001:db8:1::7, its LAN address 192.168.1.1 inside its LAN route and 203.0.113.1 inside its
 * public route. Each is this node: MESH, admitted only by a mesh grant to the node.
 */
static const struct rn_filter_prefix host_local[] = {
	{ AF_INET, 32, { 198, 51, 100, 7 } },
	{ AF_INET6, 128, { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 7 } },
	{ AF_INET, 32, { 192, 168, 1, 1 } },
	{ AF_INET, 32, { 203, 0, 113, 1 } },
};

static bool allows_text(const struct rn_filter *f, enum rn_filter_context ctx, const char *src,
			const char *dst, uint8_t proto, uint16_t port)
{
	uint8_t s[16], d[16];
	int family = parse_addr(src, s);

	if (parse_addr(dst, d) != family)
		fail_msg("%s -> %s mixes families", src, dst);
	return rn_filter_allows(f, ctx, family, s, d, proto, port);
}

static enum rn_filter_context context_text(const struct rn_filter *f, const char *dst)
{
	uint8_t d[16];
	int family = parse_addr(dst, d);

	return rn_filter_context_of(f, family, d);
}

static void test_local_addrs(void **state)
{
	struct rn_filter bare = filter, host = filter, v4_only = filter;

	(void)state;
	host.local = host_local;
	host.n_local = sizeof(host_local) / sizeof(host_local[0]);
	v4_only.local = host.local;
	v4_only.n_local = host.n_local;
	v4_only.n_self = 1;
	/* Alive: without the host's addresses, the uplink is internet and the LAN address LAN. */
	assert_int_equal(context_text(&bare, "198.51.100.7"), RN_FILTER_EXIT);
	assert_int_equal(context_text(&bare, "2001:db8:1::7"), RN_FILTER_EXIT);
	assert_int_equal(context_text(&bare, "192.168.1.1"), RN_FILTER_SUBNET);
	assert_int_equal(context_text(&bare, "203.0.113.1"), RN_FILTER_SUBNET);
	assert_true(allows_text(&bare, RN_FILTER_EXIT, "100.64.0.2", "198.51.100.7", 17, 53));
	assert_true(allows_text(&bare, RN_FILTER_SUBNET, "100.64.0.2", "192.168.1.1", 6, 443));

	/* Each local address is MESH; its neighbours keep their contexts. */
	for (size_t i = 0; i < host.n_local; i++) {
		char text[RN_FILTER_PREFIX_STRLEN];

		if (rn_filter_context_of(&host, host_local[i].family, host_local[i].addr) !=
		    RN_FILTER_MESH)
			fail_msg("%s is not MESH",
				 rn_filter_prefix_format(&host_local[i], text, sizeof(text)));
	}
	assert_int_equal(context_text(&host, "198.51.100.8"), RN_FILTER_EXIT);
	assert_int_equal(context_text(&host, "192.168.1.9"), RN_FILTER_SUBNET);
	assert_int_equal(context_text(&host, "100.64.0.1"), RN_FILTER_MESH);

	/* The internet grant (exit udp) and the LAN grant (subnet 443) reach none of them. */
	assert_false(allows_text(&host, RN_FILTER_EXIT, "100.64.0.2", "198.51.100.7", 17, 53));
	assert_false(allows_text(&host, RN_FILTER_EXIT, "fd7a::2", "2001:db8:1::7", 17, 53));
	assert_false(allows_text(&host, RN_FILTER_MESH, "100.64.0.2", "198.51.100.7", 17, 53));
	assert_false(allows_text(&host, RN_FILTER_SUBNET, "100.64.0.2", "192.168.1.1", 6, 443));
	assert_false(allows_text(&host, RN_FILTER_MESH, "100.64.0.2", "192.168.1.1", 6, 443));
	assert_false(allows_text(&host, RN_FILTER_SUBNET, "100.64.0.2", "203.0.113.1", 6, 443));
	/* ...while they still reach their neighbours. */
	assert_true(allows_text(&host, RN_FILTER_EXIT, "100.64.0.2", "198.51.100.8", 17, 53));
	assert_true(allows_text(&host, RN_FILTER_SUBNET, "100.64.0.2", "192.168.1.9", 6, 443));

	/* The mesh grant to the node (tcp 22, 8000-8100; icmp) admits them, on its terms only. */
	assert_true(allows_text(&host, RN_FILTER_MESH, "100.64.0.2", "198.51.100.7", 6, 22));
	assert_true(allows_text(&host, RN_FILTER_MESH, "100.64.0.2", "192.168.1.1", 6, 8050));
	assert_true(allows_text(&host, RN_FILTER_MESH, "fd7a::2", "2001:db8:1::7", 6, 22));
	assert_true(allows_text(&host, RN_FILTER_MESH, "100.64.0.2", "203.0.113.1", 1, 0));
	assert_false(allows_text(&host, RN_FILTER_MESH, "100.64.0.2", "198.51.100.7", 6, 23));
	assert_false(allows_text(&host, RN_FILTER_MESH, "100.64.0.3", "198.51.100.7", 6, 22));
	assert_false(allows_text(&host, RN_FILTER_EXIT, "100.64.0.2", "198.51.100.7", 6, 22));
	/* No mesh address of that family: nothing reaches a local address of it. */
	assert_true(allows_text(&v4_only, RN_FILTER_MESH, "100.64.0.2", "198.51.100.7", 6, 22));
	assert_false(allows_text(&v4_only, RN_FILTER_MESH, "fd7a::2", "2001:db8:1::7", 6, 22));
}

static void test_format(void **state)
{
	char buf[256], small[10];
	int n;

	(void)state;
	n = rn_filter_rule_format(&rules[0], buf, sizeof(buf));

	assert_int_equal(n, (int)strlen(buf));
	assert_string_equal(buf, "mesh tcp 100.64.0.2/32,fd7a::2/128 -> 100.64.0.1/32,fd7a::1/128 "
				 "ports 22,8000-8100");
	rn_filter_rule_format(&rules[3], buf, sizeof(buf));
	assert_string_equal(buf, "exit udp 100.64.0.2/32,fd7a::2/128 -> 0.0.0.0/0,::/0");
	/* Too small: cut, terminated, and the length needed is still returned. */
	assert_int_equal(rn_filter_rule_format(&rules[3], small, sizeof(small)), (int)strlen(buf));
	assert_string_equal(small, "exit udp ");
}

/* Aggregation keeps exactly the same address set, and shrinks runs of node addresses. */
static bool covered(const struct rn_filter_prefix *v, size_t n, int family, const uint8_t *a)
{
	for (size_t i = 0; i < n; i++)
		if (rn_filter_prefix_has(&v[i], family, a))
			return true;
	return false;
}

static void test_aggregate(void **state)
{
	struct rn_filter_prefix v[64], orig[64];
	unsigned seed = 7;
	uint8_t a[16] = { 0 };

	(void)state;
	/* 100.64.0.0 .. .7 as /32s, shuffled, plus a covered /32 inside 10.0.0.0/8 */
	for (int i = 0; i < 8; i++) {
		uint8_t ip[4] = { 100, 64, 0, (uint8_t)((i * 5) % 8) };

		rn_filter_prefix_make(&v[i], AF_INET, ip, 32);
	}
	rn_filter_prefix_make(&v[8], AF_INET, (uint8_t[4]){ 10, 0, 0, 0 }, 8);
	rn_filter_prefix_make(&v[9], AF_INET, (uint8_t[4]){ 10, 9, 9, 9 }, 32);
	assert_int_equal(rn_filter_prefixes_aggregate(v, 10), 2);
	assert_int_equal(v[0].len, 8);
	assert_int_equal(v[1].len, 29);
	assert_int_equal(v[1].addr[3], 0);
	/* random sets of v4 and v6 host and short prefixes: membership unchanged */
	for (int round = 0; round < 200; round++) {
		size_t n = 1 + (size_t)(rand_r(&seed) % 64), m;

		for (size_t i = 0; i < n; i++) {
			int fam = rand_r(&seed) % 3 ? AF_INET : AF_INET6;
			uint8_t ip[16] = { 100, 64, 0, (uint8_t)(rand_r(&seed) % 16) };

			ip[15] = (uint8_t)(rand_r(&seed) % 16);
			rn_filter_prefix_make(&v[i], fam, ip,
					      (unsigned)(fam == AF_INET ? 26 + rand_r(&seed) % 7
									: 122 + rand_r(&seed) % 7));
		}
		memcpy(orig, v, n * sizeof(v[0]));
		m = rn_filter_prefixes_aggregate(v, n);
		assert_true(m >= 1 && m <= n);
		for (int x = 0; x < 64; x++) {
			a[0] = 100, a[1] = 64, a[2] = 0, a[3] = (uint8_t)x;
			assert_int_equal(covered(v, m, AF_INET, a), covered(orig, n, AF_INET, a));
			memset(a, 0, sizeof(a));
			a[0] = 100, a[1] = 64, a[3] = (uint8_t)(x % 16), a[15] = (uint8_t)x;
			assert_int_equal(covered(v, m, AF_INET6, a), covered(orig, n, AF_INET6, a));
		}
		for (size_t i = 0; i + 1 < m; i++) /* nothing left that a neighbour covers */
			assert_false(rn_filter_prefix_has(&v[i], v[i + 1].family, v[i + 1].addr) &&
				     v[i].len <= v[i + 1].len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_parse), cmocka_unit_test(test_prefix_ops),
		cmocka_unit_test(test_allows),	     cmocka_unit_test(test_context_of),
		cmocka_unit_test(test_local_addrs),  cmocka_unit_test(test_format),
		cmocka_unit_test(test_aggregate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
