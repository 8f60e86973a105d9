/* SPDX-License-Identifier: MIT */
/*
 * The policy library's view of the network (struct rn_policy_world: users and nodes with their
 * tags and routes) loaded from the store, so that the admin CLI (checking a policy before it is
 * stored) and the server (compiling netmaps) read the store the same way.
 */
#ifndef RN_CONTROL_WORLD_H
#define RN_CONTROL_WORLD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "control/store.h"
#include "policy/policy.h"

struct rn_control_world {
	struct rn_policy_world w; /* borrows everything below */
	/* nodes[i] is the store's row of w.nodes[i]; owned */
	struct rn_store_node *nodes;
	size_t n_nodes;
	struct rn_store_user *users; /* owned */
	size_t n_users;
	const char **user_names;       /* owned array; strings are users[i].name */
	const char **admin_names;      /* owned array: the names of the users with the admin role */
	struct rn_policy_node *pnodes; /* owned */
	json_t **tags;	       /* per node: the parsed tags array pnodes[i].tags points into */
	const char **tag_strs; /* owned array */
	struct rn_filter_prefix *prefixes; /* owned: every node's advertised, then approved */
	char err[256];			   /* why a load failed, for a person */
};

enum rn_control_world_flags {
	RN_CONTROL_WORLD_ALL = 0,
	RN_CONTROL_WORLD_SKIP_EXPIRED = 1 << 0, /* leave expired nodes out (netmaps) */
};

/*
 * Loads the world from store into *out (overwritten). Returns 0 or -errno with out->err set;
 * release with rn_control_world_free() either way.
 */
int rn_control_world_load(struct rn_store *store, unsigned flags, struct rn_control_world *cw);
void rn_control_world_free(struct rn_control_world *cw);

/* The name of user id in cw, or "?" */
const char *rn_control_world_user_name(const struct rn_control_world *cw, int64_t id);

#endif
