// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * tcpretrans_cnt: TCP retransmissions in segments, exactly as the kernel
 * adds them to Tcp: RetransSegs, by kind and by flow.
 *
 * __tcp_retransmit_skb() adds tcp_skb_pcount(skb) to RetransSegs (and to
 * tp->total_retrans) after its early returns and before the transmit;
 * since 6.18's tracepoint fires at its end with the error, whatever the
 * outcome.  A negative error is either an early return (not counted) or
 * a failed transmit (counted): the growth of tp->total_retrans since the
 * flow's previous event tells which.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "flow.bpf.h"
#include "listeners.bpf.h"
#include "twin.bpf.h"
#include "tcpretrans_cnt.h"

#define EAGAIN		11
#define ENOMEM		12
#define EBUSY		16
#define EEXIST		17
#define EINVAL		22
#define EHOSTUNREACH	113
/* include/net/inet_connection_sock.h and include/net/tcp.h */
#define ICSK_TIME_LOSS_PROBE	5
#define TCPCB_EVER_RETRANS	0x80

/* Set by userspace before load. */
const volatile bool emit_events;
/* tcp_retransmit_skb has the err argument (6.18). */
const volatile bool has_err_arg;
/* Offset of "err" in the classic tracepoint's record; 0: none. */
const volatile unsigned int tp_err_off;
/* Every hook gets typed socket pointers (tp_btf): owners in sk_owners. */
const volatile bool typed_sk;

/*
 * Tests only (LK_TEST_SKIP_HANDSHAKES=N, lk_test_skip_handshakes()): 1 in
 * N of the runs a handshake makes (SYN and SYN-ACK retransmissions,
 * LISTEN -> SYN_RECV, the end of SYN_SENT and of SYN_RECV) is dropped,
 * as when the kernel runs none of the programs for a whole handshake.
 */
const volatile __u32 rt_test_skip_hs_every;
__u64 rt_test_hs_runs;

static __always_inline bool test_skip_handshake(void)
{
	return lk_test_nth(rt_test_skip_hs_every, &rt_test_hs_runs);
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rt_totals);
} totals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, RT_MAX_FLOWS);
	__type(key, struct rt_flow_key);
	__type(value, struct rt_flow);
} flows SEC(".maps");

/*
 * Per socket (struct rt_sock): its owner, set once: by connect() or
 * listen(), which run in the owner's task, else by close(); and what was
 * counted of its total_retrans.  In socket storage where every hook has
 * typed socket pointers: freed with the socket, and copied from a
 * listener to each socket accepted from it (BPF_F_CLONE).
 */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct rt_sock);
} sk_owners SEC(".maps");

/*
 * Otherwise keyed by the socket's address, removed when the socket
 * closes; an accepted socket takes the owner of its listener's port.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, RT_MAX_OWNERS);
	__type(key, __u64);
	__type(value, struct rt_sock);
} owners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RT_MAX_LISTENERS);
	__type(key, struct rt_port_key);
	__type(value, struct lk_owner);
} listeners SEC(".maps");


struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} closed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

/* Flows created since load, minus flows closed: an insert beyond the
 * table's size makes the LRU evict a live flow. */
__u64 live_flows;

/*
 * Per-CPU, yet atomic: a retransmission in process context (backlog run
 * by release_sock) can be interrupted on its CPU by one in softirq, and
 * tracing programs may nest across those contexts.
 */
static __always_inline void add(unsigned long long *p, __u64 n)
{
	__sync_fetch_and_add(p, n);
}

static __always_inline struct rt_totals *totals_cpu(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&totals, &zero);
}

/*
 * Request socks start with a sock_common too: @full says whether @skc is
 * a full socket.
 */
static __always_inline bool flow_key(const struct sock_common *skc, struct rt_flow_key *k,
				     bool full)
{
	k->netns = BPF_CORE_READ(skc, skc_net.net, ns.inum);
	if (full)
		return lk_flow_from_sk((const struct sock *)skc, &k->ends, typed_sk);
	return lk_flow_from_skc(skc, &k->ends, typed_sk);
}

static __always_inline bool key_wanted(const struct rt_flow_key *k)
{
	return lk_netns_ok(k->netns) && lk_flow_wanted(&k->ends);
}

static __always_inline struct rt_sock *sock_get(const struct sock *sk)
{
	__u64 skaddr = (__u64)sk;

	if (typed_sk)
		return bpf_sk_storage_get(&sk_owners, (struct sock *)sk, 0, 0);
	return bpf_map_lookup_elem(&owners, &skaddr);
}

/* sock_get(), created (zeroed) if the socket has none. */
static __always_inline struct rt_sock *sock_make(const struct sock *sk)
{
	struct rt_sock init = {};
	__u64 skaddr = (__u64)sk;
	struct rt_sock *s;

	if (typed_sk)
		return bpf_sk_storage_get(&sk_owners, (struct sock *)sk, 0,
					  BPF_SK_STORAGE_GET_F_CREATE);
	s = bpf_map_lookup_elem(&owners, &skaddr);
	if (s)
		return s;
	bpf_map_update_elem(&owners, &skaddr, &init, BPF_NOEXIST);
	return bpf_map_lookup_elem(&owners, &skaddr);
}

static __always_inline const struct lk_owner *owner_of(const struct rt_sock *s)
{
	return s && s->owner.tgid ? &s->owner : NULL;
}

static __always_inline __u32 total_retrans(const struct sock *sk)
{
	return BPF_CORE_READ((const struct tcp_sock *)sk, total_retrans);
}

/* Bytes of data resent: a SYN or SYN-ACK adds none, a data segment its length. */
static __always_inline __u64 bytes_retrans(const struct sock *sk)
{
	return BPF_CORE_READ((const struct tcp_sock *)sk, bytes_retrans);
}

/*
 * At tcp_destroy_sock: a child never settled, whose shutdown was never
 * set, is a duplicate (lk_dup_child()); the other child counts the
 * request's SYN-ACKs.  Every close of a connection sets sk_shutdown
 * first (close(), tcp_done()); a disconnect (SO_LINGER 0) clears it, but
 * by then the socket settled at its state changes, unless the kernel
 * ran the state program for none of them.
 */
static __always_inline bool dup_child_at_destroy(const struct sock *sk, bool child)
{
	return child && !BPF_CORE_READ_BITFIELD_PROBED(sk, sk_shutdown);
}

static __always_inline void port_key(const struct sock *sk, struct rt_port_key *pk)
{
	pk->netns = lk_sk_netns(sk);
	pk->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
}

/*
 * Kind from the socket's state while it retransmits.  The RTO handler
 * clears icsk_pending before it enters the loss state and resends the
 * head; segments resent later in that state, on ACKs, find the timer
 * armed again.  A tail-loss probe runs from its timer, still pending.
 */
static __always_inline int kind_of(const struct sock *sk)
{
	const struct inet_connection_sock *icsk = (const void *)sk;
	__u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);
	__u8 pending = BPF_CORE_READ(icsk, icsk_pending);
	__u8 ca = BPF_CORE_READ_BITFIELD_PROBED(icsk, icsk_ca_state);

	if (state == TCP_SYN_SENT)
		return RT_SYN;
	if (ca == TCP_CA_Loss)
		return pending ? RT_LOSS : RT_TIMEOUT;
	if (ca == TCP_CA_Recovery)
		return RT_FAST;
	if (pending == ICSK_TIME_LOSS_PROBE)
		return RT_TLP;
	return RT_OTHER;
}

static __always_inline struct rt_flow *flow_get(const struct rt_flow_key *k,
						struct rt_totals *t)
{
	struct rt_flow *f, init = {};
	long err;

	f = bpf_map_lookup_elem(&flows, k);
	if (f)
		return f;
	init.first_ns = bpf_ktime_get_ns();
	err = bpf_map_update_elem(&flows, k, &init, BPF_NOEXIST);
	if (err) {
		if (err != -EEXIST)
			add(&t->flow_drops, 1);
		return bpf_map_lookup_elem(&flows, k);
	}
	if (__sync_fetch_and_add(&live_flows, 1) >= RT_MAX_FLOWS)
		add(&t->flow_drops, 1);
	return bpf_map_lookup_elem(&flows, k);
}

/*
 * No history for this socket: errors the kernel returns before counting
 * (skb still queued, data already acked, no memory to split or unclone,
 * no route, window closed).  An skb never counted cannot carry
 * TCPCB_EVER_RETRANS, which is set only after the counting step.
 */
static __always_inline int guess_verdict(int err, __u8 sacked)
{
	if (!(sacked & TCPCB_EVER_RETRANS))
		return RT_ABANDONED;
	switch (err) {
	case -EBUSY:
	case -EINVAL:
	case -ENOMEM:
	case -EHOSTUNREACH:
	case -EAGAIN:
		return RT_ABANDONED;
	}
	return RT_FAILED;
}

struct rt_call {
	int err;
	__u32 segs;
	__u32 counted;
	__u32 unseen;
	__u32 total;
	int kind;
	int verdict;
};

static __always_inline void emit_event(const struct rt_flow_key *k, const struct lk_owner *o,
				       const struct rt_call *r, const struct sock *sk,
				       struct rt_totals *t)
{
	const struct inet_connection_sock *icsk = (const void *)sk;
	struct rt_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		add(&t->event_drops, 1);
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->key = *k;
	if (o)
		e->owner = *o;
	else
		__builtin_memset(&e->owner, 0, sizeof(e->owner));
	e->err = r->err;
	e->segs = r->segs;
	e->counted = r->counted;
	e->unseen = r->unseen;
	e->total = r->total;
	e->kind = r->kind;
	e->verdict = r->verdict;
	e->state = sk ? BPF_CORE_READ(sk, __sk_common.skc_state) : TCP_SYN_RECV;
	e->ca_state = sk ? BPF_CORE_READ_BITFIELD_PROBED(icsk, icsk_ca_state) : 0;
	lk_ringbuf_submit(&events, e);
}

static __always_inline void account(struct rt_totals *t, struct rt_flow *f, int kind,
				    int verdict, __u32 counted)
{
	struct rt_kind_stats *ks;

	if (kind < 0 || kind >= RT_NKINDS)
		return;
	ks = &t->k[kind];
	add(&ks->events, 1);
	add(&ks->segs, counted);
	if (verdict == RT_ABANDONED)
		add(&ks->abandoned, 1);
	else if (verdict == RT_FAILED)
		add(&ks->failed, counted);
	if (!f)
		return;
	f->segs[kind] += counted;
	f->events++;
	if (verdict == RT_ABANDONED)
		f->abandoned++;
	else if (verdict == RT_FAILED)
		f->failed += counted;
	f->last_ns = bpf_ktime_get_ns();
}

/*
 * Segments tp->total_retrans (hence RetransSegs) grew by that no program
 * run showed, charged to @kind.  Before 6.18 the tracepoint skips failed
 * transmits, so these are failed there (SYN-ACKs excepted: they are
 * traced whenever they are counted).  The kernel also skips tracing
 * programs without counting a miss: on 6.18, a few runs per thousand in
 * softirq while one particular task is current, every tracing program
 * alike, where tracefs sees the event.
 */
static __always_inline void account_unseen(struct rt_totals *t, struct rt_flow *f, __u32 k,
					   __u32 segs)
{
	/* RT_OTHER (the last kind) if out of range. */
	__u64 kind = lk_index(k, RT_NKINDS);
	bool failed;

	failed = !has_err_arg && kind != RT_SYNACK;
	add(&t->unseen, segs);
	add(&t->k[kind].segs, segs);
	if (failed)
		add(&t->k[kind].failed, segs);
	if (f) {
		f->segs[kind] += segs;
		if (failed)
			f->failed += segs;
	}
}

/* @f now belongs to @sk, whose total_retrans is counted up to @total. */
static __always_inline void flow_bind(struct rt_flow *f, const struct sock *sk, __u32 total,
				      const struct lk_owner *o)
{
	f->sk = (__u64)sk;
	f->last_total = total;
	f->has_total = 1;
	if (o)
		f->owner = *o;
}

static __always_inline int retrans_once(const struct sock *sk, const struct sk_buff *skb,
					int err, bool has_err)
{
	const struct tcp_skb_cb *cb = (const void *)skb->cb;
	struct rt_flow_key k = {};
	const struct lk_owner *o;
	struct rt_totals *t;
	struct rt_sock *s;
	struct rt_flow *f;
	__u64 skaddr = (__u64)sk;
	__u32 pcount, total, last, delta, counted, unseen;
	int kind, verdict;
	bool history, known;
	__u8 sacked;

	if (lk_test_skip())
		return 0;
	if (rt_test_skip_hs_every &&
	    BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_SYN_SENT && test_skip_handshake())
		return 0;
	s = sock_get(sk);
	o = owner_of(s);
	if (!lk_owner_wanted(o))
		return 0;
	if (!flow_key((const void *)sk, &k, true) || !key_wanted(&k))
		return 0;
	t = totals_cpu();
	if (!t)
		return 0;
	pcount = BPF_CORE_READ(cb, tcp_gso_segs);
	sacked = BPF_CORE_READ(cb, sacked);
	total = total_retrans(sk);
	kind = kind_of(sk);
	f = flow_get(&k, t);
	/*
	 * What total_retrans was after the socket's last counted call: kept
	 * per socket for one born under the tool, else by its flow.  A
	 * socket reused after tcp_disconnect() starts again from zero.
	 */
	known = s && s->state == RT_SK_KNOWN;
	if (known)
		last = s->accounted;
	else if (f && f->sk == skaddr && f->has_total)
		last = f->last_total;
	else
		last = total + 0x80000000U;
	history = total - last < 0x80000000U;
	delta = history ? total - last : 0;

	if (!has_err) {
		/* Fires only after a good transmit. */
		counted = pcount;
		verdict = RT_COUNTED;
	} else if (err >= 0) {
		counted = pcount;
		verdict = err ? RT_FAILED : RT_COUNTED;
	} else if (err == -EBUSY || err == -EAGAIN) {
		/* Returned only before the counting step (whatever
		 * total_retrans did meanwhile: unseen runs). */
		counted = 0;
		verdict = RT_ABANDONED;
	} else if (history) {
		/* Counted if and only if total_retrans grew by this skb. */
		verdict = pcount && delta >= pcount ? RT_FAILED : RT_ABANDONED;
		counted = verdict == RT_FAILED ? pcount : 0;
	} else {
		add(&t->guessed, 1);
		verdict = guess_verdict(err, sacked);
		counted = verdict == RT_FAILED ? pcount : 0;
	}
	/*
	 * The kernel adds a counted call's segments to total_retrans and to
	 * RetransSegs in one place: a call that would count more than
	 * total_retrans grew by (a run seen twice) counts what it grew by,
	 * and shows the rest as excess.
	 */
	if (history && counted > delta) {
		add(&t->excess, counted - delta);
		counted = delta;
	}
	unseen = history && delta > counted ? delta - counted : 0;
	/* Before the flow's first event, charged to this call's kind. */
	if (unseen)
		account_unseen(t, f, f && f->events ? f->last_kind : kind, unseen);
	account(t, f, kind, verdict, counted);
	if (known)
		s->accounted = total;
	if (f) {
		flow_bind(f, sk, total, o);
		f->last_kind = kind;
	}
	if (emit_events) {
		struct rt_call r = {
			.err = err, .segs = pcount, .counted = counted, .unseen = unseen,
			.total = total, .kind = kind, .verdict = verdict,
		};

		emit_event(&k, o, &r, sk, t);
	}
	return 0;
}

static __always_inline int on_retrans(const struct sock *sk, const struct sk_buff *skb,
				      int err, bool has_err)
{
	/* Tests: this run seen twice (LK_TEST_TWICE_RUNS). */
	if (lk_test_twice())
		retrans_once(sk, skb, err, has_err);
	return retrans_once(sk, skb, err, has_err);
}

/* tcp_rtx_synack(): counted (one segment) and traced only on success. */
static __always_inline int on_synack(const struct sock *sk, const struct request_sock *req)
{
	struct rt_flow_key k = {};
	const struct lk_owner *o;
	struct rt_totals *t;
	struct rt_flow *f;
	__u64 skaddr = (__u64)sk;

	if (lk_test_skip() || test_skip_handshake())
		return 0;
	/*
	 * @sk: the listener.  One opened before the tool gets its storage
	 * here, marked as a parent (owner unknown), so that what it accepts
	 * from now on is a child even when no program runs at its
	 * LISTEN -> SYN_RECV; not under an owner filter, which leaves an
	 * unknown owner out.
	 */
	if (typed_sk && !lk_owner_filtered()) {
		struct rt_sock *ls = sock_get(sk);

		if (!ls && BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_LISTEN) {
			ls = sock_make(sk);
			if (ls)
				ls->state = RT_SK_CHILD;
		}
	}
	o = owner_of(sock_get(sk));
	if (!lk_owner_wanted(o))
		return 0;
	if (!flow_key((const void *)req, &k, false) || !key_wanted(&k))
		return 0;
	t = totals_cpu();
	if (!t)
		return 0;
	f = flow_get(&k, t);
	account(t, f, RT_SYNACK, RT_COUNTED, 1);
	if (f) {
		/* A passive Fast Open child counts it in its total_retrans. */
		if (f->sk == skaddr && f->has_total)
			f->last_total++;
		if (o)
			f->owner = *o;
	}
	if (emit_events) {
		struct rt_call r = {
			.segs = 1, .counted = 1, .kind = RT_SYNACK, .verdict = RT_COUNTED,
		};

		emit_event(&k, o, &r, NULL, t);
	}
	return 0;
}

/*
 * The current task owns @sk (and, for a listener, what it accepts).  A
 * task the filters leave out gets no state: its sockets never count,
 * and the floor (what other processes pay) stays one lookup that finds
 * nothing.  Such a socket is then like one older than the tool: whoever
 * closes it first owns it.
 */
static __always_inline struct rt_sock *set_owner(const struct sock *sk, bool listener)
{
	struct rt_port_key pk = {};
	struct lk_owner o = {};
	struct rt_sock *s;

	lk_owner_current(&o);
	if (!lk_owner_wanted(&o))
		return 0;
	s = sock_make(sk);
	if (s)
		s->owner = o;
	/*
	 * The kernel copies a listener's storage to each socket accepted
	 * from it: marked as a child, it is one even when no program runs
	 * at its LISTEN -> SYN_RECV (on_accepted()).
	 */
	if (s && listener && typed_sk)
		s->state = RT_SK_CHILD;
	if (listener && !typed_sk) {
		port_key(sk, &pk);
		bpf_map_update_elem(&listeners, &pk, &o, BPF_ANY);
	}
	return s;
}

/*
 * An accepted socket: its storage was copied from its listener's (or the
 * owner comes from the listener's port).  Its ends are not set yet, nor
 * its total_retrans (the SYN-ACKs its request resent): see settle().
 */
static __always_inline void on_accepted(const struct sock *sk)
{
	struct lk_owner none = {}, *o = 0;
	struct rt_port_key pk = {};
	struct rt_sock *s;

	if (!typed_sk) {
		port_key(sk, &pk);
		o = bpf_map_lookup_elem(&listeners, &pk);
	}
	/*
	 * Under a task filter only a wanted listener's sockets get state: in
	 * socket storage the listener's copy, if it has one.
	 */
	if (!lk_owner_filtered())
		s = sock_make(sk);
	else if (typed_sk)
		s = sock_get(sk);
	else
		s = lk_owner_wanted(o) ? sock_make(sk) : 0;
	if (!s)
		return;
	if (!typed_sk)
		s->owner = o ? *o : none;
	s->state = RT_SK_CHILD;
	s->accounted = 0;
}

static __always_inline void close_flow(const struct rt_flow_key *k, struct rt_flow *f,
				       const struct sock *sk, const struct lk_owner *o)
{
	__u64 skaddr = (__u64)sk;
	struct rt_closed *c;
	struct rt_totals *t = totals_cpu();
	__u32 total;

	if (!t)
		return;
	/* Still in place at TCP_CLOSE (tcp_disconnect() clears it later). */
	total = total_retrans(sk);
	if (f->sk == skaddr && f->has_total && total - f->last_total < 0x80000000U &&
	    total != f->last_total) {
		account_unseen(t, f, f->last_kind, total - f->last_total);
		f->last_total = total;
	}
	c = bpf_ringbuf_reserve(&closed, sizeof(*c), 0);
	if (c) {
		c->key = *k;
		c->val = *f;
		/* A socket with no owner before got one when it was closed. */
		if (o)
			c->val.owner = *o;
		bpf_ringbuf_submit(c, 0);
	} else {
		add(&t->closed_drops, 1);
	}
	if (!bpf_map_delete_elem(&flows, k))
		__sync_fetch_and_add(&live_flows, -1);
}

/*
 * A known socket leaves SYN_SENT or SYN_RECV, or closes: its
 * total_retrans against what was counted.  An accepted socket's starts at
 * its request's SYN-ACK retransmissions, which the events of its flow
 * (made by those SYN-ACKs, no socket yet) showed.  Returns the socket's
 * flow, made if there was something to count and it had none.
 */
static __always_inline struct rt_flow *settle(const struct sock *sk, struct rt_sock *s,
					      const struct rt_flow_key *k, struct rt_flow *f,
					      int oldstate)
{
	__u64 skaddr = (__u64)sk;
	struct rt_totals *t;
	bool child = s->state == RT_SK_CHILD, handshake = child || s->handshake;
	__u32 total, grew;
	int kind;

	/*
	 * Normally at SYN_RECV -> ESTABLISHED; later (a close) if the kernel
	 * skipped that run: then what the SYN-ACKs' events did not show is
	 * counted now, with whatever else the socket's total grew by.
	 */
	if (child) {
		if (f && f->sk == skaddr && f->has_total) {
			/* Fast Open: the socket had events of its own. */
			s->accounted = f->last_total;
		} else if (f && f->sk) {
			/* Another socket's flow (its close was not seen). */
			s->state = RT_SK_UNKNOWN;
			return f;
		} else {
			s->accounted = f ? f->segs[RT_SYNACK] : 0;
		}
		s->state = RT_SK_KNOWN;
	}
	if (s->state != RT_SK_KNOWN)
		return f;
	/* Seen or not, the handshake ends here for the accounting. */
	s->handshake = 0;
	total = total_retrans(sk);
	grew = total - s->accounted;
	if (!grew || grew >= 0x80000000U)
		return f;
	t = totals_cpu();
	if (!t)
		return f;
	if (!f)
		f = flow_get(k, t);
	if (oldstate == TCP_SYN_SENT)
		kind = RT_SYN;
	else if (oldstate == TCP_SYN_RECV)
		kind = RT_SYNACK;
	else if (handshake && !bytes_retrans(sk))
		/* Its handshake's end went unseen: with no data resent, all
		 * of the growth is its SYNs or SYN-ACKs. */
		kind = child ? RT_SYNACK : RT_SYN;
	else
		kind = f && f->events ? f->last_kind : RT_OTHER;
	account_unseen(t, f, kind, grew);
	s->accounted = total;
	if (f)
		flow_bind(f, sk, total, owner_of(s));
	return f;
}

/*
 * connect(), listen() and close() run in the owner's context; a passive socket
 * takes over the flow its SYN-ACKs started; a closed socket's flow is
 * reported once and forgotten (a reused socket starts a new one).
 */
static __always_inline int on_state(const struct sock *sk, int oldstate, int newstate)
{
	struct rt_port_key pk = {};
	struct rt_flow_key k = {};
	const struct lk_owner *o;
	struct rt_sock *s;
	struct rt_flow *f;
	__u64 skaddr = (__u64)sk;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	if (!lk_netns_wanted(sk))
		return 0;
	if (oldstate == TCP_CLOSE && (newstate == TCP_SYN_SENT || newstate == TCP_LISTEN)) {
		s = set_owner(sk, newstate == TCP_LISTEN);
		/* Born now: every retransmission of its life is ahead. */
		if (s && newstate == TCP_SYN_SENT) {
			s->state = RT_SK_KNOWN;
			s->handshake = 1;
			s->accounted = total_retrans(sk);
		}
		return 0;
	}
	if (oldstate == TCP_LISTEN && newstate == TCP_SYN_RECV) {
		if (!test_skip_handshake())
			on_accepted(sk);
		return 0;
	}
	/* close() or shutdown() of a socket with no owner yet (its
	 * listener had none): before its FIN can be resent. */
	if (newstate == TCP_FIN_WAIT1 || newstate == TCP_LAST_ACK) {
		if (!owner_of(sock_get(sk)))
			set_owner(sk, false);
		return 0;
	}
	/* A listener closed: its port's owner goes, unless another
	 * process's listener (SO_REUSEPORT) set it since. */
	if (oldstate == TCP_LISTEN && newstate == TCP_CLOSE && !typed_sk) {
		struct rt_sock *mine = bpf_map_lookup_elem(&owners, &skaddr);
		struct lk_owner *lo;

		port_key(sk, &pk);
		lo = bpf_map_lookup_elem(&listeners, &pk);
		if (lo && mine && lo->tgid == mine->owner.tgid)
			bpf_map_delete_elem(&listeners, &pk);
	}
	if (newstate != TCP_CLOSE && oldstate != TCP_SYN_RECV && oldstate != TCP_SYN_SENT)
		return 0;
	/* Tests: a close left to tcp_destroy_sock. */
	if (newstate == TCP_CLOSE && lk_test_skip())
		return 0;
	if ((oldstate == TCP_SYN_SENT || oldstate == TCP_SYN_RECV) && test_skip_handshake())
		return 0;
	s = sock_get(sk);
	/* Perhaps a duplicate: tcp_destroy_sock, which follows, tells. */
	if (lk_dup_child(sk, oldstate, newstate) && (!s || s->state == RT_SK_CHILD))
		return 0;
	o = owner_of(s);
	/* Owners never change once set: another owner's socket has no flow. */
	if (lk_owner_wanted(o) && flow_key((const void *)sk, &k, true) && key_wanted(&k)) {
		f = bpf_map_lookup_elem(&flows, &k);
		if (s)
			f = settle(sk, s, &k, f, oldstate);
		/* Past the handshake: unseen growth is not a SYN's or a SYN-ACK's. */
		if (f && (oldstate == TCP_SYN_SENT || oldstate == TCP_SYN_RECV))
			f->last_kind = RT_OTHER;
		if (f && newstate == TCP_CLOSE) {
			if (f->sk == skaddr || !f->sk)
				close_flow(&k, f, sk, o);
		} else if (f && !f->sk) {
			f->sk = skaddr;
		}
	}
	if (newstate == TCP_CLOSE && !typed_sk)
		bpf_map_delete_elem(&owners, &skaddr);
	return 0;
}

/*
 * tcp:tcp_destroy_sock, after the socket's last state change: a second
 * chance to settle and report a known or accepted socket whose close
 * the kernel did not run the state program for.  After a close that ran it finds
 * nothing left to do (accounted is current, the flow is gone).
 */
static __always_inline int on_destroy(const struct sock *sk)
{
	struct rt_flow_key k = {};
	const struct lk_owner *o;
	struct rt_totals *t;
	struct rt_sock *s;
	struct rt_flow *f;
	__u64 skaddr = (__u64)sk;
	bool child;

	if (!lk_netns_wanted(sk))
		return 0;
	s = sock_get(sk);
	if (!s)
		return 0;
	o = owner_of(s);
	child = s->state == RT_SK_CHILD;
	if (s->state != RT_SK_UNKNOWN && lk_owner_wanted(o) &&
	    flow_key((const void *)sk, &k, true) && key_wanted(&k)) {
		if (dup_child_at_destroy(sk, child)) {
			t = totals_cpu();
			if (t)
				add(&t->dup_children, 1);
			s->state = RT_SK_UNKNOWN;
			goto out;
		}
		f = bpf_map_lookup_elem(&flows, &k);
		f = settle(sk, s, &k, f, TCP_CLOSE);
		/* A child closed in SYN-RECV left its close to this run. */
		if (f && (f->sk == skaddr || (child && !f->sk)))
			close_flow(&k, f, sk, o);
	}
out:
	if (!typed_sk)
		bpf_map_delete_elem(&owners, &skaddr);
	return 0;
}

/* tp_btf and raw_tp, with and without 6.18's err argument. */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(retrans_btf, const struct sock *sk, const struct sk_buff *skb, int err)
{
	return on_retrans(sk, skb, err, true);
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(retrans_btf_noerr, const struct sock *sk, const struct sk_buff *skb)
{
	return on_retrans(sk, skb, 0, false);
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(retrans_raw, const struct sock *sk, const struct sk_buff *skb, int err)
{
	return on_retrans(sk, skb, err, true);
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(retrans_raw_noerr, const struct sock *sk, const struct sk_buff *skb)
{
	return on_retrans(sk, skb, 0, false);
}

/* Classic tracepoints: the records' leading fields, stable since 4.16. */
struct rt_tp_retrans {
	__u64 common;
	const void *skbaddr;
	const void *skaddr;
};

struct rt_tp_synack {
	__u64 common;
	const void *skaddr;
	const void *req;
};

struct rt_tp_destroy {
	__u64 common;
	const void *skaddr;
};

struct rt_tp_state {
	__u64 common;
	const void *skaddr;
	int oldstate;
	int newstate;
};


SEC("tp/tcp/tcp_retransmit_skb")
int retrans_tp(struct rt_tp_retrans *ctx)
{
	int err = 0;

	if (tp_err_off)
		bpf_probe_read_kernel(&err, sizeof(err), (void *)ctx + tp_err_off);
	return on_retrans(ctx->skaddr, ctx->skbaddr, err, tp_err_off != 0);
}

SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(synack_btf, const struct sock *sk, const struct request_sock *req)
{
	return on_synack(sk, req);
}

SEC("raw_tp/tcp_retransmit_synack")
int BPF_PROG(synack_raw, const struct sock *sk, const struct request_sock *req)
{
	return on_synack(sk, req);
}

SEC("tp/tcp/tcp_retransmit_synack")
int synack_tp(struct rt_tp_synack *ctx)
{
	return on_synack(ctx->skaddr, ctx->req);
}

SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(destroy_btf, const struct sock *sk)
{
	return on_destroy(sk);
}

SEC("raw_tp/tcp_destroy_sock")
int BPF_PROG(destroy_raw, const struct sock *sk)
{
	return on_destroy(sk);
}

SEC("tp/tcp/tcp_destroy_sock")
int destroy_tp(struct rt_tp_destroy *ctx)
{
	return on_destroy(ctx->skaddr);
}

/* With twins (twin.bpf.h): a state change is never skipped alone. */
static __always_inline int state_first(const struct sock *sk, int oldstate, int newstate)
{
	__u32 *busy = lk_twin_enter();

	on_state(sk, oldstate, newstate);
	lk_twin_leave(busy);
	return 0;
}

static __always_inline int state_twin(const struct sock *sk, int oldstate, int newstate)
{
	return lk_twin_wanted() ? on_state(sk, oldstate, newstate) : 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(state_btf, const struct sock *sk, int oldstate, int newstate)
{
	return state_first(sk, oldstate, newstate);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(state_btf_twin, const struct sock *sk, int oldstate, int newstate)
{
	return state_twin(sk, oldstate, newstate);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(state_raw, const struct sock *sk, int oldstate, int newstate)
{
	return state_first(sk, oldstate, newstate);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(state_raw_twin, const struct sock *sk, int oldstate, int newstate)
{
	return state_twin(sk, oldstate, newstate);
}

SEC("tp/sock/inet_sock_set_state")
int state_tp(struct rt_tp_state *ctx)
{
	return on_state(ctx->skaddr, ctx->oldstate, ctx->newstate);
}

/*
 * Run once at the start (socket storage only; flow.bpf.h): the owners of
 * the listeners open then, from the processes' files (the first, in
 * process ID order, that holds one and passes the owner filters), then
 * in each namespace watched a listener opened before the
 * tool gets its storage, marked as a parent, with its owner where found,
 * so that what it accepts is a child even when no program runs at its
 * LISTEN -> SYN_RECV (as on_synack() does at its first SYN-ACK
 * retransmission).  Under an owner filter only the listeners of the
 * owners it selects.
 */
SEC("iter/tcp")
int seed_listeners(struct bpf_iter__tcp *ctx)
{
	struct lk_owner *o;
	struct tcp_sock *tp = lk_seed_listener(ctx, &lk_seeds, &o);
	struct rt_sock *ls;

	if (!tp)
		return 0;
	ls = bpf_sk_storage_get(&sk_owners, tp, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!ls)
		return 0;
	ls->state = RT_SK_CHILD;
	if (o && !ls->owner.tgid) {
		ls->owner = *o;
		lk_listeners_owned++;
	}
	lk_listeners_seeded++;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
