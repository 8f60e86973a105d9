/* SPDX-License-Identifier: MIT */
/*
 * One query in, one response out, both through ldns. Names in the zone get A/AAAA/PTR,
 * NODATA or NXDOMAIN (with the SOA in authority so resolvers cache it for RN_DNS_TTL_S); a
 * single-label name that is a node ("nas.", a client that did not append the search domain)
 * is answered too; other names are the caller's to forward.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/zone_priv.h"

struct reply {
	const ldns_pkt *q; /* NULL: the query did not parse */
	uint16_t id;
	ldns_pkt_opcode opcode;
	ldns_pkt_rcode rcode;
	bool aa;
	ldns_rr_list *an; /* answers, owned by the caller */
	ldns_rr *soa;	  /* authority, owned by the caller */
	size_t limit;	  /* bytes a response may take */
};

static bool section_add(ldns_pkt *p, ldns_pkt_section s, const ldns_rr *rr)
{
	ldns_rr *c = ldns_rr_clone(rr);

	if (c && ldns_pkt_push_rr(p, s, c))
		return true;
	ldns_rr_free(c);
	return false;
}

static ldns_pkt *reply_pkt(const struct reply *r, bool truncated)
{
	ldns_pkt *p = ldns_pkt_new();
	bool ok = p != NULL;

	if (!p)
		return NULL;
	ldns_pkt_set_id(p, r->id);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_opcode(p, r->opcode);
	ldns_pkt_set_rcode(p, (uint8_t)r->rcode);
	ldns_pkt_set_tc(p, truncated);
	if (r->q) {
		ldns_rr_list *qs = ldns_pkt_question(r->q);

		ldns_pkt_set_aa(p, r->aa);
		ldns_pkt_set_rd(p, ldns_pkt_rd(r->q));
		ldns_pkt_set_cd(p, ldns_pkt_cd(r->q));
		ldns_pkt_set_ra(p, true);
		for (size_t i = 0; ok && i < ldns_rr_list_rr_count(qs); i++)
			ok = section_add(p, LDNS_SECTION_QUESTION, ldns_rr_list_rr(qs, i));
		if (ldns_pkt_edns(r->q))
			ldns_pkt_set_edns_udp_size(p, RN_DNS_EDNS_SIZE);
	}
	for (size_t i = 0; ok && !truncated && r->an && i < ldns_rr_list_rr_count(r->an); i++)
		ok = section_add(p, LDNS_SECTION_ANSWER, ldns_rr_list_rr(r->an, i));
	if (ok && !truncated && r->soa)
		ok = section_add(p, LDNS_SECTION_AUTHORITY, r->soa);
	if (!ok) {
		ldns_pkt_free(p);
		return NULL;
	}
	return p;
}

/* Encodes r; past r->limit, again with only the question and TC set. */
static enum rn_dns_verdict encode(const struct reply *r, uint8_t **out, size_t *outlen)
{
	for (int truncated = 0; truncated < 2; truncated++) {
		ldns_pkt *p = reply_pkt(r, truncated);
		ldns_status st;

		if (!p)
			return RN_DNS_DROP;
		st = ldns_pkt2wire(out, p, outlen);
		ldns_pkt_free(p);
		if (st != LDNS_STATUS_OK)
			return RN_DNS_DROP;
		if (*outlen <= r->limit)
			return RN_DNS_REPLY;
		free(*out);
		*out = NULL;
	}
	return RN_DNS_DROP;
}

static size_t size_limit(const ldns_pkt *q, bool tcp)
{
	size_t s;

	if (tcp)
		return RN_DNS_TCP_MAX;
	if (!q || !ldns_pkt_edns(q))
		return RN_DNS_UDP_MAX;
	s = ldns_pkt_edns_udp_size(q);
	return s < RN_DNS_UDP_MAX ? RN_DNS_UDP_MAX : s > RN_DNS_EDNS_SIZE ? RN_DNS_EDNS_SIZE : s;
}

static bool type_matches(ldns_rr_type want, ldns_rr_type have)
{
	return want == have || want == LDNS_RR_TYPE_ANY;
}

/* Fills r->an with the records of [first, first + n) that match qtype, owned by qname. */
static int collect(const struct rn_dns_zone *z, size_t first, size_t n, const ldns_rr *question,
		   struct reply *r)
{
	ldns_rr_type t = ldns_rr_get_type(question);

	for (size_t i = first; i < first + n; i++) {
		ldns_rr *c;

		if (!type_matches(t, ldns_rr_get_type(z->recs[i].rr)))
			continue;
		c = ldns_rr_clone(z->recs[i].rr);
		if (!c)
			return -ENOMEM;
		/* The client's spelling: case randomization (0x20) and relative names match. */
		ldns_rdf_deep_free(ldns_rr_owner(c));
		ldns_rr_set_owner(c, ldns_rdf_clone(ldns_rr_owner(question)));
		if (!ldns_rr_owner(c) || !ldns_rr_list_push_rr(r->an, c)) {
			ldns_rr_free(c);
			return -ENOMEM;
		}
	}
	return 0;
}

/* Whether some record lies below cq: then cq exists (an empty non-terminal), NODATA. */
static bool has_below(const struct rn_dns_zone *z, const ldns_rdf *cq)
{
	size_t n, i = rn_dns_zone_find(z, cq, &n);

	return i + n < z->n && ldns_dname_is_subdomain(ldns_rr_owner(z->recs[i + n].rr), cq);
}

/* The lookup proper for a parsed IN query; FORWARD when the name is not ours. */
static enum rn_dns_verdict lookup(const struct rn_dns_zone *z, const ldns_rr *question,
				  struct reply *r, ldns_rdf *cq)
{
	ldns_rr_type t = ldns_rr_get_type(question);
	ldns_rdf *apex = NULL;
	size_t first, n;
	int e = 0;

	first = rn_dns_zone_find(z, cq, &n);
	apex = rn_dns_zone_apex(z, cq);
	if (!n && !apex && ldns_dname_label_count(cq) == 1) {
		ldns_rdf *full = ldns_dname_cat_clone(cq, z->apex);

		if (full)
			first = rn_dns_zone_find(z, full, &n);
		ldns_rdf_deep_free(full);
		if (!n)
			return RN_DNS_FORWARD; /* "com." and friends */
	}
	if (!n && !apex)
		return RN_DNS_FORWARD;
	if (t == LDNS_RR_TYPE_AXFR || t == LDNS_RR_TYPE_IXFR) {
		r->rcode = LDNS_RCODE_REFUSED;
		goto out;
	}
	r->aa = true;
	r->an = ldns_rr_list_new();
	if (!r->an)
		e = -ENOMEM;
	if (!e && n)
		e = collect(z, first, n, question, r);
	if (!e && apex && !ldns_dname_compare(cq, apex) && type_matches(t, LDNS_RR_TYPE_SOA)) {
		ldns_rr *soa = rn_dns_zone_soa(z, apex);

		if (!soa || !ldns_rr_list_push_rr(r->an, soa)) {
			ldns_rr_free(soa);
			e = -ENOMEM;
		}
	}
	if (e)
		goto out;
	if (!ldns_rr_list_rr_count(r->an)) {
		bool exists = n || !ldns_dname_compare(cq, apex) || has_below(z, cq);

		r->rcode = exists ? LDNS_RCODE_NOERROR : LDNS_RCODE_NXDOMAIN;
		r->soa = apex ? rn_dns_zone_soa(z, apex) : NULL;
		/* Extra records outside the domain: NODATA without an SOA to name. */
	}
out:
	ldns_rdf_deep_free(apex);
	return e ? RN_DNS_DROP : RN_DNS_REPLY;
}

static enum rn_dns_verdict answer_parsed(const struct rn_dns_zone *z, struct reply *r)
{
	const ldns_rr *question;
	ldns_rdf *cq;
	enum rn_dns_verdict v;

	if (ldns_pkt_get_opcode(r->q) != LDNS_PACKET_QUERY) {
		r->rcode = LDNS_RCODE_NOTIMPL;
		return RN_DNS_REPLY;
	}
	if (ldns_pkt_qdcount(r->q) != 1) {
		r->rcode = LDNS_RCODE_FORMERR;
		return RN_DNS_REPLY;
	}
	if (ldns_pkt_edns(r->q) && ldns_pkt_edns_version(r->q) != 0) {
		r->rcode = LDNS_RCODE_NOERROR; /* BADVERS is 16: the upper bits ride in the OPT */
		return RN_DNS_REPLY;
	}
	question = ldns_rr_list_rr(ldns_pkt_question(r->q), 0);
	if (ldns_rr_get_class(question) != LDNS_RR_CLASS_IN) {
		r->rcode = LDNS_RCODE_REFUSED;
		return RN_DNS_REPLY;
	}
	if (!z)
		return RN_DNS_FORWARD;
	cq = ldns_rdf_clone(ldns_rr_owner(question));
	if (!cq)
		return RN_DNS_DROP;
	ldns_dname2canonical(cq);
	v = lookup(z, question, r, cq);
	ldns_rdf_deep_free(cq);
	return v;
}

enum rn_dns_verdict rn_dns_answer_pkt(const struct rn_dns_zone *z, const uint8_t *q, size_t len,
				      bool tcp, uint8_t **out, size_t *outlen)
{
	struct reply r = { .rcode = LDNS_RCODE_NOERROR };
	ldns_pkt *qp = NULL;
	enum rn_dns_verdict v;
	bool badvers;

	*out = NULL;
	*outlen = 0;
	if (len < LDNS_HEADER_SIZE || LDNS_QR_WIRE(q))
		return RN_DNS_DROP; /* no header to answer, or a response: never answer those */
	r.id = LDNS_ID_WIRE(q);
	r.opcode = (ldns_pkt_opcode)LDNS_OPCODE_WIRE(q);
	r.limit = tcp ? RN_DNS_TCP_MAX : RN_DNS_UDP_MAX;
	if (ldns_wire2pkt(&qp, q, len) != LDNS_STATUS_OK) {
		r.rcode = r.opcode == LDNS_PACKET_QUERY ? LDNS_RCODE_FORMERR : LDNS_RCODE_NOTIMPL;
		return encode(&r, out, outlen);
	}
	r.q = qp;
	r.limit = size_limit(qp, tcp);
	v = answer_parsed(z, &r);
	badvers = ldns_pkt_edns(qp) && ldns_pkt_edns_version(qp) != 0;
	if (v == RN_DNS_REPLY && badvers) {
		ldns_pkt *p = reply_pkt(&r, true);

		v = RN_DNS_DROP;
		if (p) { /* BADVERS (16): extended rcode 1, header rcode 0, no question */
			ldns_pkt_set_edns_extended_rcode(p, 1);
			ldns_pkt_set_tc(p, false);
			if (ldns_pkt2wire(out, p, outlen) == LDNS_STATUS_OK)
				v = RN_DNS_REPLY;
			ldns_pkt_free(p);
		}
	} else if (v == RN_DNS_REPLY) {
		v = encode(&r, out, outlen);
	}
	ldns_rr_list_deep_free(r.an);
	ldns_rr_free(r.soa);
	ldns_pkt_free(qp);
	return v;
}

enum rn_dns_verdict rn_dns_answer(const struct rn_dns_zone *z, const uint8_t *q, size_t len,
				  bool tcp, uint8_t **out, size_t *outlen)
{
	uint8_t buf[RN_DNS_EDNS_SIZE];
	int v = rn_dns_answer_fast(z, q, len, tcp, buf, sizeof(buf), outlen);

	*out = NULL;
	if (v < 0)
		return rn_dns_answer_pkt(z, q, len, tcp, out, outlen);
	if (v == RN_DNS_REPLY) {
		*out = malloc(*outlen);
		if (!*out)
			return RN_DNS_DROP;
		memcpy(*out, buf, *outlen);
	} else {
		*outlen = 0;
	}
	return (enum rn_dns_verdict)v;
}

enum rn_dns_verdict rn_dns_answer_buf(const struct rn_dns_zone *z, const uint8_t *q, size_t len,
				      bool tcp, uint8_t *buf, size_t cap, size_t *outlen)
{
	int v = rn_dns_answer_fast(z, q, len, tcp, buf, cap, outlen);
	uint8_t *out;

	if (v >= 0)
		return (enum rn_dns_verdict)v;
	v = rn_dns_answer_pkt(z, q, len, tcp, &out, outlen);
	if (v == RN_DNS_REPLY) {
		if (*outlen <= cap)
			memcpy(buf, out, *outlen);
		else
			v = RN_DNS_DROP;
		free(out);
	}
	return (enum rn_dns_verdict)v;
}
