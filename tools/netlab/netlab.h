/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef NETLAB_H
#define NETLAB_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

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

int netlab_up(struct netlab *lab);
int netlab_down(struct netlab *lab);
int netlab_status(struct netlab *lab, bool json);
/* Replace this process with @argv run inside the namespace; returns only on error. */
int netlab_exec(struct netlab *lab, int role, char *const argv[]);

/* Impairments and their counters, inside netlab_status()'s record. */
void netlab_impair_status(struct netlab *lab);

#endif
