/* SPDX-License-Identifier: MIT */
/*
 * rn_tun_query follows a TUN device that is moved to another network namespace and renamed
 * there (wireguard.com/netns), and back, reads its MTU where it is, leaves the calling thread
 * in its own namespace, and says -ENODEV once the device is deleted. Needs root: the test makes its own
 * namespaces (unshare), so nothing of it is seen outside.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "wg/tun.h"

static int ns_fd(void)
{
	int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static unsigned long ns_ino(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return (unsigned long)st.st_ino;
}

static unsigned long own_ns_ino(void)
{
	struct stat st;

	assert_int_equal(stat("/proc/thread-self/ns/net", &st), 0);
	return (unsigned long)st.st_ino;
}

/* RTM_NEWLINK (to_ns >= 0: move the link there) or RTM_DELLINK, with the ACK read. */
static void nl_link(int type, int ifindex, int to_ns)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
		char attrs[32];
	} req;
	struct {
		struct nlmsghdr nh;
		struct nlmsgerr err;
	} ack;
	struct rtattr *rta;
	int s;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi));
	req.nh.nlmsg_type = (uint16_t)type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = ifindex;
	if (to_ns >= 0) {
		rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
		rta->rta_type = IFLA_NET_NS_FD;
		rta->rta_len = RTA_LENGTH(sizeof(int));
		memcpy(RTA_DATA(rta), &to_ns, sizeof(int));
		req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
	}
	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	assert_true(s >= 0);
	assert_int_equal(send(s, &req, req.nh.nlmsg_len, 0), (ssize_t)req.nh.nlmsg_len);
	assert_true(recv(s, &ack, sizeof(ack), 0) >= (ssize_t)sizeof(ack));
	assert_int_equal(ack.nh.nlmsg_type, NLMSG_ERROR);
	assert_int_equal(ack.err.error, 0);
	close(s);
}

/* In namespace ns: rename the (down) link and set its MTU; back to home after. */
static void rename_and_mtu(int ns, int home, const char *from, const char *to, int mtu)
{
	struct ifreq ifr;
	int s;

	assert_int_equal(setns(ns, CLONE_NEWNET), 0);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, from);
	strcpy(ifr.ifr_newname, to);
	assert_int_equal(ioctl(s, SIOCSIFNAME, &ifr), 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, to);
	ifr.ifr_mtu = mtu;
	assert_int_equal(ioctl(s, SIOCSIFMTU, &ifr), 0);
	close(s);
	assert_int_equal(setns(home, CLONE_NEWNET), 0);
}

static void test_follows_move_and_deletion(void **state)
{
	struct rn_tun_where w = RN_TUN_WHERE_INIT;
	int host, a, b, fd, mtu = 0, sock, ifindex;
	char name[IFNAMSIZ];
	bool vnet;

	(void)state;
	if (geteuid() != 0)
		skip(); /* make check runs as root */
	host = ns_fd();
	/* A: where the device is made and we stay; B: where it is moved to. */
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	a = ns_fd();
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	b = ns_fd();
	assert_int_equal(setns(a, CLONE_NEWNET), 0);

	fd = rn_tun_open("rntun0", name, &vnet, NULL);
	assert_true(fd >= 0);
	assert_int_equal(rn_tun_query(fd, &w, &mtu), 0);
	assert_string_equal(w.name, "rntun0");
	assert_true(w.own_netns);
	assert_int_equal(w.netns_ino, ns_ino(a));
	assert_int_equal(mtu, 1500);
	sock = w.sock;
	/* Nothing moved: the socket is kept. */
	assert_int_equal(rn_tun_query(fd, &w, &mtu), 0);
	assert_int_equal(w.sock, sock);

	ifindex = (int)if_nametoindex("rntun0");
	assert_true(ifindex > 0);
	nl_link(RTM_NEWLINK, ifindex, b);
	assert_false(rn_tun_exists("rntun0")); /* what the daemon used to take for a deletion */
	rename_and_mtu(b, a, "rntun0", "moved0", 34816 - 1500 + 1420);
	assert_int_equal(rn_tun_query(fd, &w, &mtu), 0);
	assert_string_equal(w.name, "moved0");
	assert_false(w.own_netns);
	assert_int_equal(w.netns_ino, ns_ino(b));
	assert_int_equal(mtu, 34736);
	/* The query visited B for its socket and came back. */
	assert_int_equal(own_ns_ino(), ns_ino(a));

	/* Back home under its new name: our own namespace's socket again. */
	assert_int_equal(setns(b, CLONE_NEWNET), 0);
	ifindex = (int)if_nametoindex("moved0");
	assert_true(ifindex > 0);
	nl_link(RTM_NEWLINK, ifindex, a);
	assert_int_equal(setns(a, CLONE_NEWNET), 0);
	assert_int_equal(rn_tun_query(fd, &w, &mtu), 0);
	assert_string_equal(w.name, "moved0");
	assert_true(w.own_netns);
	assert_int_equal(w.netns_ino, ns_ino(a));
	assert_int_equal(mtu, 34736);

	/* Deleted: the fd is dead. */
	ifindex = (int)if_nametoindex("moved0");
	assert_true(ifindex > 0);
	nl_link(RTM_DELLINK, ifindex, -1);
	assert_int_equal(rn_tun_query(fd, &w, &mtu), -ENODEV);

	rn_tun_where_close(&w);
	assert_int_equal(w.sock, -1);
	close(fd);
	assert_int_equal(setns(host, CLONE_NEWNET), 0);
	close(a);
	close(b);
	close(host);
}

/* An fd that is no TUN device is an error, never taken for a deleted one. */
static void test_not_a_tun(void **state)
{
	struct rn_tun_where w = RN_TUN_WHERE_INIT;
	int sv[2], mtu = 0;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(rn_tun_query(sv[0], &w, &mtu), -ENOTTY);
	assert_int_equal(w.sock, -1);
	assert_int_equal(mtu, 0);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_follows_move_and_deletion),
		cmocka_unit_test(test_not_a_tun),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
