/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_FLOW_H
#define LK_FLOW_H

/*
 * A TCP connection's two ends, the same in every tool's BPF side and
 * userspace: filled from a socket (lk_flow_from_sk() in flow.bpf.h) or
 * from a packet's headers, filtered by lk_flow_wanted(), printed by
 * lk_print_flow() (common/flow_print.h).
 *
 * Addresses are in network order, IPv4 in laddr[0] and raddr[0] with
 * the other words zero; ports in host order.  An IPv6 socket whose peer
 * is an IPv4-mapped address (::ffff:a.b.c.d: a dual-stack socket talking
 * to an IPv4 host) is family 4, with its IPv4 addresses: its packets are
 * IPv4 on the wire, so -4, -6, --laddr and --raddr select the same
 * connections whether a tool sees sockets or packets.
 *
 * It is a hash key (or part of one): callers zero-fill it first.
 */
struct lk_flow {
	unsigned int laddr[4];
	unsigned int raddr[4];
	unsigned short lport;
	unsigned short rport;
	unsigned char family;		/* 4 or 6; 0: not filled */
	unsigned char pad[3];
};

/*
 * The process that owns a socket: the one that called connect() or
 * listen() on it (tools that keep owners; flow.bpf.h fills and filters
 * it).  tgid 0: no owner known.
 */
struct lk_owner {
	unsigned int tgid;
	unsigned int pad;
	unsigned long long cgroup_id;	/* its cgroup v2 */
	char comm[16];
};

/* Listeners of the processes watched found open at a tool's start. */
#define LK_MAX_SEEDS	4096

#endif
