/* SPDX-License-Identifier: MIT */
/*
 * The protocol clock: nanoseconds that also count time suspended (CLOCK_BOOTTIME), for every
 * timer and key age, as in the kernel driver. Test builds (meson -Dtest_hooks=true) honour
 * RUSTYNET_WG_TIME_SCALE=N, which runs this clock N times faster so rekey tests take seconds;
 * release builds compile that knob out entirely.
 */
#ifndef RN_WG_CLOCK_H
#define RN_WG_CLOCK_H

#include <stdint.h>

#define RN_NS_PER_S  1000000000ULL
#define RN_NS_PER_MS 1000000ULL

/* Reads RUSTYNET_WG_TIME_SCALE in test builds; a no-op otherwise. Call once at start. */
void rn_clock_init(void);
/* Protocol time in ns (CLOCK_BOOTTIME: never goes back, counts suspend); never 0. */
uint64_t rn_now_ns(void);
/* The scale in effect (1 unless a test build was told otherwise). */
unsigned int rn_clock_scale(void);

#endif
