/* SPDX-License-Identifier: MIT */
/*
 * A netlink notification watch, the mechanism under addrwatch.h and routewatch.h: a socket
 * subscribed to some rtnetlink groups, whose fd goes in the caller's poll loop, and a drain that
 * says whether any notification mattered (the caller's predicate) or some were lost.
 */
#ifndef RN_SYSTEM_NLWATCH_H
#define RN_SYSTEM_NLWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A non-blocking, close-on-exec NETLINK_ROUTE socket in groups (RTMGRP_*): its fd, or -errno. */
int rn_nlwatch_open(uint32_t groups);

/*
 * Reads every pending notification without blocking. True when says() is true of a batch of
 * messages or some were lost (ENOBUFS): either way, look again. Messages that do not come from
 * the kernel are ignored.
 */
bool rn_nlwatch_drain(int fd, bool (*says)(const void *buf, size_t len));

#endif
