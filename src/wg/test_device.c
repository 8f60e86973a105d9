/* SPDX-License-Identifier: MIT */
/*
 * Test and fuzz harness support (see test_device.h): a thread-less device on loopback and a
 * hand-worked remote peer. Shared by the unit tests that drive the device and by
 * fuzz/receive_fuzz.c, so that none of them copies the device's set-up.
 */
#include "wg/test_device.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wg/clock.h"
#include "wg/crypto.h"

static void need(bool ok, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "test_device: %s failed\n", what);
	abort();
}

struct rn_wg_device *rn_testdev_new(const uint8_t priv[32], int *tun_out)
{
	struct rn_wg_device *dev;
	int sv[2];

	need(rn_crypto_init() == 0, "rn_crypto_init");
	need(rn_device_new(0, &dev) == 0, "rn_device_new");
	dev->hs_queue = calloc(RN_HANDSHAKE_QUEUE_LEN, sizeof(*dev->hs_queue));
	dev->workers = calloc(RN_READERS, sizeof(*dev->workers));
	need(dev->hs_queue && dev->workers, "calloc");
	for (unsigned int i = 0; i < RN_READERS; i++)
		rn_gro_init(&dev->workers[i].gro, false, false);
	need(rn_udp_open(AF_INET, 0, 0, &dev->udp) == 0, "rn_udp_open");
	need(rn_send_pool_alloc(dev, RN_TX_BUFS_INLINE) == 0, "rn_send_pool_alloc");
	need(rn_receive_pool_alloc(dev, 1) == 0, "rn_receive_pool_alloc");
	dev->mtu = 1420;
	snprintf(dev->ifname, sizeof(dev->ifname), "rntest");
	if (tun_out) {
		need(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
		/* A full TUN drops, as a real one does, rather than block the test. */
		need(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0, "fcntl");
		dev->tun_fd = sv[0];
		*tun_out = sv[1];
	}
	if (priv) {
		struct rn_wg_config cfg = { .flags = RN_WG_DEV_HAS_PRIVATE_KEY };

		memcpy(cfg.private_key, priv, 32);
		need(rn_wg_device_apply(dev, &cfg) == 0, "setting the private key");
		rn_wipe(&cfg, sizeof(cfg));
	}
	return dev;
}

static void prefix_of(const char *text, struct rn_wg_allowed_ip *a)
{
	char addr[64];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);

	need(n < sizeof(addr), "allowed IP length");
	memcpy(addr, text, n);
	addr[n] = '\0';
	a->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	need(inet_pton(a->family, addr, &a->ip6) == 1, "allowed IP address");
	a->cidr = (uint8_t)(slash ? atoi(slash + 1) : a->family == AF_INET ? 32 : 128);
}

struct rn_wg_peer *rn_testdev_add_peer(struct rn_wg_device *dev, const uint8_t pub[32],
				       uint16_t port, const char *allowed, uint16_t keepalive_s)
{
	struct rn_wg_config cfg = { 0 };
	struct rn_wg_peer_config *pc = rn_wg_config_add_peer(&cfg);
	struct rn_wg_allowed_ip a = { 0 };

	need(pc != NULL, "rn_wg_config_add_peer");
	memcpy(pc->public_key, pub, 32);
	if (port) {
		pc->flags |= RN_WG_PEER_HAS_ENDPOINT;
		pc->endpoint.sin.sin_family = AF_INET;
		pc->endpoint.sin.sin_port = htons(port);
		pc->endpoint.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
	if (keepalive_s) {
		pc->flags |= RN_WG_PEER_HAS_KEEPALIVE;
		pc->persistent_keepalive = keepalive_s;
	}
	if (allowed) {
		prefix_of(allowed, &a);
		need(rn_wg_peer_config_add_allowed_ip(pc, &a) == 0, "adding an allowed IP");
	}
	need(rn_wg_device_apply(dev, &cfg) == 0, "adding a peer");
	rn_wg_config_free(&cfg);
	need(rn_peer_lookup(dev, pub) != NULL, "finding the peer added");
	return rn_peer_lookup(dev, pub);
}

int rn_testdev_pump(struct rn_wg_device *dev)
{
	int total = 0, n;
	bool more;

	do {
		more = false;
		while ((n = rn_receive_udp_once(dev)) > 0) {
			total += n;
			more = true;
		}
		while (rn_receive_handshake_once(dev))
			more = true;
	} while (more);
	return total;
}

void rn_testpeer_init(struct rn_testpeer *p, const uint8_t dev_pub[32], uint16_t dev_port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	memset(p, 0, sizeof(*p));
	rn_x25519_generate(p->priv);
	need(rn_x25519_public(p->pub, p->priv), "rn_x25519_public");
	need(rn_noise_identity_set(&p->id, p->priv), "rn_noise_identity_set");
	rn_noise_handshake_init(&p->hs, &p->id, dev_pub, NULL);
	rn_cookie_init(&p->cookie, dev_pub);
	p->dev_port = dev_port;
	p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	need(p->fd >= 0, "socket");
	need(bind(p->fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind");
	need(getsockname(p->fd, (struct sockaddr *)&a, &alen) == 0, "getsockname");
	p->port = ntohs(a.sin_port);
}

void rn_testpeer_free(struct rn_testpeer *p)
{
	rn_noise_keypair_put(p->kp);
	rn_noise_handshake_wipe(&p->hs);
	close(p->fd);
	rn_wipe(p, sizeof(*p));
}

void rn_testpeer_send(struct rn_testpeer *p, const void *buf, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(p->dev_port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	need(sendto(p->fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)len,
	     "sendto");
}

ssize_t rn_testpeer_recv(struct rn_testpeer *p, void *buf, size_t size, int wait_ms)
{
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };

	if (poll(&pfd, 1, wait_ms) <= 0)
		return -1;
	return recv(p->fd, buf, size, 0);
}

void rn_testpeer_flush(struct rn_testpeer *p)
{
	uint8_t buf[2048];

	while (recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
}

void rn_testpeer_initiation(struct rn_testpeer *p, uint32_t index,
			    struct rn_message_handshake_initiation *msg, uint64_t now)
{
	struct timespec ms = { 0, 1000000 };
	uint8_t ts[RN_NOISE_TIMESTAMP_LEN];

	for (rn_noise_tai64n_now(ts); !memcmp(ts, p->last_ts, sizeof(ts)); rn_noise_tai64n_now(ts))
		nanosleep(&ms, NULL);
	memcpy(p->last_ts, ts, sizeof(ts));
	need(rn_noise_create_initiation(&p->hs, &p->id, index, msg), "creating an initiation");
	rn_cookie_add_macs(&p->cookie, msg, sizeof(*msg), now);
}

bool rn_testpeer_handshake(struct rn_testpeer *p, struct rn_wg_device *dev)
{
	struct rn_message_handshake_initiation init;
	struct rn_message_handshake_response resp;
	uint64_t now = rn_now_ns();
	uint32_t index;
	ssize_t n;

	rn_random(&index, sizeof(index));
	index |= 1;
	rn_testpeer_initiation(p, index, &init, now);
	rn_testpeer_send(p, &init, sizeof(init));
	rn_testdev_pump(dev);
	do {
		n = rn_testpeer_recv(p, &resp, sizeof(resp), 1000);
	} while (n > 0 && (n != (ssize_t)sizeof(resp) ||
			   le32toh(resp.header.type) != RN_MESSAGE_HANDSHAKE_RESPONSE));
	if (n != (ssize_t)sizeof(resp) || le32toh(resp.receiver_index) != index ||
	    !rn_noise_consume_response(&p->hs, &p->id, &resp))
		return false;
	rn_noise_keypair_put(p->kp);
	p->kp = rn_noise_derive_keypair(&p->hs, now);
	return p->kp != NULL;
}

size_t rn_testpeer_data(const struct rn_testpeer *p, uint64_t counter, const void *inner,
			size_t len, uint8_t *out, size_t size)
{
	struct rn_message_data *hdr = (struct rn_message_data *)out;

	need(p->kp && size >= RN_MESSAGE_DATA_MIN_LEN + len, "a session and room to seal");
	hdr->header.type = htole32(RN_MESSAGE_DATA);
	hdr->key_idx = htole32(p->kp->remote_index);
	hdr->counter = htole64(counter);
	if (len)
		memcpy(out + RN_MESSAGE_DATA_HEADER_LEN, inner, len);
	need(rn_aead_seal1(out + RN_MESSAGE_DATA_HEADER_LEN, out + RN_MESSAGE_DATA_HEADER_LEN, len,
			   NULL, 0, counter, p->kp->send_key),
	     "sealing");
	return RN_MESSAGE_DATA_MIN_LEN + len;
}

ssize_t rn_testpeer_open(const struct rn_testpeer *p, uint8_t *msg, size_t len)
{
	const struct rn_message_data *hdr = (const struct rn_message_data *)msg;
	uint8_t *body = msg + RN_MESSAGE_DATA_HEADER_LEN;

	if (!p->kp || len < RN_MESSAGE_DATA_MIN_LEN ||
	    le32toh(hdr->header.type) != RN_MESSAGE_DATA ||
	    le32toh(hdr->key_idx) != p->kp->local_index ||
	    !rn_aead_open1(body, body, len - RN_MESSAGE_DATA_HEADER_LEN, NULL, 0,
			   le64toh(hdr->counter), p->kp->recv_key))
		return -1;
	return (ssize_t)(len - RN_MESSAGE_DATA_MIN_LEN);
}

size_t rn_test_ping4(uint8_t *out, const char *src, const char *dst)
{
	memset(out, 0, 28);
	out[0] = 0x45;
	out[3] = 28;
	out[8] = 64;
	out[9] = 1; /* ICMP */
	need(inet_pton(AF_INET, src, out + 12) == 1 && inet_pton(AF_INET, dst, out + 16) == 1,
	     "ping addresses");
	out[20] = 8; /* echo request */
	return 28;
}

void rn_testpair_open(struct rn_testpair *t)
{
	uint8_t priv[32], pub[32];

	rn_x25519_generate(priv);
	need(rn_x25519_public(pub, priv), "the test key pair");
	t->dev = rn_testdev_new(priv, &t->tun);
	rn_testpeer_init(&t->p, pub, t->dev->udp.port);
	t->peer = rn_testdev_add_peer(t->dev, t->p.pub, t->p.port, "100.64.0.2/32", 0);
	rn_wipe(priv, sizeof(priv));
}

void rn_testpair_close(struct rn_testpair *t)
{
	rn_wg_device_stop(t->dev);
	rn_testpeer_free(&t->p);
	close(t->tun);
}
