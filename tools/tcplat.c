// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * tcplat: TCP request latency and request throughput of any process,
 * measured from outside it at the socket layer: a request/response
 * exchange is a change of direction on a socket.
 */
#include <argp.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "latkit.h"
#include "tc.h"
#include "tcplat.h"
#include "tcplat.skel.h"
#include "tcplat/metrics.h"
#include "tcplat/payload.h"

static const char doc[] =
"TCP request latency and throughput of any process, from the kernel:\n"
"requests, requests/s, bytes in and out, mean, p50/p90/p99/p99.9 and max\n"
"latency, per connection (-F) or per process (-P).\n"
"\n"
"USAGE: tcplat [OPTIONS] [interval [count]]\n"
"\v"
"EXAMPLES:\n"
"    tcplat -p 181                   # until Ctrl-C or until 181 exits\n"
"    tcplat -p 181 -i 1 -H           # every second, with a histogram\n"
"    tcplat -c nginx --role server --lport 80 -F   # per connection\n"
"    tcplat -c nginx --from-read     # server time from the first read\n"
"    tcplat -P 5 1                   # per process, one 5 s report\n"
"    tcplat --netns lab-client -c tcpreq --role client -H -j\n"
"    tcplat -p 181 --events --min-us 10000   # requests slower than 10 ms\n"
"    tcplat -c redis-server --proto redis     # per command, pipelined too\n"
"    tcplat -c nginx --proto http --http-path-depth 1 -P\n";

enum {
	OPT_ROLE = 0x2001,
	OPT_FROM_READ,
	OPT_SYSCALL_ENTRY,
	OPT_PROTO,
	OPT_PATH_DEPTH,
	OPT_PROTO_BYTES,
};

static struct {
	int role;		/* enum tl_role; UNKNOWN: auto */
	bool from_read;
	bool syscall_entry;
	unsigned int protos;	/* --proto: LP_BIT()s; 0: without */
	long path_depth;
	long proto_bytes;
} env = { .proto_bytes = TL_CAP_DEFAULT };

static const struct argp_option options[] = {
	{ "role", OPT_ROLE, "ROLE", 0,
	  "server, client or auto (default: accepted sockets serve, connected ones are clients)", 0 },
	{ "from-read", OPT_FROM_READ, NULL, 0,
	  "Server requests start at the first read, not at the data's arrival", 0 },
	{ "syscall-entry", OPT_SYSCALL_ENTRY, NULL, 0,
	  "Client requests start at the send syscall's entry (every syscall on the host then costs more)", 0 },
	{ "proto", OPT_PROTO, "PROTO", 0,
	  "Frame requests as redis, http, memcache or auto (reads the first bytes of each read and write)", 0 },
	{ "http-path-depth", OPT_PATH_DEPTH, "N", 0,
	  "--proto http: rows per the first N path segments too", 0 },
	{ "proto-bytes", OPT_PROTO_BYTES, "N", 0,
	  "--proto: copy the first N bytes of each read and write (64 to 16384, default 16384)", 0 },
	{},
};

static const struct lk_opt_doc docs[] = {
	{ "per-flow", "One row per connection (4-tuple, PID, role)" },
	{ "hist", "Log2 latency histogram of the total" },
	{ "top", "Show the N busiest rows only (default: all)" },
	{ "events", "Also print one line per request (with --min-us)" },
	{ "min-us", "--events: only requests of at least US microseconds" },
	{ NULL },
};

static int parse_role(const char *s)
{
	if (!strcmp(s, "server"))
		return TL_ROLE_SERVER;
	if (!strcmp(s, "client"))
		return TL_ROLE_CLIENT;
	if (!strcmp(s, "auto"))
		return TL_ROLE_UNKNOWN;
	return -1;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_ROLE:
		env.role = parse_role(arg);
		if (env.role < 0)
			argp_error(state, "invalid --role '%s' (server, client or auto)", arg);
		break;
	case OPT_FROM_READ:
		env.from_read = true;
		break;
	case OPT_SYSCALL_ENTRY:
		env.syscall_entry = true;
		break;
	case OPT_PROTO:
		env.protos = lp_protos_parse(arg);
		if (!env.protos)
			argp_error(state, "invalid --proto '%s' (redis, http, memcache or auto)", arg);
		break;
	case OPT_PATH_DEPTH:
		if (lk_parse_long(arg, 0, 8, &env.path_depth))
			argp_error(state, "invalid --http-path-depth '%s' (0 to 8)", arg);
		break;
	case OPT_PROTO_BYTES:
		if (lk_parse_long(arg, 64, TL_CAP, &env.proto_bytes))
			argp_error(state, "invalid --proto-bytes '%s' (64 to %d)", arg, TL_CAP);
		break;
	case ARGP_KEY_END:
		if (lk_opts.per_flow && lk_opts.per_proc)
			argp_error(state, "-F and -P exclude each other");
		if (env.protos && lk_opts.per_flow)
			argp_error(state, "--proto has rows per operation: not with -F (-P works)");
		if (env.path_depth && !(env.protos & LP_BIT(LP_HTTP)))
			argp_error(state, "--http-path-depth needs --proto http or auto");
		if (env.protos && lk_opts.metrics_pids)
			argp_error(state, "--proto's series are per operation: not with --metrics-pids");
		if (env.syscall_entry && env.role == TL_ROLE_SERVER)
			argp_error(state, "--syscall-entry sets the client clock: not with --role server");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const char *role_name(int role)
{
	switch (role) {
	case TL_ROLE_SERVER: return "server";
	case TL_ROLE_CLIENT: return "client";
	default: return "unknown";
	}
}

/* A row of the -F or -P table, or the total. */
struct row {
	struct tl_flow_key fkey;	/* -F */
	unsigned int tgid;		/* -P */
	struct tl_flow f;		/* stats; addresses, role, comm with -F */
	const struct tp_row *op;	/* --proto: the operation */
	struct lk_dist d;
};

struct ctx {
	struct tcplat_bpf *skel;
	bool double_buffer;
	bool sk_storage;		/* socket state in sk_socks */
	bool map_iter;			/* the pending iterator walks sk_socks */
	bool owner_marks;		/* state only for the traced processes' sockets */
	unsigned long long last_ns;	/* previous report (or attach) */
	struct row total;
	struct row *rows;
	size_t nrows;
	size_t cap;
	uint64_t drops_seen[TL_DROP_MAX];
	uint64_t missed_seen;		/* program runs the kernel skipped */
	uint64_t stateless_seen;	/* sockets met without state */
	struct tp_counts pc;		/* --proto: since the previous report */
	struct ring_buffer *rb;
	struct tl_pending *pend;	/* final report: responses taken open */
	size_t npend;
	size_t pend_cap;
};

static void add_stats(struct tl_stats *out, const struct tl_stats *s)
{
	unsigned int b;

	out->requests += s->requests;
	out->bytes_in += s->bytes_in;
	out->bytes_out += s->bytes_out;
	out->sum_ns += s->sum_ns;
	out->incomplete += s->incomplete;
	if (s->max_ns > out->max_ns)
		out->max_ns = s->max_ns;
	if (s->min_ns && (!out->min_ns || s->min_ns < out->min_ns))
		out->min_ns = s->min_ns;
	for (b = 0; b < TL_BUCKETS; b++)
		out->hist[b] += s->hist[b];
}

/* Sum the per-CPU copies of a value that starts with a struct tl_stats. */
static void sum_percpu(struct tl_stats *out, const void *percpu, size_t val_size)
{
	size_t stride = lk_percpu_stride(val_size);
	int i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < lk_ncpus(); i++)
		add_stats(out, (const void *)((const char *)percpu + i * stride));
}

static struct row *new_row(struct ctx *c)
{
	return lk_array_add((void **)&c->rows, &c->nrows, &c->cap, sizeof(struct row), 64);
}

static int read_total(struct ctx *c, unsigned int g)
{
	size_t size = lk_percpu_stride(sizeof(struct tl_stats)) * lk_ncpus();
	int fd = bpf_map__fd(c->skel->maps.stats);
	void *buf = calloc(1, size);
	int err = 0;

	if (!buf)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &g, buf)) {
		err = -errno;
		goto out;
	}
	sum_percpu(&c->total.f.s, buf, sizeof(struct tl_stats));
	if (c->double_buffer) {
		memset(buf, 0, size);
		if (bpf_map_update_elem(fd, &g, buf, BPF_ANY))
			err = -errno;
	}
out:
	free(buf);
	return err;
}

static int take_flow(const void *key, const void *val, void *p)
{
	struct ctx *c = p;
	struct row *r = new_row(c);

	if (!r)
		return -ENOMEM;
	memcpy(&r->f, val, sizeof(r->f));
	memcpy(&r->fkey, key, sizeof(r->fkey));
	return 0;
}

static int read_flows(struct ctx *c, unsigned int g)
{
	struct bpf_map *m = c->skel->maps.flows;
	struct lk_gen gen = { offsetof(struct tl_flow_key, gen), 4, g };

	return lk_map_foreach(bpf_map__fd(m), sizeof(struct tl_flow_key), sizeof(struct tl_flow),
			      false, bpf_map__max_entries(m), &gen, take_flow, c);
}

/* The name is set on the CPU that made the row: take any copy that has one. */
static void proc_comm(char *comm, const char *percpu, size_t stride)
{
	const struct tl_proc *p;
	int i;

	strcpy(comm, "?");
	for (i = 0; i < lk_ncpus(); i++) {
		p = (const void *)(percpu + i * stride);
		if (p->comm[0]) {
			memcpy(comm, p->comm, sizeof(p->comm));
			comm[15] = 0;
			return;
		}
	}
}

static int take_proc(const void *key, const void *val, void *p)
{
	const struct tl_proc_key *k = key;
	struct ctx *c = p;
	struct row *r = new_row(c);

	if (!r)
		return -ENOMEM;
	sum_percpu(&r->f.s, val, sizeof(struct tl_proc));
	proc_comm(r->f.comm, val, lk_percpu_stride(sizeof(struct tl_proc)));
	r->tgid = k->tgid;
	return 0;
}

static int read_procs(struct ctx *c, unsigned int g)
{
	struct bpf_map *m = c->skel->maps.procs;
	struct lk_gen gen = { offsetof(struct tl_proc_key, gen), 4, g };

	return lk_map_foreach(bpf_map__fd(m), sizeof(struct tl_proc_key), sizeof(struct tl_proc),
			      true, bpf_map__max_entries(m), &gen, take_proc, c);
}

static struct row *row_of(struct ctx *c, __u64 sk, const struct tl_sock *st)
{
	unsigned int i;

	for (i = 0; i < c->nrows; i++) {
		struct row *r = &c->rows[i];

		if (lk_opts.per_flow && r->fkey.sk == sk && r->fkey.born_ns == st->born_ns)
			return r;
		if (lk_opts.per_proc && r->tgid == st->tgid)
			return r;
	}
	return NULL;
}

static void pend(struct ctx *c, __u64 sk, const struct tl_sock *st)
{
	struct row *r;

	if (st->wanted != TL_WANTED || st->phase != TL_RESP)
		return;
	tl_add_latency(&c->total.f.s, st->last_send_ns - st->start_ns);
	r = row_of(c, sk, st);
	if (r)
		tl_add_latency(&r->f.s, st->last_send_ns - st->start_ns);
}

/* Kept until the maps are read: they add to rows read from there. */
static void pend_rec(const void *rec, void *ctx)
{
	struct ctx *c = ctx;
	struct tl_pending *p;

	p = lk_array_add((void **)&c->pend, &c->npend, &c->pend_cap, sizeof(*p), 64);
	if (p)
		*p = *(const struct tl_pending *)rec;
	else
		lk_err("out of memory: a response still open is not counted");
}

/*
 * Socket storage: the kernel walks it for us, the storage map (every
 * namespace at once) or each namespace's TCP sockets.
 */
static int pending_in_storage(struct ctx *c)
{
	union bpf_iter_link_info info = { .map.map_fd = bpf_map__fd(c->skel->maps.sk_socks) };
	LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &info,
		    .link_info_len = sizeof(info));
	const struct lk_iter_out out = { sizeof(struct tl_pending), pend_rec, c };
	struct bpf_link *link;
	int err;

	/* Either way, a failure is said once, in lk_iter_netns()'s words. */
	if (!c->map_iter)
		return lk_iter_netns(c->skel->progs.pending_tcp, "find the responses still open",
				     &out);
	link = bpf_program__attach_iter(c->skel->progs.pending, &opts);
	err = link ? lk_iter_read(link, &out) : -errno;
	bpf_link__destroy(link);
	if (err)
		lk_err_bpf("find the responses still open", err);
	return err;
}

/*
 * LRU hash: each open response's entry is taken out of the map (looked
 * up and deleted at once), so that a close after this finds nothing.
 */
static int take_from_hash(const void *key, const void *val, void *ctx)
{
	struct ctx *c = ctx;
	struct tl_pending p = { .sk = *(const __u64 *)key };
	const struct tl_sock *st = val;

	if (st->phase == TL_RESP &&
	    !bpf_map_lookup_and_delete_elem(bpf_map__fd(c->skel->maps.socks), key, &p.st))
		pend_rec(&p, c);
	return 0;
}

/*
 * Tests only: between taking the open responses and reading the maps,
 * wait (60 s at most) until the file LK_TEST_FINAL_WAIT names exists,
 * so that a test can close connections in between.
 */
static void test_final_wait(void)
{
	const char *path = getenv("LK_TEST_FINAL_WAIT");
	int i;

	if (!path || !*path)
		return;
	lk_info("final report: waiting for %s (LK_TEST_FINAL_WAIT)", path);
	for (i = 0; i < 6000 && access(path, F_OK); i++)
		usleep(10000);
}

/*
 * Final report: a server whose last response is sent but whose
 * connection is still open would count it at its next read or close,
 * which will not come while we watch.  Count it here, once: the
 * programs stop following reads and writes, the walk takes each such
 * response from its socket (a close after that finds it idle), and only
 * then are the maps read (a close before it has counted there).
 */
static int take_pending(struct ctx *c)
{
	int err;

	lk_bss_set(&c->skel->bss->ending, 1);
	c->npend = 0;
	if (c->sk_storage) {
		err = pending_in_storage(c);	/* it says why it failed */
	} else {
		err = lk_map_foreach(bpf_map__fd(c->skel->maps.socks), sizeof(__u64),
				     sizeof(struct tl_sock), false, TL_MAX_SOCKS, NULL,
				     take_from_hash, c);
		if (err)
			lk_err("finding the responses still open failed: %s", strerror(-err));
	}
	if (!err)
		test_final_wait();
	return err;
}

/*
 * --proto: the rows the framers filled since the previous report, after
 * the records already queued in the ring.
 */
static int collect_proto(struct ctx *c, bool final)
{
	struct tp_row *pr;
	unsigned int n, i;
	struct row *r;

	if (!final && c->rb)
		ring_buffer__consume(c->rb);
	tp_take(final, &pr, &n, &c->pc);
	for (i = 0; i < n; i++) {
		r = new_row(c);
		if (!r)
			return -ENOMEM;
		r->op = &pr[i];
		r->f.s = pr[i].s;
		r->tgid = pr[i].k.tgid;
		r->f.role = pr[i].k.role;
		memcpy(r->f.comm, pr[i].comm, sizeof(r->f.comm));
		add_stats(&c->total.f.s, &pr[i].s);
	}
	return 0;
}

static void summarize(struct row *r)
{
	const struct tl_stats *s = &r->f.s;

	memset(&r->d, 0, sizeof(r->d));
	r->d.min = s->min_ns;
	r->d.max = s->max_ns;
	r->d.sum = s->sum_ns;
	lh_summarize((const uint64_t *)s->hist, TL_BUCKETS, TL_SUB_BITS, &r->d, true);
}

static int cmp_rows(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->f.s.requests != y->f.s.requests)
		return x->f.s.requests < y->f.s.requests ? 1 : -1;
	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	return x->f.ends.lport - y->f.ends.lport;
}

/*
 * Read one generation.  With interval reports, switch the programs to
 * the other generation first and give those already running a moment
 * to finish, so nothing lands in what we clear.
 */
static int collect(struct ctx *c, bool final)
{
	unsigned int g, i;
	int err;

	c->nrows = 0;
	memset(&c->total, 0, sizeof(c->total));
	if (env.protos) {
		err = collect_proto(c, final);
		goto done;
	}
	/* take_pending() says why it failed. */
	if (final && take_pending(c))
		return -1;
	g = c->double_buffer && !final ? lk_gen_flip(&c->skel->bss->gen) : c->skel->bss->gen;
	err = read_total(c, g);
	if (!err && lk_opts.per_flow)
		err = read_flows(c, g);
	if (!err && lk_opts.per_proc)
		err = read_procs(c, g);
	if (err) {
		lk_err("reading BPF maps failed: %s", strerror(-err));
		return err;
	}
	for (i = 0; final && i < c->npend; i++)
		pend(c, c->pend[i].sk, &c->pend[i].st);
done:
	if (err) {
		lk_err("collecting the requests failed: %s", strerror(-err));
		return err;
	}
	for (i = 0; i < c->nrows; i++)
		summarize(&c->rows[i]);
	summarize(&c->total);
	qsort(c->rows, c->nrows, sizeof(*c->rows), cmp_rows);
	return 0;
}

static const char *unit(void)
{
	return lk_opts.ms ? "ms" : "us";
}

static void print_header(void)
{
	static const char *const lat[] = { "MEAN", "P50", "P90", "P99", "P99.9", "MAX" };
	char name[16];
	unsigned int i;

	if (lk_out_json())
		return;
	if (lk_opts.per_flow) {
		lk_print_flow_header();
		lk_printf("%-7s %-15s %-7s ", "PID", "COMM", "ROLE");
	} else if (lk_opts.per_proc)
		lk_printf("%-7s %-15s ", "PID", "COMM");
	if (env.protos)
		lk_printf("%-7s %-8s %-24s %-6s ", "ROLE", "PROTO", "OP", "STATUS");
	lk_printf("%9s %9s %11s %11s", "REQS", "RPS", "BYTES_IN", "BYTES_OUT");
	for (i = 0; i < sizeof(lat) / sizeof(lat[0]); i++) {
		snprintf(name, sizeof(name), "%s_%s", lat[i], unit());
		lk_printf(" %9s", name);
	}
	lk_printf("\n");
}

/* Latency in the JSON unit (µs) and, with @text, the text unit (-m: ms). */
static void print_lat_in(const char *key, double ns, bool have, bool text)
{
	double div = lk_opts.ms ? 1e6 : 1e3;

	if (!have) {
		lk_print_null(LK_JSON, key, NULL);
		if (text)
			lk_printf(" %9s", "-");
		return;
	}
	lk_print_float(LK_JSON, key, NULL, ns / 1e3);
	if (text)
		lk_printf(" %9.*f", lk_opts.ms ? 3 : 1, ns / div);
}

static void print_lat(const char *key, double ns, bool have)
{
	print_lat_in(key, ns, have, true);
}

static void print_stats(const struct row *r, double secs)
{
	const struct tl_stats *s = &r->f.s;
	bool have = s->requests > 0;

	lk_print_u64(LK_ANY, "requests", "%9" PRIu64, s->requests);
	lk_print_float(LK_ANY, "rps", " %9.1f", secs > 0 ? s->requests / secs : 0);
	lk_print_u64(LK_ANY, "bytes_in", " %11" PRIu64, s->bytes_in);
	lk_print_u64(LK_ANY, "bytes_out", " %11" PRIu64, s->bytes_out);
	print_lat("mean_us", r->d.mean, have);
	print_lat("p50_us", r->d.p50, have);
	print_lat("p90_us", r->d.p90, have);
	print_lat("p99_us", r->d.p99, have);
	print_lat("p999_us", r->d.p999, have);
	print_lat("max_us", s->max_ns, have);
	print_lat_in("min_us", s->min_ns, have, false);
	lk_print_u64(LK_JSON, "incomplete", NULL, s->incomplete);
}

static void print_role(int role, bool guessed)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%s%s", role_name(role), guessed ? "?" : "");
	lk_printf("%-7s ", buf);
	lk_print_str(LK_JSON, "role", NULL, role_name(role));
	lk_print_bool(LK_JSON, "role_guessed", NULL, guessed);
}

/* --proto: what a row is per. */
static void print_op(const struct tp_row *p)
{
	const struct tp_key *k = &p->k;
	char op[LP_OP_LEN + LP_PATH_LEN + 1], status[8];

	if (k->status)
		snprintf(status, sizeof(status), "%uxx", k->status);
	else
		snprintf(status, sizeof(status), "%s", k->error ? "error" : "ok");
	snprintf(op, sizeof(op), "%s%s%s", k->op[0] ? k->op : "-", k->path[0] ? " " : "", k->path);
	print_role(k->role, false);
	lk_print_str(LK_ANY, "proto", "%-8s ", lp_proto_name(k->proto));
	lk_print_str(LK_JSON, "op", NULL, k->op);
	if (k->path[0])
		lk_print_str(LK_JSON, "path", NULL, k->path);
	lk_printf("%-24s ", op);
	lk_print_str(LK_ANY, "status", "%-6s ", status);
	lk_print_bool(LK_JSON, "error", NULL, k->error);
	lk_print_u64(LK_JSON, "noreply", NULL, p->noreply);
}

static void print_row(const struct row *r, double secs)
{
	lk_open_row(env.protos ? "operation" : lk_opts.per_flow ? "flow" : "process");
	if (lk_opts.per_flow) {
		lk_print_flow(&r->f.ends);
		lk_print_owner(r->f.tgid, r->f.comm);
		print_role(r->f.role, r->f.guessed);
	} else if (lk_opts.per_proc) {
		lk_print_owner(r->tgid, r->f.comm);
	}
	if (r->op)
		print_op(r->op);
	print_stats(r, secs);
	lk_print_nl();
	lk_close_record();
}

/* -H: fold the log-linear ns buckets into log2 slots of the text unit. */
static void print_hist(const struct tl_stats *s)
{
	double div = lk_opts.ms ? 1e6 : 1e3;
	uint64_t log2[64] = {};
	unsigned int b;

	for (b = 0; b < TL_BUCKETS; b++) {
		unsigned long long mid;

		if (!s->hist[b])
			continue;
		mid = (lh_lower(b, TL_SUB_BITS) + lh_upper(b, TL_SUB_BITS)) / 2;
		log2[lh_log2_slot(mid / div)] += s->hist[b];
	}
	lk_print_log2_hist(log2, 64, lk_opts.ms ? "msecs" : "usecs");
}

static void print_drops(struct ctx *c)
{
	static const char *const names[TL_DROP_MAX] = {
		"drops_sock", "drops_flow", "drops_process", "drops_events", "drops_inflight",
		"drops_entry", "drops_payload", "drops_arrival",
	};
	uint64_t d[TL_DROP_MAX], sum = 0, missed = lk_prog_missed(c->skel->obj, NULL), n;
	int i;

	for (i = 0; i < TL_DROP_MAX; i++) {
		d[i] = c->skel->bss->drops[i] - c->drops_seen[i];
		c->drops_seen[i] = c->skel->bss->drops[i];
		sum += d[i];
	}
	lk_print_u64(LK_JSON, "drops", NULL, sum);
	for (i = 0; i < TL_DROP_MAX; i++)
		lk_print_u64(LK_JSON, names[i], NULL, d[i]);
	/* A state change or close the kernel did not run us for is lost. */
	lk_print_u64(LK_JSON, "missed", NULL, missed - c->missed_seen);
	if (missed != c->missed_seen)
		lk_printf("program runs the kernel skipped (a hook inside the same program): %" PRIu64 "\n",
			  missed - c->missed_seen);
	c->missed_seen = missed;
	/* In the LRU hash, a socket without state may have been pushed out. */
	n = c->skel->bss->stateless - c->stateless_seen;
	c->stateless_seen = c->skel->bss->stateless;
	lk_print_u64(LK_JSON, "stateless_sockets", NULL, n);
	if (n && !c->sk_storage)
		lk_printf("sockets met without state: %" PRIu64 " (older than tcplat, or pushed out of the LRU hash of %d sockets, losing the request they were in)\n",
			  n, TL_MAX_SOCKS);
	if (sum)
		lk_printf("dropped (not recorded): sockets %" PRIu64 ", flows %" PRIu64
			  ", processes %" PRIu64 ", events %" PRIu64 ", in-flight %" PRIu64
			  ", send entries %" PRIu64 ", payload records %" PRIu64
			  ", arrival marks merged %" PRIu64 "\n",
			  d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]);
}

/* --proto: connections by protocol, and what could not be framed. */
static void print_proto_counts(const struct tp_counts *pc)
{
	uint64_t lost = 0;
	int i;

	lk_open_object("connections");
	for (i = LP_REDIS; i < LP_NPROTO; i++)
		lk_print_u64(LK_JSON, lp_proto_name(i), NULL, pc->conns[i]);
	lk_close_object();
	lk_open_object("framing_lost");
	for (i = 0; i < LP_LOST_MAX; i++) {
		lk_print_u64(LK_JSON, lp_lost_name(i), NULL, pc->lp.lost[i]);
		lost += pc->lp.lost[i];
	}
	lk_close_object();
	lk_print_u64(LK_JSON, "lost_requests", NULL, pc->lp.lost_requests);
	lk_print_u64(LK_JSON, "unparsed_bytes", NULL, pc->lp.unparsed_bytes);
	lk_print_u64(LK_JSON, "lost_records", NULL, pc->lost_records);
	lk_print_u64(LK_JSON, "drops_conns", NULL, pc->drop_conns);
	lk_print_u64(LK_JSON, "drops_rows", NULL, pc->drop_rows);
	if (lk_out_json())
		return;
	lk_printf("connections:");
	for (i = LP_REDIS; i < LP_NPROTO; i++)
		lk_printf(" %s %" PRIu64 "%s", lp_proto_name(i), (uint64_t)pc->conns[i],
			  i + 1 < LP_NPROTO ? "," : "");
	if (lost) {
		lk_printf("; framing lost:");
		for (i = 0; i < LP_LOST_MAX; i++)
			if (pc->lp.lost[i])
				lk_printf(" %s %" PRIu64, lp_lost_name(i), (uint64_t)pc->lp.lost[i]);
	}
	if (pc->lp.lost_requests)
		lk_printf("; requests lost with the framing %" PRIu64,
			  (uint64_t)pc->lp.lost_requests);
	if (pc->lp.unparsed_bytes)
		lk_printf("; bytes unparsed %" PRIu64, (uint64_t)pc->lp.unparsed_bytes);
	if (pc->lost_records)
		lk_printf("; connections that lost a record %" PRIu64, (uint64_t)pc->lost_records);
	if (pc->drop_conns)
		lk_printf("; reads and writes not framed (connection table full) %" PRIu64,
			  (uint64_t)pc->drop_conns);
	if (pc->drop_rows)
		lk_printf("; requests in the row \"other\" %" PRIu64, (uint64_t)pc->drop_rows);
	lk_printf("\n");
}

static void print_total(struct ctx *c, bool final, double secs)
{
	lk_open_report(final);
	if (lk_opts.per_flow)
		lk_printf("%-*s ", 2 * (LK_FLOW_W + 1) + 7 + 1 + 15 + 1 + 7, "TOTAL");
	else if (lk_opts.per_proc || env.protos)
		lk_printf("%-*s ", (lk_opts.per_proc ? 24 : 0) + (env.protos ? 49 : 0) - 1, "TOTAL");
	print_stats(&c->total, secs);
	lk_print_float(LK_JSON, "interval_s", NULL, secs);
	lk_print_u64(LK_JSON, "rows", NULL, c->nrows);
	lk_print_nl();
	if (lk_opts.hist) {
		if (!lk_out_json())
			lk_printf("\n");
		print_hist(&c->total.f.s);
	}
	if (env.protos)
		print_proto_counts(&c->pc);
	print_drops(c);
	lk_close_report(final);
}

static int report(void *p, bool final)
{
	struct ctx *c = p;
	unsigned long long now = lk_now_ns();
	double secs = (now - c->last_ns) / 1e9;
	size_t i, n;

	if (collect(c, final))
		return -1;
	c->last_ns = now;
	lk_report_time();
	print_header();
	n = lk_top_rows(c->nrows);
	for (i = 0; i < n; i++)
		print_row(&c->rows[i], secs);
	print_total(c, final, secs);
	return 0;
}

/* An event's record, up to its latency: who, which role, which connection. */
static void event_head(unsigned int tgid, const char *comm, int role, bool guessed,
		       const struct lk_flow *ends)
{
	lk_open_event();
	lk_print_owner(tgid, comm);
	print_role(role, guessed);
	lk_print_flow(ends);
}

static int handle_event(void *ctx, void *data, size_t len)
{
	const struct tl_event *e = data;

	event_head(e->tgid, e->comm, e->role, e->guessed, &e->ends);
	print_lat("lat_us", e->lat_ns, true);
	lk_printf(" %s", unit());
	lk_print_u64(LK_ANY, "req_bytes_in", "  in %" PRIu64, e->req_in);
	lk_print_u64(LK_ANY, "req_bytes_out", " out %" PRIu64, e->req_out);
	lk_print_u64(LK_JSON, "start_ns", NULL, e->start_ns);
	lk_print_nl();
	lk_close_record();
	return 0;
}

/* --proto --events: one request, framed. */
static void proto_event(void *ctx, const struct tp_event *e)
{
	const struct lp_req *q = e->r;

	event_head(e->tgid, e->comm, q->role == LP_CLIENT ? TL_ROLE_CLIENT : TL_ROLE_SERVER,
		   e->guessed, e->ends);
	lk_print_str(LK_ANY, "proto", "%s ", lp_proto_name(q->proto));
	lk_print_str(LK_ANY, "op", "%s ", q->op[0] ? q->op : "-");
	if (q->path[0])
		lk_print_str(LK_ANY, "path", "%s ", q->path);
	if (q->status)
		lk_print_u64(LK_ANY, "status", "%" PRIu64 " ", q->status);
	lk_print_bool(LK_ANY, "error", NULL, q->error);
	if (q->error)
		lk_printf("error ");
	print_lat("lat_us", q->end_ns - q->start_ns, true);
	lk_printf(" %s", unit());
	lk_print_u64(LK_ANY, "req_bytes", "  req %" PRIu64, q->req_bytes);
	lk_print_u64(LK_ANY, "resp_bytes", " resp %" PRIu64, q->resp_bytes);
	lk_print_u64(LK_JSON, "start_ns", NULL, q->start_ns);
	lk_print_nl();
	lk_close_record();
}

/* The kernel's ephemeral port range, for guessing roles of old sockets. */
static void read_port_range(struct tcplat_bpf *skel)
{
	unsigned int lo, hi;
	int saved = -1;
	FILE *f;

	if (lk_opts.netns) {
		saved = lk_netns_enter(lk_opts.netns_path);
		if (saved < 0)
			return;
	}
	f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	if (f && fscanf(f, "%u %u", &lo, &hi) == 2 && lo <= hi && hi < 65536) {
		skel->rodata->eph_lo = lo;
		skel->rodata->eph_hi = hi;
	}
	if (f)
		fclose(f);
	if (lk_netns_leave(saved))
		lk_die("cannot return to the original network namespace");
}

/* fexit/kprobe on tcp_recvmsg assume the 5.19+ list (sk, msg, len, flags, addr_len). */
static bool recvmsg_fits(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *t;
	bool ok = false;
	int id;

	if (!btf)
		return false;
	id = btf__find_by_name_kind(btf, "tcp_recvmsg", BTF_KIND_FUNC);
	if (id > 0) {
		t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
		ok = t && btf_is_func_proto(t) && btf_vlen(t) == 5;
	}
	btf__free(btf);
	return ok;
}

/*
 * tcplat's hooks, one program per method (a kprobe and its kretprobe
 * for a return).  H_ENTRY is a send's entry into TCP
 * (tcp:tcp_sendmsg_locked, else tcp_sendmsg()): where a client request
 * starts, and for a server the sign that a write is under way should
 * the connection end during it.  H_START_* are --syscall-entry: the
 * syscalls that send (send() is sendto() in the kernel); their entry
 * starts a client request.  H_READY, else H_PROBE, is a server
 * request's arrival.
 */
enum {
	H_SEND, H_RECV, H_STATE, H_DESTROY, H_ENTRY, H_READY, H_PROBE,
	H_START_WRITE, H_START_WRITEV, H_START_SENDTO, H_START_SENDMSG, H_START_SENDMMSG,
	H_NR
};
#define H_START		H_START_WRITE
#define H_SOCKETS	H_START		/* the hooks before it get sockets */

static struct lk_hook_sel hooks[H_NR] = {
	[H_SEND] = { .hook = { "sock", "sock_send_length", "tcp_sendmsg" },
		.required = true, .need = "sock:sock_send_length and tcp_sendmsg()",
		.prog = { [LK_M_TP_BTF] = { "send_btf" }, [LK_M_RAW_TP] = { "send_raw" },
			  [LK_M_FENTRY] = { "send_fexit" },
			  [LK_M_KPROBE] = { "send_kprobe", "send_kretprobe" } } },
	[H_RECV] = { .hook = { "sock", "sock_recv_length", "tcp_recvmsg" },
		.required = true,
		.need = "sock:sock_recv_length and tcp_recvmsg() (5.19+ arguments)",
		.prog = { [LK_M_TP_BTF] = { "recv_btf" }, [LK_M_RAW_TP] = { "recv_raw" },
			  [LK_M_FENTRY] = { "recv_fexit" },
			  [LK_M_KPROBE] = { "recv_kprobe", "recv_kretprobe" } } },
	[H_STATE] = { .hook = { "sock", "inet_sock_set_state", "tcp_set_state" },
		.required = true, .need = "sock:inet_sock_set_state and tcp_set_state()",
		.prog = { [LK_M_TP_BTF] = { "state_btf", "state_btf_twin" },
			  [LK_M_RAW_TP] = { "state_raw", "state_raw_twin" },
			  [LK_M_FENTRY] = { "state_fentry" }, [LK_M_KPROBE] = { "state_kprobe" } } },
	[H_DESTROY] = { .hook = { "tcp", "tcp_destroy_sock" },
		.prog = { [LK_M_TP_BTF] = { "destroy_btf" }, [LK_M_RAW_TP] = { "destroy_raw" } } },
	[H_ENTRY] = { .hook = { "tcp", "tcp_sendmsg_locked", "tcp_sendmsg" },
		.prog = { [LK_M_TP_BTF] = { "entry_btf" }, [LK_M_RAW_TP] = { "entry_raw" },
			  [LK_M_FENTRY] = { "entry_fentry" }, [LK_M_KPROBE] = { "entry_kprobe" } } },
	[H_READY] = { .hook = { "sock", "sk_data_ready" },
		.prog = { [LK_M_TP_BTF] = { "ready_btf" }, [LK_M_RAW_TP] = { "ready_raw" } } },
	[H_PROBE] = { .hook = { "tcp", "tcp_probe" },
		.prog = { [LK_M_TP_BTF] = { "probe_btf" }, [LK_M_RAW_TP] = { "probe_raw" } } },
	[H_START_WRITE] = { .hook = { "syscalls", "sys_enter_write" },
		.prog = { [LK_M_TP] = { "start_write" } } },
	[H_START_WRITEV] = { .hook = { "syscalls", "sys_enter_writev" },
		.prog = { [LK_M_TP] = { "start_writev" } } },
	[H_START_SENDTO] = { .hook = { "syscalls", "sys_enter_sendto" },
		.prog = { [LK_M_TP] = { "start_sendto" } } },
	[H_START_SENDMSG] = { .hook = { "syscalls", "sys_enter_sendmsg" },
		.prog = { [LK_M_TP] = { "start_sendmsg" } } },
	[H_START_SENDMMSG] = { .hook = { "syscalls", "sys_enter_sendmmsg" },
		.prog = { [LK_M_TP] = { "start_sendmmsg" } } },
};

/*
 * The client's clock: the send's entry into TCP, or with --syscall-entry
 * the send syscall's entry; without either, the send's return.
 */
static int choose_client_clock(struct bpf_object *obj)
{
	bool any = false;
	int i;

	for (i = H_START; i < H_NR; i++)
		hooks[i].skip = !env.syscall_entry || env.role == TL_ROLE_SERVER;
	if (lk_hooks_choose(obj, hooks + H_START, H_NR - H_START))
		return -1;
	if (env.role == TL_ROLE_SERVER)
		return 0;
	if (!env.syscall_entry) {
		if (hooks[H_ENTRY].chosen)
			lk_info("client requests start when their first send enters TCP");
		else
			lk_info("client requests start when their first send returns: no tcp:tcp_sendmsg_locked, fentry or kprobe on tcp_sendmsg() (--syscall-entry may help)");
		return 0;
	}
	for (i = H_START; i < H_NR; i++)
		any |= hooks[i].chosen != LK_M_NONE;
	if (!any) {
		lk_err("--syscall-entry: this kernel has no syscalls:sys_enter_* tracepoints (CONFIG_FTRACE_SYSCALLS)");
		return -1;
	}
	lk_info("client requests start at their first send syscall's entry");
	return 0;
}

static int choose_methods(struct bpf_object *obj)
{
	bool no_arrival = env.role == TL_ROLE_CLIENT || env.from_read;

	if (!lk_probe_tp_btf("sock_recv_length") && !recvmsg_fits()) {
		lk_info("tcp_recvmsg has an argument list tcplat does not know");
		hooks[H_RECV].off = LK_M_BIT(LK_M_FENTRY) | LK_M_BIT(LK_M_KPROBE);
	}
	if (lk_hooks_choose(obj, hooks, H_ENTRY + 1) || choose_client_clock(obj))
		return -1;
	hooks[H_READY].skip = no_arrival;
	if (lk_hooks_choose(obj, hooks + H_READY, 1))
		return -1;
	hooks[H_PROBE].skip = no_arrival || hooks[H_READY].chosen;
	if (lk_hooks_choose(obj, hooks + H_PROBE, 1))
		return -1;
	if (!no_arrival && !hooks[H_READY].chosen && !hooks[H_PROBE].chosen) {
		lk_err("warning: no sock:sk_data_ready or tcp:tcp_probe: server requests start at the first read (--from-read)");
		env.from_read = true;
	}
	return 0;
}

static int size_maps(struct tcplat_bpf *skel, bool dbl, bool sk_storage)
{
	unsigned int gens = dbl ? 2 : 1;
	int err = 0;

	err |= bpf_map__set_max_entries(skel->maps.flows,
					lk_opts.per_flow ? TL_MAX_FLOWS * gens : 1);
	err |= bpf_map__set_max_entries(skel->maps.procs,
					lk_opts.per_proc ? TL_MAX_PROCS * gens : 1);
	err |= bpf_map__set_max_entries(skel->maps.socks, sk_storage ? 1 : TL_MAX_SOCKS);
	err |= bpf_map__set_max_entries(skel->maps.lk_seeds, skel->rodata->owner_marks ? LK_MAX_SEEDS : 1);
	if (hooks[H_SEND].chosen == LK_M_KPROBE || hooks[H_RECV].chosen == LK_M_KPROBE)
		err |= bpf_map__set_max_entries(skel->maps.inflight, TL_MAX_INFLIGHT);
	if (lk_opts.events && !env.protos)
		err |= bpf_map__set_max_entries(skel->maps.events, 1 << 22);
	if (env.protos) {
		err |= bpf_map__set_max_entries(skel->maps.scratch, lk_ncpus());
		err |= bpf_map__set_max_entries(skel->maps.payloads, TL_PAYLOAD_RING);
		if (!sk_storage)
			err |= bpf_map__set_max_entries(skel->maps.payload_socks, TL_MAX_SOCKS);
	}
	return err;
}

/* The syscalls whose buffers --proto reads, as this architecture numbers them. */
static void set_syscall_nrs(struct tl_nrs *n)
{
	n->read = SYS_read;
	n->write = SYS_write;
	n->readv = SYS_readv;
	n->writev = SYS_writev;
	n->recvfrom = SYS_recvfrom;
	n->sendto = SYS_sendto;
	n->recvmsg = SYS_recvmsg;
	n->sendmsg = SYS_sendmsg;
}

/*
 * Owner marks (see on_state() in the BPF half): under -p, -c or
 * --cgroup, with socket storage, where listen() is seen (the
 * inet_sock_set_state tracepoint, typed) and the listeners already open
 * can be found (a task_file iterator and bpf_sock_from_file()).
 */
static bool choose_owner_marks(const struct ctx *c)
{
	struct lk_filter f = lk_filter_from_opts();

	if (!f.tgid && !f.cgroup_id && !f.comm[0])
		return false;
	if (c->sk_storage && hooks[H_STATE].chosen == LK_M_TP_BTF && lk_probe_file_listeners()) {
		lk_info("hook iter/task_file: using iter");
		lk_info("socket state only for the sockets of the processes traced");
		return true;
	}
	lk_info("socket state for every socket: %s",
		c->sk_storage ? "no typed inet_sock_set_state, iter/task_file or bpf_sock_from_file()"
			      : "no socket storage");
	return false;
}

/* Mark the listeners the traced processes hold open (owner marks). */
static int mark_listeners(struct ctx *c)
{
	if (lk_iter_listeners(c->skel->progs.find_listeners, c->skel->progs.seed_listeners,
			      "mark the traced processes' listening sockets"))
		return -1;
	lk_info("%llu listening sockets of the processes traced",
		(unsigned long long)c->skel->bss->lk_listeners_seeded);
	if (c->skel->bss->lk_listeners_lost)
		lk_err("warning: %llu listening sockets of the processes traced beyond the first %d: what they accept gets state at its first read or write",
		       (unsigned long long)c->skel->bss->lk_listeners_lost, LK_MAX_SEEDS);
	return 0;
}

/*
 * Socket storage takes typed socket pointers: usable when every hook
 * that gets a socket gets a typed one (tp_btf, fentry), else the state
 * lives in the LRU hash.
 */
static int setup(struct ctx *c)
{
	struct tcplat_bpf *skel = c->skel;

	if (choose_methods(skel->obj))
		return -1;
	c->sk_storage = lk_hooks_typed(hooks, H_SOCKETS);
	lk_info("socket state in %s", c->sk_storage ? "socket storage" : "an LRU hash");
	if (c->sk_storage) {
		c->map_iter = lk_probe_iter("bpf_sk_storage_map");
		if (c->map_iter) {
			lk_info("hook iter/bpf_sk_storage_map: using iter");
		} else {
			lk_info("hook iter/bpf_sk_storage_map: iter not available");
			lk_info("hook iter/tcp: using iter");
		}
	}
	bpf_program__set_autoload(skel->progs.pending, c->sk_storage && c->map_iter);
	bpf_program__set_autoload(skel->progs.pending_tcp, c->sk_storage && !c->map_iter);
	bpf_program__set_autoattach(skel->progs.pending, false);
	bpf_program__set_autoattach(skel->progs.pending_tcp, false);
	c->owner_marks = choose_owner_marks(c);
	bpf_program__set_autoload(skel->progs.find_listeners, c->owner_marks);
	bpf_program__set_autoattach(skel->progs.find_listeners, false);
	bpf_program__set_autoload(skel->progs.seed_listeners, c->owner_marks);
	bpf_program__set_autoattach(skel->progs.seed_listeners, false);
	skel->rodata->owner_marks = c->owner_marks;
	/* --proto: the rows are made in userspace. */
	skel->rodata->per_flow = lk_opts.per_flow && !env.protos;
	skel->rodata->per_proc = lk_opts.per_proc && !env.protos;
	skel->rodata->events_on = lk_opts.events && !env.protos;
	skel->rodata->proto_on = env.protos != 0;
	skel->rodata->copy_max = env.proto_bytes;
	set_syscall_nrs(&skel->rodata->nrs);
	skel->rodata->min_ns = lk_opts.min_us * 1000;
	skel->rodata->from_read = env.from_read;
	skel->rodata->del_at_close = !hooks[H_DESTROY].chosen;
	skel->rodata->syscall_clock = env.syscall_entry;
	skel->rodata->io_preemptible = hooks[H_SEND].chosen == LK_M_FENTRY ||
				       hooks[H_RECV].chosen == LK_M_FENTRY;
	skel->rodata->typed_sk = c->sk_storage;
	skel->rodata->force_role = env.role;
	skel->rodata->lk_filter = lk_filter_from_opts();
	read_port_range(skel);
	if (size_maps(skel, c->double_buffer, c->sk_storage)) {
		lk_err("cannot size BPF maps");
		return -1;
	}
	return 0;
}

static const struct lk_tool tool = {
	.options = options, .parser = parse_arg, .doc = doc,
	.common = LK_OPT_TASK | LK_OPT_NETNS | LK_OPT_FLOW | LK_OPT_ADDR | LK_OPT_OUTPUT |
		  LK_OPT_METRICS | LK_OPT_PER_FLOW | LK_OPT_PER_PROC | LK_OPT_HIST | LK_OPT_MS |
		  LK_OPT_TOP | LK_OPT_EVENTS | LK_OPT_MIN_US,
	.docs = docs,
};

int main(int argc, char **argv)
{
	struct ring_buffer *rb = NULL;
	struct ctx c = {};
	int err;

	if (lk_start(&tool, argc, argv))
		return 1;
	c.skel = tcplat_bpf__open();
	if (!c.skel) {
		lk_err_bpf("open BPF object", -errno);
		return 1;
	}
	c.double_buffer = lk_opts.interval > 0 && !env.protos;
	err = setup(&c);
	if (!err)
		err = tcplat_metrics_setup(c.skel, env.protos);
	if (err)
		goto cleanup;
	err = lk_skel_load(c.skel->skeleton);
	if (err)
		goto cleanup;
	if (env.protos) {
		struct tp_opts po = {
			.lp = { .protos = env.protos, .from_read = env.from_read,
				.http_path_depth = env.path_depth },
			.per_proc = lk_opts.per_proc,
			.metrics = lk_metrics_on(),
			.min_ns = lk_opts.min_us * 1000,
			.event = lk_opts.events ? proto_event : NULL,
			.ctx = &c,
		};

		err = tp_init(&po);
		if (!err)
			rb = lk_events_open(c.skel->maps.payloads, tp_handle, NULL);
		if (err || !rb) {
			err = err ? err : -errno;
			goto cleanup;
		}
	} else {
		err = lk_events_start(&rb, c.skel->maps.events, handle_event, &c);
		if (err)
			goto cleanup;
	}
	c.rb = rb;
	err = lk_skel_attach(c.skel->skeleton, "attach to the socket tracepoints");
	if (!err && c.owner_marks)
		err = mark_listeners(&c);
	if (err)
		goto cleanup;
	err = tcplat_metrics_start(c.skel, env.protos ? rb : NULL);
	if (err)
		goto cleanup;
	c.last_ns = lk_now_ns();
	if (env.protos)
		lk_info("--proto: copying the first %ld bytes of each read and write of traced sockets",
			env.proto_bytes);
	lk_info("tracing TCP requests (%s clock for servers); Ctrl-C to end",
		env.from_read ? "first-read" : "arrival");
	err = lk_run(rb, report, &c);
	lk_info("socket state set up for %llu connections as they were established",
		(unsigned long long)c.skel->bss->established);
cleanup:
	lk_metrics_stop();
	ring_buffer__free(rb);
	tcplat_bpf__destroy(c.skel);
	tp_free();
	free(c.rows);
	free(c.pend);
	return err ? 1 : 0;
}
