/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the policy file (what an admin, or anyone who can reach `policy set`,
 * feeds the control server): parse, validate and compile against a small fixed world, and ask
 * every netmap query for every node. Beyond not crashing or leaking, it checks that compiling
 * never widens: MESH rules only reach the node's own addresses, SUBNET rules only its approved
 * LAN routes, EXIT rules only exist on approved exit nodes, offered exits are approved, and
 * refused input always says why.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy/compile.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PFX4(a, b, c, d, l)                                                                        \
	{                                                                                          \
		AF_INET, l,                                                                        \
		{                                                                                  \
			a, b, c, d                                                                 \
		}                                                                                  \
	}
#define NODE(i, n, u)                                                                              \
	.id = (i), .name = (n), .user = (u), .ip4 = { 100, 64, 0, (i) },                           \
	.ip6 = { 0xfd, 0x7a, [15] = (i) }

static const char *const users[] = { "alice", "bob", "carol", "admin" };
static const char *const t_server[] = { "tag:server" };
static const char *const t_exit[] = { "tag:exit", "tag:server" };
static const char *const t_router[] = { "tag:router" };
static const struct rn_filter_prefix exit_lan[] = { PFX4(192, 168, 1, 0, 24) };
static const struct rn_filter_prefix router_adv[] = { PFX4(10, 1, 0, 0, 16),
						      PFX4(10, 2, 0, 0, 16),
						      { AF_INET6, 64, { 0xfd, 0, 0, 1 } },
						      PFX4(0, 0, 0, 0, 0) };
static const struct rn_filter_prefix router_ok[] = { PFX4(10, 0, 0, 0, 8),
						     { AF_INET6, 48, { 0xfd, 0, 0, 1 } } };

static const struct rn_policy_node nodes[] = {
	{ NODE(1, "laptop", "alice") },
	{ NODE(2, "server", "bob"), .tags = t_server, .n_tags = 1 },
	{ NODE(3, "exit1", "admin"), .tags = t_exit, .n_tags = 2, .advertised = exit_lan,
	  .n_advertised = 1, .approved = exit_lan, .n_approved = 1, .advertises_exit = true,
	  .exit_approved = true },
	{ NODE(4, "exit2", "admin"), .advertises_exit = true },
	{ NODE(5, "router", "admin"), .tags = t_router, .n_tags = 1, .advertised = router_adv,
	  .n_advertised = 4, .approved = router_ok, .n_approved = 2 },
	{ NODE(6, "phone", "carol") },
};
#define N_NODES (sizeof(nodes) / sizeof(nodes[0]))

static const struct rn_policy_world world = { users, 4, nodes, N_NODES };

static bool inside(const struct rn_filter_prefix *p, const struct rn_filter_prefix *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (set[i].family == p->family && set[i].len <= p->len &&
		    rn_filter_prefix_has(&set[i], p->family, p->addr))
			return true;
	return false;
}

static void check_filter(const struct rn_filter *f, const struct rn_policy_node *n)
{
	for (size_t i = 0; i < f->n_rules; i++) {
		const struct rn_filter_rule *r = &f->rules[i];

		if (!r->n_src || !r->n_dst || !r->n_ports)
			__builtin_trap();
		if (r->context == RN_FILTER_EXIT && !(n->advertises_exit && n->exit_approved))
			__builtin_trap();
		for (size_t j = 0; j < r->n_dst; j++) {
			if (r->context == RN_FILTER_MESH && !inside(&r->dst[j], f->self, f->n_self))
				__builtin_trap();
			if (r->context == RN_FILTER_SUBNET &&
			    (!inside(&r->dst[j], f->routes, f->n_routes) ||
			     !inside(&r->dst[j], n->approved, n->n_approved) ||
			     !inside(&r->dst[j], n->advertised, n->n_advertised)))
				__builtin_trap();
		}
		for (size_t j = 0; j < r->n_ports; j++)
			if (r->ports[j].first > r->ports[j].last)
				__builtin_trap();
	}
}

static void query(const struct rn_policy *pol, const struct rn_policy_node *n)
{
	struct rn_policy_routes routes = { 0 };
	struct rn_filter f = { 0 };
	uint64_t ids[N_NODES];
	bool ok[4], exit_ok;
	size_t k;

	if (rn_policy_compile_filter(pol, &world, n->id, &f))
		__builtin_trap();
	check_filter(&f, n);
	/* A packet from the laptop to this node: classify it as the data plane will, then match. */
	(void)rn_filter_allows(&f, rn_filter_context_of(&f, AF_INET, n->ip4), AF_INET, nodes[0].ip4,
			       n->ip4, 6, 22);
	rn_filter_free(&f);
	if (rn_policy_visible_peers(pol, &world, n->id, ids, &k) || k >= N_NODES)
		__builtin_trap();
	if (rn_policy_exit_nodes_for(pol, &world, n->id, ids, &k))
		__builtin_trap();
	for (size_t i = 0; i < k; i++)
		if (ids[i] != 3) /* exit1 is the only approved exit */
			__builtin_trap();
	if (rn_policy_lan_routes_for(pol, &world, n->id, &routes))
		__builtin_trap();
	for (size_t i = 0; i < routes.n; i++)
		if (routes.v[i].router == n->id)
			__builtin_trap();
	rn_policy_routes_free(&routes);
	if (rn_policy_auto_approve(pol, n, ok, &exit_ok) || (exit_ok && !n->advertises_exit))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rn_policy_error err;
	struct rn_policy *pol;

	if (rn_policy_parse((const char *)data, size, "fuzz.json", &pol, &err)) {
		if (pol || !err.message[0] || !err.text[0])
			__builtin_trap();
		return 0;
	}
	if (rn_policy_validate(pol, &world, &err) && !err.message[0])
		__builtin_trap();
	/* The policy's tests run against the compiled filters: a failure must say where. */
	if (rn_policy_run_tests(pol, &world, &err, NULL) == -EINVAL && !err.message[0])
		__builtin_trap();
	/* Compile whether or not it validated: a stale policy must be safe to compile too. */
	for (size_t i = 0; i < N_NODES; i++)
		query(pol, &nodes[i]);
	rn_policy_free(pol);
	return 0;
}
