// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Redis's RESP2 and RESP3 for tcplat --proto.  A request is an array of
 * bulk strings ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") or an inline line
 * ("GET k\r\n"); its op is the command name.  A reply is one value,
 * aggregates nested to any depth; RESP3 attributes ('|') come before
 * the value they annotate, and pushes ('>') answer no request.
 */
#include <string.h>
#include "tcplat/proto_int.h"

/* Arguments kept to spot commands whose replies cannot be paired. */
#define RD_ARGS		3
#define RD_ARG_LEN	8
/* More values than this outstanding in one reply is not RESP. */
#define RD_MAX_NEED	(1ULL << 40)

struct redis_st {
	/* The request stream. */
	unsigned long long args;	/* bulk strings of the array still to come */
	unsigned long long arglen;	/* the one being skipped */
	unsigned int argi;
	char arg[RD_ARGS][RD_ARG_LEN];	/* the first ones, uppercased */
	/* The reply stream. */
	unsigned long long need;	/* values still to come; 0 between replies */
	bool started;			/* the reply's own value has begun */
	bool push;			/* ... and it is a push */
};

static void keep_arg(struct redis_st *st, const char *s, size_t n)
{
	char *a;
	size_t i;

	if (st->argi >= RD_ARGS)
		return;
	a = st->arg[st->argi];
	if (n > RD_ARG_LEN - 1)
		n = RD_ARG_LEN - 1;
	for (i = 0; i < n; i++)
		a[i] = s[i] >= 'a' && s[i] <= 'z' ? s[i] - 'a' + 'A' : s[i];
	a[n] = '\0';
}

/* The request is framed: some commands make the replies unpairable. */
static int req_end(struct lp_conn *c, struct redis_st *st)
{
	static const char *const unsupported[] = {
		"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "MONITOR",
	};
	struct lp_pend *p = lp_req_cur(c);
	size_t i;

	for (i = 0; p && i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
		if (!strcmp(p->r.op, unsupported[i]))
			return lp_lose(c, LP_LOST_UNSUPPORTED);
	if (p && !strcmp(p->r.op, "CLIENT") && !strcmp(st->arg[1], "REPLY") &&
	    (!strcmp(st->arg[2], "OFF") || !strcmp(st->arg[2], "SKIP")))
		return lp_lose(c, LP_LOST_UNSUPPORTED);
	lp_req_done(c, false);
	return 0;
}

static int inline_req(struct lp_conn *c, struct redis_st *st, const char *l, unsigned int len)
{
	struct lp_pend *p = lp_req_cur(c);
	unsigned int i = 0, b;

	for (b = 0; b < len; b++)
		if ((unsigned char)l[b] < ' ' && l[b] != '\t')
			return lp_lose(c, LP_LOST_GARBAGE);
	memset(st->arg, 0, sizeof(st->arg));
	for (st->argi = 0; st->argi < RD_ARGS; st->argi++) {
		while (i < len && (l[i] == ' ' || l[i] == '\t'))
			i++;
		b = i;
		while (i < len && l[i] != ' ' && l[i] != '\t')
			i++;
		if (b == i)
			break;
		if (!st->argi && p)
			lp_set_op(p->r.op, l + b, i - b, true);
		keep_arg(st, l + b, i - b);
	}
	if (!st->argi) {
		/* Redis answers no empty line. */
		lp_req_cancel(c);
		return 0;
	}
	return req_end(c, st);
}

static int req_line(struct lp_conn *c, struct redis_st *st, const char *l, unsigned int len)
{
	long long n;

	if (st->args) {
		if (!len || l[0] != '$' || lp_parse_dec(l + 1, len - 1, false, &n))
			return lp_lose(c, LP_LOST_GARBAGE);
		st->arglen = n;
		lp_skip(c, LP_REQ, n + 2, n < LP_CAP ? n : LP_CAP);
		return 0;
	}
	if (!len || l[0] != '*')
		return inline_req(c, st, l, len);
	if (lp_parse_dec(l + 1, len - 1, true, &n) || n > 0x7fffffff)
		return lp_lose(c, LP_LOST_GARBAGE);
	if (n <= 0) {
		/* An empty array: Redis ignores it. */
		lp_req_cancel(c);
		return 0;
	}
	st->args = n;
	st->argi = 0;
	memset(st->arg, 0, sizeof(st->arg));
	return 0;
}

static int req_body(struct lp_conn *c, struct redis_st *st, const unsigned char *cap,
		    unsigned int caplen)
{
	unsigned long long want = st->arglen < LP_CAP ? st->arglen : LP_CAP;
	struct lp_pend *p = lp_req_cur(c);

	if (!st->argi && p) {
		if (caplen >= want)
			lp_set_op(p->r.op, (const char *)cap, want, true);
		else
			strcpy(p->r.op, "?");
	}
	if (caplen >= want)
		keep_arg(st, (const char *)cap, want);
	st->argi++;
	if (--st->args)
		return 0;
	return req_end(c, st);
}

/* A value of type @t begins; the reply's own one when it is the first. */
static int value_begin(struct lp_conn *c, struct redis_st *st, char t)
{
	struct lp_pend *p;

	if (st->started || st->need != 1)
		return 0;
	st->started = true;
	if (t == '>') {
		st->push = true;
		return 0;
	}
	p = lp_resp_cur(c);
	if (!p)
		return lp_lose(c, LP_LOST_GARBAGE);
	p->r.error = t == '-' || t == '!';
	return 0;
}

/* A value ends, @children more to come inside it. */
static int value_end(struct lp_conn *c, struct redis_st *st, unsigned long long children)
{
	st->need += children;
	st->need--;
	if (st->need > RD_MAX_NEED)
		return lp_lose(c, LP_LOST_GARBAGE);
	if (st->need)
		return 0;
	if (st->push)
		lp_resp_oob(c);
	else
		lp_resp_done(c);
	return 0;
}

static int reply_line(struct lp_conn *c, struct redis_st *st, const char *l, unsigned int len)
{
	long long n = 0;
	char t;

	if (!len)
		return lp_lose(c, LP_LOST_GARBAGE);
	if (!st->need) {
		st->need = 1;
		st->started = false;
		st->push = false;
	}
	t = l[0];
	switch (t) {
	case '+': case '-': case ':': case '_': case ',': case '#': case '(':
		if (value_begin(c, st, t))
			return -1;
		return value_end(c, st, 0);
	case '$': case '!': case '=':
	case '*': case '~': case '>': case '%': case '|':
		if (lp_parse_dec(l + 1, len - 1, true, &n) || n < -1 || n > 0xffffffffLL ||
		    (n == -1 && t == '|'))
			return lp_lose(c, LP_LOST_GARBAGE);
		break;
	default:
		return lp_lose(c, LP_LOST_GARBAGE);
	}
	if (t == '|') {
		/* An attribute: its pairs, then the value it annotates. */
		st->need += 2 * n;
		if (st->need > RD_MAX_NEED)
			return lp_lose(c, LP_LOST_GARBAGE);
		return 0;
	}
	if (value_begin(c, st, t))
		return -1;
	if (n == -1)
		return value_end(c, st, 0);
	if (t == '$' || t == '!' || t == '=') {
		lp_skip(c, LP_RESP, n + 2, 0);
		return 0;
	}
	return value_end(c, st, t == '%' ? 2 * n : n);
}

static int redis_line(struct lp_conn *c, void *p, enum lp_kind k, const char *l, unsigned int len)
{
	return k == LP_REQ ? req_line(c, p, l, len) : reply_line(c, p, l, len);
}

static int redis_body(struct lp_conn *c, void *p, enum lp_kind k, const unsigned char *cap,
		      unsigned int caplen)
{
	return k == LP_REQ ? req_body(c, p, cap, caplen) : value_end(c, p, 0);
}

/* "*<digits>\r\n"; an inline line of words only when Redis alone may match. */
static enum lp_rec redis_recognize(const unsigned char *b, unsigned int n, bool line, bool alone)
{
	unsigned int i;

	if (!n)
		return LP_REC_MORE;
	if (b[0] == '*') {
		for (i = 1; i < n && b[i] >= '0' && b[i] <= '9'; i++)
			;
		if (i == n)
			return LP_REC_MORE;
		if (i == 1 || b[i] != '\r')
			return LP_REC_NO;
		if (i + 1 == n)
			return LP_REC_MORE;
		return b[i + 1] == '\n' ? LP_REC_YES : LP_REC_NO;
	}
	if (!alone || !((b[0] >= 'a' && b[0] <= 'z') || (b[0] >= 'A' && b[0] <= 'Z')))
		return LP_REC_NO;
	for (i = 0; i < n && b[i] != '\n'; i++) {
		if (b[i] == '\r' && (i + 1 == n || b[i + 1] == '\n'))
			continue;
		if ((b[i] < ' ' && b[i] != '\t') || b[i] > '~')
			return LP_REC_NO;
	}
	return line ? LP_REC_YES : LP_REC_MORE;
}

const struct lp_framer lp_redis_framer = {
	.proto = LP_REDIS,
	.state_size = sizeof(struct redis_st),
	.recognize = redis_recognize,
	.line = redis_line,
	.body = redis_body,
};
