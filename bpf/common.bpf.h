/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_COMMON_BPF_H
#define LK_COMMON_BPF_H

/* Include after vmlinux.h and the libbpf BPF headers. */
#include "filter.h"
#include "loghist.h"

const volatile struct lk_filter lk_filter = {};

/*
 * Tests only (LK_TEST_SKIP_RUNS=N, lk_test_skip_runs()): a program that
 * calls lk_test_skip() first drops 1 in N of its runs, as the kernel
 * sometimes does without counting a miss, to prove the tool still
 * counts what those runs would have.  At 0, always outside tests, the
 * verifier removes the check.
 */
const volatile __u32 lk_test_skip_every;
__u64 lk_test_runs;

/* The test knobs' pick: 1 in @every calls, counted in @runs; 0: never. */
static __always_inline bool lk_test_nth(__u32 every, __u64 *runs)
{
	return every && __sync_fetch_and_add(runs, 1) % every == 0;
}

static __always_inline bool lk_test_skip(void)
{
	return lk_test_nth(lk_test_skip_every, &lk_test_runs);
}

/*
 * Tests only (LK_TEST_TWICE_RUNS=N, lk_test_twice_runs()): a program
 * that calls lk_test_twice() does 1 in N of its runs twice, an event
 * seen twice, to prove the tool counts no more than the kernel did.
 */
const volatile __u32 lk_test_twice_every;
__u64 lk_test_twice_runs;

static __always_inline bool lk_test_twice(void)
{
	return lk_test_nth(lk_test_twice_every, &lk_test_twice_runs);
}

static __always_inline bool lk_comm_matches(const char *comm)
{
	int i;

	for (i = 0; i < 16; i++) {
		if (comm[i] != lk_filter.comm[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

/* Is a filter on a socket's owning process set (-p, -c, --cgroup)? */
static __always_inline bool lk_owner_filtered(void)
{
	return lk_filter.tgid || lk_filter.cgroup_id || lk_filter.comm[0];
}

/*
 * Does the current task's process, whose bpf_get_current_pid_tgid() the
 * caller already has as @id, pass -p, -c and --cgroup (the filters on an
 * owner)?  The verifier drops the checks rodata rules out.
 */
static __always_inline bool lk_owner_wanted_id(__u64 id)
{
	if (lk_filter.tgid && (id >> 32) != lk_filter.tgid)
		return false;
	if (lk_filter.cgroup_id && bpf_get_current_cgroup_id() != lk_filter.cgroup_id)
		return false;
	if (lk_filter.comm[0]) {
		char comm[16];

		bpf_get_current_comm(comm, sizeof(comm));
		if (!lk_comm_matches(comm))
			return false;
	}
	return true;
}

/* Does the current task, whose id the caller has, pass -t too? */
static __always_inline bool lk_task_wanted_id(__u64 id)
{
	if (lk_filter.tid && (__u32)id != lk_filter.tid)
		return false;
	return lk_owner_wanted_id(id);
}

/* Does the current task pass -p, -t, -c and --cgroup? */
static __always_inline bool lk_task_wanted(void)
{
	return lk_task_wanted_id(bpf_get_current_pid_tgid());
}

/* Inode of a socket's network namespace (what --netns resolves to). */
static __always_inline unsigned int lk_sk_netns(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/*
 * A child socket closed in SYN-RECV, not a Fast Open one: a duplicate.
 * When two copies of a handshake's final ACK reach the listener on two
 * CPUs at once, the kernel can build a child from each; the one that
 * loses the race into the established table goes SYN-RECV -> CLOSE and
 * is freed at once (inet_ehash_nolisten()), never a connection, with
 * the request's SYN-ACK retransmissions in its total_retrans as in the
 * winner's.  Any other child leaves SYN-RECV for ESTABLISHED in the
 * softirq that made it, but for rare failures of the kernel's own (no
 * memory for its port, its listener closed meanwhile); only a Fast Open
 * child lives on in SYN-RECV, and can fail there.
 */
static __always_inline bool lk_dup_child(const struct sock *sk, int oldstate, int newstate)
{
	return oldstate == TCP_SYN_RECV && newstate == TCP_CLOSE &&
	       !BPF_CORE_READ((const struct tcp_sock *)sk, fastopen_rsk);
}

/* --netns on a namespace's inode. */
static __always_inline bool lk_netns_ok(unsigned int inum)
{
	return !lk_filter.netns || inum == lk_filter.netns;
}

static __always_inline bool lk_netns_wanted(const struct sock *sk)
{
	/* The namespace is read only when --netns was given. */
	return !lk_filter.netns || lk_netns_ok(lk_sk_netns(sk));
}

/*
 * @v & @mask (mask = 2^n - 1), computed where the verifier sees it: the
 * compiler drops a mask it can prove a no-op, and older verifiers (6.1,
 * 6.12) cannot always follow the proof, so an index the code keeps in
 * range looks out of range to them.
 */
static __always_inline __u32 lk_bound(__u32 v, __u32 mask)
{
	asm volatile("" : "+r"(v));
	return v & mask;
}

/*
 * @i, or @n - 1 when @i is not below @n: an index into an array of @n
 * (a histogram's last bucket holds the rest).  The test is made in the
 * very register that then indexes: with a plain check clang may test a
 * zero-extended copy instead, which older verifiers (6.1) do not tie to
 * the index, and the access then looks unbounded to them.
 */
static __always_inline __u64 lk_index(__u64 i, __u64 n)
{
	__u64 last = n - 1;

	asm volatile("if %[i] < %[n] goto +1\n\t%[i] = %[last]"
		     : [i] "+r"(i)
		     : [n] "r"(n), [last] "r"(last));
	return i;
}

/*
 * Raise *@v to @x, for a maximum that programs on other CPUs, or one
 * that interrupts this one, may raise too: a compare-and-swap, tried
 * again (a few times) when another update came between the read and it.
 */
#define LK_CAS_TRIES	4

static __always_inline void lk_raise_max(__u64 *v, __u64 x)
{
	__u64 old;
	int i;

	for (i = 0; i < LK_CAS_TRIES; i++) {
		old = *v;
		if (x <= old || __sync_val_compare_and_swap(v, old, x) == old)
			return;
	}
}

/* The same for a minimum, where 0 means none yet. */
static __always_inline void lk_lower_min(__u64 *v, __u64 x)
{
	__u64 old;
	int i;

	for (i = 0; i < LK_CAS_TRIES; i++) {
		old = *v;
		if ((old && x >= old) || __sync_val_compare_and_swap(v, old, x) == old)
			return;
	}
}

/* Look up @key, inserting @init first if absent (as in libbpf-tools). */
static __always_inline void *lk_lookup_or_init(void *map, const void *key,
					       const void *init)
{
	void *val;
	long err;

	val = bpf_map_lookup_elem(map, key);
	if (val)
		return val;
	err = bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST */)
		return 0;
	return bpf_map_lookup_elem(map, key);
}

/*
 * Hand an --events record to userspace without waking the reader: a
 * wakeup is an interrupt, and it may preempt the very task being traced
 * (a ping-pong client read 13 us slower between its recv() and its
 * clock).  The reader polls at least every 200 ms (lk_run); it is woken
 * only once a quarter of the ring is full, so a burst cannot fill it.
 */
static __always_inline __u64 lk_ringbuf_flags(void *rb)
{
	if (bpf_ringbuf_query(rb, BPF_RB_AVAIL_DATA) >= bpf_ringbuf_query(rb, BPF_RB_RING_SIZE) / 4)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

static __always_inline void lk_ringbuf_submit(void *rb, void *rec)
{
	bpf_ringbuf_submit(rec, lk_ringbuf_flags(rb));
}

#endif
