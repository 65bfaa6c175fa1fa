/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef TCPREQ_ENGINE_H
#define TCPREQ_ENGINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include "tcpreq/lat.h"

enum tcpreq_mode {
	TCPREQ_M_PING,	/* send requests, record round trips */
	TCPREQ_M_ECHO,	/* answer requests (service time), absorb pushes (one-way) */
	TCPREQ_M_PUSH,	/* send at a pace, expect nothing back */
};

struct tcpreq_cfg {
	bool server;
	enum tcpreq_mode mode;
	long conns;		/* client: connections; server: concurrent cap (0: none) */
	uint32_t size;		/* payload bytes per message */
	uint32_t max_size;	/* largest payload accepted from a peer */
	double sleep_ms;	/* echo: delay before each reply */
	double rate;		/* requests/s in total, open loop; 0: closed loop */
	uint64_t duration_ns;	/* 0: until a signal (or --requests) */
	uint64_t requests;	/* stop after this many; 0: no limit */
	uint64_t warmup_ns, cooldown_ns;
	int threads;
	bool nodelay, linger0;
	bool io_uring;		/* client: wait for replies in io_uring (ring.c) */
	FILE *log;		/* --log: a line per measured request, or NULL */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char addr_str[128];
};

/* Counters a worker updates and the reporter reads (relaxed atomics). */
struct tcpreq_counters {
	uint64_t requests;	/* completed operations (see tcpreq.8) */
	uint64_t measured;	/* those inside --warmup/--cooldown */
	uint64_t lat_sum_ns;	/* sum of their latencies */
	uint64_t bytes_in, bytes_out;
	uint64_t errors;
	uint64_t overruns;	/* open-loop sends dropped: backlog full */
};

struct tcpreq_worker;

struct tcpreq_run {
	struct tcpreq_cfg cfg;
	int nworkers;
	struct tcpreq_worker **workers;
	uint64_t t_begin;	/* start: --duration counts from here */
	uint64_t issued;	/* requests started (for --requests) */
	uint64_t completed;	/* operations completed (for --requests) */
	int stop;		/* 1: stop issuing and drain; 2: stop now */
	int running;		/* workers still running */
	long live;		/* connections open now */
	int established;	/* connections that ever connected */
};

/* Set up sockets and start the workers; 0 or -1 after one line on stderr. */
int tcpreq_start(struct tcpreq_run *r);
/* Wait up to @ns, watching the listeners for workers that cannot. */
void tcpreq_wait(struct tcpreq_run *r, uint64_t ns);
/* Ask the workers to stop, wait for them (they drain up to a second). */
void tcpreq_stop(struct tcpreq_run *r, int how);
/* Sum of the workers' live counters. */
void tcpreq_read_counters(struct tcpreq_run *r, struct tcpreq_counters *c);
/* After tcpreq_stop(): merged latency of the measured window. */
void tcpreq_merge_lat(struct tcpreq_run *r, struct tcpreq_lat *out);
/* 1: stop issuing, drain up to a second; 2: stop now.  Thread-safe. */
void tcpreq_request_stop(struct tcpreq_run *r, int how);
/* First connection and last completed operation (ns, 0 if none). */
void tcpreq_window(struct tcpreq_run *r, uint64_t *first, uint64_t *last);
/* True once every worker has stopped by itself. */
bool tcpreq_done(struct tcpreq_run *r);
void tcpreq_free(struct tcpreq_run *r);

uint64_t tcpreq_now(void);

#endif
