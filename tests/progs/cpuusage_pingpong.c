// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * cpuusage_pingpong ROUNDS: two processes pass one byte back and forth
 * through two pipes ROUNDS times (two context switches per round when
 * both share a CPU); prints the mean round trip in ns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"

static void child(int in, int out)
{
	char b;

	while (read(in, &b, 1) == 1)
		if (write(out, &b, 1) != 1)
			break;
	_exit(0);
}

int main(int argc, char **argv)
{
	int to_child[2], to_parent[2];
	unsigned long long t0, t1;
	long rounds, i;
	char b = 'x';
	pid_t pid;

	rounds = argc > 1 ? atol(argv[1]) : 100000;
	if (rounds <= 0 || pipe(to_child) || pipe(to_parent)) {
		fprintf(stderr, "usage: cpuusage_pingpong ROUNDS\n");
		return 2;
	}
	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid) {
		close(to_child[1]);
		close(to_parent[0]);
		child(to_child[0], to_parent[1]);
	}
	close(to_child[0]);
	close(to_parent[1]);
	t0 = now_ns();
	for (i = 0; i < rounds; i++) {
		if (write(to_child[1], &b, 1) != 1 || read(to_parent[0], &b, 1) != 1) {
			perror("pingpong");
			return 1;
		}
	}
	t1 = now_ns();
	close(to_child[1]);
	waitpid(pid, NULL, 0);
	printf("%.1f\n", (double)(t1 - t0) / rounds);
	return 0;
}
