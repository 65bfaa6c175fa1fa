// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * syslat_work: a workload with known syscall counts, for syslat's tests.
 *
 *	syslat_work READY_FILE GETPPID NANOSLEEP ENOENT RESTART [THREAD]
 *
 * Blocks SIGUSR1, creates READY_FILE, then waits for SIGUSR1 (the test
 * sends it once syslat is attached, so this wait is a syscall in flight
 * when tracing starts).  Then, using raw syscalls so libc adds nothing:
 * GETPPID getppid() calls, NANOSLEEP nanosleep(2 ms) calls, ENOENT
 * openat() calls on a missing file, and RESTART pipe reads that a
 * SIGALRM handler (SA_RESTART) interrupts once each: the kernel returns
 * ERESTARTSYS and runs read() again, so 2*RESTART reads, RESTART failed.
 * With THREAD, a second thread first makes THREAD getppid() calls and
 * exits (before the main thread's calls, so -t sees only the latter).
 * With SYSLAT_WORK_SLEEPS=FILE in the environment, each nanosleep() is
 * also timed on CLOCK_MONOTONIC (through the vDSO, no syscall) around
 * the call, and the durations are written to FILE, in ns, one a line,
 * once every call above is done (FILE is opened before READY_FILE is
 * made: no openat() of its own while traced).
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int pipefd[2];

static void on_alarm(int sig)
{
	char c = 'x';

	/* The byte the restarted read() returns. */
	if (write(pipefd[1], &c, 1) != 1)
		_exit(3);
}

static int restarts(long n)
{
	/* Long enough that no 2 ms sleep, however late, is slower. */
	struct itimerval it = { .it_value = { 0, 50000 } };
	struct sigaction sa;
	char c;
	long i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	if (pipe(pipefd) || sigaction(SIGALRM, &sa, NULL))
		return -1;
	for (i = 0; i < n; i++) {
		if (setitimer(ITIMER_REAL, &it, NULL))
			return -1;
		if (syscall(SYS_read, pipefd[0], &c, 1) != 1)
			return -1;
	}
	return 0;
}

static void *getppids(void *arg)
{
	long i, n = (long)arg;

	for (i = 0; i < n; i++)
		syscall(SYS_getppid);
	return NULL;
}

static int in_thread(long n)
{
	pthread_t t;

	if (pthread_create(&t, NULL, getppids, (void *)n))
		return -1;
	return pthread_join(t, NULL) ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 2000000 };
	long getppids, sleeps, enoents, restart, thread = 0, i;
	const char *log = getenv("SYSLAT_WORK_SLEEPS");
	struct timespec t0, t1;
	long long *slept = NULL;
	FILE *fp = NULL;
	sigset_t set;
	int sig, fd;

	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: syslat_work READY GETPPID NANOSLEEP ENOENT RESTART [THREAD]\n");
		return 2;
	}
	getppids = atol(argv[2]);
	sleeps = atol(argv[3]);
	enoents = atol(argv[4]);
	restart = atol(argv[5]);
	if (argc == 7)
		thread = atol(argv[6]);
	if (log && sleeps > 0) {
		slept = calloc(sleeps, sizeof(*slept));
		fp = fopen(log, "w");
		if (!slept || !fp)
			return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	fd = open(argv[1], O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		return 1;
	close(fd);
	if (sigwait(&set, &sig))
		return 1;
	if (thread && in_thread(thread))
		return 1;
	for (i = 0; i < getppids; i++)
		syscall(SYS_getppid);
	for (i = 0; i < sleeps; i++) {
		if (slept)
			clock_gettime(CLOCK_MONOTONIC, &t0);
		syscall(SYS_nanosleep, &ts, NULL);
		if (slept) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			slept[i] = (t1.tv_sec - t0.tv_sec) * 1000000000LL +
				   (t1.tv_nsec - t0.tv_nsec);
		}
	}
	for (i = 0; i < enoents; i++)
		syscall(SYS_openat, AT_FDCWD, "/nonexistent/syslat", O_RDONLY);
	if (restart && restarts(restart))
		return 1;
	if (slept) {
		for (i = 0; i < sleeps; i++)
			fprintf(fp, "%lld\n", slept[i]);
		if (fclose(fp))
			return 1;
	}
	return 0;
}
