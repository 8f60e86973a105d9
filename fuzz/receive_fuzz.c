/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the real receive path (wg/receive.c): every datagram goes over loopback
 * UDP into a thread-less device (wg/test_device.h) and through the very functions its threads
 * call, rn_receive_udp_once (receive, type and length checks, session lookup, decryption,
 * replay check, crypto-key routing, delivery to TUN) and rn_receive_handshake_once (macs,
 * cookies, handshake consumers). The device has a live session with peer P (100.64.0.2,
 * 2001:db8::2) and a pending initiation to peer Q.
 *
 * The input is a sequence of records: a flags byte, a 2-byte big-endian length and that many
 * bytes. flags & 3:
 *   0, 2: the bytes are sent as they are; a response, cookie or data message whose receiver
 *         index is 0 gets the live one (Q's handshake, P's session), so the fuzzer reaches the
 *         code behind the index lookup;
 *   1:    the bytes are an inner packet that P seals with its next counter and sends;
 *   3:    P sends again the last message it sealed (a replay).
 * Beyond not crashing, the target checks what receive.c promises from the outside: every
 * handshake message queued has its type's exact length; everything written to TUN is a packet
 * P sealed in this input, from an address in P's allowed IPs; and no sealed message is
 * delivered twice.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wg/clock.h"
#include "wg/crypto.h"
#include "wg/test_device.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_RECORDS = 48, MAX_SEALED = 16, SESSION_REFRESH_S = 60 };

static struct rn_wg_device *dev;
static int tun;
static struct rn_testpeer p, q;
static uint64_t next_counter;

static void setup(void)
{
	uint8_t priv[32], pub[32];

	if (rn_crypto_init())
		abort();
	rn_clock_init();
	memset(priv, 0x11, sizeof(priv));
	if (!rn_x25519_public(pub, priv))
		abort();
	dev = rn_testdev_new(priv, &tun);
	rn_testpeer_init(&p, pub, dev->udp.port);
	rn_testpeer_init(&q, pub, dev->udp.port);
	rn_testdev_add_peer(dev, p.pub, p.port, "100.64.0.2/32", 0);
	rn_testdev_add_peer(dev, p.pub, p.port, "2001:db8::2/128", 0);
	rn_send_handshake_initiation(rn_testdev_add_peer(dev, q.pub, q.port, "100.64.0.3/32", 0),
				     false);
}

/* A fresh session when there is none or it nears REJECT_AFTER_TIME. */
static void refresh_session(void)
{
	if (p.kp && rn_now_ns() - p.kp->birthdate_ns < SESSION_REFRESH_S * RN_NS_PER_S)
		return;
	if (!rn_testpeer_handshake(&p, dev))
		abort();
	next_counter = 0;
}

/* The pending handshake to Q, whose index responses and cookies must name. */
static uint32_t q_index(void)
{
	struct rn_wg_peer *peer = rn_peer_lookup(dev, q.pub);

	return peer ? peer->handshake.local_index : 0;
}

static void patch_index(uint8_t *msg, size_t len)
{
	size_t at;
	uint32_t zero = 0, idx;

	if (len < 12)
		return;
	switch (msg[0] | msg[1] << 8 | msg[2] << 16 | (uint32_t)msg[3] << 24) {
	case RN_MESSAGE_HANDSHAKE_RESPONSE:
		at = 8, idx = q_index();
		break;
	case RN_MESSAGE_HANDSHAKE_COOKIE:
		at = 4, idx = q_index();
		break;
	case RN_MESSAGE_DATA:
		at = 4, idx = p.kp->remote_index;
		break;
	default:
		return;
	}
	if (!memcmp(msg + at, &zero, 4)) {
		idx = htole32(idx);
		memcpy(msg + at, &idx, 4);
	}
}

/* receive.c's promise: a handshake message is queued only with its type's exact length. */
static void check_queue(void)
{
	for (unsigned int i = 0; i < dev->hs_count; i++) {
		const struct rn_handshake_job *job =
		    &dev->hs_queue[(dev->hs_head + i) % RN_HANDSHAKE_QUEUE_LEN];
		size_t want;

		switch (job->data[0] | job->data[1] << 8 | job->data[2] << 16 |
			(uint32_t)job->data[3] << 24) {
		case RN_MESSAGE_HANDSHAKE_INITIATION:
			want = RN_MESSAGE_INITIATION_LEN;
			break;
		case RN_MESSAGE_HANDSHAKE_RESPONSE:
			want = RN_MESSAGE_RESPONSE_LEN;
			break;
		case RN_MESSAGE_HANDSHAKE_COOKIE:
			want = RN_MESSAGE_COOKIE_LEN;
			break;
		default:
			__builtin_trap(); /* not a handshake message at all */
		}
		if (job->len != want)
			__builtin_trap();
	}
}

struct sealed {
	uint8_t pkt[256];
	size_t len;
	bool delivered;
};

/* Whether pkt comes from P's allowed IPs. */
static bool from_p(const uint8_t *pkt, size_t len)
{
	static const uint8_t v4[4] = { 100, 64, 0, 2 };
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };

	v6[15] = 2;
	if (len >= 20 && pkt[0] >> 4 == 4)
		return !memcmp(pkt + 12, v4, 4);
	return len >= 40 && pkt[0] >> 4 == 6 && !memcmp(pkt + 8, v6, 16);
}

/* Everything on TUN was sealed by P in this input, from P's addresses, and only once. */
static void check_tun(struct sealed *s, unsigned int n)
{
	uint8_t got[2048];
	ssize_t len;

	while ((len = recv(tun, got, sizeof(got), MSG_DONTWAIT)) >= 0) {
		unsigned int i;

		if (!from_p(got, (size_t)len))
			__builtin_trap(); /* crypto-key routing let a forged source in */
		/* The device writes the IP length of what was sealed: a prefix of it. */
		for (i = 0; i < n; i++)
			if (!s[i].delivered && (size_t)len <= s[i].len &&
			    !memcmp(got, s[i].pkt, (size_t)len))
				break;
		if (i == n)
			__builtin_trap(); /* delivered something P did not seal, or twice */
		s[i].delivered = true;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct sealed sealed[MAX_SEALED];
	uint8_t msg[2048], last[2048];
	size_t off = 0, last_len = 0;
	unsigned int n_sealed = 0;

	if (!ready) {
		setup();
		ready = true;
	}
	refresh_session();
	for (int r = 0; r < MAX_RECORDS && off + 3 <= size; r++) {
		uint8_t flags = data[off];
		size_t len = (size_t)data[off + 1] << 8 | data[off + 2];

		off += 3;
		if (len > size - off)
			len = size - off;
		if (len > sizeof(msg) - RN_MESSAGE_DATA_MIN_LEN)
			len = sizeof(msg) - RN_MESSAGE_DATA_MIN_LEN;
		switch (flags & 3) {
		case 1:
			if (n_sealed == MAX_SEALED || len > sizeof(sealed[0].pkt))
				break;
			memcpy(sealed[n_sealed].pkt, data + off, len);
			sealed[n_sealed].len = len;
			sealed[n_sealed++].delivered = false;
			last_len = rn_testpeer_data(&p, next_counter++, data + off, len, last,
						    sizeof(last));
			rn_testpeer_send(&p, last, last_len);
			break;
		case 3:
			if (last_len)
				rn_testpeer_send(&p, last, last_len);
			break;
		default:
			memcpy(msg, data + off, len);
			patch_index(msg, len);
			rn_testpeer_send(&p, msg, len);
		}
		off += len;
		/* Receive as the UDP reader does, then look at the queue before it is handled. */
		while (rn_receive_udp_once(dev) > 0)
			;
		check_queue();
		while (rn_receive_handshake_once(dev))
			;
		check_tun(sealed, n_sealed);
	}
	rn_testpeer_flush(&p);
	rn_testpeer_flush(&q);
	return 0;
}
