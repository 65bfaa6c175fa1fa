// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * cpuusage: on-CPU time per thread from sched_switch, and interrupt time
 * per CPU and softirq vector, taken out of the task it interrupted.
 *
 * Per CPU, @since is the instant up to which the running task has been
 * charged and @irq_in_task the interrupt time spent since then; a switch
 * (or a flush) charges now - since - irq_in_task to the task leaving.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "common.bpf.h"
#include "cpuusage.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpuusage_cpu);
} cpus SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CPUUSAGE_MAX_TASKS);
	__type(key, struct cpuusage_key);
	__type(value, struct cpuusage_task);
} tasks SEC(".maps");

static const struct cpuusage_task zero_task;

static __always_inline struct cpuusage_cpu *this_cpu(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cpus, &zero);
}

/*
 * Charge the time since c->since to current (the task switching out, or
 * the one a flush interrupted), whose task_struct.start_time the caller
 * read: the cheapest way depends on the program type.  @btf_task is
 * current as a BTF pointer (tp_btf), or NULL: its comm is then a plain
 * load rather than a helper call.
 */
static __always_inline void charge(struct cpuusage_cpu *c, __u64 start_ns,
				   struct task_struct *btf_task,
				   __u64 now, int sw, bool voluntary)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct cpuusage_key key = {};
	struct cpuusage_task *v;
	__u64 delta = 0, irq;

	/*
	 * One exchange: an interrupt taken by a flush (which runs with
	 * interrupts on, on cpuusage's own CPU) is then either in @irq or
	 * left for the next charge, never lost between a read and a store.
	 */
	irq = __sync_lock_test_and_set(&c->irq_in_task, 0);
	if (c->since && now - c->since > irq)
		delta = now - c->since - irq;
	c->since = now;
	if (!(__u32)id) {
		c->live.idle_ns += delta;
		return;
	}
	c->live.task_ns += delta;
	if (!lk_task_wanted())
		return;
	key.tid = (__u32)id;
	key.start_ns = start_ns;
	v = lk_lookup_or_init(&tasks, &key, &zero_task);
	if (!v) {
		c->live.drops += delta;
		return;
	}
	v->run_ns += delta;
	v->irq_ns += irq;
	if (sw && voluntary)
		v->nvcsw++;
	else if (sw)
		v->nivcsw++;
	v->tgid = id >> 32;
	if (btf_task)
		__builtin_memcpy(v->comm, btf_task->comm, sizeof(v->comm));
	else
		bpf_get_current_comm(v->comm, sizeof(v->comm));
}

/*
 * The kernel counts a switch as voluntary when the task blocked: not
 * preempted and not left runnable (prev_state 0 is TASK_RUNNING).
 * sched_switch runs before the switch: current is still @prev.
 */
static __always_inline int on_switch(bool preempt, __u64 start_ns,
				     struct task_struct *btf_prev,
				     unsigned int prev_state)
{
	struct cpuusage_cpu *c = this_cpu();

	if (!c)
		return 0;
	c->live.switches++;
	charge(c, start_ns, btf_prev, bpf_ktime_get_ns(), 1, !preempt && prev_state);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(switch_btf, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	/* A BTF pointer: a plain load, not a probe read. */
	return on_switch(preempt, prev->start_time, prev, prev_state);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(switch_raw, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	return on_switch(preempt, BPF_CORE_READ(prev, start_time), NULL, prev_state);
}

static __always_inline int on_softirq_entry(unsigned int vec)
{
	struct cpuusage_cpu *c = this_cpu();

	if (!c)
		return 0;
	c->busy = 1;
	c->softirq_start = bpf_ktime_get_ns();
	c->softirq_vec = vec;
	c->hard_in_soft = 0;
	c->busy = 0;
	return 0;
}

/*
 * Close the running softirq up to @now, less @hard, the time of the
 * hardirqs inside it up to @now.  Softirqs run with interrupts on: the
 * softirq's time goes into irq_in_task in one atomic add, so that a
 * hardirq's own add to it, landing here, is never lost.
 */
static __always_inline void softirq_account(struct cpuusage_cpu *c, __u64 now, __u64 hard)
{
	unsigned int vec = c->softirq_vec;
	__u64 d = now - c->softirq_start;

	d = d > hard ? d - hard : 0;
	if (vec < CPUUSAGE_NR_SOFTIRQS)
		c->live.softirq_ns[vec] += d;
	__sync_fetch_and_add(&c->irq_in_task, d);
	c->hard_in_soft = 0;
}

static __always_inline __u64 hard_in_soft(struct cpuusage_cpu *c)
{
	return *(volatile __u64 *)&c->hard_in_soft;
}

static __always_inline int on_softirq_exit(void)
{
	struct cpuusage_cpu *c = this_cpu();
	__u64 h0, h1, now = 0;
	int i;

	/* A softirq already running at attach has no start: skip it. */
	if (!c || !c->softirq_start)
		return 0;
	c->busy = 1;
	/*
	 * A hardirq that ends before the clock read is inside the softirq,
	 * one after it is not: hard_in_soft read on both sides of the clock
	 * tells (equal: none came between; else read again).
	 */
	h1 = hard_in_soft(c);
	for (i = 0; i < 3; i++) {
		h0 = h1;
		now = bpf_ktime_get_ns();
		h1 = hard_in_soft(c);
		if (h0 == h1)
			break;
	}
	softirq_account(c, now, h0);
	c->softirq_start = 0;
	/* Here, not in softirq_account(): a flush calls that too. */
	__sync_fetch_and_add(&c->irq_seq, 1);
	c->busy = 0;
	return 0;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(softirq_entry_btf, unsigned int vec)
{
	return on_softirq_entry(vec);
}

SEC("raw_tp/softirq_entry")
int BPF_PROG(softirq_entry_raw, unsigned int vec)
{
	return on_softirq_entry(vec);
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(softirq_exit_btf, unsigned int vec)
{
	return on_softirq_exit();
}

SEC("raw_tp/softirq_exit")
int BPF_PROG(softirq_exit_raw, unsigned int vec)
{
	return on_softirq_exit();
}

static __always_inline int on_hardirq_entry(void)
{
	struct cpuusage_cpu *c = this_cpu();

	if (c)
		c->hardirq_start = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int on_hardirq_exit(void)
{
	struct cpuusage_cpu *c = this_cpu();
	__u64 d;

	if (!c || !c->hardirq_start)
		return 0;
	d = bpf_ktime_get_ns() - c->hardirq_start;
	c->hardirq_start = 0;
	c->live.hardirq_ns += d;
	c->irq_in_task += d;
	if (c->softirq_start)
		c->hard_in_soft += d;
	c->irq_seq++;
	return 0;
}

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(hardirq_entry_btf, int irq, struct irqaction *action)
{
	return on_hardirq_entry();
}

SEC("raw_tp/irq_handler_entry")
int BPF_PROG(hardirq_entry_raw, int irq, struct irqaction *action)
{
	return on_hardirq_entry();
}

SEC("tp_btf/irq_handler_exit")
int BPF_PROG(hardirq_exit_btf, int irq, struct irqaction *action, int ret)
{
	return on_hardirq_exit();
}

SEC("raw_tp/irq_handler_exit")
int BPF_PROG(hardirq_exit_raw, int irq, struct irqaction *action, int ret)
{
	return on_hardirq_exit();
}

/*
 * The task is gone for good (after its last switch): userspace reports
 * the entry once more and deletes it.
 */
static __always_inline int on_free(struct task_struct *t)
{
	struct cpuusage_key key = {};
	struct cpuusage_task *v;

	key.tid = BPF_CORE_READ(t, pid);
	key.start_ns = BPF_CORE_READ(t, start_time);
	v = bpf_map_lookup_elem(&tasks, &key);
	if (v)
		v->dead = 1;
	return 0;
}

SEC("tp_btf/sched_process_free")
int BPF_PROG(free_btf, struct task_struct *t)
{
	return on_free(t);
}

SEC("raw_tp/sched_process_free")
int BPF_PROG(free_raw, struct task_struct *t)
{
	return on_free(t);
}

/*
 * Not attached: userspace runs it on every CPU with BPF_PROG_TEST_RUN
 * (BPF_F_TEST_RUN_ON_CPU) so that the task running there, and a softirq
 * it is in, are charged up to this instant.  A busy task that never
 * switches is then counted exactly.
 */
static __always_inline void flush_once(struct cpuusage_cpu *c)
{
	__u64 now = bpf_ktime_get_ns();

	/* Interrupts are off or counted in irq_seq here (see flush). */
	if (c->softirq_start) {
		softirq_account(c, now, c->hard_in_soft);
		c->softirq_start = now;
	}
	charge(c, BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), start_time),
	       NULL, now, 0, false);
	c->at_flush = c->live;
	c->flush_ns = now;
}

/*
 * Other CPUs run it in an IPI, interrupts off (see busy below).  On cpuusage's own CPU
 * the kernel runs it directly, interrupts on: an interrupt taken after
 * @now would put time later than @flush_ns into @at_flush, and the
 * interval's parts would add up to more than its length.  Flushing once
 * more after it charges the time up to a later @now, consistently.
 */
SEC("raw_tp")
int flush(void *ctx)
{
	struct cpuusage_cpu *c = this_cpu();
	__u64 seq;
	int i;

	if (!c)
		return 0;
	/*
	 * Softirq programs run with interrupts on: the IPI may have stopped
	 * one halfway through its update.  Leave it alone; userspace asks
	 * again once the program has finished.
	 */
	if (c->busy)
		return CPUUSAGE_FLUSH_BUSY;
	for (i = 0; i < CPUUSAGE_FLUSH_TRIES; i++) {
		seq = c->irq_seq;
		flush_once(c);
		if (c->irq_seq == seq)
			return 0;
	}
	c->flush_torn++;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
