// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <string.h>
#include "hist.h"
#include "tcpreq/lat.h"

void tcpreq_lat_init(struct tcpreq_lat *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void tcpreq_lat_add(struct tcpreq_lat *h, uint64_t ns)
{
	h->b[lh_index(ns, TCPREQ_LAT_SUB, TCPREQ_LAT_BUCKETS)]++;
	h->count++;
	h->sum += ns;
	if (ns < h->min)
		h->min = ns;
	if (ns > h->max)
		h->max = ns;
}

void tcpreq_lat_merge(struct tcpreq_lat *dst, const struct tcpreq_lat *src)
{
	unsigned int i;

	if (!src->count)
		return;
	for (i = 0; i < TCPREQ_LAT_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

double tcpreq_lat_pct(const struct tcpreq_lat *h, double p)
{
	double v;

	if (!h->count)
		return 0;
	v = lh_percentile(h->b, TCPREQ_LAT_BUCKETS, TCPREQ_LAT_SUB, p);
	if (v < h->min)
		v = h->min;
	if (v > h->max)
		v = h->max;
	return v;
}
