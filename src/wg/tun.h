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
 * was deleted, which rn_tun_exists() confirms.
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
/* Whether an interface of that name exists; how a dead TUN fd is told from a passing error. */
bool rn_tun_exists(const char *ifname);

#endif
