// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "array.h"
#include "flow.h"
#include "iter.h"
#include "log.h"
#include "opts.h"

int lk_iter_read(struct bpf_link *link, const struct lk_iter_out *out)
{
	char buf[4096];
	size_t have = 0, size = out ? out->size : 1, i;
	ssize_t n;
	int fd, err = 0;

	if (!size || size > sizeof(buf))
		return -EINVAL;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0)
		return -errno;
	/* A read may end inside a record: keep the part for the next. */
	while ((n = read(fd, buf + have, sizeof(buf) - have)) > 0) {
		have += n;
		for (i = 0; out && i + size <= have; i += size)
			out->cb(buf + i, out->ctx);
		have = out ? have - i : 0;
		memmove(buf, buf + i, have);
	}
	if (n < 0)
		err = -errno;
	close(fd);
	return err;
}

struct walk {
	struct bpf_link *link;
	const struct lk_iter_out *out;
	ino_t self;		/* the tool's own namespace: no setns() */
	bool away;		/* entered another: go back at the end */
	size_t refused;		/* could not be entered (no CAP_SYS_ADMIN) */
};

/* Run the iterator in the namespace of @fd. */
static int run_in(struct walk *w, int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return 0;
	if (st.st_ino == w->self)
		return lk_iter_read(w->link, w->out);
	if (setns(fd, CLONE_NEWNET)) {
		w->refused++;
		return 0;
	}
	w->away = true;
	return lk_iter_read(w->link, w->out);
}

/* Every namespace a process is in, once each (by inode). */
static int run_all(struct walk *w)
{
	ino_t *seen = NULL, *nv;
	size_t nseen = 0, cap = 0, i;
	struct dirent *d;
	struct stat st;
	char path[300];
	int fd, err = 0;
	DIR *proc;

	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while (!err && (d = readdir(proc))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", d->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		/* Gone meanwhile. */
		if (fd < 0)
			continue;
		if (!fstat(fd, &st)) {
			for (i = 0; i < nseen && seen[i] != st.st_ino; i++)
				;
			if (i == nseen) {
				nv = lk_array_room(seen, nseen, &cap, sizeof(*seen), 16);
				if (nv) {
					seen = nv;
					seen[nseen++] = st.st_ino;
					err = run_in(w, fd);
				} else {
					err = -ENOMEM;
				}
			}
		}
		close(fd);
	}
	closedir(proc);
	free(seen);
	if (w->refused)
		lk_info("%zu of %zu network namespaces could not be entered: their sockets are left out",
			w->refused, nseen);
	return err;
}

int lk_iter_netns(struct bpf_program *prog, const char *what, const struct lk_iter_out *out)
{
	struct walk w = { .out = out };
	struct stat st;
	int self, fd, err;

	w.link = bpf_program__attach_iter(prog, NULL);
	if (!w.link) {
		err = -errno;
		lk_err_bpf(what, err);
		return err;
	}
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0 || fstat(self, &st)) {
		err = -errno;
		goto out;
	}
	w.self = st.st_ino;
	if (lk_opts.netns) {
		fd = open(lk_opts.netns_path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err = -errno;
			goto out;
		}
		err = run_in(&w, fd);
		close(fd);
		if (w.refused)
			lk_info("network namespace %s could not be entered: its sockets are left out",
				lk_opts.netns);
	} else {
		err = run_all(&w);
	}
	if (w.away && setns(self, CLONE_NEWNET))
		lk_die("cannot return to the tool's own network namespace: %s", strerror(errno));
out:
	if (self >= 0)
		close(self);
	bpf_link__destroy(w.link);
	if (err)
		lk_err("%s: %s", what, strerror(-err));
	return err;
}

int lk_iter_listeners(struct bpf_program *files, struct bpf_program *socks, const char *what)
{
	struct bpf_link *link;
	int err;

	if (!files)
		lk_info("owners of the listeners opened before the tool: unknown (no iter/task_file or bpf_sock_from_file())");
	if (files) {
		link = bpf_program__attach_iter(files, NULL);
		err = link ? lk_iter_read(link, NULL) : -errno;
		bpf_link__destroy(link);
		if (err) {
			lk_err_bpf(what, err);
			return err;
		}
	}
	return lk_iter_netns(socks, what, NULL);
}

void lk_iter_listeners_said(unsigned long long seeded, unsigned long long owned,
			    unsigned long long lost)
{
	lk_info("socket storage for %llu listeners opened before the tool, %llu with their owners",
		seeded, owned);
	if (lost)
		lk_err("warning: %llu listeners found beyond the first %d: their owners are unknown",
		       lost, LK_MAX_SEEDS);
}
