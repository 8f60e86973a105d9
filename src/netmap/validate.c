/* SPDX-License-Identifier: MIT */
/*
 * What makes a netmap well formed, checked on the decoded struct so that the control server
 * (before signing) and the node (after verifying) apply the same rules; whether a good map may
 * replace the running one (rn_netmap_accept); and freeing a map.
 *
 * Uniqueness across peers is checked by sorting references, not pairwise: a map may have
 * thousands of peers and the node checks every map it receives.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netmap/netmap_priv.h"

#define fail rn_netmap_fail

/* ---- names and addresses ---- */

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* RFC 1123 host label, lowercase: what the control server makes of a hostname. */
static bool is_label(const char *s, size_t n)
{
	if (n == 0 || n > RN_NETMAP_LABEL_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

bool rn_netmap_is_dns_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > RN_NETMAP_DNS_NAME_MAX)
		return false;
	for (const char *dot; (dot = strchr(s, '.')); s = dot + 1)
		if (!is_label(s, (size_t)(dot - s)))
			return false;
	return is_label(s, strlen(s));
}

static bool is_user(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e)
			return false;
	return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return !acc;
}

static bool in_cgnat(const uint8_t a[4])
{
	return a[0] == 100 && (a[1] & 0xc0) == 64;
}

/* Magic DNS listens there on every node: it is no node's address and no upstream. */
static bool is_magic_dns(const uint8_t a[4])
{
	return a[0] == 100 && a[1] == 100 && a[2] == 100 && a[3] == 100;
}

static bool bad_unicast(int family, const uint8_t *a)
{
	if (family == AF_INET)
		return all_zero(a, 4) || a[0] >= 224;
	return all_zero(a, 16) || a[0] == 0xff;
}

static const char *ip_text(int family, const void *a, char buf[INET6_ADDRSTRLEN])
{
	if (!inet_ntop(family, a, buf, INET6_ADDRSTRLEN))
		strcpy(buf, "?");
	return buf;
}

static bool prefix_ok(const struct rn_filter_prefix *p)
{
	struct rn_filter_prefix clean;

	if (!((p->family == AF_INET && p->len <= 32) || (p->family == AF_INET6 && p->len <= 128)))
		return false;
	/* All 16 bytes: IPv4 leaves addr[4..15] zero, so equal prefixes compare equal as bytes. */
	rn_filter_prefix_make(&clean, p->family, p->addr, p->len);
	return !memcmp(clean.addr, p->addr, sizeof(p->addr));
}

static bool overlaps(const struct rn_filter_prefix *a, const struct rn_filter_prefix *b)
{
	struct rn_filter_prefix unused;

	return rn_filter_prefix_intersect(a, b, &unused);
}

/*
 * A LAN route (of a peer, or of this node's filter): a real prefix, not the default route
 * (that is the exit node's), and clear of the mesh so no LAN can capture mesh traffic.
 */
static int check_route(const struct rn_netmap *m, const struct rn_filter_prefix *p,
		       const char *what, size_t i, char *err, size_t errlen)
{
	struct rn_filter_prefix cgnat, ula48;
	char text[RN_FILTER_PREFIX_STRLEN];
	static const uint8_t cgnat_addr[4] = { 100, 64 };

	if (!prefix_ok(p))
		return fail(err, errlen, "%s[%zu]: not a valid prefix (family %u, length %u)", what,
			    i, p->family, p->len);
	rn_filter_prefix_format(p, text, sizeof(text));
	if (p->len == 0)
		return fail(err, errlen, "%s[%zu]: %s is a default route, not a LAN route", what, i,
			    text);
	rn_filter_prefix_make(&cgnat, AF_INET, cgnat_addr, 10);
	rn_filter_prefix_make(&ula48, AF_INET6, m->self.ipv6, 48);
	if (overlaps(p, &cgnat) || overlaps(p, &ula48))
		return fail(err, errlen, "%s[%zu]: %s overlaps the mesh addresses", what, i, text);
	return 0;
}

/* ---- uniqueness, by sorting ---- */

enum ref_kind { REF_U64, REF_STR, REF_BYTES, REF_PREFIX };

struct ref {
	const void *p;
	size_t owner; /* index of the peer; n_peers for self */
};

struct ref_ctx {
	enum ref_kind kind;
	size_t len; /* REF_BYTES */
};

static int ref_cmp(const void *va, const void *vb, void *vctx)
{
	const struct ref *a = va, *b = vb;
	const struct ref_ctx *ctx = vctx;
	int c = 0;

	switch (ctx->kind) {
	case REF_U64: {
		uint64_t x = *(const uint64_t *)a->p, y = *(const uint64_t *)b->p;

		c = (x > y) - (x < y);
		break;
	}
	case REF_STR:
		c = strcmp(a->p, b->p);
		break;
	case REF_BYTES:
		c = memcmp(a->p, b->p, ctx->len);
		break;
	case REF_PREFIX: {
		const struct rn_filter_prefix *x = a->p, *y = b->p;

		c = x->family != y->family ? x->family - y->family
		    : x->len != y->len	   ? x->len - y->len
					   : memcmp(x->addr, y->addr, 16);
		break;
	}
	}
	return c ? c : (a->owner > b->owner) - (a->owner < b->owner);
}

/* Sorts v; returns the index of the first entry equal to the one before it, or 0 for none. */
static size_t find_dup(struct ref *v, size_t n, struct ref_ctx ctx)
{
	qsort_r(v, n, sizeof(*v), ref_cmp, &ctx);
	for (size_t i = 1; i < n; i++) {
		struct ref a = v[i - 1], b = v[i];

		a.owner = b.owner = 0;
		if (!ref_cmp(&a, &b, &ctx))
			return i;
	}
	return 0;
}

static bool same_prefix(const struct ref *a, const struct ref *b)
{
	struct ref_ctx ctx = { REF_PREFIX, 0 };
	struct ref x = { a->p, 0 }, y = { b->p, 0 };

	return !ref_cmp(&x, &y, &ctx);
}

static const char *owner_name(const struct rn_netmap *m, size_t owner, char buf[32])
{
	if (owner >= m->n_peers)
		return "self";
	snprintf(buf, 32, "peers[%zu]", owner);
	return buf;
}

static const char *prefix_text(const void *p, char buf[RN_FILTER_PREFIX_STRLEN])
{
	return rn_filter_prefix_format(p, buf, RN_FILTER_PREFIX_STRLEN);
}

/* Ids, names, keys and mesh addresses of self and every peer: all distinct. */
static int check_unique_nodes(const struct rn_netmap *m, struct ref *v, char *err, size_t errlen)
{
	static const struct {
		const char *field;
		size_t off_peer, off_self;
		struct ref_ctx ctx;
	} keys[] = {
#define K(f, kind, len)                                                                            \
	{                                                                                          \
#f, offsetof(struct rn_netmap_peer, f), offsetof(struct rn_netmap_self, f),        \
		{                                                                                  \
			kind, len                                                                  \
		}                                                                                  \
	}
		K(id, REF_U64, 0),
		K(name, REF_STR, 0),
		K(public_key, REF_BYTES, RN_NETMAP_KEY_LEN),
		K(ipv4, REF_BYTES, 4),
		K(ipv6, REF_BYTES, 16),
#undef K
	};
	char na[32], nb[32];

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		size_t d;

		for (size_t i = 0; i < m->n_peers; i++)
			v[i] = (struct ref){ (const char *)&m->peers[i] + keys[k].off_peer, i };
		v[m->n_peers] =
		    (struct ref){ (const char *)&m->self + keys[k].off_self, m->n_peers };
		d = find_dup(v, m->n_peers + 1, keys[k].ctx);
		if (d)
			return fail(err, errlen, "%s.%s: the same as %s's; each node has its own",
				    owner_name(m, v[d].owner, nb), keys[k].field,
				    owner_name(m, v[d - 1].owner, na));
	}
	return 0;
}

/*
 * No prefix is routed to two peers: WireGuard would give it silently to the last one. Runs
 * after each peer's own list was checked, so a repeat here is between two peers.
 */
static int check_unique_allowed_ips(const struct rn_netmap *m, char *err, size_t errlen)
{
	struct ref_ctx ctx = { REF_PREFIX, 0 };
	size_t n = 0, d;
	struct ref *v;
	char na[32], nb[32], text[RN_FILTER_PREFIX_STRLEN];
	int ret = 0;

	for (size_t i = 0; i < m->n_peers; i++)
		n += m->peers[i].n_allowed_ips;
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	n = 0;
	for (size_t i = 0; i < m->n_peers; i++)
		for (size_t j = 0; j < m->peers[i].n_allowed_ips; j++)
			v[n++] = (struct ref){ &m->peers[i].allowed_ips[j], i };
	d = find_dup(v, n, ctx);
	if (d)
		ret = fail(err, errlen,
			   "%s.allowed_ips: %s is also routed to %s; the control server must pick "
			   "one router per prefix",
			   owner_name(m, v[d].owner, nb), prefix_text(v[d].p, text),
			   owner_name(m, v[d - 1].owner, na));
	free(v);
	return ret;
}

/* ---- self and peers ---- */

/* What self and peers share. who is "self" or "peers[N]". */
static int check_node(const struct rn_netmap *m, const char *who, uint64_t id, const char *name,
		      const char *dns_name, const uint8_t *key, const uint8_t ipv4[4],
		      const uint8_t ipv6[16], char *err, size_t errlen)
{
	char q[RN_NETMAP_QUOTE_LEN], ip[INET6_ADDRSTRLEN];
	size_t nlen = strlen(name), dlen = strlen(m->domain);

	if (id == 0 || id > RN_NETMAP_MAX_INT)
		return fail(err, errlen, "%s.id: %" PRIu64 " is out of range 1-%" PRIu64, who, id,
			    RN_NETMAP_MAX_INT);
	if (!is_label(name, nlen))
		return fail(err, errlen, "%s.name: %s is not a DNS label (1-63 of a-z 0-9 -)", who,
			    rn_netmap_quote(name, nlen, q));
	if (strncmp(dns_name, name, nlen) || dns_name[nlen] != '.' ||
	    strcmp(dns_name + nlen + 1, m->domain) || nlen + 1 + dlen > RN_NETMAP_DNS_NAME_MAX)
		return fail(err, errlen, "%s.dns_name: %s is not name.domain (%s.%s)", who,
			    rn_netmap_quote(dns_name, strlen(dns_name), q), name, m->domain);
	if (all_zero(key, RN_NETMAP_KEY_LEN))
		return fail(err, errlen, "%s.public_key: all zero", who);
	if (!in_cgnat(ipv4))
		return fail(err, errlen, "%s.ipv4: %s is outside 100.64.0.0/10", who,
			    ip_text(AF_INET, ipv4, ip));
	if (is_magic_dns(ipv4))
		return fail(err, errlen, "%s.ipv4: 100.100.100.100 is Magic DNS, no node's address",
			    who);
	if ((ipv6[0] & 0xfe) != 0xfc)
		return fail(err, errlen, "%s.ipv6: %s is outside fc00::/7 (ULA)", who,
			    ip_text(AF_INET6, ipv6, ip));
	if (memcmp(ipv6, m->self.ipv6, 6))
		return fail(err, errlen, "%s.ipv6: %s is outside the network's /48 (self's, %s)",
			    who, ip_text(AF_INET6, ipv6, ip),
			    ip_text(AF_INET6, m->self.ipv6, (char[INET6_ADDRSTRLEN]){ 0 }));
	return 0;
}

static bool is_loopback(const union rn_netmap_endpoint *ep)
{
	if (ep->sa.sa_family == AF_INET)
		return (ntohl(ep->sin.sin_addr.s_addr) >> 24) == 127;
	return ep->sa.sa_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&ep->sin6.sin6_addr);
}

/* ep, named WHO[j] in errors ("peers[3].endpoints", "stun"), or WHO when j is SIZE_MAX. */
static int check_endpoint(const union rn_netmap_endpoint *ep, const char *who, size_t j, char *err,
			  size_t errlen)
{
	char text[RN_NETMAP_ENDPOINT_STRLEN], idx[24] = "";
	const char *why = NULL;

	if (j != SIZE_MAX)
		snprintf(idx, sizeof(idx), "[%zu]", j);
	if (ep->sa.sa_family == AF_INET) {
		if (!ep->sin.sin_port)
			why = "has port 0";
		else if (bad_unicast(AF_INET, (const uint8_t *)&ep->sin.sin_addr))
			why = "is not a unicast address";
	} else if (ep->sa.sa_family == AF_INET6) {
		if (!ep->sin6.sin6_port)
			why = "has port 0";
		else if (ep->sin6.sin6_scope_id || ep->sin6.sin6_flowinfo)
			why = "has a scope or flow label, which the wire cannot carry";
		else if (bad_unicast(AF_INET6, ep->sin6.sin6_addr.s6_addr))
			why = "is not a unicast address";
	} else {
		return fail(err, errlen, "%s%s: address family %u", who, idx, ep->sa.sa_family);
	}
	if (!why)
		return 0;
	rn_netmap_endpoint_format(ep, text, sizeof(text));
	return fail(err, errlen, "%s%s: %s %s", who, idx, text, why);
}

/* The sorted refs of one peer's lan_routes, checked; scratch has RN_NETMAP_MAX_ROUTES. */
static int check_lan_routes(const struct rn_netmap *m, size_t i, struct ref *lan, char *err,
			    size_t errlen)
{
	const struct rn_netmap_peer *p = &m->peers[i];
	char what[48], text[RN_FILTER_PREFIX_STRLEN];
	size_t d;
	int ret;

	snprintf(what, sizeof(what), "peers[%zu].lan_routes", i);
	for (size_t j = 0; j < p->n_lan_routes; j++) {
		ret = check_route(m, &p->lan_routes[j], what, j, err, errlen);
		if (ret)
			return ret;
		lan[j] = (struct ref){ &p->lan_routes[j], j };
	}
	d = find_dup(lan, p->n_lan_routes, (struct ref_ctx){ REF_PREFIX, 0 });
	if (d)
		return fail(err, errlen, "%s: %s appears twice", what, prefix_text(lan[d].p, text));
	return 0;
}

/* allowed_ips is exactly the mesh /32 and /128 and the lan_routes, each once. */
static int check_allowed_ips(const struct rn_netmap *m, size_t i, struct ref *al, struct ref *lan,
			     char *err, size_t errlen)
{
	const struct rn_netmap_peer *p = &m->peers[i];
	struct rn_filter_prefix mesh4, mesh6;
	char text[RN_FILTER_PREFIX_STRLEN];
	size_t k = 0, seen4 = 0, seen6 = 0, d;

	rn_filter_prefix_make(&mesh4, AF_INET, p->ipv4, 32);
	rn_filter_prefix_make(&mesh6, AF_INET6, p->ipv6, 128);
	for (size_t j = 0; j < p->n_allowed_ips; j++) {
		const struct rn_filter_prefix *a = &p->allowed_ips[j];

		if (!prefix_ok(a))
			return fail(err, errlen,
				    "peers[%zu].allowed_ips[%zu]: not a valid prefix (family %u, "
				    "length %u)",
				    i, j, a->family, a->len);
		if (!memcmp(a, &mesh4, sizeof(*a)))
			seen4++;
		else if (!memcmp(a, &mesh6, sizeof(*a)))
			seen6++;
		else
			al[k++] = (struct ref){ a, j };
	}
	if (seen4 != 1 || seen6 != 1)
		return fail(err, errlen,
			    "peers[%zu].allowed_ips: must hold the peer's mesh addresses %s and %s "
			    "once each",
			    i, prefix_text(&mesh4, text),
			    prefix_text(&mesh6, (char[RN_FILTER_PREFIX_STRLEN]){ 0 }));
	d = find_dup(al, k, (struct ref_ctx){ REF_PREFIX, 0 });
	if (d)
		return fail(err, errlen, "peers[%zu].allowed_ips: %s appears twice", i,
			    prefix_text(al[d].p, text));
	for (size_t j = 0; j < k || j < p->n_lan_routes; j++) {
		struct ref_ctx ctx = { REF_PREFIX, 0 };
		struct ref x = { j < k ? al[j].p : NULL, 0 },
			   y = { j < p->n_lan_routes ? lan[j].p : NULL, 0 };

		if (x.p && y.p && same_prefix(&x, &y))
			continue;
		if (x.p && (!y.p || ref_cmp(&x, &y, &ctx) < 0))
			return fail(err, errlen,
				    "peers[%zu].allowed_ips: %s is neither a mesh address of the "
				    "peer nor one of its lan_routes",
				    i, prefix_text(x.p, text));
		return fail(err, errlen, "peers[%zu].lan_routes: %s is missing from allowed_ips", i,
			    prefix_text(y.p, text));
	}
	return 0;
}

static int check_peer(const struct rn_netmap *m, size_t i, struct ref *al, struct ref *lan,
		      char *err, size_t errlen)
{
	const struct rn_netmap_peer *p = &m->peers[i];
	char who[48];
	int ret;

	snprintf(who, sizeof(who), "peers[%zu]", i);
	if (!terminated(p->name, sizeof(p->name)) || !terminated(p->dns_name, sizeof(p->dns_name)))
		return fail(err, errlen, "%s: name or dns_name is not NUL-terminated", who);
	ret = check_node(m, who, p->id, p->name, p->dns_name, p->public_key, p->ipv4, p->ipv6, err,
			 errlen);
	if (ret)
		return ret;
	if (p->n_endpoints > RN_NETMAP_MAX_ENDPOINTS ||
	    p->n_allowed_ips > RN_NETMAP_MAX_ALLOWED_IPS || p->n_lan_routes > RN_NETMAP_MAX_ROUTES)
		return fail(err, errlen,
			    "%s: %zu endpoints, %zu allowed_ips, %zu lan_routes: over the limits "
			    "%d, %d, %d",
			    who, p->n_endpoints, p->n_allowed_ips, p->n_lan_routes,
			    RN_NETMAP_MAX_ENDPOINTS, RN_NETMAP_MAX_ALLOWED_IPS,
			    RN_NETMAP_MAX_ROUTES);
	if ((p->n_endpoints && !p->endpoints) || (p->n_allowed_ips && !p->allowed_ips) ||
	    (p->n_lan_routes && !p->lan_routes))
		return fail(err, errlen, "%s: a list with a count but no entries", who);
	snprintf(who, sizeof(who), "peers[%zu].endpoints", i);
	for (size_t j = 0; j < p->n_endpoints; j++) {
		ret = check_endpoint(&p->endpoints[j], who, j, err, errlen);
		if (ret)
			return ret;
		/* The data plane reserves loopback: 127.127.0.0/16 names this node's relays. */
		if (is_loopback(&p->endpoints[j]))
			return fail(err, errlen, "%s[%zu]: a loopback address", who, j);
	}
	if (p->last_seen > RN_NETMAP_MAX_INT)
		return fail(err, errlen, "peers[%zu].last_seen: %" PRIu64 " is out of range", i,
			    p->last_seen);
	ret = check_lan_routes(m, i, lan, err, errlen);
	return ret ? ret : check_allowed_ips(m, i, al, lan, err, errlen);
}

static int check_peers(const struct rn_netmap *m, char *err, size_t errlen)
{
	struct ref *v, *al, *lan;
	int ret = 0;

	if (m->n_peers > RN_NETMAP_MAX_PEERS)
		return fail(err, errlen, "peers: %zu peers, over the limit of %d", m->n_peers,
			    RN_NETMAP_MAX_PEERS);
	if (m->n_peers && !m->peers)
		return fail(err, errlen, "peers: a count but no entries");
	v = calloc(m->n_peers + 1 + RN_NETMAP_MAX_ALLOWED_IPS + RN_NETMAP_MAX_ROUTES, sizeof(*v));
	if (!v)
		return -ENOMEM;
	al = v + m->n_peers + 1;
	lan = al + RN_NETMAP_MAX_ALLOWED_IPS;
	for (size_t i = 0; i < m->n_peers && !ret; i++)
		ret = check_peer(m, i, al, lan, err, errlen);
	if (!ret)
		ret = check_unique_nodes(m, v, err, errlen);
	free(v);
	return ret ? ret : check_unique_allowed_ips(m, err, errlen);
}

/* ---- filter and DNS ---- */

static int check_prefixes(const struct rn_filter_prefix *p, size_t n, const char *what, size_t r,
			  char *err, size_t errlen)
{
	if (n == 0 || n > RN_NETMAP_MAX_RULE_PREFIXES || !p)
		return fail(err, errlen, "filter.rules[%zu].%s: %zu prefixes; want 1-%d", r, what,
			    n, RN_NETMAP_MAX_RULE_PREFIXES);
	for (size_t j = 0; j < n; j++)
		if (!prefix_ok(&p[j]))
			return fail(err, errlen,
				    "filter.rules[%zu].%s[%zu]: not a valid prefix (family %u, "
				    "length %u)",
				    r, what, j, p[j].family, p[j].len);
	return 0;
}

static int check_rule(const struct rn_filter_rule *r, size_t i, char *err, size_t errlen)
{
	int ret;

	if (r->context != RN_FILTER_MESH && r->context != RN_FILTER_SUBNET &&
	    r->context != RN_FILTER_EXIT)
		return fail(err, errlen,
			    "filter.rules[%zu].context: %d is not mesh, subnet or exit", i,
			    (int)r->context);
	if ((unsigned)r->proto > RN_FILTER_PROTO_ICMP)
		return fail(err, errlen, "filter.rules[%zu].proto: %d is not any, tcp, udp or icmp",
			    i, (int)r->proto);
	ret = check_prefixes(r->src, r->n_src, "src", i, err, errlen);
	if (!ret)
		ret = check_prefixes(r->dst, r->n_dst, "dst", i, err, errlen);
	if (ret)
		return ret;
	if (r->n_ports == 0 || r->n_ports > RN_NETMAP_MAX_RULE_PORTS || !r->ports)
		return fail(err, errlen, "filter.rules[%zu].ports: %zu ranges; want 1-%d", i,
			    r->n_ports, RN_NETMAP_MAX_RULE_PORTS);
	for (size_t j = 0; j < r->n_ports; j++)
		if (r->ports[j].first > r->ports[j].last)
			return fail(err, errlen,
				    "filter.rules[%zu].ports[%zu]: %u-%u runs backwards", i, j,
				    r->ports[j].first, r->ports[j].last);
	return 0;
}

static int check_filter(const struct rn_netmap *m, char *err, size_t errlen)
{
	const struct rn_filter *f = &m->filter;
	struct rn_filter_prefix self4, self6;
	char text[RN_FILTER_PREFIX_STRLEN];
	int ret;

	rn_filter_prefix_make(&self4, AF_INET, m->self.ipv4, 32);
	rn_filter_prefix_make(&self6, AF_INET6, m->self.ipv6, 128);
	if (f->n_self != 2 || memcmp(&f->self[0], &self4, sizeof(self4)) ||
	    memcmp(&f->self[1], &self6, sizeof(self6)))
		return fail(err, errlen, "filter.self: must be exactly [%s, %s], self's addresses",
			    prefix_text(&self4, text),
			    prefix_text(&self6, (char[RN_FILTER_PREFIX_STRLEN]){ 0 }));
	if (f->n_routes > RN_NETMAP_MAX_ROUTES)
		return fail(err, errlen, "filter.routes: %zu routes, over the limit of %d",
			    f->n_routes, RN_NETMAP_MAX_ROUTES);
	if (f->n_routes && !f->routes)
		return fail(err, errlen, "filter.routes: a count but no entries");
	for (size_t i = 0; i < f->n_routes; i++) {
		ret = check_route(m, &f->routes[i], "filter.routes", i, err, errlen);
		if (ret)
			return ret;
		for (size_t j = 0; j < i; j++)
			if (rn_filter_prefix_equal(&f->routes[i], &f->routes[j]))
				return fail(err, errlen, "filter.routes: %s appears twice",
					    prefix_text(&f->routes[i], text));
	}
	if (f->n_rules > RN_NETMAP_MAX_RULES)
		return fail(err, errlen, "filter.rules: %zu rules, over the limit of %d",
			    f->n_rules, RN_NETMAP_MAX_RULES);
	if (f->n_rules && !f->rules)
		return fail(err, errlen, "filter.rules: a count but no entries");
	for (size_t i = 0; i < f->n_rules; i++) {
		ret = check_rule(&f->rules[i], i, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

static int check_dns(const struct rn_netmap *m, char *err, size_t errlen)
{
	const struct rn_netmap_dns *d = &m->dns;
	char q[RN_NETMAP_QUOTE_LEN], ip[INET6_ADDRSTRLEN];

	if (d->n_resolvers > RN_NETMAP_MAX_RESOLVERS)
		return fail(err, errlen, "dns.resolvers: %zu resolvers, over the limit of %d",
			    d->n_resolvers, RN_NETMAP_MAX_RESOLVERS);
	if (d->n_resolvers && !d->resolvers)
		return fail(err, errlen, "dns.resolvers: a count but no entries");
	for (size_t i = 0; i < d->n_resolvers; i++) {
		const struct rn_netmap_ip *r = &d->resolvers[i];

		if (r->family != AF_INET && r->family != AF_INET6)
			return fail(err, errlen, "dns.resolvers[%zu]: address family %u", i,
				    r->family);
		if (bad_unicast(r->family, r->addr) ||
		    (r->family == AF_INET && is_magic_dns(r->addr)))
			return fail(
			    err, errlen,
			    "dns.resolvers[%zu]: %s is not a unicast upstream (100.100.100.100 "
			    "is Magic DNS itself)",
			    i, ip_text(r->family, r->addr, ip));
	}
	if (d->n_records > RN_NETMAP_MAX_RECORDS)
		return fail(err, errlen, "dns.records: %zu records, over the limit of %d",
			    d->n_records, RN_NETMAP_MAX_RECORDS);
	if (d->n_records && !d->records)
		return fail(err, errlen, "dns.records: a count but no entries");
	for (size_t i = 0; i < d->n_records; i++) {
		const struct rn_netmap_dns_record *r = &d->records[i];

		if (!terminated(r->name, sizeof(r->name)) || !rn_netmap_is_dns_name(r->name))
			return fail(err, errlen,
				    "dns.records[%zu].name: %s is not a lowercase DNS name", i,
				    rn_netmap_quote(r->name, strnlen(r->name, sizeof(r->name)), q));
		if (!((r->type == RN_NETMAP_RR_A && r->value.family == AF_INET) ||
		      (r->type == RN_NETMAP_RR_AAAA && r->value.family == AF_INET6)))
			return fail(
			    err, errlen,
			    "dns.records[%zu]: type %s with %s; want A with an IPv4 address "
			    "or AAAA with an IPv6 one",
			    i,
			    r->type == RN_NETMAP_RR_A	   ? "A"
			    : r->type == RN_NETMAP_RR_AAAA ? "AAAA"
							   : "unknown",
			    r->value.family == AF_INET	  ? "an IPv4 address"
			    : r->value.family == AF_INET6 ? "an IPv6 address"
							  : "no address");
	}
	if (!terminated(d->search_domain, sizeof(d->search_domain)) ||
	    (d->search_domain[0] && !rn_netmap_is_dns_name(d->search_domain)))
		return fail(err, errlen, "dns.search_domain: %s is not a lowercase DNS name",
			    rn_netmap_quote(d->search_domain,
					    strnlen(d->search_domain, sizeof(d->search_domain)),
					    q));
	return 0;
}

static int check_self(const struct rn_netmap *m, char *err, size_t errlen)
{
	const struct rn_netmap_self *s = &m->self;
	char q[RN_NETMAP_QUOTE_LEN];

	if (!terminated(s->name, sizeof(s->name)) ||
	    !terminated(s->dns_name, sizeof(s->dns_name)) || !terminated(s->user, sizeof(s->user)))
		return fail(err, errlen, "self: name, dns_name or user is not NUL-terminated");
	if (!is_user(s->user))
		return fail(err, errlen,
			    "self.user: %s is not 1-%d printable characters, no spaces",
			    rn_netmap_quote(s->user, strlen(s->user), q), RN_NETMAP_USER_MAX);
	return check_node(m, "self", s->id, s->name, s->dns_name, s->public_key, s->ipv4, s->ipv6,
			  err, errlen);
}

/* Relays: named, unique, each with UDP or TLS (TLS with a pin); the credential with them. */
static int check_relays(const struct rn_netmap *m, char *err, size_t errlen)
{
	static const uint8_t zero[RN_NETMAP_KEY_LEN];
	char q[RN_NETMAP_QUOTE_LEN], who[48];
	int ret;

	if (m->n_relays > RN_NETMAP_MAX_RELAYS || (m->n_relays && !m->relays))
		return fail(err, errlen, "relays: %zu relays: over the limit of %d", m->n_relays,
			    RN_NETMAP_MAX_RELAYS);
	if (!m->n_relays != !m->relay_cred.expires)
		return fail(err, errlen, "relay_credential: %s",
			    m->n_relays ? "missing, with relays listed"
					: "present, with no relays listed");
	if (m->relay_cred.expires > RN_NETMAP_MAX_INT)
		return fail(err, errlen, "relay_credential.expires: %" PRIu64 " is out of range",
			    m->relay_cred.expires);
	for (size_t i = 0; i < m->n_relays; i++) {
		const struct rn_netmap_relay *r = &m->relays[i];
		bool tls = r->tls.sa.sa_family != AF_UNSPEC;

		if (!terminated(r->name, sizeof(r->name)) || !is_label(r->name, strlen(r->name)))
			return fail(err, errlen, "relays[%zu].name: %s is not a DNS label", i,
				    rn_netmap_quote(r->name, strnlen(r->name, sizeof(r->name)), q));
		for (size_t j = 0; j < i; j++)
			if (!strcmp(m->relays[j].name, r->name))
				return fail(err, errlen,
					    "relays[%zu].name: %s is also relays[%zu]'s", i,
					    r->name, j);
		if (r->udp.sa.sa_family == AF_UNSPEC && !tls)
			return fail(err, errlen, "relays[%zu]: neither udp nor tls is set", i);
		if (tls != !!memcmp(r->spki, zero, sizeof(zero)))
			return fail(err, errlen, "relays[%zu].spki: %s", i,
				    tls ? "missing: a TLS relay needs its certificate pin"
					: "set, but the relay offers no TLS");
		snprintf(who, sizeof(who), "relays[%zu].udp", i);
		if (r->udp.sa.sa_family != AF_UNSPEC &&
		    (ret = check_endpoint(&r->udp, who, SIZE_MAX, err, errlen)))
			return ret;
		snprintf(who, sizeof(who), "relays[%zu].tls", i);
		if (tls && (ret = check_endpoint(&r->tls, who, SIZE_MAX, err, errlen)))
			return ret;
	}
	return 0;
}

int rn_netmap_validate(const struct rn_netmap *m, char *err, size_t errlen)
{
	char q[RN_NETMAP_QUOTE_LEN];
	int ret;

	if (m->version == 0 || m->version > RN_NETMAP_MAX_INT)
		return fail(err, errlen, "version: %" PRIu64 " is out of range 1-%" PRIu64,
			    m->version, RN_NETMAP_MAX_INT);
	if (m->issued_at == 0 || m->issued_at > RN_NETMAP_MAX_INT)
		return fail(err, errlen, "issued_at: %" PRIu64 " is out of range 1-%" PRIu64,
			    m->issued_at, RN_NETMAP_MAX_INT);
	if (m->cache_valid_s > RN_NETMAP_CACHE_VALID_MAX_S)
		return fail(err, errlen, "cache_valid_s: %" PRIu64 " is out of range 1-%d",
			    m->cache_valid_s, RN_NETMAP_CACHE_VALID_MAX_S);
	if (!terminated(m->domain, sizeof(m->domain)) || !rn_netmap_is_dns_name(m->domain))
		return fail(err, errlen, "domain: %s is not a lowercase DNS name",
			    rn_netmap_quote(m->domain, strnlen(m->domain, sizeof(m->domain)), q));
	ret = check_self(m, err, errlen);
	if (!ret)
		ret = check_peers(m, err, errlen);
	if (!ret)
		ret = check_filter(m, err, errlen);
	if (!ret)
		ret = check_dns(m, err, errlen);
	if (!ret && (m->n_stun > RN_NETMAP_MAX_STUN || (m->n_stun && !m->stun)))
		return fail(err, errlen, "stun: %zu servers: over the limit of %d", m->n_stun,
			    RN_NETMAP_MAX_STUN);
	for (size_t j = 0; !ret && j < m->n_stun; j++)
		ret = check_endpoint(&m->stun[j], "stun", j, err, errlen);
	if (!ret)
		ret = check_relays(m, err, errlen);
	return ret;
}

/* ---- replacing the running map ---- */

int rn_netmap_accept(const struct rn_netmap *current, const struct rn_netmap *candidate,
		     uint64_t now, uint64_t max_age_s, char *err, size_t errlen)
{
	const struct rn_netmap *c = candidate;
	char was[RN_NETMAP_B64_KEY_LEN + 1], is[RN_NETMAP_B64_KEY_LEN + 1];

	if (max_age_s == 0)
		return fail(err, errlen, "max_age_s is 0: every map would be stale");
	if (current && memcmp(current->self.public_key, c->self.public_key, RN_NETMAP_KEY_LEN)) {
		rn_netmap_b64_encode(current->self.public_key, RN_NETMAP_KEY_LEN, was);
		rn_netmap_b64_encode(c->self.public_key, RN_NETMAP_KEY_LEN, is);
		fail(err, errlen,
		     "self.public_key changed from %s to %s: a map for another key (a node's key "
		     "changes only when it enrolls again); keeping the running map",
		     was, is);
		return -EPERM;
	}
	if (current && c->version <= current->version) {
		fail(err, errlen,
		     "version %" PRIu64 " is not newer than the running map's %" PRIu64
		     ": a replay or rollback; keeping the running map",
		     c->version, current->version);
		return -ESTALE;
	}
	if (c->issued_at > now && c->issued_at - now > RN_NETMAP_CLOCK_SKEW_S) {
		fail(err, errlen,
		     "issued_at %" PRIu64 " is %" PRIu64 " s ahead of this node's clock (%" PRIu64
		     "), more than the %d s allowed; check both clocks (NTP)",
		     c->issued_at, c->issued_at - now, now, RN_NETMAP_CLOCK_SKEW_S);
		return -ERANGE;
	}
	if (now > c->issued_at && now - c->issued_at > max_age_s) {
		fail(err, errlen,
		     "issued_at %" PRIu64 " is %" PRIu64 " s old, more than the %" PRIu64
		     " s allowed: a stale map; keeping the running map",
		     c->issued_at, now - c->issued_at, max_age_s);
		return -ESTALE;
	}
	return 0;
}

uint64_t rn_netmap_cache_valid_s(const struct rn_netmap *m)
{
	return m->cache_valid_s ? m->cache_valid_s : RN_NETMAP_CACHE_VALID_DEFAULT_S;
}

void rn_netmap_free(struct rn_netmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_peers; i++) {
		free(m->peers[i].endpoints);
		free(m->peers[i].allowed_ips);
		free(m->peers[i].lan_routes);
	}
	free(m->peers);
	rn_filter_free(&m->filter);
	free(m->dns.resolvers);
	free(m->dns.records);
	free(m->stun);
	free(m->relays);
	OPENSSL_cleanse(&m->relay_cred, sizeof(m->relay_cred));
	memset(m, 0, sizeof(*m));
}
