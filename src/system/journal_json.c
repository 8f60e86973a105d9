/* SPDX-License-Identifier: MIT */
/*
 * The journal's JSON form, one object per entry. Decoding is strict (unknown keys, wrong
 * types, out-of-range numbers and malformed names are refused) because what it yields is
 * handed to the kernel as root: a damaged file must stop a restart, not steer it.
 */
#include "system/journal.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const struct {
	uint8_t type;
	const char *name;
} route_types[] = {
	{ RTN_UNICAST, "unicast" },
	{ RTN_BLACKHOLE, "blackhole" },
	{ RTN_UNREACHABLE, "unreachable" },
	{ RTN_THROW, "throw" },
};

static const char *const kind_names[] = {
	[RN_JOURNAL_ADDR] = "addr",	      [RN_JOURNAL_ROUTE] = "route",
	[RN_JOURNAL_RULE] = "rule",	      [RN_JOURNAL_LINK_UP] = "link_up",
	[RN_JOURNAL_LINK_MTU] = "link_mtu",   [RN_JOURNAL_SYSCTL] = "sysctl",
	[RN_JOURNAL_NFT_TABLE] = "nft_table",
};

static const char *route_type_name(uint8_t type)
{
	for (size_t i = 0; i < sizeof(route_types) / sizeof(route_types[0]); i++)
		if (route_types[i].type == type)
			return route_types[i].name;
	return "unknown";
}

static const char *family_name(uint8_t family)
{
	return family == AF_INET6 ? "inet6" : "inet";
}

bool rn_journal_group_ok(const char *group)
{
	size_t n = strnlen(group, RN_JOURNAL_GROUP_MAX);

	if (n == 0 || n >= RN_JOURNAL_GROUP_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = group[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

bool rn_journal_sysctl_key_ok(const char *key)
{
	char path[RN_SYSCTL_KEY_MAX + 16];

	return !strncmp(key, "net.", 4) && rn_sysctl_path(key, path, sizeof(path)) == 0;
}

/* ---- encoding ---- */

static json_t *route_to_json(const struct rn_nl_route *r)
{
	char dst[RN_IPADDR_STRLEN], gw[RN_IPADDR_STRLEN];
	json_t *o =
	    json_pack("{s:s, s:I, s:s, s:i, s:I}", "dst", rn_ipaddr_format_prefix(&r->dst, dst),
		      "table", (json_int_t)r->table, "type", route_type_name(r->type), "protocol",
		      r->protocol, "metric", (json_int_t)r->metric);

	if (o && r->dev[0])
		json_object_set_new(o, "dev", json_string(r->dev));
	if (o && r->gateway.family)
		json_object_set_new(o, "gateway", json_string(rn_ipaddr_format(&r->gateway, gw)));
	return o;
}

static json_t *rule_to_json(const struct rn_nl_rule *r)
{
	char to[RN_IPADDR_STRLEN];
	json_t *o = json_pack("{s:s, s:I, s:I, s:i, s:b}", "family", family_name(r->family),
			      "priority", (json_int_t)r->priority, "table", (json_int_t)r->table,
			      "protocol", r->protocol, "invert", r->invert);

	if (o && r->fwmask) {
		json_object_set_new(o, "fwmark", json_integer(r->fwmark));
		json_object_set_new(o, "fwmask", json_integer(r->fwmask));
	}
	if (o && r->suppress)
		json_object_set_new(o, "suppress_prefixlength",
				    json_integer(r->suppress_prefixlen));
	if (o && r->dst.len)
		json_object_set_new(o, "to", json_string(rn_ipaddr_format_prefix(&r->dst, to)));
	return o;
}

static json_t *body_to_json(const struct rn_journal_entry *e)
{
	char buf[RN_IPADDR_STRLEN];

	switch (e->kind) {
	case RN_JOURNAL_ADDR:
		return json_pack("{s:s, s:s, s:i}", "dev", e->addr.dev, "prefix",
				 rn_ipaddr_format_prefix(&e->addr.prefix, buf), "protocol",
				 e->addr.protocol);
	case RN_JOURNAL_ROUTE:
		return route_to_json(&e->route);
	case RN_JOURNAL_RULE:
		return rule_to_json(&e->rule);
	case RN_JOURNAL_LINK_UP:
		return json_pack("{s:s, s:b, s:b}", "dev", e->link_up.dev, "up", e->link_up.up,
				 "prev_up", e->link_up.prev_up);
	case RN_JOURNAL_LINK_MTU:
		return json_pack("{s:s, s:I, s:I}", "dev", e->link_mtu.dev, "mtu",
				 (json_int_t)e->link_mtu.mtu, "prev_mtu",
				 (json_int_t)e->link_mtu.prev_mtu);
	case RN_JOURNAL_SYSCTL:
		return json_pack("{s:s, s:s, s:s}", "key", e->sysctl.key, "value", e->sysctl.value,
				 "prev", e->sysctl.prev);
	case RN_JOURNAL_NFT_TABLE:
		return json_pack("{s:s, s:s}", "family", e->nft_table.family, "name",
				 e->nft_table.name);
	}
	return NULL;
}

/* "group" and "kind" lead, so that a person reading the file sees them first. */
json_t *rn_journal_entry_to_json(const struct rn_journal_entry *e)
{
	json_t *o, *body;

	if (e->kind < RN_JOURNAL_ADDR || e->kind > RN_JOURNAL_NFT_TABLE)
		return NULL;
	o = json_pack("{s:s, s:s}", "group", e->group, "kind", kind_names[e->kind]);
	body = body_to_json(e);
	if (!o || !body || json_object_update(o, body)) {
		json_decref(o);
		o = NULL;
	}
	json_decref(body);
	return o;
}

/* ---- decoding ---- */

struct decode {
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct decode *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->err, d->errlen, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

static bool u32_ok(json_int_t v, uint32_t min, uint32_t *out)
{
	if (v < (json_int_t)min || v > (json_int_t)UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size);

	if (n >= size)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

static bool dev_ok(char *dst, const char *src)
{
	return copy_str(dst, IFNAMSIZ, src) && dst[0] && !strchr(dst, '/');
}

static int unpack(struct decode *d, const json_t *o, const char *fmt, ...)
{
	json_error_t jerr;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = json_vunpack_ex((json_t *)o, &jerr, 0, fmt, ap);
	va_end(ap);
	return rc ? fail(d, "%s", jerr.text) : 0;
}

static int addr_from_json(struct decode *d, const json_t *o, struct rn_nl_addr *a)
{
	const char *group, *kind, *dev, *prefix;
	json_int_t proto;
	int err = unpack(d, o, "{s:s, s:s, s:s, s:s, s:I !}", "group", &group, "kind", &kind, "dev",
			 &dev, "prefix", &prefix, "protocol", &proto);

	if (err)
		return err;
	if (!dev_ok(a->dev, dev))
		return fail(d, "bad interface name \"%s\"", dev);
	if (!rn_ipaddr_parse_prefix(prefix, &a->prefix))
		return fail(d, "bad prefix \"%s\"", prefix);
	if (proto < 1 || proto > 255)
		return fail(d, "bad protocol %lld", (long long)proto);
	a->protocol = (uint8_t)proto;
	return 0;
}

static int route_type_parse(struct decode *d, const char *name, uint8_t *type)
{
	for (size_t i = 0; i < sizeof(route_types) / sizeof(route_types[0]); i++) {
		if (!strcmp(route_types[i].name, name)) {
			*type = route_types[i].type;
			return 0;
		}
	}
	return fail(d, "unknown route type \"%s\"", name);
}

static int route_from_json(struct decode *d, const json_t *o, struct rn_nl_route *r)
{
	const char *group, *kind, *dst, *type, *dev = NULL, *gw = NULL;
	json_int_t table, proto, metric;
	int err = unpack(d, o, "{s:s, s:s, s:s, s:I, s:s, s:I, s:I, s?s, s?s !}", "group", &group,
			 "kind", &kind, "dst", &dst, "table", &table, "type", &type, "protocol",
			 &proto, "metric", &metric, "dev", &dev, "gateway", &gw);

	if (err || (err = route_type_parse(d, type, &r->type)))
		return err;
	if (!rn_ipaddr_parse_prefix(dst, &r->dst))
		return fail(d, "bad destination \"%s\"", dst);
	if (!u32_ok(table, 1, &r->table) || !u32_ok(metric, 0, &r->metric))
		return fail(d, "table or metric out of range");
	if (proto < 1 || proto > 255)
		return fail(d, "bad protocol %lld", (long long)proto);
	r->protocol = (uint8_t)proto;
	if (dev && !dev_ok(r->dev, dev))
		return fail(d, "bad interface name \"%s\"", dev);
	if (gw && (!rn_ipaddr_parse(gw, &r->gateway) || r->gateway.family != r->dst.addr.family))
		return fail(d, "bad gateway \"%s\"", gw);
	return 0;
}

static int rule_from_json(struct decode *d, const json_t *o, struct rn_nl_rule *r)
{
	const char *group, *kind, *family, *to = NULL;
	json_int_t prio, table, proto, mark = 0, mask = 0, supp = -1;
	int invert;
	int err = unpack(d, o, "{s:s, s:s, s:s, s:I, s:I, s:I, s:b, s?I, s?I, s?I, s?s !}", "group",
			 &group, "kind", &kind, "family", &family, "priority", &prio, "table",
			 &table, "protocol", &proto, "invert", &invert, "fwmark", &mark, "fwmask",
			 &mask, "suppress_prefixlength", &supp, "to", &to);

	if (err)
		return err;
	if (strcmp(family, "inet") && strcmp(family, "inet6"))
		return fail(d, "bad family \"%s\"", family);
	r->family = strcmp(family, "inet6") ? AF_INET : AF_INET6;
	if (!u32_ok(prio, 1, &r->priority) || !u32_ok(table, 1, &r->table) ||
	    !u32_ok(mark, 0, &r->fwmark) || !u32_ok(mask, 0, &r->fwmask))
		return fail(d, "priority, table or fwmark out of range");
	if (proto < 1 || proto > 255)
		return fail(d, "bad protocol %lld", (long long)proto);
	if (supp < -1 || supp > (json_int_t)rn_ipaddr_size(r->family) * 8)
		return fail(d, "bad suppress_prefixlength %lld", (long long)supp);
	r->protocol = (uint8_t)proto;
	r->invert = invert;
	r->suppress = supp >= 0;
	r->suppress_prefixlen = r->suppress ? (uint8_t)supp : 0;
	if (to && (!rn_ipaddr_parse_prefix(to, &r->dst) || r->dst.addr.family != r->family ||
		   !r->dst.len))
		return fail(d, "bad rule destination \"%s\"", to);
	rn_nl_rule_normalize(r);
	return 0;
}

static int link_from_json(struct decode *d, const json_t *o, struct rn_journal_entry *e)
{
	const char *group, *kind, *dev;
	json_int_t mtu, prev;
	int up, prev_up, err;

	if (e->kind == RN_JOURNAL_LINK_UP) {
		err = unpack(d, o, "{s:s, s:s, s:s, s:b, s:b !}", "group", &group, "kind", &kind,
			     "dev", &dev, "up", &up, "prev_up", &prev_up);
		if (err)
			return err;
		e->link_up.up = up;
		e->link_up.prev_up = prev_up;
		return dev_ok(e->link_up.dev, dev) ? 0 : fail(d, "bad interface \"%s\"", dev);
	}
	err = unpack(d, o, "{s:s, s:s, s:s, s:I, s:I !}", "group", &group, "kind", &kind, "dev",
		     &dev, "mtu", &mtu, "prev_mtu", &prev);
	if (err)
		return err;
	if (!u32_ok(mtu, 1, &e->link_mtu.mtu) || !u32_ok(prev, 1, &e->link_mtu.prev_mtu))
		return fail(d, "mtu out of range");
	return dev_ok(e->link_mtu.dev, dev) ? 0 : fail(d, "bad interface \"%s\"", dev);
}

static bool value_ok(char *dst, const char *src)
{
	return copy_str(dst, RN_SYSCTL_VALUE_MAX, src) && !strchr(dst, '\n');
}

static int sysctl_from_json(struct decode *d, const json_t *o, struct rn_journal_sysctl *s)
{
	const char *group, *kind, *key, *value, *prev;
	int err = unpack(d, o, "{s:s, s:s, s:s, s:s, s:s !}", "group", &group, "kind", &kind, "key",
			 &key, "value", &value, "prev", &prev);

	if (err)
		return err;
	if (!copy_str(s->key, sizeof(s->key), key) || !rn_journal_sysctl_key_ok(key))
		return fail(d, "bad sysctl key \"%s\"", key);
	if (!value_ok(s->value, value) || !value_ok(s->prev, prev))
		return fail(d, "bad sysctl value for \"%s\"", key);
	return 0;
}

static int nft_table_from_json(struct decode *d, const json_t *o, struct rn_journal_nft_table *t)
{
	const char *group, *kind, *family, *name;
	int err = unpack(d, o, "{s:s, s:s, s:s, s:s !}", "group", &group, "kind", &kind, "family",
			 &family, "name", &name);

	if (err)
		return err;
	if (!rn_nft_family_ok(family) || !copy_str(t->family, sizeof(t->family), family))
		return fail(d, "bad nft family \"%.16s\"", family);
	if (!rn_nft_name_ok(name) || !copy_str(t->name, sizeof(t->name), name))
		return fail(
		    d, "bad nft table name \"%.80s\": ours start with \"" RN_NFT_PREFIX "\"", name);
	return 0;
}

static int kind_parse(struct decode *d, const char *name, enum rn_journal_kind *kind)
{
	for (size_t i = 1; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
		if (!strcmp(kind_names[i], name)) {
			*kind = (enum rn_journal_kind)i;
			return 0;
		}
	}
	return fail(d, "unknown kind \"%s\"", name);
}

int rn_journal_entry_from_json(const json_t *obj, struct rn_journal_entry *e, char *err,
			       size_t errlen)
{
	struct decode d = { err, errlen };
	const char *group = json_string_value(json_object_get(obj, "group"));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	int rc;

	memset(e, 0, sizeof(*e));
	if (!json_is_object(obj) || !group || !kind)
		return fail(&d, "not an object with a \"group\" and a \"kind\"");
	if (!rn_journal_group_ok(group))
		return fail(&d, "bad group \"%s\"", group);
	strcpy(e->group, group);
	rc = kind_parse(&d, kind, &e->kind);
	if (rc)
		return rc;
	switch (e->kind) {
	case RN_JOURNAL_ADDR:
		return addr_from_json(&d, obj, &e->addr);
	case RN_JOURNAL_ROUTE:
		return route_from_json(&d, obj, &e->route);
	case RN_JOURNAL_RULE:
		return rule_from_json(&d, obj, &e->rule);
	case RN_JOURNAL_LINK_UP:
	case RN_JOURNAL_LINK_MTU:
		return link_from_json(&d, obj, e);
	case RN_JOURNAL_SYSCTL:
		return sysctl_from_json(&d, obj, &e->sysctl);
	case RN_JOURNAL_NFT_TABLE:
		return nft_table_from_json(&d, obj, &e->nft_table);
	}
	return fail(&d, "unknown kind");
}

/* ---- text ---- */

static void describe_route(const struct rn_nl_route *r, char *buf, size_t len)
{
	char dst[RN_IPADDR_STRLEN], gw[RN_IPADDR_STRLEN];

	snprintf(buf, len, "route %s %s table %u%s%s%s%s metric %u", route_type_name(r->type),
		 rn_ipaddr_format_prefix(&r->dst, dst), r->table, r->gateway.family ? " via " : "",
		 rn_ipaddr_format(&r->gateway, gw), r->dev[0] ? " dev " : "", r->dev, r->metric);
}

static void describe_rule(const struct rn_nl_rule *r, char *buf, size_t len)
{
	char mark[40] = "", supp[40] = "", to[RN_IPADDR_STRLEN + 4] = "", dst[RN_IPADDR_STRLEN];

	if (r->fwmask)
		snprintf(mark, sizeof(mark), " fwmark 0x%x/0x%x", r->fwmark, r->fwmask);
	if (r->suppress)
		snprintf(supp, sizeof(supp), " suppress_prefixlength %u", r->suppress_prefixlen);
	if (r->dst.len)
		snprintf(to, sizeof(to), " to %s", rn_ipaddr_format_prefix(&r->dst, dst));
	snprintf(buf, len, "rule %s priority %u%s%s%s lookup %u%s", family_name(r->family),
		 r->priority, r->invert ? " not" : "", mark, to, r->table, supp);
}

const char *rn_journal_describe(const struct rn_journal_entry *e, char *buf, size_t len)
{
	char body[RN_SYSCTL_KEY_MAX + 2 * RN_SYSCTL_VALUE_MAX + 32], p[RN_IPADDR_STRLEN];

	switch (e->kind) {
	case RN_JOURNAL_ADDR:
		snprintf(body, sizeof(body), "address %s dev %s",
			 rn_ipaddr_format_prefix(&e->addr.prefix, p), e->addr.dev);
		break;
	case RN_JOURNAL_ROUTE:
		describe_route(&e->route, body, sizeof(body));
		break;
	case RN_JOURNAL_RULE:
		describe_rule(&e->rule, body, sizeof(body));
		break;
	case RN_JOURNAL_LINK_UP:
		snprintf(body, sizeof(body), "link %s %s (was %s)", e->link_up.dev,
			 e->link_up.up ? "up" : "down", e->link_up.prev_up ? "up" : "down");
		break;
	case RN_JOURNAL_LINK_MTU:
		snprintf(body, sizeof(body), "link %s mtu %u (was %u)", e->link_mtu.dev,
			 e->link_mtu.mtu, e->link_mtu.prev_mtu);
		break;
	case RN_JOURNAL_SYSCTL:
		snprintf(body, sizeof(body), "sysctl %s=%s (was %s)", e->sysctl.key,
			 e->sysctl.value, e->sysctl.prev);
		break;
	case RN_JOURNAL_NFT_TABLE:
		snprintf(body, sizeof(body), "nft table %s %s", e->nft_table.family,
			 e->nft_table.name);
		break;
	default:
		snprintf(body, sizeof(body), "entry of unknown kind %d", (int)e->kind);
	}
	snprintf(buf, len, "%s [%s]", body, e->group);
	return buf;
}
