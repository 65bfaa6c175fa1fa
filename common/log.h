/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_LOG_H
#define LK_LOG_H

#include <stdarg.h>
#include <stdbool.h>

/* Verbosity set by -v; 0 keeps libbpf and probes silent. */
extern int lk_verbose;

/* Route libbpf's messages through lk_libbpf_print: silent unless -v. */
void lk_log_init(void);

/* "TOOL: message\n" on stderr. */
void lk_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like lk_err, only with -v. */
void lk_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print one line and exit(1). */
void lk_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * Turn a failed skeleton load or attach into one sentence that names the
 * likely cause (privilege, missing BTF, missing kernel feature).
 * @what: "load BPF programs", "attach tcp:tcp_probe", ...
 * @err: negative errno as returned by libbpf.
 */
void lk_err_bpf(const char *what, int err);

#endif
