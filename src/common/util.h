/* SPDX-License-Identifier: MIT */
/* Small helpers every part needs and that would otherwise be written again in each. */
#ifndef RN_COMMON_UTIL_H
#define RN_COMMON_UTIL_H

#include <stddef.h>

/*
 * Formats a message for a person into err[0..errlen) (if err and errlen) and returns ret, so
 * that a failure is one line: `return rn_errf(err, errlen, -EINVAL, "bad %s", what);`.
 */
int rn_errf(char *err, size_t errlen, int ret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes all of buf to a blocking fd, retrying on EINTR. Returns 0 or -errno. */
int rn_write_all(int fd, const void *buf, size_t len) __attribute__((warn_unused_result));

#endif
