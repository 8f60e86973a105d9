/* SPDX-License-Identifier: MIT */
/* Monotonic protocol time, with a test-only speed-up. */
#include "wg/clock.h"

#include <stdlib.h>
#include <time.h>

#include "common/log.h"

static unsigned int scale = 1;
static uint64_t epoch_ns;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * RN_NS_PER_S + (uint64_t)ts.tv_nsec;
}

void rn_clock_init(void)
{
	epoch_ns = mono_ns();
#ifdef RN_TEST_HOOKS
	const char *s = getenv("RUSTYNET_WG_TIME_SCALE");

	if (s && atoi(s) > 1 && atoi(s) <= 1000) {
		scale = (unsigned int)atoi(s);
		log_warn(MAIN, "test build: protocol clock runs %ux faster (RUSTYNET_WG_TIME_SCALE)",
			 scale);
	}
#endif
}

uint64_t rn_now_ns(void)
{
	/* Offset from start plus one second, so 0 can mean "never" everywhere. */
	return (mono_ns() - epoch_ns) * scale + RN_NS_PER_S;
}

unsigned int rn_clock_scale(void)
{
	return scale;
}
