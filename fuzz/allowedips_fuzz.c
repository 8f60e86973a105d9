/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the allowed-IPs table: the input is a program of table operations
 * (insert, move, remove, remove by peer, replace a peer's set, lookup, walk by peer) run on
 * both the trie and a naive reference, a flat list scanned for the longest match. Any
 * disagreement (a return code, a lookup, the prefixes a peer's walk yields or their order)
 * traps; ASan catches what goes wrong in memory. The order of configuration changes is what
 * broke the trie before (issue 12, item 14), so the program, not one input, is the unit here.
 *
 * Each operation is one opcode byte, low 3 bits the operation and the next 2 the peer, then
 * its operands. Addresses come from few bytes so that prefixes nest, share branch points and
 * collide: IPv4 from 4 bytes, IPv6 as 2001:db8:: with 4 bytes at offset 6, across the
 * 64-bit word boundary the trie compares by.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "wg/allowedips.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
	N_PEERS = 4,
	MAX_OPS = 2048,
	OP_INSERT = 0,
	OP_REMOVE,
	OP_REMOVE_BY_PEER,
	OP_REPLACE,
	OP_LOOKUP,
	OP_WALK,
	OP_MOVE_KNOWN,	 /* insert a prefix the table holds, for any peer */
	OP_REMOVE_KNOWN, /* remove a prefix the table holds, by its owner or not */
};

static char peer_tokens[N_PEERS];

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

struct input {
	const uint8_t *p;
	size_t left;
};

static bool take(struct input *in, uint8_t *out, size_t n)
{
	if (in->left < n)
		return false;
	memcpy(out, in->p, n);
	in->p += n;
	in->left -= n;
	return true;
}

struct ref_prefix {
	int family;
	uint8_t addr[16]; /* host bits zero */
	uint8_t cidr;
	void *peer;
	uint64_t seq; /* when peer got it: a walk yields a peer's prefixes in this order */
};

struct ref {
	struct ref_prefix *p;
	size_t n, cap;
	uint64_t seq;
};

static unsigned int addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static void mask_bytes(uint8_t *a, int family, unsigned int cidr)
{
	for (unsigned int i = 0; i < addr_len(family); i++) {
		if (cidr <= 8 * i)
			a[i] = 0;
		else if (cidr < 8 * (i + 1))
			a[i] &= (uint8_t)(0xff << (8 * (i + 1) - cidr));
	}
}

static bool prefix_has(const struct ref_prefix *p, int family, const uint8_t *addr)
{
	uint8_t a[16];

	if (p->family != family)
		return false;
	memcpy(a, addr, addr_len(family));
	mask_bytes(a, family, p->cidr);
	return !memcmp(a, p->addr, addr_len(family));
}

static struct ref_prefix *ref_find(struct ref *r, int family, const uint8_t *addr, uint8_t cidr)
{
	uint8_t a[16] = { 0 };

	memcpy(a, addr, addr_len(family));
	mask_bytes(a, family, cidr);
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
			if (!r->p)
				abort();
		}
		p = &r->p[r->n++];
		memset(p, 0, sizeof(*p));
		p->family = family;
		p->cidr = cidr;
		memcpy(p->addr, addr, addr_len(family));
		mask_bytes(p->addr, family, cidr);
	}
	if (p->peer != peer) /* a move goes to the end of the new owner's list */
		p->seq = ++r->seq;
	p->peer = peer;
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

	for (size_t i = 0; i < r->n; i++)
		if ((!best || r->p[i].cidr > best->cidr) && prefix_has(&r->p[i], family, addr))
			best = &r->p[i];
	return best ? best->peer : NULL;
}

/* An address from 4 input bytes; false when the input ran out. */
static bool take_addr(struct input *in, int family, uint8_t out[16])
{
	uint8_t b[4];

	if (!take(in, b, sizeof(b)))
		return false;
	memset(out, 0, 16);
	if (family == AF_INET) {
		memcpy(out, b, 4);
	} else {
		out[0] = 0x20, out[1] = 0x01, out[2] = 0x0d, out[3] = 0xb8;
		memcpy(out + 6, b, 4);
	}
	return true;
}

struct walk_ctx {
	const struct ref *r;
	void *peer;
	uint64_t last_seq;
	size_t seen;
};

/* Each prefix the trie yields must be the peer's in the reference, in the order it got them. */
static int walk_check(void *ctx, int family, const void *addr, uint8_t cidr)
{
	struct walk_ctx *w = ctx;
	const struct ref_prefix *p = NULL;
	uint8_t masked[16];

	CHECK(family == AF_INET || family == AF_INET6);
	CHECK(cidr <= 8 * addr_len(family));
	memcpy(masked, addr, addr_len(family));
	mask_bytes(masked, family, cidr);
	CHECK(!memcmp(masked, addr, addr_len(family)));
	p = ref_find((struct ref *)w->r, family, addr, cidr);
	CHECK(p && p->peer == w->peer);
	CHECK(p->seq > w->last_seq); /* in order, and no prefix twice */
	w->last_seq = p->seq;
	w->seen++;
	return 0;
}

static void check_walk(const struct rn_allowedips *t, const struct ref *r, void *peer)
{
	struct walk_ctx w = { r, peer, 0, 0 };
	size_t want = 0;

	for (size_t i = 0; i < r->n; i++)
		want += r->p[i].peer == peer;
	CHECK(rn_allowedips_walk_by_peer(t, peer, walk_check, &w) == 0);
	CHECK(w.seen == want);
}

static void check_lookup(const struct rn_allowedips *t, const struct ref *r, int family,
			 const uint8_t *addr)
{
	CHECK(rn_allowedips_lookup(t, family, addr) == ref_lookup(r, family, addr));
}

static void do_insert(struct rn_allowedips *t, struct ref *r, int family, const uint8_t *addr,
		      uint8_t cidr, void *peer)
{
	int want = cidr > 8 * addr_len(family) ? -EINVAL : 0;

	CHECK(rn_allowedips_insert(t, family, addr, cidr, peer) == want);
	if (!want)
		ref_insert(r, family, addr, cidr, peer);
}

static void do_remove(struct rn_allowedips *t, struct ref *r, int family, const uint8_t *addr,
		      uint8_t cidr, void *peer)
{
	struct ref_prefix *p = NULL;
	int want;

	if (cidr > 8 * addr_len(family)) {
		want = -EINVAL;
	} else {
		p = ref_find(r, family, addr, cidr);
		want = p && p->peer == peer ? 0 : -ENOENT;
	}
	CHECK(rn_allowedips_remove(t, family, addr, cidr, peer) == want);
	if (!want)
		ref_delete(r, p);
}

/*
 * Operand bytes: family (top bit) and cidr, then a 4-byte address. The cidr runs one past the
 * family's bits, which must be refused. IPv6 prefixes longer than 80 bits only cut the zero
 * tail, so 126 and 127 stand for 128 and 129.
 */
static bool take_prefix(struct input *in, int *family, uint8_t addr[16], uint8_t *cidr)
{
	uint8_t b;

	if (!take(in, &b, 1))
		return false;
	*family = b & 0x80 ? AF_INET6 : AF_INET;
	*cidr = b & 0x7f;
	if (*family == AF_INET)
		*cidr %= 34;
	else if (*cidr >= 126)
		*cidr = (uint8_t)(*cidr + 2);
	return take_addr(in, *family, addr);
}

/* p by value: the reference's list moves under a removal. */
static void do_known(struct rn_allowedips *t, struct ref *r, struct ref_prefix p, void *peer,
		     int op, bool by_owner)
{
	if (op == OP_MOVE_KNOWN)
		do_insert(t, r, p.family, p.addr, p.cidr, peer);
	else
		do_remove(t, r, p.family, p.addr, p.cidr, by_owner ? p.peer : peer);
}

static bool step(struct rn_allowedips *t, struct ref *r, struct input *in)
{
	uint8_t op, b, addr[16];
	void *peer;
	int family;
	uint8_t cidr;

	if (!take(in, &op, 1))
		return false;
	peer = &peer_tokens[(op >> 3) % N_PEERS];
	switch (op & 7) {
	case OP_INSERT:
		if (!take_prefix(in, &family, addr, &cidr))
			return false;
		do_insert(t, r, family, addr, cidr, peer);
		break;
	case OP_REMOVE:
		if (!take_prefix(in, &family, addr, &cidr))
			return false;
		do_remove(t, r, family, addr, cidr, peer);
		break;
	case OP_REMOVE_BY_PEER:
		rn_allowedips_remove_by_peer(t, peer);
		ref_remove_by_peer(r, peer);
		break;
	case OP_REPLACE: /* what `wg set ... replace-allowed-ips` and a new netmap do */
		if (!take(in, &b, 1))
			return false;
		rn_allowedips_remove_by_peer(t, peer);
		ref_remove_by_peer(r, peer);
		for (unsigned int i = 0; i < b % 4u; i++) {
			if (!take_prefix(in, &family, addr, &cidr))
				return false;
			do_insert(t, r, family, addr, cidr, peer);
		}
		break;
	case OP_LOOKUP:
		if (!take(in, &b, 1))
			return false;
		family = b & 0x80 ? AF_INET6 : AF_INET;
		if (b & 0x40 && r->n) { /* inside a known prefix, host bits from the input */
			const struct ref_prefix *p = &r->p[(b & 0x3f) % r->n];
			uint8_t host[16], m[16];

			family = p->family;
			if (!take_addr(in, family, host))
				return false;
			memset(m, 0xff, sizeof(m));
			mask_bytes(m, family, p->cidr);
			for (unsigned int i = 0; i < addr_len(family); i++)
				addr[i] = (uint8_t)(p->addr[i] | (host[i] & ~m[i]));
		} else if (!take_addr(in, family, addr)) {
			return false;
		}
		check_lookup(t, r, family, addr);
		break;
	case OP_WALK:
		check_walk(t, r, peer);
		break;
	case OP_MOVE_KNOWN:
	case OP_REMOVE_KNOWN:
		if (!take(in, &b, 1))
			return false;
		if (!r->n)
			break;
		do_known(t, r, r->p[b % r->n], peer, op & 7, b & 0x80);
		break;
	}
	CHECK(t->n_prefixes == r->n);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct rn_allowedips t;
	struct ref r = { 0 };

	rn_allowedips_init(&t);
	for (int i = 0; i < MAX_OPS && step(&t, &r, &in); i++)
		;
	for (int i = 0; i < N_PEERS; i++)
		check_walk(&t, &r, &peer_tokens[i]);
	for (size_t i = 0; i < r.n; i++)
		check_lookup(&t, &r, r.p[i].family, r.p[i].addr);
	for (int i = 0; i < N_PEERS; i++)
		rn_allowedips_remove_by_peer(&t, &peer_tokens[i]);
	CHECK(!t.root4 && !t.root6 && !t.peers && !t.n_nodes && !t.n_prefixes);
	rn_allowedips_free(&t);
	free(r.p);
	return 0;
}
