/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for rewriting and restoring resolv.conf (resolvconf.h) in a temp dir: install
 * points the file at Magic DNS and keeps the original; restore puts it back byte for byte and
 * removes the state files; a daemon that crashed is undone by the next one's init; a file
 * someone else rewrote meanwhile is left alone with the original kept aside; the host's
 * nameservers are read, never our own. dns-basic.sh checks the same through the daemon; this
 * catches it in milliseconds (scripts/mutate.sh: dns-resolvconf-not-restored).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "rustynetd/resolvconf.h"

/* Tabs, a comment, no final newline: bytes a careless rewrite would not reproduce. */
static const char original[] = "# the LAN's\nnameserver 192.0.2.53\n\tnameserver 2001:db8::53\n"
			       "nameserver 100.100.100.100\noptions edns0 trust-ad";

static char dir[64], conf[96];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rn-resolvconf-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(conf, sizeof(conf), "%s/resolv.conf", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

/* The file holds exactly text. */
static void assert_file(const char *path, const char *text)
{
	char *buf = NULL;
	size_t len = 0;

	assert_int_equal(rn_resolvconf_slurp(path, &buf, &len), 0);
	assert_int_equal(len, strlen(text));
	assert_memory_equal(buf, text, len);
	free(buf);
}

static bool state_file(const char *name)
{
	char p[160];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

static void test_install_restore(void **state)
{
	struct rn_resolvconf rc;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	write_file(conf, original);
	rn_resolvconf_init(&rc, conf, dir);
	/* the host's nameservers, never Magic DNS itself */
	assert_int_equal(rc.n_host_ns, 2);
	assert_int_equal(rc.host_ns[0].family, AF_INET);
	assert_int_equal(rc.host_ns[1].family, AF_INET6);

	assert_int_equal(rn_resolvconf_install(&rc, "100.100.100.100", "rustynet"), 0);
	assert_true(rc.installed);
	assert_true(rn_resolvconf_intact(&rc));
	assert_int_equal(rn_resolvconf_slurp(conf, &buf, &len), 0);
	assert_non_null(strstr(buf, "\nnameserver 100.100.100.100\nsearch rustynet\n"));
	assert_null(strstr(buf, "192.0.2.53"));
	free(buf);
	/* the backup is the original, readable by root only */
	assert_int_equal(stat(dir, &st), 0);
	assert_true(state_file(RN_RESOLVCONF_BACKUP));
	{
		char p[160];

		snprintf(p, sizeof(p), "%s/%s", dir, RN_RESOLVCONF_BACKUP);
		assert_file(p, original);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	/* the same again changes nothing */
	assert_int_equal(rn_resolvconf_install(&rc, "100.100.100.100", "rustynet"), 0);

	assert_int_equal(rn_resolvconf_restore(&rc), 0);
	assert_false(rc.installed);
	assert_file(conf, original);
	assert_int_equal(stat(conf, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_false(state_file(RN_RESOLVCONF_BACKUP));
	assert_false(state_file(RN_RESOLVCONF_OURS));
	/* nothing to restore twice */
	assert_int_equal(rn_resolvconf_restore(&rc), 0);
	assert_file(conf, original);
}

/* A daemon killed while its file was in place: the next one's init restores the original. */
static void test_crash_restored_at_start(void **state)
{
	struct rn_resolvconf rc, next;

	(void)state;
	write_file(conf, original);
	rn_resolvconf_init(&rc, conf, dir);
	assert_int_equal(rn_resolvconf_install(&rc, "100.100.100.100", "rustynet"), 0);
	/* no restore: the process died */
	rn_resolvconf_init(&next, conf, dir);
	assert_file(conf, original);
	assert_false(next.installed);
	assert_false(state_file(RN_RESOLVCONF_BACKUP));
	/* and it read the host's nameservers from the restored file, not ours */
	assert_int_equal(next.n_host_ns, 2);
}

/* Someone else rewrote the file while Magic DNS ran: theirs stays, ours is set aside. */
static void test_rewritten_by_someone_else(void **state)
{
	static const char theirs[] = "nameserver 198.51.100.53\n";
	struct rn_resolvconf rc;
	char p[160];

	(void)state;
	write_file(conf, original);
	rn_resolvconf_init(&rc, conf, dir);
	assert_int_equal(rn_resolvconf_install(&rc, "100.100.100.100", "rustynet"), 0);
	write_file(conf, theirs);
	assert_false(rn_resolvconf_intact(&rc));
	/* a new map does not clobber it */
	assert_int_equal(rn_resolvconf_install(&rc, "100.100.100.100", "other"), -EBUSY);
	assert_file(conf, theirs);

	assert_int_equal(rn_resolvconf_restore(&rc), 0);
	assert_file(conf, theirs);
	assert_non_null(strstr(rc.problem, "rewritten by someone else"));
	snprintf(p, sizeof(p), "%s/%s", dir, RN_RESOLVCONF_PREVIOUS);
	assert_file(p, original);
	assert_false(state_file(RN_RESOLVCONF_BACKUP));
}

/* No resolv.conf at all: ours is written, and restoring leaves an empty file, as before. */
static void test_missing_file(void **state)
{
	struct rn_resolvconf rc;

	(void)state;
	rn_resolvconf_init(&rc, conf, dir);
	assert_int_equal(rc.n_host_ns, 0);
	assert_int_equal(rn_resolvconf_install(&rc, "100.100.100.100", "rustynet"), 0);
	assert_true(rn_resolvconf_intact(&rc));
	assert_int_equal(rn_resolvconf_restore(&rc), 0);
	assert_file(conf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_install_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_restored_at_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewritten_by_someone_else, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
