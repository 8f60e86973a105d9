/* SPDX-License-Identifier: MIT */
/*
 * rtnetlink socket, the request/ACK exchange, links and addresses. Every request asks for an
 * ACK and reads it: a kernel refusal is never lost (OpenBSD's unacked-netlink anti-pattern).
 * Replies are matched by sequence number and port, so a reply left over from an aborted
 * exchange is skipped rather than taken for the answer to the next request.
 */
#include "system/netlink_priv.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

int rn_nl_open(struct rn_nl **out)
{
	static const int on = 1;
	struct rn_nl *nl;
	int err;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->rxbuf = malloc(RN_NL_RXBUF_SIZE);
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->rxbuf || !nl->sock) {
		err = nl->rxbuf ? -errno : -ENOMEM;
		goto err_free;
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto err_free;
	}
	/* Best effort: without them errors still arrive, only without text or with the request
	 * echoed back. */
	setsockopt(mnl_socket_get_fd(nl->sock), SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof(on));
	setsockopt(mnl_socket_get_fd(nl->sock), SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof(on));
	nl->portid = mnl_socket_get_portid(nl->sock);
	*out = nl;
	return 0;

err_free:
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl->rxbuf);
	free(nl);
	return err;
}

void rn_nl_close(struct rn_nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	free(nl->rxbuf);
	free(nl);
}

const char *rn_nl_extack(const struct rn_nl *nl)
{
	return nl->extack;
}

struct nlmsghdr *rn_nl_req_start(union rn_nl_req *req, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh;

	memset(req, 0, sizeof(*req));
	nlh = mnl_nlmsg_put_header(req->buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	return nlh;
}

static int extack_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type <= NLMSGERR_ATTR_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

/* The TLVs follow the nlmsgerr and, unless the kernel capped it, the echoed request. */
static void nl_read_extack(struct rn_nl *nl, const struct nlmsghdr *nlh, size_t off)
{
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1] = { 0 };
	const struct nlattr *msg;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	off = MNL_ALIGN(off);
	if (off >= mnl_nlmsg_get_payload_len(nlh))
		return;
	if (mnl_attr_parse(nlh, (unsigned int)off, extack_attr_cb, tb) < 0)
		return;
	msg = tb[NLMSGERR_ATTR_MSG];
	if (msg && mnl_attr_validate(msg, MNL_TYPE_NUL_STRING) == 0)
		snprintf(nl->extack, sizeof(nl->extack), "%s", mnl_attr_get_str(msg));
}

static int nl_error(struct rn_nl *nl, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*e);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
		return -EBADMSG;
	if (e->error == 0)
		return 0;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len > sizeof(struct nlmsghdr))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	nl_read_extack(nl, nlh, off);
	return e->error < 0 ? e->error : -e->error;
}

/* The end of a dump carries the dump's own status. */
static int nl_done(struct rn_nl *nl, const struct nlmsghdr *nlh)
{
	int err;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(int))
		return 0;
	memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
	if (err == 0)
		return 0;
	nl_read_extack(nl, nlh, sizeof(int));
	return err < 0 ? err : -err;
}

struct nl_rx {
	rn_nl_msg_cb cb;
	void *data;
	int kerr, cberr;
	bool intr, done;
};

static void nl_rx_buffer(struct rn_nl *nl, int len, struct nl_rx *rx)
{
	const struct nlmsghdr *h = (const struct nlmsghdr *)nl->rxbuf;

	for (; mnl_nlmsg_ok(h, len); h = mnl_nlmsg_next(h, &len)) {
		if (h->nlmsg_seq != nl->seq || h->nlmsg_pid != nl->portid)
			continue;
		switch (h->nlmsg_type) {
		case NLMSG_NOOP:
			break;
		case NLMSG_ERROR:
			rx->kerr = nl_error(nl, h);
			rx->done = true;
			return;
		case NLMSG_DONE:
			rx->kerr = nl_done(nl, h);
			rx->done = true;
			return;
		case NLMSG_OVERRUN:
			rx->kerr = -EOVERFLOW;
			rx->done = true;
			return;
		default:
			if (h->nlmsg_flags & NLM_F_DUMP_INTR)
				rx->intr = true;
			/* Keep reading after a callback error: the socket must reach the ACK. */
			if (rx->cb && !rx->cberr)
				rx->cberr = rx->cb(h, rx->data);
		}
	}
}

int rn_nl_transact(struct rn_nl *nl, struct nlmsghdr *nlh, rn_nl_msg_cb cb, void *data)
{
	struct nl_rx rx = { .cb = cb, .data = data };
	ssize_t len;

	if (++nl->seq == 0)
		nl->seq = 1;
	nlh->nlmsg_seq = nl->seq;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nl->extack[0] = '\0';
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while (!rx.done) {
		len = mnl_socket_recvfrom(nl->sock, nl->rxbuf, RN_NL_RXBUF_SIZE);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		nl_rx_buffer(nl, (int)len, &rx);
	}
	if (rx.kerr && nl->extack[0])
		log_warn(MAIN, "netlink: request %u: %s: kernel says: %s", nlh->nlmsg_type,
			 strerror(-rx.kerr), nl->extack);
	if (rx.kerr)
		return rx.kerr;
	if (rx.cberr)
		return rx.cberr;
	return rx.intr ? -EAGAIN : 0;
}

void rn_nl_put_ip(struct nlmsghdr *nlh, uint16_t type, const struct rn_ip *ip)
{
	mnl_attr_put(nlh, type, rn_ipaddr_size(ip->family), ip->bytes);
}

bool rn_nl_get_ip(const struct nlattr *attr, uint8_t family, struct rn_ip *out)
{
	size_t n = rn_ipaddr_size(family);

	memset(out, 0, sizeof(*out));
	if (!n || mnl_attr_get_payload_len(attr) != n)
		return false;
	out->family = family;
	memcpy(out->bytes, mnl_attr_get_payload(attr), n);
	return true;
}

bool rn_nl_get_u32(const struct nlattr *attr, uint32_t *out)
{
	if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return false;
	*out = mnl_attr_get_u32(attr);
	return true;
}

bool rn_nl_ifname_ok(const char *name)
{
	size_t n = strnlen(name, IFNAMSIZ);

	return n > 0 && n < IFNAMSIZ && !strchr(name, '/');
}

int rn_nl_vec_push(struct rn_nl_vec *v, const void *item)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		void *p = reallocarray(v->items, cap, v->size);

		if (!p)
			return -ENOMEM;
		v->items = p;
		v->cap = cap;
	}
	memcpy((char *)v->items + v->n * v->size, item, v->size);
	v->n++;
	return 0;
}

/* ---- links ---- */

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rn_nl_link *l = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;

	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return -EBADMSG;
	memset(l, 0, sizeof(*l));
	l->index = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	mnl_attr_for_each(attr, nlh, sizeof(*ifi)) {
		switch (mnl_attr_get_type(attr)) {
		case IFLA_IFNAME:
			if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0 ||
			    strlen(mnl_attr_get_str(attr)) >= IFNAMSIZ)
				return -EBADMSG;
			strcpy(l->name, mnl_attr_get_str(attr));
			break;
		case IFLA_MTU:
			if (!rn_nl_get_u32(attr, &l->mtu))
				return -EBADMSG;
			break;
		}
	}
	return 0;
}

static int link_query(struct rn_nl *nl, const char *name, int index, struct rn_nl_link *out)
{
	union rn_nl_req req;
	struct nlmsghdr *nlh = rn_nl_req_start(&req, RTM_GETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	memset(out, 0, sizeof(*out));
	return rn_nl_transact(nl, nlh, link_cb, out);
}

int rn_nl_link_get(struct rn_nl *nl, const char *name, struct rn_nl_link *out)
{
	if (!rn_nl_ifname_ok(name))
		return -EINVAL;
	return link_query(nl, name, 0, out);
}

int rn_nl_link_get_index(struct rn_nl *nl, int index, struct rn_nl_link *out)
{
	if (index <= 0)
		return -EINVAL;
	return link_query(nl, NULL, index, out);
}

int rn_nl_link_index(struct rn_nl *nl, const char *name, int *index)
{
	struct rn_nl_link l;
	int err = rn_nl_link_get(nl, name, &l);

	if (err)
		return err;
	*index = l.index;
	return 0;
}

int rn_nl_index_name(struct rn_nl *nl, int index, char *dev)
{
	struct rn_nl_link l;
	int err;

	dev[0] = '\0';
	if (index <= 0)
		return 0;
	err = rn_nl_link_get_index(nl, index, &l);
	if (err)
		return err == -ENODEV ? 0 : err;
	strcpy(dev, l.name);
	return 0;
}

/* RTM_SETLINK never creates: a typo in a name cannot conjure an interface. */
static struct nlmsghdr *link_set_start(union rn_nl_req *req, const char *name)
{
	struct nlmsghdr *nlh = rn_nl_req_start(req, RTM_SETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nlh;
}

int rn_nl_link_set_up(struct rn_nl *nl, const char *name, bool up)
{
	union rn_nl_req req;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (!rn_nl_ifname_ok(name))
		return -EINVAL;
	nlh = link_set_start(&req, name);
	ifi = mnl_nlmsg_get_payload(nlh);
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	return rn_nl_transact(nl, nlh, NULL, NULL);
}

int rn_nl_link_set_mtu(struct rn_nl *nl, const char *name, uint32_t mtu)
{
	union rn_nl_req req;
	struct nlmsghdr *nlh;

	if (!rn_nl_ifname_ok(name) || mtu == 0)
		return -EINVAL;
	nlh = link_set_start(&req, name);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return rn_nl_transact(nl, nlh, NULL, NULL);
}

int rn_nl_link_add(struct rn_nl *nl, const char *name, const char *kind, const char *peer)
{
	union rn_nl_req req;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct nlattr *info, *data, *peer_nest;

	if (!rn_nl_ifname_ok(name) || !kind || (peer && !rn_nl_ifname_ok(peer)))
		return -EINVAL;
	nlh = rn_nl_req_start(&req, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	if (peer) {
		data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
		peer_nest = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
		/* The peer is described by an ifinfomsg of its own, then its attributes. */
		mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
		mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
		mnl_attr_nest_end(nlh, peer_nest);
		mnl_attr_nest_end(nlh, data);
	}
	mnl_attr_nest_end(nlh, info);
	return rn_nl_transact(nl, nlh, NULL, NULL);
}

int rn_nl_link_del(struct rn_nl *nl, const char *name)
{
	union rn_nl_req req;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (!rn_nl_ifname_ok(name))
		return -EINVAL;
	nlh = rn_nl_req_start(&req, RTM_DELLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return rn_nl_transact(nl, nlh, NULL, NULL);
}

/* ---- addresses ---- */

void rn_nl_addr_normalize(struct rn_nl_addr *a)
{
	if (!a->protocol)
		a->protocol = RN_RTPROT;
}

bool rn_nl_addr_equal(const struct rn_nl_addr *a, const struct rn_nl_addr *b)
{
	return !strncmp(a->dev, b->dev, IFNAMSIZ) && rn_ipaddr_prefix_equal(&a->prefix, &b->prefix);
}

static int addr_request(struct rn_nl *nl, const struct rn_nl_addr *a, bool add)
{
	size_t alen = rn_ipaddr_size(a->prefix.addr.family);
	union rn_nl_req req;
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	int index, err;

	if (!alen || a->prefix.len > alen * 8)
		return -EINVAL;
	err = rn_nl_link_index(nl, a->dev, &index);
	if (err)
		return err;
	nlh = rn_nl_req_start(&req, add ? RTM_NEWADDR : RTM_DELADDR,
			      add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = a->prefix.addr.family;
	ifa->ifa_prefixlen = a->prefix.len;
	ifa->ifa_index = (uint32_t)index;
	rn_nl_put_ip(nlh, IFA_LOCAL, &a->prefix.addr);
	rn_nl_put_ip(nlh, IFA_ADDRESS, &a->prefix.addr);
	if (add) {
		/* Our addresses are unique by construction: DAD would only delay them. */
		if (a->prefix.addr.family == AF_INET6) {
			ifa->ifa_flags = IFA_F_NODAD;
			mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
		}
		mnl_attr_put_u8(nlh, IFA_PROTO, a->protocol ? a->protocol : RN_RTPROT);
	}
	return rn_nl_transact(nl, nlh, NULL, NULL);
}

int rn_nl_addr_add(struct rn_nl *nl, const struct rn_nl_addr *a)
{
	return addr_request(nl, a, true);
}

int rn_nl_addr_del(struct rn_nl *nl, const struct rn_nl_addr *a)
{
	return addr_request(nl, a, false);
}

struct addr_dump {
	const struct rn_nl_filter *f;
	struct rn_nl_vec vec;
};

static int addr_parse(const struct nlmsghdr *nlh, struct rn_nl_addr *a)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	struct rn_ip local = { 0 }, address = { 0 };

	memset(a, 0, sizeof(*a));
	a->ifindex = (int)ifa->ifa_index;
	a->prefix.len = ifa->ifa_prefixlen;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
		switch (mnl_attr_get_type(attr)) {
		case IFA_LOCAL:
			if (!rn_nl_get_ip(attr, ifa->ifa_family, &local))
				return -EBADMSG;
			break;
		case IFA_ADDRESS:
			if (!rn_nl_get_ip(attr, ifa->ifa_family, &address))
				return -EBADMSG;
			break;
		case IFA_PROTO:
			if (mnl_attr_validate(attr, MNL_TYPE_U8) < 0)
				return -EBADMSG;
			a->protocol = mnl_attr_get_u8(attr);
			break;
		}
	}
	/* On point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is always ours. */
	a->prefix.addr = local.family ? local : address;
	return a->prefix.addr.family ? 0 : -EBADMSG;
}

static int addr_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_dump *d = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct rn_nl_addr a;
	int err;

	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return -EBADMSG;
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return 0;
	if (d->f->family && ifa->ifa_family != d->f->family)
		return 0;
	if (d->f->ifindex && (int)ifa->ifa_index != d->f->ifindex)
		return 0;
	err = addr_parse(nlh, &a);
	if (err)
		return err;
	if (d->f->protocol && a.protocol != d->f->protocol)
		return 0;
	return rn_nl_vec_push(&d->vec, &a);
}

static int addr_dump_once(struct rn_nl *nl, struct addr_dump *d)
{
	union rn_nl_req req;
	struct nlmsghdr *nlh = rn_nl_req_start(&req, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = d->f->family;
	d->vec.n = 0;
	return rn_nl_transact(nl, nlh, addr_dump_cb, d);
}

int rn_nl_addr_list(struct rn_nl *nl, const struct rn_nl_filter *f, struct rn_nl_addr **out,
		    size_t *n)
{
	static const struct rn_nl_filter any;
	struct addr_dump d = { .f = f ? f : &any, .vec = { .size = sizeof(**out) } };
	struct rn_nl_addr *a;
	int err, tries = 0;

	do
		err = addr_dump_once(nl, &d);
	while (err == -EAGAIN && ++tries < RN_NL_DUMP_TRIES);
	for (size_t i = 0; !err && i < d.vec.n; i++) {
		a = (struct rn_nl_addr *)d.vec.items + i;
		err = rn_nl_index_name(nl, a->ifindex, a->dev);
	}
	if (err) {
		free(d.vec.items);
		return err;
	}
	*out = d.vec.items;
	*n = d.vec.n;
	return 0;
}
