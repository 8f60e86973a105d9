/* SPDX-License-Identifier: MIT */
/* The zone's insides: zone.c and index.c build them, answer.c and answer_fast.c read them. */
#ifndef RN_DNS_ZONE_PRIV_H
#define RN_DNS_ZONE_PRIV_H

#include <ldns/ldns.h>

#include "dns/dns.h"

struct rn_dns_rec {
	ldns_rr *rr; /* owned; owner canonical (lowercase) */
	char *text;  /* owned: ldns_rr2str without its newline */
	char node[RN_NETMAP_LABEL_MAX + 1];
	bool online;
	uint16_t type;
	uint16_t wlen;
	uint8_t *wire; /* owned: ldns's encoding of rr after its owner (type .. rdata) */
};

/* An SOA as ldns encodes it (owner uncompressed), for one apex. */
struct rn_dns_soa {
	ldns_rdf *apex; /* owned */
	uint8_t *wire;	/* owned */
	size_t len;
};

/*
 * A name the zone knows: a record owner, an ancestor of one (an empty non-terminal, or
 * outside our zones) or a zone apex. With every ancestor present, a name missing from the
 * table has nothing below it.
 */
struct rn_dns_name {
	uint8_t *wire; /* owned: canonical, uncompressed */
	size_t len;
	bool is_apex; /* the name is its zone's apex */
	int soa;      /* index in soas: the zone it falls in; -1: none */
	uint32_t hash;
	size_t first, n; /* its records in recs */
};

struct rn_dns_zone {
	struct rn_dns_rec *recs; /* owned; sorted by owner, then type */
	size_t n, cap;
	ldns_rdf *apex; /* DOMAIN. */
	ldns_rdf *rev4; /* 100.in-addr.arpa.: ours only below 64-127 */
	ldns_rdf *rev6; /* the /48 in ip6.arpa */
	uint8_t prefix48[6];
	uint32_t serial; /* the map's version, for the SOA */
	char domain[RN_NETMAP_DNS_NAME_MAX + 1];
	/* Built once with ldns for answer_fast.c: names by hash, SOAs pre-encoded. */
	struct rn_dns_name *names;
	size_t n_names;
	uint32_t *slots; /* open addressing: index + 1 into names, 0 empty */
	size_t mask;	 /* slots has mask + 1 entries, a power of two */
	struct rn_dns_soa *soas;
	size_t n_soas;
};

/* The index of the first record owned by name (canonical), and how many there are. */
size_t rn_dns_zone_find(const struct rn_dns_zone *z, const ldns_rdf *name, size_t *count);

/* A zone the canonical name cq falls in: its apex, owned. NULL: none of ours. */
ldns_rdf *rn_dns_zone_apex(const struct rn_dns_zone *z, const ldns_rdf *cq);
/* The SOA record of apex (a zone of z), new. */
ldns_rr *rn_dns_zone_soa(const struct rn_dns_zone *z, const ldns_rdf *apex);

/* Builds names, slots and soas of z (records sorted). 0, -ENOMEM or -EINVAL. */
int rn_dns_index_build(struct rn_dns_zone *z);
void rn_dns_index_free(struct rn_dns_zone *z);
uint32_t rn_dns_name_hash(const uint8_t *wire, size_t len);
/* The name wire[0..len) (canonical), or NULL. */
const struct rn_dns_name *rn_dns_index_find(const struct rn_dns_zone *z, const uint8_t *wire,
					    size_t len);

/*
 * The pre-encoded answer path (answer_fast.c): RN_DNS_REPLY with the response in buf, or
 * RN_DNS_FORWARD, or -1 when the query is not the plain kind it handles (anything with
 * other sections, other opcodes, EDNS versions, a bigger answer than cap...): then the
 * ldns_pkt path answers it.
 */
int rn_dns_answer_fast(const struct rn_dns_zone *z, const uint8_t *q, size_t len, bool tcp,
		       uint8_t *buf, size_t cap, size_t *outlen);
/* The ldns_pkt path (answer.c), for every query; the tests compare both. */
enum rn_dns_verdict rn_dns_answer_pkt(const struct rn_dns_zone *z, const uint8_t *q, size_t len,
				      bool tcp, uint8_t **out, size_t *outlen);

#endif
