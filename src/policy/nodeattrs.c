/* SPDX-License-Identifier: MIT */
/*
 * The "nodeAttrs" section and the network-wide settings ("randomizeClientPort", "derpMap",
 * "OneCGNATRoute"), read to Tailscale's rules and set aside: Rustynet has no node attributes
 * (Funnel, Mullvad, IP pools...), picks its own ports, relays through its own relays and routes
 * the mesh as one prefix, so they change nothing here, and `policy check` says so.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy/parser.h"
#include "policy/policy_priv.h"

/* Targets: as grant sources, but autogroup:danger-all names no node. */
static int check_targets(struct rn_policy_parser *p, const struct rn_policy_target *t, size_t n,
			 const char *path)
{
	char q[RN_POLICY_QUOTE_LEN];

	for (size_t i = 0; i < n; i++)
		if (t[i].kind == RN_POLICY_TARGET_DANGER_ALL)
			return rn_policy_fail(p, t[i].off,
					      "%s in %s: node attributes go to nodes: users, "
					      "groups, tags, hosts, addresses, *, autogroup:member "
					      "or autogroup:tagged",
					      rn_policy_quote(t[i].name, q, sizeof(q)), path);
	return 0;
}

/* Each string passes ok(); ipPool's are prefixes inside the mesh's 100.64.0.0/10. */
static int string_list(struct rn_policy_parser *p, struct rn_policy_cursor c, const char *path,
		       bool pool)
{
	static const struct rn_filter_prefix cgnat = { AF_INET, 10, { 100, 64 } };
	size_t child = c.node + 1;
	int ret = rn_policy_want(p, c, JSON_ARRAY, path);

	for (size_t i = 0; !ret && i < json_array_size(c.v); i++) {
		struct rn_policy_cursor e = { json_array_get(c.v, i), child };
		char epath[RN_POLICY_PATH_LEN], q[RN_POLICY_QUOTE_LEN];
		struct rn_filter_prefix pfx;

		ret = rn_policy_next_child(p, c.node, &child);
		if (ret)
			break;
		rn_policy_pathf(epath, sizeof(epath), "%s[%zu]", path, i);
		ret = rn_policy_want(p, e, JSON_STRING, epath);
		if (!ret && pool &&
		    (rn_filter_prefix_parse(json_string_value(e.v), &pfx) ||
		     pfx.family != AF_INET || pfx.len < cgnat.len ||
		     !rn_filter_prefix_has(&cgnat, AF_INET, pfx.addr)))
			ret = rn_policy_fail(p, rn_policy_val_off(p, e),
					     "bad %s %s: an IP pool is a prefix inside "
					     "100.64.0.0/10",
					     epath,
					     rn_policy_quote(json_string_value(e.v), q, sizeof(q)));
		if (!ret && !pool && !json_string_value(e.v)[0])
			ret = rn_policy_fail(p, rn_policy_val_off(p, e), "%s is empty", epath);
		child = p->idx.pos[child].next;
	}
	return ret;
}

static int attr_member(struct rn_policy_parser *p, const char *key, struct rn_policy_cursor m,
		       const char *path, struct rn_policy_target **t, size_t *n, bool *what)
{
	char q[RN_POLICY_QUOTE_LEN], mpath[RN_POLICY_PATH_LEN];

	rn_policy_pathf(mpath, sizeof(mpath), "%s.%s", path, key);
	if (!strcmp(key, "target"))
		return rn_policy_parse_targets(p, m, RN_POLICY_ROLE_SRC, false, mpath, t, n);
	*what = true;
	if (!strcmp(key, "attr") || !strcmp(key, "ipPool"))
		return string_list(p, m, mpath, !strcmp(key, "ipPool"));
	if (!strcmp(key, "app"))
		return rn_policy_want(p, m, JSON_OBJECT, mpath);
	return rn_policy_fail(p, p->idx.pos[m.node].key,
			      "unknown key %s in %s; expected target, attr, app or ipPool",
			      rn_policy_quote(key, q, sizeof(q)), path);
}

static int node_attr(struct rn_policy_parser *p, struct rn_policy_cursor c, const char *path)
{
	struct rn_policy_target *t = NULL;
	size_t child = c.node + 1, n = 0, off;
	bool what = false;
	const char *key;
	json_t *v;
	int ret = rn_policy_want(p, c, JSON_OBJECT, path);

	if (ret)
		return ret;
	off = rn_policy_val_off(p, c);
	json_object_foreach(c.v, key, v) {
		ret = rn_policy_next_child(p, c.node, &child);
		if (!ret)
			ret = attr_member(p, key, (struct rn_policy_cursor){ v, child }, path, &t,
					  &n, &what);
		if (ret)
			goto out;
		child = p->idx.pos[child].next;
	}
	if (!n || !what)
		ret = rn_policy_fail(p, off,
				     "%s needs \"target\" and one of \"attr\", \"app\" or "
				     "\"ipPool\"",
				     path);
	if (!ret)
		ret = check_targets(p, t, n, path);
	if (!ret)
		ret = rn_policy_notef(p->pol, off,
				      "%s is not enforced here: Rustynet has no node attributes, "
				      "so it changes nothing",
				      path);
out:
	for (size_t i = 0; i < n; i++)
		free(t[i].name);
	free(t);
	return ret;
}

int rn_policy_parse_node_attrs(struct rn_policy_parser *p, struct rn_policy_cursor c)
{
	size_t child = c.node + 1;
	int ret = rn_policy_want(p, c, JSON_ARRAY, "nodeAttrs");

	for (size_t i = 0; !ret && i < json_array_size(c.v); i++) {
		char path[RN_POLICY_PATH_LEN];

		ret = rn_policy_next_child(p, c.node, &child);
		if (ret)
			break;
		rn_policy_pathf(path, sizeof(path), "nodeAttrs[%zu]", i);
		ret =
		    node_attr(p, (struct rn_policy_cursor){ json_array_get(c.v, i), child }, path);
		child = p->idx.pos[child].next;
	}
	return ret;
}

int rn_policy_parse_randomize_port(struct rn_policy_parser *p, struct rn_policy_cursor c)
{
	if (!json_is_boolean(c.v))
		return rn_policy_fail(p, rn_policy_val_off(p, c),
				      "randomizeClientPort must be true or false");
	if (!json_is_true(c.v))
		return 0;
	return rn_policy_notef(p->pol, rn_policy_val_off(p, c),
			       "randomizeClientPort has no effect here: rustynetd chooses its own "
			       "UDP port");
}

/* Tailscale's disableIPv4 takes the nodes' IPv4 addresses away; every node here keeps one. */
int rn_policy_parse_disable_ipv4(struct rn_policy_parser *p, struct rn_policy_cursor c)
{
	if (!json_is_boolean(c.v))
		return rn_policy_fail(p, rn_policy_val_off(p, c),
				      "disableIPv4 must be true or false");
	if (!json_is_true(c.v))
		return 0;
	return rn_policy_fail(p, rn_policy_val_off(p, c),
			      "disableIPv4 true is not supported: every Rustynet node has an IPv4 "
			      "mesh address (100.64.0.0/10) beside its IPv6 one; remove it or set "
			      "it to false");
}

int rn_policy_parse_derp_map(struct rn_policy_parser *p, struct rn_policy_cursor c)
{
	int ret = rn_policy_want(p, c, JSON_OBJECT, "derpMap");

	if (ret)
		return ret;
	return rn_policy_notef(p->pol, rn_policy_val_off(p, c),
			       "derpMap has no effect here: nodes use the relays the control "
			       "server lists (rustynet-control relay)");
}

int rn_policy_parse_one_cgnat(struct rn_policy_parser *p, struct rn_policy_cursor c)
{
	char q[RN_POLICY_QUOTE_LEN];
	const char *s;
	int ret = rn_policy_want(p, c, JSON_STRING, "OneCGNATRoute");

	if (ret)
		return ret;
	s = json_string_value(c.v);
	if (strcmp(s, "") && strcmp(s, "mac-always") && strcmp(s, "mac-never"))
		return rn_policy_fail(p, rn_policy_val_off(p, c),
				      "bad OneCGNATRoute %s: use \"\", \"mac-always\" or "
				      "\"mac-never\"",
				      rn_policy_quote(s, q, sizeof(q)));
	return rn_policy_notef(p->pol, rn_policy_val_off(p, c),
			       "OneCGNATRoute has no effect here: it is about macOS clients");
}
