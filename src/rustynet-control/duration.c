/* SPDX-License-Identifier: MIT */
/* Strict parsing of command-line durations ("7d"): a typo must never become a longer key life. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rustynet-control/duration.h"

static const struct {
	char unit;
	int64_t seconds;
} rn_duration_units[] = {
	{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 7 * 86400 },
};

static int64_t rn_duration_unit(char c)
{
	for (size_t i = 0; i < sizeof(rn_duration_units) / sizeof(rn_duration_units[0]); i++)
		if (rn_duration_units[i].unit == c)
			return rn_duration_units[i].seconds;
	return 0;
}

bool rn_duration_parse(const char *s, int64_t *seconds_out, char *err, size_t errlen)
{
	const char *p = s;
	int64_t n = 0, unit;

	*seconds_out = 0;
	if (*p < '0' || *p > '9')
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (*p - '0');
		if (n > RN_DURATION_MAX_S)
			goto too_long;
	}
	unit = p[0] ? rn_duration_unit(p[0]) : 0;
	if (!unit || p[1])
		goto bad;
	if (n == 0) {
		snprintf(err, errlen, "duration \"%.40s\" is zero: give a positive time such as 7d",
			 s);
		return false;
	}
	if (n > RN_DURATION_MAX_S / unit)
		goto too_long;
	*seconds_out = n * unit;
	return true;
bad:
	snprintf(err, errlen,
		 "bad duration \"%.40s\": write a positive whole number and one unit, "
		 "s, m, h, d or w (30m, 12h, 7d, 1w)",
		 s);
	return false;
too_long:
	snprintf(err, errlen, "duration \"%.40s\" is longer than ten years: give a shorter one", s);
	return false;
}

bool rn_when_parse(const char *s, int64_t now, int sign, int64_t *out, char *err, size_t errlen)
{
	struct tm tm = { 0 };
	const char *end;
	int64_t d;

	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
	}
	if (end && !*end) {
		*out = (int64_t)timegm(&tm);
		return true;
	}
	if (!rn_duration_parse(s, &d, err, errlen)) {
		snprintf(err, errlen,
			 "\"%.40s\" is neither a duration (30m, 12h, 7d) nor a UTC date "
			 "(2026-12-01 or 2026-12-01T08:00:00Z)",
			 s);
		return false;
	}
	*out = sign < 0 ? now - d : now + d;
	return true;
}
