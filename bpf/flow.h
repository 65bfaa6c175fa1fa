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

#endif
