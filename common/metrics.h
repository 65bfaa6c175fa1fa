/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_METRICS_H
#define LK_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Metrics for Prometheus (--listen, --textfile).  A tool gives a
 * callback that writes its figures through lk_m_*(); the main loop
 * (lk_run) calls it, never the HTTP server's threads, and keeps the
 * result as one snapshot in both formats: Prometheus text 0.0.4 and
 * OpenMetrics 1.0.  Every scrape gets a whole snapshot, at most 0.25 s
 * old (a scrape of an older one waits for the main loop to make a new
 * one).  The callback must only read: the tool's own reports go on as
 * if nobody scraped.
 *
 *	lk_m_family(w, "latkit_tcp_requests", LK_MT_COUNTER, NULL, "Requests.");
 *	lk_m_labels(l, sizeof(l), "comm", comm, "role", "client", NULL);
 *	lk_m_u64(w, l, n);		latkit_tcp_requests_total{comm="..",role="client"} n
 *
 * Counters are named without "_total" (added to every sample and, in
 * Prometheus text, to the family); a family with a unit ends in _UNIT.
 */
enum lk_mtype {
	LK_MT_COUNTER,
	LK_MT_GAUGE,
	LK_MT_HISTOGRAM,
};

struct lk_mw;
struct bpf_object;

/* Write the tool's metrics; non-zero: the snapshot is not replaced. */
typedef int (*lk_metrics_fn)(void *ctx, struct lk_mw *w);

void lk_m_family(struct lk_mw *w, const char *name, enum lk_mtype type,
		 const char *unit, const char *help);
/* Samples of the current family; @labels from lk_m_labels ("" or NULL: none). */
void lk_m_u64(struct lk_mw *w, const char *labels, uint64_t v);
void lk_m_f64(struct lk_mw *w, const char *labels, double v);
/* A value in ns, written in seconds exactly. */
void lk_m_ns(struct lk_mw *w, const char *labels, uint64_t ns);
/*
 * A histogram of ns values, in seconds: @counts[i] values below
 * @bounds_ns[i] (and not below the previous bound), @counts[n] the rest;
 * written cumulative with le="bound in seconds" and le="+Inf".
 */
void lk_m_hist_ns(struct lk_mw *w, const char *labels, const uint64_t *bounds_ns,
		  const uint64_t *counts, unsigned int n, uint64_t sum_ns, uint64_t count);
/*
 * Labels "k1","v1","k2","v2",...,NULL into @buf as k1="v1",k2="v2",
 * values escaped (bytes outside printable ASCII become '?').
 */
void lk_m_labels(char *buf, size_t len, ...) __attribute__((sentinel));
/*
 * A counter family @name of what a tool could not record: one sample
 * per {what="@what[i]"} with @n[i], for @count of them.
 */
void lk_m_dropped(struct lk_mw *w, const char *name, const char *help,
		  const char *const *what, const unsigned long long *n, unsigned int count);

/*
 * Self metrics of a BPF object: run time and run count of each loaded
 * program (kernel.bpf_stats_enabled=1 makes the kernel count them).
 */
void lk_m_bpf_progs(struct lk_mw *w, struct bpf_object *obj);
/* latkit_bpf_map_entries{map=NAME}, latkit_bpf_map_max_entries{map=NAME}. */
void lk_m_map_entries(struct lk_mw *w, const char *map, uint64_t used, uint64_t max);

/* Whether --listen or --textfile was given. */
bool lk_metrics_on(void);
/*
 * Bind --listen's socket and read --web-config (lk_opts_finish() calls
 * it): one line on stderr and -1 when either fails.
 */
int lk_metrics_prepare(void);
/*
 * Serve (--listen) and write (--textfile) @fn's metrics from now on;
 * call once the programs are attached.  Nothing without either option.
 */
int lk_metrics_start(lk_metrics_fn fn, void *ctx);
/* Last --textfile write, stop serving; before the BPF object goes. */
void lk_metrics_stop(void);

/* The latest snapshot, malloc'ed (the HTTP server's threads). */
char *lk_metrics_fetch(bool openmetrics, size_t *len);

#endif
