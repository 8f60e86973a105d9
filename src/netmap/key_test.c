/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the signing keys: RFC 8032 Ed25519 known answers, key_id, the strict base64
 * the wire uses, and the key files (modes, refusing readable private keys, never replacing).
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

#include "netmap/netmap.h"
#include "netmap/netmap_priv.h"

static void unhex(const char *s, uint8_t *out, size_t n)
{
	if (!rn_netmap_hex_decode(s, strlen(s), out, n))
		fail_msg("bad hex in the test: %s", s);
}

/* RFC 8032 section 7.1, tests 1-3: secret key, public key, message, signature. */
static void test_rfc8032_vectors(void **state)
{
	static const struct {
		const char *priv, *pub, *msg, *sig;
	} v[] = {
		{ "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
		  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
		  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e"
		  "39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
		{ "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
		  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
		  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f"
		  "3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
		{ "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
		  "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
		  "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f"
		  "7"
		  "60984dc6594a7c15e9716ed28dc027beceea1ec40a" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t priv[32], pub[32], want_pub[32], msg[2], sig[64], want_sig[64];
		size_t mlen = strlen(v[i].msg) / 2;

		unhex(v[i].priv, priv, 32);
		unhex(v[i].pub, want_pub, 32);
		unhex(v[i].msg, msg, mlen);
		unhex(v[i].sig, want_sig, 64);
		assert_int_equal(rn_netmap_sign_key_public(priv, pub), 0);
		assert_memory_equal(pub, want_pub, 32);
		assert_int_equal(rn_netmap_sign(priv, msg, mlen, sig), 0);
		assert_memory_equal(sig, want_sig, 64);
		assert_true(rn_netmap_verify(pub, msg, mlen, sig));
		sig[i * 7] ^= 0x20;
		assert_false(rn_netmap_verify(pub, msg, mlen, sig));
		sig[i * 7] ^= 0x20;
		msg[0] ^= 1; /* test 1 has an empty message: this checks a one-byte one */
		assert_false(rn_netmap_verify(pub, msg, mlen ? mlen : 1, sig));
	}
}

static void test_generate(void **state)
{
	uint8_t a_priv[32], a_pub[32], b_priv[32], b_pub[32], derived[32], sig[64];

	(void)state;
	assert_int_equal(rn_netmap_sign_key_generate(a_priv, a_pub), 0);
	assert_int_equal(rn_netmap_sign_key_generate(b_priv, b_pub), 0);
	assert_memory_not_equal(a_priv, b_priv, 32);
	assert_int_equal(rn_netmap_sign_key_public(a_priv, derived), 0);
	assert_memory_equal(derived, a_pub, 32);
	assert_int_equal(rn_netmap_sign(a_priv, "map", 3, sig), 0);
	assert_true(rn_netmap_verify(a_pub, "map", 3, sig));
	assert_false(rn_netmap_verify(b_pub, "map", 3, sig));
}

static void test_key_id(void **state)
{
	uint8_t pub[32];
	char id[RN_NETMAP_KEY_ID_STRLEN];

	(void)state;
	/* The first 8 bytes of SHA-256 of the RFC 8032 test 1 public key. */
	unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", pub, 32);
	rn_netmap_key_id(pub, id);
	assert_string_equal(id, "21fe31dfa154a261");
}

static void test_base64_strict(void **state)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t key[32], out[32];
	char text[RN_NETMAP_B64_KEY_LEN + 1], bad[RN_NETMAP_B64_KEY_LEN + 1];

	(void)state;
	for (size_t i = 0; i < 32; i++)
		key[i] = (uint8_t)(i * 37 + 5);
	rn_netmap_b64_encode(key, 32, text);
	assert_int_equal(strlen(text), 44);
	assert_true(rn_netmap_b64_decode(text, 44, out, 32));
	assert_memory_equal(out, key, 32);
	assert_false(rn_netmap_b64_decode(text, 43, out, 32));
	/* The last character before '=' has 2 unused bits: set one, same bytes, still refused. */
	memcpy(bad, text, sizeof(bad));
	bad[42] = alphabet[(strchr(alphabet, bad[42]) - alphabet) | 1];
	assert_true(bad[42] != text[42]);
	assert_false(rn_netmap_b64_decode(bad, 44, out, 32));
	memcpy(bad, text, sizeof(bad));
	bad[0] = ' ';
	assert_false(rn_netmap_b64_decode(bad, 44, out, 32));
	memcpy(bad, text, sizeof(bad));
	bad[43] = 'A';
	assert_false(rn_netmap_b64_decode(bad, 44, out, 32));
	memcpy(bad, text, sizeof(bad));
	bad[10] = '*';
	assert_false(rn_netmap_b64_decode(bad, 44, out, 32));
}

/* ---- key files ---- */

static char dir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rn_key_test.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_key_file_round_trip(void **state)
{
	uint8_t priv[32], pub[32], back[32];
	char path[128], pubpath[128], err[256];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/signing.key", dir);
	snprintf(pubpath, sizeof(pubpath), "%s/signing.pub", dir);
	assert_int_equal(rn_netmap_sign_key_generate(priv, pub), 0);
	assert_int_equal(rn_netmap_key_save(path, RN_NETMAP_KEY_PRIVATE, priv, err, sizeof(err)),
			 0);
	assert_int_equal(rn_netmap_key_save(pubpath, RN_NETMAP_KEY_PUBLIC, pub, err, sizeof(err)),
			 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(pubpath, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(rn_netmap_key_load(path, RN_NETMAP_KEY_PRIVATE, back, err, sizeof(err)),
			 0);
	assert_memory_equal(back, priv, 32);
	assert_int_equal(rn_netmap_key_load(pubpath, RN_NETMAP_KEY_PUBLIC, back, err, sizeof(err)),
			 0);
	assert_memory_equal(back, pub, 32);

	/* Never replaces: a server that lost its key must not quietly sign with a new one. */
	assert_int_equal(rn_netmap_key_save(path, RN_NETMAP_KEY_PRIVATE, pub, err, sizeof(err)),
			 -EEXIST);
	assert_non_null(strstr(err, "already exists"));
	assert_int_equal(rn_netmap_key_load(path, RN_NETMAP_KEY_PRIVATE, back, err, sizeof(err)),
			 0);
	assert_memory_equal(back, priv, 32);
}

static void test_key_file_permissions(void **state)
{
	static const mode_t refused[] = { 0640, 0604, 0644, 0660, 0666, 0601 };
	uint8_t key[32];
	char path[128], err[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/loose.key", dir);
	write_file(path, "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n", 0600);
	assert_int_equal(rn_netmap_key_load(path, RN_NETMAP_KEY_PRIVATE, key, err, sizeof(err)), 0);
	assert_int_equal(key[0], 0x9d);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(chmod(path, refused[i]), 0);
		err[0] = '\0';
		assert_int_equal(
		    rn_netmap_key_load(path, RN_NETMAP_KEY_PRIVATE, key, err, sizeof(err)), -EPERM);
		assert_non_null(strstr(err, "chmod 600"));
		assert_non_null(strstr(err, path));
		/* The same file is fine as a public key. */
		assert_int_equal(
		    rn_netmap_key_load(path, RN_NETMAP_KEY_PUBLIC, key, err, sizeof(err)), 0);
	}
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(rn_netmap_key_load(path, RN_NETMAP_KEY_PRIVATE, key, err, sizeof(err)), 0);
}

static void test_key_file_contents(void **state)
{
	static const struct {
		const char *text;
		int ret;
	} cases[] = {
		{ "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n", 0 },
		{ "  9D61B19DEFFD5A60BA844AF492EC2CC44449C5697B326919703BAC031CAE7F60  ", 0 },
		{ "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=", 0 },
		{ "\nnWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\r\n", 0 },
		{ "", -EINVAL },
		{ "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f6", -EINVAL },
		{ "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f6g", -EINVAL },
		{ "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A", -EINVAL },
		{ "nWGxne/9WmC6hEr0 kuwsxERJxWl7MmkZcDusAxyuf2A=", -EINVAL },
		{ "-----BEGIN PRIVATE KEY-----\n", -EINVAL },
	};
	uint8_t key[32];
	char path[128], err[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/contents.key", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret;

		write_file(path, cases[i].text, 0600);
		memset(key, 0, sizeof(key));
		ret = rn_netmap_key_load(path, RN_NETMAP_KEY_PRIVATE, key, err, sizeof(err));
		if (ret != cases[i].ret)
			fail_msg("case %zu: got %d, want %d (%s)", i, ret, cases[i].ret, err);
		if (!ret && (key[0] != 0x9d || key[31] != 0x60))
			fail_msg("case %zu: wrong key", i);
		unlink(path);
	}
}

static void test_key_file_not_regular(void **state)
{
	uint8_t key[32];
	char path[128], link[128], err[256];

	(void)state;
	assert_int_equal(rn_netmap_key_load(dir, RN_NETMAP_KEY_PUBLIC, key, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	snprintf(path, sizeof(path), "%s/missing.key", dir);
	assert_int_equal(rn_netmap_key_load(path, RN_NETMAP_KEY_PRIVATE, key, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, path));
	/* A symlink is refused: a private key is read where it was put, not where a link points. */
	snprintf(path, sizeof(path), "%s/target.key", dir);
	snprintf(link, sizeof(link), "%s/link.key", dir);
	write_file(path, "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=", 0600);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(rn_netmap_key_load(link, RN_NETMAP_KEY_PRIVATE, key, err, sizeof(err)),
			 -ELOOP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8032_vectors),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_key_id),
		cmocka_unit_test(test_base64_strict),
		cmocka_unit_test(test_key_file_round_trip),
		cmocka_unit_test(test_key_file_permissions),
		cmocka_unit_test(test_key_file_contents),
		cmocka_unit_test(test_key_file_not_regular),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
