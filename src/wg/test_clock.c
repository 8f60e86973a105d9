/* SPDX-License-Identifier: MIT */
/* The fake protocol clock of test_clock.h: CLOCK_BOOTTIME plus what the test advanced it by. */
#include "wg/test_clock.h"

#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "wg/clock.h"

int clock_gettime(clockid_t id, struct timespec *ts);

static _Atomic uint64_t ahead_ns;

void rn_testclock_advance(uint64_t ns)
{
	atomic_fetch_add(&ahead_ns, ns);
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	uint64_t ns;

	if (syscall(SYS_clock_gettime, id, ts))
		return -1;
	if (id != CLOCK_BOOTTIME)
		return 0;
	ns = (uint64_t)ts->tv_sec * RN_NS_PER_S + (uint64_t)ts->tv_nsec + atomic_load(&ahead_ns);
	ts->tv_sec = (time_t)(ns / RN_NS_PER_S);
	ts->tv_nsec = (long)(ns % RN_NS_PER_S);
	return 0;
}
