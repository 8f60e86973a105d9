/* SPDX-License-Identifier: MIT */
/* Durations as people type them on the command line: "30m", "12h", "7d", "1w". */
#ifndef RN_CTL_DURATION_H
#define RN_CTL_DURATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	RN_DURATION_MAX_S = 10 * 366 * 24 * 3600, /* ten years, seconds: longer is a typo */
};

/*
 * Parses one positive decimal number followed by one unit: s, m, h, d or w. Nothing else: no
 * sign, spaces, fractions, zero or several parts. On failure err says why, quoting s.
 */
bool rn_duration_parse(const char *s, int64_t *seconds_out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * A point in time as people type it: a UTC date or time (2026-12-01, 2026-12-01T08:00:00Z), or a
 * duration counted from now, back (sign -1: "7d" is a week ago) or ahead (sign 1). Unix seconds.
 */
bool rn_when_parse(const char *s, int64_t now, int sign, int64_t *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
