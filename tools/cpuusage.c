// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * cpuusage: CPU time per process or thread, per CPU, and the time spent
 * in softirqs and hardirqs, measured from scheduler and interrupt
 * tracepoints rather than sampled.
 */
#include <argp.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "latkit.h"
#include "cpuusage.h"
#include "cpuusage.skel.h"
#include "cpuusage/metrics.h"

static const char doc[] =
"Show CPU time per process (or thread) and per CPU, with softirq and\n"
"hardirq time taken out of the task they interrupted.  %CPU: 100% is one\n"
"CPU for the whole interval.\n"
"\n"
"USAGE: cpuusage [OPTIONS] [interval [count]]\n"
"\n"
"EXAMPLES:\n"
"    cpuusage              # until Ctrl-C, then one report\n"
"    cpuusage 1 5          # every second, five times\n"
"    cpuusage -C 1         # add per-CPU busy/softirq/hardirq/idle\n"
"    cpuusage -L -p 1234 1 # threads of process 1234, every second\n"
"    cpuusage -t 1240 1    # thread 1240 only\n"
"    cpuusage -n 5 -S switches 2  # top 5 by context switches\n"
"    cpuusage -j 1 3       # JSON, one object per interval\n";

static const char *const softirq_names[CPUUSAGE_NR_SOFTIRQS] = {
	"HI", "TIMER", "NET_TX", "NET_RX", "BLOCK",
	"IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU",
};

enum sort_key { SORT_CPU, SORT_PID, SORT_COMM, SORT_SWITCHES };

static struct {
	bool per_thread;
	bool per_cpu;
	enum sort_key sort;
} env;

static const struct argp_option options[] = {
	{ "per-thread", 'L', NULL, 0, "One row per thread (default: per process)", 0 },
	{ "per-cpu", 'C', NULL, 0, "Also show each CPU's busy/softirq/hardirq/idle time", 0 },
	{ "sort", 'S', "KEY", 0, "Sort by cpu (default), pid, comm or switches", 0 },
	{},
};

static const struct lk_opt_doc docs[] = {
	{ "top", "Show the N busiest rows (default 20; 0: all)" },
	{ NULL },
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'L':
		env.per_thread = true;
		break;
	case 'C':
		env.per_cpu = true;
		break;
	case 'S':
		if (!strcmp(arg, "cpu"))
			env.sort = SORT_CPU;
		else if (!strcmp(arg, "pid"))
			env.sort = SORT_PID;
		else if (!strcmp(arg, "comm"))
			env.sort = SORT_COMM;
		else if (!strcmp(arg, "switches"))
			env.sort = SORT_SWITCHES;
		else
			argp_error(state, "invalid sort key: %s (cpu, pid, comm or switches)", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

struct ent {
	struct cpuusage_key key;
	struct cpuusage_task v;
};

/* One row of output: a thread, or a process (the sum of its threads). */
struct row {
	unsigned int pid;
	unsigned int tid;
	char comm[16];
	bool comm_is_leader;
	uint64_t run_ns;
	uint64_t nvcsw;
	uint64_t nivcsw;
	uint64_t irq_ns;
};

struct snap {
	struct ent *ents;
	size_t n;
	size_t cap;
	struct cpuusage_cpu *cpus;	/* lk_ncpus() of them */
	unsigned long long taken_ns;	/* userspace clock, just before the flush */
};

struct ctx {
	struct cpuusage_bpf *skel;
	struct snap prev;
	struct snap cur;
	bool have_hardirq;
};

/*
 * Run the flush program on every CPU, so that every running task and
 * softirq is charged up to now.  CPUs that are offline (ENXIO) have
 * nothing running to charge.  A CPU found in the middle of a softirq
 * program's update is asked again: the program ends within
 * microseconds.  Should it stay busy, the CPU's last flush stands and
 * its interval ends with the next report.
 */
static int flush_all(struct ctx *c)
{
	int fd = bpf_program__fd(c->skel->progs.flush);
	int cpu, n = lk_ncpus(), done = 0, tries;

	for (cpu = 0; cpu < n; cpu++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts,
			.flags = BPF_F_TEST_RUN_ON_CPU,
			.cpu = cpu,
		);
		int err;

		tries = 0;
		do
			err = bpf_prog_test_run_opts(fd, &opts);
		while (!err && opts.retval == CPUUSAGE_FLUSH_BUSY && ++tries < 100);
		if (!err) {
			done++;
			continue;
		}
		if (errno == ENXIO)
			continue;
		lk_err("cannot run the flush program on CPU %d: %s", cpu, strerror(errno));
		return -1;
	}
	if (!done) {
		lk_err("cannot run the flush program on any CPU");
		return -1;
	}
	return 0;
}

static int add_ent(const void *key, const void *val, void *p)
{
	struct snap *s = p;
	struct ent *e = lk_array_add((void **)&s->ents, &s->n, &s->cap, sizeof(*e), 256);

	if (!e)
		return -ENOMEM;
	memcpy(&e->key, key, sizeof(e->key));
	memcpy(&e->v, val, sizeof(e->v));
	return 0;
}

static int read_cpus(struct ctx *c, struct cpuusage_cpu *out)
{
	size_t stride = lk_percpu_stride(sizeof(*out));
	int n = lk_ncpus(), i, zero = 0;
	char *buf = malloc(stride * n);

	if (!buf)
		return -1;
	if (bpf_map__lookup_elem(c->skel->maps.cpus, &zero, sizeof(zero), buf,
				 stride * n, 0)) {
		lk_err("cannot read the per-CPU map: %s", strerror(errno));
		free(buf);
		return -1;
	}
	for (i = 0; i < n; i++)
		memcpy(&out[i], buf + i * stride, sizeof(*out));
	free(buf);
	return 0;
}

/* Flush, then read both maps into c->cur. */
static int take_snapshot(struct ctx *c)
{
	struct snap *s = &c->cur;
	int err;

	s->taken_ns = lk_now_ns();
	if (flush_all(c) || read_cpus(c, s->cpus))
		return -1;
	s->n = 0;
	err = lk_map_foreach(bpf_map__fd(c->skel->maps.tasks), sizeof(struct cpuusage_key),
			     sizeof(struct cpuusage_task), false,
			     bpf_map__max_entries(c->skel->maps.tasks), NULL, add_ent, s);
	if (err) {
		lk_err("cannot read the task map: %s", strerror(-err));
		return -1;
	}
	qsort(s->ents, s->n, sizeof(*s->ents), cpuusage_key_cmp);
	return 0;
}

/* The metrics' per-command time, before drop_dead() forgets a thread. */
static void fold_metrics(struct ctx *c)
{
	size_t i;

	if (!lk_metrics_on())
		return;
	cpuusage_metrics_fold_begin();
	for (i = 0; i < c->cur.n; i++)
		cpuusage_metrics_fold_task(&c->cur.ents[i].key, &c->cur.ents[i].v);
	cpuusage_metrics_fold_end(lk_opts.top ? lk_opts.top : 20);
}

/*
 * A metrics snapshot: a flush and a read into c->cur, which the next
 * report takes afresh; the reports' baseline (c->prev) stays.
 */
static int write_metrics(void *p, struct lk_mw *w)
{
	struct ctx *c = p;

	if (take_snapshot(c))
		return -1;
	fold_metrics(c);
	cpuusage_metrics_write(w, c->cur.cpus, lk_ncpus(), softirq_names, c->cur.n);
	lk_m_bpf_progs(w, c->skel->obj);
	return 0;
}

/* Thread rows: this interval's growth of every entry (new ones in full). */
static struct row *thread_rows(const struct ctx *c, size_t *nrows)
{
	const struct snap *s = &c->cur, *p = &c->prev;
	struct row *rows = calloc(s->n ? s->n : 1, sizeof(*rows));
	size_t i;

	if (!rows)
		return NULL;
	for (i = 0; i < s->n; i++) {
		const struct ent *e = &s->ents[i], *old;
		struct row *r = &rows[i];

		old = bsearch(&e->key, p->ents, p->n, sizeof(*p->ents), cpuusage_key_cmp);
		r->tid = e->key.tid;
		r->pid = e->v.tgid;
		memcpy(r->comm, e->v.comm, sizeof(r->comm));
		r->comm[sizeof(r->comm) - 1] = 0;
		r->comm_is_leader = r->tid == r->pid;
		r->run_ns = e->v.run_ns - (old ? old->v.run_ns : 0);
		r->nvcsw = e->v.nvcsw - (old ? old->v.nvcsw : 0);
		r->nivcsw = e->v.nivcsw - (old ? old->v.nivcsw : 0);
		r->irq_ns = e->v.irq_ns - (old ? old->v.irq_ns : 0);
	}
	*nrows = s->n;
	return rows;
}

static int pid_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* Fold thread rows into one per process; named after its main thread. */
static size_t fold_processes(struct row *rows, size_t n)
{
	size_t i, out = 0;

	if (!n)
		return 0;
	qsort(rows, n, sizeof(*rows), pid_cmp);
	for (i = 1; i < n; i++) {
		struct row *acc = &rows[out];

		if (rows[i].pid != acc->pid) {
			rows[++out] = rows[i];
			continue;
		}
		acc->run_ns += rows[i].run_ns;
		acc->nvcsw += rows[i].nvcsw;
		acc->nivcsw += rows[i].nivcsw;
		acc->irq_ns += rows[i].irq_ns;
		if (rows[i].comm_is_leader && !acc->comm_is_leader) {
			memcpy(acc->comm, rows[i].comm, sizeof(acc->comm));
			acc->comm_is_leader = true;
		}
	}
	for (i = 0; i <= out; i++)
		rows[i].tid = rows[i].pid;
	return out + 1;
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	uint64_t sx, sy;
	int r;

	switch (env.sort) {
	case SORT_PID:
		return pid_cmp(a, b);
	case SORT_COMM:
		r = strcmp(x->comm, y->comm);
		return r ? r : pid_cmp(a, b);
	case SORT_SWITCHES:
		sx = x->nvcsw + x->nivcsw;
		sy = y->nvcsw + y->nivcsw;
		if (sx != sy)
			return sx > sy ? -1 : 1;
		break;
	case SORT_CPU:
		break;
	}
	if (x->run_ns != y->run_ns)
		return x->run_ns > y->run_ns ? -1 : 1;
	return pid_cmp(a, b);
}

/* The interval of one CPU and what filled it, as differences. */
struct cpu_delta {
	uint64_t elapsed;
	uint64_t task, idle, hardirq, softirq, switches, drops, torn;
	uint64_t vec[CPUUSAGE_NR_SOFTIRQS];
};

static void cpu_delta(const struct cpuusage_cpu *now, const struct cpuusage_cpu *old,
		      struct cpu_delta *d)
{
	int v;

	memset(d, 0, sizeof(*d));
	d->elapsed = now->flush_ns - old->flush_ns;
	d->task = now->at_flush.task_ns - old->at_flush.task_ns;
	d->idle = now->at_flush.idle_ns - old->at_flush.idle_ns;
	d->hardirq = now->at_flush.hardirq_ns - old->at_flush.hardirq_ns;
	d->switches = now->at_flush.switches - old->at_flush.switches;
	d->drops = now->at_flush.drops - old->at_flush.drops;
	d->torn = now->flush_torn - old->flush_torn;
	for (v = 0; v < CPUUSAGE_NR_SOFTIRQS; v++) {
		d->vec[v] = now->at_flush.softirq_ns[v] - old->at_flush.softirq_ns[v];
		d->softirq += d->vec[v];
	}
}

static void cpu_sum(struct cpu_delta *sum, const struct cpu_delta *d)
{
	int v;

	sum->elapsed += d->elapsed;
	sum->task += d->task;
	sum->idle += d->idle;
	sum->hardirq += d->hardirq;
	sum->softirq += d->softirq;
	sum->switches += d->switches;
	sum->drops += d->drops;
	sum->torn += d->torn;
	for (v = 0; v < CPUUSAGE_NR_SOFTIRQS; v++)
		sum->vec[v] += d->vec[v];
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * part / whole : 0;
}

/* busy/softirq/hardirq/idle of one CPU or of all (fields only). */
static void print_split(const struct cpu_delta *d)
{
	lk_print_float(LK_ANY, "busy_pct", " busy %5.1f%%", pct(d->task, d->elapsed));
	lk_print_float(LK_ANY, "softirq_pct", "  softirq %5.1f%%", pct(d->softirq, d->elapsed));
	lk_print_float(LK_ANY, "hardirq_pct", "  hardirq %5.1f%%", pct(d->hardirq, d->elapsed));
	lk_print_float(LK_ANY, "idle_pct", "  idle %5.1f%%", pct(d->idle, d->elapsed));
	lk_print_u64(LK_JSON, "elapsed_ns", NULL, d->elapsed);
	lk_print_u64(LK_JSON, "task_ns", NULL, d->task);
	lk_print_u64(LK_JSON, "softirq_ns", NULL, d->softirq);
	lk_print_u64(LK_JSON, "hardirq_ns", NULL, d->hardirq);
	lk_print_u64(LK_JSON, "idle_ns", NULL, d->idle);
	lk_print_u64(LK_JSON, "switches", NULL, d->switches);
}

static void print_vectors(const struct cpu_delta *d, const char *lead)
{
	bool any = false;
	char key[32];
	int v;

	lk_open_object("softirqs");
	for (v = 0; v < CPUUSAGE_NR_SOFTIRQS; v++) {
		snprintf(key, sizeof(key), "%s_ns", softirq_names[v]);
		lk_print_u64(LK_JSON, key, NULL, d->vec[v]);
		if (!d->vec[v])
			continue;
		if (!any)
			lk_printf("%s", lead);
		any = true;
		lk_printf("  %s %.2f%%", softirq_names[v], pct(d->vec[v], d->elapsed));
	}
	lk_close_object();
	if (any)
		lk_print_nl();
}

static void print_cpus(const struct cpu_delta *per, int n)
{
	int i;

	lk_open_array("cpus");
	for (i = 0; i < n; i++) {
		if (!per[i].elapsed)
			continue;	/* offline */
		lk_open_object(NULL);
		lk_print_u64(LK_ANY, "cpu", "CPU%-3" PRIu64, i);
		print_split(&per[i]);
		lk_print_float(LK_TEXT, NULL, "  switches %.0f/s",
			       per[i].switches * 1e9 / per[i].elapsed);
		lk_print_nl();
		print_vectors(&per[i], "      ");
		lk_close_object();
	}
	lk_close_array();
}

static void print_totals(struct ctx *c, uint64_t wall)
{
	struct cpu_delta *per, sum = {};
	int i, n = lk_ncpus(), online = 0;

	per = calloc(n, sizeof(*per));
	if (!per)
		return;
	for (i = 0; i < n; i++) {
		cpu_delta(&c->cur.cpus[i], &c->prev.cpus[i], &per[i]);
		cpu_sum(&sum, &per[i]);
		online += per[i].elapsed != 0;
	}
	lk_print_u64(LK_ANY, "ncpus", "%" PRIu64 " CPUs", online);
	lk_print_float(LK_ANY, "interval_s", " %.2fs:", wall / 1e9);
	print_split(&sum);
	lk_print_float(LK_TEXT, NULL, "  switches %.0f/s", wall ? sum.switches * 1e9 / wall : 0);
	lk_print_u64(LK_JSON, "drops_ns", NULL, sum.drops);
	if (sum.drops)
		lk_printf("\n  (%.1f ms of task time not attributed: more than %d threads)",
			  sum.drops / 1e6, CPUUSAGE_MAX_TASKS);
	/* The interval's parts may then miss its length by an interrupt's time. */
	lk_print_u64(LK_JSON, "flush_torn", NULL, sum.torn);
	if (sum.torn)
		lk_printf("\n  (%" PRIu64 " flushes interrupted %d times in a row: interrupt time may fall in the next interval)",
			  sum.torn, CPUUSAGE_FLUSH_TRIES);
	lk_print_nl();
	print_vectors(&sum, "softirq:");
	if (env.per_cpu)
		print_cpus(per, n);
	free(per);
}

static void print_rows(struct row *rows, size_t n, uint64_t wall)
{
	size_t i, shown = 0;

	qsort(rows, n, sizeof(*rows), row_cmp);
	lk_printf("%-7s %-15s ", "PID", "COMM");
	if (env.per_thread)
		lk_printf("%-7s ", "TID");
	lk_printf("%6s %12s %8s %8s\n", "%CPU", "ONCPU_US", "VCSW", "IVCSW");
	lk_open_array(env.per_thread ? "threads" : "processes");
	for (i = 0; i < n && (!lk_opts.top || shown < (size_t)lk_opts.top); i++) {
		const struct row *r = &rows[i];

		if (!r->run_ns && !r->nvcsw && !r->nivcsw)
			continue;
		shown++;
		lk_open_object(NULL);
		lk_print_owner(r->pid, r->comm);
		if (env.per_thread)
			lk_print_u64(LK_ANY, "tid", "%-7" PRIu64 " ", r->tid);
		lk_print_float(LK_ANY, "cpu_pct", "%6.1f ", pct(r->run_ns, wall));
		lk_print_u64(LK_TEXT, NULL, "%12" PRIu64 " ", r->run_ns / 1000);
		lk_print_u64(LK_JSON, "oncpu_ns", NULL, r->run_ns);
		lk_print_u64(LK_JSON, "irq_ns", NULL, r->irq_ns);
		lk_print_u64(LK_ANY, "vcsw", "%8" PRIu64 " ", r->nvcsw);
		lk_print_u64(LK_ANY, "ivcsw", "%8" PRIu64 "\n", r->nivcsw);
		lk_close_object();
	}
	lk_close_array();
}

/* Forget threads that are gone, now that their last interval is out. */
static void drop_dead(struct ctx *c)
{
	int fd = bpf_map__fd(c->skel->maps.tasks);
	struct snap *s = &c->cur;
	size_t i, keep = 0;

	for (i = 0; i < s->n; i++) {
		if (s->ents[i].v.dead) {
			bpf_map_delete_elem(fd, &s->ents[i].key);
			continue;
		}
		s->ents[keep++] = s->ents[i];
	}
	s->n = keep;
}

static void swap_snaps(struct ctx *c)
{
	struct snap t = c->prev;

	c->prev = c->cur;
	c->cur = t;
}

static int report(void *p, bool final)
{
	struct ctx *c = p;
	struct row *rows;
	size_t n;
	uint64_t wall;

	if (take_snapshot(c))
		return -1;
	fold_metrics(c);
	wall = c->cur.taken_ns - c->prev.taken_ns;
	rows = thread_rows(c, &n);
	if (!rows)
		return -1;
	if (!env.per_thread)
		n = fold_processes(rows, n);
	lk_open_report(final);
	if (lk_opts.timestamp && !lk_out_json())
		lk_print_time();
	print_totals(c, wall);
	print_rows(rows, n, wall);
	lk_print_nl();
	lk_close_record();
	free(rows);
	drop_dead(c);
	swap_snaps(c);
	return 0;
}

/*
 * One program per method for each hook (two for an entry and its exit):
 * tp_btf, else raw_tp.
 */
enum { H_SWITCH, H_SOFTIRQ, H_FREE, H_HARDIRQ, H_NR };
static struct lk_hook_sel hooks[H_NR] = {
	[H_SWITCH] = { .hook = { "sched", "sched_switch" }, .required = true,
		.prog = { [LK_M_TP_BTF] = { "switch_btf" }, [LK_M_RAW_TP] = { "switch_raw" } } },
	[H_SOFTIRQ] = { .hook = { "irq", "softirq_entry" }, .required = true,
		.prog = { [LK_M_TP_BTF] = { "softirq_entry_btf", "softirq_exit_btf" },
			  [LK_M_RAW_TP] = { "softirq_entry_raw", "softirq_exit_raw" } } },
	[H_FREE] = { .hook = { "sched", "sched_process_free" }, .required = true,
		.prog = { [LK_M_TP_BTF] = { "free_btf" }, [LK_M_RAW_TP] = { "free_raw" } } },
	[H_HARDIRQ] = { .hook = { "irq", "irq_handler_entry" },
		.prog = { [LK_M_TP_BTF] = { "hardirq_entry_btf", "hardirq_exit_btf" },
			  [LK_M_RAW_TP] = { "hardirq_entry_raw", "hardirq_exit_raw" } } },
};

static int choose_all(struct ctx *c)
{
	if (lk_hooks_choose(c->skel->obj, hooks, H_NR))
		return -1;
	c->have_hardirq = hooks[H_HARDIRQ].chosen != LK_M_NONE;
	if (!c->have_hardirq)
		lk_info("no irq:irq_handler_entry: hardirq time stays with the interrupted task");
	bpf_program__set_autoattach(c->skel->progs.flush, false);
	return 0;
}

static int alloc_snaps(struct ctx *c)
{
	c->prev.cpus = calloc(lk_ncpus(), sizeof(struct cpuusage_cpu));
	c->cur.cpus = calloc(lk_ncpus(), sizeof(struct cpuusage_cpu));
	return c->prev.cpus && c->cur.cpus ? 0 : -1;
}

static void free_snaps(struct ctx *c)
{
	free(c->prev.cpus);
	free(c->prev.ents);
	free(c->cur.cpus);
	free(c->cur.ents);
}

static const struct lk_tool tool = {
	.options = options, .parser = parse_arg, .doc = doc,
	.common = LK_OPT_TASK | LK_OPT_TID | LK_OPT_OUTPUT | LK_OPT_METRICS | LK_OPT_TOP,
	.docs = docs, .top = 20,
};

int main(int argc, char **argv)
{
	struct ctx c = {};
	int err;

	if (lk_start(&tool, argc, argv))
		return 1;
	/* One thread asked for: show it as a thread, not as its process. */
	if (lk_opts.tid)
		env.per_thread = true;
	if (alloc_snaps(&c)) {
		lk_err("out of memory");
		return 1;
	}
	c.skel = cpuusage_bpf__open();
	if (!c.skel) {
		lk_err_bpf("open BPF object", -errno);
		err = 1;
		goto cleanup;
	}
	err = choose_all(&c);
	if (err)
		goto cleanup;
	c.skel->rodata->lk_filter = lk_filter_from_opts();
	err = lk_skel_load(c.skel->skeleton) ||
	      lk_skel_attach(c.skel->skeleton, "attach to sched:sched_switch and irq tracepoints");
	if (err)
		goto cleanup;
	/* The first flush starts the clock on every CPU: the baseline. */
	err = take_snapshot(&c);
	if (err)
		goto cleanup;
	swap_snaps(&c);
	err = lk_metrics_start(write_metrics, &c);
	if (err)
		goto cleanup;
	lk_info("tracing; the first interval starts now");
	err = lk_run(NULL, report, &c);
cleanup:
	lk_metrics_stop();
	cpuusage_bpf__destroy(c.skel);
	free_snaps(&c);
	return err ? 1 : 0;
}
