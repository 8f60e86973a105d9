/* SPDX-License-Identifier: MIT */
/* The fake protocol clock of test_clock.h: CLOCK_BOOTTIME plus what the test advanced it by. */
#include "wg/test_clock.h"

#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "wg/clock.h"

static _Atomic uint64_t ahead_ns;
static _Atomic uint64_t frozen_at_ns; /* the kernel's CLOCK_BOOTTIME when frozen; 0: running */

static uint64_t kernel_boot_ns(void)
{
	struct timespec ts;

	syscall(SYS_clock_gettime, CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * RN_NS_PER_S + (uint64_t)ts.tv_nsec;
}

void rn_testclock_advance(uint64_t ns)
{
	atomic_fetch_add(&ahead_ns, ns);
}

void rn_testclock_freeze(bool on)
{
	uint64_t now = kernel_boot_ns(), was = atomic_exchange(&frozen_at_ns, on ? now : 0);

	/* Thawing: the time spent frozen never happened. */
	if (!on && was)
		atomic_fetch_sub(&ahead_ns, now - was);
}

/* NOLINTNEXTLINE(readability-inconsistent-declaration-parameter-name): glibc names them __clock_id, __tp */
int clock_gettime(clockid_t id, struct timespec *ts)
{
	uint64_t ns;

	if (syscall(SYS_clock_gettime, id, ts))
		return -1;
	if (id != CLOCK_BOOTTIME)
		return 0;
	ns = atomic_load(&frozen_at_ns);
	if (!ns)
		ns = (uint64_t)ts->tv_sec * RN_NS_PER_S + (uint64_t)ts->tv_nsec;
	ns += atomic_load(&ahead_ns);
	ts->tv_sec = (time_t)(ns / RN_NS_PER_S);
	ts->tv_nsec = (long)(ns % RN_NS_PER_S);
	return 0;
}
