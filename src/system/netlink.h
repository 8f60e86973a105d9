/* SPDX-License-Identifier: MIT */
/*
 * A small rtnetlink client on libmnl: interface addresses, routes, policy rules, link settings,
 * route lookups and dumps, IPv4 and IPv6. Every request carries NLM_F_ACK and its reply is read,
 * so each call returns the kernel's own verdict as 0 or -errno; the kernel's extended-ack text
 * is logged and kept for the caller (rn_nl_extack). This layer records nothing: the journal and
 * system layer above it do. One socket, used by one thread at a time.
 */
#ifndef RN_SYSTEM_NETLINK_H
#define RN_SYSTEM_NETLINK_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "system/ipaddr.h"

/*
 * The protocol tag on every route, rule and address we install (rtm_protocol, FRA_PROTOCOL,
 * IFA_PROTO), so our state is recognisable in dumps and after a crash. 82 is 'R'; it is unused
 * by the kernel and by iproute2's rt_protos table.
 */
#define RN_RTPROT 82

struct rn_nl;

/* An interface address. */
struct rn_nl_addr {
	char dev[IFNAMSIZ];
	struct rn_prefix prefix; /* the address and the length of its on-link prefix */
	uint8_t protocol;	 /* IFA_PROTO; 0 on add means RN_RTPROT, 0 in dumps means none */
	int ifindex;		 /* filled by dumps; ignored on add/del */
};

/* A route. The family is the destination's. */
struct rn_nl_route {
	struct rn_prefix dst;
	uint32_t table;	      /* 0 means main (254) */
	char dev[IFNAMSIZ];   /* "" for none (blackhole, or a gateway the kernel resolves) */
	struct rn_ip gateway; /* AF_UNSPEC for none; else the destination's family */
	uint32_t metric;      /* 0: the kernel's default (IPv6: 1024); 0 on delete matches any */
	uint8_t type;	      /* RTN_UNICAST (0: unicast), _BLACKHOLE, _UNREACHABLE, _THROW */
	uint8_t protocol;     /* 0 means RN_RTPROT; deletes match it, so never remove others' */
	uint8_t scope;	      /* filled by dumps; derived from type and gateway on add */
	int oif;	      /* filled by dumps; ignored on add/del */
};

/* A policy routing rule ("ip rule"): FR_ACT_TO_TBL only. */
struct rn_nl_rule {
	uint8_t family;		    /* AF_INET or AF_INET6 */
	uint32_t priority;	    /* required (not 0): it is what makes removal exact */
	uint32_t table;		    /* 0 means main (254) */
	uint32_t fwmark;	    /* matched under fwmask */
	uint32_t fwmask;	    /* 0: no fwmark selector */
	bool suppress;		    /* whether suppress_prefixlen applies */
	uint8_t suppress_prefixlen; /* "suppress_prefixlength N": ignore routes of length <= N */
	bool invert;		    /* "not": applies when the selectors do not match */
	uint8_t protocol;	    /* 0 means RN_RTPROT */
	uint8_t action;		    /* filled by dumps (FR_ACT_*); ignored on add/del */
	struct rn_prefix dst;	    /* "to PREFIX", in the rule's family; dst.len 0: any */
};
/*
 * The kernel deletes the first rule that matches every selector a delete names: one without a
 * dst can remove a rule that has one and is otherwise the same. Keep rules without a dst at
 * priorities of their own.
 */

/* What "ip route get" says about one destination. */
struct rn_nl_route_info {
	uint8_t type;	      /* RTN_UNICAST, RTN_LOCAL, ... */
	uint32_t table;	      /* the table the lookup ended in */
	int oif;	      /* output interface, 0 for none */
	char dev[IFNAMSIZ];   /* its name, "" for none */
	struct rn_ip gateway; /* AF_UNSPEC when on-link */
	struct rn_ip prefsrc; /* the source address the kernel would pick */
};

struct rn_nl_link {
	int index;
	char name[IFNAMSIZ];
	unsigned int flags; /* IFF_* */
	uint32_t mtu;
};

/* What a dump returns; zero fields match anything. */
struct rn_nl_filter {
	uint8_t family;		     /* AF_INET, AF_INET6, or AF_UNSPEC for both */
	uint8_t protocol;	     /* routes, rules, addresses */
	uint32_t table;		     /* routes and rules */
	uint32_t prio_min, prio_max; /* rules; both 0 for any priority */
	int ifindex;		     /* addresses */
};

int rn_nl_open(struct rn_nl **out);
void rn_nl_close(struct rn_nl *nl);
/* The kernel's extended-ack message for the last failed request, "" when it gave none. */
const char *rn_nl_extack(const struct rn_nl *nl);

/* Links. Lookups of missing interfaces return -ENODEV. */
int rn_nl_link_get(struct rn_nl *nl, const char *name, struct rn_nl_link *out);
int rn_nl_link_get_index(struct rn_nl *nl, int index, struct rn_nl_link *out);
int rn_nl_link_index(struct rn_nl *nl, const char *name, int *index);
int rn_nl_link_set_up(struct rn_nl *nl, const char *name, bool up);
int rn_nl_link_set_mtu(struct rn_nl *nl, const char *name, uint32_t mtu);
/* Create a link of kind "dummy" or "veth" (peer names the other end); delete one. */
int rn_nl_link_add(struct rn_nl *nl, const char *name, const char *kind, const char *peer);
int rn_nl_link_del(struct rn_nl *nl, const char *name);

/* Addresses: add fails with -EEXIST if present, del with -EADDRNOTAVAIL if absent. */
int rn_nl_addr_add(struct rn_nl *nl, const struct rn_nl_addr *a);
int rn_nl_addr_del(struct rn_nl *nl, const struct rn_nl_addr *a);

/* Routes: add fails with -EEXIST if present, del with -ESRCH if absent. */
int rn_nl_route_add(struct rn_nl *nl, const struct rn_nl_route *r);
int rn_nl_route_del(struct rn_nl *nl, const struct rn_nl_route *r);
/* Rules: add fails with -EEXIST if present, del with -ENOENT if absent. */
int rn_nl_rule_add(struct rn_nl *nl, const struct rn_nl_rule *r);
int rn_nl_rule_del(struct rn_nl *nl, const struct rn_nl_rule *r);

/*
 * "ip route get DST [mark MARK]" (mark 0: none). A destination that ends in a blackhole route
 * returns -EINVAL, unreachable -EHOSTUNREACH, no route at all -ENETUNREACH: the kernel's answers.
 */
int rn_nl_route_get(struct rn_nl *nl, const struct rn_ip *dst, uint32_t mark,
		    struct rn_nl_route_info *out);

/* Dumps into a malloc'ed array the caller frees; *n is its length. Cloned/cached routes are
 * left out. Device names are filled in. */
int rn_nl_addr_list(struct rn_nl *nl, const struct rn_nl_filter *f, struct rn_nl_addr **out,
		    size_t *n);
int rn_nl_route_list(struct rn_nl *nl, const struct rn_nl_filter *f, struct rn_nl_route **out,
		     size_t *n);
int rn_nl_rule_list(struct rn_nl *nl, const struct rn_nl_filter *f, struct rn_nl_rule **out,
		    size_t *n);

/* Turn the "0 means default" fields into their values, so equal specs compare equal. */
void rn_nl_addr_normalize(struct rn_nl_addr *a);
void rn_nl_route_normalize(struct rn_nl_route *r);
void rn_nl_rule_normalize(struct rn_nl_rule *r);
/* Same object: the fields a caller sets (not the dump-only ones). Normalize first. */
bool rn_nl_addr_equal(const struct rn_nl_addr *a, const struct rn_nl_addr *b);
bool rn_nl_route_equal(const struct rn_nl_route *a, const struct rn_nl_route *b);
bool rn_nl_rule_equal(const struct rn_nl_rule *a, const struct rn_nl_rule *b);

#endif
