/* SPDX-License-Identifier: MIT */
/* The default-route watch (routewatch.h), on nlwatch.h. */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <string.h>

#include "system/netlink.h"
#include "system/nlwatch.h"
#include "system/routewatch.h"

int rn_routewatch_open(void)
{
	return rn_nlwatch_open(RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE);
}

/* The route's table: RTA_TABLE when present (tables past 255), else rtm_table. */
static uint32_t table_of(const struct nlmsghdr *nlh, const struct rtmsg *rtm)
{
	const struct rtattr *rta = RTM_RTA(rtm);
	int left = (int)RTM_PAYLOAD(nlh);

	for (; RTA_OK(rta, left); rta = RTA_NEXT(rta, left))
		if (rta->rta_type == RTA_TABLE && RTA_PAYLOAD(rta) == sizeof(uint32_t)) {
			uint32_t t;

			memcpy(&t, RTA_DATA(rta), sizeof(t));
			return t;
		}
	return rtm->rtm_table;
}

static bool counts(const struct nlmsghdr *nlh)
{
	const struct rtmsg *rtm = NLMSG_DATA(nlh);

	if (nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE)
		return false;
	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*rtm)))
		return false;
	return (rtm->rtm_family == AF_INET || rtm->rtm_family == AF_INET6) &&
	       rtm->rtm_dst_len == 0 && rtm->rtm_type == RTN_UNICAST &&
	       rtm->rtm_protocol != RN_RTPROT && table_of(nlh, rtm) == RT_TABLE_MAIN;
}

bool rn_routewatch_says_default(const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	size_t left = len;

	for (; NLMSG_OK(nlh, left); nlh = NLMSG_NEXT(nlh, left))
		if (counts(nlh))
			return true;
	return false;
}

bool rn_routewatch_drain(int fd)
{
	return rn_nlwatch_drain(fd, rn_routewatch_says_default);
}
