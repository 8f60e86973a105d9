/* SPDX-License-Identifier: MIT */
/*
 * `rustynet-control users ...`. Users are made by `authkey create --user`. A user is a member or
 * an admin: the admins are whom the policy's autogroup:admin and autogroup:owner name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rustynet-control/ctl.h"

int rn_ctl_users_load(struct rn_store *store, struct rn_store_user **out, size_t *n_out)
{
	int ret = rn_store_user_list(store, out, n_out);

	if (ret)
		rn_ctl_store_error(store, "listing users", ret);
	return ret;
}

void rn_ctl_users_free(struct rn_store_user *users, size_t n)
{
	rn_store_user_list_free(users, n);
}

const char *rn_ctl_user_name(const struct rn_store_user *users, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (users[i].id == id)
			return users[i].name;
	return "?";
}

json_t *rn_ctl_user_json(const struct rn_store_user *u, int nodes)
{
	return json_pack("{s:I,s:s,s:s,s:i,s:I}", "id", (json_int_t)u->id, "name", u->name, "role",
			 u->admin ? "admin" : "member", "nodes", nodes, "created_at",
			 (json_int_t)u->created_at);
}

static int rn_ctl_users_list(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_store_node *nodes = NULL;
	struct rn_store_user *users = NULL;
	struct rn_store *store = NULL;
	size_t n_users = 0, n_nodes = 0;
	int ret, first;
	json_t *arr;
	bool json;

	ret = rn_ctl_simple_args(ctl, argc, argv, 0, 0, &json, &first);
	if (ret >= 0)
		return ret;
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = rn_store_node_list(store, &nodes, &n_nodes);
	if (ret) {
		ret = rn_ctl_store_error(store, "listing nodes", ret);
		goto out;
	}
	ret = RN_CTL_ERR;
	if (rn_ctl_users_load(store, &users, &n_users))
		goto out;
	arr = json_array();
	if (!json)
		printf("%-6s %-24s %-7s %-6s %s\n", "ID", "NAME", "ROLE", "NODES", "CREATED");
	for (size_t i = 0; i < n_users; i++) {
		char when[32];
		int count = 0;

		for (size_t j = 0; j < n_nodes; j++)
			count += nodes[j].user_id == users[i].id;
		rn_ctl_time_format(users[i].created_at, when, sizeof(when));
		if (json)
			json_array_append_new(arr, rn_ctl_user_json(&users[i], count));
		else
			printf("%-6lld %-24s %-7s %-6d %s\n", (long long)users[i].id, users[i].name,
			       users[i].admin ? "admin" : "member", count, when);
	}
	if (json)
		ret = rn_ctl_json_print(json_pack("{s:o}", "users", arr));
	else
		json_decref(arr);
	if (!json)
		ret = RN_CTL_OK;
out:
	rn_ctl_users_free(users, n_users);
	rn_store_node_list_free(nodes, n_nodes);
	rn_store_close(store);
	return ret;
}

static int rn_ctl_users_role(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_store *store = NULL;
	const char *role;
	int64_t id;
	int ret, first;

	ret = rn_ctl_simple_args(ctl, argc, argv, 2, 2, NULL, &first);
	if (ret >= 0)
		return ret;
	role = argv[first + 1];
	if (strcmp(role, "admin") && strcmp(role, "member"))
		return rn_ctl_usage_error(ctl, "the role is \"admin\" or \"member\", not \"%.80s\"",
					  role);
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = rn_store_user_get_by_name(store, argv[first], &id);
	if (ret == -ENOENT) {
		fprintf(stderr,
			"rustynet-control: users role: no user \"%.80s\" (`rustynet-control users "
			"list` shows them)\n",
			argv[first]);
		ret = RN_CTL_ERR;
		goto out;
	}
	if (!ret)
		ret = rn_store_user_set_role(store, ctl->actor, id, !strcmp(role, "admin"),
					     time(NULL));
	if (ret) {
		ret = rn_ctl_store_error(store, "users role", ret);
		goto out;
	}
	printf("User \"%s\" is now %s %s: the policy's autogroup:admin and autogroup:owner %s.\n",
	       argv[first], strcmp(role, "admin") ? "a" : "an", role,
	       strcmp(role, "admin") ? "no longer name them" : "name them");
	ret = RN_CTL_OK;
out:
	rn_store_close(store);
	return ret;
}

static const struct rn_ctl_verb rn_ctl_users_verbs[] = {
	{ "list", rn_ctl_users_list, "users list [--json]",
	  "Lists the users: id, name, how many nodes each has, when it was made.\n"
	  "A user is made by `rustynet-control authkey create --user NAME`.\n" },
	{ "role", rn_ctl_users_role, "users role USER admin|member",
	  "Gives USER the admin role, or takes it back. The admins are whom the policy's\n"
	  "autogroup:admin and autogroup:owner name (their untagged nodes, and as tag owners\n"
	  "the users themselves); every user starts as a member. Peers get the new filters\n"
	  "at once.\n" },
	{ 0 },
};

int rn_ctl_users_main(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_ctl_dispatch(ctl, "users", rn_ctl_users_verbs, argc, argv);
}
