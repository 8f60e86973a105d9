/* SPDX-License-Identifier: MIT */
/*
 * WireGuard wire format and protocol constants (whitepaper sections 5.4 and 6), each with its
 * unit. Every message is little-endian on the wire; the structs are packed and only ever read
 * after the caller checked the exact length.
 */
#ifndef RN_WG_MESSAGES_H
#define RN_WG_MESSAGES_H

#include <stdint.h>

enum rn_noise_lengths {
	RN_NOISE_PUBLIC_KEY_LEN = 32,
	RN_NOISE_SYMMETRIC_KEY_LEN = 32,
	RN_NOISE_TIMESTAMP_LEN = 12, /* TAI64N */
	RN_NOISE_AUTHTAG_LEN = 16,
	RN_NOISE_HASH_LEN = 32,
	RN_COOKIE_LEN = 16,
	RN_COOKIE_NONCE_LEN = 24, /* XChaCha20-Poly1305 */
};

#define RN_NOISE_ENCRYPTED_LEN(plain_len) ((plain_len) + RN_NOISE_AUTHTAG_LEN)

enum rn_wg_limits {
	RN_REKEY_AFTER_TIME_S = 120,
	RN_REJECT_AFTER_TIME_S = 180,
	RN_REKEY_ATTEMPT_TIME_S = 90,
	RN_REKEY_TIMEOUT_S = 5,
	RN_REKEY_TIMEOUT_JITTER_MAX_MS = 334,
	RN_KEEPALIVE_TIMEOUT_S = 10,
	RN_COOKIE_SECRET_MAX_AGE_S = 120,
	/* A cookie we hold is usable for this long (COOKIE_SECRET_MAX_AGE - LATENCY_MARGIN). */
	RN_COOKIE_SECRET_LATENCY_S = 5,
	RN_MAX_TIMER_HANDSHAKES = RN_REKEY_ATTEMPT_TIME_S / RN_REKEY_TIMEOUT_S,
	/* Keys are zeroed when no new handshake happened for REJECT_AFTER_TIME * 3 = 540 s. */
	RN_ZERO_KEYS_AFTER_S = RN_REJECT_AFTER_TIME_S * 3,
	RN_INITIATIONS_PER_SECOND = 50, /* per peer, replay/flood guard on initiations */
	RN_MAX_PEERS = 1 << 20,
	RN_MAX_ALLOWEDIPS_PER_PEER = 1 << 16,
};

#define RN_REKEY_AFTER_MESSAGES	 (1ULL << 60)
#define RN_REJECT_AFTER_MESSAGES (UINT64_MAX - (1ULL << 13) - 1)

enum rn_message_type {
	RN_MESSAGE_INVALID = 0,
	RN_MESSAGE_HANDSHAKE_INITIATION = 1,
	RN_MESSAGE_HANDSHAKE_RESPONSE = 2,
	RN_MESSAGE_HANDSHAKE_COOKIE = 3,
	RN_MESSAGE_DATA = 4,
};

/* The first byte is the type; the next three are reserved zero. Read as one le32. */
struct rn_message_header {
	uint32_t type; /* le32 */
} __attribute__((packed));

struct rn_message_macs {
	uint8_t mac1[RN_COOKIE_LEN];
	uint8_t mac2[RN_COOKIE_LEN];
} __attribute__((packed));

struct rn_message_handshake_initiation {
	struct rn_message_header header;
	uint32_t sender_index; /* le32 */
	uint8_t unencrypted_ephemeral[RN_NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_static[RN_NOISE_ENCRYPTED_LEN(RN_NOISE_PUBLIC_KEY_LEN)];
	uint8_t encrypted_timestamp[RN_NOISE_ENCRYPTED_LEN(RN_NOISE_TIMESTAMP_LEN)];
	struct rn_message_macs macs;
} __attribute__((packed));

struct rn_message_handshake_response {
	struct rn_message_header header;
	uint32_t sender_index;	 /* le32 */
	uint32_t receiver_index; /* le32 */
	uint8_t unencrypted_ephemeral[RN_NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_nothing[RN_NOISE_ENCRYPTED_LEN(0)];
	struct rn_message_macs macs;
} __attribute__((packed));

struct rn_message_handshake_cookie {
	struct rn_message_header header;
	uint32_t receiver_index; /* le32 */
	uint8_t nonce[RN_COOKIE_NONCE_LEN];
	uint8_t encrypted_cookie[RN_NOISE_ENCRYPTED_LEN(RN_COOKIE_LEN)];
} __attribute__((packed));

struct rn_message_data {
	struct rn_message_header header;
	uint32_t key_idx; /* le32: the receiver's index */
	uint64_t counter; /* le64: the nonce */
	uint8_t encrypted_data[];
} __attribute__((packed));

enum rn_message_sizes {
	RN_MESSAGE_INITIATION_LEN = sizeof(struct rn_message_handshake_initiation),  /* 148 */
	RN_MESSAGE_RESPONSE_LEN = sizeof(struct rn_message_handshake_response),	     /* 92 */
	RN_MESSAGE_COOKIE_LEN = sizeof(struct rn_message_handshake_cookie),	     /* 64 */
	RN_MESSAGE_DATA_HEADER_LEN = sizeof(struct rn_message_data),		     /* 16 */
	RN_MESSAGE_DATA_MIN_LEN = RN_MESSAGE_DATA_HEADER_LEN + RN_NOISE_AUTHTAG_LEN, /* keepalive */
	RN_MESSAGE_PADDING_MULTIPLE = 16,
	RN_MESSAGE_MAX_LEN = 65535,
};

_Static_assert(sizeof(struct rn_message_handshake_initiation) == 148, "initiation size");
_Static_assert(sizeof(struct rn_message_handshake_response) == 92, "response size");
_Static_assert(sizeof(struct rn_message_handshake_cookie) == 64, "cookie size");
_Static_assert(sizeof(struct rn_message_data) == 16, "data header size");

#endif
