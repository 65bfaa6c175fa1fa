// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * netlab's namespaces and veth pair.  iproute2 does the work, run with
 * fork/exec and fixed argument vectors (no shell): it knows every
 * kernel's quirks of veth creation and namespace mounts better than a
 * reimplementation would.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "log.h"
#include "output.h"
#include "tc.h"
#include "netlab.h"

const char *const netlab_role_name[2] = { "client", "server" };

/* The original net-up.sh: client .1, server .100 of 192.168.100.0/24. */
#define DEFAULT_SUBNET "192.168.100.0/24"
#define CLIENT_HOST 1
#define SERVER_HOST 100

static bool prefix_ok(const char *p)
{
	size_t i, n = strlen(p);

	if (!n || n > NETLAB_PREFIX_MAX || p[0] == '-' || p[0] == '.')
		return false;
	for (i = 0; i < n; i++) {
		char c = p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

static int parse_subnet(struct netlab *lab, const char *s)
{
	char buf[64], *slash, *end;
	struct in_addr a;
	uint32_t net, mask;
	long plen;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return -1;
	*slash = 0;
	errno = 0;
	plen = strtol(slash + 1, &end, 10);
	if (errno || *end || slash[1] == 0 || plen < 8 || plen > 24)
		return -1;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	mask = plen ? ~0U << (32 - plen) : 0;
	net = ntohl(a.s_addr) & mask;
	lab->plen = plen;
	lab->addr[NETLAB_CLIENT].s_addr = htonl(net + CLIENT_HOST);
	lab->addr[NETLAB_SERVER].s_addr = htonl(net + SERVER_HOST);
	return 0;
}

int netlab_init(struct netlab *lab, const char *prefix, const char *subnet)
{
	memset(lab, 0, sizeof(*lab));
	if (!prefix)
		prefix = "latkit";
	if (!prefix_ok(prefix)) {
		lk_err("invalid prefix '%s': 1-%d characters of [A-Za-z0-9_.-], not starting with - or .",
		       prefix, NETLAB_PREFIX_MAX);
		return -1;
	}
	strcpy(lab->prefix, prefix);
	snprintf(lab->ns[NETLAB_CLIENT], sizeof(lab->ns[0]), "%s-client", prefix);
	snprintf(lab->ns[NETLAB_SERVER], sizeof(lab->ns[0]), "%s-server", prefix);
	snprintf(lab->pin_dir, sizeof(lab->pin_dir), "%s/%s", NETLAB_PIN_ROOT, prefix);
	lab->subnet_given = subnet != NULL;
	if (parse_subnet(lab, subnet ? subnet : DEFAULT_SUBNET)) {
		lk_err("invalid subnet '%s': want an IPv4 CIDR with a prefix length of 8 to 24, e.g. 10.9.0.0/24",
		       subnet);
		return -1;
	}
	return 0;
}

int netlab_role(const char *s)
{
	if (!strcmp(s, "client"))
		return NETLAB_CLIENT;
	if (!strcmp(s, "server"))
		return NETLAB_SERVER;
	return -1;
}

bool netlab_ns_exists(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	return access(path, F_OK) == 0;
}

static void argv_join(const char *const argv[], char *buf, size_t len)
{
	size_t n = 0;
	int i;

	buf[0] = 0;
	for (i = 0; argv[i] && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%s", i ? " " : "", argv[i]);
}

/* First line of what the child wrote to stderr, without the newline. */
static void read_first_line(int fd, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;
	char *nl;

	while (n + 1 < len && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += r;
	buf[n] = 0;
	/* Drain the rest so the child never blocks on a full pipe. */
	while (read(fd, &(char){ 0 }, 1) > 0)
		;
	nl = strchr(buf, '\n');
	if (nl)
		*nl = 0;
}

int netlab_run_msg(const char *const argv[], char *msg, size_t len)
{
	int pipefd[2], status, devnull;
	pid_t pid;

	msg[0] = 0;
	if (pipe2(pipefd, O_CLOEXEC)) {
		snprintf(msg, len, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(msg, len, "fork: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
		}
		dup2(pipefd[1], 2);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	read_first_line(pipefd[0], msg, len);
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (!msg[0])
		snprintf(msg, len, "exit status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return -1;
}

int netlab_run(const char *const argv[], bool quiet)
{
	char cmd[512], msg[512];

	if (!netlab_run_msg(argv, msg, sizeof(msg)))
		return 0;
	if (!quiet) {
		argv_join(argv, cmd, sizeof(cmd));
		lk_err("'%s' failed: %s", cmd, msg);
	}
	return -1;
}

struct if_state {
	bool present;
	bool up;
	bool has_addr;
	struct in_addr addr;
	int plen;
};

static int mask_len(const struct sockaddr *sa)
{
	uint32_t m = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);

	return __builtin_popcount(m);
}

/* Look at veth0 inside namespace @ns (which must exist). */
static int if_state(const char *ns, struct if_state *st)
{
	struct ifaddrs *ifa, *p;
	int saved;

	memset(st, 0, sizeof(*st));
	saved = lk_netns_enter(ns);
	if (saved < 0)
		return -1;
	if (getifaddrs(&ifa)) {
		lk_err("getifaddrs in %s: %s", ns, strerror(errno));
		lk_netns_leave(saved);
		return -1;
	}
	for (p = ifa; p; p = p->ifa_next) {
		if (strcmp(p->ifa_name, NETLAB_IFNAME))
			continue;
		st->present = true;
		st->up = p->ifa_flags & IFF_UP;
		if (p->ifa_addr && p->ifa_addr->sa_family == AF_INET && !st->has_addr) {
			st->has_addr = true;
			st->addr = ((struct sockaddr_in *)p->ifa_addr)->sin_addr;
			st->plen = p->ifa_netmask ? mask_len(p->ifa_netmask) : 32;
		}
	}
	freeifaddrs(ifa);
	if (lk_netns_leave(saved)) {
		lk_err("cannot return to the original network namespace");
		return -1;
	}
	return 0;
}

/* Namespace sysctls are looked up in the writer's namespace. */
static int ns_sysctl(const char *ns, const char *path, const char *val)
{
	int saved, fd, err = 0;
	size_t len = strlen(val);

	saved = lk_netns_enter(ns);
	if (saved < 0)
		return -1;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, len) != (ssize_t)len) {
		lk_err("cannot write %s in %s: %s", path, ns, strerror(errno));
		err = -1;
	}
	if (fd >= 0)
		close(fd);
	if (lk_netns_leave(saved))
		err = -1;
	return err;
}

static int make_ns(const char *ns)
{
	const char *argv[] = { "ip", "netns", "add", ns, NULL };

	if (netlab_ns_exists(ns))
		return 0;
	lk_info("creating namespace %s", ns);
	return netlab_run(argv, false);
}

/* An existing lab must look the way this one would be made. */
static int check_existing(struct netlab *lab, int role, const struct if_state *st)
{
	char have[INET_ADDRSTRLEN], want[INET_ADDRSTRLEN];

	if (!st->has_addr)
		return 0;
	if (st->addr.s_addr == lab->addr[role].s_addr && st->plen == lab->plen)
		return 0;
	inet_ntop(AF_INET, &st->addr, have, sizeof(have));
	inet_ntop(AF_INET, &lab->addr[role], want, sizeof(want));
	lk_err("lab '%s' exists with %s address %s/%d, not %s/%d: use another --prefix or 'netlab down --prefix %s' first",
	       lab->prefix, netlab_role_name[role], have, st->plen, want, lab->plen,
	       lab->prefix);
	return -1;
}

static int setup_side(struct netlab *lab, int role)
{
	const char *ns = lab->ns[role];
	char addr[INET_ADDRSTRLEN + 4], ip4[INET_ADDRSTRLEN];
	const char *set_addr[] = { "ip", "-n", ns, "addr", "replace", addr, "dev",
				   NETLAB_IFNAME, NULL };
	const char *lo_up[] = { "ip", "-n", ns, "link", "set", "lo", "up", NULL };
	const char *veth_up[] = { "ip", "-n", ns, "link", "set", NETLAB_IFNAME, "up", NULL };

	inet_ntop(AF_INET, &lab->addr[role], ip4, sizeof(ip4));
	snprintf(addr, sizeof(addr), "%s/%d", ip4, lab->plen);
	if (netlab_run(set_addr, false) || netlab_run(lo_up, false) ||
	    netlab_run(veth_up, false))
		return -1;
	/* Unprivileged ICMP echo sockets, as the original net-up.sh allowed. */
	return ns_sysctl(ns, "/proc/sys/net/ipv4/ping_group_range", "0 2147483647");
}

static int make_veth(struct netlab *lab)
{
	struct if_state st[2];
	int r;

	for (r = 0; r < 2; r++)
		if (if_state(lab->ns[r], &st[r]))
			return -1;
	if (st[0].present != st[1].present) {
		lk_err("lab '%s' is half made (veth0 only in %s): run 'netlab down --prefix %s' first",
		       lab->prefix, lab->ns[st[0].present ? 0 : 1], lab->prefix);
		return -1;
	}
	for (r = 0; r < 2; r++)
		if (check_existing(lab, r, &st[r]))
			return -1;
	if (st[0].present)
		return 0;
	lk_info("creating veth pair %s <-> %s", lab->ns[0], lab->ns[1]);
	/* Made inside the client namespace, peer straight into the server's:
	 * the root namespace never sees either end. */
	{
		const char *argv[] = {
			"ip", "-n", lab->ns[NETLAB_CLIENT], "link", "add", NETLAB_IFNAME,
			"type", "veth", "peer", "name", NETLAB_IFNAME,
			"netns", lab->ns[NETLAB_SERVER], NULL,
		};

		return netlab_run(argv, false);
	}
}

int netlab_up(struct netlab *lab)
{
	bool existed = netlab_ns_exists(lab->ns[0]) || netlab_ns_exists(lab->ns[1]);
	int r;

	/* Pins of a lab whose namespaces were deleted behind our back. */
	if (!existed && netlab_unpin(lab))
		return -1;
	if (make_ns(lab->ns[NETLAB_CLIENT]) || make_ns(lab->ns[NETLAB_SERVER]))
		goto fail;
	if (make_veth(lab))
		goto fail;
	for (r = 0; r < 2; r++)
		if (setup_side(lab, r))
			goto fail;
	return 0;
fail:
	/* Leave nothing half made, but never remove a lab we did not make. */
	if (!existed)
		netlab_down(lab);
	return -1;
}

/* Remove the lab's pinned BPF objects (unpinning a tcx link detaches it). */
int netlab_unpin(struct netlab *lab)
{
	char path[sizeof(lab->pin_dir) + 256];
	struct dirent *d;
	DIR *dir;
	int err = 0;

	dir = opendir(lab->pin_dir);
	if (!dir)
		return errno == ENOENT ? 0 : -1;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", lab->pin_dir, d->d_name);
		if (unlink(path) && errno != ENOENT) {
			lk_err("cannot remove %s: %s", path, strerror(errno));
			err = -1;
		}
	}
	closedir(dir);
	if (rmdir(lab->pin_dir) && errno != ENOENT) {
		lk_err("cannot remove %s: %s", lab->pin_dir, strerror(errno));
		err = -1;
	}
	/* The shared parent goes when the last lab does; busy is fine. */
	rmdir(NETLAB_PIN_ROOT);
	return err;
}

int netlab_down(struct netlab *lab)
{
	int r, err = netlab_unpin(lab);

	for (r = 0; r < 2; r++) {
		const char *argv[] = { "ip", "netns", "delete", lab->ns[r], NULL };

		if (!netlab_ns_exists(lab->ns[r]))
			continue;
		lk_info("deleting namespace %s", lab->ns[r]);
		if (netlab_run(argv, false))
			err = -1;
	}
	return err;
}

int netlab_exec(struct netlab *lab, int role, char *const argv[])
{
	const char *ns = lab->ns[role];
	char **full;
	int n, i;

	if (!netlab_ns_exists(ns)) {
		lk_err("lab '%s' is not up (no namespace %s): run 'netlab up --prefix %s' first",
		       lab->prefix, ns, lab->prefix);
		return -1;
	}
	for (n = 0; argv[n]; n++)
		;
	full = calloc(n + 5, sizeof(*full));
	if (!full) {
		lk_err("out of memory");
		return -1;
	}
	/* ip netns exec also remounts /sys and binds /etc/netns/NAME, so the
	 * command sees the namespace the way lk_in_client's commands do. */
	full[0] = "ip";
	full[1] = "netns";
	full[2] = "exec";
	full[3] = (char *)ns;
	for (i = 0; i < n; i++)
		full[4 + i] = argv[i];
	execvp("ip", full);
	lk_err("cannot run ip: %s", strerror(errno));
	free(full);
	return -1;
}

static void print_side(struct netlab *lab, int role, bool ns_ok, const struct if_state *st)
{
	char addr[INET_ADDRSTRLEN + 4] = "-", ip4[INET_ADDRSTRLEN];

	if (st->has_addr) {
		inet_ntop(AF_INET, &st->addr, ip4, sizeof(ip4));
		snprintf(addr, sizeof(addr), "%s/%d", ip4, st->plen);
	}
	lk_open_object(netlab_role_name[role]);
	lk_print_str(LK_ANY, "role", "  %-7s", netlab_role_name[role]);
	lk_print_str(LK_ANY, "netns", " %-24s", lab->ns[role]);
	lk_print_bool(LK_JSON, "netns_exists", NULL, ns_ok);
	lk_print_str(LK_ANY, "ifname", " %-6s", st->present ? NETLAB_IFNAME : "-");
	lk_print_str(LK_ANY, "addr", " %-19s", addr);
	lk_print_bool(LK_JSON, "up", NULL, st->up);
	lk_printf(" %s\n", !ns_ok ? "(no namespace)" : !st->present ? "(no veth0)" :
			    st->up ? "up" : "down");
	lk_close_object();
}

int netlab_status(struct netlab *lab, bool json)
{
	struct if_state st[2] = {};
	bool ns_ok[2], complete = true;
	const char *state;
	int r;

	for (r = 0; r < 2; r++) {
		ns_ok[r] = netlab_ns_exists(lab->ns[r]);
		if (ns_ok[r] && if_state(lab->ns[r], &st[r]))
			return -1;
		if (!ns_ok[r] || !st[r].present || !st[r].up || !st[r].has_addr)
			complete = false;
	}
	state = complete ? "up" : (ns_ok[0] || ns_ok[1]) ? "partial" : "absent";
	lk_open_record("status");
	lk_print_str(LK_ANY, "prefix", "lab %s: ", lab->prefix);
	lk_print_str(LK_ANY, "state", "%s\n", state);
	if (ns_ok[0] || ns_ok[1])
		for (r = 0; r < 2; r++)
			print_side(lab, r, ns_ok[r], &st[r]);
	if (complete)
		netlab_impair_status(lab);
	lk_close_record();
	return complete ? 0 : 1;
}
