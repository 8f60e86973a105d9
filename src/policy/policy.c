/* SPDX-License-Identifier: MIT */
/*
 * The policy parser: HuJSON text to struct rn_policy. Jansson parses the standardized text;
 * the hujson index, walked in step with jansson's tree (objects keep their keys in text order
 * and duplicates are refused, so the two line up), places every error on its token.
 */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/hujson.h"
#include "policy/policy.h"
#include "policy/parser.h"
#include "policy/policy_priv.h"

int rn_policy_fail(struct rn_policy_parser *p, size_t off, const char *fmt, ...)
{
	char msg[RN_POLICY_MSG_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return rn_policy_errorf(p->err, p->pol->filename, p->pol->text, p->pol->len, off, "%s",
				msg);
}

/* A path for messages ("acls[3].dst[1]"); a long one is cut, which only shortens the message. */
void rn_policy_pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

size_t rn_policy_val_off(const struct rn_policy_parser *p, struct rn_policy_cursor c)
{
	return p->idx.pos[c.node].val;
}

static const char *kind_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	default:
		return json_is_null(v) ? "null" : "true or false";
	}
}

int rn_policy_want(struct rn_policy_parser *p, struct rn_policy_cursor c, json_type type,
		   const char *path)
{
	static const char *const names[] = {
		[JSON_OBJECT] = "an object", [JSON_ARRAY] = "a list", [JSON_STRING] = "a string"
	};

	if (json_typeof(c.v) == type)
		return 0;
	return rn_policy_fail(p, rn_policy_val_off(p, c), "%s must be %s, not %s", path,
			      names[type], kind_of(c.v));
}

/* The index entry after child, checked against the parent so a mismatch cannot run off. */
int rn_policy_next_child(struct rn_policy_parser *p, size_t parent, size_t *child)
{
	if (*child >= p->idx.pos[parent].next)
		return rn_policy_fail(p, RN_POLICY_NO_POS,
				      "internal error: the JSON index is out of step");
	return 0;
}

bool rn_policy_has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* Names are permissive (users may be e-mail addresses) but never hold the policy's syntax. */
bool rn_policy_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 255)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f || strchr(":/,[]*\"\\", *s))
			return false;
	return true;
}

/* Could s be meant as an address? Names cannot hold ':' or '/', nor be all digits and dots. */
static bool looks_like_address(const char *s)
{
	if (strchr(s, ':') || strchr(s, '/'))
		return true;
	return *s && strspn(s, "0123456789.") == strlen(s);
}

static const struct rn_policy_list *find_list(const struct rn_policy_list *l, size_t n,
					      const char *name, size_t *index)
{
	for (size_t i = 0; i < n; i++) {
		if (l[i].name && !strcmp(l[i].name, name)) {
			if (index)
				*index = i;
			return &l[i];
		}
	}
	return NULL;
}

static int parse_cidr(struct rn_policy_parser *p, const char *s, size_t off, const char *path,
		      struct rn_filter_prefix *out)
{
	char q[RN_POLICY_QUOTE_LEN], fix[RN_FILTER_PREFIX_STRLEN];
	int ret = rn_filter_prefix_parse(s, out);

	if (ret == -EDOM)
		return rn_policy_fail(p, off,
				      "bad CIDR %s in %s: host bits are set; did you mean %s?",
				      rn_policy_quote(s, q, sizeof(q)), path,
				      rn_filter_prefix_format(out, fix, sizeof(fix)));
	if (ret)
		return rn_policy_fail(
		    p, off, "bad CIDR %s in %s: write an IPv4 or IPv6 address, optionally /LENGTH",
		    rn_policy_quote(s, q, sizeof(q)), path);
	return 0;
}

static int parse_group_or_tag(struct rn_policy_parser *p, const char *s, size_t off,
			      enum rn_policy_role role, const char *path,
			      struct rn_policy_target *t)
{
	char q[RN_POLICY_QUOTE_LEN];
	bool group = rn_policy_has_prefix(s, "group:");
	const char *what = group ? "group" : "tag";

	if (!rn_policy_valid_name(s + strlen(group ? "group:" : "tag:")))
		return rn_policy_fail(p, off, "bad %s name %s in %s", what,
				      rn_policy_quote(s, q, sizeof(q)), path);
	if (role == RN_POLICY_ROLE_MEMBER)
		return rn_policy_fail(p, off, "%s in %s: groups hold users, not %ss",
				      rn_policy_quote(s, q, sizeof(q)), path, what);
	if (role == RN_POLICY_ROLE_VIA && group)
		return rn_policy_fail(p, off, "%s in %s: via takes node names and tags, not groups",
				      rn_policy_quote(s, q, sizeof(q)), path);
	t->kind = group ? RN_POLICY_TARGET_GROUP : RN_POLICY_TARGET_TAG;
	if (group && !find_list(p->pol->groups, p->pol->n_groups, s, &t->index))
		return rn_policy_fail(p, off, "unknown group %s in %s; define it in \"groups\"",
				      rn_policy_quote(s, q, sizeof(q)), path);
	if (!group && !find_list(p->pol->tag_owners, p->pol->n_tag_owners, s, &t->index))
		return rn_policy_fail(p, off, "unknown tag %s in %s; define it in \"tagOwners\"",
				      rn_policy_quote(s, q, sizeof(q)), path);
	return 0;
}

/* Tailscale's autogroups, each with where it may stand (acls src and dst). */
static int parse_autogroup(struct rn_policy_parser *p, const char *s, size_t off,
			   enum rn_policy_role role, const char *path, struct rn_policy_target *t)
{
	static const struct {
		const char *name;
		enum rn_policy_target_kind kind;
		bool src, dst, owner;
	} groups[] = {
		{ "autogroup:internet", RN_POLICY_TARGET_INTERNET, false, true, false },
		{ "autogroup:member", RN_POLICY_TARGET_MEMBER, true, true, false },
		{ "autogroup:tagged", RN_POLICY_TARGET_TAGGED, true, true, false },
		{ "autogroup:self", RN_POLICY_TARGET_SELF, false, true, false },
		{ "autogroup:danger-all", RN_POLICY_TARGET_DANGER_ALL, true, false, false },
		{ "autogroup:admin", RN_POLICY_TARGET_ADMIN, true, true, true },
		{ "autogroup:owner", RN_POLICY_TARGET_ADMIN, true, true, true },
		{ "autogroup:shared", RN_POLICY_TARGET_SHARED, true, false, false },
	};
	char q[RN_POLICY_QUOTE_LEN];

	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (strcmp(s, groups[i].name))
			continue;
		t->kind = groups[i].kind;
		p->pol->names_admins = p->pol->names_admins || t->kind == RN_POLICY_TARGET_ADMIN;
		p->pol->names_shared = p->pol->names_shared || t->kind == RN_POLICY_TARGET_SHARED;
		if ((role == RN_POLICY_ROLE_SRC && groups[i].src) ||
		    (role == RN_POLICY_ROLE_DST && groups[i].dst) ||
		    (role == RN_POLICY_ROLE_OWNER && groups[i].owner))
			return 0;
		if (role == RN_POLICY_ROLE_SRC || role == RN_POLICY_ROLE_DST)
			return rn_policy_fail(p, off, "%s in %s: it is only a %s",
					      rn_policy_quote(s, q, sizeof(q)), path,
					      groups[i].src ? "source" : "destination");
		break;
	}
	return rn_policy_fail(
	    p, off,
	    "unsupported %s in %s: autogroups here are internet, member, tagged, self "
	    "(destinations), danger-all and shared (sources), admin and owner",
	    rn_policy_quote(s, q, sizeof(q)), path);
}

/* An ipset operation's target ("ipset:x" the caller resolves): an address, a CIDR or a host. */
static int parse_ipset_item(struct rn_policy_parser *p, const char *s, size_t off, const char *path,
			    struct rn_policy_target *t)
{
	const struct rn_policy_list *host = find_list(p->pol->hosts, p->pol->n_hosts, s, NULL);
	char q[RN_POLICY_QUOTE_LEN];

	if (host) {
		t->kind = RN_POLICY_TARGET_HOST;
		t->prefix = host->prefix;
		return 0;
	}
	if (looks_like_address(s) && !rn_policy_has_prefix(s, "autogroup:") &&
	    !rn_policy_has_prefix(s, "group:") && !rn_policy_has_prefix(s, "tag:")) {
		t->kind = RN_POLICY_TARGET_CIDR;
		return parse_cidr(p, s, off, path, &t->prefix);
	}
	return rn_policy_fail(p, off,
			      "%s in %s: ipsets hold addresses, CIDRs, hosts and other ipsets "
			      "(not users, groups, tags or autogroups)",
			      rn_policy_quote(s, q, sizeof(q)), path);
}

int rn_policy_parse_target(struct rn_policy_parser *p, const char *s, size_t off,
			   enum rn_policy_role role, const char *path, struct rn_policy_target *t)
{
	static const char *const takes[] = { [RN_POLICY_ROLE_VIA] = "via takes node names and tags",
					     [RN_POLICY_ROLE_OWNER] =
						 "owners are users, groups and tags",
					     [RN_POLICY_ROLE_MEMBER] = "groups hold users" };
	bool addr_role = role == RN_POLICY_ROLE_SRC || role == RN_POLICY_ROLE_DST;
	char q[RN_POLICY_QUOTE_LEN];
	const struct rn_policy_list *host;
	long set;

	t->off = off;
	t->name = strdup(s);
	if (!t->name)
		return -ENOMEM;
	if (role == RN_POLICY_ROLE_IPSET)
		return parse_ipset_item(p, s, off, path, t);
	if (!strcmp(s, "*") && addr_role) {
		t->kind = RN_POLICY_TARGET_ANY;
		return 0;
	}
	if (rn_policy_has_prefix(s, "autogroup:"))
		return parse_autogroup(p, s, off, role, path, t);
	if (rn_policy_has_prefix(s, "group:") || rn_policy_has_prefix(s, "tag:"))
		return parse_group_or_tag(p, s, off, role, path, t);
	if (rn_policy_has_prefix(s, "ipset:")) {
		if (!addr_role)
			return rn_policy_fail(p, off, "%s in %s: %s",
					      rn_policy_quote(s, q, sizeof(q)), path, takes[role]);
		set = rn_policy_ipset_find(p->pol, s);
		if (set < 0)
			return rn_policy_fail(p, off, "unknown ipset %s in %s: define it in ipsets",
					      rn_policy_quote(s, q, sizeof(q)), path);
		t->kind = RN_POLICY_TARGET_IPSET;
		t->index = (size_t)set;
		return 0;
	}
	host = find_list(p->pol->hosts, p->pol->n_hosts, s, NULL);
	if ((host || looks_like_address(s) || !strcmp(s, "*")) && !addr_role)
		return rn_policy_fail(p, off, "%s in %s: %s", rn_policy_quote(s, q, sizeof(q)),
				      path, takes[role]);
	if (host) {
		t->kind = RN_POLICY_TARGET_HOST;
		t->prefix = host->prefix;
		return 0;
	}
	if (looks_like_address(s)) {
		t->kind = RN_POLICY_TARGET_CIDR;
		return parse_cidr(p, s, off, path, &t->prefix);
	}
	if (!rn_policy_valid_name(s))
		return rn_policy_fail(
		    p, off, "bad name %s in %s: names hold no spaces and none of : / , [ ] * \" \\",
		    rn_policy_quote(s, q, sizeof(q)), path);
	t->kind = RN_POLICY_TARGET_NAME;
	return 0;
}

/* A non-empty (unless may_be_empty) list of strings, each parsed as a target in role. */
int rn_policy_parse_targets(struct rn_policy_parser *p, struct rn_policy_cursor c,
			    enum rn_policy_role role, bool may_be_empty, const char *path,
			    struct rn_policy_target **out, size_t *n)
{
	size_t count, child = c.node + 1;
	int ret = rn_policy_want(p, c, JSON_ARRAY, path);

	if (ret)
		return ret;
	count = json_array_size(c.v);
	if (!count && !may_be_empty)
		return rn_policy_fail(p, rn_policy_val_off(p, c),
				      "%s is empty; list at least one name", path);
	*out = calloc(count ? count : 1, sizeof(**out));
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
		if (!ret)
			ret =
			    rn_policy_parse_target(p, json_string_value(e.v),
						   rn_policy_val_off(p, e), role, path, &(*out)[i]);
		(*n)++; /* counted even when it failed: its name is freed with the rest */
		if (ret)
			return ret;
		child = p->idx.pos[child].next;
	}
	return 0;
}

/* ---- acls ---- */

static int parse_port(const char *s, size_t n, uint16_t *out)
{
	unsigned v = 0;

	if (n == 0 || n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

int rn_policy_parse_ports(struct rn_policy_parser *p, const char *s, const char *dst, size_t off,
			  const char *path, struct rn_policy_dst *d)
{
	char q[RN_POLICY_QUOTE_LEN], qd[RN_POLICY_QUOTE_LEN], item[16];
	size_t n = 1;

	for (const char *c = s; *c; c++)
		n += *c == ',';
	d->ports = calloc(n, sizeof(*d->ports));
	if (!d->ports)
		return -ENOMEM;
	if (!strcmp(s, "*")) {
		d->ports[d->n_ports++] = (struct rn_filter_ports){ 0, 65535 };
		return 0;
	}
	for (const char *c = s; d->n_ports < n; c++) {
		size_t len = strcspn(c, ","), dash = strcspn(c, "-,");
		struct rn_filter_ports *r = &d->ports[d->n_ports++];

		snprintf(item, sizeof(item), "%.*s", (int)(len < 12 ? len : 12), c);
		if (parse_port(c, dash, &r->first) ||
		    (dash < len && parse_port(c + dash + 1, len - dash - 1, &r->last)))
			return rn_policy_fail(
			    p, off,
			    "bad port %s in %s %s: ports are 1-65535, a range A-B, a "
			    "comma list of those, or *",
			    rn_policy_quote(item, q, sizeof(q)), path,
			    rn_policy_quote(dst, qd, sizeof(qd)));
		if (dash == len)
			r->last = r->first;
		if (r->first > r->last)
			return rn_policy_fail(
			    p, off, "bad port range %s in %s %s: the first port is above the last",
			    rn_policy_quote(item, q, sizeof(q)), path,
			    rn_policy_quote(dst, qd, sizeof(qd)));
		c += len;
	}
	return 0;
}

static int no_ports(struct rn_policy_parser *p, const char *s, size_t off, const char *path,
		    bool bracket)
{
	char q[RN_POLICY_QUOTE_LEN], qe[RN_POLICY_QUOTE_LEN], ex[RN_POLICY_QUOTE_LEN];

	snprintf(ex, sizeof(ex), bracket ? "[%.60s]:*" : "%.60s:*", s);
	return rn_policy_fail(p, off, "%s in %s has no ports; write TARGET:PORTS, for example %s",
			      rn_policy_quote(s, q, sizeof(q)), path,
			      rn_policy_quote(ex, qe, sizeof(qe)));
}

/* "TARGET:PORTS", split at the last colon as Tailscale does; "[v6]:PORTS" also works. */
int rn_policy_parse_dst(struct rn_policy_parser *p, const char *s, size_t off, const char *path,
			struct rn_policy_dst *d)
{
	char *target;
	const char *colon = strrchr(s, ':');
	struct rn_filter_prefix whole;
	size_t n;
	int ret;

	if (!colon)
		return no_ports(p, s, off, path, false);
	n = (size_t)(colon - s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']' && memchr(s, ':', n))
		target = strndup(s + 1, n - 2);
	else
		target = strndup(s, n);
	if (!target)
		return -ENOMEM;
	ret = rn_policy_parse_target(p, target, off, RN_POLICY_ROLE_DST, path, &d->target);
	free(target);
	if (ret == -EINVAL && rn_filter_prefix_parse(s, &whole) != -EINVAL)
		return no_ports(p, s, off, path, true);
	if (ret)
		return ret;
	return rn_policy_parse_ports(p, colon + 1, s, off, path, d);
}

static int parse_proto(struct rn_policy_parser *p, struct rn_policy_cursor c, const char *path,
		       struct rn_policy_acl *acl)
{
	char q[RN_POLICY_QUOTE_LEN];
	int family, ret = rn_policy_want(p, c, JSON_STRING, path);
	const char *s;

	if (ret)
		return ret;
	s = json_string_value(c.v);
	if (!rn_policy_proto_parse(s, &acl->ipproto))
		return rn_policy_fail(
		    p, rn_policy_val_off(p, c),
		    "unknown proto %s in %s; use a protocol name (tcp, udp, icmp, "
		    "ipv6-icmp, sctp, gre, esp, ah, igmp...) or an IANA number 1-255, or "
		    "leave it out for any",
		    rn_policy_quote(s, q, sizeof(q)), path);
	if (!rn_policy_proto_filter(acl->ipproto, &acl->proto, &family))
		return rn_policy_notef(p->pol, rn_policy_val_off(p, c),
				       "%s %s is not enforced here (the filter tells apart TCP, "
				       "UDP and ICMP only): this entry grants nothing",
				       path, rn_policy_quote(s, q, sizeof(q)));
	return 0;
}

static int parse_dsts(struct rn_policy_parser *p, struct rn_policy_cursor c, const char *path,
		      struct rn_policy_acl *acl)
{
	size_t count, child = c.node + 1;
	int ret = rn_policy_want(p, c, JSON_ARRAY, path);

	if (ret)
		return ret;
	count = json_array_size(c.v);
	if (!count)
		return rn_policy_fail(p, rn_policy_val_off(p, c),
				      "%s is empty; list at least one TARGET:PORTS", path);
	acl->dst = calloc(count, sizeof(*acl->dst));
	if (!acl->dst)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		struct rn_policy_cursor e = { json_array_get(c.v, i), child };
		char epath[RN_POLICY_PATH_LEN];

		ret = rn_policy_next_child(p, c.node, &child);
		if (ret)
			return ret;
		rn_policy_pathf(epath, sizeof(epath), "%s[%zu]", path, i);
		ret = rn_policy_want(p, e, JSON_STRING, epath);
		acl->n_dst++;
		if (!ret)
			ret = rn_policy_parse_dst(p, json_string_value(e.v),
						  rn_policy_val_off(p, e), epath, &acl->dst[i]);
		if (ret)
			return ret;
		child = p->idx.pos[child].next;
	}
	return 0;
}

/* What only makes sense once the whole entry is read: via and icmp limit the destinations. */
/* Tailscale lets only users reach autogroup:self: users, groups and autogroup:member. */
static int check_self(struct rn_policy_parser *p, const char *path, const struct rn_policy_acl *acl)
{
	char q[RN_POLICY_QUOTE_LEN];
	bool self = false;

	for (size_t i = 0; i < acl->n_dst; i++)
		self = self || acl->dst[i].target.kind == RN_POLICY_TARGET_SELF;
	for (size_t i = 0; self && i < acl->n_src; i++) {
		enum rn_policy_target_kind k = acl->src[i].kind;

		if (k != RN_POLICY_TARGET_NAME && k != RN_POLICY_TARGET_GROUP &&
		    k != RN_POLICY_TARGET_MEMBER)
			return rn_policy_fail(
			    p, acl->src[i].off,
			    "%s in %s.src cannot reach autogroup:self: its sources are "
			    "users, groups and autogroup:member",
			    rn_policy_quote(acl->src[i].name, q, sizeof(q)), path);
	}
	return 0;
}

int rn_policy_check_acl(struct rn_policy_parser *p, const char *path,
			const struct rn_policy_acl *acl)
{
	char q[RN_POLICY_QUOTE_LEN];
	int ret = check_self(p, path, acl);

	if (ret)
		return ret;

	for (size_t i = 0; i < acl->n_dst; i++) {
		const struct rn_policy_dst *d = &acl->dst[i];
		enum rn_policy_target_kind k = d->target.kind;

		if (acl->n_via && k != RN_POLICY_TARGET_CIDR && k != RN_POLICY_TARGET_HOST &&
		    k != RN_POLICY_TARGET_IPSET && k != RN_POLICY_TARGET_INTERNET)
			return rn_policy_fail(
			    p, d->target.off,
			    "%s in %s.dst[%zu] is a mesh target, but this entry has via, "
			    "which only routed destinations (CIDRs, hosts, autogroup:internet) "
			    "take; move it to an entry without via",
			    rn_policy_quote(d->target.name, q, sizeof(q)), path, i);
		if (!rn_policy_proto_has_ports(acl->ipproto) &&
		    (d->n_ports != 1 || d->ports[0].first != 0 || d->ports[0].last != 65535)) {
			char ex[RN_POLICY_QUOTE_LEN];

			snprintf(ex, sizeof(ex), "%.60s:*", d->target.name);
			return rn_policy_fail(
			    p, d->target.off,
			    "%s.dst[%zu]: only tcp, udp and sctp have ports; write %s", path, i,
			    rn_policy_quote(ex, q, sizeof(q)));
		}
	}
	return 0;
}

static int acl_member(struct rn_policy_parser *p, const char *key, struct rn_policy_cursor m,
		      const char *path, struct rn_policy_acl *acl, bool *has_action)
{
	char q[RN_POLICY_QUOTE_LEN], mpath[RN_POLICY_PATH_LEN];
	int ret;

	rn_policy_pathf(mpath, sizeof(mpath), "%s.%s", path, key);
	if (!strcmp(key, "action")) {
		*has_action = true;
		ret = rn_policy_want(p, m, JSON_STRING, mpath);
		if (ret || !strcmp(json_string_value(m.v), "accept"))
			return ret;
		return rn_policy_fail(
		    p, rn_policy_val_off(p, m),
		    "unsupported action %s in %s: entries only grant (\"accept\"); "
		    "everything not granted is denied",
		    rn_policy_quote(json_string_value(m.v), q, sizeof(q)), mpath);
	}
	/* "users" and "ports" are Tailscale's legacy names of src and dst: one of each pair. */
	if ((!strcmp(key, "src") || !strcmp(key, "users")) && acl->src)
		return rn_policy_fail(
		    p, p->idx.pos[m.node].key,
		    "%s has both \"src\" and \"users\" (its old name); keep \"src\"", path);
	if ((!strcmp(key, "dst") || !strcmp(key, "ports")) && acl->dst)
		return rn_policy_fail(
		    p, p->idx.pos[m.node].key,
		    "%s has both \"dst\" and \"ports\" (its old name); keep \"dst\"", path);
	if (!strcmp(key, "src") || !strcmp(key, "users"))
		return rn_policy_parse_targets(p, m, RN_POLICY_ROLE_SRC, false, mpath, &acl->src,
					       &acl->n_src);
	if (!strcmp(key, "dst") || !strcmp(key, "ports"))
		return parse_dsts(p, m, mpath, acl);
	if (!strcmp(key, "proto"))
		return parse_proto(p, m, mpath, acl);
	if (!strcmp(key, "via"))
		return rn_policy_parse_targets(p, m, RN_POLICY_ROLE_VIA, false, mpath, &acl->via,
					       &acl->n_via);
	return rn_policy_fail(
	    p, p->idx.pos[m.node].key,
	    "unknown key %s in %s; expected action, src, dst, proto or via (or the "
	    "old users and ports)",
	    rn_policy_quote(key, q, sizeof(q)), path);
}

static int parse_acl(struct rn_policy_parser *p, struct rn_policy_cursor c, const char *path,
		     struct rn_policy_acl *acl)
{
	bool has_action = false;
	size_t child = c.node + 1;
	const char *key;
	json_t *v;
	int ret = rn_policy_want(p, c, JSON_OBJECT, path);

	if (ret)
		return ret;
	acl->off = rn_policy_val_off(p, c);
	json_object_foreach(c.v, key, v) {
		ret = rn_policy_next_child(p, c.node, &child);
		if (!ret)
			ret = acl_member(p, key, (struct rn_policy_cursor){ v, child }, path, acl,
					 &has_action);
		if (ret)
			return ret;
		child = p->idx.pos[child].next;
	}
	if (!has_action)
		return rn_policy_fail(p, acl->off,
				      "%s has no \"action\"; add \"action\": \"accept\"", path);
	if (!acl->n_src)
		return rn_policy_fail(p, acl->off, "%s has no \"src\": say who this entry grants",
				      path);
	if (!acl->n_dst)
		return rn_policy_fail(p, acl->off, "%s has no \"dst\": say what this entry grants",
				      path);
	return rn_policy_check_acl(p, path, acl);
}

static int parse_acls(struct rn_policy_parser *p, struct rn_policy_cursor c)
{
	size_t count, child = c.node + 1;
	int ret = rn_policy_want(p, c, JSON_ARRAY, "acls");

	if (ret)
		return ret;
	count = json_array_size(c.v);
	p->pol->acls = calloc(count ? count : 1, sizeof(*p->pol->acls));
	if (!p->pol->acls)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		char path[RN_POLICY_PATH_LEN];

		ret = rn_policy_next_child(p, c.node, &child);
		if (ret)
			return ret;
		rn_policy_pathf(path, sizeof(path), "acls[%zu]", i);
		p->pol->n_acls++;
		p->pol->acls[i].section = "acls";
		p->pol->acls[i].index = i;
		ret = parse_acl(p, (struct rn_policy_cursor){ json_array_get(c.v, i), child }, path,
				&p->pol->acls[i]);
		if (ret)
			return ret;
		child = p->idx.pos[child].next;
	}
	return 0;
}

/* ---- groups, tagOwners, hosts, autoApprovers: objects of named lists ---- */

enum list_kind { LIST_GROUPS, LIST_TAGS, LIST_HOSTS, LIST_ROUTES };

static const struct {
	const char *section;
	const char *prefix; /* what every key starts with, or NULL */
	enum rn_policy_role role;
} list_kinds[] = {
	[LIST_GROUPS] = { "groups", "group:", RN_POLICY_ROLE_MEMBER },
	[LIST_TAGS] = { "tagOwners", "tag:", RN_POLICY_ROLE_OWNER },
	[LIST_HOSTS] = { "hosts", NULL, RN_POLICY_ROLE_SRC },
	[LIST_ROUTES] = { "autoApprovers.routes", NULL, RN_POLICY_ROLE_OWNER },
};

static int list_key(struct rn_policy_parser *p, enum list_kind kind, const char *key, size_t off,
		    struct rn_policy_list *l)
{
	const char *prefix = list_kinds[kind].prefix, *section = list_kinds[kind].section;
	char q[RN_POLICY_QUOTE_LEN];

	l->off = off;
	l->name = strdup(key);
	if (!l->name)
		return -ENOMEM;
	if (prefix &&
	    (!rn_policy_has_prefix(key, prefix) || !rn_policy_valid_name(key + strlen(prefix))))
		return rn_policy_fail(p, off, "bad name %s in %s: names there are %sNAME",
				      rn_policy_quote(key, q, sizeof(q)), section, prefix);
	if (kind == LIST_HOSTS && (!rn_policy_valid_name(key) || looks_like_address(key)))
		return rn_policy_fail(p, off,
				      "bad host name %s in hosts: use a name (no spaces, none of "
				      ": / , [ ] * \" \\, not an address)",
				      rn_policy_quote(key, q, sizeof(q)));
	if (kind != LIST_ROUTES)
		return 0;
	/* A default route here approves exit offers too, as in Tailscale (compile.c). */
	return parse_cidr(p, key, off, section, &l->prefix);
}

static int list_value(struct rn_policy_parser *p, enum list_kind kind, struct rn_policy_cursor m,
		      struct rn_policy_list *l)
{
	char path[RN_POLICY_PATH_LEN], q[RN_POLICY_QUOTE_LEN];
	int ret;

	rn_policy_pathf(path, sizeof(path), "%s[%s]", list_kinds[kind].section,
			rn_policy_quote(l->name, q, sizeof(q)));
	if (kind != LIST_HOSTS)
		return rn_policy_parse_targets(p, m, list_kinds[kind].role, kind != LIST_ROUTES,
					       path, &l->items, &l->n_items);
	ret = rn_policy_want(p, m, JSON_STRING, path);
	if (ret)
		return ret;
	return parse_cidr(p, json_string_value(m.v), rn_policy_val_off(p, m), path, &l->prefix);
}

/*
 * Reads the keys first and the values after, so that a tag may name any tag as an owner, and
 * keys that repeat a host or route once written differently are refused as duplicates.
 */
static int parse_lists(struct rn_policy_parser *p, struct rn_policy_cursor c, enum list_kind kind,
		       struct rn_policy_list **out, size_t *n)
{
	size_t count, child;
	const char *key;
	json_t *v;
	int ret = rn_policy_want(p, c, JSON_OBJECT, list_kinds[kind].section);

	if (ret)
		return ret;
	count = json_object_size(c.v);
	*out = calloc(count ? count : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	child = c.node + 1;
	json_object_foreach(c.v, key, v) {
		struct rn_policy_list *l = &(*out)[*n];
		char q[RN_POLICY_QUOTE_LEN];

		ret = rn_policy_next_child(p, c.node, &child);
		if (!ret)
			ret = list_key(p, kind, key, p->idx.pos[child].key, l);
		(*n)++;
		if (ret)
			return ret;
		for (size_t i = 0; kind == LIST_ROUTES && i + 1 < *n; i++)
			if (rn_filter_prefix_equal(&(*out)[i].prefix, &l->prefix))
				return rn_policy_fail(p, l->off, "%s in %s is the same route as %s",
						      rn_policy_quote(key, q, sizeof(q)),
						      list_kinds[kind].section, (*out)[i].name);
		child = p->idx.pos[child].next;
	}
	child = c.node + 1;
	for (size_t i = 0; i < count; i++) {
		ret = list_value(
		    p, kind,
		    (struct rn_policy_cursor){ json_object_get(c.v, (*out)[i].name), child },
		    &(*out)[i]);
		if (ret)
			return ret;
		child = p->idx.pos[child].next;
	}
	return 0;
}

static int parse_auto_approvers(struct rn_policy_parser *p, struct rn_policy_cursor c)
{
	struct rn_policy *pol = p->pol;
	size_t child = c.node + 1;
	const char *key;
	json_t *v;
	int ret = rn_policy_want(p, c, JSON_OBJECT, "autoApprovers");

	if (ret)
		return ret;
	json_object_foreach(c.v, key, v) {
		struct rn_policy_cursor m = { v, child };
		char q[RN_POLICY_QUOTE_LEN];

		ret = rn_policy_next_child(p, c.node, &child);
		if (ret)
			return ret;
		if (!strcmp(key, "routes"))
			ret = parse_lists(p, m, LIST_ROUTES, &pol->route_approvers,
					  &pol->n_route_approvers);
		else if (!strcmp(key, "exitNode"))
			ret = rn_policy_parse_targets(
			    p, m, RN_POLICY_ROLE_OWNER, true, "autoApprovers.exitNode",
			    &pol->exit_approvers.items, &pol->exit_approvers.n_items);
		else
			ret = rn_policy_fail(
			    p, p->idx.pos[child].key,
			    "unknown key %s in autoApprovers; expected routes or exitNode",
			    rn_policy_quote(key, q, sizeof(q)));
		if (ret)
			return ret;
		child = p->idx.pos[child].next;
	}
	return 0;
}

/* ---- the top level ---- */

static int parse_groups(struct rn_policy_parser *p, struct rn_policy_cursor c)
{
	return parse_lists(p, c, LIST_GROUPS, &p->pol->groups, &p->pol->n_groups);
}

static int parse_tag_owners(struct rn_policy_parser *p, struct rn_policy_cursor c)
{
	return parse_lists(p, c, LIST_TAGS, &p->pol->tag_owners, &p->pol->n_tag_owners);
}

static int parse_hosts(struct rn_policy_parser *p, struct rn_policy_cursor c)
{
	return parse_lists(p, c, LIST_HOSTS, &p->pol->hosts, &p->pol->n_hosts);
}

static int parse_default_posture(struct rn_policy_parser *p, struct rn_policy_cursor c)
{
	return rn_policy_fail(p, p->idx.pos[c.node].key,
			      "defaultSrcPosture limits every grant by device posture, which "
			      "Rustynet cannot check (every grant would grant nothing); remove it");
}

/*
 * The sections, read in this order whatever order the file has them in: each may refer only
 * to the ones before it.
 */
static const struct {
	const char *name;
	int (*parse)(struct rn_policy_parser *p, struct rn_policy_cursor c);
} sections[] = {
	{ "groups", parse_groups },
	{ "tagOwners", parse_tag_owners },
	{ "hosts", parse_hosts },
	{ "ipsets", rn_policy_parse_ipsets },
	{ "postures", rn_policy_parse_postures },
	{ "defaultSrcPosture", parse_default_posture },
	{ "acls", parse_acls },
	{ "grants", rn_policy_parse_grants },
	{ "autoApprovers", parse_auto_approvers },
	{ "tests", rn_policy_parse_tests },
	{ "ssh", rn_policy_parse_ssh },
	{ "nodeAttrs", rn_policy_parse_node_attrs },
	{ "sshTests", rn_policy_parse_ssh_tests },
	{ "randomizeClientPort", rn_policy_parse_randomize_port },
	{ "derpMap", rn_policy_parse_derp_map },
	{ "OneCGNATRoute", rn_policy_parse_one_cgnat },
	{ "disableIPv4", rn_policy_parse_disable_ipv4 },
};
#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))

static int parse_top(struct rn_policy_parser *p, json_t *root)
{
	struct rn_policy_cursor found[N_SECTIONS] = { 0 };
	size_t child = 1;
	const char *key;
	json_t *v;
	int ret;

	if (!json_is_object(root))
		return rn_policy_fail(p, p->idx.pos[0].val, "a policy is a JSON object, not %s",
				      kind_of(root));
	json_object_foreach(root, key, v) {
		char q[RN_POLICY_QUOTE_LEN];
		size_t s = 0;

		ret = rn_policy_next_child(p, 0, &child);
		if (ret)
			return ret;
		while (s < N_SECTIONS && strcmp(key, sections[s].name))
			s++;
		if (s == N_SECTIONS)
			return rn_policy_fail(
			    p, p->idx.pos[child].key,
			    "unknown key %s at the top level; expected groups, tagOwners, "
			    "hosts, ipsets, postures, acls, grants, autoApprovers, tests, ssh, "
			    "sshTests, nodeAttrs, randomizeClientPort, derpMap, OneCGNATRoute "
			    "or disableIPv4",
			    rn_policy_quote(key, q, sizeof(q)));
		found[s] = (struct rn_policy_cursor){ v, child };
		child = p->idx.pos[child].next;
	}
	for (size_t s = 0; s < N_SECTIONS; s++) {
		ret = found[s].v ? sections[s].parse(p, found[s]) : 0;
		if (ret)
			return ret;
	}
	return 0;
}

static void free_targets(struct rn_policy_target *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(t[i].name);
	free(t);
}

static void free_lists(struct rn_policy_list *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(l[i].name);
		free_targets(l[i].items, l[i].n_items);
	}
	free(l);
}

void rn_policy_free(struct rn_policy *pol)
{
	if (!pol)
		return;
	for (size_t i = 0; i < pol->n_acls; i++) {
		struct rn_policy_acl *a = &pol->acls[i];

		free_targets(a->src, a->n_src);
		free_targets(a->via, a->n_via);
		for (size_t j = 0; j < a->n_dst; j++) {
			free(a->dst[j].target.name);
			free(a->dst[j].ports);
		}
		free(a->dst);
	}
	free(pol->acls);
	rn_policy_tests_free(pol);
	free_lists(pol->groups, pol->n_groups);
	free_lists(pol->tag_owners, pol->n_tag_owners);
	free_lists(pol->hosts, pol->n_hosts);
	rn_policy_ipsets_free(pol);
	free_lists(pol->postures, pol->n_postures);
	free_lists(pol->route_approvers, pol->n_route_approvers);
	free_targets(pol->exit_approvers.items, pol->exit_approvers.n_items);
	for (size_t i = 0; i < pol->n_notes; i++)
		free(pol->notes[i]);
	free(pol->notes);
	free(pol->filename);
	free(pol->text);
	free(pol);
}

static int parse_text(struct rn_policy_parser *p)
{
	struct rn_policy *pol = p->pol;
	json_error_t jerr;
	json_t *root;
	size_t bad;
	int ret;

	bad = strnlen(pol->text, pol->len);
	if (bad < pol->len)
		return rn_policy_fail(p, bad, "NUL byte in the policy: a policy is UTF-8 text");
	if (rn_hujson_standardize(pol->text, pol->len, &bad))
		return rn_policy_fail(p, bad, "unterminated /* comment: close it with */");
	root = json_loadb(pol->text, pol->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return rn_policy_errorf_lc(
		    p->err, pol->filename, (unsigned)(jerr.line > 0 ? jerr.line : 1),
		    (unsigned)(jerr.column > 0 ? jerr.column : 1), "bad JSON: %s", jerr.text);
	ret = rn_hujson_index_build(pol->text, pol->len, &p->idx);
	if (ret == -EINVAL)
		ret = rn_policy_fail(p, RN_POLICY_NO_POS,
				     "internal error: jansson and the index disagree");
	if (!ret)
		ret = parse_top(p, root);
	json_decref(root);
	rn_hujson_index_free(&p->idx);
	return ret;
}

int rn_policy_parse(const char *buf, size_t len, const char *filename, struct rn_policy **out,
		    struct rn_policy_error *err)
{
	struct rn_policy_parser p = { .err = err };
	int ret = -ENOMEM;

	*out = NULL;
	if (err)
		memset(err, 0, sizeof(*err));
	p.pol = calloc(1, sizeof(*p.pol));
	if (!p.pol)
		goto fail;
	p.pol->filename = strdup(filename ? filename : "policy");
	p.pol->text = malloc(len + 1);
	if (!p.pol->filename || !p.pol->text)
		goto fail;
	if (len)
		memcpy(p.pol->text, buf, len);
	p.pol->text[len] = '\0';
	p.pol->len = len;
	ret = parse_text(&p);
	if (ret)
		goto fail;
	*out = p.pol;
	return 0;
fail:
	if (ret == -ENOMEM)
		rn_policy_errorf(err, filename ? filename : "policy", NULL, 0, RN_POLICY_NO_POS,
				 "out of memory");
	rn_policy_free(p.pol);
	return ret;
}

static const char default_text[] =
    "// Rustynet network policy. This is HuJSON: JSON with // comments and trailing commas.\n"
    "// See docs/policy.md for the whole format.\n"
    "//\n"
    "// This starter policy lets every node reach every other node, on every port and protocol.\n"
    "// Nothing else is allowed: no exit node use and no LAN (subnet route) access, until a rule\n"
    "// grants it by name. To narrow access, replace the rule in \"acls\" with narrower ones, "
    "e.g.\n"
    "//   {\"action\": \"accept\", \"src\": [\"group:eng\"], \"dst\": [\"tag:server:22,443\"]},\n"
    "// To let everyone use approved exit nodes, add\n"
    "//   {\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"autogroup:internet:*\"]},\n"
    "// Check a change with `rustynet-control policy check FILE` before `policy set FILE`.\n"
    "{\n"
    "\t\"groups\": {},\n"
    "\t\"tagOwners\": {},\n"
    "\t\"hosts\": {},\n"
    "\t\"acls\": [\n"
    "\t\t{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"]},\n"
    "\t],\n"
    "\t\"autoApprovers\": {\"routes\": {}, \"exitNode\": []},\n"
    "}\n";

const char *rn_policy_default_text(void)
{
	return default_text;
}
