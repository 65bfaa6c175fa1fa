// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * tcpconnlat: TCP connection latency from tracepoints only.
 *
 * Active open: connect()'s CLOSE -> SYN_SENT (in the caller's task) to
 * SYN_SENT -> ESTABLISHED (the SYN-ACK processed, in softirq), or to
 * SYN_SENT -> CLOSE with the socket's sk_err as the cause.
 *
 * Passive open: no tracepoint fires for a request sock, so the clock
 * starts at the request's first SYN-ACK transmission, which the kernel
 * stamps itself (tcp_request_sock.snt_synack, us, CLOCK_MONOTONIC), in
 * the softirq that received the SYN.  It ends when the handshake's final
 * ACK is processed: with no SYN-ACK retransmitted the kernel's own
 * sample of that span becomes the child's first RTT (tcp_check_req:
 * tcp_synack_rtt_meas), read at its SYN_RECV -> ESTABLISHED; after a
 * retransmission tcp:tcp_retransmit_synack gave us the request and its
 * snt_synack, and the span ends at that ESTABLISHED.
 *
 * The kernel now and then runs none of the programs at a handshake's
 * end, in softirq and without counting a miss.  A connect is still
 * known when its connection leaves ESTABLISHED; an accepted socket
 * still carries what the kernel copied from its listener's storage
 * (sk_listener): both are counted then, as opens whose latency is
 * unknown.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "flow.bpf.h"
#include "listeners.bpf.h"
#include "twin.bpf.h"
#include "tcpconnlat.h"

#define ECONNRESET	104
#define ETIMEDOUT	110
#define ECONNREFUSED	111

const volatile bool per_flow;
const volatile bool per_proc;
const volatile bool emit_events;
/*
 * Every hook has typed socket pointers (tp_btf): connects and
 * listeners' owners in socket storage, else in the socks and listeners
 * tables.
 */
const volatile bool sk_storage;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cl_totals);
} totals SEC(".maps");

/*
 * Connects in progress: in socket storage with sk_storage (freed with
 * the socket; every state change of a socket that has none costs a
 * pointer test, not a hash lookup), else by socket address in an LRU.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct cl_sock);
} sk_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CL_MAX_SOCKS);
	__type(key, __u64);
	__type(value, struct cl_sock);
} socks SEC(".maps");

/* Requests whose SYN-ACK was retransmitted. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CL_MAX_REQS);
	__type(key, struct cl_flow);
	__type(value, struct cl_req);
} reqs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CL_MAX_LISTENERS);
	__type(key, struct cl_port);
	__type(value, struct lk_owner);
} listeners SEC(".maps");

/*
 * A listener's owner, in the listener's storage, which the kernel copies
 * to every socket accepted from it (BPF_F_CLONE, in sk_clone_lock(): no
 * program has to run).  An accepted socket's copy is removed at the end
 * of its handshake: one that still has it when it leaves ESTABLISHED is
 * an open whose end the programs did not see.  Listeners of wanted
 * owners only, while the tool runs.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct lk_owner);
} sk_listener SEC(".maps");

/* Tests: the passive ends LK_TEST_SKIP_RUNS drops, counted apart. */
__u64 cl_test_passive_runs;


/* Rows of the current generation; each report reads and deletes its own. */
volatile __u32 gen = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CL_MAX_ROWS);
	__type(key, struct cl_key);
	__type(value, struct cl_stats);
} rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CL_MAX_HIST);
	__type(key, struct cl_hkey);
	__type(value, __u64);
} hist SEC(".maps");

/* Never written: a new row's first value, kept off the stack. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cl_stats);
} zero_row SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

static __always_inline void add(unsigned long long *p, __u64 n)
{
	__sync_fetch_and_add(p, n);
}

static __always_inline struct cl_totals *totals_cpu(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&totals, &zero);
}

static __always_inline struct cl_sock *conn_get(const struct sock *sk)
{
	__u64 skaddr = (__u64)sk;

	if (sk_storage)
		return bpf_sk_storage_get(&sk_conns, (struct sock *)sk, 0, 0);
	return bpf_map_lookup_elem(&socks, &skaddr);
}

/* A connect starts: @n replaces what an earlier connect of @sk left. */
static __always_inline bool conn_add(const struct sock *sk, const struct cl_sock *n)
{
	__u64 skaddr = (__u64)sk;
	struct cl_sock *s;

	if (!sk_storage)
		return !bpf_map_update_elem(&socks, &skaddr, n, BPF_ANY);
	s = bpf_sk_storage_get(&sk_conns, (struct sock *)sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (s)
		*s = *n;
	return s;
}

static __always_inline void conn_del(const struct sock *sk)
{
	__u64 skaddr = (__u64)sk;

	if (sk_storage)
		bpf_sk_storage_delete(&sk_conns, (struct sock *)sk);
	else
		bpf_map_delete_elem(&socks, &skaddr);
}

/*
 * A handshake's flow: its ends (the flow model, flow.bpf.h) and netns.
 * Request socks start with a sock_common too: @full says whether @skc is
 * a full socket.
 */
static __always_inline bool flow_of(const struct sock_common *skc, struct cl_flow *f,
				    bool full, bool typed)
{
	f->netns = BPF_CORE_READ(skc, skc_net.net, ns.inum);
	if (full)
		return lk_flow_from_sk((const struct sock *)skc, &f->ends, typed);
	return lk_flow_from_skc(skc, &f->ends, typed);
}

/* A listener's (netns, port), for the owner of what it accepts. */
static __always_inline bool port_of(const struct sock *sk, struct cl_port *p, bool typed)
{
	struct lk_flow f = {};

	p->netns = lk_sk_netns(sk);
	if (!lk_flow_from_sk(sk, &f, typed))
		return false;
	p->lport = f.lport;
	return true;
}

static __always_inline int cause_of(const struct sock *sk)
{
	switch (BPF_CORE_READ(sk, sk_err)) {
	case ECONNREFUSED:
		return CL_REFUSED;
	case ETIMEDOUT:
		return CL_TIMEOUT;
	case ECONNRESET:
		return CL_RESET;
	}
	return CL_OTHER;
}

#define CL_OPEN_MEASURED	-1
#define CL_OPEN_UNMEASURED	-2

/*
 * @how: CL_OPEN_MEASURED, CL_OPEN_UNMEASURED or the cause of a failure.
 * A function of its own: inlined three times its keys took too much
 * stack; its own stack stays small (the 6.1 verifier adds the caller's
 * and the callee's against the 512-byte limit).
 */
static __noinline void add_row(const struct cl_key *k, __u64 lat, int how, __u32 rtx,
			       struct cl_totals *t)
{
	struct cl_hkey hk = {};
	__u64 none = 0, *n;
	struct cl_stats *s;
	__u32 zero = 0;
	void *init;

	init = bpf_map_lookup_elem(&zero_row, &zero);
	s = init ? lk_lookup_or_init(&rows, k, init) : 0;
	if (!s) {
		add(&t->row_drops, 1);
		return;
	}
	add(&s->retrans, rtx);
	if (how >= 0 && how < CL_NCAUSES) {
		add(&s->fail[how], 1);
		return;
	}
	add(&s->opens, 1);
	if (how != CL_OPEN_MEASURED)
		return;
	add(&s->measured, 1);
	add(&s->sum_ns, lat);
	lk_raise_max(&s->max_ns, lat);
	lk_lower_min(&s->min_ns, lat);
	hk.row = *k;
	hk.bucket = lh_index(lat, LH_SUB_BITS, LH_BUCKETS);
	n = lk_lookup_or_init(&hist, &hk, &none);
	if (n)
		add(n, 1);
	else
		add(&t->row_drops, 1);
}

/* One handshake's end: its rows, and an event with --events. */
static __always_inline void finish(int dir, const struct cl_flow *f, const struct lk_owner *o,
				   __u64 lat, bool measured, int cause, __u32 rtx,
				   struct cl_totals *t)
{
	struct cl_key k = { .what = CL_TOTAL, .dir = dir, .gen = gen };
	int how = cause >= 0 ? cause : measured ? CL_OPEN_MEASURED : CL_OPEN_UNMEASURED;
	struct cl_event *e;

	if (how == CL_OPEN_UNMEASURED)
		add(&t->unmeasured, 1);
	add_row(&k, lat, how, rtx, t);
	if (per_flow) {
		k.what = CL_FLOW;
		k.netns = f->netns;
		k.ep.family = f->ends.family;
		__builtin_memcpy(k.ep.raddr, f->ends.raddr, sizeof(k.ep.raddr));
		if (dir == CL_ACTIVE)
			k.ep.rport = f->ends.rport;
		else
			k.ep.lport = f->ends.lport;
		add_row(&k, lat, how, rtx, t);
	}
	if (per_proc) {
		struct cl_key p = { .what = CL_PROC, .dir = dir, .gen = k.gen };

		if (o) {
			p.tgid = o->tgid;
			__builtin_memcpy(p.comm, o->comm, sizeof(p.comm));
		}
		add_row(&p, lat, how, rtx, t);
	}
	if (!emit_events)
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		add(&t->event_drops, 1);
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->lat_ns = measured ? lat : 0;
	e->flow = f->ends;
	if (o)
		e->owner = *o;
	else
		__builtin_memset(&e->owner, 0, sizeof(e->owner));
	e->retrans = rtx;
	e->dir = dir;
	e->failed = cause >= 0 ? cause + 1 : 0;
	lk_ringbuf_submit(&events, e);
}

/* SYN retransmissions as tcp_sock.total_retrans counts them (with TCPSynRetrans). */
static __always_inline __u32 syn_rtx(const struct sock *sk, struct cl_sock *s, struct cl_totals *t)
{
	__u32 total = BPF_CORE_READ((const struct tcp_sock *)sk, total_retrans);

	if (total > s->rtx)
		add(&t->syn_retrans, total - s->rtx);
	s->rtx = total;
	return total;
}

/*
 * A connect's end.  @measured: from its SYN_SENT state change; false for
 * an open found later (see on_state()), whose latency is unknown.
 */
static __always_inline int active_done(const struct sock *sk, struct cl_sock *s, int newstate,
				       bool measured, struct cl_totals *t, bool typed)
{
	struct cl_flow f = {};
	__u32 rtx;

	if (flow_of(&sk->__sk_common, &f, true, typed) && lk_flow_wanted(&f.ends)) {
		/* Found late, total_retrans holds data retransmissions too:
		 * only the SYNs the retransmission program saw. */
		rtx = measured ? syn_rtx(sk, s, t) : s->rtx;
		finish(CL_ACTIVE, &f, &s->owner, measured ? bpf_ktime_get_ns() - s->start_ns : 0,
		       measured, newstate == TCP_ESTABLISHED ? -1 : cause_of(sk), rtx, t);
	}
	conn_del(sk);
	return 0;
}

/*
 * An accept's end.  @late: found when the connection left ESTABLISHED
 * (see on_state()), its latency unknown, and total_retrans holds the
 * data it resent too: it is all SYN-ACKs only while bytes_retrans is 0
 * (a data retransmission adds its length; no FIN has gone out yet),
 * else only the SYN-ACKs the retransmission program saw are known.
 */
static __always_inline int passive_done(const struct sock *sk, int newstate, bool late,
					struct cl_totals *t, bool typed)
{
	const struct tcp_sock *tp = (const void *)sk;
	struct lk_owner own, *o = 0;
	struct cl_flow f = {};
	struct cl_port p = {};
	__u64 now = bpf_ktime_get_ns(), lat = 0;
	struct cl_req *r;
	__u32 rtx, seen, srtt;
	bool measured = false;

	if (sk_storage) {
		o = bpf_sk_storage_get(&sk_listener, (struct sock *)sk, 0, 0);
		if (o && !late) {
			own = *o;
			o = &own;
			bpf_sk_storage_delete(&sk_listener, (struct sock *)sk);
		}
		if (!lk_owner_wanted(o))
			return 0;
	}
	if (!flow_of(&sk->__sk_common, &f, true, typed) || !lk_flow_wanted(&f.ends))
		return 0;
	if (!sk_storage) {
		p.netns = f.netns;
		p.lport = f.ends.lport;
		o = bpf_map_lookup_elem(&listeners, &p);
		if (!lk_owner_wanted(o))
			return 0;
	}
	/* Not an open: the other child's, and its request's, are. */
	if (!late && lk_dup_child(sk, TCP_SYN_RECV, newstate)) {
		add(&t->dup_children, 1);
		return 0;
	}
	/*
	 * A child starts with its request's num_retrans: the SYN-ACKs it
	 * resent, including any whose tracepoint run the kernel skipped.
	 */
	rtx = BPF_CORE_READ(tp, total_retrans);
	r = bpf_map_lookup_elem(&reqs, &f);
	seen = r ? r->seen : 0;
	if (late && BPF_CORE_READ(tp, bytes_retrans))
		rtx = seen;
	if (rtx > seen)
		add(&t->synack_retrans, rtx - seen);
	if (r) {
		lat = now - r->snt_us * 1000;
		measured = !late && r->snt_us && r->snt_us * 1000 < now;
		bpf_map_delete_elem(&reqs, &f);
	} else if (!rtx && !late) {
		srtt = BPF_CORE_READ(tp, srtt_us);
		lat = (__u64)(srtt >> 3) * 1000;
		measured = srtt != 0;
	}
	finish(CL_PASSIVE, &f, o, lat, measured,
	       late || newstate == TCP_ESTABLISHED ? -1 : cause_of(sk), rtx, t);
	return 0;
}

static __always_inline int on_state(const struct sock *sk, int oldstate, int newstate,
				    bool typed)
{
	struct cl_port p = {};
	struct lk_owner *o;
	struct cl_totals *t;
	struct cl_sock *s;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP || !lk_netns_wanted(sk))
		return 0;
	if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT) {
		struct cl_sock n = { .start_ns = bpf_ktime_get_ns() };

		if (!lk_task_wanted())
			return 0;
		lk_owner_current(&n.owner);
		if (!conn_add(sk, &n) && (t = totals_cpu()))
			add(&t->sock_drops, 1);
		return 0;
	}
	if (newstate == TCP_LISTEN) {
		struct lk_owner n = {};

		lk_owner_current(&n);
		if (sk_storage) {
			/* Another's would only turn its accepts away later. */
			if (!lk_owner_wanted(&n))
				return 0;
			o = bpf_sk_storage_get(&sk_listener, (struct sock *)sk, 0,
					       BPF_SK_STORAGE_GET_F_CREATE);
			if (o)
				*o = n;
			return 0;
		}
		if (port_of(sk, &p, typed))
			bpf_map_update_elem(&listeners, &p, &n, BPF_ANY);
		return 0;
	}
	if (oldstate == TCP_LISTEN && newstate == TCP_CLOSE && !sk_storage) {
		if (!port_of(sk, &p, typed))
			return 0;
		o = bpf_map_lookup_elem(&listeners, &p);
		if (o && o->tgid == bpf_get_current_pid_tgid() >> 32)
			bpf_map_delete_elem(&listeners, &p);
		return 0;
	}
	/*
	 * A connect whose SYN_SENT -> ESTABLISHED run the kernel skipped is
	 * still known (conn_get()) when its connection leaves ESTABLISHED, an accept
	 * whose SYN_RECV -> ESTABLISHED run it skipped still marked: an
	 * open, its latency unknown (unmeasured).
	 */
	if (oldstate == TCP_ESTABLISHED) {
		s = conn_get(sk);
		if (s && (t = totals_cpu()))
			return active_done(sk, s, TCP_ESTABLISHED, false, t, typed);
		if (sk_storage && bpf_sk_storage_get(&sk_listener, (struct sock *)sk, 0, 0) &&
		    (t = totals_cpu()))
			return passive_done(sk, TCP_ESTABLISHED, true, t, typed);
		return 0;
	}
	if (oldstate != TCP_SYN_SENT && oldstate != TCP_SYN_RECV)
		return 0;
	if (newstate != TCP_ESTABLISHED && newstate != TCP_CLOSE)
		return 0;
	t = totals_cpu();
	if (!t)
		return 0;
	/* Simultaneous open goes SYN_SENT -> SYN_RECV -> ESTABLISHED: still active. */
	s = conn_get(sk);
	if (s) {
		/* Tests: as if the kernel skipped this run (LK_TEST_SKIP_RUNS). */
		if (newstate == TCP_ESTABLISHED && lk_test_skip())
			return 0;
		return active_done(sk, s, newstate, true, t, typed);
	}
	if (oldstate != TCP_SYN_RECV)
		return 0;
	/* Tests: as if the kernel skipped this run (LK_TEST_SKIP_RUNS). */
	if (newstate == TCP_ESTABLISHED && lk_test_nth(lk_test_skip_every, &cl_test_passive_runs))
		return 0;
	return passive_done(sk, newstate, false, t, typed);
}

static __always_inline int on_retrans(const struct sock *sk, bool typed)
{
	struct cl_totals *t;
	struct cl_sock *s;

	if (BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_SYN_SENT)
		return 0;
	s = conn_get(sk);
	t = totals_cpu();
	if (s && t && lk_sk_wanted(sk, typed))
		syn_rtx(sk, s, t);
	return 0;
}

static __always_inline int on_synack(const struct sock *sk, const struct request_sock *req,
				     bool typed)
{
	struct cl_flow f = {};
	struct cl_port p = {};
	struct cl_req n = {}, *r;
	struct cl_totals *t;

	if (lk_test_skip())
		return 0;
	if (!lk_netns_wanted(sk))
		return 0;
	/* The request's local port is its listener's. */
	if (!flow_of(&req->__req_common, &f, false, typed) || !lk_flow_wanted(&f.ends))
		return 0;
	/*
	 * @sk: the listener (a Fast Open child: the socket it accepted).  A
	 * listener opened before the tool has no storage: one made here (its
	 * owner unknown) reaches what it accepts from now on, this request's
	 * socket included, which is cloned when its handshake ends.  Under an
	 * owner filter such a listener's accepts are not wanted: none is made.
	 */
	if (sk_storage) {
		if (!lk_owner_wanted(bpf_sk_storage_get(&sk_listener, (struct sock *)sk, 0,
							lk_owner_filtered() ? 0 :
							BPF_SK_STORAGE_GET_F_CREATE)))
			return 0;
	} else {
		p.netns = f.netns;
		p.lport = f.ends.lport;
		if (!lk_owner_wanted(bpf_map_lookup_elem(&listeners, &p)))
			return 0;
	}
	t = totals_cpu();
	if (t)
		add(&t->synack_retrans, 1);
	r = bpf_map_lookup_elem(&reqs, &f);
	if (r) {
		__sync_fetch_and_add(&r->seen, 1);
		return 0;
	}
	n.snt_us = BPF_CORE_READ((const struct tcp_request_sock *)req, snt_synack);
	n.seen = 1;
	/* Another CPU may have made it meanwhile (a timer and a duplicate SYN). */
	if (bpf_map_update_elem(&reqs, &f, &n, BPF_NOEXIST)) {
		r = bpf_map_lookup_elem(&reqs, &f);
		if (r)
			__sync_fetch_and_add(&r->seen, 1);
	}
	return 0;
}

/* With twins (twin.bpf.h): a state change is never skipped alone. */
static __always_inline int state_first(const struct sock *sk, int oldstate, int newstate,
				       bool typed)
{
	__u32 *busy = lk_twin_enter();

	on_state(sk, oldstate, newstate, typed);
	lk_twin_leave(busy);
	return 0;
}

static __always_inline int state_twin(const struct sock *sk, int oldstate, int newstate,
				      bool typed)
{
	return lk_twin_wanted() ? on_state(sk, oldstate, newstate, typed) : 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(state_btf, const struct sock *sk, int oldstate, int newstate)
{
	return state_first(sk, oldstate, newstate, true);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(state_btf_twin, const struct sock *sk, int oldstate, int newstate)
{
	return state_twin(sk, oldstate, newstate, true);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(state_raw, const struct sock *sk, int oldstate, int newstate)
{
	return state_first(sk, oldstate, newstate, false);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(state_raw_twin, const struct sock *sk, int oldstate, int newstate)
{
	return state_twin(sk, oldstate, newstate, false);
}

/* Only the socket: the err argument (6.18) is not needed. */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(retrans_btf, const struct sock *sk)
{
	return on_retrans(sk, true);
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(retrans_raw, const struct sock *sk)
{
	return on_retrans(sk, false);
}

SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(synack_btf, const struct sock *sk, const struct request_sock *req)
{
	return on_synack(sk, req, true);
}

SEC("raw_tp/tcp_retransmit_synack")
int BPF_PROG(synack_raw, const struct sock *sk, const struct request_sock *req)
{
	return on_synack(sk, req, false);
}

/*
 * Run once at the start (socket storage only; flow.bpf.h): the owners of
 * the listeners open then, from the processes' files (the first, in
 * process ID order, that holds one and passes the owner filters), then
 * in each namespace watched a listener opened before the
 * tool gets its storage, with its owner where found, so that what it
 * accepts carries the kernel's copy and is found when it closes even if
 * no program runs at its handshake's end.  Under an owner filter only
 * the listeners of the owners it selects (as in on_synack()).
 */
SEC("iter/tcp")
int seed_listeners(struct bpf_iter__tcp *ctx)
{
	struct lk_owner *o, *lo;
	struct tcp_sock *tp = lk_seed_listener(ctx, &lk_seeds, &o);

	if (!tp)
		return 0;
	lo = bpf_sk_storage_get(&sk_listener, tp, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!lo)
		return 0;
	if (o && !lo->tgid) {
		*lo = *o;
		lk_listeners_owned++;
	}
	lk_listeners_seeded++;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
