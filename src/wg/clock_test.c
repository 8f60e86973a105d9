/* SPDX-License-Identifier: MIT */
/*
 * The protocol clock counts time spent suspended. This binary defines clock_gettime itself, so
 * the clock module reads a machine whose suspend the test controls: CLOCK_BOOTTIME jumps by
 * the "sleep" while CLOCK_MONOTONIC does not, as on a laptop that was closed. Other clocks pass
 * through to the kernel untouched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "wg/clock.h"
#include "wg/messages.h"

static uint64_t slept_ns; /* time "suspended": added to CLOCK_BOOTTIME only */
static unsigned int boottime_reads, monotonic_reads;

/* NOLINTNEXTLINE(readability-inconsistent-declaration-parameter-name): glibc names them __clock_id, __tp */
int clock_gettime(clockid_t id, struct timespec *ts)
{
	uint64_t ns;

	if (syscall(SYS_clock_gettime, id == CLOCK_BOOTTIME ? CLOCK_MONOTONIC : id, ts))
		return -1;
	if (id == CLOCK_MONOTONIC)
		monotonic_reads++;
	if (id != CLOCK_BOOTTIME)
		return 0;
	boottime_reads++;
	ns = (uint64_t)ts->tv_sec * RN_NS_PER_S + (uint64_t)ts->tv_nsec + slept_ns;
	ts->tv_sec = (time_t)(ns / RN_NS_PER_S);
	ts->tv_nsec = (long)(ns % RN_NS_PER_S);
	return 0;
}

/* Ten minutes of suspend move the protocol clock by ten minutes: a session is then too old. */
static void test_counts_suspend(void **state)
{
	uint64_t before, after;

	(void)state;
	slept_ns = 0;
	rn_clock_init();
	before = rn_now_ns();
	assert_true(before >= RN_NS_PER_S); /* 0 stays "never" */
	slept_ns = 600 * RN_NS_PER_S;
	after = rn_now_ns();
	assert_true(boottime_reads > 0);
	assert_true(after - before >= 600 * RN_NS_PER_S);
	assert_true(after - before < 610 * RN_NS_PER_S);
	assert_true(after - before >= RN_REJECT_AFTER_TIME_S * RN_NS_PER_S);
}

/* Without a suspend it runs at the speed of the wall, forward only. */
static void test_runs_forward(void **state)
{
	struct timespec pause = { 0, 20 * 1000000L };
	uint64_t a, b;

	(void)state;
	slept_ns = 0;
	rn_clock_init();
	a = rn_now_ns();
	nanosleep(&pause, NULL);
	b = rn_now_ns();
	assert_true(b - a >= 20 * RN_NS_PER_MS);
	assert_true(b - a < 5 * RN_NS_PER_S);
}

#ifdef RN_TEST_HOOKS
/* The test builds' speed-up still applies, to suspended time as to the rest. */
static void test_time_scale_hook(void **state)
{
	uint64_t a, b;

	(void)state;
	slept_ns = 0;
	setenv("RUSTYNET_WG_TIME_SCALE", "20", 1);
	rn_clock_init();
	unsetenv("RUSTYNET_WG_TIME_SCALE");
	assert_int_equal(rn_clock_scale(), 20);
	a = rn_now_ns();
	slept_ns = 10 * RN_NS_PER_S;
	b = rn_now_ns();
	assert_true(b - a >= 200 * RN_NS_PER_S);
	assert_true(b - a < 300 * RN_NS_PER_S);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_suspend), cmocka_unit_test(test_runs_forward),
#ifdef RN_TEST_HOOKS
		cmocka_unit_test(test_time_scale_hook), /* last: the scale stays set */
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
