// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "tc.h"

/* Debian 12's headers predate tcx. */
#define LK_TCX_INGRESS 46
#define LK_TCX_EGRESS 47

static int tcx_link(int prog_fd, int ifindex, bool ingress)
{
	int fd = bpf_link_create(prog_fd, ifindex,
				 ingress ? LK_TCX_INGRESS : LK_TCX_EGRESS, NULL);

	return fd < 0 ? -errno : fd;
}

bool lk_have_tcx(void)
{
	static int have = -1;
	const struct bpf_insn insns[] = {
		/* r0 = TCX_NEXT (-1): pass the packet on untouched. */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int prog, link;

	if (have >= 0)
		return have;
	have = 0;
	/* As LK_METHODS for tracepoints: lets a test run the clsact path. */
	if (getenv("LK_NO_TCX") && *getenv("LK_NO_TCX")) {
		lk_info("tcx links not used (LK_NO_TCX)");
		return false;
	}
	prog = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "lk_probe", "GPL", insns, 2, NULL);
	if (prog < 0)
		return false;
	link = tcx_link(prog, 1 /* lo */, true);
	if (link >= 0) {
		have = 1;
		close(link);
	}
	close(prog);
	lk_info("tcx links %savailable", have ? "" : "not ");
	return have;
}

/* Another run's filters, at most, before the handles run out. */
#define TC_MAX_RUNS	64

/* Does a process hold program @id open: is the run that attached it alive? */
static bool prog_held(__u32 id)
{
	char path[600], line[128];
	struct dirent *p, *f;
	bool held = false;
	DIR *proc, *fds;
	__u32 v;
	FILE *in;

	proc = opendir("/proc");
	if (!proc)
		return true;
	while (!held && (p = readdir(proc))) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fdinfo", p->d_name);
		fds = opendir(path);
		if (!fds)
			continue;
		while (!held && (f = readdir(fds))) {
			if (f->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", p->d_name, f->d_name);
			in = fopen(path, "r");
			if (!in)
				continue;
			while (fgets(line, sizeof(line), in))
				if (sscanf(line, "prog_id: %u", &v) == 1 && v == id)
					held = true;
			fclose(in);
		}
		closedir(fds);
	}
	closedir(proc);
	return held;
}

/*
 * Is the run that attached program @id alive?  Yes if a process holds
 * it open each time of three, 50 ms apart: one that opens every program
 * for a moment (bpftool prog show, an inventory agent) does not make a
 * killed run's look alive, and a live run holds its own throughout.
 */
static bool run_alive(__u32 id)
{
	int i;

	for (i = 0; i < 3; i++) {
		if (i)
			usleep(50 * 1000);
		if (!prog_held(id))
			return false;
	}
	return true;
}

/*
 * Is the filter at @handle free for us?  Yes if there is none, or if it
 * runs a program of ours (@name) that no process holds any more: a
 * killed run's, removed here.  A live run's, or anyone else's, is left.
 */
static bool handle_free(struct bpf_tc_hook *hook, unsigned int handle,
			unsigned int priority, const char *name)
{
	LIBBPF_OPTS(bpf_tc_opts, q, .handle = handle, .priority = priority);
	LIBBPF_OPTS(bpf_tc_opts, d, .handle = handle, .priority = priority);
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	bool ours;
	int fd;

	if (bpf_tc_query(hook, &q))
		return true;
	fd = bpf_prog_get_fd_by_id(q.prog_id);
	if (fd < 0)
		return false;
	memset(&info, 0, sizeof(info));
	ours = !bpf_obj_get_info_by_fd(fd, &info, &len) &&
	       !strncmp(info.name, name, sizeof(info.name) - 1);
	close(fd);
	if (!ours || run_alive(q.prog_id) || bpf_tc_detach(hook, &d))
		return false;
	lk_info("removed a stale filter of ours (prog id %u)", q.prog_id);
	return true;
}

/* At the first of @tc's handle and the next ones that is free. */
static int clsact_attach(int prog_fd, struct lk_tc *tc)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = tc->ifindex,
		    .attach_point = tc->ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .priority = tc->priority);
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int err, i;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(prog_fd, &info, &len);
	if (err)
		return err;
	for (i = 0; i < TC_MAX_RUNS; i++, tc->handle++) {
		if (!handle_free(&hook, tc->handle, tc->priority, info.name))
			continue;
		opts.handle = tc->handle;
		return bpf_tc_attach(&hook, &opts);
	}
	return -EBUSY;
}

int lk_tc_attach(int prog_fd, int ifindex, bool ingress, unsigned int handle,
		 unsigned int priority, struct lk_tc *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	out->ifindex = ifindex;
	out->ingress = ingress;
	out->link_fd = -1;
	out->handle = handle;
	out->priority = priority;
	if (lk_have_tcx()) {
		err = tcx_link(prog_fd, ifindex, ingress);
		if (err >= 0) {
			out->tcx = true;
			out->link_fd = err;
			return 0;
		}
		return err;
	}
	return clsact_attach(prog_fd, out);
}

int lk_tc_pin(const struct lk_tc *tc, const char *path)
{
	if (!tc->tcx)
		return 0;	/* a clsact filter stays by itself */
	if (bpf_obj_pin(tc->link_fd, path))
		return -errno;
	return 0;
}

void lk_tc_detach(struct lk_tc *tc)
{
	if (tc->tcx) {
		if (tc->link_fd >= 0)
			close(tc->link_fd);
	} else if (tc->ifindex) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = tc->ifindex,
			    .attach_point = tc->ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = tc->handle,
			    .priority = tc->priority);

		bpf_tc_detach(&hook, &opts);
	}
	tc->link_fd = -1;
	tc->ifindex = 0;
}

int lk_netns_enter(const char *spec)
{
	char path[256];
	int self, fd;

	if (strchr(spec, '/'))
		snprintf(path, sizeof(path), "%s", spec);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", spec);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || fd < 0) {
		lk_err("no such network namespace: %s", spec);
		goto fail;
	}
	if (setns(fd, CLONE_NEWNET)) {
		lk_err("cannot enter network namespace %s: %s", spec, strerror(errno));
		goto fail;
	}
	close(fd);
	return self;
fail:
	if (self >= 0)
		close(self);
	if (fd >= 0)
		close(fd);
	return -1;
}

int lk_netns_leave(int saved_fd)
{
	int err = 0;

	if (saved_fd < 0)
		return 0;
	if (setns(saved_fd, CLONE_NEWNET))
		err = -errno;
	close(saved_fd);
	return err;
}
