/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_LISTENERS_BPF_H
#define LK_LISTENERS_BPF_H

/*
 * Listeners opened before a tool started, found once at its start
 * (lk_iter_listeners() in common/iter.h, lk_find_listener() and
 * lk_seed_listener() in flow.bpf.h): find_listeners() walks every
 * process's open files into lk_seeds, then the tool's own iter/tcp
 * program gives each listener its storage, with the owner found.  For
 * tools that keep socket owners in socket storage; the userspace half
 * sizes lk_seeds to 1 where it does not run find_listeners().
 */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LK_MAX_SEEDS);
	__type(key, __u64);
	__type(value, struct lk_owner);
} lk_seeds SEC(".maps");

/* For -v: listeners given storage, those with their owner, those lost. */
__u64 lk_listeners_seeded;
__u64 lk_listeners_owned;
__u64 lk_listeners_lost;

SEC("iter/task_file")
int find_listeners(struct bpf_iter__task_file *ctx)
{
	lk_find_listener(ctx, &lk_seeds, &lk_listeners_lost);
	return 0;
}

#endif
