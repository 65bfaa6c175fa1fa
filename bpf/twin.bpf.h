/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_TWIN_BPF_H
#define LK_TWIN_BPF_H

/*
 * A program and its twin on one tracepoint (NAME and NAME_twin, both in
 * the tool's hook table).  The kernel does not run a tracing program on
 * a CPU where that program is already running: a softirq that interrupts
 * it in a task, or a task that preempts it, loses its run (the
 * program's recursion_misses).  The first program marks its CPU while it
 * runs (lk_twin_enter(), lk_twin_leave()); the twin runs at every hit of
 * the tracepoint too, and takes a run only while the mark is set, which
 * is exactly when the kernel skipped the first.  Only a run that finds
 * both busy is lost, and it is the twin's miss (lk_prog_missed() leaves
 * out the first's).  The classic tracepoint guards every program of a
 * CPU with one counter, so there a twin would miss as well: none.
 * Include after vmlinux.h and the libbpf BPF headers.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} lk_twin_busy SEC(".maps");

static __always_inline __u32 *lk_twin_mark(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&lk_twin_busy, &zero);
}

/* The first program, before its work: returns the mark to clear. */
static __always_inline __u32 *lk_twin_enter(void)
{
	__u32 *busy = lk_twin_mark();

	if (busy)
		*busy = 1;
	return busy;
}

static __always_inline void lk_twin_leave(__u32 *busy)
{
	if (busy)
		*busy = 0;
}

/* The twin: is this a run the first program was skipped for? */
static __always_inline bool lk_twin_wanted(void)
{
	__u32 *busy = lk_twin_mark();

	return busy && *busy;
}

#endif
