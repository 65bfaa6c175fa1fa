/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_MAPS_H
#define LK_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * bpf_map_update_elem() from userspace, retried a bounded number of
 * times on EBUSY (seen when a BPF program holds the bucket lock on the
 * same CPU); any other failure, or EBUSY that persists, prints one line.
 * Returns 0 or a negative errno.
 */
int lk_map_update(int fd, const void *key, const void *val, uint64_t flags);

/*
 * Interval reports read rows written under two generations.  The BPF
 * programs read the generation from a .bss word once per event and put
 * it in the key of every row that event writes.  lk_gen_flip() switches
 * them to the other generation, waits LK_GEN_WAIT_US for the programs
 * that read the old one and are still writing, and returns the old one;
 * lk_map_foreach() with a struct lk_gen then reads that generation's
 * entries and deletes each after reading it.  No program writes them
 * any longer, so nothing written in the interval is lost between the
 * read and the delete.  Without interval reports the programs stay on
 * generation 0 and the one report reads it.
 */
#define LK_GEN_WAIT_US 2000
unsigned int lk_gen_flip(volatile unsigned int *gen);

/*
 * Write @val to a .bss word the programs read, then wait LK_GEN_WAIT_US
 * for those that read the old value and are still running (as
 * lk_gen_flip() does).
 */
void lk_bss_set(volatile unsigned int *word, unsigned int val);

/* The generation field of a map's key, and the generation to visit. */
struct lk_gen {
	size_t off;		/* offsetof() the field in the key */
	size_t size;		/* its size: 1, 2 or 4 bytes */
	unsigned int g;
};

/*
 * Visit the entries of a hash map: cb(key, value, ctx).  For per-CPU
 * maps @value is the ncpus copies, each rounded up to 8 bytes.  With
 * @gen NULL every entry is visited and kept; otherwise only the entries
 * of generation @gen->g, each deleted after its callback.  @max is the
 * map's max_entries: no more entries are visited.  Returns 0, a negative
 * errno, or the first non-zero value @cb returned.
 */
typedef int (*lk_entry_fn)(const void *key, const void *val, void *ctx);
int lk_map_foreach(int fd, size_t key_size, size_t val_size, bool percpu,
		   unsigned int max, const struct lk_gen *gen, lk_entry_fn cb, void *ctx);

/* Size of one per-CPU value slot as the kernel copies it out. */
static inline size_t lk_percpu_stride(size_t val_size)
{
	return (val_size + 7) & ~(size_t)7;
}

/*
 * Read one entry of a per-CPU map whose value is @nfields u64 counters
 * and add the CPUs' copies together into @out.  Returns 0 or a negative
 * errno (the entry is absent: -ENOENT; @out is then zeroed).
 */
int lk_percpu_sum_u64(int fd, const void *key, uint64_t *out, size_t nfields);

#endif
