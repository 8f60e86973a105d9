/* SPDX-License-Identifier: MIT */
/* The zone's insides, shared by zone.c (which builds it) and answer.c (which reads it). */
#ifndef RN_DNS_ZONE_PRIV_H
#define RN_DNS_ZONE_PRIV_H

#include <ldns/ldns.h>

#include "dns/dns.h"

struct rn_dns_rec {
	ldns_rr *rr;	/* owned; owner canonical (lowercase) */
	char *text;	/* owned: ldns_rr2str without its newline */
	char node[RN_NETMAP_LABEL_MAX + 1];
	bool online;
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
};

/* The index of the first record owned by name (canonical), and how many there are. */
size_t rn_dns_zone_find(const struct rn_dns_zone *z, const ldns_rdf *name, size_t *count);

#endif
