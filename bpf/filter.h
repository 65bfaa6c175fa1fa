/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_FILTER_H
#define LK_FILTER_H

/*
 * The task, namespace and flow filter every tool's BPF side shares, set
 * from lk_opts before load as one rodata variable:
 *	skel->rodata->lk_filter = lk_filter_from_opts();
 * Zero fields match everything.  The flow fields apply to a struct
 * lk_flow (flow.h), whose family already counts an IPv4-mapped peer as
 * IPv4.
 */
struct lk_filter {
	unsigned int tgid;		/* -p */
	unsigned int netns;		/* --netns: inode of the namespace */
	unsigned long long cgroup_id;	/* --cgroup */
	char comm[16];			/* -c; comm[0] == 0: any */
	unsigned int tid;		/* -t */
	unsigned short lport;		/* --lport */
	unsigned short rport;		/* --rport */
	unsigned char family;		/* -4, -6: 4 or 6 */
	unsigned char laddr_family;	/* --laddr: 4 or 6; 0: any */
	unsigned char raddr_family;	/* --raddr */
	unsigned char pad;
	unsigned int laddr[4];		/* network order, as in struct lk_flow */
	unsigned int raddr[4];
};

#endif
