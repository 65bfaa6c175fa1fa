// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "log.h"

int lk_verbose;

static int lk_libbpf_print(enum libbpf_print_level level, const char *fmt,
			   va_list args)
{
	if (!lk_verbose || (level == LIBBPF_DEBUG && lk_verbose < 2))
		return 0;
	return vfprintf(stderr, fmt, args);
}

void lk_log_init(void)
{
	libbpf_set_print(lk_libbpf_print);
}

static void vmsg(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", program_invocation_short_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void lk_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void lk_info(const char *fmt, ...)
{
	va_list ap;

	if (!lk_verbose)
		return;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void lk_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(1);
}

void lk_err_bpf(const char *what, int err)
{
	const char *why;

	if (err > 0)
		err = -err;
	switch (err) {
	case -EPERM:
	case -EACCES:
		why = geteuid() ? "run as root (or with CAP_BPF and CAP_PERFMON)"
				: "the kernel refused it (lockdown, or a program type this kernel forbids)";
		break;
	case -ENOENT:
		why = "the kernel lacks the hook or the BTF it needs";
		break;
	case -EOPNOTSUPP:
	case -EINVAL:
		why = "this kernel does not support it";
		break;
	case -E2BIG:
	case -ENOMEM:
		why = "out of memory for BPF maps (check RLIMIT_MEMLOCK or the memory cgroup)";
		break;
	case -ENODEV:
		why = "no such device";
		break;
	case -EEXIST:
	case -EBUSY:
		why = "something is already attached there";
		break;
	default:
		why = strerror(-err);
		break;
	}
	lk_err("cannot %s: %s (%s)%s", what, why, strerror(-err),
	       lk_verbose ? "" : "; -v shows libbpf's log");
}
