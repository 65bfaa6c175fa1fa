// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "hist.h"
#include "unit.h"

static void test_index_bounds(unsigned int sub)
{
	unsigned int n = LH_NBUCKETS(sub, 39), prev = 0, i;
	uint64_t v;

	/* Every value lies within its bucket's bounds, indices never go back. */
	for (v = 0; v < (1ULL << 39); v = v < 4096 ? v + 1 : v + v / 97 + 1) {
		unsigned int idx = lh_index(v, sub, n);

		CHECK(idx < n);
		CHECK(lh_lower(idx, sub) <= v && v <= lh_upper(idx, sub));
		CHECK(idx >= prev);
		prev = idx;
	}
	/* Buckets tile the number line: each starts where the last ended. */
	for (i = 1; i < n; i++)
		CHECK(lh_lower(i, sub) == lh_upper(i - 1, sub) + 1);
	/* Relative width bound. */
	for (i = 1U << sub; i < n; i++)
		CHECK((double)(lh_upper(i, sub) - lh_lower(i, sub) + 1) /
		      lh_lower(i, sub) <= 1.0 / (1U << sub) + 1e-12);
	CHECK(lh_index(~0ULL, sub, n) == n - 1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_percentiles(void)
{
	enum { N = 20000 };
	static uint64_t vals[N], b[LH_BUCKETS];
	struct lk_dist d;
	double ps[] = { 50, 90, 99, 99.9 };
	unsigned int i;

	srand(1);
	memset(b, 0, sizeof(b));
	for (i = 0; i < N; i++) {
		/* Log-uniform over 1 µs .. 100 ms, in ns. */
		vals[i] = (uint64_t)(1000 * pow(1e5, rand() / (double)RAND_MAX));
		b[lh_index(vals[i], LH_SUB_BITS, LH_BUCKETS)]++;
	}
	qsort(vals, N, sizeof(vals[0]), cmp_u64);
	for (i = 0; i < 4; i++) {
		uint64_t exact = vals[(size_t)ceil(ps[i] / 100 * N) - 1];
		double got = lh_percentile(b, LH_BUCKETS, LH_SUB_BITS, ps[i]);

		CHECK(fabs(got - exact) / exact < 1.0 / (1 << LH_SUB_BITS));
	}
	lh_summarize(b, LH_BUCKETS, LH_SUB_BITS, &d, false);
	CHECK(d.count == N);
	CHECK(d.min <= vals[0] && d.max >= vals[N - 1]);
	CHECK(d.p50 <= d.p90 && d.p90 <= d.p99 && d.p99 <= d.p999);

	/* A single value: every percentile is that value when exact. */
	memset(b, 0, sizeof(b));
	b[lh_index(2000000, LH_SUB_BITS, LH_BUCKETS)] = 5;
	d.min = d.max = 2000000;
	d.sum = 5 * 2000000.0;
	lh_summarize(b, LH_BUCKETS, LH_SUB_BITS, &d, true);
	CHECK(d.p50 == 2000000 && d.p999 == 2000000 && d.mean == 2000000);

	memset(b, 0, sizeof(b));
	lh_summarize(b, LH_BUCKETS, LH_SUB_BITS, &d, false);
	CHECK(d.count == 0 && d.p99 == 0);
}

static void test_log2(void)
{
	uint64_t b[LH_BUCKETS] = { 0 }, l2[64];

	b[lh_index(0, LH_SUB_BITS, LH_BUCKETS)] += 1;
	b[lh_index(1, LH_SUB_BITS, LH_BUCKETS)] += 1;
	b[lh_index(1000, LH_SUB_BITS, LH_BUCKETS)] += 3;
	b[lh_index(1023, LH_SUB_BITS, LH_BUCKETS)] += 1;
	b[lh_index(1024, LH_SUB_BITS, LH_BUCKETS)] += 2;
	lh_to_log2(b, LH_BUCKETS, LH_SUB_BITS, l2, 64);
	CHECK(l2[0] == 2);
	CHECK(l2[9] == 4);
	CHECK(l2[10] == 2);
	CHECK(lh_log2_slot(1) == 0 && lh_log2_slot(2) == 1 && lh_log2_slot(1ULL << 40) == 40);
}

int main(void)
{
	test_index_bounds(4);
	test_index_bounds(7);
	test_percentiles();
	test_log2();
	return unit_done("test_hist");
}
