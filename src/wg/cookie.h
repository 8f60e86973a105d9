/* SPDX-License-Identifier: MIT */
/*
 * mac1/mac2 and cookies (whitepaper 5.4.4 and 5.4.7): mac1 proves a sender knows our public key;
 * under load, mac2 proves it owns its source address, which it shows by echoing a cookie that
 * only we can make, bound to that address and rotated every two minutes.
 */
#ifndef RN_WG_COOKIE_H
#define RN_WG_COOKIE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wg/messages.h"

/* Ours, one per device: validates macs on what we receive and makes cookie replies. */
struct rn_cookie_checker {
	pthread_mutex_t lock;
	uint8_t secret[RN_NOISE_HASH_LEN]; /* secret, rotated every COOKIE_SECRET_MAX_AGE */
	uint64_t secret_birthdate_ns;	   /* 0: never made */
	uint8_t mac1_key[RN_NOISE_SYMMETRIC_KEY_LEN];	/* HASH("mac1----" || our public) */
	uint8_t cookie_key[RN_NOISE_SYMMETRIC_KEY_LEN]; /* HASH("cookie--" || our public) */
};

/* Per peer: adds macs to what we send to it and holds the cookie it gave us. */
struct rn_cookie {
	uint8_t mac1_key[RN_NOISE_SYMMETRIC_KEY_LEN];	/* HASH("mac1----" || peer public) */
	uint8_t cookie_key[RN_NOISE_SYMMETRIC_KEY_LEN]; /* HASH("cookie--" || peer public) */
	uint8_t cookie[RN_COOKIE_LEN];
	uint64_t birthdate_ns; /* when the cookie was received; 0: none */
	bool have_sent_mac1;
	uint8_t last_mac1_sent[RN_COOKIE_LEN];
};

enum rn_cookie_mac_state {
	RN_COOKIE_INVALID_MAC,
	RN_COOKIE_VALID_MAC_BUT_NO_COOKIE,
	RN_COOKIE_VALID_MAC_WITH_COOKIE,
};

void rn_cookie_checker_init(struct rn_cookie_checker *c);
void rn_cookie_checker_destroy(struct rn_cookie_checker *c);
/* Our public key changed (or was cleared: NULL). */
void rn_cookie_checker_set_key(struct rn_cookie_checker *c, const uint8_t *public_key);

void rn_cookie_init(struct rn_cookie *ck, const uint8_t peer_public[32]);

/*
 * msg is a whole handshake message (initiation or response) of len bytes, ending in its macs.
 * check_cookie: we are under load, so also verify mac2. src is the datagram's source address.
 */
enum rn_cookie_mac_state rn_cookie_validate(struct rn_cookie_checker *c, const void *msg,
					    size_t len, const struct sockaddr *src,
					    bool check_cookie, uint64_t now_ns);
/* Fills mac1 (and mac2 while a fresh cookie is held) of an outgoing handshake message. */
void rn_cookie_add_macs(struct rn_cookie *ck, void *msg, size_t len, uint64_t now_ns);

/* Builds the cookie reply to a handshake message whose mac1 was valid. */
void rn_cookie_reply_create(struct rn_cookie_checker *c, struct rn_message_handshake_cookie *out,
			    const void *msg, size_t len, uint32_t receiver_index,
			    const struct sockaddr *src, uint64_t now_ns);
/* Takes a cookie reply for a message we sent to this peer; false if it doesn't open. */
bool rn_cookie_reply_consume(struct rn_cookie *ck, const struct rn_message_handshake_cookie *msg,
			     uint64_t now_ns) __attribute__((warn_unused_result));

#endif
