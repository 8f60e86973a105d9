/* SPDX-License-Identifier: MIT */
/*
 * The Magic DNS zone of one netmap: records sorted by owner (canonical, lowercase) so a lookup
 * is a binary search, plus the reverse zones of the mesh: X.100.in-addr.arpa for 100.64.0.0/10
 * and the 12-nibble ip6.arpa name of the network's /48.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/zone_priv.h"

static void rec_free(struct rn_dns_rec *r)
{
	ldns_rr_free(r->rr);
	free(r->text);
	free(r->wire);
}

void rn_dns_zone_free(struct rn_dns_zone *z)
{
	if (!z)
		return;
	rn_dns_index_free(z);
	for (size_t i = 0; i < z->n; i++)
		rec_free(&z->recs[i]);
	free(z->recs);
	ldns_rdf_deep_free(z->apex);
	ldns_rdf_deep_free(z->rev4);
	ldns_rdf_deep_free(z->rev6);
	free(z);
}

static ldns_rdf *dname(const char *s)
{
	char buf[RN_DNS_NAME_TEXT_MAX];
	ldns_rdf *d;

	snprintf(buf, sizeof(buf), "%s%s", s, s[0] && s[strlen(s) - 1] == '.' ? "" : ".");
	d = ldns_dname_new_frm_str(buf);
	if (d)
		ldns_dname2canonical(d);
	return d;
}

/* Takes owner and rd (freed on failure). */
static int push(struct rn_dns_zone *z, ldns_rdf *owner, ldns_rr_type t, ldns_rdf *rd,
		const char *node, bool online)
{
	struct rn_dns_rec *r;
	ldns_rr *rr = owner && rd ? ldns_rr_new() : NULL;

	if (!rr) {
		ldns_rdf_deep_free(owner);
		ldns_rdf_deep_free(rd);
		return -ENOMEM;
	}
	ldns_rr_set_owner(rr, owner);
	ldns_rr_set_type(rr, t);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
	ldns_rr_set_ttl(rr, RN_DNS_TTL_S);
	ldns_rr_push_rdf(rr, rd);
	if (z->n == z->cap) {
		size_t cap = z->cap ? z->cap * 2 : 16;

		r = reallocarray(z->recs, cap, sizeof(*r));
		if (!r) {
			ldns_rr_free(rr);
			return -ENOMEM;
		}
		z->recs = r;
		z->cap = cap;
	}
	r = &z->recs[z->n];
	memset(r, 0, sizeof(*r));
	r->rr = rr;
	r->text = ldns_rr2str(rr);
	if (!r->text) {
		ldns_rr_free(rr);
		return -ENOMEM;
	}
	r->text[strcspn(r->text, "\n")] = '\0';
	r->type = (uint16_t)t;
	snprintf(r->node, sizeof(r->node), "%s", node);
	r->online = online;
	z->n++;
	return 0;
}

static int add_node(struct rn_dns_zone *z, const char *name, const char *dns_name,
		    const uint8_t v4[4], const uint8_t v6[16], bool online)
{
	ldns_rdf *a, *aaaa;
	int r;

	r = push(z, dname(dns_name), LDNS_RR_TYPE_A, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, v4),
		 name, online);
	if (!r)
		r = push(z, dname(dns_name), LDNS_RR_TYPE_AAAA,
			 ldns_rdf_new_frm_data(LDNS_RDF_TYPE_AAAA, 16, v6), name, online);
	if (r)
		return r;
	a = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, v4);
	aaaa = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_AAAA, 16, v6);
	r = push(z, a ? ldns_rdf_address_reverse(a) : NULL, LDNS_RR_TYPE_PTR, dname(dns_name), name,
		 online);
	if (!r)
		r = push(z, aaaa ? ldns_rdf_address_reverse(aaaa) : NULL, LDNS_RR_TYPE_PTR,
			 dname(dns_name), name, online);
	ldns_rdf_deep_free(a);
	ldns_rdf_deep_free(aaaa);
	if (!r) /* the owners of the reversed names must be canonical too */
		for (size_t i = z->n - 2; i < z->n; i++)
			ldns_dname2canonical(ldns_rr_owner(z->recs[i].rr));
	return r;
}

static int add_extra(struct rn_dns_zone *z, const struct rn_netmap_dns_record *x)
{
	bool v4 = x->type == RN_NETMAP_RR_A;

	return push(z, dname(x->name), v4 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA,
		    ldns_rdf_new_frm_data(v4 ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA, v4 ? 4 : 16,
					  x->value.addr),
		    "", true);
}

static int rec_cmp(const void *a, const void *b)
{
	const struct rn_dns_rec *x = a, *y = b;
	int c = ldns_dname_compare(ldns_rr_owner(x->rr), ldns_rr_owner(y->rr));

	if (c)
		return c;
	return (int)ldns_rr_get_type(x->rr) - (int)ldns_rr_get_type(y->rr);
}

/* "f.e.d.c.b.a.9.8.7.6.5.4.ip6.arpa." of the /48 of v6. */
static ldns_rdf *rev6_zone(const uint8_t v6[16])
{
	static const char hex[] = "0123456789abcdef";
	char buf[64], *p = buf;

	for (int i = 5; i >= 0; i--) {
		*p++ = hex[v6[i] & 0xf];
		*p++ = '.';
		*p++ = hex[v6[i] >> 4];
		*p++ = '.';
	}
	snprintf(p, sizeof(buf) - (size_t)(p - buf), "ip6.arpa.");
	return dname(buf);
}

int rn_dns_zone_build(const struct rn_netmap *m, struct rn_dns_zone **out)
{
	struct rn_dns_zone *z = calloc(1, sizeof(*z));
	int r = -ENOMEM;

	*out = NULL;
	if (!z)
		return -ENOMEM;
	snprintf(z->domain, sizeof(z->domain), "%s", m->domain);
	z->serial = (uint32_t)m->version;
	memcpy(z->prefix48, m->self.ipv6, sizeof(z->prefix48));
	z->apex = dname(m->domain);
	z->rev4 = dname("100.in-addr.arpa");
	z->rev6 = rev6_zone(m->self.ipv6);
	if (!z->apex || !z->rev4 || !z->rev6)
		goto err;
	r = add_node(z, m->self.name, m->self.dns_name, m->self.ipv4, m->self.ipv6, true);
	for (size_t i = 0; !r && i < m->n_peers; i++) {
		const struct rn_netmap_peer *p = &m->peers[i];

		r = add_node(z, p->name, p->dns_name, p->ipv4, p->ipv6, p->online);
	}
	for (size_t i = 0; !r && i < m->dns.n_records; i++)
		r = add_extra(z, &m->dns.records[i]);
	if (r)
		goto err;
	qsort(z->recs, z->n, sizeof(*z->recs), rec_cmp);
	r = rn_dns_index_build(z);
	if (r)
		goto err;
	*out = z;
	return 0;
err:
	rn_dns_zone_free(z);
	return r;
}

size_t rn_dns_zone_count(const struct rn_dns_zone *z)
{
	return z ? z->n : 0;
}

void rn_dns_zone_get(const struct rn_dns_zone *z, size_t i, struct rn_dns_zone_rec *out)
{
	out->text = z->recs[i].text;
	out->node = z->recs[i].node;
	out->online = z->recs[i].online;
}

const char *rn_dns_zone_domain(const struct rn_dns_zone *z)
{
	return z->domain;
}

size_t rn_dns_zone_find(const struct rn_dns_zone *z, const ldns_rdf *name, size_t *count)
{
	size_t lo = 0, hi = z->n, first;

	while (lo < hi) { /* the first record whose owner is >= name */
		size_t mid = lo + (hi - lo) / 2;

		if (ldns_dname_compare(ldns_rr_owner(z->recs[mid].rr), name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	while (lo < z->n && !ldns_dname_compare(ldns_rr_owner(z->recs[lo].rr), name))
		lo++;
	*count = lo - first;
	return first;
}

ldns_rdf *rn_dns_zone_apex(const struct rn_dns_zone *z, const ldns_rdf *cq)
{
	uint8_t n = ldns_dname_label_count(cq);
	ldns_rdf *lab, *apex = NULL;
	char *s, buf[64];
	unsigned long oct;

	if (!ldns_dname_compare(cq, z->apex) || ldns_dname_is_subdomain(cq, z->apex))
		return ldns_rdf_clone(z->apex);
	if (!ldns_dname_compare(cq, z->rev6) || ldns_dname_is_subdomain(cq, z->rev6))
		return ldns_rdf_clone(z->rev6);
	if (n < 4 || !ldns_dname_is_subdomain(cq, z->rev4))
		return NULL;
	/* X.100.in-addr.arpa. is ours for X in 64-127: 100.64.0.0/10 */
	lab = ldns_dname_label(cq, (uint8_t)(n - 4));
	s = lab ? ldns_rdf2str(lab) : NULL;
	if (s) {
		char *end;

		oct = strtoul(s, &end, 10);
		if (end != s && !strcmp(end, ".") && s[0] != '0' && oct >= 64 && oct <= 127) {
			snprintf(buf, sizeof(buf), "%lu.100.in-addr.arpa.", oct);
			apex = ldns_dname_new_frm_str(buf);
		}
	}
	free(s);
	ldns_rdf_deep_free(lab);
	return apex;
}

ldns_rr *rn_dns_zone_soa(const struct rn_dns_zone *z, const ldns_rdf *apex)
{
	char *owner = ldns_rdf2str(apex), text[2 * RN_DNS_NAME_TEXT_MAX];
	ldns_rr *rr = NULL;

	if (!owner)
		return NULL;
	snprintf(text, sizeof(text),
		 "%s %d IN SOA magicdns.%s. hostmaster.%s. %u 3600 600 86400 %d", owner,
		 RN_DNS_TTL_S, z->domain, z->domain, z->serial, RN_DNS_TTL_S);
	free(owner);
	if (ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) != LDNS_STATUS_OK)
		return NULL;
	return rr;
}
