/* SPDX-License-Identifier: MIT */
/* Unit tests for the relay messages: round trips, and every wrong length or header refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "relay/relay.h"

static void fill(uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v + i);
}

static void test_register_roundtrip(void **state)
{
	struct rn_relay_msg m = { .type = RN_RELAY_REGISTER }, d;
	uint8_t buf[200];
	size_t n;

	(void)state;
	fill(m.cred.key, sizeof(m.cred.key), 1);
	fill(m.cred.token, sizeof(m.cred.token), 100);
	fill(m.cookie, sizeof(m.cookie), 200);
	m.cred.expiry = 0x0102030405060708ull;
	n = rn_relay_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(n, RN_RELAY_REGISTER_LEN);
	assert_int_equal(buf[0], RN_RELAY_REGISTER);
	/* expiry is big-endian right after the key */
	assert_int_equal(buf[4 + 32], 0x01);
	assert_int_equal(buf[4 + 32 + 7], 0x08);
	assert_true(rn_relay_msg_decode(buf, n, &d));
	assert_int_equal(d.type, RN_RELAY_REGISTER);
	assert_memory_equal(&d.cred, &m.cred, sizeof(m.cred));
	assert_memory_equal(d.cookie, m.cookie, sizeof(m.cookie));
	/* truncated or padded by one byte: refused */
	assert_false(rn_relay_msg_decode(buf, n - 1, &d));
	assert_false(rn_relay_msg_decode(buf, n + 1, &d));
	/* too small a buffer to encode into */
	assert_int_equal(rn_relay_msg_encode(&m, buf, n - 1), 0);
}

static void test_small_messages(void **state)
{
	struct rn_relay_msg m = { .type = RN_RELAY_COOKIE }, d;
	uint8_t buf[64];
	size_t n;

	(void)state;
	fill(m.cookie, sizeof(m.cookie), 7);
	n = rn_relay_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(n, RN_RELAY_COOKIE_MSG_LEN);
	assert_true(rn_relay_msg_decode(buf, n, &d));
	assert_memory_equal(d.cookie, m.cookie, sizeof(m.cookie));
	assert_false(rn_relay_msg_decode(buf, n - 1, &d));

	m = (struct rn_relay_msg){ .type = RN_RELAY_REGISTERED, .refresh_s = 20, .lifetime_s = 75 };
	n = rn_relay_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(n, RN_RELAY_REGISTERED_LEN);
	assert_true(rn_relay_msg_decode(buf, n, &d));
	assert_int_equal(d.refresh_s, 20);
	assert_int_equal(d.lifetime_s, 75);
	assert_false(rn_relay_msg_decode(buf, n + 1, &d));
}

static void test_data_messages(void **state)
{
	static uint8_t buf[RN_RELAY_MSG_MAX + 8], payload[RN_RELAY_PAYLOAD_MAX + 1];
	struct rn_relay_msg m = { .type = RN_RELAY_SEND, .payload = payload }, d;
	size_t n;

	(void)state;
	fill(m.key, sizeof(m.key), 9);
	fill(payload, sizeof(payload), 3);
	for (size_t len = 1; len <= RN_RELAY_PAYLOAD_MAX; len += len < 64 ? 1 : 511) {
		m.payload_len = len;
		n = rn_relay_msg_encode(&m, buf, sizeof(buf));
		assert_int_equal(n, RN_RELAY_DATA_HDR_LEN + len);
		assert_true(rn_relay_msg_decode(buf, n, &d));
		assert_int_equal(d.type, RN_RELAY_SEND);
		assert_memory_equal(d.key, m.key, sizeof(m.key));
		assert_int_equal(d.payload_len, len);
		assert_memory_equal(d.payload, payload, len);
	}
	m.payload_len = RN_RELAY_PAYLOAD_MAX;
	n = rn_relay_msg_encode(&m, buf, sizeof(buf));
	buf[0] = RN_RELAY_RECV;
	assert_true(rn_relay_msg_decode(buf, n, &d));
	assert_int_equal(d.type, RN_RELAY_RECV);
	/* one byte over the largest payload, or none at all: refused both ways */
	assert_false(rn_relay_msg_decode(buf, n + 1, &d));
	assert_false(rn_relay_msg_decode(buf, RN_RELAY_DATA_HDR_LEN, &d));
	m.payload_len = RN_RELAY_PAYLOAD_MAX + 1;
	assert_int_equal(rn_relay_msg_encode(&m, buf, sizeof(buf)), 0);
	m.payload_len = 0;
	assert_int_equal(rn_relay_msg_encode(&m, buf, sizeof(buf)), 0);
	/* the header helper writes what encode writes */
	m.payload_len = 5;
	n = rn_relay_msg_encode(&m, buf, sizeof(buf));
	{
		uint8_t hdr[RN_RELAY_DATA_HDR_LEN];

		rn_relay_data_hdr(hdr, RN_RELAY_SEND, m.key);
		assert_memory_equal(hdr, buf, sizeof(hdr));
	}
}

static void test_bad_headers(void **state)
{
	struct rn_relay_msg m = { .type = RN_RELAY_COOKIE }, d;
	uint8_t buf[RN_RELAY_REGISTER_LEN] = { 0 };
	size_t n = rn_relay_msg_encode(&m, buf, sizeof(buf));

	(void)state;
	assert_true(rn_relay_msg_decode(buf, n, &d));
	for (int i = 1; i < 4; i++) { /* a reserved byte set */
		buf[i] = 1;
		assert_false(rn_relay_msg_decode(buf, n, &d));
		buf[i] = 0;
	}
	for (int t = 0; t < 256; t++) { /* unknown types, at every length they might have */
		if (t >= RN_RELAY_REGISTER && t <= RN_RELAY_RECV)
			continue;
		buf[0] = (uint8_t)t;
		for (size_t len = 0; len <= sizeof(buf); len++)
			assert_false(rn_relay_msg_decode(buf, len, &d));
	}
	buf[0] = RN_RELAY_COOKIE;
	for (size_t len = 0; len < RN_RELAY_HDR_LEN; len++)
		assert_false(rn_relay_msg_decode(buf, len, &d));
	m.type = 99;
	assert_int_equal(rn_relay_msg_encode(&m, buf, sizeof(buf)), 0);
}

static void test_frame_len(void **state)
{
	uint8_t buf[RN_RELAY_FRAME_HDR_LEN + RN_RELAY_MSG_MAX + 1] = { 0 };

	(void)state;
	assert_int_equal(rn_relay_frame_len(buf, 0), 0);
	assert_int_equal(rn_relay_frame_len(buf, 1), 0);
	assert_int_equal(rn_relay_frame_len(buf, 2), -1); /* an empty frame */
	buf[1] = 20;
	assert_int_equal(rn_relay_frame_len(buf, 2), 0);
	assert_int_equal(rn_relay_frame_len(buf, 21), 0);
	assert_int_equal(rn_relay_frame_len(buf, 22), 22);
	assert_int_equal(rn_relay_frame_len(buf, 40), 22); /* the first frame only */
	buf[0] = RN_RELAY_MSG_MAX >> 8;
	buf[1] = RN_RELAY_MSG_MAX & 0xff;
	assert_int_equal(rn_relay_frame_len(buf, sizeof(buf)), 2 + RN_RELAY_MSG_MAX);
	buf[1]++;
	assert_int_equal(rn_relay_frame_len(buf, sizeof(buf)), -1);
	buf[0] = buf[1] = 0xff;
	assert_int_equal(rn_relay_frame_len(buf, 2), -1);
}

static void test_addr_parse(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;

	(void)state;
	assert_true(rn_relay_addr_parse("192.0.2.1:443", &ss, &len));
	assert_int_equal(ss.ss_family, AF_INET);
	assert_true(rn_relay_addr_parse("[2001:db8::1]:3478", &ss, &len));
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_true(rn_relay_addr_parse("0.0.0.0:0", &ss, &len));
	assert_false(rn_relay_addr_parse("192.0.2.1", &ss, &len));
	assert_false(rn_relay_addr_parse("192.0.2.1:", &ss, &len));
	assert_false(rn_relay_addr_parse("192.0.2.1:65536", &ss, &len));
	assert_false(rn_relay_addr_parse("192.0.2.1:-1", &ss, &len));
	assert_false(rn_relay_addr_parse("relay.example:443", &ss, &len));
	assert_false(rn_relay_addr_parse(":443", &ss, &len));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_roundtrip), cmocka_unit_test(test_small_messages),
		cmocka_unit_test(test_data_messages),	   cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_addr_parse),	   cmocka_unit_test(test_frame_len),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
