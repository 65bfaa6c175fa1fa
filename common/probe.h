/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_PROBE_H
#define LK_PROBE_H

#include <stdbool.h>

/*
 * Run-time feature probes.  A tool carries one program per method for a
 * hook, asks lk_choose() which one this kernel supports, enables that
 * one with bpf_program__set_autoload() and says which with -v.  Probes
 * load a two-instruction program where that is the only honest test
 * (this kernel's BTF describes fentry targets yet refuses to attach).
 */
enum lk_method {
	LK_M_NONE = 0,
	LK_M_TP_BTF,	/* BTF-typed raw tracepoint (SEC("tp_btf/...")) */
	LK_M_RAW_TP,	/* raw tracepoint (SEC("raw_tp/...")) */
	LK_M_TP,	/* classic tracepoint through tracefs (SEC("tp/...")) */
	LK_M_FENTRY,	/* SEC("fentry/...") / SEC("fexit/...") */
	LK_M_KPROBE,	/* SEC("kprobe/...") / SEC("kretprobe/...") */
};

#define LK_M_BIT(m)	(1U << (m))
#define LK_M_TRACEPOINTS (LK_M_BIT(LK_M_TP_BTF) | LK_M_BIT(LK_M_RAW_TP) | LK_M_BIT(LK_M_TP))

const char *lk_method_name(enum lk_method m);

bool lk_probe_tp_btf(const char *tp);	/* "sock_send_length" */
bool lk_probe_raw_tp(const char *tp);
bool lk_probe_tracepoint(const char *cat, const char *tp);
bool lk_probe_fentry(const char *func);
bool lk_probe_kprobe(const char *func);
/*
 * A BPF iterator of that target ("tcp", "bpf_sk_storage_map") loads:
 * some kernels refuse the iterators over a map's elements.
 */
bool lk_probe_iter(const char *target);
/* A kernel function's BTF prototype exists (the function is there). */
bool lk_probe_btf_func(const char *func);
/*
 * Listeners can be found from the open files of their processes
 * (lk_file_listener() in flow.bpf.h): iter/task_file and
 * bpf_sock_from_file() (5.11).
 */
bool lk_probe_file_listeners(void);
/* A struct has a member of that name in the kernel's BTF. */
bool lk_probe_btf_member(const char *strct, const char *member);

struct lk_hook {
	const char *cat;	/* tracepoint category, NULL if none */
	const char *tp;		/* tracepoint name, NULL if none */
	const char *func;	/* kernel function for fentry/kprobe, or NULL */
	unsigned int methods;	/* LK_M_BIT() set of methods the tool has */
};

/*
 * First method in the order tp_btf, raw_tp, tracepoint, fentry, kprobe
 * that the tool has and the kernel supports; LK_M_NONE if none.  With -v
 * prints "hook cat:tp: using METHOD".  The environment variable
 * LK_METHODS=name[,name] (e.g. "fentry,kprobe") limits the methods
 * considered, to test fallbacks where the tracepoint exists.
 */
enum lk_method lk_choose(const struct lk_hook *h);

/*
 * A tool declares its hooks once, as a table of these: where each hook
 * is (hook.cat, hook.tp, hook.func) and, per method, the names of the
 * BPF programs that implement it there (one, or two such as a kprobe
 * and its kretprobe; NULL where the tool has none):
 *
 *	{ .hook = { "sock", "inet_sock_set_state", "tcp_set_state" },
 *	  .prog = { [LK_M_TP_BTF] = { "state_btf" },
 *		    [LK_M_KPROBE] = { "state_kprobe", "state_kretprobe" } },
 *	  .required = true },
 *
 * hook.methods is filled in from prog[], less the methods in @off (ruled
 * out at run time, e.g. a function whose arguments the tool does not
 * know).  A hook with @skip set is not wanted in this run: nothing is
 * chosen and its programs stay unloaded.
 */
#define LK_HOOK_PROGS 2

struct lk_hook_sel {
	struct lk_hook hook;
	const char *prog[LK_M_KPROBE + 1][LK_HOOK_PROGS];
	unsigned int off;	/* LK_M_BIT() set of methods not to consider */
	bool skip;		/* not wanted: no choice, every program off */
	bool required;		/* the tool cannot work without it */
	const char *need;	/* names the hook in the error; NULL: cat:tp and func() */
	enum lk_method chosen;	/* set by lk_hooks_choose(); LK_M_NONE if none */
};

struct bpf_object;

/*
 * For each of the @n hooks of @sel: lk_choose() (LK_METHODS, the -v
 * lines), the chosen method's programs set to load and every other
 * method's not, the choice in sel->chosen.  Returns -1 after one line
 * on stderr ("this kernel has none of NEED: TOOL needs it") when a
 * required hook has no method, or when a named program is not in @obj.
 * A tool may call it on parts of its table, in the order its choices
 * depend on each other.
 */
int lk_hooks_choose(struct bpf_object *obj, struct lk_hook_sel *sel, int n);

/*
 * Every hook of @sel that has a method gets typed pointers (tp_btf,
 * fentry): a program may then use socket storage and plain loads.
 */
bool lk_hooks_typed(const struct lk_hook_sel *sel, int n);

/*
 * Runs the kernel skipped of @obj's programs whose names start with one
 * of @prefixes (NULL: all): a tracepoint that fires on a CPU where the
 * same program is already running (a softirq inside a syscall) does not
 * run it again (bpf_prog_info.recursion_misses).  What those runs would
 * have counted is lost; a tool says how many there were.  A program
 * with a loaded twin (NAME_twin, bpf/twin.bpf.h) is left out: its
 * twin takes those runs, and the twin's own misses are the lost ones.
 */
unsigned long long lk_prog_missed(struct bpf_object *obj, const char *const *prefixes);

/*
 * Tests only: N from LK_TEST_SKIP_RUNS (0 without it), for the BPF
 * constant lk_test_skip_every: the programs that call lk_test_skip()
 * (the @what runs, which -v names) drop 1 run in N.
 */
unsigned int lk_test_skip_runs(const char *what);

/*
 * Tests only: N from LK_TEST_TWICE_RUNS, for lk_test_twice_every: the
 * programs that call lk_test_twice() do 1 run in N twice.
 */
unsigned int lk_test_twice_runs(const char *what);

/*
 * Tests only: N from LK_TEST_SKIP_HANDSHAKES: the programs drop 1 in N
 * of the runs a handshake makes (the @what runs), as when the kernel
 * runs none of them for a whole handshake.
 */
unsigned int lk_test_skip_handshakes(const char *what);

#endif
