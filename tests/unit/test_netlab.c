// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* netlab's option parsing and address plan (no root needed). */
#include <arpa/inet.h>
#include <string.h>
#include "netlab/netlab.h"
#include "unit.h"

static void test_init(void)
{
	struct netlab lab;
	char a[INET_ADDRSTRLEN];

	CHECK(!netlab_init(&lab, NULL, NULL));
	CHECK(!strcmp(lab.ns[NETLAB_CLIENT], "latkit-client"));
	CHECK(!strcmp(lab.ns[NETLAB_SERVER], "latkit-server"));
	CHECK(!strcmp(lab.pin_dir, "/sys/fs/bpf/latkit/latkit"));
	inet_ntop(AF_INET, &lab.addr[NETLAB_CLIENT], a, sizeof(a));
	CHECK(!strcmp(a, "192.168.100.1"));
	inet_ntop(AF_INET, &lab.addr[NETLAB_SERVER], a, sizeof(a));
	CHECK(!strcmp(a, "192.168.100.100"));
	CHECK(lab.plen == 24);

	/* Host bits in the subnet are ignored; .1 and .100 of the network. */
	CHECK(!netlab_init(&lab, "t1", "10.9.3.77/16"));
	inet_ntop(AF_INET, &lab.addr[NETLAB_SERVER], a, sizeof(a));
	CHECK(!strcmp(a, "10.9.0.100"));
	CHECK(lab.plen == 16);

	/* .100 must fit: /25 and longer are refused, as are bad prefixes. */
	CHECK(netlab_init(&lab, "t1", "10.9.0.0/25"));
	CHECK(netlab_init(&lab, "t1", "10.9.0.0"));
	CHECK(netlab_init(&lab, "t1", "10.9.0.0/"));
	CHECK(netlab_init(&lab, "t1", "10.9.0/24x"));
	CHECK(netlab_init(&lab, "a/b", NULL));
	CHECK(netlab_init(&lab, "-x", NULL));
	CHECK(netlab_init(&lab, "", NULL));
	CHECK(netlab_init(&lab, "abcdefghijabcdefghijabcdefghijabc", NULL));
	CHECK(!netlab_init(&lab, "lk1a2b3c", NULL));
	CHECK(netlab_role("client") == NETLAB_CLIENT && netlab_role("server") == NETLAB_SERVER);
	CHECK(netlab_role("clients") < 0);
}

static void test_rate(void)
{
	uint64_t r;
	char buf[32];

	CHECK(!netlab_parse_rate("10mbit", &r) && r == 10000000);
	CHECK(!netlab_parse_rate("10Mbit", &r) && r == 10000000);
	CHECK(!netlab_parse_rate("500kbit", &r) && r == 500000);
	CHECK(!netlab_parse_rate("1.5gbit", &r) && r == 1500000000);
	CHECK(!netlab_parse_rate("1mbps", &r) && r == 8000000);
	CHECK(!netlab_parse_rate("64000", &r) && r == 64000);
	CHECK(!netlab_parse_rate("none", &r) && r == 0);
	CHECK(netlab_parse_rate("0", &r));
	CHECK(netlab_parse_rate("-5mbit", &r));
	CHECK(netlab_parse_rate("10furlongs", &r));
	CHECK(netlab_parse_rate("1kbit", &r));	/* below 8 kbit/s */
	CHECK(netlab_parse_rate("", &r));
	netlab_format_rate(10000000, buf, sizeof(buf));
	CHECK(!strcmp(buf, "10mbit"));
	netlab_format_rate(1500000000, buf, sizeof(buf));
	CHECK(!strcmp(buf, "1.5gbit"));
	netlab_format_rate(64000, buf, sizeof(buf));
	CHECK(!strcmp(buf, "64kbit"));
}

static void test_other(void)
{
	unsigned int dirs;
	uint64_t us;
	double pct;
	int plug;

	CHECK(!netlab_parse_loss("10", &pct) && pct == 10);
	CHECK(!netlab_parse_loss("0.5%", &pct) && pct == 0.5);
	CHECK(!netlab_parse_loss("100", &pct) && pct == 100);
	CHECK(netlab_parse_loss("101", &pct));
	CHECK(netlab_parse_loss("-1", &pct));
	CHECK(netlab_parse_loss("ten", &pct));
	CHECK(!netlab_parse_delay("10", &us) && us == 10000);
	CHECK(!netlab_parse_delay("0.5", &us) && us == 500);
	CHECK(!netlab_parse_delay("250us", &us) && us == 250);
	CHECK(!netlab_parse_delay("1s", &us) && us == 1000000);
	CHECK(!netlab_parse_delay("none", &us) && us == 0);
	CHECK(netlab_parse_delay("soon", &us));
	CHECK(!netlab_parse_dir("to-server", &dirs) && dirs == 1u << NETIMPAIR_TO_SERVER);
	CHECK(!netlab_parse_dir("to-client", &dirs) && dirs == 1u << NETIMPAIR_TO_CLIENT);
	CHECK(!netlab_parse_dir("both", &dirs) && dirs == 3);
	CHECK(netlab_parse_dir("up", &dirs));
	CHECK(!netlab_parse_plug("buffer", &plug) && plug == NETLAB_PLUG_BUFFER);
	CHECK(!netlab_parse_plug("release-one", &plug) && plug == NETLAB_PLUG_RELEASE_ONE);
	CHECK(!netlab_parse_plug("release", &plug) && plug == NETLAB_PLUG_RELEASE);
	CHECK(!netlab_parse_plug("none", &plug) && plug == NETLAB_PLUG_NONE);
	CHECK(netlab_parse_plug("pull", &plug));
}

int main(void)
{
	test_init();
	test_rate();
	test_other();
	return unit_done("test_netlab");
}
