/* SPDX-License-Identifier: MIT */
/*
 * Magic DNS in the daemon (see magicdns.h): started with the first map, its view replaced on
 * every map and whenever protected mode flips, stopped on logout and exit. All of it runs in
 * the daemon's loop; the resolver's own thread does the serving.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "rustynetd/daemon.h"
#include "rustynetd/resolver.h"
#include "system/system.h"

bool rn_daemon_dns_protected(const struct rn_daemon *d)
{
	return d->exit.prefs.node_id != 0;
}

/* The upstreams for names outside the zone, and where they come from. */
size_t rn_daemon_dns_upstreams(const struct rn_daemon *d, struct rn_netmap_ip *out,
			       const char **from)
{
	size_t n = 0;

	if (d->map.dns.n_resolvers) {
		*from = "netmap";
		for (; n < d->map.dns.n_resolvers && n < RN_RESOLVER_MAX_UPSTREAMS; n++)
			out[n] = d->map.dns.resolvers[n];
	} else if (!rn_daemon_dns_protected(d)) {
		*from = "host";
		for (; n < d->dns.rc.n_host_ns && n < RN_RESOLVER_MAX_UPSTREAMS; n++)
			out[n] = d->dns.rc.host_ns[n];
	} else {
		*from = "none";
	}
	return n;
}

/* 100.100.100.100/32 and PREFIX::53/128 in the map's /48. */
void rn_daemon_dns_service_addrs(const struct rn_netmap *m, struct rn_prefix *v4,
				 struct rn_prefix *v6)
{
	memset(v4, 0, sizeof(*v4));
	memset(v6, 0, sizeof(*v6));
	v4->addr.family = AF_INET;
	v4->len = 32;
	inet_pton(AF_INET, RN_DNS_SERVICE_V4, &v4->addr.v4);
	v6->addr.family = AF_INET6;
	v6->len = 128;
	memcpy(v6->addr.bytes, m->self.ipv6, 6);
	v6->addr.bytes[15] = RN_DNS_SERVICE_V6_SUFFIX;
}

void rn_daemon_dns_init(struct rn_daemon *d)
{
	rn_resolvconf_init(&d->dns.rc, d->resolv_conf, d->state_dir);
}

static void set_view(struct rn_daemon *d)
{
	struct rn_netmap_ip ups[RN_RESOLVER_MAX_UPSTREAMS];
	struct rn_dns_zone *z;
	const char *from;
	size_t n;
	int r;

	r = rn_dns_zone_build(&d->map, &z);
	if (r) {
		log_error(MAIN, "dns: cannot build the zone of map %llu: %s: the old names stay",
			  (unsigned long long)d->map.version, strerror(-r));
		return;
	}
	n = rn_daemon_dns_upstreams(d, ups, &from);
	d->dns.protected_mode = rn_daemon_dns_protected(d);
	rn_resolver_set(d->dns.resolver, z, ups, n, d->dns.protected_mode ? d->ifname : NULL);
	log_debug(MAIN, "dns: zone %s of map %llu, %zu upstreams (%s)%s", d->map.domain,
		  (unsigned long long)d->map.version, n, from,
		  d->dns.protected_mode ? ", protected mode" : "");
}

static int start(struct rn_daemon *d)
{
	char text[RN_IPADDR_STRLEN];
	struct rn_prefix v4, v6;
	int r;

	if (!d->sys) {
		snprintf(d->dns.error, sizeof(d->dns.error),
			 "no system layer: the Magic DNS addresses cannot be installed");
		return -ENODEV;
	}
	rn_daemon_dns_service_addrs(&d->map, &v4, &v6);
	/*
	 * On lo, not the tunnel: only this host asks them, and an address on the tunnel would be
	 * a candidate source for traffic into it (the kernel picked PREFIX::53 for IPv6 through
	 * an exit node, which the exit then dropped as not the node's own address).
	 */
	r = rn_system_addr_add(d->sys, RN_MAGICDNS_GROUP, RN_MAGICDNS_IFNAME, &v4);
	if (!r)
		r = rn_system_addr_add(d->sys, RN_MAGICDNS_GROUP, RN_MAGICDNS_IFNAME, &v6);
	if (r) {
		snprintf(d->dns.error, sizeof(d->dns.error),
			 "cannot add the Magic DNS addresses to %s: %s", RN_MAGICDNS_IFNAME,
			 strerror(-r));
		goto fail;
	}
	r = rn_resolver_start(&v4.addr.v4, &v6.addr.v6, &d->dns.resolver, d->dns.error,
			      sizeof(d->dns.error));
	if (r)
		goto fail;
	d->dns.error[0] = '\0';
	log_info(MAIN, "dns: Magic DNS on %s and %s port 53", RN_DNS_SERVICE_V4,
		 rn_ipaddr_format(&v6.addr, text));
	return 0;
fail:
	log_error(MAIN, "dns: %s: names do not resolve", d->dns.error);
	rn_system_undo_group(d->sys, RN_MAGICDNS_GROUP);
	return r;
}

void rn_daemon_dns_apply(struct rn_daemon *d)
{
	if (!d->map.version)
		return;
	if (!d->dns.resolver && start(d))
		return;
	set_view(d);
	rn_resolvconf_install(&d->dns.rc, RN_DNS_SERVICE_V4, d->map.domain);
}

void rn_daemon_dns_tick(struct rn_daemon *d)
{
	bool on;

	if (!d->dns.resolver || rn_daemon_dns_protected(d) == d->dns.protected_mode)
		return;
	on = rn_daemon_dns_protected(d);
	log_info(MAIN, "dns: protected mode %s: upstreams %s", on ? "on" : "off",
		 on ? "only the network's, through the tunnel" : "as before");
	set_view(d);
}

void rn_daemon_dns_stop(struct rn_daemon *d)
{
	if (d->dns.resolver) {
		rn_resolver_stop(d->dns.resolver);
		d->dns.resolver = NULL;
		log_info(MAIN, "dns: Magic DNS stopped");
	}
	if (d->sys && rn_system_undo_group(d->sys, RN_MAGICDNS_GROUP))
		log_error(MAIN, "dns: some Magic DNS addresses stay: see above");
	rn_resolvconf_restore(&d->dns.rc);
}
