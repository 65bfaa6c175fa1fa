/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef CPUUSAGE_H
#define CPUUSAGE_H

#define CPUUSAGE_NR_SOFTIRQS	10	/* HI .. RCU, as in linux/interrupt.h */
#define CPUUSAGE_MAX_TASKS	16384
#define CPUUSAGE_FLUSH_TRIES	4	/* then give up and count it torn */

/*
 * A thread, named by its TID and start time: a TID reused after the
 * thread is gone gets a new entry, so nothing is charged to a dead one.
 */
struct cpuusage_key {
	unsigned int tid;
	unsigned int pad;
	unsigned long long start_ns;	/* task_struct.start_time */
};

/* Cumulative since the entry was made; userspace reports differences. */
struct cpuusage_task {
	unsigned long long run_ns;	/* on CPU, minus interrupt time */
	unsigned long long nvcsw;	/* voluntary switches (blocked) */
	unsigned long long nivcsw;	/* involuntary switches (preempted) */
	unsigned long long irq_ns;	/* interrupt time taken out of run_ns */
	unsigned int tgid;
	unsigned int dead;		/* sched_process_free seen */
	char comm[16];
};

/* A CPU's time, cumulative: its parts add up to the time since the first flush. */
struct cpuusage_totals {
	unsigned long long task_ns;	/* non-idle tasks */
	unsigned long long idle_ns;	/* the idle task */
	unsigned long long hardirq_ns;	/* irq_handler_entry..exit */
	unsigned long long softirq_ns[CPUUSAGE_NR_SOFTIRQS];
	unsigned long long switches;
	unsigned long long drops;	/* task time with no map entry */
};

/*
 * One per CPU, written only on that CPU (sched_switch, the interrupt
 * tracepoints, and the flush program run there by BPF_PROG_TEST_RUN).
 * @at_flush is @live as the last flush left it, so that userspace reads
 * every part as of @flush_ns: the CPU charges on while the other CPUs
 * are flushed and the map is read, milliseconds under qemu TCG.
 */
struct cpuusage_cpu {
	struct cpuusage_totals live;
	struct cpuusage_totals at_flush;
	unsigned long long flush_ns;	/* when the last flush ran */
	unsigned long long flush_torn;	/* flushes interrupted every try */
	unsigned long long irq_seq;	/* bumped at each interrupt's end */

	/* What is running now. */
	unsigned long long since;	/* current task charged up to here */
	unsigned long long irq_in_task;	/* interrupt time since @since */
	unsigned long long softirq_start;	/* 0: not in a softirq */
	unsigned long long hardirq_start;	/* 0: not in a hardirq */
	unsigned long long hard_in_soft;	/* hardirq time inside this softirq */
	unsigned int softirq_vec;
	unsigned int busy;		/* a softirq program is updating this */
};

/* The flush program's return value when it found the CPU busy. */
#define CPUUSAGE_FLUSH_BUSY	1

#endif
