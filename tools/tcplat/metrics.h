/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef TCPLAT_METRICS_H
#define TCPLAT_METRICS_H

struct tcplat_bpf;

/* Before the load: turn the metrics rows on and size them. */
int tcplat_metrics_setup(struct tcplat_bpf *skel);
/* Once attached: the overflow rows, then serve (lk_metrics_start). */
int tcplat_metrics_start(struct tcplat_bpf *skel);

#endif
