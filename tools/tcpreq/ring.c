// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * tcpreq --io-uring: a ping client's connection waits in io_uring rather
 * than in recv().  A multishot recv stays armed on the socket and
 * receives into a ring of provided buffers; the next request's send goes
 * into the io_uring_enter() that waits for its reply.  A message then
 * costs one system call where send() and recv() cost two, and the recv
 * is not armed again for each message (a single-shot recv would be:
 * measured slower than the two calls).
 *
 * DEFER_TASKRUN runs the ring's work only while the thread waits in
 * io_uring_enter(), so nothing interrupts it between messages.  The send
 * says MSG_DONTWAIT: it completes within the submission, so its buffer
 * is free when the wait returns; MSG_WAITALL makes a short send a
 * failure, which posts a completion (its result the bytes that went)
 * even with CQE_SKIP_SUCCESS: a whole send posts none, and the wait
 * needs only the reply's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <liburing.h>
#include "tcpreq/ring.h"

#define RING_SQES	8
#define RING_CQES	64
#define RING_NBUF	8		/* a power of two */
#define RING_BUFSZ	16384
#define RING_BGID	0
#define UD_RECV		1
#define UD_SEND		2
#define UD_CANCEL	3

struct tcpreq_ring {
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	size_t br_len;
	uint8_t *bufs;
	int fd;
	bool armed;		/* the multishot recv is in the kernel */
	bool cancelling;
	int held;		/* buffer handed out by next(), or -1 */
};

static int ring_init(struct io_uring *ring)
{
	struct io_uring_params p = {
		.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
			 IORING_SETUP_CQSIZE,
		.cq_entries = RING_CQES,
	};

	return io_uring_queue_init_params(RING_SQES, ring, &p);
}

static uint8_t *buf_at(const struct tcpreq_ring *r, int id)
{
	return r->bufs + (size_t)id * RING_BUFSZ;
}

static int buf_ring_init(struct tcpreq_ring *r)
{
	struct io_uring_buf_reg reg = { .ring_entries = RING_NBUF, .bgid = RING_BGID };
	int i, ret;

	r->br_len = RING_NBUF * sizeof(struct io_uring_buf);
	r->br = mmap(NULL, r->br_len, PROT_READ | PROT_WRITE,
		     MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (r->br == MAP_FAILED) {
		r->br = NULL;
		return -errno;
	}
	reg.ring_addr = (unsigned long)r->br;
	ret = io_uring_register_buf_ring(&r->ring, &reg, 0);
	if (ret)
		return ret;
	io_uring_buf_ring_init(r->br);
	for (i = 0; i < RING_NBUF; i++)
		io_uring_buf_ring_add(r->br, buf_at(r, i), RING_BUFSZ, i,
				      io_uring_buf_ring_mask(RING_NBUF), i);
	io_uring_buf_ring_advance(r->br, RING_NBUF);
	return 0;
}

struct tcpreq_ring *tcpreq_ring_new(int fd, int *err)
{
	struct tcpreq_ring *r = calloc(1, sizeof(*r));
	int ret;

	if (!r) {
		*err = -ENOMEM;
		return NULL;
	}
	r->fd = fd;
	r->held = -1;
	r->bufs = malloc((size_t)RING_NBUF * RING_BUFSZ);
	if (!r->bufs) {
		free(r);
		*err = -ENOMEM;
		return NULL;
	}
	ret = ring_init(&r->ring);
	if (ret) {
		free(r->bufs);
		free(r);
		*err = ret;
		return NULL;
	}
	ret = buf_ring_init(r);
	if (ret) {
		tcpreq_ring_free(r);
		*err = ret;
		return NULL;
	}
	return r;
}

void tcpreq_ring_free(struct tcpreq_ring *r)
{
	if (!r)
		return;
	io_uring_queue_exit(&r->ring);
	if (r->br)
		munmap(r->br, r->br_len);
	free(r->bufs);
	free(r);
}

int tcpreq_ring_probe(void)
{
	struct tcpreq_ring *r;
	int err = 0;

	r = tcpreq_ring_new(-1, &err);
	tcpreq_ring_free(r);
	return err;
}

const char *tcpreq_ring_why(int err)
{
	switch (err) {
	case -ENOSYS:
		return "this kernel has no io_uring";
	case -EPERM:
	case -EACCES:
		return "io_uring is not allowed here (kernel.io_uring_disabled, or a seccomp filter)";
	case -EINVAL:
		return "io_uring here lacks DEFER_TASKRUN or provided buffer rings (Linux 6.1 has both)";
	case -ENOMEM:
		return "out of memory (RLIMIT_MEMLOCK on kernels before 5.12)";
	default:
		return strerror(-err);
	}
}

static int arm(struct tcpreq_ring *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_recv_multishot(sqe, r->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = RING_BGID;
	io_uring_sqe_set_data64(sqe, UD_RECV);
	r->armed = true;
	return 0;
}

int tcpreq_ring_send(struct tcpreq_ring *r, const void *buf, size_t len)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_send(sqe, r->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT | MSG_WAITALL);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	io_uring_sqe_set_data64(sqe, UD_SEND);
	return 0;
}

int tcpreq_ring_wait(struct tcpreq_ring *r)
{
	int ret;

	if (!r->armed && !r->cancelling) {
		ret = arm(r);
		if (ret)
			return ret;
	}
	ret = io_uring_submit_and_wait(&r->ring, 1);
	return ret < 0 ? ret : 0;
}

/* Give the buffer handed out last back to the kernel. */
static void release(struct tcpreq_ring *r)
{
	if (r->held < 0)
		return;
	io_uring_buf_ring_add(r->br, buf_at(r, r->held), RING_BUFSZ, r->held,
			      io_uring_buf_ring_mask(RING_NBUF), 0);
	io_uring_buf_ring_advance(r->br, 1);
	r->held = -1;
}

bool tcpreq_ring_next(struct tcpreq_ring *r, struct tcpreq_ring_ev *ev)
{
	struct io_uring_cqe *cqe;
	unsigned int flags;
	uint64_t ud;
	int res;

	release(r);
	while (io_uring_peek_cqe(&r->ring, &cqe) == 0) {
		ud = io_uring_cqe_get_data64(cqe);
		res = cqe->res;
		flags = cqe->flags;
		io_uring_cqe_seen(&r->ring, cqe);
		if (ud == UD_SEND) {
			ev->kind = TCPREQ_RING_SEND;
			ev->res = res;
			ev->data = NULL;
			return true;
		}
		if (ud != UD_RECV)
			continue;	/* the cancel's own result */
		if (!(flags & IORING_CQE_F_MORE)) {
			r->armed = false;
			r->cancelling = false;
		}
		ev->data = NULL;
		if (flags & IORING_CQE_F_BUFFER) {
			r->held = flags >> IORING_CQE_BUFFER_SHIFT;
			ev->data = buf_at(r, r->held);
		}
		/*
		 * Out of buffers (all handed out): the data waits in the
		 * socket and the next wait arms the recv again.
		 */
		if (res == -ENOBUFS || res == -ECANCELED) {
			release(r);
			continue;
		}
		ev->kind = TCPREQ_RING_RECV;
		ev->res = res;
		return true;
	}
	return false;
}

int tcpreq_ring_cancel(struct tcpreq_ring *r)
{
	struct io_uring_sqe *sqe;
	int ret;

	if (r->armed && !r->cancelling) {
		sqe = io_uring_get_sqe(&r->ring);
		if (!sqe)
			return -EBUSY;
		io_uring_prep_cancel64(sqe, UD_RECV, 0);
		io_uring_sqe_set_data64(sqe, UD_CANCEL);
		r->cancelling = true;
	}
	/* A queued send goes now, ahead of whatever the caller sends next. */
	ret = io_uring_submit(&r->ring);
	return ret < 0 ? ret : 0;
}

bool tcpreq_ring_armed(const struct tcpreq_ring *r)
{
	return r->armed;
}
