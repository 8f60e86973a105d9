/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the UDP socket layer on loopback (no privileges needed): batches of datagrams
 * sent with rn_udp_send_batch (UDP GSO where the kernel has it) come back out of
 * rn_udp_recv_batch (UDP GRO) one by one, in order, with their sizes, contents and addresses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/udp.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "wg/udp.h"

#define MAX_DGRAMS 128

struct pair {
	struct rn_udp tx, rx;
	struct rn_udp_rx *batch;
	uint8_t *data;
};

static uint8_t pattern(int dgram, size_t i)
{
	return (uint8_t)(dgram * 31 + i * 7 + (i >> 8));
}

static void pair_open(struct pair *p, bool gro)
{
	assert_int_equal(rn_udp_open(AF_INET6, 0, 0, &p->tx), 0);
	assert_int_equal(rn_udp_open(AF_INET6, 0, 0, &p->rx), 0);
	assert_int_not_equal(p->rx.port, 0);
	if (!gro && p->rx.gro) {
		int off = 0;

		assert_int_equal(setsockopt(p->rx.fd, SOL_UDP, UDP_GRO, &off, sizeof(off)), 0);
		p->rx.gro = false;
	}
	p->batch = malloc(sizeof(*p->batch));
	assert_non_null(p->batch);
	assert_int_equal(rn_udp_rx_init(p->batch, &p->rx), 0);
	p->data = malloc((size_t)MAX_DGRAMS * 2048);
	assert_non_null(p->data);
	if (!p->tx.gso || (gro && !p->rx.gro))
		print_message("note: UDP GSO %s, GRO %s on this kernel: checked without them\n",
			      p->tx.gso ? "on" : "off", p->rx.gro ? "on" : "off");
}

static void pair_close(struct pair *p)
{
	rn_udp_rx_free(p->batch);
	free(p->batch);
	free(p->data);
	rn_udp_close(&p->tx);
	rn_udp_close(&p->rx);
}

static union rn_wg_endpoint loopback4(uint16_t port)
{
	union rn_wg_endpoint ep;

	memset(&ep, 0, sizeof(ep));
	ep.sin.sin_family = AF_INET;
	ep.sin.sin_port = htons(port);
	ep.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return ep;
}

/* Fills n datagrams of the given sizes with a pattern; iov points at them. */
static void fill(struct pair *p, struct iovec *iov, const size_t *sizes, int n)
{
	for (int d = 0; d < n; d++) {
		iov[d].iov_base = p->data + (size_t)d * 2048;
		iov[d].iov_len = sizes[d];
		for (size_t i = 0; i < sizes[d]; i++)
			p->data[(size_t)d * 2048 + i] = pattern(d, i);
	}
}

static void check_addrs(const struct rn_udp_dgram *d, int family, uint16_t from_port)
{
	if (family == AF_INET6) {
		assert_int_equal(d->from->sa.sa_family, AF_INET6);
		assert_true(IN6_IS_ADDR_LOOPBACK(&d->from->sin6.sin6_addr));
		assert_int_equal(ntohs(d->from->sin6.sin6_port), from_port);
		assert_int_equal(d->local->family, AF_INET6);
		assert_true(IN6_IS_ADDR_LOOPBACK(&d->local->ip6));
		return;
	}
	/* IPv4 peers come back as sockaddr_in even on the dual-stack socket. */
	assert_int_equal(d->from->sa.sa_family, AF_INET);
	assert_int_equal(ntohl(d->from->sin.sin_addr.s_addr), INADDR_LOOPBACK);
	assert_int_equal(ntohs(d->from->sin.sin_port), from_port);
	assert_int_equal(d->local->family, AF_INET);
	assert_int_equal(ntohl(d->local->ip4.s_addr), INADDR_LOOPBACK);
}

/* Receives n datagrams and checks them; returns the number of recvmmsg messages used. */
static int receive_family(struct pair *p, const size_t *sizes, int n, uint16_t from_port,
			  int family)
{
	struct rn_udp_dgram d;
	int got = 0, msgs = 0;

	while (got < n) {
		struct pollfd pfd = { .fd = p->rx.fd, .events = POLLIN };
		int r = rn_udp_recv_batch(&p->rx, p->batch);

		if (r == -EAGAIN) {
			assert_int_equal(poll(&pfd, 1, 2000), 1);
			continue;
		}
		assert_true(r > 0);
		msgs += p->batch->n_msgs;
		while (rn_udp_rx_next(p->batch, &d)) {
			assert_true(got < n);
			assert_int_equal(d.len, sizes[got]);
			for (size_t i = 0; i < d.len; i++)
				if (d.data[i] != pattern(got, i))
					fail_msg("datagram %d byte %zu differs", got, i);
			check_addrs(&d, family, from_port);
			got++;
		}
	}
	assert_int_equal(rn_udp_recv_batch(&p->rx, p->batch), -EAGAIN);
	return msgs;
}

static int receive_check(struct pair *p, const size_t *sizes, int n, uint16_t from_port)
{
	return receive_family(p, sizes, n, from_port, AF_INET);
}

static void send_receive(bool gro)
{
	struct pair p;
	struct iovec iov[MAX_DGRAMS];
	size_t sizes[40];
	union rn_wg_endpoint dst;
	int msgs;

	pair_open(&p, gro);
	dst = loopback4(p.rx.port);
	for (int i = 0; i < 40; i++)
		sizes[i] = 1200;
	fill(&p, iov, sizes, 40);
	assert_int_equal(rn_udp_send_batch(&p.tx, &dst, iov, 40), 40);
	msgs = receive_check(&p, sizes, 40, p.tx.port);
	/* Loopback keeps a GSO send whole up to a GRO socket: one message, not forty. */
	if (p.tx.gso && p.rx.gro)
		assert_int_equal(msgs, 1);
	else
		assert_true(msgs <= 40);
	pair_close(&p);
}

static void test_batch_gro(void **state)
{
	(void)state;
	send_receive(true);
}

static void test_batch_plain(void **state)
{
	(void)state;
	send_receive(false);
}

/* Runs of equal sizes with a shorter last one, and sizes that break runs. */
static void test_mixed_sizes(void **state)
{
	static const size_t sizes[] = { 1000, 1000, 1000, 300, 500,  500,
					700,  700,  100,  1,   1400, 1400 };
	const int n = (int)(sizeof(sizes) / sizeof(sizes[0]));
	struct iovec iov[MAX_DGRAMS];
	union rn_wg_endpoint dst;
	struct pair p;

	(void)state;
	pair_open(&p, true);
	dst = loopback4(p.rx.port);
	fill(&p, iov, sizes, n);
	assert_int_equal(rn_udp_send_batch(&p.tx, &dst, iov, n), n);
	receive_check(&p, sizes, n, p.tx.port);
	pair_close(&p);
}

/* More datagrams than one GSO send or one sendmmsg() takes. */
static void test_large_batch(void **state)
{
	size_t sizes[MAX_DGRAMS];
	struct iovec iov[MAX_DGRAMS];
	union rn_wg_endpoint dst;
	struct pair p;

	(void)state;
	pair_open(&p, true);
	dst = loopback4(p.rx.port);
	for (int i = 0; i < MAX_DGRAMS; i++)
		sizes[i] = i < 100 ? 1452 : 1452 - (size_t)i; /* 28 singles at the end */
	fill(&p, iov, sizes, MAX_DGRAMS);
	assert_int_equal(rn_udp_send_batch(&p.tx, &dst, iov, MAX_DGRAMS), MAX_DGRAMS);
	receive_check(&p, sizes, MAX_DGRAMS, p.tx.port);
	pair_close(&p);
}

/* The sticky source: a local address works, a vanished one is dropped and the send goes on. */
static void test_source_address(void **state)
{
	size_t sizes[4] = { 100, 100, 100, 50 };
	struct iovec iov[4];
	struct rn_udp_src src = { .family = AF_INET };
	union rn_wg_endpoint dst;
	struct pair p;

	(void)state;
	pair_open(&p, true);
	dst = loopback4(p.rx.port);
	fill(&p, iov, sizes, 4);
	src.ip4.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(rn_udp_send_batch_from(&p.tx, &dst, &src, iov, 4), 4);
	assert_int_equal(src.family, AF_INET);
	receive_check(&p, sizes, 4, p.tx.port);
	inet_pton(AF_INET, "192.0.2.1", &src.ip4);
	assert_int_equal(rn_udp_send_batch_from(&p.tx, &dst, &src, iov, 4), 4);
	assert_int_equal(src.family, AF_UNSPEC);
	receive_check(&p, sizes, 4, p.tx.port);
	pair_close(&p);
}

/* The same dual-stack socket serves IPv6 peers. */
static void test_ipv6(void **state)
{
	size_t sizes[20];
	struct iovec iov[20];
	union rn_wg_endpoint dst;
	struct pair p;
	int r;

	(void)state;
	pair_open(&p, true);
	if (p.rx.family != AF_INET6) {
		pair_close(&p);
		skip();
	}
	memset(&dst, 0, sizeof(dst));
	dst.sin6.sin6_family = AF_INET6;
	dst.sin6.sin6_port = htons(p.rx.port);
	dst.sin6.sin6_addr = in6addr_loopback;
	for (int i = 0; i < 20; i++)
		sizes[i] = i < 19 ? 1280 : 77;
	fill(&p, iov, sizes, 20);
	r = rn_udp_send_batch(&p.tx, &dst, iov, 20);
	if (r == -EADDRNOTAVAIL || r == -ENETUNREACH) { /* no ::1 here */
		pair_close(&p);
		skip();
	}
	assert_int_equal(r, 20);
	receive_family(&p, sizes, 20, p.tx.port, AF_INET6);
	pair_close(&p);
}

static void test_rebind_and_errors(void **state)
{
	size_t sizes[2] = { 64, 64 };
	struct iovec iov[2];
	union rn_wg_endpoint dst, none;
	struct pair p;
	int fd;
	uint16_t old;

	(void)state;
	pair_open(&p, true);
	fd = p.rx.fd;
	old = p.rx.port;
	assert_int_equal(rn_udp_rebind(&p.rx, 0), 0);
	assert_int_equal(p.rx.fd, fd);
	assert_int_not_equal(p.rx.port, old);
	assert_int_equal(rn_udp_rebind(&p.rx, p.rx.port), 0);
	/* The port a socket already holds cannot be taken. */
	assert_int_equal(rn_udp_rebind(&p.rx, p.tx.port), -EADDRINUSE);
	dst = loopback4(p.rx.port);
	fill(&p, iov, sizes, 2);
	assert_int_equal(rn_udp_send_batch(&p.tx, &dst, iov, 2), 2);
	receive_check(&p, sizes, 2, p.tx.port);
	memset(&none, 0, sizeof(none));
	assert_int_equal(rn_udp_send_batch(&p.tx, &none, iov, 2), -EDESTADDRREQ);
	assert_int_equal(rn_udp_send_batch(&p.tx, &dst, iov, 0), 0);
	/* SO_MARK needs CAP_NET_ADMIN: either outcome is fine, but it must not be anything else. */
	int err = rn_udp_set_fwmark(&p.tx, 0x1234);

	assert_true(err == 0 || err == -EPERM);
	pair_close(&p);
}

/* Sources compare by what they mean: an IPv4 one's unused bytes and the padding do not count. */
static void test_src_equal(void **state)
{
	struct rn_udp_src a, b;

	(void)state;
	memset(&a, 0xaa, sizeof(a));
	memset(&b, 0x55, sizeof(b));
	a.family = b.family = AF_INET;
	a.ifindex = b.ifindex = 3;
	a.ip4.s_addr = b.ip4.s_addr = htonl(0xc0000201);
	assert_true(rn_udp_src_equal(&a, &b));
	b.ifindex = 4;
	assert_false(rn_udp_src_equal(&a, &b));
	b.ifindex = 3;
	b.ip4.s_addr = htonl(0xc0000202);
	assert_false(rn_udp_src_equal(&a, &b));
	memset(&a.ip6, 0, sizeof(a.ip6));
	memset(&b.ip6, 0, sizeof(b.ip6));
	a.family = b.family = AF_INET6;
	assert_true(rn_udp_src_equal(&a, &b));
	b.ip6.s6_addr[15] = 1;
	assert_false(rn_udp_src_equal(&a, &b));
	b.family = AF_UNSPEC;
	assert_false(rn_udp_src_equal(&a, &b));
	a.family = AF_UNSPEC;
	assert_true(rn_udp_src_equal(&a, &b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_gro),	  cmocka_unit_test(test_batch_plain),
		cmocka_unit_test(test_mixed_sizes),	  cmocka_unit_test(test_large_batch),
		cmocka_unit_test(test_source_address),	  cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_rebind_and_errors), cmocka_unit_test(test_src_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
