/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_TESTS_PROGS_CLOCK_H
#define LK_TESTS_PROGS_CLOCK_H

#include <time.h>

/* CLOCK_MONOTONIC in ns: the clock the test programs keep time by. */
static inline unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Sleep until now_ns() reaches @t. */
static inline void sleep_until_ns(unsigned long long t)
{
	struct timespec ts = { .tv_sec = t / 1000000000ULL, .tv_nsec = t % 1000000000ULL };

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

#endif
