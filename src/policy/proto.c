/* SPDX-License-Identifier: MIT */
/*
 * The protocols a policy may name in "proto" (acls) and in a grant's "ip" entries: the names
 * Tailscale accepts and any IANA protocol number 1-255 written in decimal, and what the data
 * plane can enforce of them. Only TCP, UDP and ICMP are filtered here; an entry naming another
 * protocol is accepted, grants nothing, and `policy check` says so.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "policy/policy_priv.h"

#define IPPROTO_SCTP_NUMBER 132

static const struct {
	const char *name;
	uint8_t number;
} names[] = {
	{ "icmp", RN_IPPROTO_ICMP },
	{ "igmp", 2 },
	{ "ipv4", 4 },
	{ "ip-in-ip", 4 },
	{ "tcp", RN_IPPROTO_TCP },
	{ "egp", 8 },
	{ "igp", 9 },
	{ "udp", RN_IPPROTO_UDP },
	{ "gre", 47 },
	{ "esp", 50 },
	{ "ah", 51 },
	{ "ipv6-icmp", RN_IPPROTO_ICMPV6 },
	{ "sctp", IPPROTO_SCTP_NUMBER },
	{ "fc", 133 },
};

bool rn_policy_proto_parse(const char *s, uint8_t *number)
{
	unsigned v = 0;
	size_t n = strlen(s);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(s, names[i].name)) {
			*number = names[i].number;
			return true;
		}
	}
	/* Decimal 1-255, no sign, no leading zero: Tailscale refuses "0" and "06". */
	if (n == 0 || n > 3 || s[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 255)
		return false;
	*number = (uint8_t)v;
	return true;
}

bool rn_policy_proto_has_ports(uint8_t number)
{
	return number == 0 || number == RN_IPPROTO_TCP || number == RN_IPPROTO_UDP ||
	       number == IPPROTO_SCTP_NUMBER;
}

bool rn_policy_proto_filter(uint8_t number, enum rn_filter_proto *proto, int *family)
{
	*family = 0;
	switch (number) {
	case 0:
		*proto = RN_FILTER_PROTO_ANY;
		return true;
	case RN_IPPROTO_TCP:
		*proto = RN_FILTER_PROTO_TCP;
		return true;
	case RN_IPPROTO_UDP:
		*proto = RN_FILTER_PROTO_UDP;
		return true;
	case RN_IPPROTO_ICMP:
		*proto = RN_FILTER_PROTO_ICMP;
		*family = AF_INET;
		return true;
	case RN_IPPROTO_ICMPV6:
		*proto = RN_FILTER_PROTO_ICMP;
		*family = AF_INET6;
		return true;
	default:
		return false;
	}
}
