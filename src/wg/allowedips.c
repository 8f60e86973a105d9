/* SPDX-License-Identifier: MIT */
/*
 * Allowed IPs as path-compressed binary tries, one per family. Each node holds a whole prefix,
 * so a lookup visits at most one node per distinct prefix length on its path and compares
 * addresses a 64-bit word at a time. Each peer's prefixes are also chained in a list found
 * through a small open-addressed map, so per-peer walks and removals need no trie scan.
 */
#include "wg/allowedips.h"

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/*
 * A node is a prefix (peer set) or a branch point (peer NULL) that exists only because two
 * prefixes below it part ways at bit number cidr; a branch point always has two children.
 * Keys are host-order words holding the address's first bit as the top bit, so prefix tests
 * are a xor and a mask. Bits from cidr on are zero.
 */
struct rn_allowedips_node {
	struct rn_allowedips_node *child[2];  /* owned; picked by key bit number cidr */
	void *peer;			      /* not owned; NULL for a branch point */
	struct rn_allowedips_node *peer_prev; /* the peer's prefixes, in insertion order */
	struct rn_allowedips_node *peer_next;
	uint8_t cidr;
	uint8_t is_v6;
	uint64_t key[]; /* one word for IPv4 (address in the top half), two for IPv6 */
};

struct rn_allowedips_peer_slot {
	void *peer; /* NULL: free slot */
	struct rn_allowedips_node *head, *tail;
};

enum { RN_ALLOWEDIPS_MIN_SLOTS = 8 };

static unsigned int family_bits(int family)
{
	if (family == AF_INET)
		return 32;
	if (family == AF_INET6)
		return 128;
	return 0;
}

static struct rn_allowedips_node **root_of(struct rn_allowedips *t, bool is_v6)
{
	return is_v6 ? &t->root6 : &t->root4;
}

/* The top n of 64 bits, n <= 64. */
static inline uint64_t mask_top(unsigned int n)
{
	return n ? ~0ull << (64 - n) : 0;
}

static void key_load(uint64_t k[2], bool is_v6, const void *addr)
{
	if (is_v6) {
		memcpy(k, addr, 16);
		k[0] = be64toh(k[0]);
		k[1] = be64toh(k[1]);
	} else {
		uint32_t a;

		memcpy(&a, addr, 4);
		k[0] = (uint64_t)be32toh(a) << 32;
		k[1] = 0;
	}
}

static void key_mask(uint64_t k[2], unsigned int cidr)
{
	k[0] &= mask_top(cidr < 64 ? cidr : 64);
	k[1] &= mask_top(cidr > 64 ? cidr - 64 : 0);
}

static inline unsigned int key_bit(const uint64_t *k, unsigned int i)
{
	return (k[i >> 6] >> (63 - (i & 63))) & 1;
}

/* Whether the first n->cidr bits of k are n's prefix. Never reads past a v4 node's one word. */
static inline bool node_covers(const struct rn_allowedips_node *n, const uint64_t *k)
{
	if (n->cidr <= 64)
		return !((k[0] ^ n->key[0]) & mask_top(n->cidr));
	return k[0] == n->key[0] && !((k[1] ^ n->key[1]) & mask_top(n->cidr - 64));
}

/* How many leading bits n's key shares with k, at most limit. */
static unsigned int common_bits(const struct rn_allowedips_node *n, const uint64_t *k,
				unsigned int limit)
{
	uint64_t x = n->key[0] ^ k[0];
	unsigned int c;

	if (x)
		c = __builtin_clzll(x);
	else if (!n->is_v6)
		c = 64;
	else if ((x = n->key[1] ^ k[1]))
		c = 64 + __builtin_clzll(x);
	else
		c = 128;
	return c < limit ? c : limit;
}

static struct rn_allowedips_node *node_new(const uint64_t k[2], unsigned int cidr, bool is_v6)
{
	size_t words = is_v6 ? 2 : 1;
	struct rn_allowedips_node *n = calloc(1, sizeof(*n) + words * sizeof(n->key[0]));

	if (!n)
		return NULL;
	n->cidr = cidr;
	n->is_v6 = is_v6;
	memcpy(n->key, k, words * sizeof(n->key[0]));
	return n;
}

/* Fibonacci hashing: peers are heap pointers, so their low bits carry little. */
static size_t peer_hash(const void *peer, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)peer * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> (64 - __builtin_ctzll(cap)));
}

static struct rn_allowedips_peer_slot *peer_find(const struct rn_allowedips *t, const void *peer)
{
	size_t mask = t->peers_cap - 1;

	if (!t->peers)
		return NULL;
	for (size_t i = peer_hash(peer, t->peers_cap);; i = (i + 1) & mask) {
		if (t->peers[i].peer == peer)
			return &t->peers[i];
		if (!t->peers[i].peer)
			return NULL;
	}
}

static struct rn_allowedips_peer_slot *peer_probe_free(struct rn_allowedips_peer_slot *slots,
						       size_t cap, const void *peer)
{
	size_t i = peer_hash(peer, cap);

	while (slots[i].peer)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

/* Makes room for one more peer so that the insert that follows cannot fail half way. */
static int peer_reserve(struct rn_allowedips *t)
{
	size_t cap = t->peers_cap ? t->peers_cap * 2 : RN_ALLOWEDIPS_MIN_SLOTS;
	struct rn_allowedips_peer_slot *slots;

	if ((t->peers_used + 1) * 4 <= t->peers_cap * 3)
		return 0;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->peers_cap; i++)
		if (t->peers[i].peer)
			*peer_probe_free(slots, cap, t->peers[i].peer) = t->peers[i];
	free(t->peers);
	t->peers = slots;
	t->peers_cap = cap;
	return 0;
}

/*
 * Backward-shift deletion: linear probing stays correct without tombstones. The slot array
 * stays even when it empties, so a prefix moving from the last peer to a new one still finds
 * room; the public removals give it back with peer_map_trim().
 */
static void peer_slot_delete(struct rn_allowedips *t, struct rn_allowedips_peer_slot *s)
{
	size_t mask = t->peers_cap - 1, hole = (size_t)(s - t->peers), i = hole;

	for (;;) {
		size_t home;

		i = (i + 1) & mask;
		if (!t->peers[i].peer)
			break;
		home = peer_hash(t->peers[i].peer, t->peers_cap);
		/* Entry i may fill the hole only if the hole lies on its probe path. */
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			t->peers[hole] = t->peers[i];
			hole = i;
		}
	}
	memset(&t->peers[hole], 0, sizeof(t->peers[hole]));
	t->peers_used--;
}

static void peer_map_trim(struct rn_allowedips *t)
{
	if (t->peers_used)
		return;
	free(t->peers);
	t->peers = NULL;
	t->peers_cap = 0;
}

/* Takes n off its peer's list, and forgets the peer when n was its last prefix. */
static void peer_list_unlink(struct rn_allowedips *t, struct rn_allowedips_node *n)
{
	struct rn_allowedips_peer_slot *s = NULL;

	if (!n->peer_prev || !n->peer_next)
		s = peer_find(t, n->peer);
	if (n->peer_prev)
		n->peer_prev->peer_next = n->peer_next;
	else
		s->head = n->peer_next;
	if (n->peer_next)
		n->peer_next->peer_prev = n->peer_prev;
	else
		s->tail = n->peer_prev;
	n->peer_prev = n->peer_next = NULL;
	if (s && !s->head)
		peer_slot_delete(t, s);
}

/* Gives n to peer. peer_reserve() must have run: finding a slot cannot fail here. */
static void node_set_peer(struct rn_allowedips *t, struct rn_allowedips_node *n, void *peer)
{
	struct rn_allowedips_peer_slot *s;

	if (n->peer == peer)
		return;
	if (n->peer)
		peer_list_unlink(t, n);
	else
		t->n_prefixes++;
	n->peer = peer;
	s = peer_find(t, peer);
	if (!s) {
		s = peer_probe_free(t->peers, t->peers_cap, peer);
		s->peer = peer;
		t->peers_used++;
	}
	n->peer_prev = s->tail;
	n->peer_next = NULL;
	if (s->tail)
		s->tail->peer_next = n;
	else
		s->head = n;
	s->tail = n;
}

/*
 * Turns prefix node n (already off its peer's list, or its whole list dropped) back into
 * nothing: it stays as a branch point if it has two children, else it is spliced out, and a
 * branch point left with one child by that goes too. A branch point keeps no list links:
 * stale ones would chain its next owner's list through freed nodes.
 */
static void node_drop_prefix(struct rn_allowedips *t, struct rn_allowedips_node *n)
{
	struct rn_allowedips_node **slot = root_of(t, n->is_v6), **pslot = NULL, *p;

	/* n is in the trie, so the walk ends on it; the NULL test only keeps analyzers calm. */
	while (*slot && *slot != n) {
		pslot = slot;
		slot = &(*slot)->child[key_bit(n->key, (*slot)->cidr)];
	}
	if (!*slot)
		return;
	n->peer = NULL;
	n->peer_prev = n->peer_next = NULL;
	t->n_prefixes--;
	if (n->child[0] && n->child[1])
		return;
	*slot = n->child[0] ? n->child[0] : n->child[1];
	free(n);
	t->n_nodes--;
	if (*slot || !pslot || (*pslot)->peer)
		return;
	p = *pslot;
	*pslot = p->child[0] ? p->child[0] : p->child[1];
	free(p);
	t->n_nodes--;
}

void rn_allowedips_init(struct rn_allowedips *t)
{
	memset(t, 0, sizeof(*t));
}

/* Recursion depth is bounded by 129: cidr grows strictly along every path. */
static void trie_free(struct rn_allowedips_node *n)
{
	if (!n)
		return;
	trie_free(n->child[0]);
	trie_free(n->child[1]);
	free(n);
}

void rn_allowedips_free(struct rn_allowedips *t)
{
	trie_free(t->root4);
	trie_free(t->root6);
	free(t->peers);
	rn_allowedips_init(t);
}

/* Splices a new prefix node above or beside n, which sits at *slot and does not cover k. */
static int trie_graft(struct rn_allowedips *t, struct rn_allowedips_node **slot,
		      struct rn_allowedips_node *fresh, const uint64_t k[2])
{
	struct rn_allowedips_node *n = *slot, *branch;
	unsigned int cidr = fresh->cidr;
	unsigned int common = common_bits(n, k, n->cidr < cidr ? n->cidr : cidr);
	uint64_t bk[2] = { k[0], k[1] };

	if (common == cidr) {
		/* The new prefix contains n. */
		fresh->child[key_bit(n->key, cidr)] = n;
		*slot = fresh;
		return 0;
	}
	key_mask(bk, common);
	branch = node_new(bk, common, fresh->is_v6);
	if (!branch)
		return -ENOMEM;
	branch->child[key_bit(k, common)] = fresh;
	branch->child[key_bit(n->key, common)] = n;
	*slot = branch;
	t->n_nodes++;
	return 0;
}

int rn_allowedips_insert(struct rn_allowedips *t, int family, const void *addr, uint8_t cidr,
			 void *peer)
{
	unsigned int bits = family_bits(family);
	struct rn_allowedips_node **slot, *n, *fresh;
	bool is_v6 = family == AF_INET6;
	uint64_t k[2];

	if (!bits || cidr > bits || !peer)
		return -EINVAL;
	if (peer_reserve(t))
		return -ENOMEM;
	key_load(k, is_v6, addr);
	key_mask(k, cidr);
	slot = root_of(t, is_v6);
	while ((n = *slot) && n->cidr < cidr && node_covers(n, k))
		slot = &n->child[key_bit(k, n->cidr)];
	if (n && n->cidr == cidr && node_covers(n, k)) {
		node_set_peer(t, n, peer);
		return 0;
	}
	fresh = node_new(k, cidr, is_v6);
	if (!fresh)
		goto err_nomem;
	if (!n) {
		*slot = fresh;
	} else if (trie_graft(t, slot, fresh, k)) {
		free(fresh);
		goto err_nomem;
	}
	t->n_nodes++;
	node_set_peer(t, fresh, peer);
	return 0;

err_nomem:
	peer_map_trim(t); /* the slots peer_reserve() made for a first peer */
	return -ENOMEM;
}

int rn_allowedips_remove(struct rn_allowedips *t, int family, const void *addr, uint8_t cidr,
			 void *peer)
{
	unsigned int bits = family_bits(family);
	bool is_v6 = family == AF_INET6;
	struct rn_allowedips_node *n;
	uint64_t k[2];

	if (!bits || cidr > bits)
		return -EINVAL;
	key_load(k, is_v6, addr);
	key_mask(k, cidr);
	n = *root_of(t, is_v6);
	while (n && n->cidr < cidr && node_covers(n, k))
		n = n->child[key_bit(k, n->cidr)];
	if (!n || n->cidr != cidr || !node_covers(n, k) || !peer || n->peer != peer)
		return -ENOENT;
	peer_list_unlink(t, n);
	node_drop_prefix(t, n);
	peer_map_trim(t);
	return 0;
}

void rn_allowedips_remove_by_peer(struct rn_allowedips *t, void *peer)
{
	struct rn_allowedips_peer_slot *s = peer ? peer_find(t, peer) : NULL;
	struct rn_allowedips_node *n, *next;

	if (!s)
		return;
	n = s->head;
	peer_slot_delete(t, s);
	/* Branch points freed on the way are never on the list, so next stays valid. */
	for (; n; n = next) {
		next = n->peer_next;
		node_drop_prefix(t, n);
	}
	peer_map_trim(t);
}

void *rn_allowedips_lookup(const struct rn_allowedips *t, int family, const void *addr)
{
	unsigned int bits = family_bits(family);
	const struct rn_allowedips_node *n;
	void *best = NULL;
	uint64_t k[2];

	if (!bits)
		return NULL;
	key_load(k, bits == 128, addr);
	n = bits == 128 ? t->root6 : t->root4;
	while (n && node_covers(n, k)) {
		if (n->peer)
			best = n->peer;
		if (n->cidr == bits)
			break;
		n = n->child[key_bit(k, n->cidr)];
	}
	return best;
}

int rn_allowedips_walk_by_peer(const struct rn_allowedips *t, void *peer,
			       int (*cb)(void *ctx, int family, const void *addr, uint8_t cidr),
			       void *ctx)
{
	const struct rn_allowedips_peer_slot *s = peer ? peer_find(t, peer) : NULL;

	for (const struct rn_allowedips_node *n = s ? s->head : NULL; n; n = n->peer_next) {
		uint64_t be[2] = { htobe64(n->key[0]), n->is_v6 ? htobe64(n->key[1]) : 0 };
		int ret = cb(ctx, n->is_v6 ? AF_INET6 : AF_INET, be, n->cidr);

		if (ret)
			return ret;
	}
	return 0;
}
