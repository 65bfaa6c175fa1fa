/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef NETIMPAIR_H
#define NETIMPAIR_H

/*
 * netlab's loss impairment: one tc program per direction, attached at
 * the receiving side's ingress, dropping IPv4/IPv6 packets at random.
 * Both maps have one entry per direction and are pinned, so that
 * `netlab set` and `netlab status` reach them after netlab has exited.
 */
enum {
	NETIMPAIR_TO_SERVER = 0,	/* at the server's veth0 ingress */
	NETIMPAIR_TO_CLIENT = 1,	/* at the client's veth0 ingress */
	NETIMPAIR_NDIR = 2,
};

struct netimpair_cfg {
	/* Drop when bpf_get_prandom_u32() < drop_below: 0 never, 1 << 32 always. */
	unsigned long long drop_below;
	/* The loss as set, in parts per million, for `netlab status`. */
	unsigned int loss_ppm;
	unsigned int pad;
};

/* Per CPU: what the program saw and dropped (IPv4 and IPv6 only). */
struct netimpair_cnt {
	unsigned long long seen;
	unsigned long long dropped;
};

#endif
