/* SPDX-License-Identifier: MIT */
/* The enrollment key file (made 0600, made on first open for an old state dir, refused when
 * others can read it) and the nonces (single use, expiry, a bounded table). */
#include <errno.h>
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

#include "rustynet-control/challenge.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rn-challenge-test.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void test_key_file(void **state)
{
	struct rn_challenge *a, *b;
	char path[128], err[256];
	uint8_t pub[RN_ENROLL_KEY_LEN];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/%s", dir, RN_CTL_ENROLL_KEY);
	/* a state dir from before the key: the first open makes it, 0600 */
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(rn_challenge_open(dir, &a, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	memcpy(pub, rn_challenge_server_key(a), sizeof(pub));
	rn_challenge_free(a);
	/* the next open loads the same key; init refuses to overwrite it */
	assert_int_equal(rn_challenge_open(dir, &b, err, sizeof(err)), 0);
	assert_memory_equal(rn_challenge_server_key(b), pub, sizeof(pub));
	rn_challenge_free(b);
	assert_int_equal(rn_challenge_key_create(dir, err, sizeof(err)), -EEXIST);
	/* a key others can read is refused, with what to do */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(rn_challenge_open(dir, &b, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "chmod 600"));
	/* a damaged key is refused, not replaced */
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(truncate(path, 10), 0);
	assert_int_equal(rn_challenge_open(dir, &b, err, sizeof(err)), -EINVAL);
}

static const uint8_t A[RN_RATELIMIT_KEY_LEN] = { 2, 192, 0, 2, 1 };
static const uint8_t B[RN_RATELIMIT_KEY_LEN] = { 2, 192, 0, 2, 2 };

/* One client's flood pushes out only its own nonces, never those another client is using. */
static void test_flood(void **state)
{
	uint8_t a[RN_ENROLL_NONCE_LEN], b[RN_ENROLL_NONCE_LEN], b1[RN_ENROLL_NONCE_LEN];
	struct rn_challenge *c;
	char err[256];

	(void)state;
	assert_int_equal(rn_challenge_open(dir, &c, err, sizeof(err)), 0);
	assert_int_equal(rn_challenge_issue(c, A, 1000, a), 0);
	assert_int_equal(rn_challenge_issue(c, B, 1001, b1), 0);
	for (int i = 0; i < 2 * RN_CHALLENGE_SLOTS; i++)
		assert_int_equal(rn_challenge_issue(c, B, 1002 + (uint64_t)i, b), 0);
	assert_true(rn_challenge_take(c, a, 5000));
	assert_false(rn_challenge_take(c, b1, 5000)); /* B's own oldest gave way */
	assert_true(rn_challenge_take(c, b, 5000));
	rn_challenge_free(c);
}

static void test_nonces(void **state)
{
	uint8_t n1[RN_ENROLL_NONCE_LEN], n2[RN_ENROLL_NONCE_LEN], first[RN_ENROLL_NONCE_LEN];
	struct rn_challenge *c;
	char err[256];

	(void)state;
	assert_int_equal(rn_challenge_open(dir, &c, err, sizeof(err)), 0);
	/* single use */
	assert_int_equal(rn_challenge_issue(c, A, 1000, n1), 0);
	assert_int_equal(rn_challenge_issue(c, A, 1000, n2), 0);
	assert_memory_not_equal(n1, n2, sizeof(n1));
	assert_true(rn_challenge_take(c, n1, 1001));
	assert_false(rn_challenge_take(c, n1, 1002));
	/* never issued */
	memset(n1, 0, sizeof(n1));
	assert_false(rn_challenge_take(c, n1, 1002));
	/* expired, and gone after the attempt */
	assert_false(rn_challenge_take(c, n2, 1000 + RN_CHALLENGE_TTL_MS));
	/* bounded: past RN_CHALLENGE_SLOTS waiting nonces the oldest gives way */
	assert_int_equal(rn_challenge_issue(c, A, 2000, first), 0);
	for (int i = 0; i < RN_CHALLENGE_SLOTS; i++) { /* from as many clients */
		uint8_t other[RN_RATELIMIT_KEY_LEN] = { 2, 198, 51, (uint8_t)(i >> 8), (uint8_t)i };

		assert_int_equal(rn_challenge_issue(c, other, 2001 + (uint64_t)i, n1), 0);
	}
	assert_false(rn_challenge_take(c, first, 3000 + RN_CHALLENGE_SLOTS));
	assert_true(rn_challenge_take(c, n1, 3000 + RN_CHALLENGE_SLOTS));
	rn_challenge_free(c);
}

static void test_verify(void **state)
{
	uint8_t node_priv[RN_ENROLL_KEY_LEN], node_pub[RN_ENROLL_KEY_LEN], other[RN_ENROLL_KEY_LEN];
	uint8_t nonce[RN_ENROLL_NONCE_LEN], proof[RN_ENROLL_PROOF_LEN];
	struct rn_enroll_transcript t;
	struct rn_challenge *c;
	char err[256];

	(void)state;
	assert_int_equal(rn_challenge_open(dir, &c, err, sizeof(err)), 0);
	assert_true(rn_enroll_key_generate(node_priv));
	assert_true(rn_enroll_key_public(node_priv, node_pub));
	assert_int_equal(rn_challenge_issue(c, A, 1, nonce), 0);
	t = (struct rn_enroll_transcript){ .nonce = nonce,
					   .server_pub = rn_challenge_server_key(c),
					   .node_pub = node_pub,
					   .auth_key = "rnk_x",
					   .hostname = "h" };
	assert_true(rn_enroll_proof_make(node_priv, rn_challenge_server_key(c), &t, proof));
	assert_true(rn_challenge_verify(c, &t, proof));
	/* a proof for another server's key is no proof here */
	assert_true(rn_enroll_key_generate(other));
	assert_true(rn_enroll_key_public(other, other));
	t.server_pub = other;
	assert_true(rn_enroll_proof_make(node_priv, other, &t, proof));
	assert_false(rn_challenge_verify(c, &t, proof));
	rn_challenge_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_key_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nonces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
