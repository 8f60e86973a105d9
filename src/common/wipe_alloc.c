/* SPDX-License-Identifier: MIT */
/* Zeroing allocator hooks (wipe_alloc.h). */
#include "common/wipe_alloc.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

void rn_wipe_free(void *p)
{
	if (!p)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

void *rn_wipe_realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (!p)
		return malloc(n);
	if (!n) {
		rn_wipe_free(p);
		return NULL;
	}
	old = malloc_usable_size(p);
	if (n <= old)
		return p; /* fits: nothing moves, the tail stays ours */
	q = malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, old);
	rn_wipe_free(p);
	return q;
}

char *rn_wipe_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	if (d)
		memcpy(d, s, n);
	return d;
}
