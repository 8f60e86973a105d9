/* SPDX-License-Identifier: MIT */
/*
 * Magic DNS in the daemon (magicdns.c): the service addresses on the tunnel (journal group
 * "dns"), the resolver thread, the upstreams it may use, resolv.conf, and `dns inspect`.
 * Upstreams: the map's dns.resolvers when set; else, with no exit selected, the host's own
 * nameservers from before we rewrote resolv.conf; in protected mode (an exit selected) only
 * the map's, through the tunnel, and none at all means SERVFAIL.
 * The system resolver: systemd-resolved's per-link settings when the host's lookups go through
 * it (resolved.h), else resolv.conf rewritten (resolvconf.h).
 */
#ifndef RN_DAEMON_MAGICDNS_H
#define RN_DAEMON_MAGICDNS_H

#include <stdbool.h>
#include <stdint.h>

#include "rustynetd/resolvconf.h"
#include "rustynetd/resolved.h"

#define RN_MAGICDNS_GROUP  "dns" /* journal group of the service addresses */
#define RN_MAGICDNS_IFNAME "lo"	 /* where they live: the host asks them, nobody else */

struct rn_resolver;

struct rn_magicdns_state {
	struct rn_resolver *resolver; /* owned; NULL: not serving */
	bool protected_mode;	      /* as the resolver's view was last set */
	char error[256];	      /* why it is not serving, "" if it is */
	struct rn_resolvconf rc;
	/* systemd-resolved (rc.resolved): the bus (opened when needed), the link as we set it. */
	struct rn_resolved *bus;
	int link_ifindex;	      /* 0: nothing set in resolved */
	struct rn_resolved_link link; /* what link_ifindex was set to */
	uint64_t link_checked_ms;     /* last read-back (monotonic) */
	char resolved_problem[512];   /* "" if none */
	bool
	    off; /* `rustynet up --accept-dns=false`: nothing served, the system resolver as it was */
};

/* The device's choice of `up --accept-dns`, in the state directory: {"accept_dns": false}. */
#define RN_MAGICDNS_PREFS_FILE "dns.json"

#define RN_MAGICDNS_RESOLVED_CHECK_MS 10000 /* how often resolved's view is read back */

#endif
