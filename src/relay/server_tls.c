/* SPDX-License-Identifier: MIT */
/*
 * The relay's TLS side (server_priv.h): accepting connections under the caps, the handshake,
 * the REGISTER that must come first, frames in and out with bounded queues, and closing
 * connections that time out, stall or misbehave.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "common/log.h"
#include "common/util.h"
#include "relay/server_priv.h"

int rn_relay_tls_setup(struct rn_relay_server *srv, char *err, size_t errlen)
{
	const char *c = srv->cfg.cert_file, *k = srv->cfg.key_file;
	char ebuf[256];

	if (!c || !k)
		return rn_errf(err, errlen, -EINVAL, "--tls needs --cert FILE and --key FILE");
	srv->ssl_ctx = SSL_CTX_new(TLS_server_method());
	if (!srv->ssl_ctx || !SSL_CTX_set_min_proto_version(srv->ssl_ctx, TLS1_3_VERSION))
		return rn_errf(err, errlen, -EIO, "cannot make a TLS context");
	SSL_CTX_set_mode(srv->ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
					   SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
					   SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(srv->ssl_ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(srv->ssl_ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_use_certificate_chain_file(srv->ssl_ctx, c) != 1) {
		ERR_error_string_n(ERR_get_error(), ebuf, sizeof(ebuf));
		return rn_errf(err, errlen, -EINVAL, "--cert \"%s\": not a PEM certificate: %s", c,
			       ebuf);
	}
	if (SSL_CTX_use_PrivateKey_file(srv->ssl_ctx, k, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(srv->ssl_ctx) != 1) {
		ERR_error_string_n(ERR_get_error(), ebuf, sizeof(ebuf));
		return rn_errf(err, errlen, -EINVAL,
			       "--key \"%s\": not a PEM private key matching --cert \"%s\": %s", k,
			       c, ebuf);
	}
	return 0;
}

static void conn_events(struct rn_relay_server *srv, struct rn_relay_conn *c)
{
	uint32_t want = EPOLLIN;
	struct epoll_event ev;

	if (rn_relay_stream_pending(&c->st) || c->st.want_write)
		want |= EPOLLOUT;
	if (want == c->events)
		return;
	ev.events = want;
	ev.data.ptr = c;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = want;
}

/* c leaves the handshake counts: registered, or closed before it did. */
static void handshake_end(struct rn_relay_server *srv, struct rn_relay_conn *c)
{
	srv->handshakes--;
	srv->hs_per_src[c->src_slot]--;
}

void rn_relay_tls_kill(struct rn_relay_server *srv, struct rn_relay_conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	if (c->state != RN_RELAY_CONN_ACTIVE)
		handshake_end(srv, c);
	if (c->node) {
		struct rn_relay_node *n = c->node;

		c->node = NULL;
		if (n->conn == c)
			n->conn = NULL;
		rn_relay_node_put(srv, n);
	}
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	/* off the live list, onto the dead one: freed after this step's events */
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = NULL;
	c->next = srv->dead;
	srv->dead = c;
	srv->stats.tls_conns--;
}

static void conn_free(struct rn_relay_conn *c)
{
	rn_relay_stream_free(&c->st);
	close(c->fd);
	free(c);
}

void rn_relay_tls_ready(struct rn_relay_server *srv)
{
	struct rn_relay_conn *c = srv->ready, *next;

	srv->ready = NULL; /* those that stop at the budget again join a new list */
	for (; c; c = next) {
		next = c->ready_next;
		c->ready = false;
		c->ready_next = NULL;
		rn_relay_tls_event(srv, c, 0);
	}
}

void rn_relay_tls_reap(struct rn_relay_server *srv)
{
	struct rn_relay_conn **pp = &srv->ready;

	while (*pp) { /* the dead leave the ready list before they are freed */
		if ((*pp)->dead)
			*pp = (*pp)->ready_next;
		else
			pp = &(*pp)->ready_next;
	}
	while (srv->dead) {
		struct rn_relay_conn *c = srv->dead;

		srv->dead = c->next;
		conn_free(c);
	}
}

void rn_relay_tls_free_all(struct rn_relay_server *srv)
{
	while (srv->conns)
		rn_relay_tls_kill(srv, srv->conns);
	rn_relay_tls_reap(srv);
}

void rn_relay_tls_accept(struct rn_relay_server *srv)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss = { 0 };
		socklen_t sslen = sizeof(ss);
		int fd = accept4(srv->tcp_fd, (struct sockaddr *)&ss, &sslen,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };
		struct rn_relay_conn *c;
		unsigned slot;
		SSL *ssl;

		if (fd < 0)
			return;
		slot = rn_relay_src_slot(srv, &ss);
		if (srv->stats.tls_conns >= srv->cfg.max_conns ||
		    srv->handshakes >= srv->cfg.max_handshakes ||
		    srv->hs_per_src[slot] >= RN_RELAY_HANDSHAKES_PER_SRC) {
			srv->stats.drops[RN_RELAY_DROP_CONN_LIMIT]++;
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		ssl = SSL_new(srv->ssl_ctx);
		if (!c || !ssl || !SSL_set_fd(ssl, fd) ||
		    rn_relay_stream_init(&c->st, ssl, srv->cfg.conn_queue_bytes)) {
			if (c)
				rn_relay_stream_free(&c->st);
			else
				SSL_free(ssl);
			free(c);
			close(fd);
			return;
		}
		SSL_set_accept_state(ssl);
		c->fd = fd;
		c->srv = srv;
		c->state = RN_RELAY_CONN_TLS;
		c->events = EPOLLIN;
		c->start_ms = c->last_rx_ms = c->last_progress_ms = srv->now_ms;
		ev.data.ptr = c;
		if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			rn_relay_stream_free(&c->st);
			free(c);
			close(fd);
			return;
		}
		c->next = srv->conns;
		if (srv->conns)
			srv->conns->prev = c;
		srv->conns = c;
		srv->handshakes++;
		srv->hs_per_src[slot]++;
		c->src_slot = slot;
		srv->stats.tls_conns++;
		srv->stats.tls_accepted++;
	}
}

int rn_relay_tls_deliver(struct rn_relay_server *srv, struct rn_relay_conn *c, const uint8_t *msg,
			 size_t len)
{
	long n;

	if (c->dead)
		return -EPIPE;
	if (!rn_relay_stream_pending(&c->st))
		c->last_progress_ms = srv->now_ms;
	if (!rn_relay_stream_queue(&c->st, msg, len, NULL, 0))
		return -ENOBUFS;
	n = rn_relay_stream_flush(&c->st);
	if (n < 0) {
		rn_relay_tls_kill(srv, c);
		return -EPIPE;
	}
	if (n > 0)
		c->last_progress_ms = srv->now_ms;
	conn_events(srv, c);
	return 0;
}

static int conn_register(struct rn_relay_server *srv, struct rn_relay_conn *c,
			 const struct rn_relay_msg *m)
{
	struct rn_relay_msg reply = rn_relay_registered(srv->cfg.idle_ms);
	uint8_t out[RN_RELAY_REGISTERED_LEN];
	struct rn_relay_conn *old;
	struct rn_relay_node *n;

	if (!rn_relay_cred_check(srv, &m->cred))
		return -EPERM;
	if (c->node) { /* a refresh: the same key only */
		if (memcmp(c->node->key, m->cred.key, RN_RELAY_KEY_LEN)) {
			srv->stats.drops[RN_RELAY_DROP_MALFORMED]++;
			return -EPERM;
		}
		c->node->cred_expiry = m->cred.expiry;
		c->node->last_tls = true;
		/* confirmed like the first, so the node knows it is still registered; a full
		 * queue loses only the confirmation */
		if (!rn_relay_stream_queue(&c->st, out,
					   rn_relay_msg_encode(&reply, out, sizeof(out)), NULL, 0))
			log_debug(MAIN, "relay: a REGISTERED confirmation did not fit the queue");
		return 0;
	}
	n = rn_relay_node_get(srv, m->cred.key, true);
	if (!n)
		return -ENOSPC;
	old = n->conn;
	n->conn = c;
	if (old && old != c) { /* the newer connection wins */
		old->node = NULL;
		rn_relay_tls_kill(srv, old);
	}
	n->last_tls = true;
	n->cred_expiry = m->cred.expiry;
	c->node = n;
	c->state = RN_RELAY_CONN_ACTIVE;
	handshake_end(srv, c);
	srv->stats.registrations++;
	if (!rn_relay_stream_queue(&c->st, out, rn_relay_msg_encode(&reply, out, sizeof(out)), NULL,
				   0))
		return -ENOSPC;
	return 0;
}

static int conn_frame(void *ctx, const uint8_t *body, size_t len)
{
	struct rn_relay_conn *c = ctx;
	struct rn_relay_server *srv = c->srv;
	struct rn_relay_msg m;

	srv->stats.tls_rx_frames++;
	srv->stats.tls_rx_bytes += len;
	c->last_rx_ms = srv->now_ms;
	if (!rn_relay_msg_decode(body, len, &m)) {
		srv->stats.drops[RN_RELAY_DROP_MALFORMED]++;
		return -EBADMSG;
	}
	if (m.type == RN_RELAY_REGISTER)
		return conn_register(srv, c, &m);
	if (m.type != RN_RELAY_SEND || c->state != RN_RELAY_CONN_ACTIVE) {
		srv->stats.drops[RN_RELAY_DROP_MALFORMED]++;
		return -EBADMSG;
	}
	/* forward rewrites the message in place: it is the stream's own input buffer */
	rn_relay_forward(srv, c->node, (uint8_t *)body, len);
	return c->dead ? -EPIPE : 0;
}

void rn_relay_tls_event(struct rn_relay_server *srv, struct rn_relay_conn *c, uint32_t events)
{
	long n;
	int ret;

	(void)events;
	if (c->dead)
		return;
	if (c->state == RN_RELAY_CONN_TLS) {
		ERR_clear_error(); /* SSL_get_error reads this thread's queue */
		ret = SSL_do_handshake(c->st.ssl);
		if (ret != 1) {
			int e = SSL_get_error(c->st.ssl, ret);

			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
				ERR_clear_error();
				srv->stats.drops[RN_RELAY_DROP_TLS_FAILED]++;
				rn_relay_tls_kill(srv, c);
				return;
			}
			c->st.want_write = e == SSL_ERROR_WANT_WRITE;
			conn_events(srv, c);
			return;
		}
		c->st.want_write = false;
		c->state = RN_RELAY_CONN_REGISTER;
	}
	ret = rn_relay_stream_read(&c->st, conn_frame, c, RN_RELAY_FRAME_BUDGET);
	if (ret == 1) { /* fairness: others get their turn, then this one reads on */
		ret = 0;
		if (!c->ready) {
			c->ready = true;
			c->ready_next = srv->ready;
			srv->ready = c;
		}
	}
	if (ret == -EPROTO) /* a frame length out of range */
		srv->stats.drops[RN_RELAY_DROP_MALFORMED]++;
	if (ret < 0) {
		rn_relay_tls_kill(srv, c);
		return;
	}
	n = rn_relay_stream_flush(&c->st);
	if (n < 0) {
		rn_relay_tls_kill(srv, c);
		return;
	}
	if (n > 0)
		c->last_progress_ms = srv->now_ms;
	conn_events(srv, c);
}

void rn_relay_tls_timers(struct rn_relay_server *srv)
{
	struct rn_relay_conn *c = srv->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->state != RN_RELAY_CONN_ACTIVE &&
		    srv->now_ms - c->start_ms > srv->cfg.handshake_ms) {
			srv->stats.drops[RN_RELAY_DROP_TLS_FAILED]++;
			rn_relay_tls_kill(srv, c);
		} else if (srv->now_ms - c->last_rx_ms > srv->cfg.idle_ms) {
			rn_relay_tls_kill(srv, c);
		} else if (rn_relay_stream_pending(&c->st) &&
			   srv->now_ms - c->last_progress_ms > srv->cfg.stall_ms) {
			srv->stats.drops[RN_RELAY_DROP_STALLED]++;
			rn_relay_tls_kill(srv, c);
		}
	}
}
