// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * tcplat --proto: payload records to requests.  Connections live in a
 * hash table keyed by socket address (a new connection at an address
 * ends the old one); rows in an open-addressed table rebuilt at each
 * report.  Everything here runs on tcplat's one thread.
 */
#include <stdlib.h>
#include <string.h>
#include "loghist.h"
#include "tcplat/payload.h"

#define CONN_BUCKETS	16384
#define ROW_SLOTS	(2 * TP_MAX_ROWS)

struct conn {
	struct conn *next;
	unsigned long long sk;
	unsigned long long born_ns;
	unsigned long long last_ns;	/* its latest record */
	unsigned int next_seq;
	unsigned int tgid;
	unsigned char role;		/* enum tl_role */
	unsigned char proto;		/* as last seen */
	bool guessed;
	char comm[16];
	struct lk_flow ends;
	struct lp_conn *lp;
};

static struct tp_opts opts;
static struct conn *buckets[CONN_BUCKETS];
static unsigned int nconns;
static struct tp_row *rows, *spare;	/* this report's; the last one's */
static unsigned int nrows;
static int slots[ROW_SLOTS];	/* row index + 1; 0: free */
static struct tp_counts counts, before;	/* since the last report; until it */
static struct tp_mrow *mrows;		/* --listen, --textfile */
static unsigned int nmrows;
static int mslots[ROW_SLOTS];

void tl_add_latency(struct tl_stats *s, unsigned long long lat)
{
	s->requests++;
	s->sum_ns += lat;
	if (lat > s->max_ns)
		s->max_ns = lat;
	if (!s->min_ns || lat < s->min_ns)
		s->min_ns = lat;
	s->hist[lh_index(lat, TL_SUB_BITS, TL_BUCKETS)]++;
}

int tp_init(const struct tp_opts *o)
{
	opts = *o;
	rows = calloc(TP_MAX_ROWS + 1, sizeof(*rows));
	spare = calloc(TP_MAX_ROWS + 1, sizeof(*spare));
	if (o->metrics) {
		mrows = calloc(TP_MAX_ROWS + 1, sizeof(*mrows));
		if (!mrows)
			return -1;
		strcpy(mrows[TP_MAX_ROWS].k.op, "other");
	}
	return rows && spare ? 0 : -1;
}

static unsigned int hash_bytes(const void *p, size_t n, unsigned int h)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 16777619u;
	return h;
}

static unsigned int key_hash(const struct tp_key *k)
{
	unsigned int h = 2166136261u;

	h = hash_bytes(k, offsetof(struct tp_key, op), h);
	h = hash_bytes(k->op, strlen(k->op), h);
	return hash_bytes(k->path, strlen(k->path), h);
}

static bool key_eq(const struct tp_key *a, const struct tp_key *b)
{
	return !memcmp(a, b, offsetof(struct tp_key, op)) && !strcmp(a->op, b->op) &&
	       !strcmp(a->path, b->path);
}

/*
 * The slot of @k in an open-addressed index of @slots (row index + 1,
 * 0 free) over rows of @size bytes that start with their key: the
 * row's index, or -1 and the free slot in *@free.
 */
static int find(const int *idx, const void *rows, size_t size, const struct tp_key *k,
		unsigned int *free)
{
	unsigned int i = key_hash(k) % ROW_SLOTS;

	for (; idx[i]; i = (i + 1) % ROW_SLOTS)
		if (key_eq((const void *)((const char *)rows + (idx[i] - 1) * size), k))
			return idx[i] - 1;
	*free = i;
	return -1;
}

/* The metrics row of @k; past TP_MAX_ROWS, the shared "other" row. */
static struct tp_mrow *mrow_of(const struct tp_key *k)
{
	unsigned int i;
	int at = find(mslots, mrows, sizeof(*mrows), k, &i);

	if (at >= 0)
		return &mrows[at];
	if (nmrows == TP_MAX_ROWS)
		return &mrows[TP_MAX_ROWS];
	mrows[nmrows].k = *k;
	mslots[i] = ++nmrows;
	return &mrows[nmrows - 1];
}

static void add_metrics(const struct tp_key *k, const struct lp_req *q, unsigned long long lat)
{
	struct tp_key mk = *k;
	struct tp_mrow *m;
	unsigned int b = 0;

	mk.tgid = 0;
	m = mrow_of(&mk);
	if (k->role == TL_ROLE_CLIENT) {
		m->bytes_out += q->req_bytes;
		m->bytes_in += q->resp_bytes;
	} else {
		m->bytes_in += q->req_bytes;
		m->bytes_out += q->resp_bytes;
	}
	if (q->noreply) {
		m->noreply++;
		return;
	}
	if (q->incomplete || q->end_ns < q->start_ns) {
		m->incomplete++;
		return;
	}
	if (lat >> TL_M_MIN_MSB)
		b = lh_msb(lat) + 1 - TL_M_MIN_MSB;
	if (b >= TL_M_BUCKETS)
		b = TL_M_BUCKETS - 1;
	m->requests++;
	m->sum_ns += lat;
	m->hist[b]++;
}

/* The row of @k; past TP_MAX_ROWS, the shared "other" row. */
static struct tp_row *row_of(const struct tp_key *k, const char *comm)
{
	unsigned int i;
	int at = find(slots, rows, sizeof(*rows), k, &i);
	struct tp_row *r;

	if (at >= 0)
		return &rows[at];
	if (nrows == TP_MAX_ROWS) {
		counts.drop_rows++;
		r = &rows[TP_MAX_ROWS];
		if (!r->k.op[0])
			strcpy(r->k.op, "other");
		return r;
	}
	r = &rows[nrows++];
	memset(r, 0, sizeof(*r));
	r->k = *k;
	memcpy(r->comm, comm, sizeof(r->comm));
	slots[i] = nrows;
	return r;
}

static void on_req(void *p, const struct lp_req *q)
{
	struct conn *c = p;
	struct tp_key k = {};
	struct tp_row *r;
	unsigned long long lat;

	k.tgid = opts.per_proc ? c->tgid : 0;
	k.role = c->role;
	k.proto = q->proto;
	k.status = q->status / 100;
	k.error = q->error;
	memcpy(k.op, q->op, sizeof(k.op));
	k.op[LP_OP_LEN - 1] = 0;
	memcpy(k.path, q->path, sizeof(k.path));
	k.path[LP_PATH_LEN - 1] = 0;
	r = row_of(&k, c->comm);
	lat = q->end_ns - q->start_ns;
	if (mrows)
		add_metrics(&k, q, lat);
	if (c->role == TL_ROLE_CLIENT) {
		r->s.bytes_out += q->req_bytes;
		r->s.bytes_in += q->resp_bytes;
	} else {
		r->s.bytes_in += q->req_bytes;
		r->s.bytes_out += q->resp_bytes;
	}
	if (q->noreply) {
		r->noreply++;
		return;
	}
	if (q->incomplete || q->end_ns < q->start_ns) {
		r->s.incomplete++;
		return;
	}
	tl_add_latency(&r->s, lat);
	if (opts.event && lat >= opts.min_ns) {
		struct tp_event e = {
			.r = q, .ends = &c->ends, .tgid = c->tgid, .comm = c->comm,
			.guessed = c->guessed,
		};

		opts.event(opts.ctx, &e);
	}
}

static struct conn **conn_slot(unsigned long long sk)
{
	struct conn **pp = &buckets[(sk >> 6) % CONN_BUCKETS];

	while (*pp && (*pp)->sk != sk)
		pp = &(*pp)->next;
	return pp;
}

static bool conn_start(struct conn *c, bool midstream)
{
	c->lp = lp_conn_new(&opts.lp, c->role == TL_ROLE_CLIENT ? LP_CLIENT : LP_SERVER,
			    midstream);
	c->proto = LP_UNKNOWN;
	return c->lp != NULL;
}

/* The connection is over at @ts: what is open is cut off. */
static void conn_end(struct conn **pp, unsigned long long ts)
{
	struct conn *c = *pp;

	lp_conn_close(c->lp, ts, &counts.lp, on_req, c);
	lp_conn_free(c->lp);
	*pp = c->next;
	free(c);
	nconns--;
}

static struct conn *conn_new(struct conn **pp, const struct tl_data *d)
{
	struct conn *c;

	if (nconns >= TP_MAX_CONNS) {
		counts.drop_conns++;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->sk = d->sk;
	c->born_ns = d->born_ns;
	c->role = d->role;
	c->guessed = d->guessed;
	/* Its first records lost, or it predates us: mid-stream. */
	if (!conn_start(c, d->guessed || d->seq)) {
		free(c);
		return NULL;
	}
	c->next_seq = d->seq;
	*pp = c;
	nconns++;
	return c;
}

int tp_handle(void *ctx, void *data, size_t len)
{
	const struct tl_data *d = data;
	struct conn **pp, *c;
	struct lp_chunk ch = {};
	unsigned int i;

	if (len < sizeof(*d) || d->copied > len - sizeof(*d) || d->copied > d->len)
		return 0;
	pp = conn_slot(d->sk);
	if (*pp && (*pp)->born_ns != d->born_ns) {
		/* A new connection at the address: the old one is over. */
		conn_end(pp, (*pp)->last_ns);
		pp = conn_slot(d->sk);
	}
	c = *pp;
	if (!c) {
		if (d->kind == TL_DATA_CLOSE)
			return 0;
		c = conn_new(pp, d);
		if (!c)
			return 0;
	}
	if (d->seq != c->next_seq) {
		/* A record was lost (ring full): what was open is unknowable. */
		counts.lost_records++;
		lp_conn_free(c->lp);
		if (!conn_start(c, true)) {
			*pp = c->next;
			free(c);
			nconns--;
			return 0;
		}
	}
	c->next_seq = d->seq + 1;
	c->last_ns = d->end_ns;
	c->tgid = d->tgid;
	memcpy(c->comm, d->comm, sizeof(c->comm));
	c->comm[15] = 0;
	if (d->ends.family)
		c->ends = d->ends;
	if (d->kind == TL_DATA_CLOSE) {
		conn_end(pp, d->end_ns);
		return 0;
	}
	ch.data = d->data;
	ch.len = d->len;
	ch.copied = d->copied;
	ch.dir = d->kind == TL_DATA_IN ? LP_IN : LP_OUT;
	ch.end_ns = d->end_ns;
	ch.start_ns = d->start_ns ? d->start_ns : d->end_ns;
	ch.narr = d->narr < LP_MAX_ARR ? d->narr : LP_MAX_ARR;
	for (i = 0; i < ch.narr; i++) {
		ch.arr_off[i] = d->arr_off[i];
		ch.arr_ns[i] = d->arr_ns[i];
	}
	lp_conn_feed(c->lp, &ch, &counts.lp, on_req, c);
	if (c->proto == LP_UNKNOWN && lp_conn_proto(c->lp) != LP_UNKNOWN) {
		c->proto = lp_conn_proto(c->lp);
		counts.conns[c->proto]++;
	}
	return 0;
}

static void add_counts(struct tp_counts *to, const struct tp_counts *c)
{
	unsigned int i;

	for (i = 0; i < LP_NPROTO; i++)
		to->conns[i] += c->conns[i];
	for (i = 0; i < LP_LOST_MAX; i++)
		to->lp.lost[i] += c->lp.lost[i];
	to->lp.lost_requests += c->lp.lost_requests;
	to->lp.unparsed_bytes += c->lp.unparsed_bytes;
	to->lost_records += c->lost_records;
	to->drop_conns += c->drop_conns;
	to->drop_rows += c->drop_rows;
}

void tp_take(bool final, struct tp_row **out, unsigned int *n, struct tp_counts *cnt)
{
	struct tp_row *other = &rows[TP_MAX_ROWS];
	unsigned int i;

	if (final) {
		for (i = 0; i < CONN_BUCKETS; i++)
			while (buckets[i])
				conn_end(&buckets[i], buckets[i]->last_ns);
	}
	/* Hand out this report's rows; the next requests go to the spare. */
	*n = nrows;
	if (other->s.requests || other->s.incomplete || other->noreply)
		rows[(*n)++] = *other;
	*out = rows;
	*cnt = counts;
	add_counts(&before, &counts);
	rows = spare;
	spare = *out;
	memset(&counts, 0, sizeof(counts));
	memset(&rows[TP_MAX_ROWS], 0, sizeof(rows[TP_MAX_ROWS]));
	memset(slots, 0, sizeof(slots));
	nrows = 0;
}

const struct tp_mrow *tp_metrics(unsigned int *n, struct tp_counts *cnt)
{
	*cnt = before;
	add_counts(cnt, &counts);
	*n = nmrows;
	return mrows;
}

void tp_free(void)
{
	unsigned int i;

	for (i = 0; i < CONN_BUCKETS; i++)
		while (buckets[i]) {
			struct conn *c = buckets[i];

			buckets[i] = c->next;
			lp_conn_free(c->lp);
			free(c);
		}
	nconns = 0;
	free(rows);
	free(spare);
	free(mrows);
	rows = spare = NULL;
	mrows = NULL;
}
