// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "env.h"
#include "log.h"
#include "maps.h"

#define UPDATE_TRIES 16

int lk_map_update(int fd, const void *key, const void *val, uint64_t flags)
{
	struct timespec ts = { 0, 100000 };
	int i, err = 0;

	for (i = 0; i < UPDATE_TRIES; i++) {
		err = bpf_map_update_elem(fd, key, val, flags);
		if (!err)
			return 0;
		err = -errno;
		if (err != -EBUSY)
			break;
		nanosleep(&ts, NULL);
	}
	lk_err("cannot update BPF map: %s%s", strerror(-err),
	       err == -EBUSY ? " (still busy after retries)" : "");
	return err;
}

void lk_bss_set(volatile unsigned int *word, unsigned int val)
{
	__atomic_store_n(word, val, __ATOMIC_SEQ_CST);
	usleep(LK_GEN_WAIT_US);
}

unsigned int lk_gen_flip(volatile unsigned int *gen)
{
	unsigned int g = *gen;

	lk_bss_set(gen, g ^ 1);
	return g;
}

static bool of_gen(const char *key, const struct lk_gen *gen)
{
	uint32_t g32;
	uint16_t g16;

	switch (gen->size) {
	case 1:
		return (unsigned char)key[gen->off] == gen->g;
	case 2:
		memcpy(&g16, key + gen->off, sizeof(g16));
		return g16 == gen->g;
	default:
		memcpy(&g32, key + gen->off, sizeof(g32));
		return g32 == gen->g;
	}
}

int lk_map_foreach(int fd, size_t key_size, size_t val_size, bool percpu,
		   unsigned int max, const struct lk_gen *gen, lk_entry_fn cb, void *ctx)
{
	size_t vsz = percpu ? lk_percpu_stride(val_size) * lk_ncpus() : val_size;
	char *keys = NULL, *val = NULL, *key, *next;
	unsigned int n = 0, i, steps = 0;
	int err = 0;

	/* One slot more than @max: the walk's current key. */
	keys = calloc((size_t)max + 1, key_size);
	val = malloc(vsz);
	if (!keys || !val) {
		err = -ENOMEM;
		goto cleanup;
	}
	/*
	 * Collect keys first: deleting during get_next_key restarts the
	 * walk.  A key deleted by the kernel meanwhile restarts it too, so
	 * the walk is bounded as well as the keys.
	 */
	key = keys + (size_t)max * key_size;
	next = key;
	for (err = bpf_map_get_next_key(fd, NULL, next); !err && n < max && steps++ < 2 * max;
	     err = bpf_map_get_next_key(fd, key, next)) {
		memcpy(key, next, key_size);
		if (!gen || of_gen(key, gen))
			memcpy(keys + (size_t)n++ * key_size, key, key_size);
	}
	err = 0;
	for (i = 0; i < n; i++) {
		key = keys + (size_t)i * key_size;
		/* Gone since the walk (an LRU eviction, a program's delete). */
		if (bpf_map_lookup_elem(fd, key, val))
			continue;
		err = cb(key, val, ctx);
		if (err)
			break;
		if (gen)
			bpf_map_delete_elem(fd, key);
	}
cleanup:
	free(keys);
	free(val);
	return err;
}

int lk_percpu_sum_u64(int fd, const void *key, uint64_t *out, size_t nfields)
{
	int n = lk_ncpus(), cpu, err = 0;
	size_t stride = lk_percpu_stride(nfields * sizeof(uint64_t)) / sizeof(uint64_t);
	uint64_t *v = calloc((size_t)n, stride * sizeof(uint64_t));
	size_t f;

	memset(out, 0, nfields * sizeof(*out));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, key, v)) {
		err = -errno;
		goto cleanup;
	}
	for (cpu = 0; cpu < n; cpu++)
		for (f = 0; f < nfields; f++)
			out[f] += v[cpu * stride + f];
cleanup:
	free(v);
	return err;
}
