/* SPDX-License-Identifier: MIT */
/*
 * Tests of the per-client connection count: an IPv6 /64 is one client however many addresses it
 * uses, another /64 and IPv4 addresses are apart, IPv4-mapped addresses count as IPv4, and a
 * released connection frees its place.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rustynet-control/connlimit.h"
#include "rustynet-control/ratelimit.h"

enum { MAX = 64 };

static struct sockaddr_storage addr(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &s4->sin_addr), 1);
	}
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

/* 64 connections from 64 addresses of one /64: the 65th address of that /64 is refused. */
static void test_ipv6_counts_per_64(void **state)
{
	struct rn_connlimit *cl = rn_connlimit_new(MAX);
	struct sockaddr_storage a, other = addr("2001:db8:1:3::1"), v4 = addr("198.51.100.2");
	char text[64];

	(void)state;
	assert_non_null(cl);
	for (int i = 0; i < MAX; i++) {
		snprintf(text, sizeof(text), "2001:db8:1:2:%x::%x", i, i + 1);
		a = addr(text);
		assert_true(rn_connlimit_allow(cl, SA(a)));
		assert_int_equal(rn_connlimit_add(cl, SA(a)), 0);
	}
	a = addr("2001:db8:1:2:ffff:ffff:ffff:ffff");
	assert_int_equal(rn_connlimit_count(cl, SA(a)), MAX);
	assert_false(rn_connlimit_allow(cl, SA(a)));
	/* the next /64 and IPv4 are other clients */
	assert_true(rn_connlimit_allow(cl, SA(other)));
	assert_int_equal(rn_connlimit_count(cl, SA(other)), 0);
	assert_true(rn_connlimit_allow(cl, SA(v4)));
	/* one closes: one place again */
	a = addr("2001:db8:1:2:5::6");
	rn_connlimit_release(cl, SA(a));
	assert_true(rn_connlimit_allow(cl, SA(a)));
	rn_connlimit_free(cl); /* with clients still counted: ASan checks the frees */
}

static void test_ipv4_counts_per_address(void **state)
{
	struct rn_connlimit *cl = rn_connlimit_new(2);
	struct sockaddr_storage a = addr("198.51.100.2"), b = addr("198.51.100.3");
	struct sockaddr_storage mapped = addr("::ffff:198.51.100.2");

	(void)state;
	assert_int_equal(rn_connlimit_add(cl, SA(a)), 0);
	assert_int_equal(rn_connlimit_add(cl, SA(mapped)), 0); /* the same client */
	assert_false(rn_connlimit_allow(cl, SA(a)));
	assert_true(rn_connlimit_allow(cl, SA(b)));
	rn_connlimit_release(cl, SA(a));
	rn_connlimit_release(cl, SA(a));
	assert_int_equal(rn_connlimit_count(cl, SA(a)), 0);
	/* releasing what is not counted changes nothing */
	rn_connlimit_release(cl, SA(a));
	assert_int_equal(rn_connlimit_count(cl, SA(a)), 0);
	rn_connlimit_free(cl);
}

/* Many clients at once, all released: the table is empty again, counts never mix. */
static void test_many_clients(void **state)
{
	struct rn_connlimit *cl = rn_connlimit_new(3);
	struct sockaddr_storage a;
	char text[64];

	(void)state;
	for (int i = 0; i < 5000; i++) {
		snprintf(text, sizeof(text), "2001:db8:%x:%x::1", i >> 8, i & 0xff);
		a = addr(text);
		assert_int_equal(rn_connlimit_add(cl, SA(a)), 0);
	}
	for (int i = 0; i < 5000; i++) {
		snprintf(text, sizeof(text), "2001:db8:%x:%x::2", i >> 8, i & 0xff);
		a = addr(text);
		assert_int_equal(rn_connlimit_count(cl, SA(a)), 1);
		rn_connlimit_release(cl, SA(a));
		assert_int_equal(rn_connlimit_count(cl, SA(a)), 0);
	}
	rn_connlimit_free(cl);
}

/* The key itself: what the enrollment rate limit and the connection count share. */
static void test_key(void **state)
{
	uint8_t k1[RN_RATELIMIT_KEY_LEN], k2[RN_RATELIMIT_KEY_LEN];
	struct sockaddr_storage a = addr("2001:db8:1:2:aaaa::1"), b = addr("2001:db8:1:2:bbbb::2");
	struct sockaddr_storage c = addr("2001:db8:1:3::1"), m = addr("::ffff:192.0.2.1");
	struct sockaddr_storage v4 = addr("192.0.2.1");

	(void)state;
	rn_ratelimit_key(SA(a), k1);
	rn_ratelimit_key(SA(b), k2);
	assert_memory_equal(k1, k2, sizeof(k1));
	rn_ratelimit_key(SA(c), k2);
	assert_memory_not_equal(k1, k2, sizeof(k1));
	rn_ratelimit_key(SA(m), k1);
	rn_ratelimit_key(SA(v4), k2);
	assert_memory_equal(k1, k2, sizeof(k1));
	assert_int_equal(k1[0], AF_INET);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv6_counts_per_64),
		cmocka_unit_test(test_ipv4_counts_per_address),
		cmocka_unit_test(test_many_clients),
		cmocka_unit_test(test_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
