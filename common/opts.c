// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/nsfs.h>
#include "log.h"
#include "metrics.h"
#include "opts.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

struct lk_opts lk_opts;

enum {
	OPT_CGROUP = 0x1001,
	OPT_NETNS,
	OPT_LPORT,
	OPT_RPORT,
	OPT_LADDR,
	OPT_RADDR,
	OPT_LISTEN,
	OPT_WEB_CONFIG,
	OPT_TEXTFILE,
	OPT_METRICS_PIDS,
	OPT_EVENTS,
	OPT_MIN_US,
};

struct opt_def {
	unsigned int mask;
	struct argp_option opt;
};

static const struct opt_def all_opts[] = {
	{ LK_OPT_PID, { "pid", 'p', "PID", 0, "Trace this process only (all threads)", 1 } },
	{ LK_OPT_TID, { "tid", 't', "TID", 0, "Trace this thread only", 1 } },
	{ LK_OPT_COMM, { "comm", 'c', "COMM", 0, "Trace this command name only", 1 } },
	{ LK_OPT_CGROUP, { "cgroup", OPT_CGROUP, "PATH", 0, "Trace this cgroup v2 only", 1 } },
	{ LK_OPT_NETNS, { "netns", OPT_NETNS, "NAME|PATH", 0, "Network namespace (ip netns name or path)", 1 } },
	{ LK_OPT_FLOW, { "lport", OPT_LPORT, "PORT", 0, "Local port", 1 } },
	{ LK_OPT_FLOW, { "rport", OPT_RPORT, "PORT", 0, "Remote port", 1 } },
	{ LK_OPT_ADDR, { "laddr", OPT_LADDR, "ADDR", 0, "Local address (IPv4 or IPv6)", 1 } },
	{ LK_OPT_ADDR, { "raddr", OPT_RADDR, "ADDR", 0, "Remote address (IPv4 or IPv6)", 1 } },
	{ LK_OPT_FLOW, { NULL, '4', NULL, 0, "IPv4 only (with IPv6 sockets whose peer is IPv4-mapped)", 1 } },
	{ LK_OPT_FLOW, { NULL, '6', NULL, 0, "IPv6 only (not IPv4-mapped peers)", 1 } },
	{ LK_OPT_INTERVAL, { "interval", 'i', "SEC", 0, "Report every SEC seconds (default: at exit)", 2 } },
	{ LK_OPT_TIMESTAMP, { "timestamp", 'T', NULL, 0, "Timestamp each report", 2 } },
	{ LK_OPT_JSON, { "json", 'j', NULL, 0, "One JSON object per line", 2 } },
	{ LK_OPT_VERBOSE, { "verbose", 'v', NULL, 0, "Say which kernel hooks were chosen (-vv: libbpf debug)", 2 } },
	{ LK_OPT_METRICS, { "listen", OPT_LISTEN, "[ADDR]:PORT", 0, "Serve Prometheus metrics on http://ADDR:PORT/metrics (ADDR default 127.0.0.1; [::1]:PORT for IPv6)", 3 } },
	{ LK_OPT_METRICS, { "web-config", OPT_WEB_CONFIG, "FILE", 0, "TLS and basic auth for --listen (exporter-toolkit web config)", 3 } },
	{ LK_OPT_METRICS, { "textfile", OPT_TEXTFILE, "PATH", 0, "Rewrite PATH with the metrics every interval (node_exporter textfile collector)", 3 } },
	{ LK_OPT_METRICS, { "metrics-pids", OPT_METRICS_PIDS, "N", 0, "Label metrics with the PID too, in N rows at most (the rest in rows with comm \"other\")", 3 } },
};

/* The rows and events: what a row or an event is, the tool's help says. */
static const struct opt_def rows_opts[] = {
	{ LK_OPT_PER_FLOW, { "per-flow", 'F', NULL, 0, "One row per flow", 0 } },
	{ LK_OPT_PER_PROC, { "per-process", 'P', NULL, 0, "One row per process", 0 } },
	{ LK_OPT_HIST, { "hist", 'H', NULL, 0, "Log2 latency histograms", 0 } },
	{ LK_OPT_MS, { "ms", 'm', NULL, 0, "Milliseconds instead of microseconds (text)", 0 } },
	{ LK_OPT_TOP, { "top", 'n', "N", 0, "Show the top N rows only (0: all)", 0 } },
	{ LK_OPT_EVENTS, { "events", OPT_EVENTS, NULL, 0, "Also print one line per event", 0 } },
	{ LK_OPT_MIN_US, { "min-us", OPT_MIN_US, "US", 0, "Only events of at least US microseconds", 0 } },
};

#define N_OPTS (sizeof(all_opts) / sizeof(all_opts[0]))
#define N_ROWS_OPTS (sizeof(rows_opts) / sizeof(rows_opts[0]))

static unsigned int cur_mask;
static bool interval_given;
static int n_positional;
static struct argp_option chosen[N_OPTS + 1];
static struct argp_option chosen_rows[N_ROWS_OPTS + 1];

int lk_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int lk_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || isnan(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int lk_parse_port(const char *s, uint16_t *out)
{
	long v;

	if (lk_parse_long(s, 1, 65535, &v))
		return -1;
	*out = v;
	return 0;
}

int lk_parse_addr(const char *s, uint8_t *family, uint32_t addr[4])
{
	uint32_t a[4] = {};

	if (inet_pton(AF_INET, s, a) == 1) {
		*family = 4;
	} else if (inet_pton(AF_INET6, s, a) == 1) {
		*family = 6;
		if (!a[0] && !a[1] && a[2] == htonl(0xffff)) {
			*family = 4;
			a[0] = a[3];
			a[2] = a[3] = 0;
		}
	} else {
		return -1;
	}
	memcpy(addr, a, sizeof(a));
	return 0;
}

int lk_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: return -1;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end == 'B')
		end++;
	if (*end || v > (~0ULL >> shift))
		return -1;
	*out = v << shift;
	return 0;
}

int lk_parse_duration(const char *s, uint64_t *ns)
{
	char *end;
	double v, mult = 1e9;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || isnan(v) || v < 0)
		return -1;
	if (!strcmp(end, "") || !strcmp(end, "s"))
		mult = 1e9;
	else if (!strcmp(end, "ms"))
		mult = 1e6;
	else if (!strcmp(end, "us"))
		mult = 1e3;
	else if (!strcmp(end, "ns"))
		mult = 1;
	else if (!strcmp(end, "m"))
		mult = 60e9;
	else
		return -1;
	if (v * mult > 1.8e19)
		return -1;
	*ns = (uint64_t)(v * mult + 0.5);
	return 0;
}

static error_t parse_common(int key, char *arg, struct argp_state *state)
{
	long v;
	double d;
	int f;

	switch (key) {
	case 'p':
		if (lk_parse_long(arg, 1, INT_MAX, &v))
			argp_error(state, "invalid PID: %s", arg);
		lk_opts.pid = v;
		break;
	case 't':
		if (lk_parse_long(arg, 1, INT_MAX, &v))
			argp_error(state, "invalid TID: %s", arg);
		lk_opts.tid = v;
		break;
	case 'c':
		if (strlen(arg) >= sizeof(lk_opts.comm))
			argp_error(state, "command name too long (15 characters at most): %s", arg);
		strcpy(lk_opts.comm, arg);
		break;
	case OPT_CGROUP:
		lk_opts.cgroup = arg;
		break;
	case OPT_LPORT:
	case OPT_RPORT:
		if (lk_parse_port(arg, key == OPT_LPORT ? &lk_opts.lport : &lk_opts.rport))
			argp_error(state, "invalid port '%s'", arg);
		break;
	case OPT_LADDR:
		if (lk_parse_addr(arg, &lk_opts.laddr_family, lk_opts.laddr))
			argp_error(state, "invalid address '%s'", arg);
		break;
	case OPT_RADDR:
		if (lk_parse_addr(arg, &lk_opts.raddr_family, lk_opts.raddr))
			argp_error(state, "invalid address '%s'", arg);
		break;
	case '4':
	case '6':
		if (lk_opts.family && lk_opts.family != (key == '4' ? 4 : 6))
			argp_error(state, "-4 and -6 exclude each other");
		lk_opts.family = key == '4' ? 4 : 6;
		break;
	case OPT_NETNS:
		lk_opts.netns = arg;
		break;
	case 'i':
		if (lk_parse_double(arg, 0.001, 86400 * 365, &d))
			argp_error(state, "invalid interval: %s", arg);
		lk_opts.interval = d;
		interval_given = true;
		break;
	case 'T':
		lk_opts.timestamp = true;
		break;
	case 'j':
		lk_opts.json = true;
		break;
	case 'v':
		lk_verbose++;
		break;
	case OPT_LISTEN:
		lk_opts.listen = arg;
		break;
	case OPT_WEB_CONFIG:
		lk_opts.web_config = arg;
		break;
	case OPT_TEXTFILE:
		if (!*arg)
			argp_error(state, "empty --textfile path");
		lk_opts.textfile = arg;
		break;
	case OPT_METRICS_PIDS:
		if (lk_parse_long(arg, 1, 100000, &v))
			argp_error(state, "invalid --metrics-pids: %s", arg);
		lk_opts.metrics_pids = v;
		break;
	case ARGP_KEY_END:
		/* Flows of one family only: a filter on the other matches nothing. */
		f = lk_opts.family ? lk_opts.family :
		    lk_opts.laddr_family ? lk_opts.laddr_family : lk_opts.raddr_family;
		if ((lk_opts.laddr_family && lk_opts.laddr_family != f) ||
		    (lk_opts.raddr_family && lk_opts.raddr_family != f))
			argp_error(state, "-4, -6, --laddr and --raddr name different address families");
		break;
	case ARGP_KEY_ARG:
		if (!(cur_mask & LK_OPT_INTERVAL))
			return ARGP_ERR_UNKNOWN;
		n_positional++;
		if (n_positional == 1 && !interval_given) {
			if (lk_parse_double(arg, 0.001, 86400 * 365, &d))
				argp_error(state, "invalid interval: %s", arg);
			lk_opts.interval = d;
		} else if ((n_positional == 2 && !interval_given) ||
			   (n_positional == 1 && interval_given)) {
			if (lk_parse_long(arg, 1, LONG_MAX, &v))
				argp_error(state, "invalid count: %s", arg);
			lk_opts.count = v;
		} else {
			argp_error(state, "unexpected argument: %s", arg);
		}
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static error_t parse_rows(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'F':
		lk_opts.per_flow = true;
		break;
	case 'P':
		lk_opts.per_proc = true;
		break;
	case 'H':
		lk_opts.hist = true;
		break;
	case 'm':
		lk_opts.ms = true;
		break;
	case 'n':
		if (lk_parse_long(arg, 0, 1000000, &lk_opts.top))
			argp_error(state, "invalid number of rows '%s'", arg);
		break;
	case OPT_EVENTS:
		lk_opts.events = true;
		break;
	case OPT_MIN_US:
		if (lk_parse_double(arg, 0, 1e9, &lk_opts.min_us))
			argp_error(state, "invalid --min-us '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/*
 * The rows and events stand with the tool's own options (no header of
 * their own); the rest follows under its header.
 */
static struct argp common_argp = { .parser = parse_common };
static struct argp_child common_child[] = {
	{ &common_argp, 0, "Common options:", 0 },
	{ 0 },
};
static struct argp rows_argp = { .parser = parse_rows, .children = common_child };

/* The doc @docs gives option @o, else its own. */
static const char *doc_of(const struct argp_option *o, const struct lk_opt_doc *docs)
{
	for (; docs && docs->name; docs++)
		if (o->name && !strcmp(o->name, docs->name))
			return docs->doc;
	return o->doc;
}

/* The options of @defs in @mask into @out, with the docs @docs gives. */
static void choose(const struct opt_def *defs, size_t n_defs, unsigned int mask,
		     const struct lk_opt_doc *docs, struct argp_option *out)
{
	size_t i, n = 0;

	for (i = 0; i < n_defs; i++) {
		if (!(defs[i].mask & mask))
			continue;
		out[n] = defs[i].opt;
		out[n].doc = doc_of(&out[n], docs);
		n++;
	}
	memset(&out[n], 0, sizeof(out[n]));
}

static bool chosen_name(const struct argp_option *o, const char *name)
{
	for (; o->name || o->key; o++)
		if (o->name && !strcmp(o->name, name))
			return true;
	return false;
}

struct argp_child lk_common_argp_doc(unsigned int mask, const struct lk_opt_doc *docs)
{
	struct argp_child child = { &rows_argp, 0, NULL, 0 };

	cur_mask = mask;
	choose(rows_opts, N_ROWS_OPTS, mask, docs, chosen_rows);
	choose(all_opts, N_OPTS, mask, docs, chosen);
	for (; docs && docs->name; docs++)
		if (!chosen_name(chosen_rows, docs->name) && !chosen_name(chosen, docs->name))
			lk_err("help for --%s, an option not chosen", docs->name);
	rows_argp.options = chosen_rows;
	common_argp.options = chosen;
	return child;
}

struct argp_child lk_common_argp(unsigned int mask)
{
	return lk_common_argp_doc(mask, NULL);
}

/* /proc/TID exists for every thread, listed in /proc or not. */
int lk_check_tid(pid_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	if (access(path, F_OK)) {
		lk_err("no such thread: %d", tid);
		return -1;
	}
	return 0;
}

int lk_check_pid(pid_t pid)
{
	if (kill(pid, 0) && errno == ESRCH) {
		lk_err("no such process: %d", pid);
		return -1;
	}
	return 0;
}

/*
 * Ask nsfs what the file is.  (readlink of /proc/self/fd/N only says
 * "net:[INODE]" for /proc/PID/ns/net; for a bind mount such as
 * /run/netns/NAME it gives the mount's path.)
 */
static bool is_netns(const char *path)
{
	int fd, type;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	type = ioctl(fd, NS_GET_NSTYPE);
	close(fd);
	return type == CLONE_NEWNET;
}

int lk_resolve_netns(const char *spec, uint32_t *inum, char *path, size_t len)
{
	struct stat st;

	if (strchr(spec, '/'))
		snprintf(path, len, "%s", spec);
	else
		snprintf(path, len, "/run/netns/%s", spec);
	if (stat(path, &st)) {
		lk_err("no such network namespace: %s (%s)", spec, strerror(errno));
		return -1;
	}
	if (!is_netns(path)) {
		lk_err("not a network namespace: %s", spec);
		return -1;
	}
	*inum = st.st_ino;
	return 0;
}

int lk_resolve_cgroup(const char *path, uint64_t *id)
{
	char buf[PATH_MAX];
	struct statfs sfs;
	struct stat st;

	if (path[0] != '/')
		snprintf(buf, sizeof(buf), "/sys/fs/cgroup/%s", path);
	else
		snprintf(buf, sizeof(buf), "%s", path);
	if (stat(buf, &st) || !S_ISDIR(st.st_mode)) {
		lk_err("no such cgroup: %s", path);
		return -1;
	}
	if (statfs(buf, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		lk_err("not a cgroup v2 directory: %s", path);
		return -1;
	}
	/* On cgroup v2 the inode number is the id bpf_get_current_cgroup_id() returns. */
	*id = st.st_ino;
	return 0;
}

int lk_opts_finish(void)
{
	if (lk_opts.pid && lk_check_pid(lk_opts.pid))
		return -1;
	if (lk_opts.tid && lk_check_tid(lk_opts.tid))
		return -1;
	if (lk_opts.cgroup && lk_resolve_cgroup(lk_opts.cgroup, &lk_opts.cgroup_id))
		return -1;
	if (lk_opts.netns && lk_resolve_netns(lk_opts.netns, &lk_opts.netns_inum,
					      lk_opts.netns_path,
					      sizeof(lk_opts.netns_path)))
		return -1;
	if ((lk_opts.listen || lk_opts.web_config) && lk_metrics_prepare())
		return -1;
	return 0;
}

/*
 * argp reports errors on stderr and then exits from inside argp_parse(),
 * adding a "Try --help" line.  Catch its stderr in memory while parsing,
 * and on exit keep only the first line.
 */
static FILE *real_stderr;
static char *argp_msgs;
static size_t argp_msgs_len;

static void flush_argp_msgs(void)
{
	FILE *mem = stderr;
	char *nl;

	if (!real_stderr)
		return;
	stderr = real_stderr;
	real_stderr = NULL;
	fclose(mem);
	if (!argp_msgs || !argp_msgs_len)
		goto out;
	nl = strchr(argp_msgs, '\n');
	if (nl)
		*nl = 0;
	fprintf(stderr, "%s\n", argp_msgs);
out:
	free(argp_msgs);
	argp_msgs = NULL;
}

size_t lk_top_rows(size_t n)
{
	return lk_opts.top > 0 && (size_t)lk_opts.top < n ? (size_t)lk_opts.top : n;
}

/* --version: "tcplat (latkit) 0.1.0"; the Makefile takes LK_VERSION from debian/changelog. */
static void print_version(FILE *fp, struct argp_state *state)
{
	fprintf(fp, "%s (latkit) %s\n", program_invocation_short_name, LK_VERSION);
}

int lk_argp_parse(const struct argp *argp, int argc, char **argv)
{
	FILE *mem;
	int err;

	argp_err_exit_status = 2;
	argp_program_version_hook = print_version;
	argp_program_bug_address = "see README.md";
	/* getopt names the program by argv[0]: "tcplat:", not its path. */
	if (argc > 0)
		argv[0] = program_invocation_short_name;
	mem = open_memstream(&argp_msgs, &argp_msgs_len);
	if (mem) {
		real_stderr = stderr;
		stderr = mem;
		atexit(flush_argp_msgs);
	}
	err = argp_parse(argp, argc, argv, 0, NULL, NULL);
	flush_argp_msgs();
	return err;
}
