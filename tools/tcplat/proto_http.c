// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * HTTP/1.0 and 1.1 for tcplat --proto: a request line or status line,
 * headers, and a body by Content-Length, by chunks, or (a response with
 * neither) until the connection closes.  Interim responses (1xx) are
 * skipped; the responses to HEAD, and 204 and 304, have no body.
 */
#include <string.h>
#include "tcplat/proto_int.h"

/* Chunks larger than this are not HTTP. */
#define HT_MAX_CHUNK	(1ULL << 48)

enum ht_state {
	HT_START,		/* request line or status line */
	HT_HDR,			/* header lines */
	HT_BODY,		/* Content-Length bytes */
	HT_CHUNK,		/* a chunk's size line */
	HT_CDATA,		/* a chunk's data and its CRLF */
	HT_TRAILER,		/* trailer lines after the last chunk */
};

/* lp_pend.kind: the request's response has no body whatever it says. */
#define HT_HEAD		1

struct ht_side {
	unsigned char state;		/* enum ht_state */
	bool has_cl;
	bool chunked;			/* chunked is the last transfer coding */
	bool te_other;			/* another coding is */
	bool bodyless;
	bool interim;			/* a 1xx response */
	long long cl;
};

struct http_st {
	struct ht_side side[2];		/* by enum lp_kind */
};

static const char *const methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT",
};

static const char h2_preface[] = "PRI * HTTP/2.0";

static void side_reset(struct ht_side *h, enum ht_state state)
{
	memset(h, 0, sizeof(*h));
	h->state = state;
}

static int msg_end(struct lp_conn *c, struct ht_side *h, enum lp_kind k)
{
	side_reset(h, HT_START);
	if (k == LP_REQ)
		lp_req_done(c, false);
	else
		lp_resp_done(c);
	return 0;
}

/* The first @depth segments of a request target, without its query. */
static void path_prefix(char *out, const char *t, unsigned int n, int depth)
{
	unsigned int i, end, slashes = 0;

	/* An absolute form (to a proxy): the path after the authority. */
	if ((n > 7 && lp_is(t, 7, "http://", true)) || (n > 8 && lp_is(t, 8, "https://", true))) {
		const char *a = memchr(t, ':', n) + 3, *p;

		p = memchr(a, '/', n - (a - t));
		if (!p) {
			strcpy(out, "/");
			return;
		}
		n -= p - t;
		t = p;
	}
	for (end = 0; end < n && t[end] != '?' && t[end] != '#'; end++) {
		if (t[end] == '/' && ++slashes > (unsigned int)depth)
			break;
	}
	if (end > LP_PATH_LEN - 1)
		end = LP_PATH_LEN - 1;
	for (i = 0; i < end; i++)
		out[i] = (unsigned char)t[i] <= ' ' || (unsigned char)t[i] > '~' ? '?' : t[i];
	out[end] = '\0';
}

static int req_line(struct lp_conn *c, struct ht_side *h, const char *l, unsigned int len)
{
	struct lp_pend *p = lp_req_cur(c);
	const char *sp, *v;
	unsigned int m, i;

	/* Empty lines before a request are allowed. */
	if (!len)
		return 0;
	sp = memchr(l, ' ', len);
	m = sp ? (unsigned int)(sp - l) : 0;
	if (!m || m > LP_OP_LEN - 1 || len < m + 1 + 1 + 9)
		return lp_lose(c, LP_LOST_GARBAGE);
	for (i = 0; i < m; i++)
		if ((l[i] < 'A' || l[i] > 'Z') && l[i] != '-' && l[i] != '_')
			return lp_lose(c, LP_LOST_GARBAGE);
	v = l + len - 9;
	if (!lp_is(v, 9, " HTTP/1.1", false) && !lp_is(v, 9, " HTTP/1.0", false))
		return lp_lose(c, LP_LOST_GARBAGE);
	/* A tunnel's bytes are no longer HTTP. */
	if (lp_is(l, m, "CONNECT", false))
		return lp_lose(c, LP_LOST_UNSUPPORTED);
	if (p) {
		lp_set_op(p->r.op, l, m, false);
		if (lp_is(l, m, "HEAD", false))
			p->kind = HT_HEAD;
		if (lp_path_depth(c) > 0)
			path_prefix(p->r.path, l + m + 1, v - (l + m + 1), lp_path_depth(c));
	}
	side_reset(h, HT_HDR);
	return 0;
}

static int status_line(struct lp_conn *c, struct ht_side *h, const char *l, unsigned int len)
{
	struct lp_pend *p = lp_resp_cur(c);
	unsigned int code, i;

	if (len < 12 || (!lp_is(l, 9, "HTTP/1.1 ", false) && !lp_is(l, 9, "HTTP/1.0 ", false)) ||
	    (len > 12 && l[12] != ' '))
		return lp_lose(c, LP_LOST_GARBAGE);
	for (code = 0, i = 9; i < 12; i++) {
		if (l[i] < '0' || l[i] > '9')
			return lp_lose(c, LP_LOST_GARBAGE);
		code = code * 10 + l[i] - '0';
	}
	if (!p || code < 100)
		return lp_lose(c, LP_LOST_GARBAGE);
	/* Switching Protocols: what follows is another protocol. */
	if (code == 101)
		return lp_lose(c, LP_LOST_UNSUPPORTED);
	side_reset(h, HT_HDR);
	h->interim = code < 200;
	h->bodyless = h->interim || code == 204 || code == 304 || p->kind == HT_HEAD;
	if (!h->interim) {
		p->r.status = code;
		p->r.error = code >= 500;
	}
	return 0;
}

static void trim(const char **s, unsigned int *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

static int header(struct lp_conn *c, struct ht_side *h, const char *l, unsigned int len)
{
	const char *colon, *name = l, *val;
	unsigned int nlen, vlen;
	long long n;

	/* A folded continuation of the header before. */
	if (l[0] == ' ' || l[0] == '\t')
		return 0;
	colon = memchr(l, ':', len);
	if (!colon)
		return lp_lose(c, LP_LOST_GARBAGE);
	nlen = colon - l;
	val = colon + 1;
	vlen = len - nlen - 1;
	trim(&name, &nlen);
	trim(&val, &vlen);
	if (lp_is(name, nlen, "content-length", true)) {
		if (lp_parse_dec(val, vlen, false, &n) || (h->has_cl && n != h->cl))
			return lp_lose(c, LP_LOST_GARBAGE);
		h->has_cl = true;
		h->cl = n;
	} else if (lp_is(name, nlen, "transfer-encoding", true)) {
		const char *last = val;
		unsigned int i, llen;

		for (i = 0; i < vlen; i++)
			if (val[i] == ',')
				last = val + i + 1;
		llen = vlen - (last - val);
		trim(&last, &llen);
		h->chunked = lp_is(last, llen, "chunked", true);
		h->te_other = !h->chunked;
	}
	return 0;
}

static int headers_end(struct lp_conn *c, struct ht_side *h, enum lp_kind k)
{
	if (k == LP_RESP && h->interim) {
		side_reset(h, HT_START);
		lp_resp_interim(c);
		return 0;
	}
	if (k == LP_RESP && h->bodyless)
		return msg_end(c, h, k);
	if (h->chunked) {
		h->state = HT_CHUNK;
		return 0;
	}
	if (h->te_other) {
		/* A request must say how long it is. */
		if (k == LP_REQ)
			return lp_lose(c, LP_LOST_GARBAGE);
		lp_skip_to_close(c, k);
		return 0;
	}
	if (h->has_cl && h->cl) {
		h->state = HT_BODY;
		lp_skip(c, k, h->cl, 0);
		return 0;
	}
	if (k == LP_RESP && !h->has_cl) {
		lp_skip_to_close(c, k);
		return 0;
	}
	return msg_end(c, h, k);
}

static int chunk_size(struct lp_conn *c, struct ht_side *h, enum lp_kind k, const char *l,
		      unsigned int len)
{
	unsigned long long n = 0;
	unsigned int i;

	for (i = 0; i < len; i++) {
		char d = l[i];

		if (d >= '0' && d <= '9')
			n = n * 16 + d - '0';
		else if (d >= 'a' && d <= 'f')
			n = n * 16 + d - 'a' + 10;
		else if (d >= 'A' && d <= 'F')
			n = n * 16 + d - 'A' + 10;
		else
			break;
		if (n > HT_MAX_CHUNK)
			return lp_lose(c, LP_LOST_GARBAGE);
	}
	/* Then nothing, or blanks and extensions. */
	if (!i || (i < len && l[i] != ';' && l[i] != ' ' && l[i] != '\t'))
		return lp_lose(c, LP_LOST_GARBAGE);
	if (!n) {
		h->state = HT_TRAILER;
		return 0;
	}
	h->state = HT_CDATA;
	lp_skip(c, k, n + 2, 0);
	return 0;
}

static int http_line(struct lp_conn *c, void *p, enum lp_kind k, const char *l, unsigned int len)
{
	struct ht_side *h = &((struct http_st *)p)->side[k];

	switch (h->state) {
	case HT_START:
		return k == LP_REQ ? req_line(c, h, l, len) : status_line(c, h, l, len);
	case HT_HDR:
		return len ? header(c, h, l, len) : headers_end(c, h, k);
	case HT_CHUNK:
		return chunk_size(c, h, k, l, len);
	case HT_TRAILER:
		return len ? 0 : msg_end(c, h, k);
	}
	return lp_lose(c, LP_LOST_GARBAGE);
}

static int http_body(struct lp_conn *c, void *p, enum lp_kind k, const unsigned char *cap,
		     unsigned int caplen)
{
	struct ht_side *h = &((struct http_st *)p)->side[k];

	if (h->state == HT_CDATA) {
		h->state = HT_CHUNK;
		return 0;
	}
	return msg_end(c, h, k);
}

/*
 * A method, a space, and a first line ending in " HTTP/1.0" or
 * " HTTP/1.1"; HTTP/2's preface is unsupported.
 */
static enum lp_rec http_recognize(const unsigned char *b, unsigned int n, bool line, bool alone)
{
	const char *s = (const char *)b;
	bool more = false;
	unsigned int i, m, len;

	m = n < sizeof(h2_preface) - 1 ? n : sizeof(h2_preface) - 1;
	if (!memcmp(s, h2_preface, m))
		return n >= sizeof(h2_preface) - 1 ? LP_REC_UNSUP : LP_REC_MORE;
	len = n;
	if (line && len && s[len - 1] == '\n')
		len--;
	if (line && len && s[len - 1] == '\r')
		len--;
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		m = strlen(methods[i]);
		if (memcmp(s, methods[i], n < m ? n : m))
			continue;
		if (n <= m) {
			more = true;
			continue;
		}
		if (s[m] != ' ')
			continue;
		if (!line) {
			more = true;
			continue;
		}
		if (len >= m + 1 + 1 + 9 && (lp_is(s + len - 9, 9, " HTTP/1.1", false) ||
					     lp_is(s + len - 9, 9, " HTTP/1.0", false)))
			return LP_REC_YES;
	}
	return more ? LP_REC_MORE : LP_REC_NO;
}

const struct lp_framer lp_http_framer = {
	.proto = LP_HTTP,
	.state_size = sizeof(struct http_st),
	.recognize = http_recognize,
	.line = http_line,
	.body = http_body,
};
