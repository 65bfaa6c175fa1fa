// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * tcpretrans_cnt: count TCP retransmissions, in segments, as the kernel
 * counts Tcp: RetransSegs, by kind and by flow.
 */
#include <argp.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "latkit.h"
#include "tcpretrans_cnt.h"
#include "tcpretrans_cnt.skel.h"
#include "tcpretrans_cnt/metrics.h"

static const char doc[] =
"Count TCP retransmissions in segments, exactly as the kernel counts\n"
"Tcp: RetransSegs, by kind (timeout, loss, fast, tlp, syn, synack, other)\n"
"and with -F by flow, with the process that owns it.\n"
"\n"
"USAGE: tcpretrans_cnt [OPTIONS] [interval [count]]\n"
"\v"
"-p, -c and --cgroup select flows by the process that owns them: the one\n"
"that called connect() or listen() (an accepted socket has its listener's),\n"
"else the one that closed it (retransmissions run in softirq, not in a\n"
"process).\n"
"\n"
"EXAMPLES:\n"
"    tcpretrans_cnt                  # count until Ctrl-C, then print\n"
"    tcpretrans_cnt 1 10             # print every second, ten times\n"
"    tcpretrans_cnt -F -n 5          # and the five worst flows\n"
"    tcpretrans_cnt --netns lab -F   # only sockets in netns \"lab\"\n"
"    tcpretrans_cnt -p 1234 --rport 443\n"
"                                    # flows of process 1234 to port 443\n"
"    tcpretrans_cnt --events         # one line per retransmission\n";

static const struct lk_opt_doc docs[] = {
	{ "per-flow", "One row per flow (4-tuple), worst first" },
	{ "top", "With -F: at most N flows per report (default 20, 0: all)" },
	{ "events", "One line per retransmission" },
	{ NULL },
};

/* Flows that only saw SYN-ACKs and never got a socket are forgotten after. */
#define REQ_IDLE_NS	(120ULL * 1000000000ULL)

static const char *const kind_names[RT_NKINDS] = {
	"timeout", "loss", "fast", "tlp", "syn", "synack", "other",
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARGP_KEY_END:
		if (lk_opts.metrics_pids)
			argp_error(state, "--metrics-pids: tcpretrans_cnt has no per-process metrics");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

struct row {
	struct rt_flow_key key;
	struct rt_flow val;
	bool closed;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

struct ctx {
	struct tcpretrans_cnt_bpf *skel;
	struct rt_totals last;
	uint64_t last_missed[2];
	struct rows closed;	/* from the ring since the last report */
	struct rows live;	/* this report's live flows */
	struct rows prev;	/* the last report's live flows, sorted */
	uint64_t start_ns;
};

static int rows_add(struct rows *r, const struct rt_flow_key *k, const struct rt_flow *v,
		    bool closed)
{
	struct row *nv = lk_array_add((void **)&r->v, &r->n, &r->cap, sizeof(*nv), 64);

	if (!nv)
		return -1;
	nv->key = *k;
	nv->val = *v;
	nv->closed = closed;
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	return memcmp(&((const struct row *)a)->key, &((const struct row *)b)->key,
		      sizeof(struct rt_flow_key));
}

static uint64_t flow_segs(const struct rt_flow *f)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < RT_NKINDS; i++)
		n += f->segs[i];
	return n;
}

static int cmp_segs(const void *a, const void *b)
{
	uint64_t x = flow_segs(&((const struct row *)a)->val);
	uint64_t y = flow_segs(&((const struct row *)b)->val);

	if (x != y)
		return x < y ? 1 : -1;
	return cmp_key(a, b);
}

/* Counts since the last report: the same flow (key and start) minus then. */
static void subtract_prev(struct ctx *c, struct row *r)
{
	const struct row *p = bsearch(r, c->prev.v, c->prev.n, sizeof(*r), cmp_key);
	int i;

	if (!p || p->val.first_ns != r->val.first_ns)
		return;
	for (i = 0; i < RT_NKINDS; i++)
		r->val.segs[i] -= p->val.segs[i];
	r->val.events -= p->val.events;
	r->val.abandoned -= p->val.abandoned;
	r->val.failed -= p->val.failed;
}

static void print_flow_key(const struct rt_flow_key *k)
{
	lk_print_u64(LK_JSON, "netns", NULL, k->netns);
	lk_print_flow(&k->ends);
}

static void print_flow_header(void)
{
	lk_printf("%-7s %-15s ", "PID", "COMM");
	lk_print_flow_header();
	lk_printf("%7s %7s %7s %7s %7s %7s %7s %7s %7s %7s %s\n", "SEGS", "TIMEOUT", "LOSS",
		  "FAST", "TLP", "SYN", "SYNACK", "OTHER", "ABANDON", "FAILED", "STATE");
}

static void print_flow(const struct row *r)
{
	const struct rt_flow *f = &r->val;
	int i;

	lk_open_row("flow");
	lk_print_owner(f->owner.tgid, f->owner.comm);
	print_flow_key(&r->key);
	lk_print_u64(LK_ANY, "segs", "%7" PRIu64 " ", flow_segs(f));
	for (i = 0; i < RT_NKINDS; i++)
		lk_print_u64(LK_ANY, kind_names[i], "%7" PRIu64 " ", f->segs[i]);
	lk_print_u64(LK_ANY, "abandoned", "%7" PRIu64 " ", f->abandoned);
	lk_print_u64(LK_ANY, "failed", "%7" PRIu64 " ", f->failed);
	lk_print_u64(LK_JSON, "events", NULL, f->events);
	lk_print_bool(LK_JSON, "closed", NULL, r->closed);
	lk_printf("%s\n", r->closed ? "closed" : "open");
	lk_close_record();
}

static int read_totals(struct tcpretrans_cnt_bpf *skel, struct rt_totals *out)
{
	int zero = 0;

	/* Every field is a u64 counter. */
	return lk_percpu_sum_u64(bpf_map__fd(skel->maps.totals), &zero, (uint64_t *)out,
				 sizeof(*out) / sizeof(uint64_t));
}

/*
 * Runs the kernel skipped because another BPF program was running on
 * that CPU (classic tracepoints share one such guard per CPU): [0] the
 * counting hooks, [1] the others (owners, closes).
 */
static void read_missed(struct tcpretrans_cnt_bpf *skel, uint64_t missed[2])
{
	static const char *const counting[] = { "retrans_", "synack_", NULL };

	missed[0] = lk_prog_missed(skel->obj, counting);
	missed[1] = lk_prog_missed(skel->obj, NULL) - missed[0];
}

static int collect_live(const void *key, const void *val, void *p)
{
	struct ctx *c = p;

	return rows_add(&c->live, key, val, false);
}

/* SYN-ACK-only flows whose handshake never completed: no close will come. */
static void expire_requests(struct ctx *c)
{
	uint64_t now = lk_now_ns();
	size_t i;

	for (i = 0; i < c->live.n; i++) {
		struct row *r = &c->live.v[i];

		if (r->val.sk || now - r->val.last_ns < REQ_IDLE_NS)
			continue;
		if (!bpf_map_delete_elem(bpf_map__fd(c->skel->maps.flows), &r->key))
			__sync_fetch_and_sub(&c->skel->bss->live_flows, 1);
		r->closed = true;
	}
}

/* Rows to print: closed flows, then live ones, as deltas since the last report. */
static int gather(struct ctx *c, struct rows *out)
{
	size_t i, j;

	c->live.n = 0;
	if (lk_map_foreach(bpf_map__fd(c->skel->maps.flows), sizeof(struct rt_flow_key),
			   sizeof(struct rt_flow), false, bpf_map__max_entries(c->skel->maps.flows),
			   NULL, collect_live, c))
		return -1;
	expire_requests(c);
	for (i = 0; i < c->closed.n; i++)
		if (rows_add(out, &c->closed.v[i].key, &c->closed.v[i].val, true))
			return -1;
	for (i = 0; i < c->live.n; i++) {
		const struct row *r = &c->live.v[i];
		bool dup = false;

		/* Read live just before its close record was consumed. */
		for (j = 0; j < c->closed.n && !dup; j++)
			dup = !cmp_key(r, &c->closed.v[j]) &&
			      r->val.first_ns == c->closed.v[j].val.first_ns;
		if (!dup && rows_add(out, &r->key, &r->val, r->closed))
			return -1;
	}
	for (i = 0; i < out->n; i++)
		subtract_prev(c, &out->v[i]);
	c->closed.n = 0;
	/* Next time's reference: the live flows as read now. */
	qsort(c->live.v, c->live.n, sizeof(*c->live.v), cmp_key);
	free(c->prev.v);
	c->prev = c->live;
	c->live = (struct rows){};
	return 0;
}

/* A flow with something to show: events, or segments found unseen. */
static bool row_active(const struct row *r)
{
	return r->val.events || flow_segs(&r->val);
}

static void print_flows(struct rows *rows)
{
	size_t i, shown = 0, active = 0;

	qsort(rows->v, rows->n, sizeof(*rows->v), cmp_segs);
	for (i = 0; i < rows->n; i++)
		active += row_active(&rows->v[i]);
	if (active)
		print_flow_header();
	for (i = 0; i < rows->n; i++) {
		if (!row_active(&rows->v[i]))
			continue;
		if (lk_opts.top && shown >= (size_t)lk_opts.top)
			break;
		print_flow(&rows->v[i]);
		shown++;
	}
	if (shown < active)
		lk_printf("(%zu more flows; -n 0 shows all)\n", active - shown);
	if (active)
		lk_printf("\n");
}

static void print_kinds(const struct rt_totals *d)
{
	struct rt_kind_stats sum = {};
	int i;

	lk_printf("%-8s %10s %10s %10s %10s\n", "KIND", "SEGS", "EVENTS", "ABANDONED", "FAILED");
	for (i = 0; i < RT_NKINDS; i++) {
		const struct rt_kind_stats *k = &d->k[i];
		char key[32];

		lk_printf("%-8s %10llu %10llu %10llu %10llu\n", kind_names[i], k->segs,
			  k->events, k->abandoned, k->failed);
		snprintf(key, sizeof(key), "%s_segs", kind_names[i]);
		lk_print_u64(LK_JSON, key, NULL, k->segs);
		snprintf(key, sizeof(key), "%s_events", kind_names[i]);
		lk_print_u64(LK_JSON, key, NULL, k->events);
		snprintf(key, sizeof(key), "%s_abandoned", kind_names[i]);
		lk_print_u64(LK_JSON, key, NULL, k->abandoned);
		snprintf(key, sizeof(key), "%s_failed", kind_names[i]);
		lk_print_u64(LK_JSON, key, NULL, k->failed);
		sum.segs += k->segs;
		sum.events += k->events;
		sum.abandoned += k->abandoned;
		sum.failed += k->failed;
	}
	lk_printf("%-8s %10llu %10llu %10llu %10llu\n", "total", sum.segs, sum.events,
		  sum.abandoned, sum.failed);
	lk_print_u64(LK_ANY, "segs", "retransmitted segments (Tcp: RetransSegs): %" PRIu64,
		     sum.segs);
	lk_print_u64(LK_JSON, "events", NULL, sum.events);
	lk_print_u64(LK_JSON, "abandoned", NULL, sum.abandoned);
	lk_print_u64(LK_JSON, "failed", NULL, sum.failed);
}

static int report(void *p, bool final)
{
	struct ctx *c = p;
	struct rt_totals now, d;
	unsigned long long *a = (void *)&now, *b = (void *)&c->last, *o = (void *)&d;
	struct rows rows = {};
	uint64_t missed[2];
	size_t f;
	int err = 0;

	if (gather(c, &rows) || read_totals(c->skel, &now)) {
		lk_err("cannot read the kernel's counts");
		err = -1;
		goto out;
	}
	for (f = 0; f < sizeof(d) / sizeof(*o); f++)
		o[f] = a[f] - b[f];
	c->last = now;
	read_missed(c->skel, missed);
	lk_report_time();
	if (lk_opts.per_flow)
		print_flows(&rows);
	lk_open_report(final);
	print_kinds(&d);
	lk_print_u64(LK_JSON, "flows", NULL, rows.n);
	lk_print_u64(LK_JSON, "guessed", NULL, d.guessed);
	lk_print_u64(LK_JSON, "unseen", NULL, d.unseen);
	lk_print_u64(LK_JSON, "excess", NULL, d.excess);
	lk_print_u64(LK_JSON, "dup_children", NULL, d.dup_children);
	lk_print_u64(LK_ANY, "drops", ", drops: %" PRIu64,
		     d.flow_drops + d.closed_drops + d.event_drops);
	lk_print_u64(LK_JSON, "flow_drops", NULL, d.flow_drops);
	lk_print_u64(LK_JSON, "closed_drops", NULL, d.closed_drops);
	lk_print_u64(LK_JSON, "event_drops", NULL, d.event_drops);
	lk_print_u64(LK_ANY, "missed", ", missed: %" PRIu64, missed[0] - c->last_missed[0]);
	lk_print_u64(LK_JSON, "missed_other", NULL, missed[1] - c->last_missed[1]);
	c->last_missed[0] = missed[0];
	c->last_missed[1] = missed[1];
	lk_printf("\n");
	lk_close_report(final);
out:
	free(rows.v);
	return err;
}

static int handle_closed(void *p, void *data, size_t size)
{
	const struct rt_closed *cl = data;
	struct ctx *c = p;

	if (size < sizeof(*cl))
		return 0;
	return rows_add(&c->closed, &cl->key, &cl->val, true);
}

static const char *tcp_state_name(unsigned int s)
{
	static const char *const names[] = {
		"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
		"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
		"NEW_SYN_RECV",
	};

	return s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static int handle_event(void *p, void *data, size_t size)
{
	static const char *const verdicts[] = { "counted", "failed", "abandoned" };
	static const char *const ca_names[] = { "open", "disorder", "cwr", "recovery", "loss" };
	const struct rt_event *e = data;
	struct ctx *c = p;

	if (size < sizeof(*e))
		return 0;
	lk_open_event();
	lk_print_float(LK_ANY, "time_s", "%10.6f ", (double)(e->ts_ns - c->start_ns) / 1e9);
	lk_print_owner(e->owner.tgid, e->owner.comm);
	print_flow_key(&e->key);
	lk_print_str(LK_ANY, "kind", "%-7s ", kind_names[e->kind % RT_NKINDS]);
	lk_print_u64(LK_ANY, "segs", "%4" PRIu64 " ", e->segs);
	lk_print_u64(LK_ANY, "counted", "%7" PRIu64 " ", e->counted);
	lk_print_str(LK_ANY, "verdict", "%-9s ", verdicts[e->verdict % 3]);
	lk_print_s64(LK_ANY, "err", "%4" PRId64 " ", e->err);
	lk_print_u64(LK_JSON, "unseen", NULL, e->unseen);
	lk_print_u64(LK_JSON, "total_retrans", NULL, e->total);
	lk_print_str(LK_ANY, "state", "%-11s ", tcp_state_name(e->state));
	lk_print_str(LK_ANY, "ca_state", "%s", e->ca_state < 5 ? ca_names[e->ca_state] : "?");
	lk_print_nl();
	lk_close_record();
	return 0;
}

/* 6.18's tcp_retransmit_skb has (sk, skb, err); older ones (sk, skb). */
static bool retrans_has_err(const struct btf *btf)
{
	const struct btf_type *t;
	int id;

	id = btf__find_by_name_kind(btf, "btf_trace_tcp_retransmit_skb", BTF_KIND_TYPEDEF);
	if (id < 0)
		return false;
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	if (!t || !btf_is_ptr(t))
		return false;
	t = btf__type_by_id(btf, t->type);
	return t && btf_is_func_proto(t) && btf_vlen(t) == 4;
}

/* Offset of "err" in the classic tracepoint's record, 0 if it has none. */
static unsigned int tp_err_offset(const struct btf *btf)
{
	const struct btf_member *m;
	const struct btf_type *t;
	int id, i;

	id = btf__find_by_name_kind(btf, "trace_event_raw_tcp_retransmit_skb", BTF_KIND_STRUCT);
	if (id < 0)
		return 0;
	t = btf__type_by_id(btf, id);
	m = btf_members(t);
	for (i = 0; i < btf_vlen(t); i++, m++) {
		if (!strcmp(btf__name_by_offset(btf, m->name_off), "err"))
			return btf_member_bit_offset(t, i) / 8;
	}
	return 0;
}

/*
 * One program per method for each hook.  tcp:tcp_retransmit_skb's typed
 * programs come in two kinds, with and without its err argument: the
 * table names the kind this kernel's tracepoint has.
 */
enum { H_RETRANS, H_SYNACK, H_STATE, H_DESTROY, H_NR };
static struct lk_hook_sel hooks[H_NR] = {
	[H_RETRANS] = { .hook = { "tcp", "tcp_retransmit_skb" }, .required = true,
		.prog = { [LK_M_TP_BTF] = { "retrans_btf" }, [LK_M_RAW_TP] = { "retrans_raw" },
			  [LK_M_TP] = { "retrans_tp" } } },
	[H_SYNACK] = { .hook = { "tcp", "tcp_retransmit_synack" }, .required = true,
		.prog = { [LK_M_TP_BTF] = { "synack_btf" }, [LK_M_RAW_TP] = { "synack_raw" },
			  [LK_M_TP] = { "synack_tp" } } },
	[H_STATE] = { .hook = { "sock", "inet_sock_set_state" },
		.prog = { [LK_M_TP_BTF] = { "state_btf", "state_btf_twin" },
			  [LK_M_RAW_TP] = { "state_raw", "state_raw_twin" },
			  [LK_M_TP] = { "state_tp" } } },
	/* A second chance for a close the state program did not see. */
	[H_DESTROY] = { .hook = { "tcp", "tcp_destroy_sock" },
		.prog = { [LK_M_TP_BTF] = { "destroy_btf" }, [LK_M_RAW_TP] = { "destroy_raw" },
			  [LK_M_TP] = { "destroy_tp" } } },
};

/*
 * Owners live in socket storage when every hook gets typed socket
 * pointers (tp_btf), else in hashes keyed by socket address and port.
 */
static int choose_hooks(struct tcpretrans_cnt_bpf *skel, bool has_err, bool *typed)
{
	struct bpf_program *prog;

	/* The kind of tcp_retransmit_skb program the table does not name stays off. */
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, false);
	if (!has_err) {
		hooks[H_RETRANS].prog[LK_M_TP_BTF][0] = "retrans_btf_noerr";
		hooks[H_RETRANS].prog[LK_M_RAW_TP][0] = "retrans_raw_noerr";
	}
	if (lk_hooks_choose(skel->obj, hooks, H_NR))
		return -1;
	if (!hooks[H_STATE].chosen)
		lk_info("no sock:inet_sock_set_state: closed flows stay until evicted, and no owners");
	*typed = hooks[H_STATE].chosen && lk_hooks_typed(hooks, H_NR);
	return 0;
}

static int setup(struct ctx *c)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool has_err, typed, files;

	if (!btf) {
		lk_err("cannot read the kernel's BTF: %s", strerror(errno));
		return -1;
	}
	has_err = retrans_has_err(btf);
	c->skel->rodata->tp_err_off = tp_err_offset(btf);
	c->skel->rodata->has_err_arg = has_err;
	btf__free(btf);
	lk_info("tcp:tcp_retransmit_skb %s an err argument: %s", has_err ? "has" : "lacks",
		has_err ? "abandoned and failed retransmissions are seen" :
		"only good transmits are seen, failed ones at the socket's next one or close");
	if (choose_hooks(c->skel, has_err, &typed))
		return -1;
	lk_info("owners in %s", typed ? "socket storage" : "hashes by socket address and port");
	c->skel->rodata->typed_sk = typed;
	if (typed) {
		bpf_map__set_max_entries(c->skel->maps.owners, 1);
		bpf_map__set_max_entries(c->skel->maps.listeners, 1);
	} else {
		bpf_map__set_autocreate(c->skel->maps.sk_owners, false);
	}
	/* Not hooks: run once, after the attach. */
	files = typed && lk_probe_file_listeners();
	bpf_program__set_autoload(c->skel->progs.find_listeners, files);
	bpf_program__set_autoattach(c->skel->progs.find_listeners, false);
	if (!files)
		bpf_map__set_max_entries(c->skel->maps.lk_seeds, 1);
	bpf_program__set_autoload(c->skel->progs.seed_listeners, typed);
	bpf_program__set_autoattach(c->skel->progs.seed_listeners, false);
	c->skel->rodata->lk_filter = lk_filter_from_opts();
	c->skel->rodata->emit_events = lk_opts.events;
	c->skel->rodata->lk_test_skip_every = lk_test_skip_runs("retransmission and close");
	c->skel->rodata->lk_test_twice_every = lk_test_twice_runs("retransmission");
	c->skel->rodata->rt_test_skip_hs_every =
		lk_test_skip_handshakes("SYN, SYN-ACK, accept and handshake end");
	if (!lk_opts.events)
		bpf_map__set_max_entries(c->skel->maps.events, 4096);
	if (lk_skel_load(c->skel->skeleton) ||
	    lk_skel_attach(c->skel->skeleton, "attach to the tcp tracepoints"))
		return -1;
	/* After the attach: a listener opened meanwhile has its storage. */
	if (typed) {
		if (lk_iter_listeners(files ? c->skel->progs.find_listeners : NULL,
				      c->skel->progs.seed_listeners, "give the listeners socket storage"))
			return -1;
		lk_iter_listeners_said(c->skel->bss->lk_listeners_seeded,
				       c->skel->bss->lk_listeners_owned, c->skel->bss->lk_listeners_lost);
	}
	return 0;
}

static struct ring_buffer *open_rings(struct ctx *c)
{
	struct ring_buffer *rb;

	rb = ring_buffer__new(bpf_map__fd(c->skel->maps.closed), handle_closed, c, NULL);
	if (!rb) {
		lk_err_bpf("create ring buffer", -errno);
		return NULL;
	}
	if (lk_opts.events &&
	    ring_buffer__add(rb, bpf_map__fd(c->skel->maps.events), handle_event, c)) {
		lk_err_bpf("create ring buffer", -errno);
		ring_buffer__free(rb);
		return NULL;
	}
	return rb;
}

static const struct lk_tool tool = {
	.parser = parse_arg, .doc = doc,
	.common = LK_OPT_TASK | LK_OPT_NETNS | LK_OPT_FLOW | LK_OPT_ADDR | LK_OPT_OUTPUT |
		  LK_OPT_METRICS | LK_OPT_PER_FLOW | LK_OPT_TOP | LK_OPT_EVENTS,
	.docs = docs, .top = 20,
};

int main(int argc, char **argv)
{
	struct ring_buffer *rb = NULL;
	struct ctx c = {};
	int err;

	if (lk_start(&tool, argc, argv))
		return 1;
	c.skel = tcpretrans_cnt_bpf__open();
	if (!c.skel) {
		lk_err_bpf("open BPF object", -errno);
		return 1;
	}
	err = setup(&c);
	if (err)
		goto cleanup;
	rb = open_rings(&c);
	if (!rb) {
		err = -1;
		goto cleanup;
	}
	c.start_ns = lk_now_ns();
	err = tcpretrans_cnt_metrics_start(c.skel);
	if (err)
		goto cleanup;
	lk_info("counting; Ctrl-C to stop");
	if (lk_opts.events && lk_opts.timestamp)
		lk_printf("%-8s ", "TIME");
	if (lk_opts.events) {
		lk_printf("%-10s %-7s %-15s ", "TIME(s)", "PID", "COMM");
		lk_print_flow_header();
		lk_printf("%-7s %4s %7s %-9s %4s %-11s %s\n", "KIND", "SEGS", "COUNTED",
			  "VERDICT", "ERR", "STATE", "CA_STATE");
	}
	err = lk_run(rb, report, &c);
cleanup:
	tcpretrans_cnt_metrics_stop();
	ring_buffer__free(rb);
	tcpretrans_cnt_bpf__destroy(c.skel);
	free(c.closed.v);
	free(c.live.v);
	free(c.prev.v);
	return err ? 1 : 0;
}
