/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the data-plane packet filter: 5-tuple parsing of crafted and broken packets,
 * rule verdicts, and the flow table (replies, echo replies, ICMP errors, expiry, eviction).
 * Every packet is copied into a buffer of exactly its length so ASan sees any overread, and
 * comes from the peer whose allowed IPs hold its source, as the receive path makes sure.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "wg/allowedips.h"
#include "wg/pktfilter.h"

#define S(x) ((uint64_t)(x)*1000000000ULL)

enum { TCP = 6, UDP = 17, ICMP = 1, ICMP6 = 58 };

static const char *const ME = "100.64.0.1", *const FRIEND = "100.64.0.3",
			 *const OTHER = "100.64.0.4", *const SERVER = "100.64.0.9";

/*
 * The peers and their allowed IPs. SERVER has a LAN behind it with a router (10.0.0.1) and
 * another address (fd7a::77); EXIT is the exit node, so the internet is behind it.
 */
static char peer_tokens[4];
#define PEER_FRIEND (&peer_tokens[0])
#define PEER_OTHER  (&peer_tokens[1])
#define PEER_SERVER (&peer_tokens[2])
#define PEER_EXIT   (&peer_tokens[3])
static const struct {
	const char *addr;
	uint8_t cidr;
	void *peer;
} route_table[] = {
	{ "100.64.0.3", 32, PEER_FRIEND }, { "fd7a::3", 128, PEER_FRIEND },
	{ "100.64.0.4", 32, PEER_OTHER },  { "fd7a::4", 128, PEER_OTHER },
	{ "100.64.0.9", 32, PEER_SERVER }, { "10.0.0.0", 24, PEER_SERVER },
	{ "fd7a::9", 128, PEER_SERVER },   { "fd7a::77", 128, PEER_SERVER },
	{ "0.0.0.0", 0, PEER_EXIT },	   { "::", 0, PEER_EXIT },
};
static struct rn_allowedips routes;

/* ---- packet builders ---- */

static size_t l4_ports(uint8_t *l4, uint16_t sport, uint16_t dport, size_t len)
{
	memset(l4, 0, len);
	l4[0] = (uint8_t)(sport >> 8);
	l4[1] = (uint8_t)sport;
	l4[2] = (uint8_t)(dport >> 8);
	l4[3] = (uint8_t)dport;
	return len;
}

static size_t l4_icmp(uint8_t *l4, uint8_t type, uint16_t id)
{
	memset(l4, 0, 8);
	l4[0] = type;
	l4[4] = (uint8_t)(id >> 8);
	l4[5] = (uint8_t)id;
	return 8;
}

static size_t v4(uint8_t *p, uint8_t proto, const char *src, const char *dst, const uint8_t *l4,
		 size_t l4_len)
{
	size_t tot = 20 + l4_len;

	memset(p, 0, 20);
	p[0] = 0x45;
	p[2] = (uint8_t)(tot >> 8);
	p[3] = (uint8_t)tot;
	p[8] = 64;
	p[9] = proto;
	assert_int_equal(inet_pton(AF_INET, src, p + 12), 1);
	assert_int_equal(inet_pton(AF_INET, dst, p + 16), 1);
	memmove(p + 20, l4, l4_len);
	return tot;
}

static size_t v4_tcp(uint8_t *p, const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	uint8_t l4[20];

	return v4(p, TCP, src, dst, l4, l4_ports(l4, sport, dport, 20));
}

static size_t v4_udp(uint8_t *p, const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	uint8_t l4[12];

	return v4(p, UDP, src, dst, l4, l4_ports(l4, sport, dport, 12));
}

static size_t v4_icmp(uint8_t *p, const char *src, const char *dst, uint8_t type, uint16_t id)
{
	uint8_t l4[8];

	return v4(p, ICMP, src, dst, l4, l4_icmp(l4, type, id));
}

/* payload starts with whatever extension headers the caller put there. */
static size_t v6(uint8_t *p, uint8_t nh, const char *src, const char *dst, const uint8_t *payload,
		 size_t len)
{
	memset(p, 0, 40);
	p[0] = 0x60;
	p[4] = (uint8_t)(len >> 8);
	p[5] = (uint8_t)len;
	p[6] = nh;
	p[7] = 64;
	assert_int_equal(inet_pton(AF_INET6, src, p + 8), 1);
	assert_int_equal(inet_pton(AF_INET6, dst, p + 24), 1);
	memmove(p + 40, payload, len);
	return 40 + len;
}

/* ---- the filter under test: tcp/22 from 100.64.0.3 to this node ---- */

static struct rn_filter_prefix P(const char *s) {
	struct rn_filter_prefix p;

	if (rn_filter_prefix_parse(s, &p))
		fail_msg("bad prefix in the test: %s", s);
	return p;
}

static struct rn_filter_prefix rule_src[2],
    rule_dst[2];
static struct rn_filter_ports rule_ports[1] = { { 22, 22 } };
static struct rn_filter_rule rules[1];
static struct rn_filter filter;
static struct rn_flowtable ft;

static int setup(void **state)
{
	(void)state;
	rule_src[0] = P("100.64.0.3");
	rule_src[1] = P("fd7a::3");
	rule_dst[0] = P("100.64.0.1");
	rule_dst[1] = P("fd7a::1");
	rules[0] = (struct rn_filter_rule){ .context = RN_FILTER_MESH,
					    .proto = RN_FILTER_PROTO_TCP,
					    .src = rule_src,
					    .n_src = 2,
					    .dst = rule_dst,
					    .n_dst = 2,
					    .ports = rule_ports,
					    .n_ports = 1 };
	filter = (struct rn_filter){ .n_self = 2, .rules = rules, .n_rules = 1 };
	filter.self[0] = P("100.64.0.1");
	filter.self[1] = P("fd7a::1");
	rn_allowedips_init(&routes);
	for (size_t i = 0; i < sizeof(route_table) / sizeof(route_table[0]); i++) {
		int family = strchr(route_table[i].addr, ':') ? AF_INET6 : AF_INET;
		uint8_t a[16];

		assert_int_equal(inet_pton(family, route_table[i].addr, a), 1);
		assert_int_equal(rn_allowedips_insert(&routes, family, a, route_table[i].cidr,
						      route_table[i].peer),
				 0);
	}
	return rn_flowtable_init(&ft, 64);
}

static int teardown(void **state)
{
	(void)state;
	rn_flowtable_free(&ft);
	rn_allowedips_free(&routes);
	return 0;
}

/* The verdict on pkt from peer, read from a buffer of exactly len bytes. */
static bool in_from(void *peer, const uint8_t *pkt, size_t len, uint64_t now)
{
	uint8_t *copy = malloc(len ? len : 1);
	bool ok;

	memcpy(copy, pkt, len);
	ok = rn_pktfilter_allows(&filter, &ft, &routes, peer, copy, len, now);
	free(copy);
	return ok;
}

/* The peer the receive path would have decrypted pkt from: the one routed its source. */
static void *sender_of(const uint8_t *pkt, size_t len)
{
	if (len >= 20 && pkt[0] >> 4 == 4)
		return rn_allowedips_lookup(&routes, AF_INET, pkt + 12);
	if (len >= 40 && pkt[0] >> 4 == 6)
		return rn_allowedips_lookup(&routes, AF_INET6, pkt + 8);
	return NULL;
}

static bool in(const uint8_t *pkt, size_t len, uint64_t now)
{
	return in_from(sender_of(pkt, len), pkt, len, now);
}

static void out(struct rn_flowtable *t, const uint8_t *pkt, size_t len, uint64_t now)
{
	uint8_t *copy = malloc(len ? len : 1);

	memcpy(copy, pkt, len);
	rn_flowtable_record(t, copy, len, now);
	free(copy);
}

static bool parse(const uint8_t *pkt, size_t len, struct rn_pkt_tuple *t)
{
	uint8_t *copy = malloc(len ? len : 1);
	bool ok;

	memcpy(copy, pkt, len);
	ok = rn_pkt_parse(copy, len, t);
	free(copy);
	return ok;
}

/* ---- parsing ---- */

static void test_parse_v4(void **state)
{
	struct rn_pkt_tuple t;
	uint8_t p[128];
	size_t n;

	(void)state;
	n = v4_tcp(p, FRIEND, ME, 40000, 22);
	assert_true(parse(p, n, &t));
	assert_int_equal(t.family, AF_INET);
	assert_int_equal(t.proto, TCP);
	assert_true(t.has_l4 && t.has_ports);
	assert_int_equal(t.sport, 40000);
	assert_int_equal(t.dport, 22);
	assert_memory_equal(t.src, ((uint8_t[]){ 100, 64, 0, 3 }), 4);
	assert_memory_equal(t.dst, ((uint8_t[]){ 100, 64, 0, 1 }), 4);

	n = v4_udp(p, FRIEND, ME, 53, 5353);
	assert_true(parse(p, n, &t));
	assert_int_equal(t.proto, UDP);
	assert_int_equal(t.dport, 5353);

	n = v4_icmp(p, FRIEND, ME, 8, 0x1234);
	assert_true(parse(p, n, &t));
	assert_int_equal(t.proto, ICMP);
	assert_int_equal(t.icmp_type, 8);
	assert_true(t.has_ports);
	assert_int_equal(t.sport, 0x1234);

	/* Trailing bytes past the IP length (padding) are ignored, not read as payload. */
	n = v4_tcp(p, FRIEND, ME, 1, 2);
	assert_true(parse(p, n + 30, &t));
	assert_int_equal(t.l4_len, 20);

	/* A later fragment has no ports; a first one does. */
	n = v4_tcp(p, FRIEND, ME, 40000, 22);
	p[6] = 0x20; /* MF, offset 0 */
	assert_true(parse(p, n, &t));
	assert_true(t.has_ports);
	p[6] = 0x00;
	p[7] = 0x10; /* offset 16 * 8 */
	assert_true(parse(p, n, &t));
	assert_false(t.has_l4);
	assert_false(t.has_ports);
}

static void test_parse_v6(void **state)
{
	struct rn_pkt_tuple t;
	uint8_t pl[128], p[256];
	size_t n;

	(void)state;
	/* hop-by-hop (8) -> destination options (16) -> fragment, offset 0 -> TCP */
	memset(pl, 0, sizeof(pl));
	pl[0] = 60;
	pl[1] = 0;
	pl[8] = 44;
	pl[9] = 1;
	pl[24] = TCP;
	l4_ports(pl + 32, 40000, 22, 20);
	n = v6(p, 0, "fd7a::3", "fd7a::1", pl, 52);
	assert_true(parse(p, n, &t));
	assert_int_equal(t.family, AF_INET6);
	assert_int_equal(t.proto, TCP);
	assert_true(t.has_ports);
	assert_int_equal(t.dport, 22);

	/* The same, a later fragment. */
	pl[26] = 0x01;
	assert_true(parse(p, v6(p, 0, "fd7a::3", "fd7a::1", pl, 52), &t));
	assert_int_equal(t.proto, TCP);
	assert_false(t.has_l4);

	/* An extension header claiming more than is there. */
	pl[9] = 20;
	pl[26] = 0;
	assert_false(parse(p, v6(p, 0, "fd7a::3", "fd7a::1", pl, 52), &t));

	/* Nine destination-options headers: too deep to find ports, but not malformed. */
	memset(pl, 0, sizeof(pl));
	for (int i = 0; i < 9; i++)
		pl[i * 8] = 60;
	pl[8 * 8] = UDP;
	n = v6(p, 60, "fd7a::3", "fd7a::1", pl, 9 * 8 + 8);
	assert_true(parse(p, n, &t));
	assert_false(t.has_l4);

	/* ICMPv6 echo request. */
	n = v6(p, ICMP6, "fd7a::3", "fd7a::1", pl, l4_icmp(pl, 128, 99));
	assert_true(parse(p, n, &t));
	assert_int_equal(t.proto, ICMP6);
	assert_true(t.has_ports);
	assert_int_equal(t.sport, 99);
}

/* Every prefix of a valid packet, and some broken headers: refused, never read past. */
static void test_parse_truncated(void **state)
{
	struct rn_pkt_tuple t;
	uint8_t pl[64], p[128];
	size_t n;

	(void)state;
	n = v4_tcp(p, FRIEND, ME, 40000, 22);
	for (size_t len = 0; len < n; len++) {
		assert_false(parse(p, len, &t));
		assert_false(in(p, len, 0));
	}
	memset(pl, 0, sizeof(pl));
	pl[0] = TCP;
	l4_ports(pl + 8, 40000, 22, 20);
	n = v6(p, 0, "fd7a::3", "fd7a::1", pl, 28);
	for (size_t len = 0; len < n; len++)
		assert_false(parse(p, len, &t));

	n = v4_tcp(p, FRIEND, ME, 40000, 22);
	p[0] = 0x44; /* IHL 16 */
	assert_false(parse(p, n, &t));
	p[0] = 0x4f; /* IHL 60: more than the packet */
	assert_false(parse(p, n, &t));
	p[0] = 0x55; /* version 5 */
	assert_false(parse(p, n, &t));
	p[0] = 0x45;
	p[2] = 0;
	p[3] = 10; /* total length under the header */
	assert_false(parse(p, n, &t));

	/* A TCP header cut short inside a well-formed IP packet: parsed, but no ports. */
	n = v4(p, TCP, FRIEND, ME, (uint8_t[]){ 0x9c, 0x40, 0, 22, 0, 0 }, 6);
	assert_true(parse(p, n, &t));
	assert_false(t.has_ports);
	assert_false(in(p, n, 0));
}

/* Random bytes behind valid-looking first bytes: ASan and UBSan are the judges. */
static void test_parse_garbage(void **state)
{
	uint8_t p[96];

	(void)state;
	srand(1);
	for (int i = 0; i < 200000; i++) {
		size_t len = (size_t)rand() % sizeof(p);

		for (size_t j = 0; j < len; j++)
			p[j] = (uint8_t)rand();
		if (len && i % 2)
			p[0] = (uint8_t)((p[0] & 0x0f) | (i % 4 ? 0x40 : 0x60));
		if (len > 5 && i % 3) {
			p[2] = p[4] = 0;
			p[3] = p[5] = (uint8_t)len;
		}
		(void)in(p, len, (uint64_t)i);
		out(&ft, p, len, (uint64_t)i);
	}
}

/* ---- rule verdicts ---- */

static void test_rules(void **state)
{
	static const struct {
		const char *what;
		uint8_t proto;
		const char *src, *dst;
		uint16_t dport;
		bool allowed;
	} cases[] = {
		{ "tcp/22 from the friend", TCP, "100.64.0.3", "100.64.0.1", 22, true },
		{ "tcp/23", TCP, "100.64.0.3", "100.64.0.1", 23, false },
		{ "udp/22", UDP, "100.64.0.3", "100.64.0.1", 22, false },
		{ "icmp echo", ICMP, "100.64.0.3", "100.64.0.1", 0, false },
		{ "tcp/22 from another", TCP, "100.64.0.4", "100.64.0.1", 22, false },
		{ "tcp/22 to another", TCP, "100.64.0.3", "100.64.0.2", 22, false },
		{ "v6 tcp/22 from the friend", TCP, "fd7a::3", "fd7a::1", 22, true },
		{ "v6 tcp/23", TCP, "fd7a::3", "fd7a::1", 23, false },
		{ "v6 icmp", ICMP6, "fd7a::3", "fd7a::1", 0, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t l4[20], p[128];
		size_t n, l4_len;
		bool six = strchr(cases[i].src, ':');

		if (cases[i].proto == ICMP || cases[i].proto == ICMP6)
			l4_len = l4_icmp(l4, six ? 128 : 8, 1);
		else
			l4_len = l4_ports(l4, 40000, cases[i].dport, 20);
		if (six)
			n = v6(p, cases[i].proto, cases[i].src, cases[i].dst, l4, l4_len);
		else
			n = v4(p, cases[i].proto, cases[i].src, cases[i].dst, l4, l4_len);
		if (in(p, n, 0) != cases[i].allowed)
			fail_msg("%s: expected %s", cases[i].what,
				 cases[i].allowed ? "allow" : "deny");
	}
}

/* A later fragment passes an any-protocol, every-port rule, and no port rule. */
static void test_rules_fragments(void **state)
{
	struct rn_filter_ports all = { 0, 65535 };
	uint8_t p[128];
	size_t n;

	(void)state;
	n = v4_tcp(p, FRIEND, ME, 40000, 22);
	p[7] = 0x10;
	assert_false(in(p, n, 0));
	rules[0].proto = RN_FILTER_PROTO_ANY;
	assert_false(in(p, n, 0));
	rules[0].ports = &all;
	assert_true(in(p, n, 0));
	rules[0].proto = RN_FILTER_PROTO_TCP;
	rules[0].ports = rule_ports;
}

/*
 * No "proto" is Tailscale's TCP, UDP and ICMP: even an every-port rule admits no other protocol,
 * and a whole packet of the reserved protocol 255 does not pass as a later fragment.
 */
static void test_rules_default_protocols(void **state)
{
	struct rn_filter_ports all = { 0, 65535 };
	uint8_t l4[8] = { 0 }, p[128];
	size_t n;

	(void)state;
	rules[0].proto = RN_FILTER_PROTO_ANY;
	rules[0].ports = &all;
	n = v4_udp(p, FRIEND, ME, 53, 5353);
	assert_true(in(p, n, 0));
	n = v4(p, 47 /* GRE */, FRIEND, ME, l4, sizeof(l4));
	assert_false(in(p, n, 0));
	n = v4(p, 255, FRIEND, ME, l4, sizeof(l4));
	assert_false(in(p, n, 0));
	rules[0].proto = RN_FILTER_PROTO_TCP;
	rules[0].ports = rule_ports;
}

static void test_no_filter(void **state)
{
	uint8_t p[128];
	size_t n = v4_udp(p, OTHER, ME, 1, 9);

	(void)state;
	assert_true(rn_pktfilter_allows(NULL, NULL, NULL, NULL, p, n, 0));
	assert_true(rn_pktfilter_allows(NULL, &ft, &routes, PEER_OTHER, p, 3, 0)); /* not parsed */
	assert_false(rn_pktfilter_allows(&filter, NULL, &routes, PEER_OTHER, p, n, 0));
}

/* ---- the flow table ---- */

static void test_flow_reply(void **state)
{
	uint8_t p[128];
	size_t n;
	uint64_t t0 = S(1000);

	(void)state;
	/* Unrelated inbound: denied before and after. */
	assert_false(in(p, v4_tcp(p, SERVER, ME, 443, 40000), t0));
	out(&ft, p, v4_tcp(p, ME, SERVER, 40000, 443), t0);

	n = v4_tcp(p, SERVER, ME, 443, 40000);
	assert_true(in(p, n, t0 + S(1)));
	assert_true(in(p, n, t0 - S(1) / 1000)); /* a receive stamped just before the send */
	assert_true(in(p, n, t0 + S(299)));
	assert_false(in(p, n, t0 + S(300)));
	assert_false(in(p, v4_tcp(p, SERVER, ME, 443, 40001), t0 + S(1)));
	assert_false(in(p, v4_tcp(p, SERVER, ME, 444, 40000), t0 + S(1)));
	assert_false(in(p, v4_tcp(p, OTHER, ME, 443, 40000), t0 + S(1)));
	assert_false(in(p, v4_udp(p, SERVER, ME, 443, 40000), t0 + S(1)));
	/* The same direction as the outbound flow is not a reply. */
	assert_false(in(p, v4_tcp(p, ME, SERVER, 40000, 443), t0 + S(1)));

	/* Sending again refreshes the flow. */
	out(&ft, p, v4_tcp(p, ME, SERVER, 40000, 443), t0 + S(200));
	assert_true(in(p, v4_tcp(p, SERVER, ME, 443, 40000), t0 + S(400)));

	/* UDP lives 2 minutes. */
	out(&ft, p, v4_udp(p, ME, SERVER, 5000, 53), t0);
	n = v4_udp(p, SERVER, ME, 53, 5000);
	assert_true(in(p, n, t0 + S(119)));
	assert_false(in(p, n, t0 + S(120)));

	/* IPv6 too. */
	out(&ft, p, v6(p, UDP, "fd7a::1", "fd7a::9", (uint8_t[8]){ 0x13, 0x88, 0, 53 }, 8), t0);
	assert_true(in(p, v6(p, UDP, "fd7a::9", "fd7a::1", (uint8_t[8]){ 0, 53, 0x13, 0x88 }, 8),
		       t0 + S(1)));
	assert_false(in(p, v6(p, UDP, "fd7a::8", "fd7a::1", (uint8_t[8]){ 0, 53, 0x13, 0x88 }, 8),
			t0 + S(1)));
}

static void test_flow_echo(void **state)
{
	uint8_t l4[8], p[128];
	uint64_t t0 = S(5000);

	(void)state;
	out(&ft, p, v4_icmp(p, ME, SERVER, 8, 7), t0);
	assert_true(in(p, v4_icmp(p, SERVER, ME, 0, 7), t0 + S(1)));
	assert_false(in(p, v4_icmp(p, SERVER, ME, 0, 8), t0 + S(1)));
	assert_false(in(p, v4_icmp(p, SERVER, ME, 8, 7), t0 + S(1))); /* a request, not a reply */
	assert_false(in(p, v4_icmp(p, OTHER, ME, 0, 7), t0 + S(1)));
	assert_false(in(p, v4_icmp(p, SERVER, ME, 0, 7), t0 + S(30)));

	/* An echo reply going out opens nothing. */
	out(&ft, p, v4_icmp(p, ME, OTHER, 0, 9), t0);
	assert_false(in(p, v4_icmp(p, OTHER, ME, 8, 9), t0 + S(1)));
	assert_false(in(p, v4_icmp(p, OTHER, ME, 0, 9), t0 + S(1)));

	out(&ft, p, v6(p, ICMP6, "fd7a::1", "fd7a::9", l4, l4_icmp(l4, 128, 3)), t0);
	assert_true(in(p, v6(p, ICMP6, "fd7a::9", "fd7a::1", l4, l4_icmp(l4, 129, 3)), t0 + S(1)));
	assert_false(in(p, v6(p, ICMP6, "fd7a::9", "fd7a::1", l4, l4_icmp(l4, 129, 4)), t0 + S(1)));
}

/* An ICMP error quoting a packet this node sent: type, code, unused, then the quote. */
static size_t icmp_error(uint8_t *p, bool six, uint8_t type, const char *from, const char *to,
			 const uint8_t *quote, size_t quote_len)
{
	uint8_t l4[128];

	memset(l4, 0, 8);
	l4[0] = type;
	memcpy(l4 + 8, quote, quote_len);
	if (six)
		return v6(p, ICMP6, from, to, l4, 8 + quote_len);
	return v4(p, ICMP, from, to, l4, 8 + quote_len);
}

static void test_flow_icmp_errors(void **state)
{
	uint8_t q[128], p[256];
	uint64_t t0 = S(9000);
	size_t qn;

	(void)state;
	out(&ft, q, v4_udp(q, ME, SERVER, 6000, 9999), t0);
	/* Routers quote the IP header and 8 bytes: fewer than the quoted IP length says. */
	qn = v4_udp(q, ME, SERVER, 6000, 9999);
	assert_true(in(p, icmp_error(p, false, 3, "10.0.0.1", ME, q, 28), t0 + S(1)));
	assert_true(in(p, icmp_error(p, false, 11, "10.0.0.1", ME, q, 28), t0 + S(1)));
	assert_true(in(p, icmp_error(p, false, 3, "10.0.0.1", ME, q, qn), t0 + S(1)));
	assert_false(in(p, icmp_error(p, false, 3, "10.0.0.1", ME, q, 23), t0 + S(1)));
	assert_false(
	    in(p, icmp_error(p, false, 5, "10.0.0.1", ME, q, 28), t0 + S(1))); /* redirect */
	assert_false(in(p, icmp_error(p, false, 3, "10.0.0.1", ME, q, 28), t0 + S(120)));
	/* Quoting a flow nobody opened, or addressed to someone other than its sender. */
	v4_udp(q, ME, SERVER, 6000, 9998);
	assert_false(in(p, icmp_error(p, false, 3, "10.0.0.1", ME, q, 28), t0 + S(1)));
	v4_udp(q, OTHER, SERVER, 6000, 9999);
	assert_false(in(p, icmp_error(p, false, 3, "10.0.0.1", ME, q, 28), t0 + S(1)));
	/* An error about an echo request. */
	out(&ft, q, v4_icmp(q, ME, SERVER, 8, 77), t0);
	assert_true(in(p,
		       icmp_error(p, false, 11, "10.0.0.1", ME, q, v4_icmp(q, ME, SERVER, 8, 77)),
		       t0 + S(1)));

	/* IPv6 packet too big about a TCP flow. */
	out(&ft, q, v6(q, TCP, "fd7a::1", "fd7a::9", (uint8_t[20]){ 0x1f, 0x40, 0x01, 0xbb }, 20),
	    t0);
	qn = v6(q, TCP, "fd7a::1", "fd7a::9", (uint8_t[20]){ 0x1f, 0x40, 0x01, 0xbb }, 20);
	assert_true(in(p, icmp_error(p, true, 2, "fd7a::77", "fd7a::1", q, qn), t0 + S(1)));
	assert_true(in(p, icmp_error(p, true, 1, "fd7a::77", "fd7a::1", q, 48), t0 + S(1)));
	assert_true(in(p, icmp_error(p, true, 4, "fd7a::77", "fd7a::1", q, qn), t0 + S(1)));
	assert_false(in(p, icmp_error(p, true, 128, "fd7a::77", "fd7a::1", q, qn), t0 + S(1)));
	assert_false(in(p, icmp_error(p, true, 2, "fd7a::77", "fd7a::1", q, 43), t0 + S(1)));
	/* Parameter problem is an error about the flow too. */
	qn = v4_udp(q, ME, SERVER, 6000, 9999);
	assert_true(in(p, icmp_error(p, false, 12, "10.0.0.1", ME, q, 28), t0 + S(1)));
}

/*
 * An ICMP error is believed only from the peer its quoted packet was routed to (issue 12,
 * item 8). Each forged error is first shown to pass from the right peer at the same moment.
 */
static void test_flow_icmp_errors_from_the_path(void **state)
{
	uint8_t q[128], p[256];
	uint64_t t0 = S(12000), now = t0 + S(1);
	size_t qn, n;

	(void)state;
	/* A flow with the server (a mesh peer), and one to the internet through the exit. */
	out(&ft, q, v4_udp(q, ME, SERVER, 6100, 9999), t0);
	out(&ft, q, v4_tcp(q, ME, "198.51.100.7", 40100, 443), t0);

	qn = v4_udp(q, ME, SERVER, 6100, 9999);
	n = icmp_error(p, false, 3, SERVER, ME, q, qn); /* port unreachable, from the server */
	assert_ptr_equal(sender_of(p, n), PEER_SERVER);
	assert_true(in(p, n, now));
	assert_false(in_from(PEER_OTHER, p, n, now));
	assert_false(in_from(PEER_EXIT, p, n, now));
	assert_false(in_from(PEER_FRIEND, p, n, now));
	assert_false(in_from(NULL, p, n, now));
	assert_false(rn_pktfilter_allows(&filter, &ft, NULL, PEER_SERVER, p, n, now));
	/* The forger uses its own address, as the receive path makes it: still refused. */
	assert_false(in(p, icmp_error(p, false, 3, OTHER, ME, q, qn), now));
	assert_false(in(p, icmp_error(p, false, 3, "203.0.113.1", ME, q, qn), now)); /* exit */
	/* Fragmentation needed, time exceeded, parameter problem: the same. */
	for (size_t i = 0; i < 3; i++) {
		uint8_t type = (uint8_t[]){ 3, 11, 12 }[i];

		assert_true(in(p, icmp_error(p, false, type, "10.0.0.1", ME, q, 28), now));
		assert_false(in(p, icmp_error(p, false, type, OTHER, ME, q, 28), now));
	}

	/* An error about the internet flow comes through the exit; the server cannot send it. */
	qn = v4_tcp(q, ME, "198.51.100.7", 40100, 443);
	assert_true(in(p, icmp_error(p, false, 3, "203.0.113.1", ME, q, qn), now));
	assert_false(in(p, icmp_error(p, false, 3, "10.0.0.1", ME, q, qn), now));
	assert_false(in(p, icmp_error(p, false, 3, OTHER, ME, q, qn), now));

	/* IPv6 packet too big about a flow with the server. */
	out(&ft, q, v6(q, TCP, "fd7a::1", "fd7a::9", (uint8_t[20]){ 0x1f, 0x41, 0x01, 0xbb }, 20),
	    t0);
	qn = v6(q, TCP, "fd7a::1", "fd7a::9", (uint8_t[20]){ 0x1f, 0x41, 0x01, 0xbb }, 20);
	assert_true(in(p, icmp_error(p, true, 2, "fd7a::77", "fd7a::1", q, qn), now));
	assert_false(in(p, icmp_error(p, true, 2, "fd7a::4", "fd7a::1", q, qn), now));
	assert_false(in(p, icmp_error(p, true, 2, "2001:db8::1", "fd7a::1", q, qn), now));
}

/*
 * A grant of ICMP from OTHER to this node is for pings, not for errors about others' flows:
 * those are dropped whatever the rules say, and so is an error whose quote cannot be read.
 * An error about a packet that went to OTHER is still judged by the rules.
 */
static void test_icmp_errors_despite_rules(void **state)
{
	struct rn_filter_prefix other[1] = { P("100.64.0.4") };
	uint8_t q[128], p[256];
	uint64_t now = S(15000);
	size_t qn, n;

	(void)state;
	rules[0].proto = RN_FILTER_PROTO_ICMP;
	rules[0].src = other;
	rules[0].n_src = 1;
	assert_true(in(p, v4_icmp(p, OTHER, ME, 8, 5), now)); /* the grant is alive */
	qn = v4_udp(q, ME, OTHER, 6200, 9999);
	assert_true(in(p, icmp_error(p, false, 3, OTHER, ME, q, qn), now)); /* no flow: by rule */

	/* About a packet to the server (with or without a live flow): dropped. */
	qn = v4_udp(q, ME, SERVER, 6200, 9999);
	assert_false(in(p, icmp_error(p, false, 3, OTHER, ME, q, qn), now));
	out(&ft, q, qn, now);
	assert_false(in(p, icmp_error(p, false, 3, OTHER, ME, q, qn), now));
	assert_false(in(p, icmp_error(p, false, 5, OTHER, ME, q, qn), now)); /* redirect */
	assert_false(in(p, icmp_error(p, false, 4, OTHER, ME, q, qn), now)); /* source quench */
	assert_true(in(p, icmp_error(p, false, 3, SERVER, ME, q, qn), now));

	/* Truncated quotes, a v6 quote in a v4 error, a broken header: dropped, never read past. */
	qn = v4_udp(q, ME, OTHER, 6200, 9999);
	for (size_t len = 0; len < 28; len++) {
		n = icmp_error(p, false, 3, OTHER, ME, q, len);
		assert_false(in(p, n, now));
		assert_false(in(p, n - 1, now));
	}
	assert_true(in(p, icmp_error(p, false, 3, OTHER, ME, q, 28), now)); /* alive at 28 */
	q[0] = 0x4f;							    /* IHL 60 */
	assert_false(in(p, icmp_error(p, false, 3, OTHER, ME, q, qn), now));
	q[0] = 0x60;
	assert_false(in(p, icmp_error(p, false, 3, OTHER, ME, q, qn), now));
	qn = v6(q, UDP, "fd7a::1", "fd7a::4", (uint8_t[8]){ 0 }, 8);
	assert_false(in(p, icmp_error(p, false, 3, OTHER, ME, q, qn), now));

	rules[0].proto = RN_FILTER_PROTO_TCP;
	rules[0].src = rule_src;
	rules[0].n_src = 2;
}

/* One bucket of RN_FLOW_WAYS: the oldest flow goes; an expired one goes before any live one. */
static void test_flow_eviction(void **state)
{
	struct rn_flowtable small;
	uint8_t p[128];

	(void)state;
	assert_int_equal(rn_flowtable_init(&small, 1), 0);
	for (int i = 0; i < RN_FLOW_WAYS; i++)
		out(&small, p, v4_udp(p, ME, SERVER, (uint16_t)(1000 + i), 53), S(10 + i));
	for (int i = 0; i < RN_FLOW_WAYS; i++) {
		struct rn_pkt_tuple t;

		assert_true(parse(p, v4_udp(p, SERVER, ME, 53, (uint16_t)(1000 + i)), &t));
		assert_true(rn_flowtable_admits(&small, NULL, NULL, &t, S(20)));
	}
	/* Refresh the oldest: the second oldest goes instead. */
	out(&small, p, v4_udp(p, ME, SERVER, 1000, 53), S(20));
	out(&small, p, v4_udp(p, ME, SERVER, 2000, 53), S(21));
	for (int i = 0; i < RN_FLOW_WAYS; i++) {
		struct rn_pkt_tuple t;

		assert_true(parse(p, v4_udp(p, SERVER, ME, 53, (uint16_t)(1000 + i)), &t));
		assert_int_equal(rn_flowtable_admits(&small, NULL, NULL, &t, S(22)), i != 1);
	}
	/*
	 * Expired UDP flows make room first; once they are gone, the oldest live flow (the TCP
	 * one) goes, though its own timeout has not run out.
	 */
	out(&small, p, v4_tcp(p, ME, SERVER, 3000, 22), S(22));
	for (int i = 0; i < RN_FLOW_WAYS; i++)
		out(&small, p, v4_udp(p, ME, SERVER, (uint16_t)(4000 + i), 53), S(200 + i));
	{
		struct rn_pkt_tuple t;

		assert_true(parse(p, v4_tcp(p, SERVER, ME, 22, 3000), &t));
		assert_false(rn_flowtable_admits(&small, NULL, NULL, &t, S(210))); /* oldest */
		assert_true(parse(p, v4_udp(p, SERVER, ME, 53, 4003), &t));
		assert_true(rn_flowtable_admits(&small, NULL, NULL, &t, S(210)));
	}
	rn_flowtable_free(&small);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_v4),
		cmocka_unit_test(test_parse_v6),
		cmocka_unit_test(test_parse_truncated),
		cmocka_unit_test(test_parse_garbage),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_rules_fragments),
		cmocka_unit_test(test_rules_default_protocols),
		cmocka_unit_test(test_no_filter),
		cmocka_unit_test(test_flow_reply),
		cmocka_unit_test(test_flow_echo),
		cmocka_unit_test(test_flow_icmp_errors),
		cmocka_unit_test(test_flow_icmp_errors_from_the_path),
		cmocka_unit_test(test_icmp_errors_despite_rules),
		cmocka_unit_test(test_flow_eviction),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
