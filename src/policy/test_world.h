/* SPDX-License-Identifier: MIT */
/*
 * The network the policy unit tests compile against (compile_test.c, grants_test.c,
 * tests_test.c): users, nodes with tags, exit offers and LAN routes, and the macros that write
 * policies for it. Test-only: include it after <cmocka.h>.
 */
#ifndef RN_POLICY_TEST_WORLD_H
#define RN_POLICY_TEST_WORLD_H

#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "policy/policy.h"

#define PFX(a, b, c, d, l)                                                                         \
	{                                                                                          \
		AF_INET, l,                                                                        \
		{                                                                                  \
			a, b, c, d                                                                 \
		}                                                                                  \
	}

static const char *const users[] = { "alice", "bob", "carol", "admin" };
static const char *const t_server[] = { "tag:server" };
static const char *const t_exit[] = { "tag:exit" };
static const char *const t_router[] = { "tag:router" };
static const struct rn_filter_prefix exit_a_routes[] = { PFX(192, 168, 1, 0, 24),
							 PFX(203, 0, 113, 0, 24) };
static const struct rn_filter_prefix router_adv[] = { PFX(10, 1, 0, 0, 16),
						      PFX(10, 2, 0, 0, 16),
						      { AF_INET6, 64, { 0xfd, 0, 0, 1 } } };
static const struct rn_filter_prefix router_ok[] = { PFX(10, 1, 0, 0, 16),
						     { AF_INET6, 48, { 0xfd, 0, 0, 1 } } };
/* A /16 advertised, two /24s of it approved: only those two are reached. */
static const struct rn_filter_prefix split_adv[] = { PFX(172, 20, 0, 0, 16) };
static const struct rn_filter_prefix split_ok[] = { PFX(172, 20, 1, 0, 24), PFX(172, 20, 3, 0, 24),
						    PFX(172, 21, 0, 0, 24) };

#define NODE(i, n, u)                                                                              \
	.id = (i), .name = (n), .user = (u), .ip4 = { 100, 64, 0, (i) },                           \
	.ip6 = { 0xfd, 0x7a, [15] = (i) }

#define ALICE_LAPTOP                                                                               \
	{                                                                                          \
		NODE(1, "alice-laptop", "alice")                                                   \
	}
#define BOB_LAPTOP                                                                                 \
	{                                                                                          \
		NODE(2, "bob-laptop", "bob")                                                       \
	}
#define SERVER1                                                                                    \
	{                                                                                          \
		NODE(3, "server1", "alice"), .tags = t_server, .n_tags = 1                         \
	}
#define BOBSRV                                                                                     \
	{                                                                                          \
		NODE(4, "bobsrv", "carol"), .tags = t_server, .n_tags = 1                          \
	} /* not carol's tag */

static const struct rn_policy_node nodes[] = {
	ALICE_LAPTOP,
	BOB_LAPTOP,
	SERVER1,
	BOBSRV,
	{ NODE(5, "exit-a", "admin"), .tags = t_exit, .n_tags = 1, .advertised = exit_a_routes,
	  .n_advertised = 2, .approved = exit_a_routes, .n_approved = 2, .advertises_exit = true,
	  .exit_approved = true },
	{ NODE(6, "exit-b", "admin"), .tags = t_exit, .n_tags = 1, .advertises_exit = true,
	  .exit_approved = true },
	{ NODE(7, "exit-u", "admin"), .tags = t_exit, .n_tags = 1, .advertises_exit = true },
	{ NODE(8, "router", "admin"), .tags = t_router, .n_tags = 1, .advertised = router_adv,
	  .n_advertised = 3, .approved = router_ok, .n_approved = 2 },
	{ NODE(9, "carol-phone", "carol") },
	{ NODE(10, "router2", "admin"), .tags = t_router, .n_tags = 1, .advertised = split_adv,
	  .n_advertised = 1, .approved = split_ok, .n_approved = 3 },
};

static const struct rn_policy_world world = { users, 4, nodes, 10 };
/* The same network after bob-laptop was removed. */
static const struct rn_policy_node nodes_without_bob[] = { ALICE_LAPTOP, SERVER1, BOBSRV };
static const struct rn_policy_world world_without_bob = { users, 4, nodes_without_bob, 3 };

#define HEAD                                                                                       \
	"{\"groups\": {\"group:eng\": [\"alice\"]},"                                               \
	" \"tagOwners\": {\"tag:server\": [\"group:eng\"], \"tag:exit\": [\"admin\"],"             \
	" \"tag:router\": [\"admin\"]},"                                                           \
	" \"hosts\": {\"office\": \"192.168.1.0/24\", \"nas\": \"192.168.1.10\"},"
#define POLICY(acls)	      HEAD " \"acls\": [" acls "]}"
#define POLICY_T(acls, tests) HEAD " \"acls\": [" acls "],\n \"tests\": [" tests "]}"
#define A(src, dst)	      "{\"action\": \"accept\", \"src\": [" src "], \"dst\": [" dst "]}"
#define AP(proto, src, dst)                                                                        \
	"{\"action\": \"accept\", \"proto\": \"" proto "\", \"src\": [" src "], \"dst\": [" dst "]}"
#define AV(src, dst, via)                                                                          \
	"{\"action\": \"accept\", \"src\": [" src "], \"dst\": [" dst "], \"via\": [" via "]}"

enum { TCP = 6, UDP = 17, ICMP = 1, ICMP6 = 58 };

static inline struct rn_policy *parse_ok(const char *text)
{
	struct rn_policy_error err;
	struct rn_policy *pol;

	if (rn_policy_parse(text, strlen(text), "case", &pol, &err))
		fail_msg("policy does not parse: %s\n%s", err.text, text);
	return pol;
}

static inline const char *name_of(uint64_t id)
{
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
		if (nodes[i].id == id)
			return nodes[i].name;
	return "?";
}

#endif
