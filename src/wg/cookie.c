/* SPDX-License-Identifier: MIT */
/* mac1/mac2 and cookie replies. */
#include "wg/cookie.h"

#include <endian.h>
#include <netinet/in.h>
#include <string.h>

#include "wg/crypto.h"

static const char label_mac1[] = "mac1----";
static const char label_cookie[] = "cookie--";

#define NS_PER_S 1000000000ULL

static void derive_keys(uint8_t mac1_key[32], uint8_t cookie_key[32], const uint8_t pub[32])
{
	rn_blake2s(mac1_key, label_mac1, strlen(label_mac1), pub, 32);
	rn_blake2s(cookie_key, label_cookie, strlen(label_cookie), pub, 32);
}

void rn_cookie_checker_init(struct rn_cookie_checker *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
}

void rn_cookie_checker_destroy(struct rn_cookie_checker *c)
{
	pthread_mutex_destroy(&c->lock);
	rn_wipe(c, sizeof(*c));
}

void rn_cookie_checker_set_key(struct rn_cookie_checker *c, const uint8_t *public_key)
{
	pthread_mutex_lock(&c->lock);
	if (public_key) {
		derive_keys(c->mac1_key, c->cookie_key, public_key);
	} else {
		memset(c->mac1_key, 0, sizeof(c->mac1_key));
		memset(c->cookie_key, 0, sizeof(c->cookie_key));
	}
	pthread_mutex_unlock(&c->lock);
}

void rn_cookie_init(struct rn_cookie *ck, const uint8_t peer_public[32])
{
	memset(ck, 0, sizeof(*ck));
	derive_keys(ck->mac1_key, ck->cookie_key, peer_public);
}

/* The macs sit at the end of every handshake message. */
static struct rn_message_macs *macs_of(const void *msg, size_t len)
{
	return (struct rn_message_macs *)((uint8_t *)msg + len - sizeof(struct rn_message_macs));
}

static void compute_mac1(uint8_t mac1[RN_COOKIE_LEN], const void *msg, size_t len,
			 const uint8_t key[32])
{
	rn_blake2s_mac(mac1, RN_COOKIE_LEN, key, 32, msg, len - sizeof(struct rn_message_macs));
}

static void compute_mac2(uint8_t mac2[RN_COOKIE_LEN], const void *msg, size_t len,
			 const uint8_t cookie[RN_COOKIE_LEN])
{
	rn_blake2s_mac(mac2, RN_COOKIE_LEN, cookie, RN_COOKIE_LEN, msg, len - RN_COOKIE_LEN);
}

/* cookie = MAC(secret, source address || source port); caller holds c->lock. */
static void make_cookie(struct rn_cookie_checker *c, uint8_t cookie[RN_COOKIE_LEN],
			const struct sockaddr *src, uint64_t now_ns)
{
	uint8_t in[18];
	size_t n = 0;

	if (!c->secret_birthdate_ns ||
	    now_ns - c->secret_birthdate_ns > RN_COOKIE_SECRET_MAX_AGE_S * NS_PER_S) {
		rn_random(c->secret, sizeof(c->secret));
		c->secret_birthdate_ns = now_ns ? now_ns : 1;
	}
	if (src->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)src;

		memcpy(in, &sin->sin_addr, 4);
		memcpy(in + 4, &sin->sin_port, 2);
		n = 6;
	} else if (src->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)src;

		memcpy(in, &sin6->sin6_addr, 16);
		memcpy(in + 16, &sin6->sin6_port, 2);
		n = 18;
	}
	rn_blake2s_mac(cookie, RN_COOKIE_LEN, c->secret, sizeof(c->secret), in, n);
}

enum rn_cookie_mac_state rn_cookie_validate(struct rn_cookie_checker *c, const void *msg,
					    size_t len, const struct sockaddr *src,
					    bool check_cookie, uint64_t now_ns)
{
	const struct rn_message_macs *macs = macs_of(msg, len);
	uint8_t computed[RN_COOKIE_LEN], cookie[RN_COOKIE_LEN];
	enum rn_cookie_mac_state ret = RN_COOKIE_INVALID_MAC;

	pthread_mutex_lock(&c->lock);
	compute_mac1(computed, msg, len, c->mac1_key);
	if (!rn_ct_equal(computed, macs->mac1, RN_COOKIE_LEN))
		goto out;
	ret = RN_COOKIE_VALID_MAC_BUT_NO_COOKIE;
	if (!check_cookie)
		goto out;
	make_cookie(c, cookie, src, now_ns);
	compute_mac2(computed, msg, len, cookie);
	if (rn_ct_equal(computed, macs->mac2, RN_COOKIE_LEN))
		ret = RN_COOKIE_VALID_MAC_WITH_COOKIE;
	rn_wipe(cookie, sizeof(cookie));
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

void rn_cookie_add_macs(struct rn_cookie *ck, void *msg, size_t len, uint64_t now_ns)
{
	struct rn_message_macs *macs = macs_of(msg, len);

	compute_mac1(macs->mac1, msg, len, ck->mac1_key);
	memcpy(ck->last_mac1_sent, macs->mac1, RN_COOKIE_LEN);
	ck->have_sent_mac1 = true;
	if (ck->birthdate_ns &&
	    now_ns - ck->birthdate_ns <
		(RN_COOKIE_SECRET_MAX_AGE_S - RN_COOKIE_SECRET_LATENCY_S) * NS_PER_S)
		compute_mac2(macs->mac2, msg, len, ck->cookie);
	else
		memset(macs->mac2, 0, RN_COOKIE_LEN);
}

void rn_cookie_reply_create(struct rn_cookie_checker *c, struct rn_message_handshake_cookie *out,
			    const void *msg, size_t len, uint32_t receiver_index,
			    const struct sockaddr *src, uint64_t now_ns)
{
	const struct rn_message_macs *macs = macs_of(msg, len);
	uint8_t cookie[RN_COOKIE_LEN];

	memset(out, 0, sizeof(*out));
	out->header.type = htole32(RN_MESSAGE_HANDSHAKE_COOKIE);
	out->receiver_index = htole32(receiver_index);
	rn_random(out->nonce, sizeof(out->nonce));
	pthread_mutex_lock(&c->lock);
	make_cookie(c, cookie, src, now_ns);
	/* The mac1 we got is the additional data: the reply binds to that exact message. */
	if (!rn_xaead_seal(out->encrypted_cookie, cookie, RN_COOKIE_LEN, macs->mac1, RN_COOKIE_LEN,
			   out->nonce, c->cookie_key))
		memset(out->encrypted_cookie, 0, sizeof(out->encrypted_cookie));
	pthread_mutex_unlock(&c->lock);
	rn_wipe(cookie, sizeof(cookie));
}

bool rn_cookie_reply_consume(struct rn_cookie *ck, const struct rn_message_handshake_cookie *msg,
			     uint64_t now_ns)
{
	uint8_t cookie[RN_COOKIE_LEN];

	if (!ck->have_sent_mac1)
		return false;
	if (!rn_xaead_open(cookie, msg->encrypted_cookie, sizeof(msg->encrypted_cookie),
			   ck->last_mac1_sent, RN_COOKIE_LEN, msg->nonce, ck->cookie_key))
		return false;
	memcpy(ck->cookie, cookie, RN_COOKIE_LEN);
	ck->birthdate_ns = now_ns ? now_ns : 1;
	ck->have_sent_mac1 = false;
	rn_wipe(cookie, sizeof(cookie));
	return true;
}
