/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef TCPLAT_H
#define TCPLAT_H

#include "flow.h"
#include "loghist.h"

/*
 * Latency histograms: 4 sub-bits, 16 buckets per power of two, so a
 * bucket is at most 6.25% of its lower bound wide and a percentile read
 * inside it (interpolated) is off by less than that: p99 within 5% needs
 * no finer.  Values up to 2^35 ns (34 s) get their own bucket; slower
 * requests share the last one (max stays exact).  512 buckets, 4 KiB.
 */
#define TL_SUB_BITS	4
#define TL_MAX_MSB	35
#define TL_BUCKETS	LH_NBUCKETS(TL_SUB_BITS, TL_MAX_MSB)

/* Per-socket state where it lives in an LRU hash (raw_tp, kprobe). */
#define TL_MAX_SOCKS	16384
/* -F rows and -P rows, per generation (allocated as used). */
#define TL_MAX_FLOWS	4096
#define TL_MAX_PROCS	1024
/* kprobe fallback: threads inside tcp_sendmsg/tcp_recvmsg at once. */
#define TL_MAX_INFLIGHT	8192

enum tl_role {
	TL_ROLE_UNKNOWN,
	TL_ROLE_SERVER,
	TL_ROLE_CLIENT,
};

/* Where a socket is in its request/response cycle. */
enum tl_phase {
	TL_IDLE,	/* no request in progress */
	TL_WAIT,	/* client: request sent, no response read yet */
	TL_READ,	/* server: request being read, nothing answered yet */
	TL_RESP,	/* server: response being sent; ends at the next read */
	TL_CLOSING,	/* server: the connection ended during the response's
			 * first write; that write's result decides */
};

/* Cached answer of the task filter for the socket's last user. */
enum tl_wanted {
	TL_UNCHECKED,
	TL_WANTED,
	TL_UNWANTED,
	TL_OUT_OF_SCOPE,	/* fails --netns, ports or -4/-6: never counted */
};

struct tl_sock {
	unsigned long long born_ns;	/* identity of this connection */
	unsigned long long start_ns;	/* current request's start */
	unsigned long long arr_ns;	/* server: oldest arrival still unread */
	unsigned long long last_send_ns; /* server: end of the response so far */
	unsigned long long entry_ns;	/* client: entry of the send under way */
	/* enum tl_phase, in 64 bits: BPF's compare-and-swap without alu32 */
	unsigned long long phase;
	unsigned int req_in;		/* bytes read for the current request */
	unsigned int req_out;		/* bytes sent for it */
	unsigned int tgid;		/* the last process that used it */
	unsigned char role;		/* enum tl_role */
	unsigned char wanted;		/* enum tl_wanted, for tgid */
	unsigned char guessed;		/* role guessed (socket predates us) */
	unsigned char sending;		/* server: a send has entered TCP */
	unsigned char stateless;	/* met without state, not counted yet */
	char comm[16];
};

/* A server response still open at the final report, taken from its socket. */
struct tl_pending {
	unsigned long long sk;
	struct tl_sock st;
};

struct tl_stats {
	unsigned long long requests;
	unsigned long long bytes_in;	/* read by the process */
	unsigned long long bytes_out;	/* written by the process */
	unsigned long long sum_ns;
	unsigned long long max_ns;
	unsigned long long min_ns;	/* 0: none yet */
	unsigned long long incomplete;	/* requests cut off by a close */
	unsigned long long hist[TL_BUCKETS];
};

/*
 * Rows alternate between two generations so that an interval report
 * reads and clears one while the programs write the other.
 */
struct tl_flow_key {
	unsigned long long sk;
	unsigned long long born_ns;	/* a reused sock address is a new flow */
	unsigned int gen;
	unsigned int pad;
};

struct tl_flow {
	struct tl_stats s;
	struct lk_flow ends;		/* family 0: not filled yet */
	unsigned char role;
	unsigned char guessed;
	unsigned int tgid;
	char comm[16];
};

struct tl_proc_key {
	unsigned int tgid;
	unsigned int gen;
};

struct tl_proc {
	struct tl_stats s;
	char comm[16];
};

/* Counts of what could not be recorded (indexes of drops[]). */
enum {
	TL_DROP_SOCK,		/* no room for a socket's state */
	TL_DROP_FLOW,		/* -F: flow table full */
	TL_DROP_PROC,		/* -P: process table full */
	TL_DROP_EVENT,		/* --events: ring buffer full */
	TL_DROP_INFLIGHT,	/* kprobe fallback: entry table full */
	TL_DROP_ENTRY,		/* no room for a thread's send entry time */
	TL_DROP_PAYLOAD,	/* --proto: payload ring buffer full */
	TL_DROP_ARRIVAL,	/* --proto: arrival marks merged (8 unread) */
	TL_DROP_MAX,
};

struct tl_event {
	unsigned long long lat_ns;
	unsigned long long start_ns;
	struct lk_flow ends;
	unsigned int req_in;
	unsigned int req_out;
	unsigned int tgid;
	unsigned char role;
	unsigned char guessed;
	unsigned short pad;
	char comm[16];
};

/*
 * --listen/--textfile: cumulative rows per command and role (and PID
 * with --metrics-pids), never cleared.  Latency buckets are the powers
 * of two of the log-linear histogram: bucket i holds requests shorter
 * than 2^(TL_M_MIN_MSB + i) ns (1.024 us .. 34.4 s), the last the rest.
 * A row that finds no room goes to its role's overflow row (comm "").
 */
#define TL_M_MIN_MSB	10
#define TL_M_BUCKETS	27
#define TL_M_ROWS	1024

struct tl_mkey {
	char comm[16];
	unsigned int pid;		/* 0 without --metrics-pids */
	unsigned char role;		/* enum tl_role */
	unsigned char pad[3];
};

struct tl_mrow {
	unsigned long long requests;
	unsigned long long bytes_in;
	unsigned long long bytes_out;
	unsigned long long sum_ns;
	unsigned long long incomplete;
	unsigned long long hist[TL_M_BUCKETS];
};

/*
 * --proto: one record per read or write of a traced socket, with the
 * first bytes it moved (at most --proto-bytes, TL_CAP at most, from at
 * most TL_MAX_IOV iovecs), and one when the connection ends.  Userspace
 * frames the messages.  16 KiB by default: what a pipeline of small
 * requests or responses fills in one syscall (8 HTTP responses of a
 * 1 KiB file, 40 memcached sets of 100 bytes).
 */
#define TL_CAP		16384
#define TL_CAP_DEFAULT	16384
#define TL_MAX_IOV	1024	/* UIO_MAXIOV: all a syscall may pass */
#define TL_MAX_ARR	8
#define TL_PAYLOAD_RING	(16 << 20)	/* bytes */

enum tl_data_kind {
	TL_DATA_IN,		/* the process read */
	TL_DATA_OUT,		/* the process wrote */
	TL_DATA_CLOSE,		/* the connection ended */
};

struct tl_data {
	unsigned long long sk;
	unsigned long long born_ns;
	unsigned long long start_ns;	/* OUT: the send's entry; 0: unknown */
	unsigned long long end_ns;	/* the syscall's return (or the close) */
	unsigned int len;		/* bytes moved */
	unsigned int copied;		/* bytes that follow, <= len */
	unsigned int tgid;
	unsigned int seq;		/* per socket: a gap is a lost record */
	unsigned char kind;		/* enum tl_data_kind */
	unsigned char role;
	unsigned char guessed;
	unsigned char narr;		/* IN: arrival marks (tcplat/proto.h) */
	unsigned int arr_off[TL_MAX_ARR];
	unsigned long long arr_ns[TL_MAX_ARR];
	struct lk_flow ends;
	char comm[16];
	unsigned char data[];
};

/* --proto: per-socket record sequence and arrivals not yet read. */
struct tl_payload_sk {
	unsigned int seq;
	unsigned int narr;
	unsigned int arr_seq[TL_MAX_ARR];	/* rcv_nxt after the arrival */
	unsigned long long arr_ns[TL_MAX_ARR];
};

/* The x86-64 or arm64 numbers of the syscalls whose buffers --proto reads. */
struct tl_nrs {
	int read, write, readv, writev, recvfrom, sendto, recvmsg, sendmsg;
};

#endif
