/* SPDX-License-Identifier: MIT */
/*
 * Netmap to node state. A map is verified in full (signature under the pinned key, every field,
 * newer than the running one, fresh, for this node's key) before anything is applied; a map
 * refused there changes nothing. Then, in the order of rn_apply_order: the grants narrowed to what
 * this node offers (router.h), the packet filter, the data plane's peers (changed ones only, so
 * sessions with unchanged peers go on), the mesh addresses, link up and routes (system layer,
 * journal group "mesh"), forwarding and NAT. The data plane drops every packet while no filter
 * is installed (before the first map, after logout, and when a map's filter cannot be
 * installed). The plan_* functions are the pure translation.
 */
#ifndef RN_DAEMON_APPLY_H
#define RN_DAEMON_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netmap/netmap.h"
#include "system/netlink.h"
#include "wg/config.h"

#define RN_APPLY_GROUP "mesh" /* journal group of the mesh addresses and routes */
/*
 * Persistent keepalive on every peer: off. With it on, both ends of a newly added pair send a
 * keepalive at once, their handshake initiations cross, and neither completes until the 5 s
 * retry (WireGuard has no tie-break). Without NAT traversal there are no mappings to keep.
 */
#define RN_APPLY_KEEPALIVE_S 0
/*
 * ... except while this node is behind NAT (discovery.c): then 25 s on every peer, so that its
 * NAT keeps the mapping peers were told about open (UDP mappings live 30 s or more).
 */
#define RN_APPLY_NAT_KEEPALIVE_S 25
#define RN_APPLY_MAX_AGE_S	 600 /* a map from the server older than this is stale */
#define RN_APPLY_V6_NET_LEN	 48  /* the network's ULA prefix length */

/* The addresses and routes one map asks for on the tunnel interface. */
struct rn_apply_intents {
	struct rn_prefix addrs[2]; /* self ipv4/32, self ipv6/128 */
	size_t n_addrs;
	struct rn_nl_route routes[2]; /* 100.64.0.0/10 and the network's /48, via the interface */
	size_t n_routes;
};

/*
 * Decodes buf under netmap_pub and checks it may replace current (NULL: no map yet, or a new
 * login) at now with max_age_s, and that its self key is self_pub. 0 with *out filled, or
 * -errno with err saying why (and *out zeroed).
 */
int rn_apply_verify(const struct rn_netmap *current, const uint8_t self_pub[RN_NETMAP_KEY_LEN],
		    const uint8_t netmap_pub[RN_NETMAP_KEY_LEN], const char *buf, size_t len,
		    uint64_t now, uint64_t max_age_s, struct rn_netmap *out, char *err,
		    size_t errlen) __attribute__((warn_unused_result));

/*
 * The data-plane update from running (the device's snapshot) to next: running peers that next
 * lacks are removed; next's peers are set with their allowed IPs (replaced) and keepalive, and
 * with their first endpoint only when the peer is new, has none, or the map's endpoint changed
 * from prev's (NULL: none) - an endpoint the peer roamed to is not overwritten by the same map
 * again. *out is for rn_wg_config_free. 0 or -ENOMEM.
 */
int rn_apply_plan_peers(const struct rn_netmap *prev, const struct rn_wg_config *running,
			const struct rn_netmap *next, struct rn_wg_config *out)
    __attribute__((warn_unused_result));

/* Sets every added or changed peer of plan to persistent keepalive keepalive_s (0: off). */
void rn_apply_plan_keepalive(struct rn_wg_config *plan, uint16_t keepalive_s);

void rn_apply_plan_system(const struct rn_netmap *m, const char *ifname,
			  struct rn_apply_intents *out);
bool rn_apply_intents_equal(const struct rn_apply_intents *a, const struct rn_apply_intents *b);

/* The steps of applying one map. */
enum rn_apply_step {
	RN_APPLY_STEP_GRANTS, /* the map's exit and LAN routes narrowed to what this node offers */
	RN_APPLY_STEP_FILTER, /* the packet filter into the data plane (deny-all if it fails) */
	RN_APPLY_STEP_PEERS,  /* peers added, changed, removed; a failure refuses the map */
	RN_APPLY_STEP_SYSTEM, /* link up, mesh addresses, routes */
	RN_APPLY_STEP_ROUTER, /* forwarding and NAT for what was granted and offered */
	RN_APPLY_N_STEPS,
};

/*
 * The order the steps run in. The filter comes before any peer and before the link is up, so
 * no packet of a new peer is ever judged by an older (or no) filter; the grants come before
 * the filter, whose SUBNET and EXIT contexts they decide.
 */
extern const enum rn_apply_step rn_apply_order[RN_APPLY_N_STEPS];

struct rn_daemon;

enum rn_apply_source {
	RN_APPLY_FROM_POLL,   /* must be newer than the running map and fresh */
	RN_APPLY_FROM_ENROLL, /* a new login: any version, fresh */
	RN_APPLY_FROM_CACHE,  /* STATE/netmap.json at start: ours, so any age */
};

/*
 * Verifies and applies one envelope, keeps it as d->map and (unless from the cache) saves it.
 * A refused map is recorded in d->rejected_* and changes nothing. 0 or -errno, err set.
 */
int rn_apply_envelope(struct rn_daemon *d, const char *buf, size_t len, enum rn_apply_source src,
		      char *err, size_t errlen);

/*
 * This node's offer (d->adv) changed: the running map's grants are narrowed to the new offer at
 * once (router, filter contexts), without waiting for the server's next map, which a
 * compromised server would never send. The map's filter is taken again from STATE/netmap.json
 * (the running map as received); if that fails, the data plane drops everything and nothing is
 * forwarded until the next map.
 */
void rn_apply_offer_changed(struct rn_daemon *d);

/* Logout: removes every peer, the "mesh" addresses and routes and the filter; forgets d->map. */
void rn_apply_clear(struct rn_daemon *d);

#endif
