// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/socket.h>
#include "flow_print.h"
#include "output.h"

static void addr_str(const struct lk_flow *f, bool local, char *buf, size_t len)
{
	if (!inet_ntop(f->family == 4 ? AF_INET : AF_INET6, local ? f->laddr : f->raddr,
		       buf, len))
		snprintf(buf, len, "?");
}

void lk_flow_end(const struct lk_flow *f, bool local, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	addr_str(f, local, a, sizeof(a));
	snprintf(buf, len, f->family == 6 ? "[%s]:%u" : "%s:%u", a,
		 local ? f->lport : f->rport);
}

void lk_print_flow(const struct lk_flow *f)
{
	char a[INET6_ADDRSTRLEN + 8];

	if (!lk_out_json()) {
		lk_flow_end(f, true, a, sizeof(a));
		lk_printf("%-*s ", LK_FLOW_W, a);
		lk_flow_end(f, false, a, sizeof(a));
		lk_printf("%-*s ", LK_FLOW_W, a);
		return;
	}
	lk_print_u64(LK_JSON, "family", NULL, f->family);
	addr_str(f, true, a, sizeof(a));
	lk_print_str(LK_JSON, "laddr", NULL, a);
	lk_print_u64(LK_JSON, "lport", NULL, f->lport);
	addr_str(f, false, a, sizeof(a));
	lk_print_str(LK_JSON, "raddr", NULL, a);
	lk_print_u64(LK_JSON, "rport", NULL, f->rport);
}

void lk_print_flow_header(void)
{
	lk_printf("%-*s %-*s ", LK_FLOW_W, "LOCAL", LK_FLOW_W, "REMOTE");
}
