/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef TCPREQ_RING_H
#define TCPREQ_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A client connection's io_uring (--io-uring): a multishot recv armed on
 * the socket, and each request's send submitted by the same
 * io_uring_enter() that waits for the reply.
 */
struct tcpreq_ring;

enum tcpreq_ring_kind {
	TCPREQ_RING_RECV,	/* res: bytes at data, 0 at EOF, or -errno */
	TCPREQ_RING_SEND,	/* a send that failed: res is the bytes that went
				 * (a short send), or -errno (-EAGAIN: none) */
};

struct tcpreq_ring_ev {
	enum tcpreq_ring_kind kind;
	int res;
	const uint8_t *data;	/* valid until the next tcpreq_ring_next() */
};

/* Can this process set up the ring tcpreq needs?  0 or -errno. */
int tcpreq_ring_probe(void);
/* One sentence on why a ring cannot be had, for lk_err(). */
const char *tcpreq_ring_why(int err);
/* A ring for the connected socket @fd; NULL with -errno in *err. */
struct tcpreq_ring *tcpreq_ring_new(int fd, int *err);
void tcpreq_ring_free(struct tcpreq_ring *r);
/*
 * Queue @len bytes at @buf for the next tcpreq_ring_wait(), which sends
 * them before it sleeps without waiting for room: what does not fit the
 * socket's buffer is left to the caller (a TCPREQ_RING_SEND event says
 * how much went), and @buf is free again when the wait returns.
 */
int tcpreq_ring_send(struct tcpreq_ring *r, const void *buf, size_t len);
/*
 * Submit what is queued, arming the recv if it is not (and not being
 * cancelled), and wait for a completion.  0 or -errno (-EINTR: a
 * signal came first).
 */
int tcpreq_ring_wait(struct tcpreq_ring *r);
/* The next completion to act on; false when there is none. */
bool tcpreq_ring_next(struct tcpreq_ring *r, struct tcpreq_ring_ev *ev);
/*
 * Submit what is queued and stop receiving: cancel the recv, then wait
 * and take completions until armed() is false.
 */
int tcpreq_ring_cancel(struct tcpreq_ring *r);
bool tcpreq_ring_armed(const struct tcpreq_ring *r);

#endif
