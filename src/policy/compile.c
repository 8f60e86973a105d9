/* SPDX-License-Identifier: MIT */
/*
 * The policy compiler. Every query starts by resolving the policy's names against the world
 * once (struct ctx): which nodes each entry's sources, mesh destinations and via name, which
 * tags count, which LAN routes each node really forwards. The filter, the peer list, the exit
 * list and the LAN routes are then all read off the same sets, which is what keeps them in
 * agreement.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy/compile.h"
#include "policy/policy_priv.h"

struct prefixes {
	struct rn_filter_prefix *v;
	size_t n;
};

/* One acl entry resolved: node sets are bool arrays indexed like the world's nodes. */
struct acl_sets {
	bool *src;		 /* nodes its sources name (CIDR and host sources aside) */
	struct prefixes src_pfx; /* what a rule's src holds: those nodes' addresses, the CIDRs */
	bool **dst;		 /* per destination: the mesh nodes it names */
	bool *via;		 /* the routers it applies through; NULL: all */
};

struct ctx {
	const struct rn_policy *pol;
	const struct rn_policy_world *w;
	bool *tagged;	      /* per node: has a tag that counts */
	bool **tag_ok;	      /* per node, per tag: the tag counts */
	struct prefixes *lan; /* per node: advertised ∩ approved, default routes aside */
	struct acl_sets *acl; /* per acl entry */
};

static bool eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static bool sane(const struct rn_filter_prefix *p)
{
	return (p->family == AF_INET && p->len <= 32) || (p->family == AF_INET6 && p->len <= 128);
}

static void host_prefix(struct rn_filter_prefix *p, const struct rn_policy_node *n, bool v6)
{
	if (v6)
		rn_filter_prefix_make(p, AF_INET6, n->ip6, 128);
	else
		rn_filter_prefix_make(p, AF_INET, n->ip4, 32);
}

static bool prefix_has_node(const struct rn_filter_prefix *p, const struct rn_policy_node *n)
{
	return rn_filter_prefix_has(p, AF_INET, n->ip4) ||
	       rn_filter_prefix_has(p, AF_INET6, n->ip6);
}

/* Appends p unless present; the caller sized ps->v for every prefix it may add. */
static void add_unique(struct prefixes *ps, const struct rn_filter_prefix *p)
{
	for (size_t i = 0; i < ps->n; i++)
		if (rn_filter_prefix_equal(&ps->v[i], p))
			return;
	ps->v[ps->n++] = *p;
}

static bool exit_ok(const struct rn_policy_node *n)
{
	return n->advertises_exit && n->exit_approved;
}

/* ---- tags and groups ---- */

static bool in_group(const struct rn_policy *pol, size_t g, const char *user)
{
	if (g >= pol->n_groups)
		return false;
	for (size_t i = 0; i < pol->groups[g].n_items; i++)
		if (eq(pol->groups[g].items[i].name, user))
			return true;
	return false;
}

static bool has_tag(const struct rn_policy_node *n, const bool *ok, const char *tag)
{
	for (size_t j = 0; j < n->n_tags; j++)
		if (ok[j] && eq(n->tags[j], tag))
			return true;
	return false;
}

/* Whether user has the admin role in w (NULL: nobody has). */
static bool is_admin(const struct rn_policy_world *w, const char *user)
{
	for (size_t i = 0; w && user && i < w->n_admins; i++)
		if (eq(w->admins[i], user))
			return true;
	return false;
}

/* Whether an owner list (tagOwners, autoApprovers) names this node. w: for the admins. */
static bool owners_match(const struct rn_policy *pol, const struct rn_policy_world *w,
			 const struct rn_policy_node *n, const bool *ok, bool tagged,
			 const struct rn_policy_target *t, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (t[i].kind == RN_POLICY_TARGET_ADMIN && !tagged && is_admin(w, n->user))
			return true;
		if (t[i].kind == RN_POLICY_TARGET_NAME && !tagged && eq(t[i].name, n->user))
			return true;
		if (t[i].kind == RN_POLICY_TARGET_GROUP && !tagged &&
		    in_group(pol, t[i].index, n->user))
			return true;
		if (t[i].kind == RN_POLICY_TARGET_TAG && has_tag(n, ok, t[i].name))
			return true;
	}
	return false;
}

/*
 * ok[j]: node tag j counts, because tagOwners lists the node's owner (or a group of theirs, or
 * a tag of the node that counts) for it. Repeated until nothing changes, so tags owned by tags
 * work in any order; each round adds a tag or ends.
 */
static bool node_tags(const struct rn_policy *pol, const struct rn_policy_world *w,
		      const struct rn_policy_node *n, bool *ok)
{
	bool changed = true, tagged = false;

	memset(ok, 0, n->n_tags * sizeof(*ok));
	while (changed) {
		changed = false;
		for (size_t j = 0; j < n->n_tags; j++) {
			const struct rn_policy_list *l = NULL;

			for (size_t t = 0; !ok[j] && t < pol->n_tag_owners; t++)
				if (eq(pol->tag_owners[t].name, n->tags[j]))
					l = &pol->tag_owners[t];
			/* Owners are matched as for an untagged node: tagging is the owner's act.
			 */
			if (l && owners_match(pol, w, n, ok, false, l->items, l->n_items))
				ok[j] = changed = tagged = true;
		}
	}
	return tagged;
}

/* ---- resolving names to node sets ---- */

/* Whether any prefix of an address target (HOST, CIDR, IPSET) holds one of node n's addresses. */
static bool prefixes_have_node(const struct rn_policy *pol, const struct rn_policy_target *t,
			       const struct rn_policy_node *n)
{
	size_t np;
	const struct rn_filter_prefix *v = rn_policy_target_prefixes(pol, t, &np);

	for (size_t i = 0; i < np; i++)
		if (prefix_has_node(&v[i], n))
			return true;
	return false;
}

/* Whether any prefix of address target t holds addr. */
static bool prefixes_have(const struct rn_policy *pol, const struct rn_policy_target *t, int family,
			  const uint8_t *addr)
{
	size_t np;
	const struct rn_filter_prefix *v = rn_policy_target_prefixes(pol, t, &np);

	for (size_t i = 0; i < np; i++)
		if (rn_filter_prefix_has(&v[i], family, addr))
			return true;
	return false;
}

/* Whether target t names node m as a mesh node. user: t's name is a user's (NAME only). */
static bool names_node(const struct ctx *c, const struct rn_policy_target *t, bool user, size_t m)
{
	const struct rn_policy_node *n = &c->w->nodes[m];

	switch (t->kind) {
	case RN_POLICY_TARGET_ANY:
		return true;
	case RN_POLICY_TARGET_NAME:
		return user ? !c->tagged[m] && eq(n->user, t->name) : eq(n->name, t->name);
	case RN_POLICY_TARGET_GROUP:
		return !c->tagged[m] && in_group(c->pol, t->index, n->user);
	case RN_POLICY_TARGET_TAG:
		return has_tag(n, c->tag_ok[m], t->name);
	case RN_POLICY_TARGET_HOST:
	case RN_POLICY_TARGET_CIDR:
	case RN_POLICY_TARGET_IPSET:
		return prefixes_have_node(c->pol, t, n);
	case RN_POLICY_TARGET_MEMBER:
	case RN_POLICY_TARGET_SELF: /* narrowed to the receiver's own per rule: self_src() */
		return !c->tagged[m];
	case RN_POLICY_TARGET_TAGGED:
		return c->tagged[m];
	case RN_POLICY_TARGET_DANGER_ALL:
		return true;
	case RN_POLICY_TARGET_ADMIN:
		return !c->tagged[m] && is_admin(c->w, n->user);
	default:
		return false;
	}
}

/* Adds to set the nodes t names. via: names are node names, never users. */
static void resolve(const struct ctx *c, const struct rn_policy_target *t, bool via, bool *set)
{
	bool user = !via && t->kind == RN_POLICY_TARGET_NAME && rn_policy_user_find(c->w, t->name);

	for (size_t m = 0; m < c->w->n_nodes; m++)
		set[m] = set[m] || names_node(c, t, user, m);
}

/* An address target: a CIDR, a host or an ipset (rn_policy_target_prefixes). */
static bool is_cidr(const struct rn_policy_target *t)
{
	return t->kind == RN_POLICY_TARGET_CIDR || t->kind == RN_POLICY_TARGET_HOST ||
	       t->kind == RN_POLICY_TARGET_IPSET;
}

/* How many prefixes target t stands for (1 for a node list or nothing: room to compute in). */
static size_t n_prefixes(const struct ctx *c, const struct rn_policy_target *t)
{
	size_t n;

	rn_policy_target_prefixes(c->pol, t, &n);
	return n ? n : 1;
}

/*
 * The rule's source addresses. "*" is every address a peer may send from (the tunnel admits a
 * peer's packets only from its allowed IPs), so 0.0.0.0/0 and ::/0 rather than a list that
 * grows with the network. Node lists are aggregated: addresses are handed out in sequence.
 */
static int resolve_src(const struct ctx *c, const struct rn_policy_acl *a, struct acl_sets *s)
{
	static const uint8_t zero[16];
	size_t nn = c->w->n_nodes;
	bool any = false;

	for (size_t i = 0; i < a->n_src; i++) {
		any = any || a->src[i].kind == RN_POLICY_TARGET_ANY ||
		      a->src[i].kind == RN_POLICY_TARGET_DANGER_ALL;
		if (!is_cidr(&a->src[i]))
			resolve(c, &a->src[i], false, s->src);
	}
	size_t room = 2 * nn + 2;

	for (size_t i = 0; i < a->n_src; i++)
		room += n_prefixes(c, &a->src[i]);
	s->src_pfx.v = calloc(room, sizeof(*s->src_pfx.v));
	if (!s->src_pfx.v)
		return -ENOMEM;
	if (any) {
		rn_filter_prefix_make(&s->src_pfx.v[s->src_pfx.n++], AF_INET, zero, 0);
		rn_filter_prefix_make(&s->src_pfx.v[s->src_pfx.n++], AF_INET6, zero, 0);
		return 0;
	}
	for (size_t m = 0; m < nn; m++) {
		if (!s->src[m])
			continue;
		host_prefix(&s->src_pfx.v[s->src_pfx.n++], &c->w->nodes[m], false);
		host_prefix(&s->src_pfx.v[s->src_pfx.n++], &c->w->nodes[m], true);
	}
	for (size_t i = 0; i < a->n_src; i++) {
		size_t np;
		const struct rn_filter_prefix *v =
		    rn_policy_target_prefixes(c->pol, &a->src[i], &np);

		for (size_t k = 0; k < np; k++)
			s->src_pfx.v[s->src_pfx.n++] = v[k];
	}
	s->src_pfx.n = rn_filter_prefixes_aggregate(s->src_pfx.v, s->src_pfx.n);
	return 0;
}

static int resolve_acl(const struct ctx *c, const struct rn_policy_acl *a, struct acl_sets *s)
{
	size_t nn = c->w->n_nodes ? c->w->n_nodes : 1;

	s->src = calloc(nn, sizeof(bool));
	s->dst = calloc(a->n_dst ? a->n_dst : 1, sizeof(*s->dst));
	s->via = a->n_via ? calloc(nn, sizeof(bool)) : NULL;
	if (!s->src || !s->dst || (a->n_via && !s->via))
		return -ENOMEM;
	for (size_t i = 0; i < a->n_via; i++)
		resolve(c, &a->via[i], true, s->via);
	for (size_t i = 0; i < a->n_dst; i++) {
		s->dst[i] = calloc(nn, sizeof(bool));
		if (!s->dst[i])
			return -ENOMEM;
		resolve(c, &a->dst[i].target, false, s->dst[i]);
	}
	return resolve_src(c, a, s);
}

/* The addresses both advertised and approved, as prefixes; default routes never count. */
static int node_lan(const struct rn_policy_node *n, struct prefixes *lan)
{
	size_t cap = n->n_advertised * n->n_approved;

	if (n->n_approved && cap / n->n_approved != n->n_advertised)
		return -ENOMEM;
	lan->v = calloc(cap ? cap : 1, sizeof(*lan->v));
	if (!lan->v)
		return -ENOMEM;
	for (size_t i = 0; i < n->n_advertised; i++) {
		const struct rn_filter_prefix *adv = &n->advertised[i];

		if (!sane(adv) || adv->len == 0)
			continue; /* exit capability is advertises_exit, never a /0 route */
		for (size_t j = 0; j < n->n_approved; j++) {
			struct rn_filter_prefix both;

			if (sane(&n->approved[j]) && n->approved[j].len &&
			    rn_filter_prefix_intersect(adv, &n->approved[j], &both))
				add_unique(lan, &both);
		}
	}
	return 0;
}

static void ctx_free(struct ctx *c)
{
	size_t nn = c->w->n_nodes;

	for (size_t m = 0; m < nn && c->tag_ok; m++)
		free(c->tag_ok[m]);
	for (size_t m = 0; m < nn && c->lan; m++)
		free(c->lan[m].v);
	for (size_t i = 0; i < c->pol->n_acls && c->acl; i++) {
		struct acl_sets *s = &c->acl[i];

		for (size_t j = 0; j < c->pol->acls[i].n_dst && s->dst; j++)
			free(s->dst[j]);
		free(s->dst);
		free(s->src);
		free(s->src_pfx.v);
		free(s->via);
	}
	free(c->acl);
	free(c->lan);
	free(c->tag_ok);
	free(c->tagged);
}

static int ctx_init(struct ctx *c, const struct rn_policy *pol, const struct rn_policy_world *w)
{
	size_t nn = w->n_nodes ? w->n_nodes : 1;
	int ret = -ENOMEM;

	*c = (struct ctx){ .pol = pol, .w = w };
	c->tagged = calloc(nn, sizeof(*c->tagged));
	c->tag_ok = calloc(nn, sizeof(*c->tag_ok));
	c->lan = calloc(nn, sizeof(*c->lan));
	c->acl = calloc(pol->n_acls ? pol->n_acls : 1, sizeof(*c->acl));
	if (!c->tagged || !c->tag_ok || !c->lan || !c->acl)
		goto fail;
	for (size_t m = 0; m < w->n_nodes; m++) {
		const struct rn_policy_node *n = &w->nodes[m];

		c->tag_ok[m] = calloc(n->n_tags ? n->n_tags : 1, sizeof(bool));
		if (!c->tag_ok[m] || node_lan(n, &c->lan[m]))
			goto fail;
		c->tagged[m] = node_tags(pol, w, n, c->tag_ok[m]);
	}
	for (size_t i = 0; i < pol->n_acls; i++) {
		ret = resolve_acl(c, &pol->acls[i], &c->acl[i]);
		if (ret)
			goto fail;
	}
	return 0;
fail:
	ctx_free(c);
	return ret;
}

int rn_policy_named_nodes(const struct rn_policy *pol, const struct rn_policy_world *w,
			  const struct rn_policy_target *t, bool *set)
{
	struct ctx c;
	int ret = ctx_init(&c, pol, w);

	if (ret)
		return ret;
	resolve(&c, t, false, set);
	ctx_free(&c);
	return 0;
}

static int node_index(const struct rn_policy_world *w, uint64_t id, size_t *m)
{
	const struct rn_policy_node *n = rn_policy_node_by_id(w, id);

	if (!n)
		return -ENOENT;
	*m = (size_t)(n - w->nodes);
	return 0;
}

/* ---- what one entry grants at one node ---- */

/* The address family entry ai is limited to (0: both); false if it grants nothing at all. */
static bool live(const struct ctx *c, size_t ai, int *family)
{
	enum rn_filter_proto proto;
	int fam;

	return rn_policy_proto_filter(c->pol->acls[ai].ipproto, &proto, family ? family : &fam);
}

static bool via_ok(const struct acl_sets *s, size_t m)
{
	return !s->via || s->via[m];
}

/* MESH destinations: node m's own addresses that destination d names. */
static size_t mesh_dst(const struct ctx *c, size_t ai, size_t di, size_t m,
		       struct rn_filter_prefix out[2])
{
	const struct rn_policy_acl *a = &c->pol->acls[ai];
	const struct rn_policy_target *t = &a->dst[di].target;
	const struct rn_policy_node *n = &c->w->nodes[m];
	size_t k = 0;

	if (a->n_via || !c->acl[ai].dst[di][m] || !live(c, ai, NULL))
		return 0; /* via entries grant routed traffic only */
	for (int v6 = 0; v6 < 2; v6++) {
		host_prefix(&out[k], n, v6);
		if (!is_cidr(t) || prefixes_have(c->pol, t, out[k].family, out[k].addr))
			k++;
	}
	return k;
}

/* Room for subnet_dst's out: each of the target's prefixes within each of m's LAN routes. */
static size_t subnet_room(const struct ctx *c, size_t ai, size_t di, size_t m)
{
	return c->lan[m].n * n_prefixes(c, &c->pol->acls[ai].dst[di].target) + 2;
}

/*
 * SUBNET destinations: destination d's CIDRs within node m's LAN routes, into out (room for
 * subnet_room); with out NULL, only whether there is one.
 */
static size_t subnet_dst(const struct ctx *c, size_t ai, size_t di, size_t m,
			 struct rn_filter_prefix *out)
{
	const struct rn_policy_target *t = &c->pol->acls[ai].dst[di].target;
	struct prefixes hits = { out, 0 };
	const struct rn_filter_prefix *v;
	size_t np;

	if (!is_cidr(t) || !via_ok(&c->acl[ai], m) || !live(c, ai, NULL))
		return 0;
	v = rn_policy_target_prefixes(c->pol, t, &np);
	for (size_t k = 0; k < np; k++) {
		for (size_t i = 0; i < c->lan[m].n; i++) {
			struct rn_filter_prefix p;

			if (!rn_filter_prefix_intersect(&v[k], &c->lan[m].v[i], &p))
				continue;
			if (!out)
				return 1;
			add_unique(&hits, &p);
		}
	}
	return hits.n;
}

static bool exit_dst(const struct ctx *c, size_t ai, size_t di, size_t m)
{
	return c->pol->acls[ai].dst[di].target.kind == RN_POLICY_TARGET_INTERNET &&
	       exit_ok(&c->w->nodes[m]) && via_ok(&c->acl[ai], m) && live(c, ai, NULL);
}

/* Whether node s counts as a source of an autogroup:self grant at node d: d's user's own. */
static bool same_owner(const struct ctx *c, size_t s, size_t d)
{
	return !c->tagged[s] && !c->tagged[d] && eq(c->w->nodes[s].user, c->w->nodes[d].user);
}

/* Whether entry ai lets node from (SIZE_MAX: whoever it admits) reach node m, in any context. */
static bool reaches(const struct ctx *c, size_t ai, size_t from, size_t m)
{
	struct rn_filter_prefix two[2];

	for (size_t di = 0; di < c->pol->acls[ai].n_dst; di++) {
		bool self = c->pol->acls[ai].dst[di].target.kind == RN_POLICY_TARGET_SELF;

		if (mesh_dst(c, ai, di, m, two) &&
		    (!self || from == SIZE_MAX || same_owner(c, from, m)))
			return true;
		if (subnet_dst(c, ai, di, m, NULL) || exit_dst(c, ai, di, m))
			return true;
	}
	return false;
}

/* Whether entry ai's sources hold node m's own addresses (what its packets come from). */
static bool src_has(const struct ctx *c, size_t ai, size_t m)
{
	const struct rn_policy_acl *a = &c->pol->acls[ai];

	if (!live(c, ai, NULL))
		return false;
	if (c->acl[ai].src[m])
		return true;
	for (size_t i = 0; i < a->n_src; i++)
		if (is_cidr(&a->src[i]) && prefixes_have_node(c->pol, &a->src[i], &c->w->nodes[m]))
			return true;
	return false;
}

/* Whether entry ai's CIDR sources reach into node m's LAN (m forwards their packets). */
static bool src_behind(const struct ctx *c, size_t ai, size_t m)
{
	const struct rn_policy_acl *a = &c->pol->acls[ai];
	struct rn_filter_prefix p;

	if (!live(c, ai, NULL))
		return false;
	for (size_t i = 0; i < a->n_src; i++)
		if (a->src[i].kind == RN_POLICY_TARGET_DANGER_ALL && c->lan[m].n)
			return true; /* any address, so any behind m too */
	for (size_t i = 0; i < a->n_src; i++) {
		size_t np;
		const struct rn_filter_prefix *v =
		    rn_policy_target_prefixes(c->pol, &a->src[i], &np);

		for (size_t k = 0; k < np; k++)
			for (size_t j = 0; j < c->lan[m].n; j++)
				if (rn_filter_prefix_intersect(&v[k], &c->lan[m].v[j], &p))
					return true;
	}
	return false;
}

/* ---- the filter ---- */

/* Adds a rule for entry ai, destination di; takes dst (malloc'd) whatever happens. */
static int add_rule(struct rn_filter *f, const struct ctx *c, size_t ai, size_t di,
		    enum rn_filter_context context, const struct prefixes *src,
		    struct rn_filter_prefix *dst, size_t n_dst)
{
	const struct rn_policy_dst *d = &c->pol->acls[ai].dst[di];
	struct rn_filter_rule *rules, *r;
	int family = 0;
	size_t k = 0;

	live(c, ai, &family);
	for (size_t i = 0; i < n_dst; i++)
		if (!family || dst[i].family == family)
			dst[k++] = dst[i];
	n_dst = k;
	if (!src->n || !n_dst) {
		free(dst);
		return 0; /* nobody to admit */
	}
	rules = reallocarray(f->rules, f->n_rules + 1, sizeof(*rules));
	if (!rules) {
		free(dst);
		return -ENOMEM;
	}
	f->rules = rules;
	r = &rules[f->n_rules++];
	*r = (struct rn_filter_rule){
		.context = context, .proto = c->pol->acls[ai].proto, .dst = dst, .n_dst = n_dst
	};
	r->src = malloc(src->n * sizeof(*r->src));
	r->ports = malloc(d->n_ports * sizeof(*r->ports));
	if (!r->src || !r->ports)
		return -ENOMEM; /* the caller frees the filter, this rule too */
	for (size_t i = 0; i < src->n; i++)
		if (!family || src->v[i].family == family)
			r->src[r->n_src++] = src->v[i];
	if (!r->n_src) { /* no source of the one family the protocol has */
		free(r->src);
		free(r->dst);
		free(r->ports);
		f->n_rules--;
		return 0;
	}
	memcpy(r->ports, d->ports, d->n_ports * sizeof(*r->ports));
	r->n_ports = d->n_ports;
	return 0;
}

/*
 * autogroup:self at node m admits only the entry's sources that are m's user's own untagged
 * nodes: a rule of its own per receiving node. Its sources are users and groups, no CIDRs.
 */
static int self_src(const struct ctx *c, size_t ai, size_t m, struct prefixes *out)
{
	out->n = 0;
	out->v = calloc(2 * c->w->n_nodes + 1, sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	for (size_t s = 0; s < c->w->n_nodes; s++) {
		if (!c->acl[ai].src[s] || !same_owner(c, s, m))
			continue;
		host_prefix(&out->v[out->n++], &c->w->nodes[s], false);
		host_prefix(&out->v[out->n++], &c->w->nodes[s], true);
	}
	out->n = rn_filter_prefixes_aggregate(out->v, out->n);
	return 0;
}

/* The rules one destination of one entry gives node m: one per context it reaches m in. */
static int compile_entry(struct rn_filter *f, const struct ctx *c, size_t ai, size_t di, size_t m)
{
	static const uint8_t any[16];
	const struct prefixes *src = &c->acl[ai].src_pfx;
	struct prefixes self = { 0 };
	struct rn_filter_prefix *dst;
	size_t n;
	int ret = 0;

	if (c->pol->acls[ai].dst[di].target.kind == RN_POLICY_TARGET_SELF) {
		ret = self_src(c, ai, m, &self);
		if (ret)
			return ret;
		src = &self;
	}
	for (int context = RN_FILTER_MESH; context <= RN_FILTER_EXIT; context++) {
		dst = calloc(subnet_room(c, ai, di, m), sizeof(*dst));
		if (!dst) {
			ret = -ENOMEM;
			break;
		}
		if (context == RN_FILTER_MESH) {
			n = mesh_dst(c, ai, di, m, dst);
		} else if (context == RN_FILTER_SUBNET) {
			n = subnet_dst(c, ai, di, m, dst);
		} else {
			n = exit_dst(c, ai, di, m) ? 2 : 0;
			rn_filter_prefix_make(&dst[0], AF_INET, any, 0);
			rn_filter_prefix_make(&dst[1], AF_INET6, any, 0);
		}
		if (!n) {
			free(dst);
			continue;
		}
		ret = add_rule(f, c, ai, di, (enum rn_filter_context)context, src, dst, n);
		if (ret)
			break;
	}
	free(self.v);
	return ret;
}

int rn_policy_compile_filter(const struct rn_policy *pol, const struct rn_policy_world *w,
			     uint64_t node_id, struct rn_filter *out)
{
	struct ctx c;
	size_t m;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = node_index(w, node_id, &m);
	if (ret)
		return ret;
	ret = ctx_init(&c, pol, w);
	if (ret)
		return ret;
	host_prefix(&out->self[0], &w->nodes[m], false);
	host_prefix(&out->self[1], &w->nodes[m], true);
	out->n_self = 2;
	out->exit = exit_ok(&w->nodes[m]);
	for (size_t ai = 0; !ret && ai < pol->n_acls; ai++)
		for (size_t di = 0; !ret && di < pol->acls[ai].n_dst; di++)
			ret = compile_entry(out, &c, ai, di, m);
	out->routes = c.lan[m].v; /* taken over from the context */
	out->n_routes = c.lan[m].n;
	c.lan[m] = (struct prefixes){ 0 };
	ctx_free(&c);
	if (ret)
		rn_filter_free(out);
	return ret;
}

/* ---- what the client's netmap carries ---- */

int rn_policy_visible_peers(const struct rn_policy *pol, const struct rn_policy_world *w,
			    uint64_t node_id, uint64_t *out, size_t *n)
{
	struct ctx c;
	size_t me;
	int ret;

	*n = 0;
	ret = node_index(w, node_id, &me);
	if (!ret)
		ret = ctx_init(&c, pol, w);
	if (ret)
		return ret;
	for (size_t p = 0; p < w->n_nodes; p++) {
		bool seen = false;

		for (size_t ai = 0; p != me && !seen && ai < pol->n_acls; ai++)
			seen = ((src_has(&c, ai, p) || src_behind(&c, ai, p)) &&
				reaches(&c, ai, p, me)) ||
			       ((src_has(&c, ai, me) || src_behind(&c, ai, me)) &&
				reaches(&c, ai, me, p));
		if (seen)
			out[(*n)++] = w->nodes[p].id;
	}
	ctx_free(&c);
	return 0;
}

static bool grants_internet(const struct rn_policy_acl *a)
{
	for (size_t di = 0; di < a->n_dst; di++)
		if (a->dst[di].target.kind == RN_POLICY_TARGET_INTERNET)
			return true;
	return false;
}

int rn_policy_exit_nodes_for(const struct rn_policy *pol, const struct rn_policy_world *w,
			     uint64_t client_id, uint64_t *out, size_t *n)
{
	struct ctx c;
	size_t me;
	int ret;

	*n = 0;
	ret = node_index(w, client_id, &me);
	if (!ret)
		ret = ctx_init(&c, pol, w);
	if (ret)
		return ret;
	for (size_t e = 0; e < w->n_nodes; e++) {
		bool ok = false;

		for (size_t ai = 0; e != me && exit_ok(&w->nodes[e]) && !ok && ai < pol->n_acls;
		     ai++)
			ok = grants_internet(&pol->acls[ai]) && src_has(&c, ai, me) &&
			     via_ok(&c.acl[ai], e);
		if (ok)
			out[(*n)++] = w->nodes[e].id;
	}
	ctx_free(&c);
	return 0;
}

/* Appends router r's share of entry ai's CIDR grants to out. */
static int add_routes(const struct ctx *c, size_t ai, size_t r, size_t first,
		      struct rn_policy_routes *out)
{
	struct rn_filter_prefix *hits;
	size_t room = 0;

	for (size_t di = 0; di < c->pol->acls[ai].n_dst; di++)
		if (subnet_room(c, ai, di, r) > room)
			room = subnet_room(c, ai, di, r);
	hits = calloc(room ? room : 1, sizeof(*hits));
	if (!hits)
		return -ENOMEM;
	for (size_t di = 0; di < c->pol->acls[ai].n_dst; di++) {
		size_t n = subnet_dst(c, ai, di, r, hits);

		for (size_t i = 0; i < n; i++) {
			struct rn_policy_route *v;
			size_t j = first;

			while (j < out->n && !rn_filter_prefix_equal(&out->v[j].prefix, &hits[i]))
				j++;
			if (j < out->n)
				continue; /* this router already has it */
			v = reallocarray(out->v, out->n + 1, sizeof(*v));
			if (!v) {
				free(hits);
				return -ENOMEM;
			}
			out->v = v;
			out->v[out->n++] = (struct rn_policy_route){ c->w->nodes[r].id, hits[i] };
		}
	}
	free(hits);
	return 0;
}

int rn_policy_lan_routes_for(const struct rn_policy *pol, const struct rn_policy_world *w,
			     uint64_t client_id, struct rn_policy_routes *out)
{
	struct ctx c;
	size_t me;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = node_index(w, client_id, &me);
	if (!ret)
		ret = ctx_init(&c, pol, w);
	if (ret)
		return ret;
	for (size_t r = 0; !ret && r < w->n_nodes; r++) {
		size_t first = out->n;

		for (size_t ai = 0; r != me && !ret && ai < pol->n_acls; ai++)
			if (c.lan[r].n && src_has(&c, ai, me))
				ret = add_routes(&c, ai, r, first, out);
	}
	ctx_free(&c);
	if (ret)
		rn_policy_routes_free(out);
	return ret;
}

void rn_policy_routes_free(struct rn_policy_routes *r)
{
	if (!r)
		return;
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* ---- autoApprovers ---- */

/*
 * Whether "routes" approves node's default route of family: an exit offer is both default
 * routes, so Tailscale's other spelling of exitNode is both keys naming the node.
 */
static bool default_route_ok(const struct rn_policy *pol, const struct rn_policy_node *node,
			     const bool *ok, bool tagged, int family)
{
	for (size_t j = 0; j < pol->n_route_approvers; j++) {
		const struct rn_policy_list *l = &pol->route_approvers[j];

		if (l->prefix.family == family && l->prefix.len == 0 &&
		    owners_match(pol, NULL, node, ok, tagged, l->items, l->n_items))
			return true;
	}
	return false;
}

int rn_policy_auto_approve(const struct rn_policy *pol, const struct rn_policy_node *node,
			   bool *route_ok, bool *exit_ok_out)
{
	bool *ok = calloc(node->n_tags ? node->n_tags : 1, sizeof(*ok));
	bool tagged;

	if (!ok)
		return -ENOMEM;
	tagged = node_tags(pol, NULL, node, ok);
	for (size_t i = 0; i < node->n_advertised; i++) {
		const struct rn_filter_prefix *adv = &node->advertised[i];

		route_ok[i] = false;
		for (size_t j = 0;
		     sane(adv) && adv->len && !route_ok[i] && j < pol->n_route_approvers; j++) {
			const struct rn_policy_list *l = &pol->route_approvers[j];

			route_ok[i] =
			    l->prefix.len <= adv->len &&
			    rn_filter_prefix_has(&l->prefix, adv->family, adv->addr) &&
			    owners_match(pol, NULL, node, ok, tagged, l->items, l->n_items);
		}
	}
	*exit_ok_out = node->advertises_exit &&
		       (owners_match(pol, NULL, node, ok, tagged, pol->exit_approvers.items,
				     pol->exit_approvers.n_items) ||
			(default_route_ok(pol, node, ok, tagged, AF_INET) &&
			 default_route_ok(pol, node, ok, tagged, AF_INET6)));
	free(ok);
	return 0;
}
