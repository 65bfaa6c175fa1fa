/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef SYSLAT_H
#define SYSLAT_H

/*
 * Per-row histograms use 3 sub-bits: 8 buckets per power of two, so a
 * bucket is at most 12.5% of its lower bound wide and a percentile read
 * inside it is off by at most that (6.3% from the bucket middle).  Values
 * up to 2^36 ns (68 s) get their own bucket; slower ones share the last
 * (max stays exact).  280 buckets: 2.2 KiB per row and CPU, against
 * 4.6 KiB with the 4 sub-bits and 39 bits of bpf/loghist.h's default.
 */
#define SL_SUB_BITS	3
#define SL_MAX_MSB	36
#define SL_BUCKETS	LH_NBUCKETS(SL_SUB_BITS, SL_MAX_MSB)

/* Syscall numbers the slot table covers (x86_64 and arm64 stay far below). */
#define SL_MAX_NR	1024
/* slot_of[nr]: row of a syscall, or SL_NONE when -s leaves it out. */
#define SL_NONE		0xffff
/* Flag in slot_of[]: exit and exit_group never return; counted at entry. */
#define SL_NORETURN	0x8000
/*
 * Flag in slot_of[]: execve and execveat, whose thread may return with
 * another id (a thread that is not the leader takes the leader's id):
 * their start time goes to task storage, which follows the thread.
 */
#define SL_BY_TASK	0x4000
#define SL_SLOT_MASK	0x3fff

/*
 * Start times of threads with ids below this sit in an array indexed by
 * thread id (24 bytes each, sized to kernel.pid_max up to this: 1.5 MiB);
 * the others, in task storage.
 */
#define SL_MAX_TIDS	65536

/* -P: rows per process (and per generation when reporting at intervals). */
#define SL_MAX_PROCS	1024
/* -e/-x: (row, errno) pairs. */
#define SL_MAX_ERRS	4096

struct sl_stats {
	unsigned long long count;	/* completed calls, plus exit/exit_group entries */
	unsigned long long errors;	/* returned -1..-4095 */
	unsigned long long total_ns;	/* sum of latencies of completed calls */
	unsigned long long min_ns;	/* 0: none yet */
	unsigned long long max_ns;
	unsigned long long hist[SL_BUCKETS];	/* completed calls only */
};

/*
 * Per thread: the syscall it is in, since when (0: none we saw enter),
 * and the address of the thread's saved user registers (on its kernel
 * stack: no two live threads share it).
 */
struct sl_start {
	unsigned long long ts;
	unsigned long long regs;
	unsigned int nr;
	unsigned int slot;
};

/* Per CPU: the last thread that entered a syscall there. */
struct sl_last {
	unsigned long long regs;
	unsigned int tid;
	unsigned int pad;
};

/*
 * Rows alternate between two generations so that an interval report can
 * read and clear one while the programs write the other.
 */
struct sl_proc_key {
	unsigned int tgid;
	unsigned int gen;
};

struct sl_err_key {
	unsigned int row;	/* slot, or tgid with -P */
	unsigned short err;	/* positive errno */
	unsigned short gen;
};

/* Counts of what could not be recorded (indexes of drops[]). */
enum {
	SL_DROP_START,		/* no room for a thread's start time */
	SL_DROP_PROC,		/* -P: process table full */
	SL_DROP_ERRNO,		/* errno table full */
	SL_DROP_EVENT,		/* --events: ring buffer full */
	SL_DROP_EXIT,		/* an entry whose exit never came (not counted) */
	SL_DROP_MAX,
};

struct sl_event {
	unsigned long long lat_ns;
	long long ret;
	unsigned int pid;
	unsigned int tid;
	unsigned int nr;
	char comm[16];
};

#endif
