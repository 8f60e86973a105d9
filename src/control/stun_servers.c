/* SPDX-License-Identifier: MIT */
/*
 * The "stun_servers" setting: the STUN servers the admin lists (`rustynet-control stun set`),
 * carried in every netmap's "stun" after the control server's own responder. Stored as
 * canonical text "ip:port,[ip]:port"; "" means none. Pure parsing and printing, shared by the
 * store (which refuses bad values), the mapper and the admin command.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/store.h"
#include "netmap/netmap_priv.h"

/* Why ep cannot be a STUN server in a map, or NULL if it can. */
static const char *rn_stun_servers_bad(const union rn_netmap_endpoint *ep)
{
	static const uint8_t zero[16] = { 0 }, loop6[16] = { [15] = 1 };
	const uint8_t *a;

	if (ep->sa.sa_family == AF_INET) {
		a = (const uint8_t *)&ep->sin.sin_addr;
		if (!memcmp(a, zero, 4) || a[0] >= 224)
			return "is not a unicast address";
		if (a[0] == 127)
			return "is a loopback address (a node would ask itself)";
		if (a[0] == 169 && a[1] == 254)
			return "is a link-local address (no node elsewhere reaches it)";
		return NULL;
	}
	a = ep->sin6.sin6_addr.s6_addr;
	if (!memcmp(a, zero, 16) || a[0] == 0xff)
		return "is not a unicast address";
	if (!memcmp(a, loop6, 16))
		return "is a loopback address (a node would ask itself)";
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return "is a link-local address (no node elsewhere reaches it)";
	if (a[10] == 0xff && a[11] == 0xff && !memcmp(a, zero, 10))
		return "is an IPv4-mapped IPv6 address: write the IPv4 address";
	return NULL;
}

static bool rn_stun_servers_same(const union rn_netmap_endpoint *a,
				 const union rn_netmap_endpoint *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->sin.sin_port == b->sin.sin_port &&
		       a->sin.sin_addr.s_addr == b->sin.sin_addr.s_addr;
	return a->sin6.sin6_port == b->sin6.sin6_port &&
	       !memcmp(&a->sin6.sin6_addr, &b->sin6.sin6_addr, 16);
}

const char *rn_store_endpoint_bad(const union rn_netmap_endpoint *ep)
{
	return rn_stun_servers_bad(ep);
}

bool rn_store_stun_server_same(const union rn_netmap_endpoint *a, const union rn_netmap_endpoint *b)
{
	return rn_stun_servers_same(a, b);
}

int rn_store_stun_servers_parse(const char *text, union rn_netmap_endpoint *out, size_t max,
				size_t *n, char *err, size_t errlen)
{
	const char *p = text;

	*n = 0;
	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		int shown = (int)(len > 64 ? 64 : len);
		char one[RN_NETMAP_ENDPOINT_STRLEN];
		union rn_netmap_endpoint ep;
		const char *why;
		int ret = -EINVAL;

		if (*n == max) {
			snprintf(err, errlen,
				 "at most %zu STUN servers (the map carries %d, and %d "
				 "are kept for the server's own responder)",
				 max, RN_NETMAP_MAX_STUN, RN_STORE_STUN_OWN_MAX);
			return -EINVAL;
		}
		if (len < sizeof(one)) {
			snprintf(one, sizeof(one), "%.*s", (int)len, p);
			ret = rn_netmap_endpoint_parse(one, &ep);
		}
		if (ret == -ERANGE) {
			snprintf(err, errlen, "\"%.*s\": the port must be 1-65535", shown, p);
			return -EINVAL;
		}
		if (ret) {
			snprintf(err, errlen,
				 "\"%.*s\" is not IP:PORT (IPv4) or [IP]:PORT (IPv6); STUN's port "
				 "is usually 3478",
				 shown, p);
			return -EINVAL;
		}
		why = rn_stun_servers_bad(&ep);
		if (why) {
			snprintf(err, errlen, "\"%s\" %s", one, why);
			return -EINVAL;
		}
		for (size_t i = 0; i < *n; i++) {
			if (rn_stun_servers_same(&out[i], &ep)) {
				snprintf(err, errlen, "\"%s\" is named twice", one);
				return -EINVAL;
			}
		}
		out[(*n)++] = ep;
		p = comma ? comma + 1 : NULL;
		if (p && !*p) {
			snprintf(err, errlen, "a trailing comma: give ADDR:PORT[,ADDR:PORT...]");
			return -EINVAL;
		}
	}
	return 0;
}

void rn_store_stun_servers_format(const union rn_netmap_endpoint *eps, size_t n, char *out,
				  size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && used < size; i++) {
		char a[RN_NETMAP_ENDPOINT_STRLEN];

		rn_netmap_endpoint_format(&eps[i], a, sizeof(a));
		used += (size_t)snprintf(out + used, size - used, "%s%s", i ? "," : "", a);
	}
}
