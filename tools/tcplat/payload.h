/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * tcplat --proto: the consumer of the payload records (struct tl_data).
 * It keeps one framer (tcplat/proto.h) per connection and adds each
 * request it completes to a row per operation.
 */
#ifndef TCPLAT_PAYLOAD_H
#define TCPLAT_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "flow.h"
#include "tcplat.h"
#include "tcplat/proto.h"

#define TP_MAX_CONNS	65536	/* connections framed at once */
#define TP_MAX_ROWS	1024	/* rows per report; the rest: one "other" row */

/* What a row is per: an operation, its outcome, and -P's process. */
struct tp_key {
	unsigned int tgid;	/* -P; 0 otherwise */
	unsigned char role;	/* enum tl_role */
	unsigned char proto;	/* enum lp_proto */
	unsigned char status;	/* HTTP: the status class (2 for 2xx); 0 otherwise */
	bool error;
	char op[LP_OP_LEN];
	char path[LP_PATH_LEN];
};

struct tp_row {
	struct tp_key k;
	char comm[16];
	unsigned long long noreply;	/* requests that expect no response */
	struct tl_stats s;
};

/*
 * --listen, --textfile: a row per operation since the start, never
 * cleared; latency buckets as tcplat's other metrics (TL_M_BUCKETS
 * powers of two from 2^TL_M_MIN_MSB ns).  TP_MAX_ROWS of them, then one
 * "other" row.
 */
struct tp_mrow {
	struct tp_key k;
	unsigned long long requests;
	unsigned long long incomplete;
	unsigned long long noreply;
	unsigned long long bytes_in;
	unsigned long long bytes_out;
	unsigned long long sum_ns;
	uint64_t hist[TL_M_BUCKETS];
};

/* Counted since the previous report (tp_take), or since the start (tp_totals). */
struct tp_counts {
	unsigned long long conns[LP_NPROTO];	/* connections recognized as each */
	struct lp_stats lp;
	unsigned long long lost_records;	/* connections that lost a record */
	unsigned long long drop_conns;		/* reads and writes not framed: table full */
	unsigned long long drop_rows;		/* requests in the "other" row */
};

/* One request, as --events prints it. */
struct tp_event {
	const struct lp_req *r;
	const struct lk_flow *ends;
	unsigned int tgid;
	const char *comm;
	bool guessed;
};

typedef void (*tp_event_fn)(void *ctx, const struct tp_event *e);

struct tp_opts {
	struct lp_opts lp;
	bool per_proc;
	bool metrics;			/* keep the tp_mrow rows */
	unsigned long long min_ns;	/* events: only requests this slow */
	tp_event_fn event;		/* NULL: no events */
	void *ctx;
};

int tp_init(const struct tp_opts *o);
/* A ring buffer callback: one struct tl_data. */
int tp_handle(void *ctx, void *data, size_t len);
/*
 * The rows and counts since the previous call, which are then cleared.
 * final: every connection still open is ended first (its open requests
 * count as incomplete).  The rows stay valid until the next call.
 */
void tp_take(bool final, struct tp_row **rows, unsigned int *n, struct tp_counts *cnt);
/* The metrics rows and the counts since the start (tcplat's one thread). */
const struct tp_mrow *tp_metrics(unsigned int *n, struct tp_counts *cnt);
void tp_free(void);

/* One request of @lat ns on @s (shared with the final report's pending). */
void tl_add_latency(struct tl_stats *s, unsigned long long lat);

#endif
