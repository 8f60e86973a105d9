/* SPDX-License-Identifier: MIT */
/* The policy world from the store (see world.h). */
#include "control/world.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void rn_control_world_free(struct rn_control_world *cw)
{
	for (size_t i = 0; cw->tags && i < cw->n_nodes; i++)
		json_decref(cw->tags[i]);
	free(cw->tags);
	free(cw->tag_strs);
	free(cw->prefixes);
	free(cw->pnodes);
	free(cw->user_names);
	free(cw->admin_names);
	rn_store_node_list_free(cw->nodes, cw->n_nodes);
	rn_store_user_list_free(cw->users, cw->n_users);
	memset(cw, 0, sizeof(*cw));
}

const char *rn_control_world_user_name(const struct rn_control_world *cw, int64_t id)
{
	for (size_t i = 0; i < cw->n_users; i++)
		if (cw->users[i].id == id)
			return cw->users[i].name;
	return "?";
}

/* A JSON array text as a value: parsed, or an empty array if it does not parse. */
static json_t *rn_world_array(const char *text)
{
	json_t *a = text ? json_loads(text, 0, NULL) : NULL;

	if (json_is_array(a))
		return a;
	json_decref(a);
	return json_array();
}

/* Parses a JSON array of CIDRs into p; how many, or -1 if one is not a CIDR. */
static long rn_world_prefixes(const char *text, struct rn_filter_prefix *p, size_t max)
{
	json_t *a = rn_world_array(text), *v;
	size_t i, n = 0;

	json_array_foreach(a, i, v) {
		if (n == max || !json_is_string(v) ||
		    rn_filter_prefix_parse(json_string_value(v), &p[n])) {
			json_decref(a);
			return -1;
		}
		n++;
	}
	json_decref(a);
	return (long)n;
}

static size_t rn_world_count(const char *text)
{
	json_t *a = rn_world_array(text);
	size_t n = json_array_size(a);

	json_decref(a);
	return n;
}

/* Fills pnodes[i] from nodes[i]; returns how many prefixes it used, or -EINVAL. */
static long rn_world_node(struct rn_control_world *cw, size_t i, const char **tags,
			  struct rn_filter_prefix *pfx, size_t max_pfx)
{
	const struct rn_store_node *nd = &cw->nodes[i];
	struct rn_policy_node *pn = &cw->pnodes[i];
	size_t j;
	long adv, app;
	json_t *v;

	pn->id = (uint64_t)nd->id;
	pn->name = nd->dns_name;
	pn->user = rn_control_world_user_name(cw, nd->user_id);
	cw->tags[i] = rn_world_array(nd->tags);
	json_array_foreach(cw->tags[i], j, v)
		tags[j] = json_is_string(v) ? json_string_value(v) : "";
	pn->tags = tags;
	pn->n_tags = json_array_size(cw->tags[i]);
	memcpy(pn->ip4, &nd->ipv4, 4);
	memcpy(pn->ip6, &nd->ipv6, 16);
	adv = rn_world_prefixes(nd->advertised_routes, pfx, max_pfx);
	app = adv < 0 ? -1 : rn_world_prefixes(nd->approved_routes, pfx + adv, max_pfx - adv);
	if (app < 0) {
		snprintf(cw->err, sizeof(cw->err), "node %s has a bad route in the store",
			 nd->dns_name);
		return -EINVAL;
	}
	pn->advertised = pfx;
	pn->n_advertised = (size_t)adv;
	pn->approved = pfx + adv;
	pn->n_approved = (size_t)app;
	pn->advertises_exit = nd->advertises_exit;
	pn->exit_approved = nd->exit_approved;
	return adv + app;
}

/* Drops the expired rows from cw->nodes, keeping the order. */
static void rn_world_skip_expired(struct rn_control_world *cw)
{
	int64_t now = (int64_t)time(NULL);
	size_t k = 0;

	for (size_t i = 0; i < cw->n_nodes; i++) {
		if (rn_store_node_is_expired(&cw->nodes[i], now))
			rn_store_node_clear(&cw->nodes[i]);
		else
			cw->nodes[k++] = cw->nodes[i];
	}
	cw->n_nodes = k;
}

int rn_control_world_load(struct rn_store *store, unsigned flags, struct rn_control_world *cw)
{
	size_t n_tags = 0, n_pfx = 0, t = 0, p = 0;
	long used;
	int ret;

	memset(cw, 0, sizeof(*cw));
	ret = rn_store_node_list(store, &cw->nodes, &cw->n_nodes);
	if (!ret)
		ret = rn_store_user_list(store, &cw->users, &cw->n_users);
	if (ret) {
		snprintf(cw->err, sizeof(cw->err), "%s", rn_store_errmsg(store));
		return ret;
	}
	if (flags & RN_CONTROL_WORLD_SKIP_EXPIRED)
		rn_world_skip_expired(cw);
	for (size_t i = 0; i < cw->n_nodes; i++) {
		n_tags += rn_world_count(cw->nodes[i].tags);
		n_pfx += rn_world_count(cw->nodes[i].advertised_routes) +
			 rn_world_count(cw->nodes[i].approved_routes);
	}
	cw->user_names = calloc(cw->n_users + 1, sizeof(*cw->user_names));
	cw->admin_names = calloc(cw->n_users + 1, sizeof(*cw->admin_names));
	cw->pnodes = calloc(cw->n_nodes + 1, sizeof(*cw->pnodes));
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	cw->tags = calloc(cw->n_nodes + 1, sizeof(*cw->tags));
	cw->tag_strs = calloc(n_tags + 1, sizeof(*cw->tag_strs));
	cw->prefixes = calloc(n_pfx + 1, sizeof(*cw->prefixes));
	if (!cw->user_names || !cw->admin_names || !cw->pnodes || !cw->tags || !cw->tag_strs ||
	    !cw->prefixes) {
		snprintf(cw->err, sizeof(cw->err), "out of memory loading the network");
		return -ENOMEM;
	}
	for (size_t i = 0; i < cw->n_users; i++) {
		cw->user_names[i] = cw->users[i].name;
		if (cw->users[i].admin)
			cw->admin_names[cw->w.n_admins++] = cw->users[i].name;
	}
	for (size_t i = 0; i < cw->n_nodes; i++) {
		used = rn_world_node(cw, i, cw->tag_strs + t, cw->prefixes + p, n_pfx - p);
		if (used < 0)
			return (int)used;
		t += cw->pnodes[i].n_tags;
		p += (size_t)used;
	}
	cw->w.admins = cw->admin_names;
	cw->w.users = cw->user_names;
	cw->w.n_users = cw->n_users;
	cw->w.nodes = cw->pnodes;
	cw->w.n_nodes = cw->n_nodes;
	return 0;
}
