/* SPDX-License-Identifier: MIT */
/* Unit tests for reading `up`'s auth key from a file or a pipe (authkey_input.h). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "rustynet/authkey_input.h"

#define KEY "rnk1.rnk_secret.pin.key"
#define BUF 32

static char dir[] = "/tmp/authkey_input_test.XXXXXX";

static const char *put(const char *name, const void *data, size_t len, mode_t mode)
{
	static char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

/* The buffer is all zero: nothing of a refused key is left in it. */
static bool all_zero(const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void test_file_contents(void **state)
{
	static const struct {
		const char *data;
		size_t len;
		int want;
		const char *key;     /* on success */
		const char *err_has; /* on failure */
	} cases[] = {
		{ KEY, sizeof(KEY) - 1, 0, KEY, NULL },
		{ KEY "\n", sizeof(KEY), 0, KEY, NULL },
		{ KEY "\r\n", sizeof(KEY) + 1, 0, KEY, NULL },
		{ KEY "\n\n", sizeof(KEY) + 1, 0, KEY, NULL },
		{ "", 0, -ENODATA, NULL, "is empty" },
		{ "\n", 1, -ENODATA, NULL, "is empty" },
		{ KEY "\nsecond line\n", sizeof(KEY) + 12, -EINVAL, NULL, "more than one line" },
		{ "rnk1.\0rest", 10, -EINVAL, NULL, "NUL byte" },
		{ KEY "-this-is-far-too-long-for-the-buffer\n", sizeof(KEY) + 36, -EMSGSIZE, NULL,
		  "more than an auth key" },
	};
	char out[BUF], err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = put("key", cases[i].data, cases[i].len, 0600);
		int r;

		memset(out, 'x', sizeof(out));
		err[0] = '\0';
		r = rn_cli_authkey_read_file(path, out, sizeof(out), err, sizeof(err));
		if (r != cases[i].want)
			fail_msg("case %zu: got %d (%s), want %d", i, r, err, cases[i].want);
		if (!r) {
			assert_string_equal(out, cases[i].key);
			continue;
		}
		if (!strstr(err, cases[i].err_has) || !strstr(err, path))
			fail_msg("case %zu: error \"%s\" lacks \"%s\" or the path", i, err,
				 cases[i].err_has);
		if (!all_zero(out, sizeof(out)))
			fail_msg("case %zu: the refused key's bytes are left in the buffer", i);
		if (strstr(err, "rnk_secret"))
			fail_msg("case %zu: the error quotes the key: %s", i, err);
	}
}

static void test_file_access(void **state)
{
	char out[BUF], err[256], path[300];

	(void)state;
	/* Readable by group or others: refused like ssh's private keys, before any byte is read */
	for (mode_t m = 0604; m <= 0640; m += 036) {
		const char *p = put("open", KEY "\n", sizeof(KEY), m);

		memset(out, 'x', sizeof(out));
		assert_int_equal(rn_cli_authkey_read_file(p, out, sizeof(out), err, sizeof(err)),
				 -EPERM);
		assert_non_null(strstr(err, "chmod 600"));
		assert_true(all_zero(out, sizeof(out)));
	}
	/* 0400 is fine */
	assert_int_equal(rn_cli_authkey_read_file(put("ro", KEY, sizeof(KEY) - 1, 0400), out,
						  sizeof(out), err, sizeof(err)),
			 0);
	assert_string_equal(out, KEY);
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(rn_cli_authkey_read_file(path, out, sizeof(out), err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "missing"));
	assert_int_equal(rn_cli_authkey_read_file(dir, out, sizeof(out), err, sizeof(err)),
			 -EISDIR);
}

/* A pipe (standard input): one line is read, what follows stays unread. */
static void test_pipe(void **state)
{
	char out[BUF], err[256], rest[16] = { 0 };
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], KEY "\nnext", sizeof(KEY) + 4), (ssize_t)sizeof(KEY) + 4);
	close(p[1]);
	assert_int_equal(
	    rn_cli_authkey_read_fd(p[0], "standard input", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, KEY);
	assert_int_equal(read(p[0], rest, sizeof(rest) - 1), 4);
	assert_string_equal(rest, "next");
	close(p[0]);
	/* nothing at all on the pipe */
	assert_int_equal(pipe(p), 0);
	close(p[1]);
	memset(out, 'x', sizeof(out));
	assert_int_equal(
	    rn_cli_authkey_read_fd(p[0], "standard input", out, sizeof(out), err, sizeof(err)),
	    -ENODATA);
	assert_non_null(strstr(err, "standard input is empty"));
	assert_true(all_zero(out, sizeof(out)));
	close(p[0]);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_contents),
		cmocka_unit_test(test_file_access),
		cmocka_unit_test(test_pipe),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
