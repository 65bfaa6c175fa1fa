// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * tcpretrans_cnt's metrics, from the per-CPU totals map: cumulative since
 * the start and never cleared (the reports subtract their last reading),
 * so a snapshot only reads.  Beside them, the kernel's own Tcp:
 * RetransSegs of the namespace watched (--netns), or of the tool's.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "array.h"
#include "latkit.h"
#include "metrics.h"
#include "tcpretrans_cnt.h"
#include "tcpretrans_cnt.skel.h"
#include "tcpretrans_cnt/metrics.h"

static const char *const kinds[RT_NKINDS] = {
	"timeout", "loss", "fast", "tlp", "syn", "synack", "other",
};

/* --netns's namespace, entered for the read of its /proc/net/snmp. */
static int netns_fd = -1;

/* Tcp: RetransSegs of the current thread's namespace; -1 if unreadable. */
static long long read_retrans_segs(void)
{
	char line[1024], head[1024] = "";
	long long v = -1;
	FILE *f = fopen("/proc/thread-self/net/snmp", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *h, *n, *sh, *sn;
		int i;

		if (strncmp(line, "Tcp:", 4))
			continue;
		if (!head[0]) {
			memcpy(head, line, sizeof(head));
			continue;
		}
		/* The names line, then the values line. */
		h = strtok_r(head, " \n", &sh);
		n = strtok_r(line, " \n", &sn);
		for (i = 0; h && n; i++) {
			if (!strcmp(h, "RetransSegs")) {
				v = strtoll(n, NULL, 10);
				break;
			}
			h = strtok_r(NULL, " \n", &sh);
			n = strtok_r(NULL, " \n", &sn);
		}
		break;
	}
	fclose(f);
	return v;
}

static long long kernel_retrans_segs(void)
{
	long long v;
	int self;

	if (netns_fd < 0)
		return lk_opts.netns ? -1 : read_retrans_segs();
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -1;
	if (setns(netns_fd, CLONE_NEWNET)) {
		close(self);
		return -1;
	}
	v = read_retrans_segs();
	if (setns(self, CLONE_NEWNET))
		lk_die("cannot return to the original network namespace");
	close(self);
	return v;
}

static int write_metrics(void *p, struct lk_mw *w)
{
	static const char *const drop_names[] = { "flow", "closed", "event" };
	struct tcpretrans_cnt_bpf *skel = p;
	struct rt_totals t;
	long long ks;
	char l[64];
	int zero = 0, i, err;

	err = lk_percpu_sum_u64(bpf_map__fd(skel->maps.totals), &zero, (uint64_t *)&t,
				sizeof(t) / sizeof(uint64_t));
	if (err) {
		lk_err("reading the totals map failed: %s", strerror(-err));
		return err;
	}
	lk_m_family(w, "latkit_tcp_retransmitted_segments", LK_MT_COUNTER, NULL,
		    "TCP segments retransmitted, as the kernel counts Tcp: RetransSegs, by kind.");
	for (i = 0; i < RT_NKINDS; i++) {
		lk_m_labels(l, sizeof(l), "kind", kinds[i], NULL);
		lk_m_u64(w, l, t.k[i].segs);
	}
	lk_m_family(w, "latkit_tcp_retransmit_events", LK_MT_COUNTER, NULL,
		    "Calls to retransmit (one or more segments each), counted or not, by kind.");
	for (i = 0; i < RT_NKINDS; i++) {
		lk_m_labels(l, sizeof(l), "kind", kinds[i], NULL);
		lk_m_u64(w, l, t.k[i].events);
	}
	lk_m_family(w, "latkit_tcp_retransmits_abandoned", LK_MT_COUNTER, NULL,
		    "Retransmit calls that returned before counting (e.g. the original still queued in this host), by kind.");
	for (i = 0; i < RT_NKINDS; i++) {
		lk_m_labels(l, sizeof(l), "kind", kinds[i], NULL);
		lk_m_u64(w, l, t.k[i].abandoned);
	}
	lk_m_family(w, "latkit_tcp_retransmitted_segments_failed", LK_MT_COUNTER, NULL,
		    "Retransmitted segments whose transmit failed (TcpExt: TCPRetransFail), by kind.");
	for (i = 0; i < RT_NKINDS; i++) {
		lk_m_labels(l, sizeof(l), "kind", kinds[i], NULL);
		lk_m_u64(w, l, t.k[i].failed);
	}
	lk_m_family(w, "latkit_tcp_retransmitted_segments_unseen", LK_MT_COUNTER, NULL,
		    "Segments the kernel counted (total_retrans) that no event showed, found later.");
	lk_m_u64(w, NULL, t.unseen);
	lk_m_family(w, "latkit_tcp_retransmitted_segments_excess", LK_MT_COUNTER, NULL,
		    "Segments events showed beyond the growth of total_retrans, not counted (the kernel did not).");
	lk_m_u64(w, NULL, t.excess);
	ks = kernel_retrans_segs();
	if (ks >= 0) {
		lk_m_family(w, "latkit_tcp_kernel_retransmitted_segments", LK_MT_COUNTER, NULL,
			    "The kernel's Tcp: RetransSegs of the --netns namespace (else the tool's), since boot.");
		lk_m_u64(w, NULL, ks);
	}
	lk_m_dropped(w, "latkit_tcp_retransmit_dropped",
		     "What tcpretrans_cnt could not record: flow (table full), closed (ring full), event (--events ring full).", drop_names,
		     (const unsigned long long[]){ t.flow_drops, t.closed_drops, t.event_drops },
		     LK_ARRAY_SIZE(drop_names));
	lk_m_map_entries(w, "flows", skel->bss->live_flows, RT_MAX_FLOWS);
	lk_m_bpf_progs(w, skel->obj);
	return 0;
}

int tcpretrans_cnt_metrics_start(struct tcpretrans_cnt_bpf *skel)
{
	if (!lk_metrics_on())
		return 0;
	if (lk_opts.netns && lk_opts.netns_path[0]) {
		netns_fd = open(lk_opts.netns_path, O_RDONLY | O_CLOEXEC);
		if (netns_fd < 0)
			lk_info("cannot open %s: no kernel RetransSegs in the metrics",
				lk_opts.netns_path);
	}
	return lk_metrics_start(write_metrics, skel);
}

void tcpretrans_cnt_metrics_stop(void)
{
	lk_metrics_stop();
	if (netns_fd >= 0)
		close(netns_fd);
	netns_fd = -1;
}
