/* SPDX-License-Identifier: MIT */
/*
 * "ipsets", as in Tailscale: named sets of addresses, each a list of operations done in order,
 * "add TARGET" and "remove TARGET" (a bare TARGET adds, allowed only in a set without removes),
 * a TARGET an address, a CIDR, a host or another ipset ("ipset:x", in any order, never in a
 * cycle), or autogroup:internet. Each set is resolved here, once, to disjoint prefixes in two
 * parts: the addresses (which the compiler treats as CIDRs) and what is left of
 * autogroup:internet (which it grants through exit nodes, as autogroup:internet itself). A
 * remove takes from both, splitting a prefix that holds the removed one into the halves beside
 * it; the parts never mix, so removing from the internet part cannot grant a LAN.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>

#include "policy/parser.h"
#include "policy/policy.h"
#include "policy/policy_priv.h"

/*
 * A set can grow by one prefix per bit a remove splits: bounded, so no policy makes it huge.
 * Sets naming sets are resolved by recursion: bounded too, so no chain exhausts the stack.
 */
enum { IPSET_MAX_PREFIXES = 4096, IPSET_MAX_DEPTH = 32 };

struct ipset_parse {
	struct rn_policy_parser *p;
	struct rn_policy_cursor *ops; /* each set's value, by index */
	int depth;		      /* sets being resolved, one inside the other */
};

long rn_policy_ipset_find(const struct rn_policy *pol, const char *name)
{
	for (size_t i = 0; i < pol->n_ipsets; i++)
		if (pol->ipsets[i].name && !strcmp(pol->ipsets[i].name, name))
			return (long)i;
	return -1;
}

const struct rn_filter_prefix *
rn_policy_target_prefixes(const struct rn_policy *pol, const struct rn_policy_target *t, size_t *n)
{
	if (t->kind == RN_POLICY_TARGET_HOST || t->kind == RN_POLICY_TARGET_CIDR) {
		*n = 1;
		return &t->prefix;
	}
	if (t->kind == RN_POLICY_TARGET_IPSET && t->index < pol->n_ipsets) {
		*n = pol->ipsets[t->index].addrs.n;
		return pol->ipsets[t->index].addrs.v;
	}
	*n = 0;
	return NULL;
}

static const struct rn_filter_prefix everywhere[2] = { { .family = AF_INET },
						       { .family = AF_INET6 } };

const struct rn_filter_prefix *
rn_policy_target_internet(const struct rn_policy *pol, const struct rn_policy_target *t, size_t *n)
{
	if (t->kind == RN_POLICY_TARGET_INTERNET) {
		*n = 2;
		return everywhere;
	}
	if (t->kind == RN_POLICY_TARGET_IPSET && t->index < pol->n_ipsets) {
		*n = pol->ipsets[t->index].internet.n;
		return pol->ipsets[t->index].internet.v;
	}
	*n = 0;
	return NULL;
}

void rn_policy_ipsets_free(struct rn_policy *pol)
{
	for (size_t i = 0; i < pol->n_ipsets; i++) {
		free(pol->ipsets[i].name);
		free(pol->ipsets[i].addrs.v);
		free(pol->ipsets[i].internet.v);
	}
	free(pol->ipsets);
	pol->ipsets = NULL;
	pol->n_ipsets = 0;
}

/* ---- prefix set arithmetic ---- */

static bool holds(const struct rn_filter_prefix *outer, const struct rn_filter_prefix *inner)
{
	return outer->len <= inner->len && rn_filter_prefix_has(outer, inner->family, inner->addr);
}

static int push(struct rn_policy_prefixes *s, const struct rn_filter_prefix *x)
{
	struct rn_filter_prefix *v;

	if (s->n == IPSET_MAX_PREFIXES)
		return -E2BIG;
	v = reallocarray(s->v, s->n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->v = v;
	s->v[s->n++] = *x;
	return 0;
}

static int set_add(struct rn_policy_prefixes *s, const struct rn_filter_prefix *x)
{
	size_t k = 0;

	for (size_t i = 0; i < s->n; i++)
		if (holds(&s->v[i], x))
			return 0;
	for (size_t i = 0; i < s->n; i++)
		if (!holds(x, &s->v[i]))
			s->v[k++] = s->v[i];
	s->n = k;
	return push(s, x);
}

/* What is left of p once x (inside it, longer) is taken out: the sibling at every level. */
static int split_around(struct rn_policy_prefixes *s, const struct rn_filter_prefix *p,
			const struct rn_filter_prefix *x)
{
	for (unsigned bit = p->len; bit < x->len; bit++) {
		struct rn_filter_prefix side;
		uint8_t addr[16];
		int ret;

		memcpy(addr, x->addr, sizeof(addr));
		addr[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
		rn_filter_prefix_make(&side, x->family, addr, bit + 1);
		ret = push(s, &side);
		if (ret)
			return ret;
	}
	return 0;
}

static int set_remove(struct rn_policy_prefixes *s, const struct rn_filter_prefix *x)
{
	struct rn_policy_prefixes out = { 0 };
	int ret = 0;

	for (size_t i = 0; !ret && i < s->n; i++) {
		if (holds(x, &s->v[i]))
			continue; /* all of it goes */
		if (holds(&s->v[i], x))
			ret = split_around(&out, &s->v[i], x);
		else
			ret = push(&out, &s->v[i]); /* disjoint: prefixes nest or do not meet */
	}
	if (ret) {
		free(out.v);
		return ret;
	}
	free(s->v);
	s->v = out.v;
	s->n = out.n;
	return 0;
}

/* ---- parsing ---- */

static int resolve(struct ipset_parse *ip, size_t i);

/*
 * x added to or taken from the part to; an address removed (to is addrs) leaves the internet
 * part too, while what is taken of autogroup:internet never takes addresses with it.
 */
static int change(struct rn_policy_ipset *s, struct rn_policy_prefixes *to, bool add,
		  const struct rn_filter_prefix *x)
{
	int ret;

	if (add)
		return set_add(to, x);
	ret = set_remove(to, x);
	return ret || to == &s->internet ? ret : set_remove(&s->internet, x);
}

/* Each of n prefixes of v (a copy: the set being built may be the one a realloc moves). */
static int change_all(struct rn_policy_ipset *s, struct rn_policy_prefixes *to, bool add,
		      const struct rn_filter_prefix *v, size_t n)
{
	int ret = 0;

	for (size_t k = 0; !ret && k < n; k++) {
		struct rn_filter_prefix x = v[k];

		ret = change(s, to, add, &x);
	}
	return ret;
}

/* One operation's target into set s: another ipset, autogroup:internet, an address or host. */
static int apply(struct ipset_parse *ip, struct rn_policy_ipset *s, bool add, const char *target,
		 size_t off, const char *path)
{
	struct rn_policy_parser *p = ip->p;
	struct rn_policy_target t = { 0 };
	char q[RN_POLICY_QUOTE_LEN];
	int ret;

	if (rn_policy_has_prefix(target, "ipset:")) {
		long j = rn_policy_ipset_find(p->pol, target);
		struct rn_policy_ipset *o;

		if (j < 0)
			return rn_policy_fail(p, off, "unknown ipset %s in %s: define it in ipsets",
					      rn_policy_quote(target, q, sizeof(q)), path);
		if (p->pol->ipsets[j].state == 1)
			return rn_policy_fail(p, off,
					      "%s in %s refers back to a set being defined: "
					      "ipsets cannot refer to each other in a circle",
					      rn_policy_quote(target, q, sizeof(q)), path);
		if (ip->depth == IPSET_MAX_DEPTH)
			return rn_policy_fail(p, off, "%s in %s: ipsets nest at most %d deep",
					      rn_policy_quote(target, q, sizeof(q)), path,
					      IPSET_MAX_DEPTH);
		ip->depth++;
		ret = resolve(ip, (size_t)j);
		ip->depth--;
		if (ret)
			return ret;
		o = &p->pol->ipsets[j];
		ret = change_all(s, &s->addrs, add, o->addrs.v, o->addrs.n);
		if (!ret)
			ret = change_all(s, &s->internet, add, o->internet.v, o->internet.n);
	} else if (!strcmp(target, "autogroup:internet")) {
		ret = change_all(s, &s->internet, add, everywhere, 2);
	} else {
		ret = rn_policy_parse_target(p, target, off, RN_POLICY_ROLE_IPSET, path, &t);
		free(t.name);
		if (ret)
			return ret;
		ret = change(s, &s->addrs, add, &t.prefix);
	}
	if (ret == -E2BIG)
		return rn_policy_fail(p, off,
				      "%s grows past %d prefixes at %s; remove fewer single "
				      "addresses from large ranges",
				      s->name, IPSET_MAX_PREFIXES, path);
	return ret;
}

/* Whether any operation of the set is a remove: then each must name its operation. */
static bool has_removes(json_t *ops)
{
	size_t i;
	json_t *v;

	json_array_foreach(ops, i, v)
		if (json_is_string(v) && rn_policy_has_prefix(json_string_value(v), "remove "))
			return true;
	return false;
}

static int resolve(struct ipset_parse *ip, size_t i)
{
	struct rn_policy_parser *p = ip->p;
	struct rn_policy_ipset *s = &p->pol->ipsets[i];
	struct rn_policy_cursor c = ip->ops[i];
	char path[RN_POLICY_PATH_LEN], q[RN_POLICY_QUOTE_LEN];
	size_t child = c.node + 1;
	bool removes;
	int ret;

	if (s->state == 2)
		return 0;
	s->state = 1;
	rn_policy_pathf(path, sizeof(path), "ipsets[%s]", rn_policy_quote(s->name, q, sizeof(q)));
	ret = rn_policy_want(p, c, JSON_ARRAY, path);
	if (ret)
		return ret;
	if (!json_array_size(c.v))
		return rn_policy_fail(
		    p, rn_policy_val_off(p, c),
		    "%s is empty; list at least one operation (\"add 10.0.0.0/8\")", path);
	removes = has_removes(c.v);
	for (size_t k = 0; k < json_array_size(c.v); k++) {
		struct rn_policy_cursor e = { json_array_get(c.v, k), child };
		char epath[RN_POLICY_PATH_LEN];
		const char *op, *target;
		size_t off;
		bool add = true;

		ret = rn_policy_next_child(p, c.node, &child);
		if (ret)
			return ret;
		rn_policy_pathf(epath, sizeof(epath), "%s[%zu]", path, k);
		ret = rn_policy_want(p, e, JSON_STRING, epath);
		if (ret)
			return ret;
		op = json_string_value(e.v);
		off = rn_policy_val_off(p, e);
		if (rn_policy_has_prefix(op, "add ")) {
			target = op + 4;
		} else if (rn_policy_has_prefix(op, "remove ")) {
			target = op + 7;
			add = false;
		} else if (!removes && !strchr(op, ' ')) {
			target = op;
		} else {
			return rn_policy_fail(
			    p, off,
			    "bad operation %s in %s: write \"add TARGET\" or \"remove TARGET\" (a "
			    "bare TARGET only in a set with no remove)",
			    rn_policy_quote(op, q, sizeof(q)), epath);
		}
		target += strspn(target, " ");
		ret = apply(ip, s, add, target, off, epath);
		if (ret)
			return ret;
		child = p->idx.pos[child].next;
	}
	s->state = 2;
	return 0;
}

int rn_policy_parse_ipsets(struct rn_policy_parser *p, struct rn_policy_cursor c)
{
	struct rn_policy *pol = p->pol;
	struct ipset_parse ip = { p, NULL, 0 };
	size_t count, child = c.node + 1;
	const char *key;
	json_t *v;
	int ret = rn_policy_want(p, c, JSON_OBJECT, "ipsets");

	if (ret)
		return ret;
	count = json_object_size(c.v);
	pol->ipsets = calloc(count ? count : 1, sizeof(*pol->ipsets));
	ip.ops = calloc(count ? count : 1, sizeof(*ip.ops));
	if (!pol->ipsets || !ip.ops) {
		free(ip.ops);
		return -ENOMEM;
	}
	json_object_foreach(c.v, key, v) {
		struct rn_policy_ipset *s = &pol->ipsets[pol->n_ipsets];
		char q[RN_POLICY_QUOTE_LEN];

		ret = rn_policy_next_child(p, c.node, &child);
		if (ret)
			break;
		s->off = p->idx.pos[child].key;
		s->name = strdup(key);
		if (!s->name) {
			ret = -ENOMEM;
			break;
		}
		ip.ops[pol->n_ipsets++] = (struct rn_policy_cursor){ v, child };
		if (!rn_policy_has_prefix(key, "ipset:") || !rn_policy_valid_name(key + 6)) {
			ret = rn_policy_fail(p, s->off,
					     "bad name %s in ipsets: names there are "
					     "ipset:NAME",
					     rn_policy_quote(key, q, sizeof(q)));
			break;
		}
		child = p->idx.pos[child].next;
	}
	for (size_t i = 0; !ret && i < pol->n_ipsets; i++)
		ret = resolve(&ip, i);
	free(ip.ops);
	return ret;
}
