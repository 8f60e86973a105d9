/* SPDX-License-Identifier: MIT */
/* IP addresses and prefixes: strict text parsing so a corrupt journal cannot smuggle in junk. */
#include "system/ipaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

size_t rn_ipaddr_size(int family)
{
	if (family == AF_INET)
		return 4;
	if (family == AF_INET6)
		return 16;
	return 0;
}

bool rn_ipaddr_parse(const char *s, struct rn_ip *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, &out->v4) == 1) {
		out->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, &out->v6) == 1) {
		out->family = AF_INET6;
		return true;
	}
	memset(out, 0, sizeof(*out));
	return false;
}

/* Decimal 0..max without sign, spaces or leading zeros, so that every prefix has one spelling. */
static bool parse_len(const char *s, unsigned int max, uint8_t *out)
{
	unsigned int v = 0;

	if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 3)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned int)(*s - '0');
	}
	if (v > max)
		return false;
	*out = (uint8_t)v;
	return true;
}

bool rn_ipaddr_parse_prefix(const char *s, struct rn_prefix *out)
{
	char buf[RN_IPADDR_STRLEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);

	memset(out, 0, sizeof(*out));
	if (alen >= INET6_ADDRSTRLEN)
		return false;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (!rn_ipaddr_parse(buf, &out->addr))
		return false;
	out->len = (uint8_t)(rn_ipaddr_size(out->addr.family) * 8);
	if (slash && !parse_len(slash + 1, out->len, &out->len)) {
		memset(out, 0, sizeof(*out));
		return false;
	}
	return true;
}

const char *rn_ipaddr_format(const struct rn_ip *ip, char *buf)
{
	buf[0] = '\0';
	if (ip->family == AF_INET || ip->family == AF_INET6)
		inet_ntop(ip->family, ip->bytes, buf, RN_IPADDR_STRLEN);
	return buf;
}

const char *rn_ipaddr_format_prefix(const struct rn_prefix *p, char *buf)
{
	size_t n;

	rn_ipaddr_format(&p->addr, buf);
	n = strlen(buf);
	if (n)
		snprintf(buf + n, RN_IPADDR_STRLEN - n, "/%u", p->len);
	return buf;
}

bool rn_ipaddr_equal(const struct rn_ip *a, const struct rn_ip *b)
{
	return a->family == b->family && !memcmp(a->bytes, b->bytes, rn_ipaddr_size(a->family));
}

bool rn_ipaddr_prefix_equal(const struct rn_prefix *a, const struct rn_prefix *b)
{
	return a->len == b->len && rn_ipaddr_equal(&a->addr, &b->addr);
}
