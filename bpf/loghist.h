/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_LOGHIST_H
#define LK_LOGHIST_H

/*
 * Log-linear ("HDR-style") histogram buckets, shared by BPF programs and
 * userspace.  Values below 2^sub_bits get a bucket each; above that,
 * every power of two is split into 2^sub_bits equal buckets, so a
 * bucket's width is at most 1/2^sub_bits of its values: with sub_bits 4
 * a percentile read at the bucket middle is within 3.2%, with 7 within
 * 0.4%.  Bucket of v with most significant bit m >= sub_bits:
 *	((m - sub_bits + 1) << sub_bits) + next sub_bits bits of v.
 * No loops and no clz, so the verifier and old compilers accept it.
 */

/* Kernel tools: ns values up to 2^39 (~9 min) in 592 buckets. */
#define LH_SUB_BITS	4
#define LH_MAX_MSB	39
#define LH_NBUCKETS(sub, maxmsb)	(((maxmsb) - (sub) + 2) << (sub))
#define LH_BUCKETS	LH_NBUCKETS(LH_SUB_BITS, LH_MAX_MSB)

static __always_inline unsigned int lh_msb(unsigned long long v)
{
	unsigned int r, shift;

	r = (v > 0xFFFFFFFFULL) << 5;
	v >>= r;
	shift = (v > 0xFFFF) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xFF) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xF) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline unsigned int lh_index(unsigned long long v,
					     unsigned int sub_bits,
					     unsigned int nbuckets)
{
	unsigned int msb, idx;

	if (v < (1ULL << sub_bits))
		return v;
	msb = lh_msb(v);
	idx = ((msb - sub_bits + 1) << sub_bits) +
	      ((v >> (msb - sub_bits)) & ((1U << sub_bits) - 1));
	return idx < nbuckets ? idx : nbuckets - 1;
}

/* Smallest value that falls in bucket idx. */
static __always_inline unsigned long long lh_lower(unsigned int idx,
						   unsigned int sub_bits)
{
	unsigned int g = idx >> sub_bits;
	unsigned long long m = idx & ((1U << sub_bits) - 1);

	if (!g)
		return idx;
	return ((1ULL << sub_bits) + m) << (g - 1);
}

/* Largest value that falls in bucket idx. */
static __always_inline unsigned long long lh_upper(unsigned int idx,
						   unsigned int sub_bits)
{
	unsigned int g = idx >> sub_bits;

	if (!g)
		return idx;
	return lh_lower(idx, sub_bits) + (1ULL << (g - 1)) - 1;
}

/* Classic log2 slot (as in libbpf-tools' histograms): 0 for 0 and 1. */
static __always_inline unsigned int lh_log2_slot(unsigned long long v)
{
	return v ? lh_msb(v) : 0;
}

#endif
