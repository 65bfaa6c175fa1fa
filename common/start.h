/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_START_H
#define LK_START_H

#include <argp.h>
#include <stdbool.h>

struct bpf_object_skeleton;

/*
 * The start every BPF tool shares, in this order: the exit signals held
 * (lk_signals_hold(): a stop asked for while loading still ends in a
 * report), the options parsed (lk_argp_parse(): a bad one is one line
 * and exit 2), the output set up for -j, the checks before any BPF
 * (lk_bpf_init(@need_net_admin)) and lk_opts_finish().  Non-zero after
 * one line on stderr: the tool then exits 1.
 */
int lk_start(const struct argp *argp, int argc, char **argv, bool need_net_admin);

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
