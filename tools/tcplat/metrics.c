// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * tcplat's metrics, from the mrows map (cumulative since the start,
 * never cleared: the interval reports' generations are not touched).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "array.h"
#include "latkit.h"
#include "metrics.h"
#include "tcplat.h"
#include "tcplat.skel.h"
#include "tcplat/metrics.h"
#include "tcplat/payload.h"

static const char *const roles[] = { "unknown", "server", "client" };
static const char *const drop_names[TL_DROP_MAX] = {
	"socket", "flow", "process", "event", "inflight", "entry", "payload", "arrival",
};

struct mrow {
	struct tl_mkey k;
	struct tl_mrow v;
};

struct rows {
	struct mrow *r;
	size_t n;
};

static int add_row(const void *key, const void *val, void *p)
{
	struct rows *rs = p;
	const struct tl_mrow *v = val;
	struct mrow *m = &rs->r[rs->n++];
	size_t stride = lk_percpu_stride(sizeof(*v));
	int cpu, b;

	memcpy(&m->k, key, sizeof(m->k));
	memset(&m->v, 0, sizeof(m->v));
	for (cpu = 0; cpu < lk_ncpus(); cpu++) {
		const struct tl_mrow *c = (const void *)((const char *)val + cpu * stride);

		m->v.requests += c->requests;
		m->v.bytes_in += c->bytes_in;
		m->v.bytes_out += c->bytes_out;
		m->v.sum_ns += c->sum_ns;
		m->v.incomplete += c->incomplete;
		for (b = 0; b < TL_M_BUCKETS; b++)
			m->v.hist[b] += c->hist[b];
	}
	return 0;
}

/* What the programs could not record (both kinds of rows). */
static void write_drops(struct lk_mw *w, struct tcplat_bpf *skel)
{
	lk_m_dropped(w, "latkit_tcp_dropped",
		     "What tcplat could not record, by what ran out of room.",
		     drop_names, skel->bss->drops, TL_DROP_MAX);
}

static void labels(char *l, size_t len, const struct tl_mkey *k)
{
	char comm[17], pid[16];

	snprintf(comm, sizeof(comm), "%.16s", k->comm[0] ? k->comm : "other");
	snprintf(pid, sizeof(pid), "%u", k->pid);
	if (lk_opts.metrics_pids && k->pid)
		lk_m_labels(l, len, "comm", comm, "role", roles[k->role % 3], "pid", pid, NULL);
	else
		lk_m_labels(l, len, "comm", comm, "role", roles[k->role % 3], NULL);
}

static void counter(struct lk_mw *w, const struct rows *rs, const char *name,
		    const char *unit, const char *help, size_t off)
{
	char l[160];
	size_t i;

	lk_m_family(w, name, LK_MT_COUNTER, unit, help);
	for (i = 0; i < rs->n; i++) {
		/* An overflow row shows once something went there. */
		if (!rs->r[i].k.comm[0] && !rs->r[i].v.requests && !rs->r[i].v.bytes_in &&
		    !rs->r[i].v.bytes_out && !rs->r[i].v.incomplete)
			continue;
		labels(l, sizeof(l), &rs->r[i].k);
		lk_m_u64(w, l, *(const unsigned long long *)((const char *)&rs->r[i].v + off));
	}
}

static int write_metrics(void *p, struct lk_mw *w)
{
	struct tcplat_bpf *skel = p;
	unsigned int max = bpf_map__max_entries(skel->maps.mrows);
	struct rows rs = { calloc(max, sizeof(struct mrow)), 0 };
	uint64_t bounds[TL_M_BUCKETS - 1], hist[3][TL_M_BUCKETS] = {}, sum[3] = {}, cnt[3] = {};
	char l[64];
	size_t i;
	int err, r, b;

	if (!rs.r)
		return -ENOMEM;
	err = lk_map_foreach(bpf_map__fd(skel->maps.mrows), sizeof(struct tl_mkey),
			     sizeof(struct tl_mrow), true, max, NULL, add_row, &rs);
	if (err) {
		lk_err("reading the metrics map failed: %s", strerror(-err));
		free(rs.r);
		return err;
	}
	counter(w, &rs, "latkit_tcp_requests", NULL,
		"TCP requests (request/response exchanges) completed.",
		offsetof(struct tl_mrow, requests));
	counter(w, &rs, "latkit_tcp_read_bytes", "bytes",
		"Bytes the process read from its TCP sockets.", offsetof(struct tl_mrow, bytes_in));
	counter(w, &rs, "latkit_tcp_written_bytes", "bytes",
		"Bytes the process wrote to its TCP sockets.", offsetof(struct tl_mrow, bytes_out));
	counter(w, &rs, "latkit_tcp_incomplete_requests", NULL,
		"TCP requests cut off by the connection's end.",
		offsetof(struct tl_mrow, incomplete));
	for (i = 0; i < rs.n; i++) {
		r = rs.r[i].k.role % 3;
		sum[r] += rs.r[i].v.sum_ns;
		cnt[r] += rs.r[i].v.requests;
		for (b = 0; b < TL_M_BUCKETS; b++)
			hist[r][b] += rs.r[i].v.hist[b];
	}
	for (b = 0; b < TL_M_BUCKETS - 1; b++)
		bounds[b] = 1ULL << (TL_M_MIN_MSB + b);
	lk_m_family(w, "latkit_tcp_request_duration_seconds", LK_MT_HISTOGRAM, "seconds",
		    "TCP request latency (client: send to response; server: request to response).");
	for (r = 1; r < 3; r++) {
		lk_m_labels(l, sizeof(l), "role", roles[r], NULL);
		lk_m_hist_ns(w, l, bounds, hist[r], TL_M_BUCKETS - 1, sum[r], cnt[r]);
	}
	if (cnt[0]) {
		lk_m_labels(l, sizeof(l), "role", roles[0], NULL);
		lk_m_hist_ns(w, l, bounds, hist[0], TL_M_BUCKETS - 1, sum[0], cnt[0]);
	}
	write_drops(w, skel);
	lk_m_map_entries(w, "mrows", rs.n, max);
	lk_m_bpf_progs(w, skel->obj);
	free(rs.r);
	return 0;
}

/* --proto: an operation's labels. */
static void op_labels(char *l, size_t len, const struct tp_key *k)
{
	char status[8];

	if (k->status)
		snprintf(status, sizeof(status), "%uxx", k->status);
	else
		snprintf(status, sizeof(status), "%s", k->error ? "error" : "ok");
	if (k->path[0])
		lk_m_labels(l, len, "role", roles[k->role % 3], "proto", lp_proto_name(k->proto),
			    "op", k->op, "status", status, "path", k->path, NULL);
	else
		lk_m_labels(l, len, "role", roles[k->role % 3], "proto", lp_proto_name(k->proto),
			    "op", k->op, "status", status, NULL);
}

static void op_counter(struct lk_mw *w, const struct tp_mrow *m, unsigned int n,
		       const char *name, const char *unit, const char *help, size_t off)
{
	char l[256];
	unsigned int i;

	lk_m_family(w, name, LK_MT_COUNTER, unit, help);
	for (i = 0; i <= n; i++) {
		/* The "other" row (index TP_MAX_ROWS) once something went there. */
		const struct tp_mrow *r = i < n ? &m[i] : &m[TP_MAX_ROWS];

		if (i == n && !r->requests && !r->incomplete && !r->noreply)
			continue;
		op_labels(l, sizeof(l), &r->k);
		lk_m_u64(w, l, *(const unsigned long long *)((const char *)r + off));
	}
}

/* --proto's records: framed into the rows before each snapshot. */
static struct ring_buffer *payloads;

/* --proto: rows per operation, made in userspace (tcplat/payload.c). */
static int write_proto_metrics(void *p, struct lk_mw *w)
{
	static const char *const pdrop_names[] = { "connection", "row", "record" };
	struct tcplat_bpf *skel = p;
	uint64_t bounds[TL_M_BUCKETS - 1];
	const struct tp_mrow *m, *r;
	struct tp_counts c;
	unsigned int n, i;
	char l[256];
	int b;

	ring_buffer__consume(payloads);
	m = tp_metrics(&n, &c);
	if (!m)
		return -1;
	op_counter(w, m, n, "latkit_tcp_proto_requests", NULL,
		   "Requests framed by --proto and answered, per operation and outcome.",
		   offsetof(struct tp_mrow, requests));
	op_counter(w, m, n, "latkit_tcp_proto_incomplete_requests", NULL,
		   "Requests framed by --proto whose response did not end (cut off).",
		   offsetof(struct tp_mrow, incomplete));
	op_counter(w, m, n, "latkit_tcp_proto_noreply_requests", NULL,
		   "Requests that expect no response (memcached noreply).",
		   offsetof(struct tp_mrow, noreply));
	op_counter(w, m, n, "latkit_tcp_proto_request_bytes", "bytes",
		   "Bytes the process read in requests (server) or responses (client).",
		   offsetof(struct tp_mrow, bytes_in));
	op_counter(w, m, n, "latkit_tcp_proto_response_bytes", "bytes",
		   "Bytes the process wrote in responses (server) or requests (client).",
		   offsetof(struct tp_mrow, bytes_out));
	for (b = 0; b < TL_M_BUCKETS - 1; b++)
		bounds[b] = 1ULL << (TL_M_MIN_MSB + b);
	lk_m_family(w, "latkit_tcp_proto_request_duration_seconds", LK_MT_HISTOGRAM, "seconds",
		    "Latency of requests framed by --proto (client: the write's entry to the response's last byte read; server: the request's first byte's arrival to its response's last byte written).");
	for (i = 0; i <= n; i++) {
		r = i < n ? &m[i] : &m[TP_MAX_ROWS];
		if (i == n && !r->requests)
			continue;
		op_labels(l, sizeof(l), &r->k);
		lk_m_hist_ns(w, l, bounds, r->hist, TL_M_BUCKETS - 1, r->sum_ns, r->requests);
	}
	lk_m_family(w, "latkit_tcp_proto_connections", LK_MT_COUNTER, NULL,
		    "Connections recognized as each protocol (raw: framed by direction).");
	for (i = LP_REDIS; i < LP_NPROTO; i++) {
		lk_m_labels(l, sizeof(l), "proto", lp_proto_name(i), NULL);
		lk_m_u64(w, l, c.conns[i]);
	}
	lk_m_family(w, "latkit_tcp_proto_framing_lost", LK_MT_COUNTER, NULL,
		    "Connections whose framing was lost, by cause (then framed by direction).");
	for (i = 0; i < LP_LOST_MAX; i++) {
		lk_m_labels(l, sizeof(l), "cause", lp_lost_name(i), NULL);
		lk_m_u64(w, l, c.lp.lost[i]);
	}
	lk_m_family(w, "latkit_tcp_proto_lost_requests", LK_MT_COUNTER, NULL,
		    "Requests unanswered when their connection's framing was lost.");
	lk_m_u64(w, NULL, c.lp.lost_requests);
	lk_m_family(w, "latkit_tcp_proto_unparsed_bytes", LK_MT_COUNTER, "bytes",
		    "Bytes read or written that no framer could place.");
	lk_m_u64(w, NULL, c.lp.unparsed_bytes);
	lk_m_dropped(w, "latkit_tcp_proto_dropped",
		     "What --proto could not frame: reads and writes of connections past its table, requests in the \"other\" row, connections that lost a record.", pdrop_names,
		     (const unsigned long long[]){ c.drop_conns, c.drop_rows, c.lost_records },
		     LK_ARRAY_SIZE(pdrop_names));
	write_drops(w, skel);
	lk_m_bpf_progs(w, skel->obj);
	return 0;
}

int tcplat_metrics_setup(struct tcplat_bpf *skel, bool proto)
{
	unsigned int rows = lk_opts.metrics_pids ? lk_opts.metrics_pids : TL_M_ROWS;

	if (!lk_metrics_on() || proto)
		return 0;
	skel->rodata->metrics_on = true;
	skel->rodata->metrics_pid = lk_opts.metrics_pids > 0;
	if (bpf_map__set_max_entries(skel->maps.mrows, rows + 3)) {
		lk_err("cannot size the metrics map");
		return -1;
	}
	return 0;
}

int tcplat_metrics_start(struct tcplat_bpf *skel, struct ring_buffer *proto_rb)
{
	size_t size = lk_percpu_stride(sizeof(struct tl_mrow)) * lk_ncpus();
	struct tl_mkey k = {};
	void *zero;
	int err = 0;

	if (!lk_metrics_on())
		return 0;
	if (proto_rb) {
		payloads = proto_rb;
		return lk_metrics_start(write_proto_metrics, skel);
	}
	zero = calloc(1, size);
	if (!zero)
		return -1;
	for (k.role = 0; k.role < 3 && !err; k.role++)
		err = bpf_map_update_elem(bpf_map__fd(skel->maps.mrows), &k, zero, BPF_NOEXIST);
	free(zero);
	if (err) {
		lk_err("cannot make the metrics overflow rows: %s", strerror(errno));
		return -1;
	}
	return lk_metrics_start(write_metrics, skel);
}
