// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include "filter_opts.h"
#include "flow_print.h"
#include "opts.h"
#include "output.h"
#include "unit.h"

/* @f as one record, in text or JSON, into a static buffer. */
static const char *print(const struct lk_flow *f, bool json)
{
	static char *buf;
	size_t len;
	FILE *out;

	free(buf);
	out = open_memstream(&buf, &len);
	lk_out_init(json, out);
	lk_open_record("flow");
	lk_print_flow(f);
	lk_print_nl();
	lk_close_record();
	fclose(out);
	return buf;
}

static void test_print(void)
{
	static const struct {
		int af;
		const char *l, *r;
		unsigned short lport, rport;
		const char *text, *json;
	} cases[] = {
		{ AF_INET, "192.168.100.1", "192.168.100.100", 55682, 23324,
		  "192.168.100.1:55682    192.168.100.100:23324  \n",
		  "{\"type\":\"flow\",\"family\":4,\"laddr\":\"192.168.100.1\",\"lport\":55682,"
		  "\"raddr\":\"192.168.100.100\",\"rport\":23324}\n" },
		{ AF_INET6, "::1", "::1", 7006, 40000,
		  "[::1]:7006             [::1]:40000            \n",
		  "{\"type\":\"flow\",\"family\":6,\"laddr\":\"::1\",\"lport\":7006,"
		  "\"raddr\":\"::1\",\"rport\":40000}\n" },
	};
	struct lk_flow f;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&f, 0, sizeof(f));
		f.family = cases[i].af == AF_INET ? 4 : 6;
		inet_pton(cases[i].af, cases[i].l, f.laddr);
		inet_pton(cases[i].af, cases[i].r, f.raddr);
		f.lport = cases[i].lport;
		f.rport = cases[i].rport;
		CHECK(!strcmp(print(&f, false), cases[i].text));
		CHECK(!strcmp(print(&f, true), cases[i].json));
	}
}

static void test_addr(void)
{
	uint32_t a[4], v4;
	uint8_t fam;

	inet_pton(AF_INET, "10.1.2.3", &v4);
	CHECK(!lk_parse_addr("10.1.2.3", &fam, a) && fam == 4 && a[0] == v4 && !a[1] && !a[2] && !a[3]);
	/* An IPv4-mapped address is IPv4, as the flows that carry it. */
	CHECK(!lk_parse_addr("::ffff:10.1.2.3", &fam, a) && fam == 4 && a[0] == v4 && !a[1] &&
	      !a[2] && !a[3]);
	CHECK(!lk_parse_addr("fe80::1", &fam, a) && fam == 6 && a[0] == htonl(0xfe800000) &&
	      a[3] == htonl(1));
	CHECK(lk_parse_addr("10.1.2", &fam, a));
	CHECK(lk_parse_addr("", &fam, a));
}

static void test_filter(void)
{
	struct lk_filter f;

	memset(&lk_opts, 0, sizeof(lk_opts));
	lk_opts.family = 4;
	lk_opts.lport = 80;
	lk_opts.rport = 443;
	CHECK(!lk_parse_addr("10.1.2.3", &lk_opts.laddr_family, lk_opts.laddr));
	f = lk_filter_from_opts();
	CHECK(f.family == 4 && f.lport == 80 && f.rport == 443 && f.laddr_family == 4 &&
	      !f.raddr_family && f.laddr[0] == lk_opts.laddr[0]);
	memset(&lk_opts, 0, sizeof(lk_opts));
}

int main(void)
{
	test_print();
	test_addr();
	test_filter();
	return unit_done("test_flow");
}
