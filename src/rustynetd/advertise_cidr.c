/* SPDX-License-Identifier: MIT */
/*
 * The check of one CIDR a node may advertise (advertise.h), alone in its file: the rustynet
 * CLI compiles it too, so a typo is refused with exit status 2 before the daemon is asked.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "rustynetd/advertise.h"

bool rn_advertise_cidr_parse(const char *s, const struct rn_filter_prefix *mesh6,
			     struct rn_filter_prefix *out, char *err, size_t errlen)
{
	static const uint8_t cgnat_addr[4] = { 100, 64 };
	struct rn_filter_prefix cgnat, unused;
	char fixed[RN_FILTER_PREFIX_STRLEN];
	int r = rn_filter_prefix_parse(s, out);

	if (r == -EDOM) {
		snprintf(err, errlen, "\"%.64s\" has host bits set: did you mean %s?", s,
			 rn_filter_prefix_format(out, fixed, sizeof(fixed)));
		return false;
	}
	if (r || !strchr(s, '/')) {
		snprintf(err, errlen, "\"%.64s\" is not a CIDR such as 192.168.50.0/24", s);
		return false;
	}
	if (out->len == 0) {
		snprintf(err, errlen,
			 "\"%.64s\" is a default route: use --advertise-exit-node to "
			 "offer internet access",
			 s);
		return false;
	}
	rn_filter_prefix_make(&cgnat, AF_INET, cgnat_addr, 10);
	if (rn_filter_prefix_intersect(out, &cgnat, &unused)) {
		snprintf(err, errlen, "\"%.64s\" overlaps the mesh addresses 100.64.0.0/10", s);
		return false;
	}
	if (mesh6 && rn_filter_prefix_intersect(out, mesh6, &unused)) {
		snprintf(err, errlen, "\"%.64s\" overlaps the mesh's IPv6 network %s", s,
			 rn_filter_prefix_format(mesh6, fixed, sizeof(fixed)));
		return false;
	}
	return true;
}
