# The method each tool chose on each kernel, from the -v survey the
# guest init prints (LKVM-SURVEY: the tool as it is; LKVM-FALLBACK: the
# same with LK_METHODS=fentry,kprobe).  One column per console:
#
#   awk -f methods.awk -v labels="6.1 6.12" console-6.1.log console-6.12.log
#
# Rows: "tool  hook  method..." for every "hook H: using M" line and
# tcstamp's "attached to IF ingress and egress with M" (hook "tc");
# "absent" where every method of a hook was "not available" (the tool
# then uses the next hook, its own row); "-" where the tool did not try
# the hook on that kernel.  A tool that exited non-zero gets an "exit N"
# row; "tcp:tcp_retransmit_skb err" says whether tcpretrans_cnt reads
# the tracepoint's err argument.  The LK_METHODS=fentry,kprobe survey
# follows in a second table.  -v md=1: markdown (the README's table).
BEGIN { nk = split(labels, lab, " ") }
FNR == 1 { k++ }
function put(sec, tool, hook, m, weak,   key) {
	key = tool SUBSEP hook
	if (!((sec, key) in seen)) {
		seen[sec, key] = 1
		if (!((sec, tool) in tseen)) { tseen[sec, tool] = 1; tools[sec, ++nt[sec]] = tool }
		rows[sec, tool, ++nr[sec, tool]] = hook
	}
	if (weak) {
		if (!((sec, key, k) in val)) val[sec, key, k] = m
	} else if (!((sec, key, k) in strong)) {
		strong[sec, key, k] = 1
		val[sec, key, k] = m
	}
}
/^LKVM-(SURVEY|FALLBACK) [a-z_]+: / {
	sec = ($1 == "LKVM-FALLBACK") ? 2 : 1
	tool = $2; sub(/:$/, "", tool)
	line = $0
	sub(/^LKVM-[A-Z]+ [a-z_]+: /, "", line)
	sub(/^[a-z_]+: /, "", line)
	if (match(line, /^hook [^ ]+: using /)) {
		hook = line; sub(/^hook /, "", hook); sub(/: using .*/, "", hook)
		put(sec, tool, hook, substr(line, RLENGTH + 1), 0)
	} else if (sec == 1 && line ~ /^hook [^ ]+: [a-z_]+ not available$/) {
		hook = line; sub(/^hook /, "", hook); sub(/: .*/, "", hook)
		put(sec, tool, hook, "absent", 1)
	} else if (match(line, /^attached to [^ ]+ ingress and egress with /)) {
		put(sec, tool, "tc ingress/egress", substr(line, RLENGTH + 1), 0)
	} else if (sec == 1 && match(line, /^[^ ]+ (has|lacks) an err argument/)) {
		hook = line; sub(/ .*/, "", hook)
		put(sec, tool, hook " err", line ~ /^[^ ]+ has/ ? "read" : "absent", 0)
	} else if (line ~ /^exit [0-9]+$/ && line != "exit 0") {
		put(sec, tool, "exit status", line, 0)
	}
}
function mdtable(sec,   t, r, i, tool, key, v) {
	printf "| tool | %s |", sec == 1 ? "hook" : "hook (fentry,kprobe only)"
	for (i = 1; i <= nk; i++) printf " %s |", lab[i]
	printf "\n| --- | --- |"
	for (i = 1; i <= nk; i++) printf " --- |"
	printf "\n"
	for (t = 1; t <= nt[sec]; t++) {
		tool = tools[sec, t]
		for (r = 1; r <= nr[sec, tool]; r++) {
			key = tool SUBSEP rows[sec, tool, r]
			printf "| `%s` | `%s` |", tool, rows[sec, tool, r]
			for (i = 1; i <= nk; i++) {
				v = ((sec, key, i) in val) ? val[sec, key, i] : "-"
				gsub(/[a-z_0-9]+\(\)/, "`&`", v)
				printf " %s |", v
			}
			printf "\n"
		}
	}
}
function table(sec,   t, r, i, tool, key) {
	if (md) { mdtable(sec); return }
	printf "  %-14s %-26s", "TOOL", sec == 1 ? "HOOK" : "HOOK (fentry,kprobe only)"
	for (i = 1; i <= nk; i++) printf " %-26s", lab[i]
	printf "\n"
	for (t = 1; t <= nt[sec]; t++) {
		tool = tools[sec, t]
		for (r = 1; r <= nr[sec, tool]; r++) {
			key = tool SUBSEP rows[sec, tool, r]
			printf "  %-14s %-26s", tool, rows[sec, tool, r]
			for (i = 1; i <= nk; i++)
				printf " %-26s", ((sec, key, i) in val) ? val[sec, key, i] : "-"
			printf "\n"
		}
	}
}
END {
	table(1)
	if (nt[2]) { printf "\n"; table(2) }
}
