/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the system layer, each in a private network namespace (root; skipped
 * otherwise): apply then undo_all leaves the namespace exactly as before; undo_group removes
 * one group only; a refused change leaves no journal entry; EEXIST is an error unless the
 * journal owns the object; a crashed process's leftovers are found and removed by the next
 * one; unrecorded tagged objects are swept; a change that cannot be recorded is reverted.
 */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "system/journal.h"
#include "system/sysctl.h"
#include "system/system.h"
#include "system/testns.h"

#define DEV RN_TESTNS_DEV

struct fix {
	struct rn_nl *nl; /* for looking behind the system layer's back */
	struct rn_system *sys;
	char dir[64];
	char *before; /* snapshot before the test changed anything */
};

static struct rn_prefix P(const char *s) {
	struct rn_prefix p;

	assert_true(rn_ipaddr_parse_prefix(s, &p));
	return p;
}

static struct rn_ip
IP(const char *s) {
	struct rn_ip ip;

	assert_true(rn_ipaddr_parse(s, &ip));
	return ip;
}

static void
fix_open(struct fix *f)
{
	f->nl = rn_testns_setup();
	rn_testns_state_dir(f->dir, sizeof(f->dir));
	f->before = rn_testns_snapshot(f->nl);
	assert_int_equal(rn_system_open(f->dir, &f->sys), 0);
	assert_int_equal(rn_system_count(f->sys, NULL), 0);
}

static void fix_close(struct fix *f)
{
	rn_system_close(f->sys);
	rn_nl_close(f->nl);
	free(f->before);
	rn_testns_rm_state_dir(f->dir);
}

static void assert_unchanged(struct fix *f)
{
	char *now = rn_testns_snapshot(f->nl);

	rn_testns_assert_same(f->before, now);
	free(now);
}

static void assert_sysctl(const char *key, const char *want)
{
	char v[RN_SYSCTL_VALUE_MAX];

	assert_int_equal(rn_sysctl_read(key, v, sizeof(v)), 0);
	assert_string_equal(v, want);
}

static struct rn_nl_link link_of(struct fix *f)
{
	struct rn_nl_link l;

	assert_int_equal(rn_nl_link_get(f->nl, DEV, &l), 0);
	return l;
}

static const struct rn_nl_rule mark4 = { .family = AF_INET,
					 .priority = 5209,
					 .table = 51820,
					 .fwmark = 0xca6c,
					 .fwmask = 0xffffffff,
					 .invert = true };
static const struct rn_nl_rule mark6 = { .family = AF_INET6,
					 .priority = 5209,
					 .table = 51820,
					 .fwmark = 0xca6c,
					 .fwmask = 0xffffffff,
					 .invert = true };
static const struct rn_nl_rule supp4 = { .family = AF_INET, .priority = 5208, .suppress = true };

#define TRY(call)                                                                                  \
	do {                                                                                       \
		int err_ = (call);                                                                 \
		if (err_)                                                                          \
			return err_;                                                               \
	} while (0)

/* What `up` and `exit-node select` install on a client. Returns the first error rather than
 * asserting, so that a forked child can use it too. */
static int apply_client(struct rn_system *sys)
{
	struct rn_prefix a4, a6;
	struct rn_nl_route mesh = { .table = 0, .dev = DEV };
	struct rn_nl_route def4 = { .table = 51820, .dev = DEV };
	struct rn_nl_route def6 = { .table = 51820, .dev = DEV };
	struct rn_nl_route lan = { .table = 51820, .type = RTN_UNREACHABLE };

	if (!rn_ipaddr_parse_prefix("100.64.0.7/32", &a4) ||
	    !rn_ipaddr_parse_prefix("fd7a:115c:a1e0::7/128", &a6) ||
	    !rn_ipaddr_parse_prefix("100.64.0.0/10", &mesh.dst) ||
	    !rn_ipaddr_parse_prefix("0.0.0.0/0", &def4.dst) ||
	    !rn_ipaddr_parse_prefix("::/0", &def6.dst) ||
	    !rn_ipaddr_parse_prefix("192.168.0.0/16", &lan.dst))
		return -EINVAL;
	TRY(rn_system_link_mtu(sys, "base", DEV, 1280));
	TRY(rn_system_link_up(sys, "base", DEV));
	TRY(rn_system_addr_add(sys, "base", DEV, &a4));
	TRY(rn_system_addr_add(sys, "base", DEV, &a6));
	TRY(rn_system_route_add(sys, "base", &mesh));
	TRY(rn_system_sysctl_set(sys, "base", "net.ipv4.conf." DEV ".src_valid_mark", "1"));
	TRY(rn_system_route_add(sys, "exit-node", &def4));
	TRY(rn_system_route_add(sys, "exit-node", &def6));
	TRY(rn_system_route_add(sys, "exit-node", &lan));
	TRY(rn_system_rule_add(sys, "exit-node", &mark4));
	TRY(rn_system_rule_add(sys, "exit-node", &mark6));
	TRY(rn_system_rule_add(sys, "exit-node", &supp4));
	TRY(rn_system_sysctl_set(sys, "exit-node", "net.ipv4.ip_forward", "1"));
	return 0;
}

#define CLIENT_BASE 6
#define CLIENT_EXIT 7

static void test_apply_and_undo_all(void **state)
{
	struct fix f;
	struct rn_nl_route_info info;
	struct rn_ip dst = IP("198.51.100.7");

	(void)state;
	fix_open(&f);
	assert_int_equal(rn_nl_link_set_up(f.nl, DEV, false), 0);
	free(f.before);
	f.before = rn_testns_snapshot(f.nl);
	assert_int_equal(apply_client(f.sys), 0);
	assert_int_equal(rn_system_count(f.sys, "base"), CLIENT_BASE);
	assert_int_equal(rn_system_count(f.sys, "exit-node"), CLIENT_EXIT);
	assert_int_equal(link_of(&f).mtu, 1280);
	assert_true(link_of(&f).flags & IFF_UP);
	assert_int_equal(rn_system_route_get(f.sys, &dst, 0, &info), 0);
	assert_int_equal(info.table, 51820);
	assert_string_equal(info.dev, DEV);

	assert_int_equal(rn_system_undo_all(f.sys), 0);
	assert_int_equal(rn_system_count(f.sys, NULL), 0);
	assert_unchanged(&f);
	assert_int_equal(link_of(&f).mtu, 1500);
	assert_false(link_of(&f).flags & IFF_UP);
	assert_sysctl("net.ipv4.ip_forward", "0");
	assert_sysctl("net.ipv4.conf." DEV ".src_valid_mark", "0");
	fix_close(&f);
}

static void test_undo_group_keeps_others(void **state)
{
	struct fix f;
	struct rn_nl_route_info info;
	struct rn_ip dst = IP("198.51.100.7"), mesh = IP("100.64.1.1");
	char *base_only, *again;

	(void)state;
	fix_open(&f);
	assert_int_equal(apply_client(f.sys), 0);
	assert_int_equal(rn_system_undo_group(f.sys, "exit-node"), 0);
	assert_int_equal(rn_system_count(f.sys, "exit-node"), 0);
	assert_int_equal(rn_system_count(f.sys, "base"), CLIENT_BASE);
	assert_int_equal(rn_system_route_get(f.sys, &dst, 0, &info), -ENETUNREACH);
	assert_int_equal(rn_system_route_get(f.sys, &mesh, 0, &info), 0);
	assert_string_equal(info.dev, DEV);
	assert_sysctl("net.ipv4.ip_forward", "0");
	assert_sysctl("net.ipv4.conf." DEV ".src_valid_mark", "1");
	assert_int_equal(link_of(&f).mtu, 1280);

	/* exit-node on, off again: the same state as before it was first turned on. */
	base_only = rn_testns_snapshot(f.nl);
	assert_int_equal(apply_client(f.sys), 0); /* base is owned already: re-applied as a no-op */
	assert_int_equal(rn_system_count(f.sys, "base"), CLIENT_BASE);
	assert_int_equal(rn_system_undo_group(f.sys, "exit-node"), 0);
	again = rn_testns_snapshot(f.nl);
	rn_testns_assert_same(base_only, again);

	assert_int_equal(rn_system_undo_all(f.sys), 0);
	assert_unchanged(&f);
	free(base_only);
	free(again);
	fix_close(&f);
}

static size_t file_entries(const char *dir)
{
	struct rn_journal *j;
	size_t n;

	assert_int_equal(rn_journal_open(dir, &j), 0);
	assert_int_equal(rn_journal_load(j), 0);
	n = rn_journal_count(j, NULL);
	rn_journal_free(j);
	return n;
}

static void test_refused_change_leaves_no_entry(void **state)
{
	struct fix f;
	struct rn_nl_route via_missing = { .dst = P("198.51.100.0/24"), .dev = "nosuch0" };
	struct rn_nl_route host_bits = { .dst = P("198.51.100.1/24"), .dev = DEV };
	struct rn_prefix a = P("10.1.1.1/24");
	int err;

	(void)state;
	fix_open(&f);
	err = rn_system_route_add(f.sys, "base", &via_missing);
	assert_true(err == -ENODEV || err == -EINVAL);
	assert_int_equal(rn_system_route_add(f.sys, "base", &host_bits), -EINVAL);
	assert_int_equal(rn_system_addr_add(f.sys, "base", "nosuch0", &a), -ENODEV);
	assert_int_equal(rn_system_link_mtu(f.sys, "base", "nosuch0", 1280), -ENODEV);
	assert_int_equal(rn_system_sysctl_set(f.sys, "base", "net.ipv4.ip_forward", "x"), -EINVAL);
	assert_int_equal(rn_system_sysctl_set(f.sys, "base", "net.nosuch", "1"), -ENOENT);
	assert_int_equal(rn_system_sysctl_set(f.sys, "base", "kernel.core_pattern", "core"),
			 -EINVAL);
	assert_int_equal(rn_system_addr_add(f.sys, "Bad Group", DEV, &a), -EINVAL);
	assert_int_equal(rn_system_count(f.sys, NULL), 0);
	assert_int_equal(file_entries(f.dir), 0);
	assert_unchanged(&f);
	fix_close(&f);
}

static void test_eexist_unless_owned(void **state)
{
	struct fix f;
	struct rn_nl_route theirs = { .dst = P("203.0.113.0/24"),
				      .table = 7,
				      .type = RTN_BLACKHOLE,
				      .protocol = RTPROT_STATIC };
	struct rn_nl_route ours = { .dst = P("198.51.100.0/24"),
				    .table = 7,
				    .type = RTN_BLACKHOLE };
	struct rn_prefix a = P("10.1.1.1/24");

	(void)state;
	fix_open(&f);
	/* Installed by someone else: never adopted. */
	assert_int_equal(rn_nl_route_add(f.nl, &theirs), 0);
	theirs.protocol = 0;
	assert_int_equal(rn_system_route_add(f.sys, "base", &theirs), -EEXIST);
	assert_int_equal(rn_system_count(f.sys, NULL), 0);
	/* Ours: adding again is a no-op, from another group an error. */
	assert_int_equal(rn_system_route_add(f.sys, "base", &ours), 0);
	assert_int_equal(rn_system_route_add(f.sys, "base", &ours), 0);
	assert_int_equal(rn_system_route_add(f.sys, "exit-node", &ours), -EEXIST);
	assert_int_equal(rn_system_addr_add(f.sys, "base", DEV, &a), 0);
	assert_int_equal(rn_system_addr_add(f.sys, "base", DEV, &a), 0);
	assert_int_equal(rn_system_rule_add(f.sys, "base", &mark4), 0);
	assert_int_equal(rn_system_rule_add(f.sys, "base", &mark4), 0);
	assert_int_equal(rn_system_sysctl_set(f.sys, "base", "net.ipv4.ip_forward", "1"), 0);
	assert_int_equal(rn_system_sysctl_set(f.sys, "lan", "net.ipv4.ip_forward", "1"), -EEXIST);
	assert_int_equal(rn_system_count(f.sys, NULL), 4);
	assert_int_equal(rn_system_undo_all(f.sys), 0);
	/* Theirs stays. */
	assert_int_equal(rn_nl_route_del(f.nl, &(struct rn_nl_route){ .dst = theirs.dst,
								      .table = 7,
								      .type = RTN_BLACKHOLE,
								      .protocol = RTPROT_STATIC }),
			 0);
	assert_unchanged(&f);
	fix_close(&f);
}

static void test_del_removes_only_own(void **state)
{
	struct fix f;
	struct rn_nl_route r = { .dst = P("198.51.100.0/24"), .table = 7, .type = RTN_BLACKHOLE };
	struct rn_nl_route unowned = { .dst = P("203.0.113.0/24"),
				       .table = 7,
				       .type = RTN_BLACKHOLE };
	struct rn_prefix a = P("10.1.1.1/24");

	(void)state;
	fix_open(&f);
	assert_int_equal(rn_nl_route_add(f.nl, &unowned), 0); /* tagged, but not recorded */
	assert_int_equal(rn_system_route_del(f.sys, "base", &unowned), -ENOENT);
	assert_int_equal(rn_nl_route_del(f.nl, &unowned), 0); /* it was still there */

	assert_int_equal(rn_system_route_add(f.sys, "base", &r), 0);
	assert_int_equal(rn_system_addr_add(f.sys, "base", DEV, &a), 0);
	assert_int_equal(rn_system_rule_add(f.sys, "exit-node", &supp4), 0);
	assert_int_equal(rn_system_route_del(f.sys, "exit-node", &r), -ENOENT);
	assert_int_equal(rn_system_route_del(f.sys, "base", &r), 0);
	assert_int_equal(rn_system_addr_del(f.sys, "base", DEV, &a), 0);
	assert_int_equal(rn_system_rule_del(f.sys, "exit-node", &supp4), 0);
	assert_int_equal(rn_system_count(f.sys, NULL), 0);
	assert_int_equal(file_entries(f.dir), 0);
	assert_unchanged(&f);
	fix_close(&f);
}

/* The child applies and dies by SIGKILL: no cleanup runs, as in a real crash. */
static void test_crash_then_restart_undoes_leftovers(void **state)
{
	struct fix f;
	struct rn_system *sys;
	int status;
	pid_t pid;

	(void)state;
	fix_open(&f);
	rn_system_close(f.sys);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (rn_system_open(f.dir, &sys) || apply_client(sys))
			_exit(1);
		raise(SIGKILL);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_sysctl("net.ipv4.ip_forward", "1");

	assert_int_equal(rn_system_open(f.dir, &f.sys), 0);
	assert_int_equal(rn_system_count(f.sys, NULL), CLIENT_BASE + CLIENT_EXIT);
	assert_int_equal(rn_system_undo_all(f.sys), 0);
	assert_unchanged(&f);
	assert_sysctl("net.ipv4.ip_forward", "0");
	assert_int_equal(link_of(&f).mtu, 1500);
	fix_close(&f);
}

/* Re-applying after a restart keeps the first recorded previous values. */
static void test_restart_reapply_is_idempotent(void **state)
{
	struct fix f;

	(void)state;
	fix_open(&f);
	assert_int_equal(apply_client(f.sys), 0);
	rn_system_close(f.sys);
	assert_int_equal(rn_system_open(f.dir, &f.sys), 0);
	assert_int_equal(apply_client(f.sys), 0);
	assert_int_equal(rn_system_count(f.sys, NULL), CLIENT_BASE + CLIENT_EXIT);
	assert_int_equal(rn_system_sysctl_set(f.sys, "exit-node", "net.ipv4.ip_forward", "0"), 0);
	assert_int_equal(rn_system_sysctl_set(f.sys, "exit-node", "net.ipv4.ip_forward", "1"), 0);
	assert_int_equal(rn_system_link_mtu(f.sys, "base", DEV, 1300), 0);
	assert_int_equal(rn_system_undo_all(f.sys), 0);
	assert_sysctl("net.ipv4.ip_forward", "0");
	assert_int_equal(link_of(&f).mtu, 1500);
	assert_unchanged(&f);
	fix_close(&f);
}

/* A crash between the kernel's ACK and the journal write leaves a tagged, unrecorded object. */
static void test_sweep_removes_unrecorded_tagged_objects(void **state)
{
	struct fix f;
	struct rn_nl_route stray = { .dst = P("198.51.100.0/24"), .table = 51820, .dev = DEV };
	struct rn_nl_route stray6 = { .dst = P("2001:db8::/32"),
				      .table = 51820,
				      .type = RTN_BLACKHOLE };
	/* Not via DEV: the kernel flushes a device's IPv4 routes with its last IPv4 address. */
	struct rn_nl_route foreign = { .dst = P("203.0.113.0/24"),
				       .table = 51820,
				       .type = RTN_BLACKHOLE,
				       .protocol = RTPROT_STATIC };
	struct rn_nl_rule stray_rule = { .family = AF_INET, .priority = 5300, .table = 51820 };
	struct rn_nl_addr stray_addr = { .dev = DEV, .prefix = P("100.64.9.9/32") };
	char *owned;
	size_t removed;

	(void)state;
	fix_open(&f);
	assert_int_equal(rn_nl_route_add(f.nl, &foreign), 0);
	free(f.before);
	f.before = rn_testns_snapshot(f.nl);
	assert_int_equal(apply_client(f.sys), 0);
	owned = rn_testns_snapshot(f.nl);
	assert_int_equal(rn_nl_route_add(f.nl, &stray), 0);
	assert_int_equal(rn_nl_route_add(f.nl, &stray6), 0);
	assert_int_equal(rn_nl_rule_add(f.nl, &stray_rule), 0);
	assert_int_equal(rn_nl_addr_add(f.nl, &stray_addr), 0);
	assert_int_equal(rn_system_sweep(f.sys, &removed), 0);
	assert_int_equal(removed, 4);
	{
		char *now = rn_testns_snapshot(f.nl);

		rn_testns_assert_same(owned, now);
		free(now);
	}
	assert_int_equal(rn_system_sweep(f.sys, &removed), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(rn_system_undo_all(f.sys), 0);
	assert_unchanged(&f); /* the foreign route is still there */
	free(owned);
	fix_close(&f);
}

/* If the journal cannot be written, the kernel change it would have recorded is reverted. */
static void test_unrecordable_change_is_reverted(void **state)
{
	struct fix f;
	struct rn_nl_route r = { .dst = P("198.51.100.0/24"), .table = 7, .type = RTN_BLACKHOLE };
	char path[128];

	(void)state;
	fix_open(&f);
	/* A directory where the journal file goes: the rename over it fails. */
	snprintf(path, sizeof(path), "%s/%s", f.dir, RN_JOURNAL_FILE);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_not_equal(rn_system_route_add(f.sys, "base", &r), 0);
	assert_int_not_equal(rn_system_sysctl_set(f.sys, "base", "net.ipv4.ip_forward", "1"), 0);
	assert_int_not_equal(rn_system_link_mtu(f.sys, "base", DEV, 1280), 0);
	assert_int_equal(rn_system_count(f.sys, NULL), 0);
	assert_unchanged(&f);
	assert_sysctl("net.ipv4.ip_forward", "0");
	assert_int_equal(link_of(&f).mtu, 1500);
	assert_int_equal(rmdir(path), 0);
	fix_close(&f);
}

static void test_busy_or_damaged_state_refuses_open(void **state)
{
	struct fix f;
	struct rn_system *sys;
	char path[128];
	FILE *fp;

	(void)state;
	fix_open(&f);
	/* While one process holds the state dir, no second one may open it. */
	assert_int_equal(rn_system_open(f.dir, &sys), -EBUSY);
	rn_system_close(f.sys);
	f.sys = NULL;
	snprintf(path, sizeof(path), "%s/%s", f.dir, RN_JOURNAL_FILE);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("{\"version\": 1, \"entries\": [{\"group\": \"base\"", fp);
	fclose(fp);
	assert_int_equal(rn_system_open(f.dir, &sys), -EBADMSG);
	fix_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply_and_undo_all),
		cmocka_unit_test(test_undo_group_keeps_others),
		cmocka_unit_test(test_refused_change_leaves_no_entry),
		cmocka_unit_test(test_eexist_unless_owned),
		cmocka_unit_test(test_del_removes_only_own),
		cmocka_unit_test(test_crash_then_restart_undoes_leftovers),
		cmocka_unit_test(test_restart_reapply_is_idempotent),
		cmocka_unit_test(test_sweep_removes_unrecorded_tagged_objects),
		cmocka_unit_test(test_unrecordable_change_is_reverted),
		cmocka_unit_test(test_busy_or_damaged_state_refuses_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
