/* SPDX-License-Identifier: MIT */
/* The LAN-probe guard (guard.h): its rulesets, installing, re-setting and removing them. */
#include "rustynetd/guard.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "rustynetd/daemon.h"
#include "rustynetd/killswitch.h"
#include "system/nft.h"
#include "system/system.h"

/* Appends "a, b" of the addresses of family to buf at *off; the number written. */
static size_t list(int family, const struct rn_ip *addrs, size_t n, char *buf, size_t len,
		   size_t *off)
{
	char text[RN_IPADDR_STRLEN];
	size_t k = 0;
	int w;

	for (size_t i = 0; i < n; i++) {
		if (addrs[i].family != family)
			continue;
		w = snprintf(buf + *off, *off < len ? len - *off : 0, "%s%s", k ? ", " : "",
			     rn_ipaddr_format(&addrs[i], text));
		*off += w > 0 ? (size_t)w : 0;
		k++;
	}
	return k;
}

/* Appends one rule "ip daddr { ... } counter drop" for family, if it has addresses. */
static void drop_rule(int family, const struct rn_ip *addrs, size_t n, char *buf, size_t len,
		      size_t *off)
{
	size_t start = *off;
	int w;

	w = snprintf(buf + *off, *off < len ? len - *off : 0, "\t%s daddr { ",
		     family == AF_INET ? "ip" : "ip6");
	*off += w > 0 ? (size_t)w : 0;
	if (!list(family, addrs, n, buf, len, off)) {
		*off = start;
		if (start < len)
			buf[start] = '\0';
		return;
	}
	w = snprintf(buf + *off, *off < len ? len - *off : 0, " } counter drop\n");
	*off += w > 0 ? (size_t)w : 0;
}

int rn_guard_ruleset(const char *ifname, const struct rn_ip *addrs, size_t n, char *buf, size_t len)
{
	size_t off = 0, have = 0;
	int w;

	for (size_t i = 0; i < n; i++)
		have += addrs[i].family == AF_INET || addrs[i].family == AF_INET6;
	if (!rn_nft_ifname_ok(ifname) || !have || !len)
		return -EINVAL;
	/* lo: this host's own traffic to its mesh and Magic DNS addresses is looped back. */
	w = snprintf(buf, len,
		     "chain input {\n"
		     "\ttype filter hook input priority filter; policy accept;\n"
		     "\tiifname \"lo\" accept\n"
		     "\tiifname \"%s\" accept\n",
		     ifname);
	off = w > 0 ? (size_t)w : 0;
	drop_rule(AF_INET, addrs, n, buf, len, &off);
	drop_rule(AF_INET6, addrs, n, buf, len, &off);
	w = snprintf(buf + off, off < len ? len - off : 0, "}");
	off += w > 0 ? (size_t)w : 0;
	if (off >= len)
		return -ENOSPC;
	return (int)off;
}

int rn_guard_arp_ruleset(const struct rn_ip *addrs, size_t n, char *buf, size_t len)
{
	size_t off = 0;
	int w;

	if (!len)
		return -EINVAL;
	/* No iifname: the tunnel is a layer-3 device and never sees ARP. */
	w = snprintf(buf, len,
		     "chain input {\n"
		     "\ttype filter hook input priority filter; policy accept;\n"
		     "\tarp operation request arp daddr ip { ");
	off = w > 0 ? (size_t)w : 0;
	if (!list(AF_INET, addrs, n, buf, len, &off))
		return -EINVAL;
	w = snprintf(buf + off, off < len ? len - off : 0, " } counter drop\n}");
	off += w > 0 ? (size_t)w : 0;
	if (off >= len)
		return -ENOSPC;
	return (int)off;
}

static void uninstall(struct rn_daemon *d)
{
	struct rn_guard *g = &d->guard;
	int r;

	if (!rn_system_count(d->sys, RN_GUARD_GROUP) && !g->active)
		return;
	r = rn_system_undo_group(d->sys, RN_GUARD_GROUP);
	if (r) {
		log_error(MAIN, "guard: cannot remove nft table inet " RN_GUARD_TABLE ": %s",
			  strerror(-r));
		return;
	}
	g->active = false;
	g->ruleset[0] = '\0';
	g->arp_ruleset[0] = '\0';
}

/*
 * Sets table FAMILY rustynet-guard to ruleset (one transaction: no gap while the addresses
 * change) unless cached already holds it; on failure logs what stays open (unguarded).
 */
static int set_table(struct rn_daemon *d, const char *family, char *cached, size_t cap,
		     const char *ruleset, const char *unguarded)
{
	int r;

	if (cached[0] && !strcmp(cached, ruleset))
		return 0;
	r = rn_system_nft_table_set(d->sys, RN_GUARD_GROUP, family, RN_GUARD_TABLE, ruleset);
	if (r) {
		log_error(MAIN, "guard: cannot install nft table %s " RN_GUARD_TABLE ": %s: %s",
			  family, strerror(-r), unguarded);
		return r;
	}
	snprintf(cached, cap, "%s", ruleset);
	return 0;
}

/* The ARP table for the IPv4 addresses; removed when there is none any more. */
static void sync_arp(struct rn_daemon *d, const struct rn_ip *addrs, size_t n)
{
	struct rn_guard *g = &d->guard;
	char ruleset[RN_GUARD_RULESET_MAX];
	int r;

	r = rn_guard_arp_ruleset(addrs, n, ruleset, sizeof(ruleset));
	if (r == -EINVAL) {
		if (g->arp_ruleset[0] &&
		    !rn_system_nft_table_del(d->sys, RN_GUARD_GROUP, RN_GUARD_ARP_FAMILY,
					     RN_GUARD_TABLE))
			g->arp_ruleset[0] = '\0';
		return;
	}
	if (r >= 0)
		set_table(d, RN_GUARD_ARP_FAMILY, g->arp_ruleset, sizeof(g->arp_ruleset), ruleset,
			  "the mesh addresses answer ARP from the local network");
}

void rn_guard_sync(struct rn_daemon *d, const struct rn_ip *addrs, size_t n)
{
	struct rn_guard *g = &d->guard;
	char ruleset[RN_GUARD_RULESET_MAX];
	int r;

	if (!d->sys)
		return;
	if (!n) {
		uninstall(d);
		return;
	}
	r = rn_guard_ruleset(d->ifname, addrs, n, ruleset, sizeof(ruleset));
	if (r < 0) {
		log_error(MAIN, "guard: cannot build the ruleset: %s", strerror(-r));
		return;
	}
	sync_arp(d, addrs, n);
	if (set_table(d, RN_GUARD_FAMILY, g->ruleset, sizeof(g->ruleset), ruleset,
		      "the mesh addresses answer probes from the local network"))
		return;
	if (!g->active)
		log_info(MAIN, "guard: the mesh and Magic DNS addresses answer only by the tunnel "
			       "and loopback, and ARP for them is not answered (nft tables inet "
			       "and arp " RN_GUARD_TABLE ")");
	g->active = true;
}
