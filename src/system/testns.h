/* SPDX-License-Identifier: MIT */
/*
 * Test support for the system layer's unit tests: each kernel-touching test runs in a fresh,
 * empty network namespace of its own (unshare(CLONE_NEWNET)), so it never sees or changes the
 * host's routes, rules, addresses or sysctls. Without root these tests are skipped.
 */
#ifndef RN_SYSTEM_TESTNS_H
#define RN_SYSTEM_TESTNS_H

#include <stdbool.h>
#include <stddef.h>

#include "system/netlink.h"

/* The interface every test gets: a dummy, or one end of a veth pair where dummy is missing. */
#define RN_TESTNS_DEV  "rn0"
#define RN_TESTNS_PEER "rn0p"

/* Enters a fresh network namespace with lo and RN_TESTNS_DEV up and settled, and returns a
 * netlink handle in it. Calls cmocka's skip() when not root. */
struct rn_nl *rn_testns_setup(void);
bool rn_testns_have_root(void);

/* Every address, route (all tables) and rule of the namespace, one sorted line each: two
 * snapshots are equal exactly when the namespace's state is. Caller frees. */
char *rn_testns_snapshot(struct rn_nl *nl);

/* Fails the test when two snapshots differ, printing the lines only one of them has. */
void rn_testns_assert_same(const char *before, const char *after);

/* A fresh private state directory under /tmp, and its removal with what it holds. */
void rn_testns_state_dir(char *buf, size_t len);
void rn_testns_rm_state_dir(const char *dir);

/* The fixture of the tests that change the kernel through the system layer: a fresh
 * namespace (rn_testns_setup) and rn_system_open on a fresh state directory; close undoes
 * nothing itself, it frees and removes the directory. */
struct rn_system;
struct rn_testns_sys {
	struct rn_nl *nl;
	struct rn_system *sys;
	char dir[64];
};
void rn_testns_sys_open(struct rn_testns_sys *f);
void rn_testns_sys_close(struct rn_testns_sys *f);

#endif
