/* SPDX-License-Identifier: MIT */
/*
 * The protocol clock, with a test-only speed-up. It counts time spent suspended
 * (CLOCK_BOOTTIME), as the kernel driver's ktime_get_coarse_boottime_ns() does: a laptop that
 * slept ten minutes must find its sessions past REJECT_AFTER_TIME and its cookie secret stale,
 * not carry on as if no time had passed, which CLOCK_MONOTONIC (stopped in suspend) would do.
 */
#include "wg/clock.h"

#include <stdlib.h>
#include <time.h>

#include "common/log.h"

static unsigned int scale = 1;
static uint64_t epoch_ns;

static uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * RN_NS_PER_S + (uint64_t)ts.tv_nsec;
}

void rn_clock_init(void)
{
	epoch_ns = boot_ns();
#ifdef RN_TEST_HOOKS
	const char *s = getenv("RUSTYNET_WG_TIME_SCALE");

	if (s && atoi(s) > 1 && atoi(s) <= 1000) {
		scale = (unsigned int)atoi(s);
		log_warn(MAIN,
			 "test build: protocol clock runs %ux faster (RUSTYNET_WG_TIME_SCALE)",
			 scale);
	}
#endif
}

uint64_t rn_now_ns(void)
{
	/* Offset from start plus one second, so 0 can mean "never" everywhere. */
	return (boot_ns() - epoch_ns) * scale + RN_NS_PER_S;
}

unsigned int rn_clock_scale(void)
{
	return scale;
}
