/* SPDX-License-Identifier: MIT */
/*
 * The policy compiler: from a policy and the world, what each node's netmap carries — the
 * packet filter it enforces, the peers it must know, the exit nodes it may use and the LAN
 * routes it may reach through each router — and which advertised routes and exit offers the
 * policy's autoApprovers approve.
 *
 * All of these come from one reading of the rules, so they agree: a client is offered an exit
 * node or a LAN route exactly when that router's filter admits the client there. The compiler
 * never widens a grant (protocol, ports and context are kept per rule), and a name it cannot
 * resolve (a user or node removed since the policy was validated) grants nothing.
 *
 * Costs: one call prepares per-rule node sets, O(rules x nodes); the queries then take
 * O(rules x nodes) for one node. The control server computes one netmap per node per change.
 */
#ifndef RN_POLICY_COMPILE_H
#define RN_POLICY_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/filter.h"
#include "policy/policy.h"

/* A LAN route a client may reach, and the router it goes through. */
struct rn_policy_route {
	uint64_t router; /* node id of the subnet router (or exit node with a LAN) */
	struct rn_filter_prefix prefix;
};

struct rn_policy_routes {
	struct rn_policy_route *v; /* owned */
	size_t n;
};

/*
 * The filter node_id enforces on what it receives through the tunnel: MESH rules for grants
 * to it, SUBNET rules for grants to CIDRs inside its approved and advertised LAN routes, EXIT
 * rules for grants to autogroup:internet when it is an approved exit node. *out must be zeroed
 * and is released with rn_filter_free(). Returns 0, -ENOENT (no such node) or -ENOMEM (*out is
 * then empty).
 */
int rn_policy_compile_filter(const struct rn_policy *pol, const struct rn_policy_world *w,
			     uint64_t node_id, struct rn_filter *out)
    __attribute__((warn_unused_result));

/*
 * The nodes node_id must have as WireGuard peers: those it may send to in any context and
 * those that may send to it (a router also needs the peers that may reach its LAN), in world
 * order. out has room for w->n_nodes ids; *n is set to how many. Returns 0, -ENOENT, -ENOMEM.
 */
int rn_policy_visible_peers(const struct rn_policy *pol, const struct rn_policy_world *w,
			    uint64_t node_id, uint64_t *out, size_t *n)
    __attribute__((warn_unused_result));

/*
 * The exit nodes client_id may use: approved exit nodes (other than itself) whose filter
 * admits the client to the internet, i.e. a grant to autogroup:internet covers the client and
 * its via (if any) names that exit. out has room for w->n_nodes ids. Returns 0, -ENOENT,
 * -ENOMEM.
 */
int rn_policy_exit_nodes_for(const struct rn_policy *pol, const struct rn_policy_world *w,
			     uint64_t client_id, uint64_t *out, size_t *n)
    __attribute__((warn_unused_result));

/*
 * The LAN prefixes client_id may reach, per router: advertised ∩ approved ∩ granted to the
 * client (with via, if any, naming that router), deduplicated, in world then rule order.
 * *out must be zeroed; release it with rn_policy_routes_free(). Returns 0, -ENOENT, -ENOMEM.
 */
int rn_policy_lan_routes_for(const struct rn_policy *pol, const struct rn_policy_world *w,
			     uint64_t client_id, struct rn_policy_routes *out)
    __attribute__((warn_unused_result));

void rn_policy_routes_free(struct rn_policy_routes *r);

/*
 * What autoApprovers approve for node (which need not be in any world yet, e.g. while it
 * enrolls): route_ok[i] for node->advertised[i] (a route is approved when a listed prefix
 * holds it and the node matches one of its approvers; default routes never are), *exit_ok for
 * its exit offer. An untagged node matches its owner and the owner's groups, a tagged one its
 * tags. Returns 0 or -ENOMEM.
 */
int rn_policy_auto_approve(const struct rn_policy *pol, const struct rn_policy_node *node,
			   bool *route_ok, bool *exit_ok) __attribute__((warn_unused_result));

#endif
