/* SPDX-License-Identifier: MIT */
/*
 * The bodies of the control protocol (docs/control-protocol.md): strict parsers of what nodes
 * send, into plain structs, and builders of what the server answers. Pure: no store, no HTTP,
 * so that they can be fuzzed and tested alone. Every refusal says, for a person, what is wrong;
 * none quotes a secret.
 */
#ifndef RN_CONTROL_API_H
#define RN_CONTROL_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/enroll_proof.h"
#include "control/store.h"
#include "netmap/netmap.h"

enum {
	RN_API_BODY_MAX = 64 << 10, /* bytes in a request body */
	RN_API_ENDPOINTS_MAX = 16,
	RN_API_ROUTES_MAX = 256,
	RN_API_HOSTNAME_MAX = 255, /* bytes */
	RN_API_ERR_LEN = 256,	   /* room for an error message */
};

/* What a node offers, in enroll and poll. A member left out of a poll changes nothing. */
struct rn_api_offer {
	char *endpoints;     /* owned: compact JSON array of "ip:port"; NULL if absent */
	char *routes;	     /* owned: compact JSON array of CIDRs; NULL if absent */
	bool has_exit;	     /* advertise_exit was given */
	bool advertise_exit; /* ... and its value */
};

struct rn_api_enroll {
	char auth_key[RN_STORE_AUTHKEY_SECRET_SIZE]; /* a secret: wiped by rn_api_enroll_clear */
	uint8_t public_key[RN_STORE_KEY_LEN];
	char hostname[RN_API_HOSTNAME_MAX + 1];
	uint8_t nonce[RN_ENROLL_NONCE_LEN]; /* from POST /v1/enroll/challenge */
	uint8_t proof[RN_ENROLL_PROOF_LEN]; /* common/enroll_proof.h: checked by the caller */
	struct rn_api_offer offer;
};

struct rn_api_poll {
	uint64_t since; /* version the node runs; 0 = none */
	bool calls;	/* the node takes {"calls":[...]} answers (POST /v1/call) */
	struct rn_api_offer offer;
};

/*
 * Parse body[0..len) (need not be NUL-terminated). ula is the network's /48
 * (RN_STORE_ULA_PREFIX_LEN bytes; NULL: none), refused in endpoints with the other addresses
 * rn_api_endpoint_ok refuses. *out is overwritten; on failure it holds nothing to free and err
 * says why. Return 0, -EMSGSIZE (over RN_API_BODY_MAX) or -EINVAL.
 */
int rn_api_parse_enroll(const char *body, size_t len, const uint8_t *ula, struct rn_api_enroll *out,
			char *err, size_t errlen) __attribute__((warn_unused_result));
int rn_api_parse_poll(const char *body, size_t len, const uint8_t *ula, struct rn_api_poll *out,
		      char *err, size_t errlen) __attribute__((warn_unused_result));
/* POST /v1/call: exactly {"peer": node id >= 1}. 0, -EMSGSIZE or -EINVAL (err says why). */
int rn_api_parse_call(const char *body, size_t len, uint64_t *peer, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* A poll's answer of calls waiting: {"calls":[{"from":id},...]}; NULL when out of memory. */
char *rn_api_calls_body(const uint64_t *from, size_t n);
/* Logout and the enrollment challenge take exactly {}. */
int rn_api_parse_empty(const char *body, size_t len, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/*
 * Whether a node may report s ("ip:port", "[ip]:port") as where peers reach it: not loopback,
 * link-local, multicast, broadcast, unspecified, IPv4-mapped, nor a mesh address
 * (100.64.0.0/10, the ULA /48 ula when not NULL). Private LAN addresses are. why says why not.
 */
bool rn_api_endpoint_ok(const char *s, const uint8_t *ula, char *why, size_t whylen)
    __attribute__((warn_unused_result));
void rn_api_enroll_clear(struct rn_api_enroll *e);
void rn_api_poll_clear(struct rn_api_poll *p);

/* The token of "Bearer rnt_..." (header may be NULL). false when it is not that shape. */
bool rn_api_bearer(const char *header, char token[RN_STORE_NODE_TOKEN_SIZE])
    __attribute__((warn_unused_result));

/* {"error":msg}; malloc'd, NULL when out of memory. */
char *rn_api_error_body(const char *msg);
/* {"nonce":<base64url>,"server_key":<base64>,"expires_in":s}; NULL when out of memory. */
char *rn_api_challenge_body(const uint8_t nonce[RN_ENROLL_NONCE_LEN],
			    const uint8_t server_key[RN_ENROLL_KEY_LEN], unsigned expires_in_s);
/* {"node_id":..,"node_token":..,"netmap":<envelope, as an object>}; NULL when out of memory
 * or the envelope is not JSON. The text holds the token: wipe it after sending. */
char *rn_api_enroll_body(int64_t node_id, const char *token, const char *envelope, size_t len);

#endif
