/* SPDX-License-Identifier: MIT */
/*
 * A watch on the host's interface addresses: a netlink socket in the kernel's IPv4 and IPv6
 * address groups, whose fd goes in the caller's poll loop. It says only that something changed
 * (an address added or removed, or notifications lost to overflow); the caller then dumps the
 * addresses again (rn_nl_addr_list), so what it holds is exactly the kernel's set.
 */
#ifndef RN_SYSTEM_ADDRWATCH_H
#define RN_SYSTEM_ADDRWATCH_H

#include <stdbool.h>

/* A non-blocking, close-on-exec socket subscribed to address changes: its fd, or -errno. */
int rn_addrwatch_open(void);

/*
 * Reads every pending notification without blocking. Whether any said an address changed or
 * some were lost (ENOBUFS): either way, read the addresses again. Messages that do not come
 * from the kernel are ignored.
 */
bool rn_addrwatch_drain(int fd);

#endif
