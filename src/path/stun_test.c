/* SPDX-License-Identifier: MIT */
/* STUN Binding codec: RFC 5769's test vectors, round trips, and malformed input. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "path/stun.h"

/* RFC 5769 2.2 and 2.3: Binding success responses with SOFTWARE, XOR-MAPPED-ADDRESS,
 * MESSAGE-INTEGRITY (skipped by us) and FINGERPRINT; the mapped address is
 * 192.0.2.1:32853 and [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
static const uint8_t rfc5769_v4[] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
	0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74,
	0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01,
	0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43, 0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99,
	0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b,
	0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

static const uint8_t rfc5769_v6[] = {
	0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
	0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74,
	0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02,
	0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5,
	0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6,
	0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
	0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

static const uint8_t txid[RN_STUN_TXID_LEN] = { 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
						0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae };

static void assert_mapped(const struct rn_stun_msg *m, const char *want)
{
	char s[64];

	rn_stun_addr_str(&m->mapped, s, sizeof(s));
	assert_string_equal(s, want);
}

static void test_rfc5769_vectors(void **state)
{
	struct rn_stun_msg m;

	(void)state;
	assert_true(rn_stun_is_message(rfc5769_v4, sizeof(rfc5769_v4)));
	assert_int_equal(rn_stun_parse(rfc5769_v4, sizeof(rfc5769_v4), &m), 0);
	assert_int_equal(m.method, RN_STUN_METHOD_BINDING);
	assert_int_equal(m.cls, RN_STUN_SUCCESS);
	assert_memory_equal(m.txid, txid, sizeof(txid));
	assert_true(m.fingerprint);
	assert_mapped(&m, "192.0.2.1:32853");

	assert_int_equal(rn_stun_parse(rfc5769_v6, sizeof(rfc5769_v6), &m), 0);
	assert_int_equal(m.cls, RN_STUN_SUCCESS);
	assert_mapped(&m, "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
}

static void test_fingerprint_checked(void **state)
{
	uint8_t b[sizeof(rfc5769_v4)];
	struct rn_stun_msg m;

	(void)state;
	memcpy(b, rfc5769_v4, sizeof(b));
	b[sizeof(b) - 1] ^= 1; /* the CRC itself */
	assert_int_equal(rn_stun_parse(b, sizeof(b), &m), -EINVAL);
	memcpy(b, rfc5769_v4, sizeof(b));
	b[45] ^= 1; /* a covered byte: the mapped address */
	assert_int_equal(rn_stun_parse(b, sizeof(b), &m), -EINVAL);
}

static void test_request_round_trip(void **state)
{
	uint8_t req[RN_STUN_MAX_MSG], resp[RN_STUN_MAX_MSG], id[RN_STUN_TXID_LEN];
	struct sockaddr_in6 from6 = { .sin6_family = AF_INET6, .sin6_port = htons(41641) };
	struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = htons(1) };
	struct rn_stun_msg m;
	size_t n, r;

	(void)state;
	assert_true(rn_stun_txid_new(id));
	assert_int_equal(rn_stun_build_request(id, req, RN_STUN_REQUEST_LEN - 1), 0);
	n = rn_stun_build_request(id, req, sizeof(req));
	assert_int_equal(n, RN_STUN_REQUEST_LEN);
	/* The first bytes: Binding request 0x0001, never a WireGuard type (1-4, then zeros). */
	assert_int_equal(req[0], 0x00);
	assert_int_equal(req[1], 0x01);
	assert_int_equal(rn_stun_parse(req, n, &m), 0);
	assert_int_equal(m.cls, RN_STUN_REQUEST);
	assert_true(m.fingerprint);
	assert_int_equal(m.mapped.ss_family, AF_UNSPEC);

	inet_pton(AF_INET, "203.0.113.9", &from.sin_addr);
	r = rn_stun_respond(req, n, (struct sockaddr *)&from, resp, sizeof(resp));
	assert_int_equal(r, 40);
	assert_int_equal(rn_stun_parse(resp, r, &m), 0);
	assert_int_equal(m.cls, RN_STUN_SUCCESS);
	assert_memory_equal(m.txid, id, sizeof(id));
	assert_mapped(&m, "203.0.113.9:1");

	inet_pton(AF_INET6, "2001:db8::42", &from6.sin6_addr);
	r = rn_stun_respond(req, n, (struct sockaddr *)&from6, resp, sizeof(resp));
	assert_int_equal(r, 52);
	assert_int_equal(rn_stun_parse(resp, r, &m), 0);
	assert_mapped(&m, "[2001:db8::42]:41641");
	/* Too small a buffer: nothing. */
	assert_int_equal(rn_stun_respond(req, n, (struct sockaddr *)&from6, resp, 51), 0);

	/* The responder answers requests only: not its own responses (no loops), not junk. */
	assert_int_equal(rn_stun_respond(resp, r, (struct sockaddr *)&from, req, sizeof(req)), 0);
	memset(req, 0, sizeof(req));
	assert_int_equal(rn_stun_respond(req, 28, (struct sockaddr *)&from, resp, sizeof(resp)), 0);
}

static void test_malformed(void **state)
{
	uint8_t b[64];
	struct rn_stun_msg m;
	size_t n;

	(void)state;
	/* A WireGuard initiation's first bytes are not STUN. */
	memset(b, 0, sizeof(b));
	b[0] = 1;
	assert_false(rn_stun_is_message(b, 148 > sizeof(b) ? sizeof(b) : 148));
	/* Header only is fine; a length that disagrees with the datagram is not. */
	n = rn_stun_build_request(txid, b, sizeof(b));
	assert_int_equal(rn_stun_parse(b, n - 1, &m), -EINVAL);
	assert_int_equal(rn_stun_parse(b, 19, &m), -EINVAL);
	b[3] = 0; /* length 0: header only, no FINGERPRINT */
	assert_int_equal(rn_stun_parse(b, 20, &m), 0);
	assert_false(m.fingerprint);
	/* An attribute running past the end. */
	n = rn_stun_build_request(txid, b, sizeof(b));
	b[22] = 0;
	b[23] = 8;
	assert_int_equal(rn_stun_parse(b, n, &m), -EINVAL);
	/* An attribute after FINGERPRINT. */
	n = rn_stun_build_request(txid, b, sizeof(b));
	b[3] = 16;
	memset(b + 28, 0, 8);
	b[29] = 0x22; /* SOFTWARE, 4 bytes */
	b[31] = 4;
	assert_int_equal(rn_stun_parse(b, 36, &m), -EINVAL);
	/* XOR-MAPPED-ADDRESS of the wrong length for its family, and a port of 0. */
	memcpy(b, rfc5769_v4, 20);
	b[3] = 12;
	memcpy(b + 20, "\x00\x20\x00\x08\x00\x02\xa1\x47\xe1\x12\xa6\x43", 12);
	assert_int_equal(rn_stun_parse(b, 32, &m), -EINVAL);
	memcpy(b + 20, "\x00\x20\x00\x08\x00\x01\x21\x12\xe1\x12\xa6\x43", 12);
	assert_int_equal(rn_stun_parse(b, 32, &m), -EINVAL);
	/* The same, well-formed: parsed. */
	memcpy(b + 20, "\x00\x20\x00\x08\x00\x01\xa1\x47\xe1\x12\xa6\x43", 12);
	assert_int_equal(rn_stun_parse(b, 32, &m), 0);
	assert_mapped(&m, "192.0.2.1:32853");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc5769_vectors),
		cmocka_unit_test(test_fingerprint_checked),
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
