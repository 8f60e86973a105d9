/* SPDX-License-Identifier: MIT */
/*
 * The client's round-trip measurement against a scripted relay (a UDP socket in the test that
 * answers when told to): no number before the first answer; a REGISTERED held back 50 ms reads
 * as at least 50 ms; with probe_ms, REGISTERs come at that interval while registered; one left
 * unanswered shows in rn_relay_client_unanswered_ms until an answer clears it; a prompt answer
 * pulls the smoothed value down by an eighth of the difference, not all the way.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "relay/client.h"
#include "relay/relay.h"

struct fake {
	int fd;
	char addr[32];
	struct sockaddr_storage peer;
	socklen_t peer_len;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void fake_start(struct fake *f)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);

	f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(f->fd >= 0);
	assert_int_equal(bind(f->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(f->fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(f->addr, sizeof(f->addr), "127.0.0.1:%u", ntohs(sin.sin_port));
}

/* Waits up to ms for a REGISTER from the client; true if one came. */
static bool fake_wait_register(struct fake *f, int ms)
{
	struct pollfd p = { .fd = f->fd, .events = POLLIN };
	uint8_t buf[RN_RELAY_MSG_MAX];
	struct rn_relay_msg m;
	ssize_t n;

	if (poll(&p, 1, ms) != 1)
		return false;
	f->peer_len = sizeof(f->peer);
	n = recvfrom(f->fd, buf, sizeof(buf), 0, (struct sockaddr *)&f->peer, &f->peer_len);
	return n > 0 && rn_relay_msg_decode(buf, (size_t)n, &m) && m.type == RN_RELAY_REGISTER;
}

static void fake_registered(struct fake *f)
{
	struct rn_relay_msg m = { .type = RN_RELAY_REGISTERED, .refresh_s = 20, .lifetime_s = 75 };
	uint8_t out[RN_RELAY_REGISTERED_LEN];
	size_t n = rn_relay_msg_encode(&m, out, sizeof(out));

	assert_int_equal(n, sizeof(out));
	assert_int_equal(sendto(f->fd, out, n, 0, (struct sockaddr *)&f->peer, f->peer_len),
			 (ssize_t)n);
}

static void ignore(void *ctx, const uint8_t src[RN_RELAY_KEY_LEN], const uint8_t *p, size_t len)
{
	(void)ctx;
	(void)src;
	(void)p;
	(void)len;
}

/* Runs the client for ms. */
static void pump(struct rn_relay_client *c, int ms)
{
	for (uint64_t end = now_ms() + (uint64_t)ms; now_ms() < end;) {
		struct pollfd p = { .fd = rn_relay_client_fd(c), .events = POLLIN };

		poll(&p, 1, 5);
		assert_int_equal(rn_relay_client_input(c), 0);
		assert_int_equal(rn_relay_client_tick(c), 0);
	}
}

static void test_rtt(void **state)
{
	struct rn_relay_cred cred = { .expiry = 1 };
	struct rn_relay_client_config cfg = { .cred = &cred, .recv = ignore, .probe_ms = 200 };
	struct rn_relay_client *c;
	struct fake f;
	uint32_t first;
	char err[256];

	(void)state;
	fake_start(&f);
	cfg.server = f.addr;
	c = rn_relay_client_new(&cfg, err, sizeof(err));
	if (!c)
		fail_msg("client: %s", err);
	assert_true(fake_wait_register(&f, 1000));
	assert_int_equal(rn_relay_client_rtt_us(c), 0);
	sleep_ms(50); /* the relay takes its time */
	fake_registered(&f);
	pump(c, 20);
	assert_true(rn_relay_client_registered(c));
	first = rn_relay_client_rtt_us(c);
	assert_true(first >= 50000 && first < 1000000);
	assert_int_equal(rn_relay_client_last_rtt_us(c), first);
	assert_int_equal(rn_relay_client_unanswered_ms(c), 0);

	/* the probe: a REGISTER within probe_ms, left unanswered */
	pump(c, 250);
	assert_true(fake_wait_register(&f, 100));
	pump(c, 300);
	assert_true(rn_relay_client_unanswered_ms(c) >= 250);
	assert_true(rn_relay_client_registered(c)); /* the registration itself still runs */

	/* answered at once: unanswered clears, the smoothed value moves an eighth of the way */
	while (fake_wait_register(&f, 0))
		;
	pump(c, 250);
	assert_true(fake_wait_register(&f, 100));
	fake_registered(&f);
	pump(c, 20);
	assert_int_equal(rn_relay_client_unanswered_ms(c), 0);
	assert_true(rn_relay_client_last_rtt_us(c) < 40000);
	assert_true(rn_relay_client_rtt_us(c) < first);
	assert_true(rn_relay_client_rtt_us(c) > first - first / 8 - 1);
	rn_relay_client_free(c);
	close(f.fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rtt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
