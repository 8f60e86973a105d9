/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the allowed-IPs table: hand-picked edges, then random prefixes checked
 * against a naive reference (a list scanned for the longest matching prefix).
 */
#include <arpa/inet.h>
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

#include "wg/allowedips.h"

#define NPEERS 1000
static char peer_tokens[NPEERS]; /* peers are opaque: any distinct addresses will do */
#define PEER(i) ((void *)&peer_tokens[(i)])

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static unsigned int addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static void mask_bytes(uint8_t *a, unsigned int len, unsigned int cidr)
{
	for (unsigned int i = 0; i < len; i++) {
		if (cidr <= 8 * i)
			a[i] = 0;
		else if (cidr < 8 * (i + 1))
			a[i] &= (uint8_t)(0xff << (8 * (i + 1) - cidr));
	}
}

static bool prefix_has(const uint8_t *pfx, unsigned int cidr, const uint8_t *addr, unsigned int len)
{
	uint8_t a[16];

	memcpy(a, addr, len);
	mask_bytes(a, len, cidr);
	return !memcmp(a, pfx, len);
}

/* The naive reference: a flat list of distinct prefixes. */
struct ref_prefix {
	int family;
	uint8_t addr[16];
	uint8_t cidr;
	bool visited;
	void *peer;
};

struct ref {
	struct ref_prefix *p;
	size_t n, cap;
};

static struct ref_prefix *ref_find(struct ref *r, int family, const uint8_t *addr, uint8_t cidr)
{
	uint8_t a[16] = { 0 };

	memcpy(a, addr, addr_len(family));
	mask_bytes(a, addr_len(family), cidr);
	for (size_t i = 0; i < r->n; i++)
		if (r->p[i].family == family && r->p[i].cidr == cidr &&
		    !memcmp(r->p[i].addr, a, addr_len(family)))
			return &r->p[i];
	return NULL;
}

static void ref_insert(struct ref *r, int family, const uint8_t *addr, uint8_t cidr, void *peer)
{
	struct ref_prefix *p = ref_find(r, family, addr, cidr);

	if (!p) {
		if (r->n == r->cap) {
			r->cap = r->cap ? 2 * r->cap : 64;
			r->p = realloc(r->p, r->cap * sizeof(*r->p));
			assert_non_null(r->p);
		}
		p = &r->p[r->n++];
		memset(p, 0, sizeof(*p));
		p->family = family;
		p->cidr = cidr;
		memcpy(p->addr, addr, addr_len(family));
		mask_bytes(p->addr, addr_len(family), cidr);
	}
	p->peer = peer; /* the latest insert wins */
}

static void ref_delete(struct ref *r, struct ref_prefix *p)
{
	*p = r->p[--r->n];
}

static void ref_remove_by_peer(struct ref *r, void *peer)
{
	for (size_t i = 0; i < r->n;) {
		if (r->p[i].peer == peer)
			ref_delete(r, &r->p[i]);
		else
			i++;
	}
}

static void *ref_lookup(const struct ref *r, int family, const uint8_t *addr)
{
	const struct ref_prefix *best = NULL;

	for (size_t i = 0; i < r->n; i++) {
		const struct ref_prefix *p = &r->p[i];

		if (p->family == family && (!best || p->cidr > best->cidr) &&
		    prefix_has(p->addr, p->cidr, addr, addr_len(family)))
			best = p;
	}
	return best ? best->peer : NULL;
}

/* Addresses cluster around a few bases so that random prefixes nest and overlap. */
static uint8_t bases[2][8][16];

static void rand_bytes(uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rng();
}

/* Randomizes every bit of a from bit number from on. */
static void randomize_from(uint8_t *a, unsigned int len, unsigned int from)
{
	uint8_t noise[16];

	rand_bytes(noise, len);
	for (unsigned int bit = from; bit < 8 * len; bit++) {
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));

		a[bit / 8] = (uint8_t)((a[bit / 8] & ~m) | (noise[bit / 8] & m));
	}
}

static void rand_addr(int family, uint8_t *out)
{
	unsigned int len = addr_len(family);

	memcpy(out, bases[family == AF_INET6][rng() % 8], len);
	randomize_from(out, len, rng() % (8 * len + 1));
}

static uint8_t rand_cidr(int family)
{
	unsigned int bits = 8 * addr_len(family);

	if (rng() % 100 < 2)
		return (uint8_t)(rng() % 9); /* rarely very short: they cover a lot */
	return (uint8_t)(8 + rng() % (bits - 7));
}

static int rand_family(void)
{
	return rng() & 1 ? AF_INET : AF_INET6;
}

static const char *fmt_addr(int family, const void *addr, char *buf)
{
	return inet_ntop(family, addr, buf, INET6_ADDRSTRLEN);
}

static void check_lookups(const struct rn_allowedips *t, const struct ref *r, int n)
{
	for (int i = 0; i < n; i++) {
		int family = rand_family(), how = (int)(rng() % 4);
		unsigned int len = addr_len(family);
		char buf[INET6_ADDRSTRLEN];
		uint8_t addr[16];
		void *want, *got;

		rand_addr(family, addr);
		if (how == 3) {
			rand_bytes(addr, len);
		} else if (how < 2 && r->n) {
			const struct ref_prefix *p = &r->p[rng() % r->n];

			if (p->family == family) {
				/* Inside some prefix, or (how 1) just outside it. */
				unsigned int last = p->cidr - 1;

				memcpy(addr, p->addr, len);
				randomize_from(addr, len, p->cidr);
				if (how == 1 && p->cidr)
					addr[last / 8] ^= (uint8_t)(0x80 >> (last % 8));
			}
		}
		want = ref_lookup(r, family, addr);
		got = rn_allowedips_lookup(t, family, addr);
		if (want != got)
			fail_msg("lookup %s: got peer %td, want %td", fmt_addr(family, addr, buf),
				 got ? (char *)got - peer_tokens : -1,
				 want ? (char *)want - peer_tokens : -1);
	}
}

struct walk_ctx {
	struct ref *r;
	void *peer;
	size_t seen;
};

static int walk_check(void *ctx, int family, const void *addr, uint8_t cidr)
{
	struct walk_ctx *w = ctx;
	struct ref_prefix *p = w->r ? ref_find(w->r, family, addr, cidr) : NULL;
	uint8_t masked[16];

	memcpy(masked, addr, addr_len(family));
	mask_bytes(masked, addr_len(family), cidr);
	assert_memory_equal(masked, addr, addr_len(family)); /* host bits come back zero */
	assert_non_null(p);
	assert_ptr_equal(p->peer, w->peer);
	assert_false(p->visited);
	p->visited = true;
	w->seen++;
	return 0;
}

static void check_walks(const struct rn_allowedips *t, struct ref *r)
{
	for (int i = 0; i < NPEERS; i += 7) {
		struct walk_ctx w = { r, PEER(i), 0 };
		size_t want = 0;

		for (size_t j = 0; j < r->n; j++) {
			r->p[j].visited = false;
			want += r->p[j].peer == PEER(i);
		}
		assert_int_equal(rn_allowedips_walk_by_peer(t, PEER(i), walk_check, &w), 0);
		assert_int_equal(w.seen, want);
	}
}

static void check_counts(const struct rn_allowedips *t, const struct ref *r)
{
	assert_int_equal(t->n_prefixes, r->n);
	/* Branch points have two children each, so there are fewer of them than prefixes. */
	assert_true(t->n_nodes < 2 * t->n_prefixes || (!t->n_nodes && !t->n_prefixes));
}

static void random_round(int n_inserts, int n_peers)
{
	struct rn_allowedips t;
	struct ref r = { 0 };

	rand_bytes(&bases[0][0][0], sizeof(bases));
	rn_allowedips_init(&t);
	for (int i = 0; i < n_inserts; i++) {
		int family = rand_family();
		void *peer = PEER(rng() % n_peers);
		uint8_t addr[16], cidr = rand_cidr(family);

		rand_addr(family, addr);
		if (i % 10 == 9 && r.n) {
			/* Re-insert a known prefix, host bits set: it moves to the new peer. */
			const struct ref_prefix *p = &r.p[rng() % r.n];

			family = p->family;
			cidr = p->cidr;
			memcpy(addr, p->addr, 16);
			addr[addr_len(family) - 1] |= 1;
		}
		assert_int_equal(rn_allowedips_insert(&t, family, addr, cidr, peer), 0);
		ref_insert(&r, family, addr, cidr, peer);
	}
	check_counts(&t, &r);
	check_lookups(&t, &r, 20000);
	check_walks(&t, &r);

	/* Removal by prefix: only the owner may remove. */
	for (int i = 0; i < n_inserts / 2 && r.n; i++) {
		struct ref_prefix *p = &r.p[rng() % r.n];
		char *wrong = (char *)p->peer == &peer_tokens[0] ? PEER(1) : PEER(0);

		if (i % 4 == 0) {
			assert_int_equal(
			    rn_allowedips_remove(&t, p->family, p->addr, p->cidr, wrong), -ENOENT);
			continue;
		}
		assert_int_equal(rn_allowedips_remove(&t, p->family, p->addr, p->cidr, p->peer), 0);
		assert_int_equal(rn_allowedips_remove(&t, p->family, p->addr, p->cidr, p->peer),
				 -ENOENT);
		ref_delete(&r, p);
	}
	check_counts(&t, &r);
	check_lookups(&t, &r, 20000);
	check_walks(&t, &r);

	for (int i = 0; i < n_peers; i += 3) {
		rn_allowedips_remove_by_peer(&t, PEER(i));
		ref_remove_by_peer(&r, PEER(i));
	}
	check_counts(&t, &r);
	check_lookups(&t, &r, 20000);
	check_walks(&t, &r);

	for (int i = 0; i < n_peers; i++)
		rn_allowedips_remove_by_peer(&t, PEER(i));
	assert_null(t.root4);
	assert_null(t.root6);
	assert_null(t.peers);
	assert_int_equal(t.n_nodes, 0);
	assert_int_equal(t.n_prefixes, 0);

	/* Freeing a populated table releases everything (ASan checks). */
	for (int i = 0; i < 500; i++) {
		int family = rand_family();
		uint8_t addr[16];

		rand_addr(family, addr);
		assert_int_equal(rn_allowedips_insert(&t, family, addr, rand_cidr(family), PEER(i)),
				 0);
	}
	rn_allowedips_free(&t);
	free(r.p);
}

static void check_walk_of(const struct rn_allowedips *t, struct ref *r, void *peer)
{
	struct walk_ctx w = { r, peer, 0 };
	size_t want = 0;

	for (size_t j = 0; j < r->n; j++) {
		r->p[j].visited = false;
		want += r->p[j].peer == peer;
	}
	assert_int_equal(rn_allowedips_walk_by_peer(t, peer, walk_check, &w), 0);
	assert_int_equal(w.seen, want);
}

/*
 * Inserts, moves and removals interleaved with walks, on few peers and clustered prefixes so
 * that nodes turn into branch points and back: the order in which exit nodes get switched.
 */
static void test_churn_against_reference(void **state)
{
	enum { N_PEERS = 4, N_OPS = 20000 };
	struct rn_allowedips t;
	struct ref r = { 0 };

	(void)state;
	rand_bytes(&bases[0][0][0], sizeof(bases));
	rn_allowedips_init(&t);
	for (int i = 0; i < N_OPS; i++) {
		unsigned int op = (unsigned int)(rng() % 16);
		void *peer = PEER(rng() % N_PEERS);
		int family = rand_family();
		uint8_t addr[16], cidr = rand_cidr(family);

		rand_addr(family, addr);
		if (op < 8) {
			if (op < 3 && r.n) { /* an existing prefix: a move, or a no-op */
				const struct ref_prefix *p = &r.p[rng() % r.n];

				family = p->family;
				cidr = p->cidr;
				memcpy(addr, p->addr, 16);
			}
			assert_int_equal(rn_allowedips_insert(&t, family, addr, cidr, peer), 0);
			ref_insert(&r, family, addr, cidr, peer);
		} else if (op < 11 && r.n) {
			struct ref_prefix *p = &r.p[rng() % r.n];

			assert_int_equal(
			    rn_allowedips_remove(&t, p->family, p->addr, p->cidr, p->peer), 0);
			ref_delete(&r, p);
		} else if (op == 11) {
			rn_allowedips_remove_by_peer(&t, peer);
			ref_remove_by_peer(&r, peer);
		} else {
			check_walk_of(&t, &r, peer);
			check_lookups(&t, &r, 4);
		}
	}
	check_counts(&t, &r);
	for (int i = 0; i < N_PEERS; i++)
		check_walk_of(&t, &r, PEER(i));
	rn_allowedips_free(&t);
	free(r.p);
}

static void test_random_against_reference(void **state)
{
	(void)state;
	random_round(3000, 100);
	random_round(3000, 3);	/* few peers, long per-peer lists */
	random_round(200, 500); /* sparse */
}

static void lookup_is(const struct rn_allowedips *t, const char *ip, void *want)
{
	int family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	uint8_t addr[16];

	assert_int_equal(inet_pton(family, ip, addr), 1);
	if (rn_allowedips_lookup(t, family, addr) != want)
		fail_msg("lookup %s: unexpected peer", ip);
}

static int add(struct rn_allowedips *t, const char *ip, uint8_t cidr, void *peer)
{
	int family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	uint8_t addr[16];

	assert_int_equal(inet_pton(family, ip, addr), 1);
	return rn_allowedips_insert(t, family, addr, cidr, peer);
}

static int del(struct rn_allowedips *t, const char *ip, uint8_t cidr, void *peer)
{
	int family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	uint8_t addr[16];

	assert_int_equal(inet_pton(family, ip, addr), 1);
	return rn_allowedips_remove(t, family, addr, cidr, peer);
}

static int count_cb(void *ctx, int family, const void *addr, uint8_t cidr)
{
	(void)family;
	(void)addr;
	(void)cidr;
	++*(int *)ctx;
	return 0;
}

static int count_of(const struct rn_allowedips *t, void *peer)
{
	int n = 0;

	assert_int_equal(rn_allowedips_walk_by_peer(t, peer, count_cb, &n), 0);
	return n;
}

static void test_edges(void **state)
{
	void *a = PEER(1), *b = PEER(2), *c = PEER(3), *d = PEER(4), *e = PEER(5);
	struct rn_allowedips t;

	(void)state;
	rn_allowedips_init(&t);
	lookup_is(&t, "1.2.3.4", NULL);
	assert_int_equal(add(&t, "0.0.0.0", 0, a), 0);
	lookup_is(&t, "1.2.3.4", a);
	lookup_is(&t, "255.255.255.255", a);
	lookup_is(&t, "::", NULL); /* families never mix */
	assert_int_equal(add(&t, "::", 0, b), 0);
	lookup_is(&t, "ffff::1", b);
	lookup_is(&t, "::ffff:1.2.3.4", b);
	lookup_is(&t, "0.0.0.0", a);

	assert_int_equal(add(&t, "192.0.2.1", 32, c), 0);
	lookup_is(&t, "192.0.2.1", c);
	lookup_is(&t, "192.0.2.0", a);
	lookup_is(&t, "192.0.2.3", a);
	assert_int_equal(add(&t, "2001:db8::1", 128, d), 0);
	lookup_is(&t, "2001:db8::1", d);
	lookup_is(&t, "2001:db8::", b);
	lookup_is(&t, "2001:db8::3", b);

	/* Nested prefixes, host bits set on insert. */
	assert_int_equal(add(&t, "10.9.9.9", 8, a), 0);
	assert_int_equal(add(&t, "10.1.255.255", 16, b), 0);
	assert_int_equal(add(&t, "10.1.1.77", 24, c), 0);
	assert_int_equal(add(&t, "10.1.1.1", 32, d), 0);
	assert_int_equal(add(&t, "10.1.1.200", 25, e), 0);
	lookup_is(&t, "10.1.1.1", d);
	lookup_is(&t, "10.1.1.2", c);
	lookup_is(&t, "10.1.1.128", e);
	lookup_is(&t, "10.1.2.1", b);
	lookup_is(&t, "10.2.0.0", a);
	lookup_is(&t, "11.0.0.0", a);
	assert_int_equal(del(&t, "10.1.1.0", 24, c), 0);
	lookup_is(&t, "10.1.1.2", b);
	lookup_is(&t, "10.1.1.1", d);
	lookup_is(&t, "10.1.1.255", e);

	/* Re-inserting moves ownership; the old owner can no longer remove it. */
	assert_int_equal(del(&t, "10.1.0.0", 16, a), -ENOENT);
	assert_int_equal(add(&t, "10.1.0.0", 16, c), 0);
	lookup_is(&t, "10.1.2.1", c);
	assert_int_equal(count_of(&t, b), 1); /* only ::/0 is left to b */
	assert_int_equal(del(&t, "10.1.0.0", 16, b), -ENOENT);
	assert_int_equal(del(&t, "10.1.77.0", 16, c), 0); /* host bits ignored here too */
	lookup_is(&t, "10.1.2.1", a);
	assert_int_equal(del(&t, "10.1.0.0", 16, c), -ENOENT);

	/* Prefix lengths around the middle of an IPv6 address. */
	assert_int_equal(add(&t, "2001:db8:0:1::", 64, a), 0);
	assert_int_equal(add(&t, "2001:db8:0:1:8000::", 65, c), 0);
	assert_int_equal(add(&t, "2001:db8::", 63, e), 0);
	lookup_is(&t, "2001:db8:0:1::5", a);
	lookup_is(&t, "2001:db8:0:1:8000::1", c);
	lookup_is(&t, "2001:db8:0:1:7fff:ffff:ffff:ffff", a);
	lookup_is(&t, "2001:db8::5", e);
	lookup_is(&t, "2001:db8::1", d);
	lookup_is(&t, "2001:db8:0:2::1", b);
	assert_int_equal(del(&t, "2001:db8:0:1::", 64, a), 0);
	lookup_is(&t, "2001:db8:0:1::5", e);
	lookup_is(&t, "2001:db8:0:1:8000::1", c);

	/* Dropping the defaults. */
	assert_int_equal(del(&t, "0.0.0.0", 0, a), 0);
	lookup_is(&t, "11.0.0.0", NULL);
	lookup_is(&t, "10.2.0.0", a);
	assert_int_equal(del(&t, "::", 0, b), 0);
	lookup_is(&t, "2001:db8:0:2::1", NULL);
	assert_int_equal(count_of(&t, b), 0);
	rn_allowedips_free(&t);
}

static void test_invalid(void **state)
{
	uint8_t addr[16] = { 10 };
	struct rn_allowedips t;

	(void)state;
	rn_allowedips_init(&t);
	assert_int_equal(rn_allowedips_insert(&t, AF_UNIX, addr, 8, PEER(0)), -EINVAL);
	assert_int_equal(rn_allowedips_insert(&t, AF_INET, addr, 33, PEER(0)), -EINVAL);
	assert_int_equal(rn_allowedips_insert(&t, AF_INET6, addr, 129, PEER(0)), -EINVAL);
	assert_int_equal(rn_allowedips_insert(&t, AF_INET, addr, 8, NULL), -EINVAL);
	assert_int_equal(rn_allowedips_remove(&t, AF_UNIX, addr, 8, PEER(0)), -EINVAL);
	assert_int_equal(rn_allowedips_remove(&t, AF_INET, addr, 33, PEER(0)), -EINVAL);
	assert_int_equal(rn_allowedips_remove(&t, AF_INET, addr, 8, PEER(0)), -ENOENT);
	assert_int_equal(rn_allowedips_insert(&t, AF_INET, addr, 8, PEER(0)), 0);
	assert_int_equal(rn_allowedips_remove(&t, AF_INET, addr, 8, NULL), -ENOENT);
	assert_int_equal(rn_allowedips_remove(&t, AF_INET, addr, 9, PEER(0)), -ENOENT);
	assert_int_equal(rn_allowedips_remove(&t, AF_INET, addr, 7, PEER(0)), -ENOENT);
	assert_int_equal(rn_allowedips_remove(&t, AF_INET6, addr, 8, PEER(0)), -ENOENT);
	assert_null(rn_allowedips_lookup(&t, AF_UNIX, addr));
	rn_allowedips_remove_by_peer(&t, PEER(1));
	rn_allowedips_remove_by_peer(&t, NULL);
	assert_int_equal(count_of(&t, PEER(1)), 0);
	assert_int_equal(count_of(&t, NULL), 0);
	assert_ptr_equal(rn_allowedips_lookup(&t, AF_INET, addr), PEER(0));
	rn_allowedips_free(&t);
	rn_allowedips_free(&t); /* free leaves an empty, reusable table */
}

struct order_ctx {
	char seen[4][INET6_ADDRSTRLEN + 4];
	int n, stop_at;
};

static int order_cb(void *ctx, int family, const void *addr, uint8_t cidr)
{
	struct order_ctx *o = ctx;
	char buf[INET6_ADDRSTRLEN];

	assert_true(o->n < 4);
	snprintf(o->seen[o->n++], sizeof(o->seen[0]), "%s/%u", fmt_addr(family, addr, buf), cidr);
	return o->n == o->stop_at ? 42 : 0;
}

static void test_walk_order_and_stop(void **state)
{
	struct order_ctx o = { .stop_at = 0 };
	struct rn_allowedips t;

	(void)state;
	rn_allowedips_init(&t);
	assert_int_equal(add(&t, "10.0.0.1", 32, PEER(1)), 0);
	assert_int_equal(add(&t, "fd00::1234", 64, PEER(1)), 0);
	assert_int_equal(add(&t, "10.0.0.0", 24, PEER(2)), 0);
	assert_int_equal(add(&t, "0.0.0.0", 0, PEER(1)), 0);
	assert_int_equal(rn_allowedips_walk_by_peer(&t, PEER(1), order_cb, &o), 0);
	assert_int_equal(o.n, 3);
	assert_string_equal(o.seen[0], "10.0.0.1/32");
	assert_string_equal(o.seen[1], "fd00::/64");
	assert_string_equal(o.seen[2], "0.0.0.0/0");
	o = (struct order_ctx){ .stop_at = 2 };
	assert_int_equal(rn_allowedips_walk_by_peer(&t, PEER(1), order_cb, &o), 42);
	assert_int_equal(o.n, 2);
	rn_allowedips_free(&t);
}

/*
 * Switching exit nodes (issue 12, item 14): removing X's prefixes by peer left 0.0.0.0/0 as a
 * branch point above Y's two /32s with X's list links still in it, so giving 0.0.0.0/0 to a
 * peer again chained that peer's list through X's freed ::/0 node. ASan saw the walk that
 * `wg show` does read freed memory.
 */
static void test_remove_by_peer_keeps_branch_point(void **state)
{
	void *x = PEER(1), *y = PEER(2), *z = PEER(3);
	struct rn_allowedips t;

	(void)state;
	rn_allowedips_init(&t);
	assert_int_equal(add(&t, "100.64.0.1", 32, y), 0);
	assert_int_equal(add(&t, "192.168.1.1", 32, y), 0);
	assert_int_equal(add(&t, "0.0.0.0", 0, x), 0);
	assert_int_equal(add(&t, "::", 0, x), 0);
	rn_allowedips_remove_by_peer(&t, x);
	assert_int_equal(count_of(&t, x), 0);
	lookup_is(&t, "198.51.100.1", NULL);
	lookup_is(&t, "2001:db8::1", NULL);

	/* The new exit, then the old one again: each sees exactly its own prefixes. */
	assert_int_equal(add(&t, "0.0.0.0", 0, z), 0);
	assert_int_equal(count_of(&t, z), 1);
	assert_int_equal(count_of(&t, y), 2);
	lookup_is(&t, "198.51.100.1", z);
	lookup_is(&t, "100.64.0.1", y);
	rn_allowedips_remove_by_peer(&t, z);
	assert_int_equal(add(&t, "0.0.0.0", 0, x), 0);
	assert_int_equal(add(&t, "::", 0, x), 0);
	assert_int_equal(count_of(&t, x), 2);
	assert_int_equal(count_of(&t, z), 0);
	assert_int_equal(del(&t, "0.0.0.0", 0, x), 0);
	assert_int_equal(count_of(&t, x), 1);
	lookup_is(&t, "2001:db8::1", x);
	lookup_is(&t, "198.51.100.1", NULL);
	rn_allowedips_free(&t);
}

/*
 * Moving the only prefix of the only peer to another peer: the table's peer map empties half
 * way through the move, and the new owner must still find a slot.
 */
static void test_move_last_prefix(void **state)
{
	struct rn_allowedips t;

	(void)state;
	rn_allowedips_init(&t);
	assert_int_equal(add(&t, "0.0.0.0", 0, PEER(1)), 0);
	assert_int_equal(add(&t, "0.0.0.0", 0, PEER(2)), 0);
	lookup_is(&t, "198.51.100.1", PEER(2));
	assert_int_equal(count_of(&t, PEER(1)), 0);
	assert_int_equal(count_of(&t, PEER(2)), 1);
	assert_int_equal(t.n_prefixes, 1);
	rn_allowedips_remove_by_peer(&t, PEER(2));
	assert_null(t.root4);
	assert_null(t.peers);
	rn_allowedips_free(&t);
}

/* The shape of a real mesh: a thousand peers with a handful of prefixes each. */
static void test_thousand_peers(void **state)
{
	struct rn_allowedips t;

	(void)state;
	rn_allowedips_init(&t);
	for (uint32_t i = 0; i < NPEERS; i++) {
		uint32_t v4 = htonl(0x64400000u + i); /* 100.64.0.0/10 mesh addresses */
		uint8_t v6[16] = { 0xfd,      0x7a, 0x11, 0x5c, 0,
				   0,	      0,    0,	  0,	0,
				   0,	      0,    0,	  0,	(uint8_t)(i >> 8),
				   (uint8_t)i };
		uint32_t lan = htonl(0xc0a80000u + (i << 8)); /* a routed /24 per peer */

		assert_int_equal(rn_allowedips_insert(&t, AF_INET, &v4, 32, PEER(i)), 0);
		assert_int_equal(rn_allowedips_insert(&t, AF_INET6, v6, 128, PEER(i)), 0);
		assert_int_equal(rn_allowedips_insert(&t, AF_INET, &lan, 24, PEER(i)), 0);
	}
	assert_int_equal(t.n_prefixes, 3 * NPEERS);
	print_message("%zu prefixes in %zu nodes, %zu peer slots\n", t.n_prefixes, t.n_nodes,
		      t.peers_cap);
	for (uint32_t i = 0; i < NPEERS; i++) {
		uint32_t v4 = htonl(0x64400000u + i), lan = htonl(0xc0a80000u + (i << 8) + 9);

		assert_ptr_equal(rn_allowedips_lookup(&t, AF_INET, &v4), PEER(i));
		assert_ptr_equal(rn_allowedips_lookup(&t, AF_INET, &lan), PEER(i));
		assert_int_equal(count_of(&t, PEER(i)), 3);
	}
	for (uint32_t i = 0; i < NPEERS; i += 2)
		rn_allowedips_remove_by_peer(&t, PEER(i));
	for (uint32_t i = 0; i < NPEERS; i++) {
		uint32_t v4 = htonl(0x64400000u + i);

		assert_ptr_equal(rn_allowedips_lookup(&t, AF_INET, &v4), i % 2 ? PEER(i) : NULL);
		assert_int_equal(count_of(&t, PEER(i)), i % 2 ? 3 : 0);
	}
	rn_allowedips_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_walk_order_and_stop),
		cmocka_unit_test(test_thousand_peers),
		cmocka_unit_test(test_remove_by_peer_keeps_branch_point),
		cmocka_unit_test(test_move_last_prefix),
		cmocka_unit_test(test_random_against_reference),
		cmocka_unit_test(test_churn_against_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
