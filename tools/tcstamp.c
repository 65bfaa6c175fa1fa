// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * tcstamp: network latency of TCP flows, timed at tc ingress and egress
 * of an interface, below the socket layer.
 */
#include <argp.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "latkit.h"
#include "tc.h"
#include "tcstamp.h"
#include "tcstamp.skel.h"
#include "tcstamp/metrics.h"

static const char doc[] =
"Network latency of TCP flows, timed where packets leave and enter the host:\n"
"RTT from egress data to the ingress ACK that first covers it (Karn's rule,\n"
"no TCP timestamps needed), and one-way delay when both ends are attached.\n"
"\n"
"USAGE: tcstamp -I IF [OPTIONS] [interval [count]]\n"
"\v"
"EXAMPLES:\n"
"    tcstamp -I eth0                  # per-flow RTT until Ctrl-C\n"
"    tcstamp -I eth0 -i 1 5           # every second, five times\n"
"    tcstamp -I eth0 --rport 443 -H   # one service, with a histogram\n"
"    tcstamp -I eth0 --events         # one line per RTT sample\n"
"    tcstamp -I veth0 --netns lab-client --peer lab-server\n"
"                                     # RTT and one-way delay per direction\n"
"    tcstamp -I eth0 --max-flows 65536 # a busy server's every flow\n";

enum {
	OPT_PEER = 0x2001,
	OPT_MAX_FLOWS,
};

static const struct argp_option options[] = {
	{ "interface", 'I', "IF", 0, "Interface to attach to (required)", 0 },
	{ "peer", OPT_PEER, "NETNS[:IF]", 0,
	  "Also attach at IF (default: the -I name) in NETNS, the path's other end: one-way delay", 0 },
	{ "max-flows", OPT_MAX_FLOWS, "N", 0,
	  "Flows tracked at once (default 8192, at most 1048576; 2.3 KiB of kernel memory each)", 0 },
	{},
};

/* -F is accepted and changes nothing: rows are per flow anyway. */
static const struct lk_opt_doc docs[] = {
	{ "per-flow", "One row per flow (the default)" },
	{ "hist", "Print a log2 histogram of RTT (and one-way delay)" },
	{ "events", "One line per sample" },
	{ NULL },
};

#define IDLE_NS		(60ULL * 1000000000ULL)	/* flow state expiry */
#define TC_HANDLE	0x75c	/* clsact fallback: our filter's handle */
#define TC_PRIO		0x75c

struct side {
	const char *ifname;
	char label[64];		/* "IF" or "NETNS:IF" in text output */
	const char *netns;	/* NULL: ours */
	int ifindex;
	bool l2;
	struct lk_tc eg, in;
};

static struct env {
	struct side sides[TS_SIDES];
	int nsides;
	int label_w;
	long max_flows;		/* the flow table's size */
} env = { .nsides = 1, .max_flows = TS_MAX_FLOWS };

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	struct side *peer = &env.sides[1];
	char *colon;

	switch (key) {
	case 'I':
		if (!*arg || strlen(arg) >= IFNAMSIZ)
			argp_error(state, "bad interface name: %s", arg);
		env.sides[0].ifname = arg;
		break;
	case OPT_PEER:
		colon = strrchr(arg, ':');
		if (colon) {
			*colon = 0;
			peer->ifname = colon + 1;
			if (!*peer->ifname || strlen(peer->ifname) >= IFNAMSIZ)
				argp_error(state, "bad interface name in --peer");
		}
		if (!*arg)
			argp_error(state, "--peer needs a network namespace");
		peer->netns = arg;
		env.nsides = 2;
		break;
	case OPT_MAX_FLOWS:
		if (lk_parse_long(arg, 1, 1 << 20, &env.max_flows))
			argp_error(state, "--max-flows must be 1 to 1048576: %s", arg);
		break;
	case ARGP_KEY_END:
		if (!env.sides[0].ifname)
			argp_error(state, "an interface is required: -I IF");
		if (lk_opts.metrics_pids)
			argp_error(state, "--metrics-pids: tcstamp has no per-process metrics");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* Interface index and whether it has an Ethernet-style header, in @ns. */
static int resolve_side(struct side *s)
{
	struct ifreq ifr;
	int saved = -1, sock = -1, err = -1;

	if (s->netns) {
		saved = lk_netns_enter(s->netns);
		if (saved < 0)
			return -1;
	}
	s->ifindex = if_nametoindex(s->ifname);
	if (!s->ifindex) {
		lk_err("no such interface: %s%s%s", s->ifname,
		       s->netns ? " in netns " : "", s->netns ? s->netns : "");
		goto out;
	}
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", s->ifname);
	if (sock < 0 || ioctl(sock, SIOCGIFHWADDR, &ifr)) {
		lk_err("cannot read the link type of %s: %s", s->ifname, strerror(errno));
		goto out;
	}
	/* tun, WireGuard, IP tunnels: tc sees the packet from the IP header. */
	s->l2 = ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER ||
		ifr.ifr_hwaddr.sa_family == ARPHRD_LOOPBACK;
	lk_info("%s: ifindex %d, link type %u, %s", s->ifname, s->ifindex,
		ifr.ifr_hwaddr.sa_family, s->l2 ? "Ethernet header" : "no link-layer header");
	err = 0;
out:
	if (sock >= 0)
		close(sock);
	if (lk_netns_leave(saved))
		lk_die("cannot return to the original network namespace");
	return err;
}

/* Text labels, padded to one width: "IF", or "NETNS:IF" with two sides. */
static void make_labels(void)
{
	char name[64];
	const char *ns;
	int i, w = 8, n;

	for (i = 0; i < env.nsides; i++) {
		struct side *s = &env.sides[i];

		ns = s->netns ? strrchr(s->netns, '/') : NULL;
		ns = ns ? ns + 1 : s->netns;
		if (env.nsides > 1 && ns)
			snprintf(s->label, sizeof(s->label), "%.40s:%s", ns, s->ifname);
		else
			snprintf(s->label, sizeof(s->label), "%s", s->ifname);
		n = strlen(s->label);
		if (n > w)
			w = n;
	}
	env.label_w = w;
	for (i = 0; i < env.nsides; i++) {
		snprintf(name, sizeof(name), "%s", env.sides[i].label);
		snprintf(env.sides[i].label, sizeof(env.sides[i].label), "%-*s", w, name);
	}
}

static int attach_side(struct side *s, struct bpf_program *eg, struct bpf_program *in)
{
	int saved = -1, err;

	if (s->netns) {
		saved = lk_netns_enter(s->netns);
		if (saved < 0)
			return -1;
	}
	err = lk_tc_attach(bpf_program__fd(eg), s->ifindex, false, TC_HANDLE, TC_PRIO, &s->eg);
	if (!err)
		err = lk_tc_attach(bpf_program__fd(in), s->ifindex, true, TC_HANDLE, TC_PRIO, &s->in);
	if (err)
		lk_err_bpf(s->netns ? "attach tc programs in the peer namespace" :
			   "attach tc programs", err);
	else
		lk_info("attached to %s%s%s ingress and egress with %s", s->ifname,
			s->netns ? " in netns " : "", s->netns ? s->netns : "",
			s->eg.tcx ? "tcx links" : "clsact filters");
	if (lk_netns_leave(saved))
		lk_die("cannot return to the original network namespace");
	return err ? -1 : 0;
}

/* clsact filters are removed over netlink, inside their namespace. */
static void detach_side(struct side *s)
{
	int saved = -1;

	if (!s->eg.ifindex && !s->in.ifindex)
		return;
	if (s->netns && !s->eg.tcx)
		saved = lk_netns_enter(s->netns);
	lk_tc_detach(&s->eg);
	lk_tc_detach(&s->in);
	if (lk_netns_leave(saved))
		lk_die("cannot return to the original network namespace");
}

struct row {
	struct ts_stats_key key;
	struct ts_stats st;
};

/* A flow's cumulative counters as last read, to print per-interval deltas. */
struct flow_snap {
	struct ts_flow flow;
	uint64_t created;
	uint64_t changed_ns;	/* when the counters last moved (lk_now_ns) */
	uint64_t bytes_out, bytes_in, segs_out, retrans, bytes_retrans;
	uint64_t ts_samples, sum_ns;
	uint32_t hist[TS_NBUCKETS];
};

struct ctx {
	struct tcstamp_bpf *skel;
	struct row *rows;	/* one-way rows first, then the flows' */
	int nrows;
	int max_stats;		/* the stats table's size: one generation can fill it */
	struct flow_snap *prev, *cur;
	int nprev, ncur;
	uint32_t epoch;		/* the epoch the flows' min and max are read for */
	struct ts_totals last;
	uint64_t rowed;		/* samples the reports' rows held, all reports */
	uint64_t outside;	/* samples said to be outside them, all reports */
	uint64_t start_ns;
	uint64_t hist[TS_SIDES][2][TS_NBUCKETS];
};

static void print_flow_keys(const struct ts_flow *f)
{
	const struct side *s = &env.sides[f->side & 1];

	lk_print_str(LK_TEXT, NULL, "%s ", s->label);
	lk_print_str(LK_JSON, "interface", NULL, s->ifname);
	if (s->netns)
		lk_print_str(LK_JSON, "netns", NULL, s->netns);
	lk_print_flow(&f->ends);
}

static int collect(const void *key, const void *val, void *p)
{
	struct ctx *c = p;
	struct row *r;

	if (c->nrows >= c->max_stats)
		return -ENOSPC;
	r = &c->rows[c->nrows++];
	memcpy(&r->key, key, sizeof(r->key));
	r->key.gen = 0;
	memcpy(&r->st, val, sizeof(r->st));
	return 0;
}

static int cmp_rows(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->key.flow.side != y->key.flow.side)
		return x->key.flow.side - y->key.flow.side;
	if (x->key.kind != y->key.kind)
		return (int)x->key.kind - (int)y->key.kind;
	if (x->key.flow.ends.family != y->key.flow.ends.family)
		return x->key.flow.ends.family - y->key.flow.ends.family;
	if (x->key.flow.ends.lport != y->key.flow.ends.lport)
		return x->key.flow.ends.lport - y->key.flow.ends.lport;
	return x->key.flow.ends.rport - y->key.flow.ends.rport;
}

static void print_row(const struct row *r)
{
	const struct ts_stats *st = &r->st;
	struct lk_dist d = { .min = st->min_ns, .max = st->max_ns, .sum = st->sum_ns };
	bool rtt = r->key.kind == TS_K_RTT;

	lk_open_row("flow");
	print_flow_keys(&r->key.flow);
	lk_print_str(LK_ANY, "kind", "%-6s ", rtt ? "rtt" : "owd-in");
	lh_summarize((const uint64_t *)st->hist, TS_NBUCKETS, TS_SUB_BITS, &d, true);
	lk_print_u64(LK_ANY, "samples", "%8" PRIu64 " ", st->samples);
	if (st->samples) {
		lk_print_float(LK_ANY, "min_us", "%8.1f ", d.min / 1e3);
		lk_print_float(LK_ANY, "mean_us", "%8.1f ", d.mean / 1e3);
		lk_print_float(LK_ANY, "p50_us", "%8.1f ", d.p50 / 1e3);
		lk_print_float(LK_ANY, "p99_us", "%8.1f ", d.p99 / 1e3);
		lk_print_float(LK_ANY, "max_us", "%9.1f ", d.max / 1e3);
	} else {
		lk_printf("%8s %8s %8s %8s %9s ", "-", "-", "-", "-", "-");
	}
	if (rtt) {
		lk_print_u64(LK_ANY, "bytes_out", "%11" PRIu64 " ", st->bytes_out);
		lk_print_u64(LK_ANY, "bytes_in", "%11" PRIu64 " ", st->bytes_in);
		lk_print_u64(LK_ANY, "segs_out", NULL, st->segs_out);
		lk_print_u64(LK_ANY, "retrans", "%7" PRIu64, st->retrans);
		lk_print_u64(LK_JSON, "bytes_retrans", NULL, st->bytes_retrans);
		lk_print_u64(LK_JSON, "ts_samples", NULL, st->ts_samples);
	}
	lk_print_nl();
	lk_close_record();
}

static void print_header(void)
{
	lk_printf("%-*s ", env.label_w, "IFACE");
	lk_print_flow_header();
	lk_printf("%-6s %8s %8s %8s %8s %8s %9s %11s %11s %7s\n", "KIND", "SAMPLES", "MIN_us",
		  "MEAN_us", "P50_us", "P99_us", "MAX_us", "BYTES_OUT", "BYTES_IN", "RETRANS");
}

static int read_totals(struct tcstamp_bpf *skel, struct ts_totals *out)
{
	int zero = 0;

	/* Every field is a u64 counter. */
	return lk_percpu_sum_u64(bpf_map__fd(skel->maps.totals), &zero, (uint64_t *)out,
				 sizeof(*out) / sizeof(uint64_t));
}

static int cmp_flow(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct ts_flow));
}

/* @now less the flow's counters at the last interval, into @d. */
static void flow_delta(const struct ctx *c, const struct flow_snap *now, struct flow_snap *d)
{
	const struct flow_snap *o = bsearch(now, c->prev, c->nprev, sizeof(*c->prev), cmp_flow);
	int i;

	*d = *now;
	/* A new flow, or the entry was evicted and made anew. */
	if (!o || o->created != now->created)
		return;
	d->bytes_out -= o->bytes_out;
	d->bytes_in -= o->bytes_in;
	d->segs_out -= o->segs_out;
	d->retrans -= o->retrans;
	d->bytes_retrans -= o->bytes_retrans;
	d->ts_samples -= o->ts_samples;
	d->sum_ns -= o->sum_ns;
	/* Buckets count modulo 2^32. */
	for (i = 0; i < TS_NBUCKETS; i++)
		d->hist[i] -= o->hist[i];
	d->changed_ns = o->changed_ns;
}

/*
 * Each flow's RTT samples, byte and segment counts since the last
 * interval make its RTT row.  Flows whose counters stood still for a
 * minute are dropped (LRU alone bounds the table, but would keep them).
 */
static int flow_one(const void *key, const void *val, void *p)
{
	const struct flow_state *st = val;
	struct ctx *c = p;
	struct flow_snap *now, d;
	uint64_t t = lk_now_ns(), samples = 0;
	unsigned int k = c->epoch & 1;
	struct row *r;
	int i, first = -1, last = -1;

	if (c->ncur >= env.max_flows)
		return 0;
	now = &c->cur[c->ncur];
	memcpy(&now->flow, key, sizeof(now->flow));
	now->created = st->created;
	now->bytes_out = st->bytes_out;
	now->bytes_in = st->bytes_in;
	now->segs_out = st->segs_out;
	now->retrans = st->retrans;
	now->bytes_retrans = st->bytes_retrans;
	now->ts_samples = st->ts_samples;
	now->sum_ns = st->sum_ns;
	memcpy(now->hist, st->hist, sizeof(now->hist));
	now->changed_ns = t;
	flow_delta(c, now, &d);
	for (i = 0; i < TS_NBUCKETS; i++) {
		if (!d.hist[i])
			continue;
		samples += d.hist[i];
		if (first < 0)
			first = i;
		last = i;
	}
	if (!d.bytes_out && !d.bytes_in && !d.segs_out && !d.retrans && !samples) {
		if (t - d.changed_ns > IDLE_NS) {
			bpf_map_delete_elem(bpf_map__fd(c->skel->maps.flows), key);
			return 0;
		}
		now->changed_ns = d.changed_ns;
		c->ncur++;
		return 0;
	}
	c->ncur++;
	if (c->nrows >= c->max_stats + env.max_flows)
		return 0;
	r = &c->rows[c->nrows++];
	memset(r, 0, sizeof(*r));
	r->key.flow = now->flow;
	r->key.kind = TS_K_RTT;
	r->st.samples = samples;
	r->st.ts_samples = d.ts_samples;
	r->st.sum_ns = d.sum_ns;
	for (i = 0; i < TS_NBUCKETS; i++)
		r->st.hist[i] = d.hist[i];
	if (samples) {
		/*
		 * The epoch's own minimum and maximum; a sample taken while
		 * the epoch moved on may leave them to the next one: then the
		 * histogram's bounds.
		 */
		if (st->mm_epoch[k] == c->epoch && st->min_ns[k]) {
			r->st.min_ns = st->min_ns[k];
			r->st.max_ns = st->max_ns[k];
		} else {
			r->st.min_ns = lh_lower(first, TS_SUB_BITS);
			r->st.max_ns = lh_upper(last, TS_SUB_BITS);
		}
	}
	r->st.bytes_out = d.bytes_out;
	r->st.bytes_in = d.bytes_in;
	r->st.segs_out = d.segs_out;
	r->st.retrans = d.retrans;
	r->st.bytes_retrans = d.bytes_retrans;
	return 0;
}

static int read_flows(struct ctx *c)
{
	struct flow_snap *t;
	int err;

	/* Samples from now on count toward the next epoch's min and max. */
	c->epoch = c->skel->bss->epoch;
	__atomic_store_n(&c->skel->bss->epoch, c->epoch + 1, __ATOMIC_RELAXED);
	c->ncur = 0;
	err = lk_map_foreach(bpf_map__fd(c->skel->maps.flows), sizeof(struct ts_flow),
			     sizeof(struct flow_state), false, env.max_flows, NULL, flow_one, c);
	if (err)
		return err;
	qsort(c->cur, c->ncur, sizeof(*c->cur), cmp_flow);
	t = c->prev;
	c->prev = c->cur;
	c->nprev = c->ncur;
	c->cur = t;
	return 0;
}

static void print_hists(struct ctx *c)
{
	uint64_t log2[64];
	int s, k;

	for (s = 0; s < env.nsides; s++) {
		for (k = 0; k < 2; k++) {
			uint64_t n = 0;
			unsigned int i;

			for (i = 0; i < TS_NBUCKETS; i++)
				n += c->hist[s][k][i];
			if (!n)
				continue;
			/* ns buckets folded to log2 µs: scale by dividing values. */
			memset(log2, 0, sizeof(log2));
			for (i = 0; i < TS_NBUCKETS; i++) {
				uint64_t us = (lh_lower(i, TS_SUB_BITS) + lh_upper(i, TS_SUB_BITS)) / 2000;

				log2[lh_log2_slot(us)] += c->hist[s][k][i];
			}
			lk_open_record("hist");
			lk_printf("\n%s", env.sides[s].label);
			lk_print_str(LK_JSON, "interface", NULL, env.sides[s].ifname);
			lk_print_str(LK_ANY, "kind", " %s:\n", k == TS_K_RTT ? "rtt" : "owd-in");
			lk_print_log2_hist(log2, 64, "usecs");
			lk_close_record();
		}
	}
	memset(c->hist, 0, sizeof(c->hist));
}

static int report(void *p, bool final)
{
	struct ctx *c = p;
	struct lk_gen gen = { offsetof(struct ts_stats_key, gen), 2 };
	struct ts_totals now, d;
	unsigned long long *a = (void *)&now, *b = (void *)&c->last, *o = (void *)&d;
	uint64_t rowed = 0, outside = 0;	/* samples in the rows, and not */
	size_t f;
	bool show;
	int i, k;

	/*
	 * The totals before the rows: a sample taken between the two reads
	 * is then in the rows and not yet in the totals, which can make the
	 * rows seem to hold more than the totals, never less.
	 */
	if (read_totals(c->skel, &now))
		return -1;
	c->nrows = 0;
	gen.g = lk_opts.interval && !final ? lk_gen_flip(&c->skel->bss->gen) : c->skel->bss->gen;
	if (lk_map_foreach(bpf_map__fd(c->skel->maps.stats), sizeof(struct ts_stats_key),
			   sizeof(struct ts_stats), false,
			   bpf_map__max_entries(c->skel->maps.stats), &gen, collect, c) ||
	    /* Before read_flows() deletes idle flows. */
	    tcstamp_metrics_fold() || read_flows(c)) {
		lk_err("reading the BPF maps failed");
		return -1;
	}
	qsort(c->rows, c->nrows, sizeof(*c->rows), cmp_rows);
	for (f = 0; f < sizeof(d) / sizeof(*o); f++)
		o[f] = a[f] - b[f];
	c->last = now;

	lk_report_time();
	/* With --events the flow table comes once, at the end. */
	show = !lk_opts.events || final;
	if (c->nrows && show)
		print_header();
	for (i = 0; i < c->nrows; i++) {
		const struct row *r = &c->rows[i];

		rowed += r->st.samples;
		if (show)
			print_row(r);
		for (k = 0; k < TS_NBUCKETS; k++)
			c->hist[r->key.flow.side & 1][r->key.kind & 1][k] += r->st.hist[k];
	}
	/*
	 * Outside the rows, over the run so far: what the totals counted
	 * and no report's rows held, less what earlier reports said (so that
	 * a sample counted in the rows before the totals is not said twice,
	 * and the reports add up to the run's).
	 */
	c->rowed += rowed;
	if (now.samples > c->rowed && now.samples - c->rowed > c->outside)
		outside = now.samples - c->rowed - c->outside;
	c->outside += outside;
	if (lk_opts.hist)
		print_hists(c);
	lk_open_report(final);
	lk_print_u64(LK_ANY, "flows", "flows: %" PRIu64, c->nrows);
	lk_print_u64(LK_ANY, "samples", ", samples: %" PRIu64, d.samples);
	/*
	 * The flow table holds --max-flows flows (LRU): past that, a flow
	 * pushed out takes its samples with it.  The totals keep them; the
	 * difference says how many the rows miss.
	 */
	lk_print_u64(LK_JSON, "samples_outside_rows", NULL, outside);
	if (outside)
		lk_printf(" (%" PRIu64 " outside the flow rows: more than %ld flows, see --max-flows)",
			  outside, env.max_flows);
	lk_print_u64(LK_ANY, "tcp_packets", ", TCP packets: %" PRIu64, d.tcp);
	lk_print_u64(LK_ANY, "not_parsed", ", not parsed: %" PRIu64, d.parse_skip);
	lk_print_u64(LK_ANY, "ring_full", ", not recorded (ring full): %" PRIu64, d.ring_full);
	if (env.nsides > 1)
		lk_print_u64(LK_ANY, "owd_resent", ", resent (no delay): %" PRIu64, d.owd_retrans);
	lk_print_u64(LK_ANY, "drops", ", drops: %" PRIu64,
		     d.flow_drops + d.stats_drops + d.owd_drops + d.ev_drops);
	lk_print_u64(LK_JSON, "flow_drops", NULL, d.flow_drops);
	lk_print_u64(LK_JSON, "stats_drops", NULL, d.stats_drops);
	lk_print_u64(LK_JSON, "owd_drops", NULL, d.owd_drops);
	lk_print_u64(LK_JSON, "event_drops", NULL, d.ev_drops);
	lk_printf("\n");
	lk_close_report(final);
	return 0;
}

static int handle_event(void *p, void *data, size_t size)
{
	const struct ts_event *e = data;
	struct ctx *c = p;
	static const char *methods[] = { "seq", "tsecr", "owd" };

	if (size < sizeof(*e))
		return 0;
	lk_open_event();
	lk_print_float(LK_ANY, "time_s", "%10.6f ",
		       (double)(e->ts_ns - c->start_ns) / 1e9);
	print_flow_keys(&e->flow);
	lk_print_str(LK_ANY, "kind", "%-6s ", e->kind == TS_K_RTT ? "rtt" : "owd-in");
	lk_print_float(LK_ANY, "delay_us", "%10.1f ", e->delay_ns / 1e3);
	lk_print_str(LK_ANY, "method", "%-5s ", methods[e->method % 3]);
	lk_print_u64(LK_ANY, "seq", "%10" PRIu64, e->seq);
	if (e->kind == TS_K_OWD)
		lk_print_u64(LK_ANY, "len", " %6" PRIu64, e->len);
	lk_print_nl();
	lk_close_record();
	return 0;
}

static void set_rodata(struct tcstamp_bpf *skel)
{
	int i;

	for (i = 0; i < env.nsides; i++)
		skel->rodata->side_l2[i] = env.sides[i].l2;
	skel->rodata->owd_enabled = env.nsides > 1;
	skel->rodata->emit_events = lk_opts.events;
	/* The flow filters; --netns says where to attach, it filters nothing. */
	skel->rodata->lk_filter = lk_filter_from_opts();
	skel->rodata->lk_filter.netns = 0;
}

static const struct lk_tool tool = {
	.options = options, .parser = parse_arg, .doc = doc,
	.common = LK_OPT_NETNS | LK_OPT_FLOW | LK_OPT_ADDR | LK_OPT_OUTPUT | LK_OPT_METRICS |
		  LK_OPT_PER_FLOW | LK_OPT_HIST | LK_OPT_EVENTS,
	.docs = docs, .need_net_admin = true,
};

int main(int argc, char **argv)
{
	struct ring_buffer *rb = NULL;
	char iface[TS_SIDES][64];
	struct ctx c = {};
	int err, i;

	if (lk_start(&tool, argc, argv))
		return 1;
	env.sides[0].netns = lk_opts.netns;
	if (env.nsides > 1 && !env.sides[1].ifname)
		env.sides[1].ifname = env.sides[0].ifname;
	for (i = 0; i < env.nsides; i++)
		if (resolve_side(&env.sides[i]))
			return 1;
	make_labels();
	/* The metrics' interface labels: the text labels, unpadded. */
	for (i = 0; i < env.nsides; i++) {
		char *e;

		snprintf(iface[i], sizeof(iface[i]), "%s", env.sides[i].label);
		for (e = iface[i] + strlen(iface[i]); e > iface[i] && e[-1] == ' '; e--)
			e[-1] = 0;
	}
	/* Interval reports: two generations of one-way rows. */
	c.max_stats = lk_opts.interval ? 2 * TS_MAX_STATS : TS_MAX_STATS;
	c.rows = calloc(c.max_stats + env.max_flows, sizeof(*c.rows));
	c.prev = calloc(env.max_flows, sizeof(*c.prev));
	c.cur = calloc(env.max_flows, sizeof(*c.cur));
	if (!c.rows || !c.prev || !c.cur) {
		lk_err("out of memory");
		return 1;
	}
	c.skel = tcstamp_bpf__open();
	if (!c.skel) {
		lk_err_bpf("open BPF object", -errno);
		return 1;
	}
	set_rodata(c.skel);
	err = bpf_map__set_max_entries(c.skel->maps.flows, env.max_flows);
	/* Interval reports: two generations of rows. */
	if (!err && lk_opts.interval)
		err = bpf_map__set_max_entries(c.skel->maps.stats, c.max_stats);
	if (err) {
		lk_err_bpf("size the flow table", err);
		goto cleanup;
	}
	if (env.nsides < 2) {
		bpf_program__set_autoload(c.skel->progs.tcstamp_eg1, false);
		bpf_program__set_autoload(c.skel->progs.tcstamp_in1, false);
	}
	err = lk_skel_load(c.skel->skeleton);
	if (err)
		goto cleanup;
	err = lk_events_start(&rb, c.skel->maps.events, handle_event, &c);
	if (err)
		goto cleanup;
	err = attach_side(&env.sides[0], c.skel->progs.tcstamp_eg0, c.skel->progs.tcstamp_in0);
	if (!err && env.nsides > 1)
		err = attach_side(&env.sides[1], c.skel->progs.tcstamp_eg1,
				  c.skel->progs.tcstamp_in1);
	if (err)
		goto cleanup;
	c.start_ns = lk_now_ns();
	err = tcstamp_metrics_start(c.skel, iface, env.nsides);
	if (err)
		goto cleanup;
	if (lk_opts.events) {
		lk_printf("%-10s %-*s ", "TIME(s)", env.label_w, "IFACE");
		lk_print_flow_header();
		lk_printf("%-6s %10s %-5s %10s\n", "KIND", "DELAY_us", "BY", "SEQ");
	}
	err = lk_run(rb, report, &c);
cleanup:
	lk_metrics_stop();
	for (i = 0; i < env.nsides; i++)
		detach_side(&env.sides[i]);
	ring_buffer__free(rb);
	tcstamp_bpf__destroy(c.skel);
	free(c.rows);
	free(c.prev);
	free(c.cur);
	return err ? 1 : 0;
}
