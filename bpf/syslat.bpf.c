// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * syslat: syscall latency from raw_syscalls:sys_enter/sys_exit.
 *
 * Hot path, per event: enter does the filter checks (rodata and one
 * helper), one task-storage lookup and a clock read; exit does one
 * task-storage lookup, a clock read and one per-CPU array lookup (which
 * the verifier inlines).  Failures add one hash update with -e or -x.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "common.bpf.h"
#include "syslat.h"

const volatile __u16 slot_of[SL_MAX_NR] = {};
const volatile __u32 nslots = 1;
const volatile bool per_process = false;
const volatile bool failed_only = false;
const volatile bool errno_on = false;
const volatile bool events_on = false;
const volatile __u64 min_ns = 0;

/* Written by userspace to switch generations at interval reports. */
volatile __u32 gen = 0;
__u64 drops[SL_DROP_MAX] = {};

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

/* Freed with the thread, so threads that exit mid-syscall leak nothing. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sl_start);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

static __always_inline void drop(int what)
{
	__sync_fetch_and_add(&drops[what], 1);
}

/*
 * The process and thread come from a helper call, which costs more than
 * all the rest of a check under retpolines: ask only where an option
 * needs them (the verifier drops branches that rodata rules out).
 */
static __always_inline __u32 cur_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
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

static __always_inline struct sl_stats *row_stats(__u32 slot, __u32 g)
{
	__u32 idx;

	if (per_process)
		return proc_row(cur_tgid(), g);
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

static __always_inline void emit(struct sl_start *st, __u64 lat, long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct sl_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		drop(SL_DROP_EVENT);
		return;
	}
	e->lat_ns = lat;
	e->ret = ret;
	e->pid = pid_tgid >> 32;
	e->tid = pid_tgid;
	e->nr = st->nr;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	lk_ringbuf_submit(&events, e);
}

/*
 * A start time still set at the next entry is a call whose exit we never
 * saw (it began while the programs were being attached): forget it, and
 * count it, so that it cannot lend its start to a later exit.
 */
static __always_inline void forget_start(void)
{
	struct sl_start *st;

	st = bpf_task_storage_get(&start, bpf_get_current_task_btf(), 0, 0);
	if (st && st->ts) {
		st->ts = 0;
		drop(SL_DROP_EXIT);
	}
}

static __always_inline int on_enter(long id)
{
	struct sl_start *st;
	struct sl_stats *s;
	__u32 slot;

	/* id -1: a syscall a tracer or seccomp skipped. */
	slot = (__u64)id < SL_MAX_NR ? slot_of[id] : SL_NONE;
	if (!lk_task_wanted())
		return 0;
	if (slot == SL_NONE) {
		forget_start();
		return 0;
	}
	if (slot & SL_NORETURN) {
		/* exit, exit_group: no sys_exit will come; a call without a latency. */
		if (failed_only || min_ns)
			return 0;
		s = row_stats(slot & SL_SLOT_MASK, gen);
		if (s)
			s->count++;
		return 0;
	}
	st = bpf_task_storage_get(&start, bpf_get_current_task_btf(), 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st) {
		drop(SL_DROP_START);
		return 0;
	}
	if (st->ts)
		drop(SL_DROP_EXIT);
	st->nr = id;
	st->slot = slot;
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
	/* Hide i's origin so the compiler keeps a bound the verifier sees. */
	asm volatile("" : "+r"(i));
	if (i < SL_BUCKETS)
		s->hist[i]++;
}

static __always_inline int on_exit(long ret)
{
	struct sl_start *st;
	struct sl_stats *s;
	bool failed;
	__u64 lat;
	__u32 g;

	/* Other processes have no start times: this only saves the lookup. */
	if (lk_filter.tgid && cur_tgid() != lk_filter.tgid)
		return 0;
	st = bpf_task_storage_get(&start, bpf_get_current_task_btf(), 0, 0);
	/* No entry: the call began before we attached (or was skipped). */
	if (!st || !st->ts)
		return 0;
	lat = bpf_ktime_get_ns() - st->ts;
	st->ts = 0;
	failed = (unsigned long)ret >= (unsigned long)-4095;
	if ((failed_only && !failed) || lat < min_ns)
		return 0;
	g = gen;
	s = row_stats(st->slot, g);
	if (!s)
		return 0;
	account(s, lat, failed);
	if (failed && errno_on)
		count_errno(per_process ? cur_tgid() : st->slot, ret, g);
	if (events_on)
		emit(st, lat, ret);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter_btf, struct pt_regs *regs, long id)
{
	return on_enter(id);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit_btf, struct pt_regs *regs, long ret)
{
	return on_exit(ret);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(sys_enter_raw, struct pt_regs *regs, long id)
{
	return on_enter(id);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(sys_exit_raw, struct pt_regs *regs, long ret)
{
	return on_exit(ret);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
