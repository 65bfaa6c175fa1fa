/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef CPUUSAGE_METRICS_H
#define CPUUSAGE_METRICS_H

#include "cpuusage.h"

struct lk_mw;

/*
 * Thread order (tid, then start time), for qsort() and bsearch() over
 * arrays of struct cpuusage_key or of entries that begin with one.
 */
int cpuusage_key_cmp(const void *a, const void *b);

/*
 * Per-command CPU time for the metrics, cumulative in userspace: every
 * snapshot of the task map (the reports' and the metrics') is folded in
 * before a dead thread's entry is deleted, so none of its time is lost.
 * Entries in key order: begin, task()..., end.
 */
void cpuusage_metrics_fold_begin(void);
void cpuusage_metrics_fold_task(const struct cpuusage_key *k, const struct cpuusage_task *t);
void cpuusage_metrics_fold_end(long top);

/* Write every family from @cpus (after a flush) and the folded rows. */
void cpuusage_metrics_write(struct lk_mw *w, const struct cpuusage_cpu *cpus, int ncpus,
			    const char *const *softirq_names, unsigned int ntasks);

#endif
