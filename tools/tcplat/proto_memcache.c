// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * memcached's text protocol for tcplat --proto: a command line, then a
 * data block for storage commands; the response is one line, or for
 * retrieval and stats a series of lines (VALUE with its data block,
 * STAT) ending in END.  Meta commands answer one line, with a data
 * block after "VA".  A command ending in "noreply" is answered by
 * nothing, as is quit; the meta commands' quiet mode (q) answers only
 * some of them and cannot be followed.
 */
#include <string.h>
#include "tcplat/proto_int.h"

/* What answers a request (lp_pend.kind). */
enum mc_kind {
	MC_NONE,
	MC_RETR,		/* VALUE lines and data blocks, then END */
	MC_LINE,		/* one line */
	MC_STATS,		/* STAT lines then END, or one other line */
	MC_META,		/* one line; a data block after VA */
};

/* How a command line reads. */
enum mc_form {
	MF_PLAIN,		/* answered */
	MF_NOREPLY,		/* answered unless it ends in noreply */
	MF_STORE,		/* <key> <flags> <exptime> <bytes> [noreply] + data */
	MF_CAS,			/* ... <bytes> <cas> [noreply] + data */
	MF_QUIT,		/* no response */
	MF_META,		/* <key> <flags>* (mn: none) */
	MF_MSET,		/* <key> <datalen> <flags>* + data */
};

static const struct {
	const char *name;
	unsigned char kind, form;
} cmds[] = {
	{ "get", MC_RETR, MF_PLAIN }, { "gets", MC_RETR, MF_PLAIN },
	{ "gat", MC_RETR, MF_PLAIN }, { "gats", MC_RETR, MF_PLAIN },
	{ "set", MC_LINE, MF_STORE }, { "add", MC_LINE, MF_STORE },
	{ "replace", MC_LINE, MF_STORE }, { "append", MC_LINE, MF_STORE },
	{ "prepend", MC_LINE, MF_STORE }, { "cas", MC_LINE, MF_CAS },
	{ "delete", MC_LINE, MF_NOREPLY }, { "incr", MC_LINE, MF_NOREPLY },
	{ "decr", MC_LINE, MF_NOREPLY }, { "touch", MC_LINE, MF_NOREPLY },
	{ "verbosity", MC_LINE, MF_NOREPLY }, { "flush_all", MC_LINE, MF_NOREPLY },
	{ "version", MC_LINE, MF_PLAIN }, { "stats", MC_STATS, MF_PLAIN },
	{ "quit", MC_NONE, MF_QUIT },
	{ "mn", MC_META, MF_META }, { "mg", MC_META, MF_META },
	{ "ms", MC_META, MF_MSET }, { "md", MC_META, MF_META },
	{ "ma", MC_META, MF_META }, { "me", MC_META, MF_META },
};

#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))
/* Data blocks larger than this are not memcached's. */
#define MC_MAX_DATA	(1LL << 40)

struct mc_st {
	bool noreply;		/* the storage command being read */
};

struct tok {
	const char *s;
	unsigned int n;
};

/* The token after @t (the first when t->s is NULL); false at the end. */
static bool next_tok(const char *l, unsigned int len, struct tok *t)
{
	unsigned int i = t->s ? (unsigned int)(t->s - l) + t->n : 0, b;

	while (i < len && l[i] == ' ')
		i++;
	for (b = i; i < len && l[i] != ' '; i++)
		;
	t->s = l + b;
	t->n = i - b;
	return t->n > 0;
}

/* Splits @l: its first @max tokens into @t, its last into @last; returns how many. */
static unsigned int tokens(const char *l, unsigned int len, struct tok *t, unsigned int max,
			   struct tok *last)
{
	struct tok cur = { NULL, 0 };
	unsigned int n = 0;

	last->s = l;
	last->n = 0;
	while (next_tok(l, len, &cur)) {
		if (n < max)
			t[n] = cur;
		*last = cur;
		n++;
	}
	return n;
}

static bool is_error(const char *l, unsigned int len)
{
	return lp_is(l, len, "ERROR", false) || (len >= 6 && lp_is(l, 6, "ERROR ", false)) ||
	       (len >= 12 && lp_is(l, 12, "CLIENT_ERROR", false)) ||
	       (len >= 12 && lp_is(l, 12, "SERVER_ERROR", false));
}

static bool starts(const char *l, unsigned int len, const char *word)
{
	size_t n = strlen(word);

	return len >= n && lp_is(l, n, word, false);
}

/* Whether a meta command's flags, the tokens from @from on, ask for quiet mode. */
static bool quiet(const char *l, unsigned int len, unsigned int from)
{
	struct tok t = { NULL, 0 };
	unsigned int i;

	for (i = 0; next_tok(l, len, &t); i++)
		if (i >= from && t.s[0] == 'q')
			return true;
	return false;
}

static int data_len(struct lp_conn *c, const struct tok *t, long long *n)
{
	if (lp_parse_dec(t->s, t->n, false, n) || *n > MC_MAX_DATA)
		return lp_lose(c, LP_LOST_GARBAGE);
	return 0;
}

static int req_line(struct lp_conn *c, struct mc_st *st, const char *l, unsigned int len)
{
	struct lp_pend *p = lp_req_cur(c);
	struct tok t[6], last;
	unsigned int n, i;
	long long bytes = 0;
	bool noreply;

	n = tokens(l, len, t, 6, &last);
	if (!n)
		return lp_lose(c, LP_LOST_GARBAGE);
	for (i = 0; i < NCMDS; i++)
		if (lp_is(t[0].s, t[0].n, cmds[i].name, false))
			break;
	if (i == NCMDS || !p)
		return lp_lose(c, LP_LOST_GARBAGE);
	lp_set_op(p->r.op, t[0].s, t[0].n, false);
	p->kind = cmds[i].kind;
	noreply = n > 1 && lp_is(last.s, last.n, "noreply", false);
	switch (cmds[i].form) {
	case MF_PLAIN:
		lp_req_done(c, false);
		return 0;
	case MF_NOREPLY:
		lp_req_done(c, noreply);
		return 0;
	case MF_QUIT:
		lp_req_done(c, true);
		return 0;
	case MF_META:
		if (quiet(l, len, 2))
			return lp_lose(c, LP_LOST_UNSUPPORTED);
		lp_req_done(c, false);
		return 0;
	case MF_MSET:
		if (n < 3 || data_len(c, &t[2], &bytes))
			return lp_lose(c, LP_LOST_GARBAGE);
		if (quiet(l, len, 3))
			return lp_lose(c, LP_LOST_UNSUPPORTED);
		st->noreply = false;
		break;
	case MF_STORE:
	case MF_CAS:
		i = cmds[i].form == MF_CAS ? 6 : 5;
		if ((n != i && n != i + 1) || (n == i + 1 && !noreply) || data_len(c, &t[4], &bytes))
			return lp_lose(c, LP_LOST_GARBAGE);
		st->noreply = noreply;
		break;
	}
	lp_skip(c, LP_REQ, bytes + 2, 0);
	return 0;
}

static int resp_done(struct lp_conn *c, struct lp_pend *p, bool error)
{
	p->r.error = error;
	lp_resp_done(c);
	return 0;
}

static int resp_line(struct lp_conn *c, const char *l, unsigned int len)
{
	struct lp_pend *p = lp_resp_cur(c);
	struct tok t[4], last;
	long long bytes;
	unsigned int n;

	if (!p)
		return lp_lose(c, LP_LOST_GARBAGE);
	if (is_error(l, len))
		return resp_done(c, p, true);
	switch (p->kind) {
	case MC_RETR:
		if (lp_is(l, len, "END", false))
			return resp_done(c, p, false);
		n = tokens(l, len, t, 4, &last);
		if (!starts(l, len, "VALUE ") || (n != 4 && n != 5) || data_len(c, &t[3], &bytes))
			return lp_lose(c, LP_LOST_GARBAGE);
		lp_skip(c, LP_RESP, bytes + 2, 0);
		return 0;
	case MC_STATS:
		if (starts(l, len, "STAT ") || starts(l, len, "ITEM "))
			return 0;
		return resp_done(c, p, false);
	case MC_META:
		if (!starts(l, len, "VA "))
			return resp_done(c, p, false);
		n = tokens(l, len, t, 2, &last);
		if (n < 2 || data_len(c, &t[1], &bytes))
			return lp_lose(c, LP_LOST_GARBAGE);
		lp_skip(c, LP_RESP, bytes + 2, 0);
		return 0;
	}
	return resp_done(c, p, false);
}

static int mc_line(struct lp_conn *c, void *st, enum lp_kind k, const char *l, unsigned int len)
{
	return k == LP_REQ ? req_line(c, st, l, len) : resp_line(c, l, len);
}

static int mc_body(struct lp_conn *c, void *p, enum lp_kind k, const unsigned char *cap,
		   unsigned int caplen)
{
	struct mc_st *st = p;
	struct lp_pend *r;

	if (k == LP_REQ) {
		lp_req_done(c, st->noreply);
		return 0;
	}
	/* A VALUE's block: END still to come; a VA's ends the response. */
	r = lp_resp_cur(c);
	if (r && r->kind == MC_META)
		return resp_done(c, r, false);
	return 0;
}

/* A command word, whole and followed by a blank or the line's end; binary is unsupported. */
static enum lp_rec mc_recognize(const unsigned char *b, unsigned int n, bool line, bool alone)
{
	unsigned int w, i;
	bool more = false;

	if (n && b[0] == 0x80)
		return LP_REC_UNSUP;
	for (w = 0; w < n && ((b[w] >= 'a' && b[w] <= 'z') || b[w] == '_'); w++)
		;
	if (w < n && b[w] != ' ' && b[w] != '\r' && b[w] != '\n')
		return LP_REC_NO;
	for (i = 0; i < NCMDS; i++) {
		size_t m = strlen(cmds[i].name);

		if (w == n && w < m && !memcmp(b, cmds[i].name, w))
			more = true;
		if (w == m && !memcmp(b, cmds[i].name, w))
			return w < n ? LP_REC_YES : LP_REC_MORE;
	}
	return more ? LP_REC_MORE : LP_REC_NO;
}

const struct lp_framer lp_memcache_framer = {
	.proto = LP_MEMCACHE,
	.state_size = sizeof(struct mc_st),
	.recognize = mc_recognize,
	.line = mc_line,
	.body = mc_body,
};
