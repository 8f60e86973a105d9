/* SPDX-License-Identifier: MIT */
/*
 * What forwarding needs from the wire format: error replies (SERVFAIL when no upstream
 * answered), checking that an upstream's reply answers the question we asked, and giving it
 * back to the client under the client's ID. Parsing and building through ldns.
 */
#include <errno.h>
#include <stdlib.h>

#include "dns/zone_priv.h"

void rn_dns_set_id(uint8_t *m, size_t len, uint16_t id)
{
	if (len >= LDNS_HEADER_SIZE)
		LDNS_ID_SET(m, id);
}

uint16_t rn_dns_get_id(const uint8_t *m, size_t len)
{
	return len >= LDNS_HEADER_SIZE ? LDNS_ID_WIRE(m) : 0;
}

bool rn_dns_truncated(const uint8_t *m, size_t len)
{
	return len >= LDNS_HEADER_SIZE && LDNS_TC_WIRE(m);
}

int rn_dns_error_reply(const uint8_t *q, size_t len, int rcode, uint8_t **out, size_t *outlen)
{
	ldns_pkt *qp = NULL, *p;
	ldns_status st;

	*out = NULL;
	if (ldns_wire2pkt(&qp, q, len) != LDNS_STATUS_OK)
		return -EINVAL;
	p = ldns_pkt_clone(qp);
	ldns_pkt_free(qp);
	if (!p)
		return -ENOMEM;
	ldns_rr_list_deep_free(ldns_pkt_answer(p));
	ldns_rr_list_deep_free(ldns_pkt_authority(p));
	ldns_rr_list_deep_free(ldns_pkt_additional(p));
	ldns_pkt_set_answer(p, ldns_rr_list_new());
	ldns_pkt_set_authority(p, ldns_rr_list_new());
	ldns_pkt_set_additional(p, ldns_rr_list_new());
	ldns_pkt_set_ancount(p, 0);
	ldns_pkt_set_nscount(p, 0);
	ldns_pkt_set_arcount(p, 0);
	ldns_pkt_set_tsig(p, NULL);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_ra(p, true);
	ldns_pkt_set_aa(p, false);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	if (ldns_pkt_edns(p)) {
		ldns_pkt_set_edns_udp_size(p, RN_DNS_EDNS_SIZE);
		ldns_rdf_deep_free(ldns_pkt_edns_data(p)); /* the client's options (a cookie) */
		ldns_pkt_set_edns_data(p, NULL);
	}
	st = ldns_pkt2wire(out, p, outlen);
	ldns_pkt_free(p);
	return st == LDNS_STATUS_OK ? 0 : -ENOMEM;
}

static bool same_question(const ldns_pkt *a, const ldns_pkt *b)
{
	const ldns_rr *x, *y;

	if (ldns_pkt_qdcount(a) != 1 || ldns_pkt_qdcount(b) != 1)
		return false;
	x = ldns_rr_list_rr(ldns_pkt_question(a), 0);
	y = ldns_rr_list_rr(ldns_pkt_question(b), 0);
	return !ldns_dname_compare(ldns_rr_owner(x), ldns_rr_owner(y)) &&
	       ldns_rr_get_type(x) == ldns_rr_get_type(y) &&
	       ldns_rr_get_class(x) == ldns_rr_get_class(y);
}

bool rn_dns_upstream_reply(const uint8_t *q, size_t qlen, const uint8_t *reply, size_t rlen,
			   uint16_t client_id, bool tcp, uint8_t **out, size_t *outlen)
{
	ldns_pkt *qp = NULL, *rp = NULL;
	size_t limit = RN_DNS_TCP_MAX;
	bool ok = false;

	*out = NULL;
	if (ldns_wire2pkt(&qp, q, qlen) != LDNS_STATUS_OK)
		return false;
	if (ldns_wire2pkt(&rp, reply, rlen) != LDNS_STATUS_OK)
		goto out;
	if (!ldns_pkt_qr(rp) || ldns_pkt_id(rp) != ldns_pkt_id(qp) || !same_question(qp, rp))
		goto out;
	ldns_pkt_set_id(rp, client_id);
	ldns_pkt_set_aa(rp, false);
	if (!tcp) {
		limit = RN_DNS_UDP_MAX;
		if (ldns_pkt_edns(qp) && ldns_pkt_edns_udp_size(qp) > limit)
			limit = ldns_pkt_edns_udp_size(qp);
	}
	ok = ldns_pkt2wire(out, rp, outlen) == LDNS_STATUS_OK;
	if (ok && *outlen > limit) {
		/* The client retries over TCP: keep the header and question only. */
		free(*out);
		*out = NULL;
		ldns_rr_list_deep_free(ldns_pkt_answer(rp));
		ldns_rr_list_deep_free(ldns_pkt_authority(rp));
		ldns_rr_list_deep_free(ldns_pkt_additional(rp));
		ldns_pkt_set_answer(rp, ldns_rr_list_new());
		ldns_pkt_set_authority(rp, ldns_rr_list_new());
		ldns_pkt_set_additional(rp, ldns_rr_list_new());
		ldns_pkt_set_ancount(rp, 0);
		ldns_pkt_set_nscount(rp, 0);
		ldns_pkt_set_arcount(rp, 0);
		ldns_pkt_set_tc(rp, true);
		ok = ldns_pkt2wire(out, rp, outlen) == LDNS_STATUS_OK;
	}
out:
	ldns_pkt_free(qp);
	ldns_pkt_free(rp);
	if (!ok) {
		free(*out);
		*out = NULL;
	}
	return ok;
}
