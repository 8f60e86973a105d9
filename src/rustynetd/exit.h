/* SPDX-License-Identifier: MIT */
/*
 * The client side of exit nodes and the LAN-access toggle. The user's choice (STATE/exit.json)
 * becomes policy routing in rustynetd's own table, journal group "exit":
 *   prio 5200  fwmark 0x80000/0xff0000 lookup main      the WireGuard sockets' own packets
 *   prio 5210  to LOCAL lookup main suppress_prefixlength LEN-1, one rule per local range
 *              (RFC 1918, 169.254/16, 100.64/10, fc00::/7, fe80::/10): the user's LAN and the
 *              mesh, by main's routes inside the range only
 *   prio 5220  not fwmark 0x80000/0xff0000 lookup 5150   everything else: rustynet's table
 * So for unmarked traffic main answers only inside the local ranges: a route the LAN pushes
 * (DHCP option 121's 0.0.0.0/1 + 128.0.0.0/1: TunnelVision; a public-looking subnet on the
 * link: TunnelCrack LocalNet) cannot pull a public destination out of the tunnel, and unmarked
 * traffic to the exit's endpoint goes through the tunnel too (ServerIP). Loopback and the
 * host's own addresses are answered by table local (rule 0) ahead of all of these.
 * Table 5150 holds, with an exit selected, the default routes into the tunnel and unreachable
 * routes for the local ranges (so traffic to a private address main has no route for fails
 * locally instead of leaving), and with LAN access on the authorized LAN routes into the
 * tunnel. The selected exit peer's allowed IPs
 * gain 0.0.0.0/0 and ::/0 while it is an exit this node may use; if it goes offline or loses
 * that right the routes stay (fail closed: never direct) and status says why.
 *
 * Strict reverse-path filtering (rp_filter=1, what wg-quick also has to live with): the replies
 * to the marked sockets (WireGuard from the exit's endpoint, the control server's TCP) arrive
 * on the underlay unmarked, and the kernel's reverse lookup of their source, without the mark,
 * ends in table 5150, i.e. the tunnel: not the interface they came in by, so they would be
 * dropped whenever the endpoint is outside the local ranges (an exit across the internet).
 * So while the rules are installed, journal group "exit-mark" holds what wg-quick installs:
 *   table inet rustynet-exit: postrouting (mangle) copies a packet mark with our bits into its
 *     conntrack entry; prerouting (mangle) copies a conntrack mark with our bits back into
 *     the packet, so a reply is routed and reverse-path checked with the mark (rule 5200:
 *     main, the underlay). Not only UDP as in wg-quick: the control connection is TCP.
 *   net.ipv4.conf.all.src_valid_mark=1 (the IPv4 reverse lookup uses the mark), set only when
 *     it is not 1 already; undo puts back the value it had.
 * IPv6 has no rp_filter sysctl; the table is "inet", so nftables or ip6tables rpfilter rules
 * that look up with the mark (firewalld's `fib saddr . mark . iif oif missing drop` at
 * priority filter + 10, ip6t_rpfilter --validmark) see the restored mark. A replied-to packet
 * only: an endpoint that starts a new flow to us (no conntrack entry yet) stays unmarked.
 * The rn_exit_* functions are pure; exit.c runs them against the daemon.
 */
#ifndef RN_DAEMON_EXIT_H
#define RN_DAEMON_EXIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "netmap/netmap.h"
#include "system/netlink.h"
#include "wg/config.h"

#define RN_EXIT_GROUP		 "exit"	     /* journal group of the rules and table routes */
#define RN_EXIT_PREFS_FILE	 "exit.json" /* in the state dir, 0600 */
#define RN_EXIT_MARK_GROUP	 "exit-mark" /* journal group of the mark restore and its sysctl */
#define RN_EXIT_MARK_FAMILY	 "inet"
#define RN_EXIT_MARK_TABLE	 "rustynet-exit"
#define RN_EXIT_MARK_SYSCTL	 "net.ipv4.conf.all.src_valid_mark"
#define RN_EXIT_MARK_RULESET_MAX 512

enum {
	RN_EXIT_TABLE = 5150,	      /* rustynetd's routing table */
	RN_EXIT_FWMARK = 0x80000,     /* SO_MARK of the WireGuard sockets while routing is on */
	RN_EXIT_FWMASK = 0xff0000,    /* the bits of the mark the rules look at */
	RN_EXIT_PRIO_BYPASS = 5200,   /* rule (a): marked packets use main */
	RN_EXIT_PRIO_MAIN = 5210,     /* rules (b): main, only for the local ranges */
	RN_EXIT_PRIO_TABLE = 5220,    /* rule (c): our table */
	RN_EXIT_MAX_RULES = 16,	      /* (a) and (c) per family, and one (b) per local range */
	RN_EXIT_REACHABLE_S = 180,    /* a handshake this recent: the exit answers (REJECT_AFTER) */
	RN_EXIT_UNANSWERED_MS = 5000, /* an initiation unanswered this long: it does not (REKEY) */
	RN_EXIT_PREFS_MAX = 4096,     /* a larger exit.json is not ours */
};

/* What the user chose; persisted as exit.json. */
struct rn_exit_prefs {
	uint64_t node_id;		    /* the selected exit's node id; 0: none */
	char name[RN_NETMAP_LABEL_MAX + 1]; /* its name when selected, for after it left the map */
	bool lan_access;		    /* reach authorized LAN subnets; off by default */
};

/* A route of the plan; via names the peer a LAN route goes through ("" for the others). */
struct rn_exit_route {
	struct rn_nl_route route;
	char via[RN_NETMAP_LABEL_MAX + 1];
};

/* The kernel state one (map, prefs) pair asks for. Empty (all zero): nothing installed. */
struct rn_exit_plan {
	struct rn_nl_rule rules[RN_EXIT_MAX_RULES];
	size_t n_rules;
	struct rn_exit_route *routes; /* owned: routes first in the order to install them */
	size_t n_routes;
	uint32_t fwmark; /* for the WireGuard sockets: RN_EXIT_FWMARK, or 0 when empty */
};

/*
 * The plan for prefs on map m (NULL or version 0: no map yet) with the tunnel ifname.
 * An exit selected that m no longer lists still gets the default routes: fail closed.
 * 0 or -ENOMEM; *out for rn_exit_plan_free.
 */
int rn_exit_plan_make(const struct rn_netmap *m, const struct rn_exit_prefs *prefs,
		      const char *ifname, struct rn_exit_plan *out)
    __attribute__((warn_unused_result));
void rn_exit_plan_free(struct rn_exit_plan *p);
bool rn_exit_plan_equal(const struct rn_exit_plan *a, const struct rn_exit_plan *b);
/* Whether p has a route or rule equal to r (normalized comparison). */
bool rn_exit_plan_has_route(const struct rn_exit_plan *p, const struct rn_nl_route *r);
bool rn_exit_plan_has_rule(const struct rn_exit_plan *p, const struct rn_nl_rule *r);
/* Whether p has a route to the same destination in the same table (the kernel's key). */
bool rn_exit_plan_has_dst(const struct rn_exit_plan *p, const struct rn_nl_route *r);

/*
 * The peer of m that query names: its DNS label or full dns_name (case-insensitive, a final
 * dot allowed) or a mesh IPv4/IPv6 address, and that is an exit this node may use. NULL with
 * err saying why otherwise (unknown, this node itself, not an exit it may use).
 */
const struct rn_netmap_peer *rn_exit_find(const struct rn_netmap *m, const char *query, char *err,
					  size_t errlen);
/* The peer with node id, or NULL. */
const struct rn_netmap_peer *rn_exit_peer(const struct rn_netmap *m, uint64_t id);
/*
 * Whether the exit whose data-plane state is run (NULL: not configured) answers at now (wall
 * clock): a handshake within REJECT_AFTER and no initiation of ours unanswered for longer than
 * REKEY_TIMEOUT, however often new tries restarted the data plane's count of attempts.
 */
bool rn_exit_answers(const struct rn_wg_peer_config *run, time_t now);

/*
 * Adds 0.0.0.0/0 and ::/0 to the allowed IPs of exit_id's peer in plan, when m lists it as an
 * exit (a revoked exit gets none: its traffic is dropped, not sent elsewhere). 0 or -ENOMEM.
 */
int rn_exit_plan_peer_defaults(struct rn_wg_config *plan, const struct rn_netmap *m,
			       uint64_t exit_id) __attribute__((warn_unused_result));

/*
 * The body of table inet rustynet-exit: conntrack saves the mark of packets that carry mark
 * under mask, and restores it on the packets that come back (see the top). The length
 * written, -EINVAL (mark 0 or outside mask), -ENOSPC.
 */
int rn_exit_mark_ruleset(uint32_t mark, uint32_t mask, char *buf, size_t len);

/* exit.json: parse (false when damaged) and print (malloc'ed, NULL when out of memory). */
bool rn_exit_prefs_parse(const char *text, size_t len, struct rn_exit_prefs *out)
    __attribute__((warn_unused_result));
char *rn_exit_prefs_dump(const struct rn_exit_prefs *p);

/* The daemon's exit state (exit.c). */
struct rn_exit_state {
	struct rn_exit_prefs prefs;
	struct rn_exit_plan installed; /* what group "exit" holds, as last installed */
	bool dirty;		       /* the last install failed in part: redo it all next time */
	char error[256];	       /* that failure, "" if none */
	bool mark_restore;	       /* group "exit-mark" installed (as far as we know) */
};

#endif
