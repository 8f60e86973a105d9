/* SPDX-License-Identifier: MIT */
/*
 * The zone and the answer path: queries built with ldns, answers parsed with ldns, checked
 * against a table (name, type, class, transport -> verdict, rcode, counts, first answer).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "dns/dns.h"

#define N_BIG 60 /* A records of big.rustynet: more than 512 bytes */

static void ip(int af, const char *s, void *out)
{
	assert_int_equal(inet_pton(af, s, out), 1);
}

static struct rn_netmap *fixture(void)
{
	struct rn_netmap *m = calloc(1, sizeof(*m));
	struct rn_netmap_peer *p;
	size_t k = 0;

	m->version = 7;
	snprintf(m->domain, sizeof(m->domain), "rustynet");
	snprintf(m->self.name, sizeof(m->self.name), "nas");
	snprintf(m->self.dns_name, sizeof(m->self.dns_name), "nas.rustynet");
	ip(AF_INET, "100.64.0.1", m->self.ipv4);
	ip(AF_INET6, "fd7a:115c:a1e0::6440:1", m->self.ipv6);
	m->n_peers = 2;
	m->peers = p = calloc(2, sizeof(*p));
	snprintf(p[0].name, sizeof(p[0].name), "nas-2");
	snprintf(p[0].dns_name, sizeof(p[0].dns_name), "nas-2.rustynet");
	ip(AF_INET, "100.64.0.2", p[0].ipv4);
	ip(AF_INET6, "fd7a:115c:a1e0::6440:2", p[0].ipv6);
	p[0].online = false;
	snprintf(p[1].name, sizeof(p[1].name), "web");
	snprintf(p[1].dns_name, sizeof(p[1].dns_name), "web.rustynet");
	ip(AF_INET, "100.65.1.3", p[1].ipv4);
	ip(AF_INET6, "fd7a:115c:a1e0::6441:103", p[1].ipv6);
	p[1].online = true;
	m->dns.n_records = N_BIG + 2;
	m->dns.records = calloc(m->dns.n_records, sizeof(*m->dns.records));
	snprintf(m->dns.records[k].name, sizeof(m->dns.records[k].name), "printer.rustynet");
	m->dns.records[k].type = RN_NETMAP_RR_A;
	m->dns.records[k].value.family = AF_INET;
	ip(AF_INET, "192.168.1.10", m->dns.records[k++].value.addr);
	snprintf(m->dns.records[k].name, sizeof(m->dns.records[k].name), "ext.example");
	m->dns.records[k].type = RN_NETMAP_RR_AAAA;
	m->dns.records[k].value.family = AF_INET6;
	ip(AF_INET6, "2001:db8::1", m->dns.records[k++].value.addr);
	for (int i = 0; i < N_BIG; i++, k++) {
		char a[16];

		snprintf(m->dns.records[k].name, sizeof(m->dns.records[k].name), "big.rustynet");
		m->dns.records[k].type = RN_NETMAP_RR_A;
		m->dns.records[k].value.family = AF_INET;
		snprintf(a, sizeof(a), "10.0.0.%d", i + 1);
		ip(AF_INET, a, m->dns.records[k].value.addr);
	}
	return m;
}

static int setup(void **state)
{
	struct rn_netmap *m = fixture();
	struct rn_dns_zone *z;

	assert_int_equal(rn_dns_zone_build(m, &z), 0);
	rn_netmap_free(m);
	free(m);
	*state = z;
	return 0;
}

static int teardown(void **state)
{
	rn_dns_zone_free(*state);
	return 0;
}

/* A query in wire format: name, type, class; EDNS0 with udp_size when edns > 0. */
static uint8_t *query(const char *name, ldns_rr_type t, ldns_rr_class c, uint16_t edns, size_t *len)
{
	ldns_pkt *p = NULL;
	uint8_t *w = NULL;

	assert_int_equal(ldns_pkt_query_new_frm_str(&p, name, t, c, LDNS_RD), LDNS_STATUS_OK);
	ldns_pkt_set_id(p, 0x1234);
	if (edns)
		ldns_pkt_set_edns_udp_size(p, edns);
	assert_int_equal(ldns_pkt2wire(&w, p, len), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	return w;
}

struct tcase {
	const char *name;
	ldns_rr_type type;
	ldns_rr_class cls;
	uint16_t edns;
	bool tcp;
	enum rn_dns_verdict verdict;
	ldns_pkt_rcode rcode;
	size_t an, ns;
	bool tc, aa;
	const char *rdata; /* the first answer's rdata, in text; NULL: not checked */
};

static const struct tcase cases[] = {
	{ "nas.rustynet.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false, RN_DNS_REPLY, 0, 1, 0, false,
	  true, "100.64.0.1" },
	{ "NAS.RustyNet.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false, RN_DNS_REPLY, 0, 1, 0, false,
	  true, "100.64.0.1" },
	{ "nas", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false, RN_DNS_REPLY, 0, 1, 0, false, true,
	  "100.64.0.1" },
	{ "nas-2.rustynet.", LDNS_RR_TYPE_AAAA, LDNS_RR_CLASS_IN, 0, false, RN_DNS_REPLY, 0, 1, 0,
	  false, true, "fd7a:115c:a1e0::6440:2" },
	{ "web.rustynet.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_IN, 0, true, RN_DNS_REPLY, 0, 2, 0,
	  false, true, NULL },
	{ "1.0.64.100.in-addr.arpa.", LDNS_RR_TYPE_PTR, LDNS_RR_CLASS_IN, 0, false, RN_DNS_REPLY, 0,
	  1, 0, false, true, "nas.rustynet." },
	{ "3.1.65.100.in-addr.arpa.", LDNS_RR_TYPE_PTR, LDNS_RR_CLASS_IN, 0, false, RN_DNS_REPLY, 0,
	  1, 0, false, true, "web.rustynet." },
	{ "2.0.0.0.0.4.4.6.0.0.0.0.0.0.0.0.0.0.0.0.0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa.",
	  LDNS_RR_TYPE_PTR, LDNS_RR_CLASS_IN, 0, false, RN_DNS_REPLY, 0, 1, 0, false, true,
	  "nas-2.rustynet." },
	{ "9.9.64.100.in-addr.arpa.", LDNS_RR_TYPE_PTR, LDNS_RR_CLASS_IN, 0, false, RN_DNS_REPLY,
	  LDNS_RCODE_NXDOMAIN, 0, 1, false, true, NULL },
	{ "0.64.100.in-addr.arpa.", LDNS_RR_TYPE_PTR, LDNS_RR_CLASS_IN, 0, false, RN_DNS_REPLY,
	  LDNS_RCODE_NOERROR, 0, 1, false, true, NULL },
	{ "1.1.1.10.in-addr.arpa.", LDNS_RR_TYPE_PTR, LDNS_RR_CLASS_IN, 0, false, RN_DNS_FORWARD, 0,
	  0, 0, false, false, NULL },
	{ "1.1.1.100.in-addr.arpa.", LDNS_RR_TYPE_PTR, LDNS_RR_CLASS_IN, 0, false, RN_DNS_FORWARD,
	  0, 0, 0, false, false, NULL },
	{ "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", LDNS_RR_TYPE_PTR,
	  LDNS_RR_CLASS_IN, 0, false, RN_DNS_FORWARD, 0, 0, 0, false, false, NULL },
	{ "unknown.rustynet.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false, RN_DNS_REPLY,
	  LDNS_RCODE_NXDOMAIN, 0, 1, false, true, NULL },
	{ "nas.rustynet.", LDNS_RR_TYPE_MX, LDNS_RR_CLASS_IN, 0, false, RN_DNS_REPLY,
	  LDNS_RCODE_NOERROR, 0, 1, false, true, NULL },
	{ "rustynet.", LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0, false, RN_DNS_REPLY,
	  LDNS_RCODE_NOERROR, 1, 0, false, true, NULL },
	{ "rustynet.", LDNS_RR_TYPE_AXFR, LDNS_RR_CLASS_IN, 0, true, RN_DNS_REPLY,
	  LDNS_RCODE_REFUSED, 0, 0, false, false, NULL },
	{ "printer.rustynet.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false, RN_DNS_REPLY, 0, 1, 0,
	  false, true, "192.168.1.10" },
	{ "ext.example.", LDNS_RR_TYPE_AAAA, LDNS_RR_CLASS_IN, 0, false, RN_DNS_REPLY, 0, 1, 0,
	  false, true, "2001:db8::1" },
	{ "other.example.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false, RN_DNS_FORWARD, 0, 0, 0,
	  false, false, NULL },
	{ "com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false, RN_DNS_FORWARD, 0, 0, 0, false, false,
	  NULL },
	{ "nas.rustynet.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_CH, 0, false, RN_DNS_REPLY,
	  LDNS_RCODE_REFUSED, 0, 0, false, false, NULL },
	{ "other.example.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_CH, 0, false, RN_DNS_REPLY,
	  LDNS_RCODE_REFUSED, 0, 0, false, false, NULL },
	/* 60 A records: over 512 bytes on UDP, fit in EDNS 1232 and in TCP */
	{ "big.rustynet.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false, RN_DNS_REPLY, 0, 0, 0, true,
	  true, NULL },
	{ "big.rustynet.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 1232, false, RN_DNS_REPLY, 0, N_BIG, 0,
	  false, true, NULL },
	{ "big.rustynet.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, true, RN_DNS_REPLY, 0, N_BIG, 0,
	  false, true, NULL },
	{ "big.rustynet.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 100, false, RN_DNS_REPLY, 0, 0, 0,
	  true, true, NULL },
};

static void check_case(const struct rn_dns_zone *z, const struct tcase *c)
{
	uint8_t *q, *r = NULL;
	size_t qlen, rlen;
	ldns_pkt *p = NULL;
	enum rn_dns_verdict v;
	char *txt;

	print_message("case %s %d %d edns %u %s\n", c->name, c->type, c->cls, c->edns,
		      c->tcp ? "tcp" : "udp");
	q = query(c->name, c->type, c->cls, c->edns, &qlen);
	v = rn_dns_answer(z, q, qlen, c->tcp, &r, &rlen);
	free(q);
	assert_int_equal(v, c->verdict);
	if (v != RN_DNS_REPLY) {
		assert_null(r);
		return;
	}
	assert_true(rlen <= (c->tcp ? 65535u : c->edns ? (c->edns < 512 ? 512u : c->edns) : 512u));
	assert_int_equal(ldns_wire2pkt(&p, r, rlen), LDNS_STATUS_OK);
	free(r);
	assert_int_equal(ldns_pkt_id(p), 0x1234);
	assert_true(ldns_pkt_qr(p));
	assert_int_equal(ldns_pkt_get_rcode(p), c->rcode);
	assert_int_equal(ldns_pkt_ancount(p), c->an);
	assert_int_equal(ldns_pkt_nscount(p), c->ns);
	assert_int_equal(ldns_pkt_tc(p), c->tc);
	assert_int_equal(ldns_pkt_aa(p), c->aa);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	assert_int_equal(ldns_pkt_edns(p), c->edns != 0);
	if (c->edns)
		assert_int_equal(ldns_pkt_edns_udp_size(p), RN_DNS_EDNS_SIZE);
	if (c->an) {
		ldns_rr *a = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
		ldns_rdf *qn = ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p), 0));

		/* the owner is the name as asked, byte for byte (case kept) */
		assert_int_equal(ldns_rdf_compare(ldns_rr_owner(a), qn), 0);
		assert_true(ldns_rr_ttl(a) == RN_DNS_TTL_S);
		if (c->rdata) {
			txt = ldns_rdf2str(ldns_rr_rdf(a, 0));
			assert_string_equal(txt, c->rdata);
			free(txt);
		}
	}
	if (c->ns)
		assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_authority(p), 0)),
				 LDNS_RR_TYPE_SOA);
	ldns_pkt_free(p);
}

static void test_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(*state, &cases[i]);
}

/* rcode (or drop) of raw bytes. */
static int raw_rcode(const struct rn_dns_zone *z, const uint8_t *q, size_t len)
{
	uint8_t *r = NULL;
	size_t rlen;
	int rc;

	if (rn_dns_answer(z, q, len, false, &r, &rlen) != RN_DNS_REPLY)
		return -1;
	assert_true(rlen >= LDNS_HEADER_SIZE);
	assert_true(LDNS_QR_WIRE(r));
	assert_int_equal(LDNS_ID_WIRE(r), LDNS_ID_WIRE(q));
	rc = LDNS_RCODE_WIRE(r);
	free(r);
	return rc;
}

static void test_malformed(void **state)
{
	const struct rn_dns_zone *z = *state;
	uint8_t *q, buf[600];
	size_t len;

	assert_int_equal(raw_rcode(z, (const uint8_t *)"\x12\x34\x01", 3), -1); /* no header */
	q = query("nas.rustynet.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, &len);
	assert_int_equal(raw_rcode(z, q, len - 3), LDNS_RCODE_FORMERR); /* cut in the question */
	memcpy(buf, q, len);
	LDNS_QR_SET(buf); /* a response: never answered (no loops, no reflection) */
	assert_int_equal(raw_rcode(z, buf, len), -1);
	memcpy(buf, q, len);
	LDNS_OPCODE_SET(buf, LDNS_PACKET_NOTIFY);
	assert_int_equal(raw_rcode(z, buf, len), LDNS_RCODE_NOTIMPL);
	memcpy(buf, q, len);
	buf[LDNS_QDCOUNT_OFF + 1] = 2; /* says two questions, holds one */
	assert_int_equal(raw_rcode(z, buf, len), LDNS_RCODE_FORMERR);
	memcpy(buf, q, len);
	buf[12] = 0xc0; /* a compression pointer loop in the name */
	buf[13] = 12;
	assert_int_equal(raw_rcode(z, buf, len), LDNS_RCODE_FORMERR);
	memset(buf, 0, sizeof(buf)); /* header saying no questions */
	assert_int_equal(raw_rcode(z, buf, LDNS_HEADER_SIZE), LDNS_RCODE_FORMERR);
	memset(buf, 0xff, sizeof(buf)); /* oversized garbage with QR clear */
	buf[2] = 0x00;
	assert_true(raw_rcode(z, buf, sizeof(buf)) == LDNS_RCODE_FORMERR ||
		    raw_rcode(z, buf, sizeof(buf)) == LDNS_RCODE_NOTIMPL);
	free(q);
}

static void test_badvers(void **state)
{
	ldns_pkt *p = NULL;
	uint8_t *w = NULL, *r = NULL;
	size_t len, rlen;

	assert_int_equal(ldns_pkt_query_new_frm_str(&p, "nas.rustynet.", LDNS_RR_TYPE_A,
						    LDNS_RR_CLASS_IN, LDNS_RD),
			 LDNS_STATUS_OK);
	ldns_pkt_set_edns_udp_size(p, 1232);
	ldns_pkt_set_edns_version(p, 1);
	assert_int_equal(ldns_pkt2wire(&w, p, &len), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	assert_int_equal(rn_dns_answer(*state, w, len, false, &r, &rlen), RN_DNS_REPLY);
	p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, r, rlen), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_edns_extended_rcode(p), 1); /* BADVERS = 16 */
	assert_int_equal(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
	free(w);
	free(r);
}

static void test_upstream_reply(void **state)
{
	uint8_t *q, *fwd, *r = NULL, *out = NULL;
	size_t qlen, rlen, outlen;
	ldns_pkt *p = NULL, *rp;
	ldns_rr *rr = NULL;

	(void)state;
	q = query("www.example.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, &qlen);
	fwd = malloc(qlen);
	memcpy(fwd, q, qlen);
	rn_dns_set_id(fwd, qlen, 0xbeef);
	assert_int_equal(ldns_wire2pkt(&p, fwd, qlen), LDNS_STATUS_OK);
	rp = ldns_pkt_clone(p);
	ldns_pkt_set_qr(rp, true);
	ldns_pkt_set_aa(rp, true);
	assert_int_equal(ldns_rr_new_frm_str(&rr, "www.example. 60 IN A 192.0.2.1", 0, NULL, NULL),
			 LDNS_STATUS_OK);
	ldns_pkt_push_rr(rp, LDNS_SECTION_ANSWER, rr);
	assert_int_equal(ldns_pkt2wire(&r, rp, &rlen), LDNS_STATUS_OK);
	/* right reply: client's ID back, AA cleared */
	assert_true(rn_dns_upstream_reply(fwd, qlen, r, rlen, 0x1234, false, &out, &outlen));
	assert_int_equal(rn_dns_get_id(out, outlen), 0x1234);
	assert_false(LDNS_AA_WIRE(out));
	free(out);
	/* another ID, or another question: not ours */
	rn_dns_set_id(r, rlen, 0xbeee);
	assert_false(rn_dns_upstream_reply(fwd, qlen, r, rlen, 0x1234, false, &out, &outlen));
	free(r);
	ldns_rr_free(ldns_rr_list_pop_rr(ldns_pkt_question(rp)));
	assert_int_equal(ldns_rr_new_question_frm_str(&rr, "evil.example. IN A", NULL, NULL),
			 LDNS_STATUS_OK);
	ldns_rr_list_push_rr(ldns_pkt_question(rp), rr);
	assert_int_equal(ldns_pkt2wire(&r, rp, &rlen), LDNS_STATUS_OK);
	assert_false(rn_dns_upstream_reply(fwd, qlen, r, rlen, 0x1234, false, &out, &outlen));
	free(r);
	/* SERVFAIL for the client */
	assert_int_equal(rn_dns_error_reply(q, qlen, LDNS_RCODE_SERVFAIL, &out, &outlen), 0);
	assert_int_equal(LDNS_RCODE_WIRE(out), LDNS_RCODE_SERVFAIL);
	assert_true(LDNS_QR_WIRE(out));
	free(out);
	ldns_pkt_free(p);
	ldns_pkt_free(rp);
	free(q);
	free(fwd);
}

/* A SERVFAIL for a query carrying EDNS options (dig's cookie): options dropped, none leaked. */
static void test_error_reply_edns(void **state)
{
	static const uint8_t cookie[12] = { 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
	ldns_pkt *p = NULL;
	uint8_t *w = NULL, *out = NULL;
	size_t len, outlen;

	(void)state;
	assert_int_equal(ldns_pkt_query_new_frm_str(&p, "www.example.", LDNS_RR_TYPE_A,
						    LDNS_RR_CLASS_IN, LDNS_RD),
			 LDNS_STATUS_OK);
	ldns_pkt_set_edns_udp_size(p, 4096);
	ldns_pkt_set_edns_data(p, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, 12, cookie));
	assert_int_equal(ldns_pkt2wire(&w, p, &len), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	assert_int_equal(rn_dns_error_reply(w, len, LDNS_RCODE_SERVFAIL, &out, &outlen), 0);
	p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, out, outlen), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	assert_int_equal(ldns_pkt_edns_udp_size(p), RN_DNS_EDNS_SIZE);
	assert_null(ldns_pkt_edns_data(p));
	ldns_pkt_free(p);
	free(w);
	free(out);
}

static void test_zone_listing(void **state)
{
	const struct rn_dns_zone *z = *state;
	struct rn_dns_zone_rec rec;
	bool saw_offline = false;

	/* 3 nodes x (A, AAAA, 2 PTR) + the extras */
	assert_int_equal(rn_dns_zone_count(z), 3 * 4 + N_BIG + 2);
	assert_string_equal(rn_dns_zone_domain(z), "rustynet");
	for (size_t i = 0; i < rn_dns_zone_count(z); i++) {
		rn_dns_zone_get(z, i, &rec);
		assert_non_null(strstr(rec.text, "\tIN\t"));
		if (!strcmp(rec.node, "nas-2"))
			saw_offline = !rec.online;
	}
	assert_true(saw_offline);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_badvers),
		cmocka_unit_test(test_upstream_reply),
		cmocka_unit_test(test_error_reply_edns),
		cmocka_unit_test(test_zone_listing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
