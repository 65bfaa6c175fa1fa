// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * emptytc: an empty SCHED_CLS program (r0 = TC_ACT_OK; exit) on an
 * interface's tc ingress and egress, for benchmarks to measure what the
 * hooks cost by themselves.  bench/tcstamp.sh builds it at bench time:
 *
 *   cc -O2 -o emptytc bench/emptytc.c $(pkg-config --cflags --libs libbpf)
 *
 * USAGE: emptytc NETNS IF [tcx|clsact]
 *        emptytc stats
 *
 * Attaches in network namespace NETNS (a name under /run/netns or a
 * path) with tcx links (the default) or clsact filters, prints
 * "attached" on stdout, and holds the programs until SIGINT or SIGTERM;
 * then it detaches them and exits 0.
 *
 * "emptytc stats" instead holds BPF run-time statistics on (the
 * BPF_ENABLE_STATS descriptor) until signalled, printing "stats on":
 * they stay on while another benchmark on the machine puts the
 * kernel.bpf_stats_enabled sysctl back to 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* Debian 12's headers predate tcx. */
#define ETC_TCX_INGRESS 46
#define ETC_TCX_EGRESS 47
#define ETC_HANDLE 0x75d
#define ETC_PRIO 0x75d

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int enter_netns(const char *spec)
{
	char path[256];
	int fd;

	if (strchr(spec, '/'))
		snprintf(path, sizeof(path), "%s", spec);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", spec);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		fprintf(stderr, "emptytc: cannot enter network namespace %s: %s\n", spec,
			strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

static int clsact(int prog_fd, int ifindex, bool ingress, bool detach)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = ETC_HANDLE, .priority = ETC_PRIO);
	int err;

	if (detach)
		return bpf_tc_detach(&hook, &opts);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	opts.prog_fd = prog_fd;
	return bpf_tc_attach(&hook, &opts);
}

static int hold_stats(void)
{
	sigset_t set, old;
	int fd;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, &old);
	fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (fd < 0) {
		fprintf(stderr, "emptytc: enable stats: %s\n", strerror(errno));
		return 1;
	}
	printf("stats on\n");
	fflush(stdout);
	while (!stop)
		sigsuspend(&old);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	const struct bpf_insn insns[] = {
		/* r0 = TC_ACT_OK (0) */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = TC_ACT_OK },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int prog, ifindex, links[2] = { -1, -1 }, i, err = 0;
	bool tcx = true;
	sigset_t set, old;

	if (argc == 2 && !strcmp(argv[1], "stats"))
		return hold_stats();
	if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "tcx") &&
				      strcmp(argv[3], "clsact"))) {
		fprintf(stderr, "usage: emptytc NETNS IF [tcx|clsact] | emptytc stats\n");
		return 2;
	}
	if (argc == 4)
		tcx = !strcmp(argv[3], "tcx");
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, &old);
	if (enter_netns(argv[1]))
		return 1;
	ifindex = if_nametoindex(argv[2]);
	if (!ifindex) {
		fprintf(stderr, "emptytc: no such interface: %s\n", argv[2]);
		return 1;
	}
	prog = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "emptytc", "GPL", insns, 2, NULL);
	if (prog < 0) {
		fprintf(stderr, "emptytc: load: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < 2 && !err; i++) {
		if (tcx) {
			links[i] = bpf_link_create(prog, ifindex,
						   i ? ETC_TCX_INGRESS : ETC_TCX_EGRESS, NULL);
			if (links[i] < 0)
				err = -errno;
		} else {
			err = clsact(prog, ifindex, i, false);
			if (!err)
				links[i] = 0;
		}
	}
	if (err) {
		fprintf(stderr, "emptytc: attach (%s): %s\n", tcx ? "tcx" : "clsact",
			strerror(-err));
	} else {
		printf("attached to %s ingress and egress with %s\n", argv[2],
		       tcx ? "tcx links" : "clsact filters");
		fflush(stdout);
		/* Signals are blocked but here: none is missed between checks. */
		while (!stop)
			sigsuspend(&old);
	}
	for (i = 0; i < 2; i++) {
		if (links[i] < 0)
			continue;
		if (tcx)
			close(links[i]);
		else
			clsact(prog, ifindex, i, true);
	}
	close(prog);
	return err ? 1 : 0;
}
