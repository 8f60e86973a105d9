/* SPDX-License-Identifier: MIT */
/* A node's connection to a relay (client.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/util.h"
#include "relay/client.h"
#include "relay/stream.h"

enum {
	RN_RELAY_CLIENT_RETRY_MS = 1000,   /* re-register while unconfirmed */
	RN_RELAY_CLIENT_QUEUE = 64 * 1024, /* TLS output queue, bytes */
	RN_RELAY_CLIENT_TIMEOUT_MS = 5000,
};

struct rn_relay_client {
	bool tls;
	int fd;
	SSL_CTX *ssl_ctx;	   /* TLS only */
	struct rn_relay_stream st; /* TLS only */
	struct rn_relay_cred cred;
	uint8_t cookie[RN_RELAY_COOKIE_LEN]; /* UDP: the relay's last cookie, zero: none */
	uint64_t next_register_ms, registered_until_ms;
	uint32_t refresh_s, probe_ms;
	/* the round trip: the last REGISTER's send time (0: answered), the oldest unanswered
	 * one's (0: none), and the measurements */
	uint64_t sent_us, unanswered_since_us;
	uint32_t rtt_us, last_rtt_us;
	rn_relay_recv_fn recv;
	void *ctx;
	uint8_t buf[RN_RELAY_MSG_MAX + 1];
};

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t mono_ms(void)
{
	return mono_us() / 1000;
}

/* The next registration while registered: the relay's refresh, or sooner to probe. */
static uint64_t refresh_ms(const struct rn_relay_client *c)
{
	uint64_t ms = (uint64_t)c->refresh_s * 1000;

	return c->probe_ms && c->probe_ms < ms ? c->probe_ms : ms;
}

static int send_register(struct rn_relay_client *c)
{
	struct rn_relay_msg m = { .type = RN_RELAY_REGISTER, .cred = c->cred };
	uint8_t out[RN_RELAY_REGISTER_LEN];
	uint64_t now = mono_us();
	size_t n;

	memcpy(m.cookie, c->cookie, sizeof(m.cookie));
	n = rn_relay_msg_encode(&m, out, sizeof(out));
	c->next_register_ms =
	    now / 1000 + (rn_relay_client_registered(c) ? refresh_ms(c) : RN_RELAY_CLIENT_RETRY_MS);
	/* a retry restarts the measurement: an answer to the earlier one reads a little short */
	c->sent_us = now;
	if (!c->unanswered_since_us)
		c->unanswered_since_us = now;
	if (!c->tls)
		return send(c->fd, out, n, MSG_DONTWAIT) < 0 ? -errno : 0;
	if (!rn_relay_stream_queue(&c->st, out, n, NULL, 0))
		return -ENOBUFS;
	return rn_relay_stream_flush(&c->st) < 0 ? -EPIPE : 0;
}

/* REGISTERED came: the round trip of the last REGISTER, if one is outstanding. */
static void rtt_sample(struct rn_relay_client *c)
{
	uint64_t d;

	if (!c->sent_us)
		return; /* a duplicate answer */
	d = mono_us() - c->sent_us;
	c->last_rtt_us = d < 1 ? 1 : d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
	c->rtt_us = c->rtt_us ? c->rtt_us - c->rtt_us / 8 + c->last_rtt_us / 8 : c->last_rtt_us;
	if (!c->rtt_us)
		c->rtt_us = 1;
	c->sent_us = c->unanswered_since_us = 0;
}

static int handle(struct rn_relay_client *c, const uint8_t *buf, size_t len)
{
	struct rn_relay_msg m;

	if (!rn_relay_msg_decode(buf, len, &m))
		return 0; /* not ours to judge: drop */
	switch (m.type) {
	case RN_RELAY_COOKIE:
		/* the same cookie again: our REGISTER with it failed (the address changed between
		 * the two?); the retry timer tries again, no ping-pong at network speed */
		if (c->tls || !memcmp(c->cookie, m.cookie, sizeof(c->cookie)))
			return 0;
		memcpy(c->cookie, m.cookie, sizeof(c->cookie));
		c->unanswered_since_us = 0; /* it answered; the REGISTER below waits anew */
		return send_register(c);
	case RN_RELAY_REGISTERED:
		/* the relay's interval (its timeouts may be shorter than ours), within reason */
		c->refresh_s = m.refresh_s && m.refresh_s <= RN_RELAY_REFRESH_S
				   ? m.refresh_s
				   : RN_RELAY_REFRESH_S;
		c->registered_until_ms = mono_ms() + (uint64_t)m.lifetime_s * 1000;
		c->next_register_ms = mono_ms() + refresh_ms(c);
		rtt_sample(c);
		return 0;
	case RN_RELAY_RECV:
		c->recv(c->ctx, m.key, m.payload, m.payload_len);
		return 0;
	default:
		return 0;
	}
}

static int frame(void *ctx, const uint8_t *body, size_t len)
{
	return handle(ctx, body, len) == -EPIPE ? -EPIPE : 0;
}

int rn_relay_client_input(struct rn_relay_client *c)
{
	if (c->tls) {
		int ret = rn_relay_stream_read(&c->st, frame, c, 0);

		if (ret < 0)
			return -EPIPE;
		return rn_relay_stream_flush(&c->st) < 0 ? -EPIPE : 0;
	}
	for (int i = 0; i < 256; i++) {
		ssize_t n = recv(c->fd, c->buf, sizeof(c->buf), MSG_DONTWAIT);

		if (n < 0)
			break;
		handle(c, c->buf, (size_t)n);
	}
	return 0;
}

int rn_relay_client_tick(struct rn_relay_client *c)
{
	if (mono_ms() >= c->next_register_ms) {
		int ret = send_register(c);

		if (ret == -EPIPE)
			return ret;
	}
	if (c->tls && rn_relay_stream_flush(&c->st) < 0)
		return -EPIPE;
	return 0;
}

int rn_relay_client_send(struct rn_relay_client *c, const uint8_t dst[RN_RELAY_KEY_LEN],
			 const void *payload, size_t len)
{
	uint8_t hdr[RN_RELAY_DATA_HDR_LEN];

	if (!len || len > RN_RELAY_PAYLOAD_MAX)
		return -EMSGSIZE;
	rn_relay_data_hdr(hdr, RN_RELAY_SEND, dst);
	if (!c->tls) {
		struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)payload, len } };
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

		return sendmsg(c->fd, &mh, MSG_DONTWAIT) < 0 ? -errno : 0;
	}
	if (!rn_relay_stream_queue(&c->st, hdr, sizeof(hdr), payload, len))
		return -ENOBUFS;
	return rn_relay_stream_flush(&c->st) < 0 ? -EPIPE : 0;
}

/* Waits for fd to be ready for events until deadline_ms. 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, uint64_t deadline_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	uint64_t now = mono_ms();
	int n;

	if (now >= deadline_ms)
		return -ETIMEDOUT;
	n = poll(&p, 1, (int)(deadline_ms - now));
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n ? 0 : -ETIMEDOUT;
}

static bool pin_ok(SSL *ssl, const uint8_t spki[RN_RELAY_SPKI_LEN])
{
	X509 *x = SSL_get1_peer_certificate(ssl);
	unsigned char *der = NULL;
	uint8_t got[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	bool ok = false;
	int n;

	if (!x)
		return false;
	n = i2d_PUBKEY(X509_get0_pubkey(x), &der);
	if (n > 0 && EVP_Digest(der, (size_t)n, got, &len, EVP_sha256(), NULL) &&
	    len == RN_RELAY_SPKI_LEN)
		ok = CRYPTO_memcmp(got, spki, RN_RELAY_SPKI_LEN) == 0;
	OPENSSL_free(der);
	X509_free(x);
	return ok;
}

static int tls_connect(struct rn_relay_client *c, const struct rn_relay_client_config *cfg,
		       uint64_t deadline, char *err, size_t errlen)
{
	SSL *ssl;
	int ret;

	c->ssl_ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ssl_ctx || !SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_3_VERSION))
		return rn_errf(err, errlen, -EIO, "cannot make a TLS context");
	/* the pin below, not a CA, authenticates the relay */
	SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(c->ssl_ctx,
			 SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	ssl = SSL_new(c->ssl_ctx);
	if (!ssl || !SSL_set_fd(ssl, c->fd)) {
		SSL_free(ssl);
		return rn_errf(err, errlen, -EIO, "cannot make a TLS connection");
	}
	if (rn_relay_stream_init(&c->st, ssl, RN_RELAY_CLIENT_QUEUE))
		return rn_errf(err, errlen, -ENOMEM, "out of memory");
	SSL_set_connect_state(ssl);
	for (;;) {
		int r, e;

		ERR_clear_error(); /* SSL_get_error reads this thread's queue */
		r = SSL_do_handshake(ssl);

		if (r == 1)
			break;
		e = SSL_get_error(ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			ERR_clear_error();
			return rn_errf(err, errlen, -EPROTO,
				       "TLS handshake with the relay %s failed", cfg->server);
		}
		ret = wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
		if (ret)
			return rn_errf(err, errlen, ret, "TLS handshake with the relay %s: %s",
				       cfg->server, strerror(-ret));
	}
	if (!pin_ok(ssl, cfg->spki))
		return rn_errf(err, errlen, -EPERM,
			       "the relay %s presented a certificate whose key does not match its "
			       "pin: refusing it",
			       cfg->server);
	return 0;
}

struct rn_relay_client *rn_relay_client_new(const struct rn_relay_client_config *cfg, char *err,
					    size_t errlen)
{
	struct rn_relay_client *c = calloc(1, sizeof(*c));
	uint64_t deadline =
	    mono_ms() +
	    (uint64_t)(cfg->timeout_ms > 0 ? cfg->timeout_ms : RN_RELAY_CLIENT_TIMEOUT_MS);
	struct sockaddr_storage ss;
	socklen_t len;
	int ret;

	if (!c) {
		rn_errf(err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}
	c->fd = -1;
	c->tls = cfg->tls;
	c->cred = *cfg->cred;
	c->recv = cfg->recv;
	c->ctx = cfg->ctx;
	c->refresh_s = RN_RELAY_REFRESH_S;
	c->probe_ms = cfg->probe_ms;
	if (!rn_relay_addr_parse(cfg->server, &ss, &len)) {
		rn_errf(err, errlen, -EINVAL, "relay address \"%s\": expected ADDR:PORT",
			cfg->server);
		goto fail;
	}
	if (c->tls && !cfg->spki) {
		rn_errf(err, errlen, -EINVAL, "a TLS relay needs its certificate pin");
		goto fail;
	}
	c->fd = socket(ss.ss_family,
		       (c->tls ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		rn_errf(err, errlen, -errno, "socket: %s", strerror(errno));
		goto fail;
	}
	/* Before connect: the first packet must be routed and let out as the marked ones are. */
	if (cfg->fwmark &&
	    setsockopt(c->fd, SOL_SOCKET, SO_MARK, &cfg->fwmark, sizeof(cfg->fwmark)) < 0) {
		rn_errf(err, errlen, -errno, "setting the relay socket's fwmark: %s",
			strerror(errno));
		goto fail;
	}
	if (connect(c->fd, (struct sockaddr *)&ss, len) < 0) {
		int e = errno, soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (e != EINPROGRESS) {
			rn_errf(err, errlen, -e, "connecting to the relay %s: %s", cfg->server,
				strerror(e));
			goto fail;
		}
		ret = wait_fd(c->fd, POLLOUT, deadline);
		if (!ret && getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr)
			ret = -soerr;
		if (ret) {
			rn_errf(err, errlen, ret, "connecting to the relay %s: %s", cfg->server,
				strerror(-ret));
			goto fail;
		}
	}
	if (c->tls && tls_connect(c, cfg, deadline, err, errlen))
		goto fail;
	ret = send_register(c);
	if (ret && ret != -EAGAIN && (c->tls || ret != -ECONNREFUSED)) {
		rn_errf(err, errlen, ret, "registering with the relay %s: %s", cfg->server,
			strerror(-ret));
		goto fail;
	}
	return c;
fail:
	rn_relay_client_free(c);
	return NULL;
}

void rn_relay_client_free(struct rn_relay_client *c)
{
	if (!c)
		return;
	if (c->st.ssl)
		rn_relay_stream_free(&c->st);
	SSL_CTX_free(c->ssl_ctx);
	if (c->fd >= 0)
		close(c->fd);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

int rn_relay_client_fd(const struct rn_relay_client *c)
{
	return c->fd;
}

bool rn_relay_client_want_write(const struct rn_relay_client *c)
{
	return c->tls && (rn_relay_stream_pending(&c->st) || c->st.want_write);
}

bool rn_relay_client_registered(const struct rn_relay_client *c)
{
	return c->registered_until_ms > mono_ms();
}

void rn_relay_client_set_cred(struct rn_relay_client *c, const struct rn_relay_cred *cred)
{
	c->cred = *cred;
}

uint32_t rn_relay_client_rtt_us(const struct rn_relay_client *c)
{
	return c->rtt_us;
}

uint32_t rn_relay_client_last_rtt_us(const struct rn_relay_client *c)
{
	return c->last_rtt_us;
}

uint64_t rn_relay_client_unanswered_ms(const struct rn_relay_client *c)
{
	return c->unanswered_since_us ? (mono_us() - c->unanswered_since_us) / 1000 : 0;
}
