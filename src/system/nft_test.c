/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for rustynetd's nftables tables: names, families and ruleset bodies refused
 * (no privileges), then, in a private network namespace (root), tables set through the system
 * layer, read back with libnftables behind its back, replaced whole, undone, swept after a
 * crash, and never another group's or another program's.
 */
#include <errno.h>
#include <nftables/libnftables.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "system/journal.h"
#include "system/nft.h"
#include "system/system.h"
#include "system/testns.h"

#define TABLE "rustynet-test"
#define BODY_A                                                                                     \
	"chain forward { type filter hook forward priority 0; policy accept;\n"                    \
	"  iifname \"rn0\" accept\n}\n"                                                            \
	"chain postrouting { type nat hook postrouting priority 100; policy accept;\n"             \
	"  ip saddr 100.64.0.0/10 oifname != \"rn0\" masquerade\n}"
#define BODY_B "chain only { type filter hook forward priority 0; policy accept; counter; }"

/* What `nft list table` prints, for free(); NULL when nft fails (no such table). */
static char *list_table(const char *family, const char *name)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	char cmd[128], *out = NULL;

	assert_non_null(ctx);
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	snprintf(cmd, sizeof(cmd), "list table %s %s", family, name);
	if (!nft_run_cmd_from_buffer(ctx, cmd))
		out = strdup(nft_ctx_get_output_buffer(ctx));
	nft_ctx_free(ctx);
	return out;
}

static void nft_cmd(const char *cmd)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);

	nft_ctx_buffer_error(ctx);
	assert_int_equal(nft_run_cmd_from_buffer(ctx, cmd), 0);
	nft_ctx_free(ctx);
}

static void test_names_and_bodies(void **state)
{
	static const char *const bad_names[] = {
		"",
		"router",
		"rustynet router",
		"rustynet/x",
		"Rustynet",
		"rustynet-ROUTER",
		"rustynet-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	static const char *const bad_bodies[] = {
		"} table ip other { chain x { } ",
		"chain x {",
		"chain x { } }",
		"chain \"x { }",
	};

	(void)state;
	assert_true(rn_nft_name_ok("rustynet"));
	assert_true(rn_nft_name_ok("rustynet-router"));
	assert_true(rn_nft_name_ok("rustynet_kill-switch2"));
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		assert_false(rn_nft_name_ok(bad_names[i]));
	assert_true(rn_nft_family_ok("inet") && rn_nft_family_ok("ip") && rn_nft_family_ok("ip6"));
	assert_false(rn_nft_family_ok("bridge") || rn_nft_family_ok("") || rn_nft_family_ok(NULL));
	assert_true(rn_nft_body_ok(BODY_A) && rn_nft_body_ok(BODY_B) && rn_nft_body_ok(""));
	assert_true(rn_nft_body_ok("chain x { comment \"}\"; }"));
	for (size_t i = 0; i < sizeof(bad_bodies) / sizeof(bad_bodies[0]); i++)
		assert_false(rn_nft_body_ok(bad_bodies[i]));
	assert_false(rn_nft_body_ok(NULL));
}

static void test_journal_json_round_trip(void **state)
{
	static const char *const bad[] = {
		"{\"group\":\"router\",\"kind\":\"nft_table\",\"family\":\"inet\",\"name\":\"filter\"}",
		"{\"group\":\"router\",\"kind\":\"nft_table\",\"family\":\"bridge\","
		"\"name\":\"rustynet-x\"}",
		"{\"group\":\"router\",\"kind\":\"nft_table\",\"family\":\"inet\"}",
		"{\"group\":\"router\",\"kind\":\"nft_table\",\"family\":\"inet\","
		"\"name\":\"rustynet-x\",\"rules\":\"\"}",
	};
	struct rn_journal_entry e, back;
	char err[200], what[RN_JOURNAL_DESCRIBE_MAX];
	json_t *j;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.kind = RN_JOURNAL_NFT_TABLE;
	strcpy(e.group, "router");
	strcpy(e.nft_table.family, "inet");
	strcpy(e.nft_table.name, "rustynet-router");
	j = rn_journal_entry_to_json(&e);
	assert_non_null(j);
	assert_int_equal(rn_journal_entry_from_json(j, &back, err, sizeof(err)), 0);
	assert_true(rn_journal_same_object(&e, &back));
	json_decref(j);
	assert_string_equal(rn_journal_describe(&e, what, sizeof(what)),
			    "nft table inet rustynet-router [router]");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = json_loads(bad[i], 0, NULL);
		assert_non_null(j);
		err[0] = '\0';
		assert_int_equal(rn_journal_entry_from_json(j, &back, err, sizeof(err)), -EBADMSG);
		assert_true(err[0] != '\0');
		json_decref(j);
	}
}

static void test_set_replace_undo(void **state)
{
	struct rn_testns_sys f;
	char *txt;

	(void)state;
	rn_testns_sys_open(&f);
	assert_int_equal(rn_nft_table_exists("inet", TABLE), 0);
	assert_int_equal(rn_system_nft_table_set(f.sys, "router", "inet", TABLE, BODY_A), 0);
	txt = list_table("inet", TABLE);
	assert_non_null(txt);
	assert_non_null(strstr(txt, "chain forward"));
	assert_non_null(strstr(txt, "masquerade"));
	free(txt);
	assert_int_equal(rn_system_count(f.sys, "router"), 1);

	/* Replaced whole: chains the new ruleset lacks are gone; still one entry. */
	assert_int_equal(rn_system_nft_table_set(f.sys, "router", "inet", TABLE, BODY_B), 0);
	txt = list_table("inet", TABLE);
	assert_non_null(txt);
	assert_null(strstr(txt, "chain forward"));
	assert_non_null(strstr(txt, "chain only"));
	free(txt);
	assert_int_equal(rn_system_count(f.sys, NULL), 1);

	/* Another group may not take it; a ruleset nft refuses changes nothing. */
	assert_int_equal(rn_system_nft_table_set(f.sys, "killswitch", "inet", TABLE, BODY_A),
			 -EEXIST);
	assert_int_equal(
	    rn_system_nft_table_set(f.sys, "router", "inet", TABLE, "chain x { nope }"), -EIO);
	txt = list_table("inet", TABLE);
	assert_non_null(strstr(txt, "chain only"));
	free(txt);
	assert_int_equal(rn_system_nft_table_set(f.sys, "router", "inet", "filter", BODY_B),
			 -EINVAL);
	assert_int_equal(rn_system_nft_table_set(f.sys, "router", "inet", TABLE, "} x {"), -EINVAL);
	assert_int_equal(rn_system_nft_table_del(f.sys, "killswitch", "inet", TABLE), -ENOENT);

	assert_int_equal(rn_system_undo_group(f.sys, "router"), 0);
	assert_null(list_table("inet", TABLE));
	assert_int_equal(rn_system_count(f.sys, NULL), 0);

	/* Deleted behind our back: undo counts it as done. */
	assert_int_equal(rn_system_nft_table_set(f.sys, "router", "ip", TABLE, BODY_B), 0);
	nft_cmd("delete table ip " TABLE);
	assert_int_equal(rn_system_undo_all(f.sys), 0);
	assert_int_equal(rn_system_count(f.sys, NULL), 0);
	rn_testns_sys_close(&f);
}

static void test_del(void **state)
{
	struct rn_testns_sys f;

	(void)state;
	rn_testns_sys_open(&f);
	assert_int_equal(rn_system_nft_table_del(f.sys, "router", "inet", TABLE), -ENOENT);
	assert_int_equal(rn_system_nft_table_set(f.sys, "router", "inet", TABLE, BODY_B), 0);
	assert_int_equal(rn_system_nft_table_del(f.sys, "router", "inet", TABLE), 0);
	assert_int_equal(rn_nft_table_exists("inet", TABLE), 0);
	assert_int_equal(rn_system_count(f.sys, NULL), 0);
	rn_testns_sys_close(&f);
}

/* A crash leaves the table and its entry; the next process undoes it. A table of ours the
 * journal lacks (crash before the write) is swept; other programs' tables stay. */
static void test_crash_restart_and_sweep(void **state)
{
	struct rn_system *sys;
	struct rn_testns_sys f;
	size_t removed = 0;
	int status;
	pid_t pid;

	(void)state;
	rn_testns_sys_open(&f);
	rn_system_close(f.sys);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (rn_system_open(f.dir, &sys) ||
		    rn_system_nft_table_set(sys, "router", "inet", TABLE, BODY_A))
			_exit(1);
		raise(SIGKILL);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(rn_nft_table_exists("inet", TABLE), 1);
	nft_cmd("add table inet rustynet-stray\nadd table inet filter");

	assert_int_equal(rn_system_open(f.dir, &f.sys), 0);
	assert_int_equal(rn_system_count(f.sys, "router"), 1);
	assert_int_equal(rn_system_sweep(f.sys, &removed), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(rn_nft_table_exists("inet", "rustynet-stray"), 0);
	assert_int_equal(rn_nft_table_exists("inet", TABLE), 1);
	assert_int_equal(rn_system_undo_all(f.sys), 0);
	assert_int_equal(rn_nft_table_exists("inet", TABLE), 0);
	{ /* another program's table stays */
		char *txt = list_table("inet", "filter");

		assert_non_null(txt);
		free(txt);
	}
	rn_testns_sys_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_bodies),
		cmocka_unit_test(test_journal_json_round_trip),
		cmocka_unit_test(test_set_replace_undo),
		cmocka_unit_test(test_del),
		cmocka_unit_test(test_crash_restart_and_sweep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
