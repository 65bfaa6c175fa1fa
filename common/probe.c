// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "env.h"
#include "log.h"
#include "probe.h"

static struct btf *vmlinux_btf(void)
{
	static struct btf *btf;
	static bool tried;

	if (!tried) {
		tried = true;
		btf = btf__load_vmlinux_btf();
		if (!btf)
			btf = NULL;
	}
	return btf;
}

const char *lk_method_name(enum lk_method m)
{
	switch (m) {
	case LK_M_TP_BTF: return "tp_btf";
	case LK_M_RAW_TP: return "raw_tp";
	case LK_M_TP: return "tracepoint";
	case LK_M_FENTRY: return "fentry";
	case LK_M_KPROBE: return "kprobe";
	default: return "none";
	}
}

static int btf_id(const char *name, int kind)
{
	struct btf *btf = vmlinux_btf();

	if (!btf)
		return -1;
	return btf__find_by_name_kind(btf, name, kind);
}

/* Load "r0 = 0; exit" as a tracing program: its fd, or -1. */
static int load_tracing(int attach_btf_id, enum bpf_attach_type type)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts,
		.expected_attach_type = type,
		.attach_btf_id = attach_btf_id,
	);

	return bpf_prog_load(BPF_PROG_TYPE_TRACING, "lk_probe", "GPL", insns, 2, &opts);
}

/* Load it and attach it, then drop it. */
static bool try_tracing(int attach_btf_id, enum bpf_attach_type type)
{
	int prog, link;

	prog = load_tracing(attach_btf_id, type);
	if (prog < 0)
		return false;
	link = bpf_raw_tracepoint_open(NULL, prog);
	close(prog);
	if (link < 0)
		return false;
	close(link);
	return true;
}

bool lk_probe_tp_btf(const char *tp)
{
	char name[128];
	int id;

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	id = btf_id(name, BTF_KIND_TYPEDEF);
	return id > 0 && try_tracing(id, BPF_TRACE_RAW_TP);
}

bool lk_probe_iter(const char *target)
{
	char name[128];
	int id, prog;

	snprintf(name, sizeof(name), "bpf_iter_%s", target);
	id = btf_id(name, BTF_KIND_FUNC);
	if (id <= 0)
		return false;
	/* Attaching wants the target's own arguments (a map): loading tells. */
	prog = load_tracing(id, BPF_TRACE_ITER);
	if (prog < 0)
		return false;
	close(prog);
	return true;
}

bool lk_probe_btf_func(const char *func)
{
	return btf_id(func, BTF_KIND_FUNC) > 0;
}

bool lk_probe_file_listeners(void)
{
	return lk_probe_iter("task_file") && lk_probe_btf_func("bpf_sock_from_file");
}

bool lk_probe_btf_member(const char *strct, const char *member)
{
	struct btf *btf = vmlinux_btf();
	const struct btf_type *t;
	const struct btf_member *m;
	int id, i;

	id = btf_id(strct, BTF_KIND_STRUCT);
	if (id <= 0)
		return false;
	t = btf__type_by_id(btf, id);
	m = btf_members(t);
	for (i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), member))
			return true;
	return false;
}

bool lk_probe_fentry(const char *func)
{
	static int allowed = -1;
	int id = btf_id(func, BTF_KIND_FUNC);

	if (id <= 0)
		return false;
	/* Whether fentry works at all is a property of the kernel: test once. */
	if (allowed < 0)
		allowed = try_tracing(id, BPF_TRACE_FENTRY);
	return allowed;
}

static bool tracefs_has(const char *rel)
{
	const char *tfs = lk_tracefs();
	char path[256];

	if (!tfs)
		return false;
	snprintf(path, sizeof(path), "%s/%s", tfs, rel);
	return !access(path, F_OK);
}

bool lk_probe_tracepoint(const char *cat, const char *tp)
{
	char rel[160];

	snprintf(rel, sizeof(rel), "events/%s/%s/id", cat, tp);
	return tracefs_has(rel);
}

bool lk_probe_raw_tp(const char *tp)
{
	char name[128];

	/* Raw tracepoints are found by name in the kernel; BTF names them all. */
	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	if (btf_id(name, BTF_KIND_TYPEDEF) > 0)
		return true;
	return false;
}

static bool symbol_in_kallsyms(const char *func)
{
	char line[512], sym[256];
	bool found = false;
	FILE *f;

	f = fopen("/proc/kallsyms", "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*s %255s", sym) == 1 && !strcmp(sym, func))
			found = true;
	}
	fclose(f);
	return found;
}

bool lk_probe_kprobe(const char *func)
{
	bool pmu = !access("/sys/bus/event_source/devices/kprobe/type", F_OK);

	if (!pmu && !tracefs_has("kprobe_events"))
		return false;
	return symbol_in_kallsyms(func);
}

static bool method_works(enum lk_method m, const struct lk_hook *h)
{
	switch (m) {
	case LK_M_TP_BTF: return h->tp && lk_probe_tp_btf(h->tp);
	case LK_M_RAW_TP: return h->tp && lk_probe_raw_tp(h->tp);
	case LK_M_TP: return h->tp && h->cat && lk_probe_tracepoint(h->cat, h->tp);
	case LK_M_FENTRY: return h->func && lk_probe_fentry(h->func);
	case LK_M_KPROBE: return h->func && lk_probe_kprobe(h->func);
	default: return false;
	}
}

/*
 * LK_METHODS=fentry,kprobe (the names -v prints) narrows what lk_choose()
 * may pick, so that a test can exercise a tool's fallback on a kernel
 * that has the tracepoint it prefers.  Unset or empty: no restriction.
 */
static unsigned int methods_allowed(void)
{
	const char *env = getenv("LK_METHODS");
	unsigned int mask = 0;
	char buf[128], *tok, *save;
	enum lk_method m;

	if (!env || !*env)
		return ~0U;
	snprintf(buf, sizeof(buf), "%s", env);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (m = LK_M_TP_BTF; m <= LK_M_KPROBE; m++) {
			if (!strcmp(tok, lk_method_name(m)))
				mask |= LK_M_BIT(m);
		}
	}
	return mask;
}

enum lk_method lk_choose(const struct lk_hook *h)
{
	static const enum lk_method order[] = {
		LK_M_TP_BTF, LK_M_RAW_TP, LK_M_TP, LK_M_FENTRY, LK_M_KPROBE,
	};
	char what[160];
	unsigned int i;

	if (h->tp)
		snprintf(what, sizeof(what), "%s:%s", h->cat ? h->cat : "?", h->tp);
	else
		snprintf(what, sizeof(what), "%s()", h->func ? h->func : "?");
	if (methods_allowed() != ~0U)
		lk_info("hook %s: only LK_METHODS=%s", what, getenv("LK_METHODS"));
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!(h->methods & methods_allowed() & LK_M_BIT(order[i])))
			continue;
		if (method_works(order[i], h)) {
			bool on_func = order[i] == LK_M_FENTRY || order[i] == LK_M_KPROBE;

			lk_info("hook %s: using %s%s%s%s", what, lk_method_name(order[i]),
				on_func ? " on " : "", on_func ? h->func : "",
				on_func ? "()" : "");
			return order[i];
		}
		lk_info("hook %s: %s not available", what, lk_method_name(order[i]));
	}
	return LK_M_NONE;
}

static int set_autoload(struct bpf_object *obj, const struct lk_hook_sel *s)
{
	struct bpf_program *p;
	enum lk_method m;
	int j;

	for (m = LK_M_TP_BTF; m <= LK_M_KPROBE; m++) {
		for (j = 0; j < LK_HOOK_PROGS; j++) {
			if (!s->prog[m][j])
				continue;
			p = bpf_object__find_program_by_name(obj, s->prog[m][j]);
			if (!p) {
				lk_err("no BPF program %s in the object", s->prog[m][j]);
				return -1;
			}
			bpf_program__set_autoload(p, m == s->chosen);
		}
	}
	return 0;
}

static void hook_desc(const struct lk_hook *h, char *buf, size_t size)
{
	if (h->tp && h->func)
		snprintf(buf, size, "%s:%s and %s()", h->cat, h->tp, h->func);
	else if (h->tp)
		snprintf(buf, size, "%s:%s", h->cat, h->tp);
	else
		snprintf(buf, size, "%s()", h->func ? h->func : "?");
}

int lk_hooks_choose(struct bpf_object *obj, struct lk_hook_sel *sel, int n)
{
	struct lk_hook_sel *s;
	char desc[160];
	enum lk_method m;
	int i;

	for (i = 0; i < n; i++) {
		s = &sel[i];
		s->chosen = LK_M_NONE;
		if (!s->skip) {
			s->hook.methods = 0;
			for (m = LK_M_TP_BTF; m <= LK_M_KPROBE; m++) {
				if (s->prog[m][0])
					s->hook.methods |= LK_M_BIT(m);
			}
			s->hook.methods &= ~s->off;
			s->chosen = lk_choose(&s->hook);
		}
		if (set_autoload(obj, s))
			return -1;
		if (!s->skip && s->required && s->chosen == LK_M_NONE) {
			if (!s->need)
				hook_desc(&s->hook, desc, sizeof(desc));
			lk_err("this kernel has none of %s: %s needs it",
			       s->need ? s->need : desc, program_invocation_short_name);
			return -1;
		}
	}
	return 0;
}

bool lk_hooks_typed(const struct lk_hook_sel *sel, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (sel[i].chosen != LK_M_NONE && sel[i].chosen != LK_M_TP_BTF &&
		    sel[i].chosen != LK_M_FENTRY)
			return false;
	}
	return true;
}

static bool has_prefix(const char *name, const char *const *prefixes)
{
	if (!prefixes)
		return true;
	for (; *prefixes; prefixes++)
		if (!strncmp(name, *prefixes, strlen(*prefixes)))
			return true;
	return false;
}

/* A loaded NAME_twin takes the runs the kernel skipped NAME for. */
static bool has_twin(struct bpf_object *obj, const char *name)
{
	struct bpf_program *twin;
	char tname[128];

	snprintf(tname, sizeof(tname), "%s_twin", name);
	twin = bpf_object__find_program_by_name(obj, tname);
	return twin && bpf_program__fd(twin) >= 0;
}

unsigned long long lk_prog_missed(struct bpf_object *obj, const char *const *prefixes)
{
	unsigned long long n = 0;
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd >= 0 && has_prefix(bpf_program__name(prog), prefixes) &&
		    !has_twin(obj, bpf_program__name(prog)) &&
		    !bpf_obj_get_info_by_fd(fd, &info, &len))
			n += info.recursion_misses;
	}
	return n;
}

/* N from the test knob @var, said with -v. */
static unsigned int test_every(const char *var, const char *what, const char *done)
{
	const char *v = getenv(var);
	unsigned int n = v ? (unsigned int)strtoul(v, NULL, 10) : 0;

	if (n)
		lk_info("%s: 1 in %u %s runs is %s", var, n, what, done);
	return n;
}

unsigned int lk_test_skip_runs(const char *what)
{
	return test_every("LK_TEST_SKIP_RUNS", what, "dropped");
}

unsigned int lk_test_twice_runs(const char *what)
{
	return test_every("LK_TEST_TWICE_RUNS", what, "done twice");
}

unsigned int lk_test_skip_handshakes(const char *what)
{
	return test_every("LK_TEST_SKIP_HANDSHAKES", what, "dropped");
}
