// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <stdint.h>
#include <string.h>
#include "output.h"
#include "unit.h"

static char *capture(void (*fn)(void), bool json)
{
	static char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	lk_out_init(json, f);
	fn();
	fclose(f);
	return buf;
}

static void record(void)
{
	lk_open_record("t");
	lk_print_u64(LK_ANY, "n", "n=%llu", 7);
	lk_print_str(LK_ANY, "s", " s=%s", "a\"b\\c\n\x01");
	lk_open_array("a");
	lk_open_object(NULL);
	lk_print_float(LK_ANY, "f", " f=%.1f", 1.5);
	lk_close_object();
	lk_open_object(NULL);
	lk_print_bool(LK_ANY, "b", " b=%s", true);
	lk_close_object();
	lk_close_array();
	lk_print_float(LK_JSON, "nan", NULL, 0.0 / 0.0);
	lk_printf(" text-only");
	lk_print_nl();
	lk_close_record();
}

static void unclosed(void)
{
	lk_open_record(NULL);
	lk_open_object("o");
	lk_open_array("a");
	lk_print_s64(LK_ANY, NULL, "%lld", -3);
	lk_close_record();
}

int main(void)
{
	char *s = capture(record, true);

	CHECK(!strcmp(s, "{\"type\":\"t\",\"n\":7,\"s\":\"a\\\"b\\\\c\\n\\u0001\","
			 "\"a\":[{\"f\":1.5},{\"b\":true}],\"nan\":null}\n"));
	s = capture(record, false);
	CHECK(!strcmp(s, "n=7 s=a\"b\\c\n\x01 f=1.5 b=true text-only\n"));
	s = capture(unclosed, true);
	CHECK(!strcmp(s, "{\"o\":{\"a\":[-3]}}\n"));
	return unit_done("test_output");
}
