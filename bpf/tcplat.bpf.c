// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * tcplat: TCP request latency at the socket layer, seen as changes of
 * direction on each socket (see man/man8/tcplat.8 for the definitions).
 *
 * Hot path, per send or receive: one LRU lookup by socket address, the
 * task filter only when the socket's user changes, a clock read and one
 * per-CPU array lookup; -F and -P add one hash lookup each.  Arrivals
 * (server side, default clock) cost one lookup, which under owner marks
 * finds no storage on other processes' sockets.  A send's entry into
 * TCP costs the task filter, then (traced tasks only) one LRU lookup and,
 * at the start of a client request, a clock read.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tcplat.h"

#define MSG_PEEK	0x2
#define MSG_ERRQUEUE	0x2000
#define EEXIST		17

/*
 * Set by userspace before load.  Defined before flow.bpf.h brings in
 * lk_filter, so that these flags, which every event reads, and
 * lk_filter's task fields share the first cache line of .rodata (the
 * flow filters' addresses make lk_filter 80 bytes long).
 */
const volatile bool per_flow = false;
const volatile bool per_proc = false;
const volatile bool events_on = false;
const volatile bool from_read = false;
const volatile bool del_at_close = false;	/* no tcp_destroy_sock hook */
const volatile bool syscall_clock = false;	/* --syscall-entry */
const volatile bool io_preemptible = false;	/* reads and writes timed by fexit */
const volatile bool proto_on = false;		/* --proto (tcplat_proto.bpf.h) */
/*
 * Every program gets typed socket pointers (tp_btf, fentry): the state
 * lives in socket storage and socket fields are plain loads.
 */
const volatile bool typed_sk = false;
const volatile __u8 force_role = TL_ROLE_UNKNOWN;
const volatile __u16 eph_lo = 32768;		/* ip_local_port_range */
const volatile __u16 eph_hi = 60999;
const volatile __u64 min_ns = 0;
const volatile bool metrics_on = false;		/* --listen, --textfile */
const volatile bool metrics_pid = false;	/* --metrics-pids */
/*
 * -p, -c or --cgroup with socket storage: only the sockets of the
 * processes they select get state (owner marks, see on_state()).
 */
const volatile bool owner_marks = false;

#include "flow.bpf.h"
#include "listeners.bpf.h"
#include "twin.bpf.h"

/* Written by userspace to switch generations at interval reports. */
volatile __u32 gen = 0;
/*
 * Set by userspace before the final report: reads and writes are no
 * longer followed, so that only closes can end a response while the
 * report takes those still open.
 */
volatile __u32 ending = 0;
__u64 drops[TL_DROP_MAX] = {};
/*
 * Sockets a traced process used that had no state: established before
 * tcplat started, or (LRU hash only) pushed out of it by 16384 others,
 * which loses the request they were in.
 */
__u64 stateless = 0;
/* Connections given state as they were established, for -v. */
__u64 established = 0;

/*
 * Per-socket state.  In socket storage where every program gets typed
 * socket pointers (tp_btf, fentry): freed with the socket, no capacity
 * to run out of, one pointer away.  Else (raw_tp, kprobe) in an LRU
 * hash keyed by the socket's address, sized by userspace.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	/* Cloned from a marked listener to what it accepts (owner_marks). */
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct tl_sock);
} sk_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TL_MAX_SOCKS);
	__type(key, __u64);
	__type(value, struct tl_sock);
} socks SEC(".maps");


/* Totals, one entry per generation. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct tl_stats);
} stats SEC(".maps");

/* Sizes of the row tables are set by userspace before load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, struct tl_flow_key);
	__type(value, struct tl_flow);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, struct tl_proc_key);
	__type(value, struct tl_proc);
} procs SEC(".maps");

/* Never written: the initial value of new rows (too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tl_flow);
} zero_row SEC(".maps");

/* Metrics rows (tl_mkey), cumulative, sized by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, struct tl_mkey);
	__type(value, struct tl_mrow);
} mrows SEC(".maps");

/* kprobe fallback: the socket a thread passed to tcp_{send,recv}msg. */
struct tl_inflight {
	__u64 sk;
	int flags;
	int pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, struct tl_inflight);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

/*
 * --syscall-entry: the entry of the thread's latest send-family syscall
 * and that syscall's number.  A send takes the time only while the
 * thread is still in that syscall (the number in its registers
 * matches), so a write to a file cannot lend its time to a later
 * sendfile().
 */
struct tl_entry {
	__u64 ts;
	long nr;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tl_entry);
} send_entry SEC(".maps");

static __always_inline void drop(int what)
{
	__sync_fetch_and_add(&drops[what], 1);
}

static __always_inline bool sk_is_tcp(struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	if (family != LK_AF_INET && family != LK_AF_INET6)
		return false;
	return BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP;
}

static __always_inline __u16 sk_lport(struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_num);
}

static __always_inline __u16 sk_rport(struct sock *sk)
{
	return bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
}

static __always_inline bool ephemeral(__u16 port)
{
	return port >= eph_lo && port <= eph_hi;
}

/*
 * A socket established before we attached: the end with the ephemeral
 * port is the client; failing that, the first operation we see decides
 * (a send first: client).
 */
static __always_inline __u8 guess_role(struct sock *sk, bool sending)
{
	bool l = ephemeral(sk_lport(sk)), r = ephemeral(sk_rport(sk));

	if (l && !r)
		return TL_ROLE_CLIENT;
	if (r && !l)
		return TL_ROLE_SERVER;
	return sending ? TL_ROLE_CLIENT : TL_ROLE_SERVER;
}

static __always_inline struct tl_sock *sock_get(struct sock *sk)
{
	__u64 key = (__u64)sk;

	if (typed_sk)
		return bpf_sk_storage_get(&sk_socks, sk, 0, 0);
	return bpf_map_lookup_elem(&socks, &key);
}

static __always_inline void sock_del(struct sock *sk)
{
	__u64 key = (__u64)sk;

	if (typed_sk)
		bpf_sk_storage_delete(&sk_socks, sk);
	else
		bpf_map_delete_elem(&socks, &key);
}

/* Fresh state for @sk; an older one is replaced if @replace, else kept. */
static __always_inline struct tl_sock *sock_new(struct sock *sk, __u8 role,
						bool guessed, bool replace)
{
	__u64 key = (__u64)sk;
	struct tl_sock st = {}, *p;
	long err;

	st.born_ns = bpf_ktime_get_ns();
	st.role = force_role ? force_role : role;
	st.guessed = guessed && !force_role;
	/* --netns and the flow filters: fixed for a connection's life. */
	if (!lk_sk_wanted(sk, typed_sk))
		st.wanted = TL_OUT_OF_SCOPE;
	if (typed_sk) {
		p = bpf_sk_storage_get(&sk_socks, sk, &st, BPF_SK_STORAGE_GET_F_CREATE);
		if (!p)
			drop(TL_DROP_SOCK);
		else if (replace)
			__builtin_memcpy(p, &st, sizeof(st));
		return p;
	}
	err = bpf_map_update_elem(&socks, &key, &st, replace ? BPF_ANY : BPF_NOEXIST);
	if (err && err != -EEXIST) {
		drop(TL_DROP_SOCK);
		return 0;
	}
	return bpf_map_lookup_elem(&socks, &key);
}

/*
 * State of a socket the current task sends or receives on, or NULL if
 * it is not TCP or fails a filter.  -p is checked before anything else
 * (the cheapest rejection of other processes' sockets); the full task
 * filter's answer is cached for the socket's last user.
 */
static __always_inline struct tl_sock *sock_for_task(struct sock *sk, bool sending)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct tl_sock *st;
	bool w;

	if (lk_filter.tgid && tgid != lk_filter.tgid)
		return 0;
	st = sock_get(sk);
	if (!st) {
		if (!sk_is_tcp(sk))
			return 0;
		st = sock_new(sk, guess_role(sk, sending), true, false);
		if (!st)
			return 0;
		st->stateless = 1;
	}
	if (st->wanted == TL_OUT_OF_SCOPE)
		return 0;
	if (st->wanted == TL_UNCHECKED || st->tgid != tgid) {
		w = lk_task_wanted();
		st->tgid = tgid;
		st->wanted = w ? TL_WANTED : TL_UNWANTED;
		if (w)
			bpf_get_current_comm(st->comm, sizeof(st->comm));
	}
	if (st->wanted != TL_WANTED)
		return 0;
	/* Counted for the processes traced: other sockets are no loss. */
	if (st->stateless) {
		st->stateless = 0;
		__sync_fetch_and_add(&stateless, 1);
	}
	return st;
}

/*
 * A request's figures are added atomically, in per-CPU rows too: a
 * request can end in softirq (a reset or a timer closing a server's
 * connection), which may interrupt a program in process context on the
 * same CPU halfway through its update of the same row.  -F rows are
 * also shared by a connection's threads on other CPUs.
 */
static __always_inline void add(__u64 *v, __u64 n)
{
	__sync_fetch_and_add(v, n);
}

/*
 * Bytes are added only by reads and writes, in process context, so in
 * per-CPU rows they need no atomic add where nothing can preempt the
 * program: tracepoints and kprobes run with preemption off, fexit
 * programs only with migration off.
 */
static __always_inline void add_bytes(__u64 *bytes_in, __u64 *bytes_out, __u64 in, __u64 out,
				      bool shared)
{
	if (shared || io_preemptible) {
		if (in)
			add(bytes_in, in);
		if (out)
			add(bytes_out, out);
		return;
	}
	*bytes_in += in;
	*bytes_out += out;
}

static __always_inline void account(struct tl_stats *s, __u64 lat)
{
	__u32 i = lh_index(lat, TL_SUB_BITS, TL_BUCKETS);

	add(&s->requests, 1);
	add(&s->sum_ns, lat);
	lk_raise_max(&s->max_ns, lat);
	lk_lower_min(&s->min_ns, lat);
	add(&s->hist[lk_index(i, TL_BUCKETS)], 1);
}

static __always_inline struct tl_stats *flow_row(struct tl_sock *st, struct sock *sk,
						 __u32 g)
{
	struct tl_flow_key key = { .sk = (__u64)sk, .born_ns = st->born_ns, .gen = g };
	struct tl_flow *f;
	__u32 zero = 0;
	void *init;

	f = bpf_map_lookup_elem(&flows, &key);
	if (f)
		return &f->s;
	init = bpf_map_lookup_elem(&zero_row, &zero);
	if (!init)
		return 0;
	f = lk_lookup_or_init(&flows, &key, init);
	if (!f) {
		drop(TL_DROP_FLOW);
		return 0;
	}
	if (!f->ends.family) {
		lk_flow_from_sk(sk, &f->ends, typed_sk);
		f->role = st->role;
		f->guessed = st->guessed;
		f->tgid = st->tgid;
		__builtin_memcpy(f->comm, st->comm, sizeof(f->comm));
	}
	return &f->s;
}

static __always_inline struct tl_stats *proc_row(struct tl_sock *st, __u32 g)
{
	struct tl_proc_key key = { .tgid = st->tgid, .gen = g };
	struct tl_proc *p;
	__u32 zero = 0;
	void *init;

	p = bpf_map_lookup_elem(&procs, &key);
	if (p)
		return &p->s;
	init = bpf_map_lookup_elem(&zero_row, &zero);
	if (!init)
		return 0;
	p = lk_lookup_or_init(&procs, &key, init);
	if (!p) {
		drop(TL_DROP_PROC);
		return 0;
	}
	__builtin_memcpy(p->comm, st->comm, sizeof(p->comm));
	return &p->s;
}

/* The socket's metrics row; its role's overflow row when the map is full. */
static __always_inline struct tl_mrow *mrow(struct tl_sock *st)
{
	struct tl_mkey key = {};
	struct tl_mrow *r;
	__u32 zero = 0;
	void *init;

	__builtin_memcpy(key.comm, st->comm, sizeof(key.comm));
	key.role = st->role;
	if (metrics_pid)
		key.pid = st->tgid;
	r = bpf_map_lookup_elem(&mrows, &key);
	if (r)
		return r;
	init = bpf_map_lookup_elem(&zero_row, &zero);
	if (init) {
		r = lk_lookup_or_init(&mrows, &key, init);
		if (r)
			return r;
	}
	__builtin_memset(key.comm, 0, sizeof(key.comm));
	key.pid = 0;
	return bpf_map_lookup_elem(&mrows, &key);
}

static __always_inline void metrics_request(struct tl_sock *st, __u64 lat)
{
	struct tl_mrow *r = mrow(st);
	__u64 i = 0;

	if (!r)
		return;
	if (lat >> TL_M_MIN_MSB)
		i = lh_msb(lat) + 1 - TL_M_MIN_MSB;
	add(&r->requests, 1);
	add(&r->sum_ns, lat);
	add(&r->hist[lk_index(i, TL_M_BUCKETS)], 1);
}

/* Bytes a process read (in) or wrote (out), on every row it belongs to. */
static __always_inline void count_bytes(struct tl_sock *st, struct sock *sk,
					__u64 in, __u64 out)
{
	__u32 g = gen;
	struct tl_stats *s;

	s = bpf_map_lookup_elem(&stats, &g);
	if (s)
		add_bytes(&s->bytes_in, &s->bytes_out, in, out, false);
	if (per_flow) {
		s = flow_row(st, sk, g);
		if (s)
			add_bytes(&s->bytes_in, &s->bytes_out, in, out, true);
	}
	if (per_proc) {
		s = proc_row(st, g);
		if (s)
			add_bytes(&s->bytes_in, &s->bytes_out, in, out, false);
	}
	if (metrics_on) {
		struct tl_mrow *r = mrow(st);

		if (r)
			add_bytes(&r->bytes_in, &r->bytes_out, in, out, false);
	}
}

static __always_inline void emit(struct tl_sock *st, struct sock *sk, __u64 lat)
{
	struct tl_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		drop(TL_DROP_EVENT);
		return;
	}
	__builtin_memset(&e->ends, 0, sizeof(e->ends));
	lk_flow_from_sk(sk, &e->ends, typed_sk);
	e->lat_ns = lat;
	e->start_ns = st->start_ns;
	e->req_in = st->req_in;
	e->req_out = st->req_out;
	e->tgid = st->tgid;
	e->role = st->role;
	e->guessed = st->guessed;
	e->pad = 0;
	__builtin_memcpy(e->comm, st->comm, sizeof(e->comm));
	lk_ringbuf_submit(&events, e);
}

/* One request done: on the totals, its flow, its process, an event. */
static __always_inline void finish(struct tl_sock *st, struct sock *sk, __u64 lat)
{
	__u32 g = gen;
	struct tl_stats *s;

	st->phase = TL_IDLE;
	if ((__s64)lat < 0)	/* clocks of two CPUs: never seen, but cheap */
		lat = 0;
	s = bpf_map_lookup_elem(&stats, &g);
	if (s)
		account(s, lat);
	if (per_flow) {
		s = flow_row(st, sk, g);
		if (s)
			account(s, lat);
	}
	if (per_proc) {
		s = proc_row(st, g);
		if (s)
			account(s, lat);
	}
	if (metrics_on)
		metrics_request(st, lat);
	if (events_on && lat >= min_ns)
		emit(st, sk, lat);
}

static __always_inline void cut_off(struct tl_sock *st, struct sock *sk)
{
	__u32 g = gen;
	struct tl_stats *s;

	st->phase = TL_IDLE;
	s = bpf_map_lookup_elem(&stats, &g);
	if (s)
		add(&s->incomplete, 1);
	if (per_flow) {
		s = flow_row(st, sk, g);
		if (s)
			add(&s->incomplete, 1);
	}
	if (per_proc) {
		s = proc_row(st, g);
		if (s)
			add(&s->incomplete, 1);
	}
	if (metrics_on) {
		struct tl_mrow *r = mrow(st);

		if (r)
			add(&r->incomplete, 1);
	}
}

/* Has the process read everything that arrived? */
static __always_inline bool rcv_queue_empty(struct sock *sk)
{
	struct tcp_sock *tp;

	if (typed_sk) {
		tp = bpf_skc_to_tcp_sock(sk);
		return !tp || tp->rcv_nxt == tp->copied_seq;
	}
	tp = (struct tcp_sock *)sk;
	return BPF_CORE_READ(tp, rcv_nxt) == BPF_CORE_READ(tp, copied_seq);
}

/* The syscall the current thread is in (-1 for none). */
static __always_inline long cur_syscall_nr(void)
{
	struct pt_regs *regs;

	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
#if defined(__TARGET_ARCH_x86)
	return BPF_CORE_READ(regs, orig_ax);
#elif defined(__TARGET_ARCH_arm64)
	return BPF_CORE_READ(regs, syscallno);
#else
	return -1;
#endif
}

#include "tcplat_proto.bpf.h"

/*
 * Take a server's open response to count it, once: the next read, a
 * close (in softirq too) and the final report's walk may all come for
 * it at the same time.
 */
static __always_inline bool take_response(struct tl_sock *st)
{
	return __sync_val_compare_and_swap(&st->phase, TL_RESP, TL_IDLE) == TL_RESP;
}

static __always_inline void on_recv(struct sock *sk, int ret, int flags)
{
	struct tl_sock *st;
	__u64 now;

	if (ret <= 0 || (flags & (MSG_PEEK | MSG_ERRQUEUE)))
		return;
	/* ending is tested after the filter: other processes' reads pay only that. */
	st = sock_for_task(sk, false);
	if (!st || ending)
		return;
	if (proto_on) {
		pl_record(st, sk, TL_DATA_IN, ret, 0);
		return;
	}
	count_bytes(st, sk, ret, 0);
	if (st->role == TL_ROLE_CLIENT) {
		if (st->phase == TL_WAIT) {
			st->req_in = ret;
			finish(st, sk, bpf_ktime_get_ns() - st->start_ns);
		}
		return;
	}
	if (st->phase == TL_RESP && take_response(st))
		finish(st, sk, st->last_send_ns - st->start_ns);
	if (st->phase == TL_IDLE) {
		now = !from_read ? st->arr_ns : 0;
		st->start_ns = now ? now : bpf_ktime_get_ns();
		st->phase = TL_READ;
		st->req_in = 0;
		st->req_out = 0;
	}
	st->req_in += ret;
	if (!from_read && rcv_queue_empty(sk))
		st->arr_ns = 0;
}

/* --syscall-entry: a send-family syscall (number @nr) begins. */
static __always_inline void on_syscall_entry(long nr)
{
	struct tl_entry *e;

	if (!lk_task_wanted())
		return;
	e = bpf_task_storage_get(&send_entry, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!e) {
		drop(TL_DROP_ENTRY);
		return;
	}
	e->nr = nr;
	e->ts = bpf_ktime_get_ns();
}

/* A send begins on @sk: the start of a client request, if it is one. */
static __always_inline void on_send_entry(struct sock *sk)
{
	struct tl_sock *st;

	st = sock_for_task(sk, true);
	if (!st)
		return;
	if (st->role == TL_ROLE_SERVER) {
		st->sending = 1;
		return;
	}
	if (st->phase != TL_IDLE || st->entry_ns)
		return;
	st->entry_ns = bpf_ktime_get_ns();
}

/*
 * Start of a client request whose first byte a send just took: the
 * entry of that send (the syscall with --syscall-entry, else TCP's
 * send), or now, the send's return, where neither was seen.
 */
static __always_inline __u64 client_start(struct tl_sock *st)
{
	struct tl_entry *e;
	__u64 t = st->entry_ns;

	st->entry_ns = 0;
	if (syscall_clock) {
		e = bpf_task_storage_get(&send_entry, bpf_get_current_task_btf(), 0, 0);
		t = e && e->nr == cur_syscall_nr() ? e->ts : 0;
	}
	return t ? t : bpf_ktime_get_ns();
}

static __always_inline void on_send(struct sock *sk, int ret)
{
	struct tl_sock *st;

	st = sock_for_task(sk, true);
	if (!st || ending)
		return;
	if (proto_on) {
		if (ret > 0)
			pl_record(st, sk, TL_DATA_OUT, ret,
				  st->role == TL_ROLE_CLIENT ? client_start(st) : 0);
		st->entry_ns = 0;
		st->sending = 0;
		/* The close on_close() held back: after this write's record. */
		if (st->phase == TL_CLOSING) {
			st->phase = TL_IDLE;
			pl_close(st, sk);
			if (del_at_close)
				sock_del(sk);
		}
		return;
	}
	st->sending = 0;
	if (st->phase == TL_CLOSING) {
		/* The connection is gone: this write was the response's last. */
		if (ret > 0) {
			count_bytes(st, sk, 0, ret);
			st->req_out += ret;
			finish(st, sk, bpf_ktime_get_ns() - st->start_ns);
		} else {
			cut_off(st, sk);
		}
		return;
	}
	if (ret <= 0)
		return;
	count_bytes(st, sk, 0, ret);
	if (st->role == TL_ROLE_CLIENT) {
		if (st->phase == TL_IDLE) {
			st->start_ns = client_start(st);
			st->phase = TL_WAIT;
			st->req_in = 0;
			st->req_out = 0;
		}
		st->req_out += ret;
		return;
	}
	if (st->phase == TL_READ || st->phase == TL_RESP) {
		st->last_send_ns = bpf_ktime_get_ns();
		st->phase = TL_RESP;
		st->req_out += ret;
	}
}

/*
 * Data for a server socket reached the kernel (default clock only), up
 * to sequence number @end (--proto only).
 */
static __always_inline void on_arrival(struct sock *sk, __u32 end)
{
	struct tl_sock *st;

	st = sock_get(sk);
	if (!st || st->role != TL_ROLE_SERVER || st->wanted > TL_WANTED)
		return;
	/*
	 * --proto keeps marks only for sockets a traced process has used:
	 * before that (the connection's first request, or a socket no traced
	 * process will read) only the first arrival, as without it.
	 */
	if (proto_on && st->wanted == TL_WANTED)
		pl_arrive(sk, end);
	else if (!st->arr_ns)
		st->arr_ns = bpf_ktime_get_ns();
}

/*
 * The process closed (or the connection died): a response already
 * being sent is complete; at the final close, a request without its
 * response is cut off.
 */
static __always_inline void on_close(struct sock *sk, bool final)
{
	struct tl_sock *st;

	st = sock_get(sk);
	if (!st)
		return;
	if (proto_on) {
		if (final && st->wanted == TL_WANTED) {
			/*
			 * A reset handled as the server's write releases the
			 * socket (or while it waits for room): that write
			 * returns its bytes afterwards, and its record must
			 * come before the close's.  At the socket's
			 * destruction no write is under way.
			 */
			if (st->sending && st->phase != TL_CLOSING) {
				st->phase = TL_CLOSING;
				return;
			}
			pl_close(st, sk);
		}
	} else if (st->wanted == TL_WANTED) {
		if (st->phase == TL_RESP) {
			if (take_response(st))
				finish(st, sk, st->last_send_ns - st->start_ns);
		} else if (final && st->phase == TL_READ && st->sending) {
			/*
			 * A reset handled as the server's write releases the
			 * socket: that write returns its bytes afterwards.
			 */
			st->phase = TL_CLOSING;
			return;
		} else if (final && st->phase != TL_IDLE) {
			cut_off(st, sk);
		}
	}
	if (final && del_at_close)
		sock_del(sk);
}

/*
 * Connection setup.  A socket gets its state when it is established,
 * with its role.  Under owner marks only the sockets of the traced
 * processes do, so that an arrival on any other socket finds no storage
 * at all (one pointer read, where a lookup of state that is there but
 * cold reaches memory): connect() and listen() run in the owner's task,
 * where the socket is marked (state from CLOSE to SYN_SENT or LISTEN),
 * the kernel copies a listener's mark to each socket it accepts
 * (BPF_F_CLONE), and seed_listeners() marks the traced processes'
 * listeners opened before tcplat.  Other sockets a traced process uses
 * get state at its first read or write, as those established before
 * tcplat (stateless).
 */
static __always_inline void on_state(struct sock *sk, int old, int new)
{
	if (owner_marks && old == TCP_CLOSE && (new == TCP_SYN_SENT || new == TCP_LISTEN)) {
		if (sk_is_tcp(sk) && lk_owner_wanted_id(bpf_get_current_pid_tgid()))
			sock_new(sk, new == TCP_SYN_SENT ? TL_ROLE_CLIENT : TL_ROLE_SERVER,
				 false, true);
		return;
	}
	if (new == TCP_ESTABLISHED && (old == TCP_SYN_SENT || old == TCP_SYN_RECV)) {
		if (!sk_is_tcp(sk))
			return;
		if (owner_marks && !sock_get(sk))
			return;
		/* Replace: a freed socket's address may come back (LRU). */
		if (proto_on)
			pl_reset(sk);
		if (sock_new(sk, old == TCP_SYN_SENT ? TL_ROLE_CLIENT : TL_ROLE_SERVER,
			     false, true))
			__sync_fetch_and_add(&established, 1);
		return;
	}
	if (new == TCP_FIN_WAIT1 || new == TCP_LAST_ACK || new == TCP_CLOSE)
		on_close(sk, new == TCP_CLOSE);
}

static __always_inline void on_destroy(struct sock *sk)
{
	on_close(sk, true);
	sock_del(sk);
	if (proto_on)
		pl_reset(sk);
}

/* The end of a segment's payload at tcp_probe (skb->data: the TCP header). */
static __always_inline __u32 payload_end(const struct sk_buff *skb)
{
	unsigned char *data = BPF_CORE_READ(skb, data);
	unsigned int len = BPF_CORE_READ(skb, len);
	__u32 seq = 0;
	__u8 doff = 0;

	bpf_probe_read_kernel(&seq, 4, data + 4);
	bpf_probe_read_kernel(&doff, 1, data + 12);
	return bpf_ntohl(seq) + len - (doff >> 4) * 4;
}

/* Payload bytes of a segment at tcp_probe (skb->data is the TCP header). */
static __always_inline bool has_payload(const struct sk_buff *skb)
{
	unsigned char *data = BPF_CORE_READ(skb, data);
	unsigned int len = BPF_CORE_READ(skb, len);
	__u8 doff = 0;

	bpf_probe_read_kernel(&doff, 1, data + 12);
	return len > (unsigned int)(doff >> 4) * 4;
}

/* Application reads and writes: sock:sock_{recv,send}_length (6.3+). */
SEC("tp_btf/sock_recv_length")
int BPF_PROG(recv_btf, struct sock *sk, int ret, int flags)
{
	on_recv(sk, ret, flags);
	return 0;
}

SEC("raw_tp/sock_recv_length")
int BPF_PROG(recv_raw, struct sock *sk, int ret, int flags)
{
	on_recv(sk, ret, flags);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(send_btf, struct sock *sk, int ret, int flags)
{
	on_send(sk, ret);
	return 0;
}

SEC("raw_tp/sock_send_length")
int BPF_PROG(send_raw, struct sock *sk, int ret, int flags)
{
	on_send(sk, ret);
	return 0;
}

/* Older kernels: the TCP functions themselves (5.19+ argument lists). */
SEC("fexit/tcp_recvmsg")
int BPF_PROG(recv_fexit, struct sock *sk, struct msghdr *msg, size_t len, int flags,
	     int *addr_len, int ret)
{
	on_recv(sk, ret, flags);
	return 0;
}

SEC("fexit/tcp_sendmsg")
int BPF_PROG(send_fexit, struct sock *sk, struct msghdr *msg, size_t size, int ret)
{
	on_send(sk, ret);
	return 0;
}

static __always_inline void remember(struct sock *sk, int flags)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct tl_inflight in = { .sk = (__u64)sk, .flags = flags };

	if (bpf_map_update_elem(&inflight, &id, &in, BPF_ANY))
		drop(TL_DROP_INFLIGHT);
}

static __always_inline struct sock *recall(int *flags)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct tl_inflight *in;
	struct sock *sk;

	in = bpf_map_lookup_elem(&inflight, &id);
	if (!in)
		return 0;
	sk = (struct sock *)in->sk;
	*flags = in->flags;
	bpf_map_delete_elem(&inflight, &id);
	return sk;
}

SEC("kprobe/tcp_recvmsg")
int BPF_KPROBE(recv_kprobe, struct sock *sk, struct msghdr *msg, size_t len, int flags)
{
	remember(sk, flags);
	return 0;
}

SEC("kretprobe/tcp_recvmsg")
int BPF_KRETPROBE(recv_kretprobe, int ret)
{
	int flags = 0;
	struct sock *sk = recall(&flags);

	if (sk)
		on_recv(sk, ret, flags);
	return 0;
}

SEC("kprobe/tcp_sendmsg")
int BPF_KPROBE(send_kprobe, struct sock *sk)
{
	remember(sk, 0);
	return 0;
}

SEC("kretprobe/tcp_sendmsg")
int BPF_KRETPROBE(send_kretprobe, int ret)
{
	int flags = 0;
	struct sock *sk = recall(&flags);

	if (sk)
		on_send(sk, ret);
	return 0;
}

/*
 * The client's clock starts where a send enters TCP: tcp:tcp_sendmsg_locked
 * (6.13+), else the entry of tcp_sendmsg().
 */
SEC("tp_btf/tcp_sendmsg_locked")
int BPF_PROG(entry_btf, struct sock *sk)
{
	on_send_entry(sk);
	return 0;
}

SEC("raw_tp/tcp_sendmsg_locked")
int BPF_PROG(entry_raw, struct sock *sk)
{
	on_send_entry(sk);
	return 0;
}

SEC("fentry/tcp_sendmsg")
int BPF_PROG(entry_fentry, struct sock *sk)
{
	on_send_entry(sk);
	return 0;
}

SEC("kprobe/tcp_sendmsg")
int BPF_KPROBE(entry_kprobe, struct sock *sk)
{
	on_send_entry(sk);
	return 0;
}

/*
 * --syscall-entry: the entry of the syscalls that send (send() is
 * sendto() in the kernel), where the application's own clock starts.
 */
SEC("tp/syscalls/sys_enter_write")
int start_write(struct syscall_trace_enter *ctx)
{
	on_syscall_entry(ctx->nr);
	return 0;
}

SEC("tp/syscalls/sys_enter_writev")
int start_writev(struct syscall_trace_enter *ctx)
{
	on_syscall_entry(ctx->nr);
	return 0;
}

SEC("tp/syscalls/sys_enter_sendto")
int start_sendto(struct syscall_trace_enter *ctx)
{
	on_syscall_entry(ctx->nr);
	return 0;
}

SEC("tp/syscalls/sys_enter_sendmsg")
int start_sendmsg(struct syscall_trace_enter *ctx)
{
	on_syscall_entry(ctx->nr);
	return 0;
}

SEC("tp/syscalls/sys_enter_sendmmsg")
int start_sendmmsg(struct syscall_trace_enter *ctx)
{
	on_syscall_entry(ctx->nr);
	return 0;
}

/* Arrival of data: sock:sk_data_ready (6.3+), else tcp:tcp_probe. */
SEC("tp_btf/sk_data_ready")
int BPF_PROG(ready_btf, const struct sock *sk)
{
	on_arrival((struct sock *)sk, proto_on ? tcp_rcv_nxt((struct sock *)sk) : 0);
	return 0;
}

SEC("raw_tp/sk_data_ready")
int BPF_PROG(ready_raw, const struct sock *sk)
{
	on_arrival((struct sock *)sk, proto_on ? tcp_rcv_nxt((struct sock *)sk) : 0);
	return 0;
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(probe_btf, struct sock *sk, const struct sk_buff *skb)
{
	if (has_payload(skb))
		on_arrival(sk, proto_on ? payload_end(skb) : 0);
	return 0;
}

SEC("raw_tp/tcp_probe")
int BPF_PROG(probe_raw, struct sock *sk, const struct sk_buff *skb)
{
	if (has_payload(skb))
		on_arrival(sk, proto_on ? payload_end(skb) : 0);
	return 0;
}

/*
 * Roles at connection setup, the end of requests at close.  With twins
 * (twin.bpf.h): a softirq's state change on a CPU where a task is in
 * the first program is taken by the twin, not skipped.
 */
static __always_inline int state_first(struct sock *sk, int old, int new)
{
	__u32 *busy = lk_twin_enter();

	on_state(sk, old, new);
	lk_twin_leave(busy);
	return 0;
}

static __always_inline int state_twin(struct sock *sk, int old, int new)
{
	if (lk_twin_wanted())
		on_state(sk, old, new);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(state_btf, const struct sock *sk, const int old, const int new)
{
	return state_first((struct sock *)sk, old, new);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(state_btf_twin, const struct sock *sk, const int old, const int new)
{
	return state_twin((struct sock *)sk, old, new);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(state_raw, const struct sock *sk, const int old, const int new)
{
	return state_first((struct sock *)sk, old, new);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(state_raw_twin, const struct sock *sk, const int old, const int new)
{
	return state_twin((struct sock *)sk, old, new);
}

/* Kernels without the tracepoint: the state is still the old one at entry. */
SEC("fentry/tcp_set_state")
int BPF_PROG(state_fentry, struct sock *sk, int new)
{
	on_state(sk, BPF_CORE_READ(sk, __sk_common.skc_state), new);
	return 0;
}

SEC("kprobe/tcp_set_state")
int BPF_KPROBE(state_kprobe, struct sock *sk, int new)
{
	on_state(sk, BPF_CORE_READ(sk, __sk_common.skc_state), new);
	return 0;
}

SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(destroy_btf, struct sock *sk)
{
	on_destroy(sk);
	return 0;
}

SEC("raw_tp/tcp_destroy_sock")
int BPF_PROG(destroy_raw, struct sock *sk)
{
	on_destroy(sk);
	return 0;
}

/*
 * Final report, socket storage: the server sockets whose response is
 * sent but not yet ended by a read or a close (userspace walks the LRU
 * map itself).  The iterator over the storage map sees every namespace
 * in one walk; where the kernel refuses iterators over map elements,
 * iter/tcp walks each namespace's sockets instead.
 */
static __always_inline void pending_write(struct seq_file *seq, const struct sock *sk,
					  struct tl_sock *st)
{
	struct tl_pending p = {};

	if (!st || st->wanted != TL_WANTED || st->phase != TL_RESP)
		return;
	p.sk = (__u64)sk;
	__builtin_memcpy(&p.st, st, sizeof(p.st));
	/* Counted here, by userspace: a close that comes later finds it idle. */
	if (take_response(st))
		bpf_seq_write(seq, &p, sizeof(p));
}

SEC("iter/bpf_sk_storage_map")
int pending(struct bpf_iter__bpf_sk_storage_map *ctx)
{
	if (ctx->sk)
		pending_write(ctx->meta->seq, ctx->sk, ctx->value);
	return 0;
}

SEC("iter/tcp")
int pending_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (tp)
		pending_write(ctx->meta->seq, (struct sock *)tp,
			      bpf_sk_storage_get(&sk_socks, tp, 0, 0));
	return 0;
}

/*
 * Owner marks: the listeners that the processes tcplat traces hold open
 * when it starts (flow.bpf.h; one opened meanwhile is marked by
 * on_state()).
 */
SEC("iter/tcp")
int seed_listeners(struct bpf_iter__tcp *ctx)
{
	struct lk_owner *o;
	struct tcp_sock *tp = lk_seed_listener(ctx, &lk_seeds, &o);

	/* Under owner marks (an owner filter): the listeners found only. */
	if (!tp || sock_get((struct sock *)tp))
		return 0;
	if (sock_new((struct sock *)tp, TL_ROLE_SERVER, false, false))
		lk_listeners_seeded++;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
