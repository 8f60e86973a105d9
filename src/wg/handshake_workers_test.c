/* SPDX-License-Identifier: MIT */
/*
 * Several handshake workers (rn_receive_handshake_thread, one per CPU in a real device) on one
 * device, fed by the UDP reader's step: initiations from many peers, each sent twice, must be
 * answered once each, with a response that opens; the copy is a replay whichever worker takes
 * it, even when both copies are opened at the same time.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "wg/clock.h"
#include "wg/crypto.h"
#include "wg/test_device.h"

enum {
	PEERS = 48,
	WORKERS = 4,
	COPIES = 2,
};

struct fixture {
	struct rn_wg_device *dev;
	struct rn_testpeer peers[PEERS];
	pthread_t threads[WORKERS];
};

static void start_workers(struct fixture *f)
{
	for (unsigned int i = 0; i < WORKERS; i++)
		assert_int_equal(
		    pthread_create(&f->threads[i], NULL, rn_receive_handshake_thread, f->dev), 0);
}

static void stop_workers(struct fixture *f)
{
	pthread_mutex_lock(&f->dev->hs_lock);
	f->dev->stopping = true;
	pthread_cond_broadcast(&f->dev->hs_cond);
	pthread_mutex_unlock(&f->dev->hs_lock);
	for (unsigned int i = 0; i < WORKERS; i++)
		pthread_join(f->threads[i], NULL);
}

/* The UDP reader's step until n datagrams were sorted into the handshake queue. */
static void read_all(struct rn_wg_device *dev, int n)
{
	uint64_t deadline = rn_now_ns() + 5 * RN_NS_PER_S;
	int got = 0;

	while (got < n && rn_now_ns() < deadline) {
		int r = rn_receive_udp_once(dev);

		if (r > 0)
			got += r;
		else
			assert_true(r == -EAGAIN || r == -EINTR);
	}
	assert_int_equal(got, n);
}

static void test_every_initiation_answered_once(void **state)
{
	struct fixture *f = test_malloc(sizeof(*f));
	uint8_t priv[32], pub[32];
	struct rn_message_handshake_initiation init[PEERS];
	unsigned int answered = 0;

	(void)state;
	rn_x25519_generate(priv);
	assert_true(rn_x25519_public(pub, priv));
	f->dev = rn_testdev_new(priv, NULL);
	for (unsigned int i = 0; i < PEERS; i++) {
		rn_testpeer_init(&f->peers[i], pub, f->dev->udp.port);
		rn_testdev_add_peer(f->dev, f->peers[i].pub, f->peers[i].port, NULL, 0);
		rn_testpeer_initiation(&f->peers[i], 0x1000 + i, &init[i], rn_now_ns());
	}
	start_workers(f);
	/* Both copies back to back: two workers may well open them at once. */
	for (unsigned int i = 0; i < PEERS; i++)
		for (unsigned int c = 0; c < COPIES; c++)
			rn_testpeer_send(&f->peers[i], &init[i], sizeof(init[i]));
	read_all(f->dev, PEERS * COPIES);

	for (unsigned int i = 0; i < PEERS; i++) {
		struct rn_message_handshake_response resp;
		ssize_t n = rn_testpeer_recv(&f->peers[i], &resp, sizeof(resp), 5000);

		assert_int_equal(n, sizeof(resp));
		assert_int_equal(le32toh(resp.header.type), RN_MESSAGE_HANDSHAKE_RESPONSE);
		assert_int_equal(le32toh(resp.receiver_index), 0x1000 + i);
		assert_true(rn_noise_consume_response(&f->peers[i].hs, &f->peers[i].id, &resp));
		answered++;
	}
	assert_int_equal(answered, PEERS);
	/* The copies were replays: every queued message was worked, and none was answered. */
	for (uint64_t deadline = rn_now_ns() + 5 * RN_NS_PER_S; rn_now_ns() < deadline;) {
		unsigned int left;

		pthread_mutex_lock(&f->dev->hs_lock);
		left = f->dev->hs_count;
		pthread_mutex_unlock(&f->dev->hs_lock);
		if (!left)
			break;
		nanosleep(&(struct timespec){ 0, 10 * RN_NS_PER_MS }, NULL);
	}
	stop_workers(f);
	for (unsigned int i = 0; i < PEERS; i++) {
		uint8_t buf[256];

		assert_int_equal(rn_testpeer_recv(&f->peers[i], buf, sizeof(buf), 0), -1);
		rn_testpeer_free(&f->peers[i]);
	}
	rn_wg_device_stop(f->dev);
	rn_wipe(priv, sizeof(priv));
	test_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_initiation_answered_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
