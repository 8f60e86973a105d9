/* SPDX-License-Identifier: MIT */
/*
 * The relay server and its client in one process: the server in a thread on loopback, nodes
 * as clients (client.h) or as raw sockets that send what a hostile party would. A to B over
 * UDP, over TLS and mixed; then garbage, forged and expired credentials, a replayed REGISTER
 * from another address, SENDs from unregistered addresses and to unregistered keys: each
 * dropped and counted, with A and B still served afterwards; the per-node limit; the pin;
 * clients probing often (each REGISTER a refresh).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "relay/client.h"
#include "relay/relay.h"
#include "relay/server.h"

struct relay {
	struct rn_relay_server *srv;
	pthread_t thread;
	pthread_mutex_t lock;
	struct rn_relay_stats stats; /* under lock: a copy after each step */
	volatile int stop;
	char udp[32], tls[32];
};

/* What a test node received. */
struct inbox {
	int n;
	uint8_t src[RN_RELAY_KEY_LEN];
	uint8_t last[RN_RELAY_PAYLOAD_MAX];
	size_t last_len;
};

static uint8_t secret[RN_RELAY_SECRET_LEN];
static uint8_t spki[RN_RELAY_SPKI_LEN];
static char dir[] = "/tmp/rn-relay-test-XXXXXX", cert_path[64], key_path[64];

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void make_cert(void)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	FILE *f;
	char err[256];

	assert_non_null(pkey);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pkey);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"relay.test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);
	f = fopen(cert_path, "w");
	assert_non_null(f);
	assert_true(PEM_write_X509(f, x));
	fclose(f);
	f = fopen(key_path, "w");
	assert_non_null(f);
	assert_true(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL));
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pkey);
	assert_int_equal(rn_relay_spki_file(cert_path, spki, err, sizeof(err)), 0);
}

static int group_setup(void **state)
{
	(void)state;
	for (int i = 0; i < RN_RELAY_SECRET_LEN; i++)
		secret[i] = (uint8_t)(0x40 + i);
	if (!mkdtemp(dir))
		return -1;
	snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/key.pem", dir);
	make_cert();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	unlink(cert_path);
	unlink(key_path);
	rmdir(dir);
	return 0;
}

static void *relay_thread(void *arg)
{
	struct relay *r = arg;

	while (!r->stop) {
		assert_int_equal(rn_relay_server_step(r->srv, 20), 0);
		pthread_mutex_lock(&r->lock);
		rn_relay_server_stats(r->srv, &r->stats);
		pthread_mutex_unlock(&r->lock);
	}
	return NULL;
}

/*
 * idle_ms: the handshake and idle timeouts and the UDP registration lifetime; stall_ms: the stall
 * timeout (0: defaults)
 */
static void relay_start_timeouts(struct relay *r, uint64_t node_pps, unsigned idle_ms,
				 unsigned stall_ms)
{
	struct rn_relay_server_config cfg = {
		.secret = secret,
		.udp_listen = "127.0.0.1:0",
		.tls_listen = "127.0.0.1:0",
		.cert_file = cert_path,
		.key_file = key_path,
		.node_packets_per_s = node_pps,
		.handshake_ms = idle_ms,
		.idle_ms = idle_ms,
		.stall_ms = stall_ms,
		.udp_lifetime_ms = idle_ms,
	};
	char err[256];

	memset(r, 0, sizeof(*r));
	r->srv = rn_relay_server_new(&cfg, err, sizeof(err));
	if (!r->srv)
		fail_msg("server: %s", err);
	snprintf(r->udp, sizeof(r->udp), "127.0.0.1:%u", rn_relay_server_udp_port(r->srv));
	snprintf(r->tls, sizeof(r->tls), "127.0.0.1:%u", rn_relay_server_tls_port(r->srv));
	pthread_mutex_init(&r->lock, NULL);
	assert_int_equal(pthread_create(&r->thread, NULL, relay_thread, r), 0);
}

static void relay_start(struct relay *r, uint64_t node_pps)
{
	relay_start_timeouts(r, node_pps, 0, 0);
}

static void relay_stop(struct relay *r)
{
	r->stop = 1;
	pthread_join(r->thread, NULL);
	rn_relay_server_free(r->srv);
	pthread_mutex_destroy(&r->lock);
}

static struct rn_relay_stats stats(struct relay *r)
{
	struct rn_relay_stats s;

	pthread_mutex_lock(&r->lock);
	s = r->stats;
	pthread_mutex_unlock(&r->lock);
	return s;
}

/* Waits up to 3 s for counter at offset off of the stats to reach at least want. */
static bool wait_stat(struct relay *r, size_t off, uint64_t want)
{
	for (uint64_t end = now_ms() + 3000; now_ms() < end; usleep(5000)) {
		struct rn_relay_stats s = stats(r);

		if (*(uint64_t *)((char *)&s + off) >= want)
			return true;
	}
	return false;
}
#define STAT(field)  offsetof(struct rn_relay_stats, field)
#define DROP(reason) (STAT(drops) + (reason) * sizeof(uint64_t))

static void on_recv(void *ctx, const uint8_t src[RN_RELAY_KEY_LEN], const uint8_t *p, size_t len)
{
	struct inbox *in = ctx;

	in->n++;
	memcpy(in->src, src, RN_RELAY_KEY_LEN);
	memcpy(in->last, p, len);
	in->last_len = len;
}

static void node_key(uint8_t key[RN_RELAY_KEY_LEN], uint8_t v)
{
	memset(key, v, RN_RELAY_KEY_LEN);
}

static struct rn_relay_cred cred_for(uint8_t v, int64_t valid_s)
{
	struct rn_relay_cred c;
	uint8_t key[RN_RELAY_KEY_LEN];

	node_key(key, v);
	assert_int_equal(
	    rn_relay_credential_issue(secret, key, (uint64_t)(time(NULL) + valid_s), &c), 0);
	return c;
}

static uint32_t node_probe_ms; /* the next node_new's probe_ms */

static struct rn_relay_client *node_new(struct relay *r, bool tls, uint8_t v, struct inbox *in)
{
	struct rn_relay_cred cred = cred_for(v, 3600);
	struct rn_relay_client_config cfg = {
		.server = tls ? r->tls : r->udp,
		.tls = tls,
		.spki = spki,
		.cred = &cred,
		.recv = on_recv,
		.ctx = in,
		.probe_ms = node_probe_ms,
	};
	char err[256];
	struct rn_relay_client *c = rn_relay_client_new(&cfg, err, sizeof(err));

	if (!c)
		fail_msg("client: %s", err);
	return c;
}

/* Runs the clients for up to ms, or until done() says so. */
static bool pump(struct rn_relay_client **cs, int n, int ms, bool (*done)(void *), void *arg)
{
	for (uint64_t end = now_ms() + (uint64_t)ms; now_ms() < end;) {
		struct pollfd p[4];

		if (done && done(arg))
			return true;
		for (int i = 0; i < n; i++) {
			p[i].fd = rn_relay_client_fd(cs[i]);
			p[i].events = POLLIN | (rn_relay_client_want_write(cs[i]) ? POLLOUT : 0);
		}
		poll(p, (nfds_t)n, 10);
		for (int i = 0; i < n; i++) {
			assert_int_equal(rn_relay_client_input(cs[i]), 0);
			assert_int_equal(rn_relay_client_tick(cs[i]), 0);
		}
	}
	return done ? done(arg) : true;
}

struct two {
	struct rn_relay_client *c[2];
	struct inbox *in[2];
	int want[2];
};

static bool both_registered(void *arg)
{
	struct two *t = arg;

	return rn_relay_client_registered(t->c[0]) && rn_relay_client_registered(t->c[1]);
}

static bool both_received(void *arg)
{
	struct two *t = arg;

	return t->in[0]->n >= t->want[0] && t->in[1]->n >= t->want[1];
}

/* A sends to B and B to A; each receives the other's packet from the other's key. */
static void exchange(struct two *t)
{
	uint8_t ka[RN_RELAY_KEY_LEN], kb[RN_RELAY_KEY_LEN];
	static const char ping[] = "ciphertext from A", pong[] = "ciphertext from B";

	node_key(ka, 0xa1);
	node_key(kb, 0xb2);
	t->want[0] = t->in[0]->n + 1;
	t->want[1] = t->in[1]->n + 1;
	assert_int_equal(rn_relay_client_send(t->c[0], kb, ping, sizeof(ping)), 0);
	assert_int_equal(rn_relay_client_send(t->c[1], ka, pong, sizeof(pong)), 0);
	assert_true(pump(t->c, 2, 3000, both_received, t));
	assert_int_equal(t->in[1]->last_len, sizeof(ping));
	assert_memory_equal(t->in[1]->last, ping, sizeof(ping));
	assert_memory_equal(t->in[1]->src, ka, sizeof(ka));
	assert_int_equal(t->in[0]->last_len, sizeof(pong));
	assert_memory_equal(t->in[0]->last, pong, sizeof(pong));
	assert_memory_equal(t->in[0]->src, kb, sizeof(kb));
}

static void pair_up(struct relay *r, struct two *t, bool a_tls, bool b_tls, struct inbox *ia,
		    struct inbox *ib)
{
	memset(ia, 0, sizeof(*ia));
	memset(ib, 0, sizeof(*ib));
	t->in[0] = ia;
	t->in[1] = ib;
	t->c[0] = node_new(r, a_tls, 0xa1, ia);
	t->c[1] = node_new(r, b_tls, 0xb2, ib);
	assert_true(pump(t->c, 2, 3000, both_registered, t));
}

static void run_pair(bool a_tls, bool b_tls)
{
	struct relay r;
	struct inbox ia, ib;
	struct two t;
	struct rn_relay_stats s;

	relay_start(&r, 0);
	pair_up(&r, &t, a_tls, b_tls, &ia, &ib);
	/* registered: the round trip is measured on either transport */
	assert_true(rn_relay_client_rtt_us(t.c[0]) > 0 && rn_relay_client_rtt_us(t.c[1]) > 0);
	exchange(&t);
	exchange(&t);
	assert_true(wait_stat(&r, STAT(fwd_packets), 4));
	s = stats(&r);
	assert_int_equal(s.fwd_packets, 4);
	assert_int_equal(s.fwd_udp_packets, 2 * !a_tls + 2 * !b_tls);
	assert_int_equal(s.fwd_tls_packets, 2 * a_tls + 2 * b_tls);
	assert_int_equal(s.nodes, 2);
	for (int i = 0; i < RN_RELAY_DROP_COUNT; i++)
		assert_int_equal(s.drops[i], 0);
	rn_relay_client_free(t.c[0]);
	rn_relay_client_free(t.c[1]);
	relay_stop(&r);
}

static void test_udp_udp(void **state)
{
	(void)state;
	run_pair(false, false);
}

static void test_tls_tls(void **state)
{
	(void)state;
	run_pair(true, true);
}

/*
 * Clients probing every 100 ms (rustynetd measures relay latency this way): the relay takes
 * each REGISTER as a refresh, on UDP and TLS, drops none, and forwarding goes on.
 */
static void test_probe(void **state)
{
	struct relay r;
	struct inbox ia, ib;
	struct two t;
	struct rn_relay_stats s;

	(void)state;
	relay_start(&r, 0);
	node_probe_ms = 100;
	pair_up(&r, &t, false, true, &ia, &ib);
	node_probe_ms = 0;
	pump(t.c, 2, 1000, NULL, NULL);
	/* UDP refreshes count as registrations (TLS ones do not): about ten a second, five for a slow machine */
	assert_true(wait_stat(&r, STAT(registrations), 2 + 5));
	/* the probes are answered: without answers the first would have waited ~900 ms */
	assert_true(rn_relay_client_unanswered_ms(t.c[0]) < 500);
	assert_true(rn_relay_client_unanswered_ms(t.c[1]) < 500);
	assert_true(both_registered(&t));
	exchange(&t);
	s = stats(&r);
	for (int i = 0; i < RN_RELAY_DROP_COUNT; i++)
		assert_int_equal(s.drops[i], 0);
	rn_relay_client_free(t.c[0]);
	rn_relay_client_free(t.c[1]);
	relay_stop(&r);
}

static void test_udp_tls(void **state)
{
	(void)state;
	run_pair(false, true);
	run_pair(true, false);
}

/* ------------------------------------------------------------------ raw senders */

static int udp_sock(struct relay *r)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(rn_relay_server_udp_port(r->srv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* What the relay answers within ms (-1: nothing). */
static ssize_t udp_reply(int fd, uint8_t *buf, size_t len, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, ms) != 1)
		return -1;
	return recv(fd, buf, len, MSG_DONTWAIT);
}

static size_t register_msg(uint8_t *out, const struct rn_relay_cred *cred, const uint8_t *cookie)
{
	struct rn_relay_msg m = { .type = RN_RELAY_REGISTER, .cred = *cred };

	if (cookie)
		memcpy(m.cookie, cookie, RN_RELAY_COOKIE_LEN);
	return rn_relay_msg_encode(&m, out, RN_RELAY_REGISTER_LEN);
}

static size_t send_msg(uint8_t *out, uint8_t dst, const char *text)
{
	struct rn_relay_msg m = { .type = RN_RELAY_SEND,
				  .payload = (const uint8_t *)text,
				  .payload_len = strlen(text) };

	node_key(m.key, dst);
	return rn_relay_msg_encode(&m, out, RN_RELAY_MSG_MAX);
}

/* A blocking TLS connection that says what it is told. */
static SSL *tls_raw(struct relay *r, SSL_CTX **ctx, int *fd)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	SSL *ssl;

	*ctx = SSL_CTX_new(TLS_client_method());
	*fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(rn_relay_server_tls_port(r->srv));
	assert_int_equal(connect(*fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ssl = SSL_new(*ctx);
	SSL_set_fd(ssl, *fd);
	assert_int_equal(SSL_connect(ssl), 1);
	return ssl;
}

/* Whether the relay closed the connection (within 3 s). */
static bool tls_closed(SSL *ssl, int fd)
{
	uint8_t b[256];
	struct pollfd p = { .fd = fd, .events = POLLIN };

	for (uint64_t end = now_ms() + 3000; now_ms() < end;) {
		if (poll(&p, 1, 100) == 1 && SSL_read(ssl, b, sizeof(b)) <= 0)
			return true;
	}
	return false;
}

static void tls_raw_close(SSL *ssl, SSL_CTX *ctx, int fd)
{
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	ERR_clear_error();
}

static void test_hostile(void **state)
{
	static uint8_t buf[RN_RELAY_MSG_MAX + 64];
	struct rn_relay_cred forged = cred_for(0xc3, 3600), expired = cred_for(0xc4, -10),
			     good = cred_for(0xc5, 3600);
	uint8_t reply[256], cookie[RN_RELAY_COOKIE_LEN];
	struct inbox ia, ib;
	struct relay r;
	struct two t;
	struct rn_relay_stats before, s;
	int x, y;
	ssize_t n;
	size_t len;
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;

	(void)state;
	relay_start(&r, 0);
	/* A over UDP, B over TLS, working first */
	pair_up(&r, &t, false, true, &ia, &ib);
	exchange(&t);
	x = udp_sock(&r);
	y = udp_sock(&r);

	/* garbage: no answer, counted */
	before = stats(&r);
	memset(buf, 0xee, sizeof(buf));
	assert_true(send(x, buf, 1, 0) == 1 && send(x, buf, 50, 0) == 50);
	assert_true(send(x, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
	assert_true(wait_stat(&r, DROP(RN_RELAY_DROP_MALFORMED),
			      before.drops[RN_RELAY_DROP_MALFORMED] + 3));
	assert_int_equal(udp_reply(x, reply, sizeof(reply), 100), -1);

	/* a forged credential (one token bit), an expired one: no answer, counted */
	forged.token[5] ^= 0x10;
	len = register_msg(buf, &forged, NULL);
	assert_int_equal(send(x, buf, len, 0), (ssize_t)len);
	assert_true(wait_stat(&r, DROP(RN_RELAY_DROP_BAD_CRED), 1));
	len = register_msg(buf, &expired, NULL);
	assert_int_equal(send(x, buf, len, 0), (ssize_t)len);
	assert_true(wait_stat(&r, DROP(RN_RELAY_DROP_EXPIRED), 1));
	assert_int_equal(udp_reply(x, reply, sizeof(reply), 100), -1);

	/* a good credential from x: a cookie (smaller than the request), then REGISTERED */
	len = register_msg(buf, &good, NULL);
	assert_int_equal(send(x, buf, len, 0), (ssize_t)len);
	n = udp_reply(x, reply, sizeof(reply), 2000);
	assert_int_equal(n, RN_RELAY_COOKIE_MSG_LEN);
	assert_true(n < (ssize_t)len);
	assert_int_equal(reply[0], RN_RELAY_COOKIE);
	memcpy(cookie, reply + RN_RELAY_HDR_LEN, sizeof(cookie));
	len = register_msg(buf, &good, cookie);
	assert_int_equal(send(x, buf, len, 0), (ssize_t)len);
	n = udp_reply(x, reply, sizeof(reply), 2000);
	assert_int_equal(n, RN_RELAY_REGISTERED_LEN);
	assert_int_equal(reply[0], RN_RELAY_REGISTERED);

	/* that REGISTER replayed from y: y is not recorded, only offered a cookie of its own */
	assert_true(wait_stat(&r, STAT(registrations), 3)); /* A, B, x */
	before = stats(&r);
	assert_int_equal(send(y, buf, len, 0), (ssize_t)len);
	n = udp_reply(y, reply, sizeof(reply), 2000);
	assert_int_equal(n, RN_RELAY_COOKIE_MSG_LEN);
	assert_memory_not_equal(reply + RN_RELAY_HDR_LEN, cookie, sizeof(cookie));
	assert_true(wait_stat(&r, DROP(RN_RELAY_DROP_BAD_COOKIE), 1));
	s = stats(&r);
	assert_int_equal(s.registrations, before.registrations);
	/* so y's SEND to B is dropped as unregistered, while x's (registered) is delivered */
	len = send_msg(buf, 0xb2, "from y");
	assert_int_equal(send(y, buf, len, 0), (ssize_t)len);
	assert_true(wait_stat(&r, DROP(RN_RELAY_DROP_UNREGISTERED), 1));
	len = send_msg(buf, 0xb2, "from x");
	assert_int_equal(send(x, buf, len, 0), (ssize_t)len);
	t.want[0] = ia.n;
	t.want[1] = ib.n + 1;
	assert_true(pump(t.c, 2, 3000, both_received, &t));
	assert_int_equal(ib.last_len, 6);
	assert_memory_equal(ib.last, "from x", 6);
	assert_memory_equal(ib.src, good.key, RN_RELAY_KEY_LEN);
	pump(t.c, 2, 100, NULL, NULL);
	assert_int_equal(ib.n, t.want[1]); /* nothing from y arrived */

	/* a SEND to a key nobody registered */
	len = send_msg(buf, 0x77, "to nobody");
	assert_int_equal(send(x, buf, len, 0), (ssize_t)len);
	assert_true(wait_stat(&r, DROP(RN_RELAY_DROP_UNKNOWN_DST), 1));
	assert_int_equal(udp_reply(x, reply, sizeof(reply), 100), -1);

	/* TLS: a forged credential, then a frame of garbage: each connection closed */
	ssl = tls_raw(&r, &ctx, &fd);
	len = register_msg(buf + 2, &forged, NULL);
	buf[0] = 0;
	buf[1] = (uint8_t)len;
	assert_int_equal(SSL_write(ssl, buf, (int)len + 2), (int)len + 2);
	assert_true(tls_closed(ssl, fd));
	assert_true(wait_stat(&r, DROP(RN_RELAY_DROP_BAD_CRED), 2));
	tls_raw_close(ssl, ctx, fd);
	before = stats(&r);
	ssl = tls_raw(&r, &ctx, &fd);
	memset(buf, 0xff, 64);
	assert_int_equal(SSL_write(ssl, buf, 64), 64);
	assert_true(tls_closed(ssl, fd));
	assert_true(wait_stat(&r, DROP(RN_RELAY_DROP_MALFORMED),
			      before.drops[RN_RELAY_DROP_MALFORMED] + 1));
	tls_raw_close(ssl, ctx, fd);
	/* a SEND before REGISTER over TLS */
	before = stats(&r);
	ssl = tls_raw(&r, &ctx, &fd);
	len = send_msg(buf + 2, 0xb2, "early");
	buf[0] = 0;
	buf[1] = (uint8_t)len;
	assert_int_equal(SSL_write(ssl, buf, (int)len + 2), (int)len + 2);
	assert_true(tls_closed(ssl, fd));
	assert_true(wait_stat(&r, DROP(RN_RELAY_DROP_MALFORMED),
			      before.drops[RN_RELAY_DROP_MALFORMED] + 1));
	tls_raw_close(ssl, ctx, fd);

	/* a flood from one unregistered address: the per-address limit */
	memset(buf, 0xee, 64);
	for (int i = 0; i < 200; i++)
		assert_int_equal(send(y, buf, 64, 0), 64);
	assert_true(wait_stat(&r, DROP(RN_RELAY_DROP_RATE_SRC), 1));

	/* and A and B are still served, both ways */
	exchange(&t);
	exchange(&t);
	s = stats(&r);
	assert_int_equal(s.nodes, 3);
	assert_int_equal(ib.n, 4);
	close(x);
	close(y);
	rn_relay_client_free(t.c[0]);
	rn_relay_client_free(t.c[1]);
	relay_stop(&r);
}

static bool one_registered(void *arg)
{
	return rn_relay_client_registered(arg);
}

static bool got_one(void *arg)
{
	return ((struct inbox *)arg)->n > 0;
}

/*
 * B registers over TLS and never reads: its queue fills (packets dropped, counted), then the
 * relay closes it as stalled; A still reaches C.
 */
static void test_slow_reader(void **state)
{
	static uint8_t buf[RN_RELAY_MSG_MAX + 2], big[RN_RELAY_PAYLOAD_MAX];
	struct rn_relay_cred cb = cred_for(0xb2, 3600);
	uint8_t kb[RN_RELAY_KEY_LEN], kc[RN_RELAY_KEY_LEN];
	struct inbox ia = { 0 }, ic = { 0 };
	struct rn_relay_client *a, *cl[2];
	int fd, small = 4096;
	struct relay r;
	SSL_CTX *ctx;
	size_t len;
	SSL *ssl;

	(void)state;
	relay_start_timeouts(&r, 0, 0, 2000); /* stalled after 2 s */
	a = node_new(&r, false, 0xa1, &ia);
	ssl = tls_raw(&r, &ctx, &fd);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	len = register_msg(buf + 2, &cb, NULL);
	buf[0] = 0;
	buf[1] = (uint8_t)len;
	assert_int_equal(SSL_write(ssl, buf, (int)len + 2), (int)len + 2);
	assert_true(wait_stat(&r, STAT(registrations), 1));
	cl[0] = a;
	assert_true(pump(cl, 1, 3000, one_registered, a));
	node_key(kb, 0xb2);
	memset(big, 0x42, sizeof(big));
	/*
	 * until more than the queue (256 KiB) and the socket buffers hold got through: paced, so
	 * that a loaded machine's relay thread loses few datagrams to its socket buffer
	 */
	for (uint64_t end = now_ms() + 20000;
	     now_ms() < end && !stats(&r).drops[RN_RELAY_DROP_QUEUE_FULL];) {
		for (int i = 0; i < 16; i++)
			rn_relay_client_send(a, kb, big, sizeof(big));
		usleep(1000);
	}
	assert_true(wait_stat(&r, DROP(RN_RELAY_DROP_QUEUE_FULL), 1));
	/* no progress for the stall timeout: closed */
	for (uint64_t end = now_ms() + 6000;
	     now_ms() < end && !stats(&r).drops[RN_RELAY_DROP_STALLED];)
		usleep(50000);
	assert_int_equal(stats(&r).drops[RN_RELAY_DROP_STALLED], 1);
	assert_int_equal(stats(&r).tls_conns, 0);
	tls_raw_close(ssl, ctx, fd);
	/* A is still served: to C */
	cl[1] = node_new(&r, true, 0xc3, &ic);
	node_key(kc, 0xc3);
	assert_true(pump(&cl[1], 1, 3000, one_registered, cl[1]));
	assert_int_equal(rn_relay_client_send(a, kc, "still", 5), 0);
	assert_true(pump(cl, 2, 3000, got_one, &ic));
	assert_memory_equal(ic.last, "still", 5);
	rn_relay_client_free(cl[1]);
	rn_relay_client_free(a);
	relay_stop(&r);
}

static bool got_300(void *arg)
{
	return ((struct inbox *)arg)->n >= 300;
}

/*
 * 300 frames in one TLS record: the relay handles a budget of them per turn, and the rest,
 * buffered inside TLS where epoll cannot see them, on the next turns.
 */
static void test_tls_budget(void **state)
{
	static uint8_t buf[300 * 40];
	struct rn_relay_cred ca = cred_for(0xa1, 3600);
	struct rn_relay_client *b;
	struct inbox ib = { 0 };
	uint8_t reply[16];
	struct relay r;
	size_t len, off = 0;
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;

	(void)state;
	relay_start(&r, 0);
	b = node_new(&r, true, 0xb2, &ib);
	assert_true(pump(&b, 1, 3000, one_registered, b));
	ssl = tls_raw(&r, &ctx, &fd);
	len = register_msg(buf + 2, &ca, NULL);
	buf[0] = 0;
	buf[1] = (uint8_t)len;
	assert_int_equal(SSL_write(ssl, buf, (int)len + 2), (int)len + 2);
	assert_int_equal(SSL_read(ssl, reply, sizeof(reply)), 2 + RN_RELAY_REGISTERED_LEN);
	for (int i = 0; i < 300; i++) {
		len = send_msg(buf + off + 2, 0xb2, "x");
		buf[off] = 0;
		buf[off + 1] = (uint8_t)len;
		off += 2 + len;
	}
	assert_true(off <= 16384); /* one record */
	assert_int_equal(SSL_write(ssl, buf, (int)off), (int)off);
	assert_true(pump(&b, 1, 3000, got_300, &ib));
	assert_true(wait_stat(&r, STAT(fwd_tls_packets), 300));
	assert_int_equal(stats(&r).fwd_tls_packets, 300);
	tls_raw_close(ssl, ctx, fd);
	rn_relay_client_free(b);
	relay_stop(&r);
}

/* Connections that never finish TLS: 16 per address wait, the rest are closed at once. */
static void test_handshake_cap(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct rn_relay_client *b;
	struct inbox ib = { 0 };
	struct relay r;
	int fds[20];

	(void)state;
	relay_start(&r, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(rn_relay_server_tls_port(r.srv));
	for (int i = 0; i < 20; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_int_equal(connect(fds[i], (struct sockaddr *)&sin, sizeof(sin)), 0);
	}
	assert_true(wait_stat(&r, DROP(RN_RELAY_DROP_CONN_LIMIT), 4));
	assert_int_equal(stats(&r).drops[RN_RELAY_DROP_CONN_LIMIT], 4);
	assert_int_equal(stats(&r).tls_conns, 16);
	for (int i = 0; i < 20; i++)
		close(fds[i]);
	/* their slots come back as they close: a node gets in */
	for (uint64_t end = now_ms() + 3000; now_ms() < end && stats(&r).tls_conns;)
		usleep(10000);
	assert_int_equal(stats(&r).tls_conns, 0);
	b = node_new(&r, true, 0xb2, &ib);
	assert_true(pump(&b, 1, 3000, one_registered, b));
	rn_relay_client_free(b);
	relay_stop(&r);
}

/*
 * With 1.5 s timeouts: a TCP connection that never starts TLS is closed (tls_failed), and so is
 * a registered one that then stays silent; one that keeps registering stays.
 */
static void test_timeouts(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct rn_relay_cred ca = cred_for(0xa1, 3600);
	struct rn_relay_client *b;
	struct inbox ib = { 0 };
	uint8_t buf[128];
	struct relay r;
	SSL_CTX *ctx;
	size_t len;
	SSL *ssl;
	int fd, bare;

	(void)state;
	relay_start_timeouts(&r, 0, 1500, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(rn_relay_server_tls_port(r.srv));
	bare = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(bare, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ssl = tls_raw(&r, &ctx, &fd);
	len = register_msg(buf + 2, &ca, NULL);
	buf[0] = 0;
	buf[1] = (uint8_t)len;
	assert_int_equal(SSL_write(ssl, buf, (int)len + 2), (int)len + 2);
	b = node_new(&r, true, 0xb2, &ib);
	/* b runs (registering every second, sooner than the 1.5 s the relay asked) while the
	 * other two time out */
	for (uint64_t end = now_ms() + 5000; now_ms() < end;) {
		struct rn_relay_stats st = stats(&r);

		if (st.drops[RN_RELAY_DROP_TLS_FAILED] && st.tls_conns == 1)
			break;
		assert_true(pump(&b, 1, 100, NULL, NULL));
	}
	assert_int_equal(stats(&r).tls_conns, 1);
	assert_int_equal(stats(&r).drops[RN_RELAY_DROP_TLS_FAILED], 1);
	assert_true(tls_closed(ssl, fd)); /* the silent one */
	pump(&b, 1, 2000, NULL, NULL);
	assert_true(rn_relay_client_registered(b));
	assert_int_equal(stats(&r).tls_conns, 1);
	close(bare);
	tls_raw_close(ssl, ctx, fd);
	rn_relay_client_free(b);
	relay_stop(&r);
}

/*
 * UDP registrations lasting 1.5 s: one never refreshed lapses (SENDs to it dropped, the node
 * gone); a client refreshing at the interval REGISTERED names stays reachable.
 */
static void test_udp_lifetime(void **state)
{
	struct rn_relay_cred cx = cred_for(0xc3, 3600);
	uint8_t buf[RN_RELAY_MSG_MAX], reply[64], kc[RN_RELAY_KEY_LEN];
	struct rn_relay_client *cl[2];
	struct inbox ia = { 0 }, ib = { 0 };
	struct two t = { .in = { &ia, &ib } };
	struct relay r;
	size_t len;
	ssize_t n;
	int x;

	(void)state;
	relay_start_timeouts(&r, 0, 1500, 0);
	x = udp_sock(&r);
	len = register_msg(buf, &cx, NULL);
	assert_int_equal(send(x, buf, len, 0), (ssize_t)len);
	n = udp_reply(x, reply, sizeof(reply), 2000);
	assert_int_equal(n, RN_RELAY_COOKIE_MSG_LEN);
	len = register_msg(buf, &cx, reply + RN_RELAY_HDR_LEN);
	assert_int_equal(send(x, buf, len, 0), (ssize_t)len);
	n = udp_reply(x, reply, sizeof(reply), 2000);
	assert_int_equal(n, RN_RELAY_REGISTERED_LEN);
	assert_int_equal(reply[4 + 3], 1); /* refresh every second */
	assert_int_equal(reply[8 + 3], 2); /* lifetime, rounded up */
	cl[0] = t.c[0] = node_new(&r, false, 0xa1, &ia);
	cl[1] = t.c[1] = node_new(&r, false, 0xb2, &ib);
	assert_true(pump(cl, 2, 3000, both_registered, &t));
	/* alive first: A reaches x */
	node_key(kc, 0xc3);
	assert_int_equal(rn_relay_client_send(cl[0], kc, "to x", 4), 0);
	n = udp_reply(x, reply, sizeof(reply), 2000);
	assert_int_equal(n, RN_RELAY_DATA_HDR_LEN + 4);
	/* x never refreshes; A and B run for 3.5 s */
	assert_true(pump(cl, 2, 3500, NULL, NULL));
	assert_int_equal(rn_relay_client_send(cl[0], kc, "to x", 4), 0);
	assert_true(wait_stat(&r, DROP(RN_RELAY_DROP_UNKNOWN_DST), 1));
	assert_int_equal(udp_reply(x, reply, sizeof(reply), 200), -1);
	assert_int_equal(stats(&r).nodes, 2);
	/* A and B refreshed all along */
	exchange(&t);
	close(x);
	rn_relay_client_free(cl[0]);
	rn_relay_client_free(cl[1]);
	relay_stop(&r);
}

static void test_node_limit(void **state)
{
	uint8_t kb[RN_RELAY_KEY_LEN];
	struct inbox ia, ib;
	struct relay r;
	struct two t;

	(void)state;
	relay_start(&r, 10); /* 10 packets a second, burst 10 */
	pair_up(&r, &t, false, false, &ia, &ib);
	node_key(kb, 0xb2);
	for (int i = 0; i < 50; i++)
		assert_int_equal(rn_relay_client_send(t.c[0], kb, "x", 1), 0);
	assert_true(wait_stat(&r, DROP(RN_RELAY_DROP_RATE_NODE), 30));
	pump(t.c, 2, 200, NULL, NULL);
	assert_true(ib.n >= 10 && ib.n <= 20);
	rn_relay_client_free(t.c[0]);
	rn_relay_client_free(t.c[1]);
	relay_stop(&r);
}

static void test_pin(void **state)
{
	struct rn_relay_cred cred = cred_for(0xa1, 3600);
	uint8_t wrong[RN_RELAY_SPKI_LEN];
	struct inbox in = { 0 };
	struct rn_relay_client_config cfg = {
		.tls = true, .spki = wrong, .cred = &cred, .recv = on_recv, .ctx = &in
	};
	struct rn_relay_client *c;
	struct relay r;
	char err[256];

	(void)state;
	relay_start(&r, 0);
	cfg.server = r.tls;
	/* alive first: the right pin connects */
	memcpy(wrong, spki, sizeof(wrong));
	c = rn_relay_client_new(&cfg, err, sizeof(err));
	assert_non_null(c);
	rn_relay_client_free(c);
	wrong[0] ^= 1;
	c = rn_relay_client_new(&cfg, err, sizeof(err));
	assert_null(c);
	assert_non_null(strstr(err, "pin"));
	relay_stop(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_udp),	      cmocka_unit_test(test_tls_tls),
		cmocka_unit_test(test_udp_tls),	      cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_node_limit),    cmocka_unit_test(test_pin),
		cmocka_unit_test(test_slow_reader),   cmocka_unit_test(test_tls_budget),
		cmocka_unit_test(test_handshake_cap), cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_udp_lifetime),  cmocka_unit_test(test_probe),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
