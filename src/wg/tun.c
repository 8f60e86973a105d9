/* SPDX-License-Identifier: MIT */
/*
 * Opening the TUN device with the virtio-net header and the widest offload set the kernel
 * accepts, falling back step by step so that older kernels still get a working device; and
 * following the device into whatever network namespace it is moved to.
 */
#include "wg/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

#ifndef TUNGETDEVNETNS
#define TUNGETDEVNETNS _IO('T', 227) /* Linux 5.2 */
#endif

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

/*
 * A datagram socket in the namespace nsfd names. A socket stays in the namespace it was made
 * in, so this thread enters that one only for the socket() call; the other threads never move.
 */
static int socket_in_netns(int nsfd)
{
	int self, s, err = 0;

	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		err = -errno;
		close(self);
		return err;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		err = -errno;
	if (setns(self, CLONE_NEWNET) < 0) {
		/* We just left it with the same rights; staying would put the UDP socket there. */
		log_error(TUN, "cannot return to our network namespace: %s", strerror(errno));
		abort();
	}
	close(self);
	return err ? err : s;
}

/* Points w at the namespace nsfd (inode ino) the device has moved to. */
static void where_follow(struct rn_tun_where *w, int nsfd, unsigned long ino)
{
	struct stat self;
	bool first = !w->netns_ino;
	int s;

	/* Without /proc we cannot tell: take it as ours, as before namespaces were followed. */
	w->own_netns = nsfd < 0 || stat("/proc/thread-self/ns/net", &self) < 0 ||
		       (unsigned long)self.st_ino == ino;
	s = w->own_netns ? socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0) : socket_in_netns(nsfd);
	if (s < 0)
		s = w->own_netns ? -errno : s;
	if (w->sock >= 0)
		close(w->sock);
	w->sock = s < 0 ? -1 : s;
	w->netns_ino = ino;
	if (!first)
		log_info(TUN, "%s is now in %s network namespace", w->name,
			 w->own_netns ? "our" : "another");
	if (s < 0)
		log_warn(TUN,
			 "%s: cannot reach its network namespace (%s): its MTU is not followed",
			 w->name, strerror(-s));
}

int rn_tun_query(int tun_fd, struct rn_tun_where *w, int *mtu)
{
	struct ifreq ifr;
	struct stat st;
	int nsfd;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(tun_fd, TUNGETIFF, &ifr) < 0)
		return errno == EBADFD ? -ENODEV : -errno;
	memcpy(w->name, ifr.ifr_name, IFNAMSIZ);
	w->name[IFNAMSIZ - 1] = '\0';
	nsfd = ioctl(tun_fd, TUNGETDEVNETNS);
	if (nsfd < 0 && errno == EBADFD)
		return -ENODEV;
	if (nsfd >= 0) {
		if (fstat(nsfd, &st) == 0 && (unsigned long)st.st_ino != w->netns_ino)
			where_follow(w, nsfd, (unsigned long)st.st_ino);
		close(nsfd);
	} else if (!w->netns_ino) {
		/* An older kernel: the device is taken to stay where it was made. */
		where_follow(w, -1, 1);
	}
	if (w->sock < 0)
		return -EAGAIN;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, w->name, IFNAMSIZ);
	/* ENODEV here is a race with a move or rename: the next query finds it. */
	if (ioctl(w->sock, SIOCGIFMTU, &ifr) < 0)
		return errno == ENODEV ? -EAGAIN : -errno;
	if (ifr.ifr_mtu <= 0)
		return -EINVAL;
	*mtu = ifr.ifr_mtu;
	return 0;
}

int rn_tun_set_mtu(const struct rn_tun_where *w, int mtu)
{
	struct ifreq ifr;

	if (w->sock < 0)
		return -EAGAIN;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, w->name, IFNAMSIZ);
	ifr.ifr_mtu = mtu;
	return ioctl(w->sock, SIOCSIFMTU, &ifr) < 0 ? -errno : 0;
}

void rn_tun_where_close(struct rn_tun_where *w)
{
	if (w->sock >= 0)
		close(w->sock);
	w->sock = -1;
	w->netns_ino = 0;
}
