/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_TC_H
#define LK_TC_H

#include <stdbool.h>

/*
 * Attaching SCHED_CLS programs to an interface.  tcx links (Linux 6.6+)
 * are preferred: they vanish with the process, so a killed tool leaves
 * nothing behind, and they do not disturb other filters.  Without tcx
 * the program goes into a clsact filter at the caller's priority and
 * handle, or the next handle free: another live run's filter stays (a
 * process holds its program); one of ours (same program name) that no
 * process holds any more, left by a killed run, is removed first.
 * Programs must be declared SEC("tc").
 */
struct lk_tc {
	int ifindex;
	bool ingress;
	bool tcx;
	int link_fd;		/* tcx link, or -1 */
	unsigned int handle;	/* clsact filter, if !tcx */
	unsigned int priority;
};

/*
 * Does this kernel support tcx links?  (Probed once, on loopback.)
 * LK_NO_TCX=1 in the environment says no, so tests can exercise clsact.
 */
bool lk_have_tcx(void);

int lk_tc_attach(int prog_fd, int ifindex, bool ingress, unsigned int handle,
		 unsigned int priority, struct lk_tc *out);
/* Pin a tcx link so it outlives the process (netlab's impairments). */
int lk_tc_pin(const struct lk_tc *tc, const char *path);
void lk_tc_detach(struct lk_tc *tc);

/*
 * Enter a network namespace (name under /run/netns or a path).  Returns
 * an fd for the namespace the caller was in, to hand to lk_netns_leave,
 * or -1 after printing one line.
 */
int lk_netns_enter(const char *spec);
int lk_netns_leave(int saved_fd);

#endif
