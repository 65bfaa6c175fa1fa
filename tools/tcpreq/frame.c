// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * tcpreq's frame format and its incremental parser.  Every byte here
 * comes from the network: nothing is trusted, nothing is allocated.
 */
#include <endian.h>
#include <string.h>
#include "frame.h"

/* Unaligned little-endian loads and stores: one instruction each on x86. */
static void put_le16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}

static void put_le32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

static uint16_t get_le16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

void tcpreq_hdr_encode(uint8_t out[TCPREQ_HDR_LEN], const struct tcpreq_hdr *h)
{
	put_le16(out, TCPREQ_MAGIC);
	out[2] = TCPREQ_VERSION;
	out[3] = h->type;
	put_le32(out + 4, h->len);
	put_le64(out + 8, h->seq);
	put_le64(out + 16, h->ts);
}

int tcpreq_hdr_decode(const uint8_t in[TCPREQ_HDR_LEN], uint32_t max_len,
		      struct tcpreq_hdr *h)
{
	if (get_le16(in) != TCPREQ_MAGIC)
		return TCPREQ_EMAGIC;
	if (in[2] != TCPREQ_VERSION)
		return TCPREQ_EVERSION;
	if (in[3] < TCPREQ_REQ || in[3] > TCPREQ_PUSH)
		return TCPREQ_ETYPE;
	h->type = in[3];
	h->len = get_le32(in + 4);
	h->seq = get_le64(in + 8);
	h->ts = get_le64(in + 16);
	if (h->len > max_len)
		return TCPREQ_ETOOBIG;
	return 0;
}

static int early_check(const uint8_t *in)
{
	if (get_le16(in) != TCPREQ_MAGIC)
		return TCPREQ_EMAGIC;
	if (in[2] != TCPREQ_VERSION)
		return TCPREQ_EVERSION;
	if (in[3] < TCPREQ_REQ || in[3] > TCPREQ_PUSH)
		return TCPREQ_ETYPE;
	return 0;
}

const char *tcpreq_frame_strerror(int err)
{
	switch (err) {
	case TCPREQ_EMAGIC: return "not a tcpreq frame (bad magic)";
	case TCPREQ_EVERSION: return "unknown frame version";
	case TCPREQ_ETYPE: return "unknown frame type";
	case TCPREQ_ETOOBIG: return "frame length above --max-size";
	default: return "bad frame";
	}
}

void tcpreq_rx_init(struct tcpreq_rx *rx, uint32_t max_len)
{
	memset(rx, 0, sizeof(*rx));
	rx->max_len = max_len;
}

int tcpreq_rx_partial(const struct tcpreq_rx *rx)
{
	return rx->have > 0 || rx->in_payload;
}

uint64_t tcpreq_rx_need(const struct tcpreq_rx *rx)
{
	return rx->in_payload ? rx->skip : TCPREQ_HDR_LEN - rx->have;
}

int tcpreq_rx_feed(struct tcpreq_rx *rx, const uint8_t *buf, size_t len,
		   size_t *used)
{
	size_t off = 0, take;
	int err;

	while (off < len) {
		if (rx->in_payload) {
			take = len - off;
			if (take > rx->skip)
				take = rx->skip;
			off += take;
			rx->skip -= take;
			if (!rx->skip) {
				rx->in_payload = 0;
				*used = off;
				return 1;
			}
			continue;
		}
		take = TCPREQ_HDR_LEN - rx->have;
		if (take > len - off)
			take = len - off;
		memcpy(rx->hdr + rx->have, buf + off, take);
		rx->have += take;
		off += take;
		/* Reject garbage early rather than wait for a whole header. */
		if (rx->have >= 4 && rx->have < TCPREQ_HDR_LEN) {
			err = early_check(rx->hdr);
			if (err) {
				*used = off;
				return err;
			}
		}
		if (rx->have < TCPREQ_HDR_LEN)
			break;
		rx->have = 0;
		err = tcpreq_hdr_decode(rx->hdr, rx->max_len, &rx->cur);
		if (err) {
			*used = off;
			return err;
		}
		if (!rx->cur.len) {
			*used = off;
			return 1;
		}
		rx->skip = rx->cur.len;
		rx->in_payload = 1;
	}
	*used = off;
	return 0;
}
