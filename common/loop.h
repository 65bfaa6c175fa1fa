/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_LOOP_H
#define LK_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

struct ring_buffer;

/* Set by SIGINT, SIGTERM and SIGHUP; SIGPIPE is ignored. */
extern volatile sig_atomic_t lk_exiting;
/*
 * Hold SIGINT, SIGTERM and SIGHUP from the start until lk_signals_init():
 * a stop asked for while the BPF programs load (seconds on a slow
 * machine) is then a request for the final report and the detach, not
 * lost.  A shell starts background jobs with SIGINT ignored, which would
 * drop it; Linux keeps an ignored signal pending while it is blocked.
 */
void lk_signals_hold(void);
/* Take them from here on (lk_run() does; a tool without it calls this). */
void lk_signals_init(void);

/*
 * Report callback: @final is true for the last call (signal, count
 * reached, or the -p process gone).  Return non-zero to stop.
 */
typedef int (*lk_report_fn)(void *ctx, bool final);

/*
 * Open a report's record: type "summary" when @final, else "interval",
 * and with -T its "time" and "ts" in JSON (text puts its time where the
 * tool's layout wants it, with lk_print_time()).
 */
void lk_open_report(bool final);
/*
 * Text with -T: the time on a line of its own, above a report's rows
 * (JSON has it in every record instead).
 */
void lk_report_time(void);
/*
 * Close it (lk_close_record() flushes), with a blank text line after an
 * interval's.  lk_run() checks that the report was written.
 */
void lk_close_report(bool final);
/*
 * Open one of a report's rows, a record of @type ("flow", "process",
 * ...): with -T its "time" and "ts" in JSON (a text row has its
 * report's time above it).
 */
void lk_open_row(const char *type);
/*
 * Open an --events record, type "event": with -T its time first, in
 * text and JSON alike (an event is a line of its own).
 */
void lk_open_event(void);

/*
 * The main loop every tool shares.  It first takes the exit signals
 * (lk_signals_init(): one held since lk_signals_hold() ends the run
 * with its final report at once).  Polls @rb (may be NULL) and calls
 * @report every lk_opts.interval seconds, lk_opts.count times; with no
 * interval it waits for a signal and reports once.  With lk_opts.pid set
 * it stops when that process exits, saying so on stderr.  The final
 * report always happens, so SIGINT prints the summary.  Returns non-zero
 * when a report failed or could not be written (said on stderr): the
 * tool then exits non-zero.
 */
int lk_run(struct ring_buffer *rb, lk_report_fn report, void *ctx);

/*
 * Called by lk_run() at every pass of its loop (at most 200 ms apart)
 * when set: the metrics snapshot (common/metrics.c) is made here, in
 * the main thread, between reports.
 */
extern void (*lk_loop_tick)(void);

/*
 * The --events ring buffer on @map, records handed to @fn(ctx, data,
 * size).  NULL after one line on stderr (errno set) if it cannot be made.
 */
struct bpf_map;
typedef int (*lk_event_fn)(void *ctx, void *data, size_t size);
struct ring_buffer *lk_events_open(const struct bpf_map *map, lk_event_fn fn, void *ctx);
/*
 * The same for a tool whose ring buffer is its --events: with
 * lk_opts.events it opens it into *@rb, else leaves *@rb NULL.  Returns
 * 0, or -errno after the line on stderr.
 */
int lk_events_start(struct ring_buffer **rb, const struct bpf_map *map, lk_event_fn fn,
		    void *ctx);

#endif
