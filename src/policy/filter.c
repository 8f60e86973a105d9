/* SPDX-License-Identifier: MIT */
/*
 * The compiled packet filter's matcher and the prefix helpers the compiler shares with it.
 * A linear scan: filters are small (one rule per grant that reaches the node), and the data
 * plane puts its flow table in front so only the first packet of a flow gets here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy/filter.h"

/*
 * Never "the internet", so never an EXIT destination: what LAN-off must keep a client from
 * reaching through an exit node, and what no exit node should forward anyway.
 */
static const struct rn_filter_prefix not_internet[] = {
	{ AF_INET, 8, { 0 } },			 /* 0.0.0.0/8 "this network" */
	{ AF_INET, 8, { 10 } },			 /* 10.0.0.0/8 RFC 1918 */
	{ AF_INET, 10, { 100, 64 } },		 /* 100.64.0.0/10 CGNAT: the mesh itself */
	{ AF_INET, 8, { 127 } },		 /* 127.0.0.0/8 loopback */
	{ AF_INET, 16, { 169, 254 } },		 /* 169.254.0.0/16 link-local */
	{ AF_INET, 12, { 172, 16 } },		 /* 172.16.0.0/12 RFC 1918 */
	{ AF_INET, 16, { 192, 168 } },		 /* 192.168.0.0/16 RFC 1918 */
	{ AF_INET, 3, { 224 } },		 /* 224.0.0.0/3 multicast, reserved, broadcast */
	{ AF_INET6, 96, { 0 } },		 /* ::/96 unspecified, loopback, IPv4-compatible */
	{ AF_INET6, 96, { [10] = 0xff, 0xff } }, /* ::ffff:0:0/96 IPv4-mapped: the ranges above */
	{ AF_INET6, 7, { 0xfc } },		 /* fc00::/7 ULA: the mesh and private LANs */
	{ AF_INET6, 10, { 0xfe, 0x80 } },	 /* fe80::/10 link-local */
	{ AF_INET6, 8, { 0xff } },		 /* ff00::/8 multicast */
};

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

void rn_filter_prefix_make(struct rn_filter_prefix *out, int family, const void *addr, unsigned len)
{
	size_t n = addr_len(family);
	unsigned max = (unsigned)n * 8;

	memset(out, 0, sizeof(*out));
	out->family = (uint8_t)family;
	out->len = (uint8_t)(len > max ? max : len);
	memcpy(out->addr, addr, n);
	for (unsigned bit = out->len; bit < max; bit++)
		out->addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
}

bool rn_filter_prefix_has(const struct rn_filter_prefix *p, int family, const void *addr)
{
	const uint8_t *a = addr;
	unsigned full = p->len / 8, rest = p->len % 8;

	if (p->family != family)
		return false;
	if (memcmp(p->addr, a, full))
		return false;
	return !rest || !((p->addr[full] ^ a[full]) & (uint8_t)(0xff00u >> rest));
}

static int prefix_cmp(const void *pa, const void *pb)
{
	const struct rn_filter_prefix *a = pa, *b = pb;
	int c = (int)a->family - (int)b->family;

	if (!c)
		c = memcmp(a->addr, b->addr, sizeof(a->addr));
	return c ? c : (int)a->len - (int)b->len;
}

/* Whether a and b are the two halves of one prefix one bit shorter. */
static bool siblings(const struct rn_filter_prefix *a, const struct rn_filter_prefix *b)
{
	struct rn_filter_prefix pa, pb;

	if (a->family != b->family || a->len != b->len || !a->len)
		return false;
	rn_filter_prefix_make(&pa, a->family, a->addr, a->len - 1u);
	rn_filter_prefix_make(&pb, b->family, b->addr, b->len - 1u);
	return rn_filter_prefix_equal(&pa, &pb) && !rn_filter_prefix_equal(a, b);
}

size_t rn_filter_prefixes_aggregate(struct rn_filter_prefix *v, size_t n)
{
	size_t out = 0;

	if (n < 2)
		return n;
	qsort(v, n, sizeof(*v), prefix_cmp);
	/* A stack: each new prefix is dropped if the top covers it, else pushed and merged with
	 * the top while they are siblings. Sorted input keeps covering prefixes on top. */
	for (size_t i = 0; i < n; i++) {
		struct rn_filter_prefix p = v[i];

		if (out && rn_filter_prefix_has(&v[out - 1], p.family, p.addr) &&
		    v[out - 1].len <= p.len)
			continue;
		while (out && siblings(&v[out - 1], &p)) {
			struct rn_filter_prefix half =
			    p; /* make() clears out before reading addr */

			rn_filter_prefix_make(&p, half.family, half.addr, half.len - 1u);
			out--;
		}
		v[out++] = p;
	}
	return out;
}

bool rn_filter_prefix_intersect(const struct rn_filter_prefix *a, const struct rn_filter_prefix *b,
				struct rn_filter_prefix *out)
{
	const struct rn_filter_prefix *wide = a->len <= b->len ? a : b;
	const struct rn_filter_prefix *narrow = wide == a ? b : a;

	if (a->family != b->family || !rn_filter_prefix_has(wide, narrow->family, narrow->addr))
		return false;
	*out = *narrow;
	return true;
}

bool rn_filter_prefix_equal(const struct rn_filter_prefix *a, const struct rn_filter_prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       !memcmp(a->addr, b->addr, addr_len(a->family));
}

/* Digits only, no sign, no leading zero: "/08" is as suspect as "010.0.0.0". */
static int parse_len(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 3)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int rn_filter_prefix_parse(const char *s, struct rn_filter_prefix *out)
{
	char text[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	uint8_t addr[16];
	int family;
	unsigned len;

	if (n == 0 || n >= sizeof(text))
		return -EINVAL;
	memcpy(text, s, n);
	text[n] = '\0';
	family = strchr(text, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, text, addr) != 1)
		return -EINVAL;
	len = (unsigned)addr_len(family) * 8;
	if (slash && parse_len(slash + 1, len, &len))
		return -EINVAL;
	rn_filter_prefix_make(out, family, addr, len);
	if (memcmp(out->addr, addr, addr_len(family)))
		return -EDOM;
	return 0;
}

char *rn_filter_prefix_format(const struct rn_filter_prefix *p, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN];

	if (!inet_ntop(p->family, p->addr, text, sizeof(text)))
		snprintf(text, sizeof(text), "?");
	snprintf(buf, len, "%s/%u", text, p->len);
	return buf;
}

void rn_filter_free(struct rn_filter *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_rules; i++) {
		free(f->rules[i].src);
		free(f->rules[i].dst);
		free(f->rules[i].ports);
	}
	free(f->rules);
	free(f->routes);
	memset(f, 0, sizeof(*f));
}

static bool any_has(const struct rn_filter_prefix *p, size_t n, int family, const void *addr)
{
	for (size_t i = 0; i < n; i++)
		if (rn_filter_prefix_has(&p[i], family, addr))
			return true;
	return false;
}

static bool is_internet(const struct rn_filter *f, int family, const void *dst)
{
	if (any_has(not_internet, sizeof(not_internet) / sizeof(not_internet[0]), family, dst))
		return false;
	/* A public range routed to this node's LAN is reached as a subnet route, never as EXIT. */
	return !any_has(f->routes, f->n_routes, family, dst) &&
	       !any_has(f->self, f->n_self, family, dst) &&
	       !any_has(f->local, f->n_local, family, dst);
}

enum rn_filter_context rn_filter_context_of(const struct rn_filter *f, int family, const void *dst)
{
	if (family != AF_INET && family != AF_INET6)
		return RN_FILTER_NONE;
	/* The host's own addresses first: one inside a LAN route is still this node. */
	if (any_has(f->self, f->n_self, family, dst) || any_has(f->local, f->n_local, family, dst))
		return RN_FILTER_MESH;
	if (any_has(f->routes, f->n_routes, family, dst))
		return RN_FILTER_SUBNET;
	if (f->exit && is_internet(f, family, dst))
		return RN_FILTER_EXIT;
	return RN_FILTER_NONE;
}

static bool all_ports(const struct rn_filter_rule *r)
{
	return r->n_ports == 1 && r->ports[0].first == 0 && r->ports[0].last == 65535;
}

static bool proto_ok(const struct rn_filter_rule *r, int family, uint8_t proto, uint16_t dport)
{
	switch (r->proto) {
	case RN_FILTER_PROTO_ANY:
		/* Tailscale's default set: ICMP is admitted whatever the ports, as its filter
		 * matches ICMP on addresses only; TCP and UDP by port below; nothing else. */
		if (proto == (family == AF_INET ? RN_IPPROTO_ICMP : RN_IPPROTO_ICMPV6))
			return true;
		if (proto == RN_IPPROTO_FRAGMENT)
			return all_ports(r);
		if (proto != RN_IPPROTO_TCP && proto != RN_IPPROTO_UDP)
			return false; /* a port grant says nothing about other port-less ones */
		break;
	case RN_FILTER_PROTO_TCP:
		if (proto != RN_IPPROTO_TCP)
			return false;
		break;
	case RN_FILTER_PROTO_UDP:
		if (proto != RN_IPPROTO_UDP)
			return false;
		break;
	case RN_FILTER_PROTO_ICMP:
		return proto == (family == AF_INET ? RN_IPPROTO_ICMP : RN_IPPROTO_ICMPV6);
	default:
		return false;
	}
	if (all_ports(r))
		return true;
	for (size_t i = 0; i < r->n_ports; i++)
		if (dport >= r->ports[i].first && dport <= r->ports[i].last)
			return true;
	return false;
}

/* This node's mesh address of family: what a packet to a local address is checked as. */
static const void *self_addr(const struct rn_filter *f, int family)
{
	for (size_t i = 0; i < f->n_self; i++)
		if (f->self[i].family == family && f->self[i].len == addr_len(family) * 8)
			return f->self[i].addr;
	return NULL;
}

bool rn_filter_allows(const struct rn_filter *f, enum rn_filter_context ctx, int family,
		      const void *src, const void *dst, uint8_t proto, uint16_t dport)
{
	if (!f || (family != AF_INET && family != AF_INET6))
		return false;
	if (ctx == RN_FILTER_EXIT && !is_internet(f, family, dst))
		return false;
	if (any_has(f->local, f->n_local, family, dst) &&
	    !any_has(f->self, f->n_self, family, dst)) {
		if (ctx != RN_FILTER_MESH)
			return false;
		dst = self_addr(f, family);
		if (!dst)
			return false;
	}
	for (size_t i = 0; i < f->n_rules; i++) {
		const struct rn_filter_rule *r = &f->rules[i];

		if (r->context == ctx && proto_ok(r, family, proto, dport) &&
		    any_has(r->src, r->n_src, family, src) &&
		    any_has(r->dst, r->n_dst, family, dst))
			return true;
	}
	return false;
}

static const char *const context_names[] = { "none", "mesh", "subnet", "exit" };
static const char *const proto_names[] = { "any", "tcp", "udp", "icmp" };

struct text_out {
	char *buf;
	size_t len;
	int off; /* what snprintf would have written so far, past len too */
};

static void __attribute__((format(printf, 2, 3))) put(struct text_out *o, const char *fmt, ...)
{
	size_t at = (size_t)o->off < o->len ? (size_t)o->off : o->len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf + at, o->len - at, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->off += n;
}

static void put_prefixes(struct text_out *o, const struct rn_filter_prefix *p, size_t n)
{
	char text[RN_FILTER_PREFIX_STRLEN];

	for (size_t i = 0; i < n; i++)
		put(o, "%s%s", i ? "," : "", rn_filter_prefix_format(&p[i], text, sizeof(text)));
}

int rn_filter_rule_format(const struct rn_filter_rule *r, char *buf, size_t len)
{
	struct text_out o = { .buf = buf, .len = len };

	if (len)
		buf[0] = '\0';
	put(&o, "%s %s ", r->context <= RN_FILTER_EXIT ? context_names[r->context] : "?",
	    r->proto <= RN_FILTER_PROTO_ICMP ? proto_names[r->proto] : "?");
	put_prefixes(&o, r->src, r->n_src);
	put(&o, " -> ");
	put_prefixes(&o, r->dst, r->n_dst);
	if (all_ports(r))
		return o.off;
	for (size_t i = 0; i < r->n_ports; i++) {
		const char *sep = i ? "," : " ports ";

		if (r->ports[i].first == r->ports[i].last)
			put(&o, "%s%u", sep, r->ports[i].first);
		else
			put(&o, "%s%u-%u", sep, r->ports[i].first, r->ports[i].last);
	}
	return o.off;
}
