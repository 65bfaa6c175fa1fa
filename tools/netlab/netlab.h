/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef NETLAB_H
#define NETLAB_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <netinet/in.h>
#include "netimpair.h"

/*
 * netlab: two network namespaces, PREFIX-client and PREFIX-server,
 * joined by a veth pair named veth0 on both sides.  Every function
 * prints one line on failure and returns non-zero.
 */
enum {
	NETLAB_CLIENT = 0,
	NETLAB_SERVER = 1,
};

#define NETLAB_PREFIX_MAX 32
#define NETLAB_IFNAME "veth0"
#define NETLAB_PIN_ROOT "/sys/fs/bpf/latkit"

struct netlab {
	char prefix[NETLAB_PREFIX_MAX + 1];
	char ns[2][NETLAB_PREFIX_MAX + 8];	/* PREFIX-client, PREFIX-server */
	struct in_addr addr[2];
	int plen;
	bool subnet_given;
	char pin_dir[128];			/* NETLAB_PIN_ROOT/PREFIX */
};

extern const char *const netlab_role_name[2];

/* Fill @lab from a prefix (NULL: "latkit") and a subnet (NULL: default). */
int netlab_init(struct netlab *lab, const char *prefix, const char *subnet);
/* "client" or "server" to NETLAB_CLIENT/NETLAB_SERVER, else -1. */
int netlab_role(const char *s);

/* Does the namespace /run/netns/@name exist? */
bool netlab_ns_exists(const char *name);

/*
 * Run a program (argv[0] looked up in PATH) without a shell; its stderr
 * is collected and shown in the one error line if it fails.  @quiet:
 * print nothing on failure.  Returns 0 when it exited 0.
 */
int netlab_run(const char *const argv[], bool quiet);
/* The same, printing nothing: the child's first stderr line goes to @msg. */
int netlab_run_msg(const char *const argv[], char *msg, size_t len);

int netlab_up(struct netlab *lab);
int netlab_down(struct netlab *lab);
/* Remove the pins under lab->pin_dir (unpinning a tcx link detaches it). */
int netlab_unpin(struct netlab *lab);
int netlab_status(struct netlab *lab, bool json);
/* Replace this process with @argv run inside the namespace; returns only on error. */
int netlab_exec(struct netlab *lab, int role, char *const argv[]);

/*
 * Impairments.  Directions are NETIMPAIR_TO_SERVER/TO_CLIENT (bpf/netimpair.h):
 * loss happens at the receiver's ingress, rate, delay and plug at the
 * sender's egress (qdiscs on its veth0).
 */
enum {
	NETLAB_PLUG_NONE = -1,		/* remove the plug qdisc */
	NETLAB_PLUG_BUFFER = 0,		/* = TCQ_PLUG_BUFFER */
	NETLAB_PLUG_RELEASE_ONE = 1,	/* = TCQ_PLUG_RELEASE_ONE */
	NETLAB_PLUG_RELEASE = 2,	/* = TCQ_PLUG_RELEASE_INDEFINITE */
};

struct netlab_impair {
	unsigned int dirs;	/* 1 << NETIMPAIR_TO_*; 0: both */
	bool loss_set;
	double loss_pct;
	bool rate_set;
	uint64_t rate_bps;	/* 0: none */
	bool delay_set;
	uint64_t delay_us;	/* 0: none */
	bool plug_set;
	int plug;		/* NETLAB_PLUG_* */
};

/* What is on one veth0's egress, as the kernel reports it. */
struct netlab_qdiscs {
	bool tbf;
	uint64_t rate_bps;
	uint64_t tbf_buffer_ns;	/* tbf's burst, as a time at the rate */
	uint64_t tbf_burst;	/* the same in bytes */
	bool netem;
	uint64_t delay_us;
	bool plug;
	char foreign[16];	/* a root qdisc netlab did not make, or "" */
};

extern const char *const netlab_dir_name[2];	/* "to-server", "to-client" */

/* Option values; 0 or -1 (nothing printed). */
int netlab_parse_dir(const char *s, unsigned int *dirs);
int netlab_parse_loss(const char *s, double *pct);
int netlab_parse_rate(const char *s, uint64_t *bps);
int netlab_parse_delay(const char *s, uint64_t *us);
int netlab_parse_plug(const char *s, int *action);
/* "10mbit", "1.5gbit": for output. */
void netlab_format_rate(uint64_t bps, char *buf, size_t len);

/*
 * Load the loss program if this lab has none yet, attach it to both
 * ingresses and pin it (the first --loss does this).
 */
int netlab_loss_setup(struct netlab *lab);
/* Apply the impairments that @im sets to the directions it names. */
int netlab_impair_apply(struct netlab *lab, const struct netlab_impair *im);
/* Impairments and their counters, inside netlab_status()'s record. */
void netlab_impair_status(struct netlab *lab);

/* rtnetlink, in namespace @ns, on its veth0 (qdisc.c). */
int netlab_qdisc_read(const char *ns, struct netlab_qdiscs *q);
/* Make the egress of @ns's veth0 look like @want (rate, delay, plug presence). */
int netlab_qdisc_apply(const char *ns, const struct netlab_qdiscs *cur,
		       const struct netlab_qdiscs *want);
/* A command to the plug qdisc (NETLAB_PLUG_BUFFER...): -errno on failure. */
int netlab_plug_cmd(const char *ns, int action);

#endif
