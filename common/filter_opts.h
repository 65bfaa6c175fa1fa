/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_FILTER_OPTS_H
#define LK_FILTER_OPTS_H

#include "filter.h"

/*
 * The BPF-side filter for the parsed -p, -t, -c, --cgroup, --netns and
 * the flow filters (-4, -6, --lport, --rport, --laddr, --raddr).
 */
struct lk_filter lk_filter_from_opts(void);

#endif
