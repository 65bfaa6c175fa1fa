// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * tcplat --proto's engine: recognizes a connection's protocol from the
 * start of its request stream, cuts both streams into lines and bodies
 * for the protocol's framer, pairs requests with responses in order,
 * times them, and falls back to counting a change of direction as a
 * request (LP_RAW) where the bytes cannot be framed.
 *
 * A connection whose first bytes match no allowed protocol, or a
 * variant no framer follows (binary memcached, HTTP/2), is raw from its
 * first byte: nothing was framed.  One whose framing is lost later is
 * raw from its next change of direction, its open requests counted as
 * lost: the rest of the message in flight is no request of its own.
 */
#include <stdlib.h>
#include <string.h>
#include "tcplat/proto.h"
#include "tcplat/proto_int.h"

/* Recognition that fails this often at a midstream start gives up. */
#define LP_MIDSTREAM_TRIES	4
/* The queue's first size; it doubles up to LP_MAX_OUTSTANDING. */
#define LP_QUEUE_MIN		4

enum lp_mode {
	S_LINE,			/* collecting a line */
	S_SKIP,			/* inside a body of declared length */
	S_ALL,			/* inside a body that ends with the connection */
};

struct lp_stream {
	unsigned char *buf;		/* a line split across chunks */
	unsigned int buflen;
	unsigned char mode;		/* enum lp_mode */
	bool at_start;			/* the next byte begins a message */
	bool keep;			/* ... which adds to this one's bytes (1xx) */
	bool cap_on;			/* the body's bytes so far were all copied */
	unsigned int capwant, caplen;
	unsigned long long skip;	/* S_SKIP: bytes left */
	unsigned long long bytes;	/* of the message so far */
	unsigned char cap[LP_CAP];
};

/* Requests as changes of direction, followed whatever the protocol. */
struct lp_raw {
	bool open;			/* a request has begun */
	bool has_resp;			/* ... and response bytes followed it */
	bool wait;			/* ignore chunks until the direction changes */
	unsigned char wait_dir;
	unsigned long long start_ns, end_ns, req_bytes, resp_bytes;
};

struct lp_conn {
	struct lp_opts o;
	unsigned char role;		/* enum lp_role */
	unsigned char proto;		/* enum lp_proto */
	bool midstream;
	bool ms_wait;			/* midstream: not framing yet */
	bool ms_seen_resp;		/* ... and a response chunk came */
	bool closed;
	unsigned int ms_fails;
	int lost;			/* the cause lp_lose() gave, or -1 */
	const struct lp_framer *fr;
	void *fst;			/* the framer's state */
	struct lp_stream s[2];		/* by enum lp_kind */
	struct lp_pend *q;		/* a ring of requests, oldest first */
	unsigned int qcap, qhead, qlen;
	struct lp_raw raw;
	unsigned long long pending;	/* request bytes of earlier chunks, unrecognized */
	unsigned long long resp_end;	/* end_ns of the last response chunk */
	/* The call in progress. */
	const struct lp_chunk *ch;
	struct lp_stats *st;
	lp_emit_fn emit;
	void *ctx;
};

static const struct lp_framer *const framers[LP_NPROTO] = {
	[LP_REDIS] = &lp_redis_framer,
	[LP_HTTP] = &lp_http_framer,
	[LP_MEMCACHE] = &lp_memcache_framer,
};

static enum lp_kind kind_of(const struct lp_conn *c, unsigned char dir)
{
	bool in = dir == LP_IN;

	return (c->role == LP_SERVER) == in ? LP_REQ : LP_RESP;
}

/* When the byte at @off of a request chunk began its request. */
static unsigned long long req_start(const struct lp_conn *c, const struct lp_chunk *ch,
				    unsigned int off)
{
	unsigned int i, n = ch->narr < LP_MAX_ARR ? ch->narr : LP_MAX_ARR;

	if (c->role == LP_CLIENT)
		return ch->start_ns;
	if (c->o.from_read)
		return ch->end_ns;
	for (i = 0; i < n; i++)
		if (off < ch->arr_off[i])
			return ch->arr_ns[i];
	return ch->end_ns;
}

static void emit_req(struct lp_conn *c, struct lp_req *r)
{
	r->proto = c->proto;
	r->role = c->role;
	/* "" is raw's: a request cut off before its name has "?". */
	if (c->proto != LP_RAW && !r->op[0])
		strcpy(r->op, "?");
	if (c->emit)
		c->emit(c->ctx, r);
}

/* The queue */

static struct lp_pend *q_at(struct lp_conn *c, unsigned int i)
{
	return &c->q[(c->qhead + i) & (c->qcap - 1)];
}

static struct lp_pend *q_push(struct lp_conn *c)
{
	struct lp_pend *p;

	if (c->qlen >= LP_MAX_OUTSTANDING)
		return NULL;
	if (c->qlen == c->qcap) {
		unsigned int n = c->qcap ? c->qcap * 2 : LP_QUEUE_MIN, i;

		p = malloc(n * sizeof(*p));
		if (!p)
			return NULL;
		for (i = 0; i < c->qlen; i++)
			p[i] = *q_at(c, i);
		free(c->q);
		c->q = p;
		c->qcap = n;
		c->qhead = 0;
	}
	p = q_at(c, c->qlen++);
	memset(p, 0, sizeof(*p));
	return p;
}

static void q_pop(struct lp_conn *c)
{
	c->qhead = (c->qhead + 1) & (c->qcap - 1);
	c->qlen--;
}

/* Emits the oldest requests while they are complete. */
static void flush(struct lp_conn *c)
{
	struct lp_pend *p;

	while (c->qlen) {
		p = q_at(c, 0);
		if (!p->req_done || !p->resp_done)
			break;
		emit_req(c, &p->r);
		q_pop(c);
	}
}

/* What framers call */

struct lp_pend *lp_req_cur(struct lp_conn *c)
{
	struct lp_pend *p;

	if (!c->qlen)
		return NULL;
	p = q_at(c, c->qlen - 1);
	return p->req_done ? NULL : p;
}

struct lp_pend *lp_resp_cur(struct lp_conn *c)
{
	unsigned int i;

	for (i = 0; i < c->qlen; i++)
		if (!q_at(c, i)->resp_done)
			return q_at(c, i);
	return NULL;
}

void lp_req_done(struct lp_conn *c, bool noreply)
{
	struct lp_pend *p = lp_req_cur(c);
	struct lp_stream *s = &c->s[LP_REQ];

	s->at_start = true;
	if (!p)
		return;
	p->req_done = true;
	p->r.req_bytes = s->bytes;
	if (noreply && !p->resp_done) {
		p->resp_done = true;
		p->r.noreply = true;
		p->r.end_ns = 0;
	}
	flush(c);
}

void lp_req_cancel(struct lp_conn *c)
{
	c->s[LP_REQ].at_start = true;
	if (lp_req_cur(c))
		c->qlen--;
}

void lp_resp_done(struct lp_conn *c)
{
	struct lp_pend *p = lp_resp_cur(c);
	struct lp_stream *s = &c->s[LP_RESP];

	s->at_start = true;
	if (!p)
		return;
	p->resp_done = true;
	p->r.end_ns = c->ch->end_ns;
	p->r.resp_bytes = s->bytes;
	flush(c);
}

void lp_resp_interim(struct lp_conn *c)
{
	c->s[LP_RESP].at_start = true;
	c->s[LP_RESP].keep = true;
}

void lp_resp_oob(struct lp_conn *c)
{
	c->s[LP_RESP].at_start = true;
}

void lp_skip(struct lp_conn *c, enum lp_kind k, unsigned long long n, unsigned int cap)
{
	struct lp_stream *s = &c->s[k];

	s->mode = S_SKIP;
	s->skip = n;
	s->capwant = cap < LP_CAP ? cap : LP_CAP;
	s->caplen = 0;
	s->cap_on = true;
}

void lp_skip_to_close(struct lp_conn *c, enum lp_kind k)
{
	c->s[k].mode = S_ALL;
}

int lp_lose(struct lp_conn *c, enum lp_lost why)
{
	if (c->lost < 0)
		c->lost = why;
	return -1;
}

int lp_path_depth(const struct lp_conn *c)
{
	return c->o.http_path_depth;
}

void lp_set_op(char *op, const char *s, size_t n, bool upper)
{
	size_t i;

	if (n > LP_OP_LEN - 1)
		n = LP_OP_LEN - 1;
	for (i = 0; i < n; i++) {
		unsigned char b = s[i];

		if (b <= ' ' || b > '~')
			break;
		op[i] = upper && b >= 'a' && b <= 'z' ? b - 'a' + 'A' : b;
	}
	if (!n || i < n)
		strcpy(op, "?");
	else
		op[n] = '\0';
}

int lp_parse_dec(const char *s, size_t n, bool neg, long long *v)
{
	long long x = 0;
	bool minus = false;
	size_t i = 0;

	if (neg && n && s[0] == '-') {
		minus = true;
		i++;
	}
	if (i == n || n - i > 15)
		return -1;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (s[i] - '0');
	}
	*v = minus ? -x : x;
	return 0;
}

bool lp_is(const char *s, size_t n, const char *word, bool icase)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char a = s[i], b = word[i];

		if (!b)
			return false;
		if (icase) {
			if (a >= 'A' && a <= 'Z')
				a += 'a' - 'A';
			if (b >= 'A' && b <= 'Z')
				b += 'a' - 'A';
		}
		if (a != b)
			return false;
	}
	return !word[n];
}

/* Streams */

static void streams_reset(struct lp_conn *c)
{
	int k;

	for (k = 0; k < 2; k++) {
		struct lp_stream *s = &c->s[k];
		unsigned char *buf = s->buf;

		memset(s, 0, sizeof(*s));
		s->buf = buf;
		s->at_start = true;
	}
}

static void streams_free(struct lp_conn *c)
{
	free(c->s[LP_REQ].buf);
	free(c->s[LP_RESP].buf);
	c->s[LP_REQ].buf = NULL;
	c->s[LP_RESP].buf = NULL;
	streams_reset(c);
}

static bool set_proto(struct lp_conn *c, enum lp_proto p)
{
	c->fst = calloc(1, framers[p]->state_size);
	if (!c->fst)
		return false;
	c->fr = framers[p];
	c->proto = p;
	c->pending = 0;
	return true;
}

/*
 * Decides the protocol from the first line of the request stream, whole
 * or begun.  Returns true once it is known; false while undecided or
 * when nothing matched (c->lost set).
 */
static bool recognize(struct lp_conn *c, const unsigned char *b, unsigned int n, bool line)
{
	unsigned int allowed = c->o.protos, p;
	bool alone = (allowed & (LP_BIT(LP_REDIS) | LP_BIT(LP_HTTP) | LP_BIT(LP_MEMCACHE))) ==
		     LP_BIT(LP_REDIS);
	bool more = false, unsup = false;

	for (p = LP_REDIS; p <= LP_MEMCACHE; p++) {
		if (!(allowed & LP_BIT(p)))
			continue;
		switch (framers[p]->recognize(b, n, line, alone)) {
		case LP_REC_YES:
			if (set_proto(c, p))
				return true;
			lp_lose(c, LP_LOST_GARBAGE);
			return false;
		case LP_REC_MORE:
			more = true;
			break;
		case LP_REC_UNSUP:
			unsup = true;
			break;
		case LP_REC_NO:
			break;
		}
	}
	if (unsup)
		lp_lose(c, LP_LOST_UNSUPPORTED);
	else if (!more || line)
		lp_lose(c, LP_LOST_GARBAGE);
	return false;
}

static unsigned int feed_line(struct lp_conn *c, enum lp_kind k, const struct lp_chunk *ch,
			      unsigned int off)
{
	struct lp_stream *s = &c->s[k];
	const unsigned char *p = ch->data + off, *nl, *line;
	unsigned int n, len;

	nl = memchr(p, '\n', ch->copied - off);
	n = nl ? (unsigned int)(nl - p) + 1 : ch->copied - off;
	if (s->buflen + n > LP_MAX_LINE) {
		lp_lose(c, LP_LOST_LONG);
		return off;
	}
	if (nl && !s->buflen) {
		line = p;
		len = n;
	} else {
		if (!s->buf && !(s->buf = malloc(LP_MAX_LINE))) {
			lp_lose(c, LP_LOST_LONG);
			return off;
		}
		memcpy(s->buf + s->buflen, p, n);
		s->buflen += n;
		line = s->buf;
		len = s->buflen;
	}
	off += n;
	s->bytes += n;
	if (c->proto == LP_UNKNOWN && !recognize(c, line, len, nl))
		return off;
	if (!nl)
		return off;
	s->buflen = 0;
	len--;
	if (len && line[len - 1] == '\r')
		len--;
	c->fr->line(c, c->fst, k, (const char *)line, len);
	return off;
}

static unsigned int feed_skip(struct lp_conn *c, enum lp_kind k, const struct lp_chunk *ch,
			      unsigned int off)
{
	struct lp_stream *s = &c->s[k];
	unsigned long long n = ch->len - off;

	if (n > s->skip)
		n = s->skip;
	if (s->cap_on && s->caplen < s->capwant) {
		unsigned long long have = off < ch->copied ? ch->copied - off : 0;
		unsigned int take = s->capwant - s->caplen;

		if (have > n)
			have = n;
		if (take > have)
			take = have;
		if (take)
			memcpy(s->cap + s->caplen, ch->data + off, take);
		s->caplen += take;
		if (have < n)
			s->cap_on = false;
	}
	off += n;
	s->skip -= n;
	s->bytes += n;
	if (!s->skip) {
		s->mode = S_LINE;
		c->fr->body(c, c->fst, k, s->cap, s->caplen);
	}
	return off;
}

/* Frames what it can of @ch; returns where it stopped. */
static unsigned int feed_stream(struct lp_conn *c, enum lp_kind k, const struct lp_chunk *ch)
{
	struct lp_stream *s = &c->s[k];
	unsigned int off = 0;

	while (off < ch->len && c->lost < 0) {
		if (s->mode == S_LINE && off >= ch->copied) {
			lp_lose(c, LP_LOST_UNCOPIED);
			break;
		}
		if (s->at_start) {
			if (k == LP_REQ) {
				struct lp_pend *p = q_push(c);

				if (!p) {
					lp_lose(c, LP_LOST_OUTSTANDING);
					break;
				}
				p->r.start_ns = req_start(c, ch, off);
			}
			if (!s->keep)
				s->bytes = 0;
			s->keep = false;
			s->at_start = false;
		}
		if (s->mode == S_LINE) {
			off = feed_line(c, k, ch, off);
		} else if (s->mode == S_SKIP) {
			off = feed_skip(c, k, ch, off);
		} else {
			s->bytes += ch->len - off;
			off = ch->len;
		}
	}
	return off;
}

/* Raw: a request is a change of direction */

static void raw_emit(struct lp_conn *c, bool complete)
{
	struct lp_req r;

	memset(&r, 0, sizeof(r));
	r.incomplete = !complete;
	r.start_ns = c->raw.start_ns;
	r.end_ns = complete ? c->raw.end_ns : 0;
	r.req_bytes = c->raw.req_bytes;
	r.resp_bytes = c->raw.resp_bytes;
	emit_req(c, &r);
}

/* Follows every chunk; emits only when @live (the connection is raw). */
static void raw_track(struct lp_conn *c, const struct lp_chunk *ch, bool live)
{
	struct lp_raw *r = &c->raw;

	if (r->wait) {
		if (ch->dir == r->wait_dir)
			return;
		r->wait = false;
	}
	if (kind_of(c, ch->dir) == LP_RESP) {
		if (r->open) {
			r->has_resp = true;
			r->resp_bytes += ch->len;
			r->end_ns = ch->end_ns;
		}
		return;
	}
	if (r->open && r->has_resp) {
		if (live)
			raw_emit(c, true);
		r->open = false;
	}
	if (!r->open) {
		memset(r, 0, sizeof(*r));
		r->open = true;
		r->start_ns = req_start(c, ch, 0);
	}
	r->req_bytes += ch->len;
}

static void q_clear(struct lp_conn *c)
{
	c->qhead = 0;
	c->qlen = 0;
}

/* The framing ended for good, for @why, inside a chunk of @dir. */
static void lose_framing(struct lp_conn *c, unsigned char dir, enum lp_lost why)
{
	c->st->lost[why]++;
	c->st->lost_requests += c->qlen;
	q_clear(c);
	free(c->q);
	c->q = NULL;
	c->qcap = 0;
	free(c->fst);
	c->fst = NULL;
	c->fr = NULL;
	streams_free(c);
	c->proto = LP_RAW;
	memset(&c->raw, 0, sizeof(c->raw));
	c->raw.wait = true;
	c->raw.wait_dir = dir;
}

/*
 * Recognition failed for @why in a chunk of stream @k (counted by the
 * caller once raw).  Midstream, it is tried again at the next request
 * after a response; otherwise, and after LP_MIDSTREAM_TRIES, the whole
 * connection is raw.
 */
static void recog_fail(struct lp_conn *c, enum lp_kind k, enum lp_lost why)
{
	const struct lp_chunk *ch = c->ch;

	q_clear(c);
	streams_reset(c);
	c->st->unparsed_bytes += c->pending;
	c->pending = 0;
	if (c->midstream && ++c->ms_fails < LP_MIDSTREAM_TRIES) {
		c->st->unparsed_bytes += ch->len;
		c->ms_wait = true;
		c->ms_seen_resp = k == LP_RESP;
		return;
	}
	if (!c->midstream && (why == LP_LOST_UNCOPIED || why == LP_LOST_UNSUPPORTED))
		c->st->lost[why]++;
	/* Midstream, the requests begin with the chunk that gave up. */
	if (c->midstream)
		memset(&c->raw, 0, sizeof(c->raw));
	streams_free(c);
	c->proto = LP_RAW;
}

/*
 * Frames @ch while the connection is not raw.  Returns how many of its
 * bytes were framed or already counted as unparsed.
 */
static unsigned int frame(struct lp_conn *c, const struct lp_chunk *ch)
{
	enum lp_kind k = kind_of(c, ch->dir);
	unsigned int off;
	int why;

	if (c->ms_wait) {
		if (k == LP_RESP || !c->ms_seen_resp) {
			c->ms_seen_resp |= k == LP_RESP;
			c->st->unparsed_bytes += ch->len;
			return ch->len;
		}
		c->ms_wait = false;
		c->ms_seen_resp = false;
	}
	if (c->proto == LP_UNKNOWN && k == LP_RESP) {
		recog_fail(c, k, LP_LOST_GARBAGE);
		return 0;
	}
	off = feed_stream(c, k, ch);
	if (c->lost < 0) {
		if (c->proto == LP_UNKNOWN)
			c->pending += ch->len;
		return ch->len;
	}
	why = c->lost;
	c->lost = -1;
	if (c->proto == LP_UNKNOWN) {
		recog_fail(c, k, why);
		return 0;
	}
	lose_framing(c, ch->dir, why);
	return off;
}

/* The API */

struct lp_conn *lp_conn_new(const struct lp_opts *o, enum lp_role role, bool midstream)
{
	unsigned int all = LP_BIT(LP_REDIS) | LP_BIT(LP_HTTP) | LP_BIT(LP_MEMCACHE);
	struct lp_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (o)
		c->o = *o;
	else
		c->o.protos = all;
	c->role = role;
	c->midstream = midstream;
	c->ms_wait = midstream;
	c->lost = -1;
	streams_reset(c);
	if (!(c->o.protos & all))
		c->proto = LP_RAW;
	return c;
}

void lp_conn_free(struct lp_conn *c)
{
	if (!c)
		return;
	free(c->s[LP_REQ].buf);
	free(c->s[LP_RESP].buf);
	free(c->q);
	free(c->fst);
	free(c);
}

void lp_conn_feed(struct lp_conn *c, const struct lp_chunk *ch, struct lp_stats *st,
		  lp_emit_fn emit, void *ctx)
{
	struct lp_chunk fixed;
	unsigned int framed = 0;

	if (!c || !ch || !st || c->closed || !ch->len)
		return;
	if (ch->copied > ch->len || (!ch->data && ch->copied)) {
		fixed = *ch;
		fixed.copied = ch->data ? ch->len : 0;
		ch = &fixed;
	}
	c->ch = ch;
	c->st = st;
	c->emit = emit;
	c->ctx = ctx;
	if (c->proto != LP_RAW)
		framed = frame(c, ch);
	if (c->proto == LP_RAW)
		st->unparsed_bytes += ch->len - framed;
	raw_track(c, ch, c->proto == LP_RAW);
	if (kind_of(c, ch->dir) == LP_RESP)
		c->resp_end = ch->end_ns;
	c->ch = NULL;
}

void lp_conn_close(struct lp_conn *c, unsigned long long ts, struct lp_stats *st,
		   lp_emit_fn emit, void *ctx)
{
	struct lp_pend *p;

	if (!c || !st || c->closed)
		return;
	c->closed = true;
	c->st = st;
	c->emit = emit;
	c->ctx = ctx;
	if (c->proto == LP_UNKNOWN) {
		st->unparsed_bytes += c->pending;
		c->pending = 0;
		q_clear(c);
		c->proto = LP_RAW;
	}
	if (c->proto == LP_RAW) {
		if (c->raw.open && !c->raw.wait)
			raw_emit(c, c->raw.has_resp);
		c->raw.open = false;
		return;
	}
	/* A response that only the close delimits ends with its last chunk. */
	p = lp_resp_cur(c);
	if (c->s[LP_RESP].mode == S_ALL && p) {
		p->resp_done = true;
		p->r.end_ns = c->resp_end;
		p->r.resp_bytes = c->s[LP_RESP].bytes;
	}
	while (c->qlen) {
		p = q_at(c, 0);
		if (!p->req_done)
			p->r.req_bytes = c->s[LP_REQ].bytes;
		if (!p->resp_done) {
			p->r.incomplete = true;
			p->r.end_ns = 0;
		}
		emit_req(c, &p->r);
		q_pop(c);
	}
}

enum lp_proto lp_conn_proto(const struct lp_conn *c)
{
	return c->proto;
}

static const char *const proto_names[LP_NPROTO] = {
	[LP_UNKNOWN] = "unknown",
	[LP_REDIS] = "redis",
	[LP_HTTP] = "http",
	[LP_MEMCACHE] = "memcache",
	[LP_RAW] = "raw",
};

const char *lp_proto_name(enum lp_proto p)
{
	return (unsigned int)p < LP_NPROTO ? proto_names[p] : "?";
}

/* A comma-separated list of names: "redis,http". */
unsigned int lp_protos_parse(const char *s)
{
	unsigned int bits = 0, p;
	const char *e;
	size_t n;

	if (!s || !*s)
		return 0;
	for (;; s = e + 1) {
		e = strchr(s, ',');
		n = e ? (size_t)(e - s) : strlen(s);
		if (lp_is(s, n, "auto", false)) {
			bits |= LP_BIT(LP_REDIS) | LP_BIT(LP_HTTP) | LP_BIT(LP_MEMCACHE);
		} else {
			for (p = LP_REDIS; p <= LP_MEMCACHE; p++)
				if (lp_is(s, n, proto_names[p], false))
					break;
			if (p > LP_MEMCACHE)
				return 0;
			bits |= LP_BIT(p);
		}
		if (!e)
			return bits;
	}
}

static const char *const lost_names[LP_LOST_MAX] = {
	[LP_LOST_GARBAGE] = "garbage",
	[LP_LOST_UNCOPIED] = "uncopied",
	[LP_LOST_LONG] = "long",
	[LP_LOST_OUTSTANDING] = "outstanding",
	[LP_LOST_UNSUPPORTED] = "unsupported",
};

const char *lp_lost_name(enum lp_lost l)
{
	return (unsigned int)l < LP_LOST_MAX ? lost_names[l] : "?";
}
