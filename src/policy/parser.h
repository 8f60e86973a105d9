/* SPDX-License-Identifier: MIT */
/*
 * The parser's shared bottom, for the files that read one section each (policy.c: the file and
 * acls; grants.c: grants): the jansson tree walked in step with the HuJSON index, and the
 * readers of names, ports and entries both sections use. Not for callers.
 */
#ifndef RN_POLICY_PARSER_H
#define RN_POLICY_PARSER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "policy/hujson.h"
#include "policy/policy.h"

#define RN_POLICY_PATH_LEN 160 /* "acls[12].dst[3]", "tagOwners[\"tag:...\"]": where a token is */

enum rn_policy_role {
	RN_POLICY_ROLE_SRC,
	RN_POLICY_ROLE_DST,
	RN_POLICY_ROLE_VIA,
	RN_POLICY_ROLE_OWNER,
	RN_POLICY_ROLE_MEMBER,
	RN_POLICY_ROLE_IPSET, /* an operation's target in ipsets: an address, CIDR or host */
};

struct rn_policy_parser {
	struct rn_policy *pol; /* being built; freed by the caller on failure */
	struct rn_policy_error *err;
	struct rn_hujson_index idx;
};

/* A jansson value and its place in the index. */
struct rn_policy_cursor {
	json_t *v;
	size_t node;
};

/* Fills the parser's error at byte offset off; returns -EINVAL. */
int rn_policy_fail(struct rn_policy_parser *p, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A path for messages ("acls[3].dst[1]"); a long one is cut, which only shortens the message. */
void rn_policy_pathf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

size_t rn_policy_val_off(const struct rn_policy_parser *p, struct rn_policy_cursor c);

/* 0 if c is of type (object, list or string), else the error, naming path. */
int rn_policy_want(struct rn_policy_parser *p, struct rn_policy_cursor c, json_type type,
		   const char *path);

/* Checks the index entry child against its parent, so a mismatch cannot run off. */
int rn_policy_next_child(struct rn_policy_parser *p, size_t parent, size_t *child);

/* One name in role: *t gets its kind, prefix or index, and an owned copy of s. */
int rn_policy_parse_target(struct rn_policy_parser *p, const char *s, size_t off,
			   enum rn_policy_role role, const char *path, struct rn_policy_target *t);

/* A non-empty (unless may_be_empty) list of names in role; *out and *n for the caller to free. */
int rn_policy_parse_targets(struct rn_policy_parser *p, struct rn_policy_cursor c,
			    enum rn_policy_role role, bool may_be_empty, const char *path,
			    struct rn_policy_target **out, size_t *n);

/* PORTS ("*", "22", "80-90", "22,443") into d->ports; dst is the whole token, for messages. */
int rn_policy_parse_ports(struct rn_policy_parser *p, const char *s, const char *dst, size_t off,
			  const char *path, struct rn_policy_dst *d);

/* "TARGET:PORTS" (split at the last colon; "[v6]:PORTS" too) into *d. */
int rn_policy_parse_dst(struct rn_policy_parser *p, const char *s, size_t off, const char *path,
			struct rn_policy_dst *d);

/* What needs a whole entry: via only with routed destinations, self's sources, protocol ports. */
int rn_policy_check_acl(struct rn_policy_parser *p, const char *path,
			const struct rn_policy_acl *acl);

/* Reads the "grants" section into more acl entries, and "postures" before it (grants.c). */
int rn_policy_parse_grants(struct rn_policy_parser *p, struct rn_policy_cursor c);
int rn_policy_parse_postures(struct rn_policy_parser *p, struct rn_policy_cursor c);

/*
 * Read and set aside, with a note: "ssh", "sshTests" (ssh.c), "nodeAttrs", "randomizeClientPort",
 * "derpMap", "OneCGNATRoute" (nodeattrs.c).
 */
int rn_policy_parse_ssh(struct rn_policy_parser *p, struct rn_policy_cursor c);
int rn_policy_parse_node_attrs(struct rn_policy_parser *p, struct rn_policy_cursor c);
int rn_policy_parse_randomize_port(struct rn_policy_parser *p, struct rn_policy_cursor c);
int rn_policy_parse_ssh_tests(struct rn_policy_parser *p, struct rn_policy_cursor c);
int rn_policy_parse_derp_map(struct rn_policy_parser *p, struct rn_policy_cursor c);
int rn_policy_parse_disable_ipv4(struct rn_policy_parser *p, struct rn_policy_cursor c);
int rn_policy_parse_one_cgnat(struct rn_policy_parser *p, struct rn_policy_cursor c);

/* Reads the "tests" section (tests.c). */
int rn_policy_parse_tests(struct rn_policy_parser *p, struct rn_policy_cursor c);

/* "ipsets" (ipsets.c): each set resolved to its prefixes; they may name hosts and each other. */
int rn_policy_parse_ipsets(struct rn_policy_parser *p, struct rn_policy_cursor c);
/* The index of ipset name in p->pol->ipsets, or -1. */
long rn_policy_ipset_find(const struct rn_policy *pol, const char *name);
void rn_policy_ipsets_free(struct rn_policy *pol);

#endif
