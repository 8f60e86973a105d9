/* SPDX-License-Identifier: MIT */
/* `rustynet-control nodes list|remove|expire|rename`: NODE is a DNS name or an id. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rustynet-control/ctl.h"
#include "rustynet-control/duration.h"

json_t *rn_ctl_node_json(const struct rn_store_node *nd, const char *user, int64_t now)
{
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET, &nd->ipv4, v4, sizeof(v4));
	inet_ntop(AF_INET6, &nd->ipv6, v6, sizeof(v6));
	return json_pack(
	    "{s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:b,s:o,s:o,s:o,s:o,s:o,s:b,s:b,s:o}", "id",
	    (json_int_t)nd->id, "name", nd->name, "dns_name", nd->dns_name, "user", user, "ipv4",
	    v4, "ipv6", v6, "enrolled_at", (json_int_t)nd->enrolled_at, "last_seen",
	    (json_int_t)nd->last_seen, "expired", rn_store_node_is_expired(nd, now), "ephemeral",
	    json_boolean(nd->ephemeral), "key_expires_at",
	    nd->key_expires_at > 0			    ? json_integer(nd->key_expires_at)
	    : nd->key_expires_at == RN_STORE_KEY_EXPIRY_OFF ? json_string("off")
							    : json_null(),
	    "tags", rn_ctl_json_array(nd->tags), "advertised_routes",
	    rn_ctl_json_array(nd->advertised_routes), "approved_routes",
	    rn_ctl_json_array(nd->approved_routes), "advertises_exit", nd->advertises_exit,
	    "exit_approved", nd->exit_approved, "endpoints", rn_ctl_json_array(nd->endpoints));
}

static int rn_nodes_list(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_store_node *nodes = NULL;
	struct rn_store_user *users = NULL;
	struct rn_store *store = NULL;
	size_t n = 0, n_users = 0;
	json_t *arr = NULL;
	int ret, first;
	bool json;

	ret = rn_ctl_simple_args(ctl, argc, argv, 0, 0, &json, &first);
	if (ret >= 0)
		return ret;
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = rn_store_node_list(store, &nodes, &n);
	if (ret) {
		ret = rn_ctl_store_error(store, "listing nodes", ret);
		goto out;
	}
	ret = RN_CTL_ERR;
	if (rn_ctl_users_load(store, &users, &n_users) || !(arr = json_array()))
		goto out;
	if (!json)
		printf("%-5s %-20s %-14s %-15s %-8s %-20s %s\n", "ID", "DNS NAME", "USER", "IPV4",
		       "STATE", "LAST SEEN", "TAGS");
	for (size_t i = 0; i < n; i++) {
		const char *user = rn_ctl_user_name(users, n_users, nodes[i].user_id);
		char v4[INET_ADDRSTRLEN], seen[32];

		if (json) {
			json_array_append_new(arr, rn_ctl_node_json(&nodes[i], user, time(NULL)));
			continue;
		}
		inet_ntop(AF_INET, &nodes[i].ipv4, v4, sizeof(v4));
		rn_ctl_time_format(nodes[i].last_seen, seen, sizeof(seen));
		printf("%-5lld %-20s %-14s %-15s %-8s %-20s %s\n", (long long)nodes[i].id,
		       nodes[i].dns_name, user, v4,
		       rn_store_node_is_expired(&nodes[i], time(NULL)) ? "expired" : "active", seen,
		       nodes[i].tags);
	}
	ret = json ? rn_ctl_json_print(json_pack("{s:O}", "nodes", arr)) : RN_CTL_OK;
out:
	json_decref(arr);
	rn_ctl_users_free(users, n_users);
	rn_store_node_list_free(nodes, n);
	rn_store_close(store);
	return ret;
}

enum rn_nodes_change {
	RN_NODES_REMOVE,
	RN_NODES_EXPIRE,
	RN_NODES_RENAME,
	RN_NODES_TAG,
	RN_NODES_EXPIRY
};

/* "tag:a,tag:b" (or "") as a JSON array text; NULL when out of memory. */
static char *rn_nodes_tag_list(const char *list)
{
	json_t *arr = json_array();
	char *copy = strdup(list), *save = NULL, *out = NULL;

	if (arr && copy) {
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			json_array_append_new(arr, json_string(t));
		out = json_dumps(arr, JSON_COMPACT);
	}
	free(copy);
	json_decref(arr);
	return out;
}

static int rn_nodes_change(struct rn_ctl *ctl, int argc, char **argv, enum rn_nodes_change what)
{
	struct rn_store_node node = { 0 };
	struct rn_store *store = NULL;
	int64_t now = time(NULL);
	int ret, first;

	int args =
	    what == RN_NODES_RENAME || what == RN_NODES_TAG || what == RN_NODES_EXPIRY ? 2 : 1;
	int64_t expires = RN_STORE_KEY_EXPIRY_OFF;
	char *tags = NULL, err[200], when[32];

	ret = rn_ctl_simple_args(ctl, argc, argv, args, args, NULL, &first);
	if (ret >= 0)
		return ret;
	/* "disable" as the issue and Headscale users write it; "off" as settings take it. */
	if (what == RN_NODES_EXPIRY && strcmp(argv[first + 1], "off") &&
	    strcmp(argv[first + 1], "disable") &&
	    !rn_when_parse(argv[first + 1], now, 1, &expires, err, sizeof(err)))
		return rn_ctl_usage_error(ctl, "%s", err);
	rn_ctl_time_format(expires, when, sizeof(when));
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = RN_CTL_ERR;
	if (rn_ctl_node_find(store, argv[first], &node))
		goto out;
	if (what == RN_NODES_REMOVE)
		ret = rn_store_node_remove(store, ctl->actor, node.id, now);
	else if (what == RN_NODES_EXPIRE)
		ret = rn_store_node_expire(store, ctl->actor, node.id, now);
	else if (what == RN_NODES_EXPIRY)
		ret = rn_store_node_set_key_expiry(store, ctl->actor, node.id, expires, now);
	else if (what == RN_NODES_TAG)
		ret = (tags = rn_nodes_tag_list(argv[first + 1]))
			  ? rn_store_node_set_tags(store, ctl->actor, node.id, tags, now)
			  : -ENOMEM;
	else
		ret = rn_store_node_rename(store, ctl->actor, node.id, argv[first + 1], now);
	if (ret) {
		ret = rn_ctl_store_error(store, ctl->verb->name, ret);
		goto out;
	}
	if (what == RN_NODES_REMOVE)
		printf("Removed node %lld (%s). Its key must enroll again to rejoin.\n",
		       (long long)node.id, node.dns_name);
	else if (what == RN_NODES_EXPIRE)
		printf("Expired node %lld (%s): peers drop it until it enrolls again.\n",
		       (long long)node.id, node.dns_name);
	else if (what == RN_NODES_EXPIRY && expires == RN_STORE_KEY_EXPIRY_OFF)
		printf("Node %lld (%s): its key never expires, renewals included.\n",
		       (long long)node.id, node.dns_name);
	else if (what == RN_NODES_EXPIRY)
		printf("Node %lld (%s): its key expires at %s%s.\n", (long long)node.id,
		       node.dns_name, when, expires <= now ? " (now: peers drop it)" : "");
	else if (what == RN_NODES_TAG)
		printf("Node %lld (%s) now has the tags %s; a tag counts where the policy's "
		       "tagOwners let its user own it.\n",
		       (long long)node.id, node.dns_name, tags);
	else
		printf("Renamed node %lld (%s) to \"%s\".\n", (long long)node.id, node.dns_name,
		       argv[first + 1]);
out:
	free(tags);
	rn_store_node_clear(&node);
	rn_store_close(store);
	return ret;
}

static int rn_nodes_remove(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_nodes_change(ctl, argc, argv, RN_NODES_REMOVE);
}

static int rn_nodes_expire(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_nodes_change(ctl, argc, argv, RN_NODES_EXPIRE);
}

static int rn_nodes_rename(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_nodes_change(ctl, argc, argv, RN_NODES_RENAME);
}

static int rn_nodes_expiry(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_nodes_change(ctl, argc, argv, RN_NODES_EXPIRY);
}

static int rn_nodes_tag(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_nodes_change(ctl, argc, argv, RN_NODES_TAG);
}

static const struct rn_ctl_verb rn_nodes_verbs[] = {
	{ "list", rn_nodes_list, "nodes list [--json]",
	  "Lists the nodes: id, DNS name, user, addresses, state, last check-in, tags.\n" },
	{ "remove", rn_nodes_remove, "nodes remove NODE",
	  "Deletes NODE (DNS name or id) from the network.\n" },
	{ "expire", rn_nodes_expire, "nodes expire NODE",
	  "Expires NODE's enrollment: peers drop it until it enrolls again with an auth key.\n" },
	{ "rename", rn_nodes_rename, "nodes rename NODE NAME",
	  "Gives NODE the DNS name made from NAME (lowercased, a-z 0-9 -).\n" },
	{ "expiry", rn_nodes_expiry, "nodes expiry NODE disable|off|WHEN",
	  "Sets when NODE's key expires: WHEN is a UTC date or time (2027-06-01,\n"
	  "2027-06-01T08:00:00Z) or a duration from now (30d); off: never, renewals included.\n"
	  "An expired node drops from every map until `rustynet up --auth-key` renews it.\n"
	  "`settings set key-expiry` sets the network's default for new enrollments.\n" },
	{ "tag", rn_nodes_tag, "nodes tag NODE TAG[,TAG...]",
	  "Replaces NODE's tags (\"\" removes them all). A tag counts only where the policy's\n"
	  "tagOwners let the node's user own it; a node with a counting tag is no longer its\n"
	  "user's node. Peers get the new filters at once.\n" },
	{ 0 },
};

int rn_ctl_nodes_main(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_ctl_dispatch(ctl, "nodes", rn_nodes_verbs, argc, argv);
}
