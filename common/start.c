// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <bpf/libbpf.h>
#include "env.h"
#include "log.h"
#include "loop.h"
#include "opts.h"
#include "output.h"
#include "start.h"

int lk_start(const struct lk_tool *t, int argc, char **argv)
{
	struct argp_child children[] = {
		lk_common_argp_doc(t->common, t->docs), { 0 },
	};
	const struct argp argp = {
		.options = t->options, .parser = t->parser, .doc = t->doc,
		.children = children,
	};

	lk_signals_hold();
	lk_opts.top = t->top;
	if (lk_argp_parse(&argp, argc, argv))
		return -1;
	lk_out_init(lk_opts.json, NULL);
	if (lk_bpf_init(t->need_net_admin) || lk_opts_finish())
		return -1;
	return 0;
}

int lk_skel_load(struct bpf_object_skeleton *s)
{
	int err = bpf_object__load_skeleton(s);

	if (err)
		lk_err_bpf("load BPF programs", err);
	return err;
}

int lk_skel_attach(struct bpf_object_skeleton *s, const char *what)
{
	int err = bpf_object__attach_skeleton(s);

	if (err)
		lk_err_bpf(what, err);
	return err;
}
