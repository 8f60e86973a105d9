/* SPDX-License-Identifier: MIT */
/*
 * Magic DNS without sockets: the zone a verified netmap describes (NAME.DOMAIN A/AAAA for self
 * and peers, PTR for their mesh addresses, the map's extra records) and the answer to one query
 * in wire format. Every byte of DNS wire format is read and written by ldns. A zone is
 * immutable once built, so the resolver's threads share one without locks (the owner swaps
 * whole zones, see rustynetd/resolver.c).
 */
#ifndef RN_DNS_DNS_H
#define RN_DNS_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netmap/netmap.h"

enum {
	RN_DNS_TTL_S = 10,	     /* every record we serve: names move when maps change */
	RN_DNS_UDP_MAX = 512,	     /* a UDP answer without EDNS0, RFC 1035 */
	RN_DNS_EDNS_SIZE = 1232,     /* our EDNS0 payload size (the DNS flag day value) */
	RN_DNS_TCP_MAX = 65535,	     /* a TCP message, after its 2-byte length */
	RN_DNS_NAME_TEXT_MAX = 1024, /* a DNS name as ldns prints it, escapes included */
};

/* The Magic DNS service addresses: 100.100.100.100 and PREFIX::53 in the network's /48. */
#define RN_DNS_SERVICE_V4	 "100.100.100.100"
#define RN_DNS_SERVICE_V6_SUFFIX 0x53

enum rn_dns_verdict {
	RN_DNS_REPLY,	/* *out holds the response to send */
	RN_DNS_FORWARD, /* the name is not ours: ask an upstream */
	RN_DNS_DROP,	/* not a query worth answering (too short, a response): send nothing */
};

/* What answered `rustynet dns query`: the source shown for one record. */
struct rn_dns_zone_rec {
	const char *text; /* the record in zone-file text, e.g. "nas.rustynet.\t10\tIN\tA\t..." */
	const char *node; /* the node's label, or "" for an extra record */
	bool online;	  /* the node's state in the map (self: true; extras: true) */
};

struct rn_dns_zone;

/* Builds the zone of m. Returns 0, -EINVAL (a name ldns refuses), -ENOMEM. */
int rn_dns_zone_build(const struct rn_netmap *m, struct rn_dns_zone **out)
    __attribute__((warn_unused_result));
void rn_dns_zone_free(struct rn_dns_zone *z);
size_t rn_dns_zone_count(const struct rn_dns_zone *z);
/* Record i (< count) in the zone's order; the strings live as long as z. */
void rn_dns_zone_get(const struct rn_dns_zone *z, size_t i, struct rn_dns_zone_rec *out);
const char *rn_dns_zone_domain(const struct rn_dns_zone *z);

/*
 * The answer of z to the query q[0..len), received over TCP or UDP (which bounds the size).
 * On RN_DNS_REPLY *out (for free()) and *outlen hold the response. Never fails on outside
 * input: what cannot be parsed gets FORMERR (or is dropped without a header); no memory is a
 * drop.
 */
enum rn_dns_verdict rn_dns_answer(const struct rn_dns_zone *z, const uint8_t *q, size_t len,
				  bool tcp, uint8_t **out, size_t *outlen);
/*
 * The same into buf[0..cap) (no allocation for the common query): a response longer than cap
 * is a drop, so cap >= RN_DNS_EDNS_SIZE for UDP, RN_DNS_TCP_MAX for TCP.
 */
enum rn_dns_verdict rn_dns_answer_buf(const struct rn_dns_zone *z, const uint8_t *q, size_t len,
				      bool tcp, uint8_t *buf, size_t cap, size_t *outlen);

/* A response to q with only its question and rcode (e.g. LDNS_RCODE_SERVFAIL). 0 or -errno. */
int rn_dns_error_reply(const uint8_t *q, size_t len, int rcode, uint8_t **out, size_t *outlen)
    __attribute__((warn_unused_result));

/*
 * An upstream's reply to the query q as sent upstream: true when it answers that question
 * (same ID, QR set, same name, type and class). Then *out is what the client gets: its own
 * ID (client_id), AA cleared (only the zone is authoritative: `dns query` tells the paths
 * apart by it), truncated with TC when over the client's UDP limit.
 */
bool rn_dns_upstream_reply(const uint8_t *q, size_t qlen, const uint8_t *reply, size_t rlen,
			   uint16_t client_id, bool tcp, uint8_t **out, size_t *outlen)
    __attribute__((warn_unused_result));

/* Sets the ID of the message m[0..len) (len >= 12), for forwarding under a random ID. */
void rn_dns_set_id(uint8_t *m, size_t len, uint16_t id);
uint16_t rn_dns_get_id(const uint8_t *m, size_t len);
/* Whether the message has TC set. */
bool rn_dns_truncated(const uint8_t *m, size_t len);

#endif
