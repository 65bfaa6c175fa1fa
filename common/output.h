/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_OUTPUT_H
#define LK_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/*
 * One print path for text and JSON, after iproute2's json_print: every
 * call names a JSON key and a text format, and prints whichever the mode
 * wants.  In JSON mode a record is one object on one line:
 *
 *	lk_open_record("interval");          {"type":"interval",
 *	lk_print_u64(LK_ANY, "requests", "%8" PRIu64, n);   "requests":12,
 *	lk_close_record();                    }\n
 *
 * LK_TEXT prints only in text mode, LK_JSON only in JSON mode.  A NULL
 * format prints nothing in text mode.  Keys must be plain identifiers;
 * string values are escaped.
 */
enum lk_out {
	LK_TEXT = 1,
	LK_JSON = 2,
	LK_ANY = 3,
};

void lk_out_init(bool json, FILE *fp);
bool lk_out_json(void);
FILE *lk_out_fp(void);

void lk_open_record(const char *type);
void lk_close_record(void);
void lk_open_object(const char *key);	/* key NULL inside arrays */
void lk_close_object(void);
void lk_open_array(const char *key);
void lk_close_array(void);

void lk_print_str(enum lk_out m, const char *key, const char *fmt, const char *v);
void lk_print_u64(enum lk_out m, const char *key, const char *fmt, uint64_t v);
void lk_print_s64(enum lk_out m, const char *key, const char *fmt, int64_t v);
void lk_print_float(enum lk_out m, const char *key, const char *fmt, double v);
void lk_print_bool(enum lk_out m, const char *key, const char *fmt, bool v);
void lk_print_null(enum lk_out m, const char *key, const char *fmt);
/* Text only, printf-style; nothing in JSON mode. */
void lk_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Text newline (nothing in JSON mode). */
void lk_print_nl(void);

/*
 * -T: text "HH:MM:SS " prefix; JSON "time":"HH:MM:SS" and "ts" (seconds
 * since the epoch, with fraction).
 */
void lk_print_time(void);

/*
 * A process as rows and events name it: "pid" and "comm" (a task's
 * 16-byte comm, NUL-terminated or not), in text "%-7u %-15s ".  With
 * @tgid 0 the owner is unknown: JSON nulls, text "-" in both columns.
 */
void lk_print_owner(unsigned int tgid, const char *comm);

/* Write @s as a JSON string literal, quotes included. */
void lk_json_escape(FILE *fp, const char *s);

#endif
