/* SPDX-License-Identifier: MIT */
/*
 * The Magic DNS server: UDP and TCP port 53 on the service addresses, served by a thread of
 * its own so neither a flood nor a slow upstream ever stalls the daemon's loop. Zone answers
 * come from src/dns; other names go to the upstreams of the current view, from short-lived
 * worker threads (at most RN_RESOLVER_MAX_WORKERS; past that, SERVFAIL at once). The daemon
 * swaps the view (zone + upstreams) whenever a map is applied or protected mode changes.
 */
#ifndef RN_DAEMON_RESOLVER_H
#define RN_DAEMON_RESOLVER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dns.h"
#include "netmap/netmap.h"

enum {
	RN_RESOLVER_PORT = 53,
	RN_RESOLVER_MAX_UPSTREAMS = 8,
	RN_RESOLVER_TIMEOUT_MS = 2000,	/* for one forwarded query, all upstreams together */
	RN_RESOLVER_MAX_WORKERS = 64,	/* forwarded queries and TCP clients in flight */
	RN_RESOLVER_TCP_IDLE_MS = 5000, /* a TCP client silent this long is closed */
};

/* Counters since start, for `dns inspect`. */
struct rn_resolver_stats {
	uint64_t queries, zone, forwarded, servfail, dropped, busy;
};

struct rn_resolver;

/*
 * Binds UDP and TCP port 53 on v4 and v6 (addresses that need not be up yet: FREEBIND) and
 * starts the thread with an empty view (everything SERVFAIL). 0 or -errno, err for people.
 */
int rn_resolver_start(const struct in_addr *v4, const struct in6_addr *v6,
		      struct rn_resolver **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Stops the thread and waits for the workers (at most about RN_RESOLVER_TIMEOUT_MS). */
void rn_resolver_stop(struct rn_resolver *r);
/*
 * Replaces the view: zone is taken (NULL: forward everything), ups copied (port 53 is used
 * whatever they say). A non-NULL tunnel_if (protected mode) pins every upstream socket to that
 * interface (SO_BINDTODEVICE): an upstream whose route is not the tunnel (one on the local
 * network, say) then gets nothing rather than a query in the clear. Queries in flight finish
 * on the old view.
 */
void rn_resolver_set(struct rn_resolver *r, struct rn_dns_zone *zone,
		     const struct rn_netmap_ip *ups, size_t n_ups, const char *tunnel_if);
void rn_resolver_stats(struct rn_resolver *r, struct rn_resolver_stats *out);

#endif
