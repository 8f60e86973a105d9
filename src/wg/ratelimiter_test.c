/* SPDX-License-Identifier: MIT */
/* Unit tests for the handshake rate limiter, with time passed in explicitly. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>

#include "wg/ratelimiter.h"

#define T0   (1000ull * 1000000000ull) /* an arbitrary monotonic start */
#define COST RN_RATELIMITER_PACKET_COST_NS

union sa_any {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_un sun;
};

static union sa_any v4(const char *ip)
{
	union sa_any a;

	memset(&a, 0, sizeof(a));
	a.sin.sin_family = AF_INET;
	a.sin.sin_port = htons(51820);
	assert_int_equal(inet_pton(AF_INET, ip, &a.sin.sin_addr), 1);
	return a;
}

static union sa_any v6(const char *ip)
{
	union sa_any a;

	memset(&a, 0, sizeof(a));
	a.sin6.sin6_family = AF_INET6;
	a.sin6.sin6_port = htons(51820);
	assert_int_equal(inet_pton(AF_INET6, ip, &a.sin6.sin6_addr), 1);
	return a;
}

/* How many of n back-to-back packets from a at time now get through. */
static int allowed(struct rn_ratelimiter *rl, const union sa_any *a, int n, uint64_t now)
{
	int ok = 0;

	while (n--)
		ok += rn_ratelimiter_allow(rl, &a->sa, now);
	return ok;
}

static int setup(void **state)
{
	static struct rn_ratelimiter rl;

	if (rn_ratelimiter_init(&rl))
		return -1;
	*state = &rl;
	return 0;
}

static int teardown(void **state)
{
	rn_ratelimiter_free(*state);
	return 0;
}

static void test_burst_then_refuse(void **state)
{
	struct rn_ratelimiter *rl = *state;
	union sa_any a = v4("192.0.2.1");

	assert_int_equal(allowed(rl, &a, 20, T0), RN_RATELIMITER_BURST);
	assert_int_equal(allowed(rl, &a, 1, T0 + COST - 1), 0);
}

static void test_refill(void **state)
{
	struct rn_ratelimiter *rl = *state;
	union sa_any a = v4("192.0.2.1");
	uint64_t t = T0;

	assert_int_equal(allowed(rl, &a, 10, t), RN_RATELIMITER_BURST);
	/* One packet's worth of time buys exactly one packet. */
	t += COST;
	assert_int_equal(allowed(rl, &a, 10, t), 1);
	t += COST / 2;
	assert_int_equal(allowed(rl, &a, 10, t), 0);
	t += COST / 2;
	assert_int_equal(allowed(rl, &a, 10, t), 1);
	/* A steady 20 a second gets through forever. */
	for (int i = 0; i < 100; i++) {
		t += COST;
		assert_int_equal(allowed(rl, &a, 3, t), 1);
	}
	/* A long pause refills to the burst, no further. */
	t += 3600ull * 1000000000ull;
	assert_int_equal(allowed(rl, &a, 20, t), RN_RATELIMITER_BURST);
	/* Time going backwards grants nothing. */
	assert_int_equal(allowed(rl, &a, 5, t - 10 * COST), 0);
}

static void test_sources_independent(void **state)
{
	struct rn_ratelimiter *rl = *state;
	union sa_any a = v4("192.0.2.1"), b = v4("192.0.2.2"), c = v6("2001:db8::1");

	assert_int_equal(allowed(rl, &a, 10, T0), RN_RATELIMITER_BURST);
	assert_int_equal(allowed(rl, &b, 10, T0), RN_RATELIMITER_BURST);
	assert_int_equal(allowed(rl, &c, 10, T0), RN_RATELIMITER_BURST);
	/* The port does not make a new source. */
	a.sin.sin_port = htons(1);
	assert_int_equal(allowed(rl, &a, 1, T0), 0);
}

static void test_ipv6_by_64(void **state)
{
	struct rn_ratelimiter *rl = *state;
	union sa_any a = v6("2001:db8:1:2::1"), same = v6("2001:db8:1:2:ffff:ffff:ffff:ffff");
	union sa_any other = v6("2001:db8:1:3::1");

	assert_int_equal(allowed(rl, &a, 3, T0), 3);
	assert_int_equal(allowed(rl, &same, 10, T0), RN_RATELIMITER_BURST - 3);
	assert_int_equal(allowed(rl, &other, 10, T0), RN_RATELIMITER_BURST);
}

static void test_v4_mapped(void **state)
{
	struct rn_ratelimiter *rl = *state;
	union sa_any plain = v4("198.51.100.7"), mapped = v6("::ffff:198.51.100.7");
	union sa_any mapped2 = v6("::ffff:198.51.100.8");

	/* Mapped addresses share a /64 but are distinct IPv4 sources. */
	assert_int_equal(allowed(rl, &mapped, 2, T0), 2);
	assert_int_equal(allowed(rl, &plain, 10, T0), RN_RATELIMITER_BURST - 2);
	assert_int_equal(allowed(rl, &mapped2, 10, T0), RN_RATELIMITER_BURST);
}

static void test_not_ip(void **state)
{
	struct rn_ratelimiter *rl = *state;
	union sa_any u;

	memset(&u, 0, sizeof(u));
	u.sun.sun_family = AF_UNIX;
	assert_false(rn_ratelimiter_allow(rl, &u.sa, T0));
	assert_false(rn_ratelimiter_allow(rl, NULL, T0));
}

static union sa_any nth_source(uint32_t i)
{
	union sa_any a;

	memset(&a, 0, sizeof(a));
	a.sin.sin_family = AF_INET;
	a.sin.sin_addr.s_addr = htonl(0x0a000000u + i);
	return a;
}

static void test_table_full(void **state)
{
	struct rn_ratelimiter *rl = *state;
	union sa_any a, fresh = v6("2001:db8:ffff::1");

	for (uint32_t i = 0; i < RN_RATELIMITER_MAX_ENTRIES; i++) {
		a = nth_source(i);
		assert_true(rn_ratelimiter_allow(rl, &a.sa, T0));
	}
	assert_int_equal(rl->n_entries, RN_RATELIMITER_MAX_ENTRIES);
	/* Full: new sources are refused, known ones keep their own budget. */
	assert_false(rn_ratelimiter_allow(rl, &fresh.sa, T0));
	assert_false(rn_ratelimiter_allow(rl, &fresh.sa, T0 + RN_RATELIMITER_EXPIRY_NS / 2));
	a = nth_source(17);
	assert_int_equal(allowed(rl, &a, 10, T0 + RN_RATELIMITER_EXPIRY_NS / 2),
			 RN_RATELIMITER_BURST);
	/* Once idle sources are swept (within two expiry periods), room comes back. */
	assert_true(rn_ratelimiter_allow(rl, &fresh.sa, T0 + 2 * RN_RATELIMITER_EXPIRY_NS));
	assert_int_equal(rl->n_entries, 1);
	for (uint32_t i = 0; i < RN_RATELIMITER_MAX_ENTRIES - 1; i++) {
		a = nth_source(i + 100000);
		assert_true(rn_ratelimiter_allow(rl, &a.sa, T0 + 2 * RN_RATELIMITER_EXPIRY_NS));
	}
	a = nth_source(0);
	assert_false(rn_ratelimiter_allow(rl, &a.sa, T0 + 2 * RN_RATELIMITER_EXPIRY_NS));
}

/* A source that keeps sending is never swept, so it cannot reset its bucket by flooding. */
static void test_busy_source_not_expired(void **state)
{
	struct rn_ratelimiter *rl = *state;
	union sa_any a = v4("203.0.113.9");
	uint64_t t = T0;
	int ok = 0;

	assert_int_equal(allowed(rl, &a, 10, t), RN_RATELIMITER_BURST);
	/* 2.5 s of a packet every quarter cost, across two sweeps. */
	for (int i = 0; i < 200; i++) {
		t += COST / 4;
		ok += allowed(rl, &a, 1, t);
	}
	assert_int_equal(ok, 50);
	assert_int_equal(allowed(rl, &a, 10, t), 0);
	assert_int_equal(rl->n_entries, 1);
}

struct hammer {
	struct rn_ratelimiter *rl;
	int ok;
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;
	union sa_any a = v4("192.0.2.99");

	h->ok = allowed(h->rl, &a, 200, T0);
	return NULL;
}

static void test_threads(void **state)
{
	enum { THREADS = 8 };
	struct hammer h[THREADS];
	pthread_t tid[THREADS];
	int total = 0;

	for (int i = 0; i < THREADS; i++) {
		h[i].rl = *state;
		assert_int_equal(pthread_create(&tid[i], NULL, hammer_run, &h[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		total += h[i].ok;
	}
	assert_int_equal(total, RN_RATELIMITER_BURST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_burst_then_refuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sources_independent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_by_64, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v4_mapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_ip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_source_not_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
