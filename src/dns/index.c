/* SPDX-License-Identifier: MIT */
/*
 * The zone's index for the pre-encoded answer path (answer_fast.c), built once per zone:
 * every record owner and all its ancestors in a hash table of canonical wire names, each
 * with the zone it falls in, and every record and SOA in wire format. ldns encodes all of
 * it, and decides which zone a name falls in (rn_dns_zone_apex), so both paths agree.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns/zone_priv.h"

uint32_t rn_dns_name_hash(const uint8_t *wire, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a: names are short, any decent spread will do */

	for (size_t i = 0; i < len; i++)
		h = (h ^ wire[i]) * 16777619u;
	return h;
}

const struct rn_dns_name *rn_dns_index_find(const struct rn_dns_zone *z, const uint8_t *wire,
					    size_t len)
{
	uint32_t h = rn_dns_name_hash(wire, len);

	for (size_t i = h & z->mask;; i = (i + 1) & z->mask) {
		const struct rn_dns_name *n;

		if (!z->slots[i])
			return NULL;
		n = &z->names[z->slots[i] - 1];
		if (n->hash == h && n->len == len && !memcmp(n->wire, wire, len))
			return n;
	}
}

void rn_dns_index_free(struct rn_dns_zone *z)
{
	for (size_t i = 0; i < z->n_names; i++)
		free(z->names[i].wire);
	free(z->names);
	free(z->slots);
	for (size_t i = 0; i < z->n_soas; i++) {
		ldns_rdf_deep_free(z->soas[i].apex);
		free(z->soas[i].wire);
	}
	free(z->soas);
	z->names = NULL;
	z->slots = NULL;
	z->soas = NULL;
	z->n_names = z->n_soas = 0;
}

/* The index in z->soas of apex's SOA (apex taken), added when new. */
static int soa_index(struct rn_dns_zone *z, ldns_rdf *apex, int *out)
{
	struct rn_dns_soa *s;
	ldns_rr *rr;
	int r = -ENOMEM;

	for (size_t i = 0; i < z->n_soas; i++)
		if (!ldns_dname_compare(z->soas[i].apex, apex)) {
			ldns_rdf_deep_free(apex);
			*out = (int)i;
			return 0;
		}
	s = reallocarray(z->soas, z->n_soas + 1, sizeof(*s));
	if (!s)
		goto out;
	z->soas = s;
	s = &z->soas[z->n_soas];
	rr = rn_dns_zone_soa(z, apex);
	if (!rr) {
		r = -EINVAL;
		goto out;
	}
	*s = (struct rn_dns_soa){ 0 };
	if (ldns_rr2wire(&s->wire, rr, LDNS_SECTION_AUTHORITY, &s->len) == LDNS_STATUS_OK) {
		s->apex = apex;
		apex = NULL;
		*out = (int)z->n_soas++;
		r = 0;
	}
	ldns_rr_free(rr);
out:
	ldns_rdf_deep_free(apex);
	return r;
}

/* Adds the canonical name wire[0..len) unless present. */
static int add_name(struct rn_dns_zone *z, const uint8_t *wire, size_t len, size_t first, size_t n)
{
	struct rn_dns_name *e;
	ldns_rdf *d, *apex;
	size_t i;
	int r = 0;

	if (rn_dns_index_find(z, wire, len))
		return 0;
	e = &z->names[z->n_names];
	*e = (struct rn_dns_name){
		.len = len, .first = first, .n = n, .soa = -1, .hash = rn_dns_name_hash(wire, len)
	};
	e->wire = malloc(len);
	d = ldns_dname_new_frm_data((uint16_t)len, wire);
	if (!e->wire || !d) {
		free(e->wire);
		ldns_rdf_deep_free(d);
		return -ENOMEM;
	}
	memcpy(e->wire, wire, len);
	apex = rn_dns_zone_apex(z, d);
	if (apex) {
		e->is_apex = !ldns_dname_compare(apex, d);
		r = soa_index(z, apex, &e->soa);
	}
	ldns_rdf_deep_free(d);
	if (r) {
		free(e->wire);
		return r;
	}
	for (i = e->hash & z->mask; z->slots[i]; i = (i + 1) & z->mask)
		;
	z->slots[i] = (uint32_t)++z->n_names;
	return 0;
}

/* The record's wire form after its owner, as ldns writes it. */
static int encode_rec(struct rn_dns_rec *rec)
{
	size_t own = ldns_rdf_size(ldns_rr_owner(rec->rr)), len;
	uint8_t *w = NULL;

	if (ldns_rr2wire(&w, rec->rr, LDNS_SECTION_ANSWER, &len) != LDNS_STATUS_OK)
		return -ENOMEM;
	if (len <= own || len - own > UINT16_MAX) {
		free(w);
		return -EINVAL;
	}
	memmove(w, w + own, len - own);
	rec->wire = w;
	rec->wlen = (uint16_t)(len - own);
	return 0;
}

int rn_dns_index_build(struct rn_dns_zone *z)
{
	size_t bound = 2, slots = 16, owners;
	const ldns_rdf *zones[] = { z->apex, z->rev6 };
	int r = 0;

	for (size_t i = 0; i < z->n; i++) /* each owner and its ancestors, the root included */
		bound += (size_t)ldns_dname_label_count(ldns_rr_owner(z->recs[i].rr)) + 1;
	while (slots < 2 * bound)
		slots *= 2;
	z->names = calloc(bound, sizeof(*z->names));
	z->slots = calloc(slots, sizeof(*z->slots));
	if (!z->names || !z->slots)
		return -ENOMEM;
	z->mask = slots - 1;
	for (size_t i = 0; !r && i < z->n; i++)
		r = encode_rec(&z->recs[i]);
	for (size_t i = 0; !r && i < z->n;) { /* owners: runs of the sorted records */
		const ldns_rdf *o = ldns_rr_owner(z->recs[i].rr);
		size_t j = i + 1;

		while (j < z->n && !ldns_dname_compare(ldns_rr_owner(z->recs[j].rr), o))
			j++;
		r = add_name(z, ldns_rdf_data(o), ldns_rdf_size(o), i, j - i);
		i = j;
	}
	owners = z->n_names;
	for (size_t i = 0; !r && i < owners; i++) { /* their ancestors: no records */
		const struct rn_dns_name *e = &z->names[i];

		/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): add_name() gave every name a wire or failed */
		for (size_t o = 0; !r && e->wire[o];) {
			o += (size_t)e->wire[o] + 1;
			r = add_name(z, e->wire + o, e->len - o, 0, 0);
		}
	}
	for (size_t i = 0; !r && i < sizeof(zones) / sizeof(zones[0]); i++)
		r = add_name(z, ldns_rdf_data(zones[i]), ldns_rdf_size(zones[i]), 0, 0);
	return r;
}
