// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * cpuusage_spin SECS [DONE_FILE [LINGER_SECS]]: spin on the CPU for SECS
 * seconds of wall time, write to DONE_FILE the spin's length in
 * CLOCK_MONOTONIC ns, then sleep LINGER_SECS
 * (default 30) so that /proc/PID/schedstat can still be read, and exit.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	volatile unsigned long n = 0;
	double secs, start, end;
	int fd;

	if (argc < 2) {
		fprintf(stderr, "usage: cpuusage_spin SECS [DONE_FILE [LINGER_SECS]]\n");
		return 2;
	}
	secs = atof(argv[1]);
	start = now();
	end = start + secs;
	while (now() < end)
		for (int i = 0; i < 10000; i++)
			n++;
	if (argc > 2) {
		/* Written whole before it is renamed into place: a reader
		 * never sees it half written. */
		char tmp[4096];

		snprintf(tmp, sizeof(tmp), "%s.tmp", argv[2]);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dprintf(fd, "%.0f\n", (now() - start) * 1e9);
			close(fd);
			rename(tmp, argv[2]);
		}
		sleep(argc > 3 ? atoi(argv[3]) : 30);
	}
	return 0;
}
