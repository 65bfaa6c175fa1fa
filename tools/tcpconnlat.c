// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * tcpconnlat: TCP connection latency, active and passive opens, with
 * failures by cause and SYN/SYN-ACK retransmissions, from tracepoints.
 */
#include <argp.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "latkit.h"
#include "tcpconnlat.h"
#include "tcpconnlat.skel.h"
#include "tcpconnlat/metrics.h"

static const char doc[] =
"TCP connection latency: active opens from connect() to ESTABLISHED,\n"
"passive opens from the first SYN-ACK sent to the handshake's last ACK;\n"
"failed handshakes by cause (refused, timeout, reset, other) and SYN and\n"
"SYN-ACK retransmissions.  Tracepoints only: no kprobes, no fentry.\n"
"\n"
"USAGE: tcpconnlat [OPTIONS] [interval [count]]\n"
"\v"
"-p, -c and --cgroup select active opens by the process that called\n"
"connect(), passive ones by the process that called listen().\n"
"\n"
"EXAMPLES:\n"
"    tcpconnlat                      # until Ctrl-C, then totals per direction\n"
"    tcpconnlat 1 10                 # every second, ten times\n"
"    tcpconnlat -F -n 5              # and the five busiest remote endpoints\n"
"    tcpconnlat -P -H                # per process, with histograms\n"
"    tcpconnlat --netns lab --rport 443\n"
"                                    # connects to port 443 in netns \"lab\"\n"
"    tcpconnlat --events             # one line per connection\n"
"    tcpconnlat -i 60 --listen :9486 # and Prometheus metrics\n";

static const struct lk_opt_doc docs[] = {
	{ "per-flow", "One row per remote address and server port" },
	{ "top", "With -F or -P: at most N rows each (default 20, 0: all)" },
	{ "hist", "Latency histograms (log2, microseconds) of the totals" },
	{ "events", "One line per connection established or failed" },
	{ NULL },
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARGP_KEY_END:
		if (lk_opts.metrics_pids)
			argp_error(state, "--metrics-pids: tcpconnlat's metrics have no process labels");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

struct row {
	struct cl_key k;
	struct cl_stats s;
	uint64_t *hist;		/* LH_BUCKETS */
};

struct ctx {
	struct tcpconnlat_bpf *skel;
	struct row *v;
	size_t n, cap;
	struct cl_totals last;
	uint64_t start_ns;
	struct cl_metrics m;	/* what the reports read, for the metrics */
	unsigned long long missed;	/* program runs skipped, at the last report */
};

static const char *const dirs[CL_NDIRS] = { "active", "passive" };
static const char *const causes[CL_NCAUSES] = { "refused", "timeout", "reset", "other" };

static int cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct cl_key));
}

static struct row *row_get(struct ctx *c, const struct cl_key *k)
{
	uint64_t *hist;
	struct row *nv;
	size_t i;

	for (i = 0; i < c->n; i++)
		if (!cmp_key(&c->v[i].k, k))
			return &c->v[i];
	hist = calloc(LH_BUCKETS, sizeof(uint64_t));
	nv = hist ? lk_array_add((void **)&c->v, &c->n, &c->cap, sizeof(*nv), 64) : NULL;
	if (!nv) {
		free(hist);
		return NULL;
	}
	nv->k = *k;
	nv->hist = hist;
	return nv;
}

static int take_row(const void *key, const void *val, void *p)
{
	struct cl_key k = *(const struct cl_key *)key;
	struct ctx *c = p;
	struct row *r;

	k.gen = 0;
	r = row_get(c, &k);
	if (!r)
		return -1;
	r->s = *(const struct cl_stats *)val;
	cl_metrics_row(c->m.dir, key, val);
	return 0;
}

static int take_bucket(const void *key, const void *val, void *p)
{
	const struct cl_hkey *hk = key;
	struct cl_key k = hk->row;
	struct ctx *c = p;
	struct row *r;

	k.gen = 0;
	r = row_get(c, &k);
	if (!r)
		return -1;
	r->hist[hk->bucket % LH_BUCKETS] += *(const uint64_t *)val;
	cl_metrics_bucket(c->m.dir, hk, *(const uint64_t *)val);
	return 0;
}

/* What happened since the last report: one generation of both tables. */
static int collect(struct ctx *c, bool final)
{
	struct tcpconnlat_bpf *s = c->skel;
	struct cl_key k = { .what = CL_TOTAL };
	struct lk_gen rows = { offsetof(struct cl_key, gen), 2 };
	struct lk_gen hist = { offsetof(struct cl_hkey, row.gen), 2 };

	for (k.dir = 0; k.dir < CL_NDIRS; k.dir++)
		if (!row_get(c, &k))
			return -1;
	rows.g = lk_opts.interval && !final ? lk_gen_flip(&s->bss->gen) : s->bss->gen;
	hist.g = rows.g;
	if (lk_map_foreach(bpf_map__fd(s->maps.rows), sizeof(struct cl_key),
			   sizeof(struct cl_stats), false, bpf_map__max_entries(s->maps.rows),
			   &rows, take_row, c) ||
	    lk_map_foreach(bpf_map__fd(s->maps.hist), sizeof(struct cl_hkey), sizeof(uint64_t),
			   false, bpf_map__max_entries(s->maps.hist), &hist, take_bucket, c))
		return -1;
	return 0;
}

static int cmp_rows(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->k.what != y->k.what)
		return x->k.what - y->k.what;
	if (x->k.dir != y->k.dir)
		return x->k.dir - y->k.dir;
	if (x->s.opens != y->s.opens)
		return x->s.opens < y->s.opens ? 1 : -1;
	return cmp_key(a, b);
}

/* --- output format --------------------------------------------------- */

static void print_header(const char *what)
{
	lk_printf("%-7s %s%7s %7s %7s %7s %7s %7s %7s %10s %10s %10s %10s %10s %10s %10s %10s\n",
		  "DIR", what, "OPENS", "FAILED", "REFUSED", "TIMEOUT", "RESET", "OTHER",
		  "RETRANS", "MEASURED", "MEAN_us", "P50_us", "P90_us", "P99_us", "P99.9_us",
		  "MIN_us", "MAX_us");
}

static void print_stats(const struct row *r)
{
	struct lk_dist d = { .min = r->s.min_ns, .max = r->s.max_ns, .sum = r->s.sum_ns };
	uint64_t failed = 0;
	int i;

	lk_print_u64(LK_ANY, "opens", "%7" PRIu64 " ", r->s.opens);
	for (i = 0; i < CL_NCAUSES; i++)
		failed += r->s.fail[i];
	lk_print_u64(LK_ANY, "failed", "%7" PRIu64 " ", failed);
	for (i = 0; i < CL_NCAUSES; i++)
		lk_print_u64(LK_ANY, causes[i], "%7" PRIu64 " ", r->s.fail[i]);
	lk_print_u64(LK_ANY, "retrans", "%7" PRIu64 " ", r->s.retrans);
	lh_summarize(r->hist, LH_BUCKETS, LH_SUB_BITS, &d, true);
	lk_print_dist(&d, 1000, "_us");
}

/*
 * A -F row's remote address and server port: text "ADDR:PORT" (the
 * flow model's end, with the server's port); JSON the row's flow (its
 * local address unspecified, the client's port 0) and "port".
 */
static void print_endpoint(const struct cl_key *k)
{
	struct lk_flow shown = k->ep;
	char ep[64];		/* "[" INET6_ADDRSTRLEN "]:65535" */
	uint16_t port = k->dir == CL_ACTIVE ? k->ep.rport : k->ep.lport;

	lk_print_u64(LK_JSON, "netns", NULL, k->netns);
	if (lk_out_json()) {
		lk_print_flow(&k->ep);
	} else {
		shown.rport = port;
		lk_flow_end(&shown, false, ep, sizeof(ep));
		lk_printf("%-*s ", LK_FLOW_W, ep);
	}
	lk_print_u64(LK_JSON, "port", NULL, port);
}

static void print_row(const struct row *r)
{

	lk_open_row(r->k.what == CL_FLOW ? "flow" : "process");
	lk_print_str(LK_ANY, "dir", "%-7s ", dirs[r->k.dir % CL_NDIRS]);
	if (r->k.what == CL_FLOW) {
		print_endpoint(&r->k);
	} else {
		lk_print_owner(r->k.tgid, r->k.comm);
	}
	print_stats(r);
	lk_print_nl();
	lk_close_record();
}

static void print_rows(struct ctx *c, int what)
{
	size_t i, shown = 0, all = 0;

	for (i = 0; i < c->n; i++)
		all += c->v[i].k.what == what;
	if (!all)
		return;
	if (what == CL_FLOW)
		print_header("REMOTE (server port)   ");
	else
		print_header("PID     COMM            ");
	for (i = 0; i < c->n; i++) {
		if (c->v[i].k.what != what || (lk_opts.top && shown >= (size_t)lk_opts.top))
			continue;
		print_row(&c->v[i]);
		shown++;
	}
	if (shown < all)
		lk_printf("(%zu more rows; -n 0 shows all)\n", all - shown);
	lk_printf("\n");
}

static void print_total(const struct row *r)
{
	uint64_t log2[64];

	lk_open_object(dirs[r->k.dir % CL_NDIRS]);
	lk_printf("%-7s ", dirs[r->k.dir % CL_NDIRS]);
	print_stats(r);
	lk_print_nl();
	if (lk_opts.hist) {
		size_t b;

		memset(log2, 0, sizeof(log2));
		for (b = 0; b < LH_BUCKETS; b++)
			log2[lh_log2_slot((lh_lower(b, LH_SUB_BITS) + lh_upper(b, LH_SUB_BITS)) / 2000)] +=
				r->hist[b];
		lk_print_log2_hist(log2, 64, "usecs");
		lk_printf("\n");
	}
	lk_close_object();
}

static void print_report(struct ctx *c, const struct cl_totals *d, bool final)
{
	unsigned long long missed;
	size_t i;

	lk_report_time();
	print_rows(c, CL_FLOW);
	print_rows(c, CL_PROC);
	lk_open_report(final);
	print_header("");
	for (i = 0; i < c->n; i++)
		if (c->v[i].k.what == CL_TOTAL)
			print_total(&c->v[i]);
	lk_print_u64(LK_ANY, "syn_retrans", "SYN retransmissions: %" PRIu64, d->syn_retrans);
	lk_print_u64(LK_ANY, "synack_retrans", ", SYN-ACK retransmissions: %" PRIu64,
		     d->synack_retrans);
	lk_print_u64(LK_ANY, "unmeasured", ", unmeasured: %" PRIu64, d->unmeasured);
	lk_print_u64(LK_JSON, "dup_children", NULL, d->dup_children);
	lk_print_u64(LK_ANY, "drops", ", drops: %" PRIu64,
		     d->sock_drops + d->row_drops + d->event_drops);
	lk_print_u64(LK_JSON, "sock_drops", NULL, d->sock_drops);
	lk_print_u64(LK_JSON, "row_drops", NULL, d->row_drops);
	lk_print_u64(LK_JSON, "event_drops", NULL, d->event_drops);
	/* Runs the kernel skipped (lk_prog_missed): opens or causes lost. */
	missed = lk_prog_missed(c->skel->obj, NULL);
	lk_print_u64(LK_ANY, "missed", ", missed: %" PRIu64, missed - c->missed);
	c->missed = missed;
	lk_printf("\n");
	lk_close_report(final);
}

static int handle_event(void *p, void *data, size_t size)
{
	const struct cl_event *e = data;
	struct ctx *c = p;

	if (size < sizeof(*e))
		return 0;
	lk_open_event();
	lk_print_float(LK_ANY, "time_s", "%10.6f ", (double)(e->ts_ns - c->start_ns) / 1e9);
	lk_print_str(LK_ANY, "dir", "%-7s ", dirs[e->dir % CL_NDIRS]);
	lk_print_owner(e->owner.tgid, e->owner.comm);
	lk_print_flow(&e->flow);
	if (e->lat_ns)
		lk_print_float(LK_ANY, "lat_us", "%12.1f ", e->lat_ns / 1e3);
	else
		lk_print_null(LK_ANY, "lat_us", "           - ");
	lk_print_u64(LK_ANY, "retrans", "%7" PRIu64 " ", e->retrans);
	lk_print_str(LK_ANY, "result", "%s", e->failed ? causes[(e->failed - 1) % CL_NCAUSES] :
							"established");
	lk_print_nl();
	lk_close_record();
	return 0;
}

static void print_events_header(void)
{
	if (lk_opts.timestamp)
		lk_printf("%-8s ", "TIME");
	lk_printf("%-10s %-7s %-7s %-15s ", "TIME(s)", "DIR", "PID", "COMM");
	lk_print_flow_header();
	lk_printf("%12s %7s %s\n", "LAT_us", "RETRANS", "RESULT");
}

/* --- end of output format -------------------------------------------- */

static int report(void *p, bool final)
{
	struct ctx *c = p;
	struct cl_totals now, d;
	uint64_t *a = (void *)&now, *b = (void *)&c->last, *o = (void *)&d;
	size_t i;
	int zero = 0, err;

	err = collect(c, final) || lk_percpu_sum_u64(bpf_map__fd(c->skel->maps.totals), &zero,
					      (uint64_t *)&now, sizeof(now) / sizeof(uint64_t));
	if (err) {
		lk_err("cannot read the kernel's counts");
	} else {
		for (i = 0; i < sizeof(d) / sizeof(*o); i++)
			o[i] = a[i] - b[i];
		c->last = now;
		qsort(c->v, c->n, sizeof(*c->v), cmp_rows);
		print_report(c, &d, final);
	}
	for (i = 0; i < c->n; i++)
		free(c->v[i].hist);
	c->n = 0;
	return err ? -1 : 0;
}

/* One program per method for each hook: tp_btf, else raw_tp. */
static struct lk_hook_sel hooks[] = {
	{ .hook = { "sock", "inet_sock_set_state" }, .required = true,
	  .prog = { [LK_M_TP_BTF] = { "state_btf", "state_btf_twin" },
		    [LK_M_RAW_TP] = { "state_raw", "state_raw_twin" } } },
	{ .hook = { "tcp", "tcp_retransmit_skb" }, .required = true,
	  .prog = { [LK_M_TP_BTF] = { "retrans_btf" }, [LK_M_RAW_TP] = { "retrans_raw" } } },
	{ .hook = { "tcp", "tcp_retransmit_synack" }, .required = true,
	  .prog = { [LK_M_TP_BTF] = { "synack_btf" }, [LK_M_RAW_TP] = { "synack_raw" } } },
};

static int setup(struct tcpconnlat_bpf *s)
{
	bool files;

	if (lk_hooks_choose(s->obj, hooks, sizeof(hooks) / sizeof(hooks[0])))
		return -1;
	/* Typed socket pointers in every program: socket storage. */
	s->rodata->sk_storage = hooks[0].chosen == LK_M_TP_BTF &&
				hooks[1].chosen == LK_M_TP_BTF && hooks[2].chosen == LK_M_TP_BTF;
	if (s->rodata->sk_storage) {
		bpf_map__set_max_entries(s->maps.socks, 1);
		bpf_map__set_max_entries(s->maps.listeners, 1);
	} else {
		bpf_map__set_autocreate(s->maps.sk_conns, false);
		bpf_map__set_autocreate(s->maps.sk_listener, false);
		bpf_program__set_autoload(s->progs.seed_listeners, false);
	}
	bpf_program__set_autoattach(s->progs.seed_listeners, false);
	files = s->rodata->sk_storage && lk_probe_file_listeners();
	bpf_program__set_autoload(s->progs.find_listeners, files);
	bpf_program__set_autoattach(s->progs.find_listeners, false);
	if (!files)
		bpf_map__set_max_entries(s->maps.lk_seeds, 1);
	s->rodata->lk_filter = lk_filter_from_opts();
	s->rodata->per_flow = lk_opts.per_flow;
	s->rodata->per_proc = lk_opts.per_proc;
	s->rodata->emit_events = lk_opts.events;
	s->rodata->lk_test_skip_every = lk_test_skip_runs("SYN-ACK retransmission, connect end and accept end");
	if (!lk_opts.events)
		bpf_map__set_max_entries(s->maps.events, 4096);
	/* Interval reports: two generations of rows. */
	if (lk_opts.interval) {
		bpf_map__set_max_entries(s->maps.rows, 2 * CL_MAX_ROWS);
		bpf_map__set_max_entries(s->maps.hist, 2 * CL_MAX_HIST);
	}
	if (lk_skel_load(s->skeleton) ||
	    lk_skel_attach(s->skeleton, "attach to the tcp and sock tracepoints"))
		return -1;
	/* After the attach: a listener opened meanwhile has its storage. */
	if (s->rodata->sk_storage) {
		if (lk_iter_listeners(files ? s->progs.find_listeners : NULL, s->progs.seed_listeners,
				      "give the listeners socket storage"))
			return -1;
		lk_iter_listeners_said(s->bss->lk_listeners_seeded, s->bss->lk_listeners_owned,
				       s->bss->lk_listeners_lost);
	}
	return 0;
}

static const struct lk_tool tool = {
	.parser = parse_arg, .doc = doc,
	.common = LK_OPT_TASK | LK_OPT_NETNS | LK_OPT_FLOW | LK_OPT_ADDR | LK_OPT_OUTPUT |
		  LK_OPT_METRICS | LK_OPT_PER_FLOW | LK_OPT_PER_PROC | LK_OPT_HIST |
		  LK_OPT_TOP | LK_OPT_EVENTS,
	.docs = docs, .top = 20,
};

int main(int argc, char **argv)
{
	struct ring_buffer *rb = NULL;
	struct ctx c = {};
	int err;

	if (lk_start(&tool, argc, argv))
		return 1;
	c.skel = tcpconnlat_bpf__open();
	if (!c.skel) {
		lk_err_bpf("open BPF object", -errno);
		return 1;
	}
	err = setup(c.skel);
	if (!err)
		err = lk_events_start(&rb, c.skel->maps.events, handle_event, &c);
	if (err)
		goto cleanup;
	c.m.skel = c.skel;
	err = tcpconnlat_metrics_start(&c.m);
	if (err)
		goto cleanup;
	c.start_ns = lk_now_ns();
	lk_info("measuring; Ctrl-C to stop");
	if (lk_opts.events)
		print_events_header();
	err = lk_run(rb, report, &c);
cleanup:
	lk_metrics_stop();
	ring_buffer__free(rb);
	tcpconnlat_bpf__destroy(c.skel);
	free(c.v);
	return err ? 1 : 0;
}
