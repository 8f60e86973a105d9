/* SPDX-License-Identifier: MIT */
/*
 * Magic DNS wired into systemd-resolved, when that is what the host's lookups go through: the
 * tunnel link gets per-link DNS (100.100.100.100), the zone as its search domain, the mesh's
 * reverse zones as routing domains, and in protected mode the routing domain "~." with
 * DefaultRoute on, so every name goes to Magic DNS. LLMNR, mDNS, DNSSEC and DNS-over-TLS are
 * off on the link (Magic DNS speaks plain DNS and its zone is not signed). Through resolved's
 * D-Bus API (org.freedesktop.resolve1, with sd-bus), as networkd and NetworkManager do;
 * resolv.conf is then left alone. The link's settings go when the link does (a crash takes the
 * TUN with it) and are reverted at `down`/`logout`.
 */
#ifndef RN_DAEMON_RESOLVED_H
#define RN_DAEMON_RESOLVED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netmap/netmap.h"

#define RN_RESOLVED_BUS_NAME	 "org.freedesktop.resolve1"
#define RN_RESOLVED_NSSWITCH	 "/etc/nsswitch.conf"
#define RN_RESOLVED_CALL_TIMEOUT 2000000 /* us: a stuck resolved must not stall the daemon */
#define RN_RESOLVED_MAX_DNS	 8
#define RN_RESOLVED_MAX_DOMAINS	 72 /* search + 64 IPv4 reverse + IPv6 reverse + "." */
#define RN_RESOLVED_DOMAIN_MAX	 256

struct rn_resolved_domain {
	char name[RN_RESOLVED_DOMAIN_MAX]; /* no trailing dot; "." is the root */
	bool routing;			   /* routing-only (~name), not a search domain */
};

/* What one link is set to in resolved (wanted, or as read back). */
struct rn_resolved_link {
	struct rn_netmap_ip dns[RN_RESOLVED_MAX_DNS];
	size_t n_dns;
	struct rn_resolved_domain domains[RN_RESOLVED_MAX_DOMAINS];
	size_t n_domains;
	bool default_route;
};

struct rn_resolved;

/*
 * Whether the host's lookups go through resolved: resolv.conf names its stub (127.0.0.53 or
 * 127.0.0.54), or nsswitch.conf's hosts line uses nss-resolve. Either text may be NULL.
 */
bool rn_resolved_fronts_system(const char *resolv_conf, const char *nsswitch);

/*
 * The link settings for Magic DNS of map m: the service address, m's domain to search, the
 * reverse zones of 100.64.0.0/10 and of the network's IPv6 /48 as routing domains, and in
 * protected mode "~." with DefaultRoute. -ENAMETOOLONG for a domain that does not fit.
 */
int rn_resolved_link_for(const struct rn_netmap *m, bool protected_mode,
			 struct rn_resolved_link *out);
/* Same servers and same domains (in any order), same DefaultRoute. */
bool rn_resolved_link_equal(const struct rn_resolved_link *a, const struct rn_resolved_link *b);

/*
 * Connects to the system bus (DBUS_SYSTEM_BUS_ADDRESS, else the standard socket) and checks
 * that resolved owns its name and runs in our network namespace (-EXDEV if not: its links are
 * not ours). 0, or -errno with why (for people) filled in.
 */
int rn_resolved_open(struct rn_resolved **out, char *why, size_t whylen);
void rn_resolved_close(struct rn_resolved *r);
/* Sets every setting of the link; 0 or -errno with why filled in. */
int rn_resolved_link_set(struct rn_resolved *r, int ifindex, const struct rn_resolved_link *want,
			 char *why, size_t whylen);
/* Reads the link's settings back from resolved. */
int rn_resolved_link_get(struct rn_resolved *r, int ifindex, struct rn_resolved_link *out,
			 char *why, size_t whylen);
/* Drops everything set on the link (RevertLink); a link resolved no longer knows is fine. */
int rn_resolved_link_revert(struct rn_resolved *r, int ifindex, char *why, size_t whylen);

#endif
