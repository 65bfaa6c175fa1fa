// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * tcstamp's metrics: RTT histograms and byte and segment counters per
 * (interface, remote address), cumulative since the start.  The flow
 * table's entries count since each was made; every fold adds each
 * flow's growth since the last fold (a new entry: all of it) to its
 * row, so a flow's deletion (idle, or evicted) loses at most what it
 * did since the last fold.  Remote addresses get their own rows up to a
 * cap, then remote="other".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "array.h"
#include "latkit.h"
#include "metrics.h"
#include "tcstamp.h"
#include "tcstamp.skel.h"
#include "tcstamp/metrics.h"

/* le = 2^k ns, k = MIN_MSB .. MIN_MSB + NBOUNDS - 1 (1.024 us .. 68.7 s), then +Inf. */
#define M_MIN_MSB	10
#define M_NBOUNDS	27
/* (interface, remote) rows; the rest: remote="other". */
#define M_ROWS		256

struct counts {
	uint64_t bytes_out, bytes_in, segs_out, retrans, bytes_retrans, sum_ns;
};

struct snap {
	struct ts_flow flow;
	uint64_t created;
	struct counts c;
	uint32_t hist[M_NBOUNDS + 1];	/* modulo 2^32, as the kernel's */
};

struct mrow {
	unsigned int side;
	char remote[INET6_ADDRSTRLEN];
	struct counts c;
	uint64_t hist[M_NBOUNDS + 1];
};

static struct {
	struct tcstamp_bpf *skel;
	char (*iface)[64];
	int nsides;
	unsigned char coarse[TS_NBUCKETS];
	struct snap *last, *cur;
	int nlast, ncur;
	int max_flows;			/* the flow table's size */
	struct mrow rows[M_ROWS + TS_SIDES];	/* then one other row per side */
	int nrows;
} m;

static int cmp_flow(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct ts_flow));
}

static struct mrow *row_of(const struct ts_flow *f)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned int side = f->side & 1;
	struct mrow *r;
	int i;

	if (!inet_ntop(f->ends.family == 6 ? AF_INET6 : AF_INET, f->ends.raddr, addr, sizeof(addr)))
		strcpy(addr, "?");
	for (i = 0; i < m.nrows; i++)
		if (m.rows[i].side == side && !strcmp(m.rows[i].remote, addr))
			return &m.rows[i];
	if (m.nrows == M_ROWS)
		return &m.rows[M_ROWS + side];
	r = &m.rows[m.nrows++];
	r->side = side;
	strcpy(r->remote, addr);
	return r;
}

static int fold_one(const void *key, const void *val, void *p)
{
	const struct flow_state *st = val;
	const struct snap *o;
	struct snap *now;
	struct mrow *r;
	int i;

	(void)p;
	if (m.ncur >= m.max_flows)
		return 0;
	now = &m.cur[m.ncur++];
	memset(now, 0, sizeof(*now));
	memcpy(&now->flow, key, sizeof(now->flow));
	now->created = st->created;
	now->c.bytes_out = st->bytes_out;
	now->c.bytes_in = st->bytes_in;
	now->c.segs_out = st->segs_out;
	now->c.retrans = st->retrans;
	now->c.bytes_retrans = st->bytes_retrans;
	now->c.sum_ns = st->sum_ns;
	for (i = 0; i < TS_NBUCKETS; i++)
		now->hist[m.coarse[i]] += st->hist[i];
	o = bsearch(now, m.last, m.nlast, sizeof(*m.last), cmp_flow);
	if (o && o->created != now->created)
		o = NULL;	/* evicted and made anew: all of it is new */
	r = row_of(&now->flow);
	r->c.bytes_out += now->c.bytes_out - (o ? o->c.bytes_out : 0);
	r->c.bytes_in += now->c.bytes_in - (o ? o->c.bytes_in : 0);
	r->c.segs_out += now->c.segs_out - (o ? o->c.segs_out : 0);
	r->c.retrans += now->c.retrans - (o ? o->c.retrans : 0);
	r->c.bytes_retrans += now->c.bytes_retrans - (o ? o->c.bytes_retrans : 0);
	r->c.sum_ns += now->c.sum_ns - (o ? o->c.sum_ns : 0);
	for (i = 0; i <= M_NBOUNDS; i++)
		r->hist[i] += (uint32_t)(now->hist[i] - (o ? o->hist[i] : 0));
	return 0;
}

int tcstamp_metrics_fold(void)
{
	struct snap *t;
	int err;

	if (!m.skel)
		return 0;
	m.ncur = 0;
	err = lk_map_foreach(bpf_map__fd(m.skel->maps.flows), sizeof(struct ts_flow),
			     sizeof(struct flow_state), false, m.max_flows, NULL, fold_one, NULL);
	if (err)
		return err;
	qsort(m.cur, m.ncur, sizeof(*m.cur), cmp_flow);
	t = m.last;
	m.last = m.cur;
	m.nlast = m.ncur;
	m.cur = t;
	return 0;
}

static void labels(char *l, size_t len, const struct mrow *r)
{
	lk_m_labels(l, len, "interface", m.iface[r->side], "remote", r->remote, NULL);
}

static bool shown(const struct mrow *r)
{
	return r->c.bytes_out || r->c.bytes_in || r->c.segs_out;
}

static void counter(struct lk_mw *w, const char *name, const char *unit, const char *help,
		    size_t off)
{
	char l[160];
	int i;

	lk_m_family(w, name, LK_MT_COUNTER, unit, help);
	for (i = 0; i < M_ROWS + TS_SIDES; i++) {
		const struct mrow *r = &m.rows[i];

		if (!shown(r))
			continue;
		labels(l, sizeof(l), r);
		lk_m_u64(w, l, *(const uint64_t *)((const char *)&r->c + off));
	}
}

static int write_metrics(void *p, struct lk_mw *w)
{
	static const char *const drop_names[] = { "flow", "stats", "owd", "event", "ring" };
	uint64_t bounds[M_NBOUNDS], n;
	struct ts_totals t;
	char l[160];
	int zero = 0, i, j, err;

	(void)p;
	tcstamp_metrics_fold();
	err = lk_percpu_sum_u64(bpf_map__fd(m.skel->maps.totals), &zero, (uint64_t *)&t,
				sizeof(t) / sizeof(uint64_t));
	if (err) {
		lk_err("reading the totals map failed: %s", strerror(-err));
		return err;
	}
	for (i = 0; i < M_NBOUNDS; i++)
		bounds[i] = 1ULL << (M_MIN_MSB + i);
	lk_m_family(w, "latkit_tc_rtt_seconds", LK_MT_HISTOGRAM, "seconds",
		    "TCP round trip at tc: egress data to the ingress ACK that first covers it.");
	for (i = 0; i < M_ROWS + TS_SIDES; i++) {
		const struct mrow *r = &m.rows[i];

		if (!shown(r))
			continue;
		for (n = 0, j = 0; j <= M_NBOUNDS; j++)
			n += r->hist[j];
		labels(l, sizeof(l), r);
		lk_m_hist_ns(w, l, bounds, r->hist, M_NBOUNDS, r->c.sum_ns, n);
	}
	counter(w, "latkit_tc_sent_bytes", "bytes", "TCP payload bytes sent (egress).",
		offsetof(struct counts, bytes_out));
	counter(w, "latkit_tc_received_bytes", "bytes", "TCP payload bytes received (ingress).",
		offsetof(struct counts, bytes_in));
	counter(w, "latkit_tc_retransmitted_bytes", "bytes",
		"Of the bytes sent, those sent before (sequence below the highest sent).",
		offsetof(struct counts, bytes_retrans));
	counter(w, "latkit_tc_sent_segments", NULL, "TCP segments with payload sent (egress).",
		offsetof(struct counts, segs_out));
	counter(w, "latkit_tc_retransmitted_segments", NULL, "Of the segments sent, those sent before.",
		offsetof(struct counts, retrans));
	lk_m_family(w, "latkit_tc_samples", LK_MT_COUNTER, NULL,
		    "Delay samples taken (RTT, and one-way delay with --peer).");
	lk_m_u64(w, NULL, t.samples);
	lk_m_family(w, "latkit_tc_packets", LK_MT_COUNTER, NULL, "Packets seen at tc.");
	lk_m_u64(w, NULL, t.pkts);
	lk_m_family(w, "latkit_tc_tcp_packets", LK_MT_COUNTER, NULL, "TCP packets seen at tc.");
	lk_m_u64(w, NULL, t.tcp);
	lk_m_family(w, "latkit_tc_unparsed_packets", LK_MT_COUNTER, NULL,
		    "Packets not parsed (fragments, truncated headers, ...).");
	lk_m_u64(w, NULL, t.parse_skip);
	lk_m_dropped(w, "latkit_tc_dropped",
		     "What tcstamp could not record: flow, stats, owd (tables full), event (ring buffer), ring (segment ring of a flow full).", drop_names,
		     (const unsigned long long[]){ t.flow_drops, t.stats_drops, t.owd_drops, t.ev_drops, t.ring_full },
		     LK_ARRAY_SIZE(drop_names));
	lk_m_map_entries(w, "flows", m.nlast, m.max_flows);
	lk_m_bpf_progs(w, m.skel->obj);
	return 0;
}

int tcstamp_metrics_start(struct tcstamp_bpf *skel, char iface[][64], int nsides)
{
	unsigned int b, i;

	if (!lk_metrics_on())
		return 0;
	m.max_flows = bpf_map__max_entries(skel->maps.flows);
	m.last = calloc(m.max_flows, sizeof(*m.last));
	m.cur = calloc(m.max_flows, sizeof(*m.cur));
	if (!m.last || !m.cur) {
		lk_err("out of memory");
		return -1;
	}
	for (b = 0; b < TS_NBUCKETS; b++) {
		unsigned long long hi = lh_upper(b, TS_SUB_BITS);

		for (i = 0; i < M_NBOUNDS && hi >= 1ULL << (M_MIN_MSB + i); i++)
			;
		m.coarse[b] = i;
	}
	for (i = 0; i < TS_SIDES; i++) {
		m.rows[M_ROWS + i].side = i;
		strcpy(m.rows[M_ROWS + i].remote, "other");
	}
	m.iface = iface;
	m.nsides = nsides;
	m.skel = skel;
	/* The flows made before now count from zero. */
	return lk_metrics_start(write_metrics, NULL);
}
