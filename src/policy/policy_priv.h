/* SPDX-License-Identifier: MIT */
/* Helpers shared by the policy parser, the validator and the compiler; not for callers. */
#ifndef RN_POLICY_POLICY_PRIV_H
#define RN_POLICY_POLICY_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

#define RN_POLICY_QUOTE_LEN 72 /* a quoted token: 48 bytes of it at most, escaped, then "..." */
#define RN_POLICY_NO_POS    SIZE_MAX

/*
 * Fills err (if not NULL) with a message placed at byte offset off of text (RN_POLICY_NO_POS:
 * no place) and returns -EINVAL.
 */
int rn_policy_errorf(struct rn_policy_error *err, const char *filename, const char *text,
		     size_t len, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* The same with the place given as line and column (0: none), as jansson reports it. */
int rn_policy_errorf_lc(struct rn_policy_error *err, const char *filename, unsigned line,
			unsigned col, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Whether s starts with prefix. */
bool rn_policy_has_prefix(const char *s, const char *prefix);

/* Whether s may be a name: 1-255 bytes, no spaces, control bytes or any of : / , [ ] * " \. */
bool rn_policy_valid_name(const char *s);

/* s in double quotes, escaped, cut short if long: safe to print whatever s holds. */
const char *rn_policy_quote(const char *s, char *buf, size_t len);

/*
 * Reads a protocol as Tailscale writes it: a name ("tcp", "ipv6-icmp", any case) or an IANA
 * number 1-255 in decimal. Returns false for anything else ("*", "0", "06", "tcpp").
 */
bool rn_policy_proto_parse(const char *s, uint8_t *number) __attribute__((warn_unused_result));

/* Whether a grant of this protocol may name ports (0: any protocol): TCP, UDP and SCTP. */
bool rn_policy_proto_has_ports(uint8_t number);

/*
 * What the data plane enforces of protocol number (0: any): its filter proto and the one
 * address family it is limited to (0: both). ICMP (1) is ICMP over IPv4 only and ICMPv6 (58)
 * over IPv6 only, as in Tailscale. Returns false for a protocol the filter cannot tell apart:
 * an entry of it grants nothing.
 */
bool rn_policy_proto_filter(uint8_t number, enum rn_filter_proto *proto, int *family);

/* Records a note for `policy check` at byte offset off: accepted, but not enforced here. */
int rn_policy_notef(struct rn_policy *pol, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Frees pol's tests (tests.c). */
void rn_policy_tests_free(struct rn_policy *pol);

/*
 * Sets set[m] for each node of w that target t names as a mesh node, as the compiler reads it
 * (tags that count, users' untagged nodes). Returns 0 or -ENOMEM.
 */
int rn_policy_named_nodes(const struct rn_policy *pol, const struct rn_policy_world *w,
			  const struct rn_policy_target *t, bool *set);

#endif
