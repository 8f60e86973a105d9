/* SPDX-License-Identifier: MIT */
/*
 * The network policy: a Tailscale-shaped HuJSON file (groups, tagOwners, hosts, acls, grants,
 * autoApprovers; see docs/policy.md) parsed into a model, and checked against the state of the
 * network (the "world": its users and nodes), which only the control server knows.
 *
 * Parsing needs the text alone and refuses anything malformed or unknown that the text itself
 * can show (keys, groups, tags, hosts, CIDRs, ports, protocols, actions). Validation adds what
 * needs the world: that every user and node named exists. Errors point at the offending token
 * as FILE:LINE:COLUMN. The compiler (compile.h) turns a policy and a world into packet filters.
 */
#ifndef RN_POLICY_POLICY_H
#define RN_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy/filter.h"

/* ---- the world: what the control server knows, borrowed for the length of one call ---- */

struct rn_policy_node {
	uint64_t id;	  /* unique in the network */
	const char *name; /* DNS label, unique in the network */
	const char *user; /* owner; one of the world's users */
	/*
	 * Tags the node asked for ("tag:x"). One counts only if tagOwners lists the tag with the
	 * node's owner among its owners (directly, through a group, or through another tag of the
	 * node that counts). A node with a counting tag is "tagged": it no longer acts as its
	 * owner's node.
	 */
	const char *const *tags;
	size_t n_tags;
	/* Mesh addresses, network order: IPv4 in 100.64.0.0/10, IPv6 in the network's ULA /48. */
	uint8_t ip4[4];
	uint8_t ip6[16];
	const struct rn_filter_prefix *advertised; /* LAN routes the node offers */
	size_t n_advertised;
	const struct rn_filter_prefix *approved; /* routes the admin (or autoApprovers) approved */
	size_t n_approved;
	bool advertises_exit; /* offers to be an exit node */
	bool exit_approved;   /* ... and the admin (or autoApprovers) approved that */
};

struct rn_policy_world {
	const char *const *users; /* user names, unique */
	size_t n_users;
	const struct rn_policy_node *nodes;
	size_t n_nodes;
	/*
	 * The users with the admin role: what autogroup:admin and autogroup:owner name. None
	 * (the default): those autogroups name nobody.
	 */
	const char *const *admins;
	size_t n_admins;
};

/* ---- the parsed policy (read-only for callers) ---- */

enum rn_policy_target_kind {
	RN_POLICY_TARGET_ANY,	   /* "*" */
	RN_POLICY_TARGET_NAME,	   /* a user or, if no user has the name, a node */
	RN_POLICY_TARGET_GROUP,	   /* "group:x", defined in groups */
	RN_POLICY_TARGET_TAG,	   /* "tag:x", defined in tagOwners */
	RN_POLICY_TARGET_HOST,	   /* a name defined in hosts */
	RN_POLICY_TARGET_CIDR,	   /* an address or a prefix */
	RN_POLICY_TARGET_INTERNET, /* "autogroup:internet": out through an exit node */
	RN_POLICY_TARGET_MEMBER,   /* "autogroup:member": every untagged node */
	RN_POLICY_TARGET_TAGGED,   /* "autogroup:tagged": every node with a counting tag */
	RN_POLICY_TARGET_SELF, /* "autogroup:self" (dst): the receiving user's own untagged nodes */
	RN_POLICY_TARGET_DANGER_ALL, /* "autogroup:danger-all" (src): any address at all */
	RN_POLICY_TARGET_ADMIN,	     /* "autogroup:admin", "autogroup:owner": the world's admins */
	/* "autogroup:shared" (src): users of other networks a node is shared with. Nodes are
	 * never shared here, so it names nobody. */
	RN_POLICY_TARGET_SHARED,
	RN_POLICY_TARGET_IPSET, /* "ipset:x", defined in ipsets: a list of prefixes */
};

/* One name in the policy: a source, a destination's target, a member, an owner, a via. */
struct rn_policy_target {
	enum rn_policy_target_kind kind;
	char *name;			/* owned: as written, without ports or brackets */
	size_t off;			/* byte offset of its string in the text, for errors */
	struct rn_filter_prefix prefix; /* HOST and CIDR */
	size_t index; /* GROUP: into groups; TAG: into tag_owners; IPSET: ipsets */
};

struct rn_policy_dst {
	struct rn_policy_target target;
	struct rn_filter_ports *ports; /* owned; "*" is one range 0-65535 */
	size_t n_ports;
};

/*
 * One grant: an acls entry, or what one "ip" entry of a grant means (a grant with two "ip"
 * entries is two of these, with the grant's sources, destinations and via each).
 */
struct rn_policy_acl {
	size_t off;	     /* the entry's opening brace */
	const char *section; /* static: "acls" or "grants", where it was written */
	size_t index;	     /* its place in that section; dst[i] is its i-th destination */
	/*
	 * "proto" as an IANA number (names read as theirs; 0: absent, any protocol) and what the
	 * filter makes of it (rn_policy_proto_filter): an entry whose protocol the filter cannot
	 * enforce grants nothing.
	 */
	uint8_t ipproto;
	enum rn_filter_proto proto;
	struct rn_policy_target *src; /* owned */
	size_t n_src;
	struct rn_policy_dst *dst; /* owned */
	size_t n_dst;
	/*
	 * Owned: node names (NAME) and tags (TAG) of the exit nodes and subnet routers this entry
	 * applies through; none means all. An entry with via grants routed traffic only, so its
	 * destinations are CIDRs, hosts and autogroup:internet.
	 */
	struct rn_policy_target *via;
	size_t n_via;
};

/*
 * One "tests" entry: what src must reach (accept) and must not (deny), each destination one
 * port, checked by rn_policy_run_tests() against the compiled filters of the current nodes.
 */
struct rn_policy_test {
	size_t off;		      /* the entry's opening brace */
	struct rn_policy_target src;  /* a user, group, tag, node, host or address */
	uint8_t ipproto;	      /* IANA number; 0: absent, checked as TCP */
	struct rn_policy_dst *accept; /* owned; ports: one port, or 0-65535 for a port-less proto */
	size_t n_accept;
	struct rn_policy_dst *deny; /* owned; the same */
	size_t n_deny;
};

/* A named list: a group and its members, a tag and its owners, a route and its approvers. */
struct rn_policy_list {
	char *name;			/* owned: "group:x", "tag:x", a host name or a CIDR */
	size_t off;			/* the key's offset */
	struct rn_filter_prefix prefix; /* hosts and route approvers */
	struct rn_policy_target *items; /* owned */
	size_t n_items;
};

/*
 * An IP set ("ipsets", as in Tailscale): the addresses its "add" and "remove" operations leave,
 * in order, as disjoint prefixes. The compiler treats "ipset:x" as that list of CIDRs.
 */
struct rn_policy_ipset {
	char *name;		    /* owned: "ipset:x" */
	size_t off;		    /* the key's offset */
	struct rn_filter_prefix *v; /* owned */
	size_t n;
	int state; /* while parsing: 0 not yet, 1 being resolved (a cycle if met again), 2 done */
};

struct rn_policy {
	char *filename; /* owned: for error messages */
	char *text;	/* owned: the text with comments blanked, to place validation errors */
	size_t len;
	struct rn_policy_list *groups; /* items: users (NAME) */
	size_t n_groups;
	struct rn_policy_list *tag_owners; /* items: users, groups, tags */
	size_t n_tag_owners;
	struct rn_policy_list *hosts; /* no items; prefix */
	size_t n_hosts;
	struct rn_policy_ipset *ipsets;
	size_t n_ipsets;
	struct rn_policy_list *postures; /* names only: "posture:x", which nothing here checks */
	size_t n_postures;
	struct rn_policy_acl *acls;
	size_t n_acls;
	struct rn_policy_list *route_approvers; /* prefix; items: users, groups, tags */
	size_t n_route_approvers;
	struct rn_policy_list exit_approvers; /* items: users, groups, tags */
	struct rn_policy_test *tests;
	size_t n_tests;
	/*
	 * Owned: what the policy asks for that is accepted but not enforced here (a protocol the
	 * filter cannot tell apart, an app capability...), each "FILE:LINE:COLUMN: note: ...",
	 * for `policy check` to print. Such a construct grants nothing.
	 */
	char **notes;
	size_t n_notes;
	bool names_admins; /* uses autogroup:admin or autogroup:owner */
	bool names_shared; /* uses autogroup:shared */
};

/* The prefixes a HOST, CIDR or IPSET target stands for (n 0 for the other kinds). */
const struct rn_filter_prefix *
rn_policy_target_prefixes(const struct rn_policy *pol, const struct rn_policy_target *t, size_t *n);

/* ---- errors ---- */

#define RN_POLICY_MSG_LEN  320
#define RN_POLICY_TEXT_LEN 512

struct rn_policy_error {
	unsigned line;			 /* 1-based; 0 when not about a place in the text */
	unsigned column;		 /* 1-based, in characters */
	char message[RN_POLICY_MSG_LEN]; /* what is wrong, quoting the token, and where */
	char text[RN_POLICY_TEXT_LEN];	 /* "FILE:LINE:COLUMN: message", ready to print */
};

/* ---- the API ---- */

/*
 * Parses a policy from buf[0..len) (need not be NUL-terminated). filename is only for errors
 * (NULL: "policy"). On success *out is a new policy for rn_policy_free(). On failure *out is
 * NULL and err (if not NULL) says where and why. Returns 0, -EINVAL (bad policy), -ENOMEM.
 */
int rn_policy_parse(const char *buf, size_t len, const char *filename, struct rn_policy **out,
		    struct rn_policy_error *err) __attribute__((warn_unused_result));

void rn_policy_free(struct rn_policy *pol);

/*
 * Checks a parsed policy against the world: every user, node and group member named exists,
 * via names nodes, and the world itself is sane (unique ids, names and users; owners exist;
 * mesh addresses in range). A bare name means the user of that name if there is one, else the
 * node. Returns 0, or -EINVAL with err filled in (line 0 for a fault in the world).
 */
int rn_policy_validate(const struct rn_policy *pol, const struct rn_policy_world *world,
		       struct rn_policy_error *err) __attribute__((warn_unused_result));

/* Parses and validates, for `policy check` and before `policy set`. Returns what they do. */
int rn_policy_check(const char *buf, size_t len, const char *filename,
		    const struct rn_policy_world *world, struct rn_policy_error *err)
    __attribute__((warn_unused_result));

/*
 * The same, and prints the policy's notes (what it asks for that is accepted but grants
 * nothing here), one a line, to out (NULL: not printed) when it is valid.
 */
int rn_policy_check_notes(const char *buf, size_t len, const char *filename,
			  const struct rn_policy_world *world, struct rn_policy_error *err,
			  FILE *out) __attribute__((warn_unused_result));

/*
 * Runs the policy's tests against the world: every accept destination reached, every deny
 * destination not, by the filters the policy compiles for the current nodes. A test whose
 * source has no node yet is not run, and a line saying so goes to notes (if not NULL).
 * Returns 0, -EINVAL with err at the failing destination, or -ENOMEM.
 */
int rn_policy_run_tests(const struct rn_policy *pol, const struct rn_policy_world *w,
			struct rn_policy_error *err, FILE *notes)
    __attribute__((warn_unused_result));

/* The starter policy `rustynet-control init` installs: every node may reach every other. */
const char *rn_policy_default_text(void);

/* ---- lookups shared with the compiler ---- */

const char *rn_policy_user_find(const struct rn_policy_world *w, const char *name);
const struct rn_policy_node *rn_policy_node_by_id(const struct rn_policy_world *w, uint64_t id);
const struct rn_policy_node *rn_policy_node_by_name(const struct rn_policy_world *w,
						    const char *name);

#endif
