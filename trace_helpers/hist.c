// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "hist.h"
#include "output.h"

double lh_percentile(const uint64_t *b, unsigned int n, unsigned int sub_bits,
		     double p)
{
	uint64_t total = 0, cum = 0, rank;
	unsigned int i;

	for (i = 0; i < n; i++)
		total += b[i];
	if (!total)
		return 0;
	rank = (uint64_t)ceil(p / 100.0 * total);
	if (rank < 1)
		rank = 1;
	if (rank > total)
		rank = total;
	for (i = 0; i < n; i++) {
		double lo, width;

		if (!b[i] || cum + b[i] < rank) {
			cum += b[i];
			continue;
		}
		lo = lh_lower(i, sub_bits);
		width = (double)(lh_upper(i, sub_bits) - lh_lower(i, sub_bits) + 1);
		/* The k-th of c values spread evenly over the bucket. */
		return lo + width * ((double)(rank - cum) - 0.5) / b[i];
	}
	return 0;
}

static double clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void lh_summarize(const uint64_t *b, unsigned int n, unsigned int sub_bits,
		  struct lk_dist *d, bool exact)
{
	uint64_t count = 0;
	double sum = 0;
	int first = -1, last = -1;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!b[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		count += b[i];
		sum += b[i] * ((double)lh_lower(i, sub_bits) +
			       lh_upper(i, sub_bits)) / 2;
	}
	d->count = count;
	if (!count) {
		d->min = d->max = 0;
		d->sum = d->mean = d->p50 = d->p90 = d->p99 = d->p999 = 0;
		return;
	}
	if (!exact) {
		d->min = lh_lower(first, sub_bits);
		d->max = lh_upper(last, sub_bits);
		d->sum = sum;
	}
	d->mean = d->sum / count;
	d->p50 = clamp(lh_percentile(b, n, sub_bits, 50), d->min, d->max);
	d->p90 = clamp(lh_percentile(b, n, sub_bits, 90), d->min, d->max);
	d->p99 = clamp(lh_percentile(b, n, sub_bits, 99), d->min, d->max);
	d->p999 = clamp(lh_percentile(b, n, sub_bits, 99.9), d->min, d->max);
}

void lh_to_log2(const uint64_t *b, unsigned int n, unsigned int sub_bits,
		uint64_t *log2, unsigned int nlog2)
{
	unsigned int i, slot;

	memset(log2, 0, nlog2 * sizeof(*log2));
	for (i = 0; i < n; i++) {
		if (!b[i])
			continue;
		/* A log-linear bucket never straddles a power of two. */
		slot = lh_log2_slot(lh_lower(i, sub_bits));
		if (slot >= nlog2)
			slot = nlog2 - 1;
		log2[slot] += b[i];
	}
}

static void print_stars(uint64_t val, uint64_t max, int width)
{
	int i, n = max ? (int)((double)val * width / max) : 0;

	if (n > width)
		n = width;
	for (i = 0; i < n; i++)
		lk_printf("*");
	for (; i < width; i++)
		lk_printf(" ");
}

static void print_range_json(uint64_t lo, uint64_t hi, uint64_t count)
{
	lk_open_object(NULL);
	lk_print_u64(LK_JSON, "lo", NULL, lo);
	lk_print_u64(LK_JSON, "hi", NULL, hi);
	lk_print_u64(LK_JSON, "count", NULL, count);
	lk_close_object();
}

static int used_range(const uint64_t *vals, unsigned int n, int *first)
{
	int last = -1;
	unsigned int i;

	*first = -1;
	for (i = 0; i < n; i++) {
		if (!vals[i])
			continue;
		if (*first < 0)
			*first = i;
		last = i;
	}
	return last;
}

void lk_print_log2_hist(const uint64_t *vals, unsigned int n, const char *unit)
{
	uint64_t max = 0;
	int first, last, i, w;

	last = used_range(vals, n, &first);
	for (i = 0; i <= last; i++)
		if (vals[i] > max)
			max = vals[i];
	lk_open_array("hist");
	if (last < 0) {
		lk_close_array();
		return;
	}
	w = last <= 32 ? 10 : 20;
	lk_printf("%*s%-*s : count    distribution\n", w > 10 ? 5 : 0, "",
		  w > 10 ? 19 : 16, unit);
	for (i = 0; i <= last; i++) {
		uint64_t lo = i ? 1ULL << i : 0;
		uint64_t hi = (i < 63 ? 1ULL << (i + 1) : 0) - 1;

		if (lk_out_json()) {
			if (i >= first)
				print_range_json(lo, hi, vals[i]);
			continue;
		}
		lk_printf("%*llu -> %-*llu : %-8llu |", w, (unsigned long long)lo,
			  w, (unsigned long long)hi, (unsigned long long)vals[i]);
		print_stars(vals[i], max, 40);
		lk_printf("|\n");
	}
	lk_close_array();
}

void lk_print_linear_hist(const uint64_t *vals, unsigned int n, uint64_t base,
			  uint64_t step, const char *unit)
{
	uint64_t max = 0;
	int first, last, i;

	last = used_range(vals, n, &first);
	for (i = 0; i <= last; i++)
		if (vals[i] > max)
			max = vals[i];
	lk_open_array("hist");
	if (last < 0) {
		lk_close_array();
		return;
	}
	lk_printf("%10s : count    distribution\n", unit);
	for (i = first; i <= last; i++) {
		uint64_t lo = base + i * step;

		if (lk_out_json()) {
			print_range_json(lo, lo + step - 1, vals[i]);
			continue;
		}
		lk_printf("%10llu : %-8llu |", (unsigned long long)lo,
			  (unsigned long long)vals[i]);
		print_stars(vals[i], max, 40);
		lk_printf("|\n");
	}
	lk_close_array();
}

static void print_field(const char *name, const char *sfx, const char *fmt,
			double v)
{
	char key[64];

	snprintf(key, sizeof(key), "%s%s", name, sfx ? sfx : "");
	lk_print_float(LK_ANY, key, fmt, v);
}

void lk_print_dist(const struct lk_dist *d, double div, const char *sfx)
{
	if (div <= 0)
		div = 1;
	lk_print_u64(LK_ANY, "count", "%10" PRIu64 " ", d->count);
	print_field("mean", sfx, "%10.1f ", d->mean / div);
	print_field("p50", sfx, "%10.1f ", d->p50 / div);
	print_field("p90", sfx, "%10.1f ", d->p90 / div);
	print_field("p99", sfx, "%10.1f ", d->p99 / div);
	print_field("p999", sfx, "%10.1f ", d->p999 / div);
	print_field("min", sfx, "%10.1f ", d->min / div);
	print_field("max", sfx, "%10.1f", d->max / div);
}

void lk_sum_percpu(const uint64_t *in, unsigned int ncpus, unsigned int n,
		   uint64_t *out)
{
	unsigned int c, i;

	memset(out, 0, n * sizeof(*out));
	for (c = 0; c < ncpus; c++)
		for (i = 0; i < n; i++)
			out[i] += in[(size_t)c * n + i];
}
