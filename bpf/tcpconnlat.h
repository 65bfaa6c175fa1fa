/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef TCPCONNLAT_H
#define TCPCONNLAT_H

#include "flow.h"

/* Direction of an open: connect() (active) or accepted (passive). */
enum cl_dir {
	CL_ACTIVE,
	CL_PASSIVE,
	CL_NDIRS,
};

/* Why a handshake ended before ESTABLISHED, from the socket's sk_err. */
enum cl_cause {
	CL_REFUSED,	/* ECONNREFUSED: a RST answered the SYN */
	CL_TIMEOUT,	/* ETIMEDOUT: SYN (or SYN-ACK) retries ran out */
	CL_RESET,	/* ECONNRESET */
	CL_OTHER,	/* anything else: closed by the application, unreachable, ... */
	CL_NCAUSES,
};

/* What a row aggregates: every open of a direction, -F or -P. */
enum cl_what {
	CL_TOTAL,
	CL_FLOW,	/* remote address and service port */
	CL_PROC,	/* the owning process */
};

/*
 * A row.  CL_FLOW: ep holds the family, the remote address and the
 * server's port in its own place (rport of an active open, lport of a
 * passive one); the local address and the client's port are zero, so
 * that the clients of one service share a row.
 */
struct cl_key {
	unsigned char what;		/* enum cl_what */
	unsigned char dir;		/* enum cl_dir */
	unsigned short gen;		/* common/maps.h: lk_gen */
	unsigned int netns;		/* CL_FLOW */
	struct lk_flow ep;		/* CL_FLOW */
	unsigned int tgid;		/* CL_PROC (0: owner unknown) */
	char comm[16];			/* CL_PROC */
};

struct cl_stats {
	unsigned long long opens;	/* handshakes completed */
	unsigned long long measured;	/* of those, with a latency (in the histogram) */
	unsigned long long sum_ns;
	unsigned long long min_ns;
	unsigned long long max_ns;
	unsigned long long fail[CL_NCAUSES];
	unsigned long long retrans;	/* SYN (active) or SYN-ACK (passive) retransmissions
					 * of these connections, counted and failed */
};

/* Histogram counts, one entry per (row, log-linear bucket) in use. */
struct cl_hkey {
	struct cl_key row;
	unsigned int bucket;
	unsigned int pad;
};

/* Per-CPU counters. */
struct cl_totals {
	unsigned long long syn_retrans;		/* as TcpExt TCPSynRetrans, SYNs */
	unsigned long long synack_retrans;	/* as TcpExt TCPSynRetrans, SYN-ACKs */
	unsigned long long unmeasured;		/* opens with no start known */
	unsigned long long dup_children;	/* children closed in SYN-RECV, not
						 * Fast Open: lk_dup_child() */
	unsigned long long sock_drops;		/* socket table full: an open not measured */
	unsigned long long row_drops;		/* row or histogram table full */
	unsigned long long event_drops;		/* --events ring full */
};

/* An active open in progress, by socket address. */
struct cl_sock {
	unsigned long long start_ns;	/* CLOSE -> SYN_SENT */
	unsigned int rtx;		/* tcp_sock.total_retrans last seen */
	unsigned int pad;
	struct lk_owner owner;
};

/* A handshake, as the request and its child share it: its ends and netns. */
struct cl_flow {
	struct lk_flow ends;
	unsigned int netns;
};

/*
 * A request whose SYN-ACK was retransmitted: its first SYN-ACK's time
 * (tcp_request_sock.snt_synack, us) and the retransmissions seen.
 */
struct cl_req {
	unsigned long long snt_us;
	unsigned int seen;
	unsigned int pad;
};

/* A listening port, for the owner of what it accepts. */
struct cl_port {
	unsigned int netns;
	unsigned short lport;
	unsigned short pad;
};

/* One open, with --events. */
struct cl_event {
	unsigned long long ts_ns;
	unsigned long long lat_ns;	/* 0: not measured */
	struct lk_flow flow;
	struct lk_owner owner;
	unsigned int retrans;
	unsigned char dir;
	unsigned char failed;		/* 0: established; else cause + 1 */
	unsigned short pad;
};

#define CL_MAX_SOCKS	65536
#define CL_MAX_REQS	16384
#define CL_MAX_LISTENERS 4096
#define CL_MAX_ROWS	4096
#define CL_MAX_HIST	32768

#endif
