/* SPDX-License-Identifier: MIT */
/*
 * The relay protocol: how rustynet-relay forwards WireGuard ciphertext between two nodes that
 * cannot reach each other directly, over UDP, and over TLS on TCP (port 443 in production) for
 * networks that block UDP. This header holds the wire formats, their codec (wire.c) and the
 * credential (credential.c); server.h is the relay itself (embeddable: fd-driven, no globals),
 * client.h the node's side.
 *
 * Trust model. The relay holds one secret (32 random bytes, a file only its owner can read).
 * The control server, which knows the same secret, gives each node a credential in its signed
 * map: {node public key (32), expiry (u64 BE, unix seconds), token (32)} with
 *     token = HMAC-SHA256(secret, "rustynet-relay/1" || node key || expiry BE).
 * The relay checks it with CRYPTO_memcmp and refuses expired ones. It is a bearer token for
 * that key: only the node's own map may carry it. It sees WireGuard public
 * keys, addresses and ciphertext only; it never decrypts (it has no WireGuard key). The source
 * key of a forwarded packet is the key its sender registered with, never a key the sender names.
 *
 * Messages (all integers big-endian; every message starts with a 4-byte header: type, then
 * three zero bytes; a receiver checks type and exact or minimum length before any work):
 *   REGISTER   (1) hdr | credential (72) | cookie (16)                      node -> relay, 92 B
 *   COOKIE     (2) hdr | cookie (16)                                        relay -> node, 20 B
 *   REGISTERED (3) hdr | refresh interval (u32, seconds) | lifetime (u32, seconds)   12 B
 *   SEND       (4) hdr | destination node key (32) | payload (1..RN_RELAY_PAYLOAD_MAX)
 *   RECV       (5) hdr | source node key (32) | payload                     relay -> node
 *
 * UDP. A node sends REGISTER with a zero cookie; the relay answers COOKIE, a stateless
 * HMAC(cookie key, source address/port, 60 s time bucket) truncated to 16 bytes (accepted for the
 * current and the previous bucket); the node repeats REGISTER with it. Only then, with the
 * return path proven, does the relay record node key -> address, for RN_RELAY_UDP_LIFETIME_S,
 * refreshed by registering again every RN_RELAY_REFRESH_S (which also keeps NAT mappings open).
 * A credential is checked before the cookie, so COOKIE (20 B) only ever answers a well-formed
 * REGISTER (92 B) from an unverified source: no reply is larger than its request, and the relay
 * sends nothing else to an address that has not proven it receives there. SEND from a
 * registered address goes to the destination's registered address or TLS connection as RECV
 * (same size); anything else is dropped and counted by reason.
 *
 * TLS (1.3 only). The node pins the relay certificate's SPKI SHA-256 (the map carries it;
 * `rustynet-relay spki --cert FILE` prints it) instead of trusting a CA. After the handshake
 * every message is a frame: u16 BE length, then the message as above. The first frame must be
 * REGISTER (cookie ignored: TCP already proved the address); the relay answers REGISTERED, and
 * the node sends REGISTER again at the interval it names (keepalive; idle connections close),
 * each answered the same way.
 * A node registered both ways is reached by the one it registered on last.
 *
 * Limits: every UDP datagram from an unregistered address spends a per-address (/64 for
 * IPv6) packet token and one of a bucket all such addresses share (spoofed sources cannot make
 * the relay compute HMACs without bound); each node's SENDs spend its own packet and byte buckets; the node table,
 * the TLS connections and the handshakes in progress (in all, and per address) have caps; a TLS connection's output
 * queue is bounded (a packet that does not fit is dropped) and a connection whose queue makes no
 * progress for RN_RELAY_STALL_S is closed, as is one that does not register within
 * RN_RELAY_HANDSHAKE_S or stays silent for RN_RELAY_IDLE_S (defaults; server.h sets them). A TLS connection handles at most
 * a budget of frames per turn, so one fast sender cannot starve the others.
 */
#ifndef RN_RELAY_RELAY_H
#define RN_RELAY_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum {
	RN_RELAY_KEY_LEN = 32,	    /* bytes of a node (WireGuard) public key */
	RN_RELAY_SECRET_LEN = 32,   /* bytes of the relay secret */
	RN_RELAY_TOKEN_LEN = 32,    /* bytes of a credential's HMAC-SHA256 */
	RN_RELAY_COOKIE_LEN = 16,   /* bytes of a UDP cookie */
	RN_RELAY_SPKI_LEN = 32,	    /* bytes of the certificate pin (SHA-256 of the DER SPKI) */
	RN_RELAY_HDR_LEN = 4,	    /* type, 3 zero bytes */
	RN_RELAY_CRED_LEN = 72,	    /* key, expiry, token */
	RN_RELAY_REGISTER_LEN = 92, /* hdr, credential, cookie */
	RN_RELAY_COOKIE_MSG_LEN = 20,
	RN_RELAY_REGISTERED_LEN = 12,
	RN_RELAY_DATA_HDR_LEN = 36,    /* SEND/RECV before the payload: hdr, key */
	RN_RELAY_PAYLOAD_MAX = 4096,   /* bytes of ciphertext in one SEND/RECV */
	RN_RELAY_MSG_MAX = 36 + 4096,  /* largest message */
	RN_RELAY_FRAME_HDR_LEN = 2,    /* TLS frame length prefix, u16 BE */
	RN_RELAY_REFRESH_S = 20,       /* seconds between a node's registrations */
	RN_RELAY_UDP_LIFETIME_S = 75,  /* seconds a UDP registration lasts without refresh */
	RN_RELAY_COOKIE_BUCKET_S = 60, /* seconds of one cookie time bucket */
	RN_RELAY_HANDSHAKE_S = 10,     /* seconds from TCP accept to REGISTERED */
	RN_RELAY_IDLE_S = 75,	       /* seconds a TLS connection may stay silent */
	RN_RELAY_STALL_S = 5,	       /* seconds an output queue may make no progress */
};

enum rn_relay_type {
	RN_RELAY_REGISTER = 1,
	RN_RELAY_COOKIE = 2,
	RN_RELAY_REGISTERED = 3,
	RN_RELAY_SEND = 4,
	RN_RELAY_RECV = 5,
};

/* What a node presents. Not secret on its own (it only lets that key use the relay). */
struct rn_relay_cred {
	uint8_t key[RN_RELAY_KEY_LEN];
	uint64_t expiry; /* unix seconds; host order here, BE on the wire */
	uint8_t token[RN_RELAY_TOKEN_LEN];
};

/* One decoded message. For SEND/RECV, payload points into the decoded buffer (not owned). */
struct rn_relay_msg {
	enum rn_relay_type type;
	struct rn_relay_cred cred;	     /* REGISTER */
	uint8_t cookie[RN_RELAY_COOKIE_LEN]; /* REGISTER (zero: none), COOKIE */
	uint32_t refresh_s, lifetime_s;	     /* REGISTERED */
	uint8_t key[RN_RELAY_KEY_LEN];	     /* SEND: destination; RECV: source */
	const uint8_t *payload;		     /* SEND/RECV */
	size_t payload_len;		     /* SEND/RECV, 1..RN_RELAY_PAYLOAD_MAX */
};

/*
 * Decodes one message (a UDP datagram or a frame's body): checks the type, the zero header
 * bytes and the exact length (SEND/RECV: header plus 1..RN_RELAY_PAYLOAD_MAX bytes).
 */
bool rn_relay_msg_decode(const uint8_t *buf, size_t len, struct rn_relay_msg *msg)
    __attribute__((warn_unused_result));
/*
 * Encodes msg into out[0..outlen); returns the length, or 0 if it does not fit or msg is not
 * valid (unknown type, payload empty or too long).
 */
size_t rn_relay_msg_encode(const struct rn_relay_msg *msg, uint8_t *out, size_t outlen);
/*
 * The TLS framing: given the first len bytes of a stream, the length of the whole first frame
 * (2 + its body) once that much is there, 0 while more is needed, -1 if its length is 0 or over
 * RN_RELAY_MSG_MAX (the connection must end).
 */
long rn_relay_frame_len(const uint8_t *buf, size_t len) __attribute__((warn_unused_result));
/* Writes just the SEND/RECV header (36 bytes) for a payload that follows it in out. */
void rn_relay_data_hdr(uint8_t out[RN_RELAY_DATA_HDR_LEN], enum rn_relay_type type,
		       const uint8_t key[RN_RELAY_KEY_LEN]);

/*
 * The credential token for key until expiry (control server side). Returns 0 or -EIO if
 * libcrypto fails.
 */
int rn_relay_credential_issue(const uint8_t secret[RN_RELAY_SECRET_LEN],
			      const uint8_t key[RN_RELAY_KEY_LEN], uint64_t expiry,
			      struct rn_relay_cred *cred) __attribute__((warn_unused_result));
/* Whether cred is the relay's own and not expired at now (unix seconds). Constant-time. */
bool rn_relay_credential_verify(const uint8_t secret[RN_RELAY_SECRET_LEN],
				const struct rn_relay_cred *cred, uint64_t now)
    __attribute__((warn_unused_result));

/* "ADDR:PORT" or "[ADDR]:PORT", numeric only, into ss (AF_INET or AF_INET6) and len. */
bool rn_relay_addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len)
    __attribute__((warn_unused_result));

enum { RN_RELAY_CRED_TEXT_LEN = 44 + 1 + 20 + 1 + 44 + 1 }; /* with the NUL */
/* A credential as text for people and scripts: "KEY:EXPIRY:TOKEN", key and token in base64. */
void rn_relay_cred_format(const struct rn_relay_cred *cred, char out[RN_RELAY_CRED_TEXT_LEN]);
bool rn_relay_cred_parse(const char *text, struct rn_relay_cred *cred)
    __attribute__((warn_unused_result));
/* A 32-byte key in base64 (44 characters, as `wg` prints it). */
bool rn_relay_key_parse(const char *b64, uint8_t key[RN_RELAY_KEY_LEN])
    __attribute__((warn_unused_result));

/*
 * Reads the relay secret from path: 32 bytes as 64 hex digits or 44 base64 characters, one
 * line. Refused (with a message in err saying what to do) if group or others may read it, or if
 * it is not such a line. Returns 0 or -errno.
 */
int rn_relay_secret_load(const char *path, uint8_t secret[RN_RELAY_SECRET_LEN], char *err,
			 size_t errlen) __attribute__((warn_unused_result));
/* Makes a new secret at path (mode 0600, refuses to overwrite) as hex. Returns 0 or -errno. */
int rn_relay_secret_generate(const char *path, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* The SHA-256 of the DER SubjectPublicKeyInfo of the PEM certificate at path. 0 or -errno. */
int rn_relay_spki_file(const char *path, uint8_t spki[RN_RELAY_SPKI_LEN], char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
