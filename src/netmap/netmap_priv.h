/* SPDX-License-Identifier: MIT */
/* Helpers shared by the netmap codec's files: text forms of keys, addresses and endpoints. */
#ifndef RN_NETMAP_PRIV_H
#define RN_NETMAP_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "netmap/netmap.h"

#define RN_NETMAP_B64_KEY_LEN	  44 /* base64 of 32 bytes, with its one '=' */
#define RN_NETMAP_B64_SIG_LEN	  88 /* base64 of 64 bytes, with its two '=' */
#define RN_NETMAP_ENDPOINT_STRLEN 56 /* "[" INET6_ADDRSTRLEN "]:65535" and a NUL, rounded up */
#define RN_NETMAP_QUOTE_LEN	  80 /* a quoted value in an error message */

/*
 * The OpenSSL key of an Ed25519 private seed, for signing many maps without deriving the
 * public key each time (free with EVP_PKEY_free). NULL when priv is bad or out of memory.
 */
EVP_PKEY *rn_netmap_sign_key_new(const uint8_t priv[RN_NETMAP_KEY_LEN]);
/* rn_netmap_sign() with such a key; -ENOMEM when key is NULL. */
int rn_netmap_sign_pkey(EVP_PKEY *key, const void *msg, size_t len, uint8_t sig[RN_NETMAP_SIG_LEN])
    __attribute__((warn_unused_result));

/* Names on the wire of the filter's enums, indexed by the enum; NULL where there is none. */
extern const char *const rn_netmap_context_names[4];
extern const char *const rn_netmap_proto_names[4];

/* Standard base64 with padding; out has room for 4 * ((n + 2) / 3) + 1. */
void rn_netmap_b64_encode(const uint8_t *in, size_t n, char *out);

/*
 * Decodes exactly n bytes from in[0..len), which must be their canonical padded base64 (one
 * spelling per value, so a signature or key has exactly one text form).
 */
bool rn_netmap_b64_decode(const char *in, size_t len, uint8_t *out, size_t n)
    __attribute__((warn_unused_result));

/* Lowercase hex; out has room for 2 * n + 1. */
void rn_netmap_hex_encode(const uint8_t *in, size_t n, char *out);
bool rn_netmap_hex_decode(const char *in, size_t len, uint8_t *out, size_t n)
    __attribute__((warn_unused_result));

/* A bare IPv4 or IPv6 address, no zone, no brackets. */
bool rn_netmap_ip_parse(const char *s, struct rn_netmap_ip *out)
    __attribute__((warn_unused_result));
void rn_netmap_ip_format(const struct rn_netmap_ip *ip, char *buf, size_t len);

/* "ip:port" or "[ip]:port". Returns 0, -EINVAL (malformed) or -ERANGE (port 0 or > 65535). */
int rn_netmap_endpoint_parse(const char *s, union rn_netmap_endpoint *out)
    __attribute__((warn_unused_result));
void rn_netmap_endpoint_format(const union rn_netmap_endpoint *ep, char *buf, size_t len);

/* s in double quotes for an error message, cut short and with unprintable bytes escaped. */
const char *rn_netmap_quote(const char *s, size_t len, char buf[RN_NETMAP_QUOTE_LEN]);

/* Formats into err (when err is not NULL) and returns -EINVAL, for "return fail(...)". */
int rn_netmap_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
