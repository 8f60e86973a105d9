/* SPDX-License-Identifier: MIT */
/*
 * The STUN responder: --stun-listen's ADDR, what the map advertises for a listen address, what
 * is answered and what dropped (and counted), the rate limit per source, the bind errors, and
 * a real round trip over loopback through the responder's thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "netmap/netmap_priv.h"
#include "path/stun.h"
#include "rustynet-control/stunsrv.h"

static void ep_text(const union rn_netmap_endpoint *ep, char *buf, size_t len)
{
	rn_netmap_endpoint_format(ep, buf, len);
}

static void test_parse_listen(void **state)
{
	static const struct {
		const char *in;
		const char *want; /* canonical endpoint, or NULL: refused */
		const char *why;  /* a piece of the error */
	} cases[] = {
		{ "198.51.100.1", "198.51.100.1:3478", NULL },
		{ "198.51.100.1:3479", "198.51.100.1:3479", NULL },
		{ "0.0.0.0", "0.0.0.0:3478", NULL },
		{ "[::]", "[::]:3478", NULL },
		{ "[2001:db8::1]", "[2001:db8::1]:3478", NULL },
		{ "[2001:db8::1]:19302", "[2001:db8::1]:19302", NULL },
		{ "2001:db8::1", NULL, "in brackets" },
		{ "::", NULL, "in brackets" },
		{ "198.51.100.1:0", NULL, "1-65535" },
		{ "198.51.100.1:70000", NULL, "1-65535" },
		{ "[2001:db8::1]:", NULL, "is not IP" },
		{ "stun.example", NULL, "not a name" },
		{ "198.51.100.1:abc", NULL, "is not IP" },
		{ "", NULL, "is not IP" },
		{ "224.0.0.1", NULL, "multicast" },
		{ "255.255.255.255", NULL, "multicast or broadcast" },
		{ "[ff02::1]", NULL, "multicast" },
		{ "[2001:db8::1", NULL, "is not IP" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		union rn_netmap_endpoint ep;
		char err[200] = "", text[RN_NETMAP_ENDPOINT_STRLEN];
		int ret = rn_stunsrv_parse_listen(cases[i].in, &ep, err, sizeof(err));

		print_message("\"%s\": %d %s\n", cases[i].in, ret, err);
		if (!cases[i].want) {
			assert_int_equal(ret, -EINVAL);
			assert_non_null(strstr(err, cases[i].why));
			continue;
		}
		assert_int_equal(ret, 0);
		ep_text(&ep, text, sizeof(text));
		assert_string_equal(text, cases[i].want);
	}
}

static union rn_netmap_endpoint ep_of(const char *s)
{
	union rn_netmap_endpoint ep;
	char err[200];

	assert_int_equal(rn_stunsrv_parse_listen(s, &ep, err, sizeof(err)), 0);
	return ep;
}

static struct rn_netmap_ip ip_of(const char *s)
{
	struct rn_netmap_ip ip = { 0 };

	if (inet_pton(AF_INET, s, ip.addr) == 1)
		ip.family = AF_INET;
	else
		assert_int_equal(inet_pton(AF_INET6, s, ip.addr), 1), ip.family = AF_INET6;
	return ip;
}

static void test_advertised(void **state)
{
	struct rn_netmap_ip hosts[] = { ip_of("127.0.0.1"),	ip_of("fe80::1"),
					ip_of("::1"),		ip_of("203.0.113.5"),
					ip_of("2001:db8:1::1"), ip_of("203.0.113.6") };
	static const struct {
		const char *listen, *https; /* https NULL: none */
		size_t n_hosts;
		const char *want; /* NULL: nothing to tell */
	} cases[] = {
		/* a concrete address is what it is */
		{ "198.51.100.1:3478", "0.0.0.0:443", 6, "198.51.100.1:3478" },
		{ "[2001:db8::7]", NULL, 0, "[2001:db8::7]:3478" },
		/* a wildcard: the first usable certificate name of its family (init --hostname:
		 * the URL nodes enroll against, the public address behind a 1:1 NAT) */
		{ "0.0.0.0:3479", "198.51.100.9:443", 6, "203.0.113.5:3479" },
		{ "0.0.0.0", "0.0.0.0:443", 6, "203.0.113.5:3478" },
		{ "0.0.0.0", "[2001:db8::9]:443", 6, "203.0.113.5:3478" },
		{ "[::]", "[::]:443", 6, "[2001:db8:1::1]:3478" },
		/* else the --listen address, when it is concrete and usable, of that family */
		{ "0.0.0.0:3479", "198.51.100.9:443", 3, "198.51.100.9:3479" },
		{ "[::]", "[2001:db8::9]:443", 3, "[2001:db8::9]:3478" },
		/* none: only loopback and link-local names and --listen, or none at all */
		{ "0.0.0.0", "127.0.0.1:443", 3, NULL },
		{ "0.0.0.0", "0.0.0.0:443", 3, NULL },
		{ "[::]", "0.0.0.0:443", 3, NULL },
		{ "[::]", "[fe80::1]:443", 3, NULL },
		{ "[::]", NULL, 0, NULL },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		union rn_netmap_endpoint l = ep_of(cases[i].listen), h, out;
		char text[RN_NETMAP_ENDPOINT_STRLEN];
		bool ok;

		if (cases[i].https)
			assert_int_equal(rn_netmap_endpoint_parse(cases[i].https, &h), 0);
		ok = rn_stunsrv_advertised(&l, cases[i].https ? &h : NULL, hosts, cases[i].n_hosts,
					   &out);
		print_message("%s (https %s, %zu hosts): %s\n", cases[i].listen,
			      cases[i].https ? cases[i].https : "none", cases[i].n_hosts,
			      ok ? "yes" : "no");
		assert_int_equal(ok, cases[i].want != NULL);
		if (!ok)
			continue;
		ep_text(&out, text, sizeof(text));
		assert_string_equal(text, cases[i].want);
	}
}

static struct sockaddr_in v4(const char *ip, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
	return a;
}

static size_t request(uint8_t *buf)
{
	uint8_t txid[RN_STUN_TXID_LEN];

	assert_true(rn_stun_txid_new(txid));
	return rn_stun_build_request(txid, buf, RN_STUN_MAX_MSG);
}

/* Answers a Binding request with its source; drops responses, junk and oversized; counts. */
static void test_handle(void **state)
{
	struct rn_stunsrv *s = rn_stunsrv_new();
	struct sockaddr_in from = v4("198.51.100.10", 41641);
	uint8_t req[RN_STUN_MAX_MSG], out[RN_STUN_MAX_MSG], big[RN_STUN_MAX_MSG + 100] = { 0 };
	struct rn_stunsrv_stats st;
	struct rn_stun_msg m;
	char text[64];
	size_t n, rlen;

	(void)state;
	assert_non_null(s);
	rlen = request(req);
	n = rn_stunsrv_handle(s, req, rlen, (struct sockaddr *)&from, 1000, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(rn_stun_parse(out, n, &m), 0);
	assert_int_equal(m.cls, RN_STUN_SUCCESS);
	assert_memory_equal(m.txid, req + 8, RN_STUN_TXID_LEN);
	rn_stun_addr_str(&m.mapped, text, sizeof(text));
	assert_string_equal(text, "198.51.100.10:41641");
	/* the response itself, sent back: dropped (no loop between two responders) */
	assert_int_equal(
	    rn_stunsrv_handle(s, out, n, (struct sockaddr *)&from, 1000, out, sizeof(out)), 0);
	/* junk, and a WireGuard handshake initiation's first bytes */
	assert_int_equal(
	    rn_stunsrv_handle(s, "hello", 5, (struct sockaddr *)&from, 1000, out, sizeof(out)), 0);
	big[0] = 1; /* type 1, then three zero bytes */
	assert_int_equal(
	    rn_stunsrv_handle(s, big, 148, (struct sockaddr *)&from, 1000, out, sizeof(out)), 0);
	/* a request padded past what a responder takes */
	memcpy(big, req, rlen);
	assert_int_equal(rn_stunsrv_handle(s, big, sizeof(big), (struct sockaddr *)&from, 1000, out,
					   sizeof(out)),
			 0);
	rn_stunsrv_stats(s, &st);
	assert_int_equal(st.answered, 1);
	assert_int_equal(st.dropped, 3);
	assert_int_equal(st.oversized, 1);
	assert_int_equal(st.limited, 0);
	rn_stunsrv_free(s);
}

/* A burst per source, then 20 a second; other sources are not affected. */
static void test_rate_limit(void **state)
{
	struct rn_stunsrv *s = rn_stunsrv_new();
	struct sockaddr_in victim = v4("203.0.113.50", 3478), other = v4("203.0.113.51", 3478);
	uint8_t req[RN_STUN_MAX_MSG], out[RN_STUN_MAX_MSG];
	struct rn_stunsrv_stats st;
	uint64_t t = 5000000;
	size_t rlen, answered = 0;

	(void)state;
	assert_non_null(s);
	rlen = request(req);
	for (int i = 0; i < 1000; i++)
		answered += rn_stunsrv_handle(s, req, rlen, (struct sockaddr *)&victim, t, out,
					      sizeof(out)) > 0;
	assert_int_equal(answered, RN_STUNSRV_BURST);
	assert_true(
	    rn_stunsrv_handle(s, req, rlen, (struct sockaddr *)&other, t, out, sizeof(out)) > 0);
	/* one second later: 20 more, no more */
	answered = 0;
	for (int i = 0; i < 1000; i++)
		answered += rn_stunsrv_handle(s, req, rlen, (struct sockaddr *)&victim, t + 1000,
					      out, sizeof(out)) > 0;
	assert_int_equal(answered, 1000 / RN_STUNSRV_REFILL_MS);
	rn_stunsrv_stats(s, &st);
	assert_int_equal(st.answered, RN_STUNSRV_BURST + 1 + 1000 / RN_STUNSRV_REFILL_MS);
	assert_int_equal(st.limited, 2000 - RN_STUNSRV_BURST - 1000 / RN_STUNSRV_REFILL_MS);
	rn_stunsrv_free(s);
}

/* The whole: a socket, the thread, a request over loopback, its answer; a port in use. */
static void test_round_trip(void **state)
{
	struct rn_stunsrv *s = rn_stunsrv_new(), *s2 = rn_stunsrv_new();
	union rn_netmap_endpoint ep = ep_of("127.0.0.1"), bound;
	struct sockaddr_in me;
	socklen_t len;
	uint8_t req[RN_STUN_MAX_MSG], out[RN_STUN_MAX_MSG];
	char err[200], text[64], want[64];
	struct rn_stun_msg m;
	struct pollfd p;
	int c;
	ssize_t n;

	(void)state;
	assert_non_null(s);
	assert_non_null(s2);
	c = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(c >= 0);
	me = v4("127.0.0.1", 0);
	assert_int_equal(bind(c, (struct sockaddr *)&me, sizeof(me)), 0);
	len = sizeof(me);
	assert_int_equal(getsockname(c, (struct sockaddr *)&me, &len), 0);
	/* a port of its own: the first free one of a range (the tests may run side by side) */
	for (uint16_t port = 34780; port < 34880; port++) {
		ep.sin.sin_port = htons(port);
		if (rn_stunsrv_listen(s, &ep, err, sizeof(err)) == 0)
			break;
		ep.sin.sin_port = 0;
	}
	assert_int_not_equal(ep.sin.sin_port, 0);
	assert_int_equal(rn_stunsrv_listen(s2, &ep, err, sizeof(err)), -EADDRINUSE);
	print_message("second bind: %s\n", err);
	assert_non_null(strstr(err, "is in use"));
	bound = ep_of("192.0.2.99:3478"); /* not this host's */
	assert_int_equal(rn_stunsrv_listen(s2, &bound, err, sizeof(err)), -EADDRNOTAVAIL);
	assert_non_null(strstr(err, "not one of this host's"));
	assert_int_equal(rn_stunsrv_start(s), 0);

	n = (ssize_t)request(req);
	assert_int_equal(sendto(c, req, (size_t)n, 0, &ep.sa, sizeof(ep.sin)), n);
	p = (struct pollfd){ .fd = c, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 2000), 1);
	n = recv(c, out, sizeof(out), 0);
	assert_true(n > 0);
	assert_int_equal(rn_stun_parse(out, (size_t)n, &m), 0);
	rn_stun_addr_str(&m.mapped, text, sizeof(text));
	snprintf(want, sizeof(want), "127.0.0.1:%u", ntohs(me.sin_port));
	assert_string_equal(text, want);
	/* junk gets nothing back */
	assert_int_equal(sendto(c, "junk", 4, 0, &ep.sa, sizeof(ep.sin)), 4);
	assert_int_equal(poll(&p, 1, 300), 0);
	close(c);
	rn_stunsrv_free(s);
	rn_stunsrv_free(s2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_listen), cmocka_unit_test(test_advertised),
		cmocka_unit_test(test_handle),	     cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
