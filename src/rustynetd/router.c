/* SPDX-License-Identifier: MIT */
/*
 * Forwarding and NAT for an approved exit node or subnet router (router.h). Order: the nft
 * table first, then the sysctls, so forwarding never runs without the masquerade that keeps
 * mesh addresses off the uplink; undo runs in reverse.
 */
#include "rustynetd/router.h"

#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "rustynetd/daemon.h"
#include "system/nft.h"
#include "system/system.h"

static const char *const forwarding_keys[] = {
	"net.ipv4.ip_forward",
	"net.ipv6.conf.all.forwarding",
};

int rn_router_ruleset(const char *ifname, const struct rn_filter_prefix *mesh6, char *buf,
		      size_t len)
{
	char v6[RN_FILTER_PREFIX_STRLEN];
	int n;

	if (!rn_nft_ifname_ok(ifname) || !mesh6 || mesh6->family != AF_INET6)
		return -EINVAL;
	rn_filter_prefix_format(mesh6, v6, sizeof(v6));
	/*
	 * Policy accept: this table only adds what a router needs; another table's drop policy
	 * still wins (docs/exit-nodes.md). The MSS clamp fits TCP from the uplink into the tunnel.
	 */
	n = snprintf(buf, len,
		     "chain forward {\n"
		     "\ttype filter hook forward priority filter; policy accept;\n"
		     "\toifname \"%s\" tcp flags syn / syn,rst tcp option maxseg size set rt mtu\n"
		     "\tiifname \"%s\" oifname != \"%s\" accept\n"
		     "\toifname \"%s\" ct state established,related accept\n"
		     "}\n"
		     "chain postrouting {\n"
		     "\ttype nat hook postrouting priority srcnat; policy accept;\n"
		     "\toifname != \"%s\" ip saddr " RN_ROUTER_MESH4 " masquerade\n"
		     "\toifname != \"%s\" ip6 saddr %s masquerade\n"
		     "}",
		     ifname, ifname, ifname, ifname, ifname, ifname, v6);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

static void set_error(struct rn_router *r, const char *what, int err)
{
	if (!r->error[0])
		snprintf(r->error, sizeof(r->error), "%s: %s", what, strerror(-err));
}

static json_t *prefixes_json(const struct rn_filter_prefix *v, size_t n)
{
	char buf[RN_FILTER_PREFIX_STRLEN];
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(
		    a, json_string(rn_filter_prefix_format(&v[i], buf, sizeof(buf))));
	return a ? a : json_array();
}

void rn_router_restrict(struct rn_daemon *d, struct rn_netmap *m)
{
	struct rn_router *r = &d->router;
	const struct rn_filter *f = &m->filter;
	size_t n;
	char *what;
	json_t *j;

	rn_advertise_restrict(&d->adv, &m->filter, &r->refused);
	n = f->n_routes < RN_NETMAP_MAX_ROUTES ? f->n_routes : RN_NETMAP_MAX_ROUTES;
	r->approved_exit = f->exit;
	if (n)
		memcpy(r->approved_routes, f->routes, n * sizeof(f->routes[0]));
	r->n_approved_routes = n;
	if (!rn_advertise_refused_any(&r->refused))
		return;
	j = prefixes_json(r->refused.routes, r->refused.n_routes);
	what = json_dumps(j, JSON_COMPACT);
	log_warn(MAIN,
		 "router: netmap version %llu grants this node %s%s%s, which it does not offer: "
		 "refused (no forwarding, NAT or filter context for it; offer it with `rustynet up "
		 "--advertise-exit-node --advertise-routes ...` if it is meant)",
		 (unsigned long long)m->version, r->refused.exit ? "exit node" : "",
		 r->refused.exit && r->refused.n_routes ? " and routes "
		 : r->refused.n_routes			? "routes "
							: "",
		 r->refused.n_routes ? (what ? what : "?") : "");
	free(what);
	json_decref(j);
}

static void install(struct rn_daemon *d, const char *ruleset)
{
	struct rn_router *r = &d->router;
	int err;

	if (r->forwarding && !strcmp(r->ruleset, ruleset))
		return; /* installed and journaled already */
	r->error[0] = '\0';
	err = rn_system_nft_table_set(d->sys, RN_ROUTER_GROUP, RN_ROUTER_FAMILY, RN_ROUTER_TABLE,
				      ruleset);
	if (err) {
		set_error(r, "cannot install nft table inet " RN_ROUTER_TABLE, err);
		/* No NAT, no forwarding: leave nothing half-done. */
		rn_system_undo_group(d->sys, RN_ROUTER_GROUP);
		r->forwarding = false;
		r->ruleset[0] = '\0';
		log_error(MAIN, "router: %s: not forwarding", r->error);
		return;
	}
	snprintf(r->ruleset, sizeof(r->ruleset), "%s", ruleset);
	r->forwarding = true;
	for (size_t i = 0; i < sizeof(forwarding_keys) / sizeof(forwarding_keys[0]); i++) {
		err = rn_system_sysctl_set(d->sys, RN_ROUTER_GROUP, forwarding_keys[i], "1");
		if (err) {
			set_error(r, forwarding_keys[i], err);
			/* IPv4 without it means no forwarding at all; IPv6 may be off on the host.
			 */
			if (i == 0)
				r->forwarding = false;
		}
	}
	if (r->error[0])
		log_error(MAIN, "router: %s", r->error);
	else
		log_info(MAIN,
			 "router: forwarding on; nft table inet " RN_ROUTER_TABLE " installed");
}

static void uninstall(struct rn_daemon *d)
{
	struct rn_router *r = &d->router;
	int err;

	if (!rn_system_count(d->sys, RN_ROUTER_GROUP) && !r->forwarding)
		return;
	err = rn_system_undo_group(d->sys, RN_ROUTER_GROUP);
	r->forwarding = false;
	r->ruleset[0] = '\0';
	r->error[0] = '\0';
	if (err)
		set_error(r, "cannot undo forwarding and NAT (kept for a retry)", err);
	else
		log_info(MAIN, "router: no longer an approved exit node or router: forwarding and "
			       "NAT undone");
}

void rn_router_apply(struct rn_daemon *d, const struct rn_netmap *m)
{
	char ruleset[RN_ROUTER_RULESET_MAX];
	struct rn_filter_prefix mesh6;
	int n;

	if (!d->sys)
		return;
	if (!d->router.approved_exit && !d->router.n_approved_routes) {
		uninstall(d);
		return;
	}
	rn_filter_prefix_make(&mesh6, AF_INET6, m->self.ipv6, RN_APPLY_V6_NET_LEN);
	n = rn_router_ruleset(d->ifname, &mesh6, ruleset, sizeof(ruleset));
	if (n < 0) {
		d->router.error[0] = '\0';
		set_error(&d->router, "cannot build the router's nft ruleset", n);
		log_error(MAIN, "router: %s", d->router.error);
		return;
	}
	install(d, ruleset);
}

void rn_router_clear(struct rn_daemon *d)
{
	if (d->sys)
		uninstall(d);
	d->router.approved_exit = false;
	d->router.n_approved_routes = 0;
	memset(&d->router.refused, 0, sizeof(d->router.refused));
}

json_t *rn_router_status(const struct rn_daemon *d)
{
	const struct rn_router *r = &d->router;

	return json_pack("{s:b, s:o, s:b, s:o, s:b, s:s?}", "approved_exit", r->approved_exit,
			 "approved_routes", prefixes_json(r->approved_routes, r->n_approved_routes),
			 "refused_exit", r->refused.exit, "refused_routes",
			 prefixes_json(r->refused.routes, r->refused.n_routes), "forwarding",
			 r->forwarding, "error", r->error[0] ? r->error : NULL);
}
