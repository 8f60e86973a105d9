/* SPDX-License-Identifier: MIT */
/*
 * `rustynet dns inspect`: everything needed to tell why a name does or does not resolve — the
 * zone and every record served (with each node's online state), the upstreams and where they
 * come from, protected mode, how the system resolver is wired, and the problems found.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ipc/ipc.h"
#include "rustynetd/daemon.h"
#include "rustynetd/resolver.h"

/* "owner\tttl\tIN\tTYPE\trdata" -> {"name","type","value","node","online"} */
static json_t *record_json(const struct rn_dns_zone_rec *rec)
{
	char f[5][RN_DNS_NAME_TEXT_MAX] = { { 0 } };
	const char *p = rec->text;

	for (int i = 0; i < 5 && p; i++) {
		const char *tab = i < 4 ? strchr(p, '\t') : NULL;
		size_t n = tab ? (size_t)(tab - p) : strlen(p);

		snprintf(f[i], sizeof(f[i]), "%.*s", (int)n, p);
		p = tab ? tab + 1 : NULL;
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:b}", "name", f[0], "type", f[3], "value", f[4],
			 "node", rec->node, "online", rec->online);
}

static json_t *records_json(const struct rn_daemon *d)
{
	struct rn_dns_zone *z = NULL;
	json_t *a = json_array();

	if (!d->map.version || rn_dns_zone_build(&d->map, &z))
		return a;
	for (size_t i = 0; i < rn_dns_zone_count(z); i++) {
		struct rn_dns_zone_rec rec;

		rn_dns_zone_get(z, i, &rec);
		json_array_append_new(a, record_json(&rec));
	}
	rn_dns_zone_free(z);
	return a;
}

/*
 * What systemd-resolved has for the tunnel link, read back now: {"link", "dns", "domains"
 * ("~name" for routing-only), "default_route"}; *as_set tells whether it is what we set.
 */
static json_t *resolved_json(struct rn_daemon *d, bool *as_set)
{
	struct rn_magicdns_state *s = &d->dns;
	struct rn_resolved_link got;
	char why[256], a[INET6_ADDRSTRLEN];
	json_t *dns = json_array(), *doms = json_array();

	*as_set = false;
	if (!s->bus || !s->link_ifindex ||
	    rn_resolved_link_get(s->bus, s->link_ifindex, &got, why, sizeof(why)))
		return json_pack("{s:s, s:o, s:o, s:b}", "link", d->ifname, "dns", dns, "domains",
				 doms, "default_route", false);
	*as_set = rn_resolved_link_equal(&got, &s->link);
	for (size_t i = 0; i < got.n_dns; i++)
		json_array_append_new(
		    dns, json_string(inet_ntop(got.dns[i].family, got.dns[i].addr, a, sizeof(a))));
	for (size_t i = 0; i < got.n_domains; i++)
		json_array_append_new(doms, json_sprintf("%s%s", got.domains[i].routing ? "~" : "",
							 got.domains[i].name));
	return json_pack("{s:s, s:o, s:o, s:b}", "link", d->ifname, "dns", dns, "domains", doms,
			 "default_route", got.default_route);
}

static json_t *system_json(struct rn_daemon *d, bool *resolved_as_set)
{
	char lines[RN_RESOLVCONF_MAX_NS][64];
	size_t n = rn_resolvconf_nameservers(d->dns.rc.path, lines, RN_RESOLVCONF_MAX_NS);
	json_t *ns = json_array(), *o;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(ns, json_string(lines[i]));
	o = json_pack("{s:s, s:s, s:o}", "mode",
		      d->dns.rc.resolved ? "systemd-resolved" : "resolv.conf", "path",
		      d->dns.rc.path, "nameservers", ns);
	*resolved_as_set = false;
	if (d->dns.rc.resolved) {
		json_object_set_new(o, "resolved", resolved_json(d, resolved_as_set));
		json_object_set_new(o, "wired", json_boolean(*resolved_as_set));
	} else {
		json_object_set_new(o, "wired", json_boolean(d->dns.rc.installed));
	}
	return o;
}

static json_t *problems_json(struct rn_daemon *d, size_t n_ups, bool resolved_as_set)
{
	json_t *a = json_array();

	if (d->dns.error[0])
		json_array_append_new(a, json_string(d->dns.error));
	if (d->dns.rc.problem[0])
		json_array_append_new(a, json_string(d->dns.rc.problem));
	if (d->dns.rc.installed && !rn_resolvconf_intact(&d->dns.rc))
		json_array_append_new(a, json_sprintf("%s was rewritten by someone else: the "
						      "system may not use Magic DNS",
						      d->dns.rc.path));
	if (d->dns.resolved_problem[0])
		json_array_append_new(a, json_string(d->dns.resolved_problem));
	else if (d->dns.rc.resolved && d->dns.link_ifindex && !resolved_as_set)
		json_array_append_new(a, json_sprintf("systemd-resolved's settings of %s are not "
						      "the ones rustynetd set (changed by another "
						      "tool?): they are set again within %d s",
						      d->ifname,
						      RN_MAGICDNS_RESOLVED_CHECK_MS / 1000));
	if (d->dns.resolver && !n_ups)
		json_array_append_new(
		    a, json_string(rn_daemon_dns_protected(d)
				       ? "protected mode and the network sets no DNS "
					 "upstream: names outside the zone get SERVFAIL"
				       : "no upstream DNS server: names outside the zone "
					 "get SERVFAIL"));
	return a;
}

json_t *rn_daemon_dns_cmd_inspect(struct rn_daemon *d, json_t *args)
{
	struct rn_netmap_ip ups[RN_RESOLVER_MAX_UPSTREAMS];
	struct rn_resolver_stats st = { 0 };
	char v6[RN_IPADDR_STRLEN], a[INET6_ADDRSTRLEN];
	struct rn_prefix p4, p6;
	json_t *jups = json_array();
	const char *from = "none";
	json_t *sys;
	bool as_set;
	size_t n = 0;

	(void)args;
	if (!d->map.version)
		return rn_ipc_reply_error("no network map yet: run rustynet up");
	n = rn_daemon_dns_upstreams(d, ups, &from);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(
		    jups, json_string(inet_ntop(ups[i].family, ups[i].addr, a, sizeof(a))));
	rn_daemon_dns_service_addrs(&d->map, &p4, &p6);
	if (d->dns.resolver)
		rn_resolver_stats(d->dns.resolver, &st);
	sys = system_json(d, &as_set);
	return rn_ipc_reply_ok(json_pack(
	    "{s:s, s:s, s:s, s:b, s:b, s:[s,s], s:o, s:o, s:s, s:b, s:o, s:o, s:{s:I, s:I, s:I, "
	    "s:I, "
	    "s:I, "
	    "s:I, s:I}}",
	    "domain", d->map.domain, "self", d->map.self.name, "dns_name", d->map.self.dns_name,
	    "serving", d->dns.resolver != NULL, "accept_dns", !d->dns.off, "service",
	    RN_DNS_SERVICE_V4, rn_ipaddr_format(&p6.addr, v6), "records", records_json(d),
	    "upstreams", jups, "upstream_source", from, "protected_mode",
	    rn_daemon_dns_protected(d), "system", sys, "problems", problems_json(d, n, as_set),
	    "stats", "queries", (json_int_t)st.queries, "zone", (json_int_t)st.zone, "forwarded",
	    (json_int_t)st.forwarded, "servfail", (json_int_t)st.servfail, "dropped",
	    (json_int_t)st.dropped, "busy", (json_int_t)st.busy, "tcp_evicted",
	    (json_int_t)st.tcp_evicted));
}
