/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef TCPRETRANS_CNT_H
#define TCPRETRANS_CNT_H

#include "flow.h"

/*
 * Kind of a retransmission, from the socket's state at that moment
 * (rules in tcpretrans_cnt.8).
 */
enum rt_kind {
	RT_TIMEOUT,	/* the retransmission timer's own segment (RTO) */
	RT_LOSS,	/* later segments of the loss state an RTO entered */
	RT_FAST,	/* fast retransmit, SACK/RACK recovery */
	RT_TLP,		/* tail-loss probe */
	RT_SYN,		/* SYN (connect) */
	RT_SYNACK,	/* SYN-ACK (listener) */
	RT_OTHER,	/* none of the above (e.g. MTU probe failure) */
	RT_NKINDS,
};

/*
 * What happened to one call of __tcp_retransmit_skb():
 * counted	reached the step that adds to Tcp: RetransSegs
 * failed	counted, then the transmit itself failed (TCPRetransFail)
 * abandoned	returned before that step (e.g. -EBUSY: the original copy
 *		is still queued in this host); not in RetransSegs
 */
enum rt_verdict {
	RT_COUNTED,
	RT_FAILED,
	RT_ABANDONED,
};

/* Per kind; per-CPU in the kernel, summed by userspace. */
struct rt_kind_stats {
	unsigned long long segs;	/* counted segments (RetransSegs) */
	unsigned long long events;	/* calls, counted or not */
	unsigned long long abandoned;	/* calls that were not counted */
	unsigned long long failed;	/* counted segments whose transmit failed */
};

struct rt_totals {
	struct rt_kind_stats k[RT_NKINDS];
	unsigned long long guessed;	/* verdict from errno, no history */
	unsigned long long unseen;	/* counted by the kernel (total_retrans),
					 * shown by no event: failed transmits
					 * before 6.18; found at the socket's
					 * next event or close */
	unsigned long long excess;	/* segments events showed beyond the
					 * growth of total_retrans: not
					 * counted, as the kernel did not */
	unsigned long long dup_children; /* child sockets the kernel built
					 * for a request another one took, and
					 * freed: not counted */
	unsigned long long flow_drops;	/* flow table full: flow not tracked */
	unsigned long long closed_drops; /* closed flows the ring had no room for */
	unsigned long long event_drops;	/* --events ring full */
};

struct rt_flow_key {
	struct lk_flow ends;
	unsigned int netns;
};

/*
 * What the tool keeps per socket (socket storage, else a hash by the
 * socket's address).  A socket born while the tool runs (connect(), or
 * accepted) has every retransmission of its life under the tool, so
 * tcp_sock.total_retrans checks the events: growth that no program run
 * showed (the kernel skips tracing programs in some contexts without
 * counting a miss) is found and counted as unseen, at the socket's next
 * event, at ESTABLISHED, or when it closes.
 */
enum rt_sock_state {
	RT_SK_UNKNOWN,		/* older than the tool: only its flow has history */
	RT_SK_KNOWN,		/* accounted is valid */
	RT_SK_CHILD,		/* accepted; accounted set once its ends are known */
};

struct rt_sock {
	struct lk_owner owner;		/* tgid 0: no owner yet */
	unsigned int accounted;		/* total_retrans counted so far */
	unsigned char state;		/* enum rt_sock_state */
	unsigned char handshake;	/* born in SYN_SENT, its handshake not settled */
	unsigned char pad[2];
};

/* A listening port, for accepted sockets' owners without socket storage. */
struct rt_port_key {
	unsigned int netns;
	unsigned short lport;
	unsigned short pad;
};

struct rt_flow {
	unsigned long long sk;		/* socket these counts belong to */
	unsigned long long first_ns;
	unsigned long long last_ns;
	unsigned long long segs[RT_NKINDS];
	unsigned long long events;
	unsigned long long abandoned;
	unsigned long long failed;
	unsigned int last_total;	/* tcp_sock.total_retrans after the last event */
	unsigned char has_total;	/* last_total is valid for sk */
	unsigned char last_kind;	/* kind of the last event */
	unsigned short pad;
	struct lk_owner owner;
};

/* One closed flow, sent once through the "closed" ring buffer. */
struct rt_closed {
	struct rt_flow_key key;
	struct rt_flow val;
};

/* One retransmission call, with --events. */
struct rt_event {
	unsigned long long ts_ns;
	struct rt_flow_key key;
	struct lk_owner owner;
	int err;
	unsigned int segs;		/* tcp_skb_pcount() at the call */
	unsigned int counted;		/* segments added to RetransSegs */
	unsigned int unseen;		/* growth of total_retrans before this call
					 * that no event showed */
	unsigned int total;		/* tcp_sock.total_retrans after the call */
	unsigned char kind;
	unsigned char verdict;
	unsigned char state;		/* sk_state */
	unsigned char ca_state;
};

#define RT_MAX_FLOWS	16384
#define RT_MAX_OWNERS	65536
#define RT_MAX_LISTENERS 4096

#endif
