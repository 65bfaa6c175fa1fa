/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_OPTS_H
#define LK_OPTS_H

#include <argp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The option vocabulary shared by every latkit tool.  A tool picks the
 * options it supports with a mask and adds lk_common_argp(mask) as an
 * argp child; the parsed values land in lk_opts.
 *
 *   -p, --pid PID        process (all its threads)
 *   -c, --comm COMM      command name (exact, 15 chars max)
 *       --cgroup PATH    cgroup v2 directory
 *       --netns NAME|PATH  network namespace (ip netns name or a path)
 *   -i, --interval SEC   print every SEC seconds (default: once, at exit)
 *   [interval [count]]   positional, as in libbpf-tools; with -i given,
 *                        a single positional is the count
 *   -T, --timestamp      timestamp every report
 *   -j, --json           one JSON object per line
 *   -v, --verbose        say which method was chosen; -vv adds libbpf debug
 *   -4, -6, --lport PORT, --rport PORT, --laddr ADDR, --raddr ADDR
 *                        flow filters (an IPv4-mapped peer counts as IPv4)
 *       --listen [ADDR]:PORT   serve /metrics (default ADDR 127.0.0.1)
 *       --web-config FILE  TLS and basic auth for --listen
 *       --textfile PATH    rewrite PATH (node_exporter textfile) every interval
 *       --metrics-pids N   label metrics with the PID too, N PIDs at most
 *
 * The rows and events a tool prints, each option chosen on its own
 * (what a row or an event is belongs to the tool, which says so in its
 * help with lk_common_argp_doc()):
 *   -F, --per-flow       one row per flow
 *   -P, --per-process    one row per process
 *   -H, --hist           log2 histograms
 *   -m, --ms             milliseconds instead of microseconds
 *   -n, --top N          N rows at most (0 to 1000000, 0: all; the default
 *                        is what the tool set in lk_opts.top before
 *                        lk_start(), else all)
 *       --events         one line per event (ring buffer)
 *       --min-us US      a latency threshold in microseconds
 */
enum {
	LK_OPT_PID = 1 << 0,
	LK_OPT_COMM = 1 << 1,
	LK_OPT_CGROUP = 1 << 2,
	LK_OPT_NETNS = 1 << 3,
	LK_OPT_INTERVAL = 1 << 4,	/* -i and positional [interval [count]] */
	LK_OPT_TIMESTAMP = 1 << 5,
	LK_OPT_JSON = 1 << 6,
	LK_OPT_VERBOSE = 1 << 7,
	LK_OPT_TID = 1 << 8,		/* -t TID: one thread */
	LK_OPT_FLOW = 1 << 9,		/* --lport, --rport, -4, -6 */
	LK_OPT_METRICS = 1 << 10,	/* --listen, --web-config, --textfile, --metrics-pids */
	LK_OPT_ADDR = 1 << 11,		/* --laddr, --raddr (with LK_OPT_FLOW) */
	LK_OPT_PER_FLOW = 1 << 12,	/* -F */
	LK_OPT_PER_PROC = 1 << 13,	/* -P */
	LK_OPT_HIST = 1 << 14,		/* -H */
	LK_OPT_MS = 1 << 15,		/* -m */
	LK_OPT_TOP = 1 << 16,		/* -n N */
	LK_OPT_EVENTS = 1 << 17,	/* --events */
	LK_OPT_MIN_US = 1 << 18,	/* --min-us US */
	LK_OPT_OUTPUT = LK_OPT_INTERVAL | LK_OPT_TIMESTAMP | LK_OPT_JSON |
			LK_OPT_VERBOSE,
	LK_OPT_TASK = LK_OPT_PID | LK_OPT_COMM | LK_OPT_CGROUP,
};

struct lk_opts {
	pid_t pid;		/* 0: any */
	pid_t tid;		/* 0: any */
	uint16_t lport, rport;	/* 0: any */
	int family;		/* 4, 6; 0: both */
	uint8_t laddr_family;	/* --laddr: 4 or 6; 0: any */
	uint8_t raddr_family;	/* --raddr */
	uint32_t laddr[4];	/* network order; IPv4 in [0] */
	uint32_t raddr[4];
	char comm[16];		/* "": any */
	const char *cgroup;	/* NULL: any */
	uint64_t cgroup_id;	/* resolved from cgroup */
	const char *netns;	/* NULL: the tool's own */
	uint32_t netns_inum;	/* resolved from netns (0: any) */
	char netns_path[256];
	double interval;	/* seconds; 0: report once at exit */
	long count;		/* reports; 0: until interrupted */
	bool timestamp;
	bool json;
	const char *listen;	/* --listen: NULL: no endpoint */
	const char *web_config;	/* NULL: plain HTTP, no auth */
	const char *textfile;	/* NULL: none */
	long metrics_pids;	/* 0: no pid label */
	bool per_flow;		/* -F */
	bool per_proc;		/* -P */
	bool hist;		/* -H */
	bool ms;		/* -m */
	long top;		/* -n; 0: every row */
	bool events;		/* --events */
	double min_us;		/* --min-us; 0: none */
};

extern struct lk_opts lk_opts;

/* argp child parser for the options in @mask (LK_OPT_*). */
struct argp_child lk_common_argp(unsigned int mask);

/* A tool's own help line for a shared option, by its long name. */
struct lk_opt_doc {
	const char *name;	/* "per-flow", "events", ... */
	const char *doc;
};

/*
 * lk_common_argp() with the help of some options in the tool's words
 * (what its rows or events are); @docs ends with { NULL }.  A name the
 * mask does not choose is a mistake: it is said on stderr.
 */
struct argp_child lk_common_argp_doc(unsigned int mask, const struct lk_opt_doc *docs);

/*
 * Parse helpers for tool-specific options.  They return 0 or -1 after
 * printing nothing; callers report with argp_error() so the message has
 * the usual form.
 */
int lk_parse_long(const char *s, long min, long max, long *out);
int lk_parse_double(const char *s, double min, double max, double *out);
int lk_parse_port(const char *s, uint16_t *out);
/*
 * An IPv4 or IPv6 address into @family (4 or 6) and @addr (network
 * order, IPv4 in addr[0], the rest zero).  An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) is IPv4, as flows count it (bpf/flow.h).
 */
int lk_parse_addr(const char *s, uint8_t *family, uint32_t addr[4]);
/* Sizes with K/M/G suffixes (powers of 1024). */
int lk_parse_size(const char *s, uint64_t *out);
/* Durations: "10", "10s", "250ms", "100us", "2m": stored in ns. */
int lk_parse_duration(const char *s, uint64_t *ns);

/* Check that a process exists; prints one line and returns -1 if not. */
int lk_check_pid(pid_t pid);
int lk_check_tid(pid_t tid);
/* Resolve --netns (name under /run/netns, or a path) to its inode. */
int lk_resolve_netns(const char *spec, uint32_t *inum, char *path, size_t len);
/* Resolve --cgroup (cgroup v2 directory, absolute or below /sys/fs/cgroup). */
int lk_resolve_cgroup(const char *path, uint64_t *id);

/*
 * Validate and resolve lk_opts after argp_parse(): unknown PID, netns or
 * cgroup become one line on stderr and a non-zero return.
 */
int lk_opts_finish(void);

/* How many of @n rows a report shows: -n's, or all. */
size_t lk_top_rows(size_t n);



/*
 * argp_parse() for latkit tools: a bad option or argument prints one
 * line ("TOOL: reason") on stderr and exits 2, instead of argp's two
 * lines.  --help and --version behave as usual.  Returns argp's error.
 */
int lk_argp_parse(const struct argp *argp, int argc, char **argv);
#endif
