/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_START_H
#define LK_START_H

#include <argp.h>
#include <stdbool.h>

struct bpf_object_skeleton;
struct lk_opt_doc;

/* A BPF tool's command line, as lk_start() parses it. */
struct lk_tool {
	const struct argp_option *options;	/* its own options, or NULL */
	argp_parser_t parser;			/* for them, and ARGP_KEY_END */
	const char *doc;			/* --help's text and examples */
	unsigned int common;			/* the shared options it takes (LK_OPT_*) */
	const struct lk_opt_doc *docs;		/* their help in its words, or NULL */
	unsigned int top;			/* -n when not given; 0: every row */
	bool need_net_admin;			/* tc as well as BPF */
};

/*
 * The start every BPF tool shares, in this order: the exit signals held
 * (lk_signals_hold(): a stop asked for while loading still ends in a
 * report), the options parsed (lk_argp_parse(): a bad one is one line
 * and exit 2), the output set up for -j, the checks before any BPF
 * (lk_bpf_init(@t->need_net_admin)) and lk_opts_finish().  Non-zero
 * after one line on stderr: the tool then exits 1.
 */
int lk_start(const struct lk_tool *t, int argc, char **argv);

/*
 * Load a skeleton's programs (pass skel->skeleton).  A failure is one
 * line on stderr, "cannot load BPF programs: ...".  Returns libbpf's
 * error.
 */
int lk_skel_load(struct bpf_object_skeleton *s);

/*
 * Attach the programs the skeleton attaches by itself.  A failure is one
 * line, "cannot @what: ..." (@what: "attach to the tcp tracepoints").
 */
int lk_skel_attach(struct bpf_object_skeleton *s, const char *what);

#endif
