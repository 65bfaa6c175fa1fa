/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef TCPCONNLAT_METRICS_H
#define TCPCONNLAT_METRICS_H

#include <stdint.h>
#include "tcpconnlat.h"

struct tcpconnlat_bpf;

/*
 * Duration buckets: le = 2^(CL_M_MIN_MSB + i) ns for i < CL_M_BUCKETS - 1
 * (1.024 us .. 34.4 s, as tcplat's), the last +Inf.
 */
#define CL_M_MIN_MSB	10
#define CL_M_BUCKETS	27

/* One direction's totals since the start. */
struct cl_mdir {
	uint64_t ok;			/* handshakes completed */
	uint64_t fail[CL_NCAUSES];
	uint64_t measured;		/* of ok, with a latency */
	uint64_t sum_ns;
	uint64_t hist[CL_M_BUCKETS];
};

/*
 * What the reports read from the kernel's row and histogram tables,
 * kept here: each report deletes the rows it read.
 */
struct cl_metrics {
	struct tcpconnlat_bpf *skel;
	struct cl_mdir dir[CL_NDIRS];
};

/* A total row or histogram entry a report read (others are ignored). */
void cl_metrics_row(struct cl_mdir *dirs, const struct cl_key *k, const struct cl_stats *s);
void cl_metrics_bucket(struct cl_mdir *dirs, const struct cl_hkey *hk, uint64_t n);
/* Once attached: serve (lk_metrics_start); nothing without --listen or --textfile. */
int tcpconnlat_metrics_start(struct cl_metrics *m);

#endif
