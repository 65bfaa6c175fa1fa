// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * tcpreq's engine: worker threads, each with its own epoll set, its own
 * connections (non-blocking) and its own histogram.  A connection sends
 * one frame at a time; what it sends next is decided by pump().
 *
 * A thread with one connection in closed-loop ping or echo takes the
 * fast path instead: the connection leaves the epoll set and the thread
 * blocks in recv(), so a message costs one recv() and one send() (no
 * epoll_pwait2, no epoll wakeup callback, no kernel timer), one clock
 * read on the client and two on the server, and nothing allocated.
 *
 * Each worker runs on a file table of its own (unshare(CLONE_FILES)):
 * the kernel looks up a descriptor of a single-task table without
 * taking a reference on its file, which every send() and recv() of a
 * table shared by several threads pays (measured: a median 2% of a loopback
 * ping-pong's rate).  The sockets made before the workers start are in
 * every copy; each copy closes what is not its own (see own_table()).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sched.h>
#include <semaphore.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "tcpreq/engine.h"
#include "tcpreq/frame.h"
#include "tcpreq/ring.h"

#define RX_SCRATCH	65536
#define ZBUF_LEN	65536
#define MAX_EVENTS	64
#define REPLY_Q		64	/* requests read ahead of their replies */
#define SCHED_Q		256	/* open-loop sends waiting for their turn */
#define DRAIN_NS	1000000000ULL
#define POLL_CAP_NS	100000000ULL	/* notice a stop request this fast */
#define KICK_NS		1000000ULL	/* kick blocked workers again after */
#define MAX_ERR_LINES	20

struct pend_reply {
	struct tcpreq_hdr h;
	uint64_t arrival;
};

struct conn {
	int fd;
	int slot;		/* index in worker->conns, -1 when closed */
	bool connecting;
	bool dead;
	bool rx_paused;
	bool head_due;		/* the head reply may go now */
	bool in_sleepq;
	bool outstanding;	/* ping: a request is out, no reply yet */
	bool in_ep;		/* in the epoll set (not while parked) */
	uint32_t ev;		/* epoll events registered */
	char peer[128];		/* for messages: the socket may be gone */
	struct tcpreq_rx rx;
	/* the one frame being sent */
	uint8_t thdr[TCPREQ_HDR_LEN];
	uint64_t tsent, ttotal;	/* ttotal 0: nothing being sent */
	uint8_t ttype;
	uint64_t seq;
	/* open loop: intended send times not yet sent */
	uint64_t *sched;
	unsigned int sched_head, sched_n;
	/* requests waiting for their reply */
	struct pend_reply rq[REPLY_Q];
	unsigned int rq_head, rq_n;
	uint64_t wake_ns;
	struct conn *next;	/* sleep queue or graveyard */
	struct tcpreq_ring *ring;	/* --io-uring, once parked */
};

struct tcpreq_worker {
	struct tcpreq_run *r;
	pthread_t th;
	bool started;
	int ep;
	int lfd;
	struct conn **conns;
	int nconns, cap;
	struct tcpreq_counters c;
	struct tcpreq_lat lat;
	uint64_t first_ns, last_ns;	/* first connection, last completion */
	uint64_t tick_t0, tick_k;
	double tick_ns;
	unsigned int rr;
	struct conn *sleep_head, *sleep_tail;
	struct conn *grave;
	uint8_t *scratch;
	uint8_t *txbuf;		/* a header's room, then ZBUF_LEN zeros */
	struct conn *parked;	/* out of the epoll set for the fast path */
	uint64_t drain_until;
	uint64_t now;
	int blocking;		/* in the fast path (its recv()): kick to wake */
	bool in_ring;		/* handling the ring's completions: sends go there */
	bool ring_queued;	/* a send is queued for the ring's next wait */
	uint64_t ring_len;	/* its bytes (kept after the wait, for a short send) */
	/* descriptors made before it started: its listener, epoll set, connections */
	int *start_fds;
	int nstart;
	bool own_fds;		/* it runs on a file table of its own */
	sem_t settled;		/* posted once it has its table */
};

static int err_lines, connect_errs;

uint64_t tcpreq_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Counters have one writer (the worker); the reporter only reads. */
static void cnt_add(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, *p + v, __ATOMIC_RELAXED);
}

/* One line per dropped connection, and not a flood of them. */
static void conn_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void conn_log(const char *fmt, ...)
{
	int n = __atomic_fetch_add(&err_lines, 1, __ATOMIC_RELAXED);
	char buf[256];
	va_list ap;

	if (n > MAX_ERR_LINES)
		return;
	if (n == MAX_ERR_LINES) {
		lk_err("further connection errors are counted, not logged");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	lk_err("%s", buf);
}

static void addr_name(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &a4->sin_addr, host, sizeof(host));
		port = ntohs(a4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof(host));
		port = ntohs(a6->sin6_port);
	}
	snprintf(buf, len, "%s:%d", host, port);
}

/* Sequentially consistent: pairs with ->blocking (see kick()). */
static bool stopping(struct tcpreq_worker *w)
{
	return __atomic_load_n(&w->r->stop, __ATOMIC_SEQ_CST) != 0;
}

static void conn_close(struct tcpreq_worker *w, struct conn *c, bool error);
static void ring_close(struct tcpreq_worker *w, struct conn *c);

static void set_events(struct tcpreq_worker *w, struct conn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };

	if (c->ev == ev || c->dead)
		return;
	/* Parked: the set is registered when it goes back. */
	if (!c->in_ep)
		c->ev = ev;
	else if (!epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &e))
		c->ev = ev;
}

/*
 * The fast path: take the one connection out of the epoll set, so that
 * its data wakes only the recv() (no epoll callback per message).
 */
static void park(struct tcpreq_worker *w, struct conn *c)
{
	if (!c->in_ep || epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL))
		return;
	c->in_ep = false;
	w->parked = c;
}

/* Back into the epoll set (level-triggered: what is pending shows). */
static void unpark(struct tcpreq_worker *w)
{
	struct conn *c = w->parked;
	struct epoll_event e;

	if (!c)
		return;
	w->parked = NULL;
	e.events = c->ev;
	e.data.ptr = c;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &e)) {
		conn_log("epoll for %s: %s; connection dropped", c->peer, strerror(errno));
		conn_close(w, c, true);
		return;
	}
	c->in_ep = true;
}

static void conn_close(struct tcpreq_worker *w, struct conn *c, bool error)
{
	struct linger lg = { 1, 0 };
	struct conn *last;

	if (c->dead)
		return;
	c->dead = true;
	if (w->parked == c)
		w->parked = NULL;
	if (error)
		cnt_add(&w->c.errors, 1);
	if (w->r->cfg.linger0)
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (c->in_ep)
		epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
	ring_close(w, c);
	close(c->fd);
	c->fd = -1;
	last = w->conns[--w->nconns];
	last->slot = c->slot;
	w->conns[c->slot] = last;
	c->slot = -1;
	__atomic_fetch_sub(&w->r->live, 1, __ATOMIC_RELAXED);
	/* Events of this batch may still point here: free it later. */
	if (!c->in_sleepq) {
		c->next = w->grave;
		w->grave = c;
	}
}

static void conn_fail(struct tcpreq_worker *w, struct conn *c, const char *what,
		      const char *why)
{
	conn_log("%s %s: %s; connection dropped", what, c->peer, why);
	conn_close(w, c, true);
}

static void free_conn(struct conn *c)
{
	free(c->sched);
	free(c);
}

static void bury(struct tcpreq_worker *w)
{
	struct conn *c;

	while ((c = w->grave)) {
		w->grave = c->next;
		free_conn(c);
	}
}

/* Inside the measured window (--warmup/--cooldown)? */
static bool measured(struct tcpreq_worker *w, uint64_t now)
{
	const struct tcpreq_cfg *cfg = &w->r->cfg;

	if (now < w->first_ns + cfg->warmup_ns)
		return false;
	if (cfg->duration_ns && cfg->cooldown_ns &&
	    now + cfg->cooldown_ns > w->r->t_begin + cfg->duration_ns)
		return false;
	return true;
}

/* One operation done; @lat false for a push sent (its latency is the peer's). */
static void complete(struct tcpreq_worker *w, uint64_t ns, bool lat)
{
	uint64_t now = w->now;

	cnt_add(&w->c.requests, 1);
	w->last_ns = now;
	/* Shared by the threads: a locked add, so only when it is needed. */
	if (w->r->cfg.requests)
		__atomic_fetch_add(&w->r->completed, 1, __ATOMIC_RELAXED);
	if (lat)
		cnt_add(&w->c.lat_sum_ns, ns);
	if (!measured(w, now))
		return;
	cnt_add(&w->c.measured, 1);
	if (!lat)
		return;
	tcpreq_lat_add(&w->lat, ns);
	/* stdio locks the stream: threads' lines do not mix. */
	if (w->r->cfg.log)
		fprintf(w->r->cfg.log, "%" PRIu64 " %" PRIu64 "\n", now - ns, now);
}

/* Issue one more request (or push)?  Counts it against --requests. */
static bool may_issue(struct tcpreq_worker *w)
{
	struct tcpreq_run *r = w->r;

	if (stopping(w))
		return false;
	if (!r->cfg.requests)
		return true;
	if (__atomic_load_n(&r->issued, __ATOMIC_RELAXED) >= r->cfg.requests)
		return false;
	return __atomic_fetch_add(&r->issued, 1, __ATOMIC_RELAXED) < r->cfg.requests;
}

/*
 * glibc's send() and recv() are cancellation points: in a process with
 * threads each call turns the thread's asynchronous cancellation on and
 * off around the system call, two atomic compare-and-swaps.  tcpreq never
 * cancels a thread, so it makes the two calls itself (measured: a median
 * 0.9% more messages/s in a pinned loopback ping-pong, 20 interleaved
 * pairs of 3 s runs against glibc's calls, 0.995 to 1.038 pair by pair).
 */
static ssize_t sock_send(int fd, const void *buf, size_t len, int flags)
{
	return syscall(SYS_sendto, fd, buf, len, flags, NULL, 0);
}

static ssize_t sock_recv(int fd, void *buf, size_t len, int flags)
{
	return syscall(SYS_recvfrom, fd, buf, len, flags, NULL, NULL);
}

/*
 * Write what is left of the frame: 0 sent, 1 blocked, -1 connection gone.
 * One send() from one buffer (the header copied in front of the zeros):
 * cheaper than sendmsg() with two iovecs.
 */
static int tx_flush(struct tcpreq_worker *w, struct conn *c)
{
	const uint8_t *buf;
	uint64_t len;
	ssize_t n;

	/* In the ring's fast path a request goes with the next wait. */
	if (w->in_ring && !c->tsent && c->ttype == TCPREQ_REQ) {
		if (c->ttotal > TCPREQ_HDR_LEN + ZBUF_LEN ||
		    tcpreq_ring_send(c->ring, w->txbuf, c->ttotal)) {
			set_events(w, c, c->ev | EPOLLOUT);
			return 1;
		}
		/* Read when the wait submits it. */
		memcpy(w->txbuf, c->thdr, TCPREQ_HDR_LEN);
		w->ring_queued = true;
		w->ring_len = c->ttotal;
		cnt_add(&w->c.bytes_out, c->ttotal);
		c->ttotal = 0;
		return 0;
	}
	while (c->tsent < c->ttotal) {
		if (c->tsent < TCPREQ_HDR_LEN) {
			memcpy(w->txbuf + c->tsent, c->thdr + c->tsent,
			       TCPREQ_HDR_LEN - c->tsent);
			buf = w->txbuf + c->tsent;
			len = c->ttotal < TCPREQ_HDR_LEN + ZBUF_LEN ?
			      c->ttotal : TCPREQ_HDR_LEN + ZBUF_LEN;
			len -= c->tsent;
		} else {
			buf = w->txbuf + TCPREQ_HDR_LEN;
			len = c->ttotal - c->tsent;
			if (len > ZBUF_LEN)
				len = ZBUF_LEN;
		}
		n = sock_send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				set_events(w, c, c->ev | EPOLLOUT);
				return 1;
			}
			conn_fail(w, c, "send to", strerror(errno));
			return -1;
		}
		c->tsent += n;
		cnt_add(&w->c.bytes_out, n);
	}
	c->ttotal = 0;
	return 0;
}

static void tx_start(struct conn *c, uint8_t type, uint32_t len, uint64_t seq,
		     uint64_t ts)
{
	struct tcpreq_hdr h = { .type = type, .len = len, .seq = seq, .ts = ts };

	tcpreq_hdr_encode(c->thdr, &h);
	c->ttype = type;
	c->tsent = 0;
	c->ttotal = TCPREQ_HDR_LEN + (uint64_t)len;
}

/* A frame has gone out completely: account for it. */
static void tx_done(struct tcpreq_worker *w, struct conn *c)
{
	struct pend_reply *p;

	switch (c->ttype) {
	case TCPREQ_REPLY:
		p = &c->rq[c->rq_head];
		c->rq_head = (c->rq_head + 1) % REPLY_Q;
		c->rq_n--;
		c->head_due = false;
		/*
		 * The loop's clock is as old as the batch: read it afresh.
		 * This read also ends the service time, and no other can
		 * stand in for it: the request's came before the send, the
		 * next one comes after the wait for the next request.  It
		 * costs ~27 ns of a ~7 us loopback message; measured without
		 * it, the server's CPU per message was 0.995 of this (0.94 to
		 * 1.07 over 16 pairs), inside the noise.
		 */
		w->now = tcpreq_now();
		complete(w, w->now - p->arrival, true);
		if (c->rx_paused) {
			c->rx_paused = false;
			set_events(w, c, c->ev | EPOLLIN);
		}
		break;
	case TCPREQ_PUSH:
		complete(w, 0, false);
		break;
	}
}

static void sleep_push(struct tcpreq_worker *w, struct conn *c)
{
	c->wake_ns = w->now + (uint64_t)(w->r->cfg.sleep_ms * 1e6);
	c->in_sleepq = true;
	c->next = NULL;
	if (w->sleep_tail)
		w->sleep_tail->next = c;
	else
		w->sleep_head = c;
	w->sleep_tail = c;
}

/* Start the next frame if there is one; false when there is nothing to send. */
static bool next_frame(struct tcpreq_worker *w, struct conn *c)
{
	const struct tcpreq_cfg *cfg = &w->r->cfg;
	struct pend_reply *p;
	uint64_t ts;

	if (c->rq_n) {
		if (!c->head_due) {
			if (cfg->sleep_ms <= 0)
				c->head_due = true;
			else if (!c->in_sleepq)
				sleep_push(w, c);
			if (!c->head_due)
				return false;
		}
		p = &c->rq[c->rq_head];
		tx_start(c, TCPREQ_REPLY, p->h.len, p->h.seq, p->h.ts);
		return true;
	}
	if (cfg->mode == TCPREQ_M_ECHO || c->connecting)
		return false;
	if (cfg->mode == TCPREQ_M_PING && c->outstanding)
		return false;
	if (cfg->rate > 0) {
		if (!c->sched_n)
			return false;
		ts = c->sched[c->sched_head];
		c->sched_head = (c->sched_head + 1) % SCHED_Q;
		c->sched_n--;
	} else {
		ts = w->now;
	}
	if (!may_issue(w)) {
		c->sched_n = 0;
		return false;
	}
	if (cfg->mode == TCPREQ_M_PING) {
		c->outstanding = true;
		tx_start(c, TCPREQ_REQ, cfg->size, c->seq++, ts);
	} else {
		tx_start(c, TCPREQ_PUSH, cfg->size, c->seq++, ts);
	}
	return true;
}

/* Send whatever this connection has to send, until it would block. */
static void pump(struct tcpreq_worker *w, struct conn *c)
{
	int budget = 64;	/* pushes: let the other connections run */

	if (c->connecting)
		return;
	while (!c->dead && budget-- > 0) {
		/*
		 * A request queued in the ring is sent, or cut short, by the
		 * next wait: nothing goes before it, and it may come back.
		 */
		if (w->ring_queued)
			break;
		if (!c->ttotal && !next_frame(w, c))
			break;
		if (tx_flush(w, c))
			return;
		tx_done(w, c);
	}
	if (c->dead)
		return;
	/* A closed-loop pusher always has more to send. */
	if (w->r->cfg.mode == TCPREQ_M_PUSH && w->r->cfg.rate <= 0 && !stopping(w))
		set_events(w, c, c->ev | EPOLLOUT);
	else if (!c->ttotal)
		set_events(w, c, c->ev & ~EPOLLOUT);
}

static void on_frame(struct tcpreq_worker *w, struct conn *c,
		     const struct tcpreq_hdr *h)
{
	uint64_t now = w->now;
	struct pend_reply *p;

	switch (h->type) {
	case TCPREQ_REQ:
		/* rx_room() keeps recv() from it; a ring's chunk cannot be. */
		if (c->rq_n == REPLY_Q) {
			conn_fail(w, c, "peer", "more requests at once than tcpreq queues");
			return;
		}
		p = &c->rq[(c->rq_head + c->rq_n) % REPLY_Q];
		p->h = *h;
		p->arrival = now;
		c->rq_n++;
		break;
	case TCPREQ_REPLY:
		if (!c->outstanding || h->seq + 1 != c->seq) {
			conn_fail(w, c, "unexpected reply from", "protocol error");
			return;
		}
		c->outstanding = false;
		complete(w, now > h->ts ? now - h->ts : 0, true);
		break;
	case TCPREQ_PUSH:
		complete(w, now > h->ts ? now - h->ts : 0, true);
		break;
	}
}

static bool conn_busy(const struct conn *c)
{
	return c->outstanding || c->ttotal || c->rq_n || tcpreq_rx_partial(&c->rx);
}

/*
 * The peer closed (FIN) or reset: between messages and with nothing
 * owed, that is how a run ends (a reset is how --linger0 ends it).
 */
static void on_eof(struct tcpreq_worker *w, struct conn *c, bool reset)
{
	if (tcpreq_rx_partial(&c->rx)) {
		conn_fail(w, c, "peer", reset ? "reset mid-message" : "closed mid-message");
		return;
	}
	if (c->outstanding || c->rq_n) {
		conn_fail(w, c, "peer", reset ? "reset with requests outstanding" :
			  "closed with requests outstanding");
		return;
	}
	/* A client expects the server to stay. */
	if (!w->r->cfg.server && !stopping(w)) {
		conn_fail(w, c, "server", "closed the connection");
		return;
	}
	conn_close(w, c, false);
}

/* Bytes we may read without completing more requests than we can queue. */
static size_t rx_room(const struct conn *c)
{
	uint64_t room;
	unsigned int free = REPLY_Q - c->rq_n;

	if (!free)
		return 0;
	room = tcpreq_rx_need(&c->rx) + (uint64_t)(free - 1) * TCPREQ_HDR_LEN;
	return room < RX_SCRATCH ? room : RX_SCRATCH;
}

/* Received bytes: frames out of them, until the connection fails. */
static void rx_bytes(struct tcpreq_worker *w, struct conn *c, const uint8_t *buf,
		     size_t n)
{
	size_t off, used;
	int ret;

	cnt_add(&w->c.bytes_in, n);
	for (off = 0; off < n && !c->dead; off += used) {
		ret = tcpreq_rx_feed(&c->rx, buf + off, n - off, &used);
		if (ret < 0) {
			conn_fail(w, c, "peer", tcpreq_frame_strerror(ret));
			return;
		}
		if (ret == 1)
			on_frame(w, c, &c->rx.cur);
	}
}

/*
 * Read what is there.  @block: wait in recv() for the first bytes (the
 * single-connection fast path: a kick, SIGURG, ends the wait).
 */
static void on_readable(struct tcpreq_worker *w, struct conn *c, bool block)
{
	size_t cap;
	ssize_t n;
	int i;

	for (i = 0; i < 4 && !c->dead; i++) {
		cap = rx_room(c);
		if (!cap) {
			c->rx_paused = true;
			set_events(w, c, c->ev & ~EPOLLIN);
			break;
		}
		n = sock_recv(c->fd, w->scratch, cap, block ? 0 : MSG_DONTWAIT);
		/*
		 * A client's round trip ends when the reply is in hand, after
		 * the recv() that brought it, in every mode: the loop's clock
		 * (read when epoll_pwait2 returned) is older by the replies
		 * of the batch read before this one.  A server keeps the
		 * loop's clock: its requests waited from then on.
		 */
		if (block || (n > 0 && !w->r->cfg.server))
			w->now = tcpreq_now();
		block = false;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECONNRESET) {
				on_eof(w, c, true);
				return;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_fail(w, c, "receive from", strerror(errno));
			break;
		}
		if (!n) {
			on_eof(w, c, false);
			return;
		}
		rx_bytes(w, c, w->scratch, n);
		if (c->dead)
			return;
		/* Short read: the socket is empty, epoll will say when not. */
		if ((size_t)n < cap)
			break;
	}
	if (!c->dead)
		pump(w, c);
}

/* A completion from the connection's ring (--io-uring). */
static void ring_event(struct tcpreq_worker *w, struct conn *c,
		       const struct tcpreq_ring_ev *ev)
{
	uint64_t went;

	if (ev->kind == TCPREQ_RING_SEND) {
		if (ev->res < 0 && ev->res != -EAGAIN) {
			conn_fail(w, c, "send to", strerror(-ev->res));
			return;
		}
		/*
		 * The socket's send buffer had room for part of the request
		 * (res: the bytes that went) or none of it: send() does the
		 * rest once there is room, on the epoll path.
		 */
		went = ev->res > 0 ? ev->res : 0;
		cnt_add(&w->c.bytes_out, went - w->ring_len);
		c->ttotal = w->ring_len;
		c->tsent = went;
		w->in_ring = false;
		return;
	}
	if (ev->res == -ECONNRESET)
		on_eof(w, c, true);
	else if (ev->res < 0)
		conn_fail(w, c, "receive from", strerror(-ev->res));
	else if (!ev->res)
		on_eof(w, c, false);
	else
		rx_bytes(w, c, ev->data, ev->res);
}

/*
 * The fast path with --io-uring: send what pump() queued and wait for
 * the reply in one io_uring_enter(), as on_readable() does in recv().
 */
static void ring_step(struct tcpreq_worker *w, struct conn *c)
{
	struct tcpreq_ring_ev ev;
	int err = 0;

	if (!c->ring) {
		c->ring = tcpreq_ring_new(c->fd, &err);
		if (!c->ring) {
			conn_fail(w, c, "io_uring for", tcpreq_ring_why(err));
			return;
		}
	}
	err = tcpreq_ring_wait(c->ring);
	w->ring_queued = false;
	/* The reply is in hand: the round trip ends here, as after recv(). */
	w->now = tcpreq_now();
	if (err && err != -EINTR) {
		conn_fail(w, c, "io_uring wait for", strerror(-err));
		return;
	}
	w->in_ring = true;
	while (!c->dead && tcpreq_ring_next(c->ring, &ev))
		ring_event(w, c, &ev);
	if (!c->dead)
		pump(w, c);
	w->in_ring = false;
}

/*
 * Leave the ring's fast path: send what is queued, cancel the recv and
 * take what it brought before it ended (@keep; a closing connection
 * drops it), so that recv() and epoll see the stream from there on.
 */
static void ring_quiesce(struct tcpreq_worker *w, struct conn *c, bool keep)
{
	struct tcpreq_ring_ev ev;
	int err;

	if (!c->ring)
		return;
	w->in_ring = false;
	w->ring_queued = false;
	err = tcpreq_ring_cancel(c->ring);
	for (;;) {
		while (tcpreq_ring_next(c->ring, &ev))
			if (keep && !c->dead)
				ring_event(w, c, &ev);
		if (err || !tcpreq_ring_armed(c->ring))
			break;
		err = tcpreq_ring_wait(c->ring);
		if (err == -EINTR)
			err = 0;
	}
	if (err) {
		/* Freeing the ring ends the recv too, a little later. */
		tcpreq_ring_free(c->ring);
		c->ring = NULL;
		if (keep && !c->dead)
			conn_fail(w, c, "io_uring for", strerror(-err));
	}
	if (keep && !c->dead)
		pump(w, c);
}

/* Before the socket closes: no request of the ring may hold it open. */
static void ring_close(struct tcpreq_worker *w, struct conn *c)
{
	if (!c->ring)
		return;
	ring_quiesce(w, c, false);
	tcpreq_ring_free(c->ring);
	c->ring = NULL;
}

/*
 * Connected sockets stay in blocking mode: every call but the fast
 * path's recv() says MSG_DONTWAIT.  No SO_RCVTIMEO: it would arm a
 * kernel timer on every blocking recv(); the main thread kicks a
 * blocked worker instead (tcpreq_wait(), tcpreq_stop()).
 */
static void set_sockopts(struct tcpreq_run *r, int fd)
{
	int one = 1;

	if (r->cfg.nodelay)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
}

static struct conn *conn_add(struct tcpreq_worker *w, int fd, bool connecting)
{
	struct epoll_event e = {};
	struct conn *c, **nc;

	if (w->nconns == w->cap) {
		int cap = w->cap ? w->cap * 2 : 16;

		nc = realloc(w->conns, cap * sizeof(*nc));
		if (!nc)
			return NULL;
		w->conns = nc;
		w->cap = cap;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (w->r->cfg.rate > 0) {
		c->sched = calloc(SCHED_Q, sizeof(*c->sched));
		if (!c->sched) {
			free(c);
			return NULL;
		}
	}
	c->fd = fd;
	c->connecting = connecting;
	tcpreq_rx_init(&c->rx, w->r->cfg.max_size);
	c->ev = EPOLLIN | (connecting ? EPOLLOUT : 0);
	e.events = c->ev;
	e.data.ptr = c;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &e)) {
		free_conn(c);
		return NULL;
	}
	c->in_ep = true;
	c->slot = w->nconns;
	w->conns[w->nconns++] = c;
	__atomic_fetch_add(&w->r->live, 1, __ATOMIC_RELAXED);
	return c;
}

static void conn_up(struct tcpreq_worker *w, struct conn *c)
{
	c->connecting = false;
	__atomic_fetch_add(&w->r->established, 1, __ATOMIC_RELAXED);
	if (!w->first_ns) {
		w->first_ns = w->now;
		w->tick_t0 = w->now;
	}
	set_sockopts(w->r, c->fd);
	pump(w, c);
}

static void on_connect(struct tcpreq_worker *w, struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err) {
		/* Every connection fails alike: say it once. */
		if (!__atomic_fetch_add(&connect_errs, 1, __ATOMIC_RELAXED))
			lk_err("connect to %s: %s", w->r->cfg.addr_str, strerror(err));
		conn_close(w, c, true);
		return;
	}
	set_events(w, c, EPOLLIN);
	conn_up(w, c);
}

static void on_accept(struct tcpreq_worker *w)
{
	struct tcpreq_run *r = w->r;
	struct conn *c;
	int i, fd;

	for (i = 0; i < 64; i++) {
		struct sockaddr_storage ss = {};
		socklen_t sl = sizeof(ss);

		fd = accept4(w->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				conn_log("accept: %s", strerror(errno));
			return;
		}
		if (r->cfg.conns && __atomic_load_n(&r->live, __ATOMIC_RELAXED) >= r->cfg.conns) {
			conn_log("more than %ld connections: refusing one", r->cfg.conns);
			cnt_add(&w->c.errors, 1);
			close(fd);
			continue;
		}
		c = conn_add(w, fd, false);
		if (!c) {
			conn_log("accept: out of memory");
			close(fd);
			continue;
		}
		addr_name(&ss, c->peer, sizeof(c->peer));
		lk_info("connection from %s", c->peer);
		conn_up(w, c);
	}
}

/* Open loop: hand out the send slots that are due, round robin. */
static void run_ticks(struct tcpreq_worker *w)
{
	struct conn *c;
	int n = 0;

	if (w->r->cfg.rate <= 0 || !w->tick_t0 || stopping(w))
		return;
	while (w->tick_t0 + (uint64_t)(w->tick_k * w->tick_ns) <= w->now && n++ < 100000) {
		uint64_t t = w->tick_t0 + (uint64_t)(w->tick_k * w->tick_ns);

		w->tick_k++;
		if (!w->nconns)
			continue;
		c = w->conns[w->rr++ % w->nconns];
		if (c->sched_n == SCHED_Q) {
			cnt_add(&w->c.overruns, 1);
			continue;
		}
		c->sched[(c->sched_head + c->sched_n) % SCHED_Q] = t;
		c->sched_n++;
		pump(w, c);
	}
}

static void run_sleepers(struct tcpreq_worker *w)
{
	struct conn *c;

	while ((c = w->sleep_head) && c->wake_ns <= w->now) {
		w->sleep_head = c->next;
		if (!w->sleep_head)
			w->sleep_tail = NULL;
		c->in_sleepq = false;
		if (c->dead) {
			free_conn(c);
			continue;
		}
		c->head_due = true;
		pump(w, c);
	}
}

static uint64_t next_deadline(struct tcpreq_worker *w)
{
	const struct tcpreq_cfg *cfg = &w->r->cfg;
	uint64_t t = w->now + POLL_CAP_NS, d;

	if (cfg->rate > 0 && w->tick_t0 && !stopping(w)) {
		d = w->tick_t0 + (uint64_t)(w->tick_k * w->tick_ns);
		if (d < t)
			t = d;
	}
	if (w->sleep_head && w->sleep_head->wake_ns < t)
		t = w->sleep_head->wake_ns;
	if (cfg->duration_ns) {
		d = w->r->t_begin + cfg->duration_ns;
		if (d > w->now && d < t)
			t = d;
	}
	if (w->drain_until && w->drain_until < t)
		t = w->drain_until;
	return t;
}

/* epoll_wait with a ns deadline (epoll_pwait2), ms where it is missing. */
static int wait_events(struct tcpreq_worker *w, struct epoll_event *ev, uint64_t until)
{
	static int no_pwait2;
	uint64_t d = until > w->now ? until - w->now : 0;
#ifdef SYS_epoll_pwait2
	struct timespec ts = { d / 1000000000ULL, d % 1000000000ULL };
	int n;

	if (!no_pwait2) {
		n = syscall(SYS_epoll_pwait2, w->ep, ev, MAX_EVENTS, &ts, NULL, 0);
		if (n >= 0 || errno != ENOSYS)
			return n;
		no_pwait2 = 1;
	}
#endif
	return epoll_wait(w->ep, ev, MAX_EVENTS, (d + 999999) / 1000000);
}

static bool worker_idle(struct tcpreq_worker *w)
{
	int i;

	for (i = 0; i < w->nconns; i++)
		if (conn_busy(w->conns[i]) || w->conns[i]->connecting)
			return false;
	return true;
}

/* Should this worker stop now? */
static bool worker_finished(struct tcpreq_worker *w)
{
	struct tcpreq_run *r = w->r;
	const struct tcpreq_cfg *cfg = &r->cfg;
	int stop;

	if (cfg->duration_ns && w->now >= r->t_begin + cfg->duration_ns)
		tcpreq_request_stop(r, 1);
	/* Also ends a side that only answers (echo, push receiver). */
	if (cfg->requests &&
	    __atomic_load_n(&r->completed, __ATOMIC_RELAXED) >= cfg->requests)
		tcpreq_request_stop(r, 1);
	stop = __atomic_load_n(&r->stop, __ATOMIC_RELAXED);
	if (stop >= 2)
		return true;
	if (stop == 1) {
		if (!w->drain_until)
			w->drain_until = w->now + DRAIN_NS;
		return w->now >= w->drain_until || cfg->server || worker_idle(w);
	}
	if (cfg->server)
		return false;
	if (!w->nconns)
		return true;
	/* --requests used up and every answer in. */
	if (cfg->requests && __atomic_load_n(&r->issued, __ATOMIC_RELAXED) >= cfg->requests)
		return worker_idle(w);
	return false;
}

/*
 * One connection and nothing else to wait for: block in recv() as a
 * plain client would, rather than epoll_wait() and then recv() -- one
 * system call less per message, which is most of the cost on loopback.
 */
static bool can_block(struct tcpreq_worker *w)
{
	const struct tcpreq_cfg *cfg = &w->r->cfg;
	const struct conn *c;

	if (w->nconns != 1 || w->sleep_head || w->drain_until ||
	    cfg->rate > 0 || cfg->mode == TCPREQ_M_PUSH)
		return false;
	c = w->conns[0];
	return !c->connecting && !c->ttotal && !c->rx_paused && !c->rq_n;
}

static void dispatch(struct tcpreq_worker *w, struct epoll_event *e)
{
	struct conn *c = e->data.ptr;

	if (!c) {
		on_accept(w);
		return;
	}
	if (c->dead)
		return;
	if (c->connecting) {
		on_connect(w, c);
		return;
	}
	if (e->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		on_readable(w, c, false);
	if (!c->dead && (e->events & EPOLLOUT))
		pump(w, c);
}

/*
 * Give the worker a copy of the file table and close in it what the
 * other workers made; the main thread then closes its copies of the
 * worker's connections (tcpreq_start()), so that each socket is in one
 * table only and closes when its worker closes it.  Without a table of
 * its own (unshare failed) the worker shares the main thread's, as
 * threads do.
 */
static void own_table(struct tcpreq_worker *w)
{
	struct tcpreq_run *r = w->r;
	int i, k;

	if (unshare(CLONE_FILES) == 0) {
		w->own_fds = true;
		for (i = 0; i < r->nworkers; i++)
			for (k = 0; r->workers[i] != w && k < r->workers[i]->nstart; k++)
				close(r->workers[i]->start_fds[k]);
	}
	sem_post(&w->settled);
}

static void *worker_main(void *arg)
{
	struct tcpreq_worker *w = arg;
	struct epoll_event ev[MAX_EVENTS];
	uint64_t deadline;
	bool fresh = false;
	sigset_t kick;
	int i, n;

	own_table(w);
	sigemptyset(&kick);
	sigaddset(&kick, SIGURG);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);

	for (;;) {
		/* After the fast path's recv() the clock is fresh already. */
		if (!fresh)
			w->now = tcpreq_now();
		fresh = false;
		if (worker_finished(w))
			break;
		if (can_block(w)) {
			uint64_t before = w->c.bytes_in;

			park(w, w->conns[0]);
			/*
			 * A new connection or a stop request kicks us out.
			 * ->blocking stays set from one message to the next
			 * (no locked store per message): a kick that lands
			 * between two recv()s is lost, and sent again.
			 */
			if (!__atomic_load_n(&w->blocking, __ATOMIC_RELAXED))
				__atomic_store_n(&w->blocking, 1, __ATOMIC_SEQ_CST);
			if (!stopping(w)) {
				if (w->r->cfg.io_uring)
					ring_step(w, w->conns[0]);
				else
					on_readable(w, w->conns[0], true);
			}
			bury(w);
			if (w->c.bytes_in != before) {
				fresh = true;
				continue;
			}
			/* Kicked: look at the listener and the rest. */
			deadline = w->now;
		} else {
			deadline = next_deadline(w);
		}
		if (__atomic_load_n(&w->blocking, __ATOMIC_RELAXED))
			__atomic_store_n(&w->blocking, 0, __ATOMIC_SEQ_CST);
		if (w->parked)
			ring_quiesce(w, w->parked, true);
		unpark(w);
		n = wait_events(w, ev, deadline);
		if (n < 0 && errno != EINTR) {
			lk_err("epoll: %s", strerror(errno));
			break;
		}
		w->now = tcpreq_now();
		for (i = 0; i < n; i++)
			dispatch(w, &ev[i]);
		run_sleepers(w);
		run_ticks(w);
		bury(w);
	}
	__atomic_store_n(&w->blocking, 0, __ATOMIC_SEQ_CST);
	while (w->nconns)
		conn_close(w, w->conns[0], false);
	bury(w);
	/* The listener stays open (refusing nobody) until tcpreq_free(): the
	 * main thread polls it. */
	__atomic_fetch_sub(&w->r->running, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void on_kick(int sig)
{
}

/* Wake workers blocked in the fast path's recv() (EINTR). */
static void kick(struct tcpreq_run *r, int only)
{
	int i;

	for (i = 0; i < r->nworkers; i++) {
		struct tcpreq_worker *w = r->workers[i];

		if ((only < 0 || only == i) && w->started &&
		    __atomic_load_n(&w->blocking, __ATOMIC_SEQ_CST))
			pthread_kill(w->th, SIGURG);
	}
}

/*
 * What a worker blocked in the fast path's recv() cannot see by itself:
 * the end of --duration, --requests completed by another thread.  True
 * when a stop is under way (blocked workers were kicked).
 */
static bool watch_stop(struct tcpreq_run *r, uint64_t *ns)
{
	const struct tcpreq_cfg *cfg = &r->cfg;
	uint64_t now = tcpreq_now(), end;

	if (cfg->duration_ns) {
		end = r->t_begin + cfg->duration_ns;
		if (now >= end)
			tcpreq_request_stop(r, 1);
		else if (end - now < *ns)
			*ns = end - now;
	}
	if (cfg->requests &&
	    __atomic_load_n(&r->completed, __ATOMIC_RELAXED) >= cfg->requests)
		tcpreq_request_stop(r, 1);
	if (!__atomic_load_n(&r->stop, __ATOMIC_SEQ_CST))
		return false;
	/*
	 * A kick that lands between a worker's look at ->stop and its
	 * recv() is lost: kick until every worker is out (each call).
	 */
	kick(r, -1);
	if (*ns > KICK_NS)
		*ns = KICK_NS;
	return true;
}

void tcpreq_wait(struct tcpreq_run *r, uint64_t ns)
{
	struct pollfd pfd[64];
	int who[64];
	int i, n = 0, ms;

	watch_stop(r, &ns);
	ms = (ns + 999999) / 1000000;

	for (i = 0; i < r->nworkers && n < 64; i++) {
		if (r->workers[i]->lfd < 0)
			continue;
		pfd[n].fd = r->workers[i]->lfd;
		pfd[n].events = POLLIN;
		who[n++] = i;
	}
	if (!n || poll(pfd, n, ms) <= 0) {
		if (!n)
			poll(NULL, 0, ms);
		return;
	}
	/*
	 * A connection waits on a worker's listener; the worker sees it
	 * unless it is blocked in recv().  Kick, then give it a millisecond
	 * (the listener stays readable until it accepts).
	 */
	for (i = 0; i < n; i++)
		if (pfd[i].revents)
			kick(r, who[i]);
	poll(NULL, 0, 1);
}

void tcpreq_request_stop(struct tcpreq_run *r, int how)
{
	int cur = __atomic_load_n(&r->stop, __ATOMIC_RELAXED);

	while (cur < how &&
	       !__atomic_compare_exchange_n(&r->stop, &cur, how, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		;
}

static int listen_one(struct tcpreq_run *r, struct tcpreq_worker *w)
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };
	int one = 1, fd;

	fd = socket(r->cfg.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (r->nworkers > 1)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&r->cfg.addr, r->cfg.addrlen))
		goto fail;
	if (listen(fd, 4096))
		goto fail;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &e))
		goto fail;
	/* Port 0: the other workers share the port the first one got. */
	if (r->cfg.addr.ss_family == AF_INET || r->cfg.addr.ss_family == AF_INET6) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		if (!getsockname(fd, (struct sockaddr *)&ss, &sl) && sl == r->cfg.addrlen)
			memcpy(&r->cfg.addr, &ss, sl);
	}
	w->lfd = fd;
	return 0;
fail:
	lk_err("listen on %s: %s", r->cfg.addr_str, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int connect_one(struct tcpreq_run *r, struct tcpreq_worker *w)
{
	struct conn *c;
	int fd;

	fd = socket(r->cfg.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		lk_err("socket: %s", strerror(errno));
		return -1;
	}
	if (r->cfg.nodelay)
		set_sockopts(r, fd);
	if (connect(fd, (struct sockaddr *)&r->cfg.addr, r->cfg.addrlen) &&
	    errno != EINPROGRESS) {
		lk_err("connect to %s: %s", r->cfg.addr_str, strerror(errno));
		close(fd);
		return -1;
	}
	c = conn_add(w, fd, true);
	if (!c) {
		lk_err("connect to %s: out of memory", r->cfg.addr_str);
		close(fd);
		return -1;
	}
	snprintf(c->peer, sizeof(c->peer), "%s", r->cfg.addr_str);
	return 0;
}

static struct tcpreq_worker *worker_new(struct tcpreq_run *r, int n)
{
	struct tcpreq_worker *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->r = r;
	w->lfd = -1;
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	w->scratch = malloc(RX_SCRATCH);
	w->txbuf = calloc(1, TCPREQ_HDR_LEN + ZBUF_LEN);
	if (w->ep < 0 || !w->scratch || !w->txbuf) {
		if (w->ep >= 0)
			close(w->ep);
		free(w->scratch);
		free(w->txbuf);
		free(w);
		return NULL;
	}
	sem_init(&w->settled, 0, 0);
	tcpreq_lat_init(&w->lat);
	if (r->cfg.rate > 0)
		w->tick_ns = 1e9 / (r->cfg.rate / n);
	return w;
}

/* What the worker has made so far, for the other tables to close. */
static int snapshot_fds(struct tcpreq_worker *w)
{
	int k;

	w->start_fds = calloc(w->nconns + 2, sizeof(*w->start_fds));
	if (!w->start_fds) {
		lk_err("cannot set up worker: %s", strerror(errno));
		return -1;
	}
	for (k = 0; k < w->nconns; k++)
		w->start_fds[w->nstart++] = w->conns[k]->fd;
	if (w->lfd >= 0)
		w->start_fds[w->nstart++] = w->lfd;
	w->start_fds[w->nstart++] = w->ep;
	return 0;
}

/*
 * Once the worker has its own table, close the main thread's copies of
 * its connections: a socket in two tables would stay open after the
 * worker closes it.  The listener and the epoll set stay: the main
 * thread polls the one and closes the other in tcpreq_free().
 */
static void drop_copies(struct tcpreq_worker *w)
{
	int k;

	while (sem_wait(&w->settled) && errno == EINTR)
		;
	if (!w->own_fds)
		return;
	for (k = 0; k < w->nstart; k++)
		if (w->start_fds[k] != w->lfd && w->start_fds[k] != w->ep)
			close(w->start_fds[k]);
}

int tcpreq_start(struct tcpreq_run *r)
{
	struct tcpreq_cfg *cfg = &r->cfg;
	struct sigaction sa = {};
	sigset_t all, old;
	int i, err, n = cfg->threads > 0 ? cfg->threads : 1;

	if (cfg->io_uring) {
		err = tcpreq_ring_probe();
		if (err) {
			lk_err("--io-uring: %s", tcpreq_ring_why(err));
			return -1;
		}
		lk_info("waiting for replies in io_uring: a multishot recv, each send in the wait's io_uring_enter");
	}
	if (!cfg->server && n > cfg->conns)
		n = cfg->conns;
	r->workers = calloc(n, sizeof(*r->workers));
	if (!r->workers)
		return -1;
	for (i = 0; i < n; i++) {
		r->workers[i] = worker_new(r, n);
		if (!r->workers[i]) {
			lk_err("cannot set up worker: %s", strerror(errno));
			return -1;
		}
		r->nworkers++;
	}
	r->t_begin = tcpreq_now();
	for (i = 0; i < n && cfg->server; i++)
		if (listen_one(r, r->workers[i]))
			return -1;
	for (i = 0; i < cfg->conns && !cfg->server; i++)
		if (connect_one(r, r->workers[i % n]))
			return -1;
	for (i = 0; i < n; i++)
		if (snapshot_fds(r->workers[i]))
			return -1;
	/* Signals go to the main thread, which reports; SIGURG wakes workers. */
	sa.sa_handler = on_kick;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGURG, &sa, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < n; i++) {
		__atomic_fetch_add(&r->running, 1, __ATOMIC_RELAXED);
		if (pthread_create(&r->workers[i]->th, NULL, worker_main, r->workers[i])) {
			__atomic_fetch_sub(&r->running, 1, __ATOMIC_RELAXED);
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			lk_err("cannot start thread: %s", strerror(errno));
			return -1;
		}
		r->workers[i]->started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (i = 0; i < n; i++)
		drop_copies(r->workers[i]);
	return 0;
}

bool tcpreq_done(struct tcpreq_run *r)
{
	return __atomic_load_n(&r->running, __ATOMIC_ACQUIRE) == 0;
}

void tcpreq_stop(struct tcpreq_run *r, int how)
{
	int i;

	tcpreq_request_stop(r, how);
	/* Workers drain up to a second; a lost kick is sent again. */
	while (!tcpreq_done(r)) {
		kick(r, -1);
		poll(NULL, 0, KICK_NS / 1000000);
	}
	for (i = 0; i < r->nworkers; i++) {
		if (r->workers[i]->started)
			pthread_join(r->workers[i]->th, NULL);
		r->workers[i]->started = false;
	}
}

void tcpreq_read_counters(struct tcpreq_run *r, struct tcpreq_counters *c)
{
	int i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < r->nworkers; i++) {
		struct tcpreq_counters *s = &r->workers[i]->c;

		c->requests += __atomic_load_n(&s->requests, __ATOMIC_RELAXED);
		c->measured += __atomic_load_n(&s->measured, __ATOMIC_RELAXED);
		c->lat_sum_ns += __atomic_load_n(&s->lat_sum_ns, __ATOMIC_RELAXED);
		c->bytes_in += __atomic_load_n(&s->bytes_in, __ATOMIC_RELAXED);
		c->bytes_out += __atomic_load_n(&s->bytes_out, __ATOMIC_RELAXED);
		c->errors += __atomic_load_n(&s->errors, __ATOMIC_RELAXED);
		c->overruns += __atomic_load_n(&s->overruns, __ATOMIC_RELAXED);
	}
}

void tcpreq_window(struct tcpreq_run *r, uint64_t *first, uint64_t *last)
{
	int i;

	*first = 0;
	*last = 0;
	for (i = 0; i < r->nworkers; i++) {
		struct tcpreq_worker *w = r->workers[i];

		if (w->first_ns && (!*first || w->first_ns < *first))
			*first = w->first_ns;
		if (w->last_ns > *last)
			*last = w->last_ns;
	}
}

void tcpreq_merge_lat(struct tcpreq_run *r, struct tcpreq_lat *out)
{
	int i;

	tcpreq_lat_init(out);
	for (i = 0; i < r->nworkers; i++)
		tcpreq_lat_merge(out, &r->workers[i]->lat);
}

void tcpreq_free(struct tcpreq_run *r)
{
	int i;

	tcpreq_stop(r, 2);
	for (i = 0; i < r->nworkers; i++) {
		struct tcpreq_worker *w = r->workers[i];

		while (w->nconns)
			conn_close(w, w->conns[0], false);
		bury(w);
		while (w->sleep_head) {
			struct conn *c = w->sleep_head;

			w->sleep_head = c->next;
			free_conn(c);
		}
		if (w->lfd >= 0)
			close(w->lfd);
		close(w->ep);
		sem_destroy(&w->settled);
		free(w->start_fds);
		free(w->conns);
		free(w->scratch);
		free(w->txbuf);
		free(w);
	}
	free(r->workers);
	r->workers = NULL;
	r->nworkers = 0;
}
