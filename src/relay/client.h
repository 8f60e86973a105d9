/* SPDX-License-Identifier: MIT */
/*
 * A node's side of the relay (relay.h): one connection to one relay, over UDP (register, cookie,
 * refresh every RN_RELAY_REFRESH_S) or TLS (pinned certificate, REGISTER frame, refresh), to send
 * ciphertext to another node's key and to receive what others sent to ours. Poll
 * rn_relay_client_fd() (for writing too when rn_relay_client_want_write()), then call
 * rn_relay_client_input(); call rn_relay_client_tick() at least every second. Not thread-safe;
 * no globals. The TLS connect and handshake block, up to the configured timeout. The process
 * must ignore SIGPIPE (TLS writes use write(2)).
 */
#ifndef RN_RELAY_CLIENT_H
#define RN_RELAY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay/relay.h"

/* A packet from src (the key the sending node registered with). */
typedef void (*rn_relay_recv_fn)(void *ctx, const uint8_t src[RN_RELAY_KEY_LEN],
				 const uint8_t *payload, size_t len);

struct rn_relay_client_config {
	const char *server;  /* "ADDR:PORT" / "[ADDR]:PORT" */
	bool tls;	     /* false: UDP */
	const uint8_t *spki; /* TLS: RN_RELAY_SPKI_LEN bytes, the relay certificate's pin */
	const struct rn_relay_cred *cred; /* copied */
	rn_relay_recv_fn recv;
	void *ctx;
	int timeout_ms;	 /* TLS connect and handshake; 0: 5000 */
	uint32_t fwmark; /* SO_MARK of the socket (needs CAP_NET_ADMIN); 0: none */
	/* While registered, REGISTER again at least this often (an ordinary refresh to the
	 * relay) to measure the round trip and notice a relay gone silent; 0: only at the
	 * relay's refresh interval */
	uint32_t probe_ms;
};

struct rn_relay_client;

/* Connects (TLS: and checks the pin) and sends the first REGISTER. NULL with err set. */
struct rn_relay_client *rn_relay_client_new(const struct rn_relay_client_config *cfg, char *err,
					    size_t errlen);
void rn_relay_client_free(struct rn_relay_client *c);
int rn_relay_client_fd(const struct rn_relay_client *c);
bool rn_relay_client_want_write(const struct rn_relay_client *c);
/* Whether the relay confirmed the registration (and it has not lapsed). */
bool rn_relay_client_registered(const struct rn_relay_client *c);
/*
 * The round trip of a registration: REGISTER sent to the relay's REGISTERED (UDP and TLS), in
 * microseconds: the last one, and smoothed (RFC 6298's SRTT, gain 1/8). 0 until measured.
 */
uint32_t rn_relay_client_rtt_us(const struct rn_relay_client *c);
uint32_t rn_relay_client_last_rtt_us(const struct rn_relay_client *c);
/* How long the oldest REGISTER still unanswered has waited, in ms; 0: none is. */
uint64_t rn_relay_client_unanswered_ms(const struct rn_relay_client *c);
/* A renewed credential, used from the next registration on. */
void rn_relay_client_set_cred(struct rn_relay_client *c, const struct rn_relay_cred *cred);
/* Handles everything the relay sent. 0, or -EPIPE when a TLS connection ended (reconnect). */
int rn_relay_client_input(struct rn_relay_client *c);
/* Registers again when due and flushes TLS output. 0 or -EPIPE. */
int rn_relay_client_tick(struct rn_relay_client *c);
/*
 * Sends payload to the node dst through the relay. 0, -EMSGSIZE (empty or over
 * RN_RELAY_PAYLOAD_MAX), -ENOBUFS (TLS queue full: dropped), -EPIPE, or -errno of send.
 */
int rn_relay_client_send(struct rn_relay_client *c, const uint8_t dst[RN_RELAY_KEY_LEN],
			 const void *payload, size_t len);

#endif
