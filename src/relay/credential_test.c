/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for relay credentials and the secret file: a known answer, then expired, forged,
 * wrong-key and wrong-secret credentials refused; the secret file's formats and permissions.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "relay/relay.h"

static uint8_t secret[RN_RELAY_SECRET_LEN];
static uint8_t key_a[RN_RELAY_KEY_LEN], key_b[RN_RELAY_KEY_LEN];

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < RN_RELAY_SECRET_LEN; i++)
		secret[i] = (uint8_t)i;
	memset(key_a, 0xaa, sizeof(key_a));
	memset(key_b, 0xbb, sizeof(key_b));
	return 0;
}

static void test_known_answer(void **state)
{
	/* python3: hmac.new(bytes(range(32)), b"rustynet-relay/1" + b"\xaa"*32 +
	 * (1234567890).to_bytes(8, "big"), hashlib.sha256).hexdigest() */
	static const uint8_t want[RN_RELAY_TOKEN_LEN] = {
		0x8f, 0x81, 0xdb, 0x47, 0x52, 0x52, 0x2a, 0x5f, 0xe6, 0xd4, 0x15,
		0xe2, 0x6c, 0xfa, 0x2c, 0xed, 0x86, 0xf6, 0x9f, 0x7c, 0x18, 0x40,
		0xd7, 0xbf, 0x3d, 0xec, 0x70, 0x16, 0x14, 0x85, 0xd4, 0x4c,
	};
	struct rn_relay_cred c;

	(void)state;
	assert_int_equal(rn_relay_credential_issue(secret, key_a, 1234567890, &c), 0);
	assert_memory_equal(c.token, want, sizeof(want));
	assert_memory_equal(c.key, key_a, sizeof(key_a));
	assert_int_equal(c.expiry, 1234567890);
}

static void test_verify(void **state)
{
	uint8_t other[RN_RELAY_SECRET_LEN];
	struct rn_relay_cred c, bad;

	(void)state;
	assert_int_equal(rn_relay_credential_issue(secret, key_a, 2000, &c), 0);
	/* alive first: the same credential passes before its expiry */
	assert_true(rn_relay_credential_verify(secret, &c, 1999));
	/* expired: at and after the expiry */
	assert_false(rn_relay_credential_verify(secret, &c, 2000));
	assert_false(rn_relay_credential_verify(secret, &c, 5000));
	/* forged: any bit of the token flipped */
	for (size_t i = 0; i < RN_RELAY_TOKEN_LEN * 8; i += 7) {
		bad = c;
		bad.token[i / 8] ^= (uint8_t)(1 << (i % 8));
		assert_false(rn_relay_credential_verify(secret, &bad, 1000));
	}
	/* the expiry pushed out without a new token */
	bad = c;
	bad.expiry = 3000;
	assert_false(rn_relay_credential_verify(secret, &bad, 1000));
	/* A's token presented with B's key */
	bad = c;
	memcpy(bad.key, key_b, sizeof(key_b));
	assert_false(rn_relay_credential_verify(secret, &bad, 1000));
	/* made with another relay's secret */
	memcpy(other, secret, sizeof(other));
	other[31] ^= 1;
	assert_int_equal(rn_relay_credential_issue(other, key_a, 2000, &bad), 0);
	assert_false(rn_relay_credential_verify(secret, &bad, 1000));
	assert_true(rn_relay_credential_verify(other, &bad, 1000));
}

static void test_text(void **state)
{
	char text[RN_RELAY_CRED_TEXT_LEN], bad[RN_RELAY_CRED_TEXT_LEN + 8];
	struct rn_relay_cred c, d;

	(void)state;
	assert_int_equal(rn_relay_credential_issue(secret, key_a, 1234567890, &c), 0);
	rn_relay_cred_format(&c, text);
	assert_string_equal(text, "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqo=:1234567890:"
				  "j4HbR1JSKl/m1BXibPos7Yb2n3wYQNe/PexwFhSF1Ew=");
	assert_true(rn_relay_cred_parse(text, &d));
	assert_memory_equal(&c, &d, sizeof(c));
	assert_true(rn_relay_credential_verify(secret, &d, 1000));
	/* truncated anywhere, or with junk: refused */
	for (size_t n = 0; n < strlen(text); n++) {
		memcpy(bad, text, n);
		bad[n] = 0;
		assert_false(rn_relay_cred_parse(bad, &d));
	}
	snprintf(bad, sizeof(bad), "%sA", text);
	assert_false(rn_relay_cred_parse(bad, &d));
	memcpy(bad, text, sizeof(text));
	bad[44] = '.';
	assert_false(rn_relay_cred_parse(bad, &d));
	memcpy(bad, text, sizeof(text));
	bad[45] = '-';
	assert_false(rn_relay_cred_parse(bad, &d));
	assert_false(
	    rn_relay_cred_parse("qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqo=:99999999999999999999:"
				"j4HbR1JSKl/m1BXibPos7Yb2n3wYQNe/PexwFhSF1Ew=",
				&d));
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_secret_file(void **state)
{
	char dir[] = "/tmp/rn-relay-cred-XXXXXX", path[64], err[256];
	uint8_t got[RN_RELAY_SECRET_LEN], again[RN_RELAY_SECRET_LEN];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/secret", dir);
	write_file(path, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
		   0600);
	assert_int_equal(rn_relay_secret_load(path, got, err, sizeof(err)), 0);
	assert_memory_equal(got, secret, sizeof(secret));
	write_file(path, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0400);
	memset(got, 0, sizeof(got));
	assert_int_equal(rn_relay_secret_load(path, got, err, sizeof(err)), 0);
	assert_memory_equal(got, secret, sizeof(secret));
	/* others or the group may read it: refused, saying how to fix it */
	write_file(path, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0640);
	assert_int_equal(rn_relay_secret_load(path, got, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "chmod 600"));
	write_file(path, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0604);
	assert_int_equal(rn_relay_secret_load(path, got, err, sizeof(err)), -EPERM);
	/* not 32 bytes */
	write_file(path, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e\n", 0600);
	assert_int_equal(rn_relay_secret_load(path, got, err, sizeof(err)), -EINVAL);
	write_file(path, "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
		   0600);
	assert_int_equal(rn_relay_secret_load(path, got, err, sizeof(err)), -EINVAL);
	write_file(path, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh==\n", 0600);
	assert_int_equal(rn_relay_secret_load(path, got, err, sizeof(err)), -EINVAL);
	write_file(path, "", 0600);
	assert_int_equal(rn_relay_secret_load(path, got, err, sizeof(err)), -EINVAL);
	/* generate: 0600, loadable, never overwrites */
	unlink(path);
	assert_int_equal(rn_relay_secret_generate(path, err, sizeof(err)), 0);
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	assert_int_equal(rn_relay_secret_load(path, got, err, sizeof(err)), 0);
	assert_int_equal(rn_relay_secret_generate(path, err, sizeof(err)), -EEXIST);
	assert_int_equal(rn_relay_secret_load(path, again, err, sizeof(err)), 0);
	assert_memory_equal(got, again, sizeof(got));
	unlink(path);
	assert_int_equal(rn_relay_secret_load(path, got, err, sizeof(err)), -ENOENT);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_secret_file),
		cmocka_unit_test(test_text),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
