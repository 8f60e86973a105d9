/* SPDX-License-Identifier: MIT */
/*
 * The policy's own "tests" section, run by policy check against the filters compiled for the
 * test world: passing ones pass, and a failing accept or deny is refused at its line.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "policy/compile.h"
#include "policy/policy.h"
#include "policy/test_world.h"

static void test_policy_tests(void **state)
{
	static const struct {
		const char *policy;
		unsigned line, col; /* 0: passes */
		const char *message, *notes;
	} cases[] = {
		{ POLICY_T(AP("tcp", "\"group:eng\"", "\"tag:server:22\""),
			   "{\"src\": \"alice\", \"accept\": [\"tag:server:22\", \"server1:22\"], "
			   "\"deny\": [\"tag:server:80\", \"bob-laptop:22\"]},"
			   " {\"src\": \"alice\", \"proto\": \"udp\", \"deny\": [\"server1:22\"]}"),
		  0, 0, NULL, "" },
		{ POLICY_T(AP("tcp", "\"group:eng\"", "\"tag:server:22\""),
			   "{\"src\": \"bob\", \"accept\": [\"tag:server:22\"]}"),
		  2, 38,
		  "test failed: tests[0].accept[0] \"tag:server\": bob-laptop 100.64.0.2/32 cannot reach "
		  "server1 100.64.0.3/32, which the test accepts",
		  NULL },
		{ POLICY_T(AP("tcp", "\"group:eng\"", "\"tag:server:22\""),
			   "{\"src\": \"alice\", \"deny\": [\"server1:22\"]}"),
		  2, 38,
		  "test failed: tests[0].deny[0] \"server1\": alice-laptop 100.64.0.1/32 reaches server1 "
		  "100.64.0.3/32, which the test denies",
		  NULL },
		/* A LAN address is reached through the router that forwards it, approved only. */
		{ POLICY_T(A("\"alice\"", "\"10.0.0.0/8:*\""),
			   "{\"src\": \"alice\", \"accept\": [\"10.1.2.3:80\"], "
			   "\"deny\": [\"10.2.0.1:80\", \"router:80\"]}"),
		  0, 0, NULL, "" },
		{ POLICY_T(
		      AP("icmp", "\"*\"", "\"bob-laptop:*\""),
		      "{\"src\": \"alice\", \"proto\": \"icmp\", \"accept\": [\"bob-laptop:*\"]},"
		      " {\"src\": \"alice\", \"proto\": \"ipv6-icmp\", \"deny\": [\"bob-laptop:*\"]}"),
		  0, 0, NULL, "" },
		/* admin's nodes are all tagged: no node of theirs to test from yet. */
		{ POLICY_T(A("\"*\"", "\"*:*\""), "{\"src\": \"admin\", \"deny\": [\"alice:22\"]}"),
		  0, 0, NULL,
		  "t.json: note: tests[0]: \"admin\" has no node yet, so it is not run\n" },
		{ POLICY_T(A("\"*\"", "\"*:*\""), "{\"src\": \"dave\", \"deny\": [\"alice:22\"]}"),
		  2, 20, "unknown user or node \"dave\" in tests[0].src; fix the name or remove it",
		  NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL;
		struct rn_policy_error err;
		size_t len = 0;
		FILE *f = open_memstream(&out, &len);
		int ret;

		assert_non_null(f);
		ret = rn_policy_check_notes(cases[i].policy, strlen(cases[i].policy), "t.json",
					    &world, &err, f);
		fclose(f);
		if (cases[i].line == 0 && ret)
			fail_msg("case %zu: %s", i, err.text);
		if (cases[i].line &&
		    (ret != -EINVAL || err.line != cases[i].line || err.column != cases[i].col ||
		     strcmp(err.message, cases[i].message)))
			fail_msg("case %zu:\n got  %s\n want %u:%u: %s", i, err.text, cases[i].line,
				 cases[i].col, cases[i].message);
		if (cases[i].notes && strcmp(out, cases[i].notes))
			fail_msg("case %zu: notes \"%s\", want \"%s\"", i, out, cases[i].notes);
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_tests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
