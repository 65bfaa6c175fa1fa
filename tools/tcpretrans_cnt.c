// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * tcpretrans_cnt: count TCP retransmissions, in segments, as the kernel
 * counts Tcp: RetransSegs.
 */
#include <argp.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "latkit.h"
#include "tcpretrans_cnt.h"
#include "tcpretrans_cnt.skel.h"

const char *argp_program_version = "tcpretrans_cnt (latkit) 0.1";
const char *argp_program_bug_address = "see README.md";

static const char doc[] =
"Count TCP retransmissions, in segments, exactly as Tcp: RetransSegs.\n"
"\n"
"USAGE: tcpretrans_cnt [OPTIONS] [interval [count]]\n"
"\n"
"EXAMPLES:\n"
"    tcpretrans_cnt              # count until Ctrl-C, then print\n"
"    tcpretrans_cnt 1 10         # print every second, ten times\n"
"    tcpretrans_cnt --netns lab  # only sockets in netns \"lab\"\n";

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	return ARGP_ERR_UNKNOWN;
}

struct ctx {
	struct tcpretrans_cnt_bpf *skel;
	struct retrans_totals last;
};

static int read_totals(struct tcpretrans_cnt_bpf *skel, struct retrans_totals *out)
{
	int n = lk_ncpus(), i, zero = 0;
	struct retrans_totals *v = calloc(n, sizeof(*v));

	if (!v)
		return -1;
	memset(out, 0, sizeof(*out));
	if (bpf_map__lookup_elem(skel->maps.totals, &zero, sizeof(zero), v,
				 sizeof(*v) * n, 0)) {
		free(v);
		return -1;
	}
	for (i = 0; i < n; i++) {
		out->segs += v[i].segs;
		out->events += v[i].events;
	}
	free(v);
	return 0;
}

static int report(void *p, bool final)
{
	struct ctx *c = p;
	struct retrans_totals now;

	if (read_totals(c->skel, &now))
		return -1;
	lk_open_record(final ? "summary" : "interval");
	if (lk_opts.timestamp)
		lk_print_time();
	lk_print_u64(LK_ANY, "segs", "retransmitted segments: %" PRIu64, now.segs - c->last.segs);
	lk_print_u64(LK_ANY, "events", " (events: %" PRIu64 ")\n", now.events - c->last.events);
	lk_close_record();
	c->last = now;
	return 0;
}

int main(int argc, char **argv)
{
	struct argp_child children[] = {
		lk_common_argp(LK_OPT_NETNS | LK_OPT_OUTPUT), { 0 },
	};
	const struct argp argp = { .parser = parse_arg, .doc = doc, .children = children };
	const struct lk_hook hook = {
		"tcp", "tcp_retransmit_skb", "tcp_retransmit_skb",
		LK_M_BIT(LK_M_TP_BTF) | LK_M_BIT(LK_M_RAW_TP),
	};
	struct ctx c = {};
	enum lk_method m;
	int err;

	err = lk_argp_parse(&argp, argc, argv);
	if (err)
		return 1;
	lk_out_init(lk_opts.json, NULL);
	if (lk_bpf_init(false) || lk_opts_finish())
		return 1;
	m = lk_choose(&hook);
	if (m == LK_M_NONE) {
		lk_err("this kernel has no usable tcp:tcp_retransmit_skb hook");
		return 1;
	}
	c.skel = tcpretrans_cnt_bpf__open();
	if (!c.skel) {
		lk_err_bpf("open BPF object", -errno);
		return 1;
	}
	bpf_program__set_autoload(c.skel->progs.retrans_btf, m == LK_M_TP_BTF);
	bpf_program__set_autoload(c.skel->progs.retrans_raw, m == LK_M_RAW_TP);
	c.skel->rodata->lk_filter = lk_filter_from_opts();
	err = tcpretrans_cnt_bpf__load(c.skel);
	if (err) {
		lk_err_bpf("load BPF programs", err);
		goto cleanup;
	}
	err = tcpretrans_cnt_bpf__attach(c.skel);
	if (err) {
		lk_err_bpf("attach to tcp:tcp_retransmit_skb", err);
		goto cleanup;
	}
	lk_signals_init();
	err = lk_run(NULL, report, &c);
cleanup:
	tcpretrans_cnt_bpf__destroy(c.skel);
	return err ? 1 : 0;
}
