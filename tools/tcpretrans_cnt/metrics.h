/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef TCPRETRANS_CNT_METRICS_H
#define TCPRETRANS_CNT_METRICS_H

struct tcpretrans_cnt_bpf;

/* Once attached: serve (lk_metrics_start) the kernel's cumulative totals. */
int tcpretrans_cnt_metrics_start(struct tcpretrans_cnt_bpf *skel);
void tcpretrans_cnt_metrics_stop(void);

#endif
