/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_ITER_H
#define LK_ITER_H

struct bpf_program;

/*
 * Run the BPF socket iterator @prog (iter/tcp, iter/udp, ...) to its
 * end once in each network namespace the tool watches: --netns's, or
 * without it every namespace a process on the host is in (its
 * /proc/PID/ns/net), the tool's own included.  An iterator walks the
 * sockets of the namespace its reader was in when it was made.  A
 * namespace that cannot be entered (setns() wants CAP_SYS_ADMIN, which
 * a sandbox may withhold) is left out, said with -v.  The calling thread
 * returns to its own namespace.  Returns 0, or a negative errno after
 * one line on stderr naming @what.
 */
int lk_iter_netns(struct bpf_program *prog, const char *what);

#endif
