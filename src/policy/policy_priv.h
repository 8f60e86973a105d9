/* SPDX-License-Identifier: MIT */
/* Helpers shared by the policy parser, the validator and the compiler; not for callers. */
#ifndef RN_POLICY_POLICY_PRIV_H
#define RN_POLICY_POLICY_PRIV_H

#include <stddef.h>

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

/* s in double quotes, escaped, cut short if long: safe to print whatever s holds. */
const char *rn_policy_quote(const char *s, char *buf, size_t len);

#endif
