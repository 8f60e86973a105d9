/* SPDX-License-Identifier: MIT */
/*
 * Opening the TUN device with the virtio-net header and the widest offload set the kernel
 * accepts, falling back step by step so that older kernels still get a working device.
 */
#include "wg/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/log.h"

static const unsigned int tun_offload_full =
    TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6;
static const unsigned int tun_offload_tcp = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;

/* Attaches fd to the interface; 0 or -errno. */
static int tun_set_iff(int fd, const char *ifname, bool vnet_hdr, char *actual_name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0);
	if (ifname)
		memcpy(ifr.ifr_name, ifname, strlen(ifname));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return -errno;
	if (actual_name)
		memcpy(actual_name, ifr.ifr_name, IFNAMSIZ);
	return 0;
}

/*
 * TSO needs the header size pinned and checksum offload; USO only exists since Linux 6.2, so
 * it is asked for first and dropped if refused. Returns false if no offload at all was taken.
 */
static bool tun_set_offload(int fd, const char *name, bool *uso)
{
	int hdr_size = (int)sizeof(struct virtio_net_hdr);

	*uso = false;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_size) < 0) {
		log_warn(TUN, "%s: TUNSETVNETHDRSZ %d refused (%s)", name, hdr_size,
			 strerror(errno));
		return false;
	}
	if (ioctl(fd, TUNSETOFFLOAD, tun_offload_full) == 0) {
		*uso = true;
		return true;
	}
	if (ioctl(fd, TUNSETOFFLOAD, tun_offload_tcp) == 0) {
		log_info(TUN, "%s: no UDP segmentation offload on this kernel (needs 6.2)", name);
		return true;
	}
	log_warn(TUN, "%s: TUNSETOFFLOAD refused (%s): one packet per read", name, strerror(errno));
	return false;
}

int rn_tun_open(const char *ifname, char *actual_name, bool *vnet_hdr, bool *uso)
{
	char name[IFNAMSIZ] = "";
	bool have_uso = false;
	int fd, err;

	*vnet_hdr = false;
	if (uso)
		*uso = false;
	if (ifname && strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = tun_set_iff(fd, ifname, true, name);
	if (err == 0) {
		*vnet_hdr = true;
		/*
		 * Without offloads the header costs 10 bytes a packet but is kept: writes may
		 * still carry super-packets, which the kernel takes whatever it was told.
		 */
		tun_set_offload(fd, name, &have_uso);
	} else if (err == -EINVAL) {
		/* A kernel (or a persistent device's owner) that refuses IFF_VNET_HDR. */
		log_warn(TUN, "%s: IFF_VNET_HDR refused: no offloads, one packet per read",
			 ifname ? ifname : "tun");
		err = tun_set_iff(fd, ifname, false, name);
	}
	if (err) {
		close(fd);
		return err;
	}
	if (uso)
		*uso = have_uso;
	if (actual_name)
		memcpy(actual_name, name, IFNAMSIZ);
	return fd;
}

bool rn_tun_exists(const char *ifname)
{
	return if_nametoindex(ifname) != 0;
}
