/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the data plane's packet filter: what a peer puts inside the tunnel
 * (parsed after decryption, judged by rules and the flow table) and what this node sends (the
 * flows it records). The input is a sequence of records, each a direction byte, a 2-byte
 * length and an IP packet; every one is copied to a buffer of exactly its length so ASan sees
 * any overread.
 *
 * Beyond not crashing, each inbound packet is judged as if it came from each of the peers,
 * with rules that grant ICMP from anywhere (so the rules cannot be what stops a forgery):
 * an ICMP message that quotes a packet passes from at most one peer, the one whose allowed IPs
 * hold the quoted destination (issue 12, item 8), and any other packet's verdict does not
 * depend on the peer at all (crypto-key routing has already tied its source to the peer).
 *
 * The node is also a subnet router (10.1.0.0/16, fd00:1::/64) and an exit, with a host address
 * besides its mesh ones, so every context is reached: a TCP or UDP packet's verdict by the rules
 * alone (no flow table) must equal a naive reading of the three port rules (tcp/22 to this
 * node, tcp/80 into the LAN, udp/53 to the internet, all from peer 1), and a packet to the
 * host's own address is never SUBNET or EXIT.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "wg/allowedips.h"
#include "wg/pktfilter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { N_PEERS = 4, MAX_RECORDS = 256 };

static char peer_tokens[N_PEERS];

/* Peer 0 is the exit; 1 and 2 mesh peers, 2 with a LAN behind it; 3 a subnet router. */
static const struct {
	const char *addr;
	uint8_t cidr;
	int peer;
} route_table[] = {
	{ "0.0.0.0", 0, 0 },   { "::", 0, 0 },		{ "100.64.0.2", 32, 1 },
	{ "fd7a::2", 128, 1 }, { "100.64.0.3", 32, 2 }, { "10.0.0.0", 8, 2 },
	{ "fd7a::3", 128, 2 }, { "192.0.2.0", 24, 3 },	{ "2001:db8::", 32, 3 },
};

static struct rn_allowedips routes;
static struct rn_filter filter;
static struct rn_filter_rule rules[4];
static struct rn_filter_prefix any[2], self[2], friend[2], lan[2], local[2];
static struct rn_filter_ports all_ports = { 0, 65535 }, ssh = { 22, 22 }, http = { 80, 80 },
			      dns = { 53, 53 };

static void prefix(struct rn_filter_prefix *p, const char *s)
{
	if (rn_filter_prefix_parse(s, p))
		abort();
}

static void setup(void)
{
	for (size_t i = 0; i < sizeof(route_table) / sizeof(route_table[0]); i++) {
		int family = strchr(route_table[i].addr, ':') ? AF_INET6 : AF_INET;
		uint8_t a[16];

		if (inet_pton(family, route_table[i].addr, a) != 1 ||
		    rn_allowedips_insert(&routes, family, a, route_table[i].cidr,
					 &peer_tokens[route_table[i].peer]))
			abort();
	}
	prefix(&any[0], "0.0.0.0/0");
	prefix(&any[1], "::/0");
	prefix(&self[0], "100.64.0.1");
	prefix(&self[1], "fd7a::1");
	prefix(&friend[0], "100.64.0.2");
	prefix(&friend[1], "fd7a::2");
	/* ICMP of every type from anywhere, and tcp/22 from peer 1: the rest needs a flow. */
	rules[0] = (struct rn_filter_rule){ .context = RN_FILTER_MESH,
					    .proto = RN_FILTER_PROTO_ICMP,
					    .src = any,
					    .n_src = 2,
					    .dst = self,
					    .n_dst = 2,
					    .ports = &all_ports,
					    .n_ports = 1 };
	rules[1] = (struct rn_filter_rule){ .context = RN_FILTER_MESH,
					    .proto = RN_FILTER_PROTO_TCP,
					    .src = friend,
					    .n_src = 2,
					    .dst = self,
					    .n_dst = 2,
					    .ports = &ssh,
					    .n_ports = 1 };
	prefix(&lan[0], "10.1.0.0/16");
	prefix(&lan[1], "fd00:1::/64");
	prefix(&local[0], "198.51.100.10");
	prefix(&local[1], "2001:db8:ff::10");
	rules[2] = (struct rn_filter_rule){ .context = RN_FILTER_SUBNET,
					    .proto = RN_FILTER_PROTO_TCP,
					    .src = friend,
					    .n_src = 2,
					    .dst = lan,
					    .n_dst = 2,
					    .ports = &http,
					    .n_ports = 1 };
	rules[3] = (struct rn_filter_rule){ .context = RN_FILTER_EXIT,
					    .proto = RN_FILTER_PROTO_UDP,
					    .src = friend,
					    .n_src = 2,
					    .dst = any,
					    .n_dst = 2,
					    .ports = &dns,
					    .n_ports = 1 };
	filter.self[0] = self[0];
	filter.self[1] = self[1];
	filter.n_self = 2;
	filter.routes = lan;
	filter.n_routes = 2;
	filter.exit = true;
	filter.local = local;
	filter.n_local = 2;
	filter.rules = rules;
	filter.n_rules = 4;
}

static bool in(const struct rn_pkt_tuple *t, const uint8_t *addr, const char *text)
{
	struct rn_filter_prefix p;
	size_t n;

	prefix(&p, text);
	if (p.family != t->family)
		return false;
	n = p.len / 8;
	if (memcmp(addr, p.addr, n))
		return false;
	return p.len % 8 == 0 || !((addr[n] ^ p.addr[n]) & (0xff00 >> p.len % 8));
}

/* The port rules read naively: what the rules alone must say of a TCP or UDP packet. */
static bool naive_port_rules(const struct rn_pkt_tuple *t, enum rn_filter_context ctx)
{
	bool from_friend = in(t, t->src, "100.64.0.2/32") || in(t, t->src, "fd7a::2/128");

	if (!from_friend)
		return false;
	if (t->proto == 6 && ctx == RN_FILTER_MESH && t->dport == 22)
		return true; /* to this node: its mesh address or its host's */
	if (t->proto == 6 && ctx == RN_FILTER_SUBNET && t->dport == 80)
		return in(t, t->dst, "10.1.0.0/16") || in(t, t->dst, "fd00:1::/64");
	return t->proto == 17 && ctx == RN_FILTER_EXIT && t->dport == 53;
}

static void judge_rules(const uint8_t *pkt, size_t len, const struct rn_pkt_tuple *t, uint64_t now)
{
	enum rn_filter_context ctx = rn_filter_context_of(&filter, t->family, t->dst);
	bool ok = rn_pktfilter_allows(&filter, NULL, &routes, &peer_tokens[1], pkt, len, now);

	if ((in(t, t->dst, "198.51.100.10/32") || in(t, t->dst, "2001:db8:ff::10/128")) &&
	    ctx != RN_FILTER_MESH)
		__builtin_trap(); /* the host's own address is never routed onwards */
	if (t->has_l4 && (t->proto == 6 || t->proto == 17) && ok != naive_port_rules(t, ctx))
		__builtin_trap(); /* the rules disagree with their naive reading */
}

/* Whether t is an ICMP message about a packet it quotes (error, redirect, source quench). */
static bool quotes_a_packet(const struct rn_pkt_tuple *t)
{
	if (!t->has_l4)
		return false;
	if (t->family == AF_INET && t->proto == 1)
		return t->icmp_type == 3 || t->icmp_type == 4 || t->icmp_type == 5 ||
		       t->icmp_type == 11 || t->icmp_type == 12;
	return t->family == AF_INET6 && t->proto == 58 && t->icmp_type >= 1 && t->icmp_type <= 4;
}

static void judge(const struct rn_flowtable *ft, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct rn_pkt_tuple t;
	bool parsed = rn_pkt_parse(pkt, len, &t), quoting = parsed && quotes_a_packet(&t);
	int admitted = 0;
	bool first = false;

	if (parsed)
		judge_rules(pkt, len, &t, now);
	for (int i = 0; i < N_PEERS; i++) {
		bool ok = rn_pktfilter_allows(&filter, ft, &routes, &peer_tokens[i], pkt, len, now);

		if (!parsed && ok)
			__builtin_trap(); /* unreadable, yet admitted */
		if (i == 0)
			first = ok;
		else if (!quoting && ok != first)
			__builtin_trap(); /* the verdict depends on the peer */
		admitted += ok;
	}
	if (quoting) {
		if (admitted > 1)
			__builtin_trap(); /* an error believed from two peers */
		if (rn_pktfilter_allows(&filter, ft, &routes, NULL, pkt, len, now) ||
		    rn_pktfilter_allows(&filter, ft, NULL, &peer_tokens[0], pkt, len, now))
			__builtin_trap(); /* believed from nobody */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct rn_flowtable ft;
	uint64_t now = 1000000000ULL;
	size_t off = 0;

	if (!ready) {
		setup();
		ready = true;
	}
	if (rn_flowtable_init(&ft, 16))
		return 0;
	for (int r = 0; r < MAX_RECORDS && off + 3 <= size; r++) {
		uint8_t dir = data[off];
		size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
		uint8_t *pkt;

		off += 3;
		if (len > size - off)
			len = size - off;
		pkt = malloc(len ? len : 1);
		if (!pkt)
			break;
		memcpy(pkt, data + off, len);
		off += len;
		now += (uint64_t)(dir >> 1) * 1000000000ULL; /* up to 127 s later */
		if (dir & 1)
			rn_flowtable_record(&ft, pkt, len, now);
		else
			judge(&ft, pkt, len, now);
		free(pkt);
	}
	rn_flowtable_free(&ft);
	return 0;
}
