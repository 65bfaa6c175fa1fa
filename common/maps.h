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
 * Visit every entry of a hash map: cb(key, value, ctx).  For per-CPU
 * maps @value is the ncpus copies, each rounded up to 8 bytes.  With
 * @drain each entry is read and deleted in one step where the kernel
 * can (lookup-and-delete), so updates racing with the read are not lost.
 * At most @max entries are visited (the map's max_entries).
 */
typedef int (*lk_entry_fn)(const void *key, const void *val, void *ctx);
int lk_map_foreach(int fd, size_t key_size, size_t val_size, bool percpu,
		   unsigned int max, bool drain, lk_entry_fn cb, void *ctx);

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
