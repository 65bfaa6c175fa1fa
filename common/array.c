// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <stdlib.h>
#include <string.h>
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

void *lk_array_add(void **basep, size_t *n, size_t *cap, size_t size, size_t first)
{
	char *base = lk_array_room(*basep, *n, cap, size, first);

	if (!base)
		return NULL;
	*basep = base;
	base += (*n)++ * size;
	memset(base, 0, size);
	return base;
}
