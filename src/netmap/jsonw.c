/* SPDX-License-Identifier: MIT */
/* The netmap's JSON writer (see jsonw.h): formatting without snprintf where it is hot. */
#include "netmap/jsonw.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>

enum {
	RN_JW_MIN_CAP = 4096, /* bytes: a map of a lone node */
};

void rn_jw_init(struct rn_jw *w)
{
	memset(w, 0, sizeof(*w));
	w->ok = true;
}

void rn_jw_free(struct rn_jw *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

void rn_jw_reset(struct rn_jw *w)
{
	w->len = 0;
	w->ok = true;
	if (w->buf)
		w->buf[0] = '\0';
}

bool rn_jw_reserve(struct rn_jw *w, size_t n)
{
	size_t cap = w->cap ? w->cap : RN_JW_MIN_CAP;
	char *grown;

	if (!w->ok)
		return false;
	if (w->cap - w->len > n)
		return true;
	while (cap - w->len <= n) {
		if (cap > SIZE_MAX / 2) {
			w->ok = false;
			return false;
		}
		cap *= 2;
	}
	grown = realloc(w->buf, cap);
	if (!grown) {
		w->ok = false;
		return false;
	}
	w->buf = grown;
	w->cap = cap;
	return true;
}

/* The escape of c, or NULL when c goes as it is. */
static const char *rn_jw_escape(unsigned char c)
{
	switch (c) {
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	case '\b':
		return "\\b";
	case '\f':
		return "\\f";
	case '\n':
		return "\\n";
	case '\r':
		return "\\r";
	case '\t':
		return "\\t";
	default:
		return NULL;
	}
}

void rn_jw_esc(struct rn_jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t start = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
		const char *esc;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80)
			continue;
		if (c >= 0x80) {
			w->ok = false; /* see jsonw.h: a valid map is ASCII */
			return;
		}
		rn_jw_raw(w, s + start, i - start);
		start = i + 1;
		esc = rn_jw_escape(c);
		if (esc)
			rn_jw_raw(w, esc, 2);
		else
			rn_jw_raw(w, u, sizeof(u));
	}
	rn_jw_raw(w, s + start, n - start);
}

void rn_jw_strn(struct rn_jw *w, const char *s, size_t n)
{
	RN_JW_LIT(w, "\"");
	rn_jw_esc(w, s, n);
	RN_JW_LIT(w, "\"");
}

/* Decimal digits of v at the end of buf[0..20); returns where they start. */
static char *rn_jw_digits(uint64_t v, char buf[20])
{
	char *p = buf + 20;

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return p;
}

void rn_jw_u64(struct rn_jw *w, uint64_t v)
{
	char buf[20], *p = rn_jw_digits(v, buf);

	rn_jw_raw(w, p, (size_t)(buf + 20 - p));
}

/* The text of an address, unquoted, into out; returns its length. */
static size_t rn_jw_ip_text(int family, const uint8_t *addr, char out[INET6_ADDRSTRLEN])
{
	char *o = out;

	if (family != AF_INET) {
		if (!inet_ntop(family, addr, out, INET6_ADDRSTRLEN))
			strcpy(out, "?");
		return strlen(out);
	}
	for (int i = 0; i < 4; i++) { /* inet_ntop's dotted quad, without its snprintf */
		char buf[20], *p = rn_jw_digits(addr[i], buf);
		size_t n = (size_t)(buf + 20 - p);

		if (i)
			*o++ = '.';
		memcpy(o, p, n);
		o += n;
	}
	*o = '\0';
	return (size_t)(o - out);
}

void rn_jw_ip(struct rn_jw *w, int family, const uint8_t *addr)
{
	char text[INET6_ADDRSTRLEN + 2];
	size_t n = rn_jw_ip_text(family, addr, text + 1);

	text[0] = '"';
	text[n + 1] = '"';
	rn_jw_raw(w, text, n + 2);
}

void rn_jw_prefix(struct rn_jw *w, const struct rn_filter_prefix *p)
{
	char text[RN_FILTER_PREFIX_STRLEN + 2], buf[20], *d = rn_jw_digits(p->len, buf);
	size_t n = rn_jw_ip_text(p->family, p->addr, text + 1) + 1, nd = (size_t)(buf + 20 - d);

	text[0] = '"';
	text[n++] = '/';
	memcpy(text + n, d, nd);
	n += nd;
	text[n++] = '"';
	rn_jw_raw(w, text, n);
}

void rn_jw_prefixes(struct rn_jw *w, const struct rn_filter_prefix *p, size_t n)
{
	RN_JW_LIT(w, "[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			RN_JW_LIT(w, ",");
		rn_jw_prefix(w, &p[i]);
	}
	RN_JW_LIT(w, "]");
}
