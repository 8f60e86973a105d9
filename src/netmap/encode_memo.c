/* SPDX-License-Identifier: MIT */
/* The encoder's memo of repeated text (see encode_memo.h). */
#include "netmap/encode_memo.h"

#include <stdlib.h>

enum {
	RN_ENC_MIN_CAP = 64,	   /* peer slots, a power of two */
	RN_ENC_SPARE_PEERS = 1024, /* entries kept beyond twice a map's peers */
};

static void rn_enc_text_free(struct rn_enc_text *t)
{
	/* NOLINTBEGIN(clang-analyzer-unix.Malloc): the memset below NULLs both; a 2nd clear frees NULL */
	free(t->raw);
	free(t->esc);
	/* NOLINTEND(clang-analyzer-unix.Malloc) */
	memset(t, 0, sizeof(*t));
}

/* t from raw[0..n) and its escape; false when out of memory. */
static bool rn_enc_text_make(struct rn_enc_text *t, const char *raw, size_t n)
{
	struct rn_jw esc;

	rn_jw_init(&esc);
	rn_jw_esc(&esc, raw, n);
	t->raw = malloc(n + 1);
	if (!esc.ok || !t->raw) {
		rn_jw_free(&esc);
		rn_enc_text_free(t);
		return false;
	}
	memcpy(t->raw, raw, n);
	t->raw_len = n;
	t->esc = esc.buf; /* NULL when empty: pasting 0 bytes reads nothing */
	t->esc_len = esc.len;
	return true;
}

static void rn_enc_peer_clear(struct rn_enc_peer_memo *e)
{
	free(e->key.endpoints);
	rn_enc_text_free(&e->head);
	rn_enc_text_free(&e->own4);
	rn_enc_text_free(&e->own6);
	rn_enc_text_free(&e->mid);
	memset(e, 0, sizeof(*e));
}

static size_t rn_enc_slot(uint64_t id, size_t cap)
{
	return (size_t)((id * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & (cap - 1);
}

static bool rn_enc_grow(struct rn_enc_memo *memo)
{
	size_t cap = memo->cap ? memo->cap * 2 : RN_ENC_MIN_CAP;
	struct rn_enc_peer_memo *v = calloc(cap, sizeof(*v));

	if (!v)
		return false;
	for (size_t i = 0; i < memo->cap; i++) {
		size_t j;

		if (!memo->peers[i].key.id)
			continue;
		for (j = rn_enc_slot(memo->peers[i].key.id, cap); v[j].key.id;
		     j = (j + 1) & (cap - 1))
			;
		v[j] = memo->peers[i];
	}
	free(memo->peers);
	memo->peers = v;
	memo->cap = cap;
	return true;
}

/* The slot of id: its entry, or the free slot for it; NULL when out of memory. */
static struct rn_enc_peer_memo *rn_enc_find(struct rn_enc_memo *memo, uint64_t id)
{
	size_t j;

	if (2 * (memo->count + 1) > memo->cap && !rn_enc_grow(memo))
		return NULL;
	for (j = rn_enc_slot(id, memo->cap); memo->peers[j].key.id; j = (j + 1) & (memo->cap - 1))
		if (memo->peers[j].key.id == id)
			break;
	return &memo->peers[j];
}

static bool rn_enc_same_peer(const struct rn_netmap_peer *a, const struct rn_netmap_peer *b)
{
	return a->id == b->id && a->online == b->online && a->last_seen == b->last_seen &&
	       a->n_endpoints == b->n_endpoints && !memcmp(a->public_key, b->public_key, 32) &&
	       !memcmp(a->ipv4, b->ipv4, 4) && !memcmp(a->ipv6, b->ipv6, 16) &&
	       !strcmp(a->name, b->name) && !strcmp(a->dns_name, b->dns_name) &&
	       (!a->n_endpoints ||
		!memcmp(a->endpoints, b->endpoints, a->n_endpoints * sizeof(*a->endpoints)));
}

static bool rn_enc_peer_make(struct rn_enc_peer_memo *e, const struct rn_netmap_peer *p)
{
	struct rn_filter_prefix own;
	struct rn_jw w;
	bool ok;

	e->key = *p;
	e->key.allowed_ips = e->key.lan_routes = NULL;
	e->key.n_allowed_ips = e->key.n_lan_routes = 0;
	e->key.endpoints = NULL;
	if (p->n_endpoints) {
		e->key.endpoints = malloc(p->n_endpoints * sizeof(*p->endpoints));
		if (!e->key.endpoints)
			return false;
		memcpy(e->key.endpoints, p->endpoints, p->n_endpoints * sizeof(*p->endpoints));
	}
	rn_jw_init(&w);
	rn_enc_peer_head(&w, p);
	ok = w.ok && rn_enc_text_make(&e->head, w.buf, w.len);
	rn_jw_reset(&w);
	rn_filter_prefix_make(&own, AF_INET, p->ipv4, 32);
	rn_jw_prefix(&w, &own);
	ok = ok && w.ok && rn_enc_text_make(&e->own4, w.buf, w.len);
	rn_jw_reset(&w);
	rn_filter_prefix_make(&own, AF_INET6, p->ipv6, 128);
	rn_jw_prefix(&w, &own);
	ok = ok && w.ok && rn_enc_text_make(&e->own6, w.buf, w.len);
	rn_jw_reset(&w);
	rn_enc_peer_mid(&w, p);
	ok = ok && w.ok && rn_enc_text_make(&e->mid, w.buf, w.len);
	rn_jw_free(&w);
	return ok;
}

/* Whether q is the peer's own /32 (4) or /128 (6), or neither (0). */
static int rn_enc_own(const struct rn_netmap_peer *p, const struct rn_filter_prefix *q)
{
	if (q->family == AF_INET && q->len == 32 && !memcmp(q->addr, p->ipv4, 4))
		return 4;
	if (q->family == AF_INET6 && q->len == 128 && !memcmp(q->addr, p->ipv6, 16))
		return 6;
	return 0;
}

bool rn_enc_memo_peer(struct rn_netmap_encoder *enc, const struct rn_netmap_peer *p)
{
	struct rn_enc_memo *memo = rn_enc_memo(enc);
	struct rn_enc_peer_memo *e = p->id ? rn_enc_find(memo, p->id) : NULL;
	struct rn_jw *w = rn_enc_map(enc);

	if (!e)
		return false;
	if (e->key.id && !rn_enc_same_peer(&e->key, p)) {
		rn_enc_peer_clear(e);
		memo->count--;
	}
	if (!e->key.id) {
		if (!rn_enc_peer_make(e, p)) {
			rn_enc_peer_clear(e);
			return false;
		}
		memo->count++;
	}
	rn_enc_paste(enc, &e->head);
	RN_JW_LIT(w, "[");
	for (size_t i = 0; i < p->n_allowed_ips; i++) {
		int own = rn_enc_own(p, &p->allowed_ips[i]);

		if (i)
			RN_JW_LIT(w, ",");
		if (own)
			rn_enc_paste(enc, own == 4 ? &e->own4 : &e->own6);
		else
			rn_jw_prefix(w, &p->allowed_ips[i]);
	}
	RN_JW_LIT(w, "]");
	rn_enc_paste(enc, &e->mid);
	return true;
}

void rn_enc_memo_prefixes(struct rn_netmap_encoder *enc, const struct rn_filter_prefix *v, size_t n)
{
	struct rn_enc_memo *memo = rn_enc_memo(enc);
	struct rn_enc_list_memo *l;
	struct rn_jw w;

	if (n < RN_ENC_LIST_MIN) {
		rn_jw_prefixes(rn_enc_map(enc), v, n);
		return;
	}
	for (size_t i = 0; i < RN_ENC_LISTS; i++) {
		l = &memo->lists[i];
		if (l->n == n && !memcmp(l->v, v, n * sizeof(*v))) {
			rn_enc_paste(enc, &l->text);
			return;
		}
	}
	l = &memo->lists[memo->next_list++ % RN_ENC_LISTS];
	free(l->v);
	rn_enc_text_free(&l->text);
	l->n = 0;
	l->v = malloc(n * sizeof(*v));
	rn_jw_init(&w);
	rn_jw_prefixes(&w, v, n);
	if (l->v && w.ok && rn_enc_text_make(&l->text, w.buf, w.len)) {
		memcpy(l->v, v, n * sizeof(*v));
		l->n = n;
		rn_enc_paste(enc, &l->text);
	} else {
		rn_jw_prefixes(rn_enc_map(enc), v, n);
	}
	rn_jw_free(&w);
}

void rn_enc_memo_trim(struct rn_enc_memo *memo, size_t n_peers)
{
	if (memo->count <= 2 * n_peers + RN_ENC_SPARE_PEERS)
		return;
	for (size_t i = 0; i < memo->cap; i++)
		rn_enc_peer_clear(&memo->peers[i]);
	memo->count = 0;
}

void rn_enc_memo_free(struct rn_enc_memo *memo)
{
	for (size_t i = 0; i < memo->cap; i++)
		rn_enc_peer_clear(&memo->peers[i]);
	free(memo->peers);
	for (size_t i = 0; i < RN_ENC_LISTS; i++) {
		free(memo->lists[i].v);
		rn_enc_text_free(&memo->lists[i].text);
	}
	memset(memo, 0, sizeof(*memo));
}
