// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <stdint.h>
#include "opts.h"
#include "unit.h"

static void test_long(void)
{
	long v;

	CHECK(!lk_parse_long("42", 0, 100, &v) && v == 42);
	CHECK(lk_parse_long("101", 0, 100, &v));
	CHECK(lk_parse_long("4x", 0, 100, &v));
	CHECK(lk_parse_long("", 0, 100, &v));
	CHECK(lk_parse_long("99999999999999999999", 0, 100, &v));
}

static void test_size_port(void)
{
	uint64_t s;
	uint16_t p;

	CHECK(!lk_parse_size("16", &s) && s == 16);
	CHECK(!lk_parse_size("4K", &s) && s == 4096);
	CHECK(!lk_parse_size("2MiB", &s) && s == 2 << 20);
	CHECK(!lk_parse_size("1G", &s) && s == 1 << 30);
	CHECK(lk_parse_size("-1", &s));
	CHECK(lk_parse_size("3X", &s));
	CHECK(!lk_parse_port("80", &p) && p == 80);
	CHECK(lk_parse_port("0", &p));
	CHECK(lk_parse_port("65536", &p));
}

static void test_duration(void)
{
	uint64_t ns;

	CHECK(!lk_parse_duration("2", &ns) && ns == 2000000000ULL);
	CHECK(!lk_parse_duration("250ms", &ns) && ns == 250000000ULL);
	CHECK(!lk_parse_duration("100us", &ns) && ns == 100000ULL);
	CHECK(!lk_parse_duration("1.5s", &ns) && ns == 1500000000ULL);
	CHECK(!lk_parse_duration("2m", &ns) && ns == 120000000000ULL);
	CHECK(lk_parse_duration("5h", &ns));
	CHECK(lk_parse_duration("-1", &ns));
}

static void test_double(void)
{
	double d;

	CHECK(!lk_parse_double("0.5", 0.001, 10, &d) && d == 0.5);
	CHECK(lk_parse_double("0", 0.001, 10, &d));
	CHECK(lk_parse_double("nan", 0, 10, &d));
}

int main(void)
{
	test_long();
	test_size_port();
	test_duration();
	test_double();
	return unit_done("test_opts");
}
