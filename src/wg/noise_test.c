/* SPDX-License-Identifier: MIT */
/*
 * The handshake step by step against known answers from an independent implementation
 * (scripts/gen-noise-vectors.py), plus replay, flood, tamper and cookie paths.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <cmocka.h>

#include "wg/cookie.h"
#include "wg/crypto.h"
#include "wg/noise.h"
#include "wg/noise_vectors.h"

#define NOW_NS (1000ULL * 1000000000ULL)

struct pair {
	struct rn_noise_identity id_i, id_r;
	struct rn_noise_handshake hs_i, hs_r; /* hs_i: I's view of R; hs_r: R's view of I */
};

static void pair_init(struct pair *p, bool psk)
{
	memset(p, 0, sizeof(*p));
	assert_true(rn_noise_identity_set(&p->id_i, kat_static_i));
	assert_true(rn_noise_identity_set(&p->id_r, kat_static_r));
	rn_noise_handshake_init(&p->hs_i, &p->id_i, kat_public_r, psk ? kat_psk : NULL);
	rn_noise_handshake_init(&p->hs_r, &p->id_r, kat_public_i, psk ? kat_psk : NULL);
}

static void test_crypto_known_answers(void **state)
{
	static const uint8_t abc_hash[32] = {
		0x50, 0x8c, 0x5e, 0x8c, 0x32, 0x7c, 0x14, 0xe2, 0xe1, 0xa7, 0x2b,
		0xa3, 0x4e, 0xeb, 0x45, 0x2f, 0x37, 0x45, 0x8b, 0x20, 0x9e, 0xd6,
		0x3a, 0x29, 0x4d, 0x99, 0x9b, 0x4c, 0x86, 0x67, 0x59, 0x82,
	}; /* RFC 7693 appendix B */
	uint8_t out[32], pub[32];

	(void)state;
	rn_blake2s(out, "a", 1, "bc", 2);
	assert_memory_equal(out, abc_hash, 32);
	assert_true(rn_x25519_public(pub, kat_static_i));
	assert_memory_equal(pub, kat_public_i, 32);
	assert_true(rn_ct_equal(pub, kat_public_i, 32));
	assert_false(rn_ct_equal(pub, kat_public_r, 32));
	/* A low-order point (zero) must be refused rather than yield an all-zero secret. */
	memset(pub, 0, sizeof(pub));
	assert_false(rn_x25519(out, kat_static_i, pub));
}

static void test_initiation_matches_vector(void **state)
{
	struct rn_message_handshake_initiation msg;
	struct rn_cookie ck;
	struct pair p;

	(void)state;
	pair_init(&p, true);
	assert_memory_equal(p.id_i.static_public, kat_public_i, 32);
	assert_true(rn_noise_create_initiation_with(&p.hs_i, &p.id_i, KAT_INDEX_I, kat_ephemeral_i,
						    kat_timestamp, &msg));
	assert_int_equal(p.hs_i.state, RN_HANDSHAKE_CREATED_INITIATION);
	rn_cookie_init(&ck, kat_public_r);
	rn_cookie_add_macs(&ck, &msg, sizeof(msg), NOW_NS);
	assert_memory_equal(&msg, kat_initiation, sizeof(msg));
}

static void complete_handshake(struct pair *p, struct rn_noise_keypair **kp_i,
			       struct rn_noise_keypair **kp_r)
{
	struct rn_message_handshake_initiation init;
	struct rn_message_handshake_response resp;
	struct rn_noise_initiation_state st;
	struct rn_cookie ck;

	assert_true(rn_noise_create_initiation_with(&p->hs_i, &p->id_i, KAT_INDEX_I,
						    kat_ephemeral_i, kat_timestamp, &init));
	assert_true(rn_noise_open_initiation(&init, &p->id_r, &st));
	assert_memory_equal(st.remote_static, kat_public_i, 32);
	assert_int_equal(st.remote_index, KAT_INDEX_I);
	assert_true(rn_noise_finish_initiation(&p->hs_r, &st, &init, NOW_NS));
	assert_true(rn_noise_create_response_with(&p->hs_r, KAT_INDEX_R, kat_ephemeral_r, &resp));
	rn_cookie_init(&ck, kat_public_i);
	rn_cookie_add_macs(&ck, &resp, sizeof(resp), NOW_NS);
	assert_memory_equal(&resp, kat_response, sizeof(resp));
	assert_true(rn_noise_consume_response(&p->hs_i, &p->id_i, &resp));
	*kp_i = rn_noise_derive_keypair(&p->hs_i, NOW_NS);
	*kp_r = rn_noise_derive_keypair(&p->hs_r, NOW_NS);
	assert_non_null(*kp_i);
	assert_non_null(*kp_r);
}

static void test_full_handshake_and_transport(void **state)
{
	struct rn_noise_keypair *kp_i, *kp_r;
	uint8_t buf[64], plain[32];
	struct pair p;

	(void)state;
	pair_init(&p, true);
	complete_handshake(&p, &kp_i, &kp_r);
	assert_memory_equal(kp_i->send_key, kat_send_i, 32);
	assert_memory_equal(kp_i->recv_key, kat_recv_i, 32);
	assert_memory_equal(kp_r->send_key, kat_recv_i, 32);
	assert_memory_equal(kp_r->recv_key, kat_send_i, 32);
	assert_true(kp_i->i_am_initiator);
	assert_false(kp_r->i_am_initiator);
	assert_int_equal(kp_i->remote_index, KAT_INDEX_R);
	assert_int_equal(kp_r->remote_index, KAT_INDEX_I);
	/* Both handshakes are consumed: their secrets are gone. */
	assert_int_equal(p.hs_i.state, RN_HANDSHAKE_ZEROED);
	assert_true(rn_ct_is_zero(p.hs_r.chaining_key, 32));

	/* Transport: the padded payload with counter 7, as the vector's data message. */
	memset(plain, 0, sizeof(plain));
	memcpy(plain, kat_payload, sizeof(kat_payload));
	assert_true(
	    rn_aead_seal1(buf, plain, sizeof(plain), NULL, 0, KAT_DATA_COUNTER, kp_i->send_key));
	assert_memory_equal(buf, kat_data + 16, sizeof(kat_data) - 16);
	assert_true(rn_aead_open1(buf, buf, sizeof(kat_data) - 16, NULL, 0, KAT_DATA_COUNTER,
				  kp_r->recv_key));
	assert_memory_equal(buf, plain, sizeof(plain));
	/* Wrong counter: authentication fails. */
	assert_true(rn_aead_seal1(buf, plain, sizeof(plain), NULL, 0, 8, kp_i->send_key));
	assert_false(rn_aead_open1(buf, buf, 48, NULL, 0, 7, kp_r->recv_key));
	rn_noise_keypair_put(kp_i);
	rn_noise_keypair_put(kp_r);
}

/* A packet-path thread that used a session's keys once and then idles, as a reader does. */
struct idler {
	const uint8_t *send_key, *recv_key;
	const uint8_t *sealed; /* 48 bytes sealed under recv_key, counter 1 */
	int go[2];	       /* main -> idler: "exit" */
	int done[2];	       /* idler -> main: "used the keys" */
};

static void *idler_main(void *arg)
{
	struct idler *t = arg;
	uint8_t buf[64] = { 0 }, c = 1;
	bool ok;

	ok = rn_aead_seal1(buf, buf, 32, NULL, 0, 0, t->send_key);
	memcpy(buf, t->sealed, 48);
	ok = rn_aead_open1(buf, buf, 48, NULL, 0, 1, t->recv_key) && ok;
	c = ok;
	if (write(t->done[1], &c, 1) != 1 || read(t->go[0], &c, 1) != 1)
		return NULL;
	return NULL;
}

/*
 * The per-thread cipher contexts of the packet paths keep no copy of a session's keys once
 * the session is freed: not the calling thread's, nor an idle thread's.
 */
static void test_freed_session_leaves_no_key_in_thread_contexts(void **state)
{
	uint8_t send_i[32], recv_i[32], zero[32] = { 0 }, buf[64] = { 0 }, sealed[48], c = 0;
	struct rn_noise_keypair *kp_i, *kp_r;
	struct idler t = { 0 };
	pthread_t th;
	struct pair p;

	(void)state;
	pair_init(&p, true);
	complete_handshake(&p, &kp_i, &kp_r);
	/* The handshake's own keys are gone from this thread's contexts too. */
	assert_int_equal(rn_aead_holds_key1(zero), RN_AEAD_HOLDS_ENC | RN_AEAD_HOLDS_DEC);
	memcpy(send_i, kp_i->send_key, 32);
	memcpy(recv_i, kp_i->recv_key, 32);

	/* I's session is used on another thread, which then idles; R's on this one. */
	assert_true(rn_aead_seal1(sealed, buf, 32, NULL, 0, 1, kp_r->send_key));
	assert_true(rn_aead_open1(buf, sealed, 48, NULL, 0, 1, kp_i->recv_key));
	assert_true(rn_aead_seal1(sealed, buf, 32, NULL, 0, 1, kp_r->send_key));
	t.send_key = kp_i->send_key;
	t.recv_key = kp_i->recv_key;
	t.sealed = sealed;
	assert_int_equal(pipe(t.go), 0);
	assert_int_equal(pipe(t.done), 0);
	assert_int_equal(pthread_create(&th, NULL, idler_main, &t), 0);
	assert_int_equal(read(t.done[0], &c, 1), 1);
	assert_int_equal(c, 1);
	/* The probe sees them: the idler holds I's two keys, this thread R's (the same bytes). */
	assert_int_equal(rn_aead_threads_holding(send_i), 1);
	assert_int_equal(rn_aead_threads_holding(recv_i), 2);
	assert_int_equal(rn_aead_holds_key1(recv_i), RN_AEAD_HOLDS_ENC | RN_AEAD_HOLDS_DEC);

	rn_noise_keypair_put(kp_i);
	assert_int_equal(rn_aead_threads_holding(send_i), 0);
	assert_int_equal(rn_aead_threads_holding(recv_i), 1); /* R's session is alive */
	rn_noise_keypair_put(kp_r);
	assert_int_equal(rn_aead_threads_holding(recv_i), 0);
	assert_int_equal(rn_aead_holds_key1(zero), RN_AEAD_HOLDS_ENC | RN_AEAD_HOLDS_DEC);

	/* The contexts still work after being wiped. */
	assert_true(rn_aead_seal1(buf, zero, 32, NULL, 0, 5, send_i));
	assert_true(rn_aead_open1(buf, buf, 48, NULL, 0, 5, send_i));
	assert_memory_equal(buf, zero, 32);
	rn_aead_forget1();
	assert_int_equal(write(t.go[1], &c, 1), 1);
	assert_int_equal(pthread_join(th, NULL), 0);
	close(t.go[0]);
	close(t.go[1]);
	close(t.done[0]);
	close(t.done[1]);
}

static void test_without_psk_differs(void **state)
{
	struct rn_noise_keypair *kp_i, *kp_r;
	struct rn_message_handshake_initiation init;
	struct rn_message_handshake_response resp;
	struct rn_noise_initiation_state st;
	struct pair p;

	(void)state;
	pair_init(&p, false);
	assert_true(rn_noise_create_initiation(&p.hs_i, &p.id_i, 1, &init));
	assert_true(rn_noise_open_initiation(&init, &p.id_r, &st));
	assert_true(rn_noise_finish_initiation(&p.hs_r, &st, &init, NOW_NS));
	assert_true(rn_noise_create_response(&p.hs_r, 2, &resp));
	assert_true(rn_noise_consume_response(&p.hs_i, &p.id_i, &resp));
	kp_i = rn_noise_derive_keypair(&p.hs_i, NOW_NS);
	kp_r = rn_noise_derive_keypair(&p.hs_r, NOW_NS);
	assert_memory_equal(kp_i->send_key, kp_r->recv_key, 32);
	assert_memory_not_equal(kp_i->send_key, kat_send_i, 32);
	rn_noise_keypair_put(kp_i);
	rn_noise_keypair_put(kp_r);
}

static void test_psk_mismatch_fails(void **state)
{
	struct rn_message_handshake_initiation init;
	struct rn_message_handshake_response resp;
	struct rn_noise_initiation_state st;
	struct pair p;

	(void)state;
	pair_init(&p, true);
	rn_noise_handshake_init(&p.hs_r, &p.id_r, kat_public_i, NULL); /* R has no psk */
	assert_true(rn_noise_create_initiation(&p.hs_i, &p.id_i, 1, &init));
	assert_true(rn_noise_open_initiation(&init, &p.id_r, &st));
	assert_true(rn_noise_finish_initiation(&p.hs_r, &st, &init, NOW_NS));
	assert_true(rn_noise_create_response(&p.hs_r, 2, &resp));
	assert_false(rn_noise_consume_response(&p.hs_i, &p.id_i, &resp));
	/* The pending initiation survives a response that did not open. */
	assert_int_equal(p.hs_i.state, RN_HANDSHAKE_CREATED_INITIATION);
}

static void test_initiation_replay_and_flood(void **state)
{
	struct rn_message_handshake_initiation init, later;
	struct rn_noise_initiation_state st;
	uint8_t ts2[RN_NOISE_TIMESTAMP_LEN];
	struct pair p;

	(void)state;
	pair_init(&p, true);
	assert_true(rn_noise_create_initiation_with(&p.hs_i, &p.id_i, 1, kat_ephemeral_i,
						    kat_timestamp, &init));
	assert_true(rn_noise_open_initiation(&init, &p.id_r, &st));
	assert_true(rn_noise_finish_initiation(&p.hs_r, &st, &init, NOW_NS));
	/* The same message again, a second later: the timestamp is not newer. */
	assert_true(rn_noise_open_initiation(&init, &p.id_r, &st));
	assert_false(rn_noise_finish_initiation(&p.hs_r, &st, &init, NOW_NS + 1000000000ULL));
	/* A newer timestamp but only 1 ms after the last: flood guard. */
	memcpy(ts2, kat_timestamp, sizeof(ts2));
	ts2[7]++;
	assert_true(
	    rn_noise_create_initiation_with(&p.hs_i, &p.id_i, 1, kat_ephemeral_i, ts2, &later));
	assert_true(rn_noise_open_initiation(&later, &p.id_r, &st));
	assert_false(rn_noise_finish_initiation(&p.hs_r, &st, &later, NOW_NS + 1000000ULL));
	assert_true(rn_noise_open_initiation(&later, &p.id_r, &st));
	assert_true(rn_noise_finish_initiation(&p.hs_r, &st, &later, NOW_NS + 2000000000ULL));
}

static void test_tampered_and_wrong_identity(void **state)
{
	struct rn_message_handshake_initiation init, bad;
	struct rn_noise_initiation_state st;
	struct rn_noise_identity other;
	uint8_t other_priv[32];
	struct pair p;

	(void)state;
	pair_init(&p, true);
	assert_true(rn_noise_create_initiation(&p.hs_i, &p.id_i, 1, &init));
	for (size_t off = 8; off < offsetof(struct rn_message_handshake_initiation, macs); off++) {
		bad = init;
		((uint8_t *)&bad)[off] ^= 0x01;
		if (rn_noise_open_initiation(&bad, &p.id_r, &st))
			assert_false(rn_noise_finish_initiation(&p.hs_r, &st, &bad, NOW_NS));
	}
	rn_x25519_generate(other_priv);
	assert_true(rn_noise_identity_set(&other, other_priv));
	assert_false(rn_noise_open_initiation(&init, &other, &st));
	/* The initiator's key decrypts, but it is not the peer this handshake is for. */
	rn_noise_handshake_init(&p.hs_r, &p.id_r, other.static_public, kat_psk);
	assert_true(rn_noise_open_initiation(&init, &p.id_r, &st));
	assert_false(rn_noise_finish_initiation(&p.hs_r, &st, &init, NOW_NS));
}

static void test_mac2_matches_vector(void **state)
{
	struct rn_message_handshake_initiation msg;
	struct rn_cookie ck;

	(void)state;
	memcpy(&msg, kat_initiation, sizeof(msg));
	rn_cookie_init(&ck, kat_public_r);
	memcpy(ck.cookie, kat_cookie, sizeof(ck.cookie));
	ck.birthdate_ns = NOW_NS;
	rn_cookie_add_macs(&ck, &msg, sizeof(msg), NOW_NS + 1000);
	assert_memory_equal(msg.macs.mac2, kat_initiation_mac2, 16);
	/* An expired cookie is not used. */
	rn_cookie_add_macs(&ck, &msg, sizeof(msg), NOW_NS + 200 * 1000000000ULL);
	assert_true(rn_ct_is_zero(msg.macs.mac2, 16));
}

static void test_cookie_round_trip(void **state)
{
	struct rn_message_handshake_initiation msg;
	struct rn_message_handshake_cookie reply;
	struct rn_cookie_checker checker;
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(51820) };
	struct sockaddr_in other_src;
	struct rn_cookie ck;

	(void)state;
	inet_pton(AF_INET, "198.51.100.1", &src.sin_addr);
	other_src = src;
	other_src.sin_port = htons(51821);
	rn_cookie_checker_init(&checker);
	rn_cookie_checker_set_key(&checker, kat_public_r);
	rn_cookie_init(&ck, kat_public_r);
	memcpy(&msg, kat_initiation, sizeof(msg));

	assert_int_equal(
	    rn_cookie_validate(&checker, &msg, sizeof(msg), (void *)&src, false, NOW_NS),
	    RN_COOKIE_VALID_MAC_BUT_NO_COOKIE);
	assert_int_equal(
	    rn_cookie_validate(&checker, &msg, sizeof(msg), (void *)&src, true, NOW_NS),
	    RN_COOKIE_VALID_MAC_BUT_NO_COOKIE);
	msg.macs.mac1[3] ^= 1;
	assert_int_equal(
	    rn_cookie_validate(&checker, &msg, sizeof(msg), (void *)&src, false, NOW_NS),
	    RN_COOKIE_INVALID_MAC);
	msg.macs.mac1[3] ^= 1;

	/* Under load: reply with a cookie, which the initiator takes and uses as mac2. */
	rn_cookie_add_macs(&ck, &msg, sizeof(msg), NOW_NS);
	rn_cookie_reply_create(&checker, &reply, &msg, sizeof(msg), KAT_INDEX_I, (void *)&src,
			       NOW_NS);
	assert_int_equal(le32toh(reply.header.type), RN_MESSAGE_HANDSHAKE_COOKIE);
	assert_true(rn_cookie_reply_consume(&ck, &reply, NOW_NS));
	/* A second copy of the reply is refused: it answered a mac1 we no longer wait on. */
	assert_false(rn_cookie_reply_consume(&ck, &reply, NOW_NS));
	rn_cookie_add_macs(&ck, &msg, sizeof(msg), NOW_NS);
	assert_int_equal(
	    rn_cookie_validate(&checker, &msg, sizeof(msg), (void *)&src, true, NOW_NS),
	    RN_COOKIE_VALID_MAC_WITH_COOKIE);
	/* The cookie is bound to the source address and port. */
	assert_int_equal(
	    rn_cookie_validate(&checker, &msg, sizeof(msg), (void *)&other_src, true, NOW_NS),
	    RN_COOKIE_VALID_MAC_BUT_NO_COOKIE);
	/* A forged reply (wrong key) does not open. */
	rn_cookie_add_macs(&ck, &msg, sizeof(msg), NOW_NS);
	reply.encrypted_cookie[0] ^= 1;
	assert_false(rn_cookie_reply_consume(&ck, &reply, NOW_NS));
	rn_cookie_checker_destroy(&checker);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crypto_known_answers),
		cmocka_unit_test(test_initiation_matches_vector),
		cmocka_unit_test(test_full_handshake_and_transport),
		cmocka_unit_test(test_freed_session_leaves_no_key_in_thread_contexts),
		cmocka_unit_test(test_without_psk_differs),
		cmocka_unit_test(test_psk_mismatch_fails),
		cmocka_unit_test(test_initiation_replay_and_flood),
		cmocka_unit_test(test_tampered_and_wrong_identity),
		cmocka_unit_test(test_mac2_matches_vector),
		cmocka_unit_test(test_cookie_round_trip),
	};

	if (rn_crypto_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
