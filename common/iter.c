// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "array.h"
#include "iter.h"
#include "log.h"
#include "opts.h"
#include "tc.h"

/* Make an iterator in the current namespace and read it to its end. */
static int run_once(struct bpf_link *link)
{
	char buf[256];
	ssize_t n;
	int fd, err = 0;

	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n < 0)
		err = -errno;
	close(fd);
	return err;
}

/* Every namespace a process is in, once each (by inode). */
static int run_all(struct bpf_link *link, int self)
{
	ino_t *seen = NULL, *nv;
	size_t nseen = 0, cap = 0, i, refused = 0;
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
		if (fstat(fd, &st)) {
			close(fd);
			continue;
		}
		for (i = 0; i < nseen && seen[i] != st.st_ino; i++)
			;
		if (i == nseen) {
			nv = lk_array_room(seen, nseen, &cap, sizeof(*seen), 16);
			if (!nv) {
				err = -ENOMEM;
			} else {
				seen = nv;
				seen[nseen++] = st.st_ino;
				/* One that cannot be entered is left out, and said. */
				if (setns(fd, CLONE_NEWNET))
					refused++;
				else
					err = run_once(link);
			}
		}
		close(fd);
	}
	closedir(proc);
	free(seen);
	if (setns(self, CLONE_NEWNET))
		lk_die("cannot return to the tool's own network namespace: %s", strerror(errno));
	if (refused)
		lk_info("%zu of %zu network namespaces could not be entered: their sockets are left out",
			refused, nseen);
	return err;
}

int lk_iter_netns(struct bpf_program *prog, const char *what)
{
	struct bpf_link *link = bpf_program__attach_iter(prog, NULL);
	int self, err;

	if (!link) {
		err = -errno;
		lk_err_bpf(what, err);
		return err;
	}
	if (lk_opts.netns) {
		self = lk_netns_enter(lk_opts.netns);
		if (self < 0) {
			bpf_link__destroy(link);
			return -ENOENT;
		}
		err = run_once(link);
		if (lk_netns_leave(self))
			lk_die("cannot return to the tool's own network namespace");
	} else {
		self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		err = self < 0 ? -errno : run_all(link, self);
		if (self >= 0)
			close(self);
	}
	bpf_link__destroy(link);
	if (err)
		lk_err("%s: %s", what, strerror(-err));
	return err;
}
