/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_FILTER_H
#define LK_FILTER_H

/*
 * The task and namespace filter every tool's BPF side shares, set from
 * lk_opts before load as one rodata variable:
 *	skel->rodata->lk_filter = lk_filter_from_opts();
 * Zero fields match everything.
 */
struct lk_filter {
	unsigned int tgid;		/* -p */
	unsigned int netns;		/* --netns: inode of the namespace */
	unsigned long long cgroup_id;	/* --cgroup */
	char comm[16];			/* -c; comm[0] == 0: any */
	unsigned int tid;		/* -t */
};

#endif
