/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the journal. Without privileges: the JSON form of every kind round-trips,
 * the file is written 0600 and read back by a fresh journal, damaged files are refused. In a
 * private network namespace (root): undo_all leaves routes, rules and addresses exactly as
 * they were (full dumps compared) and restores sysctls and link settings; undo_group touches
 * one group only; objects already gone count as undone; a failing entry is reported, kept,
 * and does not stop the rest.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
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

#include "system/journal.h"
#include "system/testns.h"

#define DEV RN_TESTNS_DEV

static struct rn_prefix P(const char *s) {
	struct rn_prefix p;

	assert_true(rn_ipaddr_parse_prefix(s, &p));
	return p;
}

static struct rn_journal_entry
addr_e(const char *group, const char *prefix)
{
	struct rn_journal_entry e = { .kind = RN_JOURNAL_ADDR };

	snprintf(e.group, sizeof(e.group), "%s", group);
	e.addr = (struct rn_nl_addr){ .dev = DEV, .prefix = P(prefix) };
	rn_nl_addr_normalize(&e.addr);
	return e;
}

static struct rn_journal_entry route_e(const char *group, const struct rn_nl_route *r)
{
	struct rn_journal_entry e = { .kind = RN_JOURNAL_ROUTE, .route = *r };

	snprintf(e.group, sizeof(e.group), "%s", group);
	rn_nl_route_normalize(&e.route);
	return e;
}

static struct rn_journal_entry rule_e(const char *group, const struct rn_nl_rule *r)
{
	struct rn_journal_entry e = { .kind = RN_JOURNAL_RULE, .rule = *r };

	snprintf(e.group, sizeof(e.group), "%s", group);
	rn_nl_rule_normalize(&e.rule);
	return e;
}

/* One entry of every kind, with every optional field used somewhere. */
static size_t sample_entries(struct rn_journal_entry *e)
{
	struct rn_nl_route r1 = { .dst = P("0.0.0.0/0"),
				  .table = 51820,
				  .dev = "rustynet0",
				  .gateway = { 0 },
				  .metric = 5 };
	struct rn_nl_route r2 = { .dst = P("2001:db8::/32"), .table = 7, .type = RTN_BLACKHOLE };
	struct rn_nl_rule u1 = { .family = AF_INET,
				 .priority = 5209,
				 .table = 51820,
				 .fwmark = 0xca6c,
				 .fwmask = 0xffffffff,
				 .invert = true };
	struct rn_nl_rule u2 = { .family = AF_INET6, .priority = 5208, .suppress = true };
	struct rn_nl_rule u3 = { .family = AF_INET6,
				 .priority = 5210,
				 .suppress = true,
				 .suppress_prefixlen = 6,
				 .dst = P("fc00::/7") };
	size_t n = 0;

	assert_true(rn_ipaddr_parse("100.64.0.1", &r1.gateway));
	e[n++] = addr_e("base", "100.64.0.7/32");
	e[n++] = route_e("exit-node", &r1);
	e[n++] = route_e("exit-node", &r2);
	e[n++] = rule_e("exit-node", &u1);
	e[n++] = rule_e("exit-node", &u2);
	e[n++] = rule_e("exit-node", &u3);
	e[n] = (struct rn_journal_entry){ .kind = RN_JOURNAL_LINK_UP,
					  .group = "base",
					  .link_up = { .dev = "rustynet0", .up = true } };
	n++;
	e[n] = (struct rn_journal_entry){ .kind = RN_JOURNAL_LINK_MTU,
					  .group = "base",
					  .link_mtu = { "rustynet0", 1280, 1500 } };
	n++;
	e[n] = (struct rn_journal_entry){ .kind = RN_JOURNAL_SYSCTL,
					  .group = "exit-node",
					  .sysctl = { "net.ipv4.ip_forward", "1", "0" } };
	n++;
	return n;
}

static void assert_same_json(const struct rn_journal_entry *a, const struct rn_journal_entry *b)
{
	json_t *ja = rn_journal_entry_to_json(a), *jb = rn_journal_entry_to_json(b);

	assert_non_null(ja);
	assert_non_null(jb);
	assert_true(json_equal(ja, jb));
	json_decref(ja);
	json_decref(jb);
}

static void test_json_round_trip(void **state)
{
	struct rn_journal_entry e[16], back;
	char why[200];
	size_t n = sample_entries(e);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		json_t *j = rn_journal_entry_to_json(&e[i]);

		assert_non_null(j);
		assert_int_equal(rn_journal_entry_from_json(j, &back, why, sizeof(why)), 0);
		assert_true(rn_journal_same_object(&e[i], &back));
		assert_string_equal(back.group, e[i].group);
		assert_same_json(&e[i], &back);
		json_decref(j);
	}
	assert_int_equal(back.kind, RN_JOURNAL_SYSCTL);
	assert_string_equal(back.sysctl.prev, "0");
}

static void test_save_and_load(void **state)
{
	struct rn_journal_entry e[16];
	struct rn_journal *j, *fresh;
	size_t n = sample_entries(e);
	char dir[64], tmp[128];
	struct stat st;

	(void)state;
	rn_testns_state_dir(dir, sizeof(dir));
	assert_int_equal(rn_journal_open(dir, &j), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(rn_journal_append(j, &e[i]), 0);
	assert_int_equal(stat(rn_journal_path(j), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(tmp, sizeof(tmp), "%s.tmp", rn_journal_path(j));
	assert_int_equal(access(tmp, F_OK), -1);

	assert_int_equal(rn_journal_open(dir, &fresh), 0);
	assert_int_equal(rn_journal_count(fresh, NULL), 0);
	assert_int_equal(rn_journal_load(fresh), 0);
	assert_int_equal(rn_journal_count(fresh, NULL), n);
	assert_int_equal(rn_journal_count(fresh, "exit-node"), 6);
	assert_int_equal(rn_journal_count(fresh, "base"), 3);
	for (size_t i = 0; i < n; i++)
		assert_same_json(rn_journal_at(fresh, i), &e[i]);
	assert_ptr_equal(rn_journal_find(fresh, &e[3]), rn_journal_at(fresh, 3));
	assert_null(rn_journal_at(fresh, n));
	rn_journal_free(fresh);
	rn_journal_free(j);
	rn_testns_rm_state_dir(dir);
}

static void test_load_without_file_is_empty(void **state)
{
	struct rn_journal *j;
	char dir[64], sub[96];

	(void)state;
	rn_testns_state_dir(dir, sizeof(dir));
	snprintf(sub, sizeof(sub), "%s/state", dir); /* created by open */
	assert_int_equal(rn_journal_open(sub, &j), 0);
	assert_int_equal(rn_journal_load(j), 0);
	assert_int_equal(rn_journal_count(j, NULL), 0);
	rn_journal_free(j);
	rmdir(sub);
	rn_testns_rm_state_dir(dir);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_load_refuses_damage(void **state)
{
	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"{\"version\": 2, \"entries\": []}",
		"{\"version\": 1}",
		"{\"version\": 1, \"entries\": [], \"extra\": 1}",
		"{\"version\": 1, \"version\": 1, \"entries\": []}",
		"{\"version\": 1, \"entries\": [{\"group\": \"a\", \"kind\": \"nft\"}]}",
		"{\"version\": 1, \"entries\": [{\"group\": \"Bad Group\", \"kind\": \"sysctl\", "
		"\"key\": \"net.ipv4.ip_forward\", \"value\": \"1\", \"prev\": \"0\"}]}",
		"{\"version\": 1, \"entries\": [{\"group\": \"a\", \"kind\": \"sysctl\", "
		"\"key\": \"net.//.x\", \"value\": \"1\", \"prev\": \"0\"}]}",
		/* Not a network sysctl: never written back from a journal. */
		"{\"version\": 1, \"entries\": [{\"group\": \"a\", \"kind\": \"sysctl\", "
		"\"key\": \"kernel.core_pattern\", \"value\": \"core\", \"prev\": \"|/tmp/x\"}]}",
		"{\"version\": 1, \"entries\": [{\"group\": \"a\", \"kind\": \"sysctl\", "
		"\"key\": \"net.ipv4.ip_forward\", \"value\": \"1\", \"prev\": \"0\", \"x\": 1}]}",
		"{\"version\": 1, \"entries\": [{\"group\": \"a\", \"kind\": \"addr\", "
		"\"dev\": \"rn0\", \"prefix\": \"10.1.1.1/33\", \"protocol\": 82}]}",
		"{\"version\": 1, \"entries\": [{\"group\": \"a\", \"kind\": \"addr\", "
		"\"dev\": \"a-name-far-too-long\", \"prefix\": \"10.1.1.1/8\", \"protocol\": 82}]}",
		"{\"version\": 1, \"entries\": [{\"group\": \"a\", \"kind\": \"route\", \"dst\": "
		"\"10.0.0.0/8\", \"table\": 4294967296, \"type\": \"unicast\", \"protocol\": 82, "
		"\"metric\": 0, \"dev\": \"rn0\"}]}",
		"{\"version\": 1, \"entries\": [{\"group\": \"a\", \"kind\": \"route\", \"dst\": "
		"\"10.0.0.0/8\", \"table\": 5, \"type\": \"nat\", \"protocol\": 82, "
		"\"metric\": 0}]}",
		"{\"version\": 1, \"entries\": [{\"group\": \"a\", \"kind\": \"route\", \"dst\": "
		"\"10.0.0.0/8\", \"table\": 5, \"type\": \"unicast\", \"protocol\": 82, "
		"\"metric\": 0, \"gateway\": \"fd00::1\"}]}",
		"{\"version\": 1, \"entries\": [{\"group\": \"a\", \"kind\": \"rule\", \"family\": "
		"\"inet\", \"priority\": 0, \"table\": 5, \"protocol\": 82, \"invert\": false}]}",
		"{\"version\": 1, \"entries\": [{\"group\": \"a\", \"kind\": \"rule\", \"family\": "
		"\"inet\", \"priority\": 5, \"table\": 5, \"protocol\": 82, \"invert\": false, "
		"\"to\": \"fc00::/7\"}]}",
		"{\"version\": 1, \"entries\": [{\"group\": \"a\", \"kind\": \"link_mtu\", "
		"\"dev\": \"rn0\", \"mtu\": \"1280\", \"prev_mtu\": 1500}]}",
	};
	struct rn_journal_entry keep = addr_e("base", "10.1.1.1/24");
	struct rn_journal *j;
	char dir[64];

	(void)state;
	rn_testns_state_dir(dir, sizeof(dir));
	assert_int_equal(rn_journal_open(dir, &j), 0);
	assert_int_equal(rn_journal_append(j, &keep), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_text(rn_journal_path(j), bad[i]);
		assert_int_equal(rn_journal_load(j), -EBADMSG);
		/* What was known before is kept. */
		assert_int_equal(rn_journal_count(j, NULL), 1);
	}
	rn_journal_free(j);
	rn_testns_rm_state_dir(dir);
}

/* A journal others could have written is not trusted to say what root undoes. */
static void test_refuses_files_others_can_write(void **state)
{
	struct rn_journal_entry keep = addr_e("base", "10.1.1.1/24");
	struct rn_journal *j, *j2;
	char dir[64];

	(void)state;
	rn_testns_state_dir(dir, sizeof(dir));
	assert_int_equal(rn_journal_open(dir, &j), 0);
	assert_int_equal(rn_journal_append(j, &keep), 0);
	assert_int_equal(chmod(rn_journal_path(j), 0666), 0);
	assert_int_equal(rn_journal_load(j), -EPERM);
	assert_int_equal(chmod(rn_journal_path(j), 0644), 0);
	assert_int_equal(rn_journal_load(j), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(rn_journal_open(dir, &j2), -EPERM);
	assert_int_equal(chmod(dir, 0700), 0);
	rn_journal_free(j);
	rn_testns_rm_state_dir(dir);
}

static void test_group_names(void **state)
{
	(void)state;
	assert_true(rn_journal_group_ok("exit-node"));
	assert_true(rn_journal_group_ok("lan_2"));
	assert_false(rn_journal_group_ok(""));
	assert_false(rn_journal_group_ok("Exit"));
	assert_false(rn_journal_group_ok("exit node"));
	assert_false(rn_journal_group_ok("a-group-name-of-thirty-two-chars"));
}

/* ---- undo, in a private network namespace ---- */

/* Applies e in the kernel as the system layer would, filling in previous values, and records
 * it. */
static void apply(struct rn_nl *nl, struct rn_journal *j, struct rn_journal_entry *e)
{
	struct rn_nl_link link;

	switch (e->kind) {
	case RN_JOURNAL_ADDR:
		assert_int_equal(rn_nl_addr_add(nl, &e->addr), 0);
		break;
	case RN_JOURNAL_ROUTE:
		assert_int_equal(rn_nl_route_add(nl, &e->route), 0);
		break;
	case RN_JOURNAL_RULE:
		assert_int_equal(rn_nl_rule_add(nl, &e->rule), 0);
		break;
	case RN_JOURNAL_LINK_MTU:
		assert_int_equal(rn_nl_link_get(nl, e->link_mtu.dev, &link), 0);
		e->link_mtu.prev_mtu = link.mtu;
		assert_int_equal(rn_nl_link_set_mtu(nl, e->link_mtu.dev, e->link_mtu.mtu), 0);
		break;
	case RN_JOURNAL_SYSCTL:
		assert_int_equal(rn_sysctl_write(e->sysctl.key, e->sysctl.value, e->sysctl.prev,
						 sizeof(e->sysctl.prev)),
				 0);
		break;
	default:
		fail();
	}
	assert_int_equal(rn_journal_append(j, e), 0);
}

static const struct rn_nl_route exit4 = { .dst = { .addr = { .family = AF_INET }, .len = 0 },
					  .table = 51820,
					  .dev = DEV };
static const struct rn_nl_route exit6 = { .dst = { .addr = { .family = AF_INET6 }, .len = 0 },
					  .table = 51820,
					  .type = RTN_BLACKHOLE };
static const struct rn_nl_rule mark4 = { .family = AF_INET,
					 .priority = 5209,
					 .table = 51820,
					 .fwmark = 0xca6c,
					 .fwmask = 0xffffffff,
					 .invert = true };
static const struct rn_nl_rule supp4 = { .family = AF_INET, .priority = 5208, .suppress = true };

static void apply_sample(struct rn_nl *nl, struct rn_journal *j)
{
	struct rn_journal_entry mtu = { .kind = RN_JOURNAL_LINK_MTU,
					.group = "base",
					.link_mtu = { .dev = DEV, .mtu = 1280 } };
	struct rn_journal_entry fwd = { .kind = RN_JOURNAL_SYSCTL,
					.group = "exit-node",
					.sysctl = { .key = "net.ipv4.ip_forward", .value = "1" } };
	struct rn_journal_entry e;
	struct rn_nl_route peer = { .dst = P("100.64.0.0/10"), .dev = DEV };

	e = addr_e("base", "100.64.0.7/32");
	apply(nl, j, &e);
	e = addr_e("base", "fd7a:115c:a1e0::7/128");
	apply(nl, j, &e);
	apply(nl, j, &mtu);
	e = route_e("base", &peer);
	apply(nl, j, &e);
	e = route_e("exit-node", &exit4);
	apply(nl, j, &e);
	e = route_e("exit-node", &exit6);
	apply(nl, j, &e);
	e = rule_e("exit-node", &mark4);
	apply(nl, j, &e);
	e = rule_e("exit-node", &supp4);
	apply(nl, j, &e);
	apply(nl, j, &fwd);
}

static void assert_sysctl(const char *key, const char *want)
{
	char v[RN_SYSCTL_VALUE_MAX];

	assert_int_equal(rn_sysctl_read(key, v, sizeof(v)), 0);
	assert_string_equal(v, want);
}

static void assert_mtu(struct rn_nl *nl, uint32_t want)
{
	struct rn_nl_link link;

	assert_int_equal(rn_nl_link_get(nl, DEV, &link), 0);
	assert_int_equal(link.mtu, want);
}

static void test_undo_all_restores_exactly(void **state)
{
	struct rn_nl *nl = rn_testns_setup();
	struct rn_journal *j, *fresh;
	char dir[64], *before, *during, *after;

	(void)state;
	rn_testns_state_dir(dir, sizeof(dir));
	before = rn_testns_snapshot(nl);
	assert_int_equal(rn_journal_open(dir, &j), 0);
	apply_sample(nl, j);
	during = rn_testns_snapshot(nl);
	assert_string_not_equal(before, during);
	assert_sysctl("net.ipv4.ip_forward", "1");
	rn_journal_free(j);

	/* A fresh journal knows only what the file says. */
	assert_int_equal(rn_journal_open(dir, &fresh), 0);
	assert_int_equal(rn_journal_load(fresh), 0);
	assert_int_equal(rn_journal_count(fresh, NULL), 9);
	assert_int_equal(rn_journal_undo_all(fresh, nl), 0);
	assert_int_equal(rn_journal_count(fresh, NULL), 0);
	after = rn_testns_snapshot(nl);
	rn_testns_assert_same(before, after);
	assert_sysctl("net.ipv4.ip_forward", "0");
	assert_mtu(nl, 1500);
	assert_int_equal(rn_journal_load(fresh), 0);
	assert_int_equal(rn_journal_count(fresh, NULL), 0);

	free(before);
	free(during);
	free(after);
	rn_journal_free(fresh);
	rn_nl_close(nl);
	rn_testns_rm_state_dir(dir);
}

static void test_undo_group_keeps_other_groups(void **state)
{
	struct rn_nl *nl = rn_testns_setup();
	struct rn_journal *j;
	char dir[64], *before, *base_only, *after;

	(void)state;
	rn_testns_state_dir(dir, sizeof(dir));
	before = rn_testns_snapshot(nl);
	assert_int_equal(rn_journal_open(dir, &j), 0);
	/* What "base" alone looks like, to compare with after "exit-node" came and went. */
	apply_sample(nl, j);
	assert_int_equal(rn_journal_undo_group(j, nl, "exit-node"), 0);
	base_only = rn_testns_snapshot(nl);
	assert_int_equal(rn_journal_count(j, "exit-node"), 0);
	assert_int_equal(rn_journal_count(j, "base"), 4);
	assert_sysctl("net.ipv4.ip_forward", "0");
	assert_mtu(nl, 1280);
	assert_true(strstr(base_only, "addr 100.64.0.7/32"));
	assert_true(strstr(base_only, "route 100.64.0.0/10"));
	assert_null(strstr(base_only, "table=51820"));
	assert_null(strstr(base_only, "prio=5209"));
	assert_int_equal(rn_journal_undo_group(j, nl, "exit-node"), 0); /* nothing left: fine */
	assert_int_equal(rn_journal_undo_group(j, nl, "Not A Group"), -EINVAL);

	assert_int_equal(rn_journal_undo_all(j, nl), 0);
	after = rn_testns_snapshot(nl);
	rn_testns_assert_same(before, after);
	free(before);
	free(base_only);
	free(after);
	rn_journal_free(j);
	rn_nl_close(nl);
	rn_testns_rm_state_dir(dir);
}

static void test_undo_tolerates_already_gone(void **state)
{
	struct rn_nl *nl = rn_testns_setup();
	struct rn_journal *j;
	char dir[64];

	(void)state;
	rn_testns_state_dir(dir, sizeof(dir));
	assert_int_equal(rn_journal_open(dir, &j), 0);
	apply_sample(nl, j);
	/* Someone removed our rule and route, and the interface with its addresses went too. */
	assert_int_equal(rn_nl_rule_del(nl, &mark4), 0);
	assert_int_equal(rn_nl_route_del(nl, &exit6), 0);
	assert_int_equal(rn_nl_link_del(nl, DEV), 0);
	assert_int_equal(rn_journal_undo_all(j, nl), 0);
	assert_int_equal(rn_journal_count(j, NULL), 0);
	assert_sysctl("net.ipv4.ip_forward", "0");
	rn_journal_free(j);
	rn_nl_close(nl);
	rn_testns_rm_state_dir(dir);
}

static void test_undo_failure_is_kept_and_the_rest_done(void **state)
{
	struct rn_nl *nl = rn_testns_setup();
	struct rn_nl_route a = { .dst = P("198.51.100.0/24"), .table = 9, .type = RTN_BLACKHOLE };
	struct rn_nl_route b = { .dst = P("203.0.113.0/24"), .table = 9, .type = RTN_BLACKHOLE };
	/* Host bits set: the kernel refuses to delete (EINVAL), as it refuses to add. */
	struct rn_nl_route bogus = { .dst = P("192.0.2.1/24"), .table = 9, .type = RTN_BLACKHOLE };
	struct rn_journal_entry ea = route_e("base", &a), eb = route_e("base", &b);
	struct rn_journal_entry ebad = route_e("base", &bogus);
	struct rn_journal *j;
	struct rn_nl_route *r;
	size_t n;
	char dir[64];

	(void)state;
	rn_testns_state_dir(dir, sizeof(dir));
	assert_int_equal(rn_journal_open(dir, &j), 0);
	apply(nl, j, &ea);
	assert_int_equal(rn_journal_append(j, &ebad), 0);
	apply(nl, j, &eb);
	assert_int_equal(rn_journal_undo_all(j, nl), -EINVAL);
	assert_int_equal(rn_nl_route_list(nl, &(struct rn_nl_filter){ .table = 9 }, &r, &n), 0);
	assert_int_equal(n, 0);
	free(r);
	assert_int_equal(rn_journal_count(j, NULL), 1);
	assert_true(rn_journal_same_object(rn_journal_at(j, 0), &ebad));
	assert_int_equal(rn_journal_load(j), 0); /* and so says the file */
	assert_int_equal(rn_journal_count(j, NULL), 1);
	rn_journal_free(j);
	rn_nl_close(nl);
	rn_testns_rm_state_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_save_and_load),
		cmocka_unit_test(test_load_without_file_is_empty),
		cmocka_unit_test(test_load_refuses_damage),
		cmocka_unit_test(test_refuses_files_others_can_write),
		cmocka_unit_test(test_group_names),
		cmocka_unit_test(test_undo_all_restores_exactly),
		cmocka_unit_test(test_undo_group_keeps_other_groups),
		cmocka_unit_test(test_undo_tolerates_already_gone),
		cmocka_unit_test(test_undo_failure_is_kept_and_the_rest_done),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
