/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Between tcplat --proto's engine (proto.c) and its framers
 * (proto_redis.c, proto_http.c, proto_memcache.c).
 *
 * The engine cuts each of a connection's two streams into lines and
 * bodies.  A framer reads the lines, says how long the body that
 * follows one is, and marks where requests and responses end; the
 * engine keeps the requests in order, times them and emits them.
 */
#ifndef TCPLAT_PROTO_INT_H
#define TCPLAT_PROTO_INT_H

#include <stddef.h>
#include "tcplat/proto.h"

/* A connection's two streams, whichever way each one flows. */
enum lp_kind {
	LP_REQ,
	LP_RESP,
};

/* Bytes at the start of a skipped body a framer may keep. */
#define LP_CAP	32

/* A request from its first byte until it is emitted. */
struct lp_pend {
	struct lp_req r;
	bool req_done;		/* its last byte was framed */
	bool resp_done;		/* answered, or needs no answer */
	unsigned char kind;	/* the framer's: what its response looks like */
};

enum lp_rec {
	LP_REC_NO,		/* not this protocol */
	LP_REC_MORE,		/* could be: more bytes decide */
	LP_REC_YES,
	LP_REC_UNSUP,		/* a variant the framer cannot follow */
};

struct lp_framer {
	enum lp_proto proto;
	size_t state_size;	/* per connection, zeroed by the engine */
	/*
	 * The start of a request stream: its first @n bytes, all of its
	 * first line when @line.  @alone: no other protocol is allowed.
	 */
	enum lp_rec (*recognize)(const unsigned char *b, unsigned int n, bool line, bool alone);
	/*
	 * A line of stream @k without its "\n" or "\r\n".  Returns 0, or
	 * lp_lose()'s value when the stream cannot be followed.
	 */
	int (*line)(struct lp_conn *c, void *st, enum lp_kind k, const char *l, unsigned int len);
	/*
	 * The body lp_skip() announced has passed; @cap holds its first
	 * @caplen bytes, fewer than asked for where they were not copied.
	 */
	int (*body)(struct lp_conn *c, void *st, enum lp_kind k, const unsigned char *cap,
		    unsigned int caplen);
};

extern const struct lp_framer lp_redis_framer;
extern const struct lp_framer lp_http_framer;
extern const struct lp_framer lp_memcache_framer;

/* The request whose bytes the request stream is reading, or NULL. */
struct lp_pend *lp_req_cur(struct lp_conn *c);
/* The oldest request still awaiting its response, or NULL. */
struct lp_pend *lp_resp_cur(struct lp_conn *c);
/* The request ends here; @noreply: none will answer it. */
void lp_req_done(struct lp_conn *c, bool noreply);
/* What began was no request (an empty command): forget it. */
void lp_req_cancel(struct lp_conn *c);
/* lp_resp_cur() is answered; its status and error are set already. */
void lp_resp_done(struct lp_conn *c);
/* An interim response (HTTP 1xx): the final one is still to come. */
void lp_resp_interim(struct lp_conn *c);
/* A message out of band (a RESP3 push): it answers nothing. */
void lp_resp_oob(struct lp_conn *c);
/* The next @n (> 0) bytes of @k are a body; keep up to @cap of them. */
void lp_skip(struct lp_conn *c, enum lp_kind k, unsigned long long n, unsigned int cap);
/* The rest of @k, until the connection closes, is a body. */
void lp_skip_to_close(struct lp_conn *c, enum lp_kind k);
/* The framing is lost for @why: returns -1, for the framer to return. */
int lp_lose(struct lp_conn *c, enum lp_lost why);
int lp_path_depth(const struct lp_conn *c);

/* @n bytes as an op, uppercased if @upper: "?" when empty or unprintable. */
void lp_set_op(char *op, const char *s, size_t n, bool upper);
/* A decimal number, '-' allowed when @neg; 0 on success. */
int lp_parse_dec(const char *s, size_t n, bool neg, long long *v);
/* Whether the @n bytes at @s are @word, ignoring case when @icase. */
bool lp_is(const char *s, size_t n, const char *word, bool icase);

#endif
