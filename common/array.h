/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_ARRAY_H
#define LK_ARRAY_H

#include <stddef.h>

/* Elements of an array (not of a pointer). */
#define LK_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The rows a report collects: an array of @size-byte elements with room
 * for *@cap, grown (doubled, from @first) so that element @n fits.
 * Returns the array, moved or not, or NULL when memory ran out (the old
 * array is still valid then).
 */
void *lk_array_room(void *base, size_t n, size_t *cap, size_t size, size_t first);

/*
 * Append a zeroed element to the array *@basep (the address of a T *,
 * as libbpf_add_mem() takes it) of *@n elements, grown as above, and
 * count it in *@n.  Returns the new element, or NULL when memory ran
 * out (the array unchanged).
 */
void *lk_array_add(void **basep, size_t *n, size_t *cap, size_t size, size_t first);

#endif
