// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * proc_churn: short-lived processes at a steady rate, with known syscall
 * counts, for the scale and soak benches (syslat, cpuusage).
 *
 *	proc_churn RATE SECS MAX [GETPPID [exec]]
 *
 * Starts RATE processes a second (fork()), for SECS seconds or MAX
 * processes, whichever comes first, and reaps them all.  Each child
 * names itself "proc_churn_kid" (prctl PR_SET_NAME, so a filter on that
 * name sees nothing it did before), makes GETPPID (default 2) raw
 * getppid() calls and exits with a raw exit_group(0): under
 * "syslat -c proc_churn_kid" it makes exactly GETPPID getppid calls and
 * one exit_group.  With "exec" the child then execve()s this program
 * (argv[1] "kid"), which names itself again, makes GETPPID more getppid
 * calls and exits the same way: one execve more, GETPPID more getppid.
 *
 * At most 256 children are alive at once (a fork waits for a reap
 * beyond that), so a machine that cannot keep up gets a lower rate, not
 * a flood: the rate achieved is printed (and SECS bounds the run, not
 * the count: a backlog is never caught up past it).  At the end one JSON line:
 * spawned, reaped, fork_errors, bad_exits, secs, rate, its own CPU time
 * and that of its reaped children (getrusage, ns), pid.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"

#define KID_NAME	"proc_churn_kid"
#define MAX_ALIVE	256

static long alive, reaped, bad_exits;

static void kid_calls(long n)
{
	long i;

	prctl(PR_SET_NAME, KID_NAME, 0, 0, 0);
	for (i = 0; i < n; i++)
		syscall(SYS_getppid);
}

static __attribute__((noreturn)) void kid_exit(void)
{
	syscall(SYS_exit_group, 0);
	_exit(0);
}

/* Reap what has ended; with @block, wait for one at least. */
static void reap(int block)
{
	int st;
	pid_t p;

	while (alive > 0) {
		p = waitpid(-1, &st, block ? 0 : WNOHANG);
		if (p < 0 && errno == EINTR)
			continue;
		if (p <= 0)
			return;
		alive--;
		reaped++;
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			bad_exits++;
		block = 0;
	}
}

static unsigned long long tv_ns(const struct timeval *tv)
{
	return tv->tv_sec * 1000000000ULL + tv->tv_usec * 1000ULL;
}

int main(int argc, char **argv)
{
	unsigned long long t0, t, end, next;
	long rate, secs, max, calls = 2, spawned = 0, fork_errors = 0, due;
	int do_exec = 0;
	struct rusage self, kids;
	double el;

	if (argc >= 3 && !strcmp(argv[1], "kid")) {
		kid_calls(atol(argv[2]));
		kid_exit();
	}
	if (argc < 4) {
		fprintf(stderr, "usage: proc_churn RATE SECS MAX [GETPPID [exec]]\n");
		return 2;
	}
	rate = atol(argv[1]);
	secs = atol(argv[2]);
	max = atol(argv[3]);
	if (argc > 4)
		calls = atol(argv[4]);
	if (argc > 5 && !strcmp(argv[5], "exec"))
		do_exec = 1;
	if (rate <= 0 || secs <= 0 || max <= 0 || calls < 0) {
		fprintf(stderr, "proc_churn: RATE, SECS and MAX must be positive\n");
		return 2;
	}
	t0 = now_ns();
	end = t0 + secs * 1000000000ULL;
	next = t0;
	while (spawned < max && (t = now_ns()) < end) {
		/* Processes due by now (1 ms batches), bounded by MAX. */
		due = (long)((double)(t - t0) * rate / 1e9) + 1 - spawned - fork_errors;
		if (due <= 0) {
			next = t0 + (unsigned long long)((spawned + fork_errors) * 1e9 / rate);
			reap(0);
			sleep_until_ns(next);
			continue;
		}
		while (due-- > 0 && spawned < max && now_ns() < end) {
			pid_t p;

			if (alive >= MAX_ALIVE)
				reap(1);
			p = fork();
			if (p == 0) {
				kid_calls(calls);
				if (do_exec) {
					char n[32], *args[] = { argv[0], "kid", n, NULL };

					snprintf(n, sizeof(n), "%ld", calls);
					execv("/proc/self/exe", args);
					_exit(127);
				}
				kid_exit();
			}
			if (p < 0) {
				fork_errors++;
				reap(1);
				continue;
			}
			alive++;
			spawned++;
		}
		reap(0);
	}
	while (alive > 0)
		reap(1);
	el = (now_ns() - t0) / 1e9;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	printf("{\"spawned\":%ld,\"reaped\":%ld,\"fork_errors\":%ld,\"bad_exits\":%ld,"
	       "\"secs\":%.3f,\"rate\":%.1f,\"calls\":%ld,\"exec\":%s,"
	       "\"self_ns\":%llu,\"children_ns\":%llu,\"pid\":%d}\n",
	       spawned, reaped, fork_errors, bad_exits, el, el > 0 ? spawned / el : 0.0,
	       calls, do_exec ? "true" : "false",
	       tv_ns(&self.ru_utime) + tv_ns(&self.ru_stime),
	       tv_ns(&kids.ru_utime) + tv_ns(&kids.ru_stime), (int)getpid());
	return bad_exits || reaped != spawned;
}
