// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "env.h"
#include "log.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

bool lk_have_cap(int cap)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1U << (cap % 32));
}

static bool have_bpf_privilege(void)
{
	if (lk_have_cap(CAP_SYS_ADMIN))
		return true;
	return lk_have_cap(CAP_BPF) && lk_have_cap(CAP_PERFMON);
}

int lk_bpf_init(bool need_net_admin)
{
	lk_log_init();
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	if (!have_bpf_privilege()) {
		lk_err("permission denied: run as root (or with CAP_BPF and CAP_PERFMON)");
		return -1;
	}
	if (need_net_admin && !lk_have_cap(CAP_NET_ADMIN)) {
		lk_err("permission denied: CAP_NET_ADMIN is needed to attach to an interface");
		return -1;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		lk_err("kernel BTF not found at /sys/kernel/btf/vmlinux: "
		       "a kernel built with CONFIG_DEBUG_INFO_BTF=y is needed");
		return -1;
	}
	return 0;
}

const char *lk_tracefs(void)
{
	static const char *found;
	static bool tried;

	if (tried)
		return found;
	tried = true;
	if (!access("/sys/kernel/tracing/events", F_OK))
		return found = "/sys/kernel/tracing";
	if (!access("/sys/kernel/debug/tracing/events", F_OK))
		return found = "/sys/kernel/debug/tracing";
	if (!mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL)) {
		lk_info("mounted tracefs at /sys/kernel/tracing");
		return found = "/sys/kernel/tracing";
	}
	lk_info("tracefs unavailable: %s", strerror(errno));
	return NULL;
}

unsigned long long lk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int lk_ncpus(void)
{
	static int n;

	if (!n) {
		n = libbpf_num_possible_cpus();
		if (n <= 0)
			lk_die("cannot tell the number of possible CPUs");
	}
	return n;
}
