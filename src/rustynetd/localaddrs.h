/* SPDX-License-Identifier: MIT */
/*
 * The host's own addresses, for the packet filter. A packet through the tunnel to any address
 * of this host (the exit's public uplink address, a LAN address) is delivered here, to the
 * node itself; the filter must treat it as MESH, reached only by a mesh grant to this node,
 * never as internet (EXIT) or LAN (SUBNET) traffic. rustynetd keeps the data plane's copy
 * exact: it reads every address of every interface at start and again on each change the
 * kernel announces (system/addrwatch.h).
 */
#ifndef RN_DAEMON_LOCALADDRS_H
#define RN_DAEMON_LOCALADDRS_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/filter.h"
#include "system/netlink.h"

struct rn_daemon;

struct rn_localaddrs {
	int fd;			    /* the address watch; -1 when not watching */
	struct rn_filter_prefix *v; /* owned: what the data plane was last given */
	size_t n;
};

/*
 * Which of the host's addresses a[0..n) the filter must treat as this node, into out (room
 * for 2 * n): each address as a host prefix, and for an IPv4 prefix of /30 or shorter its
 * network and directed broadcast addresses too (the kernel delivers those here as well).
 * Left out: loopback (the kernel never delivers it from another link) and the addresses
 * rustynetd installed itself (IFA_PROTO RN_RTPROT: the mesh addresses, whose context the map's
 * filter.self sets, and Magic DNS's). Returns how many were written, sorted and unique.
 */
size_t rn_localaddrs_select(const struct rn_nl_addr *a, size_t n, struct rn_filter_prefix *out);

/* At start, after the data plane: watch and read. Never fatal; the log says what failed. */
void rn_localaddrs_start(struct rn_daemon *d);
/* The watch's fd for the poll loop; -1 when not watching. */
int rn_localaddrs_fd(const struct rn_daemon *d);
/* The fd was readable: read the addresses again; true if they changed. */
bool rn_localaddrs_ready(struct rn_daemon *d);
void rn_localaddrs_stop(struct rn_daemon *d);

#endif
