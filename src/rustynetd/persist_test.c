/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for what survives a restart: control.json round trip and mode, refusal of damaged
 * files, netmap.json round trip, forgetting; and the client's URL check and endpoint list.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "rustynetd/persist.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rn-persist-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_text(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void sample(struct rn_login *l)
{
	memset(l, 0, sizeof(*l));
	strcpy(l->server_url, "https://control.example:8443");
	memset(l->tls_pin, 0xab, sizeof(l->tls_pin));
	memset(l->netmap_pub, 0xcd, sizeof(l->netmap_pub));
	strcpy(l->node_token, "rnt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	strcpy(l->hostname, "laptop \"one\"");
	l->node_id = 7;
}

static void test_login_round_trip(void **state)
{
	struct rn_login l, got;
	char err[512], path[128];
	struct stat st;

	(void)state;
	assert_int_equal(rn_persist_login_load(dir, &got, err, sizeof(err)), -ENOENT);
	sample(&l);
	assert_int_equal(rn_persist_login_save(dir, &l, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/" RN_PERSIST_LOGIN_FILE, dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(rn_persist_login_load(dir, &got, err, sizeof(err)), 0);
	assert_memory_equal(&l, &got, sizeof(l));
	/* Saving again replaces it (atomically, no temp file left). */
	l.node_id = 8;
	assert_int_equal(rn_persist_login_save(dir, &l, err, sizeof(err)), 0);
	assert_int_equal(rn_persist_login_load(dir, &got, err, sizeof(err)), 0);
	assert_int_equal(got.node_id, 8);
	snprintf(path, sizeof(path), "%s/." RN_PERSIST_LOGIN_FILE ".tmp", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	rn_login_wipe(&got);
}

static void test_login_damaged(void **state)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"version\":1}",
		"{\"version\":1,\"server_url\":\"http://x\",\"tls_pin\":"
		"\"q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s\",\"netmap_key\":"
		"\"q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s\",\"node_token\":\"rnt_x\","
		"\"hostname\":\"h\",\"node_id\":1}",
		"{\"version\":1,\"server_url\":\"https://x\",\"tls_pin\":\"short\",\"netmap_key\":"
		"\"q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s\",\"node_token\":\"rnt_x\","
		"\"hostname\":\"h\",\"node_id\":1}",
		"{\"version\":1,\"server_url\":\"https://x\",\"tls_pin\":"
		"\"q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s\",\"netmap_key\":"
		"\"q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s\",\"node_token\":\"rnt_x\","
		"\"hostname\":\"h\",\"node_id\":0}",
	};
	struct rn_login got;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_text(RN_PERSIST_LOGIN_FILE, bad[i]);
		err[0] = '\0';
		assert_int_equal(rn_persist_login_load(dir, &got, err, sizeof(err)), -EBADMSG);
		assert_non_null(strstr(err, RN_PERSIST_LOGIN_FILE));
		assert_int_equal(got.node_id, 0);
	}
}

static void test_netmap_and_forget(void **state)
{
	const char text[] = "{\"format\":\"rustynet-netmap/1\"}";
	char *buf = NULL, err[256];
	struct rn_login l;
	size_t len;

	(void)state;
	assert_int_equal(rn_persist_netmap_load(dir, &buf, &len), -ENOENT);
	assert_int_equal(rn_persist_netmap_save(dir, text, strlen(text)), 0);
	assert_int_equal(rn_persist_netmap_load(dir, &buf, &len), 0);
	assert_int_equal(len, strlen(text));
	assert_string_equal(buf, text);
	free(buf);
	sample(&l);
	assert_int_equal(rn_persist_login_save(dir, &l, err, sizeof(err)), 0);
	assert_int_equal(rn_persist_forget(dir), 0);
	assert_int_equal(rn_persist_netmap_load(dir, &buf, &len), -ENOENT);
	assert_int_equal(rn_persist_login_load(dir, &l, err, sizeof(err)), -ENOENT);
	assert_int_equal(rn_persist_forget(dir), 0); /* nothing left: still fine */
}

static void test_url_ok(void **state)
{
	char err[512];

	(void)state;
	assert_true(rn_client_url_ok("https://control.example:8443", err, sizeof(err)));
	assert_true(rn_client_url_ok("https://[2001:db8::1]:443/", err, sizeof(err)));
	assert_false(rn_client_url_ok("http://control.example", err, sizeof(err)));
	assert_non_null(strstr(err, "HTTPS only"));
	assert_false(rn_client_url_ok("https://", err, sizeof(err)));
	assert_false(rn_client_url_ok("https://a b", err, sizeof(err)));
	assert_false(rn_client_url_ok("https://a\nb", err, sizeof(err)));
	assert_false(rn_client_url_ok("control.example", err, sizeof(err)));
}

static void test_endpoints(void **state)
{
	char eps[RN_CLIENT_MAX_ENDPOINTS][64];
	size_t n;

	(void)state;
	n = rn_client_endpoints(NULL, 41641, eps);
	assert_true(n <= RN_CLIENT_MAX_ENDPOINTS);
	for (size_t i = 0; i < n; i++) {
		assert_null(strstr(eps[i], "127.0.0.1"));
		assert_null(strstr(eps[i], "[::1]"));
		assert_null(strstr(eps[i], "fe80"));
		assert_non_null(strstr(eps[i], ":41641"));
	}
}

/* Reflexive endpoints come after the host ones; one equal to a host endpoint is not repeated. */
static void test_endpoints_reflexive(void **state)
{
	char host[RN_CLIENT_MAX_ENDPOINTS][64], eps[RN_CLIENT_MAX_ENDPOINTS][64];
	char refl[2][64] = { "203.0.113.7:40000", "" };
	size_t nh, n;

	(void)state;
	nh = rn_client_host_endpoints(NULL, 41641, host);
	if (nh)
		snprintf(refl[1], sizeof(refl[1]), "%s", host[0]);
	assert_true(rn_client_set_reflexive(refl, nh ? 2 : 1));
	assert_false(rn_client_set_reflexive(refl, nh ? 2 : 1));
	n = rn_client_endpoints(NULL, 41641, eps);
	assert_int_equal(n, nh + 1);
	for (size_t i = 0; i < nh; i++)
		assert_string_equal(eps[i], host[i]);
	assert_string_equal(eps[nh], "203.0.113.7:40000");
	assert_true(rn_client_set_reflexive(NULL, 0));
	assert_int_equal(rn_client_endpoints(NULL, 41641, eps), nh);
}

/* A cached map runs at start only within its server's validity (24 h when it names none). */
static void test_netmap_fresh(void **state)
{
	struct rn_netmap m = { .version = 9, .issued_at = 1767225600 };
	char err[512] = "";

	(void)state;
	assert_int_equal(rn_persist_netmap_fresh(&m, m.issued_at, err, sizeof(err)), 0);
	assert_int_equal(rn_persist_netmap_fresh(&m, m.issued_at + 86400, err, sizeof(err)), 0);
	assert_int_equal(rn_persist_netmap_fresh(&m, m.issued_at + 86401, err, sizeof(err)),
			 -ESTALE);
	assert_non_null(strstr(err, "cached map expired, waiting for the control server"));
	assert_non_null(strstr(err, "version 9 was issued 86401 s ago"));
	assert_non_null(strstr(err, "valid for 86400 s"));
	/* The server's own validity wins, shorter or longer. */
	m.cache_valid_s = 5;
	assert_int_equal(rn_persist_netmap_fresh(&m, m.issued_at + 5, err, sizeof(err)), 0);
	assert_int_equal(rn_persist_netmap_fresh(&m, m.issued_at + 6, err, sizeof(err)), -ESTALE);
	m.cache_valid_s = 7 * 86400;
	assert_int_equal(rn_persist_netmap_fresh(&m, m.issued_at + 86401, err, sizeof(err)), 0);
	/* A clock behind the map's issue time is not "expired" (skew is checked elsewhere). */
	assert_int_equal(rn_persist_netmap_fresh(&m, m.issued_at - 100, err, sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_login_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netmap_and_forget, setup, teardown),
		cmocka_unit_test(test_netmap_fresh),
		cmocka_unit_test(test_url_ok),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_endpoints_reflexive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
