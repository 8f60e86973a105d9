/* SPDX-License-Identifier: MIT */
/*
 * The exit-node and subnet-router side: once the netmap says this node is an approved exit
 * node (filter.exit) or has approved LAN routes (filter.routes), and only for what this node
 * itself offers (advertise.h: a map that grants more has the rest refused, logged and shown in
 * status, and its filter loses the SUBNET/EXIT contexts for it), turn on IP forwarding and
 * install table inet rustynet-router (masquerade of mesh sources leaving by any interface but
 * the tunnel; a forward chain that accepts tunnel -> uplink and the replies), all journaled in
 * group "router" so that `down`, logout, a later map that withdraws the approval, and a
 * restart after a crash undo exactly it. Who may use the exit or a LAN is not decided here:
 * the data plane's packet filter (wg/pktfilter.c) checks every packet that arrives through
 * the tunnel, forwarded or not, against the map's rules before the kernel ever sees it.
 */
#ifndef RN_DAEMON_ROUTER_H
#define RN_DAEMON_ROUTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netmap/netmap.h"
#include "rustynetd/advertise.h"

#define RN_ROUTER_GROUP	      "router"
#define RN_ROUTER_FAMILY      "inet"
#define RN_ROUTER_TABLE	      "rustynet-router"
#define RN_ROUTER_MESH4	      "100.64.0.0/10"
#define RN_ROUTER_RULESET_MAX 2048
#define RN_ROUTER_ERR_MAX     512

/* What the last map asked of this node as a router, and what is installed for it. */
struct rn_router {
	/* Granted by the map and offered by this node: what forwarding is installed for. */
	bool approved_exit;
	struct rn_filter_prefix approved_routes[RN_NETMAP_MAX_ROUTES];
	size_t n_approved_routes;
	struct rn_advertise_refused refused; /* granted by the map, never offered: refused */
	bool forwarding;		     /* the group is installed in full */
	char ruleset[RN_ROUTER_RULESET_MAX]; /* as installed; "" when none */
	char error[RN_ROUTER_ERR_MAX];	     /* the last failure, "" if none */
};

/*
 * The body of table inet rustynet-router for tunnel interface ifname and the network's IPv6
 * /48 (mesh6). Returns the length written, or -ENOSPC / -EINVAL (an interface name nft could
 * misread).
 */
int rn_router_ruleset(const char *ifname, const struct rn_filter_prefix *mesh6, char *buf,
		      size_t len);

struct rn_daemon;

/*
 * Before m's filter goes to the data plane: narrows its exit flag and routes to what this node
 * offers (d->adv), records what stays as the approvals and what was refused (logged).
 */
void rn_router_restrict(struct rn_daemon *d, struct rn_netmap *m);
/* Then, for the approvals recorded: install or undo. Failures are logged and kept in
 * d->router.error; never fatal. */
void rn_router_apply(struct rn_daemon *d, const struct rn_netmap *m);
/* Logout and shutdown: undo group "router" and forget the approvals. */
void rn_router_clear(struct rn_daemon *d);
/* Status's "router": {"approved_exit", "approved_routes", "refused_exit", "refused_routes",
 * "forwarding", "error"}. */
json_t *rn_router_status(const struct rn_daemon *d);

#endif
