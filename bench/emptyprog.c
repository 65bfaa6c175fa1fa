// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * emptyprog: attach "r0 = 0; exit" BPF programs to the hooks named on the
 * command line, print "ready", wait for SIGINT or SIGTERM, detach.
 *
 * The bench scripts run it beside a tool, on the hooks the tool chose
 * (its -v lines), to measure what a program costs that does nothing:
 * the floor of any tool on those hooks with that attach method.
 *
 *   emptyprog tp_btf:sock_send_length raw_tp:sk_data_ready \
 *             tp:syscalls/sys_enter_sendto
 *
 * tp_btf:NAME   BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, attach_btf_id =
 *               vmlinux BTF id of typedef btf_trace_NAME, raw_tp_open
 * raw_tp:NAME   BPF_PROG_TYPE_RAW_TRACEPOINT, raw_tp_open(NAME)
 * tp:CAT/NAME   BPF_PROG_TYPE_TRACEPOINT, perf_event_open(PERF_TYPE_TRACEPOINT,
 *               id from tracefs events/CAT/NAME/id), PERF_EVENT_IOC_SET_BPF
 *               (also tracepoint:CAT/NAME and tp:CAT:NAME)
 *
 * The program and link (or perf event) descriptors stay open until the
 * end, so /proc/PID/fdinfo shows the programs (bench_prog_stats).
 * Exit 1 with one line on stderr when a hook cannot be attached.
 *
 * --stats (first, hooks optional) also holds BPF_ENABLE_STATS
 * (BPF_STATS_RUN_TIME) while it runs: run_time_ns and run_cnt then grow
 * whatever another bench on the machine does with the
 * kernel.bpf_stats_enabled sysctl (the kernel counts both).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#define MAX_HOOKS 64

static const struct bpf_insn insns[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
	{ .code = BPF_JMP | BPF_EXIT },
};

static volatile sig_atomic_t stop;
static void on_signal(int sig) { stop = sig; }

static struct btf *vmlinux;
static char load_log[4096];

/*
 * The program's name: a letter for the method and the end of the hook's
 * name ("b_k_send_length"), to tell hooks apart in bpftool; the ready
 * output gives each hook's program id besides.
 */
static void prog_name(char *buf, char method, const char *hook_name)
{
	size_t len = strlen(hook_name);
	const char *tail = len > 13 ? hook_name + len - 13 : hook_name;
	char *p;

	snprintf(buf, 16, "%c_%s", method, tail);
	for (p = buf; *p; p++)
		if (!(*p == '_' || *p == '.' || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			*p = '_';
}

static int load(enum bpf_prog_type type, const char *name,
		enum bpf_attach_type expected, int btf_id)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts,
		.expected_attach_type = expected,
		.attach_btf_id = btf_id,
		.log_buf = load_log,
		.log_size = sizeof(load_log),
		.log_level = 0,
	);
	int fd;

	/* log_level 0 with a buffer: libbpf asks for the log only on failure */
	load_log[0] = 0;
	fd = bpf_prog_load(type, name, "GPL", insns, 2, &opts);
	return fd;
}

static const char *tracefs(void)
{
	if (!access("/sys/kernel/tracing/events", F_OK))
		return "/sys/kernel/tracing";
	if (!access("/sys/kernel/debug/tracing/events", F_OK))
		return "/sys/kernel/debug/tracing";
	return NULL;
}

/* One hook: fills *prog and *attach (link, raw_tp or perf event fd). */
static int attach(const char *hook, int *prog, int *attach_fd)
{
	char method[32], name[160], path[512], tpname[200], pname[16];
	const char *colon = strchr(hook, ':');
	int fd, afd, id;
	size_t mlen;

	if (!colon || colon == hook || !colon[1] ||
	    (mlen = colon - hook) >= sizeof(method) ||
	    strlen(colon + 1) >= sizeof(name)) {
		fprintf(stderr, "emptyprog: bad hook '%s' (tp_btf:NAME, raw_tp:NAME or tp:CAT/NAME)\n",
			hook);
		return -1;
	}
	memcpy(method, hook, mlen);
	method[mlen] = 0;
	strcpy(name, colon + 1);

	if (!strcmp(method, "tp_btf")) {
		if (!vmlinux)
			vmlinux = btf__load_vmlinux_btf();
		if (!vmlinux) {
			fprintf(stderr, "emptyprog: %s: no vmlinux BTF: %s\n", hook, strerror(errno));
			return -1;
		}
		snprintf(tpname, sizeof(tpname), "btf_trace_%s", name);
		id = btf__find_by_name_kind(vmlinux, tpname, BTF_KIND_TYPEDEF);
		if (id <= 0) {
			fprintf(stderr, "emptyprog: %s: no typedef %s in vmlinux BTF\n", hook, tpname);
			return -1;
		}
		prog_name(pname, 'b', name);
		fd = load(BPF_PROG_TYPE_TRACING, pname, BPF_TRACE_RAW_TP, id);
		if (fd < 0) {
			fprintf(stderr, "emptyprog: %s: load: %s %s\n", hook, strerror(errno), load_log);
			return -1;
		}
		afd = bpf_raw_tracepoint_open(NULL, fd);
		if (afd < 0) {
			fprintf(stderr, "emptyprog: %s: attach: %s\n", hook, strerror(errno));
			close(fd);
			return -1;
		}
	} else if (!strcmp(method, "raw_tp")) {
		prog_name(pname, 'r', name);
		fd = load(BPF_PROG_TYPE_RAW_TRACEPOINT, pname, 0, 0);
		if (fd < 0) {
			fprintf(stderr, "emptyprog: %s: load: %s %s\n", hook, strerror(errno), load_log);
			return -1;
		}
		afd = bpf_raw_tracepoint_open(name, fd);
		if (afd < 0) {
			fprintf(stderr, "emptyprog: %s: attach: %s\n", hook, strerror(errno));
			close(fd);
			return -1;
		}
	} else if (!strcmp(method, "tp") || !strcmp(method, "tracepoint")) {
		struct perf_event_attr attr = {
			.type = PERF_TYPE_TRACEPOINT,
			.size = sizeof(attr),
			.sample_period = 1,
			.wakeup_events = 1,
		};
		const char *tfs = tracefs();
		char *sep = strchr(name, '/');
		FILE *f;
		long long cfg;

		if (!sep)
			sep = strchr(name, ':');
		if (!sep || sep == name || !sep[1]) {
			fprintf(stderr, "emptyprog: bad hook '%s' (tp:CAT/NAME)\n", hook);
			return -1;
		}
		*sep = 0;
		if (!tfs) {
			fprintf(stderr, "emptyprog: %s: tracefs not mounted\n", hook);
			return -1;
		}
		snprintf(path, sizeof(path), "%s/events/%s/%s/id", tfs, name, sep + 1);
		f = fopen(path, "r");
		if (!f || fscanf(f, "%lld", &cfg) != 1) {
			fprintf(stderr, "emptyprog: %s: no tracepoint (%s: %s)\n", hook, path,
				f ? "unreadable" : strerror(errno));
			if (f)
				fclose(f);
			return -1;
		}
		fclose(f);
		attr.config = cfg;
		prog_name(pname, 't', sep + 1);
		fd = load(BPF_PROG_TYPE_TRACEPOINT, pname, 0, 0);
		if (fd < 0) {
			fprintf(stderr, "emptyprog: %s: load: %s %s\n", hook, strerror(errno), load_log);
			return -1;
		}
		/* One event (pid -1, CPU 0) carries the program for every CPU. */
		afd = syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
		if (afd < 0) {
			fprintf(stderr, "emptyprog: %s: perf_event_open: %s\n", hook, strerror(errno));
			close(fd);
			return -1;
		}
		if (ioctl(afd, PERF_EVENT_IOC_SET_BPF, fd) < 0 ||
		    ioctl(afd, PERF_EVENT_IOC_ENABLE, 0) < 0) {
			fprintf(stderr, "emptyprog: %s: attach: %s\n", hook, strerror(errno));
			close(afd);
			close(fd);
			return -1;
		}
	} else {
		fprintf(stderr, "emptyprog: %s: method '%s' not supported (tp_btf, raw_tp, tp)\n",
			hook, method);
		return -1;
	}
	*prog = fd;
	*attach_fd = afd;
	return 0;
}

int main(int argc, char **argv)
{
	int progs[MAX_HOOKS], fds[MAX_HOOKS], n = 0, i, first = 1, stats_fd = -1;
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t mask, old;

	if (argc >= 2 && !strcmp(argv[1], "--stats"))
		first = 2;
	if ((argc <= first && first == 1) || (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))) {
		fprintf(argc < 2 ? stderr : stdout,
			"usage: emptyprog [--stats] HOOK...  (tp_btf:NAME, raw_tp:NAME, tp:CAT/NAME)\n"
			"attaches 'r0 = 0; exit' to each hook, prints ready, waits for SIGINT/SIGTERM;\n"
			"--stats: BPF run-time statistics on (BPF_ENABLE_STATS) meanwhile\n");
		return argc < 2 ? 2 : 0;
	}
	if (argc - first > MAX_HOOKS) {
		fprintf(stderr, "emptyprog: at most %d hooks\n", MAX_HOOKS);
		return 1;
	}
	libbpf_set_print(NULL);
	/* Hold the signals while attaching; sigsuspend takes them after. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, &old);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (first == 2) {
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats_fd < 0) {
			fprintf(stderr, "emptyprog: BPF_ENABLE_STATS: %s\n", strerror(errno));
			return 1;
		}
	}
	for (i = first; i < argc; i++) {
		if (attach(argv[i], &progs[n], &fds[n]) < 0) {
			while (n--) {
				close(fds[n]);
				close(progs[n]);
			}
			return 1;
		}
		n++;
	}
	for (i = 0; i < n; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (!bpf_obj_get_info_by_fd(progs[i], &info, &len))
			printf("hook %s: prog id %u name %s\n", argv[i + first], info.id, info.name);
	}
	printf("ready: %d empty programs attached%s\n", n,
	       stats_fd >= 0 ? ", BPF run-time statistics on" : "");
	fflush(stdout);
	while (!stop)
		sigsuspend(&old);
	for (i = 0; i < n; i++) {
		close(fds[i]);	/* detaches (link, raw_tp or perf event) */
		close(progs[i]);
	}
	if (stats_fd >= 0)
		close(stats_fd);
	btf__free(vmlinux);
	return 0;
}
