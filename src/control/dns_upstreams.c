/* SPDX-License-Identifier: MIT */
/*
 * The "dns_upstreams" setting: the resolvers every node's Magic DNS forwards other names to,
 * carried in each netmap's dns.resolvers. Stored as canonical text "IP,IP"; "" means none.
 * Pure parsing and printing, shared by the store (which refuses bad values), the mapper and
 * the admin command.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/store.h"

bool rn_store_ip_unicast(int family, const uint8_t *a)
{
	static const uint8_t zero[16] = { 0 };

	if (family == AF_INET)
		return memcmp(a, zero, 4) && a[0] < 224;
	return memcmp(a, zero, 16) && a[0] != 0xff;
}

/* A unicast address that is not 100.100.100.100: Magic DNS forwarding to itself is a loop. */
static bool unicast(const struct rn_store_ip *ip)
{
	static const uint8_t magic[4] = { 100, 100, 100, 100 };

	return rn_store_ip_unicast(ip->family, ip->addr) &&
	       !(ip->family == AF_INET && !memcmp(ip->addr, magic, 4));
}

int rn_store_dns_upstreams_parse(const char *text, struct rn_store_ip *out, size_t max, size_t *n,
				 char *err, size_t errlen)
{
	const char *p = text;

	*n = 0;
	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char one[INET6_ADDRSTRLEN];
		struct rn_store_ip ip = { 0 };

		if (*n == max) {
			snprintf(err, errlen, "at most %zu DNS upstreams", max);
			return -EINVAL;
		}
		snprintf(one, sizeof(one), "%.*s", (int)(len < sizeof(one) ? len : sizeof(one) - 1),
			 p);
		if (len < sizeof(one) && inet_pton(AF_INET, one, ip.addr) == 1)
			ip.family = AF_INET;
		else if (len < sizeof(one) && inet_pton(AF_INET6, one, ip.addr) == 1)
			ip.family = AF_INET6;
		if (!ip.family || !unicast(&ip)) {
			snprintf(err, errlen,
				 "\"%.*s\" is not a unicast IP address (and not 100.100.100.100, "
				 "Magic DNS itself)",
				 (int)(len > 64 ? 64 : len), p);
			return -EINVAL;
		}
		for (size_t i = 0; i < *n; i++) {
			if (out[i].family == ip.family && !memcmp(out[i].addr, ip.addr, 16)) {
				snprintf(err, errlen, "\"%s\" is named twice", one);
				return -EINVAL;
			}
		}
		out[(*n)++] = ip;
		p = comma ? comma + 1 : NULL;
		if (p && !*p) {
			snprintf(err, errlen, "a trailing comma: give IP[,IP...]");
			return -EINVAL;
		}
	}
	return 0;
}

void rn_store_dns_upstreams_format(const struct rn_store_ip *ips, size_t n, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && used < size; i++) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(ips[i].family, ips[i].addr, a, sizeof(a));
		used += (size_t)snprintf(out + used, size - used, "%s%s", i ? "," : "", a);
	}
}
