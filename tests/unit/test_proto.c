// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * tcplat --proto's framers and matcher (tools/tcplat/proto*.c): each
 * protocol in both roles, whole, pipelined and cut at every offset;
 * bodies and headers beyond the copied bytes; midstream starts,
 * garbage, closes, timing, the protocols' special cases, recognition.
 */
#include <stdio.h>
#include <string.h>
#include "tcplat/proto.h"
#include "unit.h"

#define MAXR		2048
#define ALL_PROTOS	(LP_BIT(LP_REDIS) | LP_BIT(LP_HTTP) | LP_BIT(LP_MEMCACHE))

static struct lp_req got[MAXR];
static int ngot;
static struct lp_stats st;
static unsigned long long clk;

static void collect(void *ctx, const struct lp_req *r)
{
	if (ngot < MAXR)
		got[ngot] = *r;
	ngot++;
}

static struct lp_conn *conn_opts(unsigned int protos, enum lp_role role, bool midstream,
				 bool from_read, int depth)
{
	struct lp_opts o = { .protos = protos, .from_read = from_read, .http_path_depth = depth };

	ngot = 0;
	memset(&st, 0, sizeof(st));
	clk = 1000;
	return lp_conn_new(&o, role, midstream);
}

static struct lp_conn *conn(unsigned int protos, enum lp_role role, bool midstream)
{
	return conn_opts(protos, role, midstream, false, 0);
}

static int req_dir(enum lp_role role)
{
	return role == LP_SERVER ? LP_IN : LP_OUT;
}

static int resp_dir(enum lp_role role)
{
	return role == LP_SERVER ? LP_OUT : LP_IN;
}

/* One syscall at the next tick: @len bytes moved, the first @copied known. */
static struct lp_chunk put(struct lp_conn *c, int dir, const char *s, size_t len, size_t copied)
{
	struct lp_chunk ch;

	memset(&ch, 0, sizeof(ch));
	ch.data = (const unsigned char *)s;
	ch.len = len;
	ch.copied = copied;
	ch.dir = dir;
	clk += 10;
	ch.start_ns = clk;
	ch.end_ns = clk + 5;
	lp_conn_feed(c, &ch, &st, collect, NULL);
	return ch;
}

static struct lp_chunk put_s(struct lp_conn *c, int dir, const char *s)
{
	return put(c, dir, s, strlen(s), strlen(s));
}

static void close_conn(struct lp_conn *c)
{
	lp_conn_close(c, clk + 100, &st, collect, NULL);
	lp_conn_free(c);
}

/* When a request in a chunk with no arrival marks starts. */
static unsigned long long req_t(enum lp_role role, const struct lp_chunk *ch)
{
	return role == LP_SERVER ? ch->end_ns : ch->start_ns;
}

struct exch {
	const char *req, *resp, *op;
	unsigned short status;
	bool error;
};

static const struct exch redis_x[] = {
	{ "*1\r\n$4\r\nPING\r\n", "+PONG\r\n", "PING" },
	{ "*3\r\n$3\r\nset\r\n$1\r\nk\r\n$5\r\nhello\r\n", "+OK\r\n", "SET" },
	{ "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", "$5\r\nhello\r\n", "GET" },
	{ "*2\r\n$3\r\nGET\r\n$1\r\nz\r\n", "$-1\r\n", "GET" },
	{ "*1\r\n$3\r\nFOO\r\n", "-ERR unknown command 'FOO'\r\n", "FOO", 0, true },
	{ "*4\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n$1\r\n0\r\n$2\r\n-1\r\n",
	  "*3\r\n$1\r\na\r\n*2\r\n:1\r\n*-1\r\n$0\r\n\r\n", "LRANGE" },
	{ "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n", "%2\r\n+server\r\n+redis\r\n+proto\r\n:3\r\n", "HELLO" },
	{ "*1\r\n$4\r\nMGET\r\n",
	  "|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039123\r\n_\r\n", "MGET" },
	{ "*1\r\n$3\r\nBAD\r\n", "!21\r\nSYNTAX invalid syntax\r\n", "BAD", 0, true },
	{ "*1\r\n$4\r\nINFO\r\n", "=15\r\ntxt:Some string\r\n", "INFO" },
	{ "*1\r\n$5\r\nSMEMB\r\n", "~2\r\n#t\r\n(3492890328409238509324850943850943825024385\r\n", "SMEMB" },
	{ "*1\r\n$5\r\nmulti\r\n", "+OK\r\n", "MULTI" },
	{ "*1\r\n$4\r\nEXEC\r\n", "*2\r\n+OK\r\n:1\r\n", "EXEC" },
	{ "*6\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n", ":4\r\n",
	  "RPUSH" },
};

static const struct exch http_x[] = {
	{ "GET /a/b/c?x=1 HTTP/1.1\r\nHost: h\r\n\r\n",
	  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "GET", 200 },
	{ "POST /p HTTP/1.1\r\ncontent-length: 4\r\n\r\nabcd",
	  "HTTP/1.1 201 Created\r\nCONTENT-LENGTH: 0\r\n\r\n", "POST", 201 },
	{ "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nwiki\r\n0\r\nX-T: 1\r\n\r\n",
	  "HTTP/1.1 500 Oops\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n5\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n",
	  "PUT", 500, true },
	{ "HEAD / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "HEAD", 200 },
	{ "DELETE /x HTTP/1.1\r\n\r\n", "HTTP/1.1 204 No Content\r\n\r\n", "DELETE", 204 },
	{ "GET / HTTP/1.1\r\nIf-None-Match: \"x\"\r\n\r\n",
	  "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", "GET", 304 },
	{ "POST /u HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
	  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "POST", 200 },
	{ "GET / HTTP/1.0\n\n", "HTTP/1.0 404 Not Found\nContent-Length: 0\n\n", "GET", 404 },
	{ "OPTIONS * HTTP/1.1\r\n\r\n", "HTTP/1.1 503\r\nContent-Length: 1\r\n\r\nx", "OPTIONS", 503, true },
};

static const struct exch mc_x[] = {
	{ "set k 0 0 5\r\nhello\r\n", "STORED\r\n", "set" },
	{ "get k\r\n", "VALUE k 0 5\r\nhello\r\nEND\r\n", "get" },
	{ "get a b c\r\n", "VALUE a 0 1\r\nx\r\nVALUE c 3 2\r\nyz\r\nEND\r\n", "get" },
	{ "gets k\r\n", "VALUE k 0 1 99\r\nx\r\nEND\r\n", "gets" },
	{ "gat 10 k\r\n", "END\r\n", "gat" },
	{ "cas k 0 0 1 99\r\ny\r\n", "EXISTS\r\n", "cas" },
	{ "delete k\r\n", "NOT_FOUND\r\n", "delete" },
	{ "incr n 1\r\n", "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n", "incr", 0,
	  true },
	{ "stats\r\n", "STAT pid 1\r\nSTAT uptime 2\r\nEND\r\n", "stats" },
	{ "stats reset\r\n", "RESET\r\n", "stats" },
	{ "mg k v t\r\n", "VA 2 t-1\r\nhi\r\n", "mg" },
	{ "mg k v\r\n", "EN\r\n", "mg" },
	{ "ms k 2 T0\r\nhi\r\n", "HD\r\n", "ms" },
	{ "mn\r\n", "MN\r\n", "mn" },
	{ "version\r\n", "VERSION 1.6.21\r\n", "version" },
	{ "append k 0 0 2\r\nab\r\n", "SERVER_ERROR out of memory\r\n", "append", 0, true },
};

struct pcase {
	enum lp_proto proto;
	const struct exch *x;
	int n;
};

static const struct pcase pcases[] = {
	{ LP_REDIS, redis_x, sizeof(redis_x) / sizeof(redis_x[0]) },
	{ LP_HTTP, http_x, sizeof(http_x) / sizeof(http_x[0]) },
	{ LP_MEMCACHE, mc_x, sizeof(mc_x) / sizeof(mc_x[0]) },
};

#define NPCASES	(int)(sizeof(pcases) / sizeof(pcases[0]))

/* Whether @r is @x's record, complete; says why not. */
static bool is_exch(const struct lp_req *r, const struct exch *x, enum lp_proto p,
		    enum lp_role role, const char *what)
{
	bool ok = r->proto == p && r->role == role && !strcmp(r->op, x->op) &&
		  r->status == x->status && r->error == x->error && !r->incomplete &&
		  !r->noreply && r->req_bytes == strlen(x->req) &&
		  r->resp_bytes == strlen(x->resp) && r->end_ns >= r->start_ns;

	if (!ok)
		fprintf(stderr, "%s: %s %s role %d: got proto %d op '%s' status %u error %d "
			"incomplete %d req %llu resp %llu start %llu end %llu\n",
			what, lp_proto_name(p), x->op, role, r->proto, r->op, r->status, r->error,
			r->incomplete, r->req_bytes, r->resp_bytes, r->start_ns, r->end_ns);
	return ok;
}

static void test_one(const struct pcase *pc, enum lp_role role)
{
	struct lp_chunk q, a;
	struct lp_conn *c;
	int i;

	for (i = 0; i < pc->n; i++) {
		c = conn(ALL_PROTOS, role, false);
		q = put_s(c, req_dir(role), pc->x[i].req);
		CHECK(lp_conn_proto(c) == pc->proto);
		a = put_s(c, resp_dir(role), pc->x[i].resp);
		CHECK(ngot == 1);
		CHECK(is_exch(&got[0], &pc->x[i], pc->proto, role, "one"));
		CHECK(got[0].start_ns == req_t(role, &q) && got[0].end_ns == a.end_ns);
		close_conn(c);
		CHECK(ngot == 1);
		CHECK(!st.unparsed_bytes && !st.lost_requests);
	}
}

static void test_pipelined(const struct pcase *pc, enum lp_role role)
{
	char req[4096] = "", resp[4096] = "";
	struct lp_conn *c;
	struct lp_chunk q;
	int i;

	for (i = 0; i < pc->n; i++) {
		strcat(req, pc->x[i].req);
		strcat(resp, pc->x[i].resp);
	}
	c = conn(ALL_PROTOS, role, false);
	q = put_s(c, req_dir(role), req);
	CHECK(ngot == 0);
	put_s(c, resp_dir(role), resp);
	CHECK(ngot == pc->n);
	for (i = 0; i < pc->n && i < ngot; i++) {
		CHECK(is_exch(&got[i], &pc->x[i], pc->proto, role, "pipelined"));
		CHECK(got[i].start_ns == req_t(role, &q));
	}
	close_conn(c);
	CHECK(ngot == pc->n && !st.unparsed_bytes);
}

/* @s in up to three chunks, cut at @i and @j; returns the first and last chunks' times. */
static void put_cut(struct lp_conn *c, int dir, const char *s, size_t i, size_t j,
		    struct lp_chunk *first, struct lp_chunk *last)
{
	size_t cut[4] = { 0, i, j, strlen(s) }, k;
	bool any = false;

	for (k = 0; k < 3; k++) {
		struct lp_chunk ch;

		if (cut[k + 1] == cut[k])
			continue;
		ch = put(c, dir, s + cut[k], cut[k + 1] - cut[k], cut[k + 1] - cut[k]);
		if (!any)
			*first = ch;
		*last = ch;
		any = true;
	}
}

/* Every message cut into three pieces at every pair of offsets. */
static void test_split(const struct pcase *pc, enum lp_role role)
{
	struct lp_chunk q0, q1, a0, a1;
	size_t i, j, n;
	int x, side;
	struct lp_conn *c;
	int bad = 0;

	for (x = 0; x < pc->n; x++) {
		for (side = 0; side < 2; side++) {
			const char *cut = side ? pc->x[x].resp : pc->x[x].req;

			n = strlen(cut);
			for (i = 0; i <= n; i++) {
				for (j = i; j <= n; j++) {
					c = conn(ALL_PROTOS, role, false);
					if (side) {
						put_cut(c, req_dir(role), pc->x[x].req, 0, 0, &q0, &q1);
						put_cut(c, resp_dir(role), pc->x[x].resp, i, j, &a0, &a1);
					} else {
						put_cut(c, req_dir(role), pc->x[x].req, i, j, &q0, &q1);
						put_cut(c, resp_dir(role), pc->x[x].resp, 0, 0, &a0, &a1);
					}
					if (ngot != 1 ||
					    !is_exch(&got[0], &pc->x[x], pc->proto, role, "split") ||
					    got[0].start_ns != req_t(role, &q0) ||
					    got[0].end_ns != a1.end_ns)
						bad++;
					close_conn(c);
					if (ngot != 1 || st.unparsed_bytes)
						bad++;
				}
			}
		}
	}
	CHECK(bad == 0);
}

/* A second request's header beyond the copied bytes: lost, then raw. */
static void test_uncopied_header(const struct pcase *pc, enum lp_role role)
{
	const struct exch *x0 = &pc->x[0], *x1 = &pc->x[1];
	struct lp_chunk q, a;
	struct lp_conn *c = conn(ALL_PROTOS, role, false);

	put_s(c, req_dir(role), x0->req);
	put_s(c, resp_dir(role), x0->resp);
	CHECK(ngot == 1);
	put(c, req_dir(role), x1->req, strlen(x1->req), 2);
	CHECK(lp_conn_proto(c) == LP_RAW);
	CHECK(st.lost[LP_LOST_UNCOPIED] == 1 && st.lost_requests == 1);
	CHECK(st.unparsed_bytes == strlen(x1->req) - 2);
	/* Raw from the next change of direction: its response is no request. */
	put_s(c, resp_dir(role), x1->resp);
	q = put_s(c, req_dir(role), x0->req);
	a = put_s(c, resp_dir(role), x0->resp);
	CHECK(ngot == 1);
	put_s(c, req_dir(role), x1->req);
	CHECK(ngot == 2);
	CHECK(got[1].proto == LP_RAW && !strcmp(got[1].op, "") && !got[1].incomplete);
	CHECK(got[1].start_ns == req_t(role, &q) && got[1].end_ns == a.end_ns);
	CHECK(got[1].req_bytes == strlen(x0->req) && got[1].resp_bytes == strlen(x0->resp));
	close_conn(c);
	CHECK(ngot == 3 && got[2].incomplete && !got[2].end_ns);
	CHECK(st.lost[LP_LOST_UNCOPIED] == 1);
}

/* Tracing began in the middle: framing starts at a request after a response. */
static void test_midstream(const struct pcase *pc, enum lp_role role)
{
	static const char junk[] = "\x01\x02 tail\r\n";
	const struct exch *x = &pc->x[0];
	unsigned long long skipped;
	struct lp_conn *c;
	int fails;

	c = conn(ALL_PROTOS, role, true);
	put_s(c, req_dir(role), "lo world\r\n");
	put_s(c, resp_dir(role), "ld\r\n");
	skipped = st.unparsed_bytes;
	CHECK(skipped == 14 && lp_conn_proto(c) == LP_UNKNOWN);
	put_s(c, req_dir(role), x->req);
	CHECK(lp_conn_proto(c) == pc->proto);
	put_s(c, resp_dir(role), x->resp);
	CHECK(ngot == 1 && is_exch(&got[0], x, pc->proto, role, "midstream"));
	close_conn(c);
	CHECK(st.unparsed_bytes == skipped);

	/* A start that is no message start: tried again after the next response. */
	c = conn(ALL_PROTOS, role, true);
	put_s(c, resp_dir(role), "ld\r\n");
	put_s(c, req_dir(role), junk);
	CHECK(lp_conn_proto(c) == LP_UNKNOWN);
	put_s(c, req_dir(role), x->req);
	put_s(c, resp_dir(role), x->resp);
	CHECK(ngot == 0);
	put_s(c, req_dir(role), x->req);
	put_s(c, resp_dir(role), x->resp);
	CHECK(ngot == 1 && is_exch(&got[0], x, pc->proto, role, "midstream retry"));
	CHECK(st.unparsed_bytes == 4 + strlen(junk) + strlen(x->req) + strlen(x->resp));
	close_conn(c);

	/* Four failures: raw. */
	c = conn(ALL_PROTOS, role, true);
	for (fails = 0; fails < 4; fails++) {
		put_s(c, resp_dir(role), "ld\r\n");
		CHECK(lp_conn_proto(c) == LP_UNKNOWN);
		put_s(c, req_dir(role), junk);
	}
	CHECK(lp_conn_proto(c) == LP_RAW);
	put_s(c, resp_dir(role), x->resp);
	put_s(c, req_dir(role), x->req);
	CHECK(ngot == 1 && got[0].proto == LP_RAW);
	CHECK(st.unparsed_bytes == 4 * (4 + strlen(junk)) + strlen(x->resp) + strlen(x->req));
	CHECK(!st.lost[LP_LOST_GARBAGE]);
	close_conn(c);
}

/* Requests still open at the close are incomplete. */
static void test_close_open(const struct pcase *pc, enum lp_role role)
{
	struct lp_conn *c = conn(ALL_PROTOS, role, false);
	struct lp_chunk q;

	put_s(c, req_dir(role), pc->x[0].req);
	put_s(c, resp_dir(role), pc->x[0].resp);
	q = put_s(c, req_dir(role), pc->x[1].req);
	put_s(c, req_dir(role), pc->x[0].req);
	CHECK(ngot == 1);
	close_conn(c);
	CHECK(ngot == 3);
	CHECK(got[1].incomplete && !got[1].end_ns && !strcmp(got[1].op, pc->x[1].op));
	CHECK(got[1].start_ns == req_t(role, &q) && got[1].proto == pc->proto);
	CHECK(got[2].incomplete && got[2].req_bytes == strlen(pc->x[0].req));
	CHECK(!st.lost_requests);
}

/* Bytes that match nothing: raw, every byte unparsed. */
static void test_garbage(enum lp_role role)
{
	static const char junk[] = "\x16\x03\x01\x02\x00 hello\r\n";
	struct lp_chunk q, a;
	struct lp_conn *c = conn(ALL_PROTOS, role, false);

	q = put(c, req_dir(role), junk, sizeof(junk) - 1, sizeof(junk) - 1);
	CHECK(lp_conn_proto(c) == LP_RAW);
	put_s(c, req_dir(role), "more");
	a = put_s(c, resp_dir(role), "reply");
	put_s(c, resp_dir(role), "reply");
	CHECK(ngot == 0);
	put_s(c, req_dir(role), "again");
	CHECK(ngot == 1 && got[0].proto == LP_RAW && !got[0].incomplete);
	CHECK(got[0].start_ns == req_t(role, &q) && got[0].end_ns == a.end_ns + 10);
	CHECK(got[0].req_bytes == sizeof(junk) - 1 + 4 && got[0].resp_bytes == 10);
	CHECK(st.unparsed_bytes == sizeof(junk) - 1 + 4 + 10 + 5);
	close_conn(c);
	CHECK(ngot == 2 && got[1].incomplete && !got[1].end_ns && got[1].req_bytes == 5);
	CHECK(!st.lost[LP_LOST_GARBAGE]);

	/* A prefix waits for more; what follows decides. */
	c = conn(ALL_PROTOS, role, false);
	put_s(c, req_dir(role), "GE");
	CHECK(lp_conn_proto(c) == LP_UNKNOWN);
	put_s(c, req_dir(role), "T");
	CHECK(lp_conn_proto(c) == LP_UNKNOWN);
	put_s(c, req_dir(role), "X / HTTP/1.1\r\n");
	CHECK(lp_conn_proto(c) == LP_RAW && st.unparsed_bytes == 17);
	a = put_s(c, resp_dir(role), "HTTP/1.1 200 OK\r\n\r\n");
	close_conn(c);
	CHECK(ngot == 1 && !got[0].incomplete && got[0].end_ns == a.end_ns);

	/* A response before any request. */
	c = conn(ALL_PROTOS, role, false);
	put_s(c, resp_dir(role), "220 smtp ready\r\n");
	CHECK(lp_conn_proto(c) == LP_RAW);
	put_s(c, req_dir(role), "HELO x\r\n");
	put_s(c, resp_dir(role), "250 ok\r\n");
	close_conn(c);
	CHECK(ngot == 1 && got[0].proto == LP_RAW && !got[0].incomplete);
}

/* Raw timing: server requests start at the arrival of a read after a write. */
static void test_raw_timing(void)
{
	struct lp_chunk ch;
	struct lp_conn *c;
	int from_read;

	for (from_read = 0; from_read < 2; from_read++) {
		c = conn_opts(0, LP_SERVER, false, from_read, 0);
		CHECK(lp_conn_proto(c) == LP_RAW);
		memset(&ch, 0, sizeof(ch));
		ch.data = (const unsigned char *)"abcd";
		ch.len = ch.copied = 4;
		ch.dir = LP_IN;
		ch.start_ns = 500;
		ch.end_ns = 600;
		ch.narr = 1;
		ch.arr_off[0] = 2;
		ch.arr_ns[0] = 300;
		lp_conn_feed(c, &ch, &st, collect, NULL);
		put_s(c, LP_OUT, "x");
		put_s(c, LP_OUT, "y");
		put_s(c, LP_IN, "next");
		CHECK(ngot == 1 && got[0].start_ns == (from_read ? 600u : 300u));
		CHECK(got[0].end_ns == clk - 10 + 5 && got[0].resp_bytes == 2);
		close_conn(c);
	}
}

/* Bodies beyond the copied bytes are skipped by their declared length. */
static void test_uncopied_body(enum lp_role role)
{
	static char big[12000];
	struct lp_conn *c;
	size_t h, n;

	/* Redis: SET with a 5000-byte value, GET answered by it. */
	c = conn(ALL_PROTOS, role, false);
	h = sprintf(big, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5000\r\n");
	memset(big + h, 'v', 5000);
	memcpy(big + h + 5000, "\r\n", 2);
	put(c, req_dir(role), big, h + 5002, h);
	n = h;
	put_s(c, resp_dir(role), "+OK\r\n");
	put_s(c, req_dir(role), "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
	h = sprintf(big, "$5000\r\n");
	put(c, resp_dir(role), big, h + 3000, h);
	put(c, resp_dir(role), big, 2002, 0);
	CHECK(ngot == 2 && !strcmp(got[0].op, "SET") && got[0].req_bytes == n + 5002);
	CHECK(!strcmp(got[1].op, "GET") && got[1].resp_bytes == h + 5002);
	/* A command name beyond the copied bytes: "?". */
	h = sprintf(big, "*2\r\n$4\r\n");
	put(c, req_dir(role), big, h + 6, h);
	put_s(c, req_dir(role), "$1\r\nk\r\n");
	put_s(c, resp_dir(role), "+OK\r\n");
	CHECK(ngot == 3 && !strcmp(got[2].op, "?") && lp_conn_proto(c) == LP_REDIS);
	close_conn(c);
	CHECK(ngot == 3 && !st.unparsed_bytes);

	/* HTTP: a Content-Length body and a chunk's data. */
	c = conn(ALL_PROTOS, role, false);
	h = sprintf(big, "POST /up HTTP/1.1\r\nContent-Length: 10000\r\n\r\n");
	put(c, req_dir(role), big, h + 4000, h);
	put(c, req_dir(role), big, 6000, 0);
	h = sprintf(big, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nbb8\r\n");
	put(c, resp_dir(role), big, h + 3002, h);
	put_s(c, resp_dir(role), "0\r\n\r\n");
	CHECK(ngot == 1 && got[0].status == 200 && got[0].req_bytes == 44 + 10000);
	CHECK(got[0].resp_bytes == h + 3002 + 5);
	/* The body's end and the next request in one chunk, the request copied. */
	h = sprintf(big, "POST /up HTTP/1.1\r\nContent-Length: 3\r\n\r\n");
	put(c, req_dir(role), big, h, h);
	memcpy(big, "xyzGET / HTTP/1.1\r\n\r\n", 21);
	put(c, req_dir(role), big, 21, 21);
	put_s(c, resp_dir(role), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	put_s(c, resp_dir(role), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	CHECK(ngot == 3 && !strcmp(got[2].op, "GET") && !st.unparsed_bytes);
	close_conn(c);

	/* memcached: a set's data block and a VALUE's. */
	c = conn(ALL_PROTOS, role, false);
	h = sprintf(big, "set k 0 0 4000\r\n");
	put(c, req_dir(role), big, h + 4002, h);
	put_s(c, resp_dir(role), "STORED\r\n");
	put_s(c, req_dir(role), "get k\r\n");
	h = sprintf(big, "VALUE k 0 4000\r\n");
	put(c, resp_dir(role), big, h + 4002, h);
	put_s(c, resp_dir(role), "END\r\n");
	CHECK(ngot == 2 && got[0].req_bytes == 16 + 4002 && got[1].resp_bytes == h + 4002 + 5);
	/* A line after the block, beyond the copied bytes: lost. */
	put_s(c, req_dir(role), "get k\r\n");
	put(c, resp_dir(role), big, h + 4002 + 5, h);
	CHECK(st.lost[LP_LOST_UNCOPIED] == 1 && st.lost_requests == 1 && st.unparsed_bytes == 5);
	close_conn(c);
}

/* Server requests start at their first byte's arrival, or the read's end. */
static void test_timing(void)
{
	static const char two[] = "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n";
	struct lp_chunk ch, a, w;
	char buf[512];
	struct lp_conn *c;
	int from_read, p;
	size_t n;

	for (p = 0; p < NPCASES; p++) {
		for (from_read = 0; from_read < 2; from_read++) {
			const struct exch *x = &pcases[p].x[0];

			c = conn_opts(ALL_PROTOS, LP_SERVER, false, from_read, 0);
			n = strlen(x->req);
			snprintf(buf, sizeof(buf), "%s%s", x->req, x->req);
			memset(&ch, 0, sizeof(ch));
			ch.data = (const unsigned char *)buf;
			ch.len = ch.copied = 2 * n;
			ch.dir = LP_IN;
			ch.start_ns = 900;
			ch.end_ns = 1000;
			ch.narr = 2;
			ch.arr_off[0] = 1;
			ch.arr_ns[0] = 700;
			/* The second request's first byte arrived with the mark after it. */
			ch.arr_off[1] = n + 1;
			ch.arr_ns[1] = 800;
			clk = 1000;
			lp_conn_feed(c, &ch, &st, collect, NULL);
			w = put_s(c, LP_OUT, x->resp);
			a = put_s(c, LP_OUT, x->resp);
			CHECK(ngot == 2);
			CHECK(got[0].start_ns == (from_read ? 1000u : 700u));
			CHECK(got[1].start_ns == (from_read ? 1000u : 800u));
			CHECK(got[0].end_ns == w.end_ns && got[1].end_ns == a.end_ns);
			close_conn(c);
		}
	}
	/* Past the last mark: the read's end. */
	c = conn(ALL_PROTOS, LP_SERVER, false);
	memset(&ch, 0, sizeof(ch));
	ch.data = (const unsigned char *)two;
	ch.len = ch.copied = 28;
	ch.dir = LP_IN;
	ch.end_ns = 1000;
	ch.narr = 1;
	ch.arr_off[0] = 5;
	ch.arr_ns[0] = 600;
	lp_conn_feed(c, &ch, &st, collect, NULL);
	put_s(c, LP_OUT, "+PONG\r\n+PONG\r\n");
	CHECK(ngot == 2 && got[0].start_ns == 600 && got[1].start_ns == 1000);
	close_conn(c);

	/* Client: from the entry of the write with the first byte to the read with the last. */
	c = conn(ALL_PROTOS, LP_CLIENT, false);
	w = put_s(c, LP_OUT, "*1\r\n$4\r\nPI");
	put_s(c, LP_OUT, "NG\r\n");
	put_s(c, LP_IN, "+PO");
	a = put_s(c, LP_IN, "NG\r\n");
	CHECK(ngot == 1 && got[0].start_ns == w.start_ns && got[0].end_ns == a.end_ns);
	close_conn(c);
}

static void test_http(enum lp_role role)
{
	struct lp_chunk q, a;
	struct lp_conn *c;

	/* 100-continue: the interim answer comes before the body. */
	c = conn(ALL_PROTOS, role, false);
	q = put_s(c, req_dir(role), "PUT /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
	put_s(c, resp_dir(role), "HTTP/1.1 100 Continue\r\n\r\n");
	put_s(c, req_dir(role), "abc");
	CHECK(ngot == 0);
	a = put_s(c, resp_dir(role), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	CHECK(ngot == 1 && got[0].status == 200 && got[0].start_ns == req_t(role, &q) &&
	      got[0].end_ns == a.end_ns && got[0].resp_bytes == 25 + 38);
	close_conn(c);

	/* An early answer to a request whose body is still coming. */
	c = conn(ALL_PROTOS, role, false);
	put_s(c, req_dir(role), "POST /f HTTP/1.1\r\nContent-Length: 6\r\n\r\nab");
	a = put_s(c, resp_dir(role), "HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n");
	CHECK(ngot == 0);
	put_s(c, req_dir(role), "cdef");
	CHECK(ngot == 1 && got[0].status == 413 && got[0].end_ns == a.end_ns);
	close_conn(c);

	/* A response delimited by the close: complete at its last chunk. */
	c = conn(ALL_PROTOS, role, false);
	put_s(c, req_dir(role), "GET /old HTTP/1.0\r\n\r\n");
	put_s(c, resp_dir(role), "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nsome");
	a = put_s(c, resp_dir(role), " body");
	CHECK(ngot == 0);
	close_conn(c);
	CHECK(ngot == 1 && !got[0].incomplete && got[0].end_ns == a.end_ns &&
	      got[0].resp_bytes == 30 + 9 && got[0].status == 200);

	/* ... but a response still in its headers is not. */
	c = conn(ALL_PROTOS, role, false);
	put_s(c, req_dir(role), "GET / HTTP/1.1\r\n\r\n");
	put_s(c, resp_dir(role), "HTTP/1.1 200 OK\r\nContent-Le");
	close_conn(c);
	CHECK(ngot == 1 && got[0].incomplete && !got[0].end_ns);

	/* Upgrade: 101 cannot be followed. */
	c = conn(ALL_PROTOS, role, false);
	put_s(c, req_dir(role), "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
	put_s(c, resp_dir(role), "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
	CHECK(lp_conn_proto(c) == LP_RAW && st.lost[LP_LOST_UNSUPPORTED] == 1 && st.lost_requests == 1);
	close_conn(c);
	CHECK(ngot == 0);

	/* CONNECT opens a tunnel. */
	c = conn(ALL_PROTOS, role, false);
	put_s(c, req_dir(role), "CONNECT h:443 HTTP/1.1\r\n\r\n");
	CHECK(lp_conn_proto(c) == LP_RAW && st.lost[LP_LOST_UNSUPPORTED] == 1);
	close_conn(c);

	/* A response nobody asked for. */
	c = conn(ALL_PROTOS, role, false);
	put_s(c, req_dir(role), "GET / HTTP/1.1\r\n\r\n");
	put_s(c, resp_dir(role), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n");
	CHECK(ngot == 1 && st.lost[LP_LOST_GARBAGE] == 1 && !st.lost_requests);
	close_conn(c);

	/* A header line longer than LP_MAX_LINE. */
	{
		static char longl[LP_MAX_LINE + 64];

		c = conn(ALL_PROTOS, role, false);
		strcpy(longl, "GET / HTTP/1.1\r\nX: ");
		memset(longl + 19, 'a', LP_MAX_LINE);
		put_s(c, req_dir(role), longl);
		CHECK(lp_conn_proto(c) == LP_RAW && st.lost[LP_LOST_LONG] == 1 && st.lost_requests == 1);
		close_conn(c);
	}
}

static void test_http_path(void)
{
	static const struct {
		const char *target;
		int depth;
		const char *path;
	} cases[] = {
		{ "/a/b/c?x", 2, "/a/b" },
		{ "/a/b/c?x", 1, "/a" },
		{ "/a/b/c?x", 5, "/a/b/c" },
		{ "/a/b/c?x", 0, "" },
		{ "/", 2, "/" },
		{ "/a?q=/b/c", 3, "/a" },
		{ "http://host:8080/x/y/z", 2, "/x/y" },
		{ "http://host", 2, "/" },
		{ "*", 1, "*" },
		{ "/0123456789/0123456789/0123456789/0123456789/0123456789/0123456789/x", 9,
		  "/0123456789/0123456789/0123456789/0123456789/0123456789/0123456" },
	};
	char req[256];
	struct lp_conn *c;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = conn_opts(ALL_PROTOS, LP_SERVER, false, false, cases[i].depth);
		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n\r\n", cases[i].target);
		put_s(c, LP_IN, req);
		put_s(c, LP_OUT, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
		CHECK(ngot == 1 && !strcmp(got[0].path, cases[i].path));
		if (ngot == 1 && strcmp(got[0].path, cases[i].path))
			fprintf(stderr, "path %s depth %d: '%s'\n", cases[i].target, cases[i].depth,
				got[0].path);
		close_conn(c);
	}
}

static void test_redis(enum lp_role role)
{
	static const char push[] = ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n";
	struct lp_conn *c;
	struct lp_chunk a;

	/* RESP3 pushes answer nothing, before or between replies. */
	c = conn(ALL_PROTOS, role, false);
	put_s(c, req_dir(role), "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
	put_s(c, resp_dir(role), push);
	CHECK(ngot == 0);
	a = put_s(c, resp_dir(role), "$1\r\nv\r\n");
	CHECK(ngot == 1 && got[0].resp_bytes == 7 && got[0].end_ns == a.end_ns);
	put_s(c, resp_dir(role), push);
	put_s(c, req_dir(role), "*1\r\n$4\r\nPING\r\n");
	put_s(c, resp_dir(role), ">0\r\n+PONG\r\n");
	CHECK(ngot == 2 && got[1].resp_bytes == 7 && !st.lost[LP_LOST_GARBAGE]);
	/* An attribute before an error is still an error. */
	put_s(c, req_dir(role), "*1\r\n$4\r\nPING\r\n");
	put_s(c, resp_dir(role), "|1\r\n+a\r\n*1\r\n|0\r\n:1\r\n-ERR x\r\n");
	CHECK(ngot == 3 && got[2].error && lp_conn_proto(c) == LP_REDIS);
	close_conn(c);
	CHECK(ngot == 3);

	/* Inline commands, once Redis is known; an empty array is nothing. */
	c = conn(ALL_PROTOS, role, false);
	put_s(c, req_dir(role), "*1\r\n$4\r\nPING\r\n*0\r\nget k\r\n\r\n");
	put_s(c, resp_dir(role), "+PONG\r\n$-1\r\n");
	CHECK(ngot == 2 && !strcmp(got[1].op, "GET") && got[1].req_bytes == 7);
	close_conn(c);
	CHECK(ngot == 2);

	/* Commands whose replies cannot be paired. */
	{
		static const char *const unsup[] = {
			"*2\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n",
			"*2\r\n$10\r\nPSUBSCRIBE\r\n$1\r\nc\r\n",
			"*2\r\n$10\r\nSSUBSCRIBE\r\n$1\r\nc\r\n",
			"*1\r\n$7\r\nMONITOR\r\n",
			"*3\r\n$6\r\nCLIENT\r\n$5\r\nreply\r\n$3\r\noff\r\n",
			"*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$4\r\nSKIP\r\n",
		};
		size_t i;

		for (i = 0; i < sizeof(unsup) / sizeof(unsup[0]); i++) {
			c = conn(ALL_PROTOS, role, false);
			put_s(c, req_dir(role), unsup[i]);
			CHECK(lp_conn_proto(c) == LP_RAW && st.lost[LP_LOST_UNSUPPORTED] == 1);
			close_conn(c);
		}
		c = conn(ALL_PROTOS, role, false);
		put_s(c, req_dir(role), "*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$2\r\nON\r\n");
		put_s(c, resp_dir(role), "+OK\r\n");
		CHECK(ngot == 1 && !strcmp(got[0].op, "CLIENT"));
		close_conn(c);
	}

	/* Names: uppercased, at most 31 bytes, unprintable ones "?". */
	c = conn(ALL_PROTOS, role, false);
	put_s(c, req_dir(role), "*1\r\n$40\r\nabcdefghijabcdefghijabcdefghijabcdefghij\r\n");
	put_s(c, req_dir(role), "*1\r\n$3\r\na\tb\r\n");
	put_s(c, resp_dir(role), "+OK\r\n+OK\r\n");
	CHECK(ngot == 2 && !strcmp(got[0].op, "ABCDEFGHIJABCDEFGHIJABCDEFGHIJA"));
	CHECK(!strcmp(got[1].op, "?"));
	close_conn(c);
}

static void test_memcache(enum lp_role role)
{
	struct lp_chunk q, a;
	struct lp_conn *c;

	/* noreply: emitted at once, needing no response. */
	c = conn(ALL_PROTOS, role, false);
	q = put_s(c, req_dir(role), "set k 0 0 1 noreply\r\nx\r\n");
	CHECK(ngot == 1 && got[0].noreply && !got[0].incomplete && !got[0].end_ns &&
	      got[0].start_ns == req_t(role, &q) && got[0].req_bytes == 24 && !strcmp(got[0].op, "set"));
	put_s(c, req_dir(role), "get k\r\ndelete k noreply\r\n");
	CHECK(ngot == 1);
	a = put_s(c, resp_dir(role), "VALUE k 0 1\r\nx\r\nEND\r\n");
	CHECK(ngot == 3 && !strcmp(got[1].op, "get") && got[1].end_ns == a.end_ns);
	CHECK(got[2].noreply && !strcmp(got[2].op, "delete"));
	put_s(c, req_dir(role), "incr n 1 noreply\r\nquit\r\n");
	CHECK(ngot == 5 && got[4].noreply && !strcmp(got[4].op, "quit"));
	/* A key named noreply. */
	put_s(c, req_dir(role), "get noreply\r\n");
	CHECK(ngot == 5);
	put_s(c, resp_dir(role), "END\r\n");
	CHECK(ngot == 6 && !got[5].noreply && got[5].end_ns);
	close_conn(c);
	CHECK(ngot == 6 && !st.lost_requests);

	/* Meta commands in quiet mode; binary; unknown commands. */
	c = conn(ALL_PROTOS, role, false);
	put_s(c, req_dir(role), "mg qkey v q\r\n");
	CHECK(lp_conn_proto(c) == LP_RAW && st.lost[LP_LOST_UNSUPPORTED] == 1);
	close_conn(c);
	c = conn(ALL_PROTOS, role, false);
	put_s(c, req_dir(role), "mg qkey v k\r\n");
	put_s(c, resp_dir(role), "HD kqkey\r\n");
	CHECK(ngot == 1 && lp_conn_proto(c) == LP_MEMCACHE);
	put_s(c, req_dir(role), "frobnicate\r\n");
	CHECK(lp_conn_proto(c) == LP_RAW && st.lost[LP_LOST_GARBAGE] == 1);
	close_conn(c);
	c = conn(ALL_PROTOS, role, false);
	put(c, req_dir(role), "\x80\x00\x00\x05", 4, 4);
	CHECK(lp_conn_proto(c) == LP_RAW && st.lost[LP_LOST_UNSUPPORTED] == 1 && !st.lost_requests);
	put_s(c, resp_dir(role), "\x81");
	close_conn(c);
	CHECK(ngot == 1 && got[0].proto == LP_RAW && !got[0].incomplete);
}

/* Which protocol the first bytes make, by what is allowed. */
static void test_recognize(void)
{
	static const struct {
		const char *first;
		unsigned int protos;
		enum lp_proto proto;
		const char *op;
	} cases[] = {
		{ "get foo\r\n", ALL_PROTOS, LP_MEMCACHE, "get" },
		{ "get foo\r\n", LP_BIT(LP_REDIS), LP_REDIS, "GET" },
		{ "get foo\r\n", LP_BIT(LP_REDIS) | LP_BIT(LP_MEMCACHE), LP_MEMCACHE, "get" },
		{ "get foo\r\n", LP_BIT(LP_HTTP), LP_RAW, "" },
		{ "GET foo\r\n", ALL_PROTOS, LP_RAW, "" },
		{ "GET foo\r\n", LP_BIT(LP_REDIS), LP_REDIS, "GET" },
		{ "GET / HTTP/1.1\r\n", ALL_PROTOS, LP_HTTP, "GET" },
		{ "GET / HTTP/1.1\r\n", LP_BIT(LP_REDIS) | LP_BIT(LP_MEMCACHE), LP_RAW, "" },
		{ "GET / HTTP/2.0\r\n", ALL_PROTOS, LP_RAW, "" },
		{ "PATCH /x HTTP/1.0\r\n", ALL_PROTOS, LP_HTTP, "PATCH" },
		{ "TRACE / HTTP/1.1\r\n", LP_BIT(LP_HTTP), LP_HTTP, "TRACE" },
		{ "*1\r\n$4\r\nPING\r\n", ALL_PROTOS, LP_REDIS, "PING" },
		{ "*1\r\n$4\r\nPING\r\n", LP_BIT(LP_MEMCACHE), LP_RAW, "" },
		{ "*x\r\n", ALL_PROTOS, LP_RAW, "" },
		{ "version\r\n", ALL_PROTOS, LP_MEMCACHE, "version" },
		{ "versions\r\n", ALL_PROTOS, LP_RAW, "" },
		{ "stats\n", ALL_PROTOS, LP_MEMCACHE, "stats" },
		{ "flush_all\r\n", ALL_PROTOS, LP_MEMCACHE, "flush_all" },
		{ "ping\r\n", ALL_PROTOS, LP_RAW, "" },
		{ "ping\r\n", LP_BIT(LP_REDIS), LP_REDIS, "PING" },
	};
	enum lp_proto proto;
	struct lp_conn *c;
	size_t i, k, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = strlen(cases[i].first);
		/* Byte by byte: undecided until a byte decides. */
		c = conn(cases[i].protos, LP_SERVER, false);
		for (k = 0; k < n; k++)
			put(c, LP_IN, cases[i].first + k, 1, 1);
		proto = lp_conn_proto(c);
		put_s(c, LP_OUT, "x");
		close_conn(c);
		CHECK(proto == cases[i].proto && ngot == 1 && !strcmp(got[0].op, cases[i].op) &&
		      got[0].proto == cases[i].proto);
		if (proto != cases[i].proto || ngot != 1 || strcmp(got[0].op, cases[i].op))
			fprintf(stderr, "recognize '%s' protos %#x: %s op '%s'\n", cases[i].first,
				cases[i].protos, lp_proto_name(proto), ngot ? got[0].op : "");
	}
	/* HTTP/2's preface. */
	c = conn(ALL_PROTOS, LP_CLIENT, false);
	put_s(c, LP_OUT, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
	CHECK(lp_conn_proto(c) == LP_RAW && st.lost[LP_LOST_UNSUPPORTED] == 1);
	close_conn(c);
	/* Nothing but a prefix that never ends a line: raw at LP_MAX_LINE. */
	{
		static char line[LP_MAX_LINE + 16];

		c = conn(ALL_PROTOS, LP_SERVER, false);
		memcpy(line, "GET /", 5);
		memset(line + 5, 'a', sizeof(line) - 6);
		put(c, LP_IN, line, LP_MAX_LINE - 1, LP_MAX_LINE - 1);
		CHECK(lp_conn_proto(c) == LP_UNKNOWN);
		put(c, LP_IN, line, 10, 10);
		CHECK(lp_conn_proto(c) == LP_RAW && !st.lost[LP_LOST_LONG]);
		CHECK(st.unparsed_bytes == LP_MAX_LINE - 1 + 10);
		close_conn(c);
	}
	/* A first request beyond the copied bytes. */
	c = conn(ALL_PROTOS, LP_SERVER, false);
	put(c, LP_IN, "GE", 100, 2);
	CHECK(lp_conn_proto(c) == LP_RAW && st.lost[LP_LOST_UNCOPIED] == 1);
	close_conn(c);
	CHECK(ngot == 1 && got[0].incomplete && got[0].req_bytes == 100);
}

/* More than LP_MAX_OUTSTANDING requests unanswered. */
static void test_outstanding(void)
{
	struct lp_conn *c = conn(ALL_PROTOS, LP_CLIENT, false);
	int i;

	for (i = 0; i < LP_MAX_OUTSTANDING; i++)
		put_s(c, LP_OUT, "get k\r\n");
	CHECK(lp_conn_proto(c) == LP_MEMCACHE);
	put_s(c, LP_IN, "END\r\n");
	put_s(c, LP_OUT, "get k\r\nget k\r\n");
	CHECK(ngot == 1 && lp_conn_proto(c) == LP_RAW);
	CHECK(st.lost[LP_LOST_OUTSTANDING] == 1 && st.lost_requests == LP_MAX_OUTSTANDING);
	close_conn(c);
}

static void test_names(void)
{
	CHECK(lp_protos_parse("auto") == ALL_PROTOS);
	CHECK(lp_protos_parse("redis") == LP_BIT(LP_REDIS));
	CHECK(lp_protos_parse("http,memcache") == (LP_BIT(LP_HTTP) | LP_BIT(LP_MEMCACHE)));
	CHECK(lp_protos_parse("memcached") == 0);
	CHECK(lp_protos_parse("redis,") == 0);
	CHECK(lp_protos_parse("") == 0);
	CHECK(!strcmp(lp_proto_name(LP_MEMCACHE), "memcache"));
	CHECK(!strcmp(lp_proto_name(LP_RAW), "raw"));
	CHECK(!strcmp(lp_lost_name(LP_LOST_UNCOPIED), "uncopied"));
	CHECK(!strcmp(lp_lost_name(LP_LOST_OUTSTANDING), "outstanding"));
}

int main(void)
{
	int p, role;

	for (p = 0; p < NPCASES; p++) {
		for (role = LP_SERVER; role <= LP_CLIENT; role++) {
			test_one(&pcases[p], role);
			test_pipelined(&pcases[p], role);
			test_split(&pcases[p], role);
			test_uncopied_header(&pcases[p], role);
			test_midstream(&pcases[p], role);
			test_close_open(&pcases[p], role);
		}
	}
	for (role = LP_SERVER; role <= LP_CLIENT; role++) {
		test_garbage(role);
		test_uncopied_body(role);
		test_http(role);
		test_redis(role);
		test_memcache(role);
	}
	test_raw_timing();
	test_timing();
	test_http_path();
	test_recognize();
	test_outstanding();
	test_names();
	return unit_done("test_proto");
}
