/* SPDX-License-Identifier: MIT */
/*
 * The Linux TUN device, opened so that one read or write carries up to 64 KiB: a virtio-net
 * header in front of every packet (IFF_VNET_HDR) and TSO/USO/checksum offload switched on, so
 * the kernel hands over TCP and UDP super-packets unsegmented (see wg/offload.h to split them).
 *
 * The fd is non-blocking, so a reader thread can be stopped without closing the fd under it:
 *
 *	for (;;) {
 *		n = read(tun_fd, buf, len);
 *		if (n < 0 && errno == EAGAIN) {
 *			struct pollfd p[2] = {{tun_fd, POLLIN}, {stop_eventfd, POLLIN}};
 *			poll(p, 2, -1);
 *			if (p[1].revents) break;	// shutdown: write 1 to stop_eventfd
 *			continue;
 *		}
 *		...
 *	}
 *
 * Under load reads succeed and poll() is never called, so waking costs no syscall per packet.
 * Writes never block either way (the TUN socket's send buffer is unlimited). A write failing
 * with EIO means the interface is down (drop and go on); EBADFD on a read or write means it
 * was deleted (rn_tun_query says -ENODEV then). Moving it to another network namespace
 * changes nothing for the fd.
 */
#ifndef RN_WG_TUN_H
#define RN_WG_TUN_H

#include <net/if.h>
#include <stdbool.h>

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20 /* missing from older uapi headers (Linux 6.2) */
#define TUN_F_USO6 0x40
#endif

/*
 * Creates (or attaches to) the TUN interface ifname (NULL or "" lets the kernel pick "tunN")
 * and returns its fd (O_NONBLOCK, O_CLOEXEC) or -errno. actual_name (IFNAMSIZ bytes, may be
 * NULL) receives the name the kernel gave it. *vnet_hdr says whether every read and write
 * carries a struct virtio_net_hdr; if the kernel refused the header it is false and packets are
 * plain IP. *uso (may be NULL) says whether UDP segmentation offload was accepted too, which
 * is also what decides whether UDP super-packets may be written (rn_gro_init's uso).
 */
int rn_tun_open(const char *ifname, char *actual_name, bool *vnet_hdr, bool *uso);
/* Whether an interface of that name exists in our network namespace. */
bool rn_tun_exists(const char *ifname);

/*
 * Where the device of a TUN fd is now. `ip link set IF netns NS` (WireGuard's container
 * pattern, wireguard.com/netns) moves the interface to another network namespace, maybe
 * renaming it, while the fd stays attached and reads and writes go on: the interface's own
 * name in our namespace tells nothing any more. The fd itself does: TUNGETIFF gives its
 * current name, TUNGETDEVNETNS (Linux 5.2) its namespace, and both fail with EBADFD once the
 * interface is deleted. Owned by one thread (the one that calls rn_tun_query).
 */
struct rn_tun_where {
	int sock;		 /* AF_INET datagram socket in the device's namespace; -1: none */
	unsigned long netns_ino; /* that namespace's inode number; 0: not known */
	bool own_netns;		 /* it is the calling thread's namespace */
	char name[IFNAMSIZ];	 /* the interface's current name */
};

#define RN_TUN_WHERE_INIT                                                                          \
	{                                                                                          \
		.sock = -1                                                                         \
	}

/*
 * Follows the TUN fd's device and reads its MTU into *mtu. 0; -ENODEV once the interface was
 * deleted (the fd is dead); other -errno for a failure that may pass. Reaching a namespace
 * other than ours takes setns() (CAP_SYS_ADMIN), for the calling thread only and undone
 * before returning; a kernel without TUNGETDEVNETNS is taken to keep the device in ours.
 */
int rn_tun_query(int tun_fd, struct rn_tun_where *w, int *mtu);
/* Sets the MTU of the device w last found (rn_tun_query): 0 or -errno. */
int rn_tun_set_mtu(const struct rn_tun_where *w, int mtu);
void rn_tun_where_close(struct rn_tun_where *w);

#endif
