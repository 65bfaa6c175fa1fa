// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "common.bpf.h"
#include "tcpretrans_cnt.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct retrans_totals);
} totals SEC(".maps");

static __always_inline int count(const struct sock *sk, const struct sk_buff *skb)
{
	struct skb_shared_info *shinfo;
	struct retrans_totals *t;
	__u32 zero = 0;
	__u16 segs;

	if (!lk_netns_wanted(sk))
		return 0;
	t = bpf_map_lookup_elem(&totals, &zero);
	if (!t)
		return 0;
	/* skb_shinfo(): end is an offset from head on 64-bit kernels. */
	shinfo = (void *)(BPF_CORE_READ(skb, head) + BPF_CORE_READ(skb, end));
	segs = BPF_CORE_READ(shinfo, gso_segs);
	t->segs += segs > 1 ? segs : 1;
	t->events++;
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(retrans_btf, const struct sock *sk, const struct sk_buff *skb)
{
	return count(sk, skb);
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(retrans_raw, const struct sock *sk, const struct sk_buff *skb)
{
	return count(sk, skb);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
