/* SPDX-License-Identifier: MIT */
/*
 * A JSON writer into one growing buffer, for the control server's hot path: every map of a
 * 1,000-node network is ~400 KB, rebuilt on each policy change. It writes the bytes jansson's
 * json_dumps(JSON_COMPACT) would (tests compare the two), without building a tree first.
 */
#ifndef RN_NETMAP_JSONW_H
#define RN_NETMAP_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy/filter.h"

/* A failed allocation or a non-ASCII string sets ok to false; later writes do nothing. */
struct rn_jw {
	char *buf; /* owned, NUL-terminated while ok */
	size_t len, cap;
	bool ok;
};

void rn_jw_init(struct rn_jw *w);
void rn_jw_free(struct rn_jw *w);
/* Empties w, keeping its buffer for the next document. */
void rn_jw_reset(struct rn_jw *w);
/* Makes room for n more bytes; false when out of memory. */
bool rn_jw_reserve(struct rn_jw *w, size_t n);

static inline void rn_jw_raw(struct rn_jw *w, const void *p, size_t n)
{
	if (w->cap - w->len <= n && !rn_jw_reserve(w, n))
		return;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

/* A string literal, e.g. RN_JW_LIT(w, ",\"id\":"). */
#define RN_JW_LIT(w, s) rn_jw_raw((w), (s), sizeof(s) - 1)

/*
 * s[0..n) as a JSON string, escaped as jansson does: \" \\ \b \f \n \r \t, other controls as
 * \u00XX. Only ASCII is accepted (every string of a valid map is): a byte >= 0x80 fails w.
 */
void rn_jw_strn(struct rn_jw *w, const char *s, size_t n);
/* The same escaping without the quotes: s[0..n) as the inside of a JSON string. */
void rn_jw_esc(struct rn_jw *w, const char *s, size_t n);
static inline void rn_jw_str(struct rn_jw *w, const char *s)
{
	rn_jw_strn(w, s, strlen(s));
}
void rn_jw_u64(struct rn_jw *w, uint64_t v);
static inline void rn_jw_bool(struct rn_jw *w, bool v)
{
	if (v)
		RN_JW_LIT(w, "true");
	else
		RN_JW_LIT(w, "false");
}
/* An address (AF_INET: 4 bytes, else 16) as a JSON string, as inet_ntop() spells it. */
void rn_jw_ip(struct rn_jw *w, int family, const uint8_t *addr);
/* "ADDR/LEN" as a JSON string, as rn_filter_prefix_format() spells it. */
void rn_jw_prefix(struct rn_jw *w, const struct rn_filter_prefix *p);
/* A JSON array of prefixes. */
void rn_jw_prefixes(struct rn_jw *w, const struct rn_filter_prefix *p, size_t n);

#endif
