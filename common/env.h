/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_ENV_H
#define LK_ENV_H

#include <stdbool.h>

/*
 * Everything a BPF tool checks before it loads: logging routed through
 * lk_log, libbpf 1.0 semantics, root or CAP_BPF+CAP_PERFMON (plus
 * CAP_NET_ADMIN when @need_net_admin), and kernel BTF.  Prints one line
 * and returns -1 when something is missing.
 */
int lk_bpf_init(bool need_net_admin);

/* true if the effective capability set has @cap (linux/capability.h). */
bool lk_have_cap(int cap);

/*
 * tracefs path ("/sys/kernel/tracing" or the debugfs one), mounting
 * tracefs if nothing is mounted.  NULL (with a message under -v) if it
 * cannot be had.
 */
const char *lk_tracefs(void);

/* Monotonic clock, ns (the clock bpf_ktime_get_ns() reads). */
unsigned long long lk_now_ns(void);

/* Number of possible CPUs (size of per-CPU map values). */
int lk_ncpus(void);

#endif
