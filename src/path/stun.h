/* SPDX-License-Identifier: MIT */
/*
 * STUN Binding (RFC 8489), the part a node needs to learn the address and port its NAT maps
 * the WireGuard socket to, and the part rustynet-control needs to answer: requests, success
 * responses with (XOR-)MAPPED-ADDRESS, FINGERPRINT. No authentication, no TURN, no ICE: the
 * mapping learnt is only a candidate, and a candidate is only used once a WireGuard handshake
 * over it succeeds.
 *
 * Everything here is pure (buffers in, buffers out): the daemon sends and receives on the
 * WireGuard socket itself (src/wg demultiplexes by the first bytes: STUN's top two bits are 0
 * and bytes 4-7 hold the magic cookie; WireGuard's first byte is 1-4 followed by three zeros),
 * and the control server on its own UDP socket. Every input is hostile: the parser checks each
 * length against the buffer before reading, and fuzz/stun_fuzz.c runs it.
 */
#ifndef RN_PATH_STUN_H
#define RN_PATH_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum {
	RN_STUN_HEADER_LEN = 20,
	RN_STUN_TXID_LEN = 12,
	RN_STUN_MAGIC = 0x2112A442,
	RN_STUN_METHOD_BINDING = 0x001,
	RN_STUN_PORT = 3478,	  /* the default port, RFC 8489 section 18 */
	RN_STUN_MAX_MSG = 548,	  /* what we build or accept: fits any path MTU (RFC 8489 6.1) */
	RN_STUN_REQUEST_LEN = 28, /* our Binding request: header and FINGERPRINT */
};

enum rn_stun_class {
	RN_STUN_REQUEST = 0,
	RN_STUN_INDICATION = 1,
	RN_STUN_SUCCESS = 2,
	RN_STUN_ERROR = 3,
};

/* A parsed message: what a Binding exchange needs of it. */
struct rn_stun_msg {
	uint16_t method; /* RN_STUN_METHOD_BINDING for ours */
	enum rn_stun_class cls;
	uint8_t txid[RN_STUN_TXID_LEN];
	/*
	 * The address the server saw (sa_family AF_INET or AF_INET6, port never 0), from
	 * XOR-MAPPED-ADDRESS or, only when that is absent, MAPPED-ADDRESS (RFC 3489 servers).
	 * sa_family AF_UNSPEC: none.
	 */
	struct sockaddr_storage mapped;
	bool fingerprint; /* a FINGERPRINT was present (and matched: a wrong one fails parsing) */
	uint16_t error_code; /* class ERROR: 300-699 from ERROR-CODE, or 0 when absent */
};

/*
 * Whether buf has the shape of a STUN message: top two bits zero, a length that is a multiple
 * of 4 and matches len, the magic cookie. Cheap: for demultiplexing a shared socket.
 */
bool rn_stun_is_message(const void *buf, size_t len);

/*
 * Parses one message. 0, or -EINVAL (not STUN, a truncated or overlong attribute, a bad
 * address family or length, a FINGERPRINT that is wrong or not last, more than
 * RN_STUN_MAX_MSG bytes). Attributes it does not need are skipped, not interpreted.
 */
int rn_stun_parse(const void *buf, size_t len, struct rn_stun_msg *out)
    __attribute__((warn_unused_result));

/* A fresh random transaction id (OpenSSL's RNG). false if the RNG failed. */
bool rn_stun_txid_new(uint8_t txid[RN_STUN_TXID_LEN]) __attribute__((warn_unused_result));

/* A Binding request with FINGERPRINT into out (RN_STUN_REQUEST_LEN bytes). Returns its length,
 * or 0 if cap is too small. */
size_t rn_stun_build_request(const uint8_t txid[RN_STUN_TXID_LEN], uint8_t *out, size_t cap);

/*
 * A Binding success response carrying XOR-MAPPED-ADDRESS = mapped, with FINGERPRINT. Returns
 * its length, or 0 (cap too small, mapped not AF_INET/AF_INET6).
 */
size_t rn_stun_build_success(const uint8_t txid[RN_STUN_TXID_LEN], const struct sockaddr *mapped,
			     uint8_t *out, size_t cap);

/*
 * The responder: req arrived from `from`; if it is a well-formed Binding request, the success
 * response is written to out and its length returned; anything else returns 0 (drop it: a
 * responder never answers responses, indications or junk, so it cannot be made to talk to
 * another responder in a loop).
 */
size_t rn_stun_respond(const void *req, size_t len, const struct sockaddr *from, uint8_t *out,
		       size_t cap);

/* "ip:port" or "[ip]:port" of a mapped address into out (at least 64 bytes). */
void rn_stun_addr_str(const struct sockaddr_storage *a, char *out, size_t cap);

#endif
