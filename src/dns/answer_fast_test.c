/* SPDX-License-Identifier: MIT */
/*
 * The pre-encoded answer path against the ldns_pkt path: for a grid of names, types, EDNS
 * sizes, flags and transports, both responses parse with ldns to the same header, EDNS and
 * sections (record text, the client's spelling included). Plus the name index itself.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "dns/zone_priv.h"

static void ip(int af, const char *s, void *out)
{
	assert_int_equal(inet_pton(af, s, out), 1);
}

static void extra(struct rn_netmap_dns_record *x, const char *name, int af, const char *addr)
{
	snprintf(x->name, sizeof(x->name), "%s", name);
	x->type = af == AF_INET ? RN_NETMAP_RR_A : RN_NETMAP_RR_AAAA;
	x->value.family = af;
	ip(af, addr, x->value.addr);
}

static int setup(void **state)
{
	struct rn_netmap m = { .version = 42 };
	struct rn_netmap_peer p[2] = { 0 };
	struct rn_netmap_dns_record x[8] = { 0 };
	struct rn_dns_zone *z;

	snprintf(m.domain, sizeof(m.domain), "rustynet");
	snprintf(m.self.name, sizeof(m.self.name), "nas");
	snprintf(m.self.dns_name, sizeof(m.self.dns_name), "nas.rustynet");
	ip(AF_INET, "100.64.0.1", m.self.ipv4);
	ip(AF_INET6, "fd7a:115c:a1e0::6440:1", m.self.ipv6);
	snprintf(p[0].name, sizeof(p[0].name), "nas-2");
	snprintf(p[0].dns_name, sizeof(p[0].dns_name), "nas-2.rustynet");
	ip(AF_INET, "100.64.0.2", p[0].ipv4);
	ip(AF_INET6, "fd7a:115c:a1e0::6440:2", p[0].ipv6);
	snprintf(p[1].name, sizeof(p[1].name), "web");
	snprintf(p[1].dns_name, sizeof(p[1].dns_name), "web.rustynet");
	ip(AF_INET, "100.65.1.3", p[1].ipv4);
	ip(AF_INET6, "fd7a:115c:a1e0::6441:103", p[1].ipv6);
	m.peers = p;
	m.n_peers = 2;
	extra(&x[0], "printer.rustynet", AF_INET, "192.168.1.10");
	extra(&x[1], "ext.example", AF_INET6, "2001:db8::1");
	extra(&x[2], "deep.sub.rustynet", AF_INET, "10.1.1.1");
	extra(&x[3], "nas.rustynet", AF_INET, "100.64.0.1"); /* a duplicate, served twice */
	for (int i = 4; i < 8; i++) {
		char a[16];

		snprintf(a, sizeof(a), "10.0.0.%d", i);
		extra(&x[i], "many.rustynet", AF_INET, a);
	}
	m.dns.records = x;
	m.dns.n_records = 8;
	assert_int_equal(rn_dns_zone_build(&m, &z), 0);
	*state = z;
	return 0;
}

static int teardown(void **state)
{
	rn_dns_zone_free(*state);
	return 0;
}

static uint8_t *query(const char *name, ldns_rr_type t, int edns, bool rd, bool cd, size_t *len)
{
	ldns_pkt *p = NULL;
	uint8_t *w = NULL;

	assert_int_equal(
	    ldns_pkt_query_new_frm_str(&p, name, t, LDNS_RR_CLASS_IN, rd ? LDNS_RD : 0),
	    LDNS_STATUS_OK);
	ldns_pkt_set_id(p, 0xa55a);
	ldns_pkt_set_cd(p, cd);
	if (edns >= 0) {
		ldns_pkt_set_edns_udp_size(p, (uint16_t)edns);
		if (!edns) /* present but size 0: ldns still writes it */
			ldns_pkt_set_edns_do(p, true);
	}
	assert_int_equal(ldns_pkt2wire(&w, p, len), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	return w;
}

/*
 * Equal records, ignoring case: the ldns_pkt path compresses an SOA's names into the
 * question's, so they take the client's case there (the same names to DNS).
 */
static void same_list(const ldns_rr_list *a, const ldns_rr_list *b)
{
	char *x = ldns_rr_list2str(a), *y = ldns_rr_list2str(b);

	assert_non_null(x);
	assert_non_null(y);
	if (strcasecmp(x, y))
		assert_string_equal(x, y);
	free(x);
	free(y);
}

/* Both paths' answers to q; returns whether the fast path answered it itself. */
static bool compare(const struct rn_dns_zone *z, const uint8_t *q, size_t len, bool tcp)
{
	uint8_t *a = NULL, *b = NULL, buf[RN_DNS_EDNS_SIZE];
	size_t alen = 0, blen = 0, flen;
	enum rn_dns_verdict va, vb;
	ldns_pkt *pa = NULL, *pb = NULL;
	int f = rn_dns_answer_fast(z, q, len, tcp, buf, sizeof(buf), &flen);

	va = rn_dns_answer(z, q, len, tcp, &a, &alen);
	vb = rn_dns_answer_pkt(z, q, len, tcp, &b, &blen);
	assert_int_equal(va, vb);
	if (f >= 0)
		assert_int_equal(f, va);
	if (va != RN_DNS_REPLY)
		return f >= 0;
	if (f >= 0) {
		assert_int_equal(flen, alen);
		assert_memory_equal(buf, a, alen);
	}
	assert_int_equal(ldns_wire2pkt(&pa, a, alen), LDNS_STATUS_OK);
	assert_int_equal(ldns_wire2pkt(&pb, b, blen), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(pa), ldns_pkt_id(pb));
	assert_int_equal(ldns_pkt_qr(pa), ldns_pkt_qr(pb));
	assert_int_equal(ldns_pkt_aa(pa), ldns_pkt_aa(pb));
	assert_int_equal(ldns_pkt_tc(pa), ldns_pkt_tc(pb));
	assert_int_equal(ldns_pkt_rd(pa), ldns_pkt_rd(pb));
	assert_int_equal(ldns_pkt_cd(pa), ldns_pkt_cd(pb));
	assert_int_equal(ldns_pkt_ra(pa), ldns_pkt_ra(pb));
	assert_int_equal(ldns_pkt_ad(pa), ldns_pkt_ad(pb));
	assert_int_equal(ldns_pkt_get_opcode(pa), ldns_pkt_get_opcode(pb));
	assert_int_equal(ldns_pkt_get_rcode(pa), ldns_pkt_get_rcode(pb));
	assert_int_equal(ldns_pkt_edns(pa), ldns_pkt_edns(pb));
	assert_int_equal(ldns_pkt_edns_udp_size(pa), ldns_pkt_edns_udp_size(pb));
	assert_int_equal(ldns_pkt_edns_version(pa), ldns_pkt_edns_version(pb));
	assert_int_equal(ldns_pkt_edns_extended_rcode(pa), ldns_pkt_edns_extended_rcode(pb));
	assert_int_equal(ldns_pkt_edns_do(pa), ldns_pkt_edns_do(pb));
	assert_int_equal(ldns_pkt_qdcount(pa), ldns_pkt_qdcount(pb));
	assert_int_equal(ldns_pkt_ancount(pa), ldns_pkt_ancount(pb));
	assert_int_equal(ldns_pkt_nscount(pa), ldns_pkt_nscount(pb));
	assert_int_equal(ldns_pkt_arcount(pa), ldns_pkt_arcount(pb));
	same_list(ldns_pkt_question(pa), ldns_pkt_question(pb));
	same_list(ldns_pkt_answer(pa), ldns_pkt_answer(pb));
	for (size_t i = 0; i < ldns_pkt_ancount(pa); i++) { /* the client's spelling, exactly */
		const ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(pa), i);
		const ldns_rdf *qn = ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(pa), 0));

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA)
			assert_int_equal(ldns_rdf_compare(ldns_rr_owner(rr), qn), 0);
	}
	same_list(ldns_pkt_authority(pa), ldns_pkt_authority(pb));
	same_list(ldns_pkt_additional(pa), ldns_pkt_additional(pb));
	ldns_pkt_free(pa);
	ldns_pkt_free(pb);
	free(a);
	free(b);
	return f >= 0;
}

static const char *names[] = {
	"nas.rustynet.",
	"NaS.RustyNet.",
	"nas",
	"NAS",
	"nas-2.rustynet.",
	"web",
	"rustynet.",
	"RUSTYNET.",
	"rustynet",
	"unknown.rustynet.",
	"a.b.Unknown.rustynet.",
	"printer.rustynet.",
	"ext.example.",
	"EXT.Example.",
	"example.",
	"other.example.",
	"com.",
	"x",
	".",
	"many.rustynet.",
	"many",
	"sub.rustynet.",
	"SUB",
	"deep.sub.rustynet.",
	"deep",
	"1.0.64.100.in-addr.arpa.",
	"9.9.64.100.in-addr.arpa.",
	"64.100.in-addr.arpa.",
	"0.64.100.in-addr.arpa.",
	"3.1.65.100.in-addr.arpa.",
	"100.in-addr.arpa.",
	"in-addr.arpa.",
	"arpa.",
	"1.1.1.10.in-addr.arpa.",
	"1.2.3.200.100.in-addr.arpa.",
	"2.0.0.0.0.4.4.6.0.0.0.0.0.0.0.0.0.0.0.0.0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa.",
	"2.0.0.0.0.4.4.6.0.0.0.0.0.0.0.0.0.0.0.0.0.E.1.A.C.5.1.1.A.7.D.F.IP6.ARPA.",
	"4.4.6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa.",
	"0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa.",
	"1.2.3.0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa.",
	"a.7.d.f.ip6.arpa.",
	"ip6.arpa.",
};
static const ldns_rr_type types[] = {
	LDNS_RR_TYPE_A,	  LDNS_RR_TYPE_AAAA, LDNS_RR_TYPE_PTR,	LDNS_RR_TYPE_MX, LDNS_RR_TYPE_SOA,
	LDNS_RR_TYPE_ANY, LDNS_RR_TYPE_AXFR, LDNS_RR_TYPE_IXFR, LDNS_RR_TYPE_NS, LDNS_RR_TYPE_TXT,
};
static const int ednss[] = { -1, 0, 100, 512, 1232, 4096 };

static void test_same_as_pkt(void **state)
{
	size_t fast = 0, all = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
			for (size_t e = 0; e < sizeof(ednss) / sizeof(ednss[0]); e++)
				for (int k = 0; k < 4; k++) {
					size_t len;
					uint8_t *q = query(names[i], types[t], ednss[e], !(k & 1),
							   k & 1, &len);
					const struct rn_dns_zone *z = k == 3 ? NULL : *state;

					fast += compare(z, q, len, k == 2);
					all++;
					free(q);
				}
	print_message("%zu of %zu queries on the pre-encoded path\n", fast, all);
	assert_true(fast * 10 > all * 8);
}

/* The queries the bench and most clients send never reach the ldns_pkt path. */
static void test_common_is_fast(void **state)
{
	static const char *common[] = { "nas.rustynet.", "Web.RustyNet.", "nas-2",
					"nx9.rustynet." };
	uint8_t buf[RN_DNS_EDNS_SIZE];

	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		for (int e = -1; e <= 1232; e += 1233) {
			size_t len, outlen;
			uint8_t *q = query(common[i], LDNS_RR_TYPE_AAAA, e, true, false, &len);

			assert_int_equal(
			    rn_dns_answer_fast(*state, q, len, false, buf, sizeof(buf), &outlen),
			    RN_DNS_REPLY);
			free(q);
		}
}

/* Bytes the fast path passes on: trailing data, a second OPT, a cut question, tiny buffers. */
static void test_odd_queries(void **state)
{
	uint8_t buf[RN_DNS_EDNS_SIZE], q2[600], out[128];
	size_t len, outlen;
	uint8_t *q = query("nas.rustynet.", LDNS_RR_TYPE_A, 1232, true, false, &len);

	memcpy(q2, q, len);
	q2[len] = 0; /* trailing garbage */
	assert_int_equal(rn_dns_answer_fast(*state, q2, len + 1, false, buf, sizeof(buf), &outlen),
			 -1);
	compare(*state, q2, len + 1, false);
	for (size_t cut = 0; cut < len; cut++) /* every prefix */
		compare(*state, q, cut, false);
	q2[LDNS_ARCOUNT_OFF + 1] = 2;
	compare(*state, q2, len, false);
	q2[LDNS_ARCOUNT_OFF + 1] = 1;
	LDNS_OPCODE_SET(q2, LDNS_PACKET_STATUS);
	compare(*state, q2, len, false);
	/* a buffer too small for the answer: the ldns_pkt path, then a drop */
	assert_int_equal(rn_dns_answer_buf(*state, q, len, false, out, 20, &outlen), RN_DNS_DROP);
	assert_int_equal(rn_dns_answer_buf(*state, q, len, false, out, sizeof(out), &outlen),
			 RN_DNS_REPLY);
	free(q);
}

static void test_index(void **state)
{
	const struct rn_dns_zone *z = *state;
	const struct rn_dns_name *e;
	ldns_rdf *d;

	for (size_t i = 0; i < z->n; i++) { /* every owner, with its records */
		const ldns_rdf *o = ldns_rr_owner(z->recs[i].rr);

		e = rn_dns_index_find(z, ldns_rdf_data(o), ldns_rdf_size(o));
		assert_non_null(e);
		assert_true(e->n > 0 && i >= e->first && i < e->first + e->n);
	}
	d = ldns_dname_new_frm_str("sub.rustynet."); /* an empty non-terminal */
	e = rn_dns_index_find(z, ldns_rdf_data(d), ldns_rdf_size(d));
	assert_non_null(e);
	assert_int_equal(e->n, 0);
	assert_false(e->is_apex);
	assert_true(e->soa >= 0);
	ldns_rdf_deep_free(d);
	d = ldns_dname_new_frm_str("rustynet.");
	e = rn_dns_index_find(z, ldns_rdf_data(d), ldns_rdf_size(d));
	assert_true(e && e->is_apex);
	ldns_rdf_deep_free(d);
	d = ldns_dname_new_frm_str("example."); /* above an extra record: no zone of ours */
	e = rn_dns_index_find(z, ldns_rdf_data(d), ldns_rdf_size(d));
	assert_true(e && e->soa == -1 && !e->n);
	ldns_rdf_deep_free(d);
	d = ldns_dname_new_frm_str("NAS.rustynet."); /* the index holds canonical names only */
	assert_null(rn_dns_index_find(z, ldns_rdf_data(d), ldns_rdf_size(d)));
	ldns_rdf_deep_free(d);
	assert_int_equal(rn_dns_name_hash((const uint8_t *)"", 0), 2166136261u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_pkt),
		cmocka_unit_test(test_common_is_fast),
		cmocka_unit_test(test_odd_queries),
		cmocka_unit_test(test_index),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
