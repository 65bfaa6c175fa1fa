/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_HIST_H
#define LK_HIST_H

#include <stdbool.h>
#include <stdint.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#include "loghist.h"

/* Summary of a distribution; values in the histogram's unit (often ns). */
struct lk_dist {
	uint64_t count;
	uint64_t min;
	uint64_t max;
	double sum;
	double mean;
	double p50;
	double p90;
	double p99;
	double p999;
};

/*
 * Percentile @p (0..100) of a log-linear histogram, nearest rank,
 * interpolated inside the bucket that holds it.  0 if empty.
 */
double lh_percentile(const uint64_t *b, unsigned int n, unsigned int sub_bits,
		     double p);

/*
 * Fill @d from log-linear buckets.  count, min and max come from the
 * buckets unless the caller knows them exactly: set d->min/max/sum
 * before the call and pass exact=true to keep them (percentiles are
 * then clamped to [min, max]).
 */
void lh_summarize(const uint64_t *b, unsigned int n, unsigned int sub_bits,
		  struct lk_dist *d, bool exact);

/* Fold log-linear buckets into classic log2 slots. */
void lh_to_log2(const uint64_t *b, unsigned int n, unsigned int sub_bits,
		uint64_t *log2, unsigned int nlog2);

/*
 * Histograms in the libbpf-tools layout (text), or as a JSON array
 * "hist":[{"lo":..,"hi":..,"count":..},...] of the used range.
 * @unit names the values ("usecs"); log2 slot i covers [2^i, 2^(i+1)-1],
 * slot 0 covers [0, 1].
 */
void lk_print_log2_hist(const uint64_t *vals, unsigned int n, const char *unit);
void lk_print_linear_hist(const uint64_t *vals, unsigned int n, uint64_t base,
			  uint64_t step, const char *unit);

/*
 * Print a summary through the output layer as fields count, mean, p50,
 * p90, p99, p99.9 (JSON "p999"), min, max, each divided by @div
 * (1000 for ns→µs).  @sfx is appended to the JSON keys ("_us").
 */
void lk_print_dist(const struct lk_dist *d, double div, const char *sfx);

/* Bucket-wise sum of per-CPU copies: out[i] = sum over cpus of in[cpu*n+i]. */
void lk_sum_percpu(const uint64_t *in, unsigned int ncpus, unsigned int n,
		   uint64_t *out);

#endif
