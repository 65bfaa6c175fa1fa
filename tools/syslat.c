// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * syslat: syscall latency per syscall or per process: count, errors,
 * total, mean, p50/p99, max, log2 histograms and errno breakdowns, from
 * raw_syscalls:sys_enter/sys_exit, aggregated in the kernel.
 */
#include <argp.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "latkit.h"
#include "syscalls.h"
#include "syslat.h"
#include "syslat.skel.h"
#include "syslat/metrics.h"

static const char doc[] =
"Syscall latency per syscall (or per process): count, errors, total, mean,\n"
"p50, p99, max, histograms and errno breakdown.\n"
"\n"
"USAGE: syslat [OPTIONS] [interval [count]]\n"
"\n"
"EXAMPLES:\n"
"    syslat -p 181                # until Ctrl-C or until 181 exits\n"
"    syslat -p 181 -s read,write -H   # two syscalls, with histograms\n"
"    syslat -c nginx -x -e        # failed calls only, by errno\n"
"    syslat -P -S p99 -n 5 1 10   # top 5 processes by p99, every second\n"
"    syslat -p 181 --events --min-us 10000   # print calls slower than 10 ms\n";

enum { SORT_TIME, SORT_COUNT, SORT_MAX, SORT_P99 };

static struct {
	const char *syscalls;
	bool errnos;
	bool failed;
	int sort;
} env = { .sort = SORT_TIME };

static const struct argp_option options[] = {
	{ "syscall", 's', "NAME[,NAME]", 0, "Only these syscalls (names or numbers)", 0 },
	{ "errno", 'e', NULL, 0, "Break failures down by errno", 0 },
	{ "failed", 'x', NULL, 0, "Count failed calls only", 0 },
	{ "sort", 'S', "KEY", 0, "Sort rows by time (default), count, max or p99", 0 },
	{ 0 },
};

static const struct lk_opt_doc docs[] = {
	{ "per-process", "One row per process instead of per syscall" },
	{ "hist", "Log2 latency histogram per row" },
	{ "min-us", "Only calls that took at least US microseconds" },
	{ "events", "Also print one line per call (with --min-us)" },
	{ NULL },
};

static int parse_sort(const char *s)
{
	static const char *const keys[] = { "time", "count", "max", "p99" };
	unsigned int i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(s, keys[i]))
			return i;
	return -1;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 's':
		env.syscalls = arg;
		break;
	case 'e':
		env.errnos = true;
		break;
	case 'x':
		env.failed = true;
		break;
	case 'S':
		env.sort = parse_sort(arg);
		if (env.sort < 0)
			argp_error(state, "invalid sort key '%s' (time, count, max, p99)", arg);
		break;
	case ARGP_KEY_END:
		if (lk_opts.metrics_pids)
			argp_error(state, "--metrics-pids: syslat has no per-process metrics");
		if (lk_opts.per_proc && (lk_opts.listen || lk_opts.textfile))
			argp_error(state, "-P: no metrics per process (--listen, --textfile count per syscall)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* Rows of the per-syscall table: slot -> syscall number. */
static int slot_nr[SL_MAX_NR];
static unsigned int nslots;

static int add_slot(__u16 *slot_of, int nr)
{
	if (slot_of[nr] != SL_NONE)
		return 0;
	slot_of[nr] = nslots;
	slot_nr[nslots++] = nr;
	return 0;
}

static int parse_syscalls(__u16 *slot_of, const char *list)
{
	char *copy = strdup(list), *tok, *save = NULL;
	char near[256];
	int nr, err = 0;

	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		nr = lk_syscall_nr(tok);
		if (nr < 0 || nr >= SL_MAX_NR) {
			if (lk_syscall_suggest(tok, near, sizeof(near), 5) > 0)
				lk_err("unknown syscall '%s' (did you mean: %s?)", tok, near);
			else
				lk_err("unknown syscall '%s'", tok);
			err = -1;
			break;
		}
		add_slot(slot_of, nr);
	}
	free(copy);
	if (!err && !nslots) {
		lk_err("no syscall named in -s");
		err = -1;
	}
	return err;
}

/* Fill the slot table: every syscall this architecture has, or -s's. */
static int setup_slots(__u16 *slot_of)
{
	const char *noret[] = { "exit", "exit_group" };
	const char *by_task[] = { "execve", "execveat" };
	int nr, max = lk_syscall_max();
	unsigned int i;

	for (nr = 0; nr < SL_MAX_NR; nr++)
		slot_of[nr] = SL_NONE;
	if (env.syscalls) {
		if (parse_syscalls(slot_of, env.syscalls))
			return -1;
	} else {
		for (nr = 0; nr < max && nr < SL_MAX_NR; nr++)
			add_slot(slot_of, nr);
	}
	for (i = 0; i < 2; i++) {
		nr = lk_syscall_nr(noret[i]);
		if (nr >= 0 && nr < SL_MAX_NR && slot_of[nr] != SL_NONE)
			slot_of[nr] |= SL_NORETURN;
		nr = lk_syscall_nr(by_task[i]);
		if (nr >= 0 && nr < SL_MAX_NR && slot_of[nr] != SL_NONE)
			slot_of[nr] |= SL_BY_TASK;
	}
	return 0;
}

/*
 * Entries of the start-time array: a power of two that holds every
 * thread id below kernel.pid_max, at most SL_MAX_TIDS (the threads above
 * keep theirs in task storage).
 */
static unsigned int start_entries(void)
{
	unsigned int n = 1024;
	long pid_max = 0;
	FILE *f;

	f = fopen("/proc/sys/kernel/pid_max", "r");
	if (f) {
		if (fscanf(f, "%ld", &pid_max) != 1)
			pid_max = 0;
		fclose(f);
	}
	if (pid_max <= 0)
		return SL_MAX_TIDS;
	while (n < pid_max && n < SL_MAX_TIDS)
		n *= 2;
	return n;
}

struct err_count {
	unsigned int row;
	unsigned int err;
	uint64_t n;
};

struct row {
	unsigned int key;	/* syscall number, or tgid with -P */
	char comm[16];
	struct sl_stats s;
	struct lk_dist d;
};

struct ctx {
	struct syslat_bpf *skel;
	bool double_buffer;	/* interval reports: two generations */
	struct row *rows;
	size_t nrows;
	size_t cap;
	struct err_count *errs;
	unsigned int nerrs;
	uint64_t drops_seen[SL_DROP_MAX];
};

static void sum_stats(struct sl_stats *out, const void *percpu, int ncpus)
{
	size_t stride = lk_percpu_stride(sizeof(struct sl_stats));
	unsigned int i, b;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < (unsigned int)ncpus; i++) {
		const struct sl_stats *s = (const void *)((const char *)percpu + i * stride);

		out->count += s->count;
		out->errors += s->errors;
		out->total_ns += s->total_ns;
		if (s->max_ns > out->max_ns)
			out->max_ns = s->max_ns;
		if (s->min_ns && (!out->min_ns || s->min_ns < out->min_ns))
			out->min_ns = s->min_ns;
		for (b = 0; b < SL_BUCKETS; b++)
			out->hist[b] += s->hist[b];
	}
}

static struct row *new_row(struct ctx *c)
{
	return lk_array_add((void **)&c->rows, &c->nrows, &c->cap, sizeof(struct row), 64);
}

static void summarize(struct row *r)
{
	r->d.min = r->s.min_ns;
	r->d.max = r->s.max_ns;
	r->d.sum = r->s.total_ns;
	lh_summarize((const uint64_t *)r->s.hist, SL_BUCKETS, SL_SUB_BITS, &r->d, true);
}

static int read_syscall_rows(struct ctx *c, unsigned int g)
{
	int ncpus = lk_ncpus(), fd = bpf_map__fd(c->skel->maps.stats);
	size_t size = lk_percpu_stride(sizeof(struct sl_stats)) * ncpus;
	void *buf = malloc(size), *zero = calloc(1, size);
	unsigned int slot, idx;
	struct row *r;
	int err = 0;

	if (!buf || !zero) {
		err = -ENOMEM;
		goto out;
	}
	for (slot = 0; slot < nslots; slot++) {
		idx = g * nslots + slot;
		if (bpf_map_lookup_elem(fd, &idx, buf)) {
			err = -errno;
			goto out;
		}
		r = new_row(c);
		if (!r) {
			err = -ENOMEM;
			goto out;
		}
		sum_stats(&r->s, buf, ncpus);
		if (!r->s.count) {
			c->nrows--;
			continue;
		}
		r->key = slot_nr[slot];
		if (c->double_buffer) {
			/* Cleared: the metrics keep it. */
			syslat_metrics_fold_row(slot, &r->s);
			bpf_map_update_elem(fd, &idx, zero, BPF_ANY);
		}
	}
out:
	free(buf);
	free(zero);
	return err;
}

static void proc_comm(struct ctx *c, unsigned int tgid, char *comm)
{
	if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.comms), &tgid, comm))
		strcpy(comm, "?");
	comm[15] = 0;
}

static int take_proc(const void *key, const void *val, void *p)
{
	const struct sl_proc_key *k = key;
	struct ctx *c = p;
	struct row *r = new_row(c);

	if (!r)
		return -ENOMEM;
	sum_stats(&r->s, val, lk_ncpus());
	r->key = k->tgid;
	proc_comm(c, r->key, r->comm);
	return 0;
}

static int read_proc_rows(struct ctx *c, unsigned int g)
{
	struct bpf_map *m = c->skel->maps.proc_stats;
	struct lk_gen gen = { offsetof(struct sl_proc_key, gen), 4, g };

	return lk_map_foreach(bpf_map__fd(m), sizeof(struct sl_proc_key), sizeof(struct sl_stats),
			      true, bpf_map__max_entries(m), &gen, take_proc, c);
}

static int take_err(const void *key, const void *val, void *p)
{
	const struct sl_err_key *k = key;
	const uint64_t *n = val;
	struct ctx *c = p;
	struct err_count *e;
	int i;

	if (c->nerrs >= SL_MAX_ERRS)
		return 0;
	e = &c->errs[c->nerrs++];
	e->row = k->row;
	e->err = k->err;
	for (i = 0; i < lk_ncpus(); i++)
		e->n += n[i];
	if (!lk_opts.per_proc)
		syslat_metrics_fold_err(e->row, e->err, e->n);
	return 0;
}

static int read_errs(struct ctx *c, unsigned int g)
{
	struct bpf_map *m = c->skel->maps.errs;
	struct lk_gen gen = { offsetof(struct sl_err_key, gen), 2, g };

	c->nerrs = 0;
	c->errs = calloc(SL_MAX_ERRS, sizeof(*c->errs));
	if (!c->errs)
		return -ENOMEM;
	return lk_map_foreach(bpf_map__fd(m), sizeof(struct sl_err_key), sizeof(uint64_t), true,
			      bpf_map__max_entries(m), &gen, take_err, c);
}

static int cmp_rows(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	double kx, ky;

	switch (env.sort) {
	case SORT_COUNT:
		kx = x->s.count, ky = y->s.count;
		break;
	case SORT_MAX:
		kx = x->s.max_ns, ky = y->s.max_ns;
		break;
	case SORT_P99:
		kx = x->d.p99, ky = y->d.p99;
		break;
	default:
		kx = x->s.total_ns, ky = y->s.total_ns;
		break;
	}
	if (kx != ky)
		return kx < ky ? 1 : -1;
	return x->key < y->key ? -1 : x->key > y->key;
}

/*
 * Read one generation of every table.  With interval reports, switch
 * the programs to the other generation first and give the ones already
 * running a moment to finish, so nothing lands in what we clear.
 */
static int collect(struct ctx *c, bool final)
{
	unsigned int g, i;
	int err;

	g = c->double_buffer && !final ? lk_gen_flip(&c->skel->bss->gen) : c->skel->bss->gen;
	c->nrows = 0;
	free(c->errs);
	c->errs = NULL;
	c->nerrs = 0;
	err = lk_opts.per_proc ? read_proc_rows(c, g) : read_syscall_rows(c, g);
	if (!err && (env.errnos || env.failed))
		err = read_errs(c, g);
	if (err) {
		lk_err("reading BPF maps failed: %s", strerror(-err));
		return err;
	}
	for (i = 0; i < c->nrows; i++)
		summarize(&c->rows[i]);
	qsort(c->rows, c->nrows, sizeof(*c->rows), cmp_rows);
	return 0;
}

static void print_header(void)
{
	if (lk_opts.per_proc)
		lk_printf("%-7s %-15s ", "PID", "COMM");
	else
		lk_printf("%-20s ", "SYSCALL");
	lk_printf("%10s %8s %11s %10s %10s %10s %10s\n", "COUNT", "ERRORS",
		  "TOTAL_ms", "MEAN_us", "P50_us", "P99_us", "MAX_us");
}

static void print_errnos(struct ctx *c, unsigned int slot_or_tgid)
{
	char buf[16];
	unsigned int i;
	bool any = false;

	for (i = 0; i < c->nerrs; i++) {
		const struct err_count *e = &c->errs[i];

		if (e->row != slot_or_tgid)
			continue;
		if (!any)
			lk_open_object("errnos");
		any = true;
		lk_printf("    %-22s %10" PRIu64 "\n", lk_errno_name(e->err, buf, sizeof(buf)), e->n);
		lk_print_u64(LK_JSON, lk_errno_name(e->err, buf, sizeof(buf)), NULL, e->n);
	}
	if (any)
		lk_close_object();
}

/*
 * -H: fold the log-linear ns buckets into log2 µs slots, each by its
 * middle.  A bucket is first narrowed to the row's exact min and max: a
 * row of 2.06 ms sleeps fills the bucket 1.97-2.10 ms, whose middle is
 * below 2048 µs, but whose calls all lie above it.
 */
static void print_hist(const struct row *r)
{
	uint64_t log2[64] = {};
	unsigned int b;

	for (b = 0; b < SL_BUCKETS; b++) {
		unsigned long long lo, hi;

		if (!r->s.hist[b])
			continue;
		lo = lh_lower(b, SL_SUB_BITS);
		hi = lh_upper(b, SL_SUB_BITS);
		if (lo < r->s.min_ns)
			lo = r->s.min_ns;
		if (hi > r->s.max_ns)
			hi = r->s.max_ns;
		log2[lh_log2_slot((lo + hi) / 2 / 1000)] += r->s.hist[b];
	}
	lk_print_log2_hist(log2, 64, "usecs");
	lk_printf("\n");
}

static unsigned int row_id(const struct row *r)
{
	unsigned int slot;

	if (lk_opts.per_proc)
		return r->key;
	for (slot = 0; slot < nslots; slot++)
		if ((unsigned int)slot_nr[slot] == r->key)
			return slot;
	return SL_NONE;
}

static void print_lat(const char *key, const char *fmt, double ns, bool have)
{
	if (have)
		lk_print_float(LK_ANY, key, fmt, ns / 1000);
	else
		lk_print_null(LK_ANY, key, fmt ? "          -" : NULL);
}

static void print_row(struct ctx *c, const struct row *r)
{
	bool have = r->d.count > 0;
	char buf[32];

	lk_open_row(lk_opts.per_proc ? "process" : "syscall");
	if (lk_opts.per_proc) {
		lk_print_owner(r->key, r->comm);
	} else {
		lk_print_str(LK_ANY, "syscall", "%-20s ", lk_syscall_label(r->key, buf, sizeof(buf)));
		lk_print_u64(LK_JSON, "nr", NULL, r->key);
	}
	lk_print_u64(LK_ANY, "count", "%10" PRIu64, r->s.count);
	lk_print_u64(LK_ANY, "errors", " %8" PRIu64, r->s.errors);
	lk_print_float(LK_ANY, "total_ms", " %11.3f", r->s.total_ns / 1e6);
	print_lat("mean_us", " %10.3f", r->d.mean, have);
	print_lat("p50_us", " %10.3f", r->d.p50, have);
	print_lat("p99_us", " %10.3f", r->d.p99, have);
	print_lat("max_us", " %10.3f", r->s.max_ns, have);
	print_lat("min_us", NULL, r->s.min_ns, have);
	lk_print_nl();
	if (env.errnos)
		print_errnos(c, row_id(r));
	if (lk_opts.hist && have)
		print_hist(r);
	lk_close_record();
}

static void print_drops(struct ctx *c)
{
	static const char *const names[SL_DROP_MAX] = {
		"drops_start", "drops_process", "drops_errno", "drops_events",
		"drops_exit",
	};
	uint64_t d[SL_DROP_MAX];
	bool any = false;
	int i;

	for (i = 0; i < SL_DROP_MAX; i++) {
		d[i] = c->skel->bss->drops[i] - c->drops_seen[i];
		c->drops_seen[i] = c->skel->bss->drops[i];
		any |= d[i] != 0;
	}
	if (any)
		lk_printf("dropped (not recorded): start %" PRIu64 ", process %" PRIu64
			  ", errno %" PRIu64 ", events %" PRIu64 ", exit %" PRIu64 "\n",
			  d[0], d[1], d[2], d[3], d[4]);
	for (i = 0; i < SL_DROP_MAX; i++)
		lk_print_u64(LK_JSON, names[i], NULL, d[i]);
}

static int report(void *p, bool final)
{
	struct ctx *c = p;
	size_t i, n;

	if (collect(c, final))
		return -1;
	n = lk_top_rows(c->nrows);
	lk_report_time();
	if (!lk_out_json())
		print_header();
	for (i = 0; i < n; i++)
		print_row(c, &c->rows[i]);
	lk_open_report(final);
	lk_print_u64(LK_JSON, "rows", NULL, c->nrows);
	print_drops(c);
	lk_close_report(final);
	return 0;
}

static int handle_event(void *ctx, void *data, size_t len)
{
	const struct sl_event *e = data;
	char buf[32], ebuf[16];

	lk_open_event();
	lk_print_u64(LK_ANY, "pid", "%-7" PRIu64, e->pid);
	lk_print_u64(LK_ANY, "tid", " %-7" PRIu64, e->tid);
	lk_print_str(LK_ANY, "comm", " %-16s", e->comm);
	lk_print_str(LK_ANY, "syscall", " %-16s", lk_syscall_label(e->nr, buf, sizeof(buf)));
	lk_print_float(LK_ANY, "lat_us", " %12.3f us", e->lat_ns / 1000.0);
	lk_print_s64(LK_ANY, "ret", "  ret %" PRId64, e->ret);
	if (e->ret < 0 && e->ret >= -4095)
		lk_print_str(LK_ANY, "errno", " %s", lk_errno_name(-e->ret, ebuf, sizeof(ebuf)));
	lk_print_nl();
	lk_close_record();
	return 0;
}

static int size_maps(struct syslat_bpf *skel, bool dbl)
{
	unsigned int gens = dbl ? 2 : 1;
	int err = 0;

	err |= bpf_map__set_max_entries(skel->maps.stats,
					lk_opts.per_proc ? 1 : nslots * gens);
	err |= bpf_map__set_max_entries(skel->maps.proc_stats,
					lk_opts.per_proc ? SL_MAX_PROCS * gens : 1);
	err |= bpf_map__set_max_entries(skel->maps.comms,
					lk_opts.per_proc ? SL_MAX_PROCS * 4 : 1);
	err |= bpf_map__set_max_entries(skel->maps.errs,
					env.errnos || env.failed ? SL_MAX_ERRS : 1);
	err |= bpf_map__set_max_entries(skel->maps.starts, skel->rodata->ntids);
	if (lk_opts.events)
		err |= bpf_map__set_max_entries(skel->maps.events, 1 << 20);
	return err;
}

/*
 * Exit first: a call whose entry the programs see then always has its
 * exit seen too.
 */
static int attach(struct syslat_bpf *skel, enum lk_method m)
{
	bool btf = m == LK_M_TP_BTF;
	struct bpf_program *exit_prog = btf ? skel->progs.sys_exit_btf : skel->progs.sys_exit_raw;
	struct bpf_program *enter_prog = btf ? skel->progs.sys_enter_btf : skel->progs.sys_enter_raw;
	struct bpf_link *l;

	l = bpf_program__attach(exit_prog);
	if (!l)
		return -errno;
	if (btf)
		skel->links.sys_exit_btf = l;
	else
		skel->links.sys_exit_raw = l;
	l = bpf_program__attach(enter_prog);
	if (!l)
		return -errno;
	if (btf)
		skel->links.sys_enter_btf = l;
	else
		skel->links.sys_enter_raw = l;
	return 0;
}

/* One hook: a method's two programs see the entry and the exit. */
static struct lk_hook_sel hook = {
	.hook = { "raw_syscalls", "sys_enter" }, .required = true,
	.prog = {
		[LK_M_TP_BTF] = { "sys_enter_btf", "sys_exit_btf" },
		[LK_M_RAW_TP] = { "sys_enter_raw", "sys_exit_raw" },
	},
};

static int setup(struct syslat_bpf *skel, bool dbl)
{
	if (lk_hooks_choose(skel->obj, &hook, 1))
		return -1;
	lk_info("hook raw_syscalls:sys_exit: using %s", lk_method_name(hook.chosen));
	if (setup_slots((__u16 *)skel->rodata->slot_of))
		return -1;
	skel->rodata->nslots = nslots;
	skel->rodata->ntids = start_entries();
	skel->rodata->per_process = lk_opts.per_proc;
	skel->rodata->failed_only = env.failed;
	skel->rodata->errno_on = env.errnos || env.failed;
	skel->rodata->events_on = lk_opts.events;
	skel->rodata->min_ns = lk_opts.min_us * 1000;
	skel->rodata->lk_filter = lk_filter_from_opts();
	if (size_maps(skel, dbl)) {
		lk_err("cannot size BPF maps");
		return -1;
	}
	return 0;
}

static const struct lk_tool tool = {
	.options = options, .parser = parse_arg, .doc = doc,
	.common = LK_OPT_TASK | LK_OPT_TID | LK_OPT_OUTPUT | LK_OPT_METRICS | LK_OPT_PER_PROC |
		  LK_OPT_HIST | LK_OPT_TOP | LK_OPT_EVENTS | LK_OPT_MIN_US,
	.docs = docs,
};

int main(int argc, char **argv)
{
	struct ring_buffer *rb = NULL;
	struct ctx c = {};
	int err;

	if (lk_start(&tool, argc, argv))
		return 1;
	c.skel = syslat_bpf__open();
	if (!c.skel) {
		lk_err_bpf("open BPF object", -errno);
		return 1;
	}
	c.double_buffer = lk_opts.interval > 0;
	err = setup(c.skel, c.double_buffer);
	if (err)
		goto cleanup;
	err = lk_skel_load(c.skel->skeleton);
	if (err)
		goto cleanup;
	err = lk_events_start(&rb, c.skel->maps.events, handle_event, &c);
	if (err)
		goto cleanup;
	err = attach(c.skel, hook.chosen);
	if (err) {
		lk_err_bpf("attach to raw_syscalls:sys_enter/sys_exit", err);
		goto cleanup;
	}
	err = syslat_metrics_start(c.skel, slot_nr, nslots, c.double_buffer ? 2 : 1, env.errnos);
	if (err)
		goto cleanup;
	lk_info("tracing %u syscalls; Ctrl-C to end", nslots);
	err = lk_run(rb, report, &c);
cleanup:
	lk_metrics_stop();
	ring_buffer__free(rb);
	syslat_bpf__destroy(c.skel);
	free(c.rows);
	free(c.errs);
	return err ? 1 : 0;
}
