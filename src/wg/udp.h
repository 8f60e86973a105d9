/* SPDX-License-Identifier: MIT */
/*
 * The WireGuard UDP socket: one dual-stack socket on the listen port, sends batched with UDP
 * GSO (one sendmmsg() for a whole run of datagrams to a peer) and receives batched with
 * recvmmsg() and UDP GRO, so a 64 KiB train of datagrams costs one syscall each way.
 *
 * Receiving is non-blocking: rn_udp_recv_batch returns -EAGAIN when nothing is queued, and the
 * receive thread then polls u->fd together with its shutdown eventfd, as for the TUN fd (see
 * wg/tun.h). Sending blocks when the socket buffer is full, which is the back-pressure we want.
 */
#ifndef RN_WG_UDP_H
#define RN_WG_UDP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "wg/config.h"

/* Socket buffers asked for; SO_*BUFFORCE goes past net.core.[rw]mem_max when we are root. */
#define RN_UDP_SOCKBUF_BYTES (8 << 20)
/* Segments in one UDP GSO send: the kernel's UDP_MAX_SEGMENTS on every version we support. */
#define RN_UDP_GSO_MAX_SEGS 64
/* Largest UDP payload of one send (65535 - IPv4 header - UDP header). */
#define RN_UDP_MAX_PAYLOAD 65507
/* recvmmsg() messages per batch and their buffer size, with and without UDP GRO. */
#define RN_UDP_RX_MSGS_GRO   16
#define RN_UDP_RX_BUF_GRO    65536
#define RN_UDP_RX_MSGS_PLAIN 64
#define RN_UDP_RX_BUF_PLAIN  16384
#define RN_UDP_RX_MAX_MSGS   RN_UDP_RX_MSGS_PLAIN

struct rn_udp {
	int fd;		 /* -1 when closed */
	int family;	 /* AF_INET6 (dual-stack) or AF_INET */
	uint16_t port;	 /* bound port, host order */
	uint32_t fwmark; /* 0 = none */
	bool gro;	 /* UDP_GRO accepted: one received message may hold many datagrams */
	bool gso;	 /* UDP_SEGMENT supported; cleared (atomically) if the route refuses it */
};

/* The local address a datagram arrived at, so that replies leave from it (sticky source). */
struct rn_udp_src {
	sa_family_t family; /* AF_UNSPEC: let the kernel choose */
	int ifindex;
	union {
		struct in_addr ip4;
		struct in6_addr ip6;
	};
};

/* The same source: family, interface and the family's address (never padding or the rest). */
bool rn_udp_src_equal(const struct rn_udp_src *a, const struct rn_udp_src *b);

/* One datagram of a received batch; data points into the batch's buffers and may be changed. */
struct rn_udp_dgram {
	uint8_t *data;
	size_t len;
	const union rn_wg_endpoint *from; /* IPv4 peers as sockaddr_in, never v4-mapped */
	const struct rn_udp_src *local;
};

/*
 * A receive batch: the recvmmsg() state and its buffers (about 1 MiB, mapped once by
 * rn_udp_rx_init). Datagrams handed out stay valid until the next rn_udp_recv_batch.
 */
struct rn_udp_rx {
	uint8_t *arena; /* owned */
	size_t buf_size;
	int max_msgs;
	int n_msgs; /* filled by the last receive */
	int cur;    /* iterator: message and offset within it */
	size_t off;
	struct mmsghdr msgs[RN_UDP_RX_MAX_MSGS];
	struct iovec iov[RN_UDP_RX_MAX_MSGS];
	union rn_wg_endpoint from[RN_UDP_RX_MAX_MSGS];
	struct rn_udp_src local[RN_UDP_RX_MAX_MSGS];
	uint16_t seg_size[RN_UDP_RX_MAX_MSGS]; /* GRO segment size, 0 = one datagram */
	_Alignas(struct cmsghdr) uint8_t ctrl[RN_UDP_RX_MAX_MSGS][128];
};

/*
 * Opens and binds the socket. family AF_INET6 asks for a dual-stack socket and falls back to
 * AF_INET when IPv6 is off; AF_INET is IPv4 only. port 0 binds a random port, reported in
 * u->port. fwmark 0 sets no mark. Returns 0 or -errno (EADDRINUSE: say which port).
 */
int rn_udp_open(int family, uint16_t port, uint32_t fwmark, struct rn_udp *u);
void rn_udp_close(struct rn_udp *u);
/* SO_MARK (needs CAP_NET_ADMIN); 0 clears it. 0 or -errno. */
int rn_udp_set_fwmark(struct rn_udp *u, uint32_t fwmark);
/*
 * Moves the socket to another port, keeping the fd number (dup3), so concurrent senders need
 * no lock. On failure the old socket stays. The receive thread must be woken afterwards: it
 * may be waiting in poll() on the old socket.
 */
int rn_udp_rebind(struct rn_udp *u, uint16_t port);

/*
 * Sends n datagrams to dst: runs of equal size (the last of a run may be shorter) go as one
 * UDP GSO send, and everything goes in one sendmmsg() when possible. Returns the number of
 * datagrams the kernel took (the rest were dropped), or -errno if it took none.
 */
int rn_udp_send_batch(struct rn_udp *u, const union rn_wg_endpoint *dst, struct iovec *segs, int n);
/*
 * The same from a chosen local address (src may be NULL). If the kernel refuses the address
 * (it was removed), *src is cleared to AF_UNSPEC and the datagrams go from the default source;
 * so pass a copy taken under the peer's lock and store it back, not a shared struct.
 */
int rn_udp_send_batch_from(struct rn_udp *u, const union rn_wg_endpoint *dst,
			   struct rn_udp_src *src, struct iovec *segs, int n);

/* Allocates the receive buffers, sized for u->gro. 0 or -ENOMEM. */
int rn_udp_rx_init(struct rn_udp_rx *rx, const struct rn_udp *u);
void rn_udp_rx_free(struct rn_udp_rx *rx);
/* Gives the buffers' pages back to the kernel while idle; the next receive touches them anew. */
void rn_udp_rx_release(struct rn_udp_rx *rx);
/*
 * Receives what is queued (recvmmsg with MSG_DONTWAIT). Returns the number of datagrams, or
 * -EAGAIN when none is waiting, or another -errno. Then iterate with rn_udp_rx_next.
 */
int rn_udp_recv_batch(struct rn_udp *u, struct rn_udp_rx *rx);
/* The next datagram of the batch; false when all were handed out. */
bool rn_udp_rx_next(struct rn_udp_rx *rx, struct rn_udp_dgram *d);

#endif
