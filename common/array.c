// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <stdlib.h>
#include "array.h"

void *lk_array_room(void *base, size_t n, size_t *cap, size_t size, size_t first)
{
	size_t want = *cap ? *cap : first;

	if (n < *cap)
		return base;
	while (want <= n)
		want *= 2;
	base = realloc(base, want * size);
	if (base)
		*cap = want;
	return base;
}
