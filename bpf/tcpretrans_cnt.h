/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef TCPRETRANS_CNT_H
#define TCPRETRANS_CNT_H

struct retrans_totals {
	unsigned long long segs;	/* segments, as Tcp: RetransSegs counts */
	unsigned long long events;
};

#endif
