/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_ITER_H
#define LK_ITER_H

#include <stddef.h>

struct bpf_link;
struct bpf_program;

/*
 * What an iterator's program writes (bpf_seq_write()): records of @size
 * bytes, each handed to @cb.  NULL: the output is read and dropped.
 */
struct lk_iter_out {
	size_t size;
	void (*cb)(const void *rec, void *ctx);
	void *ctx;
};

/*
 * Make an iterator of @link and read it to its end, records to @out.
 * Returns 0 or a negative errno (-EINVAL for a record size of 0 or over
 * 4096 bytes).
 */
int lk_iter_read(struct bpf_link *link, const struct lk_iter_out *out);

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
int lk_iter_netns(struct bpf_program *prog, const char *what, const struct lk_iter_out *out);

/*
 * Listeners opened before the tool started (flow.bpf.h): run the tool's
 * iter/task_file program @files over every task's open files, then its
 * iter/tcp program @socks in each namespace watched (lk_iter_netns()).
 * @files NULL: the second walk only (said with -v).  Returns 0, or a
 * negative errno after one line on stderr naming @what.
 */
int lk_iter_listeners(struct bpf_program *files, struct bpf_program *socks, const char *what);

/*
 * What lk_iter_listeners() did, for -v: @seeded listeners given socket
 * storage, @owned of them with their owner; and a warning for @lost
 * listeners found beyond LK_MAX_SEEDS, whose owners stay unknown.
 */
void lk_iter_listeners_said(unsigned long long seeded, unsigned long long owned,
			    unsigned long long lost);

#endif
