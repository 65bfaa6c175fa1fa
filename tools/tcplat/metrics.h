/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef TCPLAT_METRICS_H
#define TCPLAT_METRICS_H

struct tcplat_bpf;

#include <stdbool.h>

/*
 * Before the load: turn the metrics rows on and size them (not with
 * --proto, @proto: its rows are made in userspace, tcplat/payload.h).
 */
int tcplat_metrics_setup(struct tcplat_bpf *skel, bool proto);
struct ring_buffer;

/*
 * Once attached: the overflow rows, then serve (lk_metrics_start); with
 * --proto, @proto_rb is its records' ring, read before each snapshot.
 */
int tcplat_metrics_start(struct tcplat_bpf *skel, struct ring_buffer *proto_rb);

#endif
