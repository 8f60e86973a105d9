/* SPDX-License-Identifier: MIT */
/*
 * `rustynet-control routes list|approve` and `exit approve`: the LAN routes and exit capability
 * nodes advertise take effect only once the admin approves them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "policy/filter.h"
#include "rustynet-control/ctl.h"

static int rn_routes_list(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_store_node *nodes = NULL;
	struct rn_store *store = NULL;
	json_t *arr = NULL;
	size_t n = 0;
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
	arr = json_array();
	if (!arr)
		goto out;
	if (!json)
		printf("%-5s %-20s %-16s %-30s %s\n", "ID", "NODE", "EXIT", "ADVERTISED",
		       "APPROVED");
	for (size_t i = 0; i < n; i++) {
		const struct rn_store_node *nd = &nodes[i];
		const char *exit = !nd->advertises_exit ? "-"
				   : nd->exit_approved	? "approved"
							: "not approved";

		if (!nd->advertises_exit && !strcmp(nd->advertised_routes, "[]") &&
		    !strcmp(nd->approved_routes, "[]"))
			continue;
		if (json)
			json_array_append_new(
			    arr,
			    json_pack("{s:I,s:s,s:o,s:o,s:b,s:b}", "id", (json_int_t)nd->id, "node",
				      nd->dns_name, "advertised_routes",
				      rn_ctl_json_array(nd->advertised_routes), "approved_routes",
				      rn_ctl_json_array(nd->approved_routes), "advertises_exit",
				      nd->advertises_exit, "exit_approved", nd->exit_approved));
		else
			printf("%-5lld %-20s %-16s %-30s %s\n", (long long)nd->id, nd->dns_name,
			       exit, nd->advertised_routes, nd->approved_routes);
	}
	ret = json ? rn_ctl_json_print(json_pack("{s:O}", "routes", arr)) : RN_CTL_OK;
out:
	json_decref(arr);
	rn_store_node_list_free(nodes, n);
	rn_store_close(store);
	return ret;
}

char *rn_ctl_routes_update(const char *approved, char *const *cidrs, size_t n, bool remove,
			   char *err, size_t errlen)
{
	json_t *arr = rn_ctl_json_array(approved);
	char buf[64], *out = NULL;

	for (size_t i = 0; arr && i < n; i++) {
		struct rn_filter_prefix p;
		size_t j;
		json_t *v;

		if (rn_filter_prefix_parse(cidrs[i], &p)) {
			snprintf(err, errlen, "\"%.80s\" is not a CIDR such as 192.168.1.0/24",
				 cidrs[i]);
			goto out;
		}
		rn_filter_prefix_format(&p, buf, sizeof(buf));
		json_array_foreach(arr, j, v)
			if (!strcmp(json_string_value(v), buf))
				break;
		if (remove && j == json_array_size(arr)) {
			snprintf(err, errlen,
				 "%s is not an approved route of this node (approved: %.200s)", buf,
				 approved && approved[0] ? approved : "[]");
			goto out;
		}
		if (remove)
			json_array_remove(arr, j);
		else if (j == json_array_size(arr))
			json_array_append_new(arr, json_string(buf));
	}
	out = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
	if (!out)
		snprintf(err, errlen, "out of memory");
out:
	json_decref(arr);
	return out;
}

static int rn_routes_change(struct rn_ctl *ctl, int argc, char **argv, bool remove)
{
	struct rn_store_node node = { 0 };
	struct rn_store *store = NULL;
	char *routes = NULL, err[512];
	int ret, first;

	ret = rn_ctl_simple_args(ctl, argc, argv, 2, -1, NULL, &first);
	if (ret >= 0)
		return ret;
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = RN_CTL_ERR;
	if (rn_ctl_node_find(store, argv[first], &node))
		goto out;
	routes = rn_ctl_routes_update(node.approved_routes, argv + first + 1,
				      (size_t)(argc - first - 1), remove, err, sizeof(err));
	if (!routes) {
		ret = remove ? RN_CTL_ERR : rn_ctl_usage_error(ctl, "%s", err);
		if (remove)
			fprintf(stderr, "rustynet-control: %s\n", err);
		goto out;
	}
	ret = rn_store_node_approve_routes(store, ctl->actor, node.id, routes, time(NULL));
	if (ret) {
		ret = rn_ctl_store_error(store, remove ? "unapproving routes" : "approving routes",
					 ret);
		goto out;
	}
	printf("Node %s: approved routes now %s\n", node.dns_name, routes);
out:
	free(routes);
	rn_store_node_clear(&node);
	rn_store_close(store);
	return ret;
}

static int rn_routes_approve(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_routes_change(ctl, argc, argv, false);
}

static int rn_routes_unapprove(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_routes_change(ctl, argc, argv, true);
}

int rn_ctl_exit_set(struct rn_store *store, const char *actor, const struct rn_store_node *node,
		    bool approve, int64_t now, char *err, size_t errlen)
{
	int ret;

	if (approve && !node->advertises_exit) {
		snprintf(err, errlen,
			 "node %s does not offer to be an exit node; run `rustynet up "
			 "--advertise-exit-node` on it first",
			 node->dns_name);
		return -EINVAL;
	}
	if (!approve && !node->exit_approved) {
		snprintf(err, errlen, "node %s is not an approved exit node", node->dns_name);
		return -EINVAL;
	}
	ret = rn_store_node_approve_exit(store, actor, node->id, approve, now);
	if (ret)
		snprintf(err, errlen, "%s the exit node: %s", approve ? "approving" : "unapproving",
			 rn_store_errmsg(store));
	return ret;
}

/* exit approve (approve) or unapprove NODE. */
static int rn_exit_change(struct rn_ctl *ctl, int argc, char **argv, bool approve)
{
	struct rn_store_node node = { 0 };
	struct rn_store *store = NULL;
	char err[512];
	int ret, first;

	ret = rn_ctl_simple_args(ctl, argc, argv, 1, 1, NULL, &first);
	if (ret >= 0)
		return ret;
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = RN_CTL_ERR;
	if (rn_ctl_node_find(store, argv[first], &node))
		goto out;
	if (rn_ctl_exit_set(store, ctl->actor, &node, approve, time(NULL), err, sizeof(err))) {
		fprintf(stderr, "rustynet-control: %s\n", err);
		goto out;
	}
	ret = RN_CTL_OK;
	if (approve)
		printf("Node %s is an approved exit node; the policy decides who may use it.\n",
		       node.dns_name);
	else
		printf("Node %s is no longer an exit node: its users' internet traffic is blocked "
		       "until they pick another exit or turn exit nodes off.\n",
		       node.dns_name);
out:
	rn_store_node_clear(&node);
	rn_store_close(store);
	return ret;
}

static int rn_exit_approve(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_exit_change(ctl, argc, argv, true);
}

static int rn_exit_unapprove(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_exit_change(ctl, argc, argv, false);
}

static const struct rn_ctl_verb rn_routes_verbs[] = {
	{ "list", rn_routes_list, "routes list [--json]",
	  "Lists the nodes that advertise LAN routes or exit capability, and what is approved.\n" },
	{ "approve", rn_routes_approve, "routes approve NODE CIDR...",
	  "Approves LAN routes NODE advertises, adding them to those already approved.\n" },
	{ "unapprove", rn_routes_unapprove, "routes unapprove NODE CIDR...",
	  "Takes back approved LAN routes of NODE: peers stop routing them through it at once.\n"
	  "A route that the policy's autoApprovers cover is approved again when NODE next\n"
	  "advertises it; change the policy to keep it off.\n" },
	{ 0 },
};

static const struct rn_ctl_verb rn_exit_verbs[] = {
	{ "approve", rn_exit_approve, "exit approve NODE",
	  "Approves NODE, which advertises exit capability, as an exit node.\n" },
	{ "unapprove", rn_exit_unapprove, "exit unapprove NODE",
	  "Takes back NODE's approval as an exit node. Devices that selected it keep their\n"
	  "kill switch: their internet traffic is blocked, never sent around the tunnel.\n" },
	{ 0 },
};

int rn_ctl_routes_main(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_ctl_dispatch(ctl, "routes", rn_routes_verbs, argc, argv);
}

int rn_ctl_exit_main(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_ctl_dispatch(ctl, "exit", rn_exit_verbs, argc, argv);
}
