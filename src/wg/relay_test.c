/* SPDX-License-Identifier: MIT */
/*
 * Relay endpoints (device.h): two devices that can only talk through the owner's relay hook
 * complete a handshake and exchange data; a relayed data message for no session is handled as
 * one from the socket; and probe endpoints move a relayed peer to a direct path.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "wg/clock.h"
#include "wg/crypto.h"
#include "wg/test_device.h"

enum { RELAYQ_LEN = 16 };

/* What the hook was handed: a bounded queue, as the real owner keeps. */
struct relayq {
	int n;
	struct {
		uint8_t key[32];
		union rn_wg_endpoint to;
		size_t len;
		uint8_t buf[2048];
	} d[RELAYQ_LEN];
};

static void hook(void *ctx, const uint8_t key[32], const union rn_wg_endpoint *to, const void *buf,
		 size_t len)
{
	struct relayq *q = ctx;

	if (q->n == RELAYQ_LEN || len > sizeof(q->d[0].buf))
		return;
	memcpy(q->d[q->n].key, key, 32);
	q->d[q->n].to = *to;
	q->d[q->n].len = len;
	memcpy(q->d[q->n].buf, buf, len);
	q->n++;
}

static union rn_wg_endpoint relay_ep(uint8_t i)
{
	union rn_wg_endpoint ep = { .sin = { .sin_family = AF_INET, .sin_port = htons(1) } };

	ep.sin.sin_addr.s_addr = htonl(RN_WG_RELAY_NET | i);
	return ep;
}

static uint32_t type_of(const uint8_t *buf)
{
	return buf[0];
}

/* Hands everything queued in q to dev as the relay would, then lets dev handle it. */
static int deliver(struct relayq *q, struct rn_wg_device *dev, const union rn_wg_endpoint *from)
{
	int n = q->n;

	for (int i = 0; i < n; i++)
		assert_int_equal(rn_wg_device_relay_input(dev, from, q->d[i].buf, q->d[i].len), 0);
	q->n = 0;
	rn_testdev_pump(dev);
	return n;
}

static void keypair_of(uint8_t priv[32], uint8_t pub[32])
{
	rn_x25519_generate(priv);
	assert_true(rn_x25519_public(pub, priv));
}

struct two {
	uint8_t priv_a[32], pub_a[32], priv_b[32], pub_b[32];
	struct rn_wg_device *a, *b;
	int tun_a, tun_b;
	struct rn_wg_peer *a_b, *b_a; /* a's peer b, b's peer a */
	struct relayq qa, qb;	      /* what a and b handed their hooks */
};

/* a knows b at the relay endpoint 127.127.0.1:1; b knows no endpoint for a. */
static void two_open(struct two *t)
{
	union rn_wg_endpoint ep = relay_ep(1);

	memset(t, 0, sizeof(*t));
	keypair_of(t->priv_a, t->pub_a);
	keypair_of(t->priv_b, t->pub_b);
	t->a = rn_testdev_new(t->priv_a, &t->tun_a);
	t->b = rn_testdev_new(t->priv_b, &t->tun_b);
	t->a_b = rn_testdev_add_peer(t->a, t->pub_b, 0, "100.64.0.2/32", 0);
	t->b_a = rn_testdev_add_peer(t->b, t->pub_a, 0, "100.64.0.1/32", 0);
	assert_int_equal(rn_wg_device_update_endpoint(t->a, t->pub_b, &ep), 0);
	rn_wg_device_set_relay_hook(t->a, hook, &t->qa);
	rn_wg_device_set_relay_hook(t->b, hook, &t->qb);
}

static void two_close(struct two *t)
{
	rn_wg_device_stop(t->a);
	rn_wg_device_stop(t->b);
	close(t->tun_a);
	close(t->tun_b);
}

static ssize_t tun_read(int fd, uint8_t *buf, size_t size)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 1000) != 1)
		return -1;
	return read(fd, buf, size);
}

static void stage(struct rn_wg_peer *peer, const uint8_t *pkt, size_t len)
{
	pthread_mutex_lock(&peer->lock);
	rn_peer_stage_packet(peer, pkt, len);
	pthread_mutex_unlock(&peer->lock);
}

static void test_handshake_and_data_through_the_hook(void **state)
{
	union rn_wg_endpoint from_a = relay_ep(1), from_b = relay_ep(1);
	uint8_t ping[64], got[2048];
	size_t len;
	struct two t;

	(void)state;
	two_open(&t);
	len = rn_test_ping4(ping, "100.64.0.1", "100.64.0.2");
	stage(t.a_b, ping, len);
	assert_int_equal(rn_wg_device_initiate(t.a, t.pub_b), 0);
	/* The initiation went to the hook, addressed to b, and not on the socket. */
	assert_int_equal(t.qa.n, 1);
	assert_int_equal(type_of(t.qa.d[0].buf), RN_MESSAGE_HANDSHAKE_INITIATION);
	assert_memory_equal(t.qa.d[0].key, t.pub_b, 32);
	assert_int_equal(t.qa.d[0].to.sin.sin_addr.s_addr, from_a.sin.sin_addr.s_addr);
	assert_int_equal(rn_testdev_pump(t.b), 0);

	/* b answers through its hook, to the relay endpoint the initiation came from. */
	assert_int_equal(deliver(&t.qa, t.b, &from_a), 1);
	assert_int_equal(t.qb.n, 1);
	assert_int_equal(type_of(t.qb.d[0].buf), RN_MESSAGE_HANDSHAKE_RESPONSE);
	assert_memory_equal(t.qb.d[0].key, t.pub_a, 32);
	assert_true(rn_wg_is_relay_endpoint(&t.b_a->endpoint));

	/* a completes and sends the staged ping as data, through the hook again. */
	assert_int_equal(deliver(&t.qb, t.a, &from_b), 1);
	assert_int_equal(t.qa.n, 1);
	assert_int_equal(type_of(t.qa.d[0].buf), RN_MESSAGE_DATA);
	assert_int_equal(rn_testdev_pump(t.a), 0);

	/* b decrypts it to its TUN and confirms the session with a keepalive. */
	assert_int_equal(deliver(&t.qa, t.b, &from_a), 1);
	assert_int_equal(tun_read(t.tun_b, got, sizeof(got)), (ssize_t)len);
	assert_memory_equal(got, ping, len);
	assert_int_equal(t.qb.n, 1);
	assert_int_equal(type_of(t.qb.d[0].buf), RN_MESSAGE_DATA);

	/* And back: b's ping reaches a's TUN. */
	t.qb.n = 0;
	len = rn_test_ping4(ping, "100.64.0.2", "100.64.0.1");
	stage(t.b_a, ping, len);
	pthread_mutex_lock(&t.b_a->lock);
	rn_send_staged_locked(t.b_a, rn_now_ns());
	pthread_mutex_unlock(&t.b_a->lock);
	assert_true(t.qb.n >= 1);
	deliver(&t.qb, t.a, &from_b);
	assert_int_equal(tun_read(t.tun_a, got, sizeof(got)), (ssize_t)len);
	assert_memory_equal(got, ping, len);
	two_close(&t);
}

static void test_relay_input_refuses_other_sources(void **state)
{
	union rn_wg_endpoint ep = { .sin = { .sin_family = AF_INET, .sin_port = htons(1) } };
	uint8_t msg[148] = { RN_MESSAGE_HANDSHAKE_INITIATION };
	struct two t;

	(void)state;
	two_open(&t);
	ep.sin.sin_addr.s_addr = htonl(0x7f000001);
	assert_int_equal(rn_wg_device_relay_input(t.a, &ep, msg, sizeof(msg)), -EINVAL);
	ep = relay_ep(1);
	assert_int_equal(rn_wg_device_relay_input(t.a, &ep, msg, 0), -EINVAL);
	/* Garbage from a relay is dropped like garbage from the socket. */
	assert_int_equal(rn_wg_device_relay_input(t.a, &ep, msg, sizeof(msg)), 0);
	rn_testdev_pump(t.a);
	assert_int_equal(t.qa.n, 0);
	two_close(&t);
}

/*
 * A data message for no session of ours from the relay endpoint of a peer: the device asks
 * that peer for a handshake, through the hook, as it would one at a socket endpoint. From a
 * relay endpoint no peer has, nothing is sent.
 */
static void test_unknown_session_from_a_relay_endpoint(void **state)
{
	union rn_wg_endpoint mine = relay_ep(1), other = relay_ep(2);
	uint8_t msg[RN_MESSAGE_DATA_MIN_LEN + 16] = { RN_MESSAGE_DATA, 0, 0, 0, 0x55, 0x66 };
	struct two t;

	(void)state;
	two_open(&t);
	assert_int_equal(rn_wg_device_relay_input(t.a, &other, msg, sizeof(msg)), 0);
	rn_testdev_pump(t.a);
	assert_int_equal(t.qa.n, 0);
	usleep(2000); /* past the device's limit on such searches */
	assert_int_equal(rn_wg_device_relay_input(t.a, &mine, msg, sizeof(msg)), 0);
	rn_testdev_pump(t.a);
	assert_int_equal(t.qa.n, 1);
	assert_int_equal(type_of(t.qa.d[0].buf), RN_MESSAGE_HANDSHAKE_INITIATION);
	assert_memory_equal(t.qa.d[0].key, t.pub_b, 32);
	two_close(&t);
}

/*
 * Relay -> direct: a's peer b is at the relay, with b's socket as a probe endpoint. The
 * initiation goes both ways; b answers the direct copy first and refuses the relayed one as a
 * replay; a's endpoint for b roams to b's socket, and b's for a to a's. Relayed data that
 * arrives after that does not roam a back onto the relay.
 */
static void test_probe_moves_a_relayed_peer_to_direct(void **state)
{
	union rn_wg_endpoint relay = relay_ep(1), direct = { .sin = { .sin_family = AF_INET } };
	uint64_t rx_before;
	struct two t;

	(void)state;
	two_open(&t);
	direct.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	direct.sin.sin_port = htons(t.b->udp.port);
	assert_int_equal(rn_wg_device_set_probe_endpoints(t.a, t.pub_a, &direct, 1), -ENOENT);
	assert_int_equal(rn_wg_device_set_probe_endpoints(t.a, t.pub_b, &direct, 9), -EINVAL);
	assert_int_equal(rn_wg_device_set_probe_endpoints(t.a, t.pub_b, &direct, 1), 0);
	assert_int_equal(rn_wg_device_initiate(t.a, t.pub_b), 0);
	assert_int_equal(t.qa.n, 1);

	/* The direct copy first: answered on the socket, and b's endpoint for a is direct. */
	usleep(20000);
	assert_int_equal(rn_testdev_pump(t.b), 1);
	assert_int_equal(t.qb.n, 0);
	assert_false(rn_wg_is_relay_endpoint(&t.b_a->endpoint));
	/* The relayed copy: a replay, not answered. */
	assert_int_equal(deliver(&t.qa, t.b, &relay), 1);
	assert_int_equal(t.qb.n, 0);

	/* a gets the answer from b's socket: its endpoint roams there, off the relay. */
	usleep(20000);
	assert_int_equal(rn_testdev_pump(t.a), 1);
	assert_int_equal(t.a_b->endpoint.sin.sin_port, direct.sin.sin_port);
	assert_false(rn_wg_is_relay_endpoint(&t.a_b->endpoint));
	assert_true(atomic_load(&t.a_b->last_handshake_sec) > 0);

	/* Data still in flight through the relay arrives later: it does not move a back. */
	usleep(20000);
	assert_int_equal(rn_testdev_pump(t.b), 1); /* a's keepalive confirms b's session */
	usleep(20000);
	assert_int_equal(rn_testdev_pump(t.a), 1); /* and b's answering keepalive, direct */
	assert_int_equal(rn_wg_device_update_endpoint(t.b, t.pub_a, &relay), 0);
	assert_int_equal(rn_wg_device_poke(t.b, t.pub_a), 0);
	assert_int_equal(t.qb.n, 1);
	assert_int_equal(type_of(t.qb.d[0].buf), RN_MESSAGE_DATA);
	rx_before = atomic_load(&t.a_b->rx_bytes);
	assert_int_equal(deliver(&t.qb, t.a, &relay), 1);
	assert_true(atomic_load(&t.a_b->rx_bytes) > rx_before); /* it was authenticated */
	assert_int_equal(t.a_b->endpoint.sin.sin_port, direct.sin.sin_port);

	assert_int_equal(rn_wg_device_set_probe_endpoints(t.a, t.pub_b, NULL, 0), 0);
	assert_int_equal(t.a_b->n_probes, 0);
	two_close(&t);
}

/*
 * The answering side opens the path too: b knows a at the relay, with a's socket as a probe
 * endpoint, and a's initiation reaches b only through the relay (b's NAT lets nothing in). b's
 * response goes to a's socket first, then to the relay; a completes the handshake from b's
 * socket and roams there; the relayed copy, second, changes nothing.
 */
static void test_answer_goes_to_probes_too(void **state)
{
	union rn_wg_endpoint relay = relay_ep(1), direct_a = { .sin = { .sin_family = AF_INET } };
	struct two t;

	(void)state;
	two_open(&t);
	direct_a.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	direct_a.sin.sin_port = htons(t.a->udp.port);
	assert_int_equal(rn_wg_device_update_endpoint(t.b, t.pub_a, &relay), 0);
	assert_int_equal(rn_wg_device_set_probe_endpoints(t.b, t.pub_a, &direct_a, 1), 0);
	assert_int_equal(rn_wg_device_initiate(t.a, t.pub_b), 0);
	assert_int_equal(t.qa.n, 1);
	assert_int_equal(deliver(&t.qa, t.b, &relay), 1);
	assert_int_equal(t.qb.n, 1); /* the relay's copy */
	assert_int_equal(type_of(t.qb.d[0].buf), RN_MESSAGE_HANDSHAKE_RESPONSE);

	usleep(20000);
	assert_int_equal(rn_testdev_pump(t.a), 1); /* the direct copy */
	assert_true(atomic_load(&t.a_b->last_handshake_sec) > 0);
	assert_false(rn_wg_is_relay_endpoint(&t.a_b->endpoint));
	assert_int_equal(t.a_b->endpoint.sin.sin_port, htons(t.b->udp.port));
	assert_int_equal(deliver(&t.qb, t.a, &relay), 1);
	assert_int_equal(t.a_b->endpoint.sin.sin_port, htons(t.b->udp.port));
	two_close(&t);
}

/*
 * Whitepaper 6.5 timers across the send thread's window: b answers a's data while a's send
 * thread is still between its send and its bookkeeping (as under load). The answer must still
 * count: a's no-reply timer stays off (else a new handshake 15 s after the traffic ends), and
 * the keepalive a owes b for b's data stays due (else b's no-reply timer makes one).
 */
struct racing {
	struct two *t;
	atomic_bool answered;
};

static void answer_at_once(void *ctx, const uint8_t key[32], const union rn_wg_endpoint *to,
			   const void *buf, size_t len)
{
	struct racing *r = ctx;
	struct two *t = r->t;
	union rn_wg_endpoint relay = relay_ep(1);
	uint8_t ping[64];
	size_t n;

	(void)key;
	(void)to;
	if (type_of(buf) != RN_MESSAGE_DATA || atomic_load(&r->answered))
		return;
	assert_int_equal(rn_wg_device_relay_input(t->b, &relay, buf, len), 0);
	rn_testdev_pump(t->b);
	n = rn_test_ping4(ping, "100.64.0.2", "100.64.0.1");
	stage(t->b_a, ping, n);
	pthread_mutex_lock(&t->b_a->lock);
	rn_send_staged_locked(t->b_a, rn_now_ns());
	pthread_mutex_unlock(&t->b_a->lock);
	assert_int_equal(deliver(&t->qb, t->a, &relay), 1);
	atomic_store(&r->answered, true);
}

static void test_answer_inside_the_send_window(void **state)
{
	union rn_wg_endpoint relay = relay_ep(1);
	uint8_t ping[64], got[2048];
	struct racing r = { 0 };
	uint64_t one = 1;
	pthread_t tx;
	size_t len;
	struct two t;

	(void)state;
	two_open(&t);
	r.t = &t;
	assert_int_equal(rn_wg_device_initiate(t.a, t.pub_b), 0);
	assert_int_equal(deliver(&t.qa, t.b, &relay), 1);
	assert_int_equal(deliver(&t.qb, t.a, &relay), 1); /* a: response and its keepalive */
	assert_int_equal(deliver(&t.qa, t.b, &relay), 1); /* b: the session confirmed */
	t.qb.n = 0;
	rn_wg_device_set_relay_hook(t.a, answer_at_once, &r);
	t.a->stop_fd = eventfd(0, EFD_CLOEXEC); /* the test device has none: no threads */
	assert_true(t.a->stop_fd >= 0);

	assert_int_equal(pthread_create(&tx, NULL, rn_send_tun_thread, t.a), 0);
	len = rn_test_ping4(ping, "100.64.0.1", "100.64.0.2");
	assert_int_equal(write(t.tun_a, ping, len), (ssize_t)len);
	for (int i = 0; i < 200 && !atomic_load(&r.answered); i++)
		usleep(10000);
	t.a->stopping = true;
	assert_int_equal(write(t.a->stop_fd, &one, sizeof(one)), (ssize_t)sizeof(one));
	assert_int_equal(pthread_join(tx, NULL), 0);
	assert_true(atomic_load(&r.answered));
	assert_int_equal(tun_read(t.tun_b, got, sizeof(got)), (ssize_t)len);
	assert_int_equal(tun_read(t.tun_a, got, sizeof(got)), (ssize_t)len); /* b's answer */

	pthread_mutex_lock(&t.a_b->lock);
	assert_int_equal(t.a_b->timer_new_handshake, 0);
	assert_int_not_equal(t.a_b->timer_send_keepalive, 0);
	pthread_mutex_unlock(&t.a_b->lock);
	two_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_and_data_through_the_hook),
		cmocka_unit_test(test_relay_input_refuses_other_sources),
		cmocka_unit_test(test_unknown_session_from_a_relay_endpoint),
		cmocka_unit_test(test_probe_moves_a_relayed_peer_to_direct),
		cmocka_unit_test(test_answer_goes_to_probes_too),
		cmocka_unit_test(test_answer_inside_the_send_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
