/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef TCSTAMP_H
#define TCSTAMP_H

#include "flow.h"

/*
 * tcstamp: TCP round trip and one-way delay timed at tc ingress/egress.
 * A "side" is one attachment point (an interface in a namespace); side 0
 * is -I, side 1 the optional --peer.  Flows are keyed local-first: the
 * local end is the one on this side of the interface.
 */
#define TS_SIDES	2
#define TS_RING		8	/* data segments remembered per flow */
#define TS_TSRING	4	/* TSvals remembered per flow */
#define TS_MAX_FLOWS	8192	/* per-flow matching state (LRU) */
#define TS_MAX_STATS	2048	/* per-flow, per-kind figures per interval */
#define TS_MAX_OWD	16384	/* segments in flight between the two sides */

enum ts_kind {
	TS_K_RTT = 0,	/* egress data -> ingress ACK at one side */
	TS_K_OWD = 1,	/* peer side's egress -> this side's ingress */
};

enum ts_method {
	TS_M_SEQ = 0,	/* ACK number first covers a recorded end_seq */
	TS_M_TS = 1,	/* TSecr equals a recorded TSval */
	TS_M_OWD = 2,
};

struct ts_flow {
	struct lk_flow ends;	/* local end first */
	unsigned int side;
};

/*
 * Per-flow matching state.  A slot packs (end_seq or TSval) << 32 with the
 * send time in 64 ns units (modulo 2^32: 275 s), 0 when empty, so egress
 * and ingress on different CPUs hand slots over with one compare-and-swap
 * each: an ACK takes a sample only if it empties the very slot it read,
 * so a retransmission that erased it first always wins.
 */
#define TS_TUNIT_SHIFT	6

/* Per-flow, per-interval figures (kernel ns). */
#define TS_SUB_BITS	4
#define TS_MAX_MSB	36	/* ~69 s */
#define TS_NBUCKETS	(((TS_MAX_MSB) - (TS_SUB_BITS) + 2) << (TS_SUB_BITS))

struct flow_state {
	unsigned int snd_max;		/* highest end_seq sent (egress only) */
	unsigned int snd_una;		/* highest cumulative ACK (ingress only) */
	unsigned char have_max;
	unsigned char have_una;
	unsigned char head;
	unsigned char tshead;
	unsigned int last_tsval;
	unsigned long long slot[TS_RING];
	unsigned long long tsslot[TS_TSRING];
	/*
	 * Counted here, not in ts_stats, so that a packet costs one hash
	 * lookup; cumulative since the entry was made at @created (userspace
	 * prints the difference per interval, knows a new entry for the same
	 * flow by its @created, and expires a flow whose counters stood
	 * still for a minute).
	 */
	unsigned long long created;
	unsigned long long bytes_out;	/* TCP payload sent */
	unsigned long long bytes_in;	/* TCP payload received */
	unsigned long long segs_out;
	unsigned long long retrans;	/* segments sent again (seq below highest) */
	unsigned long long bytes_retrans;	/* of bytes_out, those sent before */
	/*
	 * The flow's RTT samples, cumulative as the counters above: the
	 * sample count is the sum of @hist (buckets count modulo 2^32, and
	 * userspace takes differences modulo 2^32).  Minimum and maximum are
	 * per reporting epoch (tcstamp_bpf's @epoch, which userspace
	 * advances at each report), in the pair that epoch's parity picks.
	 */
	unsigned long long ts_samples;	/* of which by TSval/TSecr */
	unsigned long long sum_ns;
	unsigned int mm_epoch[2];
	unsigned long long min_ns[2];
	unsigned long long max_ns[2];
	unsigned int hist[TS_NBUCKETS];
};

/* One-way delay rows: per (flow, kind), per interval (common/maps.h: lk_gen). */
struct ts_stats_key {
	struct ts_flow flow;
	unsigned short kind;
	unsigned short gen;
};

struct ts_stats {
	unsigned long long samples;
	unsigned long long ts_samples;	/* of which by TSval/TSecr */
	unsigned long long sum_ns;
	unsigned long long min_ns;
	unsigned long long max_ns;
	/* RTT rows: from flow_state, made by userspace. */
	unsigned long long bytes_out;
	unsigned long long bytes_in;
	unsigned long long segs_out;
	unsigned long long retrans;
	unsigned long long bytes_retrans;
	unsigned long long hist[TS_NBUCKETS];
};

/* Global counters, per CPU. */
struct ts_totals {
	unsigned long long pkts;
	unsigned long long tcp;
	unsigned long long samples;
	unsigned long long parse_skip;	/* not parsed: fragment, truncated, ... */
	unsigned long long flow_drops;	/* flow state could not be created */
	unsigned long long stats_drops;	/* stats map full */
	unsigned long long ring_full;	/* segment not recorded: ring full */
	unsigned long long owd_drops;	/* OWD map update failed */
	unsigned long long ev_drops;	/* ring buffer full */
	unsigned long long owd_retrans;	/* OWD match of a resent segment, no sample */
};

struct ts_event {
	unsigned long long ts_ns;	/* bpf_ktime_get_ns() at the sample */
	unsigned long long delay_ns;
	struct ts_flow flow;
	unsigned int kind;
	unsigned int method;
	unsigned int seq;		/* end_seq (RTT) or seq (OWD) */
	unsigned int len;
};

#endif
