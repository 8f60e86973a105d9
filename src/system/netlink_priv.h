/* SPDX-License-Identifier: MIT */
/* What netlink.c shares with netlink_route.c: the socket, the request/ACK exchange, helpers. */
#ifndef RN_SYSTEM_NETLINK_PRIV_H
#define RN_SYSTEM_NETLINK_PRIV_H

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include "system/netlink.h"

/* Receive buffer: large enough that the kernel never truncates a dump message (it sizes dump
 * skbs up to 32 KiB when the reader's buffer allows). */
#define RN_NL_RXBUF_SIZE 32768
/* Our requests are a header and a handful of attributes. */
#define RN_NL_REQ_SIZE 1024
/* Dumps interrupted by a concurrent change (NLM_F_DUMP_INTR) are retried this many times. */
#define RN_NL_DUMP_TRIES 5

struct rn_nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;	  /* of the last request sent */
	char extack[256]; /* NLMSGERR_ATTR_MSG of the last failed request */
	char *rxbuf;	  /* RN_NL_RXBUF_SIZE bytes, owned */
};

union rn_nl_req {
	struct nlmsghdr align;
	char buf[RN_NL_REQ_SIZE];
};

/* Called for each reply message that is not an ACK, error or end of dump; 0 or -errno. */
typedef int (*rn_nl_msg_cb)(const struct nlmsghdr *nlh, void *data);

struct nlmsghdr *rn_nl_req_start(union rn_nl_req *req, uint16_t type, uint16_t flags);
/*
 * Sends the request with NLM_F_REQUEST | NLM_F_ACK and a fresh sequence number, then reads
 * until its ACK, error or end of dump. Returns the kernel's error, else the first callback
 * error, else -EAGAIN if a dump was interrupted, else 0.
 */
int rn_nl_transact(struct rn_nl *nl, struct nlmsghdr *nlh, rn_nl_msg_cb cb, void *data);

void rn_nl_put_ip(struct nlmsghdr *nlh, uint16_t type, const struct rn_ip *ip);
bool rn_nl_get_ip(const struct nlattr *attr, uint8_t family, struct rn_ip *out);
bool rn_nl_get_u32(const struct nlattr *attr, uint32_t *out);
bool rn_nl_ifname_ok(const char *name);
/* Fills dev with the name of interface index, "" if it has none (or index is 0). */
int rn_nl_index_name(struct rn_nl *nl, int index, char *dev);

/* A growable array that dumps collect into. */
struct rn_nl_vec {
	void *items;
	size_t n, cap, size;
};

int rn_nl_vec_push(struct rn_nl_vec *v, const void *item);

#endif
