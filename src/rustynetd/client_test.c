/* SPDX-License-Identifier: MIT */
/*
 * The control client's trust and parsing: a libcurl that cannot pin the server's key makes no
 * connection at all (the fault is injected with the test hook RUSTYNETD_TEST_NO_PINNING, which
 * needs -Dtest_hooks=true); the answer to the enrollment challenge is parsed strictly.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "rustynetd/client.h"

/* A TCP listener on 127.0.0.1 that counts and closes every connection. */
struct listener {
	int fd;
	uint16_t port;
	atomic_int accepted;
	atomic_bool stop;
	pthread_t thread;
};

static void *listener_run(void *arg)
{
	struct listener *l = arg;

	while (!atomic_load(&l->stop)) {
		struct pollfd p = { .fd = l->fd, .events = POLLIN };
		int c;

		if (poll(&p, 1, 50) == 1 && (c = accept(l->fd, NULL, NULL)) >= 0) {
			atomic_fetch_add(&l->accepted, 1);
			close(c);
		}
	}
	return NULL;
}

static void listener_start(struct listener *l)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);

	memset(l, 0, sizeof(*l));
	l->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(l->fd >= 0);
	assert_int_equal(bind(l->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l->fd, 16), 0);
	assert_int_equal(getsockname(l->fd, (struct sockaddr *)&sin, &len), 0);
	l->port = ntohs(sin.sin_port);
	assert_int_equal(pthread_create(&l->thread, NULL, listener_run, l), 0);
}

static void listener_stop(struct listener *l)
{
	atomic_store(&l->stop, true);
	pthread_join(l->thread, NULL);
	close(l->fd);
}

static void test_no_pinning_no_connection(void **state)
{
	struct listener l;
	struct rn_login login = { 0 };
	char err[RN_CLIENT_ERR_MAX];
	enum rn_client_failure f;

	(void)state;
#ifndef RN_TEST_HOOKS
	skip(); /* the fault needs the hook: meson -Dtest_hooks=true */
#endif
	listener_start(&l);
	snprintf(login.server_url, sizeof(login.server_url), "https://127.0.0.1:%u", l.port);
	snprintf(login.node_token, sizeof(login.node_token), "rnt_x");
	/* alive: without the fault the request does reach the listener (and fails there) */
	unsetenv("RUSTYNETD_TEST_NO_PINNING");
	f = rn_client_logout(&login, err, sizeof(err));
	assert_int_not_equal(f, RN_CLIENT_OK);
	assert_true(atomic_load(&l.accepted) >= 1);
	/* a libcurl that cannot pin: refused before any connection */
	atomic_store(&l.accepted, 0);
	setenv("RUSTYNETD_TEST_NO_PINNING", "1", 1);
	f = rn_client_logout(&login, err, sizeof(err));
	unsetenv("RUSTYNETD_TEST_NO_PINNING");
	assert_int_equal(f, RN_CLIENT_UNREACHABLE);
	assert_non_null(strstr(err, "cannot pin the control server's key"));
	usleep(200 * 1000); /* a connection would have been counted by now */
	assert_int_equal(atomic_load(&l.accepted), 0);
	listener_stop(&l);
}

/* A poll's 200 is calls only when it is exactly {"calls": [...]}; anything else is a map. */
static void test_calls_parse(void **state)
{
	static const char calls[] = "{\"calls\":[{\"from\":3},{\"from\":0},{\"from\":\"x\"},"
				    "7,{\"from\":9}]}";
	static const char env[] = "{\"payload\":\"e30\",\"signature\":\"AA\"}";
	uint64_t from[2];
	size_t n;

	(void)state;
	assert_true(rn_client_calls_parse(calls, strlen(calls), from, 2, &n));
	assert_int_equal(n, 2);
	assert_int_equal(from[0], 3); /* ill-formed entries skipped */
	assert_int_equal(from[1], 9);
	assert_true(rn_client_calls_parse("{\"calls\":[]}", 12, from, 2, &n));
	assert_int_equal(n, 0);
	assert_false(rn_client_calls_parse(env, strlen(env), from, 2, &n));
	assert_false(rn_client_calls_parse("{\"calls\":[],\"payload\":1}", 24, from, 2, &n));
	assert_false(rn_client_calls_parse("{\"calls\":{}}", 12, from, 2, &n));
	assert_false(rn_client_calls_parse("garbage", 7, from, 2, &n));
	assert_false(rn_client_calls_parse(NULL, 0, from, 2, &n));
	assert_int_equal(n, 0);
}

static void test_challenge_parse(void **state)
{
	static const char good[] =
	    "{\"nonce\":\"paWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaU\","
	    "\"server_key\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\","
	    "\"expires_in\":60}";
	static const char *const bad[] = {
		"",
		"[]",
		"{}",
		"{\"nonce\":\"paWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaU\"}",
		/* nonce one character short, then not base64url */
		"{\"nonce\":\"paWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpa\","
		"\"server_key\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\"}",
		"{\"nonce\":\"paWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWl+aU\","
		"\"server_key\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\"}",
		/* key without its '=', of 33 bytes, not a string */
		"{\"nonce\":\"paWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaU\","
		"\"server_key\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE\"}",
		"{\"nonce\":\"paWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaU\","
		"\"server_key\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB\"}",
		"{\"nonce\":\"paWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaU\",\"server_key\":1}",
	};
	struct rn_client_challenge ch;

	(void)state;
	assert_true(rn_client_challenge_parse(good, strlen(good), &ch));
	assert_int_equal(ch.nonce[0], 0xa5);
	assert_int_equal(ch.server_key[31], 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rn_client_challenge_parse(bad[i], strlen(bad[i]), &ch))
			fail_msg("accepted %s", bad[i]);
	assert_false(rn_client_challenge_parse(NULL, 0, &ch));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_pinning_no_connection),
		cmocka_unit_test(test_challenge_parse),
		cmocka_unit_test(test_calls_parse),
	};
	int ret;

	if (rn_client_global_init())
		return 1;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	rn_client_global_cleanup();
	return ret;
}
