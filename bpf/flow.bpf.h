/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_FLOW_BPF_H
#define LK_FLOW_BPF_H

/*
 * The flow model's BPF half: a socket's ends into a struct lk_flow
 * (flow.h) and the flow filters of lk_filter on it.  Include after
 * vmlinux.h and the libbpf BPF headers.
 */
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "common.bpf.h"
#include "flow.h"

#define LK_AF_INET	2
#define LK_AF_INET6	10
#define LK_EEXIST	17

/*
 * A field of a sock_common: a plain load where the program has a typed
 * pointer (tp_btf, fentry: cheaper than a helper call), else a CO-RE
 * probe read.  @typed is a constant the compiler or the verifier knows,
 * so only one side is ever run.
 */
#define LK_SKC(typed, skc, field) \
	((typed) ? (skc)->field : BPF_CORE_READ(skc, field))

#define LK_SKC_ADDR6(typed, dst, skc, field)					\
	do {									\
		if (typed) {							\
			(dst)[0] = (skc)->field.in6_u.u6_addr32[0];		\
			(dst)[1] = (skc)->field.in6_u.u6_addr32[1];		\
			(dst)[2] = (skc)->field.in6_u.u6_addr32[2];		\
			(dst)[3] = (skc)->field.in6_u.u6_addr32[3];		\
		} else {							\
			BPF_CORE_READ_INTO(&(dst), skc, field.in6_u.u6_addr32);	\
		}								\
	} while (0)

static __always_inline bool lk_v4mapped(const __u32 *a)
{
	return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0xffff);
}

/*
 * @f from a socket's common part (full sockets and request socks alike);
 * false if it is neither IPv4 nor IPv6.  An IPv6 socket whose peer is
 * IPv4-mapped is IPv4 (see flow.h).  @f's padding is the caller's.
 */
static __always_inline bool lk_flow_from_skc(const struct sock_common *skc,
					     struct lk_flow *f, bool typed)
{
	__u16 family = LK_SKC(typed, skc, skc_family);

	f->lport = LK_SKC(typed, skc, skc_num);
	f->rport = bpf_ntohs(LK_SKC(typed, skc, skc_dport));
	if (family == LK_AF_INET6) {
		LK_SKC_ADDR6(typed, f->raddr, skc, skc_v6_daddr);
		if (!lk_v4mapped(f->raddr)) {
			LK_SKC_ADDR6(typed, f->laddr, skc, skc_v6_rcv_saddr);
			f->family = 6;
			return true;
		}
	} else if (family != LK_AF_INET) {
		return false;
	}
	f->family = 4;
	f->laddr[0] = LK_SKC(typed, skc, skc_rcv_saddr);
	f->raddr[0] = LK_SKC(typed, skc, skc_daddr);
	f->laddr[1] = f->laddr[2] = f->laddr[3] = 0;
	f->raddr[1] = f->raddr[2] = f->raddr[3] = 0;
	return true;
}

/*
 * @f from a full socket.  One that reached TCP_CLOSE has given its port
 * back (skc_num is 0) before the state-change tracepoint; inet_sport
 * still has it.
 */
static __always_inline bool lk_flow_from_sk(const struct sock *sk, struct lk_flow *f,
					    bool typed)
{
	if (!lk_flow_from_skc(&sk->__sk_common, f, typed))
		return false;
	if (!f->lport)
		f->lport = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
	return true;
}

/* Is any flow filter set?  A constant once loaded. */
static __always_inline bool lk_flow_filtered(void)
{
	return lk_filter.family || lk_filter.lport || lk_filter.rport ||
	       lk_filter.laddr_family || lk_filter.raddr_family;
}

/* --lport, --rport: checkable as soon as a packet's ports are known. */
static __always_inline bool lk_ports_wanted(__u16 lport, __u16 rport)
{
	if (lk_filter.lport && lport != lk_filter.lport)
		return false;
	return !lk_filter.rport || rport == lk_filter.rport;
}

static __always_inline bool lk_addr_eq(const __u32 *a, const volatile __u32 *b, __u8 family)
{
	if (family == 4)
		return a[0] == b[0];
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

/* -4, -6, --laddr, --raddr. */
static __always_inline bool lk_addrs_wanted(__u8 family, const __u32 *laddr,
					    const __u32 *raddr)
{
	if (lk_filter.family && family != lk_filter.family)
		return false;
	if (lk_filter.laddr_family && (family != lk_filter.laddr_family ||
				       !lk_addr_eq(laddr, lk_filter.laddr, family)))
		return false;
	if (lk_filter.raddr_family && (family != lk_filter.raddr_family ||
				       !lk_addr_eq(raddr, lk_filter.raddr, family)))
		return false;
	return true;
}

/* Every flow filter on @f (--netns is the caller's: lk_netns_wanted()). */
static __always_inline bool lk_flow_wanted(const struct lk_flow *f)
{
	return lk_ports_wanted(f->lport, f->rport) &&
	       lk_addrs_wanted(f->family, f->laddr, f->raddr);
}

/*
 * --netns and the flow filters on a socket; its ends are read only when
 * a flow filter is set.
 */
static __always_inline bool lk_sk_wanted(const struct sock *sk, bool typed)
{
	struct lk_flow f = {};

	if (!lk_netns_wanted(sk))
		return false;
	if (!lk_flow_filtered())
		return true;
	return lk_flow_from_sk(sk, &f, typed) && lk_flow_wanted(&f);
}

/*
 * Owners (struct lk_owner): the process that connect()s or listen()s on
 * a socket, set in its task; what a listener accepts has the listener's.
 */

/* Does @o pass -p, -c and --cgroup?  An unknown owner (NULL) does not. */
static __always_inline bool lk_owner_wanted(const struct lk_owner *o)
{
	if (!lk_owner_filtered())
		return true;
	if (!o || (lk_filter.tgid && o->tgid != lk_filter.tgid))
		return false;
	if (lk_filter.cgroup_id && o->cgroup_id != lk_filter.cgroup_id)
		return false;
	return !lk_filter.comm[0] || lk_comm_matches(o->comm);
}

/* The current task as an owner. */
static __always_inline void lk_owner_current(struct lk_owner *o)
{
	o->tgid = bpf_get_current_pid_tgid() >> 32;
	o->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(o->comm, sizeof(o->comm));
}

/* @task (an iterator's, whose current task is the reader) as an owner. */
static __always_inline void lk_owner_task(struct task_struct *task, struct lk_owner *o)
{
	o->tgid = BPF_CORE_READ(task, tgid);
	o->cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
	BPF_CORE_READ_STR_INTO(&o->comm, task, comm);
}

/*
 * Listeners opened before a tool started, found once at its start in two
 * walks (common/iter.c): an iter/task_file program takes, from each open
 * file, the listening TCP socket it is, with the file's task as its
 * owner (lk_file_listener(), by address: the pointer it gets is not one
 * socket storage takes); then an iter/tcp program, in each namespace
 * watched, gets each listener's typed pointer (lk_iter_listener()) and
 * looks its address up among those found.
 */
static __always_inline __u64 lk_file_listener(const struct bpf_iter__task_file *ctx,
					      struct lk_owner *o)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct socket *sock;
	struct sock *sk;
	__u16 family;

	if (!task || !file)
		return 0;
	sock = bpf_sock_from_file(file);
	if (!sock)
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_LISTEN ||
	    BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != LK_AF_INET && family != LK_AF_INET6)
		return 0;
	lk_owner_task(task, o);
	return (__u64)sk;
}

static __always_inline struct tcp_sock *lk_iter_listener(const struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;

	if (!skc || skc->skc_state != TCP_LISTEN)
		return NULL;
	return bpf_skc_to_tcp_sock(skc);
}

/*
 * The iter/task_file walk: a listener of an owner the filters select
 * into @seeds (a hash by address of struct lk_owner: the first such
 * process in process ID order keeps it), *@lost counting those it had
 * no room for.
 */
static __always_inline void lk_find_listener(const struct bpf_iter__task_file *ctx, void *seeds,
					     __u64 *lost)
{
	struct lk_owner o = {};
	__u64 key = lk_file_listener(ctx, &o);
	long err;

	if (!key || !lk_owner_wanted(&o))
		return;
	err = bpf_map_update_elem(seeds, &key, &o, BPF_NOEXIST);
	if (err && err != -LK_EEXIST)
		(*lost)++;
}

/*
 * The iter/tcp walk: the listener to give storage to, with *@o its owner
 * found in @seeds (NULL if none), or NULL: not a listener, or an unknown
 * owner under an owner filter.
 */
static __always_inline struct tcp_sock *lk_seed_listener(const struct bpf_iter__tcp *ctx,
							 void *seeds, struct lk_owner **o)
{
	struct tcp_sock *tp = lk_iter_listener(ctx);
	__u64 key = (__u64)tp;

	*o = NULL;
	if (!tp)
		return NULL;
	*o = bpf_map_lookup_elem(seeds, &key);
	if (!*o && lk_owner_filtered())
		return NULL;
	return tp;
}

#endif
