// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include "output.h"

#define MAX_DEPTH 16

static bool json_mode;
static FILE *out;
/* Per nesting level: has the current object or array got a member yet? */
static bool has_member[MAX_DEPTH];
static char closer[MAX_DEPTH];
static int depth;

void lk_out_init(bool json, FILE *fp)
{
	json_mode = json;
	out = fp ? fp : stdout;
	depth = 0;
}

bool lk_out_json(void)
{
	return json_mode;
}

FILE *lk_out_fp(void)
{
	return out ? out : stdout;
}

void lk_json_escape(FILE *fp, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', fp);
	for (; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", fp); break;
		case '\\': fputs("\\\\", fp); break;
		case '\n': fputs("\\n", fp); break;
		case '\r': fputs("\\r", fp); break;
		case '\t': fputs("\\t", fp); break;
		case '\b': fputs("\\b", fp); break;
		case '\f': fputs("\\f", fp); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(fp, "\\u%04x", *p);
			else
				fputc(*p, fp);
		}
	}
	fputc('"', fp);
}

/* Comma and key before a JSON member. */
static void json_key(const char *key)
{
	FILE *fp = lk_out_fp();

	if (depth > 0 && has_member[depth - 1])
		fputc(',', fp);
	if (depth > 0)
		has_member[depth - 1] = true;
	if (key) {
		lk_json_escape(fp, key);
		fputc(':', fp);
	}
}

static void json_push(char open, char close)
{
	if (depth >= MAX_DEPTH)
		return;
	fputc(open, lk_out_fp());
	has_member[depth] = false;
	closer[depth] = close;
	depth++;
}

static void json_pop(void)
{
	if (depth <= 0)
		return;
	depth--;
	fputc(closer[depth], lk_out_fp());
}

void lk_open_record(const char *type)
{
	if (!json_mode)
		return;
	depth = 0;
	json_push('{', '}');
	if (type)
		lk_print_str(LK_JSON, "type", NULL, type);
}

void lk_close_record(void)
{
	FILE *fp = lk_out_fp();

	if (json_mode) {
		while (depth > 0)
			json_pop();
		fputc('\n', fp);
	}
	fflush(fp);
}

void lk_open_object(const char *key)
{
	if (!json_mode)
		return;
	json_key(key);
	json_push('{', '}');
}

void lk_close_object(void)
{
	if (json_mode)
		json_pop();
}

void lk_open_array(const char *key)
{
	if (!json_mode)
		return;
	json_key(key);
	json_push('[', ']');
}

void lk_close_array(void)
{
	if (json_mode)
		json_pop();
}

static bool want_text(enum lk_out m, const char *fmt)
{
	return !json_mode && (m & LK_TEXT) && fmt;
}

static bool want_json(enum lk_out m)
{
	return json_mode && (m & LK_JSON);
}

void lk_print_str(enum lk_out m, const char *key, const char *fmt, const char *v)
{
	if (want_json(m)) {
		json_key(key);
		lk_json_escape(lk_out_fp(), v ? v : "");
	} else if (want_text(m, fmt)) {
		fprintf(lk_out_fp(), fmt, v ? v : "");
	}
}

void lk_print_u64(enum lk_out m, const char *key, const char *fmt, uint64_t v)
{
	if (want_json(m)) {
		json_key(key);
		fprintf(lk_out_fp(), "%llu", (unsigned long long)v);
	} else if (want_text(m, fmt)) {
		fprintf(lk_out_fp(), fmt, v);
	}
}

void lk_print_s64(enum lk_out m, const char *key, const char *fmt, int64_t v)
{
	if (want_json(m)) {
		json_key(key);
		fprintf(lk_out_fp(), "%lld", (long long)v);
	} else if (want_text(m, fmt)) {
		fprintf(lk_out_fp(), fmt, v);
	}
}

void lk_print_float(enum lk_out m, const char *key, const char *fmt, double v)
{
	if (want_json(m)) {
		json_key(key);
		/* JSON has no NaN or infinity. */
		if (v != v || v > 1e308 || v < -1e308)
			fputs("null", lk_out_fp());
		else
			fprintf(lk_out_fp(), "%.10g", v);
	} else if (want_text(m, fmt)) {
		fprintf(lk_out_fp(), fmt, v);
	}
}

void lk_print_bool(enum lk_out m, const char *key, const char *fmt, bool v)
{
	if (want_json(m)) {
		json_key(key);
		fputs(v ? "true" : "false", lk_out_fp());
	} else if (want_text(m, fmt)) {
		fprintf(lk_out_fp(), fmt, v ? "true" : "false");
	}
}

void lk_print_null(enum lk_out m, const char *key, const char *fmt)
{
	if (want_json(m)) {
		json_key(key);
		fputs("null", lk_out_fp());
	} else if (want_text(m, fmt)) {
		fputs(fmt, lk_out_fp());
	}
}

void lk_printf(const char *fmt, ...)
{
	va_list ap;

	if (json_mode)
		return;
	va_start(ap, fmt);
	vfprintf(lk_out_fp(), fmt, ap);
	va_end(ap);
}

void lk_print_nl(void)
{
	if (!json_mode)
		fputc('\n', lk_out_fp());
}

void lk_print_owner(unsigned int tgid, const char *comm)
{
	char name[17];

	if (!tgid) {
		lk_print_null(LK_JSON, "pid", NULL);
		lk_print_null(LK_JSON, "comm", NULL);
		lk_printf("%-7s %-15s ", "-", "-");
		return;
	}
	snprintf(name, sizeof(name), "%.16s", comm);
	lk_print_u64(LK_ANY, "pid", "%-7" PRIu64 " ", tgid);
	lk_print_str(LK_ANY, "comm", "%-15s ", name);
}

void lk_print_time(void)
{
	struct timeval tv;
	struct tm tm;
	char buf[16];

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
	if (json_mode) {
		lk_print_str(LK_JSON, "time", NULL, buf);
		json_key("ts");
		fprintf(lk_out_fp(), "%ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec);
	} else {
		fprintf(lk_out_fp(), "%s ", buf);
	}
}
