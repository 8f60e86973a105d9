/* SPDX-License-Identifier: MIT */
/*
 * The data plane's packet filter: the decision for each decrypted inbound packet, made from the
 * compiled policy (policy/filter.h) and a flow table of connections this node opened. The
 * device records outbound flows on the send path and asks rn_pktfilter_allows() on the receive
 * path; with no filter installed everything passes, so a bare rustynet-wg stays plain WireGuard.
 * ICMP messages quoting a packet are believed only from the peer that packet was routed to.
 *
 * Every function takes `now` (protocol ns, wg/clock.h) from its caller so tests are exact.
 */
#ifndef RN_WG_PKTFILTER_H
#define RN_WG_PKTFILTER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/filter.h"

struct rn_allowedips;

/* Handed to the rule matcher for a packet without a transport header to read ports from. */
#define RN_PKT_PROTO_NONE RN_IPPROTO_FRAGMENT /* only an any-protocol, every-port rule admits it */

enum {
	RN_FLOW_WAYS = 4,	/* entries per bucket; the oldest goes when all are live */
	RN_FLOW_BUCKETS = 1024, /* the device's table: 4096 flows, 256 KiB */
};

/* How long a flow admits replies after the last packet this node sent on it. */
#define RN_FLOW_TCP_NS	(300ULL * 1000000000ULL)
#define RN_FLOW_UDP_NS	(120ULL * 1000000000ULL)
#define RN_FLOW_ICMP_NS (30ULL * 1000000000ULL)

/* The 5-tuple of one IP packet, as the filter and the flow table see it. */
struct rn_pkt_tuple {
	int family;	/* AF_INET or AF_INET6 */
	uint8_t proto;	/* after IPv6 extension headers; see has_l4 */
	bool has_l4;	/* the transport header was there: ports / ICMP type are valid */
	bool has_ports; /* TCP or UDP, or an ICMP echo (sport = dport = its id) */
	uint8_t icmp_type, icmp_code;
	uint16_t sport, dport;	  /* host order */
	uint8_t src[16], dst[16]; /* network order; IPv4 in the first 4 bytes, the rest zero */
	const uint8_t *l4;	  /* the transport header, l4_len bytes of it in the packet */
	size_t l4_len;
};

/*
 * Parses an IP packet of len bytes (its IP length must fit). IPv6 hop-by-hop, routing,
 * destination-options, fragment and AH headers are walked; another next-header ends the walk
 * with has_l4 false. A non-first fragment, or a first one too short for its transport header,
 * also has has_l4 false. false for a packet too malformed to say anything about.
 */
bool rn_pkt_parse(const uint8_t *pkt, size_t len, struct rn_pkt_tuple *t)
    __attribute__((warn_unused_result));

/*
 * The flow table: a fixed array of buckets of RN_FLOW_WAYS entries, indexed by a keyed hash
 * (SipHash with a random key, so peers cannot aim at one bucket). One writer at a time, under
 * write_lock (the TUN reader, once per batch); readers take no lock: each bucket has a sequence
 * count they retry on (a seqlock), and the entries are relaxed atomics so that is not a race.
 */
struct rn_flow_entry {
	_Atomic uint64_t w[6]; /* src, dst, family|proto|sport|dport, last sent (0: empty) */
};

struct rn_flow_bucket {
	_Atomic uint32_t seq; /* odd while the writer changes the bucket */
	struct rn_flow_entry e[RN_FLOW_WAYS];
};

struct rn_flowtable {
	struct rn_flow_bucket *buckets; /* owned */
	uint32_t mask;
	uint8_t key[16];
	pthread_mutex_t write_lock;
};

/* n_buckets is rounded up to a power of two. 0 or -ENOMEM. */
int rn_flowtable_init(struct rn_flowtable *ft, unsigned int n_buckets);
void rn_flowtable_free(struct rn_flowtable *ft);

/*
 * Records the flow of an IP packet this node sends through the tunnel (TCP, UDP, ICMP echo
 * request; anything else is ignored), or refreshes it. Caller holds ft->write_lock.
 */
void rn_flowtable_record(struct rn_flowtable *ft, const uint8_t *pkt, size_t len, uint64_t now);

/*
 * Whether the inbound packet t, decrypted from peer, answers a live flow: a reply, an echo
 * reply, or an ICMP error (unreachable, packet too big, time exceeded, parameter problem) that
 * quotes a packet of the flow routed to peer by routes, the device's allowed IPs. routes and
 * peer may be NULL: then no error is admitted. The caller holds routes' lock for reading.
 */
bool rn_flowtable_admits(const struct rn_flowtable *ft, const struct rn_allowedips *routes,
			 const void *peer, const struct rn_pkt_tuple *t, uint64_t now);

/*
 * The filter's verdict on a decrypted inbound packet from peer (whose allowed IPs in routes
 * hold its source): true with no filter installed, else when a rule admits it in the context
 * of its destination or it belongs to a flow this node opened. Whatever the rules say, an ICMP
 * message quoting a packet (error, redirect, source quench) is dropped unless the quote parses
 * and its destination is routed to peer. ft may be NULL (no flows); routes or peer NULL drop
 * every such ICMP message. The caller holds routes' lock for reading.
 */
bool rn_pktfilter_allows(const struct rn_filter *f, const struct rn_flowtable *ft,
			 const struct rn_allowedips *routes, const void *peer, const uint8_t *pkt,
			 size_t len, uint64_t now);

#endif
