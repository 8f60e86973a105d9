/* SPDX-License-Identifier: MIT */
/*
 * Test support: per-test network namespaces and full-state snapshots. A freshly created link
 * keeps changing for a moment (carrier, IPv6 multicast route), so setup waits until two
 * snapshots in a row agree before a test takes its "before" picture.
 */
#include "system/testns.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "system/sysctl.h"
#include "system/system.h"

#define SETTLE_DEADLINE_MS 5000
#define SETTLE_STEP_MS	   50

bool rn_testns_have_root(void)
{
	return geteuid() == 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void make_link(struct rn_nl *nl)
{
	/* veth first: some kernels (this CI's among them) lack the dummy driver. */
	int err = rn_nl_link_add(nl, RN_TESTNS_DEV, "veth", RN_TESTNS_PEER);

	if (err)
		err = rn_nl_link_add(nl, RN_TESTNS_DEV, "dummy", NULL);
	assert_int_equal(err, 0);
	if (rn_nl_link_get(nl, RN_TESTNS_PEER, &(struct rn_nl_link){ 0 }) == 0)
		assert_int_equal(rn_nl_link_set_up(nl, RN_TESTNS_PEER, true), 0);
	assert_int_equal(rn_nl_link_set_up(nl, RN_TESTNS_DEV, true), 0);
}

static void settle(struct rn_nl *nl)
{
	struct rn_nl_link link = { 0 };
	char *prev = NULL, *cur;

	for (int t = 0; t < SETTLE_DEADLINE_MS; t += SETTLE_STEP_MS) {
		assert_int_equal(rn_nl_link_get(nl, RN_TESTNS_DEV, &link), 0);
		cur = rn_testns_snapshot(nl);
		if ((link.flags & IFF_RUNNING) && prev && !strcmp(prev, cur)) {
			free(prev);
			free(cur);
			return;
		}
		free(prev);
		prev = cur;
		sleep_ms(SETTLE_STEP_MS);
	}
	free(prev);
	fail_msg("%s did not settle within %d ms", RN_TESTNS_DEV, SETTLE_DEADLINE_MS);
}

struct rn_nl *rn_testns_setup(void)
{
	static bool told;
	struct rn_nl *nl;

	if (!rn_testns_have_root()) {
		if (!told)
			print_message("skipping: needs root for a private network namespace\n");
		told = true;
		skip();
	}
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	/* No link-local addresses or DAD: they arrive late and would make snapshots drift. */
	rn_sysctl_write("net.ipv6.conf.default.addr_gen_mode", "1", NULL, 0);
	rn_sysctl_write("net.ipv6.conf.default.accept_dad", "0", NULL, 0);
	assert_int_equal(rn_nl_open(&nl), 0);
	assert_int_equal(rn_nl_link_set_up(nl, "lo", true), 0);
	make_link(nl);
	settle(nl);
	return nl;
}

/* ---- snapshots ---- */

struct lines {
	char **v;
	size_t n, cap;
};

__attribute__((format(printf, 2, 3))) static void add_line(struct lines *l, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	assert_true(vasprintf(&s, fmt, ap) >= 0);
	va_end(ap);
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		assert_non_null(l->v);
	}
	l->v[l->n++] = s;
}

static void snap_routes(struct rn_nl *nl, struct lines *l)
{
	char dst[RN_IPADDR_STRLEN], gw[RN_IPADDR_STRLEN];
	struct rn_nl_route *r;
	size_t n;

	assert_int_equal(rn_nl_route_list(nl, NULL, &r, &n), 0);
	for (size_t i = 0; i < n; i++)
		add_line(l, "route %s table=%u type=%u proto=%u scope=%u dev=%s gw=%s metric=%u",
			 rn_ipaddr_format_prefix(&r[i].dst, dst), r[i].table, r[i].type,
			 r[i].protocol, r[i].scope, r[i].dev, rn_ipaddr_format(&r[i].gateway, gw),
			 r[i].metric);
	free(r);
}

static void snap_rules(struct rn_nl *nl, struct lines *l)
{
	struct rn_nl_rule *r;
	size_t n;

	assert_int_equal(rn_nl_rule_list(nl, NULL, &r, &n), 0);
	for (size_t i = 0; i < n; i++)
		add_line(l,
			 "rule fam=%u prio=%u table=%u mark=%#x/%#x supp=%d/%u not=%d "
			 "proto=%u action=%u",
			 r[i].family, r[i].priority, r[i].table, r[i].fwmark, r[i].fwmask,
			 r[i].suppress, r[i].suppress_prefixlen, r[i].invert, r[i].protocol,
			 r[i].action);
	free(r);
}

static void snap_addrs(struct rn_nl *nl, struct lines *l)
{
	char p[RN_IPADDR_STRLEN];
	struct rn_nl_addr *a;
	size_t n;

	assert_int_equal(rn_nl_addr_list(nl, NULL, &a, &n), 0);
	for (size_t i = 0; i < n; i++)
		add_line(l, "addr %s dev=%s proto=%u", rn_ipaddr_format_prefix(&a[i].prefix, p),
			 a[i].dev, a[i].protocol);
	free(a);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *rn_testns_snapshot(struct rn_nl *nl)
{
	struct lines l = { 0 };
	size_t len = 1;
	char *out, *p;

	snap_addrs(nl, &l);
	snap_routes(nl, &l);
	snap_rules(nl, &l);
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), cmp_str);
	for (size_t i = 0; i < l.n; i++)
		len += strlen(l.v[i]) + 1;
	p = out = malloc(len);
	assert_non_null(out);
	for (size_t i = 0; i < l.n; i++) {
		p = stpcpy(p, l.v[i]);
		*p++ = '\n';
		free(l.v[i]);
	}
	*p = '\0';
	free(l.v);
	return out;
}

/* Prints the lines of a that b lacks, each with mark in front. */
static size_t print_missing(const char *a, const char *b, char mark)
{
	size_t n = 0;

	for (const char *p = a; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *q = b;
		bool found = false;

		while (!found && *q) {
			const char *qn = strchr(q, '\n');
			size_t qlen = qn ? (size_t)(qn - q) : strlen(q);

			found = qlen == len && !memcmp(p, q, len);
			q += qlen + (qn ? 1 : 0);
		}
		if (!found) {
			print_message("%c %.*s\n", mark, (int)len, p);
			n++;
		}
		p += len + (nl ? 1 : 0);
	}
	return n;
}

void rn_testns_assert_same(const char *before, const char *after)
{
	if (!strcmp(before, after))
		return;
	print_message("namespace state differs (- before only, + after only):\n");
	print_missing(before, after, '-');
	print_missing(after, before, '+');
	fail();
}

/* ---- state directories ---- */

void rn_testns_state_dir(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/rn-system-test.XXXXXX");
	assert_non_null(mkdtemp(buf));
}

void rn_testns_rm_state_dir(const char *dir)
{
	char path[512];
	struct dirent *d;
	DIR *dp = opendir(dir);

	if (!dp)
		return;
	while ((d = readdir(dp))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if (unlink(path) < 0 && errno == EISDIR)
			rmdir(path);
	}
	closedir(dp);
	rmdir(dir);
}

void rn_testns_sys_open(struct rn_testns_sys *f)
{
	f->nl = rn_testns_setup();
	rn_testns_state_dir(f->dir, sizeof(f->dir));
	assert_int_equal(rn_system_open(f->dir, &f->sys), 0);
}

void rn_testns_sys_close(struct rn_testns_sys *f)
{
	rn_system_close(f->sys);
	rn_nl_close(f->nl);
	rn_testns_rm_state_dir(f->dir);
}
