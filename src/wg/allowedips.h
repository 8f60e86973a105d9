/* SPDX-License-Identifier: MIT */
/*
 * Allowed IPs: the longest-prefix-match table behind crypto-key routing. Outgoing packets are
 * sent to the peer that owns the longest prefix covering their destination; incoming packets
 * are dropped unless the peer they arrived from owns the longest prefix covering their source.
 *
 * One path-compressed binary trie per address family. Lookups allocate nothing and take no
 * locks: the caller holds its own rwlock, shared for lookups and exclusive for changes.
 * Peers are opaque pointers; the table never dereferences them.
 */
#ifndef RN_WG_ALLOWEDIPS_H
#define RN_WG_ALLOWEDIPS_H

#include <stddef.h>
#include <stdint.h>

struct rn_allowedips_node;
struct rn_allowedips_peer_slot;

struct rn_allowedips {
	struct rn_allowedips_node *root4; /* owned: the IPv4 trie */
	struct rn_allowedips_node *root6; /* owned: the IPv6 trie */
	/*
	 * Owned: open-addressed map from peer to the list of its prefixes, so that walking or
	 * removing one peer's prefixes costs what that peer has, not what the table has.
	 */
	struct rn_allowedips_peer_slot *peers;
	size_t peers_cap;  /* slots in peers, a power of two (0 when peers is NULL) */
	size_t peers_used; /* peers with at least one prefix */
	size_t n_nodes;	   /* trie nodes, prefixes plus branch points (for memory reports) */
	size_t n_prefixes; /* prefixes in both tries */
};

void rn_allowedips_init(struct rn_allowedips *t);
void rn_allowedips_free(struct rn_allowedips *t);

/*
 * Maps family/addr/cidr to peer. Host bits below cidr are ignored. Inserting a prefix that is
 * already present moves it to peer. Returns 0, -EINVAL (family not AF_INET/AF_INET6, cidr too
 * long, peer NULL) or -ENOMEM (the table is unchanged).
 */
int rn_allowedips_insert(struct rn_allowedips *t, int family, const void *addr, uint8_t cidr,
			 void *peer);

/* Removes the prefix if peer owns it. Returns 0, -ENOENT (absent or owned by another peer) or
 * -EINVAL. */
int rn_allowedips_remove(struct rn_allowedips *t, int family, const void *addr, uint8_t cidr,
			 void *peer);

void rn_allowedips_remove_by_peer(struct rn_allowedips *t, void *peer);

/* The peer owning the longest prefix that covers addr (4 or 16 bytes, network order), or NULL. */
void *rn_allowedips_lookup(const struct rn_allowedips *t, int family, const void *addr);

/*
 * Calls cb for each prefix of peer, in insertion order, with addr in network order (host bits
 * zero). Stops at and returns the first non-zero value cb returns; 0 otherwise. cb must not
 * change the table.
 */
int rn_allowedips_walk_by_peer(const struct rn_allowedips *t, void *peer,
			       int (*cb)(void *ctx, int family, const void *addr, uint8_t cidr),
			       void *ctx);

#endif
