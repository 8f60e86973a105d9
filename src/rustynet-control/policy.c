/* SPDX-License-Identifier: MIT */
/*
 * `rustynet-control policy set|get|check`. A policy is checked against the network as it is
 * (its users and nodes) before it is stored; a bad one is refused with FILE:LINE:COL and the old
 * policy stays in force.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/policy.h"
#include "rustynet-control/ctl.h"

enum { RN_POLICY_FILE_MAX = 4 << 20 }; /* bytes: far beyond any real policy */

/* The world the policy library checks against, and everything it borrows. */
struct rn_ctl_world {
	struct rn_policy_world w;
	struct rn_store_user *users;
	size_t n_users;
	const char **user_names;
	struct rn_store_node *nodes;
	size_t n_nodes;
	struct rn_policy_node *pnodes;
	json_t **tags; /* per node: the parsed tags array, which pnodes[i].tags points into */
	const char **tag_strs;
	struct rn_filter_prefix *prefixes;
};

static void rn_world_free(struct rn_ctl_world *cw)
{
	for (size_t i = 0; cw->tags && i < cw->n_nodes; i++)
		json_decref(cw->tags[i]);
	free(cw->tags);
	free(cw->tag_strs);
	free(cw->prefixes);
	free(cw->pnodes);
	free(cw->user_names);
	rn_store_node_list_free(cw->nodes, cw->n_nodes);
	rn_ctl_users_free(cw->users, cw->n_users);
}

/* Parses a JSON array of CIDRs into p; how many, or -1 if one is not a CIDR. */
static long rn_world_prefixes(const char *text, struct rn_filter_prefix *p, size_t max)
{
	json_t *a = rn_ctl_json_array(text), *v;
	size_t i, n = 0;

	json_array_foreach(a, i, v)
	{
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
	json_t *a = rn_ctl_json_array(text);
	size_t n = json_array_size(a);

	json_decref(a);
	return n;
}

static int rn_world_node(struct rn_ctl_world *cw, size_t i, const char **tags,
			 struct rn_filter_prefix *pfx, size_t max_pfx)
{
	const struct rn_store_node *nd = &cw->nodes[i];
	struct rn_policy_node *pn = &cw->pnodes[i];
	size_t j;
	long adv, app;
	json_t *v;

	pn->id = (uint64_t)nd->id;
	pn->name = nd->dns_name;
	pn->user = rn_ctl_user_name(cw->users, cw->n_users, nd->user_id);
	cw->tags[i] = rn_ctl_json_array(nd->tags);
	json_array_foreach(cw->tags[i], j, v) tags[j] =
	    json_is_string(v) ? json_string_value(v) : "";
	pn->tags = tags;
	pn->n_tags = json_array_size(cw->tags[i]);
	memcpy(pn->ip4, &nd->ipv4, 4);
	memcpy(pn->ip6, &nd->ipv6, 16);
	adv = rn_world_prefixes(nd->advertised_routes, pfx, max_pfx);
	app = adv < 0 ? -1 : rn_world_prefixes(nd->approved_routes, pfx + adv, max_pfx - adv);
	if (app < 0) {
		fprintf(stderr, "rustynet-control: node %s has a bad route in the store\n",
			nd->dns_name);
		return -EINVAL;
	}
	pn->advertised = pfx;
	pn->n_advertised = (size_t)adv;
	pn->approved = pfx + adv;
	pn->n_approved = (size_t)app;
	pn->advertises_exit = nd->advertises_exit;
	pn->exit_approved = nd->exit_approved;
	return (int)(adv + app);
}

static int rn_world_load(struct rn_store *store, struct rn_ctl_world *cw)
{
	size_t n_tags = 0, n_pfx = 0, t = 0, p = 0;
	int ret;

	memset(cw, 0, sizeof(*cw));
	ret = rn_store_node_list(store, &cw->nodes, &cw->n_nodes);
	if (ret)
		return rn_ctl_store_error(store, "listing nodes", ret), ret;
	ret = rn_ctl_users_load(store, &cw->users, &cw->n_users);
	if (ret)
		return ret;
	for (size_t i = 0; i < cw->n_nodes; i++) {
		n_tags += rn_world_count(cw->nodes[i].tags);
		n_pfx += rn_world_count(cw->nodes[i].advertised_routes) +
			 rn_world_count(cw->nodes[i].approved_routes);
	}
	cw->user_names = calloc(cw->n_users + 1, sizeof(*cw->user_names));
	cw->pnodes = calloc(cw->n_nodes + 1, sizeof(*cw->pnodes));
	cw->tags = calloc(cw->n_nodes + 1, sizeof(*cw->tags));
	cw->tag_strs = calloc(n_tags + 1, sizeof(*cw->tag_strs));
	cw->prefixes = calloc(n_pfx + 1, sizeof(*cw->prefixes));
	if (!cw->user_names || !cw->pnodes || !cw->tags || !cw->tag_strs || !cw->prefixes)
		return -ENOMEM;
	for (size_t i = 0; i < cw->n_users; i++)
		cw->user_names[i] = cw->users[i].name;
	for (size_t i = 0; i < cw->n_nodes; i++) {
		ret = rn_world_node(cw, i, cw->tag_strs + t, cw->prefixes + p, n_pfx - p);
		if (ret < 0)
			return ret;
		t += cw->pnodes[i].n_tags;
		p += (size_t)ret;
	}
	cw->w.users = cw->user_names;
	cw->w.n_users = cw->n_users;
	cw->w.nodes = cw->pnodes;
	cw->w.n_nodes = cw->n_nodes;
	return 0;
}

/* Reads FILE ("-": stdin) whole. NULL after a message. */
static char *rn_policy_read(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	char *buf = NULL;
	size_t n = 0;

	if (!f) {
		fprintf(stderr, "rustynet-control: cannot read the policy \"%s\": %s\n", path,
			strerror(errno));
		return NULL;
	}
	buf = malloc(RN_POLICY_FILE_MAX + 1);
	if (buf)
		n = fread(buf, 1, RN_POLICY_FILE_MAX + 1, f);
	if (buf && (ferror(f) || n > RN_POLICY_FILE_MAX)) {
		fprintf(stderr,
			"rustynet-control: the policy \"%s\" is unreadable or over %d "
			"bytes\n",
			path, RN_POLICY_FILE_MAX);
		free(buf);
		buf = NULL;
	}
	if (f != stdin)
		fclose(f);
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

/* Reads and checks FILE against the store's world; prints why not. 0 or -errno. */
static int rn_policy_load_checked(struct rn_store *store, const char *path, char **text_out)
{
	struct rn_policy_error err = {0};
	struct rn_ctl_world cw;
	char *text;
	size_t len;
	int ret;

	*text_out = NULL;
	text = rn_policy_read(path, &len);
	if (!text)
		return -EIO;
	ret = rn_world_load(store, &cw);
	if (!ret) {
		ret = rn_policy_check(text, len, path, &cw.w, &err);
		if (ret == -EINVAL)
			fprintf(stderr, "%s\n", err.text[0] ? err.text : err.message);
		else if (ret)
			fprintf(stderr, "rustynet-control: checking \"%s\": %s\n", path,
				strerror(-ret));
	}
	rn_world_free(&cw);
	if (ret)
		free(text);
	else
		*text_out = text;
	return ret;
}

static int rn_policy_cmd_check(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_store *store = NULL;
	char *text = NULL;
	int ret, first;

	ret = rn_ctl_simple_args(ctl, argc, argv, 1, 1, NULL, &first);
	if (ret >= 0)
		return ret;
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = rn_policy_load_checked(store, argv[first], &text) ? RN_CTL_ERR : RN_CTL_OK;
	if (!ret)
		printf("%s: ok\n", argv[first]);
	free(text);
	rn_store_close(store);
	return ret;
}

static int rn_policy_cmd_set(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_store *store = NULL;
	char *text = NULL;
	int64_t rev;
	int ret, first;

	ret = rn_ctl_simple_args(ctl, argc, argv, 1, 1, NULL, &first);
	if (ret >= 0)
		return ret;
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = RN_CTL_ERR;
	if (rn_policy_load_checked(store, argv[first], &text)) {
		fprintf(stderr,
			"rustynet-control: policy not changed; the old one stays in force\n");
		goto out;
	}
	ret = rn_store_policy_set(store, ctl->actor, text, time(NULL));
	if (ret) {
		ret = rn_ctl_store_error(store, "storing the policy", ret);
		goto out;
	}
	free(text);
	text = NULL;
	ret = rn_store_policy_get(store, &text, &rev);
	if (ret) {
		ret = rn_ctl_store_error(store, "reading the policy back", ret);
		goto out;
	}
	printf("Policy set from %s (revision %lld).\n", argv[first], (long long)rev);
out:
	free(text);
	rn_store_close(store);
	return ret;
}

static int rn_policy_cmd_get(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_store *store = NULL;
	char *text = NULL;
	int64_t rev = 0;
	int ret, first;
	bool json;

	ret = rn_ctl_simple_args(ctl, argc, argv, 0, 0, &json, &first);
	if (ret >= 0)
		return ret;
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = rn_store_policy_get(store, &text, &rev);
	if (ret) {
		ret = rn_ctl_store_error(store, "reading the policy", ret);
	} else if (json) {
		ret = rn_ctl_json_print(
		    json_pack("{s:I,s:s?}", "revision", (json_int_t)rev, "text", text));
	} else if (!text) {
		fprintf(stderr, "rustynet-control: no policy is set: everything is denied. Set one "
				"with `rustynet-control policy set FILE`\n");
		ret = RN_CTL_ERR;
	} else {
		fputs(text, stdout);
		if (text[0] && text[strlen(text) - 1] != '\n')
			putchar('\n');
	}
	free(text);
	rn_store_close(store);
	return ret;
}

static const struct rn_ctl_verb rn_policy_verbs[] = {
    {"set", rn_policy_cmd_set, "policy set FILE",
     "Checks the HuJSON policy in FILE (\"-\": stdin) against the network's users and nodes\n"
     "and installs it. On an error it prints FILE:LINE:COL: message and keeps the old one.\n"},
    {"get", rn_policy_cmd_get, "policy get [--json]",
     "Prints the policy in force (--json: with its revision).\n"},
    {"check", rn_policy_cmd_check, "policy check FILE",
     "Checks FILE as `policy set` would, without installing it.\n"},
    {0},
};

int rn_ctl_policy_main(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_ctl_dispatch(ctl, "policy", rn_policy_verbs, argc, argv);
}
