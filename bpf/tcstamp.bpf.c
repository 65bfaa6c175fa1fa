// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * tcstamp: time TCP flows at tc egress and ingress.
 *
 * RTT: a data segment leaving (egress) is remembered by its end_seq; the
 * first ingress ACK whose cumulative ACK number advances past it gives
 * one sample.  A segment sent again (seq below the highest end_seq sent)
 * erases every remembered segment it could have caused an ACK for
 * (Karn).  SACK blocks and duplicate ACKs never advance the cumulative
 * ACK, so they give no samples.  Where the timestamp option is present,
 * an ACK that gave no sequence sample may give one by TSecr matching a
 * remembered TSval of a data segment.
 *
 * One-way delay: with two sides attached, a data segment's (4-tuple, seq,
 * len) is remembered at one side's egress and looked up at the other
 * side's ingress; both stamps come from bpf_ktime_get_ns() on one host.
 *
 * Cost per packet: the headers are read in place, the flow filters are
 * applied as soon as the ports are known, a packet that passes costs one
 * lookup of its flow (RTT samples are aggregated in the flow's own
 * entry), and the clock is read only when a segment is remembered or an
 * ACK has taken one (a clock read is as dear as the lookup here).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "flow.bpf.h"
#include "tcstamp.h"

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define ETH_P_8021Q	0x8100
#define ETH_P_8021AD	0x88A8
#define TC_NEXT		-1	/* TC_ACT_UNSPEC, TCX_NEXT: let the others run */

#define TH_FIN	0x01
#define TH_SYN	0x02
#define TH_ACK	0x10

/* Set by userspace before load. */
const volatile bool side_l2[TS_SIDES] = {};	/* device has an Ethernet header */
const volatile bool owd_enabled = false;
const volatile bool emit_events = false;

/* Reporting epoch: userspace advances it at each report (flow_state). */
__u32 epoch = 0;
/* The stats rows' generation: userspace flips it at interval reports. */
volatile __u32 gen = 0;

struct owd_key {
	struct ts_flow flow;	/* packet orientation, side 0 */
	__u32 seq;
	__u32 len;
};

struct owd_val {
	__u64 sent;
	__u32 side;
	__u32 resent;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TS_MAX_FLOWS);
	__type(key, struct ts_flow);
	__type(value, struct flow_state);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TS_MAX_STATS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ts_stats_key);
	__type(value, struct ts_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TS_MAX_OWD);
	__type(key, struct owd_key);
	__type(value, struct owd_val);
} owd SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ts_totals);
} totals SEC(".maps");

/* A zeroed flow_state to insert from: too big for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flow_state);
} zero_flow SEC(".maps");

/* A zeroed ts_stats to insert from: too big for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ts_stats);
} zero_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct pkt {
	struct ts_flow flow;	/* local end first: src on egress, dst on ingress */
	__u32 seq;
	__u32 ack;
	__u32 payload;
	__u32 seglen;		/* payload + SYN + FIN */
	__u32 tsval;
	__u32 tsecr;
	__u8 flags;
	__u8 has_ts;
};

static __always_inline bool before(__u32 a, __u32 b)
{
	return (__s32)(a - b) < 0;
}

static __always_inline struct ts_totals *get_totals(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&totals, &zero);
}

/*
 * The @len bytes at @off: in place when they are in the linear part of the
 * skb (headers nearly always are), else copied into @buf.  Reading in
 * place saves a helper call per header, and helper calls (each returning
 * through the kernel's return thunk where SRSO is mitigated) are most of
 * what a packet costs here.  @off is bounded so the verifier can check
 * the direct read.
 */
#define TS_MAX_OFF	1024
static __always_inline void *hdr(struct __sk_buff *skb, __u32 off, __u32 len,
				 void *buf)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;

	if (off <= TS_MAX_OFF && data + off + len <= end)
		return data + off;
	if (bpf_skb_load_bytes(skb, off, buf, len))
		return NULL;
	return buf;
}

/*
 * The timestamp option, if any, from up to 40 bytes of TCP options.  Past
 * the fast path each option is read with bpf_skb_load_bytes(), so offsets
 * need no bounds the verifier must prove, only the loop count.
 */
static __always_inline void parse_tcp_opts(struct __sk_buff *skb, __u32 off,
					   __u32 optlen, struct pkt *p)
{
	__u32 i = 0;
	__u8 h[2];
	int k;

	/* Fast path: NOP, NOP, timestamps, as Linux and most stacks send. */
	if (optlen >= 12) {
		struct ts_opt { __u8 kind[4]; __be32 val, ecr; } buf, *o;

		o = hdr(skb, off, sizeof(*o), &buf);
		if (!o)
			return;
		if (o->kind[0] == 1 && o->kind[1] == 1 && o->kind[2] == 8 && o->kind[3] == 10) {
			p->tsval = bpf_ntohl(o->val);
			p->tsecr = bpf_ntohl(o->ecr);
			p->has_ts = 1;
			return;
		}
	}
	for (k = 0; k < 20 && i + 10 <= optlen; k++) {
		if (bpf_skb_load_bytes(skb, off + i, h, sizeof(h)))
			return;
		if (h[0] == 0)			/* end of options */
			return;
		if (h[0] == 1) {		/* NOP */
			i++;
			continue;
		}
		if (h[1] < 2)
			return;
		if (h[0] == 8 && h[1] == 10) {
			__be32 ts[2];

			if (bpf_skb_load_bytes(skb, off + i + 2, ts, sizeof(ts)))
				return;
			p->tsval = bpf_ntohl(ts[0]);
			p->tsecr = bpf_ntohl(ts[1]);
			p->has_ts = 1;
			return;
		}
		i += h[1];
	}
}

/* 0: parsed; 1: a TCP segment the filters leave out; -1: not parsed. */
static __always_inline int parse_tcp(struct __sk_buff *skb, __u32 off,
				     __u32 l4len, struct pkt *p, int side,
				     bool egress)
{
	struct tcphdr buf, *th;
	__u16 sport, dport;
	__u32 doff;

	th = hdr(skb, off, sizeof(*th), &buf);
	if (!th)
		return -1;
	doff = th->doff * 4;
	if (doff < sizeof(*th) || doff > l4len)
		return -1;
	sport = bpf_ntohs(th->source);
	dport = bpf_ntohs(th->dest);
	p->flow.ends.lport = egress ? sport : dport;
	p->flow.ends.rport = egress ? dport : sport;
	/*
	 * The port filters, on the flow as side 0 sees it (side 1 sees it
	 * mirrored), before anything else is read: a packet they leave out
	 * costs no more than its headers.
	 */
	if (side ? !lk_ports_wanted(p->flow.ends.rport, p->flow.ends.lport) :
		   !lk_ports_wanted(p->flow.ends.lport, p->flow.ends.rport))
		return 1;
	p->seq = bpf_ntohl(th->seq);
	p->ack = bpf_ntohl(th->ack_seq);
	p->flags = ((__u8 *)th)[13];
	p->payload = l4len - doff;
	p->seglen = p->payload + !!(p->flags & TH_SYN) + !!(p->flags & TH_FIN);
	p->tsval = 0;
	p->tsecr = 0;
	p->has_ts = 0;
	parse_tcp_opts(skb, off + sizeof(*th), doff - sizeof(*th), p);
	return 0;
}

static __always_inline int parse_ipv4(struct __sk_buff *skb, __u32 off,
				      struct pkt *p, int side, bool egress)
{
	struct iphdr buf, *ip;
	__u32 hlen, tot, saddr, daddr;
	int err;

	ip = hdr(skb, off, sizeof(*ip), &buf);
	if (!ip)
		return -1;
	hlen = ip->ihl * 4;
	if (ip->version != 4 || hlen < sizeof(*ip))
		return -1;
	if (ip->protocol != IPPROTO_TCP)
		return 2;
	if (ip->frag_off & bpf_htons(0x3fff))	/* MF or an offset */
		return -1;
	tot = bpf_ntohs(ip->tot_len);
	if (!tot)				/* BIG TCP: length from the skb */
		tot = skb->len - off;
	if (tot > skb->len - off || tot < hlen)
		return -1;
	saddr = ip->saddr;
	daddr = ip->daddr;
	err = parse_tcp(skb, off + hlen, tot - hlen, p, side, egress);
	if (err)
		return err;
	/* The flow is a hash key: the rest of the addresses are zero. */
	__builtin_memset(p->flow.ends.laddr, 0, sizeof(p->flow.ends.laddr) * 2);
	p->flow.ends.family = 4;
	p->flow.ends.laddr[0] = egress ? saddr : daddr;
	p->flow.ends.raddr[0] = egress ? daddr : saddr;
	return 0;
}

static __always_inline int parse_ipv6(struct __sk_buff *skb, __u32 off,
				      struct pkt *p, int side, bool egress)
{
	struct ipv6hdr buf, *ip6;
	__u32 end, len;
	__u8 nexthdr;
	int i;

	ip6 = hdr(skb, off, sizeof(*ip6), &buf);
	if (!ip6)
		return -1;
	if (ip6->version != 6)
		return -1;
	len = bpf_ntohs(ip6->payload_len);
	if (!len)				/* jumbo / BIG TCP */
		len = skb->len - off - sizeof(*ip6);
	end = off + sizeof(*ip6) + len;
	if (end > skb->len)
		return -1;
	__builtin_memcpy(p->flow.ends.laddr, egress ? &ip6->saddr : &ip6->daddr, 16);
	__builtin_memcpy(p->flow.ends.raddr, egress ? &ip6->daddr : &ip6->saddr, 16);
	p->flow.ends.family = 6;
	nexthdr = ip6->nexthdr;
	off += sizeof(*ip6);
	/* Extension headers, a bounded number of them. */
	for (i = 0; i < 6; i++) {
		__u8 h[2];

		if (nexthdr == IPPROTO_TCP)
			break;
		if (nexthdr != 0 && nexthdr != 43 && nexthdr != 60 &&
		    nexthdr != 44 && nexthdr != 51)
			return 2;		/* ICMPv6, UDP, ESP, ...: not ours */
		if (bpf_skb_load_bytes(skb, off, h, sizeof(h)))
			return -1;
		if (nexthdr == 44) {		/* fragment: only whole packets */
			__be16 fo;

			if (bpf_skb_load_bytes(skb, off + 2, &fo, sizeof(fo)))
				return -1;
			if (fo & bpf_htons(0xfff9))
				return -1;
			off += 8;
		} else if (nexthdr == 51) {
			off += (h[1] + 2) * 4;
		} else {
			off += (h[1] + 1) * 8;
		}
		nexthdr = h[0];
		if (off > 512)
			return -1;
	}
	if (nexthdr != IPPROTO_TCP || off >= end)
		return -1;
	return parse_tcp(skb, off, end - off, p, side, egress);
}

/*
 * 0: a TCP segment in @p, local end first; 1: a TCP segment the port
 * filters leave out; 2: not TCP; -1: TCP/IP we could not parse.
 */
static __always_inline int parse(struct __sk_buff *skb, int side, bool egress,
				 struct pkt *p)
{
	__u16 proto = bpf_ntohs(skb->protocol);
	__u32 off = 0;
	int i;

	if (side_l2[side]) {
		struct ts_eth { __u8 dst[6], src[6]; __be16 proto; } buf, *eth;

		eth = hdr(skb, 0, sizeof(*eth), &buf);
		if (!eth)
			return -1;
		proto = bpf_ntohs(eth->proto);
		off = sizeof(*eth);
		for (i = 0; i < 2; i++) {
			__be16 inner;

			if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
				break;
			if (bpf_skb_load_bytes(skb, off + 2, &inner, sizeof(inner)))
				return -1;
			proto = bpf_ntohs(inner);
			off += 4;
		}
	}
	if (proto == ETH_P_IP)
		return parse_ipv4(skb, off, p, side, egress);
	if (proto == ETH_P_IPV6)
		return parse_ipv6(skb, off, p, side, egress);
	return 2;
}

static __always_inline void reverse(const struct ts_flow *in, struct ts_flow *out)
{
	*out = *in;
	out->ends.lport = in->ends.rport;
	out->ends.rport = in->ends.lport;
	__builtin_memcpy(out->ends.laddr, in->ends.raddr, sizeof(out->ends.laddr));
	__builtin_memcpy(out->ends.raddr, in->ends.laddr, sizeof(out->ends.raddr));
}

static __always_inline struct ts_stats *get_stats(const struct ts_flow *f,
						  __u32 kind)
{
	struct ts_stats_key key = { .flow = *f, .kind = kind, .gen = gen };
	struct ts_stats *s, *init;
	struct ts_totals *t;
	__u32 zero = 0;

	s = bpf_map_lookup_elem(&stats, &key);
	if (s)
		return s;
	init = bpf_map_lookup_elem(&zero_stats, &zero);
	if (!init)
		return 0;
	bpf_map_update_elem(&stats, &key, init, BPF_NOEXIST);
	s = bpf_map_lookup_elem(&stats, &key);
	if (!s) {
		t = get_totals();
		if (t)
			t->stats_drops++;
	}
	return s;
}

/* One line for --events (the ring buffer is used for nothing else). */
static __always_inline void emit_event(const struct ts_flow *f, __u32 kind,
				       __u32 method, __u64 now, __u64 d, __u32 seq,
				       __u32 len, struct ts_totals *t)
{
	struct ts_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		if (t)
			t->ev_drops++;
		return;
	}
	e->ts_ns = now;
	e->delay_ns = d;
	e->flow = *f;
	e->kind = kind;
	e->method = method;
	e->seq = seq;
	e->len = len;
	lk_ringbuf_submit(&events, e);
}

static __always_inline __u64 hist_index(__u64 d)
{
	return lk_index(lh_index(d, TS_SUB_BITS, TS_NBUCKETS), TS_NBUCKETS);
}

/* One one-way delay sample into the flow's row. */
static __always_inline void record_owd(const struct ts_flow *f, __u64 now,
				       __u64 d, __u32 seq, __u32 len,
				       struct ts_totals *t)
{
	struct ts_stats *s;

	if (t)
		t->samples++;
	s = get_stats(f, TS_K_OWD);
	if (s) {
		__sync_fetch_and_add(&s->samples, 1);
		__sync_fetch_and_add(&s->sum_ns, d);
		if (!s->min_ns || d < s->min_ns)
			s->min_ns = d;
		if (d > s->max_ns)
			s->max_ns = d;
		__sync_fetch_and_add(&s->hist[hist_index(d)], 1);
	}
	if (emit_events)
		emit_event(f, TS_K_OWD, TS_M_OWD, now, d, seq, len, t);
}

/* One RTT sample, into the flow's own entry: no second lookup. */
static __always_inline void record_rtt(struct flow_state *st,
				       const struct ts_flow *f, __u32 method,
				       __u64 now, __u64 d, __u32 seq,
				       struct ts_totals *t)
{
	__u32 e = epoch, k = e & 1;

	if (t)
		t->samples++;
	if (method == TS_M_TS)
		__sync_fetch_and_add(&st->ts_samples, 1);
	__sync_fetch_and_add(&st->sum_ns, d);
	if (st->mm_epoch[k] != e || !st->min_ns[k]) {
		st->min_ns[k] = d;
		st->max_ns[k] = d;
		st->mm_epoch[k] = e;
	} else {
		if (d < st->min_ns[k])
			st->min_ns[k] = d;
		if (d > st->max_ns[k])
			st->max_ns[k] = d;
	}
	__sync_fetch_and_add(&st->hist[hist_index(d)], 1);
	if (emit_events)
		emit_event(f, TS_K_RTT, method, now, d, seq, 0, t);
}

static __always_inline __u64 mkslot(__u32 hi, __u64 now)
{
	__u32 t = now >> TS_TUNIT_SHIFT;

	return (__u64)hi << 32 | (t ? t : 1);
}

static __always_inline __u64 slot_age(__u64 v, __u64 now)
{
	__u32 t = now >> TS_TUNIT_SHIFT;

	return (__u64)(__u32)(t - (__u32)v) << TS_TUNIT_SHIFT;
}

/* Empty @slot if it still holds @v; true if this call emptied it. */
static __always_inline bool take(__u64 *slot, __u64 v)
{
	return __sync_val_compare_and_swap(slot, v, 0) == v;
}

/*
 * Remember a data segment; a resent one erases what it overlaps, and
 * *again is how many of its payload bytes were sent before.  The clock
 * is read only when there is something to remember: *now is 0 until
 * then.
 */
static __always_inline bool egress_state(struct flow_state *st, struct pkt *p,
					 __u64 *now, struct ts_totals *t, __u32 *again)
{
	__u32 end = p->seq + p->seglen;
	__u64 v;
	__u8 h;
	int i;

	/*
	 * A SYN with a new ISN starts a new connection on a reused 4-tuple:
	 * forget the old one's sequence space.  (A SYN sent again has
	 * seq == snd_max - 1 and is a retransmission like any other.)
	 */
	if ((p->flags & TH_SYN) && st->have_max && p->seq + 1 != st->snd_max) {
#pragma unroll
		for (i = 0; i < TS_RING; i++) {
			v = st->slot[i];
			if (v)
				take(&st->slot[i], v);
		}
		st->have_max = 0;
		st->have_una = 0;
	}
	if (st->have_max && before(p->seq, st->snd_max)) {
#pragma unroll
		for (i = 0; i < TS_RING; i++) {
			v = st->slot[i];
			if (v && before(p->seq, v >> 32))
				take(&st->slot[i], v);
		}
		/* TSecr may echo the original or the copy: trust neither. */
#pragma unroll
		for (i = 0; i < TS_TSRING; i++) {
			v = st->tsslot[i];
			if (v)
				take(&st->tsslot[i], v);
		}
		*again = st->snd_max - p->seq;
		if (*again > p->payload)
			*again = p->payload;
		if (before(st->snd_max, end))
			st->snd_max = end;
		return true;
	}
	st->snd_max = end;
	st->have_max = 1;
	h = st->head & (TS_RING - 1);
	if (!st->slot[h]) {
		if (!*now)
			*now = bpf_ktime_get_ns();
		if (!__sync_val_compare_and_swap(&st->slot[h], 0, mkslot(end, *now)))
			st->head = h + 1;
		else if (t)
			t->ring_full++;
	} else if (t) {
		t->ring_full++;
	}
	if (p->has_ts && p->tsval != st->last_tsval) {
		h = st->tshead & (TS_TSRING - 1);
		if (!st->tsslot[h]) {
			if (!*now)
				*now = bpf_ktime_get_ns();
			if (!__sync_val_compare_and_swap(&st->tsslot[h], 0,
							 mkslot(p->tsval, *now)))
				st->tshead = h + 1;
		}
		st->last_tsval = p->tsval;
	}
	return false;
}

static __always_inline struct flow_state *get_flow(const struct ts_flow *f,
						   struct ts_totals *t)
{
	struct flow_state *st, *init;
	__u32 zero = 0;

	st = bpf_map_lookup_elem(&flows, f);
	if (st)
		return st;
	init = bpf_map_lookup_elem(&zero_flow, &zero);
	if (!init)
		return NULL;
	init->created = bpf_ktime_get_ns();
	bpf_map_update_elem(&flows, f, init, BPF_NOEXIST);
	st = bpf_map_lookup_elem(&flows, f);
	if (!st && t)
		t->flow_drops++;
	return st;
}

/*
 * Egress counters are plain additions: a flow's segments leave one at a
 * time (a TCP socket transmits under its lock; a forwarded flow keeps to
 * one queue), as snd_max and the ring head already assume.
 */
static __always_inline void on_egress(struct __sk_buff *skb, struct pkt *p,
				      struct ts_totals *t)
{
	struct flow_state *st;
	bool resent = false;
	__u32 segs = skb->gso_segs ? skb->gso_segs : 1, again = 0;
	__u64 now = 0;

	/* Pure ACKs: nothing to time, no lookup, no clock read. */
	if (!p->seglen)
		return;
	st = get_flow(&p->flow, t);
	if (st) {
		resent = egress_state(st, p, &now, t, &again);
		st->bytes_out += p->payload;
		st->segs_out += segs;
		if (resent) {
			st->retrans += segs;
			st->bytes_retrans += again;
		}
	}
	if (owd_enabled && p->payload) {
		struct owd_key k = { .flow = p->flow, .seq = p->seq, .len = p->payload };
		struct owd_val v = { .side = p->flow.side, .resent = resent };

		if (!now)
			now = bpf_ktime_get_ns();
		v.sent = now;
		k.flow.side = 0;
		if (bpf_map_update_elem(&owd, &k, &v, BPF_ANY) && t)
			t->owd_drops++;
	}
}

/* Is time @a (send time in units, modulo 2^32) after @b? */
static __always_inline bool later(__u64 a, __u64 b)
{
	return (__s32)((__u32)a - (__u32)b) > 0;
}

/*
 * The sample an ACK gives, 0 if none; *method says how it was matched.
 * Slots are taken first and the clock read only if one was.
 */
static __always_inline __u64 ack_state(struct flow_state *st, struct pkt *p,
				       __u32 *method, __u32 *seq, __u64 *now)
{
	__u64 best = 0, tsbest = 0, v;
	int i;

	/* Only a cumulative ACK advance: SACK and duplicate ACKs give nothing. */
	if (!st->have_una || before(st->snd_una, p->ack)) {
		st->snd_una = p->ack;
		st->have_una = 1;
#pragma unroll
		for (i = 0; i < TS_RING; i++) {
			v = st->slot[i];
			if (!v || before(p->ack, v >> 32) || !take(&st->slot[i], v))
				continue;
			/* The newest covered segment is the one that prompted the ACK. */
			if (!best || later(v, best))
				best = v;
		}
	}
	if (p->has_ts && p->tsecr) {
#pragma unroll
		for (i = 0; i < TS_TSRING; i++) {
			v = st->tsslot[i];
			if (!v || before(p->tsecr, v >> 32) || !take(&st->tsslot[i], v))
				continue;
			if ((__u32)(v >> 32) == p->tsecr)
				tsbest = v;
		}
	}
	if (!best && !tsbest)
		return 0;
	*now = bpf_ktime_get_ns();
	if (best) {
		*method = TS_M_SEQ;
		*seq = best >> 32;
		return slot_age(best, *now);
	}
	*method = TS_M_TS;
	*seq = p->tsecr;
	return slot_age(tsbest, *now);
}

static __always_inline void on_ingress(struct __sk_buff *skb, struct pkt *p,
				       struct ts_totals *t, int side)
{
	struct flow_state *st;
	__u32 method = 0, seq = 0;
	__u64 now = 0, d;

	/* A flow that only receives has state too, for its byte count. */
	if (p->payload)
		st = get_flow(&p->flow, t);
	else
		st = bpf_map_lookup_elem(&flows, &p->flow);
	if (st && p->payload)
		__sync_fetch_and_add(&st->bytes_in, p->payload);
	if (owd_enabled && p->payload) {
		/* The key is in the packet's orientation, as egress made it. */
		struct owd_key k = { .seq = p->seq, .len = p->payload };
		struct owd_val *v;

		reverse(&p->flow, &k.flow);
		k.flow.side = 0;
		v = bpf_map_lookup_elem(&owd, &k);
		if (v && v->side != side) {
			if (v->resent) {
				if (t)
					t->owd_retrans++;
			} else {
				now = bpf_ktime_get_ns();
				record_owd(&p->flow, now, now - v->sent, p->seq,
					   p->payload, t);
			}
			bpf_map_delete_elem(&owd, &k);
		}
	}
	if (!st || !(p->flags & TH_ACK))
		return;
	d = ack_state(st, p, &method, &seq, &now);
	if (d)
		record_rtt(st, &p->flow, method, now, d, seq, t);
}

static __always_inline int handle(struct __sk_buff *skb, int side, bool egress)
{
	struct ts_totals *t = get_totals();
	struct pkt p;
	int err;

	if (t)
		t->pkts++;
	err = parse(skb, side, egress, &p);
	if (err) {
		if (err < 0 && t)
			t->parse_skip++;
		else if (err == 1 && t)
			t->tcp++;
		return TC_NEXT;
	}
	if (t)
		t->tcp++;
	p.flow.side = side;
	__builtin_memset(p.flow.ends.pad, 0, sizeof(p.flow.ends.pad));
	/* -4, -6, --laddr, --raddr, on side 0's view as the ports. */
	if (side ? !lk_addrs_wanted(p.flow.ends.family, p.flow.ends.raddr, p.flow.ends.laddr) :
		   !lk_addrs_wanted(p.flow.ends.family, p.flow.ends.laddr, p.flow.ends.raddr))
		return TC_NEXT;
	if (egress)
		on_egress(skb, &p, t);
	else
		on_ingress(skb, &p, t, side);
	return TC_NEXT;
}

SEC("tc")
int tcstamp_eg0(struct __sk_buff *skb)
{
	return handle(skb, 0, true);
}

SEC("tc")
int tcstamp_in0(struct __sk_buff *skb)
{
	return handle(skb, 0, false);
}

SEC("tc")
int tcstamp_eg1(struct __sk_buff *skb)
{
	return handle(skb, 1, true);
}

SEC("tc")
int tcstamp_in1(struct __sk_buff *skb)
{
	return handle(skb, 1, false);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
