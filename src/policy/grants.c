/* SPDX-License-Identifier: MIT */
/*
 * The "grants" section, Tailscale's newer form of acls: {"src", "dst", "ip", "via", "app",
 * "srcPosture"}. A grant is read into the same entries acls make, one per "ip" entry (its
 * protocol and ports applied to every destination), so the compiler and its never-widen rules
 * are the same for both. What Rustynet cannot enforce is accepted where Tailscale accepts it
 * and grants nothing: "app" capabilities, and a grant limited by "srcPosture" (ignoring the
 * posture would widen it). `policy check` prints a note for each.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/parser.h"
#include "policy/policy_priv.h"

/* One "ip" entry: "*", "PORTS" or "PROTO:PORTS". */
struct ip_entry {
	uint8_t ipproto;	/* 0: any */
	struct rn_policy_dst d; /* only its ports */
};

struct grant {
	size_t off;
	struct rn_policy_target *src, *dst, *via;
	size_t n_src, n_dst, n_via;
	struct ip_entry *ip;
	size_t n_ip;
	bool has_ip, has_app, posture;
};

static void grant_free(struct grant *g)
{
	for (size_t i = 0; i < g->n_src; i++)
		free(g->src[i].name);
	for (size_t i = 0; i < g->n_dst; i++)
		free(g->dst[i].name);
	for (size_t i = 0; i < g->n_via; i++)
		free(g->via[i].name);
	for (size_t i = 0; i < g->n_ip; i++)
		free(g->ip[i].d.ports);
	free(g->src);
	free(g->dst);
	free(g->via);
	free(g->ip);
}

static int parse_ip_entry(struct rn_policy_parser *p, const char *s, size_t off, const char *path,
			  struct ip_entry *e)
{
	char q[RN_POLICY_QUOTE_LEN], proto[16];
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : 0;

	if (!colon)
		return rn_policy_parse_ports(p, s, s, off, path, &e->d);
	snprintf(proto, sizeof(proto), "%.*s", (int)(n < 15 ? n : 15), s);
	if (n >= sizeof(proto) || !rn_policy_proto_parse(proto, &e->ipproto))
		return rn_policy_fail(p, off,
				      "bad %s %s: write \"*\", PORTS or PROTO:PORTS, PROTO a "
				      "protocol name or IANA number (\"tcp:443\", \"udp:53\", "
				      "\"icmp:*\")",
				      path, rn_policy_quote(s, q, sizeof(q)));
	if (rn_policy_parse_ports(p, colon + 1, s, off, path, &e->d))
		return -EINVAL;
	if (!rn_policy_proto_has_ports(e->ipproto) &&
	    (e->d.n_ports != 1 || e->d.ports[0].first != 0 || e->d.ports[0].last != 65535))
		return rn_policy_fail(p, off,
				      "bad %s %s: only tcp, udp and sctp have ports; write %s:*",
				      path, rn_policy_quote(s, q, sizeof(q)), proto);
	return 0;
}

/* A non-empty list of strings, each read by one(). */
static int parse_strings(struct rn_policy_parser *p, struct rn_policy_cursor c, const char *path,
			 const char *what, size_t elem, void **out, size_t *n,
			 int (*one)(struct rn_policy_parser *, const char *, size_t, const char *,
				    void *))
{
	size_t count, child = c.node + 1;
	int ret = rn_policy_want(p, c, JSON_ARRAY, path);

	if (ret)
		return ret;
	count = json_array_size(c.v);
	if (!count)
		return rn_policy_fail(p, rn_policy_val_off(p, c), "%s is empty; list at least %s",
				      path, what);
	*out = calloc(count, elem);
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		struct rn_policy_cursor e = { json_array_get(c.v, i), child };
		char epath[RN_POLICY_PATH_LEN];

		ret = rn_policy_next_child(p, c.node, &child);
		if (ret)
			return ret;
		rn_policy_pathf(epath, sizeof(epath), "%s[%zu]", path, i);
		ret = rn_policy_want(p, e, JSON_STRING, epath);
		(*n)++; /* counted even when it failed: what it holds is freed with the rest */
		if (!ret)
			ret = one(p, json_string_value(e.v), rn_policy_val_off(p, e), epath,
				  (char *)*out + i * elem);
		if (ret)
			return ret;
		child = p->idx.pos[child].next;
	}
	return 0;
}

static int one_ip(struct rn_policy_parser *p, const char *s, size_t off, const char *path, void *e)
{
	return parse_ip_entry(p, s, off, path, e);
}

/* A destination is a target without ports: "tag:web", "10.0.0.0/8", "autogroup:internet". */
static int one_dst(struct rn_policy_parser *p, const char *s, size_t off, const char *path, void *t)
{
	return rn_policy_parse_target(p, s, off, RN_POLICY_ROLE_DST, path, t);
}

static int one_posture(struct rn_policy_parser *p, const char *s, size_t off, const char *path,
		       void *unused)
{
	char q[RN_POLICY_QUOTE_LEN];

	(void)unused;
	if (strncmp(s, "posture:", 8) || !s[8])
		return rn_policy_fail(p, off, "bad %s %s: postures are named posture:NAME", path,
				      rn_policy_quote(s, q, sizeof(q)));
	for (size_t i = 0; i < p->pol->n_postures; i++)
		if (!strcmp(p->pol->postures[i].name, s))
			return 0;
	return rn_policy_fail(p, off, "unknown posture %s in %s; define it in \"postures\"",
			      rn_policy_quote(s, q, sizeof(q)), path);
}

/*
 * "postures": {"posture:NAME": ["node:os == 'linux'", ...]}. Only the names are kept, for
 * srcPosture to name; nothing here can check a device's posture.
 */
int rn_policy_parse_postures(struct rn_policy_parser *p, struct rn_policy_cursor c)
{
	struct rn_policy *pol = p->pol;
	size_t child = c.node + 1;
	const char *key;
	json_t *v;
	int ret = rn_policy_want(p, c, JSON_OBJECT, "postures");

	if (ret)
		return ret;
	pol->postures = calloc(json_object_size(c.v) + 1, sizeof(*pol->postures));
	if (!pol->postures)
		return -ENOMEM;
	json_object_foreach(c.v, key, v) {
		struct rn_policy_cursor m = { v, child };
		struct rn_policy_list *l = &pol->postures[pol->n_postures];
		char q[RN_POLICY_QUOTE_LEN], path[RN_POLICY_PATH_LEN];

		ret = rn_policy_next_child(p, c.node, &child);
		if (ret)
			return ret;
		l->off = p->idx.pos[child].key;
		l->name = strdup(key);
		if (!l->name)
			return -ENOMEM;
		pol->n_postures++;
		if (strncmp(key, "posture:", 8) || !key[8] || strpbrk(key, " \t,\"*"))
			return rn_policy_fail(
			    p, l->off, "bad name %s in postures: names there are posture:NAME",
			    rn_policy_quote(key, q, sizeof(q)));
		rn_policy_pathf(path, sizeof(path), "postures[%s]",
				rn_policy_quote(key, q, sizeof(q)));
		ret = rn_policy_want(p, m, JSON_ARRAY, path);
		for (size_t i = 0; !ret && i < json_array_size(v); i++) {
			const json_t *e = json_array_get(v, i);

			if (!json_is_string(e) || !json_string_value(e)[0])
				ret =
				    rn_policy_fail(p, rn_policy_val_off(p, m),
						   "%s must be a list of conditions (strings such "
						   "as \"node:os == 'linux'\")",
						   path);
		}
		if (!ret)
			ret = rn_policy_notef(pol, l->off,
					      "%s is not checked here: Rustynet keeps no device "
					      "posture; a grant limited by it grants nothing",
					      path);
		if (ret)
			return ret;
		child = p->idx.pos[child].next;
	}
	return 0;
}

/*
 * Tailscale's app capabilities: names "DOMAIN/PATH" (a dot in the domain), each with a list of
 * objects. None is implemented here: each is noted, and grants nothing.
 */
static int parse_app(struct rn_policy_parser *p, struct rn_policy_cursor c, const char *path)
{
	size_t child = c.node + 1;
	const char *key;
	json_t *v;
	int ret = rn_policy_want(p, c, JSON_OBJECT, path);

	if (ret)
		return ret;
	json_object_foreach(c.v, key, v) {
		struct rn_policy_cursor m = { v, child };
		const char *slash = strchr(key, '/');
		char q[RN_POLICY_QUOTE_LEN], mpath[RN_POLICY_PATH_LEN];

		ret = rn_policy_next_child(p, c.node, &child);
		if (ret)
			return ret;
		if (!slash || slash == key || !memchr(key, '.', (size_t)(slash - key)) ||
		    !slash[1] || strpbrk(key, " \t\""))
			return rn_policy_fail(p, p->idx.pos[child].key,
					      "bad capability %s in %s: capabilities are named "
					      "DOMAIN/PATH, e.g. \"example.com/cap/name\"",
					      rn_policy_quote(key, q, sizeof(q)), path);
		rn_policy_pathf(mpath, sizeof(mpath), "%s[%s]", path,
				rn_policy_quote(key, q, sizeof(q)));
		ret = rn_policy_want(p, m, JSON_ARRAY, mpath);
		for (size_t i = 0; !ret && i < json_array_size(v); i++)
			if (!json_is_object(json_array_get(v, i)))
				ret = rn_policy_fail(p, rn_policy_val_off(p, m),
						     "%s must be a list of objects", mpath);
		if (!ret)
			ret = rn_policy_notef(p->pol, p->idx.pos[child].key,
					      "%s is not enforced here: Rustynet has no "
					      "application capabilities, so it grants nothing",
					      mpath);
		if (ret)
			return ret;
		child = p->idx.pos[child].next;
	}
	return 0;
}

static int grant_member(struct rn_policy_parser *p, const char *key, struct rn_policy_cursor m,
			const char *path, struct grant *g)
{
	char q[RN_POLICY_QUOTE_LEN], mpath[RN_POLICY_PATH_LEN];
	void *unused = NULL;
	size_t n_unused = 0;
	int ret;

	rn_policy_pathf(mpath, sizeof(mpath), "%s.%s", path, key);
	if (!strcmp(key, "src"))
		return rn_policy_parse_targets(p, m, RN_POLICY_ROLE_SRC, false, mpath, &g->src,
					       &g->n_src);
	if (!strcmp(key, "dst"))
		return parse_strings(p, m, mpath, "one destination", sizeof(*g->dst),
				     (void **)&g->dst, &g->n_dst, one_dst);
	if (!strcmp(key, "ip")) {
		g->has_ip = true;
		return parse_strings(p, m, mpath, "one of \"*\", PORTS or PROTO:PORTS",
				     sizeof(*g->ip), (void **)&g->ip, &g->n_ip, one_ip);
	}
	if (!strcmp(key, "via"))
		return rn_policy_parse_targets(p, m, RN_POLICY_ROLE_VIA, false, mpath, &g->via,
					       &g->n_via);
	if (!strcmp(key, "app")) {
		g->has_app = true;
		return parse_app(p, m, mpath);
	}
	if (!strcmp(key, "srcPosture")) {
		g->posture = true;
		ret = parse_strings(p, m, mpath, "one posture", 1, &unused, &n_unused, one_posture);
		free(unused);
		if (!ret)
			ret = rn_policy_notef(p->pol, rn_policy_val_off(p, m),
					      "%s is not enforced here (Rustynet keeps no device "
					      "posture), so this grant grants nothing",
					      mpath);
		return ret;
	}
	return rn_policy_fail(p, p->idx.pos[m.node].key,
			      "unknown key %s in %s; expected src, dst, ip, via, app or "
			      "srcPosture",
			      rn_policy_quote(key, q, sizeof(q)), path);
}

static int copy_targets(const struct rn_policy_target *from, size_t n, struct rn_policy_target **to,
			size_t *n_to)
{
	*to = calloc(n ? n : 1, sizeof(**to));
	if (!*to)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		(*to)[i] = from[i];
		(*to)[i].name = strdup(from[i].name);
		if (!(*to)[i].name)
			return -ENOMEM;
		(*n_to)++;
	}
	return 0;
}

/* The entry one "ip" entry of grant g makes: its protocol and ports on every destination. */
static int grant_entry(struct rn_policy_parser *p, const struct grant *g, const struct ip_entry *e,
		       const char *path, struct rn_policy_acl *a)
{
	int family, ret;

	a->ipproto = e->ipproto;
	if (!rn_policy_proto_filter(e->ipproto, &a->proto, &family)) {
		ret = rn_policy_notef(p->pol, g->off,
				      "%s: protocol %u is not enforced here (the filter tells "
				      "apart TCP, UDP and ICMP only): it grants nothing",
				      path, (unsigned)e->ipproto);
		if (ret)
			return ret;
	}
	ret = copy_targets(g->src, g->n_src, &a->src, &a->n_src);
	if (!ret)
		ret = copy_targets(g->via, g->n_via, &a->via, &a->n_via);
	if (ret)
		return ret;
	a->dst = calloc(g->n_dst, sizeof(*a->dst));
	if (!a->dst)
		return -ENOMEM;
	for (size_t i = 0; i < g->n_dst; i++) {
		struct rn_policy_dst *d = &a->dst[i];

		d->target = g->dst[i];
		d->target.name = strdup(g->dst[i].name);
		d->ports = malloc(e->d.n_ports * sizeof(*d->ports));
		a->n_dst++;
		if (!d->target.name || !d->ports)
			return -ENOMEM;
		memcpy(d->ports, e->d.ports, e->d.n_ports * sizeof(*d->ports));
		d->n_ports = e->d.n_ports;
	}
	return rn_policy_check_acl(p, path, a);
}

static void entry_free(struct rn_policy_acl *a)
{
	for (size_t i = 0; i < a->n_src; i++)
		free(a->src[i].name);
	for (size_t i = 0; i < a->n_via; i++)
		free(a->via[i].name);
	for (size_t i = 0; i < a->n_dst; i++) {
		free(a->dst[i].target.name);
		free(a->dst[i].ports);
	}
	free(a->src);
	free(a->via);
	free(a->dst);
}

/*
 * Appends the grant's entries, checked as acls entries are. A grant limited by a posture is
 * checked the same, then dropped: nothing here can check a posture, so it grants nothing.
 */
static int emit(struct rn_policy_parser *p, const struct grant *g, size_t index, const char *path)
{
	struct rn_policy *pol = p->pol;
	struct rn_policy_acl *acls;
	size_t first = pol->n_acls;
	int ret;

	for (size_t i = 0; i < g->n_ip; i++) {
		acls = reallocarray(pol->acls, pol->n_acls + 1, sizeof(*acls));
		if (!acls)
			return -ENOMEM;
		pol->acls = acls;
		acls[pol->n_acls] =
		    (struct rn_policy_acl){ .off = g->off, .section = "grants", .index = index };
		ret = grant_entry(p, g, &g->ip[i], path, &acls[pol->n_acls++]);
		if (ret)
			return ret;
	}
	while (g->posture && pol->n_acls > first)
		entry_free(&pol->acls[--pol->n_acls]);
	return 0;
}

static int parse_grant(struct rn_policy_parser *p, struct rn_policy_cursor c, size_t index)
{
	char path[RN_POLICY_PATH_LEN];
	struct grant g = { 0 };
	size_t child = c.node + 1;
	const char *key;
	json_t *v;
	int ret;

	rn_policy_pathf(path, sizeof(path), "grants[%zu]", index);
	ret = rn_policy_want(p, c, JSON_OBJECT, path);
	if (ret)
		return ret;
	g.off = rn_policy_val_off(p, c);
	json_object_foreach(c.v, key, v) {
		ret = rn_policy_next_child(p, c.node, &child);
		if (!ret)
			ret = grant_member(p, key, (struct rn_policy_cursor){ v, child }, path, &g);
		if (ret)
			goto out;
		child = p->idx.pos[child].next;
	}
	if (!g.n_src)
		ret =
		    rn_policy_fail(p, g.off, "%s has no \"src\": say who this grant is for", path);
	else if (!g.n_dst)
		ret = rn_policy_fail(p, g.off, "%s has no \"dst\": say what this grant reaches",
				     path);
	else if (!g.has_ip && !g.has_app)
		ret = rn_policy_fail(p, g.off,
				     "%s has neither \"ip\" nor \"app\": add \"ip\": [\"*\"] "
				     "or the ports it grants",
				     path);
	else
		ret = emit(p, &g, index, path);
out:
	grant_free(&g);
	return ret;
}

int rn_policy_parse_grants(struct rn_policy_parser *p, struct rn_policy_cursor c)
{
	size_t child = c.node + 1;
	int ret = rn_policy_want(p, c, JSON_ARRAY, "grants");

	if (ret)
		return ret;
	for (size_t i = 0; i < json_array_size(c.v); i++) {
		ret = rn_policy_next_child(p, c.node, &child);
		if (!ret)
			ret = parse_grant(
			    p, (struct rn_policy_cursor){ json_array_get(c.v, i), child }, i);
		if (ret)
			return ret;
		child = p->idx.pos[child].next;
	}
	return 0;
}
