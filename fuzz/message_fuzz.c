/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the WireGuard messages a hostile peer or anyone on the network can send:
 * the input is one UDP payload, dispatched on its type and exact length, then run through
 * mac1/mac2 validation, the handshake consumers and the cookie reply consumer against a fixed
 * identity and a deterministic pending initiation: the protocol layers alone. The receive
 * path's own dispatch, checks and delivery are fuzzed by fuzz/receive_fuzz.c.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wg/cookie.h"
#include "wg/crypto.h"
#include "wg/messages.h"
#include "wg/noise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rn_noise_identity local, remote;
static struct rn_cookie_checker checker;
static struct rn_noise_handshake pending; /* our initiation to remote, awaiting its response */
static struct rn_noise_handshake from_remote;
static struct rn_cookie cookie;

static void setup(void)
{
	uint8_t k[32];

	if (rn_crypto_init())
		abort();
	memset(k, 0x11, sizeof(k));
	if (!rn_noise_identity_set(&local, k))
		abort();
	memset(k, 0x22, sizeof(k));
	if (!rn_noise_identity_set(&remote, k))
		abort();
	rn_cookie_checker_init(&checker);
	rn_cookie_checker_set_key(&checker, local.static_public);
	rn_cookie_init(&cookie, remote.static_public);
	cookie.have_sent_mac1 = true;
}

static void fuzz_initiation(const uint8_t *data, const struct sockaddr_in *src)
{
	struct rn_message_handshake_initiation msg;
	struct rn_noise_initiation_state st;

	memcpy(&msg, data, sizeof(msg));
	(void)rn_cookie_validate(&checker, &msg, sizeof(msg), (const void *)src,
				 msg.macs.mac2[0] & 1, 1000);
	if (rn_noise_open_initiation(&msg, &local, &st)) {
		rn_noise_handshake_init(&from_remote, &local, remote.static_public, NULL);
		(void)rn_noise_finish_initiation(&from_remote, &st, &msg, 1000);
	}
}

static void fuzz_response(const uint8_t *data)
{
	struct rn_message_handshake_response msg;
	struct rn_message_handshake_initiation init;
	uint8_t eph[32];

	memcpy(&msg, data, sizeof(msg));
	/* A deterministic pending initiation, so that coverage does not depend on randomness. */
	memset(eph, 0x33, sizeof(eph));
	rn_noise_handshake_init(&pending, &local, remote.static_public, NULL);
	if (!rn_noise_create_initiation_with(&pending, &local, 1, eph,
					     (const uint8_t *)"0123456789ab", &init))
		abort();
	if (rn_noise_consume_response(&pending, &local, &msg)) {
		struct rn_noise_keypair *kp = rn_noise_derive_keypair(&pending, 1000);

		rn_noise_keypair_put(kp);
	}
}

static void fuzz_data(const uint8_t *data, size_t size)
{
	static const uint8_t key[32] = { 1 };
	uint8_t *buf = malloc(size);
	uint64_t counter;

	if (!buf)
		return;
	memcpy(&counter, data + 8, sizeof(counter));
	memcpy(buf, data, size);
	(void)rn_aead_open1(buf + 16, buf + 16, size - 16, NULL, 0, le64toh(counter), key);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct sockaddr_in src = { .sin_family = AF_INET,
				   .sin_port = htons(51820),
				   .sin_addr.s_addr = htonl(0xc6336401) };
	struct rn_message_handshake_cookie reply;
	uint32_t type;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (size < sizeof(type))
		return 0;
	memcpy(&type, data, sizeof(type));
	switch (le32toh(type)) {
	case RN_MESSAGE_HANDSHAKE_INITIATION:
		if (size == RN_MESSAGE_INITIATION_LEN)
			fuzz_initiation(data, &src);
		break;
	case RN_MESSAGE_HANDSHAKE_RESPONSE:
		if (size == RN_MESSAGE_RESPONSE_LEN)
			fuzz_response(data);
		break;
	case RN_MESSAGE_HANDSHAKE_COOKIE:
		if (size == RN_MESSAGE_COOKIE_LEN) {
			memcpy(&reply, data, sizeof(reply));
			(void)rn_cookie_reply_consume(&cookie, &reply, 1000);
			cookie.have_sent_mac1 = true;
		}
		break;
	case RN_MESSAGE_DATA:
		if (size >= RN_MESSAGE_DATA_MIN_LEN)
			fuzz_data(data, size);
		break;
	default:
		break;
	}
	return 0;
}
