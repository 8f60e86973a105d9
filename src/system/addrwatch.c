/* SPDX-License-Identifier: MIT */
/*
 * The address watch: the notification half of keeping a copy of the host's addresses exact
 * (the dump half is rn_nl_addr_list). Subscribe first, then dump: a change between the two
 * leaves a notification behind, so the copy is read again.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "system/addrwatch.h"

int rn_addrwatch_open(void)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
	};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static bool says_changed(const char *buf, size_t len)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	size_t left = len;

	for (; NLMSG_OK(nlh, left); nlh = NLMSG_NEXT(nlh, left))
		if (nlh->nlmsg_type == RTM_NEWADDR || nlh->nlmsg_type == RTM_DELADDR)
			return true;
	return false;
}

bool rn_addrwatch_drain(int fd)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool changed = false;

	for (;;) {
		struct sockaddr_nl from = { 0 };
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) { /* the kernel dropped some: assume a change */
				changed = true;
				continue;
			}
			return changed; /* EAGAIN: drained; anything else: nothing more to read */
		}
		if (fromlen != sizeof(from) || from.nl_family != AF_NETLINK || from.nl_pid != 0)
			continue; /* only the kernel speaks for the kernel */
		if (says_changed(buf, (size_t)n))
			changed = true;
	}
}
