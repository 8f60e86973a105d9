/* SPDX-License-Identifier: MIT */
/* Relay frames over a non-blocking TLS connection (stream.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "relay/stream.h"

int rn_relay_stream_init(struct rn_relay_stream *s, SSL *ssl, size_t wcap)
{
	memset(s, 0, sizeof(*s));
	s->ssl = ssl;
	s->wbuf = malloc(wcap);
	if (!s->wbuf)
		return -ENOMEM;
	s->wcap = wcap;
	return 0;
}

void rn_relay_stream_free(struct rn_relay_stream *s)
{
	SSL_free(s->ssl);
	free(s->wbuf);
	s->ssl = NULL;
	s->wbuf = NULL;
}

/* 1: go on; 0: must wait; -EPIPE: closed or failed. */
static int tls_result(struct rn_relay_stream *s, int n)
{
	switch (SSL_get_error(s->ssl, n)) {
	case SSL_ERROR_WANT_READ:
		s->want_write = false;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		s->want_write = true;
		return 0;
	default:
		ERR_clear_error();
		return -EPIPE;
	}
}

int rn_relay_stream_read(struct rn_relay_stream *s, rn_relay_frame_fn fn, void *ctx,
			 unsigned max_frames)
{
	for (unsigned frames = 0;;) {
		long flen = rn_relay_frame_len(s->rbuf, s->rlen);
		size_t want;
		int n, ret;

		if (flen < 0)
			return -EPROTO;
		if (flen > 0) {
			s->rlen = 0;
			ret = fn(ctx, s->rbuf + RN_RELAY_FRAME_HDR_LEN,
				 (size_t)flen - RN_RELAY_FRAME_HDR_LEN);
			if (ret)
				return ret;
			if (max_frames && ++frames == max_frames)
				return 1;
			continue;
		}
		/* exactly up to the end of this frame: rbuf holds one frame, never two */
		want = s->rlen < RN_RELAY_FRAME_HDR_LEN
			   ? RN_RELAY_FRAME_HDR_LEN
			   : RN_RELAY_FRAME_HDR_LEN + ((size_t)s->rbuf[0] << 8 | s->rbuf[1]);
		/* SSL_get_error reads the thread's queue: what others left there is not ours */
		ERR_clear_error();
		n = SSL_read(s->ssl, s->rbuf + s->rlen, (int)(want - s->rlen));
		if (n <= 0) {
			ret = tls_result(s, n);
			return ret ? ret : 0;
		}
		s->want_write = false;
		s->rlen += (size_t)n;
	}
}

bool rn_relay_stream_queue(struct rn_relay_stream *s, const void *hdr, size_t hlen,
			   const void *body, size_t blen)
{
	size_t len = hlen + blen;
	uint8_t *p;

	if (!len || len > RN_RELAY_MSG_MAX)
		return false;
	if (s->woff + s->wlen + RN_RELAY_FRAME_HDR_LEN + len > s->wcap) {
		if (s->wlen + RN_RELAY_FRAME_HDR_LEN + len > s->wcap)
			return false;
		/* SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER lets a pending write move */
		memmove(s->wbuf, s->wbuf + s->woff, s->wlen);
		s->woff = 0;
	}
	p = s->wbuf + s->woff + s->wlen;
	p[0] = (uint8_t)(len >> 8);
	p[1] = (uint8_t)len;
	memcpy(p + RN_RELAY_FRAME_HDR_LEN, hdr, hlen);
	if (blen)
		memcpy(p + RN_RELAY_FRAME_HDR_LEN + hlen, body, blen);
	s->wlen += RN_RELAY_FRAME_HDR_LEN + len;
	return true;
}

long rn_relay_stream_flush(struct rn_relay_stream *s)
{
	long total = 0;

	while (s->wlen) {
		int n, ret;

		ERR_clear_error();
		n = SSL_write(s->ssl, s->wbuf + s->woff, (int)s->wlen);
		if (n <= 0) {
			ret = tls_result(s, n);
			return ret ? ret : total;
		}
		s->want_write = false;
		s->woff += (size_t)n;
		s->wlen -= (size_t)n;
		total += n;
	}
	s->woff = 0;
	return total;
}
