/* SPDX-License-Identifier: MIT */
/*
 * Allocator hooks that zero memory before giving it back, for libraries whose buffers may hold
 * a secret we cannot reach to wipe: jansson's parser and printer scratch (the local API carries
 * `up`'s auth key) and libcurl's request buffers (the enroll request carries it too). Install
 * them once at start with json_set_alloc_funcs / curl_global_init_mem. Sizes come from
 * malloc_usable_size, so they take only blocks from malloc/calloc/realloc.
 */
#ifndef RN_COMMON_WIPE_ALLOC_H
#define RN_COMMON_WIPE_ALLOC_H

#include <stddef.h>

void rn_wipe_free(void *p);
/* realloc that never leaves the old block's bytes behind when it moves. */
void *rn_wipe_realloc(void *p, size_t n);
char *rn_wipe_strdup(const char *s);

#endif
