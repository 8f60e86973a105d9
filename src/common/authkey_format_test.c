/* SPDX-License-Identifier: MIT */
/* Tests of the rnk1 auth key text: round trips, base64url edge cases, and refused inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/authkey_format.h"

#define SECRET "rnk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

static void make_key(struct rn_authkey *k)
{
	memset(k, 0, sizeof(*k));
	strcpy(k->secret, SECRET);
	for (int i = 0; i < 32; i++) {
		k->tls_pin[i] = (uint8_t)(0xff - i);
		k->netmap_pub[i] = (uint8_t)(i * 7);
	}
}

static void test_round_trip(void **state)
{
	struct rn_authkey k, got;
	char text[RN_AUTHKEY_STRSIZE], err[256];

	(void)state;
	make_key(&k);
	assert_true(rn_authkey_format(&k, text));
	assert_int_equal(strlen(text), RN_AUTHKEY_STRSIZE - 1);
	assert_memory_equal(text, "rnk1." SECRET ".", strlen("rnk1." SECRET "."));
	assert_true(rn_authkey_parse(text, &got, err, sizeof(err)));
	assert_memory_equal(&k, &got, sizeof(k));
}

static void test_whitespace(void **state)
{
	struct rn_authkey k, got;
	char text[RN_AUTHKEY_STRSIZE], padded[RN_AUTHKEY_STRSIZE + 8], err[256];

	(void)state;
	make_key(&k);
	assert_true(rn_authkey_format(&k, text));
	strcpy(padded, "  ");
	strcat(padded, text);
	strcat(padded, "\r\n");
	assert_true(rn_authkey_parse(padded, &got, err, sizeof(err)));
	assert_memory_equal(&k, &got, sizeof(k));
}

static void test_b64_vectors(void **state)
{
	uint8_t zero[32] = { 0 }, ff[32], out[32];
	char text[RN_AUTHKEY_B64_LEN + 1];

	(void)state;
	memset(ff, 0xff, sizeof(ff));
	rn_authkey_b64_encode(zero, text);
	assert_string_equal(text, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	rn_authkey_b64_encode(ff, text);
	assert_string_equal(text, "__________________________________________8");
	assert_true(rn_authkey_b64_decode(text, strlen(text), out));
	assert_memory_equal(out, ff, 32);
	/* the 2 spare bits set: another text for the same bytes, refused */
	assert_false(rn_authkey_b64_decode("__________________________________________-", 43, out));
	assert_false(rn_authkey_b64_decode("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", 43, out));
	/* standard base64 characters and padding are not base64url */
	assert_false(rn_authkey_b64_decode("+AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 43, out));
	assert_false(rn_authkey_b64_decode("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 43, out));
	assert_false(rn_authkey_b64_decode("AAAA", 4, out));
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"rnk1",
		SECRET,
		"rnk2." SECRET ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA."
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"rnk1." SECRET ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"rnk1." SECRET ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA."
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.x",
		"rnk1.rnk_short.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA."
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"rnk1." SECRET ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA."
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"rnk1." SECRET ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA."
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA*",
		"rnk1." SECRET "..AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"rnk1 " SECRET ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA."
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};
	struct rn_authkey got;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&got, 0xaa, sizeof(got));
		err[0] = '\0';
		assert_false(rn_authkey_parse(bad[i], &got, err, sizeof(err)));
		assert_non_null(strstr(err, "not a rustynet auth key"));
		assert_null(strstr(err, "rnk_AAEC")); /* never echoes the secret */
		assert_int_equal(got.secret[0], 0);
	}
}

static void test_format_refuses_bad_secret(void **state)
{
	struct rn_authkey k;
	char text[RN_AUTHKEY_STRSIZE];

	(void)state;
	make_key(&k);
	k.secret[3] = '-';
	assert_false(rn_authkey_format(&k, text));
	assert_string_equal(text, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_whitespace),
		cmocka_unit_test(test_b64_vectors),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_format_refuses_bad_secret),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
