/* SPDX-License-Identifier: MIT */
/*
 * Routes, policy rules and route lookups over rtnetlink. Adds use NLM_F_EXCL so that an
 * existing object is reported (-EEXIST) instead of silently duplicated (rules) or replaced;
 * deletes send the same attributes as the add, protocol tag included, so they remove exactly
 * the object we installed and never a look-alike someone else put there.
 */
#include "system/netlink_priv.h"

#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ---- routes ---- */

void rn_nl_route_normalize(struct rn_nl_route *r)
{
	if (!r->table)
		r->table = RT_TABLE_MAIN;
	if (!r->type)
		r->type = RTN_UNICAST;
	if (!r->protocol)
		r->protocol = RN_RTPROT;
}

bool rn_nl_route_equal(const struct rn_nl_route *a, const struct rn_nl_route *b)
{
	return rn_ipaddr_prefix_equal(&a->dst, &b->dst) && a->table == b->table &&
	       !strncmp(a->dev, b->dev, IFNAMSIZ) && rn_ipaddr_equal(&a->gateway, &b->gateway) &&
	       a->metric == b->metric && a->type == b->type && a->protocol == b->protocol;
}

static bool route_valid(const struct rn_nl_route *r)
{
	size_t alen = rn_ipaddr_size(r->dst.addr.family);

	if (!alen || r->dst.len > alen * 8)
		return false;
	if (r->gateway.family && r->gateway.family != r->dst.addr.family)
		return false;
	switch (r->type) {
	case RTN_UNSPEC:
	case RTN_UNICAST:
		return r->dev[0] || r->gateway.family;
	case RTN_BLACKHOLE:
	case RTN_UNREACHABLE:
	case RTN_THROW:
		return !r->gateway.family;
	default:
		return false;
	}
}

static int route_request(struct rn_nl *nl, const struct rn_nl_route *r, bool add)
{
	uint32_t table = r->table ? r->table : RT_TABLE_MAIN;
	union rn_nl_req req;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int index = 0, err;

	if (!route_valid(r))
		return -EINVAL;
	if (r->dev[0]) {
		err = rn_nl_link_index(nl, r->dev, &index);
		if (err)
			return err;
	}
	nlh = rn_nl_req_start(&req, add ? RTM_NEWROUTE : RTM_DELROUTE,
			      add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = r->dst.addr.family;
	rtm->rtm_dst_len = r->dst.len;
	rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = r->protocol ? r->protocol : RN_RTPROT;
	rtm->rtm_type = r->type ? r->type : RTN_UNICAST;
	/* As iproute2 does: a delete matches any scope; a unicast route without a gateway is
	 * on-link. */
	if (!add)
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
	else if (rtm->rtm_type == RTN_UNICAST && !r->gateway.family)
		rtm->rtm_scope = RT_SCOPE_LINK;
	else
		rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	if (r->dst.len)
		rn_nl_put_ip(nlh, RTA_DST, &r->dst.addr);
	if (index)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)index);
	if (r->gateway.family)
		rn_nl_put_ip(nlh, RTA_GATEWAY, &r->gateway);
	if (r->metric)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, r->metric);
	return rn_nl_transact(nl, nlh, NULL, NULL);
}

int rn_nl_route_add(struct rn_nl *nl, const struct rn_nl_route *r)
{
	return route_request(nl, r, true);
}

int rn_nl_route_del(struct rn_nl *nl, const struct rn_nl_route *r)
{
	return route_request(nl, r, false);
}

static int route_parse_attr(const struct nlattr *attr, uint8_t family, struct rn_nl_route *r)
{
	uint32_t u;

	switch (mnl_attr_get_type(attr)) {
	case RTA_TABLE:
		return rn_nl_get_u32(attr, &r->table) ? 0 : -EBADMSG;
	case RTA_DST:
		return rn_nl_get_ip(attr, family, &r->dst.addr) ? 0 : -EBADMSG;
	case RTA_GATEWAY:
		return rn_nl_get_ip(attr, family, &r->gateway) ? 0 : -EBADMSG;
	case RTA_PRIORITY:
		return rn_nl_get_u32(attr, &r->metric) ? 0 : -EBADMSG;
	case RTA_OIF:
		if (!rn_nl_get_u32(attr, &u))
			return -EBADMSG;
		r->oif = (int)u;
		return 0;
	}
	return 0;
}

static int route_parse(const struct nlmsghdr *nlh, struct rn_nl_route *r)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	int err;

	/* A default route carries no RTA_DST: its address stays all zeros of the family. */
	memset(r, 0, sizeof(*r));
	r->dst.addr.family = rtm->rtm_family;
	r->dst.len = rtm->rtm_dst_len;
	r->table = rtm->rtm_table;
	r->type = rtm->rtm_type;
	r->protocol = rtm->rtm_protocol;
	r->scope = rtm->rtm_scope;
	mnl_attr_for_each(attr, nlh, sizeof(*rtm)) {
		err = route_parse_attr(attr, rtm->rtm_family, r);
		if (err)
			return err;
	}
	return 0;
}

struct route_dump {
	const struct rn_nl_filter *f;
	struct rn_nl_vec vec;
};

static int route_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_dump *d = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct rn_nl_route r;
	int err;

	if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return -EBADMSG;
	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return 0;
	if ((d->f->family && rtm->rtm_family != d->f->family) || (rtm->rtm_flags & RTM_F_CLONED))
		return 0;
	if (d->f->protocol && rtm->rtm_protocol != d->f->protocol)
		return 0;
	err = route_parse(nlh, &r);
	if (err)
		return err;
	if (d->f->table && r.table != d->f->table)
		return 0;
	return rn_nl_vec_push(&d->vec, &r);
}

static int route_dump_once(struct rn_nl *nl, struct route_dump *d)
{
	union rn_nl_req req;
	struct nlmsghdr *nlh = rn_nl_req_start(&req, RTM_GETROUTE, NLM_F_DUMP);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = d->f->family;
	d->vec.n = 0;
	return rn_nl_transact(nl, nlh, route_dump_cb, d);
}

int rn_nl_route_list(struct rn_nl *nl, const struct rn_nl_filter *f, struct rn_nl_route **out,
		     size_t *n)
{
	static const struct rn_nl_filter any;
	struct route_dump d = { .f = f ? f : &any, .vec = { .size = sizeof(**out) } };
	struct rn_nl_route *r;
	int err, tries = 0;

	do
		err = route_dump_once(nl, &d);
	while (err == -EAGAIN && ++tries < RN_NL_DUMP_TRIES);
	for (size_t i = 0; !err && i < d.vec.n; i++) {
		r = (struct rn_nl_route *)d.vec.items + i;
		err = rn_nl_index_name(nl, r->oif, r->dev);
	}
	if (err) {
		free(d.vec.items);
		return err;
	}
	*out = d.vec.items;
	*n = d.vec.n;
	return 0;
}

/* ---- route lookup ---- */

static int route_get_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rn_nl_route_info *info = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	uint32_t u;

	if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return -EBADMSG;
	info->type = rtm->rtm_type;
	info->table = rtm->rtm_table;
	mnl_attr_for_each(attr, nlh, sizeof(*rtm)) {
		bool ok = true;

		switch (mnl_attr_get_type(attr)) {
		case RTA_TABLE:
			ok = rn_nl_get_u32(attr, &info->table);
			break;
		case RTA_OIF:
			ok = rn_nl_get_u32(attr, &u);
			info->oif = (int)u;
			break;
		case RTA_GATEWAY:
			ok = rn_nl_get_ip(attr, rtm->rtm_family, &info->gateway);
			break;
		case RTA_PREFSRC:
			ok = rn_nl_get_ip(attr, rtm->rtm_family, &info->prefsrc);
			break;
		}
		if (!ok)
			return -EBADMSG;
	}
	return 0;
}

int rn_nl_route_get(struct rn_nl *nl, const struct rn_ip *dst, uint32_t mark,
		    struct rn_nl_route_info *out)
{
	size_t alen = rn_ipaddr_size(dst->family);
	union rn_nl_req req;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int err;

	memset(out, 0, sizeof(*out));
	if (!alen)
		return -EINVAL;
	nlh = rn_nl_req_start(&req, RTM_GETROUTE, 0);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = dst->family;
	rtm->rtm_dst_len = (uint8_t)(alen * 8);
	/* Report the table the lookup ended in, not the one the cached result lives in. */
	rtm->rtm_flags = RTM_F_LOOKUP_TABLE;
	rn_nl_put_ip(nlh, RTA_DST, dst);
	if (mark)
		mnl_attr_put_u32(nlh, RTA_MARK, mark);
	err = rn_nl_transact(nl, nlh, route_get_cb, out);
	if (err)
		return err;
	return rn_nl_index_name(nl, out->oif, out->dev);
}

/* ---- rules ---- */

void rn_nl_rule_normalize(struct rn_nl_rule *r)
{
	if (!r->table)
		r->table = RT_TABLE_MAIN;
	if (!r->protocol)
		r->protocol = RN_RTPROT;
	if (!r->fwmask)
		r->fwmark = 0;
	if (!r->suppress)
		r->suppress_prefixlen = 0;
	if (!r->dst.len)
		memset(&r->dst, 0, sizeof(r->dst));
}

bool rn_nl_rule_equal(const struct rn_nl_rule *a, const struct rn_nl_rule *b)
{
	return a->family == b->family && a->priority == b->priority && a->table == b->table &&
	       a->fwmark == b->fwmark && a->fwmask == b->fwmask && a->suppress == b->suppress &&
	       a->suppress_prefixlen == b->suppress_prefixlen && a->invert == b->invert &&
	       a->protocol == b->protocol && rn_ipaddr_prefix_equal(&a->dst, &b->dst);
}

static int rule_request(struct rn_nl *nl, const struct rn_nl_rule *r, bool add)
{
	uint32_t table = r->table ? r->table : RT_TABLE_MAIN;
	union rn_nl_req req;
	struct nlmsghdr *nlh;
	struct fib_rule_hdr *frh;

	if ((r->family != AF_INET && r->family != AF_INET6) || !r->priority)
		return -EINVAL;
	if (r->suppress && r->suppress_prefixlen > rn_ipaddr_size(r->family) * 8)
		return -EINVAL;
	if (r->dst.len &&
	    (r->dst.addr.family != r->family || r->dst.len > rn_ipaddr_size(r->family) * 8))
		return -EINVAL;
	nlh = rn_nl_req_start(&req, add ? RTM_NEWRULE : RTM_DELRULE,
			      add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = r->family;
	frh->action = FR_ACT_TO_TBL;
	frh->table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	frh->flags = r->invert ? FIB_RULE_INVERT : 0;
	frh->dst_len = r->dst.len;
	mnl_attr_put_u32(nlh, FRA_PRIORITY, r->priority);
	if (r->dst.len)
		rn_nl_put_ip(nlh, FRA_DST, &r->dst.addr);
	mnl_attr_put_u32(nlh, FRA_TABLE, table);
	if (r->fwmask) {
		mnl_attr_put_u32(nlh, FRA_FWMARK, r->fwmark);
		mnl_attr_put_u32(nlh, FRA_FWMASK, r->fwmask);
	}
	if (r->suppress)
		mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, r->suppress_prefixlen);
	mnl_attr_put_u8(nlh, FRA_PROTOCOL, r->protocol ? r->protocol : RN_RTPROT);
	return rn_nl_transact(nl, nlh, NULL, NULL);
}

int rn_nl_rule_add(struct rn_nl *nl, const struct rn_nl_rule *r)
{
	return rule_request(nl, r, true);
}

int rn_nl_rule_del(struct rn_nl *nl, const struct rn_nl_rule *r)
{
	return rule_request(nl, r, false);
}

static int rule_parse_attr(const struct nlattr *attr, struct rn_nl_rule *r)
{
	uint32_t u;

	switch (mnl_attr_get_type(attr)) {
	case FRA_PRIORITY:
		return rn_nl_get_u32(attr, &r->priority) ? 0 : -EBADMSG;
	case FRA_TABLE:
		return rn_nl_get_u32(attr, &r->table) ? 0 : -EBADMSG;
	case FRA_FWMARK:
		return rn_nl_get_u32(attr, &r->fwmark) ? 0 : -EBADMSG;
	case FRA_FWMASK:
		return rn_nl_get_u32(attr, &r->fwmask) ? 0 : -EBADMSG;
	case FRA_DST:
		return rn_nl_get_ip(attr, r->family, &r->dst.addr) ? 0 : -EBADMSG;
	case FRA_SUPPRESS_PREFIXLEN:
		if (!rn_nl_get_u32(attr, &u))
			return -EBADMSG;
		/* The kernel reports -1 (all ones) for "not set". */
		r->suppress = u <= 128;
		r->suppress_prefixlen = r->suppress ? (uint8_t)u : 0;
		return 0;
	case FRA_PROTOCOL:
		if (mnl_attr_validate(attr, MNL_TYPE_U8) < 0)
			return -EBADMSG;
		r->protocol = mnl_attr_get_u8(attr);
		return 0;
	}
	return 0;
}

struct rule_dump {
	const struct rn_nl_filter *f;
	struct rn_nl_vec vec;
};

static bool rule_match(const struct rn_nl_filter *f, const struct rn_nl_rule *r)
{
	if (f->protocol && r->protocol != f->protocol)
		return false;
	if (f->table && r->table != f->table)
		return false;
	if (!f->prio_min && !f->prio_max)
		return true;
	return r->priority >= f->prio_min && r->priority <= f->prio_max;
}

static int rule_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rule_dump *d = data;
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	struct rn_nl_rule r = { 0 };
	int err;

	if (nlh->nlmsg_type != RTM_NEWRULE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*frh))
		return -EBADMSG;
	if (frh->family != AF_INET && frh->family != AF_INET6)
		return 0;
	if (d->f->family && frh->family != d->f->family)
		return 0;
	r.family = frh->family;
	r.table = frh->table;
	r.action = frh->action;
	r.invert = frh->flags & FIB_RULE_INVERT;
	mnl_attr_for_each(attr, nlh, sizeof(*frh)) {
		err = rule_parse_attr(attr, &r);
		if (err)
			return err;
	}
	r.dst.len = r.dst.addr.family ? frh->dst_len : 0;
	if (r.dst.len > rn_ipaddr_size(r.family) * 8)
		return -EBADMSG;
	return rule_match(d->f, &r) ? rn_nl_vec_push(&d->vec, &r) : 0;
}

static int rule_dump_once(struct rn_nl *nl, struct rule_dump *d)
{
	union rn_nl_req req;
	struct nlmsghdr *nlh = rn_nl_req_start(&req, RTM_GETRULE, NLM_F_DUMP);
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));

	frh->family = d->f->family;
	d->vec.n = 0;
	return rn_nl_transact(nl, nlh, rule_dump_cb, d);
}

int rn_nl_rule_list(struct rn_nl *nl, const struct rn_nl_filter *f, struct rn_nl_rule **out,
		    size_t *n)
{
	static const struct rn_nl_filter any;
	struct rule_dump d = { .f = f ? f : &any, .vec = { .size = sizeof(**out) } };
	int err, tries = 0;

	do
		err = rule_dump_once(nl, &d);
	while (err == -EAGAIN && ++tries < RN_NL_DUMP_TRIES);
	if (err) {
		free(d.vec.items);
		return err;
	}
	*out = d.vec.items;
	*n = d.vec.n;
	return 0;
}
