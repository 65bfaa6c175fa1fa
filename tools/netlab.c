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
#include <linux/capability.h>
#include "latkit.h"
#include "netlab/netlab.h"

static const char doc[] =
"A network lab: namespaces PREFIX-client and PREFIX-server joined by a veth\n"
"pair (veth0 on both sides), client .1 and server .100 of the subnet.\n"
"\n"
"Impairments, per direction (--dir to-server|to-client|both, default both):\n"
"random loss by a tc BPF program at the receiver's ingress, rate by tbf and\n"
"delay by netem at the sender's egress, plug (buffer, release one batch,\n"
"release all) by sch_plug.  netem and sch_plug only where the kernel has them.\n"
"\n"
"USAGE: netlab up [--prefix P] [--subnet CIDR] [IMPAIRMENTS]\n"
"       netlab set [--prefix P] IMPAIRMENTS\n"
"       netlab down [--prefix P]\n"
"       netlab status [--prefix P] [-j]\n"
"       netlab exec client|server [--prefix P] [--] CMD [ARGS...]\n"
"\n"
"EXAMPLES:\n"
"    netlab up                          # client .1, server .100\n"
"    netlab exec client -- ping -c 3 192.168.100.100\n"
"    netlab set --loss 10               # drop 10% both ways, now\n"
"    netlab set --dir to-client --rate 10mbit\n"
"    netlab set --rate none --loss 0    # back to a clean wire\n"
"    netlab status -j                   # addresses, impairments, drop counters\n"
"    netlab up --prefix t1 --subnet 10.9.0.0/24\n"
"    netlab down --prefix t1\n";

enum {
	OPT_PREFIX = 0x2001,
	OPT_SUBNET,
	OPT_DIR,
	OPT_LOSS,
	OPT_RATE,
	OPT_DELAY,
	OPT_PLUG,
};

static const struct argp_option options[] = {
	{ "prefix", OPT_PREFIX, "NAME", 0, "Lab name: namespaces NAME-client, NAME-server (default latkit)", 0 },
	{ "subnet", OPT_SUBNET, "CIDR", 0, "IPv4 subnet, /8 to /24 (default 192.168.100.0/24; up only)", 0 },
	{ NULL, 0, NULL, 0, "Impairments (up and set):", 1 },
	{ "dir", OPT_DIR, "DIR", 0, "to-server, to-client or both (default)", 1 },
	{ "loss", OPT_LOSS, "PCT", 0, "Drop PCT% of IP packets at random (0 stops)", 1 },
	{ "rate", OPT_RATE, "RATE", 0, "Limit to RATE (tc units: 10mbit, 500kbit; none removes)", 1 },
	{ "delay", OPT_DELAY, "MS", 0, "Delay by MS milliseconds with netem (none or 0 removes)", 1 },
	{ "plug", OPT_PLUG, "ACTION", 0, "sch_plug: buffer, release-one, release, none", 1 },
	{},
};

enum cmd {
	CMD_NONE,
	CMD_UP,
	CMD_DOWN,
	CMD_STATUS,
	CMD_EXEC,
	CMD_SET,
};

static struct {
	enum cmd cmd;
	const char *prefix;
	const char *subnet;
	int role;
	struct netlab_impair im;
	char **exec_argv;	/* exec's command */
} env = { .role = -1 };

static bool has_impair(void)
{
	return env.im.loss_set || env.im.rate_set || env.im.delay_set || env.im.plug_set;
}

/* Options that do not fit the command, or NULL. */
static const char *misuse(void)
{
	if (env.cmd == CMD_NONE)
		return "a command is needed: up, set, down, status or exec";
	if (has_impair() && env.cmd != CMD_UP && env.cmd != CMD_SET)
		return "impairments are for up and set";
	if (env.im.dirs && !has_impair())
		return "--dir applies to --loss, --rate, --delay or --plug";
	if (env.cmd == CMD_SET && !has_impair())
		return "set: say what to change (--loss, --rate, --delay, --plug)";
	if (env.cmd == CMD_EXEC && env.role < 0)
		return "exec: say client or server";
	if (env.subnet && env.cmd != CMD_UP)
		return "--subnet is only for up";
	return NULL;
}

static const char *const cmd_name[] = { "", "up", "down", "status", "exec", "set" };

static enum cmd parse_cmd(const char *s)
{
	unsigned int i;

	for (i = 1; i < sizeof(cmd_name) / sizeof(cmd_name[0]); i++)
		if (!strcmp(s, cmd_name[i]))
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
	case OPT_DIR:
		if (netlab_parse_dir(arg, &env.im.dirs))
			argp_error(state, "invalid --dir '%s': to-server, to-client or both", arg);
		break;
	case OPT_LOSS:
		if (netlab_parse_loss(arg, &env.im.loss_pct))
			argp_error(state, "invalid --loss '%s': a percentage from 0 to 100", arg);
		env.im.loss_set = true;
		break;
	case OPT_RATE:
		if (netlab_parse_rate(arg, &env.im.rate_bps))
			argp_error(state, "invalid --rate '%s': e.g. 10mbit, 500kbit, 1gbit, none (8kbit to 400gbit)", arg);
		env.im.rate_set = true;
		break;
	case OPT_DELAY:
		if (netlab_parse_delay(arg, &env.im.delay_us))
			argp_error(state, "invalid --delay '%s': milliseconds (e.g. 10, 0.5, 250us), none", arg);
		env.im.delay_set = true;
		break;
	case OPT_PLUG:
		if (netlab_parse_plug(arg, &env.im.plug))
			argp_error(state, "invalid --plug '%s': buffer, release-one, release or none", arg);
		env.im.plug_set = true;
		break;
	case ARGP_KEY_ARG:
		if (env.cmd == CMD_NONE) {
			env.cmd = parse_cmd(arg);
			if (env.cmd == CMD_NONE)
				argp_error(state, "unknown command '%s' (up, set, down, status, exec)", arg);
		} else if (env.cmd == CMD_EXEC && env.role < 0) {
			env.role = netlab_role(arg);
			if (env.role < 0)
				argp_error(state, "exec: want client or server, not '%s'", arg);
		} else {
			argp_error(state, "unexpected argument: %s", arg);
		}
		break;
	case ARGP_KEY_END:
		if (misuse())
			argp_error(state, "%s", misuse());
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* Options that may come before exec's role; returns how many words they take. */
static int netlab_opt_words(char **argv, int i, int argc)
{
	static const char *const flags[] = { "-v", "-j", "--verbose", "--json", "-vv" };
	unsigned int k;

	if (!strcmp(argv[i], "--prefix"))
		return i + 1 < argc ? 2 : 0;
	if (!strncmp(argv[i], "--prefix=", 9))
		return 1;
	for (k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
		if (!strcmp(argv[i], flags[k]))
			return 1;
	return 0;
}

/*
 * exec's command is kept from argp: it starts after "exec client|server"
 * and netlab's own options, and after a "--" if one follows them (as
 * with ip netns exec, "--" is optional).  Returns how many words argp is
 * to parse, or -1 when this is not an exec command line.
 */
static int split_exec(int argc, char **argv)
{
	int i = 1, n, seen_exec = 0;

	while (i < argc) {
		n = netlab_opt_words(argv, i, argc);
		if (n) {
			i += n;
			continue;
		}
		if (!seen_exec) {
			if (strcmp(argv[i], "exec"))
				return -1;
			seen_exec = 1;
			i++;
			continue;
		}
		if (netlab_role(argv[i]) < 0)
			return -1;
		for (i++; i < argc && (n = netlab_opt_words(argv, i, argc)); i += n)
			;
		n = i;
		if (i < argc && !strcmp(argv[i], "--"))
			i++;
		env.exec_argv = &argv[i];
		return n;
	}
	return -1;
}

static int split_command(int argc, char **argv)
{
	int i = split_exec(argc, argv);

	if (i >= 0)
		return i;
	/* Not a well-formed exec: a "--" is kept for the error it deserves. */
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			env.exec_argv = &argv[i + 1];
			return i;
		}
	}
	return argc;
}

static int do_exec(struct netlab *lab)
{
	if (!env.exec_argv || !*env.exec_argv) {
		lk_err("exec: no command given (netlab exec %s -- CMD...)",
		       netlab_role_name[env.role]);
		return 1;
	}
	netlab_exec(lab, env.role, env.exec_argv);
	return 1;
}

static int do_up(struct netlab *lab)
{
	bool existed = netlab_ns_exists(lab->ns[0]) || netlab_ns_exists(lab->ns[1]);

	if (netlab_up(lab))
		return 1;
	if (netlab_impair_apply(lab, &env.im)) {
		/* Leave nothing half made, but never remove a lab we did not make. */
		if (!existed)
			netlab_down(lab);
		return 1;
	}
	return 0;
}

static int do_set(struct netlab *lab)
{
	if (!netlab_ns_exists(lab->ns[0]) || !netlab_ns_exists(lab->ns[1])) {
		lk_err("lab '%s' is not up: run 'netlab up --prefix %s' first", lab->prefix,
		       lab->prefix);
		return 1;
	}
	return netlab_impair_apply(lab, &env.im) ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct argp_child children[] = {
		lk_common_argp(LK_OPT_JSON | LK_OPT_VERBOSE), { 0 },
	};
	const struct argp argp = {
		.options = options, .parser = parse_arg, .doc = doc,
		.args_doc = "up|set|down|status|exec [client|server] [-- CMD...]",
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
	/* setns() wants CAP_SYS_ADMIN, everything else CAP_NET_ADMIN. */
	if (!lk_have_cap(CAP_SYS_ADMIN) || !lk_have_cap(CAP_NET_ADMIN)) {
		lk_err("permission denied: netlab %s needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN)",
		       cmd_name[env.cmd]);
		return 1;
	}
	switch (env.cmd) {
	case CMD_UP:
		return do_up(&lab);
	case CMD_SET:
		return do_set(&lab);
	case CMD_DOWN:
		return netlab_down(&lab) ? 1 : 0;
	case CMD_STATUS:
		return netlab_status(&lab, lk_opts.json) ? 1 : 0;
	case CMD_EXEC:
		return do_exec(&lab);
	default:
		return 2;
	}
}
