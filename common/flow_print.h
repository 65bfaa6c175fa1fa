/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_FLOW_PRINT_H
#define LK_FLOW_PRINT_H

#include <stdbool.h>
#include <stddef.h>
#include "flow.h"

/*
 * A flow's two ends, the same in every tool.  Text: LOCAL and REMOTE
 * columns of LK_FLOW_W characters, each "ADDR:PORT" ("[ADDR]:PORT" for
 * IPv6) and a space.  JSON: family (4 or 6), laddr, lport, raddr, rport.
 * An IPv6 socket whose peer is IPv4-mapped arrives as family 4 (flow.h).
 */
#define LK_FLOW_W	22	/* the longest IPv4 end, 255.255.255.255:65535, and one */

void lk_print_flow(const struct lk_flow *f);
/* The LOCAL and REMOTE column heads (text only). */
void lk_print_flow_header(void);
/* "ADDR:PORT" or "[ADDR]:PORT" of the local (@local) or remote end. */
void lk_flow_end(const struct lk_flow *f, bool local, char *buf, size_t len);

#endif
