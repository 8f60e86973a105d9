/* SPDX-License-Identifier: MIT */
/*
 * The server's half of the enrollment proof (common/enroll_proof.h, docs/control-protocol.md):
 * its static X25519 key (STATE/enroll.key, 0600, made by `init` or, for a state dir from
 * before, by the first `serve`) and the nonces it hands out. A nonce lives
 * RN_CHALLENGE_TTL_MS and is good for one enrollment; at most RN_CHALLENGE_SLOTS are waiting,
 * the oldest giving way, so a flood of challenges costs no memory, and at most
 * RN_CHALLENGE_PER_CLIENT per client (ratelimit.h's key: an address, an IPv6 /64), its own oldest
 * giving way, so one client's flood cannot push out the nonces others are using. Thread-safe.
 */
#ifndef RN_CTL_CHALLENGE_H
#define RN_CTL_CHALLENGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/enroll_proof.h"
#include "rustynet-control/ratelimit.h"

#define RN_CTL_ENROLL_KEY "enroll.key" /* in the state dir: base64 of the X25519 key, 0600 */

enum {
	RN_CHALLENGE_TTL_MS = 60000, /* a nonce's life */
	RN_CHALLENGE_SLOTS = 1024,   /* nonces waiting at once */
	/* from one client: enough for many hosts enrolling at once behind one NAT */
	RN_CHALLENGE_PER_CLIENT = 16,
};

struct rn_challenge;

/* Makes STATE/enroll.key; -EEXIST if there is one. err says what failed. */
int rn_challenge_key_create(const char *state_dir, char *err, size_t errlen);
/*
 * Loads STATE/enroll.key, making it first when there is none (a state dir from before the
 * proof); refuses a key file others can read. 0 or -errno with err set.
 */
int rn_challenge_open(const char *state_dir, struct rn_challenge **out, char *err, size_t errlen);
void rn_challenge_free(struct rn_challenge *c);
/* The server's X25519 public key, as nodes get it with each nonce. */
const uint8_t *rn_challenge_server_key(const struct rn_challenge *c);
/*
 * A fresh nonce for client (rn_ratelimit_key of its address), remembered until
 * now_ms + RN_CHALLENGE_TTL_MS or until taken. 0 or -EIO.
 */
int rn_challenge_issue(struct rn_challenge *c, const uint8_t client[RN_RATELIMIT_KEY_LEN],
		       uint64_t now_ms, uint8_t nonce[RN_ENROLL_NONCE_LEN]);
/* Whether nonce was issued and has neither expired nor been taken; it is taken either way. */
bool rn_challenge_take(struct rn_challenge *c, const uint8_t nonce[RN_ENROLL_NONCE_LEN],
		       uint64_t now_ms) __attribute__((warn_unused_result));
/* Whether proof shows that its maker holds the private half of t->node_pub (t->server_pub
 * must be this server's key). */
bool rn_challenge_verify(const struct rn_challenge *c, const struct rn_enroll_transcript *t,
			 const uint8_t proof[RN_ENROLL_PROOF_LEN])
    __attribute__((warn_unused_result));

#endif
