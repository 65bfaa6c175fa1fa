// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "env.h"
#include "log.h"
#include "loop.h"
#include "opts.h"
#include "output.h"

volatile sig_atomic_t lk_exiting;
void (*lk_loop_tick)(void);

static void on_signal(int sig)
{
	lk_exiting = sig;
}

static void exit_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

void lk_signals_hold(void)
{
	sigset_t set;

	exit_signals(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

void lk_signals_init(void)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	/* No SA_RESTART: a signal must wake ring_buffer__poll() at once. */
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* A signal held since lk_signals_hold() arrives here: lk_run() then
	 * makes its final report at once. */
	exit_signals(&set);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static bool target_gone(void)
{
	if (!lk_opts.pid || !(kill(lk_opts.pid, 0) && errno == ESRCH))
		return false;
	lk_err("process %d exited", lk_opts.pid);
	return true;
}

static int wait_ms(struct ring_buffer *rb, int ms)
{
	int err;

	if (rb) {
		err = ring_buffer__poll(rb, ms);
		if (err < 0 && err != -EINTR) {
			lk_err("reading events failed: %s", strerror(-err));
			return err;
		}
		return 0;
	}
	poll(NULL, 0, ms);
	return 0;
}

void lk_open_report(bool final)
{
	lk_open_record(final ? "summary" : "interval");
	if (lk_opts.timestamp && lk_out_json())
		lk_print_time();
}

void lk_report_time(void)
{
	if (lk_opts.timestamp && !lk_out_json()) {
		lk_print_time();
		lk_print_nl();
	}
}

void lk_close_report(bool final)
{
	lk_close_record();
	if (!final)
		lk_printf("\n");
}

void lk_open_row(const char *type)
{
	lk_open_record(type);
	if (lk_opts.timestamp && lk_out_json())
		lk_print_time();
}

void lk_open_event(void)
{
	lk_open_record("event");
	if (lk_opts.timestamp)
		lk_print_time();
}

/*
 * One report.  A report that fails (it says why) or whose output cannot
 * be written (a full disk, a closed pipe) ends the run with an error.
 */
static int run_report(lk_report_fn report, void *ctx, bool final)
{
	FILE *fp = lk_out_fp();

	if (report(ctx, final))
		return -1;
	if (fflush(fp) || ferror(fp)) {
		lk_err("writing the report failed: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int lk_run(struct ring_buffer *rb, lk_report_fn report, void *ctx)
{
	unsigned long long interval_ns = lk_opts.interval * 1e9;
	unsigned long long next = lk_now_ns() + interval_ns;
	long reports = 0;
	int err = 0;

	lk_signals_init();
	/* Scripts wait for this line (with -v) instead of guessing a sleep. */
	lk_info("ready: programs attached");
	while (!lk_exiting) {
		unsigned long long now = lk_now_ns();
		long long left_ms = interval_ns ? ((long long)(next - now) + 999999) / 1000000 : 200;

		if (interval_ns && now >= next) {
			reports++;
			if (lk_opts.count && reports >= lk_opts.count)
				return run_report(report, ctx, true);
			if (run_report(report, ctx, false))
				return -1;
			/* Keep the schedule: no drift from slow reports. */
			next += interval_ns;
			if (next < lk_now_ns())
				next = lk_now_ns() + interval_ns;
			continue;
		}
		if (target_gone())
			break;
		if (lk_loop_tick)
			lk_loop_tick();
		if (left_ms > 200)
			left_ms = 200;
		err = wait_ms(rb, left_ms);
		if (err)
			break;
	}
	/* Drain what the kernel already queued before the final report. */
	if (rb)
		ring_buffer__consume(rb);
	if (run_report(report, ctx, true) && !err)
		err = -1;
	return err;
}

struct ring_buffer *lk_events_open(const struct bpf_map *map, lk_event_fn fn, void *ctx)
{
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(map), fn, ctx, NULL);
	int err = -errno;

	if (!rb) {
		lk_err_bpf("create the event ring buffer", err);
		errno = -err;
	}
	return rb;
}

int lk_events_start(struct ring_buffer **rb, const struct bpf_map *map, lk_event_fn fn,
		    void *ctx)
{
	*rb = NULL;
	if (!lk_opts.events)
		return 0;
	*rb = lk_events_open(map, fn, ctx);
	return *rb ? 0 : -errno;
}
