/* SPDX-License-Identifier: MIT */
/*
 * A fake protocol clock for unit tests: a binary linking test_clock.c gets its own
 * clock_gettime, in which CLOCK_BOOTTIME (what wg/clock.c reads) runs ahead of the kernel's by
 * what the test advanced it; other clocks pass through. So a test of REJECT_AFTER_TIME or the
 * 540 s key zeroing moves time by minutes in microseconds, through the same rn_now_ns() the
 * device reads.
 */
#ifndef RN_WG_TEST_CLOCK_H
#define RN_WG_TEST_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

void rn_testclock_advance(uint64_t ns);
/*
 * Stops the protocol clock where it is (on) or lets it run again from there (off), so that a
 * test's outcome does not depend on how fast this build runs it; rn_testclock_advance still
 * moves it.
 */
void rn_testclock_freeze(bool on);

#endif
