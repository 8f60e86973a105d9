/* SPDX-License-Identifier: MIT */
/* The pure half of exit nodes and LAN access: finding the exit, the rule/route plan, exit.json. */
#include "rustynetd/exit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * The local ranges: the only destinations for which unmarked traffic may consult main (the
 * user's own LAN: printer, router, DHCP server; the mesh's 100.64.0.0/10 and ULA /48 routes),
 * and only main's routes inside them (suppress_prefixlength = length - 1: a /1 pushed by DHCP
 * option 121, or a default route, is ignored). Everything else goes to table 5150. With an
 * exit selected they also get unreachable routes in 5150, so a destination in them that main
 * has no route for fails here instead of leaving through the exit (LAN routes of the
 * LAN-access toggle, more specific, still go to the tunnel).
 */
static const char *const local[] = {
	"10.0.0.0/8",	  "172.16.0.0/12", "192.168.0.0/16",
	"169.254.0.0/16", "100.64.0.0/10", /* the mesh; also a carrier-grade NAT underlay */
	"fc00::/7",			   /* ULA, the mesh's /48 among them */
	"fe80::/10",
};

static bool to_prefix(const char *text, struct rn_prefix *out)
{
	return rn_ipaddr_parse_prefix(text, out);
}

static void from_filter_prefix(const struct rn_filter_prefix *f, struct rn_prefix *out)
{
	memset(out, 0, sizeof(*out));
	out->addr.family = f->family;
	memcpy(out->addr.bytes, f->addr, f->family == AF_INET ? 4 : 16);
	out->len = f->len;
}

static struct rn_exit_route *add_route(struct rn_exit_plan *p, size_t *cap)
{
	struct rn_exit_route *r;

	if (p->n_routes == *cap) {
		size_t n = *cap ? *cap * 2 : 16;

		r = realloc(p->routes, n * sizeof(*r));
		if (!r)
			return NULL;
		p->routes = r;
		*cap = n;
	}
	r = &p->routes[p->n_routes++];
	memset(r, 0, sizeof(*r));
	r->route.table = RN_EXIT_TABLE;
	return r;
}

static bool has_family(const struct rn_exit_plan *p, int family)
{
	for (size_t i = 0; i < p->n_routes; i++)
		if (p->routes[i].route.dst.addr.family == family)
			return true;
	return false;
}

static int add_rules(struct rn_exit_plan *p, uint8_t family)
{
	struct rn_nl_rule *r;
	struct rn_prefix dst;

	if (p->n_rules + 2 + sizeof(local) / sizeof(local[0]) > RN_EXIT_MAX_RULES)
		return -E2BIG;
	r = &p->rules[p->n_rules++];
	*r = (struct rn_nl_rule){ .family = family,
				  .priority = RN_EXIT_PRIO_BYPASS,
				  .table = RT_TABLE_MAIN,
				  .fwmark = RN_EXIT_FWMARK,
				  .fwmask = RN_EXIT_FWMASK };
	rn_nl_rule_normalize(r);
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		if (!to_prefix(local[i], &dst))
			return -EINVAL;
		if (dst.addr.family != family)
			continue;
		r = &p->rules[p->n_rules++];
		*r = (struct rn_nl_rule){ .family = family,
					  .priority = RN_EXIT_PRIO_MAIN,
					  .table = RT_TABLE_MAIN,
					  .suppress = true,
					  .suppress_prefixlen = (uint8_t)(dst.len - 1),
					  .dst = dst };
		rn_nl_rule_normalize(r);
	}
	/* "not fwmark": a marked packet main cannot route must not fall into the tunnel. */
	r = &p->rules[p->n_rules++];
	*r = (struct rn_nl_rule){ .family = family,
				  .priority = RN_EXIT_PRIO_TABLE,
				  .table = RN_EXIT_TABLE,
				  .fwmark = RN_EXIT_FWMARK,
				  .fwmask = RN_EXIT_FWMASK,
				  .invert = true };
	rn_nl_rule_normalize(r);
	return 0;
}

static int add_lan_routes(struct rn_exit_plan *p, size_t *cap, const struct rn_netmap *m,
			  const char *ifname)
{
	for (size_t i = 0; m && i < m->n_peers; i++) {
		const struct rn_netmap_peer *peer = &m->peers[i];

		for (size_t j = 0; j < peer->n_lan_routes; j++) {
			struct rn_exit_route *r = add_route(p, cap);

			if (!r)
				return -ENOMEM;
			from_filter_prefix(&peer->lan_routes[j], &r->route.dst);
			snprintf(r->route.dev, sizeof(r->route.dev), "%s", ifname);
			snprintf(r->via, sizeof(r->via), "%s", peer->name);
		}
	}
	return 0;
}

static int add_exit_routes(struct rn_exit_plan *p, size_t *cap, const char *ifname)
{
	static const char *const defaults[] = { "0.0.0.0/0", "::/0" };
	struct rn_exit_route *r;
	struct rn_prefix dst;
	size_t n_lan = p->n_routes;

	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		bool covered = false;

		if (!to_prefix(local[i], &dst))
			return -EINVAL;
		/* A LAN route exactly this range replaces it (the kernel keys on the prefix). */
		for (size_t j = 0; j < n_lan; j++)
			covered |= rn_ipaddr_prefix_equal(&p->routes[j].route.dst, &dst);
		if (covered)
			continue;
		r = add_route(p, cap);
		if (!r)
			return -ENOMEM;
		r->route.dst = dst;
		r->route.type = RTN_UNREACHABLE;
	}
	for (size_t i = 0; i < 2; i++) {
		r = add_route(p, cap);
		if (!r || !to_prefix(defaults[i], &r->route.dst))
			return -ENOMEM;
		snprintf(r->route.dev, sizeof(r->route.dev), "%s", ifname);
	}
	return 0;
}

int rn_exit_plan_make(const struct rn_netmap *m, const struct rn_exit_prefs *prefs,
		      const char *ifname, struct rn_exit_plan *out)
{
	size_t cap = 0;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (m && !m->version)
		m = NULL;
	if (prefs->lan_access)
		r = add_lan_routes(out, &cap, m, ifname);
	if (!r && prefs->node_id)
		r = add_exit_routes(out, &cap, ifname);
	if (r) {
		rn_exit_plan_free(out);
		return r;
	}
	for (size_t i = 0; i < out->n_routes; i++)
		rn_nl_route_normalize(&out->routes[i].route);
	if (has_family(out, AF_INET))
		r = add_rules(out, AF_INET);
	if (!r && has_family(out, AF_INET6))
		r = add_rules(out, AF_INET6);
	if (r) {
		rn_exit_plan_free(out);
		return r;
	}
	if (out->n_routes)
		out->fwmark = RN_EXIT_FWMARK;
	return 0;
}

void rn_exit_plan_free(struct rn_exit_plan *p)
{
	free(p->routes);
	memset(p, 0, sizeof(*p));
}

bool rn_exit_plan_has_route(const struct rn_exit_plan *p, const struct rn_nl_route *r)
{
	for (size_t i = 0; i < p->n_routes; i++)
		if (rn_nl_route_equal(&p->routes[i].route, r))
			return true;
	return false;
}

bool rn_exit_plan_has_dst(const struct rn_exit_plan *p, const struct rn_nl_route *r)
{
	for (size_t i = 0; i < p->n_routes; i++)
		if (p->routes[i].route.table == r->table &&
		    rn_ipaddr_prefix_equal(&p->routes[i].route.dst, &r->dst))
			return true;
	return false;
}

bool rn_exit_plan_has_rule(const struct rn_exit_plan *p, const struct rn_nl_rule *r)
{
	for (size_t i = 0; i < p->n_rules; i++)
		if (rn_nl_rule_equal(&p->rules[i], r))
			return true;
	return false;
}

bool rn_exit_plan_equal(const struct rn_exit_plan *a, const struct rn_exit_plan *b)
{
	if (a->n_rules != b->n_rules || a->n_routes != b->n_routes || a->fwmark != b->fwmark)
		return false;
	for (size_t i = 0; i < a->n_routes; i++)
		if (!rn_nl_route_equal(&a->routes[i].route, &b->routes[i].route) ||
		    strcmp(a->routes[i].via, b->routes[i].via))
			return false;
	for (size_t i = 0; i < a->n_rules; i++)
		if (!rn_nl_rule_equal(&a->rules[i], &b->rules[i]))
			return false;
	return true;
}

bool rn_exit_answers(const struct rn_wg_peer_config *run, time_t now)
{
	return run && run->last_handshake.tv_sec &&
	       now - run->last_handshake.tv_sec <= RN_EXIT_REACHABLE_S &&
	       run->unanswered_ms < RN_EXIT_UNANSWERED_MS;
}

const struct rn_netmap_peer *rn_exit_peer(const struct rn_netmap *m, uint64_t id)
{
	for (size_t i = 0; m && id && i < m->n_peers; i++)
		if (m->peers[i].id == id)
			return &m->peers[i];
	return NULL;
}

/* Label, dns_name (a final dot allowed), or mesh address: case-insensitive. */
static bool names(const char *query, const char *name, const char *dns_name, const uint8_t *v4,
		  const uint8_t *v6)
{
	size_t len = strlen(query), dlen = strlen(dns_name);
	uint8_t a[16];

	if (!strcasecmp(query, name) || !strcasecmp(query, dns_name))
		return true;
	if (len == dlen + 1 && query[dlen] == '.' && !strncasecmp(query, dns_name, dlen))
		return true;
	if (inet_pton(AF_INET, query, a) == 1)
		return !memcmp(a, v4, 4);
	if (inet_pton(AF_INET6, query, a) == 1)
		return !memcmp(a, v6, 16);
	return false;
}

const struct rn_netmap_peer *rn_exit_find(const struct rn_netmap *m, const char *query, char *err,
					  size_t errlen)
{
	const struct rn_netmap_self *s = &m->self;

	if (!query || !*query || strlen(query) > RN_NETMAP_DNS_NAME_MAX) {
		snprintf(err, errlen,
			 "name an exit node: its name, DNS name or mesh address "
			 "(see `rustynet exit-node list`)");
		return NULL;
	}
	if (names(query, s->name, s->dns_name, s->ipv4, s->ipv6)) {
		snprintf(err, errlen,
			 "\"%s\" is this node itself: pick another exit node (see "
			 "`rustynet exit-node list`)",
			 query);
		return NULL;
	}
	for (size_t i = 0; i < m->n_peers; i++) {
		const struct rn_netmap_peer *p = &m->peers[i];

		if (!names(query, p->name, p->dns_name, p->ipv4, p->ipv6))
			continue;
		if (p->is_exit)
			return p;
		snprintf(err, errlen,
			 "%s is not an exit node this node may use: it does not offer one, the "
			 "admin has not approved it, or the policy does not grant you "
			 "autogroup:internet through it (see `rustynet exit-node list`)",
			 p->dns_name);
		return NULL;
	}
	snprintf(err, errlen, "no node \"%s\" in this network (see `rustynet exit-node list`)",
		 query);
	return NULL;
}

static int add_default(struct rn_wg_peer_config *pc, int family)
{
	struct rn_wg_allowed_ip a = { .family = (uint8_t)family, .cidr = 0 };

	for (size_t i = 0; i < pc->n_allowed_ips; i++)
		if (pc->allowed_ips[i].family == family && pc->allowed_ips[i].cidr == 0)
			return 0;
	return rn_wg_peer_config_add_allowed_ip(pc, &a);
}

int rn_exit_plan_peer_defaults(struct rn_wg_config *plan, const struct rn_netmap *m,
			       uint64_t exit_id)
{
	const struct rn_netmap_peer *p = rn_exit_peer(m, exit_id);

	if (!p || !p->is_exit)
		return 0;
	for (size_t i = 0; i < plan->n_peers; i++) {
		struct rn_wg_peer_config *pc = &plan->peers[i];

		if (memcmp(pc->public_key, p->public_key, RN_WG_KEY_LEN) ||
		    (pc->flags & RN_WG_PEER_REMOVE))
			continue;
		if (add_default(pc, AF_INET) || add_default(pc, AF_INET6))
			return -ENOMEM;
	}
	return 0;
}

int rn_exit_mark_ruleset(uint32_t mark, uint32_t mask, char *buf, size_t len)
{
	int n;

	if (!mark || (mark & ~mask))
		return -EINVAL;
	/* mangle: after conntrack (-200) on the way in, before its confirmation on the way out. */
	n = snprintf(buf, len,
		     "chain postrouting {\n"
		     "\ttype filter hook postrouting priority mangle; policy accept;\n"
		     "\tmeta mark and 0x%x == 0x%x ct mark set meta mark\n"
		     "}\n"
		     "chain prerouting {\n"
		     "\ttype filter hook prerouting priority mangle; policy accept;\n"
		     "\tct mark and 0x%x == 0x%x meta mark set ct mark\n"
		     "}",
		     mask, mark, mask, mark);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

bool rn_exit_prefs_parse(const char *text, size_t len, struct rn_exit_prefs *out)
{
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL), *x, *id, *name;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	x = json_object_get(j, "exit_node");
	id = json_object_get(x, "id");
	name = json_object_get(x, "name");
	if (!json_is_object(j) || json_integer_value(json_object_get(j, "version")) != 1 ||
	    !json_is_boolean(json_object_get(j, "lan_access")))
		goto out;
	out->lan_access = json_is_true(json_object_get(j, "lan_access"));
	if (json_is_null(x)) {
		ok = true;
		goto out;
	}
	if (!json_is_integer(id) || json_integer_value(id) < 1 || !json_is_string(name) ||
	    json_string_length(name) > RN_NETMAP_LABEL_MAX)
		goto out;
	out->node_id = (uint64_t)json_integer_value(id);
	snprintf(out->name, sizeof(out->name), "%s", json_string_value(name));
	ok = true;
out:
	json_decref(j);
	if (!ok)
		memset(out, 0, sizeof(*out));
	return ok;
}

char *rn_exit_prefs_dump(const struct rn_exit_prefs *p)
{
	json_t *x = p->node_id
			? json_pack("{s:I, s:s}", "id", (json_int_t)p->node_id, "name", p->name)
			: json_null();
	json_t *j =
	    json_pack("{s:i, s:o, s:b}", "version", 1, "exit_node", x, "lan_access", p->lan_access);
	char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;

	json_decref(j);
	return text;
}
