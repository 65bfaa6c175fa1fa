/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_SYSCALLS_H
#define LK_SYSCALLS_H

#include <stddef.h>

/* Highest syscall number in the table, plus one. */
int lk_syscall_max(void);
/* Name of syscall @nr, or NULL if the table has none. */
const char *lk_syscall_name(int nr);
/* Name of syscall @nr, else "syscall_NR" written into @buf. */
const char *lk_syscall_label(int nr, char *buf, size_t len);
/* "ENOENT" for 2, the kernel-internal restart codes too, else "E<n>" in @buf. */
const char *lk_errno_name(unsigned int err, char *buf, size_t len);
/* Number of syscall @name ("read", or a decimal number), or -1. */
int lk_syscall_nr(const char *name);
/*
 * Up to @max names close to @name (edit distance, or sharing a prefix),
 * comma-separated into @buf; returns how many.
 */
int lk_syscall_suggest(const char *name, char *buf, size_t len, int max);

#endif
