/* SPDX-License-Identifier: MIT */
/*
 * The address watch: the notification half of keeping a copy of the host's addresses exact
 * (the dump half is rn_nl_addr_list). Subscribe first, then dump: a change between the two
 * leaves a notification behind, so the copy is read again.
 */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "system/addrwatch.h"
#include "system/nlwatch.h"

int rn_addrwatch_open(void)
{
	return rn_nlwatch_open(RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR);
}

static bool says_changed(const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	size_t left = len;

	for (; NLMSG_OK(nlh, left); nlh = NLMSG_NEXT(nlh, left))
		if (nlh->nlmsg_type == RTM_NEWADDR || nlh->nlmsg_type == RTM_DELADDR)
			return true;
	return false;
}

bool rn_addrwatch_drain(int fd)
{
	return rn_nlwatch_drain(fd, says_changed);
}
