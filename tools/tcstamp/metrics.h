/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef TCSTAMP_METRICS_H
#define TCSTAMP_METRICS_H

struct tcstamp_bpf;

/*
 * Once attached: serve.  @iface[side] is the interface label of each of
 * the @nsides sides.
 */
int tcstamp_metrics_start(struct tcstamp_bpf *skel, char iface[][64], int nsides);
/*
 * Fold the flows' counters into the cumulative rows: every snapshot
 * does, and the report before it deletes idle flows.  Returns 0 or a
 * negative errno.
 */
int tcstamp_metrics_fold(void);

#endif
