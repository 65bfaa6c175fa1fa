// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * tcplat's metrics, from the mrows map (cumulative since the start,
 * never cleared: the interval reports' generations are not touched).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "latkit.h"
#include "metrics.h"
#include "tcplat.h"
#include "tcplat.skel.h"
#include "tcplat/metrics.h"

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
			     sizeof(struct tl_mrow), true, max, false, add_row, &rs);
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
	lk_m_family(w, "latkit_tcp_dropped", LK_MT_COUNTER, NULL,
		    "What tcplat could not record, by what ran out of room.");
	for (b = 0; b < TL_DROP_MAX; b++) {
		lk_m_labels(l, sizeof(l), "what", drop_names[b], NULL);
		lk_m_u64(w, l, skel->bss->drops[b]);
	}
	lk_m_map_entries(w, "mrows", rs.n, max);
	lk_m_bpf_progs(w, skel->obj);
	free(rs.r);
	return 0;
}

int tcplat_metrics_setup(struct tcplat_bpf *skel)
{
	unsigned int rows = lk_opts.metrics_pids ? lk_opts.metrics_pids : TL_M_ROWS;

	if (!lk_metrics_on())
		return 0;
	skel->rodata->metrics_on = true;
	skel->rodata->metrics_pid = lk_opts.metrics_pids > 0;
	if (bpf_map__set_max_entries(skel->maps.mrows, rows + 3)) {
		lk_err("cannot size the metrics map");
		return -1;
	}
	return 0;
}

int tcplat_metrics_start(struct tcplat_bpf *skel)
{
	size_t size = lk_percpu_stride(sizeof(struct tl_mrow)) * lk_ncpus();
	struct tl_mkey k = {};
	void *zero;
	int err = 0;

	if (!lk_metrics_on())
		return 0;
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
