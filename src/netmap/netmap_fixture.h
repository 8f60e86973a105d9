/* SPDX-License-Identifier: MIT */
/*
 * A full network map for the unit tests: every field set to something other than its zero,
 * every list non-empty somewhere, every rule context and protocol once. Test-only.
 */
#ifndef RN_NETMAP_FIXTURE_H
#define RN_NETMAP_FIXTURE_H

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netmap/netmap.h"
#include "netmap/netmap_priv.h"

/* The signing key of the tests: RFC 8032 section 7.1, test 1. */
static const uint8_t fx_priv[32] = { 0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60,
				     0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
				     0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
				     0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60 };
static const uint8_t fx_pub[32] = { 0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7,
				    0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
				    0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25,
				    0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a };

#define FX_NOW 1767225600u /* 2026-01-01T00:00:00Z, issued_at of the fixture */

static inline void *fx_dup(const void *p, size_t n)
{
	void *q = malloc(n);

	if (!q)
		abort();
	memcpy(q, p, n);
	return q;
}

static inline struct rn_filter_prefix *fx_prefixes(const char *const *s, size_t n)
{
	struct rn_filter_prefix *p = calloc(n, sizeof(*p));

	for (size_t i = 0; p && i < n; i++)
		if (rn_filter_prefix_parse(s[i], &p[i]))
			abort();
	return p;
}

static inline union rn_netmap_endpoint *fx_endpoints(const char *const *s, size_t n)
{
	union rn_netmap_endpoint *e = calloc(n, sizeof(*e));

	for (size_t i = 0; e && i < n; i++)
		if (rn_netmap_endpoint_parse(s[i], &e[i]))
			abort();
	return e;
}

static inline void fx_ip(int family, const char *s, void *out)
{
	if (inet_pton(family, s, out) != 1)
		abort();
}

#define FX_N(a) (sizeof(a) / sizeof((a)[0]))

static inline void fx_peer(struct rn_netmap_peer *p, uint64_t id, const char *name, uint8_t host,
			   const char *const *ep, size_t n_ep, const char *const *lan, size_t n_lan)
{
	const char *allowed[8];
	char a4[16], a6[40];
	size_t n = 0;

	p->id = id;
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->dns_name, sizeof(p->dns_name), "%s.rustynet", name);
	memset(p->public_key, host, sizeof(p->public_key));
	snprintf(a4, sizeof(a4), "100.64.0.%u", host);
	snprintf(a6, sizeof(a6), "fd7a:115c:a1e0::%x", host);
	fx_ip(AF_INET, a4, p->ipv4);
	fx_ip(AF_INET6, a6, p->ipv6);
	p->endpoints = fx_endpoints(ep, n_ep);
	p->n_endpoints = n_ep;
	strcat(a4, "/32");
	strcat(a6, "/128");
	allowed[n++] = a4;
	allowed[n++] = a6;
	for (size_t i = 0; i < n_lan; i++)
		allowed[n++] = lan[i];
	p->allowed_ips = fx_prefixes(allowed, n);
	p->n_allowed_ips = n;
	p->lan_routes = fx_prefixes(lan, n_lan);
	p->n_lan_routes = n_lan;
}

static inline void fx_rule(struct rn_filter_rule *r, enum rn_filter_context ctx,
			   enum rn_filter_proto proto, const char *const *src, size_t n_src,
			   const char *const *dst, size_t n_dst,
			   const struct rn_filter_ports *ports, size_t n_ports)
{
	r->context = ctx;
	r->proto = proto;
	r->src = fx_prefixes(src, n_src);
	r->n_src = n_src;
	r->dst = fx_prefixes(dst, n_dst);
	r->n_dst = n_dst;
	r->ports = fx_dup(ports, n_ports * sizeof(*ports));
	r->n_ports = n_ports;
}

/* Fills *m (zeroed by the caller is not needed); release with rn_netmap_free(). */
static inline void fx_map(struct rn_netmap *m)
{
	static const char *const ep0[] = { "198.51.100.7:41641", "[2001:db8::7]:41641" };
	static const char *const ep1[] = { "203.0.113.9:51820" };
	static const char *const lan0[] = { "192.168.1.0/24", "fd00:1::/64" };
	static const char *const self_pfx[] = { "100.64.0.1/32", "fd7a:115c:a1e0::1/128" };
	static const char *const routes[] = { "10.1.0.0/16" };
	static const char *const from3[] = { "100.64.0.3/32", "fd7a:115c:a1e0::3/128" };
	static const char *const from7[] = { "100.64.0.7/32" };
	static const char *const mesh[] = { "100.64.0.0/10" };
	static const char *const to_self[] = { "100.64.0.1/32" };
	static const char *const to_lan[] = { "10.1.2.0/24" };
	static const char *const to_net[] = { "0.0.0.0/0", "::/0" };
	static const struct rn_filter_ports ssh_web[] = { { 22, 22 }, { 8000, 8100 } };
	static const struct rn_filter_ports dns[] = { { 53, 53 } };
	static const struct rn_filter_ports all[] = { { 0, 65535 } };
	struct rn_netmap_dns_record rec[2] = { { .type = RN_NETMAP_RR_A, .value.family = AF_INET },
					       { .type = RN_NETMAP_RR_AAAA,
						 .value.family = AF_INET6 } };
	struct rn_netmap_ip res[2] = { { .family = AF_INET }, { .family = AF_INET6 } };

	memset(m, 0, sizeof(*m));
	m->version = 42;
	m->issued_at = FX_NOW;
	strcpy(m->domain, "rustynet");

	m->self.id = 1;
	strcpy(m->self.name, "laptop");
	strcpy(m->self.dns_name, "laptop.rustynet");
	strcpy(m->self.user, "alice@example.com");
	fx_ip(AF_INET, "100.64.0.1", m->self.ipv4);
	fx_ip(AF_INET6, "fd7a:115c:a1e0::1", m->self.ipv6);
	memset(m->self.public_key, 0x01, sizeof(m->self.public_key));

	m->n_peers = 3;
	m->peers = calloc(3, sizeof(*m->peers));
	fx_peer(&m->peers[0], 2, "exit1", 2, ep0, 2, lan0, 2);
	m->peers[0].online = true;
	m->peers[0].last_seen = FX_NOW - 10;
	m->peers[0].is_exit = true;
	fx_peer(&m->peers[1], 3, "server", 3, ep1, 1, NULL, 0);
	m->peers[1].last_seen = FX_NOW - 225600;
	fx_peer(&m->peers[2], 7, "phone", 7, NULL, 0, NULL, 0);

	m->filter.n_self = 2;
	if (rn_filter_prefix_parse(self_pfx[0], &m->filter.self[0]) ||
	    rn_filter_prefix_parse(self_pfx[1], &m->filter.self[1]))
		abort();
	m->filter.routes = fx_prefixes(routes, 1);
	m->filter.n_routes = 1;
	m->filter.exit = true;
	m->filter.n_rules = 4;
	m->filter.rules = calloc(4, sizeof(*m->filter.rules));
	fx_rule(&m->filter.rules[0], RN_FILTER_MESH, RN_FILTER_PROTO_TCP, from3, 2, to_self, 1,
		ssh_web, 2);
	fx_rule(&m->filter.rules[1], RN_FILTER_SUBNET, RN_FILTER_PROTO_UDP, from7, 1, to_lan, 1,
		dns, 1);
	fx_rule(&m->filter.rules[2], RN_FILTER_EXIT, RN_FILTER_PROTO_ANY, from7, 1, to_net, 2, all,
		1);
	fx_rule(&m->filter.rules[3], RN_FILTER_MESH, RN_FILTER_PROTO_ICMP, mesh, 1, to_self, 1, all,
		1);

	fx_ip(AF_INET, "1.1.1.1", res[0].addr);
	fx_ip(AF_INET6, "2606:4700:4700::1111", res[1].addr);
	m->dns.resolvers = fx_dup(res, sizeof(res));
	m->dns.n_resolvers = 2;
	strcpy(rec[0].name, "nas.rustynet");
	fx_ip(AF_INET, "192.168.1.10", rec[0].value.addr);
	strcpy(rec[1].name, "printer.lan.rustynet");
	fx_ip(AF_INET6, "fd00:1::20", rec[1].value.addr);
	m->dns.records = fx_dup(rec, sizeof(rec));
	m->dns.n_records = 2;
	strcpy(m->dns.search_domain, "rustynet");
}

#endif
