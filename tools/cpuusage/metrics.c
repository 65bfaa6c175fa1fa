// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * cpuusage's metrics: per-CPU time by mode and softirq time straight
 * from the kernel's cumulative per-CPU totals; per-command time folded
 * here from the task map, exported for the top N commands plus "other".
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "latkit.h"
#include "metrics.h"
#include "cpuusage/metrics.h"

/* Distinct commands (or PID and command) remembered; the rest: other. */
#define ROWS_MAX	4096
#define SLOTS		(2 * ROWS_MAX)

struct mrow {
	char comm[16];
	unsigned int pid;
	bool used, top;
	uint64_t ns;		/* cumulative */
	uint64_t fold_ns;	/* this fold's part */
};

struct seen {
	struct cpuusage_key k;
	uint64_t run_ns;
};

static struct {
	struct mrow rows[SLOTS];
	unsigned int nrows, npids;
	uint64_t other_ns;	/* time of commands not shown on their own */
	struct seen *last, *cur;
	size_t nlast, ncur, cap;
} s;

static unsigned int hash(const char *comm, unsigned int pid)
{
	unsigned int h = 2166136261u ^ pid;
	int i;

	for (i = 0; i < 16 && comm[i]; i++)
		h = (h ^ (unsigned char)comm[i]) * 16777619u;
	return h;
}

static struct mrow *row_of(const char *comm, unsigned int pid)
{
	unsigned int i = hash(comm, pid) % SLOTS;

	for (;; i = (i + 1) % SLOTS) {
		struct mrow *r = &s.rows[i];

		if (!r->used)
			break;
		if (r->pid == pid && !strncmp(r->comm, comm, 16))
			return r;
	}
	if (s.nrows == ROWS_MAX)
		return NULL;
	s.nrows++;
	s.rows[i].used = true;
	s.rows[i].pid = pid;
	memcpy(s.rows[i].comm, comm, 16);
	s.rows[i].comm[15] = 0;
	return &s.rows[i];
}

int cpuusage_key_cmp(const void *a, const void *b)
{
	const struct cpuusage_key *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return 0;
}

void cpuusage_metrics_fold_begin(void)
{
	s.ncur = 0;
}

void cpuusage_metrics_fold_task(const struct cpuusage_key *k, const struct cpuusage_task *t)
{
	const struct seen *old = bsearch(k, s.last, s.nlast, sizeof(*s.last), cpuusage_key_cmp);
	uint64_t d = t->run_ns - (old ? old->run_ns : 0);
	unsigned int pid = 0;
	struct mrow *r;

	if (s.ncur == s.cap) {
		size_t cap = s.cap ? 2 * s.cap : 1024;
		struct seen *c = realloc(s.cur, cap * sizeof(*c)), *l;

		if (!c)
			return;
		s.cur = c;
		l = realloc(s.last, cap * sizeof(*l));
		if (!l)
			return;
		s.last = l;
		s.cap = cap;
		old = bsearch(k, s.last, s.nlast, sizeof(*s.last), cpuusage_key_cmp);
		d = t->run_ns - (old ? old->run_ns : 0);
	}
	s.cur[s.ncur].k = *k;
	s.cur[s.ncur++].run_ns = t->run_ns;
	if (!d)
		return;
	if (lk_opts.metrics_pids) {
		char comm[16];

		memcpy(comm, t->comm, 16);
		comm[15] = 0;
		pid = t->tgid;
		r = row_of(comm, pid);
		if (r && r->ns == 0 && r->fold_ns == 0 && s.npids >= (unsigned long)lk_opts.metrics_pids)
			r = NULL;	/* new, and no room left: other */
		else if (r && r->ns == 0 && r->fold_ns == 0)
			s.npids++;
	} else {
		r = row_of(t->comm, 0);
	}
	if (r)
		r->fold_ns += d;
	else
		s.other_ns += d;
}

static int top_cmp(const void *a, const void *b)
{
	const struct mrow *x = *(struct mrow *const *)a, *y = *(struct mrow *const *)b;

	return x->ns != y->ns ? (x->ns > y->ns ? -1 : 1) : 0;
}

/*
 * Rank by cumulative time; this fold's time of the rows outside the top
 * N goes to other, so that other only grows.
 */
void cpuusage_metrics_fold_end(long top)
{
	struct mrow *byns[ROWS_MAX];
	unsigned int i, n = 0;
	struct seen *t;

	t = s.last;
	s.last = s.cur;
	s.cur = t;
	s.nlast = s.ncur;
	for (i = 0; i < SLOTS; i++) {
		if (!s.rows[i].used)
			continue;
		s.rows[i].ns += s.rows[i].fold_ns;
		byns[n++] = &s.rows[i];
	}
	qsort(byns, n, sizeof(*byns), top_cmp);
	for (i = 0; i < n; i++) {
		byns[i]->top = i < top && byns[i]->ns;
		if (!byns[i]->top)
			s.other_ns += byns[i]->fold_ns;
		byns[i]->fold_ns = 0;
	}
}

static const char *const modes[] = { "busy", "softirq", "hardirq", "idle" };

void cpuusage_metrics_write(struct lk_mw *w, const struct cpuusage_cpu *cpus, int ncpus,
			    const char *const *softirq_names, unsigned int ntasks)
{
	uint64_t vec[CPUUSAGE_NR_SOFTIRQS] = {}, drops = 0, torn = 0;
	char l[128], cpu[16], pid[16];
	int c, m, v;

	lk_m_family(w, "latkit_cpu_seconds", LK_MT_COUNTER, "seconds",
		    "CPU time by mode: busy (tasks, interrupts taken out), softirq, hardirq, idle.");
	for (c = 0; c < ncpus; c++) {
		const struct cpuusage_totals *t = &cpus[c].at_flush;
		uint64_t soft = 0, ns[4];

		if (!cpus[c].flush_ns)
			continue;	/* offline */
		for (v = 0; v < CPUUSAGE_NR_SOFTIRQS; v++) {
			soft += t->softirq_ns[v];
			vec[v] += t->softirq_ns[v];
		}
		drops += t->drops;
		torn += cpus[c].flush_torn;
		ns[0] = t->task_ns;
		ns[1] = soft;
		ns[2] = t->hardirq_ns;
		ns[3] = t->idle_ns;
		snprintf(cpu, sizeof(cpu), "%d", c);
		for (m = 0; m < 4; m++) {
			lk_m_labels(l, sizeof(l), "cpu", cpu, "mode", modes[m], NULL);
			lk_m_ns(w, l, ns[m]);
		}
	}
	lk_m_family(w, "latkit_cpu_context_switches", LK_MT_COUNTER, NULL,
		    "Context switches per CPU.");
	for (c = 0; c < ncpus; c++) {
		if (!cpus[c].flush_ns)
			continue;
		snprintf(cpu, sizeof(cpu), "%d", c);
		lk_m_labels(l, sizeof(l), "cpu", cpu, NULL);
		lk_m_u64(w, l, cpus[c].at_flush.switches);
	}
	lk_m_family(w, "latkit_softirq_seconds", LK_MT_COUNTER, "seconds",
		    "Softirq time by vector, all CPUs.");
	for (v = 0; v < CPUUSAGE_NR_SOFTIRQS; v++) {
		lk_m_labels(l, sizeof(l), "softirq", softirq_names[v], NULL);
		lk_m_ns(w, l, vec[v]);
	}
	lk_m_family(w, "latkit_task_cpu_seconds", LK_MT_COUNTER, "seconds",
		    "CPU time of the busiest commands (thread names), interrupts taken out; the rest in comm=\"other\".");
	for (c = 0; c < SLOTS; c++) {
		const struct mrow *r = &s.rows[c];

		if (!r->used || !r->top)
			continue;
		snprintf(pid, sizeof(pid), "%u", r->pid);
		if (lk_opts.metrics_pids)
			lk_m_labels(l, sizeof(l), "comm", r->comm, "pid", pid, NULL);
		else
			lk_m_labels(l, sizeof(l), "comm", r->comm, NULL);
		lk_m_ns(w, l, r->ns);
	}
	lk_m_labels(l, sizeof(l), "comm", "other", NULL);
	lk_m_ns(w, l, s.other_ns);
	lk_m_family(w, "latkit_cpu_unattributed_seconds", LK_MT_COUNTER, "seconds",
		    "Task time with no room in the task map (more threads than it holds).");
	lk_m_ns(w, NULL, drops);
	lk_m_family(w, "latkit_cpu_torn_flushes", LK_MT_COUNTER, NULL,
		    "Flushes interrupted every try (interrupt time may land a snapshot later).");
	lk_m_u64(w, NULL, torn);
	lk_m_map_entries(w, "tasks", ntasks, CPUUSAGE_MAX_TASKS);
}
