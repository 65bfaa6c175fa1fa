// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "syscall_names.h"
#include "syscalls.h"

#define N_TABLE (sizeof(lk_syscall_table) / sizeof(lk_syscall_table[0]))

int lk_syscall_max(void)
{
	int max = 0;
	size_t i;

	for (i = 0; i < N_TABLE; i++)
		if (lk_syscall_table[i].nr >= max)
			max = lk_syscall_table[i].nr + 1;
	return max;
}

const char *lk_syscall_name(int nr)
{
	size_t i;

	for (i = 0; i < N_TABLE; i++)
		if (lk_syscall_table[i].nr == nr)
			return lk_syscall_table[i].name;
	return NULL;
}

const char *lk_syscall_label(int nr, char *buf, size_t len)
{
	const char *n = lk_syscall_name(nr);

	if (n)
		return n;
	snprintf(buf, len, "syscall_%d", nr);
	return buf;
}

const char *lk_errno_name(unsigned int err, char *buf, size_t len)
{
	/* Kernel-internal codes a restarted syscall returns (linux/errno.h). */
	static const char *const restart[] = {
		"ERESTARTSYS", "ERESTARTNOINTR", "ERESTARTNOHAND",
		"ENOIOCTLCMD", "ERESTART_RESTARTBLOCK",
	};
	const char *n;

	if (err >= 512 && err <= 516)
		return restart[err - 512];
	n = strerrorname_np(err);
	if (n)
		return n;
	snprintf(buf, len, "E%u", err);
	return buf;
}

int lk_syscall_nr(const char *name)
{
	char *end;
	long v;
	size_t i;

	for (i = 0; i < N_TABLE; i++)
		if (!strcmp(lk_syscall_table[i].name, name))
			return lk_syscall_table[i].nr;
	v = strtol(name, &end, 10);
	if (*name && !*end && v >= 0 && v < lk_syscall_max())
		return v;
	return -1;
}

static int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	int prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			int del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof(int) * (lb + 1));
	}
	return prev[lb];
}

int lk_syscall_suggest(const char *name, char *buf, size_t len, int max)
{
	bool taken[N_TABLE] = { false };
	size_t i, used = 0;
	int n = 0, d;

	buf[0] = 0;
	for (d = 1; d <= 2 && n < max; d++) {
		for (i = 0; i < N_TABLE && n < max; i++) {
			const char *s = lk_syscall_table[i].name;
			bool close = edit_distance(name, s) == d ||
				     (d == 2 && strlen(name) >= 3 &&
				      !strncmp(s, name, strlen(name)));

			if (!close || taken[i])
				continue;
			taken[i] = true;
			used += snprintf(buf + used, used < len ? len - used : 0,
					 "%s%s", n ? ", " : "", s);
			n++;
		}
	}
	return n;
}
