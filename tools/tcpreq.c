// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * tcpreq: a TCP request/response workload generator with a latency
 * summary.  The workload the other latkit tools are tested with: its own
 * figures (requests, bytes, latency) are their oracle.
 */
#include <argp.h>
#include <inttypes.h>
#include <limits.h>
#include <arpa/inet.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "latkit.h"
#include "tcpreq/engine.h"
#include "tcpreq/frame.h"

static const char doc[] =
"TCP request/response workload: ping (round trips), echo (answer), push\n"
"(one-way), with a latency summary.\n"
"\n"
"USAGE: tcpreq server|client [OPTIONS] [ADDR]\n"
"       tcpreq server|client [OPTIONS] CONNS MODE SIZE ADDR [SLEEP_MS]\n"
"\n"
"ADDR is HOST:PORT ([V6]:PORT, or PORT); default 0.0.0.0:23324 for the\n"
"server, 127.0.0.1:23324 for the client.  MODE is ping, echo or push;\n"
"default ping for the client, echo for the server.  SIZE is the payload\n"
"in bytes after the 24-byte header.\n"
"\n"
"EXAMPLES:\n"
"    tcpreq server 127.0.0.1:5000               # answer requests\n"
"    tcpreq client -n 4 -i 1 --duration 10 127.0.0.1:5000\n"
"    tcpreq client --rate 5000 --duration 30s --warmup 5 --cooldown 5 127.0.0.1:5000\n"
"    tcpreq client --requests 1000 -j 127.0.0.1:5000  # exactly 1000 round trips\n"
"    tcpreq client --io-uring --nodelay --duration 10 127.0.0.1:5000\n"
"    tcpreq server 32 ping 16 0.0.0.0:23324     # the original demo's form\n"
"    tcpreq client 32 echo 16 127.0.0.1:23324 5\n";

enum {
	OPT_MODE = 0x100,
	OPT_SIZE,
	OPT_SLEEP,
	OPT_RATE,
	OPT_DURATION,
	OPT_REQUESTS,
	OPT_WARMUP,
	OPT_COOLDOWN,
	OPT_THREADS,
	OPT_NODELAY,
	OPT_LINGER0,
	OPT_MAX_SIZE,
	OPT_LOG,
	OPT_IO_URING,
};

#define HIST_SLOTS 40

static const struct argp_option options[] = {
	{ "conns", 'n', "N", 0, "Client: connections (default 1); server: most at once (default no limit)", 0 },
	{ "mode", OPT_MODE, "MODE", 0, "ping, echo or push", 0 },
	{ "size", OPT_SIZE, "BYTES", 0, "Payload bytes per message (default 64)", 0 },
	{ "sleep-ms", OPT_SLEEP, "MS", 0, "Echo: wait MS before each reply", 0 },
	{ "rate", OPT_RATE, "R", 0, "Open loop: R requests/s in total, latency from the intended send time", 0 },
	{ "duration", OPT_DURATION, "TIME", 0, "Stop after TIME (10, 10s, 500ms, 2m)", 0 },
	{ "requests", OPT_REQUESTS, "N", 0, "Stop after N requests in total", 0 },
	{ "warmup", OPT_WARMUP, "TIME", 0, "Leave the first TIME out of the statistics", 0 },
	{ "cooldown", OPT_COOLDOWN, "TIME", 0, "Leave the last TIME out (needs --duration)", 0 },
	{ "threads", OPT_THREADS, "N", 0, "Worker threads (default 1)", 0 },
	{ "nodelay", OPT_NODELAY, NULL, 0, "Set TCP_NODELAY", 0 },
	{ "linger0", OPT_LINGER0, NULL, 0, "Close with RST (SO_LINGER 0) instead of FIN/TIME_WAIT", 0 },
	{ "max-size", OPT_MAX_SIZE, "BYTES", 0, "Largest payload accepted from a peer (default 1M)", 0 },
	{ "hist", 'H', NULL, 0, "Add a log2 latency histogram (us) to the summary", 0 },
	{ "io-uring", OPT_IO_URING, NULL, 0, "Client: wait for each reply in io_uring, the request's send in the same call (Linux 6.1 or later)", 0 },
	{ "log", OPT_LOG, "FILE", 0, "Write each measured request's start and end (ns, CLOCK_MONOTONIC) to FILE", 0 },
	{},
};

static struct tcpreq_cfg cfg = {
	.size = 64,
	.max_size = 1 << 20,
	.threads = 1,
};
static bool role_set, mode_set, conns_set, want_hist;
static const char *addr_arg, *log_path;
static char *pos[6];
static int npos;

static int parse_mode(const char *s, enum tcpreq_mode *m)
{
	if (!strcmp(s, "ping"))
		*m = TCPREQ_M_PING;
	else if (!strcmp(s, "echo"))
		*m = TCPREQ_M_ECHO;
	else if (!strcmp(s, "push"))
		*m = TCPREQ_M_PUSH;
	else
		return -1;
	return 0;
}

static int parse_u32_size(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v;

	if (lk_parse_size(s, &v) || v > max)
		return -1;
	*out = v;
	return 0;
}

/* The original demo's form: CONNS MODE SIZE ADDR [SLEEP_MS]. */
static void parse_positional(struct argp_state *state)
{
	long v;

	if (npos == 1) {
		addr_arg = pos[0];
		return;
	}
	if (npos != 4 && npos != 5)
		argp_error(state, "expected ADDR or CONNS MODE SIZE ADDR [SLEEP_MS]");
	if (lk_parse_long(pos[0], 1, 100000, &v))
		argp_error(state, "invalid connection count: %s", pos[0]);
	cfg.conns = v;
	conns_set = true;
	if (parse_mode(pos[1], &cfg.mode))
		argp_error(state, "invalid mode: %s (ping, echo or push)", pos[1]);
	mode_set = true;
	if (parse_u32_size(pos[2], 1U << 30, &cfg.size))
		argp_error(state, "invalid size: %s", pos[2]);
	addr_arg = pos[3];
	if (npos == 5 && lk_parse_double(pos[4], 0, 3600e3, &cfg.sleep_ms))
		argp_error(state, "invalid sleep: %s", pos[4]);
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	uint64_t ns;
	long v;

	switch (key) {
	case 'n':
		if (lk_parse_long(arg, 1, 100000, &v))
			argp_error(state, "invalid connection count: %s", arg);
		cfg.conns = v;
		conns_set = true;
		break;
	case OPT_MODE:
		if (parse_mode(arg, &cfg.mode))
			argp_error(state, "invalid mode: %s (ping, echo or push)", arg);
		mode_set = true;
		break;
	case OPT_SIZE:
		if (parse_u32_size(arg, 1U << 30, &cfg.size))
			argp_error(state, "invalid size: %s", arg);
		break;
	case OPT_LOG:
		log_path = arg;
		break;
	case OPT_MAX_SIZE:
		if (parse_u32_size(arg, 1U << 30, &cfg.max_size))
			argp_error(state, "invalid max size: %s", arg);
		break;
	case OPT_SLEEP:
		if (lk_parse_double(arg, 0, 3600e3, &cfg.sleep_ms))
			argp_error(state, "invalid sleep: %s", arg);
		break;
	case OPT_RATE:
		if (lk_parse_double(arg, 0.001, 1e8, &cfg.rate))
			argp_error(state, "invalid rate: %s", arg);
		break;
	case OPT_DURATION:
	case OPT_WARMUP:
	case OPT_COOLDOWN:
		if (lk_parse_duration(arg, &ns) || (key == OPT_DURATION && !ns))
			argp_error(state, "invalid time: %s", arg);
		if (key == OPT_DURATION)
			cfg.duration_ns = ns;
		else if (key == OPT_WARMUP)
			cfg.warmup_ns = ns;
		else
			cfg.cooldown_ns = ns;
		break;
	case OPT_REQUESTS:
		if (lk_parse_long(arg, 1, LONG_MAX, &v))
			argp_error(state, "invalid request count: %s", arg);
		cfg.requests = v;
		break;
	case OPT_THREADS:
		if (lk_parse_long(arg, 1, 64, &v))
			argp_error(state, "invalid thread count: %s (1 to 64)", arg);
		cfg.threads = v;
		break;
	case OPT_NODELAY:
		cfg.nodelay = true;
		break;
	case OPT_LINGER0:
		cfg.linger0 = true;
		break;
	case OPT_IO_URING:
		cfg.io_uring = true;
		break;
	case 'H':
		want_hist = true;
		break;
	case ARGP_KEY_ARG:
		if (!role_set) {
			if (!strcmp(arg, "server"))
				cfg.server = true;
			else if (strcmp(arg, "client"))
				argp_error(state, "first argument must be server or client, not %s", arg);
			role_set = true;
			break;
		}
		if (npos >= 5)
			argp_error(state, "too many arguments");
		pos[npos++] = arg;
		break;
	case ARGP_KEY_END:
		if (!role_set)
			argp_error(state, "say server or client");
		if (npos)
			parse_positional(state);
		if (cfg.io_uring && (cfg.server || (mode_set && cfg.mode != TCPREQ_M_PING)))
			argp_error(state, "--io-uring is for a ping client");
		if (cfg.io_uring && cfg.rate > 0)
			argp_error(state, "--io-uring needs a closed loop: no --rate");
		if (cfg.io_uring && conns_set && cfg.conns > cfg.threads)
			argp_error(state, "--io-uring needs a thread for each connection: --threads at least --conns");
		if (cfg.cooldown_ns && !cfg.duration_ns)
			argp_error(state, "--cooldown needs --duration");
		if (cfg.duration_ns && cfg.warmup_ns + cfg.cooldown_ns >= cfg.duration_ns)
			argp_error(state, "--warmup plus --cooldown leave nothing of --duration");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/*
 * HOST:PORT, [V6]:PORT, :PORT or PORT; numeric hosts and "localhost"
 * only (no NSS: the static binary resolves nothing).
 */
static int resolve(const char *spec, bool server)
{
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&cfg.addr;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&cfg.addr;
	char host[128], *port;
	uint16_t pnum = 0;
	size_t n;

	if (strlen(spec) >= sizeof(host))
		goto bad;
	strcpy(host, spec);
	port = strrchr(host, ':');
	if (port && strchr(host, ':') != port && host[0] != '[')
		goto bad;	/* a bare IPv6 address needs brackets */
	if (port) {
		*port++ = 0;
	} else {
		port = (char *)spec;
		host[0] = 0;
	}
	n = strlen(host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host[n - 1] = 0;
		memmove(host, host + 1, n - 1);
	}
	if (strcmp(port, "0") && lk_parse_port(port, &pnum))
		goto bad;
	if (!pnum && !server)
		goto bad;
	if (!host[0])
		strcpy(host, server ? "0.0.0.0" : "127.0.0.1");
	else if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	memset(&cfg.addr, 0, sizeof(cfg.addr));
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(pnum);
		cfg.addrlen = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(pnum);
		cfg.addrlen = sizeof(*a6);
	} else {
		goto bad;
	}
	snprintf(cfg.addr_str, sizeof(cfg.addr_str), "%s", spec);
	return 0;
bad:
	lk_err("invalid address: %s (HOST:PORT with a numeric host, [V6]:PORT, or PORT)", spec);
	return -1;
}

static const char *mode_name(enum tcpreq_mode m)
{
	return m == TCPREQ_M_PING ? "ping" : m == TCPREQ_M_ECHO ? "echo" : "push";
}

struct report {
	struct tcpreq_run *run;
	struct tcpreq_counters last;
	uint64_t last_ns;
};

static void print_interval(struct report *rp)
{
	struct tcpreq_counters c;
	uint64_t now = tcpreq_now(), dreq;
	double dt = (now - rp->last_ns) / 1e9;

	tcpreq_read_counters(rp->run, &c);
	dreq = c.requests - rp->last.requests;
	lk_open_record("interval");
	if (lk_opts.timestamp)
		lk_print_time();
	lk_print_u64(LK_JSON, "requests", NULL, dreq);
	lk_print_float(LK_ANY, "rps", "rps %9.0f", dreq / dt);
	lk_print_float(LK_ANY, "mean_us", "  mean %9.1f us",
		       dreq ? (c.lat_sum_ns - rp->last.lat_sum_ns) / 1e3 / dreq : 0);
	lk_print_float(LK_ANY, "kib_in", "  in %10.1f KiB/s",
		       (c.bytes_in - rp->last.bytes_in) / 1024.0 / dt);
	lk_print_float(LK_ANY, "kib_out", "  out %10.1f KiB/s",
		       (c.bytes_out - rp->last.bytes_out) / 1024.0 / dt);
	lk_print_u64(LK_ANY, "errors", "  errors %" PRIu64 "\n", c.errors - rp->last.errors);
	lk_close_record();
	fflush(lk_out_fp());
	rp->last = c;
	rp->last_ns = now;
}

/* Seconds of the measured window: first connection to last completion, trimmed. */
static double window_secs(struct tcpreq_run *run)
{
	uint64_t first, last, end;

	tcpreq_window(run, &first, &last);
	if (!first || last <= first)
		return 0;
	first += cfg.warmup_ns;
	end = last;
	if (cfg.duration_ns && cfg.cooldown_ns &&
	    run->t_begin + cfg.duration_ns - cfg.cooldown_ns < end)
		end = run->t_begin + cfg.duration_ns - cfg.cooldown_ns;
	return end > first ? (end - first) / 1e9 : 0;
}

/* The fine ns buckets folded into libbpf-tools' log2 slots of microseconds. */
static void print_hist(const struct tcpreq_lat *lat)
{
	uint64_t log2[HIST_SLOTS] = { 0 };
	unsigned long long us;
	unsigned int i, slot;

	for (i = 0; i < TCPREQ_LAT_BUCKETS; i++) {
		if (!lat->b[i])
			continue;
		us = lh_lower(i, TCPREQ_LAT_SUB) / 1000;
		slot = us ? lh_log2_slot(us) : 0;
		if (slot >= HIST_SLOTS)
			slot = HIST_SLOTS - 1;
		log2[slot] += lat->b[i];
	}
	lk_print_log2_hist(log2, HIST_SLOTS, "usecs");
}

static void print_summary(struct tcpreq_run *run)
{
	struct tcpreq_counters c;
	struct tcpreq_lat *lat = malloc(sizeof(*lat));
	double secs = window_secs(run);

	if (!lat) {
		lk_err("out of memory");
		return;
	}
	tcpreq_read_counters(run, &c);
	tcpreq_merge_lat(run, lat);
	lk_open_record("summary");
	if (lk_opts.timestamp)
		lk_print_time();
	lk_print_str(LK_ANY, "role", "tcpreq %s", cfg.server ? "server" : "client");
	lk_print_str(LK_ANY, "mode", " %s", mode_name(cfg.mode));
	lk_print_u64(LK_ANY, "conns", ", connections %" PRIu64, run->established);
	lk_print_float(LK_ANY, "duration_s", ", measured %.2f s\n", secs);
	lk_print_u64(LK_ANY, "requests", "requests %" PRIu64, c.requests);
	lk_print_u64(LK_ANY, "measured", " (measured %" PRIu64 ")", c.measured);
	lk_print_u64(LK_ANY, "errors", "  errors %" PRIu64, c.errors);
	lk_print_float(LK_ANY, "rps", "  rps %.1f\n", secs > 0 ? c.measured / secs : 0);
	lk_printf("latency us:");
	lk_print_float(LK_ANY, "mean_us", " mean %.1f", lat->count ? lat->sum / lat->count / 1e3 : 0);
	lk_print_float(LK_ANY, "p50_us", "  p50 %.1f", tcpreq_lat_pct(lat, 50) / 1e3);
	lk_print_float(LK_ANY, "p90_us", "  p90 %.1f", tcpreq_lat_pct(lat, 90) / 1e3);
	lk_print_float(LK_ANY, "p99_us", "  p99 %.1f", tcpreq_lat_pct(lat, 99) / 1e3);
	lk_print_float(LK_ANY, "p999_us", "  p99.9 %.1f", tcpreq_lat_pct(lat, 99.9) / 1e3);
	lk_print_float(LK_ANY, "max_us", "  max %.1f", lat->count ? lat->max / 1e3 : 0);
	lk_print_u64(LK_ANY, "samples", "  (%" PRIu64 " samples)\n", lat->count);
	lk_print_u64(LK_ANY, "bytes_in", "bytes in %" PRIu64, c.bytes_in);
	lk_print_u64(LK_ANY, "bytes_out", "  out %" PRIu64, c.bytes_out);
	if (cfg.rate > 0)
		lk_print_u64(LK_ANY, "overruns", "  overruns %" PRIu64, c.overruns);
	lk_print_u64(LK_ANY, "pid", "  pid %" PRIu64 "\n", getpid());
	if (want_hist)
		print_hist(lat);
	lk_close_record();
	fflush(lk_out_fp());
	free(lat);
}

static void main_loop(struct tcpreq_run *run, struct report *rp)
{
	uint64_t ival = lk_opts.interval * 1e9, next, now, wait;

	next = rp->last_ns + ival;
	while (!lk_exiting && !tcpreq_done(run)) {
		now = tcpreq_now();
		if (ival && now >= next) {
			print_interval(rp);
			next += ival;
			if (next < now)
				next = now + ival;
			continue;
		}
		wait = 50000000ULL;
		if (ival && next - now < wait)
			wait = next - now;
		tcpreq_wait(run, wait);
	}
}

/* With -v: the address the server got (port 0 picks one). */
static void say_listening(const struct tcpreq_cfg *c)
{
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&c->addr;
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)&c->addr;
	char host[INET6_ADDRSTRLEN];

	if (c->addr.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof(host));
		lk_info("listening on [%s]:%u", host, ntohs(a6->sin6_port));
	} else {
		inet_ntop(AF_INET, &a4->sin_addr, host, sizeof(host));
		lk_info("listening on %s:%u", host, ntohs(a4->sin_port));
	}
}

/* 1,000 connections need more than the usual 1,024 descriptors' headroom. */
static void raise_nofile(void)
{
	struct rlimit rl;
	rlim_t want = cfg.conns + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

int main(int argc, char **argv)
{
	struct argp_child children[] = {
		lk_common_argp(LK_OPT_INTERVAL | LK_OPT_TIMESTAMP | LK_OPT_JSON |
			       LK_OPT_VERBOSE),
		{ 0 },
	};
	const struct argp argp = { .options = options, .parser = parse_arg,
				   .args_doc = "server|client [ADDR]", .doc = doc,
				   .children = children };
	struct tcpreq_run run = {};
	int err;

	if (lk_argp_parse(&argp, argc, argv))
		return 2;
	if (!mode_set)
		cfg.mode = cfg.server ? TCPREQ_M_ECHO : TCPREQ_M_PING;
	if (!conns_set && !cfg.server)
		cfg.conns = 1;
	lk_out_init(lk_opts.json, NULL);
	if (resolve(addr_arg ? addr_arg : (cfg.server ? "0.0.0.0:23324" : "127.0.0.1:23324"),
		    cfg.server))
		return 1;
	/* A ping peer's replies are as large as its own requests. */
	if (cfg.max_size < cfg.size)
		cfg.max_size = cfg.size;
	raise_nofile();
	if (log_path) {
		cfg.log = fopen(log_path, "w");
		if (!cfg.log) {
			lk_err("cannot open %s: %s", log_path, strerror(errno));
			return 1;
		}
	}
	run.cfg = cfg;
	lk_signals_init();
	err = tcpreq_start(&run);
	if (!err && cfg.server)
		say_listening(&run.cfg);
	if (!err) {
		struct report rp = { .run = &run, .last_ns = tcpreq_now() };

		main_loop(&run, &rp);
		tcpreq_stop(&run, 1);
		/* The rest of the run: the intervals add up to the summary. */
		if (lk_opts.interval)
			print_interval(&rp);
		print_summary(&run);
		if (!cfg.server && !run.established)
			err = -1;
	}
	tcpreq_free(&run);
	if (cfg.log) {
		/* A write that failed mid-run leaves the stream's error flag. */
		bool bad = ferror(cfg.log);

		if (fclose(cfg.log) || bad) {
			lk_err("cannot write %s", log_path);
			err = -1;
		}
	}
	return err ? 1 : 0;
}
