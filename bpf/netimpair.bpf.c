// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * netlab's random loss.  It runs at the ingress of the receiving end of
 * the veth pair: a packet dropped at the sender's egress would be
 * reported back to the sender's stack (and TCP would not treat it as
 * loss on the wire), while a drop at the receiver's ingress is silent,
 * as on a real network.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "netimpair.h"

/* uapi macros, not in BTF. */
#define LK_TC_ACT_UNSPEC (-1)	/* tcx: TCX_NEXT, clsact: next filter */
#define LK_TC_ACT_SHOT 2	/* tcx: TCX_DROP */
#define LK_ETH_P_IP 0x0800
#define LK_ETH_P_IPV6 0x86DD

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NETIMPAIR_NDIR);
	__type(key, __u32);
	__type(value, struct netimpair_cfg);
} impair_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NETIMPAIR_NDIR);
	__type(key, __u32);
	__type(value, struct netimpair_cnt);
} impair_cnt SEC(".maps");

static __always_inline int impair(struct __sk_buff *skb, __u32 dir)
{
	struct netimpair_cfg *cfg;
	struct netimpair_cnt *cnt;

	/* ARP and the rest pass: a lost ARP reply would show up as a
	 * one-second neighbour stall, not as packet loss. */
	if (skb->protocol != bpf_htons(LK_ETH_P_IP) &&
	    skb->protocol != bpf_htons(LK_ETH_P_IPV6))
		return LK_TC_ACT_UNSPEC;
	cfg = bpf_map_lookup_elem(&impair_cfg, &dir);
	cnt = bpf_map_lookup_elem(&impair_cnt, &dir);
	if (!cfg || !cnt)
		return LK_TC_ACT_UNSPEC;
	cnt->seen++;
	if (cfg->drop_below && (__u64)bpf_get_prandom_u32() < cfg->drop_below) {
		cnt->dropped++;
		return LK_TC_ACT_SHOT;
	}
	return LK_TC_ACT_UNSPEC;
}

SEC("tc")
int impair_to_server(struct __sk_buff *skb)
{
	return impair(skb, NETIMPAIR_TO_SERVER);
}

SEC("tc")
int impair_to_client(struct __sk_buff *skb)
{
	return impair(skb, NETIMPAIR_TO_CLIENT);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
