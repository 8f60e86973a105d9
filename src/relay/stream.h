/* SPDX-License-Identifier: MIT */
/*
 * A non-blocking TLS connection carrying relay frames (u16 BE length, then a message), shared by
 * the relay and its client: one partial input frame and a bounded output queue, nothing more.
 * Internal to src/relay.
 */
#ifndef RN_RELAY_STREAM_H
#define RN_RELAY_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "relay/relay.h"

struct rn_relay_stream {
	SSL *ssl;	 /* owned; its fd is the caller's */
	bool want_write; /* the last TLS operation waits for the socket to take bytes */
	size_t rlen;	 /* bytes of the partial frame in rbuf */
	uint8_t rbuf[RN_RELAY_FRAME_HDR_LEN + RN_RELAY_MSG_MAX];
	uint8_t *wbuf; /* owned, wcap bytes: frames not yet taken by TLS, from woff */
	size_t wcap, woff, wlen;
};

/* Called for each complete frame body; a non-zero return stops reading and is returned. */
typedef int (*rn_relay_frame_fn)(void *ctx, const uint8_t *body, size_t len);

/* 0 or -ENOMEM. Takes ownership of ssl (also on failure). */
int rn_relay_stream_init(struct rn_relay_stream *s, SSL *ssl, size_t wcap);
void rn_relay_stream_free(struct rn_relay_stream *s);
/*
 * Reads until TLS wants more from the socket, calling fn per frame, at most max_frames times
 * (0: no limit). 0 when it must wait, 1 when it stopped at max_frames (more may be buffered
 * inside TLS, where polling the socket cannot see it: call again), -EPIPE when the peer closed
 * or TLS failed, -EPROTO for a frame length of 0 or over RN_RELAY_MSG_MAX, or fn's non-zero
 * return.
 */
int rn_relay_stream_read(struct rn_relay_stream *s, rn_relay_frame_fn fn, void *ctx,
			 unsigned max_frames);
/* Queues one frame of hdr then body; false (nothing queued) if the queue has no room. */
bool rn_relay_stream_queue(struct rn_relay_stream *s, const void *hdr, size_t hlen,
			   const void *body, size_t blen) __attribute__((warn_unused_result));
/* Hands queued bytes to TLS. >0: bytes taken, 0: none (empty or must wait), -EPIPE. */
long rn_relay_stream_flush(struct rn_relay_stream *s);
static inline bool rn_relay_stream_pending(const struct rn_relay_stream *s)
{
	return s->wlen > 0;
}

#endif
