/* SPDX-License-Identifier: MIT */
/*
 * A watch on the host's default routes: a netlink socket in the kernel's IPv4 and IPv6 route
 * groups, whose fd goes in the caller's poll loop. Endpoint discovery asks STUN again when it
 * fires: a new default route (another uplink, a VPN under us, the Wi-Fi to mobile switch) is a
 * new way out, and perhaps a new NAT, even when no address of this host changed. Only unicast
 * default routes of the main table that rustynetd did not install (RN_RTPROT) count: its own
 * exit-node routes live in their own table and must not make it chase itself.
 */
#ifndef RN_SYSTEM_ROUTEWATCH_H
#define RN_SYSTEM_ROUTEWATCH_H

#include <stdbool.h>
#include <stddef.h>

/* A non-blocking, close-on-exec socket subscribed to route changes: its fd, or -errno. */
int rn_routewatch_open(void);

/*
 * Reads every pending notification without blocking. Whether any added or removed a default
 * route that counts (above), or some were lost (ENOBUFS): either way, look again. Messages that
 * do not come from the kernel are ignored.
 */
bool rn_routewatch_drain(int fd);

/* Whether the netlink messages in buf[0..len) add or remove a default route that counts. */
bool rn_routewatch_says_default(const void *buf, size_t len);

#endif
