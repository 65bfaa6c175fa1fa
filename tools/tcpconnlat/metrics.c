// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * tcpconnlat's metrics: counters since the start.  Every report deletes
 * the generation of rows and histogram counts it read, so a snapshot is
 * what the reports read (struct cl_metrics, added up as they read) plus
 * what the tables hold now, both generations, read without deleting.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "array.h"
#include "latkit.h"
#include "metrics.h"
#include "tcpconnlat.h"
#include "tcpconnlat.skel.h"
#include "tcpconnlat/metrics.h"

static const char *const dir_names[CL_NDIRS] = { "active", "passive" };
static const char *const cause_names[CL_NCAUSES] = { "refused", "timeout", "reset", "other" };

void cl_metrics_row(struct cl_mdir *dirs, const struct cl_key *k, const struct cl_stats *s)
{
	struct cl_mdir *d;
	int i;

	if (k->what != CL_TOTAL || k->dir >= CL_NDIRS)
		return;
	d = &dirs[k->dir];
	d->ok += s->opens;
	d->measured += s->measured;
	d->sum_ns += s->sum_ns;
	for (i = 0; i < CL_NCAUSES; i++)
		d->fail[i] += s->fail[i];
}

/* The power-of-two bucket of a log-linear one: each lies within one power of two. */
static unsigned int pow2_bucket(unsigned int idx)
{
	uint64_t lo = lh_lower(idx, LH_SUB_BITS);
	unsigned int b = 0;

	while (b < CL_M_BUCKETS - 1 && lo >= 1ULL << (CL_M_MIN_MSB + b))
		b++;
	return b;
}

void cl_metrics_bucket(struct cl_mdir *dirs, const struct cl_hkey *hk, uint64_t n)
{
	if (hk->row.what != CL_TOTAL || hk->row.dir >= CL_NDIRS)
		return;
	dirs[hk->row.dir].hist[pow2_bucket(hk->bucket)] += n;
}

struct now {
	struct cl_mdir dir[CL_NDIRS];
	uint64_t rows;			/* entries in the row table */
};

static int read_row(const void *key, const void *val, void *p)
{
	struct now *n = p;

	n->rows++;
	cl_metrics_row(n->dir, key, val);
	return 0;
}

static int read_bucket(const void *key, const void *val, void *p)
{
	struct now *n = p;

	cl_metrics_bucket(n->dir, key, *(const uint64_t *)val);
	return 0;
}

static int write_metrics(void *p, struct lk_mw *w)
{
	static const char *const drop_names[] = { "socket", "row", "event" };
	struct cl_metrics *m = p;
	struct tcpconnlat_bpf *s = m->skel;
	struct now n = {};
	struct cl_totals t;
	uint64_t bounds[CL_M_BUCKETS - 1], *a = (void *)n.dir;
	const uint64_t *b = (const void *)m->dir;
	char l[64];
	size_t i;
	int zero = 0, err, d, c;

	err = lk_map_foreach(bpf_map__fd(s->maps.rows), sizeof(struct cl_key),
			     sizeof(struct cl_stats), false,
			     bpf_map__max_entries(s->maps.rows), NULL, read_row, &n);
	if (!err)
		err = lk_map_foreach(bpf_map__fd(s->maps.hist), sizeof(struct cl_hkey),
				     sizeof(uint64_t), false,
				     bpf_map__max_entries(s->maps.hist), NULL, read_bucket,
				     &n);
	if (!err)
		err = lk_percpu_sum_u64(bpf_map__fd(s->maps.totals), &zero, (uint64_t *)&t,
					sizeof(t) / sizeof(uint64_t));
	if (err) {
		lk_err("reading the kernel's counts for the metrics failed: %s", strerror(-err));
		return err;
	}
	for (i = 0; i < sizeof(n.dir) / (sizeof(uint64_t)); i++)
		a[i] += b[i];

	lk_m_family(w, "latkit_tcp_connects", LK_MT_COUNTER, NULL,
		    "TCP handshakes that ended, by direction (active: connect(); passive: "
		    "accepted) and result (ok: established).");
	for (d = 0; d < CL_NDIRS; d++) {
		lk_m_labels(l, sizeof(l), "direction", dir_names[d], "result", "ok", NULL);
		lk_m_u64(w, l, n.dir[d].ok);
		for (c = 0; c < CL_NCAUSES; c++) {
			lk_m_labels(l, sizeof(l), "direction", dir_names[d], "result",
				    cause_names[c], NULL);
			lk_m_u64(w, l, n.dir[d].fail[c]);
		}
	}
	for (i = 0; i < CL_M_BUCKETS - 1; i++)
		bounds[i] = 1ULL << (CL_M_MIN_MSB + i);
	lk_m_family(w, "latkit_tcp_connect_duration_seconds", LK_MT_HISTOGRAM, "seconds",
		    "TCP handshake latency of the established connections that were measured "
		    "(active: connect() to ESTABLISHED; passive: first SYN-ACK to the final ACK).");
	for (d = 0; d < CL_NDIRS; d++) {
		lk_m_labels(l, sizeof(l), "direction", dir_names[d], NULL);
		lk_m_hist_ns(w, l, bounds, n.dir[d].hist, CL_M_BUCKETS - 1, n.dir[d].sum_ns,
			     n.dir[d].measured);
	}
	lk_m_family(w, "latkit_tcp_syn_retransmits", LK_MT_COUNTER, NULL,
		    "SYN (active) and SYN-ACK (passive) retransmissions, as TcpExt TCPSynRetrans.");
	lk_m_labels(l, sizeof(l), "direction", dir_names[CL_ACTIVE], NULL);
	lk_m_u64(w, l, t.syn_retrans);
	lk_m_labels(l, sizeof(l), "direction", dir_names[CL_PASSIVE], NULL);
	lk_m_u64(w, l, t.synack_retrans);
	lk_m_family(w, "latkit_tcp_connects_unmeasured", LK_MT_COUNTER, NULL,
		    "Established handshakes whose start was not known (no latency).");
	lk_m_u64(w, NULL, t.unmeasured);
	lk_m_dropped(w, "latkit_tcp_connect_dropped",
		     "What tcpconnlat could not record, by what ran out of room.", drop_names,
		     (const unsigned long long[]){ t.sock_drops, t.row_drops, t.event_drops },
		     LK_ARRAY_SIZE(drop_names));
	/* One family: lk_m_map_entries() writes its heads each call. */
	lk_m_map_entries(w, "rows", n.rows, CL_MAX_ROWS);
	lk_m_bpf_progs(w, s->obj);
	return 0;
}

int tcpconnlat_metrics_start(struct cl_metrics *m)
{
	if (!lk_metrics_on())
		return 0;
	return lk_metrics_start(write_metrics, m);
}
