/* SPDX-License-Identifier: MIT */
/* Tests of the failed-enrollment rate limit: burst, refill, separate addresses, a flood. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "rustynet-control/ratelimit.h"

static struct sockaddr_in v4(uint32_t a)
{
	struct sockaddr_in s = { .sin_family = AF_INET };

	s.sin_addr.s_addr = htonl(a);
	return s;
}

static void test_burst_and_refill(void **state)
{
	struct rn_ratelimit *rl = rn_ratelimit_new();
	struct sockaddr_in a = v4(0xc6336401), b = v4(0xc6336402);
	uint64_t t = 1000000;
	unsigned retry = 0;

	(void)state;
	assert_non_null(rl);
	for (int i = 0; i < RN_RATELIMIT_BURST; i++) {
		assert_true(rn_ratelimit_allow(rl, (struct sockaddr *)&a, t, &retry));
		rn_ratelimit_fail(rl, (struct sockaddr *)&a, t);
	}
	/* the 11th try is refused, for about 6 s; another address is not affected */
	assert_false(rn_ratelimit_allow(rl, (struct sockaddr *)&a, t, &retry));
	assert_int_equal(retry, 6);
	assert_true(rn_ratelimit_allow(rl, (struct sockaddr *)&b, t, &retry));
	assert_false(rn_ratelimit_allow(rl, (struct sockaddr *)&a, t + 5999, &retry));
	assert_int_equal(retry, 1);
	/* one failure back per 6 s */
	assert_true(rn_ratelimit_allow(rl, (struct sockaddr *)&a, t + 6000, &retry));
	rn_ratelimit_fail(rl, (struct sockaddr *)&a, t + 6000);
	assert_false(rn_ratelimit_allow(rl, (struct sockaddr *)&a, t + 6001, &retry));
	/* a minute later all are back */
	assert_true(rn_ratelimit_allow(rl, (struct sockaddr *)&a, t + 66000, &retry));
	for (int i = 0; i < RN_RATELIMIT_BURST - 1; i++)
		rn_ratelimit_fail(rl, (struct sockaddr *)&a, t + 6000 + 60000);
	assert_true(rn_ratelimit_allow(rl, (struct sockaddr *)&a, t + 66000, &retry));
	rn_ratelimit_fail(rl, (struct sockaddr *)&a, t + 6000 + 60000);
	assert_false(rn_ratelimit_allow(rl, (struct sockaddr *)&a, t + 66000, &retry));
	rn_ratelimit_free(rl);
}

static void test_ipv6_per_64(void **state)
{
	struct rn_ratelimit *rl = rn_ratelimit_new();
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 }, b = { .sin6_family = AF_INET6 };
	struct sockaddr_in6 c = { .sin6_family = AF_INET6 };

	(void)state;
	inet_pton(AF_INET6, "2001:db8:1:2::1", &a.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1:2::ffff", &b.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1:3::1", &c.sin6_addr);
	for (int i = 0; i < RN_RATELIMIT_BURST; i++)
		rn_ratelimit_fail(rl, (struct sockaddr *)&a, 1000);
	assert_false(rn_ratelimit_allow(rl, (struct sockaddr *)&b, 1000, NULL));
	assert_true(rn_ratelimit_allow(rl, (struct sockaddr *)&c, 1000, NULL));
	rn_ratelimit_free(rl);
}

/* From a dual-stack socket, IPv4 clients come as ::ffff:a.b.c.d: each is its own client, not
 * one /64 that all of IPv4 would share (one client's failures locking every IPv4 client out). */
static void test_ipv4_mapped(void **state)
{
	struct rn_ratelimit *rl = rn_ratelimit_new();
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 }, b = { .sin6_family = AF_INET6 };
	struct sockaddr_in c = v4(0xc6336401);

	(void)state;
	inet_pton(AF_INET6, "::ffff:198.51.100.1", &a.sin6_addr);
	inet_pton(AF_INET6, "::ffff:198.51.100.2", &b.sin6_addr);
	for (int i = 0; i < RN_RATELIMIT_BURST; i++)
		rn_ratelimit_fail(rl, (struct sockaddr *)&a, 1000);
	assert_false(rn_ratelimit_allow(rl, (struct sockaddr *)&a, 1000, NULL));
	assert_true(rn_ratelimit_allow(rl, (struct sockaddr *)&b, 1000, NULL));
	/* and it is the same client as its plain IPv4 address */
	assert_false(rn_ratelimit_allow(rl, (struct sockaddr *)&c, 1000, NULL));
	rn_ratelimit_free(rl);
}

/* Far more addresses than slots: nothing grows, nothing crashes, the newest still counts. */
static void test_flood(void **state)
{
	struct rn_ratelimit *rl = rn_ratelimit_new();
	struct sockaddr_in a;

	(void)state;
	for (uint32_t i = 0; i < 8 * RN_RATELIMIT_SLOTS; i++) {
		a = v4(0x0a000000 + i);
		rn_ratelimit_fail(rl, (struct sockaddr *)&a, 1000 + i);
	}
	a = v4(0xc0000201);
	for (int i = 0; i < RN_RATELIMIT_BURST; i++)
		rn_ratelimit_fail(rl, (struct sockaddr *)&a, 100000);
	assert_false(rn_ratelimit_allow(rl, (struct sockaddr *)&a, 100000, NULL));
	rn_ratelimit_free(rl);
}

/* The seed of a limiter made in a fresh process, as a new server would make it. */
static uint32_t seed_in_child(void)
{
	uint32_t seed = 0;
	int fds[2], status;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rn_ratelimit *rl = rn_ratelimit_new();

		seed = rl ? rn_ratelimit_seed(rl) : 0;
		_exit(rl && write(fds[1], &seed, sizeof(seed)) == sizeof(seed) ? 0 : 1);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &seed, sizeof(seed)), sizeof(seed));
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return seed;
}

/* Two servers started alike get different seeds (an unseeded random() gives both the same),
 * so nobody can work out offline which addresses share a bucket. */
static void test_seed_unpredictable(void **state)
{
	uint32_t a = seed_in_child(), b = seed_in_child(), c = seed_in_child();

	(void)state;
	/* three equal 32-bit draws from a CSPRNG: about 2^-64 */
	assert_false(a == b && b == c);
}

/* Another burst and rate (the STUN responder's kind): both are the table's, not the defaults. */
static void test_custom_rate(void **state)
{
	struct rn_ratelimit *rl = rn_ratelimit_new_with(3, 50);
	struct sockaddr_in a = v4(0xc6336401);
	uint64_t t = 1000000;
	unsigned retry = 0;

	(void)state;
	assert_null(rn_ratelimit_new_with(0, 50));
	assert_null(rn_ratelimit_new_with(3, 0));
	assert_non_null(rl);
	for (int i = 0; i < 3; i++) {
		assert_true(rn_ratelimit_allow(rl, (struct sockaddr *)&a, t, &retry));
		rn_ratelimit_fail(rl, (struct sockaddr *)&a, t);
	}
	assert_false(rn_ratelimit_allow(rl, (struct sockaddr *)&a, t + 49, &retry));
	assert_int_equal(retry, 1);
	assert_true(rn_ratelimit_allow(rl, (struct sockaddr *)&a, t + 50, &retry));
	rn_ratelimit_fail(rl, (struct sockaddr *)&a, t + 50);
	assert_false(rn_ratelimit_allow(rl, (struct sockaddr *)&a, t + 60, &retry));
	/* refilled to the burst, never past it */
	for (int i = 0; i < 3; i++) {
		assert_true(rn_ratelimit_allow(rl, (struct sockaddr *)&a, t + 10000, &retry));
		rn_ratelimit_fail(rl, (struct sockaddr *)&a, t + 10000);
	}
	assert_false(rn_ratelimit_allow(rl, (struct sockaddr *)&a, t + 10000, &retry));
	rn_ratelimit_free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_and_refill),   cmocka_unit_test(test_ipv6_per_64),
		cmocka_unit_test(test_ipv4_mapped),	   cmocka_unit_test(test_flood),
		cmocka_unit_test(test_seed_unpredictable), cmocka_unit_test(test_custom_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
