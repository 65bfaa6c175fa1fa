/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef TCPREQ_LAT_H
#define TCPREQ_LAT_H

#include <stdint.h>

/*
 * Latency histogram: bpf/loghist.h's log-linear buckets with 7 sub-bucket
 * bits (a bucket is at most 1/128 of its values wide: percentiles within
 * ~0.4%) over ns, exact below 128 ns, up to 2^37 ns (~137 s); larger
 * values land in the last bucket.  One per thread, merged at report time.
 */
#define TCPREQ_LAT_SUB		7
#define TCPREQ_LAT_MAXMSB	36
#define TCPREQ_LAT_BUCKETS	(((TCPREQ_LAT_MAXMSB) - (TCPREQ_LAT_SUB) + 2) << (TCPREQ_LAT_SUB))

struct tcpreq_lat {
	uint64_t b[TCPREQ_LAT_BUCKETS];
	uint64_t count;
	uint64_t min;
	uint64_t max;
	double sum;
};

void tcpreq_lat_init(struct tcpreq_lat *h);
void tcpreq_lat_add(struct tcpreq_lat *h, uint64_t ns);
void tcpreq_lat_merge(struct tcpreq_lat *dst, const struct tcpreq_lat *src);
/* Percentile p (0..100) in ns, clamped to [min, max]; 0 if empty. */
double tcpreq_lat_pct(const struct tcpreq_lat *h, double p);

#endif
