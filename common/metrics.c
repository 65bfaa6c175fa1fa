// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The metrics snapshot: written by the main loop through the tool's
 * callback in both exposition formats, handed whole to scrapes and to
 * the --textfile file.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "env.h"
#include "httpd.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "opts.h"

enum { PROM, OM, NFMT };

struct lk_mw {
	FILE *f[NFMT];
	char *buf[NFMT];
	size_t len[NFMT];
	const char *name;
	enum lk_mtype type;
};

/* A scrape takes a snapshot up to this old as it is. */
#define FRESH_NS	250000000ULL
/* How long a scrape waits for the main loop's next snapshot. */
#define WAIT_NS		2000000000ULL
/* --textfile without -i: rewritten this often. */
#define TEXTFILE_NS	10000000000ULL

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	lk_metrics_fn fn;
	void *ctx;
	bool started, stopping;
	char *text[NFMT];
	size_t len[NFMT];
	unsigned long long made_ns;	/* when text[] was made */
	unsigned long long want, done;	/* snapshots asked for, made */
	unsigned long long textfile_next;
} m = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static const char *const type_names[] = { "counter", "gauge", "histogram" };

void lk_m_family(struct lk_mw *w, const char *name, enum lk_mtype type,
		 const char *unit, const char *help)
{
	const char *sfx = type == LK_MT_COUNTER ? "_total" : "";

	w->name = name;
	w->type = type;
	fprintf(w->f[PROM], "# HELP %s%s %s\n# TYPE %s%s %s\n", name, sfx, help, name, sfx,
		type_names[type]);
	fprintf(w->f[OM], "# TYPE %s %s\n", name, type_names[type]);
	if (unit)
		fprintf(w->f[OM], "# UNIT %s %s\n", name, unit);
	fprintf(w->f[OM], "# HELP %s %s\n", name, help);
}

static void sample(struct lk_mw *w, const char *sfx, const char *labels,
		   const char *extra, const char *value)
{
	bool any = (labels && *labels) || extra;
	int i;

	for (i = 0; i < NFMT; i++)
		fprintf(w->f[i], "%s%s%s%s%s%s%s %s\n", w->name, sfx, any ? "{" : "",
			labels ? labels : "", labels && *labels && extra ? "," : "",
			extra ? extra : "", any ? "}" : "", value);
}

static const char *value_sfx(const struct lk_mw *w)
{
	return w->type == LK_MT_COUNTER ? "_total" : "";
}

void lk_m_u64(struct lk_mw *w, const char *labels, uint64_t v)
{
	char s[32];

	snprintf(s, sizeof(s), "%" PRIu64, v);
	sample(w, value_sfx(w), labels, NULL, s);
}

void lk_m_f64(struct lk_mw *w, const char *labels, double v)
{
	char s[40];

	snprintf(s, sizeof(s), "%.17g", v);
	sample(w, value_sfx(w), labels, NULL, s);
}

/* ns as exact decimal seconds, trailing zeros dropped: 1024 -> 0.000001024. */
static void fmt_ns(char *s, size_t len, uint64_t ns)
{
	char *e;

	snprintf(s, len, "%" PRIu64 ".%09" PRIu64, ns / 1000000000, ns % 1000000000);
	e = s + strlen(s) - 1;
	while (*e == '0')
		*e-- = 0;
	if (*e == '.')
		*e = 0;
}

void lk_m_ns(struct lk_mw *w, const char *labels, uint64_t ns)
{
	char s[40];

	fmt_ns(s, sizeof(s), ns);
	sample(w, value_sfx(w), labels, NULL, s);
}

void lk_m_hist_ns(struct lk_mw *w, const char *labels, const uint64_t *bounds_ns,
		  const uint64_t *counts, unsigned int n, uint64_t sum_ns, uint64_t count)
{
	char le[64], v[40];
	uint64_t cum = 0;
	unsigned int i;

	for (i = 0; i <= n; i++) {
		cum += counts[i];
		if (i < n) {
			strcpy(le, "le=\"");
			fmt_ns(le + 4, sizeof(le) - 6, bounds_ns[i]);
			strcat(le, "\"");
		} else {
			strcpy(le, "le=\"+Inf\"");
		}
		snprintf(v, sizeof(v), "%" PRIu64, cum);
		sample(w, "_bucket", labels, le, v);
	}
	fmt_ns(v, sizeof(v), sum_ns);
	sample(w, "_sum", labels, NULL, v);
	snprintf(v, sizeof(v), "%" PRIu64, count);
	sample(w, "_count", labels, NULL, v);
}

void lk_m_labels(char *buf, size_t len, ...)
{
	const char *k, *v;
	size_t o = 0;
	va_list ap;

	if (!len)
		return;
	buf[0] = 0;
	va_start(ap, len);
	while ((k = va_arg(ap, const char *))) {
		v = va_arg(ap, const char *);
		o += snprintf(buf + o, o < len ? len - o : 0, "%s%s=\"", o ? "," : "", k);
		for (; v && *v && o + 3 < len; v++) {
			unsigned char ch = *v;

			if (ch == '\\' || ch == '"') {
				buf[o++] = '\\';
				buf[o++] = ch;
			} else if (ch == '\n') {
				buf[o++] = '\\';
				buf[o++] = 'n';
			} else {
				buf[o++] = ch >= 0x20 && ch < 0x7f ? ch : '?';
			}
		}
		if (o + 2 < len)
			buf[o++] = '"';
		buf[o < len ? o : len - 1] = 0;
	}
	va_end(ap);
}

void lk_m_dropped(struct lk_mw *w, const char *name, const char *help,
		  const char *const *what, const unsigned long long *n, unsigned int count)
{
	char l[64];
	unsigned int i;

	lk_m_family(w, name, LK_MT_COUNTER, NULL, help);
	for (i = 0; i < count; i++) {
		lk_m_labels(l, sizeof(l), "what", what[i], NULL);
		lk_m_u64(w, l, n[i]);
	}
}

void lk_m_bpf_progs(struct lk_mw *w, struct bpf_object *obj)
{
	struct bpf_program *p;
	struct { char name[64]; uint64_t ns, cnt, missed; } rows[64];
	int n = 0, i;
	char l[96];

	bpf_object__for_each_program(p, obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);

		if (fd < 0 || n == 64 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		snprintf(rows[n].name, sizeof(rows[n].name), "%s", bpf_program__name(p));
		rows[n].ns = info.run_time_ns;
		rows[n].cnt = info.run_cnt;
		rows[n].missed = info.recursion_misses;
		n++;
	}
	lk_m_family(w, "latkit_bpf_prog_run_seconds", LK_MT_COUNTER, "seconds",
		    "Time the tool's BPF programs ran (counted while kernel.bpf_stats_enabled=1).");
	for (i = 0; i < n; i++) {
		lk_m_labels(l, sizeof(l), "prog", rows[i].name, NULL);
		lk_m_ns(w, l, rows[i].ns);
	}
	lk_m_family(w, "latkit_bpf_prog_runs", LK_MT_COUNTER, NULL,
		    "Runs of the tool's BPF programs (counted while kernel.bpf_stats_enabled=1).");
	for (i = 0; i < n; i++) {
		lk_m_labels(l, sizeof(l), "prog", rows[i].name, NULL);
		lk_m_u64(w, l, rows[i].cnt);
	}
	lk_m_family(w, "latkit_bpf_prog_missed_runs", LK_MT_COUNTER, NULL,
		    "Runs the kernel skipped: the program's hook fired on a CPU where it was already running.");
	for (i = 0; i < n; i++) {
		lk_m_labels(l, sizeof(l), "prog", rows[i].name, NULL);
		lk_m_u64(w, l, rows[i].missed);
	}
}

void lk_m_map_entries(struct lk_mw *w, const char *map, uint64_t used, uint64_t max)
{
	char l[96];

	lk_m_labels(l, sizeof(l), "map", map, NULL);
	lk_m_family(w, "latkit_bpf_map_entries", LK_MT_GAUGE, NULL,
		    "Entries in use in a BPF map of the tool.");
	lk_m_u64(w, l, used);
	lk_m_family(w, "latkit_bpf_map_max_entries", LK_MT_GAUGE, NULL,
		    "Capacity of a BPF map of the tool.");
	lk_m_u64(w, l, max);
}

bool lk_metrics_on(void)
{
	return lk_opts.listen || lk_opts.textfile;
}

int lk_metrics_prepare(void)
{
	if (!lk_opts.listen && lk_opts.web_config) {
		lk_err("--web-config needs --listen");
		return -1;
	}
	if (!lk_opts.listen)
		return 0;
	return lk_httpd_prepare(lk_opts.listen, lk_opts.web_config);
}

/* Make a snapshot (main loop).  Returns 0 when one was made. */
static int render(void)
{
	struct lk_mw w = {};
	int i, err = -1;

	for (i = 0; i < NFMT; i++) {
		w.f[i] = open_memstream(&w.buf[i], &w.len[i]);
		if (!w.f[i])
			goto out;
	}
	if (m.fn(m.ctx, &w))
		goto out;
	fputs("# EOF\n", w.f[OM]);
	for (i = 0; i < NFMT; i++) {
		if (fclose(w.f[i]))
			goto out;
		w.f[i] = NULL;
	}
	pthread_mutex_lock(&m.mu);
	for (i = 0; i < NFMT; i++) {
		free(m.text[i]);
		m.text[i] = w.buf[i];
		m.len[i] = w.len[i];
		w.buf[i] = NULL;
	}
	m.made_ns = lk_now_ns();
	pthread_mutex_unlock(&m.mu);
	err = 0;
out:
	for (i = 0; i < NFMT; i++) {
		if (w.f[i])
			fclose(w.f[i]);
		free(w.buf[i]);
	}
	return err;
}

/* PATH.tmp, then renamed over PATH: readers see a whole file or the last one. */
static void write_textfile(void)
{
	char tmp[4096];
	FILE *f;
	int ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp", lk_opts.textfile);
	f = fopen(tmp, "w");
	if (!f) {
		lk_err("cannot write %s: %s", tmp, strerror(errno));
		return;
	}
	pthread_mutex_lock(&m.mu);
	ok = m.text[PROM] && fwrite(m.text[PROM], 1, m.len[PROM], f) == m.len[PROM];
	pthread_mutex_unlock(&m.mu);
	ok = !fflush(f) && !fsync(fileno(f)) && ok;
	if (fclose(f) || !ok || rename(tmp, lk_opts.textfile)) {
		lk_err("cannot write %s: %s", lk_opts.textfile, strerror(errno));
		unlink(tmp);
	}
}

static unsigned long long textfile_period(void)
{
	return lk_opts.interval > 0 ? lk_opts.interval * 1e9 : TEXTFILE_NS;
}

/* Every pass of the main loop: a snapshot when a scrape or the textfile wants one. */
static void tick(void)
{
	unsigned long long now = lk_now_ns(), want;
	bool textfile = lk_opts.textfile && now >= m.textfile_next;

	pthread_mutex_lock(&m.mu);
	want = m.want;
	pthread_mutex_unlock(&m.mu);
	if (want == m.done && !textfile)
		return;
	if (render())
		lk_err("making the metrics snapshot failed");
	pthread_mutex_lock(&m.mu);
	m.done = want;
	pthread_cond_broadcast(&m.cv);
	pthread_mutex_unlock(&m.mu);
	if (textfile) {
		write_textfile();
		m.textfile_next = now + textfile_period();
	}
}

char *lk_metrics_fetch(bool openmetrics, size_t *len)
{
	int f = openmetrics ? OM : PROM;
	unsigned long long target;
	struct timespec until;
	char *out = NULL;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_NS / 1000000000;
	pthread_mutex_lock(&m.mu);
	if (!m.text[f] || lk_now_ns() - m.made_ns > FRESH_NS) {
		target = ++m.want;
		while (m.done < target && !m.stopping &&
		       pthread_cond_timedwait(&m.cv, &m.mu, &until) != ETIMEDOUT)
			;
	}
	if (m.text[f]) {
		out = malloc(m.len[f] ? m.len[f] : 1);
		if (out) {
			memcpy(out, m.text[f], m.len[f]);
			*len = m.len[f];
		}
	}
	pthread_mutex_unlock(&m.mu);
	return out;
}

int lk_metrics_start(lk_metrics_fn fn, void *ctx)
{
	if (!lk_metrics_on())
		return 0;
	m.fn = fn;
	m.ctx = ctx;
	if (render()) {
		lk_err("making the metrics snapshot failed");
		return -1;
	}
	m.textfile_next = lk_now_ns();
	lk_loop_tick = tick;
	m.started = true;
	if (lk_opts.listen && lk_httpd_start())
		return -1;
	return 0;
}

void lk_metrics_stop(void)
{
	if (!m.started)
		return;
	m.started = false;
	lk_loop_tick = NULL;
	if (lk_opts.textfile && !render())
		write_textfile();
	pthread_mutex_lock(&m.mu);
	m.stopping = true;
	pthread_cond_broadcast(&m.cv);
	pthread_mutex_unlock(&m.mu);
	lk_httpd_stop();
}
