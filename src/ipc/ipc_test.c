/* SPDX-License-Identifier: MIT */
/*
 * Local API framing tests over a socketpair: a round trip, and frames that are oversized,
 * truncated, empty or not JSON objects are refused with the right error and no crash.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipc/ipc.h"

struct pair {
	int a, b;
};

static int setup(void **state)
{
	struct pair *p = malloc(sizeof(*p));
	int fds[2];

	assert_non_null(p);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
	p->a = fds[0];
	p->b = fds[1];
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;

	if (p->a >= 0)
		close(p->a);
	if (p->b >= 0)
		close(p->b);
	free(p);
	return 0;
}

static void send_raw(int fd, uint32_t len, const char *body, size_t body_len)
{
	uint8_t hdr[4] = { len >> 24, len >> 16, len >> 8, len };

	assert_int_equal(write(fd, hdr, 4), 4);
	if (body_len)
		assert_int_equal(write(fd, body, body_len), (ssize_t)body_len);
}

static void test_round_trip(void **state)
{
	struct pair *p = *state;
	json_t *req, *got, *args, *rep;
	const char *cmd;

	req = rn_ipc_request_new("status", json_pack("{s:b}", "verbose", 1));
	assert_non_null(req);
	assert_int_equal(rn_ipc_send(p->a, req, 1000), 0);
	assert_int_equal(rn_ipc_recv(p->b, &got, 1000), 0);
	assert_true(json_equal(req, got));
	assert_true(rn_ipc_request_parse(got, &cmd, &args));
	assert_string_equal(cmd, "status");
	assert_true(json_is_true(json_object_get(args, "verbose")));
	json_decref(got);
	json_decref(req);

	rep = rn_ipc_reply_error("no such command \"%s\"", "bogus");
	assert_int_equal(rn_ipc_send(p->b, rep, 1000), 0);
	assert_int_equal(rn_ipc_recv(p->a, &got, 1000), 0);
	assert_true(json_is_false(json_object_get(got, "ok")));
	assert_string_equal(json_string_value(json_object_get(got, "error")),
			    "no such command \"bogus\"");
	json_decref(got);
	json_decref(rep);
}

static void test_oversized(void **state)
{
	struct pair *p = *state;
	json_t *got = (json_t *)1;

	send_raw(p->a, RN_IPC_MAX_MSG_BYTES + 1, NULL, 0);
	assert_int_equal(rn_ipc_recv(p->b, &got, 1000), -EMSGSIZE);
	assert_null(got);
	send_raw(p->a, 0xffffffffu, NULL, 0);
	assert_int_equal(rn_ipc_recv(p->b, &got, 1000), -EMSGSIZE);
}

static void test_oversized_send(void **state)
{
	struct pair *p = *state;
	size_t n = RN_IPC_MAX_MSG_BYTES + 16;
	char *big = malloc(n + 1);
	json_t *msg;

	assert_non_null(big);
	memset(big, 'x', n);
	big[n] = '\0';
	msg = json_pack("{s:s}", "blob", big);
	assert_int_equal(rn_ipc_send(p->a, msg, 1000), -EMSGSIZE);
	json_decref(msg);
	free(big);
}

static void test_empty_frame(void **state)
{
	struct pair *p = *state;
	json_t *got;

	send_raw(p->a, 0, NULL, 0);
	assert_int_equal(rn_ipc_recv(p->b, &got, 1000), -EMSGSIZE);
}

static void test_truncated_body(void **state)
{
	struct pair *p = *state;
	json_t *got;

	send_raw(p->a, 100, "{\"cmd\":", 7);
	close(p->a);
	p->a = -1;
	assert_int_equal(rn_ipc_recv(p->b, &got, 1000), -EPROTO);
	assert_null(got);
}

static void test_truncated_header(void **state)
{
	struct pair *p = *state;
	json_t *got;

	assert_int_equal(write(p->a, "\0\0", 2), 2);
	close(p->a);
	p->a = -1;
	assert_int_equal(rn_ipc_recv(p->b, &got, 1000), -EPROTO);
}

static void test_closed(void **state)
{
	struct pair *p = *state;
	json_t *got;

	close(p->a);
	p->a = -1;
	assert_int_equal(rn_ipc_recv(p->b, &got, 1000), -ECONNRESET);
}

static void test_slow_peer_times_out(void **state)
{
	struct pair *p = *state;
	json_t *got;

	send_raw(p->a, 50, "{", 1);
	assert_int_equal(rn_ipc_recv(p->b, &got, 50), -ETIMEDOUT);
}

static void test_garbage(void **state)
{
	static const char *const bad[] = {
		"not json",	     "[1,2,3]",		  "\"str\"",
		"{\"a\":1,\"a\":2}", "{\"a\":1}trailing", "{\"a\":",
	};
	struct pair *p = *state;
	json_t *got;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		send_raw(p->a, (uint32_t)strlen(bad[i]), bad[i], strlen(bad[i]));
		assert_int_equal(rn_ipc_recv(p->b, &got, 1000), -EPROTO);
		assert_null(got);
	}
}

static void test_request_shape(void **state)
{
	json_t *args, *r;
	const char *cmd;

	(void)state;
	r = json_pack("{s:i}", "cmd", 3);
	assert_false(rn_ipc_request_parse(r, &cmd, &args));
	json_decref(r);
	r = json_pack("{s:s, s:i}", "cmd", "down", "args", 1);
	assert_false(rn_ipc_request_parse(r, &cmd, &args));
	json_decref(r);
	r = json_pack("{s:s}", "cmd", "down");
	assert_true(rn_ipc_request_parse(r, &cmd, &args));
	assert_null(args);
	json_decref(r);
}

static void test_connect_missing(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(rn_ipc_connect("/nonexistent/rn.sock", 100, err, sizeof(err)), -ENOENT);
	assert_non_null(
	    strstr(err, "rustynetd is not running (no socket at /nonexistent/rn.sock)"));
	assert_non_null(strstr(err, "rustynetd --state DIR"));
}

/* A request's strings, nested too, are zeroed in place; its shape stays. */
static void test_json_wipe(void **state)
{
	json_t *req = json_pack("{s:s, s:{s:s, s:[s, i]}}", "cmd", "up", "args", "auth_key",
				"rnk1.secret", "list", "second-secret", 7);
	const char *key =
	    json_string_value(json_object_get(json_object_get(req, "args"), "auth_key"));
	json_t *list = json_object_get(json_object_get(req, "args"), "list");
	const char *second = json_string_value(json_array_get(list, 0));
	void *(*m)(size_t);
	void (*f)(void *);

	(void)state;
	assert_non_null(req);
	assert_string_equal(key, "rnk1.secret"); /* alive */
	rn_ipc_json_wipe(req);
	for (size_t i = 0; i < strlen("rnk1.secret"); i++)
		assert_int_equal(key[i], 0);
	for (size_t i = 0; i < strlen("second-secret"); i++)
		assert_int_equal(second[i], 0);
	assert_int_equal(json_string_length(json_array_get(list, 0)), strlen("second-secret"));
	assert_int_equal(json_integer_value(json_array_get(list, 1)), 7);
	rn_ipc_json_wipe(NULL);
	json_decref(req);
	/* main installed the zeroing free: jansson uses it (the round trips ran under it) */
	json_get_alloc_funcs(&m, &f);
	assert_ptr_equal(m, malloc);
	assert_ptr_not_equal(f, free);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_send, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_peer_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test(test_request_shape),
		cmocka_unit_test(test_connect_missing),
		cmocka_unit_test(test_json_wipe),
	};

	rn_ipc_json_wipe_frees();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
