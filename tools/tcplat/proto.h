/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * tcplat --proto: application messages framed from the bytes each
 * read and write of a traced connection moved, requests matched with
 * their responses in order, one record per request.
 *
 * The caller feeds one chunk per syscall, in the order the process
 * made them.  Only the first `copied` bytes of a chunk are known; the
 * rest can be skipped where a framer is inside a body of declared
 * length, and otherwise lose the connection's framing (counted).
 */
#ifndef TCPLAT_PROTO_H
#define TCPLAT_PROTO_H

#include <stdbool.h>

enum lp_proto {
	LP_UNKNOWN,		/* not recognized yet */
	LP_REDIS,		/* RESP2/RESP3, arrays and inline commands */
	LP_HTTP,		/* HTTP/1.0 and 1.1 */
	LP_MEMCACHE,		/* memcached's text protocol */
	LP_RAW,			/* none: a request is a change of direction */
	LP_NPROTO,
};

/* Bits of lp_conn_new()'s `protos`; all three for --proto auto. */
#define LP_BIT(p)	(1u << (p))

enum lp_role {
	LP_SERVER,		/* reads requests, writes responses */
	LP_CLIENT,		/* writes requests, reads responses */
};

enum lp_dir {
	LP_IN,			/* read by the traced process */
	LP_OUT,			/* written by it */
};

/* Why a connection's messages stopped being framed (lp_stats.lost[]). */
enum lp_lost {
	LP_LOST_GARBAGE,	/* bytes no framer of its protocol accepts */
	LP_LOST_UNCOPIED,	/* a header lay beyond the copied bytes */
	LP_LOST_LONG,		/* a header line longer than LP_MAX_LINE */
	LP_LOST_OUTSTANDING,	/* more than LP_MAX_OUTSTANDING unanswered */
	LP_LOST_UNSUPPORTED,	/* e.g. SUBSCRIBE, Upgrade, CONNECT, binary */
	LP_LOST_MAX,
};

#define LP_MAX_LINE		8192	/* longest header line kept */
#define LP_MAX_OUTSTANDING	1024	/* requests awaiting responses */
#define LP_MAX_ARR		8	/* arrival marks per chunk */
#define LP_OP_LEN		32	/* op names: at most 31 bytes */
#define LP_PATH_LEN		64	/* HTTP path prefixes: at most 63 */

/* One read or write on the connection. */
struct lp_chunk {
	const unsigned char *data;	/* its first `copied` bytes */
	unsigned int len;		/* bytes the syscall moved */
	unsigned int copied;		/* <= len */
	unsigned char dir;		/* enum lp_dir */
	unsigned long long start_ns;	/* LP_OUT: the write's entry */
	unsigned long long end_ns;	/* its return */
	/*
	 * LP_IN: when the bytes arrived in the kernel.  Bytes below
	 * arr_off[i] (and at or above arr_off[i - 1]) arrived at
	 * arr_ns[i]; bytes past the last mark, or all bytes when narr is
	 * 0, at end_ns.
	 */
	unsigned int narr;
	unsigned int arr_off[LP_MAX_ARR];
	unsigned long long arr_ns[LP_MAX_ARR];
};

/* A request and its response, or a request cut off. */
struct lp_req {
	unsigned char proto;		/* enum lp_proto */
	unsigned char role;		/* enum lp_role */
	bool error;			/* -ERR, HTTP 5xx, SERVER_ERROR, ... */
	bool incomplete;		/* no (complete) response: cut off */
	bool noreply;			/* memcached noreply: no response expected */
	unsigned short status;		/* HTTP status code; 0 otherwise */
	char op[LP_OP_LEN];		/* "GET", "SET", "get", ""(raw) */
	char path[LP_PATH_LEN];		/* HTTP, --http-path-depth > 0 */
	unsigned long long start_ns;
	unsigned long long end_ns;	/* 0: incomplete or noreply */
	unsigned long long req_bytes;
	unsigned long long resp_bytes;
};

typedef void (*lp_emit_fn)(void *ctx, const struct lp_req *r);

struct lp_opts {
	unsigned int protos;		/* LP_BIT()s that may be recognized */
	bool from_read;			/* server: start at the read, not the arrival */
	int http_path_depth;		/* 0: no path */
};

struct lp_stats {
	unsigned long long lost[LP_LOST_MAX];	/* connections, by cause */
	unsigned long long lost_requests;	/* outstanding when framing was lost */
	unsigned long long unparsed_bytes;	/* skipped without framing */
};

struct lp_conn;

/*
 * midstream: the connection was open before tracing began; framing
 * starts at the first request after a change of direction.
 */
struct lp_conn *lp_conn_new(const struct lp_opts *o, enum lp_role role,
			    bool midstream);
void lp_conn_free(struct lp_conn *c);
/* One syscall's bytes; emits every request it completes, in order. */
void lp_conn_feed(struct lp_conn *c, const struct lp_chunk *ch,
		  struct lp_stats *st, lp_emit_fn emit, void *ctx);
/* The connection ended at ts: open requests are emitted incomplete. */
void lp_conn_close(struct lp_conn *c, unsigned long long ts,
		   struct lp_stats *st, lp_emit_fn emit, void *ctx);
enum lp_proto lp_conn_proto(const struct lp_conn *c);

const char *lp_proto_name(enum lp_proto p);
/*
 * "redis", "http", "memcache", "auto", or a comma-separated list of
 * them: LP_BIT()s, or 0 if any is unknown.
 */
unsigned int lp_protos_parse(const char *s);
const char *lp_lost_name(enum lp_lost l);

#endif
