// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * syslat: syscall latency from raw_syscalls:sys_enter/sys_exit.
 *
 * Hot path: entry makes one helper call for the thread id (which the
 * filters use too), a clock read, and array lookups the verifier
 * inlines: the thread's start time in an array indexed by thread id, and
 * a per-CPU note of the last thread to enter there.  Exit on the same
 * CPU finds the start from that note without a helper call (else it asks
 * for the id), reads the clock and updates the row's statistics in a
 * per-CPU array indexed by slot.
 * Task storage (a helper call that is not inlined) holds the start
 * times only of execve calls and of threads whose id lies beyond the
 * array.  Failures add one hash update with -e or -x; -P adds a hash
 * lookup per call.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "common.bpf.h"
#include "syslat.h"

const volatile __u16 slot_of[SL_MAX_NR] = {};
const volatile __u32 nslots = 1;
/* Threads with ids below this keep their start time in starts[]. */
const volatile __u32 ntids = 1;
const volatile bool per_process = false;
const volatile bool failed_only = false;
const volatile bool errno_on = false;
const volatile bool events_on = false;
const volatile __u64 min_ns = 0;

/* Written by userspace to switch generations at interval reports. */
volatile __u32 gen = 0;
__u64 drops[SL_DROP_MAX] = {};
/* Set once a thread below ntids has kept a start time in task storage. */
__u32 by_task_used = 0;

/* Sizes are set by userspace before load. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1);
	__type(key, struct sl_proc_key);
	__type(value, struct sl_stats);
} proc_stats SEC(".maps");

/* Never written: the initial value of a new proc_stats entry. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_stats);
} zero_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[16]);
} comms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1);
	__type(key, struct sl_err_key);
	__type(value, __u64);
} errs SEC(".maps");

/*
 * Start times by thread id (ntids entries).  Live threads have distinct
 * ids, so no two threads share an entry; a start time whose exit was
 * missed is found and dropped by the next entry with that id.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_start);
} starts SEC(".maps");

/*
 * The thread that last entered a syscall on this CPU, and its id: the
 * exit of a call that did not move to another CPU finds its entry in
 * starts[] from here without asking for its id.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_last);
} last SEC(".maps");

/* Start times that starts[] does not hold; freed with the thread. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sl_start);
} task_starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

static __always_inline void drop(int what)
{
	__sync_fetch_and_add(&drops[what], 1);
}

static __always_inline struct sl_stats *proc_row(__u32 tgid, __u32 g)
{
	struct sl_proc_key key = { .tgid = tgid, .gen = g };
	struct sl_stats *s;
	__u32 zero = 0;
	void *init;

	s = bpf_map_lookup_elem(&proc_stats, &key);
	if (s)
		return s;
	init = bpf_map_lookup_elem(&zero_stats, &zero);
	if (!init)
		return 0;
	s = lk_lookup_or_init(&proc_stats, &key, init);
	if (!s) {
		drop(SL_DROP_PROC);
		return 0;
	}
	/* The name as the process had it when first seen. */
	if (!bpf_map_lookup_elem(&comms, &tgid)) {
		char comm[16];

		bpf_get_current_comm(comm, sizeof(comm));
		bpf_map_update_elem(&comms, &tgid, comm, BPF_ANY);
	}
	return s;
}

static __always_inline struct sl_stats *row_stats(__u32 slot, __u32 g, __u64 id)
{
	__u32 idx;

	if (per_process)
		return proc_row(id >> 32, g);
	idx = g * nslots + slot;
	return bpf_map_lookup_elem(&stats, &idx);
}

static __always_inline void count_errno(__u32 row, long ret, __u32 g)
{
	struct sl_err_key key = { .row = row, .err = -ret, .gen = g };
	__u64 one = 1, *v;

	v = bpf_map_lookup_elem(&errs, &key);
	if (v) {
		(*v)++;
		return;
	}
	if (bpf_map_update_elem(&errs, &key, &one, BPF_NOEXIST) == -7 /* E2BIG */)
		drop(SL_DROP_ERRNO);
}

static __always_inline void emit(struct sl_start *st, __u64 lat, long ret, __u64 id)
{
	struct sl_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		drop(SL_DROP_EVENT);
		return;
	}
	e->lat_ns = lat;
	e->ret = ret;
	e->pid = id >> 32;
	e->tid = id;
	e->nr = st->nr;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	lk_ringbuf_submit(&events, e);
}

/* The thread's entry in starts[], or NULL when its id is beyond it. */
static __always_inline struct sl_start *tid_start(__u32 tid)
{
	if (tid >= ntids)
		return 0;
	return bpf_map_lookup_elem(&starts, &tid);
}

static __always_inline struct sl_start *task_start(__u64 flags)
{
	return bpf_task_storage_get(&task_starts, bpf_get_current_task_btf(), 0, flags);
}

/*
 * A start time still set at the next entry is a call whose exit we never
 * saw: forget it, and count it, so that it cannot lend its start to a
 * later exit.  (The exit program is attached before the entry program,
 * so a call that began while they were being attached has no start.)
 */
static __always_inline void forget(struct sl_start *st)
{
	if (st && st->ts) {
		st->ts = 0;
		drop(SL_DROP_EXIT);
	}
}

static __always_inline int on_enter(__u64 regs, long nr)
{
	struct sl_start *st;
	struct sl_stats *s;
	struct sl_last *l;
	__u32 slot, tid, zero = 0;
	__u64 id;

	/* nr -1: a syscall a tracer or seccomp skipped. */
	slot = (__u64)nr < SL_MAX_NR ? slot_of[nr] : SL_NONE;
	id = bpf_get_current_pid_tgid();
	if (!lk_task_wanted_id(id))
		return 0;
	tid = id;
	if (slot & SL_NORETURN && slot != SL_NONE) {
		/* exit, exit_group: no sys_exit will come; a call without a latency. */
		if (failed_only || min_ns)
			return 0;
		s = row_stats(slot & SL_SLOT_MASK, gen, id);
		if (s)
			s->count++;
		return 0;
	}
	st = tid_start(tid);
	if (st) {
		forget(st);
		if (slot == SL_NONE)
			return 0;
		if (slot & SL_BY_TASK) {
			by_task_used = 1;
			st = 0;
		}
	} else if (slot == SL_NONE) {
		forget(task_start(0));
		return 0;
	}
	if (st) {
		l = bpf_map_lookup_elem(&last, &zero);
		if (l) {
			l->regs = regs;
			l->tid = tid;
		}
	} else {
		st = task_start(BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!st) {
			drop(SL_DROP_START);
			return 0;
		}
		forget(st);
	}
	st->regs = regs;
	st->nr = nr;
	st->slot = slot & SL_SLOT_MASK;
	st->ts = bpf_ktime_get_ns();
	return 0;
}

static __always_inline void account(struct sl_stats *s, __u64 lat, bool failed)
{
	__u32 i = lh_index(lat, SL_SUB_BITS, SL_BUCKETS);

	s->count++;
	s->errors += failed;
	s->total_ns += lat;
	if (lat > s->max_ns)
		s->max_ns = lat;
	if (lat < s->min_ns || !s->min_ns)
		s->min_ns = lat;
	s->hist[lk_index(i, SL_BUCKETS)]++;
}

/*
 * The start of the call this thread is returning from, through last[]
 * when this thread was the last to enter a syscall on this CPU.  An entry
 * with this thread's registers address and a start time is this
 * thread's: it was written by a thread with this kernel stack whose call
 * has not returned, and no other live thread has this stack.  *id is set
 * on the slow path only.
 */
static __always_inline struct sl_start *exit_start(__u64 regs, __u64 *id)
{
	struct sl_start *st;
	struct sl_last *l;
	__u32 zero = 0;

	/*
	 * With -p or -t most exits are other threads': their check comes
	 * first, from the id.
	 */
	l = lk_filter.tgid || lk_filter.tid ? 0 : bpf_map_lookup_elem(&last, &zero);
	if (l && l->regs == regs) {
		st = tid_start(l->tid);
		if (st && st->regs == regs && st->ts)
			return st;
	}
	*id = bpf_get_current_pid_tgid();
	/* Other processes and threads have no start times: this only saves lookups. */
	if (lk_filter.tgid && (*id >> 32) != lk_filter.tgid)
		return 0;
	if (lk_filter.tid && (__u32)*id != lk_filter.tid)
		return 0;
	st = tid_start(*id);
	/*
	 * Not in starts[]: an id beyond it, an execve, or a call that began
	 * before we attached (or was skipped).
	 */
	if (!st || !st->ts) {
		if (st && !by_task_used)
			return 0;
		st = task_start(0);
		if (!st || !st->ts)
			return 0;
	}
	return st;
}

static __always_inline int on_exit(__u64 regs, long ret)
{
	struct sl_start *st;
	struct sl_stats *s;
	bool failed;
	__u64 lat, id = 0;
	__u32 g;

	st = exit_start(regs, &id);
	if (!st)
		return 0;
	lat = bpf_ktime_get_ns() - st->ts;
	st->ts = 0;
	failed = (unsigned long)ret >= (unsigned long)-4095;
	if ((failed_only && !failed) || lat < min_ns)
		return 0;
	/* Only -P, -e with -P and --events need the ids. */
	if (!id && (per_process || events_on))
		id = bpf_get_current_pid_tgid();
	g = gen;
	s = row_stats(st->slot, g, id);
	if (!s)
		return 0;
	account(s, lat, failed);
	if (failed && errno_on)
		count_errno(per_process ? id >> 32 : st->slot, ret, g);
	if (events_on)
		emit(st, lat, ret, id);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter_btf, struct pt_regs *regs, long id)
{
	return on_enter((__u64)regs, id);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit_btf, struct pt_regs *regs, long ret)
{
	return on_exit((__u64)regs, ret);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(sys_enter_raw, struct pt_regs *regs, long id)
{
	return on_enter((__u64)regs, id);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(sys_exit_raw, struct pt_regs *regs, long ret)
{
	return on_exit((__u64)regs, ret);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
