// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <string.h>
#include "filter.h"
#include "filter_opts.h"
#include "opts.h"

struct lk_filter lk_filter_from_opts(void)
{
	struct lk_filter f;

	memset(&f, 0, sizeof(f));
	f.tgid = lk_opts.pid;
	f.tid = lk_opts.tid;
	f.netns = lk_opts.netns_inum;
	f.cgroup_id = lk_opts.cgroup_id;
	memcpy(f.comm, lk_opts.comm, sizeof(f.comm));
	f.family = lk_opts.family;
	f.lport = lk_opts.lport;
	f.rport = lk_opts.rport;
	f.laddr_family = lk_opts.laddr_family;
	f.raddr_family = lk_opts.raddr_family;
	memcpy(f.laddr, lk_opts.laddr, sizeof(f.laddr));
	memcpy(f.raddr, lk_opts.raddr, sizeof(f.raddr));
	return f;
}
