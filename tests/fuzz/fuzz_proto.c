// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * libFuzzer target for tcplat --proto's framers and matcher: random
 * bytes, cut into the chunks of random syscalls in both directions,
 * some of them copied only in part, must never crash the engine, make
 * it read out of bounds, stall, or emit a record that breaks what the
 * API promises.
 *
 * Input: a byte choosing the protocols, a byte of flags (role,
 * midstream, from_read, path depth, whether to close), then chunks,
 * each a control byte (stream, copy mode, extra length), a length
 * byte, and that many bytes of data.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tcplat/proto.h"

#define ALL_PROTOS	(LP_BIT(LP_REDIS) | LP_BIT(LP_HTTP) | LP_BIT(LP_MEMCACHE))

struct seen {
	enum lp_role role;
	bool done;			/* closed or freed: nothing more may come */
	unsigned long long n, nraw;
	unsigned long long req_bytes, resp_bytes;
	unsigned long long last_start;
	unsigned long long now;		/* the latest end_ns fed */
};

static void check(void *ctx, const struct lp_req *r)
{
	struct seen *s = ctx;
	bool complete = !r->incomplete && !r->noreply;

	if (s->done || r->role != s->role)
		abort();
	if (r->proto < LP_REDIS || r->proto > LP_RAW)
		abort();
	if (!memchr(r->op, '\0', LP_OP_LEN) || !memchr(r->path, '\0', LP_PATH_LEN))
		abort();
	/* Raw records have no op; framed ones always have one. */
	if ((r->proto == LP_RAW) != !r->op[0])
		abort();
	if (r->status > 999 || (r->status && r->proto != LP_HTTP))
		abort();
	if (r->noreply && (r->proto != LP_MEMCACHE || r->incomplete))
		abort();
	if (complete && (!r->end_ns || r->end_ns < r->start_ns || r->end_ns > s->now))
		abort();
	if (!complete && r->end_ns)
		abort();
	/* In order: every request starts no earlier than the one before. */
	if (r->start_ns < s->last_start || r->start_ns > s->now)
		abort();
	s->last_start = r->start_ns;
	s->n++;
	s->nraw += r->proto == LP_RAW;
	s->req_bytes += r->req_bytes;
	s->resp_bytes += r->resp_bytes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned long long fed[2] = { 0, 0 }, chunks[2] = { 0, 0 }, t = 1000, lost = 0;
	struct lp_stats st;
	struct lp_opts o;
	struct lp_conn *c;
	struct seen s;
	size_t off;
	int i;

	if (size < 2)
		return 0;
	memset(&o, 0, sizeof(o));
	o.protos = (data[0] & 7) << 1;
	if (!o.protos && !(data[0] & 8))
		o.protos = ALL_PROTOS;
	o.from_read = data[1] & 4;
	o.http_path_depth = (data[1] >> 3) & 3;
	memset(&s, 0, sizeof(s));
	memset(&st, 0, sizeof(st));
	s.role = data[1] & 1 ? LP_CLIENT : LP_SERVER;
	c = lp_conn_new(&o, s.role, data[1] & 2);
	if (!c)
		return 0;
	for (off = 2; off + 2 <= size;) {
		unsigned int ctl = data[off], n = data[off + 1], ext = ctl >> 3, k = ctl & 1;
		struct lp_chunk ch;
		unsigned char *copy;

		off += 2;
		if (n > size - off)
			n = size - off;
		memset(&ch, 0, sizeof(ch));
		ch.len = ch.copied = n;
		switch ((ctl >> 1) & 3) {
		case 1:			/* an uncopied tail */
			ch.len += ext;
			break;
		case 2:			/* a long uncopied tail, over a body */
			ch.len += ext * 997;
			break;
		case 3:			/* less copied than the data */
			ch.copied -= ext < n ? ext : n;
			break;
		}
		if (!ch.len)
			continue;
		/* An exact-size heap copy, so ASan sees any overread. */
		copy = malloc(ch.copied ? ch.copied : 1);
		if (!copy)
			break;
		memcpy(copy, data + off, ch.copied);
		off += n;
		ch.data = copy;
		/* k 0: the request stream, whichever way it flows in this role. */
		ch.dir = (k == 0) == (s.role == LP_SERVER) ? LP_IN : LP_OUT;
		ch.start_ns = t + 1;
		ch.end_ns = t + 5;
		ch.narr = ext & 3;
		for (i = 0; i < (int)ch.narr; i++) {
			ch.arr_off[i] = (i + 1) * ch.len / (ch.narr + 1);
			ch.arr_ns[i] = t + 1 + i;
		}
		s.now = ch.end_ns;
		t += 10;
		fed[k] += ch.len;
		chunks[k]++;
		lp_conn_feed(c, &ch, &st, check, &s);
		free(copy);
		if (lp_conn_proto(c) > LP_RAW)
			abort();
	}
	if (data[1] & 32) {
		lp_conn_close(c, t, &st, check, &s);
		s.done = true;
		/* Closed: more bytes emit nothing. */
		{
			struct lp_chunk ch;

			memset(&ch, 0, sizeof(ch));
			ch.data = (const unsigned char *)"GET / HTTP/1.1\r\n\r\n";
			ch.len = ch.copied = 18;
			lp_conn_feed(c, &ch, &st, check, &s);
			lp_conn_close(c, t, &st, check, &s);
		}
	}
	lp_conn_free(c);
	s.done = true;
	/* No byte belongs to two records; no request without a byte of its own. */
	if (s.req_bytes > fed[0] || s.resp_bytes > fed[1] || s.n > fed[0] || s.nraw > chunks[0])
		abort();
	for (i = 0; i < LP_LOST_MAX; i++)
		lost += st.lost[i];
	/* Framing is lost at most once per connection. */
	if (lost > 1 || st.lost_requests > LP_MAX_OUTSTANDING)
		abort();
	if (st.unparsed_bytes > fed[0] + fed[1])
		abort();
	return 0;
}
