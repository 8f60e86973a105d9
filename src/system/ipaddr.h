/* SPDX-License-Identifier: MIT */
/* IP addresses and prefixes as the system layer and its journal hold them: parse, print,
 * compare. */
#ifndef RN_SYSTEM_IPADDR_H
#define RN_SYSTEM_IPADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest text form: an IPv6 address followed by "/128", with its NUL. */
#define RN_IPADDR_STRLEN (INET6_ADDRSTRLEN + 4)

struct rn_ip {
	uint8_t family; /* AF_INET, AF_INET6, or AF_UNSPEC for "no address" */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t bytes[16]; /* the first 4 (IPv4) or 16 (IPv6) are the address */
	};
};

struct rn_prefix {
	struct rn_ip addr;
	uint8_t len; /* prefix length in bits */
};

/* Address length in bytes for a family (4 or 16), 0 for anything else. */
size_t rn_ipaddr_size(int family);

/* "192.0.2.1" or "2001:db8::1". */
bool rn_ipaddr_parse(const char *s, struct rn_ip *out) __attribute__((warn_unused_result));
/* "192.0.2.0/24", "2001:db8::/32"; a bare address is a host prefix (/32 or /128). Host bits
 * may be set (an interface address is "10.1.1.1/24"); the kernel decides where that matters. */
bool rn_ipaddr_parse_prefix(const char *s, struct rn_prefix *out)
    __attribute__((warn_unused_result));

/* Both write at most RN_IPADDR_STRLEN bytes into buf and return buf; AF_UNSPEC prints "". */
const char *rn_ipaddr_format(const struct rn_ip *ip, char *buf);
const char *rn_ipaddr_format_prefix(const struct rn_prefix *p, char *buf);

/* Compare family and address bytes only (never the padding or unused bytes of the union). */
bool rn_ipaddr_equal(const struct rn_ip *a, const struct rn_ip *b);
bool rn_ipaddr_prefix_equal(const struct rn_prefix *a, const struct rn_prefix *b);

#endif
