/* SPDX-License-Identifier: MIT */
/*
 * The compiled packet filter: what one node's data plane enforces on every packet it receives
 * through the tunnel (decrypted, inbound), before the packet reaches TUN or is forwarded.
 * Default deny: a packet passes only if one rule admits it.
 *
 * Each packet belongs to one context, decided by where it is going:
 *   MESH   to one of this node's own mesh addresses, or to any other address of its host
 *          (uplink, LAN): the host is the node, reached only by a mesh grant to it;
 *   SUBNET to a LAN route this node forwards to (advertised and approved);
 *   EXIT   out to the internet through this node (an approved exit node).
 * A rule applies in exactly one context, so a grant in one never admits traffic in another.
 *
 * This header is all the data plane needs; src/policy/compile.h builds filters from a policy.
 */
#ifndef RN_POLICY_FILTER_H
#define RN_POLICY_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rn_filter_context {
	RN_FILTER_NONE = 0, /* from rn_filter_context_of(): not for this node, drop */
	RN_FILTER_MESH,
	RN_FILTER_SUBNET,
	RN_FILTER_EXIT,
};

/*
 * What a rule admits; ICMP means ICMP (1) for IPv4 and ICMPv6 (58) for IPv6. ANY is what a policy
 * entry without "proto" means in Tailscale: TCP and UDP (to the rule's ports) and ICMP (whatever
 * the ports), no other protocol.
 */
enum rn_filter_proto {
	RN_FILTER_PROTO_ANY = 0,
	RN_FILTER_PROTO_TCP,
	RN_FILTER_PROTO_UDP,
	RN_FILTER_PROTO_ICMP,
};

/* IP protocol numbers the matcher takes (IANA "Assigned Internet Protocol Numbers"). */
enum rn_filter_ipproto {
	RN_IPPROTO_ICMP = 1,
	RN_IPPROTO_TCP = 6,
	RN_IPPROTO_UDP = 17,
	RN_IPPROTO_ICMPV6 = 58,
	/* IANA "Reserved", never a real packet's here: a later fragment, whose protocol the rules
	 * cannot check. Only an any-protocol, every-port rule admits it. */
	RN_IPPROTO_FRAGMENT = 255,
};

#define RN_FILTER_PREFIX_STRLEN 50 /* "ffff:...:ffff/128" and its NUL, with room to spare */

/* An IPv4 or IPv6 prefix. addr is in network order with the host bits zero; IPv4 uses addr[0..3].
 */
struct rn_filter_prefix {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t len;	/* prefix length in bits: 0-32 or 0-128 */
	uint8_t addr[16];
};

/* Destination ports first..last inclusive; 0-65535 is "every port". */
struct rn_filter_ports {
	uint16_t first;
	uint16_t last;
};

struct rn_filter_rule {
	enum rn_filter_context context;
	enum rn_filter_proto proto;
	struct rn_filter_prefix *src; /* owned: the senders this rule admits */
	size_t n_src;
	struct rn_filter_prefix *dst; /* owned: where they may send (EXIT: 0.0.0.0/0 and ::/0) */
	size_t n_dst;
	/*
	 * Owned. Only TCP and UDP carry ports: a rule whose ports are not exactly 0-65535 admits
	 * TCP and UDP to those ports, and ICMP too when its proto is ANY.
	 */
	struct rn_filter_ports *ports;
	size_t n_ports;
};

struct rn_filter {
	struct rn_filter_prefix self[2]; /* this node's mesh addresses: the MESH destinations */
	size_t n_self;
	struct rn_filter_prefix *routes; /* owned: LAN routes this node forwards (SUBNET) */
	size_t n_routes;
	bool exit; /* forwards to the internet: an approved exit node */
	/*
	 * Borrowed, never in a map: the host's own addresses other than the mesh's (the uplink's
	 * public IPv4 and global IPv6, LAN addresses, IPv4 directed broadcasts), set by the data
	 * plane holding the filter (rn_wg_device_set_local_addrs). A packet to one is delivered to
	 * this host, so it is MESH and admitted only by a rule that admits the same packet to this
	 * node's mesh address of its family; never EXIT or SUBNET, even inside a LAN route.
	 */
	const struct rn_filter_prefix *local;
	size_t n_local;
	struct rn_filter_rule *rules; /* owned */
	size_t n_rules;
};

/* Frees what f owns (not local) and zeroes it. Safe on a zeroed filter and on NULL. */
void rn_filter_free(struct rn_filter *f);

/*
 * The context of a packet to dst (4 or 16 bytes, network order) arriving at this node: MESH for
 * its own addresses (mesh and local), SUBNET inside one of its LAN routes, EXIT for an internet
 * address when it is an exit node, NONE otherwise (drop). "Internet" excludes private, mesh
 * (CGNAT), link-local, loopback, multicast and ULA space, this node's own LAN routes and its host's
 * local addresses.
 */
enum rn_filter_context rn_filter_context_of(const struct rn_filter *f, int family, const void *dst);

/*
 * Whether f admits a packet received through the tunnel. family is AF_INET or AF_INET6; src and
 * dst are 4 or 16 bytes in network order; proto is the IP protocol number (after IPv6 extension
 * headers); dport the destination port for TCP and UDP, else ignored. In the EXIT context dst
 * must be an internet address (as rn_filter_context_of() says), whatever the rules say; a
 * packet to a local address passes only in MESH, as if sent to this node's mesh address.
 */
bool rn_filter_allows(const struct rn_filter *f, enum rn_filter_context ctx, int family,
		      const void *src, const void *dst, uint8_t proto, uint16_t dport);

/* ---- prefixes, shared with the policy compiler ---- */

/*
 * Parses "ADDR" (a host prefix: /32 or /128) or "ADDR/LEN" (IPv4 dotted quad or IPv6 text, no
 * zone). Host bits must be zero: "10.0.0.1/8" is refused rather than silently widened or
 * narrowed. Returns 0, -EINVAL, or -EDOM for host bits set (*out then holds the prefix with
 * them cleared, to suggest).
 */
int rn_filter_prefix_parse(const char *s, struct rn_filter_prefix *out)
    __attribute__((warn_unused_result));

/* Sets *out to family/addr/len with the host bits cleared. */
void rn_filter_prefix_make(struct rn_filter_prefix *out, int family, const void *addr,
			   unsigned len);

/* "ADDR/LEN" into buf (RN_FILTER_PREFIX_STRLEN is enough); returns buf. */
char *rn_filter_prefix_format(const struct rn_filter_prefix *p, char *buf, size_t len);

/* Whether addr (of p's family, 4 or 16 bytes) lies inside p. */
bool rn_filter_prefix_has(const struct rn_filter_prefix *p, int family, const void *addr);

/* The addresses a and b share, as a prefix: the longer of the two when one holds the other. */
bool rn_filter_prefix_intersect(const struct rn_filter_prefix *a, const struct rn_filter_prefix *b,
				struct rn_filter_prefix *out);

bool rn_filter_prefix_equal(const struct rn_filter_prefix *a, const struct rn_filter_prefix *b);

/*
 * Rewrites v[0..n) as the fewest prefixes covering exactly the same addresses: sorted, those
 * inside another dropped, sibling halves merged (100.64.0.0/32 + 100.64.0.1/32 = /31, and up).
 * Node addresses are handed out in sequence, so a rule naming many nodes shrinks to a few
 * prefixes. Returns the new count; v is reordered.
 */
size_t rn_filter_prefixes_aggregate(struct rn_filter_prefix *v, size_t n);

/*
 * One rule as text, for logs, `policy check` output and tests, e.g.
 * "mesh tcp 100.64.0.1/32,fd7a::1/128 -> 100.64.0.2/32 ports 22,8000-8100".
 * Returns what snprintf would: the length it needed.
 */
int rn_filter_rule_format(const struct rn_filter_rule *r, char *buf, size_t len);

#endif
