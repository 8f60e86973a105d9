/* SPDX-License-Identifier: MIT */
/*
 * Where peers can reach this node: its own interface addresses with the WireGuard port (host
 * candidates), then the addresses its NAT maps the WireGuard socket to (server-reflexive, found
 * by discovery.c and set here; the poll thread reads them), without duplicates.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "rustynetd/client.h"

/* The reflexive candidates: written by the loop, read by the poll thread. */
static pthread_mutex_t reflexive_lock = PTHREAD_MUTEX_INITIALIZER;
static char reflexive[RN_CLIENT_MAX_REFLEXIVE][64];
static size_t n_reflexive;

static bool usable(const struct ifaddrs *ifa, const char *skip_ifname)
{
	const struct sockaddr_in6 *s6;
	uint32_t a4;

	if (!ifa->ifa_addr || !(ifa->ifa_flags & IFF_UP) || (ifa->ifa_flags & IFF_LOOPBACK))
		return false;
	if (skip_ifname && !strcmp(ifa->ifa_name, skip_ifname))
		return false;
	if (ifa->ifa_addr->sa_family == AF_INET) {
		a4 = ntohl(
		    ((const struct sockaddr_in *)(const void *)ifa->ifa_addr)->sin_addr.s_addr);
		/* Not 0/8, loopback, link-local, multicast and above; not the mesh's own range. */
		return (a4 >> 24) != 0 && (a4 >> 24) != 127 && (a4 >> 16) != 0xa9fe &&
		       (a4 >> 28) < 0xe && (a4 & 0xffc00000) != 0x64400000;
	}
	if (ifa->ifa_addr->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)(const void *)ifa->ifa_addr;
		return !IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) &&
		       !IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) &&
		       !IN6_IS_ADDR_MULTICAST(&s6->sin6_addr) &&
		       !IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr) &&
		       !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr);
	}
	return false;
}

size_t rn_client_host_endpoints(const char *skip_ifname, uint16_t port,
				char out[RN_CLIENT_MAX_ENDPOINTS][64])
{
	struct ifaddrs *list, *ifa;
	char ip[INET6_ADDRSTRLEN];
	size_t n = 0;

	if (getifaddrs(&list) < 0)
		return 0;
	for (ifa = list; ifa && n < RN_CLIENT_MAX_ENDPOINTS; ifa = ifa->ifa_next) {
		if (!usable(ifa, skip_ifname))
			continue;
		if (ifa->ifa_addr->sa_family == AF_INET) {
			inet_ntop(
			    AF_INET,
			    &((const struct sockaddr_in *)(const void *)ifa->ifa_addr)->sin_addr,
			    ip, sizeof(ip));
			snprintf(out[n++], 64, "%s:%u", ip, port);
		} else {
			inet_ntop(
			    AF_INET6,
			    &((const struct sockaddr_in6 *)(const void *)ifa->ifa_addr)->sin6_addr,
			    ip, sizeof(ip));
			snprintf(out[n++], 64, "[%s]:%u", ip, port);
		}
	}
	freeifaddrs(list);
	return n;
}

bool rn_client_set_reflexive(const char (*v)[64], size_t n)
{
	bool changed;

	if (n > RN_CLIENT_MAX_REFLEXIVE)
		n = RN_CLIENT_MAX_REFLEXIVE;
	pthread_mutex_lock(&reflexive_lock);
	changed = n != n_reflexive;
	for (size_t i = 0; !changed && i < n; i++)
		changed = strcmp(v[i], reflexive[i]) != 0;
	for (size_t i = 0; i < n; i++)
		snprintf(reflexive[i], sizeof(reflexive[i]), "%s", v[i]);
	n_reflexive = n;
	pthread_mutex_unlock(&reflexive_lock);
	return changed;
}

static bool listed(char (*v)[64], size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

size_t rn_client_endpoints(const char *skip_ifname, uint16_t port,
			   char out[RN_CLIENT_MAX_ENDPOINTS][64])
{
	size_t n = rn_client_host_endpoints(skip_ifname, port, out);

	/* Reflexive ones last, but room for them even on a host with many addresses. */
	pthread_mutex_lock(&reflexive_lock);
	if (n + n_reflexive > RN_CLIENT_MAX_ENDPOINTS)
		n = RN_CLIENT_MAX_ENDPOINTS - n_reflexive;
	for (size_t i = 0; i < n_reflexive; i++)
		if (!listed(out, n, reflexive[i]))
			snprintf(out[n++], 64, "%s", reflexive[i]);
	pthread_mutex_unlock(&reflexive_lock);
	return n;
}
