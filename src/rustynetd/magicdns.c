/* SPDX-License-Identifier: MIT */
/*
 * Magic DNS in the daemon (see magicdns.h): started with the first map, its view replaced on
 * every map and whenever protected mode flips, stopped on logout and exit. All of it runs in
 * the daemon's loop; the resolver's own thread does the serving.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "rustynetd/daemon.h"
#include "rustynetd/persist.h"
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

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Whether the host's lookups go through systemd-resolved and it answers on the bus. */
static bool resolved_fronts(struct rn_daemon *d)
{
	struct rn_magicdns_state *s = &d->dns;
	char *conf = NULL, *nss = NULL;
	size_t len;
	bool fronts;
	int r;

	rn_resolvconf_slurp(s->rc.path, &conf, &len);
	rn_resolvconf_slurp(RN_RESOLVED_NSSWITCH, &nss, &len);
	fronts = rn_resolved_fronts_system(conf, nss);
	free(conf);
	free(nss);
	if (!fronts)
		return false;
	rn_resolved_close(s->bus);
	s->bus = NULL;
	r = rn_resolved_open(&s->bus, s->resolved_problem, sizeof(s->resolved_problem));
	if (r) {
		log_warn(MAIN, "dns: lookups go through systemd-resolved but %s: using %s instead",
			 s->resolved_problem, s->rc.path);
		return false;
	}
	return true;
}

/* The device's `up --accept-dns` choice; anything but a valid file leaves Magic DNS on. */
static void load_prefs(struct rn_daemon *d)
{
	char *text = NULL;
	size_t len = 0;
	json_t *j, *v;
	int r = rn_persist_read(d->state_dir, RN_MAGICDNS_PREFS_FILE, 4096, &text, &len);

	if (r) {
		if (r != -ENOENT)
			log_warn(MAIN, "dns: cannot read %s/%s (%s): Magic DNS stays on",
				 d->state_dir, RN_MAGICDNS_PREFS_FILE, strerror(-r));
		return;
	}
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	v = json_object_get(j, "accept_dns");
	if (json_is_boolean(v))
		d->dns.off = json_is_false(v);
	else
		log_warn(MAIN, "dns: %s/%s is not {\"accept_dns\": true|false}: Magic DNS stays on",
			 d->state_dir, RN_MAGICDNS_PREFS_FILE);
	json_decref(j);
	if (d->dns.off)
		log_info(MAIN, "dns: Magic DNS is off on this device (up --accept-dns=false)");
}

void rn_daemon_dns_init(struct rn_daemon *d)
{
	rn_resolvconf_init(&d->dns.rc, d->resolv_conf, d->state_dir);
	load_prefs(d);
}

/* Which system resolver to wire, decided each time Magic DNS starts (resolved may have
 * started or stopped since the daemon did). */
static void choose_system_resolver(struct rn_daemon *d)
{
	bool was = d->dns.rc.resolved;

	d->dns.resolved_problem[0] = '\0';
	d->dns.rc.resolved = resolved_fronts(d);
	if (d->dns.rc.resolved) {
		d->dns.rc.problem[0] = '\0'; /* its symbolic link is expected */
		log_info(MAIN,
			 "dns: the system resolver is systemd-resolved: Magic DNS is set "
			 "on %s",
			 d->ifname);
	} else if (was) {
		log_info(MAIN,
			 "dns: systemd-resolved no longer fronts the system resolver: "
			 "using %s",
			 d->dns.rc.path);
	}
}

/* After a failure: a bus that went away (dbus or resolved restarted) is opened again. */
static void resolved_reopen(struct rn_magicdns_state *s, int r)
{
	if (r != -ENOTCONN && r != -ECONNRESET && r != -EPIPE && r != -ESHUTDOWN)
		return;
	rn_resolved_close(s->bus);
	s->bus = NULL;
}

/*
 * Sets the tunnel link in resolved when what it should have changed; with verify, also reads it
 * back and sets it again when resolved lost it (a restart) or someone else changed it.
 */
static void resolved_sync(struct rn_daemon *d, bool verify)
{
	struct rn_magicdns_state *s = &d->dns;
	struct rn_resolved_link want, got;
	bool protected_mode = rn_daemon_dns_protected(d);
	char why[sizeof(s->resolved_problem)] = "";
	int ifindex, r;

	if (!s->rc.resolved || !s->resolver || !d->map.version)
		return;
	ifindex = (int)if_nametoindex(d->ifname);
	r = ifindex ? rn_resolved_link_for(&d->map, protected_mode, &want) : -ENODEV;
	if (r) {
		snprintf(s->resolved_problem, sizeof(s->resolved_problem),
			 "cannot describe %s for systemd-resolved: %s", d->ifname, strerror(-r));
		return;
	}
	if (!s->bus && rn_resolved_open(&s->bus, why, sizeof(why))) {
		snprintf(s->resolved_problem, sizeof(s->resolved_problem), "%s", why);
		return;
	}
	if (ifindex == s->link_ifindex && rn_resolved_link_equal(&want, &s->link)) {
		if (!verify)
			return;
		r = rn_resolved_link_get(s->bus, ifindex, &got, why, sizeof(why));
		if (!r && rn_resolved_link_equal(&want, &got))
			return;
		log_warn(MAIN, "dns: systemd-resolved %s %s: setting it again",
			 r ? "cannot show" : "lost or changed the Magic DNS settings of",
			 d->ifname);
		resolved_reopen(s, r);
		if (!s->bus && rn_resolved_open(&s->bus, why, sizeof(why)))
			goto fail;
	}
	r = rn_resolved_link_set(s->bus, ifindex, &want, why, sizeof(why));
	if (r) {
		resolved_reopen(s, r);
		goto fail;
	}
	s->link_ifindex = ifindex;
	s->link = want;
	s->resolved_problem[0] = '\0';
	log_info(MAIN, "dns: systemd-resolved sends %s to Magic DNS on %s",
		 protected_mode ? "every name (~.)" : "the zone and the mesh's reverse zones",
		 d->ifname);
	return;
fail:
	s->link_ifindex = 0;
	snprintf(s->resolved_problem, sizeof(s->resolved_problem), "%s", why);
	log_error(MAIN, "dns: %s: the system does not use Magic DNS", why);
}

static void resolved_revert(struct rn_daemon *d)
{
	struct rn_magicdns_state *s = &d->dns;
	char why[sizeof(s->resolved_problem)];

	if (s->bus && s->link_ifindex) {
		if (rn_resolved_link_revert(s->bus, s->link_ifindex, why, sizeof(why)))
			log_error(MAIN, "dns: %s", why);
		else
			log_info(MAIN, "dns: systemd-resolved settings of %s reverted", d->ifname);
	}
	s->link_ifindex = 0;
	rn_resolved_close(s->bus);
	s->bus = NULL;
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
	choose_system_resolver(d);
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
	if (!d->map.version || d->dns.off)
		return;
	if (!d->dns.resolver && start(d))
		return;
	set_view(d);
	if (d->dns.rc.resolved)
		resolved_sync(d, false);
	else
		rn_resolvconf_install(&d->dns.rc, RN_DNS_SERVICE_V4, d->map.domain);
}

void rn_daemon_dns_tick(struct rn_daemon *d)
{
	uint64_t now = now_ms();
	bool on;

	if (!d->dns.resolver)
		return;
	if (now - d->dns.link_checked_ms >= RN_MAGICDNS_RESOLVED_CHECK_MS) {
		d->dns.link_checked_ms = now;
		resolved_sync(d, true);
	}
	if (rn_daemon_dns_protected(d) == d->dns.protected_mode)
		return;
	on = rn_daemon_dns_protected(d);
	log_info(MAIN, "dns: protected mode %s: upstreams %s", on ? "on" : "off",
		 on ? "only the network's, through the tunnel" : "as before");
	set_view(d);
	resolved_sync(d, false);
}

int rn_daemon_dns_set_accept(struct rn_daemon *d, bool accept, char *err, size_t errlen)
{
	const char *text = accept ? "{\"accept_dns\": true}\n" : "{\"accept_dns\": false}\n";
	int r = rn_persist_write(d->state_dir, RN_MAGICDNS_PREFS_FILE, text, strlen(text));

	if (r) {
		snprintf(err, errlen, "cannot save %s/%s: %s", d->state_dir, RN_MAGICDNS_PREFS_FILE,
			 strerror(-r));
		return r;
	}
	if (d->dns.off == !accept)
		return 0;
	d->dns.off = !accept;
	if (accept) {
		log_info(MAIN, "dns: Magic DNS on again (up --accept-dns)");
		rn_daemon_dns_apply(d);
	} else {
		rn_daemon_dns_stop(d);
		log_info(MAIN, "dns: Magic DNS off on this device (up --accept-dns=false): the "
			       "system resolver is left as it was");
	}
	return 0;
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
	resolved_revert(d);
	rn_resolvconf_restore(&d->dns.rc);
}
