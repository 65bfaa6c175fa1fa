/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * tcplat --proto: the bytes each read and write of a traced socket
 * moved, for userspace to frame (tools/tcplat/proto.h).
 *
 * The socket tracepoints fire inside the syscall, so the syscall's own
 * arguments (the user buffer, the iovec array or the msghdr) are still
 * in the task's saved registers: the buffer is found from there, and no
 * syscall tracepoint (which would slow every syscall on the host) is
 * needed.  Only the first copy_max bytes of each syscall are copied;
 * lengths and times come from the kernel for all of them.  A syscall
 * tcplat does not know (sendfile, splice, io_uring) gives a record
 * with its length and no bytes.
 *
 * Included by tcplat.bpf.c; everything here is dead code unless
 * proto_on is set before load.
 */
#ifndef TCPLAT_PROTO_BPF_H
#define TCPLAT_PROTO_BPF_H

/* proto_on is with the flags every event reads, in tcplat.bpf.c. */
const volatile __u32 copy_max = TL_CAP_DEFAULT;	/* --proto-bytes, <= TL_CAP */
const volatile struct tl_nrs nrs = { -1, -1, -1, -1, -1, -1, -1, -1 };

/* Record sequence and arrival marks: socket storage or an LRU hash. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tl_payload_sk);
} sk_payload SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, struct tl_payload_sk);
} payload_socks SEC(".maps");

/*
 * A read's or write's record is built here, then copied into the ring
 * at its real size; room for twice TL_CAP bytes of data: see copy_buf().
 * One per CPU (userspace sizes it), an array and not a per-CPU array,
 * whose values cannot exceed 32 KiB.  Only syscalls (process context,
 * not preempted inside a program on the kernels Debian builds) use it.
 */
struct tl_scratch {
	unsigned long long rec[(sizeof(struct tl_data) + 2 * TL_CAP) / 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tl_scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} payloads SEC(".maps");

static __always_inline struct tl_payload_sk *pl_get(struct sock *sk, bool create)
{
	struct tl_payload_sk zero = {}, *p;
	__u64 key = (__u64)sk;

	if (typed_sk)
		return bpf_sk_storage_get(&sk_payload, sk, 0,
					  create ? BPF_SK_STORAGE_GET_F_CREATE : 0);
	p = bpf_map_lookup_elem(&payload_socks, &key);
	if (p || !create)
		return p;
	bpf_map_update_elem(&payload_socks, &key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&payload_socks, &key);
}

/* A new connection at @sk: the LRU's entry may be a freed socket's. */
static __always_inline void pl_reset(struct sock *sk)
{
	__u64 key = (__u64)sk;

	if (!typed_sk)
		bpf_map_delete_elem(&payload_socks, &key);
}

/*
 * Bytes of a server socket arrived, up to sequence number @end: a mark
 * for the reads to come (sockets a traced process has used; before
 * that, on_arrival keeps only the first arrival, as without --proto).
 * With TL_MAX_ARR marks unread, the newest mark takes the new bytes too
 * (they look older than they are; counted).
 */
static __always_inline void pl_arrive(struct sock *sk, __u32 end)
{
	struct tl_payload_sk *p = pl_get(sk, true);
	__u32 n, last;

	if (!p)
		return;
	n = p->narr;
	if (n > TL_MAX_ARR)
		return;
	if (n) {
		last = lk_bound(n - 1, TL_MAX_ARR - 1);
		if ((__s32)(end - p->arr_seq[last]) <= 0)
			return;
	}
	if (n == TL_MAX_ARR) {
		p->arr_seq[TL_MAX_ARR - 1] = end;
		drop(TL_DROP_ARRIVAL);
		return;
	}
	n = lk_bound(n, TL_MAX_ARR - 1);
	p->arr_seq[n] = end;
	p->arr_ns[n] = bpf_ktime_get_ns();
	p->narr = n + 1;
}

static __always_inline __u32 tcp_copied_seq(struct sock *sk)
{
	struct tcp_sock *tp;

	if (typed_sk) {
		tp = bpf_skc_to_tcp_sock(sk);
		return tp ? tp->copied_seq : 0;
	}
	return BPF_CORE_READ((struct tcp_sock *)sk, copied_seq);
}

static __always_inline __u32 tcp_rcv_nxt(struct sock *sk)
{
	struct tcp_sock *tp;

	if (typed_sk) {
		tp = bpf_skc_to_tcp_sock(sk);
		return tp ? tp->rcv_nxt : 0;
	}
	return BPF_CORE_READ((struct tcp_sock *)sk, rcv_nxt);
}

/*
 * A read of @len bytes just ended: the marks of the bytes it took go
 * into @d, offsets from the read's first byte; marks wholly read are
 * dropped.
 */
static __always_inline void pl_marks(struct tl_payload_sk *p, struct sock *sk,
				     struct tl_data *d, __u32 len)
{
	__u32 end = tcp_copied_seq(sk), start = end - len, n = p->narr, i, k = 0;
	__s32 off;

	if (n > TL_MAX_ARR)
		n = TL_MAX_ARR;
	for (i = 0; i < TL_MAX_ARR; i++) {
		if (i >= n)
			break;
		off = p->arr_seq[i] - start;
		if (off <= 0)
			continue;
		k = lk_bound(k, TL_MAX_ARR - 1);
		d->arr_off[k] = (__u32)off < len ? (__u32)off : len;
		d->arr_ns[k] = p->arr_ns[i];
		k++;
		if ((__u32)off >= len)
			break;
	}
	d->narr = k;
	/* Keep the marks of bytes still unread, in order. */
	for (i = 0, k = 0; i < TL_MAX_ARR; i++) {
		if (i >= n)
			break;
		if ((__s32)(p->arr_seq[i] - end) <= 0)
			continue;
		k = lk_bound(k, TL_MAX_ARR - 1);
		p->arr_seq[k] = p->arr_seq[i];
		p->arr_ns[k] = p->arr_ns[i];
		k++;
	}
	p->narr = k;
}

/*
 * Copy @n user bytes from @src to the record's data at @off; returns the
 * new offset (the old one if the read faults).  off < TL_CAP and
 * n <= TL_CAP, each bounded alone, are what the verifier needs to see
 * the write stay inside the room of 2 * TL_CAP.
 */
static __always_inline __u32 copy_buf(struct tl_data *d, __u32 off, const void *src,
				      __u64 n)
{
	if (off >= TL_CAP || !n)
		return off;
	if (n > TL_CAP)
		n = TL_CAP;
	asm volatile("" : "+r"(n));
	if (n > TL_CAP - off)
		n = TL_CAP - off;
	off = lk_bound(off, TL_CAP - 1);
	if (bpf_probe_read_user(d->data + off, n, src))
		return off;
	return off + n;
}

/* The iovecs of a readv, writev, recvmsg or sendmsg, walked by bpf_loop. */
struct iov_walk {
	struct tl_data *d;
	const struct iovec *iov;
	__u64 cnt;
	__u64 want;
	__u32 off;
};

static long copy_iov(__u32 i, void *ctx)
{
	struct iov_walk *w = ctx;
	struct iovec v;

	if (i >= w->cnt || w->off >= w->want)
		return 1;
	if (bpf_probe_read_user(&v, sizeof(v), w->iov + i))
		return 1;
	w->off = copy_buf(w->d, w->off, v.iov_base,
			  v.iov_len < w->want - w->off ? v.iov_len : w->want - w->off);
	return 0;
}

/* The first bytes of what the current syscall moved (@len in all). */
static __always_inline __u32 copy_payload(struct tl_data *d, __u32 len)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	struct iov_walk w = { .d = d, .want = len < copy_max ? len : copy_max };
	struct user_msghdr m;
	long nr = cur_syscall_nr();

	if (nr < 0)
		return 0;
	if (nr == nrs.read || nr == nrs.write || nr == nrs.recvfrom || nr == nrs.sendto)
		return copy_buf(d, 0, (void *)PT_REGS_PARM2_CORE_SYSCALL(regs), w.want);
	if (nr == nrs.readv || nr == nrs.writev) {
		w.iov = (struct iovec *)PT_REGS_PARM2_CORE_SYSCALL(regs);
		w.cnt = PT_REGS_PARM3_CORE_SYSCALL(regs);
	} else if (nr == nrs.recvmsg || nr == nrs.sendmsg) {
		if (bpf_probe_read_user(&m, sizeof(m), (void *)PT_REGS_PARM2_CORE_SYSCALL(regs)))
			return 0;
		w.iov = m.msg_iov;
		w.cnt = m.msg_iovlen;
	} else {
		return 0;
	}
	bpf_loop(TL_MAX_IOV, copy_iov, &w, 0);
	return w.off;
}

/* The header every record starts with. */
static __always_inline void pl_header(struct tl_data *d, struct tl_payload_sk *p,
				      struct tl_sock *st, struct sock *sk, __u8 kind,
				      __u32 len, __u64 start)
{
	d->sk = (__u64)sk;
	d->born_ns = st->born_ns;
	d->start_ns = start;
	d->end_ns = bpf_ktime_get_ns();
	d->len = len;
	d->tgid = st->tgid;
	d->seq = p->seq++;
	d->kind = kind;
	d->role = st->role;
	d->guessed = st->guessed;
	d->narr = 0;
	d->copied = 0;
	__builtin_memcpy(d->comm, st->comm, sizeof(d->comm));
	/* The ends once per connection: userspace keeps them. */
	__builtin_memset(&d->ends, 0, sizeof(d->ends));
	if (!d->seq)
		lk_flow_from_sk(sk, &d->ends, typed_sk);
}

/*
 * The end of a connection (maybe in softirq: nothing of the current
 * task is used, and not the scratch a syscall's record may be using).
 */
static __always_inline void pl_close(struct tl_sock *st, struct sock *sk)
{
	struct tl_payload_sk *p = pl_get(sk, false);
	struct tl_data *d;

	if (!p)
		return;		/* no record was ever sent for it */
	d = bpf_ringbuf_reserve(&payloads, sizeof(*d), 0);
	if (!d) {
		p->seq++;
		drop(TL_DROP_PAYLOAD);
		return;
	}
	pl_header(d, p, st, sk, TL_DATA_CLOSE, 0, 0);
	lk_ringbuf_submit(&payloads, d);
}

/* A read (TL_DATA_IN) or a write (TL_DATA_OUT, @start its entry). */
static __always_inline void pl_record(struct tl_sock *st, struct sock *sk, __u8 kind,
				      __u32 len, __u64 start)
{
	struct tl_payload_sk *p = pl_get(sk, true);
	__u32 cpu = bpf_get_smp_processor_id(), copied = 0;
	struct tl_scratch *s;
	struct tl_data *d;

	s = bpf_map_lookup_elem(&scratch, &cpu);
	if (!s || !p) {
		drop(TL_DROP_PAYLOAD);
		return;
	}
	d = (struct tl_data *)s->rec;
	pl_header(d, p, st, sk, kind, len, start);
	if (kind == TL_DATA_IN && st->role == TL_ROLE_SERVER) {
		pl_marks(p, sk, d, len);
		/* The first read: the arrival seen before the socket was ours. */
		if (st->arr_ns && !d->narr) {
			d->narr = 1;
			d->arr_off[0] = len;
			d->arr_ns[0] = st->arr_ns;
		}
		st->arr_ns = 0;
	}
	copied = copy_payload(d, len);
	/* copied <= TL_CAP; the room is 2 * TL_CAP. */
	copied = lk_bound(copied, 2 * TL_CAP - 1);
	d->copied = copied;
	if (bpf_ringbuf_output(&payloads, d, sizeof(*d) + copied, lk_ringbuf_flags(&payloads)))
		drop(TL_DROP_PAYLOAD);
}

#endif
