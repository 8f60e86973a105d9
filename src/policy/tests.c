/* SPDX-License-Identifier: MIT */
/*
 * The policy's "tests" section, as in Tailscale: {"src", "proto", "accept", "deny"}, each
 * destination TARGET:PORT. `policy check` and `policy set` run them against the filters the
 * policy compiles for the current nodes, and refuse the policy at the first destination that
 * is reached when it must not be, or not reached when it must. This is what makes a policy
 * change safe: the admin writes down what must keep working and what must stay shut.
 *
 * A source is every node it names (or one address); a destination every node it names, or one
 * address: a node's, or one inside a LAN route some router forwards. "accept" needs every
 * source node to reach every destination node (through some router, for a LAN address) in
 * every address family both have; "deny" needs none to reach any.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy/compile.h"
#include "policy/parser.h"
#include "policy/policy_priv.h"

/* ---- parsing ---- */

static bool is_address(const struct rn_policy_target *t)
{
	unsigned bits = t->prefix.family == AF_INET ? 32 : 128;

	return (t->kind == RN_POLICY_TARGET_CIDR || t->kind == RN_POLICY_TARGET_HOST) &&
	       t->prefix.len == bits;
}

static int check_target(struct rn_policy_parser *p, const struct rn_policy_target *t,
			const char *path)
{
	char q[RN_POLICY_QUOTE_LEN];

	switch (t->kind) {
	case RN_POLICY_TARGET_NAME:
	case RN_POLICY_TARGET_GROUP:
	case RN_POLICY_TARGET_TAG:
		return 0;
	case RN_POLICY_TARGET_HOST:
	case RN_POLICY_TARGET_CIDR:
		if (is_address(t))
			return 0;
		return rn_policy_fail(p, t->off, "%s %s is a range; a test names one address", path,
				      rn_policy_quote(t->name, q, sizeof(q)));
	default:
		return rn_policy_fail(p, t->off,
				      "%s %s cannot be tested; name a user, group, tag, node, "
				      "host or address",
				      path, rn_policy_quote(t->name, q, sizeof(q)));
	}
}

static int parse_dsts(struct rn_policy_parser *p, struct rn_policy_cursor c, const char *path,
		      uint8_t ipproto, struct rn_policy_dst **out, size_t *n)
{
	size_t child = c.node + 1;
	int ret = rn_policy_want(p, c, JSON_ARRAY, path);

	if (ret)
		return ret;
	*out = calloc(json_array_size(c.v) + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(c.v); i++) {
		struct rn_policy_cursor e = { json_array_get(c.v, i), child };
		char epath[RN_POLICY_PATH_LEN], q[RN_POLICY_QUOTE_LEN];
		struct rn_policy_dst *d = &(*out)[i];

		ret = rn_policy_next_child(p, c.node, &child);
		if (ret)
			return ret;
		rn_policy_pathf(epath, sizeof(epath), "%s[%zu]", path, i);
		ret = rn_policy_want(p, e, JSON_STRING, epath);
		(*n)++;
		if (!ret)
			ret = rn_policy_parse_dst(p, json_string_value(e.v),
						  rn_policy_val_off(p, e), epath, d);
		if (!ret)
			ret = check_target(p, &d->target, epath);
		if (ret)
			return ret;
		if (rn_policy_proto_has_ports(ipproto) &&
		    (d->n_ports != 1 || d->ports[0].first != d->ports[0].last))
			return rn_policy_fail(
			    p, rn_policy_val_off(p, e), "%s %s: a test checks one port", epath,
			    rn_policy_quote(json_string_value(e.v), q, sizeof(q)));
		if (!rn_policy_proto_has_ports(ipproto) && d->ports[0].last != 65535)
			return rn_policy_fail(
			    p, rn_policy_val_off(p, e),
			    "%s %s: this protocol has no ports; write TARGET:*", epath,
			    rn_policy_quote(json_string_value(e.v), q, sizeof(q)));
		child = p->idx.pos[child].next;
	}
	return 0;
}

static int test_member(struct rn_policy_parser *p, const char *key, struct rn_policy_cursor m,
		       const char *path, struct rn_policy_test *t, struct rn_policy_cursor *acc,
		       struct rn_policy_cursor *deny)
{
	char q[RN_POLICY_QUOTE_LEN], mpath[RN_POLICY_PATH_LEN];
	enum rn_filter_proto proto;
	int family, ret;

	rn_policy_pathf(mpath, sizeof(mpath), "%s.%s", path, key);
	if (!strcmp(key, "src")) {
		ret = rn_policy_want(p, m, JSON_STRING, mpath);
		if (!ret)
			ret = rn_policy_parse_target(p, json_string_value(m.v),
						     rn_policy_val_off(p, m), RN_POLICY_ROLE_SRC,
						     mpath, &t->src);
		return ret ? ret : check_target(p, &t->src, mpath);
	}
	if (!strcmp(key, "proto")) {
		ret = rn_policy_want(p, m, JSON_STRING, mpath);
		if (!ret && !rn_policy_proto_parse(json_string_value(m.v), &t->ipproto))
			ret = rn_policy_fail(p, rn_policy_val_off(p, m),
					     "unknown proto %s in %s; use a protocol name or an "
					     "IANA number 1-255",
					     rn_policy_quote(json_string_value(m.v), q, sizeof(q)),
					     mpath);
		if (!ret && !rn_policy_proto_filter(t->ipproto, &proto, &family))
			ret = rn_policy_fail(p, rn_policy_val_off(p, m),
					     "%s %s cannot be tested here: the filter tells apart "
					     "TCP, UDP and ICMP only",
					     mpath,
					     rn_policy_quote(json_string_value(m.v), q, sizeof(q)));
		return ret;
	}
	if (!strcmp(key, "accept") || !strcmp(key, "deny")) {
		*(!strcmp(key, "accept") ? acc : deny) = m; /* read once proto is known */
		return 0;
	}
	if (!strcmp(key, "srcPostureAttrs"))
		return rn_policy_fail(p, p->idx.pos[m.node].key,
				      "%s: Rustynet keeps no device posture, so a test of it "
				      "cannot run; remove it",
				      mpath);
	return rn_policy_fail(p, p->idx.pos[m.node].key,
			      "unknown key %s in %s; expected src, proto, accept or deny",
			      rn_policy_quote(key, q, sizeof(q)), path);
}

static int parse_test(struct rn_policy_parser *p, struct rn_policy_cursor c, size_t i,
		      struct rn_policy_test *t)
{
	struct rn_policy_cursor acc = { 0 }, deny = { 0 };
	char path[RN_POLICY_PATH_LEN], sub[RN_POLICY_PATH_LEN];
	size_t child = c.node + 1;
	const char *key;
	json_t *v;
	int ret;

	rn_policy_pathf(path, sizeof(path), "tests[%zu]", i);
	ret = rn_policy_want(p, c, JSON_OBJECT, path);
	if (ret)
		return ret;
	t->off = rn_policy_val_off(p, c);
	json_object_foreach(c.v, key, v) {
		ret = rn_policy_next_child(p, c.node, &child);
		if (!ret)
			ret = test_member(p, key, (struct rn_policy_cursor){ v, child }, path, t,
					  &acc, &deny);
		if (ret)
			return ret;
		child = p->idx.pos[child].next;
	}
	if (!t->src.name)
		return rn_policy_fail(p, t->off, "%s has no \"src\": say whose access it tests",
				      path);
	rn_policy_pathf(sub, sizeof(sub), "%s.accept", path);
	if (acc.v)
		ret = parse_dsts(p, acc, sub, t->ipproto, &t->accept, &t->n_accept);
	rn_policy_pathf(sub, sizeof(sub), "%s.deny", path);
	if (!ret && deny.v)
		ret = parse_dsts(p, deny, sub, t->ipproto, &t->deny, &t->n_deny);
	if (!ret && !t->n_accept && !t->n_deny)
		ret =
		    rn_policy_fail(p, t->off, "%s tests nothing: add \"accept\" or \"deny\"", path);
	return ret;
}

int rn_policy_parse_tests(struct rn_policy_parser *p, struct rn_policy_cursor c)
{
	struct rn_policy *pol = p->pol;
	size_t child = c.node + 1, count;
	int ret = rn_policy_want(p, c, JSON_ARRAY, "tests");

	if (ret)
		return ret;
	count = json_array_size(c.v);
	pol->tests = calloc(count ? count : 1, sizeof(*pol->tests));
	if (!pol->tests)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		ret = rn_policy_next_child(p, c.node, &child);
		pol->n_tests++;
		if (!ret)
			ret = parse_test(p,
					 (struct rn_policy_cursor){ json_array_get(c.v, i), child },
					 i, &pol->tests[i]);
		if (ret)
			return ret;
		child = p->idx.pos[child].next;
	}
	return 0;
}

static void free_dsts(struct rn_policy_dst *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(d[i].target.name);
		free(d[i].ports);
	}
	free(d);
}

void rn_policy_tests_free(struct rn_policy *pol)
{
	for (size_t i = 0; i < pol->n_tests; i++) {
		free(pol->tests[i].src.name);
		free_dsts(pol->tests[i].accept, pol->tests[i].n_accept);
		free_dsts(pol->tests[i].deny, pol->tests[i].n_deny);
	}
	free(pol->tests);
}

/* ---- running ---- */

struct run {
	const struct rn_policy *pol;
	const struct rn_policy_world *w;
	struct rn_filter *filters; /* per node, compiled when first needed */
	bool *compiled;
	struct rn_policy_error *err;
};

/* An end of a test: the nodes a name gives, or one address (addr, family). */
struct end {
	bool *nodes; /* NULL: an address */
	int family;
	uint8_t addr[16];
};

static const struct rn_filter *filter_of(struct run *r, size_t m)
{
	if (!r->compiled[m]) {
		if (rn_policy_compile_filter(r->pol, r->w, r->w->nodes[m].id, &r->filters[m]))
			return NULL;
		r->compiled[m] = true;
	}
	return &r->filters[m];
}

static const uint8_t *node_addr(const struct rn_policy_node *n, int family)
{
	return family == AF_INET ? n->ip4 : n->ip6;
}

static int end_of(struct run *r, const struct rn_policy_target *t, struct end *e)
{
	size_t nn = r->w->n_nodes ? r->w->n_nodes : 1;

	if (t->kind == RN_POLICY_TARGET_CIDR || t->kind == RN_POLICY_TARGET_HOST) {
		e->family = t->prefix.family;
		memcpy(e->addr, t->prefix.addr, sizeof(e->addr));
		return 0;
	}
	e->nodes = calloc(nn, sizeof(bool));
	if (!e->nodes)
		return -ENOMEM;
	return rn_policy_named_nodes(r->pol, r->w, t, e->nodes);
}

/* The node whose mesh address addr is, or SIZE_MAX. */
static size_t node_at(const struct rn_policy_world *w, int family, const uint8_t *addr)
{
	for (size_t m = 0; m < w->n_nodes; m++)
		if (!memcmp(node_addr(&w->nodes[m], family), addr, family == AF_INET ? 4 : 16))
			return m;
	return SIZE_MAX;
}

/*
 * Whether src (family, address) reaches dst: node d's mesh address, or (d SIZE_MAX) address
 * addr through any router forwarding it. *routed says whether anything could carry it.
 */
static int reach(struct run *r, int family, const uint8_t *src, size_t d, const uint8_t *addr,
		 uint8_t proto, uint16_t port, bool *yes)
{
	*yes = false;
	for (size_t m = 0; m < r->w->n_nodes && !*yes; m++) {
		const struct rn_filter *f;
		enum rn_filter_context ctx;

		if (d != SIZE_MAX && m != d)
			continue;
		f = filter_of(r, m);
		if (!f)
			return -ENOMEM;
		ctx = d != SIZE_MAX ? RN_FILTER_MESH : rn_filter_context_of(f, family, addr);
		if (d != SIZE_MAX)
			addr = node_addr(&r->w->nodes[d], family);
		if (ctx == RN_FILTER_SUBNET || ctx == RN_FILTER_MESH)
			*yes = rn_filter_allows(f, ctx, family, src, addr, proto, port);
	}
	return 0;
}

static bool family_ok(uint8_t ipproto, int family)
{
	return !(ipproto == RN_IPPROTO_ICMP && family == AF_INET6) &&
	       !(ipproto == RN_IPPROTO_ICMPV6 && family == AF_INET);
}

static int fail_at(struct run *r, const struct rn_policy_dst *d, const char *path, bool accept,
		   int family, const uint8_t *src, size_t sm, const uint8_t *dst, size_t dm)
{
	char q[RN_POLICY_QUOTE_LEN], s[RN_FILTER_PREFIX_STRLEN], t[RN_FILTER_PREFIX_STRLEN];
	struct rn_filter_prefix ps, pd;

	rn_filter_prefix_make(&ps, family, src, family == AF_INET ? 32 : 128);
	rn_filter_prefix_make(&pd, family, dst, family == AF_INET ? 32 : 128);
	rn_filter_prefix_format(&ps, s, sizeof(s));
	rn_filter_prefix_format(&pd, t, sizeof(t));
	return rn_policy_errorf(r->err, r->pol->filename, r->pol->text, r->pol->len, d->target.off,
				"test failed: %s %s: %s%s%s %s %s%s%s%s", path,
				rn_policy_quote(d->target.name, q, sizeof(q)),
				sm != SIZE_MAX ? r->w->nodes[sm].name : "",
				sm != SIZE_MAX ? " " : "", s, accept ? "cannot reach" : "reaches",
				dm != SIZE_MAX ? r->w->nodes[dm].name : "",
				dm != SIZE_MAX ? " " : "", t,
				accept ? ", which the test accepts" : ", which the test denies");
}

/* One source node or address sm and one destination dm, in one family; *any if it applied. */
static int run_pair(struct run *r, const struct end *src, size_t sm, const struct end *dst,
		    size_t dm, int family, const struct rn_policy_dst *d, const char *path,
		    bool accept, uint8_t proto, bool *any)
{
	const uint8_t *sa = src->nodes ? node_addr(&r->w->nodes[sm], family) : src->addr;
	const uint8_t *da = dst->nodes ? node_addr(&r->w->nodes[dm], family) : dst->addr;
	size_t node = dst->nodes ? dm : node_at(r->w, family, da);
	bool yes;
	int ret;

	if ((src->nodes && (!src->nodes[sm] || node == sm)) || (dst->nodes && !dst->nodes[dm]) ||
	    (!src->nodes && src->family != family) || (!dst->nodes && dst->family != family) ||
	    !family_ok(proto, family))
		return 0;
	*any = true;
	ret = reach(r, family, sa, node, da, proto, d->ports[0].first, &yes);
	if (!ret && yes != accept)
		ret = fail_at(r, d, path, accept, family, sa, src->nodes ? sm : SIZE_MAX, da, node);
	return ret;
}

/* One destination of one test, from every source. */
static int run_dst(struct run *r, const struct rn_policy_test *t, const struct end *src,
		   const struct rn_policy_dst *d, const char *path, bool accept)
{
	static const int families[] = { AF_INET, AF_INET6 };
	uint8_t proto = t->ipproto ? t->ipproto : RN_IPPROTO_TCP;
	struct end dst = { 0 };
	bool any = false;
	int ret = end_of(r, &d->target, &dst);

	for (size_t sm = 0; !ret && sm < (src->nodes ? r->w->n_nodes : 1); sm++)
		for (size_t dm = 0; !ret && dm < (dst.nodes ? r->w->n_nodes : 1); dm++)
			for (size_t f = 0; !ret && f < 2; f++)
				ret = run_pair(r, src, sm, &dst, dm, families[f], d, path, accept,
					       proto, &any);
	free(dst.nodes);
	if (!ret && !any && accept)
		ret = rn_policy_errorf(r->err, r->pol->filename, r->pol->text, r->pol->len,
				       d->target.off,
				       "test failed: %s: no node of the source and the destination "
				       "to test between, so it cannot be accepted",
				       path);
	return ret;
}

static int run_test(struct run *r, size_t i, FILE *notes)
{
	const struct rn_policy_test *t = &r->pol->tests[i];
	char path[RN_POLICY_PATH_LEN], q[RN_POLICY_QUOTE_LEN];
	struct end src = { 0 };
	bool some = false;
	int ret = end_of(r, &t->src, &src);

	for (size_t m = 0; src.nodes && m < r->w->n_nodes; m++)
		some = some || src.nodes[m];
	if (!ret && src.nodes && !some) {
		if (notes)
			fprintf(notes,
				"%s: note: tests[%zu]: %s has no node yet, so it is not run\n",
				r->pol->filename, i, rn_policy_quote(t->src.name, q, sizeof(q)));
		free(src.nodes);
		return 0;
	}
	for (size_t j = 0; !ret && j < t->n_accept; j++) {
		snprintf(path, sizeof(path), "tests[%zu].accept[%zu]", i, j);
		ret = run_dst(r, t, &src, &t->accept[j], path, true);
	}
	for (size_t j = 0; !ret && j < t->n_deny; j++) {
		snprintf(path, sizeof(path), "tests[%zu].deny[%zu]", i, j);
		ret = run_dst(r, t, &src, &t->deny[j], path, false);
	}
	free(src.nodes);
	return ret;
}

/* A name in a test must exist now: a user or a node. */
static int check_name(struct run *r, const struct rn_policy_target *t, const char *path)
{
	char q[RN_POLICY_QUOTE_LEN];

	if (t->kind != RN_POLICY_TARGET_NAME || rn_policy_user_find(r->w, t->name) ||
	    rn_policy_node_by_name(r->w, t->name))
		return 0;
	return rn_policy_errorf(r->err, r->pol->filename, r->pol->text, r->pol->len, t->off,
				"unknown user or node %s in %s; fix the name or remove it",
				rn_policy_quote(t->name, q, sizeof(q)), path);
}

static int check_names(struct run *r)
{
	char path[RN_POLICY_PATH_LEN];
	int ret = 0;

	for (size_t i = 0; !ret && i < r->pol->n_tests; i++) {
		const struct rn_policy_test *t = &r->pol->tests[i];

		snprintf(path, sizeof(path), "tests[%zu].src", i);
		ret = check_name(r, &t->src, path);
		for (size_t j = 0; !ret && j < t->n_accept; j++) {
			snprintf(path, sizeof(path), "tests[%zu].accept[%zu]", i, j);
			ret = check_name(r, &t->accept[j].target, path);
		}
		for (size_t j = 0; !ret && j < t->n_deny; j++) {
			snprintf(path, sizeof(path), "tests[%zu].deny[%zu]", i, j);
			ret = check_name(r, &t->deny[j].target, path);
		}
	}
	return ret;
}

int rn_policy_run_tests(const struct rn_policy *pol, const struct rn_policy_world *w,
			struct rn_policy_error *err, FILE *notes)
{
	size_t nn = w->n_nodes ? w->n_nodes : 1;
	struct run r = { .pol = pol, .w = w, .err = err };
	int ret = -ENOMEM;

	if (!pol->n_tests)
		return 0;
	r.filters = calloc(nn, sizeof(*r.filters));
	r.compiled = calloc(nn, sizeof(*r.compiled));
	if (r.filters && r.compiled)
		ret = check_names(&r);
	for (size_t i = 0; !ret && i < pol->n_tests; i++)
		ret = run_test(&r, i, notes);
	for (size_t m = 0; r.compiled && m < w->n_nodes; m++)
		rn_filter_free(&r.filters[m]);
	free(r.filters);
	free(r.compiled);
	if (ret == -ENOMEM)
		rn_policy_errorf(err, pol->filename, NULL, 0, RN_POLICY_NO_POS, "out of memory");
	return ret;
}
