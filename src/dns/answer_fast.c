/* SPDX-License-Identifier: MIT */
/*
 * The common query answered without an ldns_pkt: ldns parses the question (and the OPT
 * record), the name is looked up in the zone's index, and the response is the header, the
 * question as the client spelled it, and records ldns encoded when the zone was built
 * (answer owners point at the question: the client's spelling, RFC 1035 compression).
 * Anything less plain goes to the ldns_pkt path in answer.c, which answers every query the
 * same way; answer_test.c compares the two.
 */
#include <string.h>

#include "dns/zone_priv.h"

#define BAIL	(-1)
#define OPT_LEN 11 /* root owner, type, class (payload size), TTL, RDLENGTH 0 */

/* Whether the canonical name w lies strictly below the canonical name d. */
static bool below(const uint8_t *w, size_t wl, const ldns_rdf *d)
{
	size_t dl = ldns_rdf_size(d);

	for (size_t o = 0; w[o] && wl - o > dl;) {
		o += (size_t)w[o] + 1;
		if (wl - o == dl && !memcmp(w + o, ldns_rdf_data(d), dl))
			return true;
	}
	return false;
}

/* The SOA index of a name missing from the index; -1: in none of our zones; -2: rev4. */
static int miss_zone(const struct rn_dns_zone *z, const uint8_t *w, size_t wl)
{
	const ldns_rdf *zones[] = { z->apex, z->rev6 };

	for (size_t i = 0; i < 2; i++)
		if (below(w, wl, zones[i])) {
			const struct rn_dns_name *a =
			    rn_dns_index_find(z, ldns_rdf_data(zones[i]), ldns_rdf_size(zones[i]));

			return a ? a->soa : BAIL;
		}
	/* Which X.100.in-addr.arpa is ours takes rn_dns_zone_apex's reading of X. */
	return below(w, wl, z->rev4) ? -2 : -1;
}

/* What the query's name holds: the records, the zone (SOA) and whether it exists. */
struct hit {
	const struct rn_dns_name *e; /* NULL: no such name */
	int soa;
	bool is_apex;
};

/* Looks w up as the ldns_pkt path does; false: forward it. -2 in h->soa: leave it to that path. */
static bool find(const struct rn_dns_zone *z, const uint8_t *w, size_t wl, struct hit *h)
{
	uint8_t full[LDNS_MAX_DOMAINLEN];
	size_t al = ldns_rdf_size(z->apex);

	*h = (struct hit){ .e = rn_dns_index_find(z, w, wl), .soa = -1 };
	if (h->e) {
		h->soa = h->e->soa;
		h->is_apex = h->e->is_apex;
	} else {
		h->soa = miss_zone(z, w, wl);
		if (h->soa == -2)
			return true;
	}
	if ((h->e && h->e->n) || h->soa >= 0)
		return true;
	/* "nas.": a client that did not append the search domain; NAME.DOMAIN, no zone */
	if (!w[0] || w[1 + w[0]] || wl - 1 + al > sizeof(full))
		return false;
	memcpy(full, w, wl - 1);
	memcpy(full + wl - 1, ldns_rdf_data(z->apex), al);
	h->e = rn_dns_index_find(z, full, wl - 1 + al);
	return h->e && h->e->n;
}

static size_t put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

/* The records of h for qtype (answers), or the SOA for a negative answer (authority). */
struct plan {
	uint16_t an, ns;
	uint8_t rcode;
	bool aa;
	size_t size; /* of those records in wire format */
};

static void plan(const struct rn_dns_zone *z, const struct hit *h, uint16_t qtype, struct plan *p)
{
	*p = (struct plan){ .rcode = LDNS_RCODE_NOERROR };
	if (qtype == LDNS_RR_TYPE_AXFR || qtype == LDNS_RR_TYPE_IXFR) {
		p->rcode = LDNS_RCODE_REFUSED;
		return;
	}
	p->aa = true;
	for (size_t i = h->e ? h->e->first : 0; h->e && i < h->e->first + h->e->n; i++)
		if (qtype == z->recs[i].type || qtype == LDNS_RR_TYPE_ANY) {
			p->an++;
			p->size += 2 + z->recs[i].wlen;
		}
	if (h->is_apex && (qtype == LDNS_RR_TYPE_SOA || qtype == LDNS_RR_TYPE_ANY)) {
		p->an++;
		p->size += z->soas[h->soa].len;
	}
	if (p->an)
		return;
	p->rcode = h->e ? LDNS_RCODE_NOERROR : LDNS_RCODE_NXDOMAIN;
	if (h->soa >= 0) { /* extra records outside the domain: NODATA without an SOA */
		p->ns = 1;
		p->size = z->soas[h->soa].len;
	}
}

static size_t put_records(const struct rn_dns_zone *z, const struct hit *h, uint16_t qtype,
			  const struct plan *p, uint8_t *o)
{
	uint8_t *s = o;

	if (p->ns) {
		memcpy(o, z->soas[h->soa].wire, z->soas[h->soa].len);
		return z->soas[h->soa].len;
	}
	for (size_t i = h->e ? h->e->first : 0; p->an && i < h->e->first + h->e->n; i++) {
		const struct rn_dns_rec *r = &z->recs[i];

		if (qtype != r->type && qtype != LDNS_RR_TYPE_ANY)
			continue;
		o += put16(o, 0xc000 | LDNS_HEADER_SIZE); /* the question's name */
		memcpy(o, r->wire, r->wlen);
		o += r->wlen;
	}
	if (p->an && h->is_apex && (qtype == LDNS_RR_TYPE_SOA || qtype == LDNS_RR_TYPE_ANY)) {
		memcpy(o, z->soas[h->soa].wire, z->soas[h->soa].len);
		o += z->soas[h->soa].len;
	}
	return (size_t)(o - s);
}

/* The EDNS0 payload size of the query's OPT (ldns parses it); 0: absent, BAIL: unusual. */
static int opt_size(const uint8_t *q, size_t len, size_t *pos)
{
	ldns_rr *opt = NULL;
	int s = BAIL;

	if (!LDNS_ARCOUNT(q))
		return 0;
	if (ldns_wire2rr(&opt, q, len, pos, LDNS_SECTION_ADDITIONAL) != LDNS_STATUS_OK)
		return BAIL;
	/* Version 0 only (others get BADVERS from the ldns_pkt path), a root owner. */
	if (ldns_rr_get_type(opt) == LDNS_RR_TYPE_OPT && ldns_rdf_size(ldns_rr_owner(opt)) == 1 &&
	    !((ldns_rr_ttl(opt) >> 16) & 0xff) && ldns_rr_get_class(opt) > 0)
		s = (int)ldns_rr_get_class(opt);
	ldns_rr_free(opt);
	return s;
}

int rn_dns_answer_fast(const struct rn_dns_zone *z, const uint8_t *q, size_t len, bool tcp,
		       uint8_t *buf, size_t cap, size_t *outlen)
{
	size_t pos = LDNS_HEADER_SIZE, wl, limit = tcp ? RN_DNS_TCP_MAX : RN_DNS_UDP_MAX, qend, o;
	uint16_t qtype;
	ldns_rdf *qn = NULL;
	struct hit h;
	struct plan p;
	int edns, v = BAIL;
	bool tc;

	if (len < LDNS_HEADER_SIZE || LDNS_QR_WIRE(q) || LDNS_OPCODE_WIRE(q) != LDNS_PACKET_QUERY ||
	    LDNS_QDCOUNT(q) != 1 || LDNS_ANCOUNT(q) || LDNS_NSCOUNT(q) || LDNS_ARCOUNT(q) > 1)
		return BAIL;
	if (ldns_wire2dname(&qn, q, len, &pos) != LDNS_STATUS_OK)
		return BAIL;
	wl = ldns_rdf_size(qn);
	qend = LDNS_HEADER_SIZE + wl + 4;
	if (pos + 4 > len || qend + OPT_LEN > cap ||
	    ldns_read_uint16(q + pos + 2) != LDNS_RR_CLASS_IN)
		goto out;
	qtype = ldns_read_uint16(q + pos);
	pos += 4;
	edns = opt_size(q, len, &pos);
	if (edns == BAIL || pos != len)
		goto out;
	if (edns && !tcp)
		limit = edns < RN_DNS_UDP_MAX	  ? RN_DNS_UDP_MAX
			: edns > RN_DNS_EDNS_SIZE ? RN_DNS_EDNS_SIZE
						  : (size_t)edns;
	if (!z) {
		v = RN_DNS_FORWARD;
		goto out;
	}
	/* The question as the client spelled it, then the canonical name for the lookup. */
	memcpy(buf + LDNS_HEADER_SIZE, ldns_rdf_data(qn), wl);
	ldns_dname2canonical(qn);
	if (!find(z, ldns_rdf_data(qn), wl, &h)) {
		v = RN_DNS_FORWARD;
		goto out;
	}
	if (h.soa == -2)
		goto out;
	plan(z, &h, qtype, &p);
	tc = qend + p.size + (edns ? OPT_LEN : 0) > limit;
	if (!tc && qend + p.size + OPT_LEN > cap)
		goto out; /* a big TCP answer: the ldns_pkt path allocates it */
	put16(buf, LDNS_ID_WIRE(q));
	buf[2] = (uint8_t)(LDNS_QR_MASK | (p.aa ? LDNS_AA_MASK : 0) | (tc ? LDNS_TC_MASK : 0) |
			   LDNS_RD_WIRE(q));
	buf[3] = (uint8_t)(LDNS_RA_MASK | LDNS_CD_WIRE(q) | p.rcode);
	put16(buf + LDNS_QDCOUNT_OFF, 1);
	put16(buf + LDNS_ANCOUNT_OFF, tc ? 0 : p.an);
	put16(buf + LDNS_NSCOUNT_OFF, tc ? 0 : p.ns);
	put16(buf + LDNS_ARCOUNT_OFF, edns ? 1 : 0);
	o = LDNS_HEADER_SIZE + wl;
	o += put16(buf + o, qtype);
	o += put16(buf + o, LDNS_RR_CLASS_IN);
	if (!tc)
		o += put_records(z, &h, qtype, &p, buf + o);
	if (edns) {
		static const uint8_t opt[OPT_LEN] = { 0, 0, LDNS_RR_TYPE_OPT, RN_DNS_EDNS_SIZE >> 8,
						      RN_DNS_EDNS_SIZE & 0xff };

		memcpy(buf + o, opt, OPT_LEN);
		o += OPT_LEN;
	}
	*outlen = o;
	v = RN_DNS_REPLY;
out:
	ldns_rdf_deep_free(qn);
	return v;
}
