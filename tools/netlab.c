// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * netlab: a two-namespace network lab (client and server joined by a
 * veth pair) with impairments, for latkit's network tests and demos.
 */
#include <argp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "latkit.h"
#include "netlab/netlab.h"

const char *argp_program_version = "netlab (latkit) 0.1";
const char *argp_program_bug_address = "see README.md";

static const char doc[] =
"A network lab: namespaces PREFIX-client and PREFIX-server joined by a veth\n"
"pair (veth0 on both sides), client .1 and server .100 of the subnet.\n"
"\n"
"USAGE: netlab up [--prefix P] [--subnet CIDR]\n"
"       netlab down [--prefix P]\n"
"       netlab status [--prefix P] [-j]\n"
"       netlab exec client|server [--prefix P] -- CMD [ARGS...]\n"
"\n"
"EXAMPLES:\n"
"    netlab up                          # latkit-client 192.168.100.1, latkit-server .100\n"
"    netlab exec client -- ping -c 3 192.168.100.100\n"
"    netlab status -j                   # namespaces, addresses as JSON\n"
"    netlab up --prefix t1 --subnet 10.9.0.0/24\n"
"    netlab down --prefix t1\n";

enum {
	OPT_PREFIX = 0x2001,
	OPT_SUBNET,
};

static const struct argp_option options[] = {
	{ "prefix", OPT_PREFIX, "NAME", 0, "Lab name: namespaces NAME-client, NAME-server (default latkit)", 0 },
	{ "subnet", OPT_SUBNET, "CIDR", 0, "IPv4 subnet, /8 to /24 (default 192.168.100.0/24; up only)", 0 },
	{},
};

enum cmd {
	CMD_NONE,
	CMD_UP,
	CMD_DOWN,
	CMD_STATUS,
	CMD_EXEC,
};

static struct {
	enum cmd cmd;
	const char *prefix;
	const char *subnet;
	int role;
	char **exec_argv;	/* after "--" */
	int n_exec_pos;		/* command words given without "--" */
	char *exec_pos[64];
} env = { .role = -1 };

static enum cmd parse_cmd(const char *s)
{
	static const char *const names[] = { "", "up", "down", "status", "exec" };
	unsigned int i;

	for (i = 1; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i]))
			return i;
	return CMD_NONE;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_PREFIX:
		env.prefix = arg;
		break;
	case OPT_SUBNET:
		env.subnet = arg;
		break;
	case ARGP_KEY_ARG:
		if (env.cmd == CMD_NONE) {
			env.cmd = parse_cmd(arg);
			if (env.cmd == CMD_NONE)
				argp_error(state, "unknown command '%s' (up, down, status, exec)", arg);
		} else if (env.cmd == CMD_EXEC && env.role < 0) {
			env.role = netlab_role(arg);
			if (env.role < 0)
				argp_error(state, "exec: want client or server, not '%s'", arg);
		} else if (env.cmd == CMD_EXEC && env.n_exec_pos < 63) {
			env.exec_pos[env.n_exec_pos++] = arg;
		} else {
			argp_error(state, "unexpected argument: %s", arg);
		}
		break;
	case ARGP_KEY_END:
		if (env.cmd == CMD_NONE)
			argp_error(state, "a command is needed: up, down, status or exec");
		if (env.cmd == CMD_EXEC && env.role < 0)
			argp_error(state, "exec: say client or server");
		if (env.subnet && env.cmd != CMD_UP)
			argp_error(state, "--subnet is only for up");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* Everything after the first "--" is the command of exec, untouched by argp. */
static int split_command(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			env.exec_argv = &argv[i + 1];
			argv[i] = NULL;
			return i;
		}
	}
	return argc;
}

static int do_exec(struct netlab *lab)
{
	char **argv = env.exec_argv;

	if (env.n_exec_pos && argv && *argv) {
		lk_err("exec: put the whole command after --");
		return 1;
	}
	if (env.n_exec_pos) {
		env.exec_pos[env.n_exec_pos] = NULL;
		argv = env.exec_pos;
	}
	if (!argv || !*argv) {
		lk_err("exec: no command given (netlab exec %s -- CMD...)",
		       netlab_role_name[env.role]);
		return 1;
	}
	netlab_exec(lab, env.role, argv);
	return 1;
}

int main(int argc, char **argv)
{
	struct argp_child children[] = {
		lk_common_argp(LK_OPT_JSON | LK_OPT_VERBOSE), { 0 },
	};
	const struct argp argp = {
		.options = options, .parser = parse_arg, .doc = doc,
		.args_doc = "up|down|status|exec [client|server] [-- CMD...]",
		.children = children,
	};
	struct netlab lab;
	int n;

	n = split_command(argc, argv);
	if (lk_argp_parse(&argp, n, argv))
		return 2;
	lk_out_init(lk_opts.json, NULL);
	lk_log_init();
	if (env.exec_argv && env.cmd != CMD_EXEC) {
		lk_err("'--' and a command are only for exec");
		return 2;
	}
	if (netlab_init(&lab, env.prefix, env.subnet))
		return 2;
	if (env.cmd != CMD_STATUS && geteuid() != 0 && !lk_have_cap(12 /* CAP_NET_ADMIN */)) {
		lk_err("permission denied: netlab %s needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)",
		       env.cmd == CMD_UP ? "up" : env.cmd == CMD_DOWN ? "down" : "exec");
		return 1;
	}
	switch (env.cmd) {
	case CMD_UP:
		return netlab_up(&lab) ? 1 : 0;
	case CMD_DOWN:
		return netlab_down(&lab) ? 1 : 0;
	case CMD_STATUS:
		return netlab_status(&lab, lk_opts.json);
	case CMD_EXEC:
		return do_exec(&lab);
	default:
		return 2;
	}
}
