// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* tcpreq: frame encoding and parsing, latency histogram accuracy. */
#include <string.h>
#include "unit.h"
#include "tcpreq/frame.h"
#include "hist.h"
#include "tcpreq/lat.h"

static void test_roundtrip(void)
{
	struct tcpreq_hdr h = { TCPREQ_REPLY, 1000, 0x0102030405060708ULL, 42 }, g;
	uint8_t b[TCPREQ_HDR_LEN];

	tcpreq_hdr_encode(b, &h);
	CHECK(b[0] == 'L' && b[1] == 'K' && b[2] == 1 && b[3] == TCPREQ_REPLY);
	CHECK(b[4] == 0xe8 && b[5] == 0x03);	/* little-endian length */
	CHECK(b[8] == 0x08 && b[15] == 0x01);
	CHECK(tcpreq_hdr_decode(b, 1000, &g) == 0);
	CHECK(g.type == h.type && g.len == h.len && g.seq == h.seq && g.ts == h.ts);
	CHECK(tcpreq_hdr_decode(b, 999, &g) == TCPREQ_ETOOBIG);
	b[3] = 9;
	CHECK(tcpreq_hdr_decode(b, 1000, &g) == TCPREQ_ETYPE);
	b[3] = 1;
	b[2] = 2;
	CHECK(tcpreq_hdr_decode(b, 1000, &g) == TCPREQ_EVERSION);
	b[0] = 'G';
	CHECK(tcpreq_hdr_decode(b, 1000, &g) == TCPREQ_EMAGIC);
}

/* Two frames fed a byte at a time complete exactly twice. */
static void test_stream(void)
{
	struct tcpreq_hdr h1 = { TCPREQ_REQ, 5, 1, 100 }, h2 = { TCPREQ_PUSH, 0, 2, 200 };
	uint8_t buf[2 * TCPREQ_HDR_LEN + 5];
	struct tcpreq_rx rx;
	size_t i, used;
	int done = 0, ret;

	memset(buf, 0xaa, sizeof(buf));
	tcpreq_hdr_encode(buf, &h1);
	tcpreq_hdr_encode(buf + TCPREQ_HDR_LEN + 5, &h2);
	tcpreq_rx_init(&rx, 64);
	for (i = 0; i < sizeof(buf); i++) {
		ret = tcpreq_rx_feed(&rx, buf + i, 1, &used);
		CHECK(ret >= 0 && used == 1);
		if (ret == 1) {
			done++;
			CHECK(rx.cur.seq == (uint64_t)done);
		}
		CHECK(tcpreq_rx_partial(&rx) == (i != TCPREQ_HDR_LEN + 4 && i != sizeof(buf) - 1));
	}
	CHECK(done == 2);
	/* All at once: first call stops after frame one. */
	tcpreq_rx_init(&rx, 64);
	CHECK(tcpreq_rx_feed(&rx, buf, sizeof(buf), &used) == 1);
	CHECK(used == TCPREQ_HDR_LEN + 5 && rx.cur.seq == 1);
	CHECK(tcpreq_rx_feed(&rx, buf + used, sizeof(buf) - used, &used) == 1);
	CHECK(used == TCPREQ_HDR_LEN && rx.cur.seq == 2 && !tcpreq_rx_partial(&rx));
}

static void test_reject(void)
{
	struct tcpreq_hdr h = { TCPREQ_REQ, 1 << 30, 1, 1 };
	uint8_t big[TCPREQ_HDR_LEN];
	struct tcpreq_rx rx;
	size_t used;

	/* Garbage is refused after 4 bytes, not after a whole header. */
	tcpreq_rx_init(&rx, 64);
	CHECK(tcpreq_rx_feed(&rx, (const uint8_t *)"GET ", 4, &used) == TCPREQ_EMAGIC);
	/* A huge announced length is refused, not awaited. */
	tcpreq_hdr_encode(big, &h);
	tcpreq_rx_init(&rx, 1 << 20);
	CHECK(tcpreq_rx_feed(&rx, big, sizeof(big), &used) == TCPREQ_ETOOBIG);
	CHECK(tcpreq_rx_need(&rx) >= 1);
}

static struct tcpreq_lat a, b;

static void test_lat(void)
{
	uint64_t v;
	double p;

	tcpreq_lat_init(&a);
	tcpreq_lat_init(&b);
	CHECK(tcpreq_lat_pct(&a, 50) == 0);
	/* 1..100000 µs uniformly, split over two "threads". */
	for (v = 1; v <= 100000; v++)
		tcpreq_lat_add(v & 1 ? &a : &b, v * 1000);
	tcpreq_lat_merge(&a, &b);
	CHECK(a.count == 100000 && a.min == 1000 && a.max == 100000000);
	p = tcpreq_lat_pct(&a, 50);
	CHECK(p > 50000e3 * 0.99 && p < 50000e3 * 1.01);
	p = tcpreq_lat_pct(&a, 99);
	CHECK(p > 99000e3 * 0.99 && p < 99000e3 * 1.01);
	p = tcpreq_lat_pct(&a, 99.9);
	CHECK(p > 99900e3 * 0.99 && p < 99900e3 * 1.01);
	CHECK(tcpreq_lat_pct(&a, 100) <= a.max);
	/* 100 s still has its own bucket, within 1%. */
	tcpreq_lat_init(&b);
	tcpreq_lat_add(&b, 100000000000ULL);
	tcpreq_lat_add(&b, 100000000000ULL);
	tcpreq_lat_add(&b, 1000);
	p = lh_upper(lh_index(100000000000ULL, TCPREQ_LAT_SUB, TCPREQ_LAT_BUCKETS), TCPREQ_LAT_SUB);
	CHECK(lh_index(100000000000ULL, TCPREQ_LAT_SUB, TCPREQ_LAT_BUCKETS) < TCPREQ_LAT_BUCKETS - 1);
	CHECK(p < 100000000000.0 * 1.01);
	/* 1 µs resolves to better than 1% as well. */
	p = lh_upper(lh_index(1000, TCPREQ_LAT_SUB, TCPREQ_LAT_BUCKETS), TCPREQ_LAT_SUB);
	CHECK(p >= 1000 && p < 1010);
}

int main(void)
{
	test_roundtrip();
	test_stream();
	test_reject();
	test_lat();
	return unit_done("test_tcpreq");
}
