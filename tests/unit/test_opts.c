// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <stdint.h>
#include <string.h>
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

/* The rows and events group: chosen by flag, parsed into lk_opts, help in the tool's words. */
static void test_rows(void)
{
	static const struct lk_opt_doc docs[] = {
		{ "per-flow", "One row per connection" },
		{ NULL },
	};
	struct argp_child children[] = {
		lk_common_argp_doc(LK_OPT_PER_FLOW | LK_OPT_HIST | LK_OPT_TOP | LK_OPT_EVENTS |
				   LK_OPT_MIN_US | LK_OPT_JSON, docs), { 0 },
	};
	const struct argp argp = { .children = children };
	const struct argp_option *o;
	char *argv[] = { "t", "-F", "-H", "-n", "7", "--events", "--min-us", "2.5", "-j", NULL };
	bool flow_doc = false, per_proc = false;

	CHECK(!argp_parse(&argp, 9, argv, ARGP_NO_EXIT, NULL, NULL));
	CHECK(lk_opts.per_flow && lk_opts.hist && lk_opts.events && lk_opts.json);
	CHECK(lk_opts.top == 7 && lk_opts.min_us == 2.5);
	CHECK(!lk_opts.per_proc && !lk_opts.ms);
	for (o = children[0].argp->options; o->name || o->key; o++) {
		flow_doc |= o->key == 'F' && !strcmp(o->doc, "One row per connection");
		per_proc |= o->key == 'P';
	}
	CHECK(flow_doc);
	CHECK(!per_proc);
}

int main(void)
{
	test_long();
	test_size_port();
	test_duration();
	test_double();
	test_rows();
	return unit_done("test_opts");
}
