// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * libFuzzer target for tcpreq's frame parser: random bytes, fed in
 * random-sized pieces, must never crash it, make it read out of bounds,
 * stall, or accept a frame the header check would refuse.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tcpreq/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tcpreq_rx rx;
	struct tcpreq_hdr h;
	uint8_t enc[TCPREQ_HDR_LEN];
	uint32_t max_len;
	size_t off, piece, used;
	int ret, i = 0;

	if (size < 3)
		return 0;
	/* First bytes choose the limit and how the stream is cut. */
	max_len = (uint32_t)data[0] << (data[1] % 24);
	piece = data[2];
	data += 3;
	size -= 3;
	tcpreq_rx_init(&rx, max_len);
	for (off = 0; off < size;) {
		size_t n = piece ? 1 + (piece * (i++ + 7)) % 97 : size - off;
		uint8_t *copy;

		if (n > size - off)
			n = size - off;
		/* An exact-size heap copy, so ASan sees any overread. */
		copy = malloc(n);
		memcpy(copy, data + off, n);
		used = 0;
		ret = tcpreq_rx_feed(&rx, copy, n, &used);
		free(copy);
		if (used > n)
			abort();
		if (ret < 0)
			break;
		if (ret == 1) {
			if (rx.cur.len > max_len || rx.cur.type < TCPREQ_REQ ||
			    rx.cur.type > TCPREQ_PUSH)
				abort();
			/* The header must survive a round trip. */
			tcpreq_hdr_encode(enc, &rx.cur);
			if (tcpreq_hdr_decode(enc, max_len, &h) || h.len != rx.cur.len ||
			    h.seq != rx.cur.seq || h.ts != rx.cur.ts || h.type != rx.cur.type)
				abort();
		}
		/* No progress without an answer would spin the server. */
		if (ret == 0 && used != n)
			abort();
		if (ret == 1 && !used && n)
			abort();
		off += used;
		if (tcpreq_rx_need(&rx) < 1)
			abort();
	}
	return 0;
}
