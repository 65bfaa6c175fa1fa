// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * syslat's metrics: per syscall, calls, failures, the latency histogram
 * (the log-linear buckets folded to powers of two) and, with -e, failures
 * by errno (capped).  Cumulative since the start: the rows and errno
 * counts an interval report clears are folded into copies here first
 * (syslat_metrics_fold_*), and a snapshot adds what the maps hold now,
 * without touching them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "latkit.h"
#include "metrics.h"
#include "syscalls.h"
#include "syslat.h"
#include "syslat.skel.h"
#include "syslat/metrics.h"

/* le = 2^k ns, k = MIN_MSB .. MIN_MSB + NBOUNDS - 1 (128 ns .. 68.7 s), then +Inf. */
#define M_MIN_MSB	7
#define M_NBOUNDS	30
/* (syscall, errno) pairs shown on their own; the rest: errno="other". */
#define M_ERRS		1024

struct cum {
	uint64_t count, errors, sum_ns;
	uint64_t hist[M_NBOUNDS + 1];
};

struct errs {
	struct { unsigned int slot, err; uint64_t n; } e[M_ERRS];
	unsigned int n;
	uint64_t other[SL_MAX_NR];	/* by slot */
};

static struct {
	struct syslat_bpf *skel;
	const int *slot_nr;
	unsigned int nslots, gens;
	bool errnos;
	struct cum rows[SL_MAX_NR];
	struct errs errs;
	struct errs tmp;		/* a snapshot's: errs plus the map's */
	struct cum now[SL_MAX_NR];	/* a snapshot's: rows plus the map's */
} m;

/* The power-of-two bucket of log-linear bucket @b: its values all below the bound. */
static unsigned int coarse(unsigned int b)
{
	unsigned long long hi = lh_upper(b, SL_SUB_BITS);
	unsigned int i;

	for (i = 0; i < M_NBOUNDS; i++)
		if (hi < 1ULL << (M_MIN_MSB + i))
			return i;
	return M_NBOUNDS;
}

static void add_stats(struct cum *c, const struct sl_stats *s)
{
	unsigned int b;

	c->count += s->count;
	c->errors += s->errors;
	c->sum_ns += s->total_ns;
	for (b = 0; b < SL_BUCKETS; b++)
		if (s->hist[b])
			c->hist[coarse(b)] += s->hist[b];
}

void syslat_metrics_fold_row(unsigned int slot, const struct sl_stats *s)
{
	if (lk_metrics_on() && slot < SL_MAX_NR)
		add_stats(&m.rows[slot], s);
}

static void errs_add(struct errs *t, unsigned int slot, unsigned int err, uint64_t n)
{
	unsigned int i;

	if (slot >= SL_MAX_NR)
		return;
	for (i = 0; i < t->n; i++) {
		if (t->e[i].slot == slot && t->e[i].err == err) {
			t->e[i].n += n;
			return;
		}
	}
	if (t->n == M_ERRS) {
		t->other[slot] += n;
		return;
	}
	t->e[t->n].slot = slot;
	t->e[t->n].err = err;
	t->e[t->n++].n = n;
}

void syslat_metrics_fold_err(unsigned int slot, unsigned int err, uint64_t n)
{
	if (lk_metrics_on())
		errs_add(&m.errs, slot, err, n);
}

/* The snapshot's rows: the folded copies plus every generation in the map. */
static int read_rows(void)
{
	int ncpus = lk_ncpus(), fd = bpf_map__fd(m.skel->maps.stats);
	size_t size = lk_percpu_stride(sizeof(struct sl_stats)) * ncpus;
	struct sl_stats *s = malloc(sizeof(*s));
	void *buf = malloc(size);
	unsigned int slot, g, idx, cpu, b;
	int err = 0;

	if (!buf || !s) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(m.now, m.rows, sizeof(m.now[0]) * m.nslots);
	for (g = 0; g < m.gens; g++) {
		for (slot = 0; slot < m.nslots; slot++) {
			idx = g * m.nslots + slot;
			if (bpf_map_lookup_elem(fd, &idx, buf)) {
				err = -errno;
				goto out;
			}
			memset(s, 0, sizeof(*s));
			for (cpu = 0; cpu < (unsigned int)ncpus; cpu++) {
				const struct sl_stats *c = (const void *)((const char *)buf +
					cpu * lk_percpu_stride(sizeof(struct sl_stats)));

				s->count += c->count;
				s->errors += c->errors;
				s->total_ns += c->total_ns;
				for (b = 0; b < SL_BUCKETS; b++)
					s->hist[b] += c->hist[b];
			}
			add_stats(&m.now[slot], s);
		}
	}
out:
	free(buf);
	free(s);
	return err;
}

static int read_errs(unsigned int *entries)
{
	int ncpus = lk_ncpus(), fd = bpf_map__fd(m.skel->maps.errs);
	struct sl_err_key key, next;
	uint64_t vals[ncpus], n;
	unsigned int seen = 0;
	int err, j;

	m.tmp = m.errs;
	for (err = bpf_map_get_next_key(fd, NULL, &next); !err && seen < SL_MAX_ERRS;
	     err = bpf_map_get_next_key(fd, &key, &next)) {
		key = next;
		seen++;
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;
		for (n = 0, j = 0; j < ncpus; j++)
			n += vals[j];
		errs_add(&m.tmp, key.row, key.err, n);
	}
	*entries = seen;
	return 0;
}

static int write_metrics(void *p, struct lk_mw *w)
{
	static const char *const drop_names[SL_DROP_MAX] = {
		"start", "process", "errno", "event", "exit",
	};
	uint64_t bounds[M_NBOUNDS], hcount;
	unsigned int slot, i, nerr = 0;
	char l[128], sb[32], eb[16];
	int err;

	(void)p;
	err = read_rows();
	if (!err && m.errnos)
		err = read_errs(&nerr);
	if (err) {
		lk_err("reading the syscall maps failed: %s", strerror(-err));
		return err;
	}
	lk_m_family(w, "latkit_syscalls", LK_MT_COUNTER, NULL,
		    "System calls completed (exit and exit_group: entered), by syscall.");
	for (slot = 0; slot < m.nslots; slot++) {
		if (!m.now[slot].count)
			continue;
		lk_m_labels(l, sizeof(l), "syscall", lk_syscall_label(m.slot_nr[slot], sb, sizeof(sb)), NULL);
		lk_m_u64(w, l, m.now[slot].count);
	}
	lk_m_family(w, "latkit_syscall_failures", LK_MT_COUNTER, NULL,
		    "System calls that returned an error (-4095..-1), by syscall.");
	for (slot = 0; slot < m.nslots; slot++) {
		if (!m.now[slot].count)
			continue;
		lk_m_labels(l, sizeof(l), "syscall", lk_syscall_label(m.slot_nr[slot], sb, sizeof(sb)), NULL);
		lk_m_u64(w, l, m.now[slot].errors);
	}
	if (m.errnos) {
		lk_m_family(w, "latkit_syscall_errors", LK_MT_COUNTER, NULL,
			    "Failed system calls by syscall and errno (-e; past 1024 pairs: errno=\"other\").");
		for (i = 0; i < m.tmp.n; i++) {
			lk_m_labels(l, sizeof(l), "syscall",
				    lk_syscall_label(m.slot_nr[m.tmp.e[i].slot], sb, sizeof(sb)), "errno",
				    lk_errno_name(m.tmp.e[i].err, eb, sizeof(eb)), NULL);
			lk_m_u64(w, l, m.tmp.e[i].n);
		}
		for (slot = 0; slot < m.nslots; slot++) {
			if (!m.tmp.other[slot])
				continue;
			lk_m_labels(l, sizeof(l), "syscall", lk_syscall_label(m.slot_nr[slot], sb, sizeof(sb)),
				    "errno", "other", NULL);
			lk_m_u64(w, l, m.tmp.other[slot]);
		}
	}
	for (i = 0; i < M_NBOUNDS; i++)
		bounds[i] = 1ULL << (M_MIN_MSB + i);
	lk_m_family(w, "latkit_syscall_duration_seconds", LK_MT_HISTOGRAM, "seconds",
		    "System call latency, entry to exit, by syscall.");
	for (slot = 0; slot < m.nslots; slot++) {
		if (!m.now[slot].count)
			continue;
		for (hcount = 0, i = 0; i <= M_NBOUNDS; i++)
			hcount += m.now[slot].hist[i];
		lk_m_labels(l, sizeof(l), "syscall", lk_syscall_label(m.slot_nr[slot], sb, sizeof(sb)), NULL);
		lk_m_hist_ns(w, l, bounds, m.now[slot].hist, M_NBOUNDS, m.now[slot].sum_ns, hcount);
	}
	lk_m_dropped(w, "latkit_syscall_dropped",
		     "What syslat could not record, by what ran out of room.",
		     drop_names, m.skel->bss->drops, SL_DROP_MAX);
	if (m.errnos)
		lk_m_map_entries(w, "errs", nerr, SL_MAX_ERRS);
	lk_m_bpf_progs(w, m.skel->obj);
	return 0;
}

int syslat_metrics_start(struct syslat_bpf *skel, const int *slot_nr, unsigned int nslots,
			 unsigned int gens, bool errnos)
{
	if (!lk_metrics_on())
		return 0;
	m.skel = skel;
	m.slot_nr = slot_nr;
	m.nslots = nslots < SL_MAX_NR ? nslots : SL_MAX_NR;
	m.gens = gens;
	m.errnos = errnos;
	return lk_metrics_start(write_metrics, NULL);
}
