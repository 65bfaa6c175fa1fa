/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef TCPREQ_FRAME_H
#define TCPREQ_FRAME_H

#include <stddef.h>
#include <stdint.h>

/*
 * tcpreq's wire format: every message is a 24-byte header followed by
 * len payload bytes (whose content means nothing).  All fields are
 * little-endian:
 *
 *	offset 0   u16  magic 0x4b4c ("LK")
 *	offset 2   u8   version (1)
 *	offset 3   u8   type: 1 request, 2 reply, 3 push
 *	offset 4   u32  len: payload bytes after the header
 *	offset 8   u64  seq: sender's sequence number (a reply copies it)
 *	offset 16  u64  ts: CLOCK_MONOTONIC ns of the intended send time
 *	                (a reply copies the request's)
 *
 * A reply has the same len, seq and ts as its request.
 */
#define TCPREQ_HDR_LEN		24
#define TCPREQ_MAGIC		0x4b4c
#define TCPREQ_VERSION		1

enum tcpreq_type {
	TCPREQ_REQ = 1,
	TCPREQ_REPLY = 2,
	TCPREQ_PUSH = 3,
};

struct tcpreq_hdr {
	uint8_t type;
	uint32_t len;
	uint64_t seq;
	uint64_t ts;
};

/* Why a byte stream was rejected (negative returns). */
enum tcpreq_frame_err {
	TCPREQ_EMAGIC = -1,	/* not a tcpreq frame */
	TCPREQ_EVERSION = -2,
	TCPREQ_ETYPE = -3,
	TCPREQ_ETOOBIG = -4,	/* len above the receiver's --max-size */
};

void tcpreq_hdr_encode(uint8_t out[TCPREQ_HDR_LEN], const struct tcpreq_hdr *h);
/* 0, or a TCPREQ_E* when the header is invalid or len > max_len. */
int tcpreq_hdr_decode(const uint8_t in[TCPREQ_HDR_LEN], uint32_t max_len,
		      struct tcpreq_hdr *h);
const char *tcpreq_frame_strerror(int err);

/*
 * Incremental receiver: feed it bytes as they arrive.  It keeps only the
 * header being assembled and a count of payload bytes still to skip, so
 * it never allocates anything, whatever length a peer announces.
 */
struct tcpreq_rx {
	uint8_t hdr[TCPREQ_HDR_LEN];
	uint32_t have;		/* header bytes assembled */
	uint32_t max_len;	/* largest payload accepted */
	uint64_t skip;		/* payload bytes of cur still to come */
	int in_payload;
	struct tcpreq_hdr cur;	/* header of the frame in progress */
};

void tcpreq_rx_init(struct tcpreq_rx *rx, uint32_t max_len);
/*
 * Consume bytes from buf[0..len) until one frame completes.  Returns 1
 * when a frame completed (rx->cur is its header), 0 when every byte was
 * consumed without completing one, or a TCPREQ_E* error (the stream is
 * then unusable).  *used is set to the bytes consumed in either case.
 */
int tcpreq_rx_feed(struct tcpreq_rx *rx, const uint8_t *buf, size_t len,
		   size_t *used);
/* true if the stream stopped inside a frame (a close here is an error). */
int tcpreq_rx_partial(const struct tcpreq_rx *rx);
/* Fewest bytes that could complete the frame in progress (>= 1). */
uint64_t tcpreq_rx_need(const struct tcpreq_rx *rx);

#endif
