/* SPDX-License-Identifier: MIT */
/* The enrollment proof: a known answer made by another implementation (python3-cryptography's
 * X25519 and hmac), both sides agreeing, and every change of key or transcript refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/enroll_proof.h"

static uint8_t node_priv[32], server_priv[32], node_pub[32], server_pub[32], nonce[32];
static const char auth_key[] = "rnk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < 32; i++) {
		node_priv[i] = (uint8_t)(i + 1);
		server_priv[i] = (uint8_t)(i + 33);
	}
	memset(nonce, 0xa5, sizeof(nonce));
	assert_true(rn_enroll_key_public(node_priv, node_pub));
	assert_true(rn_enroll_key_public(server_priv, server_pub));
	return 0;
}

static struct rn_enroll_transcript transcript(void)
{
	return (struct rn_enroll_transcript){ .nonce = nonce,
					      .server_pub = server_pub,
					      .node_pub = node_pub,
					      .auth_key = auth_key,
					      .hostname = "laptop" };
}

static void known_answer(void **state)
{
	/* python3: hmac.new(X25519(node, server), label||nonce||spub||npub||sha256(ak)||host) */
	static const uint8_t want[32] = { 0xd9, 0x3b, 0x6a, 0xbb, 0x35, 0xb2, 0x15, 0xfb,
					  0x5c, 0x60, 0x06, 0x6c, 0x91, 0xe7, 0x67, 0x70,
					  0x73, 0x1c, 0x4d, 0x80, 0x63, 0x42, 0xcd, 0x8c,
					  0x8e, 0x45, 0xef, 0x8d, 0x91, 0x2a, 0x18, 0x4c };
	struct rn_enroll_transcript t = transcript();
	uint8_t proof[32];

	(void)state;
	assert_true(rn_enroll_proof_make(node_priv, server_pub, &t, proof));
	assert_memory_equal(proof, want, 32);
	/* the server's side of the exchange gives the same */
	assert_true(rn_enroll_proof_verify(server_priv, node_pub, &t, want));
}

static void refused_changes(void **state)
{
	struct rn_enroll_transcript t = transcript(), u;
	uint8_t proof[32], other_priv[32], other_nonce[32];

	(void)state;
	assert_true(rn_enroll_proof_make(node_priv, server_pub, &t, proof));
	assert_true(rn_enroll_proof_verify(server_priv, node_pub, &t, proof)); /* alive */
	/* made with another private key than the one of node_pub */
	assert_true(rn_enroll_key_generate(other_priv));
	{
		uint8_t forged[32];

		assert_true(rn_enroll_proof_make(other_priv, server_pub, &t, forged));
		assert_false(rn_enroll_proof_verify(server_priv, node_pub, &t, forged));
	}
	/* each field of the transcript matters */
	memset(other_nonce, 0x5a, sizeof(other_nonce));
	u = t, u.nonce = other_nonce;
	assert_false(rn_enroll_proof_verify(server_priv, node_pub, &u, proof));
	u = t, u.hostname = "laptop2";
	assert_false(rn_enroll_proof_verify(server_priv, node_pub, &u, proof));
	u = t, u.auth_key = "rnk_BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	assert_false(rn_enroll_proof_verify(server_priv, node_pub, &u, proof));
	u = t, u.server_pub = node_pub;
	assert_false(rn_enroll_proof_verify(server_priv, node_pub, &u, proof));
	/* one bit of the proof */
	proof[31] ^= 1;
	assert_false(rn_enroll_proof_verify(server_priv, node_pub, &t, proof));
}

static void low_order_key(void **state)
{
	static const uint8_t zero[32];
	struct rn_enroll_transcript t = transcript();
	uint8_t proof[32];

	(void)state;
	/* the all-zero point gives an all-zero secret: anyone could "prove" it */
	assert_false(rn_enroll_proof_make(server_priv, zero, &t, proof));
	memset(proof, 0, sizeof(proof));
	assert_false(rn_enroll_proof_verify(server_priv, zero, &t, proof));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(known_answer, setup),
		cmocka_unit_test_setup(refused_changes, setup),
		cmocka_unit_test_setup(low_order_key, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
