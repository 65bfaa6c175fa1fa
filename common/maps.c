// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

static int read_one(int fd, const void *key, void *val, bool drain,
		    bool *can_lad)
{
	if (drain && *can_lad) {
		if (!bpf_map_lookup_and_delete_elem(fd, key, val))
			return 0;
		if (errno == ENOENT)
			return -ENOENT;
		/* Older kernels: hash maps lack lookup-and-delete. */
		*can_lad = false;
	}
	if (bpf_map_lookup_elem(fd, key, val))
		return -errno;
	if (drain)
		bpf_map_delete_elem(fd, key);
	return 0;
}

int lk_map_foreach(int fd, size_t key_size, size_t val_size, bool percpu,
		   unsigned int max, bool drain, lk_entry_fn cb, void *ctx)
{
	size_t vsz = percpu ? lk_percpu_stride(val_size) * lk_ncpus() : val_size;
	char *keys = NULL, *val = NULL;
	unsigned int n = 0, i;
	bool can_lad = true;
	int err = 0;

	keys = calloc(max ? max : 1, key_size);
	val = malloc(vsz);
	if (!keys || !val) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* Collect keys first: deleting during get_next_key restarts the walk. */
	while (n < max && !bpf_map_get_next_key(fd, n ? keys + (n - 1) * key_size : NULL,
						keys + n * key_size))
		n++;
	for (i = 0; i < n; i++) {
		const void *key = keys + i * key_size;

		if (read_one(fd, key, val, drain, &can_lad))
			continue;
		err = cb(key, val, ctx);
		if (err)
			break;
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
