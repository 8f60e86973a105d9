/* SPDX-License-Identifier: MIT */
/*
 * The WireGuard UDP socket: opening it with the options the fast path needs, batched sends with
 * UDP GSO and their fallbacks, and batched receives split back into datagrams by the GRO size.
 */
#include "wg/udp.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "wg/queue.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

enum { UDP_TX_MSGS = 64 }; /* messages per sendmmsg(); each may carry a GSO run */

union udp_addr {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

struct udp_tx {
	struct mmsghdr msgs[UDP_TX_MSGS];
	int first[UDP_TX_MSGS], count[UDP_TX_MSGS]; /* which datagrams each message carries */
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctrl[UDP_TX_MSGS];
};

static int set_int(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value)) < 0 ? -errno : 0;
}

/* Bigger buffers absorb a burst of 64 KiB trains; the forced variants need CAP_NET_ADMIN. */
static void udp_set_bufs(int fd)
{
	if (set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, RN_UDP_SOCKBUF_BYTES))
		set_int(fd, SOL_SOCKET, SO_RCVBUF, RN_UDP_SOCKBUF_BYTES);
	if (set_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, RN_UDP_SOCKBUF_BYTES))
		set_int(fd, SOL_SOCKET, SO_SNDBUF, RN_UDP_SOCKBUF_BYTES);
}

/* Creates and binds one socket into *u; 0 or -errno, nothing left open on failure. */
static int udp_socket(int family, uint16_t port, uint32_t fwmark, struct rn_udp *u)
{
	union udp_addr a;
	socklen_t alen = family == AF_INET6 ? sizeof(a.sin6) : sizeof(a.sin);
	int fd, err, gso = 0;

	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -errno;
	memset(&a, 0, sizeof(a));
	if (family == AF_INET6) {
		a.sin6.sin6_family = AF_INET6;
		a.sin6.sin6_port = htons(port);
		a.sin6.sin6_addr = in6addr_any;
		err = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
		if (!err)
			err = set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
	} else {
		a.sin.sin_family = AF_INET;
		a.sin.sin_port = htons(port);
		a.sin.sin_addr.s_addr = htonl(INADDR_ANY);
		err = 0;
	}
	/* IPv4 datagrams on a dual-stack socket report their local address through IP_PKTINFO. */
	if (!err)
		err = set_int(fd, IPPROTO_IP, IP_PKTINFO, 1);
	if (!err && fwmark)
		err = set_int(fd, SOL_SOCKET, SO_MARK, (int)fwmark);
	if (!err && bind(fd, &a.sa, alen) < 0)
		err = -errno;
	if (!err && getsockname(fd, &a.sa, &alen) < 0)
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	udp_set_bufs(fd);
	u->fd = fd;
	u->family = family;
	u->port = ntohs(family == AF_INET6 ? a.sin6.sin6_port : a.sin.sin_port);
	u->fwmark = fwmark;
	u->gro = set_int(fd, SOL_UDP, UDP_GRO, 1) == 0;
	alen = sizeof(gso);
	u->gso = getsockopt(fd, SOL_UDP, UDP_SEGMENT, &gso, &alen) == 0;
	return 0;
}

int rn_udp_open(int family, uint16_t port, uint32_t fwmark, struct rn_udp *u)
{
	int err;

	memset(u, 0, sizeof(*u));
	u->fd = -1;
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	err = udp_socket(family, port, fwmark, u);
	if (family == AF_INET6 && (err == -EAFNOSUPPORT || err == -EADDRNOTAVAIL)) {
		log_info(MAIN, "IPv6 is unavailable (%s): listening on IPv4 only", strerror(-err));
		err = udp_socket(AF_INET, port, fwmark, u);
	}
	if (!err)
		log_debug(MAIN, "UDP port %u, GSO %s, GRO %s", u->port, u->gso ? "on" : "off",
			  u->gro ? "on" : "off");
	return err;
}

void rn_udp_close(struct rn_udp *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}

int rn_udp_set_fwmark(struct rn_udp *u, uint32_t fwmark)
{
	int err = set_int(u->fd, SOL_SOCKET, SO_MARK, (int)fwmark);

	if (!err)
		u->fwmark = fwmark;
	return err;
}

int rn_udp_rebind(struct rn_udp *u, uint16_t port)
{
	struct rn_udp n;
	int err;

	if (u->fd >= 0 && port && port == u->port)
		return 0;
	memset(&n, 0, sizeof(n));
	err = udp_socket(u->family ? u->family : AF_INET6, port, u->fwmark, &n);
	if (err)
		return err;
	if (u->fd < 0) {
		*u = n;
		return 0;
	}
	/* The old port is released here, atomically with the fd number taking the new one. */
	if (dup3(n.fd, u->fd, O_CLOEXEC) < 0) {
		err = -errno;
		close(n.fd);
		return err;
	}
	close(n.fd);
	u->port = n.port;
	return 0;
}

/* ---- sending ---- */

/* The socket address for dst: v4-mapped on a dual-stack socket. */
static int udp_dst(const struct rn_udp *u, const union rn_wg_endpoint *dst, union udp_addr *a,
		   socklen_t *alen)
{
	memset(a, 0, sizeof(*a));
	if (dst->sa.sa_family == AF_INET && u->family == AF_INET) {
		a->sin = dst->sin;
		*alen = sizeof(a->sin);
	} else if (dst->sa.sa_family == AF_INET) {
		a->sin6.sin6_family = AF_INET6;
		a->sin6.sin6_port = dst->sin.sin_port;
		a->sin6.sin6_addr.s6_addr[10] = 0xff;
		a->sin6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&a->sin6.sin6_addr.s6_addr[12], &dst->sin.sin_addr, 4);
		*alen = sizeof(a->sin6);
	} else if (dst->sa.sa_family == AF_INET6 && u->family == AF_INET6) {
		a->sin6 = dst->sin6;
		*alen = sizeof(a->sin6);
	} else if (dst->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&dst->sin6.sin6_addr)) {
		a->sin.sin_family = AF_INET;
		a->sin.sin_port = dst->sin6.sin6_port;
		memcpy(&a->sin.sin_addr, &dst->sin6.sin6_addr.s6_addr[12], 4);
		*alen = sizeof(a->sin);
	} else {
		return dst->sa.sa_family == AF_UNSPEC ? -EDESTADDRREQ : -EAFNOSUPPORT;
	}
	return 0;
}

bool rn_udp_src_equal(const struct rn_udp_src *a, const struct rn_udp_src *b)
{
	if (a->family != b->family || a->ifindex != b->ifindex)
		return false;
	if (a->family == AF_INET)
		return a->ip4.s_addr == b->ip4.s_addr;
	if (a->family == AF_INET6)
		return !memcmp(&a->ip6, &b->ip6, sizeof(a->ip6));
	return true;
}

/* Appends the source-address control message; returns the bytes used. */
static size_t udp_put_src(struct msghdr *m, const struct rn_udp_src *src)
{
	struct cmsghdr *c = CMSG_FIRSTHDR(m);
	struct in6_pktinfo pi6 = { .ipi6_addr = src->ip6 };
	struct in_pktinfo pi = { .ipi_spec_dst = src->ip4 };

	if (src->family == AF_INET) {
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
	/* The interface only matters for a link-local source; elsewhere routing picks it. */
	if (IN6_IS_ADDR_LINKLOCAL(&src->ip6))
		pi6.ipi6_ifindex = (unsigned int)src->ifindex;
	c->cmsg_level = IPPROTO_IPV6;
	c->cmsg_type = IPV6_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi6));
	memcpy(CMSG_DATA(c), &pi6, sizeof(pi6));
	return CMSG_SPACE(sizeof(pi6));
}

/* Length of the GSO run starting at segs[i]: equal sizes, the last one possibly shorter. */
static int udp_gso_run(const struct iovec *segs, int i, int n)
{
	size_t size = segs[i].iov_len, total = size;
	int j = i + 1;

	if (!size)
		return 1;
	while (j < n && j - i < RN_UDP_GSO_MAX_SEGS && segs[j].iov_len && segs[j].iov_len <= size &&
	       total + segs[j].iov_len <= RN_UDP_MAX_PAYLOAD) {
		total += segs[j].iov_len;
		if (segs[j++].iov_len < size)
			break;
	}
	return j - i;
}

/* Fills tx with messages for segs[i..n); returns how many. */
static int udp_tx_build(struct udp_tx *tx, union udp_addr *a, socklen_t alen,
			const struct rn_udp_src *src, bool gso, struct iovec *segs, int i, int n)
{
	int m;

	for (m = 0; m < UDP_TX_MSGS && i < n; m++) {
		struct msghdr *h = &tx->msgs[m].msg_hdr;
		int run = gso ? udp_gso_run(segs, i, n) : 1;
		size_t used = 0;

		memset(h, 0, sizeof(*h));
		h->msg_name = a;
		h->msg_namelen = alen;
		h->msg_iov = &segs[i];
		h->msg_iovlen = (size_t)run;
		h->msg_control = tx->ctrl[m].buf;
		h->msg_controllen = sizeof(tx->ctrl[m].buf);
		if (src)
			used = udp_put_src(h, src);
		if (run > 1) {
			struct cmsghdr *c = (struct cmsghdr *)(tx->ctrl[m].buf + used);
			uint16_t size = (uint16_t)segs[i].iov_len;

			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(size));
			memcpy(CMSG_DATA(c), &size, sizeof(size));
			used += CMSG_SPACE(sizeof(size));
		}
		h->msg_controllen = used;
		if (!used)
			h->msg_control = NULL;
		tx->first[m] = i;
		tx->count[m] = run;
		i += run;
	}
	return m;
}

int rn_udp_send_batch_from(struct rn_udp *u, const union rn_wg_endpoint *dst,
			   struct rn_udp_src *src, struct iovec *segs, int n)
{
	struct udp_tx tx;
	union udp_addr a;
	socklen_t alen;
	bool gso = __atomic_load_n(&u->gso, __ATOMIC_RELAXED);
	int i = 0, sent = 0, first_err = 0, dst_family, err = udp_dst(u, dst, &a, &alen);

	if (err)
		return err;
	dst_family = a.sa.sa_family == AF_INET || IN6_IS_ADDR_V4MAPPED(&a.sin6.sin6_addr)
			 ? AF_INET
			 : AF_INET6;
	while (i < n) {
		/* A source of the other family than the destination cannot be used. */
		bool use_src = src && src->family == dst_family;
		int m = udp_tx_build(&tx, &a, alen, use_src ? src : NULL, gso, segs, i, n);
		int r = sendmmsg(u->fd, tx.msgs, (unsigned int)m, 0);

		if (r > 0) {
			for (int k = 0; k < r; k++)
				sent += tx.count[k];
			i = tx.first[r - 1] + tx.count[r - 1];
			continue; /* a short count: the next call reports the failing message */
		}
		err = r < 0 ? errno : EAGAIN;
		if (err == EINTR)
			continue;
		if (err == EIO && tx.count[0] > 1) {
			/* The route cannot offload (IPsec, UDP-Lite): never try GSO again. */
			__atomic_store_n(&u->gso, false, __ATOMIC_RELAXED);
			gso = false;
		} else if (use_src &&
			   (err == EINVAL || err == ENETUNREACH || err == EADDRNOTAVAIL)) {
			/* The address is gone (IPv4 says ENETUNREACH, IPv6 EINVAL): as the kernel
			 * driver does, forget it and let routing choose. */
			src->family = AF_UNSPEC;
		} else if ((err == EINVAL || err == EMSGSIZE) && tx.count[0] > 1) {
			gso = false; /* segment larger than the path MTU: let the kernel fragment */
		} else {
			if (!first_err)
				first_err = -err;
			i = tx.first[0] + tx.count[0]; /* drop this message, keep going */
		}
	}
	return sent ? sent : first_err;
}

int rn_udp_send_batch(struct rn_udp *u, const union rn_wg_endpoint *dst, struct iovec *segs, int n)
{
	return rn_udp_send_batch_from(u, dst, NULL, segs, n);
}

/* ---- receiving ---- */

int rn_udp_rx_init(struct rn_udp_rx *rx, const struct rn_udp *u)
{
	/*
	 * No memset of the whole struct: the addresses and control buffers are written by each
	 * receive before they are read, and left alone they cost no memory in an idle pool.
	 */
	rx->n_msgs = rx->cur = 0;
	rx->off = 0;
	rx->max_msgs = u->gro ? RN_UDP_RX_MSGS_GRO : RN_UDP_RX_MSGS_PLAIN;
	rx->buf_size = u->gro ? RN_UDP_RX_BUF_GRO : RN_UDP_RX_BUF_PLAIN;
	rx->arena = rn_pool_mem_alloc((size_t)rx->max_msgs * rx->buf_size);
	if (!rx->arena)
		return -ENOMEM;
	for (int k = 0; k < rx->max_msgs; k++) {
		rx->iov[k].iov_base = rx->arena + (size_t)k * rx->buf_size;
		rx->iov[k].iov_len = rx->buf_size;
		rx->msgs[k] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &rx->iov[k],
							     .msg_iovlen = 1,
							     .msg_name = &rx->from[k],
							     .msg_control = rx->ctrl[k] } };
	}
	return 0;
}

void rn_udp_rx_free(struct rn_udp_rx *rx)
{
	rn_pool_mem_free(rx->arena, (size_t)rx->max_msgs * rx->buf_size);
	rx->arena = NULL;
	rx->n_msgs = rx->cur = 0;
}

void rn_udp_rx_release(struct rn_udp_rx *rx)
{
	rn_pool_mem_release(rx->arena, (size_t)rx->max_msgs * rx->buf_size);
	rx->n_msgs = rx->cur = 0;
}

/* Reads the GRO size and local address of message k, and normalises v4-mapped sources. */
static void udp_rx_parse(struct rn_udp_rx *rx, int k)
{
	struct msghdr *h = &rx->msgs[k].msg_hdr;
	union rn_wg_endpoint *from = &rx->from[k];
	struct rn_udp_src *local = &rx->local[k];

	rx->seg_size[k] = 0;
	memset(local, 0, sizeof(*local));
	if (h->msg_flags & MSG_TRUNC)
		rx->msgs[k].msg_len = 0; /* larger than any WireGuard message: dropped */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			int size;

			memcpy(&size, CMSG_DATA(c), sizeof(size));
			rx->seg_size[k] = size > 0 && size < 65536 ? (uint16_t)size : 0;
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			local->family = AF_INET;
			local->ifindex = pi.ipi_ifindex;
			local->ip4 = pi.ipi_spec_dst;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi6;

			memcpy(&pi6, CMSG_DATA(c), sizeof(pi6));
			local->family = AF_INET6;
			local->ifindex = (int)pi6.ipi6_ifindex;
			local->ip6 = pi6.ipi6_addr;
		}
	}
	if (from->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&from->sin6.sin6_addr)) {
		struct sockaddr_in sin = { .sin_family = AF_INET,
					   .sin_port = from->sin6.sin6_port };

		memcpy(&sin.sin_addr, &from->sin6.sin6_addr.s6_addr[12], 4);
		memset(from, 0, sizeof(*from));
		from->sin = sin;
	}
}

int rn_udp_recv_batch(struct rn_udp *u, struct rn_udp_rx *rx)
{
	int r, count = 0;

	rx->n_msgs = rx->cur = 0;
	rx->off = 0;
	for (int k = 0; k < rx->max_msgs; k++) {
		rx->msgs[k].msg_hdr.msg_namelen = sizeof(rx->from[k]);
		rx->msgs[k].msg_hdr.msg_controllen = sizeof(rx->ctrl[k]);
	}
	do
		r = recvmmsg(u->fd, rx->msgs, (unsigned int)rx->max_msgs, MSG_DONTWAIT, NULL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	for (int k = 0; k < r; k++) {
		unsigned int len;

		udp_rx_parse(rx, k);
		len = rx->msgs[k].msg_len;
		if (len)
			count += rx->seg_size[k]
				     ? (int)((len + rx->seg_size[k] - 1) / rx->seg_size[k])
				     : 1;
	}
	rx->n_msgs = r;
	return count;
}

bool rn_udp_rx_next(struct rn_udp_rx *rx, struct rn_udp_dgram *d)
{
	for (; rx->cur < rx->n_msgs; rx->cur++, rx->off = 0) {
		size_t len = rx->msgs[rx->cur].msg_len, seg = len - rx->off;

		if (rx->off >= len)
			continue;
		if (rx->seg_size[rx->cur] && seg > rx->seg_size[rx->cur])
			seg = rx->seg_size[rx->cur];
		d->data = rx->arena + (size_t)rx->cur * rx->buf_size + rx->off;
		d->len = seg;
		d->from = &rx->from[rx->cur];
		d->local = &rx->local[rx->cur];
		rx->off += seg;
		return true;
	}
	return false;
}
