// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * bpf_map_count: the occupancy of BPF maps by id, for the scale and soak
 * benches (bpftool shows a map's size but not how many entries it
 * holds, and dumping a large map as JSON to count them costs seconds).
 *
 *	bpf_map_count ID...
 *
 * One line per map: id, name, type, max_entries, entries, key_size,
 * value_size, memlock (bytes, from the map's fdinfo).  entries is
 * counted by walking the keys (BPF_MAP_GET_NEXT_KEY) for the hash
 * types; it is "-" for maps whose size is fixed (arrays: every index
 * exists) or that have no keys to walk (ring buffers, socket and task
 * storage).  The walk is bounded: at most twice max_entries steps (a map
 * that changes under it can show a key twice or miss one: the count is
 * a snapshot, within the entries that moved meanwhile; a walk of an LRU
 * map evicting as fast as it is walked can pass max_entries, and is
 * shown as max_entries: full).  Needs
 * CAP_SYS_ADMIN (BPF_MAP_GET_FD_BY_ID).  Plain syscalls, no libbpf.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static const char *type_name(unsigned int t)
{
	switch (t) {
	case BPF_MAP_TYPE_HASH: return "hash";
	case BPF_MAP_TYPE_ARRAY: return "array";
	case BPF_MAP_TYPE_PERCPU_HASH: return "percpu_hash";
	case BPF_MAP_TYPE_PERCPU_ARRAY: return "percpu_array";
	case BPF_MAP_TYPE_LRU_HASH: return "lru_hash";
	case BPF_MAP_TYPE_LRU_PERCPU_HASH: return "lru_percpu_hash";
	case BPF_MAP_TYPE_RINGBUF: return "ringbuf";
	case BPF_MAP_TYPE_SK_STORAGE: return "sk_storage";
	case BPF_MAP_TYPE_TASK_STORAGE: return "task_storage";
	case BPF_MAP_TYPE_PERF_EVENT_ARRAY: return "perf_event_array";
	default: return "other";
	}
}

static int walkable(unsigned int t)
{
	return t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_PERCPU_HASH ||
	       t == BPF_MAP_TYPE_LRU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

/* memlock: from /proc/self/fdinfo/FD ("memlock:" line), 0 if absent. */
static unsigned long long memlock(int fd)
{
	char path[64], line[256];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

static long count_keys(int fd, unsigned int key_size, unsigned int max)
{
	char *cur = calloc(1, key_size), *next = calloc(1, key_size);
	union bpf_attr a;
	unsigned long long steps, limit = 2ULL * max + 2;
	long n = 0;
	int first = 1;

	if (!cur || !next) {
		free(cur);
		free(next);
		return -1;
	}
	for (steps = 0; steps < limit; steps++) {
		memset(&a, 0, sizeof(a));
		a.map_fd = fd;
		a.key = first ? 0 : (unsigned long)cur;
		a.next_key = (unsigned long)next;
		if (sys_bpf(BPF_MAP_GET_NEXT_KEY, &a))
			break;
		n++;
		first = 0;
		memcpy(cur, next, key_size);
	}
	free(cur);
	free(next);
	return n > max ? max : n;
}

int main(int argc, char **argv)
{
	int i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: bpf_map_count ID...\n");
		return 2;
	}
	for (i = 1; i < argc; i++) {
		struct bpf_map_info info;
		union bpf_attr a;
		int fd;

		memset(&a, 0, sizeof(a));
		a.map_id = strtoul(argv[i], NULL, 10);
		fd = sys_bpf(BPF_MAP_GET_FD_BY_ID, &a);
		if (fd < 0) {
			fprintf(stderr, "bpf_map_count: map %s: %s\n", argv[i], strerror(errno));
			rc = 1;
			continue;
		}
		memset(&info, 0, sizeof(info));
		memset(&a, 0, sizeof(a));
		a.info.bpf_fd = fd;
		a.info.info_len = sizeof(info);
		a.info.info = (unsigned long)&info;
		if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a)) {
			fprintf(stderr, "bpf_map_count: map %s: %s\n", argv[i], strerror(errno));
			close(fd);
			rc = 1;
			continue;
		}
		printf("%u %s %s %u ", info.id, info.name[0] ? info.name : "-",
		       type_name(info.type), info.max_entries);
		if (walkable(info.type))
			printf("%ld", count_keys(fd, info.key_size, info.max_entries));
		else
			printf("-");
		printf(" %u %u %llu\n", info.key_size, info.value_size, memlock(fd));
		close(fd);
	}
	return rc;
}
